// SPDX-License-Identifier: GPL-2.0
/*
 * The io_uring block engine: reads, writes, flushes and (when the kernel
 * has IORING_OP_FALLOCATE) discards and write-zeroes go through one ring,
 * submitted in batches and reaped on the I/O thread through an eventfd.
 */
#include "backend/block_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#include "util/log.h"

bool blk_io_uring_available(void)
{
#ifdef HAVE_LIBURING
	/* 0: unknown, 1: yes, 2: no */
	static int state;
	int s = __atomic_load_n(&state, __ATOMIC_RELAXED);

	if (!s) {
		struct io_uring ring;

		s = io_uring_queue_init(2, &ring, 0) < 0 ? 2 : 1;
		if (s == 1)
			io_uring_queue_exit(&ring);
		__atomic_store_n(&state, s, __ATOMIC_RELAXED);
	}
	return s == 1;
#else
	return false;
#endif
}

#ifdef HAVE_LIBURING

/* CQEs handled per wakeup, so one busy disk cannot starve its I/O thread. */
#define CQE_BATCH_FACTOR 2

struct uring {
	struct io_uring ring;
	bool fallocate; /* the kernel has IORING_OP_FALLOCATE */
	/* Requests waiting for a free slot. */
	struct blk_req *pend_head, **pend_tail;
	unsigned int inflight; /* requests owning an SQE or CQE */
};

static void complete_now(struct blk_req *req, int res)
{
	req->done(req, blk_req_finish(req, res));
}

static void pend_push(struct uring *u, struct blk_req *req)
{
	req->priv.next = NULL;
	*u->pend_tail = req;
	u->pend_tail = &req->priv.next;
}

static struct blk_req *pend_pop(struct uring *u)
{
	struct blk_req *req = u->pend_head;

	if (req) {
		u->pend_head = req->priv.next;
		if (!u->pend_head)
			u->pend_tail = &u->pend_head;
	}
	return req;
}

/* Puts @req (already prepared) into the submission ring. */
static void uring_issue(struct blk_backend *b, struct blk_req *req)
{
	struct uring *u = b->engine;
	struct blk_req_priv *p = &req->priv;
	const struct iovec *iov = NULL;
	struct io_uring_sqe *sqe;
	unsigned int cnt = 0;
	int r;

	if (req->op == BLK_OP_READ || req->op == BLK_OP_WRITE) {
		r = blk_req_cur_iov(req, &iov, &cnt);
		if (r) {
			blk_complete_later(b, req, r);
			return;
		}
	}
	sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	if (!sqe) {
		/* Cannot happen with inflight <= depth; retry on next pass. */
		pend_push(u, req);
		blk_signal(b);
		return;
	}
	switch (req->op) {
	case BLK_OP_READ:
		io_uring_prep_readv(sqe, b->fd, iov, cnt,
				    p->io_offset + p->done_bytes);
		break;
	case BLK_OP_WRITE:
		io_uring_prep_writev(sqe, b->fd, iov, cnt,
				     p->io_offset + p->done_bytes);
		break;
	case BLK_OP_FLUSH:
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		io_uring_prep_fallocate(
			sqe, b->fd, blk_fallocate_mode(req->op, p->zero_mode),
			(off_t)req->offset, (off_t)req->len);
		break;
	}
	io_uring_sqe_set_data(sqe, req);
	u->inflight++;
}

static void uring_start(struct blk_backend *b, struct blk_req *req)
{
	struct uring *u = b->engine;

	/* A kernel without IORING_OP_FALLOCATE: those block instead. */
	if (!u->fallocate &&
	    (req->op == BLK_OP_DISCARD || req->op == BLK_OP_WRITE_ZEROES)) {
		blk_complete_later(b, req, blk_sync_run(b, req));
		return;
	}
	if (u->inflight >= b->depth || u->pend_head)
		pend_push(u, req);
	else
		uring_issue(b, req);
}

static void uring_complete(struct blk_backend *b, struct blk_req *req, int res)
{
	struct uring *u = b->engine;
	struct blk_req_priv *p = &req->priv;

	u->inflight--;
	if (res == -EINTR || res == -EAGAIN) {
		uring_issue(b, req);
		return;
	}
	switch (req->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (res < 0)
			break;
		res = blk_rw_progress(b, req, (uint64_t)res);
		if (res > 0) {
			uring_issue(b, req);
			return;
		}
		break;
	case BLK_OP_FLUSH:
		break;
	case BLK_OP_DISCARD:
		if (res == -EOPNOTSUPP)
			blk_discard_unsupported(b);
		break;
	case BLK_OP_WRITE_ZEROES:
		if (res != -EOPNOTSUPP)
			break;
		p->zero_mode = blk_zero_mode_fallback(b, p->zero_mode);
		if (p->zero_mode == ZM_WRITE) {
			res = blk_sync_zero_write(b, req);
			break;
		}
		uring_issue(b, req);
		return;
	}
	complete_now(req, res);
}

static void uring_flush(struct blk_backend *b)
{
	struct uring *u = b->engine;
	int r;

	if (!io_uring_sq_ready(&u->ring))
		return;
	r = io_uring_submit(&u->ring);
	if (r < 0) {
		/* SQEs stay queued; come back through the eventfd. */
		if (r != -EINTR && r != -EAGAIN && r != -EBUSY)
			pr_warn_ratelimited(
				"disk image %s: io_uring submit: %s", b->path,
				strerror(-r));
		blk_signal(b);
	}
}

static void uring_reap(struct blk_backend *b)
{
	struct uring *u = b->engine;
	unsigned int budget = b->depth * CQE_BATCH_FACTOR;
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		struct blk_req *req;
		int res = cqe->res;

		if (!budget--) {
			blk_signal(b);
			break;
		}
		req = io_uring_cqe_get_data(cqe);
		io_uring_cqe_seen(&u->ring, cqe);
		uring_complete(b, req, res);
	}
	while (u->pend_head && u->inflight < b->depth)
		uring_issue(b, pend_pop(u));
}

static bool uring_pending(const struct blk_backend *b)
{
	struct uring *u = b->engine;

	return io_uring_cq_ready(&u->ring) > 0;
}

static int uring_wait(struct blk_backend *b)
{
	struct uring *u = b->engine;
	struct io_uring_cqe *cqe;
	int r;

	if (!u->inflight)
		return u->pend_head ? 1 : 0;
	uring_flush(b);
	r = io_uring_wait_cqe(&u->ring, &cqe);
	return r < 0 && r != -EINTR && r != -EAGAIN ? r : 1;
}

static void uring_close(struct blk_backend *b)
{
	struct uring *u = b->engine;

	io_uring_queue_exit(&u->ring);
	free(u);
	b->engine = NULL;
}

static int uring_setup(struct blk_backend *b)
{
	struct io_uring_params params;
	struct io_uring_probe *probe;
	struct uring *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return -ENOMEM;
	u->pend_tail = &u->pend_head;
	memset(&params, 0, sizeof(params));
#ifdef IORING_SETUP_SUBMIT_ALL
	/* One bad SQE must not hold back the ones behind it. */
	params.flags = IORING_SETUP_SUBMIT_ALL;
#endif
	r = io_uring_queue_init_params(b->depth, &u->ring, &params);
	if (r == -EINVAL && params.flags) {
		memset(&params, 0, sizeof(params));
		r = io_uring_queue_init_params(b->depth, &u->ring, &params);
	}
	if (r < 0) {
		free(u);
		return r;
	}

	probe = io_uring_get_probe_ring(&u->ring);
	if (!probe || !io_uring_opcode_supported(probe, IORING_OP_READV) ||
	    !io_uring_opcode_supported(probe, IORING_OP_WRITEV) ||
	    !io_uring_opcode_supported(probe, IORING_OP_FSYNC)) {
		r = -EOPNOTSUPP;
		goto fail;
	}
	u->fallocate = io_uring_opcode_supported(probe, IORING_OP_FALLOCATE);
	io_uring_free_probe(probe);
	probe = NULL;

	r = io_uring_register_eventfd(&u->ring, b->efd);
	if (r < 0)
		goto fail;
	b->engine = u;
	return 0;
fail:
	if (probe)
		io_uring_free_probe(probe);
	io_uring_queue_exit(&u->ring);
	free(u);
	return r;
}

const struct blk_engine_ops blk_uring_engine = {
	.setup = uring_setup,
	.start = uring_start,
	.flush = uring_flush,
	.reap = uring_reap,
	.pending = uring_pending,
	.wait = uring_wait,
	.close = uring_close,
};

#endif
