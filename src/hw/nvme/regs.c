// SPDX-License-Identifier: GPL-2.0
/*
 * NVMe controller: the BAR0 register file, the enable/disable/shutdown
 * state machine, doorbells (plain and shadow), fetching from submission
 * queues, posting to completion queues, interrupts and asynchronous events.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hw/nvme/nvme_int.h"
#include "util/log.h"
#include "version.h"

#define SQE_SIZE 64
#define CQE_SIZE 16
/* Shadow doorbell passes per doorbell write before we leave it for later. */
#define SHADOW_PASSES 4

/* ---- requests ---- */

static struct nvme_req *req_get(struct nvme_sq *sq)
{
	struct nvme_req *req = sq->free;

	if (!req)
		return NULL;
	sq->free = req->next;
	sq->inflight++;
	req->next = NULL;
	req->in_use = true;
	return req;
}

/* Back to its SQ's pool, with whatever it held released. */
void nvme_req_release(struct nvme_ctrl *n, struct nvme_req *req)
{
	struct nvme_sq *sq = req->sq;

	if (!req->in_use)
		return;
	nvme_unmap(n, req, 0);
	free(req->dsm);
	req->dsm = NULL;
	req->in_use = false;
	req->next = sq->free;
	sq->free = req;
	sq->inflight--;
}

/* ---- fatal errors, error log, events ---- */

void nvme_fatal(struct nvme_ctrl *n, const char *why)
{
	if (!(n->csts & CSTS_CFS))
		pr_warn_ratelimited("%s: controller fatal status: %s", n->name,
				    why);
	n->csts |= CSTS_CFS;
	n->ready = false;
}

static void error_log_add(struct nvme_ctrl *n, uint16_t sqid, uint16_t cid,
			  uint16_t status, uint32_t nsid, uint64_t lba)
{
	struct nvme_error_entry *e;

	n->error_count++;
	e = &n->errors[n->error_count % (NVME_ELPE + 1)];
	*e = (struct nvme_error_entry){
		.count = n->error_count,
		.sqid = sqid,
		.cid = cid,
		.status = status,
		.loc = 0xffff,
		.lba = lba,
		.nsid = nsid,
	};
}

/* Events queue until an AER takes them, merged if already queued. */
void nvme_post_event(struct nvme_ctrl *n, uint8_t type, uint8_t info,
		     uint8_t lid)
{
	for (unsigned int i = 0; i < n->nr_events; i++)
		if (n->events[i].type == type && n->events[i].info == info)
			return;
	if (n->nr_events == NVME_MAX_EVENTS)
		return;
	n->events[n->nr_events++] = (struct nvme_event){ type, info, lid };
	nvme_aer_deliver(n);
}

/* Outstanding AERs take queued events of types not masked. */
void nvme_aer_deliver(struct nvme_ctrl *n)
{
	unsigned int i = 0;

	while (n->nr_aer && i < n->nr_events) {
		struct nvme_event ev = n->events[i];
		struct nvme_req *req;

		if (n->aen_masked & (1u << ev.type)) {
			i++;
			continue;
		}
		memmove(&n->events[i], &n->events[i + 1],
			(n->nr_events - i - 1) * sizeof(ev));
		n->nr_events--;
		/* A type stays masked until its log page is read (RAE=0). */
		n->aen_masked |= 1u << ev.type;
		req = n->aer[--n->nr_aer];
		req->dw0 = ev.type | (uint32_t)ev.info << 8 |
			   (uint32_t)ev.lid << 16;
		nvme_req_complete(n, req, ST_OK);
	}
}

/* A doorbell write the spec calls invalid: reported, never acted on. */
static void bad_doorbell(struct nvme_ctrl *n, uint16_t qid, uint8_t info)
{
	pr_debug_ratelimited(
		"%s: invalid doorbell write (queue %u, %s)", n->name, qid,
		info == AEI_ERR_INVALID_DB ? "no such queue" : "bad value");
	error_log_add(n, qid, 0xffff, 0, 0, 0);
	nvme_post_event(n, AET_ERROR, info, LID_ERROR);
}

/* ---- interrupts ---- */

/* Whether @cq has entries the host has not consumed. */
static bool cq_unacked(const struct nvme_cq *cq)
{
	return cq->ien && cq->head != cq->tail;
}

static void irq_update(struct nvme_ctrl *n)
{
	bool level = false;

	if (n->irq_mode == NVME_IRQ_PIN) {
		for (unsigned int q = 0; q <= NVME_MAX_IOQ; q++) {
			struct nvme_cq *cq = n->cq[q];

			if (cq && cq_unacked(cq) && cq->vector < 32 &&
			    !(n->intms & (1u << cq->vector)))
				level = true;
			if (cq)
				cq->irq_pending = false;
		}
		if (level != n->intx) {
			n->intx = level;
			if (n->irq->set_level)
				n->irq->set_level(n->irq_opaque, level);
		}
		return;
	}
	for (unsigned int q = 0; q <= NVME_MAX_IOQ; q++) {
		struct nvme_cq *cq = n->cq[q];

		if (!cq || !cq->irq_pending || !cq->ien)
			continue;
		/* MSI: a masked vector keeps its message for the unmask. */
		if (n->irq_mode == NVME_IRQ_MSI && cq->vector < 32 &&
		    (n->intms & (1u << cq->vector)))
			continue;
		cq->irq_pending = false;
		if (n->irq->notify)
			n->irq->notify(n->irq_opaque, cq->vector);
	}
}

/* ---- shadow doorbells ---- */

static uint64_t dbbuf_off(uint16_t qid, bool cq)
{
	return (2ull * qid + cq) * 4;
}

/* Reads the shadow doorbell of @qid; false (and the controller failed). */
static bool shadow_read(struct nvme_ctrl *n, uint16_t qid, bool cq, uint16_t *v)
{
	uint32_t raw;

	if (dma_read(n->dma, n->dbbuf_dbs + dbbuf_off(qid, cq), &raw, 4)) {
		nvme_fatal(n, "shadow doorbell buffer unreadable");
		return false;
	}
	*v = (uint16_t)le32toh(raw);
	return true;
}

static bool shadow_write(struct nvme_ctrl *n, uint64_t base, uint16_t qid,
			 bool cq, uint16_t v)
{
	uint32_t raw = htole32(v);

	if (dma_write(n->dma, base + dbbuf_off(qid, cq), &raw, 4)) {
		nvme_fatal(n, "shadow doorbell buffer unwritable");
		return false;
	}
	return true;
}

/* The event index of @qid: the host rings the doorbell when it passes. */
static bool eventidx_write(struct nvme_ctrl *n, uint16_t qid, bool cq,
			   uint16_t v)
{
	if (!shadow_write(n, n->dbbuf_eis, qid, cq, v))
		return false;
	/* Before we look at the shadow doorbell again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return true;
}

/* ---- completion queues ---- */

static bool cq_full(const struct nvme_cq *cq)
{
	return (cq->tail + 1u) % cq->size == cq->head;
}

/* Whether moving the head to @v only consumes posted entries. */
static bool cq_head_valid(const struct nvme_cq *cq, uint32_t v)
{
	uint32_t posted = (cq->tail + cq->size - cq->head) % cq->size;

	return v < cq->size && (v + cq->size - cq->head) % cq->size <= posted;
}

/* With shadow doorbells the host may move the head without ringing. */
static void cq_refresh_head(struct nvme_ctrl *n, struct nvme_cq *cq)
{
	uint16_t v;

	if (!n->dbbuf || !cq->qid || !shadow_read(n, cq->qid, true, &v))
		return;
	if (v != cq->head && cq_head_valid(cq, v))
		cq->head = v;
}

static bool cqe_write(struct nvme_ctrl *n, struct nvme_cq *cq,
		      struct nvme_req *req)
{
	uint64_t addr = cq->base + (uint64_t)cq->tail * CQE_SIZE;
	uint32_t cqe[4], dw3;

	cqe[0] = htole32(req->dw0);
	cqe[1] = 0;
	cqe[2] = htole32(req->sq->head | (uint32_t)req->sq->qid << 16);
	dw3 = req->cid | (uint32_t)cq->phase << 16 |
	      (uint32_t)(req->status & 0x7fff) << 17;
	cqe[3] = htole32(dw3);
	if (dma_write(n->dma, addr, cqe, 12))
		return false;
	/* The phase tag last: the host polls it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return !dma_write(n->dma, addr + 12, &cqe[3], 4);
}

/* Posts held completions while there is room; never overwrites. */
static void cq_post(struct nvme_ctrl *n, struct nvme_cq *cq)
{
	if (cq->held && n->dbbuf)
		cq_refresh_head(n, cq);
	while (cq->held && !(n->csts & CSTS_CFS)) {
		struct nvme_req *req = cq->held;

		if (cq_full(cq)) {
			/* Ask the host to ring when it consumes, then look. */
			if (!n->dbbuf || !cq->qid ||
			    !eventidx_write(n, cq->qid, true, cq->head))
				return;
			cq_refresh_head(n, cq);
			if (cq_full(cq))
				return;
		}
		if (!cqe_write(n, cq, req)) {
			nvme_fatal(n, "completion queue not writable");
			return;
		}
		cq->held = req->next;
		if (!cq->held)
			cq->held_tail = &cq->held;
		cq->tail = (uint16_t)((cq->tail + 1u) % cq->size);
		if (!cq->tail)
			cq->phase = !cq->phase;
		cq->irq_pending = true;
		nvme_req_release(n, req);
	}
}

void nvme_req_complete(struct nvme_ctrl *n, struct nvme_req *req,
		       uint16_t status)
{
	struct nvme_sq *sq = req->sq;
	struct nvme_cq *cq;

	/* From before a reset, or of a queue being deleted: dropped. */
	if (req->gen != n->gen || sq->deleting) {
		nvme_req_release(n, req);
		return;
	}
	nvme_unmap(n, req, status == ST_OK ? req->bytes : 0);
	req->status = status;
	if (status != ST_OK)
		error_log_add(n, sq->qid, req->cid, status, req->cmd.nsid, 0);
	cq = n->cq[sq->cqid];
	req->next = NULL;
	*cq->held_tail = req;
	cq->held_tail = &req->next;
	cq_post(n, cq);
}

/* ---- I/O SQ doorbells on the I/O thread ---- */

/* Whether the glue fetches I/O SQs on its I/O thread (nvme.h). */
static bool kicks(const struct nvme_ctrl *n)
{
	return n->irq->sq_kick && n->irq->sq_ioeventfd;
}

static void sq_ioev_set(struct nvme_ctrl *n, struct nvme_sq *sq, bool on)
{
	if (!kicks(n) || !sq->qid || sq->ioev == on)
		return;
	sq->ioev = on;
	n->irq->sq_ioeventfd(n->irq_opaque, sq->qid, on);
}

/*
 * An ioeventfd loses the value written, so an I/O SQ has one only while
 * its tail can be read back from the shadow doorbell, and not while it
 * is being deleted (a write must then reach us to be reported invalid).
 */
void nvme_sq_ioev_sync(struct nvme_ctrl *n)
{
	for (unsigned int q = 1; q <= NVME_MAX_IOQ; q++) {
		struct nvme_sq *sq = n->sq[q];

		if (sq)
			sq_ioev_set(n, sq, n->dbbuf && !sq->deleting);
	}
}

/* ---- queues ---- */

static size_t iov_arena_size(uint32_t size)
{
	return (size_t)size * NVME_IOV_MAX * sizeof(struct iovec);
}

struct nvme_sq *nvme_sq_create(struct nvme_ctrl *n, uint16_t qid, uint16_t cqid,
			       uint32_t size, uint64_t base)
{
	struct nvme_sq *sq = calloc(1, sizeof(*sq));

	if (!sq)
		return NULL;
	sq->reqs = calloc(size, sizeof(*sq->reqs));
	/* Pages only for the slots a guest keeps busy: the pool is LIFO. */
	sq->iovs = mmap(NULL, iov_arena_size(size), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!sq->reqs || sq->iovs == MAP_FAILED) {
		if (sq->iovs != MAP_FAILED)
			munmap(sq->iovs, iov_arena_size(size));
		free(sq->reqs);
		free(sq);
		return NULL;
	}
	sq->qid = qid;
	sq->cqid = cqid;
	sq->size = size;
	sq->base = base;
	for (uint32_t i = size; i-- > 0;) {
		struct nvme_req *req = &sq->reqs[i];

		req->n = n;
		req->sq = sq;
		req->iov = &sq->iovs[(size_t)i * NVME_IOV_MAX];
		req->next = sq->free;
		sq->free = req;
	}
	n->sq[qid] = sq;
	n->cq[cqid]->nr_sqs++;
	sq_ioev_set(n, sq, n->dbbuf);
	return sq;
}

/* Only once nothing of it is in the back-end (inflight may count held). */
void nvme_sq_free(struct nvme_ctrl *n, struct nvme_sq *sq)
{
	struct nvme_cq *cq = n->cq[sq->cqid];

	sq_ioev_set(n, sq, false);
	/* Held completions of this SQ leave its CQ's list. */
	if (cq) {
		struct nvme_req **pp = &cq->held;

		while (*pp) {
			if ((*pp)->sq == sq)
				*pp = (*pp)->next;
			else
				pp = &(*pp)->next;
		}
		cq->held_tail = pp;
		cq->nr_sqs--;
	}
	for (uint32_t i = 0; i < sq->size; i++) {
		nvme_unmap(n, &sq->reqs[i], 0);
		free(sq->reqs[i].dsm);
	}
	n->sq[sq->qid] = NULL;
	munmap(sq->iovs, iov_arena_size(sq->size));
	free(sq->reqs);
	free(sq);
}

struct nvme_cq *nvme_cq_create(struct nvme_ctrl *n, uint16_t qid,
			       uint16_t vector, uint32_t size, uint64_t base,
			       bool ien)
{
	struct nvme_cq *cq = calloc(1, sizeof(*cq));

	if (!cq)
		return NULL;
	cq->qid = qid;
	cq->vector = vector;
	cq->size = size;
	cq->base = base;
	cq->phase = true;
	cq->ien = ien;
	cq->held_tail = &cq->held;
	n->cq[qid] = cq;
	return cq;
}

void nvme_cq_free(struct nvme_ctrl *n, struct nvme_cq *cq)
{
	n->cq[cq->qid] = NULL;
	free(cq);
}

/*
 * Delete I/O SQ: nothing more is fetched; held completions are dropped
 * now, commands in the back-end when they finish (aborted, no entry);
 * @req completes once the last one is back.
 */
void nvme_sq_start_delete(struct nvme_ctrl *n, struct nvme_sq *sq,
			  struct nvme_req *req)
{
	struct nvme_cq *cq = n->cq[sq->cqid];
	struct nvme_req **pp = &cq->held;

	sq->deleting = true;
	sq->delete_req = req;
	sq_ioev_set(n, sq, false);
	while (*pp) {
		struct nvme_req *r = *pp;

		if (r->sq == sq) {
			*pp = r->next;
			nvme_req_release(n, r);
		} else {
			pp = &r->next;
		}
	}
	cq->held_tail = pp;
}

/* Deletions whose last command came back: the SQ goes, Delete completes. */
static void finish_deletes(struct nvme_ctrl *n)
{
	for (unsigned int q = 1; q <= NVME_MAX_IOQ; q++) {
		struct nvme_sq *sq = n->sq[q];
		struct nvme_req *req;

		if (!sq || !sq->deleting || sq->inflight)
			continue;
		req = sq->delete_req;
		nvme_sq_free(n, sq);
		if (req)
			nvme_req_complete(n, req, ST_OK);
	}
}

/* ---- fetching ---- */

static bool fetch(struct nvme_ctrl *n, struct nvme_sq *sq, struct nvme_cmd *cmd)
{
	uint64_t addr = sq->base + (uint64_t)sq->head * SQE_SIZE;
	uint32_t *dw = (uint32_t *)cmd;

	if (dma_read(n->dma, addr, cmd, sizeof(*cmd))) {
		nvme_fatal(n, "submission queue not readable");
		return false;
	}
	for (unsigned int i = 0; i < sizeof(*cmd) / 4; i++)
		dw[i] = le32toh(dw[i]);
	return true;
}

/* Fetches and starts at most one queue's worth of commands. */
static void process_sq(struct nvme_ctrl *n, struct nvme_sq *sq)
{
	uint32_t budget = sq->size;

	while (n->ready && !sq->deleting && sq->head != sq->tail) {
		struct nvme_req *req;
		uint16_t st;

		if (!budget--) {
			sq->stalled = true;
			return;
		}
		req = req_get(sq);
		if (!req) {
			/* Every slot busy: a completion brings us back. */
			sq->stalled = true;
			return;
		}
		if (!fetch(n, sq, &req->cmd)) {
			nvme_req_release(n, req);
			return;
		}
		sq->head = (uint16_t)((sq->head + 1u) % sq->size);
		req->gen = n->gen;
		req->cid = (uint16_t)(req->cmd.cdw0 >> 16);
		req->dw0 = 0;
		req->niov = 0;
		req->bytes = 0;
		req->flush_after = false;
		st = sq->qid ? nvme_io_exec(n, req) : nvme_admin_exec(n, req);
		if (st != ST_PENDING)
			nvme_req_complete(n, req, st);
	}
}

/* Whether the SQ tail @v adds commands without overrunning the queue. */
static bool sq_tail_valid(const struct nvme_sq *sq, uint32_t v)
{
	uint32_t used = (sq->tail + sq->size - sq->head) % sq->size;
	uint32_t added = (v + sq->size - sq->tail) % sq->size;

	return v < sq->size && used + added < sq->size;
}

/* SQ doorbell with shadow doorbells: follow the shadow tail, bounded. */
static void process_sq_shadow(struct nvme_ctrl *n, struct nvme_sq *sq)
{
	for (unsigned int pass = 0; pass < SHADOW_PASSES; pass++) {
		uint16_t v;

		process_sq(n, sq);
		if (!n->ready || sq->stalled ||
		    !eventidx_write(n, sq->qid, false, sq->tail) ||
		    !shadow_read(n, sq->qid, false, &v))
			return;
		if (v == sq->tail)
			return;
		if (!sq_tail_valid(sq, v)) {
			bad_doorbell(n, sq->qid, AEI_ERR_INVALID_DB_VALUE);
			return;
		}
		sq->tail = v;
	}
	sq->stalled = true;
}

static void run_sq(struct nvme_ctrl *n, struct nvme_sq *sq)
{
	sq->stalled = false;
	if (n->dbbuf && sq->qid)
		process_sq_shadow(n, sq);
	else
		process_sq(n, sq);
}

/*
 * After anything that may free slots or end deletions: resume stalled
 * queues (each once), start the batch, raise interrupts. Off the I/O
 * thread (@io false) a stalled I/O SQ is left to it when it has one.
 */
static void run(struct nvme_ctrl *n, bool io)
{
	finish_deletes(n);
	for (unsigned int q = 0; q <= NVME_MAX_IOQ; q++) {
		struct nvme_sq *sq = n->sq[q];

		if (!sq || !sq->stalled || !sq->free || !n->ready)
			continue;
		if (q && !io && kicks(n))
			n->irq->sq_kick(n->irq_opaque, sq->qid);
		else
			run_sq(n, sq);
	}
	finish_deletes(n);
	blk_flush_submissions(n->be);
	irq_update(n);
}

static void doorbell_write(struct nvme_ctrl *n, uint64_t off, uint32_t val)
{
	uint32_t idx = (uint32_t)(off - NVME_DB_BASE) / 4;
	uint16_t qid = (uint16_t)(idx / 2);
	bool is_cq = idx & 1;
	struct nvme_sq *sq;
	struct nvme_cq *cq;

	if (off % 4 || !n->ready)
		return;
	if (qid > n->max_ioq || (is_cq ? !n->cq[qid] : !n->sq[qid]) ||
	    (!is_cq && n->sq[qid]->deleting)) {
		bad_doorbell(n, qid, AEI_ERR_INVALID_DB);
		return;
	}
	/* Linux keeps the admin queue off the shadow: mirror it there. */
	if (n->dbbuf && !qid && !shadow_write(n, n->dbbuf_dbs, 0, is_cq, val))
		return;
	if (qid && !is_cq && kicks(n)) {
		/*
		 * The I/O thread fetches. With shadow doorbells it reads the
		 * tail there (as after an ioeventfd); without, it is this one.
		 */
		sq = n->sq[qid];
		if (!n->dbbuf) {
			if (val > 0xffff || !sq_tail_valid(sq, val)) {
				bad_doorbell(n, qid, AEI_ERR_INVALID_DB_VALUE);
				return;
			}
			sq->tail = (uint16_t)val;
		}
		n->irq->sq_kick(n->irq_opaque, qid);
		return;
	}
	if (n->dbbuf && qid) {
		uint16_t v;

		if (!shadow_read(n, qid, is_cq, &v))
			return;
		val = v;
	}
	if (is_cq) {
		cq = n->cq[qid];
		if (val > 0xffff || !cq_head_valid(cq, val)) {
			bad_doorbell(n, qid, AEI_ERR_INVALID_DB_VALUE);
			return;
		}
		cq->head = (uint16_t)val;
		cq_post(n, cq);
		return;
	}
	sq = n->sq[qid];
	if (val > 0xffff || !sq_tail_valid(sq, val)) {
		bad_doorbell(n, qid, AEI_ERR_INVALID_DB_VALUE);
		return;
	}
	sq->tail = (uint16_t)val;
	run_sq(n, sq);
}

/* ---- controller state machine ---- */

void nvme_features_reset(struct nvme_ctrl *n)
{
	n->nsqa = n->max_ioq - 1;
	n->ncqa = n->max_ioq - 1;
	n->arbitration = 0;
	n->power_mgmt = 0;
	n->irq_coalescing = 0;
	n->write_atomicity = 0;
	n->aec = 0;
	n->temp_over = NVME_WCTEMP;
	n->temp_under = 0;
	for (unsigned int i = 0; i <= NVME_MAX_IOQ; i++)
		n->ivc[i] = i;
	n->wce = !n->readonly;
	n->crit_warning = 0;
}

/* SMART critical warning for temperature, and its event. */
void nvme_check_temperature(struct nvme_ctrl *n)
{
	bool hot = NVME_TEMPERATURE >= n->temp_over ||
		   NVME_TEMPERATURE < n->temp_under;

	if (!hot) {
		n->crit_warning &= (uint8_t)~0x02;
		return;
	}
	if (n->crit_warning & 0x02)
		return;
	n->crit_warning |= 0x02;
	if (n->aec & 0x02)
		nvme_post_event(n, AET_SMART, AEI_SMART_TEMPERATURE, LID_SMART);
}

/*
 * Everything a controller reset forgets. In-flight back-end requests are
 * waited for first; they belong to the old generation and complete without
 * touching guest memory or a queue.
 */
static void ctrl_reset(struct nvme_ctrl *n)
{
	n->gen++;
	n->ready = false;
	blk_drain(n->be);
	for (unsigned int q = 0; q <= NVME_MAX_IOQ; q++)
		if (n->sq[q])
			nvme_sq_free(n, n->sq[q]);
	for (unsigned int q = 0; q <= NVME_MAX_IOQ; q++)
		if (n->cq[q])
			nvme_cq_free(n, n->cq[q]);
	n->ioq_created = false;
	n->nr_aer = 0;
	n->nr_events = 0;
	n->aen_masked = 0;
	n->dbbuf = false;
	n->dbbuf_dbs = n->dbbuf_eis = 0;
	n->intms = 0;
	nvme_features_reset(n);
	irq_update(n);
}

static bool enable(struct nvme_ctrl *n)
{
	uint32_t cc = n->cc;
	uint32_t asqs = (n->aqa & 0xfff) + 1,
		 acqs = ((n->aqa >> 16) & 0xfff) + 1;
	unsigned int mps = CC_MPS(cc);
	uint32_t page;

	if (CC_CSS(cc) != 0 || CC_AMS(cc) != 0 || mps > NVME_MPSMAX ||
	    asqs < 2 || acqs < 2) { /* MPSMIN is 0 */
		pr_debug_ratelimited("%s: enable refused: CC %#x AQA %#x",
				     n->name, cc, n->aqa);
		return false;
	}
	page = 4096u << mps;
	if (n->asq % page || n->acq % page)
		return false;
	n->page_size = page;
	if (!nvme_cq_create(n, 0, 0, acqs, n->acq, true))
		return false;
	if (!nvme_sq_create(n, 0, 0, asqs, n->asq)) {
		nvme_cq_free(n, n->cq[0]);
		return false;
	}
	n->csts &= ~CSTS_SHST_MASK;
	n->csts |= CSTS_RDY;
	n->ready = true;
	return true;
}

static void flush_done(struct blk_req *req, int result)
{
	if (result < 0)
		pr_warn_ratelimited("nvme: flush at shutdown: %s",
				    strerror(-result));
}

/* Normal shutdown: finish what was started, flush, report complete. */
static void shutdown_ctrl(struct nvme_ctrl *n)
{
	struct blk_req flush = { .op = BLK_OP_FLUSH };

	n->csts = (n->csts & ~CSTS_SHST_MASK) | CSTS_SHST_OCCURRING;
	n->ready = false;
	/* Completions still post to live queues while we wait. */
	blk_drain(n->be);
	if (!n->readonly) {
		flush.done = flush_done;
		if (!blk_submit(n->be, &flush)) {
			blk_flush_submissions(n->be);
			blk_drain(n->be);
		}
	}
	n->csts = (n->csts & ~CSTS_SHST_MASK) | CSTS_SHST_COMPLETE;
}

static void cc_write(struct nvme_ctrl *n, uint32_t val)
{
	uint32_t old = n->cc;

	if (old & CC_EN)
		/* Only EN, SHN and the I/O entry sizes change while on. */
		n->cc = (old & ~(CC_EN | CC_SHN_MASK | CC_IOQES_MASK)) |
			(val & (CC_EN | CC_SHN_MASK | CC_IOQES_MASK));
	else
		n->cc = val & CC_WRITABLE;

	if (CC_SHN(n->cc) && !CC_SHN(old))
		shutdown_ctrl(n);
	if ((old & CC_EN) && !(n->cc & CC_EN)) {
		ctrl_reset(n);
		n->csts &= ~(CSTS_RDY | CSTS_CFS);
	} else if (!(old & CC_EN) && (n->cc & CC_EN)) {
		if (n->offline)
			nvme_fatal(
				n,
				"enabled while offline (Virtualization Management)");
		else if (!enable(n))
			nvme_fatal(n, "invalid controller configuration");
	}
}

/* ---- BAR0 ---- */

static uint32_t reg_read(struct nvme_ctrl *n, uint64_t off)
{
	switch (off) {
	case REG_CAP:
		return (uint32_t)n->cap;
	case REG_CAP + 4:
		return (uint32_t)(n->cap >> 32);
	case REG_VS:
		return NVME_VS;
	case REG_INTMS:
	case REG_INTMC:
		return n->intms;
	case REG_CC:
		return n->cc;
	case REG_CSTS:
		return n->csts;
	case REG_AQA:
		return n->aqa;
	case REG_ASQ:
		return (uint32_t)n->asq;
	case REG_ASQ + 4:
		return (uint32_t)(n->asq >> 32);
	case REG_ACQ:
		return (uint32_t)n->acq;
	case REG_ACQ + 4:
		return (uint32_t)(n->acq >> 32);
	}
	/* NSSR (not supported), CMB/BP/PMR (absent), doorbells: zero. */
	return 0;
}

static void reg_write(struct nvme_ctrl *n, uint64_t off, uint32_t val)
{
	if (off >= NVME_DB_BASE) {
		if (off < NVME_DB_END)
			doorbell_write(n, off, val);
		return;
	}
	switch (off) {
	case REG_INTMS:
		if (n->irq_mode != NVME_IRQ_MSIX)
			n->intms |= val;
		break;
	case REG_INTMC:
		if (n->irq_mode != NVME_IRQ_MSIX)
			n->intms &= ~val;
		break;
	case REG_CC:
		cc_write(n, val);
		break;
	/* Admin queue attributes only mean something at enable. */
	case REG_AQA:
		if (!(n->cc & CC_EN))
			n->aqa = val & AQA_MASK;
		break;
	case REG_ASQ:
	case REG_ACQ:
		if (!(n->cc & CC_EN)) {
			uint64_t *r = off == REG_ASQ ? &n->asq : &n->acq;

			*r = (*r & ~0xffffffffull) | (val & ~0xfffu);
		}
		break;
	case REG_ASQ + 4:
	case REG_ACQ + 4:
		if (!(n->cc & CC_EN)) {
			uint64_t *r = off == REG_ASQ + 4 ? &n->asq : &n->acq;

			*r = (*r & 0xffffffffull) | (uint64_t)val << 32;
		}
		break;
	default:
		/* CAP, VS, CSTS are read-only; NSSR is not supported. */
		break;
	}
}

uint64_t nvme_mmio_read(struct nvme_ctrl *n, uint64_t off, unsigned int size)
{
	uint64_t v;

	if (off >= NVME_BAR0_SIZE || !size || size > 8)
		return 0;
	pthread_mutex_lock(&n->lock);
	if (size == 8 && !(off % 4))
		v = reg_read(n, off) | (uint64_t)reg_read(n, off + 4) << 32;
	else if (size == 4 && !(off % 4))
		v = reg_read(n, off);
	else if (size < 4 && off % 4 + size <= 4)
		v = (reg_read(n, off & ~3ull) >> (8 * (off % 4))) &
		    ((1ull << (8 * size)) - 1);
	else
		v = 0;
	pthread_mutex_unlock(&n->lock);
	return v;
}

void nvme_mmio_write(struct nvme_ctrl *n, uint64_t off, uint64_t val,
		     unsigned int size)
{
	if (off >= NVME_BAR0_SIZE || off % 4 || (size != 4 && size != 8)) {
		pr_debug_ratelimited("%s: ignored %u-byte write at %#llx",
				     n->name, size, (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&n->lock);
	reg_write(n, off, (uint32_t)val);
	if (size == 8)
		reg_write(n, off + 4, (uint32_t)(val >> 32));
	run(n, false);
	pthread_mutex_unlock(&n->lock);
}

void nvme_set_irq_mode(struct nvme_ctrl *n, enum nvme_irq_mode mode)
{
	pthread_mutex_lock(&n->lock);
	if (n->irq_mode == NVME_IRQ_PIN && mode != NVME_IRQ_PIN && n->intx) {
		n->intx = false;
		if (n->irq->set_level)
			n->irq->set_level(n->irq_opaque, false);
	}
	n->irq_mode = mode;
	irq_update(n);
	pthread_mutex_unlock(&n->lock);
}

int nvme_completion_fd(const struct nvme_ctrl *n)
{
	return blk_completion_fd(n->be);
}

void nvme_process_completions(struct nvme_ctrl *n)
{
	pthread_mutex_lock(&n->lock);
	blk_process_completions(n->be);
	run(n, true);
	pthread_mutex_unlock(&n->lock);
}

void nvme_process_doorbells(struct nvme_ctrl *n)
{
	pthread_mutex_lock(&n->lock);
	for (unsigned int q = 1; q <= NVME_MAX_IOQ && n->ready; q++) {
		struct nvme_sq *sq = n->sq[q];
		uint16_t v;

		if (!sq || sq->deleting)
			continue;
		/* Which SQ rang is not known: look at every shadow tail. */
		if (n->dbbuf) {
			if (!shadow_read(n, sq->qid, false, &v))
				break;
			if (v != sq->tail && !sq_tail_valid(sq, v)) {
				bad_doorbell(n, sq->qid,
					     AEI_ERR_INVALID_DB_VALUE);
				continue;
			}
			sq->tail = v;
		}
		if (sq->head != sq->tail)
			run_sq(n, sq);
	}
	run(n, true);
	pthread_mutex_unlock(&n->lock);
}

/* Lock held: CC.EN = 0 and every queue gone, as a controller reset. */
static void function_reset(struct nvme_ctrl *n)
{
	ctrl_reset(n);
	n->cc = 0;
	n->csts = 0;
	n->aqa = 0;
	n->asq = n->acq = 0;
	irq_update(n);
}

void nvme_reset(struct nvme_ctrl *n)
{
	pthread_mutex_lock(&n->lock);
	function_reset(n);
	/* The primary's reset brings its secondaries back online. */
	for (unsigned int k = 1; n->secondary && k <= n->nr_secondary; k++) {
		struct nvme_ctrl *s = n->secondary(n->secondary_opaque, k);

		if (s)
			nvme_set_online(s, true);
	}
	pthread_mutex_unlock(&n->lock);
}

void nvme_set_online(struct nvme_ctrl *n, bool online)
{
	pthread_mutex_lock(&n->lock);
	if (!online && !n->offline)
		function_reset(n);
	n->offline = !online;
	pthread_mutex_unlock(&n->lock);
}

bool nvme_is_online(struct nvme_ctrl *n)
{
	bool on;

	pthread_mutex_lock(&n->lock);
	on = !n->offline;
	pthread_mutex_unlock(&n->lock);
	return on;
}

/* ---- creation ---- */

static void pad_copy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len);

	memset(dst, ' ', len);
	memcpy(dst, src, n);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Stable identifiers from the serial: the same disk keeps its ids. */
static void make_ids(struct nvme_ctrl *n, const char *serial)
{
	uint64_t a = fnv1a(0xcbf29ce484222325ull, serial);
	uint64_t b = fnv1a(a ^ 0x6e766d65ull, "devisor-nvme-ns1");

	nvme_put_le(n->nguid, a, 8);
	nvme_put_le(n->nguid + 8, b, 8);
	memcpy(n->uuid, n->nguid, 16);
	/* RFC 9562 version 8 (custom), variant 10. */
	n->uuid[6] = (uint8_t)((n->uuid[6] & 0x0f) | 0x80);
	n->uuid[8] = (uint8_t)((n->uuid[8] & 0x3f) | 0x80);
}

struct nvme_ctrl *nvme_create(struct dma_space *dma, struct blk_backend *be,
			      const struct nvme_config *cfg,
			      const struct nvme_irq_ops *irq, void *opaque)
{
	static const struct nvme_config none;
	const struct blk_info *info;
	struct nvme_ctrl *n;
	uint32_t lbs;

	if (!cfg)
		cfg = &none;
	if (!dma || !be || !irq || cfg->max_ioq > NVME_MAX_IOQ ||
	    cfg->nr_vectors > NVME_MAX_IOQ + 1) {
		errno = EINVAL;
		return NULL;
	}
	info = blk_info(be);
	lbs = info->logical_block_size;
	if (lbs < 512 || lbs > 4096 || (lbs & (lbs - 1))) {
		pr_err("nvme: block size %u not supported", lbs);
		errno = EINVAL;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&n->lock, NULL);
	snprintf(n->name, sizeof(n->name), "%s",
		 cfg->name ? cfg->name : "nvme");
	n->dma = dma;
	n->be = be;
	n->irq = irq;
	n->irq_opaque = opaque;
	n->irq_mode = NVME_IRQ_PIN;
	n->max_ioq = cfg->max_ioq ? cfg->max_ioq : NVME_MAX_IOQ;
	n->nr_vectors = cfg->nr_vectors ? cfg->nr_vectors : 1;
	n->vid = cfg->vid ? cfg->vid : NVME_DEFAULT_VID;
	n->ssvid = cfg->ssvid ? cfg->ssvid : n->vid;

	n->lbads = (unsigned int)__builtin_ctz(lbs);
	if (cfg->ns_offset > info->size || cfg->ns_offset % lbs ||
	    cfg->ns_size % lbs || cfg->ns_size > info->size - cfg->ns_offset ||
	    (!cfg->ns_size && cfg->ns_offset == info->size)) {
		pr_err("nvme: namespace %#llx+%#llx is not inside the image",
		       (unsigned long long)cfg->ns_offset,
		       (unsigned long long)cfg->ns_size);
		pthread_mutex_destroy(&n->lock);
		free(n);
		errno = EINVAL;
		return NULL;
	}
	n->ns_off = cfg->ns_offset;
	n->cntlid = cfg->cntlid;
	n->nr_secondary = cfg->nr_secondary;
	n->secondary = cfg->secondary;
	n->secondary_opaque = cfg->secondary_opaque;
	n->nsze = (cfg->ns_size ? cfg->ns_size : info->size - cfg->ns_offset) >>
		  n->lbads;
	n->readonly = info->readonly;
	n->discard = info->discard;
	n->write_zeroes = info->write_zeroes;

	/* MQES, CQR, TO, CSS: NVM, MPSMIN, MPSMAX; DSTRD 0, no NSSR. */
	n->cap = NVME_MQES | 1ull << 16 | (uint64_t)NVME_TO << 24 | 1ull << 37 |
		 (uint64_t)NVME_MPSMIN << 48 | (uint64_t)NVME_MPSMAX << 52;

	pad_copy(n->sn, sizeof(n->sn),
		 cfg->serial ? cfg->serial : info->serial);
	pad_copy(n->mn, sizeof(n->mn), "devisor NVMe");
	pad_copy(n->fr, sizeof(n->fr), devisor_version);
	make_ids(n, cfg->serial ? cfg->serial : info->serial);
	nvme_features_reset(n);
	n->created_ns = monotonic_ns();
	return n;
}

void nvme_destroy(struct nvme_ctrl *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	ctrl_reset(n);
	pthread_mutex_unlock(&n->lock);
	pthread_mutex_destroy(&n->lock);
	free(n);
}
