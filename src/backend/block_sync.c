// SPDX-License-Identifier: GPL-2.0
/*
 * The synchronous block engine: each request runs to the end with blocking
 * calls on the I/O thread (preadv/pwritev, fdatasync, fallocate). Also what
 * every engine falls back on: read-modify-writes, writing zeroes by hand.
 */
#include "backend/block_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZERO_BUF_SIZE (64 * 1024)

/* The rest of a read or write, with blocking calls. */
int blk_sync_rw(struct blk_backend *b, struct blk_req *req)
{
	struct blk_req_priv *p = &req->priv;

	while (p->done_bytes < p->io_len) {
		const struct iovec *iov;
		unsigned int cnt;
		off_t off = (off_t)(p->io_offset + p->done_bytes);
		ssize_t n;
		int r;

		r = blk_req_cur_iov(req, &iov, &cnt);
		if (r)
			return r;
		if (req->op == BLK_OP_READ)
			n = preadv(b->fd, iov, (int)cnt, off);
		else
			n = pwritev(b->fd, iov, (int)cnt, off);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		r = blk_rw_progress(b, req, (uint64_t)n);
		if (r <= 0)
			return r;
	}
	return 0;
}

/*
 * Write zeroes by writing zeroes. Synchronous: only file systems without
 * both ZERO_RANGE and PUNCH_HOLE get here. Not bounced: with O_DIRECT the
 * range must be block aligned, as any guest honouring the block size does.
 */
int blk_sync_zero_write(struct blk_backend *b, struct blk_req *req)
{
	uint64_t off = req->offset, left = req->len;

	if ((off | left) & (b->off_align - 1))
		return -EINVAL;
	if (!b->zeroes) {
		b->zeroes = blk_dio_alloc(b, ZERO_BUF_SIZE);
		if (!b->zeroes)
			return -ENOMEM;
		memset(b->zeroes, 0, ZERO_BUF_SIZE);
	}
	while (left) {
		size_t chunk = left < ZERO_BUF_SIZE ? left : ZERO_BUF_SIZE;
		ssize_t n = pwrite(b->fd, b->zeroes, chunk, (off_t)off);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (!n)
			return -ENOSPC;
		off += (uint64_t)n;
		left -= (uint64_t)n;
	}
	return 0;
}

static int do_fallocate(struct blk_backend *b, int mode, uint64_t off,
			uint64_t len)
{
	while (fallocate(b->fd, mode, (off_t)off, (off_t)len) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Runs a whole request with blocking calls. */
int blk_sync_run(struct blk_backend *b, struct blk_req *req)
{
	struct blk_req_priv *p = &req->priv;
	int r;

	switch (req->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		return blk_sync_rw(b, req);
	case BLK_OP_FLUSH:
		while ((r = fdatasync(b->fd)) < 0 && errno == EINTR)
			;
		return r < 0 ? -errno : 0;
	case BLK_OP_DISCARD:
		r = do_fallocate(b, blk_fallocate_mode(req->op, 0), req->offset,
				 req->len);
		if (r == -EOPNOTSUPP)
			blk_discard_unsupported(b);
		return r;
	case BLK_OP_WRITE_ZEROES:
		for (;;) {
			if (p->zero_mode == ZM_WRITE)
				return blk_sync_zero_write(b, req);
			r = do_fallocate(
				b, blk_fallocate_mode(req->op, p->zero_mode),
				req->offset, req->len);
			if (r != -EOPNOTSUPP)
				return r;
			p->zero_mode = blk_zero_mode_fallback(b, p->zero_mode);
		}
	}
	return -EOPNOTSUPP;
}

static void sync_start(struct blk_backend *b, struct blk_req *req)
{
	blk_complete_later(b, req, blk_sync_run(b, req));
}

const struct blk_engine_ops blk_sync_engine = {
	.start = sync_start,
};
