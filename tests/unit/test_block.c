// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "backend/block.h"
#include "util/log.h"

#define MIB (1024 * 1024)
#define IMG_SIZE (4 * MIB)

static enum blk_engine eng_uring = BLK_ENGINE_IO_URING;
static enum blk_engine eng_sync = BLK_ENGINE_SYNC;

/* Every file a test made, removed at the end even if an assert fired. */
static char *made[256];
static unsigned int nmade;

static const char *tmp_dir(bool direct)
{
	const char *dir = getenv("TMPDIR");
	struct statfs sfs;

	if (!dir || !*dir)
		dir = "/tmp";
	/* O_DIRECT on tmpfs is buffered I/O in disguise: use a real disk. */
	if (direct && statfs(dir, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC)
		dir = "/var/tmp";
	return dir;
}

static uint8_t pattern_byte(uint64_t off, unsigned int seed)
{
	return (uint8_t)((off * 7 + (off >> 9) * 13 + seed) ^ 0x5a);
}

static void fill_pattern(void *buf, size_t len, uint64_t off, unsigned int seed)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(off + i, seed);
}

/* A temp image of @size bytes filled with pattern seed 1. */
static char *make_image(const char *dir, uint64_t size)
{
	char *path;
	uint8_t *buf;
	int fd;

	assert_true(nmade < sizeof(made) / sizeof(made[0]));
	assert_true(asprintf(&path, "%s/devisor-blk-XXXXXX", dir) > 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	made[nmade++] = path;
	buf = malloc(size);
	assert_non_null(buf);
	fill_pattern(buf, size, 0, 1);
	assert_int_equal(pwrite(fd, buf, size, 0), (ssize_t)size);
	free(buf);
	close(fd);
	return path;
}

static enum blk_engine test_engine(void **state)
{
	enum blk_engine e = *(enum blk_engine *)*state;

	if (e == BLK_ENGINE_IO_URING && !blk_io_uring_available()) {
		print_message("io_uring_queue_init fails on this kernel or "
			      "under this seccomp policy (or no liburing): "
			      "skipping io_uring case\n");
		skip();
	}
	return e;
}

static struct blk_backend *open_img(const char *path, enum blk_engine e,
				    bool ro, bool direct)
{
	struct blk_options o = {
		.readonly = ro,
		.direct = direct,
		.engine = e,
	};
	struct blk_backend *b = blk_open(path, &o);

	assert_non_null(b);
	assert_int_equal(blk_info(b)->engine, e);
	return b;
}

struct waiter {
	int ndone;
	int result;
	struct blk_req *last;
};

static void on_done(struct blk_req *req, int result)
{
	struct waiter *w = req->opaque;

	w->ndone++;
	w->result = result;
	w->last = req;
}

/* Polls the completion fd, as the I/O thread would, until @want done. */
static void wait_for(struct blk_backend *b, const int *ndone, int want)
{
	struct pollfd pfd = { .fd = blk_completion_fd(b), .events = POLLIN };

	while (*ndone < want) {
		int r = poll(&pfd, 1, 10000);

		assert_true(r > 0); /* else a completion was never signalled */
		blk_process_completions(b);
	}
	assert_int_equal(*ndone, want);
}

/* Submits one request, waits for it; returns done()'s result. */
static int run(struct blk_backend *b, struct blk_req *req)
{
	struct waiter w = { 0 };

	req->done = on_done;
	req->opaque = &w;
	assert_int_equal(blk_submit(b, req), 0);
	blk_flush_submissions(b);
	wait_for(b, &w.ndone, 1);
	assert_ptr_equal(w.last, req);
	return w.result;
}

static int rw(struct blk_backend *b, enum blk_op op, uint64_t off,
	      const struct iovec *iov, unsigned int cnt)
{
	struct blk_req req = {
		.op = op,
		.offset = off,
		.iov = iov,
		.iovcnt = cnt,
	};

	return run(b, &req);
}

static int ranged(struct blk_backend *b, enum blk_op op, uint64_t off,
		  uint64_t len, uint32_t flags)
{
	struct blk_req req = {
		.op = op,
		.offset = off,
		.len = len,
		.flags = flags,
	};

	return run(b, &req);
}

/* What blk_submit() says, making sure done() is then never called. */
static int refused(struct blk_backend *b, struct blk_req *req)
{
	struct waiter w = { 0 };
	int r;

	req->done = on_done;
	req->opaque = &w;
	r = blk_submit(b, req);
	blk_flush_submissions(b);
	blk_process_completions(b);
	assert_int_equal(w.ndone, 0);
	return r;
}

static int read_buf(struct blk_backend *b, uint64_t off, void *buf, size_t len)
{
	struct iovec iov = { buf, len };

	return rw(b, BLK_OP_READ, off, &iov, 1);
}

static int write_buf(struct blk_backend *b, uint64_t off, const void *buf,
		     size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return rw(b, BLK_OP_WRITE, off, &iov, 1);
}

static void assert_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			fail_msg("byte %zu is 0x%02x, not zero", i, p[i]);
}

static void assert_pattern(const uint8_t *p, size_t len, uint64_t off,
			   unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern_byte(off + i, seed))
			fail_msg("byte at %llu is 0x%02x, want 0x%02x",
				 (unsigned long long)(off + i), p[i],
				 pattern_byte(off + i, seed));
}

static void test_info(void **state)
{
	enum blk_engine e = test_engine(state);
	char *path = make_image(tmp_dir(false), IMG_SIZE);
	struct blk_backend *b = open_img(path, e, false, false);
	const struct blk_info *i = blk_info(b);
	struct blk_options o = { .engine = e, .serial = "my-disk-01" };

	assert_int_equal(i->size, IMG_SIZE);
	assert_int_equal(i->sectors, IMG_SIZE / 512);
	assert_int_equal(i->logical_block_size, 512);
	assert_true(i->physical_block_size >= i->logical_block_size);
	assert_false(i->readonly);
	assert_false(i->direct);
	assert_true(i->write_zeroes);
	assert_true(i->discard); /* ext4, xfs, btrfs and tmpfs all punch */
	assert_true(strlen(i->serial) > 0);
	assert_true(strlen(i->serial) <= BLK_SERIAL_LEN);
	blk_close(b);

	b = blk_open(path, &o);
	assert_non_null(b);
	assert_string_equal(blk_info(b)->serial, "my-disk-01");
	blk_close(b);
	o.serial = "123456789012345678901";
	assert_null(blk_open(path, &o));
	assert_int_equal(errno, EINVAL);
}

static void test_auto_engine(void **state)
{
	char *path = make_image(tmp_dir(false), IMG_SIZE);
	struct blk_options o = { .engine = BLK_ENGINE_AUTO };
	struct blk_backend *b = blk_open(path, &o);

	assert_non_null(b);
	print_message("auto engine here: %s\n",
		      blk_engine_name(blk_info(b)->engine));
	assert_int_equal(blk_info(b)->engine, blk_io_uring_available() ?
						      BLK_ENGINE_IO_URING :
						      BLK_ENGINE_SYNC);
	blk_close(b);
}

static void test_rw_iovecs(void **state)
{
	enum blk_engine e = test_engine(state);
	char *path = make_image(tmp_dir(false), IMG_SIZE);
	struct blk_backend *b = open_img(path, e, false, false);
	const uint64_t off = 3 * 4096 + 512, len = 3 * 4096 + 1536;
	uint8_t *src = malloc(len), *dst = calloc(1, len);
	/* Odd, differently split segments for the write and the read. */
	struct iovec wiov[3] = {
		{ src, 512 },
		{ src + 512, 7000 },
		{ src + 7512, len - 7512 },
	};
	struct iovec riov[4] = {
		{ dst, 100 },
		{ dst + 100, 0 },
		{ dst + 100, 4000 },
		{ dst + 4100, len - 4100 },
	};
	uint8_t edge[512];

	fill_pattern(src, len, off, 9);
	assert_int_equal(rw(b, BLK_OP_WRITE, off, wiov, 3), (int)len);
	assert_int_equal(rw(b, BLK_OP_READ, off, riov, 4), (int)len);
	assert_memory_equal(src, dst, len);
	/* The neighbours still hold the original image. */
	assert_int_equal(read_buf(b, off - 512, edge, 512), 512);
	assert_pattern(edge, 512, off - 512, 1);
	assert_int_equal(read_buf(b, off + len, edge, 512), 512);
	assert_pattern(edge, 512, off + len, 1);
	/* Zero-length transfers complete with 0. */
	assert_int_equal(rw(b, BLK_OP_READ, 0, NULL, 0), 0);

	assert_int_equal(ranged(b, BLK_OP_FLUSH, 0, 0, 0), 0);
	blk_close(b);

	/* And it really is in the file. */
	b = open_img(path, e, true, false);
	memset(dst, 0, len);
	assert_int_equal(read_buf(b, off, dst, len), (int)len);
	assert_memory_equal(src, dst, len);
	blk_close(b);
	free(src);
	free(dst);
}

static void test_discard(void **state)
{
	enum blk_engine e = test_engine(state);
	char *path = make_image(tmp_dir(false), IMG_SIZE);
	struct blk_backend *b = open_img(path, e, false, false);
	uint8_t *buf = malloc(3 * 65536);
	struct stat st;

	assert_true(blk_info(b)->discard);
	assert_int_equal(ranged(b, BLK_OP_DISCARD, 65536, 65536, 0), 0);
	assert_int_equal(read_buf(b, 0, buf, 3 * 65536), 3 * 65536);
	assert_pattern(buf, 65536, 0, 1);
	assert_zero(buf + 65536, 65536);
	assert_pattern(buf + 2 * 65536, 65536, 2 * 65536, 1);
	/* Sub-block discards zero too (the file system zeroes the edges). */
	assert_int_equal(ranged(b, BLK_OP_DISCARD, 512, 1024, 0), 0);
	assert_int_equal(read_buf(b, 0, buf, 4096), 4096);
	assert_pattern(buf, 512, 0, 1);
	assert_zero(buf + 512, 1024);
	assert_pattern(buf + 1536, 4096 - 1536, 1536, 1);
	blk_close(b);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, IMG_SIZE);
	free(buf);
}

static void test_write_zeroes(void **state)
{
	enum blk_engine e = test_engine(state);
	char *path = make_image(tmp_dir(false), IMG_SIZE);
	struct blk_backend *b = open_img(path, e, false, false);
	uint8_t *buf = malloc(3 * 8192);

	assert_true(blk_info(b)->write_zeroes);
	assert_int_equal(ranged(b, BLK_OP_WRITE_ZEROES, 8192, 8192, 0), 0);
	assert_int_equal(ranged(b, BLK_OP_WRITE_ZEROES, 1024 * 1024, 8192,
				BLK_REQ_UNMAP),
			 0);
	assert_int_equal(read_buf(b, 0, buf, 3 * 8192), 3 * 8192);
	assert_pattern(buf, 8192, 0, 1);
	assert_zero(buf + 8192, 8192);
	assert_pattern(buf + 16384, 8192, 16384, 1);
	assert_int_equal(read_buf(b, 1024 * 1024 - 8192, buf, 3 * 8192),
			 3 * 8192);
	assert_pattern(buf, 8192, 1024 * 1024 - 8192, 1);
	assert_zero(buf + 8192, 8192);
	assert_pattern(buf + 16384, 8192, 1024 * 1024 + 8192, 1);
	/* Up to the very end of the image. */
	assert_int_equal(ranged(b, BLK_OP_WRITE_ZEROES, IMG_SIZE - 512, 512, 0),
			 0);
	assert_int_equal(read_buf(b, IMG_SIZE - 1024, buf, 1024), 1024);
	assert_pattern(buf, 512, IMG_SIZE - 1024, 1);
	assert_zero(buf + 512, 512);
	blk_close(b);
	free(buf);
}

static void test_readonly(void **state)
{
	enum blk_engine e = test_engine(state);
	char *path = make_image(tmp_dir(false), IMG_SIZE);
	struct blk_backend *b = open_img(path, e, true, false);
	uint8_t buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	struct blk_req req = { .op = BLK_OP_WRITE, .iov = &iov, .iovcnt = 1 };

	assert_true(blk_info(b)->readonly);
	assert_false(blk_info(b)->discard);
	assert_false(blk_info(b)->write_zeroes);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(refused(b, &req), -EROFS);
	req = (struct blk_req){ .op = BLK_OP_WRITE_ZEROES, .len = 4096 };
	assert_int_equal(refused(b, &req), -EROFS);
	req = (struct blk_req){ .op = BLK_OP_DISCARD, .len = 4096 };
	assert_int_equal(refused(b, &req), -EROFS);
	/* Flushing nothing is fine. */
	assert_int_equal(ranged(b, BLK_OP_FLUSH, 0, 0, 0), 0);
	assert_int_equal(read_buf(b, 0, buf, sizeof(buf)), (int)sizeof(buf));
	assert_pattern(buf, sizeof(buf), 0, 1);
	blk_close(b);
}

static void test_out_of_range(void **state)
{
	enum blk_engine e = test_engine(state);
	char *path = make_image(tmp_dir(false), IMG_SIZE);
	struct blk_backend *b = open_img(path, e, false, false);
	uint8_t buf[1024];
	struct iovec iov = { buf, 512 }, iov2 = { buf, 1024 };
	struct blk_req req;

	/* The last sector is fine... */
	assert_int_equal(read_buf(b, IMG_SIZE - 512, buf, 512), 512);
	assert_pattern(buf, 512, IMG_SIZE - 512, 1);
	assert_int_equal(write_buf(b, IMG_SIZE - 512, buf, 512), 512);
	/* ...one past it is not, nor anything crossing the end. */
	req = (struct blk_req){
		.op = BLK_OP_READ, .offset = IMG_SIZE, .iov = &iov, .iovcnt = 1
	};
	assert_int_equal(refused(b, &req), -EINVAL);
	req.op = BLK_OP_WRITE;
	assert_int_equal(refused(b, &req), -EINVAL);
	req = (struct blk_req){ .op = BLK_OP_READ,
				.offset = IMG_SIZE - 512,
				.iov = &iov2,
				.iovcnt = 1 };
	assert_int_equal(refused(b, &req), -EINVAL);
	/* An offset that would wrap around. */
	req = (struct blk_req){ .op = BLK_OP_READ,
				.offset = UINT64_MAX - 100,
				.iov = &iov,
				.iovcnt = 1 };
	assert_int_equal(refused(b, &req), -EINVAL);
	req = (struct blk_req){ .op = BLK_OP_DISCARD,
				.offset = IMG_SIZE - 512,
				.len = 1024 };
	assert_int_equal(refused(b, &req), -EINVAL);
	req = (struct blk_req){ .op = BLK_OP_WRITE_ZEROES,
				.offset = 512,
				.len = UINT64_MAX };
	assert_int_equal(refused(b, &req), -EINVAL);
	req = (struct blk_req){ .op = 42 };
	assert_int_equal(refused(b, &req), -EOPNOTSUPP);
	blk_close(b);
}

/*
 * Out-of-range requests are refused, so EOF inside a request only happens
 * when someone shrinks the image under us: reads see zeros there.
 */
static void test_shrunk_image(void **state)
{
	enum blk_engine e = test_engine(state);
	char *path = make_image(tmp_dir(false), IMG_SIZE);
	struct blk_backend *b = open_img(path, e, false, false);
	uint8_t buf[8192];

	assert_int_equal(truncate(path, IMG_SIZE - 4096 - 1024), 0);
	memset(buf, 0xcc, sizeof(buf));
	assert_int_equal(read_buf(b, IMG_SIZE - 8192, buf, 8192), 8192);
	assert_pattern(buf, 3072, IMG_SIZE - 8192, 1);
	assert_zero(buf + 3072, 8192 - 3072);
	blk_close(b);
}

static void test_open_errors(void **state)
{
	const char *dir = tmp_dir(false);
	char *path = make_image(dir, 1000), *missing;
	struct blk_options o = { .engine = BLK_ENGINE_SYNC };

	assert_null(blk_open(path, &o));
	assert_int_equal(errno, EINVAL);
	o.readonly = true;
	assert_null(blk_open(path, &o));
	assert_int_equal(errno, EINVAL);

	assert_int_equal(truncate(path, 0), 0);
	assert_null(blk_open(path, &o));
	assert_int_equal(errno, EINVAL);

	assert_null(blk_open(dir, &o));
	assert_int_equal(errno, EISDIR);
	o.readonly = false;
	assert_null(blk_open(dir, &o));
	assert_int_equal(errno, EISDIR);
	o.direct = true;
	assert_null(blk_open(dir, &o));
	assert_int_equal(errno, EISDIR);
	o.direct = false;

	assert_true(asprintf(&missing, "%s/no/such/devisor-image", dir) > 0);
	assert_null(blk_open(missing, &o));
	assert_int_equal(errno, ENOENT);
	free(missing);

	assert_null(blk_open("/dev/null", &o));
	assert_int_equal(errno, EINVAL);
}

static void test_permission(void **state)
{
	char *path = make_image(tmp_dir(false), IMG_SIZE);
	struct blk_options o = { .engine = BLK_ENGINE_SYNC };
	struct blk_backend *b;

	if (geteuid() == 0) {
		print_message("running as root: permissions do not apply\n");
		skip();
	}
	assert_int_equal(chmod(path, 0400), 0);
	assert_null(blk_open(path, &o));
	assert_int_equal(errno, EACCES);
	o.readonly = true;
	b = blk_open(path, &o);
	assert_non_null(b);
	blk_close(b);
}

static void test_locking(void **state)
{
	char *path = make_image(tmp_dir(false), IMG_SIZE);
	struct blk_options rw = { .engine = BLK_ENGINE_SYNC };
	struct blk_options ro = { .engine = BLK_ENGINE_SYNC, .readonly = true };
	struct blk_backend *a, *c;

	/* OFD locks conflict between opens of one process too. */
	a = blk_open(path, &rw);
	assert_non_null(a);
	assert_null(blk_open(path, &rw));
	assert_int_equal(errno, EBUSY);
	assert_null(blk_open(path, &ro));
	assert_int_equal(errno, EBUSY);
	blk_close(a);

	a = blk_open(path, &ro);
	assert_non_null(a);
	c = blk_open(path, &ro);
	assert_non_null(c);
	assert_null(blk_open(path, &rw));
	assert_int_equal(errno, EBUSY);
	blk_close(a);
	blk_close(c);

	a = blk_open(path, &rw);
	assert_non_null(a);
	blk_close(a);
}

static void test_direct(void **state)
{
	enum blk_engine e = test_engine(state);
	char *path = make_image(tmp_dir(true), IMG_SIZE);
	struct blk_options o = { .engine = e, .direct = true };
	struct blk_backend *b = blk_open(path, &o);
	uint32_t lbs;
	uint8_t *raw = NULL, *src, *dst;
	struct iovec iov[2];
	int fd;

	if (!b && errno == EINVAL) {
		print_message("%s does not support O_DIRECT: skipping\n",
			      tmp_dir(true));
		skip();
	}
	assert_non_null(b);
	assert_true(blk_info(b)->direct);
	lbs = blk_info(b)->logical_block_size;
	assert_true(lbs >= 512 && lbs <= 4096);
	print_message("O_DIRECT logical block size %u\n", lbs);
	assert_int_equal(posix_memalign((void **)&raw, 4096, 5 * 65536), 0);
	src = raw;
	dst = raw + 2 * 65536;

	/* Aligned: no bounce. */
	fill_pattern(src, 65536, 65536, 2);
	assert_int_equal(write_buf(b, 65536, src, 65536), 65536);
	memset(dst, 0, 65536);
	assert_int_equal(read_buf(b, 65536, dst, 65536), 65536);
	assert_pattern(dst, 65536, 65536, 2);

	/* Misaligned memory, aligned offset: bounced both ways. */
	fill_pattern(src + 1, 8192, 4096, 3);
	assert_int_equal(write_buf(b, 4096, src + 1, 8192), 8192);
	memset(dst, 0, 65536);
	assert_int_equal(read_buf(b, 4096, dst + 3, 8192), 8192);
	assert_pattern(dst + 3, 8192, 4096, 3);

	/* Segments that are not whole blocks. */
	fill_pattern(src, 4096, 32768, 4);
	iov[0] = (struct iovec){ src, 100 };
	iov[1] = (struct iovec){ src + 100, 3996 };
	assert_int_equal(rw(b, BLK_OP_WRITE, 32768, iov, 2), 4096);
	memset(dst, 0, 4096);
	iov[0] = (struct iovec){ dst, 1000 };
	iov[1] = (struct iovec){ dst + 1000, 3096 };
	assert_int_equal(rw(b, BLK_OP_READ, 32768, iov, 2), 4096);
	assert_pattern(dst, 4096, 32768, 4);

	/* Misaligned offset and length: widened read, RMW write. */
	fill_pattern(src, 1000, 200000 + 100, 5);
	assert_int_equal(write_buf(b, 200000 + 100, src, 1000), 1000);
	memset(dst, 0, 4096);
	assert_int_equal(read_buf(b, 200000 + 100, dst, 1000), 1000);
	assert_pattern(dst, 1000, 200000 + 100, 5);
	assert_int_equal(read_buf(b, 196608, dst, 8192), 8192);
	assert_pattern(dst, 200000 + 100 - 196608, 196608, 1);
	assert_pattern(dst + 200000 + 100 - 196608, 1000, 200000 + 100, 5);
	assert_pattern(dst + 200000 + 1100 - 196608,
		       196608 + 8192 - 200000 - 1100, 200000 + 1100, 1);
	/* The last bytes of the image, misaligned. */
	fill_pattern(src, 300, IMG_SIZE - 300, 6);
	assert_int_equal(write_buf(b, IMG_SIZE - 300, src, 300), 300);
	assert_int_equal(ranged(b, BLK_OP_FLUSH, 0, 0, 0), 0);
	blk_close(b);

	/* Check through the page cache, independently of the backend. */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, dst, 8192, 196608), 8192);
	assert_pattern(dst + 200000 + 100 - 196608, 1000, 200000 + 100, 5);
	assert_int_equal(pread(fd, dst, 4096, IMG_SIZE - 4096), 4096);
	assert_pattern(dst, 4096 - 300, IMG_SIZE - 4096, 1);
	assert_pattern(dst + 4096 - 300, 300, IMG_SIZE - 300, 6);
	close(fd);
	free(raw);
}

#define NCONC 256
#define CBLK 4096

struct conc {
	struct blk_req req[NCONC];
	struct iovec iov[NCONC][2];
	int result[NCONC];
	int ndone;
};

static void conc_done(struct blk_req *req, int result)
{
	struct conc *c = req->opaque;

	c->result[req - c->req] = result;
	c->ndone++;
}

static void conc_round(struct blk_backend *b, struct conc *c, enum blk_op op,
		       uint8_t *buf)
{
	memset(c->req, 0, sizeof(c->req));
	c->ndone = 0;
	for (int i = 0; i < NCONC; i++) {
		/* Reverse order on disk, two segments each. */
		uint64_t off = (uint64_t)(NCONC - 1 - i) * CBLK;

		c->iov[i][0] = (struct iovec){ buf + i * CBLK, 1536 };
		c->iov[i][1] =
			(struct iovec){ buf + i * CBLK + 1536, CBLK - 1536 };
		c->req[i] = (struct blk_req){
			.op = op,
			.offset = off,
			.iov = c->iov[i],
			.iovcnt = 2,
			.done = conc_done,
			.opaque = c,
		};
		c->result[i] = -1;
		assert_int_equal(blk_submit(b, &c->req[i]), 0);
	}
	/* One kick's worth: a single flush for the whole burst. */
	blk_flush_submissions(b);
	wait_for(b, &c->ndone, NCONC);
	for (int i = 0; i < NCONC; i++)
		assert_int_equal(c->result[i], CBLK);
}

static void concurrent(void **state, unsigned int depth, bool direct)
{
	enum blk_engine e = test_engine(state);
	char *path = make_image(tmp_dir(direct), IMG_SIZE);
	struct blk_options o = { .engine = e,
				 .queue_depth = depth,
				 .direct = direct };
	struct blk_backend *b = blk_open(path, &o);
	struct conc *c = calloc(1, sizeof(*c));
	uint8_t *wbuf = NULL, *rbuf = NULL;

	if (!b && direct && errno == EINVAL)
		skip();
	assert_non_null(b);
	assert_int_equal(posix_memalign((void **)&wbuf, 4096, NCONC * CBLK), 0);
	assert_int_equal(posix_memalign((void **)&rbuf, 4096, NCONC * CBLK), 0);
	for (int i = 0; i < NCONC; i++)
		fill_pattern(wbuf + i * CBLK, CBLK,
			     (uint64_t)(NCONC - 1 - i) * CBLK, 7);
	conc_round(b, c, BLK_OP_WRITE, wbuf);
	memset(rbuf, 0, NCONC * CBLK);
	conc_round(b, c, BLK_OP_READ, rbuf);
	assert_memory_equal(wbuf, rbuf, NCONC * CBLK);
	blk_close(b);
	free(wbuf);
	free(rbuf);
	free(c);
}

static void test_concurrent(void **state)
{
	concurrent(state, 0, false);
}

/* Far more requests than ring slots: the overflow queue takes the rest. */
static void test_concurrent_small_ring(void **state)
{
	concurrent(state, 4, false);
}

static void test_concurrent_direct(void **state)
{
	concurrent(state, 0, true);
}

static int close_ndone;

static void count_done(struct blk_req *req, int result)
{
	assert_int_equal(result, 4096);
	close_ndone++;
}

/* blk_close() waits for, and completes, what is in flight. */
static void test_close_drains(void **state)
{
	enum blk_engine e = test_engine(state);
	char *path = make_image(tmp_dir(false), IMG_SIZE);
	struct blk_backend *b = open_img(path, e, false, false);
	static uint8_t buf[16][4096];
	struct iovec iov[16];
	struct blk_req req[16];

	close_ndone = 0;
	for (int i = 0; i < 16; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		req[i] = (struct blk_req){
			.op = i & 1 ? BLK_OP_WRITE : BLK_OP_READ,
			.offset = (uint64_t)i * 4096,
			.iov = &iov[i],
			.iovcnt = 1,
			.done = count_done,
		};
		assert_int_equal(blk_submit(b, &req[i]), 0);
	}
	blk_flush_submissions(b);
	blk_close(b);
	assert_int_equal(close_ndone, 16);
}

static int cleanup(void **state)
{
	for (unsigned int i = 0; i < nmade; i++) {
		unlink(made[i]);
		free(made[i]);
	}
	nmade = 0;
	return 0;
}

#define BOTH(f)                                        \
	{ #f "/io_uring", f, NULL, NULL, &eng_uring }, \
	{                                              \
#f "/sync", f, NULL, NULL, &eng_sync   \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_info),
		cmocka_unit_test(test_auto_engine),
		BOTH(test_rw_iovecs),
		BOTH(test_discard),
		BOTH(test_write_zeroes),
		BOTH(test_readonly),
		BOTH(test_out_of_range),
		BOTH(test_shrunk_image),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_permission),
		cmocka_unit_test(test_locking),
		BOTH(test_direct),
		BOTH(test_concurrent),
		BOTH(test_concurrent_small_ring),
		BOTH(test_concurrent_direct),
		BOTH(test_close_drains),
	};

	/* The refusals tested here log their errors: that shows the text. */
	if (getenv("BLK_TEST_VERBOSE"))
		log_level = LOG_DEBUG;
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
