/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_BACKEND_BLOCK_INT_H
#define DEVISOR_BACKEND_BLOCK_INT_H

/*
 * Inside the block back-end: what block.c shares with its engines,
 * block_sync.c and block_uring.c, as net.c does with net_tap.c and
 * net_slirp.c. An engine only issues and reaps I/O; validation, O_DIRECT
 * bouncing, the write-zeroes fallbacks and done() ordering are block.c's.
 */
#include "backend/block.h"

/* Ways to write zeroes, in order of preference. */
enum zero_mode { ZM_ZERO_RANGE, ZM_PUNCH, ZM_WRITE };

struct blk_backend;

struct blk_engine_ops {
	/* Sets up on the opened image; -errno when it cannot run here. */
	int (*setup)(struct blk_backend *b);
	/*
	 * Starts a validated, prepared request. Its done() runs later, from
	 * blk_process_completions(), never from here.
	 */
	void (*start)(struct blk_backend *b, struct blk_req *req);
	/* Optional: starts what start() queued, in one system call. */
	void (*flush)(struct blk_backend *b);
	/* Optional: finishes I/O that completed, e.g. reaps a ring. */
	void (*reap)(struct blk_backend *b);
	/* Optional: whether reap() would find something (no system call). */
	bool (*pending)(const struct blk_backend *b);
	/*
	 * Optional: waits for I/O in flight. 1 after waiting (or with work
	 * queued), 0 when the engine holds nothing, or -errno.
	 */
	int (*wait)(struct blk_backend *b);
	/* Optional: frees the engine's state; nothing is in flight. */
	void (*close)(struct blk_backend *b);
};

extern const struct blk_engine_ops blk_sync_engine;
#ifdef HAVE_LIBURING
extern const struct blk_engine_ops blk_uring_engine;
#endif

struct blk_backend {
	int fd;
	int efd;
	char *path;
	struct blk_info info;
	uint32_t mem_align; /* O_DIRECT buffer alignment; 1 without */
	uint32_t off_align; /* O_DIRECT offset/length alignment; 1 without */
	int zero_mode; /* best write-zeroes method not known to fail */
	void *zeroes; /* for ZM_WRITE */
	/* Finished requests whose done() has yet to run. */
	struct blk_req *done_head, **done_tail;
	unsigned int depth; /* requests an engine may have in flight */
	bool regular; /* a regular file of its own (blk_resize()) */
	const struct blk_engine_ops *ops;
	void *engine; /* the engine's own state */
};

/* block.c */
void *blk_dio_alloc(const struct blk_backend *b, size_t len);
/* Makes blk_completion_fd() readable. */
void blk_signal(struct blk_backend *b);
/* Releases what the back-end attached to @req; returns done()'s result. */
int blk_req_finish(struct blk_req *req, int res);
/* Queues done(@res) for the next blk_process_completions(). */
void blk_complete_later(struct blk_backend *b, struct blk_req *req, int res);
/* The part of a read or write still to transfer. 0 or -ENOMEM. */
int blk_req_cur_iov(struct blk_req *req, const struct iovec **iov,
		    unsigned int *cnt);
/*
 * Accounts @n more bytes of a read or write: 0 when it is done, 1 when the
 * rest must be issued again, or -errno.
 */
int blk_rw_progress(struct blk_backend *b, struct blk_req *req, uint64_t n);
int blk_fallocate_mode(enum blk_op op, int zero_mode);
/* @failed said EOPNOTSUPP: the next method to try. */
int blk_zero_mode_fallback(struct blk_backend *b, int failed);
void blk_discard_unsupported(struct blk_backend *b);

/* block_sync.c: blocking calls, which every engine may fall back on */
int blk_sync_run(struct blk_backend *b, struct blk_req *req);
int blk_sync_rw(struct blk_backend *b, struct blk_req *req);
int blk_sync_zero_write(struct blk_backend *b, struct blk_req *req);

#endif
