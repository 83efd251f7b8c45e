/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_BACKEND_BLOCK_H
#define DEVISOR_BACKEND_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * The host side of a virtual disk: a raw image file or block device, read
 * and written asynchronously from an I/O thread. Knows nothing of virtio.
 *
 * Threading: one backend is driven from one thread at a time (normally its
 * I/O thread); nothing here takes locks.
 *
 * Request model, the same for both engines:
 *   - blk_submit() validates the request. If it returns -errno the request
 *     was refused without touching the file and done() is never called.
 *     If it returns 0, done() is called exactly once, later, from
 *     blk_process_completions() (or blk_drain()/blk_close()), never from
 *     inside blk_submit().
 *   - Submissions are batched: call blk_flush_submissions() after a burst
 *     of blk_submit() calls (e.g. once per queue kick). Until then io_uring
 *     requests may not have started.
 *   - blk_completion_fd() becomes readable when completions are pending;
 *     the I/O thread then calls blk_process_completions().
 *
 * Flush semantics: BLK_OP_FLUSH is fdatasync() of the image. It covers every
 * write whose done() has been called before the flush was submitted; writes
 * still in flight may or may not be covered. That is what virtio-blk (and
 * SCSI/NVMe) promise: a flush only covers completed writes.
 *
 * O_DIRECT: requests whose offset, length, buffer addresses or segment
 * lengths are not aligned for direct I/O go through an aligned bounce
 * buffer. Reads are widened to whole blocks. Writes whose offset or length
 * is misaligned need a read-modify-write, which runs synchronously on the
 * calling thread; a guest that honours the advertised logical block size
 * never sends those. If the file system refuses O_DIRECT, blk_open() fails
 * rather than silently using the page cache: direct=on is a request about
 * caching and durability behaviour, so we do not quietly drop it.
 */

enum blk_engine {
	BLK_ENGINE_AUTO, /* io_uring if it works here, else sync */
	BLK_ENGINE_IO_URING,
	BLK_ENGINE_SYNC, /* I/O done inline in blk_submit() */
};

struct blk_options {
	bool readonly;
	bool direct; /* O_DIRECT; failure to get it is an error */
	enum blk_engine engine;
	unsigned int queue_depth; /* io_uring requests in flight; 0: 128 */
	const char *serial; /* GET_ID string; NULL: derived from the image */
	/*
	 * This process already holds the image through another back-end (an
	 * NVMe VF's slice of its PF's image): take no lock of our own, which
	 * would conflict with that one.
	 */
	bool shared;
};

/* virtio-blk's GET_ID string: at most 20 bytes, NUL-padded. */
#define BLK_SERIAL_LEN 20
#define BLK_SECTOR_SIZE 512

struct blk_info {
	uint64_t size; /* bytes, a multiple of BLK_SECTOR_SIZE */
	uint64_t sectors; /* size / BLK_SECTOR_SIZE */
	uint32_t logical_block_size; /* smallest request worth sending */
	uint32_t physical_block_size; /* alignment that avoids host RMW */
	bool readonly;
	bool direct;
	/*
	 * BLK_OP_DISCARD deallocates, and reads back zeros. Turns false if
	 * the host refuses it at run time (block devices are only found out
	 * that way); discards then fail with -EOPNOTSUPP.
	 */
	bool discard;
	bool write_zeroes; /* always, when writable: see block.c */
	enum blk_engine engine; /* the one in use: IO_URING or SYNC */
	char serial[BLK_SERIAL_LEN + 1]; /* NUL-terminated */
};

enum blk_op {
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,
	BLK_OP_DISCARD,
	BLK_OP_WRITE_ZEROES,
};

/* BLK_OP_WRITE_ZEROES may deallocate (virtio-blk's UNMAP flag). */
#define BLK_REQ_UNMAP (1u << 0)

struct blk_req;
typedef void (*blk_done_fn)(struct blk_req *req, int result);

/* Backend state of a request; only block.c looks inside. */
struct blk_req_priv {
	struct blk_req *next;
	const struct iovec *io_iov; /* what is transferred: caller's or bounce */
	unsigned int io_iovcnt;
	int zero_mode;
	uint64_t io_offset; /* widened when bouncing */
	uint64_t io_len;
	uint64_t done_bytes;
	uint32_t bytes; /* READ/WRITE: the caller's length */
	struct iovec *tail; /* remainder after a short transfer */
	void *bounce;
	uint32_t bounce_head; /* caller's data starts here in the bounce */
	struct iovec bounce_iov;
	int result;
};

struct blk_req {
	/* Filled in by the caller; left alone by the backend. */
	enum blk_op op;
	uint32_t flags; /* BLK_REQ_* */
	uint64_t offset; /* bytes */
	/*
	 * READ/WRITE buffers: host addresses, already translated and bounds
	 * checked; at most IOV_MAX (1024) segments, INT_MAX bytes. The array
	 * and the memory must stay valid until done().
	 */
	const struct iovec *iov;
	unsigned int iovcnt;
	uint64_t len; /* DISCARD/WRITE_ZEROES: bytes */
	/* @result: bytes transferred for READ/WRITE, 0 for others, or -errno */
	blk_done_fn done;
	void *opaque;

	struct blk_req_priv priv;
};

/*
 * Opens @path. Logs a specific error and returns NULL with errno set on
 * failure, including when another process (or another open of this
 * process) holds the image: read-write opens take an exclusive OFD lock on
 * the image, read-only opens a shared one.
 */
struct blk_backend *blk_open(const char *path, const struct blk_options *opts);
/*
 * What blk_open() checks of the image itself (it opens as @opts asks, is a
 * regular file or block device of whole sectors), with the same messages,
 * without taking it: for checking a command line before the VM exists.
 * Returns 0 or -errno.
 */
int blk_check(const char *path, const struct blk_options *opts);

/* Drains (running done() of requests still in flight), then frees. */
void blk_close(struct blk_backend *b);

const struct blk_info *blk_info(const struct blk_backend *b);

/*
 * Grows the image, a regular file, to @size bytes (whole sectors, whole
 * direct-I/O blocks with direct=on); requests up to the new end are taken
 * from then on. 0 or -errno: -EROFS read-only, -EOPNOTSUPP a block device
 * or a slice of another back-end's image, -EINVAL smaller than it is or
 * not whole, or ftruncate()'s error.
 */
int blk_resize(struct blk_backend *b, uint64_t size);

/*
 * Returns 0 or -errno: -EINVAL for a malformed request or one that reaches
 * past the end of the image, -EROFS for a write to a read-only backend,
 * -EOPNOTSUPP for an unsupported op, -ENOMEM if a bounce buffer could not be
 * allocated.
 */
int blk_submit(struct blk_backend *b, struct blk_req *req);

/* Starts the requests submitted since the last call, in one system call. */
void blk_flush_submissions(struct blk_backend *b);

/* Non-blocking eventfd to poll for EPOLLIN. */
int blk_completion_fd(const struct blk_backend *b);

/*
 * Calls done() for finished requests and starts queued ones. done() may
 * submit new requests but must not call blk_process_completions(),
 * blk_drain() or blk_close().
 */
void blk_process_completions(struct blk_backend *b);
/* Whether blk_process_completions() has work, without a system call (the
 * I/O thread's poll). */
bool blk_completions_pending(const struct blk_backend *b);

/* Waits for every submitted request and runs its done(). */
void blk_drain(struct blk_backend *b);

/* Whether this kernel (and seccomp policy) lets us set up an io_uring. */
bool blk_io_uring_available(void);

const char *blk_engine_name(enum blk_engine e);

#endif
