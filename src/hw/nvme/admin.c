// SPDX-License-Identifier: GPL-2.0
/*
 * The admin command set: queue management, Identify, Get Log Page, Get and
 * Set Features, Asynchronous Event Request, Abort and Doorbell Buffer
 * Config. Every field the host supplies is checked before it is used.
 */
#include <stdio.h>
#include <string.h>

#include "hw/nvme/nvme_int.h"
#include "util/log.h"

#define IDENTIFY_SIZE 4096
#define LOG_MAX 4096
#define CNS_NS 0x00
#define CNS_CTRL 0x01
#define CNS_NS_ACTIVE_LIST 0x02
#define CNS_NS_DESC_LIST 0x03
#define CNS_PRIMARY_CAPS 0x14
#define CNS_SECONDARY_LIST 0x15
#define ST_FEAT_NOT_NS_SPECIFIC (ST(SCT_CMD, 0x0f) | DNR)

/* ---- queues ---- */

static bool queue_mem_ok(struct nvme_ctrl *n, uint64_t base, uint64_t len,
			 enum dma_dir dir)
{
	return !dma_check(n->dma, base, len, dir);
}

static uint16_t create_cq(struct nvme_ctrl *n, const struct nvme_cmd *c)
{
	uint32_t qid = c->cdw10 & 0xffff, size = (c->cdw10 >> 16) + 1;
	uint32_t iv = c->cdw11 >> 16;
	bool pc = c->cdw11 & 1, ien = c->cdw11 & 2;

	if (!qid || qid > n->ncqa + 1 || qid > n->max_ioq || n->cq[qid])
		return ST_INVALID_QID;
	if (size < 2 || size > NVME_MQES + 1)
		return ST_INVALID_QSIZE;
	/* CAP.CQR: only physically contiguous queues. */
	if (!pc)
		return ST_INVALID_FIELD;
	if (iv >= n->nr_vectors)
		return ST_INVALID_VECTOR;
	if (c->prp1 & (n->page_size - 1))
		return ST_PRP_OFFSET_INVALID;
	if (CC_IOCQES(n->cc) != NVME_CQES ||
	    !queue_mem_ok(n, c->prp1, (uint64_t)size * 16, DMA_WRITE))
		return ST_INVALID_FIELD;
	if (!nvme_cq_create(n, (uint16_t)qid, (uint16_t)iv, size, c->prp1, ien))
		return ST_INTERNAL;
	n->ioq_created = true;
	return ST_OK;
}

static uint16_t create_sq(struct nvme_ctrl *n, const struct nvme_cmd *c)
{
	uint32_t qid = c->cdw10 & 0xffff, size = (c->cdw10 >> 16) + 1;
	uint32_t cqid = c->cdw11 >> 16;
	bool pc = c->cdw11 & 1;

	if (!qid || qid > n->nsqa + 1 || qid > n->max_ioq || n->sq[qid])
		return ST_INVALID_QID;
	if (!cqid || cqid > n->max_ioq || !n->cq[cqid])
		return ST_CQ_INVALID;
	if (size < 2 || size > NVME_MQES + 1)
		return ST_INVALID_QSIZE;
	if (!pc)
		return ST_INVALID_FIELD;
	if (c->prp1 & (n->page_size - 1))
		return ST_PRP_OFFSET_INVALID;
	if (CC_IOSQES(n->cc) != NVME_SQES ||
	    !queue_mem_ok(n, c->prp1, (uint64_t)size * 64, DMA_READ))
		return ST_INVALID_FIELD;
	if (!nvme_sq_create(n, (uint16_t)qid, (uint16_t)cqid, size, c->prp1))
		return ST_INTERNAL;
	n->ioq_created = true;
	return ST_OK;
}

static uint16_t delete_sq(struct nvme_ctrl *n, struct nvme_req *req)
{
	uint32_t qid = req->cmd.cdw10 & 0xffff;
	struct nvme_sq *sq = qid && qid <= n->max_ioq ? n->sq[qid] : NULL;

	if (!sq || sq->deleting)
		return ST_INVALID_QID;
	/* Completes once its commands are back from the back-end. */
	nvme_sq_start_delete(n, sq, req);
	return ST_PENDING;
}

static uint16_t delete_cq(struct nvme_ctrl *n, const struct nvme_cmd *c)
{
	uint32_t qid = c->cdw10 & 0xffff;
	struct nvme_cq *cq = qid && qid <= n->max_ioq ? n->cq[qid] : NULL;

	if (!cq)
		return ST_INVALID_QID;
	if (cq->nr_sqs)
		return ST_INVALID_QUEUE_DELETION;
	nvme_cq_free(n, cq);
	return ST_OK;
}

/* ---- Identify ---- */

static void identify_ctrl(struct nvme_ctrl *n, uint8_t *d)
{
	nvme_put_le(d + 0, n->vid, 2);
	nvme_put_le(d + 2, n->ssvid, 2);
	memcpy(d + 4, n->sn, 20);
	memcpy(d + 24, n->mn, 40);
	memcpy(d + 64, n->fr, 8);
	d[72] = 6; /* RAB: 64 commands */
	d[77] = NVME_MDTS;
	nvme_put_le(d + 78, n->cntlid, 2); /* CNTLID */
	nvme_put_le(d + 80, NVME_VS, 4);
	d[111] = 1; /* CNTRLTYPE: I/O controller */
	/* OACS: Doorbell Buffer Config; a primary, Virtualization Mgmt. */
	nvme_put_le(d + 256, 1u << 8 | (n->nr_secondary ? 1u << 10 : 0), 2);
	d[258] = NVME_ACL;
	d[259] = NVME_AERL;
	d[260] = 1u << 1 | 1u; /* FRMW: one slot, read-only */
	d[261] = 1u << 2; /* LPA: extended data (offsets, NUMDU) */
	d[262] = NVME_ELPE;
	d[263] = 0; /* NPSS: one power state */
	nvme_put_le(d + 266, NVME_WCTEMP, 2);
	nvme_put_le(d + 268, NVME_CCTEMP, 2);
	d[512] = NVME_SQES << 4 | NVME_SQES;
	d[513] = NVME_CQES << 4 | NVME_CQES;
	nvme_put_le(d + 516, 1, 4); /* NN */
	/* ONCS: DSM, Write Zeroes, Save/Select in features */
	nvme_put_le(d + 520, 1u << 2 | 1u << 3 | 1u << 4, 2);
	/* VWC present; Flush with NSID FFFFFFFFh supported. */
	d[525] = 1u | 3u << 1;
	/* SGLS: for I/O data, no alignment needed; no bit bucket. */
	nvme_put_le(d + 536, 1, 4);
	/* SUBNQN in the UUID form, for hosts without a domain of their own. */
	snprintf((char *)d + 768, 256,
		 "nqn.2014-08.org.nvmexpress:uuid:%02x%02x%02x%02x-%02x%02x-"
		 "%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 n->uuid[0], n->uuid[1], n->uuid[2], n->uuid[3], n->uuid[4],
		 n->uuid[5], n->uuid[6], n->uuid[7], n->uuid[8], n->uuid[9],
		 n->uuid[10], n->uuid[11], n->uuid[12], n->uuid[13],
		 n->uuid[14], n->uuid[15]);
	/* Power state 0: 25 W, operational. */
	nvme_put_le(d + 2048, 2500, 2);
}

static void identify_ns(struct nvme_ctrl *n, uint8_t *d)
{
	nvme_put_le(d + 0, n->nsze, 8); /* NSZE */
	nvme_put_le(d + 8, n->nsze, 8); /* NCAP */
	nvme_put_le(d + 16, n->nsze, 8); /* NUSE */
	d[24] = n->discard ? 1 : 0; /* NSFEAT: thin provisioning */
	d[25] = 0; /* NLBAF: one format */
	d[26] = 0; /* FLBAS: format 0, no metadata */
	/* DLFEAT: deallocated blocks read zeroes; Write Zeroes may deallocate */
	d[33] = n->discard ? (1u | 1u << 3) : 0;
	nvme_put_le(d + 48, n->nsze << n->lbads, 8); /* NVMCAP */
	d[99] = n->readonly ? 1 : 0; /* NSATTR: write protected */
	memcpy(d + 104, n->nguid, 16);
	d[128 + 2] = (uint8_t)n->lbads; /* LBAF0: LBADS */
}

static void identify_ns_descs(struct nvme_ctrl *n, uint8_t *d)
{
	d[0] = 0x02; /* NGUID */
	d[1] = 16;
	memcpy(d + 4, n->nguid, 16);
	d[20] = 0x03; /* UUID */
	d[21] = 16;
	memcpy(d + 24, n->uuid, 16);
}

/*
 * Primary Controller Capabilities: queues and vectors are all private
 * (CRT 0, no flexible resources to move to the secondaries).
 */
static void identify_primary(struct nvme_ctrl *n, uint8_t *d)
{
	nvme_put_le(d + 0, n->cntlid, 2);
	nvme_put_le(d + 42, NVME_MAX_IOQ + 1, 2); /* VQPRT */
	nvme_put_le(d + 74, NVME_MAX_IOQ + 1, 2); /* VIPRT */
}

static bool secondary_online(struct nvme_ctrl *n, unsigned int k)
{
	struct nvme_ctrl *s =
		n->secondary ? n->secondary(n->secondary_opaque, k) : NULL;

	return s ? nvme_is_online(s) : true;
}

/*
 * Secondary Controller List of a primary with SR-IOV VFs: VF K is
 * controller K with fixed resources (nothing flexible to assign), online
 * unless Virtualization Management took it offline. From CNTID up.
 */
static void identify_secondary(struct nvme_ctrl *n, uint16_t from, uint8_t *d)
{
	unsigned int nr = 0;

	for (unsigned int k = 1; k <= n->nr_secondary && nr < 127; k++) {
		uint8_t *e = d + 32 * (nr + 1);

		if (k < from)
			continue;
		nvme_put_le(e + 0, k, 2); /* SCID */
		nvme_put_le(e + 2, n->cntlid, 2); /* PCID */
		e[4] = secondary_online(n, k); /* SCS */
		nvme_put_le(e + 8, k, 2); /* VFN */
		nr++;
	}
	d[0] = (uint8_t)nr;
}

static uint16_t identify(struct nvme_ctrl *n, struct nvme_req *req)
{
	const struct nvme_cmd *c = &req->cmd;
	uint8_t d[IDENTIFY_SIZE];

	memset(d, 0, sizeof(d));
	switch (c->cdw10 & 0xff) {
	case CNS_NS:
		if (c->nsid != NVME_NSID)
			return ST_INVALID_NS;
		identify_ns(n, d);
		break;
	case CNS_CTRL:
		identify_ctrl(n, d);
		break;
	case CNS_NS_ACTIVE_LIST:
		if (c->nsid >= 0xfffffffe)
			return ST_INVALID_NS;
		if (c->nsid < NVME_NSID)
			nvme_put_le(d, NVME_NSID, 4);
		break;
	case CNS_NS_DESC_LIST:
		if (c->nsid != NVME_NSID)
			return ST_INVALID_NS;
		identify_ns_descs(n, d);
		break;
	case CNS_PRIMARY_CAPS:
		if (!n->nr_secondary)
			return ST_INVALID_FIELD;
		identify_primary(n, d);
		break;
	case CNS_SECONDARY_LIST:
		if (!n->nr_secondary)
			return ST_INVALID_FIELD;
		identify_secondary(n, c->cdw10 >> 16, d);
		break;
	default:
		return ST_INVALID_FIELD;
	}
	return nvme_data_out(n, req, d, sizeof(d));
}

/* ---- logs ---- */

static void put_u128(uint8_t *p, uint64_t v)
{
	nvme_put_le(p, v, 8);
	nvme_put_le(p + 8, 0, 8);
}

static size_t log_error(struct nvme_ctrl *n, uint8_t *d)
{
	/* Newest first. */
	for (unsigned int i = 0; i <= NVME_ELPE && i < n->error_count; i++) {
		uint64_t k = (n->error_count - i) % (NVME_ELPE + 1);
		const struct nvme_error_entry *e = &n->errors[k];
		uint8_t *p = d + 64 * i;

		nvme_put_le(p + 0, e->count, 8);
		nvme_put_le(p + 8, e->sqid, 2);
		nvme_put_le(p + 10, e->cid, 2);
		/* Status Field: the CQE's status, phase tag bit clear. */
		nvme_put_le(p + 12, (uint32_t)(e->status & 0x7fff) << 1, 2);
		nvme_put_le(p + 14, e->loc, 2);
		nvme_put_le(p + 16, e->lba, 8);
		nvme_put_le(p + 24, e->nsid, 4);
	}
	return 64 * (NVME_ELPE + 1);
}

static uint64_t data_units(uint64_t bytes)
{
	/* Thousands of 512-byte units, rounded up. */
	return (bytes / 512 + 999) / 1000;
}

static size_t log_smart(struct nvme_ctrl *n, uint8_t *d)
{
	uint64_t hours = (monotonic_ns() - n->created_ns) / 3600000000000ull;

	d[0] = n->crit_warning;
	nvme_put_le(d + 1, NVME_TEMPERATURE, 2);
	d[3] = 100; /* available spare */
	d[4] = 10; /* threshold */
	d[5] = 0; /* percentage used */
	put_u128(d + 32, data_units(n->bytes_read));
	put_u128(d + 48, data_units(n->bytes_written));
	put_u128(d + 64, n->read_cmds);
	put_u128(d + 80, n->write_cmds);
	put_u128(d + 112, 1); /* power cycles */
	put_u128(d + 128, hours);
	put_u128(d + 176, n->error_count);
	return 512;
}

static size_t log_fw_slot(struct nvme_ctrl *n, uint8_t *d)
{
	d[0] = 1; /* AFI: slot 1 active */
	memcpy(d + 8, n->fr, 8);
	return 512;
}

static uint16_t get_log_page(struct nvme_ctrl *n, struct nvme_req *req)
{
	const struct nvme_cmd *c = &req->cmd;
	uint8_t lid = c->cdw10 & 0xff, d[LOG_MAX];
	bool rae = c->cdw10 & (1u << 15);
	uint64_t numd =
		((uint64_t)(c->cdw11 & 0xffff) << 16 | c->cdw10 >> 16) + 1;
	uint64_t len = numd * 4, off = c->cdw12 | (uint64_t)c->cdw13 << 32;
	uint8_t out[LOG_MAX];
	size_t size;
	uint64_t avail;
	uint16_t st;

	memset(d, 0, sizeof(d));
	switch (lid) {
	case LID_ERROR:
		size = log_error(n, d);
		break;
	case LID_SMART:
		if (c->nsid != 0 && c->nsid != NVME_NSID &&
		    c->nsid != NVME_NSID_ALL)
			return ST_INVALID_NS;
		size = log_smart(n, d);
		break;
	case LID_FW_SLOT:
		size = log_fw_slot(n, d);
		break;
	default:
		return ST_INVALID_LOG_PAGE;
	}
	if (off % 4 || off > size || len > sizeof(out))
		return ST_INVALID_FIELD;
	/* What lies past the page reads as zeroes. */
	memset(out, 0, sizeof(out));
	avail = size - off;
	memcpy(out, d + off, avail < len ? avail : len);
	st = nvme_data_out(n, req, out, len);
	if (st)
		return st;
	if (!rae) {
		if (lid == LID_ERROR)
			n->aen_masked &= (uint8_t) ~(1u << AET_ERROR);
		else if (lid == LID_SMART)
			n->aen_masked &= (uint8_t) ~(1u << AET_SMART);
		nvme_aer_deliver(n);
	}
	return ST_OK;
}

/* ---- features ---- */

/* The value of @fid (@c selects within it), current or default. */
static uint16_t feature_get(struct nvme_ctrl *n, const struct nvme_cmd *c,
			    bool dflt, uint32_t *v)
{
	uint8_t fid = c->cdw10 & 0xff;

	switch (fid) {
	case FID_ARBITRATION:
		*v = dflt ? 0 : n->arbitration;
		break;
	case FID_POWER_MGMT:
		*v = dflt ? 0 : n->power_mgmt;
		break;
	case FID_TEMP_THRESH: {
		unsigned int sel = (c->cdw11 >> 16) & 0xf;
		unsigned int th = (c->cdw11 >> 20) & 3;

		if (sel != 0 || th > 1)
			return ST_INVALID_FIELD;
		if (th == 0)
			*v = dflt ? NVME_WCTEMP : n->temp_over;
		else
			*v = dflt ? 0 : n->temp_under;
		break;
	}
	case FID_VWC:
		*v = dflt ? !n->readonly : n->wce;
		break;
	case FID_NUM_QUEUES:
		*v = dflt ? (n->max_ioq - 1) * 0x10001u :
			    n->nsqa | n->ncqa << 16;
		break;
	case FID_IRQ_COALESCING:
		*v = dflt ? 0 : n->irq_coalescing;
		break;
	case FID_IRQ_VECTOR_CONF: {
		uint32_t iv = c->cdw11 & 0xffff;

		if (iv >= n->nr_vectors)
			return ST_INVALID_FIELD;
		*v = dflt ? iv : n->ivc[iv];
		break;
	}
	case FID_WRITE_ATOMICITY:
		*v = dflt ? 0 : n->write_atomicity;
		break;
	case FID_ASYNC_EVENT_CONF:
		*v = dflt ? 0 : n->aec;
		break;
	default:
		return ST_INVALID_FIELD;
	}
	return ST_OK;
}

static uint16_t get_features(struct nvme_ctrl *n, struct nvme_req *req)
{
	const struct nvme_cmd *c = &req->cmd;
	unsigned int sel = (c->cdw10 >> 8) & 7;
	uint32_t v;
	uint16_t st;

	if (sel > 3)
		return ST_INVALID_FIELD;
	/* Nothing is saveable: saved values are the defaults. */
	st = feature_get(n, c, sel != 0, &v);
	if (st)
		return st;
	/* Supported capabilities: changeable, not saveable or per namespace. */
	req->dw0 = sel == 3 ? 1u << 2 : v;
	return ST_OK;
}

static uint16_t set_features(struct nvme_ctrl *n, struct nvme_req *req)
{
	const struct nvme_cmd *c = &req->cmd;
	uint8_t fid = c->cdw10 & 0xff;
	uint32_t v = c->cdw11;

	if (c->cdw10 & (1u << 31))
		return ST_FEAT_NOT_SAVEABLE;
	if (c->nsid != 0 && c->nsid != NVME_NSID_ALL)
		return fid == FID_ARBITRATION || fid == FID_POWER_MGMT ||
				       fid == FID_TEMP_THRESH ||
				       fid == FID_VWC ||
				       fid == FID_NUM_QUEUES ||
				       fid == FID_IRQ_COALESCING ||
				       fid == FID_IRQ_VECTOR_CONF ||
				       fid == FID_WRITE_ATOMICITY ||
				       fid == FID_ASYNC_EVENT_CONF ?
			       ST_FEAT_NOT_NS_SPECIFIC :
			       ST_INVALID_FIELD;
	switch (fid) {
	case FID_ARBITRATION:
		n->arbitration = v & 0xffffff07u;
		break;
	case FID_POWER_MGMT:
		if ((v & 0x1f) != 0) /* PS beyond NPSS */
			return ST_INVALID_FIELD;
		n->power_mgmt = v & 0xff;
		break;
	case FID_TEMP_THRESH: {
		unsigned int sel = (v >> 16) & 0xf, th = (v >> 20) & 3;

		if (sel != 0 || th > 1)
			return ST_INVALID_FIELD;
		if (th == 0)
			n->temp_over = (uint16_t)v;
		else
			n->temp_under = (uint16_t)v;
		nvme_check_temperature(n);
		break;
	}
	case FID_VWC:
		n->wce = v & 1;
		break;
	case FID_NUM_QUEUES: {
		uint32_t nsqr = v & 0xffff, ncqr = v >> 16;

		/* Fixed once an I/O queue exists, until a reset. */
		if (n->ioq_created)
			return ST_CMD_SEQ_ERROR;
		if (nsqr == 0xffff || ncqr == 0xffff)
			return ST_INVALID_FIELD;
		n->nsqa = nsqr < n->max_ioq ? nsqr : n->max_ioq - 1;
		n->ncqa = ncqr < n->max_ioq ? ncqr : n->max_ioq - 1;
		req->dw0 = n->nsqa | n->ncqa << 16;
		break;
	}
	case FID_IRQ_COALESCING:
		n->irq_coalescing = v & 0xffff;
		break;
	case FID_IRQ_VECTOR_CONF: {
		uint32_t iv = v & 0xffff;

		if (iv >= n->nr_vectors)
			return ST_INVALID_FIELD;
		n->ivc[iv] = v & 0x1ffff;
		break;
	}
	case FID_WRITE_ATOMICITY:
		n->write_atomicity = v & 1;
		break;
	case FID_ASYNC_EVENT_CONF:
		/* SMART critical warnings only: OAES offers no notices. */
		n->aec = v & 0xff;
		nvme_check_temperature(n);
		break;
	default:
		return ST_INVALID_FIELD;
	}
	return ST_OK;
}

/* ---- the rest ---- */

static uint16_t aer(struct nvme_ctrl *n, struct nvme_req *req)
{
	if (n->nr_aer > NVME_AERL)
		return ST_AER_LIMIT;
	n->aer[n->nr_aer++] = req;
	nvme_aer_deliver(n);
	return ST_PENDING;
}

static uint16_t dbbuf_config(struct nvme_ctrl *n, const struct nvme_cmd *c)
{
	uint64_t ps = n->page_size;

	if (!c->prp1 || !c->prp2 || (c->prp1 & (ps - 1)) ||
	    (c->prp2 & (ps - 1)) || c->prp1 == c->prp2 ||
	    !queue_mem_ok(n, c->prp1, ps, DMA_READ | DMA_WRITE) ||
	    !queue_mem_ok(n, c->prp2, ps, DMA_READ | DMA_WRITE))
		return ST_INVALID_FIELD;
	n->dbbuf = true;
	n->dbbuf_dbs = c->prp1;
	n->dbbuf_eis = c->prp2;
	/* The tails can be read back now: doorbells may skip the exit. */
	nvme_sq_ioev_sync(n);
	return ST_OK;
}

/*
 * Virtualization Management on a primary: Secondary Offline (7h) and
 * Online (9h). Resources are fixed, so Primary Flexible Allocation (1h)
 * and Secondary Assign (8h) have nothing to move: Invalid Field.
 */
static uint16_t virt_mgmt(struct nvme_ctrl *n, const struct nvme_cmd *c)
{
	unsigned int act = c->cdw10 & 0xf, k = c->cdw10 >> 16;
	struct nvme_ctrl *s;

	if (!n->nr_secondary || !n->secondary)
		return ST_INVALID_OPCODE;
	if (act != 0x7 && act != 0x9)
		return ST_INVALID_FIELD;
	if (k < 1 || k > n->nr_secondary ||
	    !(s = n->secondary(n->secondary_opaque, k)))
		return ST_INVALID_CTRL_ID;
	nvme_set_online(s, act == 0x9);
	return ST_OK;
}

uint16_t nvme_admin_exec(struct nvme_ctrl *n, struct nvme_req *req)
{
	const struct nvme_cmd *c = &req->cmd;

	/* PRPs only for admin commands over PCIe. */
	if (nvme_cmd_fuse(c) || nvme_cmd_psdt(c))
		return ST_INVALID_FIELD;
	switch (nvme_cmd_opc(c)) {
	case ADM_DELETE_SQ:
		return delete_sq(n, req);
	case ADM_CREATE_SQ:
		return create_sq(n, c);
	case ADM_GET_LOG_PAGE:
		return get_log_page(n, req);
	case ADM_DELETE_CQ:
		return delete_cq(n, c);
	case ADM_CREATE_CQ:
		return create_cq(n, c);
	case ADM_IDENTIFY:
		return identify(n, req);
	case ADM_ABORT:
		/* Best effort is allowed: we never abort (DW0 bit 0). */
		req->dw0 = 1;
		return ST_OK;
	case ADM_SET_FEATURES:
		return set_features(n, req);
	case ADM_GET_FEATURES:
		return get_features(n, req);
	case ADM_AER:
		return aer(n, req);
	case ADM_DBBUF_CONFIG:
		return dbbuf_config(n, c);
	case ADM_VIRT_MGMT:
		return virt_mgmt(n, c);
	}
	return ST_INVALID_OPCODE;
}
