// SPDX-License-Identifier: GPL-2.0
/*
 * The NVM command set on namespace 1: Read, Write, Flush, Write Zeroes and
 * Dataset Management, asynchronous through the block back-end. Buffers are
 * mapped straight onto guest memory (no copy) and released when the
 * back-end is done with them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/nvme/nvme_int.h"
#include "util/log.h"

#define CDW12_NLB(c) (((c)->cdw12 & 0xffff) + 1u)
#define CDW12_FUA (1u << 30)
#define CDW12_DEAC (1u << 25)
#define DSM_AD (1u << 2)
#define DSM_RANGE_SIZE 16

static uint64_t cmd_slba(const struct nvme_cmd *c)
{
	return c->cdw10 | (uint64_t)c->cdw11 << 32;
}

static bool lba_range_ok(const struct nvme_ctrl *n, uint64_t slba, uint64_t nlb)
{
	return slba <= n->nsze && nlb <= n->nsze - slba;
}

static void io_done(struct blk_req *blk, int result);

static uint16_t submit(struct nvme_ctrl *n, struct nvme_req *req)
{
	int r;

	req->blk.done = io_done;
	req->blk.opaque = req;
	/* The namespace is a slice of the back-end (an SR-IOV VF's). */
	if (req->blk.op != BLK_OP_FLUSH)
		req->blk.offset += n->ns_off;
	r = blk_submit(n->be, &req->blk);
	if (!r)
		return ST_PENDING;
	pr_debug_ratelimited("%s: back-end refused a request: %s", n->name,
			     strerror(-r));
	if (r == -EROFS)
		return ST_NS_WRITE_PROTECTED;
	return ST_INTERNAL;
}

/* The next range of a Dataset Management deallocate; a status. */
static uint16_t dsm_next(struct nvme_ctrl *n, struct nvme_req *req)
{
	while (req->dsm_i < req->dsm_n) {
		struct nvme_dsm_range *r = &req->dsm[req->dsm_i++];

		if (!r->nlb)
			continue;
		req->blk = (struct blk_req){
			.op = BLK_OP_DISCARD,
			.offset = r->slba << n->lbads,
			.len = (uint64_t)r->nlb << n->lbads,
		};
		return submit(n, req);
	}
	return ST_OK;
}

static uint16_t flush_now(struct nvme_ctrl *n, struct nvme_req *req)
{
	req->blk = (struct blk_req){ .op = BLK_OP_FLUSH };
	return submit(n, req);
}

static uint16_t error_status(enum blk_op op, int result)
{
	switch (op) {
	case BLK_OP_READ:
		return ST_UNRECOVERED_READ;
	case BLK_OP_WRITE:
	case BLK_OP_WRITE_ZEROES:
		return ST_WRITE_FAULT;
	default:
		return result == -EROFS ? ST_NS_WRITE_PROTECTED : ST_INTERNAL;
	}
}

/* Back-end completion, controller lock held (its callers hold it). */
static void io_done(struct blk_req *blk, int result)
{
	struct nvme_req *req = blk->opaque;
	struct nvme_ctrl *n = req->n;
	uint16_t st = ST_OK;

	if (req->gen != n->gen || req->sq->deleting) {
		nvme_req_complete(n, req, ST_ABORT_SQ_DELETED);
		return;
	}
	/* Deallocation is advisory: a host that cannot is not an error. */
	if (result == -EOPNOTSUPP && blk->op == BLK_OP_DISCARD)
		result = 0;
	if (result < 0) {
		pr_warn_ratelimited("%s: back-end %s error at byte %llu: %s",
				    n->name,
				    blk->op == BLK_OP_READ  ? "read" :
				    blk->op == BLK_OP_FLUSH ? "flush" :
							      "write",
				    (unsigned long long)blk->offset,
				    strerror(-result));
		nvme_req_complete(n, req, error_status(blk->op, result));
		return;
	}
	switch (blk->op) {
	case BLK_OP_READ:
		n->bytes_read += req->bytes;
		n->read_cmds++;
		break;
	case BLK_OP_WRITE:
		n->bytes_written += req->bytes;
		n->write_cmds++;
		break;
	case BLK_OP_DISCARD:
		st = dsm_next(n, req);
		break;
	default:
		break;
	}
	if (st == ST_OK && req->flush_after) {
		/* The data first: it stays mapped until the flush ends. */
		req->flush_after = false;
		st = flush_now(n, req);
	}
	if (st != ST_PENDING)
		nvme_req_complete(n, req, st);
}

static uint16_t rw(struct nvme_ctrl *n, struct nvme_req *req, bool write)
{
	const struct nvme_cmd *c = &req->cmd;
	uint64_t slba = cmd_slba(c), nlb = CDW12_NLB(c);
	uint64_t len = nlb << n->lbads;
	uint16_t st;

	if (len > NVME_MDTS_BYTES)
		return ST_INVALID_FIELD;
	if (!lba_range_ok(n, slba, nlb))
		return ST_LBA_RANGE;
	if (write && n->readonly)
		return ST_NS_WRITE_PROTECTED;
	st = nvme_map_data(n, req, len, write ? DMA_READ : DMA_WRITE);
	if (st)
		return st;
	req->bytes = len;
	req->flush_after = write && ((c->cdw12 & CDW12_FUA) || !n->wce);
	req->blk = (struct blk_req){
		.op = write ? BLK_OP_WRITE : BLK_OP_READ,
		.offset = slba << n->lbads,
		.iov = req->iov,
		.iovcnt = req->niov,
	};
	return submit(n, req);
}

static uint16_t write_zeroes(struct nvme_ctrl *n, struct nvme_req *req)
{
	const struct nvme_cmd *c = &req->cmd;
	uint64_t slba = cmd_slba(c), nlb = CDW12_NLB(c);

	if (!lba_range_ok(n, slba, nlb))
		return ST_LBA_RANGE;
	if (n->readonly)
		return ST_NS_WRITE_PROTECTED;
	req->flush_after = (c->cdw12 & CDW12_FUA) || !n->wce;
	req->blk = (struct blk_req){
		.op = BLK_OP_WRITE_ZEROES,
		/* Deallocate if asked and the back-end reads holes as zero. */
		.flags = (c->cdw12 & CDW12_DEAC) && n->discard ? BLK_REQ_UNMAP :
								 0,
		.offset = slba << n->lbads,
		.len = nlb << n->lbads,
	};
	return submit(n, req);
}

static uint16_t dsm(struct nvme_ctrl *n, struct nvme_req *req)
{
	const struct nvme_cmd *c = &req->cmd;
	unsigned int nr = (c->cdw10 & 0xff) + 1;
	uint8_t raw[256 * DSM_RANGE_SIZE];
	uint16_t st;

	/* Integral read/write hints alone ask nothing of us. */
	if (!(c->cdw11 & DSM_AD))
		return ST_OK;
	if (n->readonly)
		return ST_NS_WRITE_PROTECTED;
	st = nvme_data_in(n, req, raw, (uint64_t)nr * DSM_RANGE_SIZE);
	if (st)
		return st;
	req->dsm = calloc(nr, sizeof(*req->dsm));
	if (!req->dsm)
		return ST_INTERNAL;
	for (unsigned int i = 0; i < nr; i++) {
		struct nvme_dsm_range *r = &req->dsm[i];
		const uint8_t *p = raw + i * DSM_RANGE_SIZE;

		memcpy(&r->attr, p, 4);
		memcpy(&r->nlb, p + 4, 4);
		memcpy(&r->slba, p + 8, 8);
		r->attr = le32toh(r->attr);
		r->nlb = le32toh(r->nlb);
		r->slba = le64toh(r->slba);
		/* All ranges checked before any is deallocated. */
		if (!lba_range_ok(n, r->slba, r->nlb))
			return ST_LBA_RANGE;
	}
	req->dsm_n = nr;
	req->dsm_i = 0;
	/* Nothing to do without a back-end that can deallocate. */
	if (!n->discard)
		return ST_OK;
	return dsm_next(n, req);
}

uint16_t nvme_io_exec(struct nvme_ctrl *n, struct nvme_req *req)
{
	const struct nvme_cmd *c = &req->cmd;
	uint16_t opc = nvme_cmd_opc(c);

	/* No fused operations; SGLs for data only (no metadata). */
	if (nvme_cmd_fuse(c) || nvme_cmd_psdt(c) > 1)
		return ST_INVALID_FIELD;
	if (opc == NVM_FLUSH) {
		if (c->nsid != NVME_NSID && c->nsid != NVME_NSID_ALL)
			return ST_INVALID_NS;
		return flush_now(n, req);
	}
	if (c->nsid != NVME_NSID)
		return opc == NVM_READ || opc == NVM_WRITE ||
				       opc == NVM_WRITE_ZEROES ||
				       opc == NVM_DSM ?
			       ST_INVALID_NS :
			       ST_INVALID_OPCODE;
	switch (opc) {
	case NVM_READ:
		return rw(n, req, false);
	case NVM_WRITE:
		return rw(n, req, true);
	case NVM_WRITE_ZEROES:
		return write_zeroes(n, req);
	case NVM_DSM:
		return dsm(n, req);
	}
	return ST_INVALID_OPCODE;
}
