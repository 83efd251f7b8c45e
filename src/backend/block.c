// SPDX-License-Identifier: GPL-2.0
#include "backend/block_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

#define DEFAULT_QUEUE_DEPTH 128
#define MAX_QUEUE_DEPTH 4096
#define MAX_ALIGN 4096 /* largest alignment probed by reading */
#define MAX_DIO_ALIGN 65536 /* largest alignment believed when reported */
#define MAX_PHYS_BLOCK 65536

const char *blk_engine_name(enum blk_engine e)
{
	switch (e) {
	case BLK_ENGINE_AUTO:
		return "auto";
	case BLK_ENGINE_IO_URING:
		return "io_uring";
	case BLK_ENGINE_SYNC:
		return "sync";
	}
	return "?";
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static uint64_t align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

/* A buffer O_DIRECT accepts as is. */
void *blk_dio_alloc(const struct blk_backend *b, size_t len)
{
	size_t align = b->mem_align;
	void *p;

	if (align < sizeof(void *))
		align = sizeof(void *);
	return posix_memalign(&p, align, len) ? NULL : p;
}

void blk_signal(struct blk_backend *b)
{
	/* Only fails if the counter would overflow: it is then readable. */
	(void)eventfd_write(b->efd, 1);
}

/* Copies between a flat buffer and an iovec array. */
static void iov_to_buf(const struct iovec *iov, unsigned int cnt, void *buf)
{
	char *p = buf;

	for (unsigned int i = 0; i < cnt; i++) {
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
}

static void iov_from_buf(const struct iovec *iov, unsigned int cnt,
			 const void *buf)
{
	const char *p = buf;

	for (unsigned int i = 0; i < cnt; i++) {
		memcpy(iov[i].iov_base, p, iov[i].iov_len);
		p += iov[i].iov_len;
	}
}

static void iov_zero_from(const struct iovec *iov, unsigned int cnt,
			  uint64_t skip)
{
	for (unsigned int i = 0; i < cnt; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		memset((char *)iov[i].iov_base + skip, 0,
		       iov[i].iov_len - skip);
		skip = 0;
	}
}

/*
 * Releases what the backend attached to @req and turns @res into what
 * done() gets. No backend state refers to @req afterwards.
 */
int blk_req_finish(struct blk_req *req, int res)
{
	struct blk_req_priv *p = &req->priv;

	if (res >= 0 && (req->op == BLK_OP_READ || req->op == BLK_OP_WRITE)) {
		if (p->bounce && req->op == BLK_OP_READ)
			iov_from_buf(req->iov, req->iovcnt,
				     (char *)p->bounce + p->bounce_head);
		res = (int)p->bytes;
	}
	free(p->bounce);
	free(p->tail);
	p->bounce = NULL;
	p->tail = NULL;
	return res;
}

/* For results known inside blk_submit(): done() must not run from there. */
void blk_complete_later(struct blk_backend *b, struct blk_req *req, int res)
{
	req->priv.result = blk_req_finish(req, res);
	req->priv.next = NULL;
	*b->done_tail = req;
	b->done_tail = &req->priv.next;
	blk_signal(b);
}

/*
 * The part of a read or write still to transfer. Allocates only after a
 * short transfer, which is rare.
 */
int blk_req_cur_iov(struct blk_req *req, const struct iovec **iov,
		    unsigned int *cnt)
{
	struct blk_req_priv *p = &req->priv;
	uint64_t skip = p->done_bytes;
	unsigned int n = 0;

	if (!skip) {
		*iov = p->io_iov;
		*cnt = p->io_iovcnt;
		return 0;
	}
	if (!p->tail) {
		p->tail = calloc(p->io_iovcnt, sizeof(*p->tail));
		if (!p->tail)
			return -ENOMEM;
	}
	for (unsigned int i = 0; i < p->io_iovcnt; i++) {
		const struct iovec *v = &p->io_iov[i];

		if (skip >= v->iov_len) {
			skip -= v->iov_len;
			continue;
		}
		p->tail[n].iov_base = (char *)v->iov_base + skip;
		p->tail[n].iov_len = v->iov_len - skip;
		skip = 0;
		n++;
	}
	*iov = p->tail;
	*cnt = n;
	return 0;
}

/*
 * Accounts @n more bytes of a read or write. Returns 0 when it is done,
 * 1 when the rest must be resubmitted, or -errno.
 */
int blk_rw_progress(struct blk_backend *b, struct blk_req *req, uint64_t n)
{
	struct blk_req_priv *p = &req->priv;

	p->done_bytes += n;
	if (p->done_bytes >= p->io_len)
		return 0;
	if (n)
		return 1;
	/* EOF inside the image: someone truncated it under us. */
	pr_warn_ratelimited("disk image %s shrank below %llu bytes", b->path,
			    (unsigned long long)b->info.size);
	if (req->op == BLK_OP_WRITE)
		return -ENOSPC;
	iov_zero_from(p->io_iov, p->io_iovcnt, p->done_bytes);
	p->done_bytes = p->io_len;
	return 0;
}

/* Reads exactly @len bytes, zero-filling past EOF. */
static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (!n) {
			memset(p, 0, len);
			break;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static bool iov_dio_aligned(const struct blk_backend *b,
			    const struct iovec *iov, unsigned int cnt)
{
	for (unsigned int i = 0; i < cnt; i++) {
		if (((uintptr_t)iov[i].iov_base & (b->mem_align - 1)) ||
		    (iov[i].iov_len & (b->off_align - 1)))
			return false;
	}
	return true;
}

/*
 * Sets up the transfer of a read or write, bouncing it if O_DIRECT cannot
 * take the caller's layout. Returns 1 if the write needs a
 * read-modify-write, 0, or -ENOMEM.
 */
static int req_prepare_rw(struct blk_backend *b, struct blk_req *req)
{
	struct blk_req_priv *p = &req->priv;
	uint64_t start, end;

	p->io_iov = req->iov;
	p->io_iovcnt = req->iovcnt;
	if (!b->info.direct)
		return 0;
	start = align_down(req->offset, b->off_align);
	end = align_up(req->offset + p->bytes, b->off_align);
	if (start == req->offset && end == req->offset + p->bytes &&
	    iov_dio_aligned(b, req->iov, req->iovcnt))
		return 0;

	p->bounce = blk_dio_alloc(b, end - start);
	if (!p->bounce)
		return -ENOMEM;
	p->bounce_head = (uint32_t)(req->offset - start);
	p->bounce_iov.iov_base = p->bounce;
	p->bounce_iov.iov_len = end - start;
	p->io_iov = &p->bounce_iov;
	p->io_iovcnt = 1;
	p->io_offset = start;
	p->io_len = end - start;
	if (req->op == BLK_OP_READ)
		return 0;
	if (start != req->offset || end != req->offset + p->bytes)
		return 1;
	iov_to_buf(req->iov, req->iovcnt, p->bounce);
	return 0;
}

/*
 * A write that does not cover whole O_DIRECT blocks. Synchronous: only a
 * guest ignoring our logical block size gets here. blk_open() made sure the
 * image ends on a block boundary, so this never extends the file.
 */
static int rmw_write(struct blk_backend *b, struct blk_req *req)
{
	struct blk_req_priv *p = &req->priv;
	uint32_t blk = b->off_align;
	char *buf = p->bounce;
	void *tail;
	int r;

	r = pread_full(b->fd, buf, blk, p->io_offset);
	if (!r && p->io_len > blk) {
		/* Its own buffer: buf + io_len - blk may miss mem_align. */
		tail = blk_dio_alloc(b, blk);
		if (!tail)
			return -ENOMEM;
		r = pread_full(b->fd, tail, blk,
			       p->io_offset + p->io_len - blk);
		memcpy(buf + p->io_len - blk, tail, blk);
		free(tail);
	}
	if (r)
		return r;
	iov_to_buf(req->iov, req->iovcnt, buf + p->bounce_head);
	return blk_sync_rw(b, req);
}

int blk_fallocate_mode(enum blk_op op, int zero_mode)
{
	if (op == BLK_OP_WRITE_ZEROES && zero_mode == ZM_ZERO_RANGE)
		return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
}

static int zero_mode_first(const struct blk_backend *b,
			   const struct blk_req *req)
{
	/* Deallocating is what the guest asked for and is cheapest. */
	if ((req->flags & BLK_REQ_UNMAP) && b->info.discard)
		return ZM_PUNCH;
	return b->zero_mode;
}

/*
 * @failed said EOPNOTSUPP: remember it, and pick the next method. Punching
 * without the guest's UNMAP still reads back zeros; only the allocation
 * differs, which a raw image cannot promise anyway.
 */
int blk_zero_mode_fallback(struct blk_backend *b, int failed)
{
	if (failed == ZM_ZERO_RANGE) {
		if (b->zero_mode == ZM_ZERO_RANGE)
			b->zero_mode = b->info.discard ? ZM_PUNCH : ZM_WRITE;
	} else {
		b->info.discard = false;
		if (b->zero_mode == ZM_PUNCH)
			b->zero_mode = ZM_WRITE;
	}
	pr_debug("disk image %s: write-zeroes falls back to method %d", b->path,
		 b->zero_mode);
	return b->zero_mode;
}

void blk_discard_unsupported(struct blk_backend *b)
{
	if (b->info.discard)
		pr_info("disk image %s: the host refuses discard", b->path);
	b->info.discard = false;
	if (b->zero_mode == ZM_PUNCH)
		b->zero_mode = ZM_WRITE;
}

static int req_validate(const struct blk_backend *b, struct blk_req *req)
{
	uint64_t len = 0;

	switch (req->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (req->iovcnt > IOV_MAX)
			return -EINVAL;
		for (unsigned int i = 0; i < req->iovcnt; i++) {
			if (req->iov[i].iov_len > INT_MAX - len)
				return -EINVAL;
			len += req->iov[i].iov_len;
		}
		break;
	case BLK_OP_FLUSH:
		return 0;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		len = req->len;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (req->op != BLK_OP_READ && b->info.readonly)
		return -EROFS;
	if (req->op == BLK_OP_DISCARD && !b->info.discard)
		return -EOPNOTSUPP;
	if (req->offset > b->info.size || len > b->info.size - req->offset)
		return -EINVAL;
	if (req->op == BLK_OP_READ || req->op == BLK_OP_WRITE)
		req->priv.bytes = (uint32_t)len;
	req->priv.io_offset = req->offset;
	req->priv.io_len = len;
	return 0;
}

int blk_submit(struct blk_backend *b, struct blk_req *req)
{
	struct blk_req_priv *p = &req->priv;
	int r;

	memset(p, 0, sizeof(*p));
	r = req_validate(b, req);
	if (r)
		return r;

	switch (req->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (!p->io_len)
			goto done_ok;
		r = req_prepare_rw(b, req);
		if (r < 0)
			return r;
		if (r > 0) {
			blk_complete_later(b, req, rmw_write(b, req));
			return 0;
		}
		break;
	case BLK_OP_FLUSH:
		if (b->info.readonly)
			goto done_ok;
		break;
	case BLK_OP_DISCARD:
		if (!p->io_len)
			goto done_ok;
		break;
	case BLK_OP_WRITE_ZEROES:
		if (!p->io_len)
			goto done_ok;
		p->zero_mode = zero_mode_first(b, req);
		if (p->zero_mode == ZM_WRITE) {
			blk_complete_later(b, req, blk_sync_zero_write(b, req));
			return 0;
		}
		break;
	}

	b->ops->start(b, req);
	return 0;

done_ok:
	blk_complete_later(b, req, 0);
	return 0;
}

void blk_flush_submissions(struct blk_backend *b)
{
	if (b->ops->flush)
		b->ops->flush(b);
}

int blk_completion_fd(const struct blk_backend *b)
{
	return b->efd;
}

bool blk_completions_pending(const struct blk_backend *b)
{
	return b->done_head || (b->ops->pending && b->ops->pending(b));
}

void blk_process_completions(struct blk_backend *b)
{
	struct blk_req *req, *next;
	eventfd_t v;

	/* Before reaping: a completion posted after this re-arms the fd. */
	(void)eventfd_read(b->efd, &v);

	if (b->ops->reap)
		b->ops->reap(b);

	/* Detached first: done() may queue more, which then wait a pass. */
	req = b->done_head;
	b->done_head = NULL;
	b->done_tail = &b->done_head;
	for (; req; req = next) {
		next = req->priv.next;
		req->done(req, req->priv.result);
	}
	blk_flush_submissions(b);
}

void blk_drain(struct blk_backend *b)
{
	for (;;) {
		int r = b->ops->wait ? b->ops->wait(b) : 0;

		if (r < 0) {
			pr_err("disk image %s: waiting for I/O: %s", b->path,
			       strerror(-r));
			return;
		}
		if (!r && !b->done_head)
			return;
		blk_process_completions(b);
	}
}

const struct blk_info *blk_info(const struct blk_backend *b)
{
	return &b->info;
}

/* Explains why open() failed; @err is its errno. */
static int report_open_error(const char *path, const struct blk_options *o,
			     int err)
{
	struct stat st;
	int fd;

	switch (err) {
	case ENOENT:
		pr_err("disk image %s does not exist", path);
		break;
	case EISDIR:
		pr_err("disk image %s is a directory", path);
		break;
	case EACCES:
	case EPERM:
		pr_err("disk image %s: permission denied opening it %s%s", path,
		       o->readonly ? "read-only" : "read-write",
		       o->readonly || access(path, R_OK) ?
			       "" :
			       " (it is readable: use readonly)");
		break;
	case EROFS:
		pr_err("disk image %s is on a read-only file system; open it "
		       "readonly",
		       path);
		break;
	case EINVAL:
		if (!o->direct)
			goto generic;
		/* O_DIRECT is checked at open time; see what else it is. */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			goto generic;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			pr_err("disk image %s is a directory", path);
			err = EISDIR;
		} else {
			pr_err("the file system of disk image %s does not "
			       "support O_DIRECT (e.g. tmpfs before Linux "
			       "6.6); turn direct I/O off",
			       path);
		}
		close(fd);
		break;
	default:
generic:
		pr_err("cannot open disk image %s: %s", path, strerror(err));
		break;
	}
	return err;
}

/*
 * Opens @path as @opts asks and checks it can be a disk: a regular file or
 * block device, not empty, whole sectors. Returns the fd (its stat and
 * size filled in) or -errno, with the reason logged.
 */
static int open_image(const char *path, const struct blk_options *o,
		      struct stat *st, uint64_t *size)
{
	int flags = O_CLOEXEC | (o->readonly ? O_RDONLY : O_RDWR) |
		    (o->direct ? O_DIRECT : 0);
	int fd = open(path, flags), err;

	if (fd < 0)
		return -report_open_error(path, o, errno);
	if (fstat(fd, st) < 0) {
		err = -errno;
		pr_err("cannot stat disk image %s: %s", path, strerror(errno));
		goto fail;
	}
	err = -EINVAL;
	if (S_ISDIR(st->st_mode)) {
		pr_err("disk image %s is a directory", path);
		err = -EISDIR;
		goto fail;
	}
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		pr_err("disk image %s is neither a regular file nor a block "
		       "device",
		       path);
		goto fail;
	}
	if (S_ISBLK(st->st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0) {
			err = -errno;
			pr_err("cannot get the size of disk image %s: %s", path,
			       strerror(errno));
			goto fail;
		}
	} else {
		*size = (uint64_t)st->st_size;
	}
	if (!*size) {
		pr_err("disk image %s is empty", path);
		goto fail;
	}
	if (*size % BLK_SECTOR_SIZE) {
		pr_err("disk image %s is %llu bytes, not a multiple of %d; "
		       "pad it (truncate -s %llu)",
		       path, (unsigned long long)*size, BLK_SECTOR_SIZE,
		       (unsigned long long)align_up(*size, BLK_SECTOR_SIZE));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

int blk_check(const char *path, const struct blk_options *opts)
{
	struct stat st;
	uint64_t size;
	int fd = open_image(path, opts, &st, &size);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* O_DIRECT alignment: statx if it knows, else what reads accept. */
static void probe_dio_align(struct blk_backend *b, const struct stat *st)
{
	unsigned int lbs = 0;
	void *buf;

	b->mem_align = MAX_ALIGN;
	b->off_align = MAX_ALIGN;
#ifdef STATX_DIOALIGN
	struct statx stx;

	if (statx(b->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
		if (is_pow2(stx.stx_dio_mem_align) &&
		    stx.stx_dio_mem_align <= MAX_DIO_ALIGN)
			b->mem_align = stx.stx_dio_mem_align;
		if (is_pow2(stx.stx_dio_offset_align) &&
		    stx.stx_dio_offset_align <= MAX_DIO_ALIGN)
			b->off_align = stx.stx_dio_offset_align;
		return;
	}
#endif
	if (S_ISBLK(st->st_mode)) {
		if (ioctl(b->fd, BLKSSZGET, &lbs) == 0 && is_pow2(lbs) &&
		    lbs <= MAX_DIO_ALIGN)
			b->mem_align = b->off_align = lbs;
		return;
	}
	if (posix_memalign(&buf, MAX_ALIGN, 2 * MAX_ALIGN))
		return;
	for (uint32_t a = BLK_SECTOR_SIZE; a <= MAX_ALIGN; a *= 2) {
		if (pread(b->fd, buf, a, 0) >= 0) {
			b->off_align = a;
			break;
		}
	}
	for (uint32_t a = BLK_SECTOR_SIZE; a <= MAX_ALIGN; a *= 2) {
		if (pread(b->fd, (char *)buf + a, b->off_align, 0) >= 0) {
			b->mem_align = a;
			break;
		}
	}
	free(buf);
}

static void probe_block_sizes(struct blk_backend *b, const struct stat *st)
{
	unsigned int lbs = BLK_SECTOR_SIZE, pbs = 0;
	int v;

	if (S_ISBLK(st->st_mode)) {
		if (ioctl(b->fd, BLKSSZGET, &v) == 0 && v > 0 &&
		    is_pow2((unsigned int)v))
			lbs = (unsigned int)v;
		if (ioctl(b->fd, BLKPBSZGET, &pbs) < 0)
			pbs = 0;
	} else {
		pbs = (unsigned int)st->st_blksize;
	}
	if (b->info.direct && b->off_align > lbs)
		lbs = b->off_align;
	if (!is_pow2(pbs) || pbs < lbs || pbs > MAX_PHYS_BLOCK)
		pbs = lbs;
	b->info.logical_block_size = lbs;
	b->info.physical_block_size = pbs;
}

static bool probe_discard(struct blk_backend *b, const struct stat *st)
{
	if (b->info.readonly)
		return false;
	if (S_ISBLK(st->st_mode))
		return true; /* found out on first use */
	/* A hole punched past EOF with KEEP_SIZE changes nothing. */
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)b->info.size, BLK_SECTOR_SIZE) == 0)
		return true;
	return errno != EOPNOTSUPP && errno != ENOSYS;
}

/* FNV-1a, for IDs too long to spell out. */
static uint64_t fnv1a(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (i * 8)) & 0xff;
		h *= 0x100000001b3ull;
	}
	return h;
}

static int make_serial(struct blk_backend *b, const struct stat *st,
		       const char *user)
{
	char buf[64] = "";
	unsigned long long dev, ino;
	int n;

	if (user) {
		if (strlen(user) > BLK_SERIAL_LEN) {
			pr_err("disk serial \"%s\" is longer than %d bytes",
			       user, BLK_SERIAL_LEN);
			return -EINVAL;
		}
		strcpy(b->info.serial, user);
		return 0;
	}
	/* Stable while the image exists, unique among the host's images. */
	dev = S_ISBLK(st->st_mode) ? st->st_rdev : st->st_dev;
	ino = S_ISBLK(st->st_mode) ? 0 : st->st_ino;
	n = snprintf(buf, sizeof(buf), "dv%llx-%llx", dev, ino);
	if (n > BLK_SERIAL_LEN)
		snprintf(buf, sizeof(buf), "dv%016llx",
			 (unsigned long long)fnv1a(
				 fnv1a(0xcbf29ce484222325ull, dev), ino));
	/* buf is zero-filled: the padding GET_ID returns is defined. */
	memcpy(b->info.serial, buf, BLK_SERIAL_LEN);
	b->info.serial[BLK_SERIAL_LEN] = '\0';
	return 0;
}

static int lock_image(struct blk_backend *b)
{
	struct flock fl = {
		.l_type = b->info.readonly ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
	};

	if (fcntl(b->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES) {
		pr_err("disk image %s is in use by another process", b->path);
		return -EBUSY;
	}
	/* Advisory protection only: do not refuse a file system without. */
	pr_warn("cannot lock disk image %s (%s); nothing stops another "
		"process from opening it too",
		b->path, strerror(errno));
	return 0;
}

static int select_engine(struct blk_backend *b, enum blk_engine want)
{
	int r = -EOPNOTSUPP;

	if (want == BLK_ENGINE_SYNC)
		goto sync;
#ifdef HAVE_LIBURING
	r = blk_uring_engine.setup(b);
	if (!r) {
		b->ops = &blk_uring_engine;
		b->info.engine = BLK_ENGINE_IO_URING;
		return 0;
	}
	if (want == BLK_ENGINE_IO_URING) {
		pr_err("disk image %s: cannot set up io_uring: %s", b->path,
		       strerror(-r));
		return r;
	}
	pr_info("io_uring unavailable (%s); disk image %s uses synchronous "
		"I/O",
		strerror(-r), b->path);
#else
	if (want == BLK_ENGINE_IO_URING) {
		pr_err("disk image %s: this devisor was built without liburing",
		       b->path);
		return r;
	}
#endif
sync:
	b->ops = &blk_sync_engine;
	b->info.engine = BLK_ENGINE_SYNC;
	return 0;
}

int blk_resize(struct blk_backend *b, uint64_t size)
{
	if (b->info.readonly)
		return -EROFS;
	if (!b->regular)
		return -EOPNOTSUPP;
	if (size < b->info.size || size % BLK_SECTOR_SIZE ||
	    size % b->off_align || size > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (size == b->info.size)
		return 0;
	if (ftruncate(b->fd, (off_t)size))
		return -errno;
	b->info.sectors = size / BLK_SECTOR_SIZE;
	b->info.size = size;
	return 0;
}

struct blk_backend *blk_open(const char *path, const struct blk_options *opts)
{
	static const struct blk_options defaults;
	struct blk_backend *b;
	struct stat st;
	uint64_t size = 0;
	int err;

	if (!opts)
		opts = &defaults;
	b = calloc(1, sizeof(*b));
	if (!b || !(b->path = strdup(path))) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	b->fd = -1;
	b->efd = -1;
	b->done_tail = &b->done_head;
	b->mem_align = 1;
	b->off_align = 1;
	b->depth = opts->queue_depth ? opts->queue_depth : DEFAULT_QUEUE_DEPTH;
	if (b->depth > MAX_QUEUE_DEPTH)
		b->depth = MAX_QUEUE_DEPTH;
	b->info.readonly = opts->readonly;
	b->info.direct = opts->direct;

	b->fd = open_image(path, opts, &st, &size);
	if (b->fd < 0) {
		err = b->fd;
		goto fail;
	}
	err = opts->shared ? 0 : lock_image(b);
	if (err)
		goto fail;
	b->info.size = size;
	b->info.sectors = size / BLK_SECTOR_SIZE;

	if (opts->direct) {
		probe_dio_align(b, &st);
		/* Else a block-wide RMW of the last block would grow it. */
		if (size % b->off_align) {
			pr_err("disk image %s is %llu bytes, not a multiple of "
			       "its direct I/O block size %u; pad it or turn "
			       "direct I/O off",
			       path, (unsigned long long)size, b->off_align);
			err = -EINVAL;
			goto fail;
		}
	}
	b->regular = S_ISREG(st.st_mode) && !opts->shared;
	probe_block_sizes(b, &st);
	b->info.discard = probe_discard(b, &st);
	b->info.write_zeroes = !b->info.readonly;
	b->zero_mode = ZM_ZERO_RANGE;
	err = make_serial(b, &st, opts->serial);
	if (err)
		goto fail;

	b->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->efd < 0) {
		err = -errno;
		pr_err("disk image %s: eventfd: %s", path, strerror(errno));
		goto fail;
	}
	err = select_engine(b, opts->engine);
	if (err)
		goto fail;

	pr_info("disk image %s: %llu bytes, %s%s, %s, blocks %u/%u%s", path,
		(unsigned long long)size,
		b->info.readonly ? "read-only" : "read-write",
		b->info.direct ? ", direct" : "",
		blk_engine_name(b->info.engine), b->info.logical_block_size,
		b->info.physical_block_size,
		b->info.discard ? ", discard" : "");
	return b;

fail:
	if (b->efd >= 0)
		close(b->efd);
	if (b->fd >= 0)
		close(b->fd);
	free(b->path);
	free(b);
	errno = -err;
	return NULL;
}

void blk_close(struct blk_backend *b)
{
	if (!b)
		return;
	blk_drain(b);
	if (b->ops->close)
		b->ops->close(b);
	/* Closing the only descriptor drops the OFD lock. */
	close(b->fd);
	close(b->efd);
	free(b->zeroes);
	free(b->path);
	free(b);
}
