// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk tests: a fake guest drives the device through virtio-mmio the
 * way Linux's virtio_blk does, over a temporary raw image, with a real I/O
 * thread and both backend engines. No KVM: kicks take the register path and
 * interrupts arrive through vm->irq_set. A few tests call the device op
 * directly under the device lock, to hold requests in flight across a
 * reset deterministically.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/block.h"
#include "kvm/vm.h"
#include "util/evloop.h"
#include "util/log.h"
#include "util/rate_limit.h"
#include "util/stats.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/virtio.h"

#include "helpers/virtio_driver.h"

#define RAM_SIZE (64ull << 20)
#define BASE 0xd0000000ull
#define GSI 5
#define QSIZE 256
/* Rings of queue q at RING_GPA + q * RING_STRIDE: desc, avail, used. */
#define RING_GPA 0x10000ull
#define RING_STRIDE 0x4000ull
#define AVAIL_OFF 0x1000ull
#define USED_OFF 0x2000ull
#define HEAP_GPA 0x100000ull
#define IMG_SIZE (1u << 20)
#define IMG_SECTORS (IMG_SIZE / 512)
#define SERIAL "devisor-test-serial" /* 19 bytes */

#define F_BLK(b) (1ull << VIRTIO_BLK_F_##b)
#define NONE 0xff /* status byte before the device writes it */
#define F_EVENT_IDX (1ull << VIRTQ_F_EVENT_IDX)

struct params {
	enum blk_engine engine;
	bool readonly;
	unsigned int nq;
	const char *serial;
};

struct fix {
	const struct params *p;
	struct vm vm;
	struct evloop *loop;
	struct virtio_mmio *m;
	struct virtio_dev *vdev;
	char *path;
	uint64_t ring[2];
	uint16_t avail_idx[2];
	uint16_t next_desc[2];
	uint64_t heap;
};

/* ---- guest access ---- */

static uint64_t cfg(struct fix *f, unsigned int off, unsigned int size)
{
	return vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_CONFIG + off, size);
}

static uint32_t status(struct fix *f)
{
	return vd_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS);
}

/* ---- split ring driver ---- */

static void desc(struct fix *f, unsigned int q, uint16_t i, uint64_t addr,
		 uint32_t len, uint16_t flags, uint16_t next)
{
	vd_desc(&f->vm, f->ring[q], i, addr, len, flags, next);
}

static void avail(struct fix *f, unsigned int q, uint16_t head)
{
	vd_avail(&f->vm, f->ring[q] + AVAIL_OFF, QSIZE, &f->avail_idx[q], head);
}

static uint16_t used_idx(struct fix *f, unsigned int q)
{
	return vd_rd16(&f->vm, f->ring[q] + USED_OFF + 2);
}

static uint32_t used_id(struct fix *f, unsigned int q, uint16_t slot)
{
	return vd_rd32(&f->vm, f->ring[q] + USED_OFF + 4 + 8 * (slot % QSIZE));
}

static uint32_t used_len(struct fix *f, unsigned int q, uint16_t slot)
{
	return vd_rd32(&f->vm,
		       f->ring[q] + USED_OFF + 4 + 8 * (slot % QSIZE) + 4);
}

static void kick(struct fix *f, unsigned int q)
{
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* arg: queue << 16 | index */
static bool used_reached(struct fix *f, uintptr_t arg)
{
	return used_idx(f, arg >> 16) == (uint16_t)arg;
}

static bool wait_used(struct fix *f, unsigned int q, uint16_t n)
{
	return vd_wait_until(used_reached, f, (uintptr_t)q << 16 | n);
}

/* ---- device setup (Linux virtio_mmio) ---- */

static void reset(struct fix *f)
{
	vd_mmio_reset(&f->vm, BASE);
	memset(f->avail_idx, 0, sizeof(f->avail_idx));
	memset(f->next_desc, 0, sizeof(f->next_desc));
	memset(vd_hva(&f->vm, RING_GPA, 4 * RING_STRIDE), 0, 4 * RING_STRIDE);
	f->ring[0] = RING_GPA;
	f->ring[1] = RING_GPA + RING_STRIDE;
}

static uint64_t offered(struct fix *f)
{
	return vd_mmio_offered(&f->vm, BASE);
}

static void negotiate(struct fix *f, uint64_t want)
{
	vd_mmio_ack(&f->vm, BASE);
	/* Like virtio_blk: take what we understand of what is offered. */
	want &= offered(f);
	assert_true(vd_mmio_features_ok(&f->vm, BASE, want));
}

static void setup_queue(struct fix *f, unsigned int q)
{
	uint64_t r = f->ring[q];

	vd_mmio_setup_queue(&f->vm, BASE, q, QSIZE, QSIZE, r, r + AVAIL_OFF,
			    r + USED_OFF);
}

static const uint64_t blk_features =
	F_VERSION_1 | F_BLK(SEG_MAX) | F_BLK(BLK_SIZE) | F_BLK(FLUSH) |
	F_BLK(TOPOLOGY) | F_BLK(RO) | F_BLK(DISCARD) | F_BLK(WRITE_ZEROES) |
	F_BLK(MQ);

static void bring_up_with(struct fix *f, uint64_t features, unsigned int nq)
{
	reset(f);
	negotiate(f, features);
	for (unsigned int q = 0; q < nq; q++)
		setup_queue(f, q);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(status(f), S_ALL);
}

static void bring_up(struct fix *f)
{
	bring_up_with(f, blk_features, f->p->nq);
}

/* ---- requests ---- */

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

#define RD(gpa, len)                \
	{                           \
		(gpa), (len), false \
	}
#define WR(gpa, len)               \
	{                          \
		(gpa), (len), true \
	}

static uint64_t galloc(struct fix *f, uint32_t len)
{
	uint64_t g = f->heap;

	f->heap += (len + 511) & ~511ull;
	assert_true(f->heap < RAM_SIZE);
	return g;
}

static uint64_t put_hdr(struct fix *f, uint32_t type, uint64_t sector)
{
	uint64_t g = galloc(f, 16);

	vd_wr32(&f->vm, g, type);
	vd_wr32(&f->vm, g + 4, 0);
	vd_wr64(&f->vm, g + 8, sector);
	return g;
}

static uint64_t put_status(struct fix *f)
{
	uint64_t g = galloc(f, 1);

	*(uint8_t *)vd_hva(&f->vm, g, 1) = NONE;
	return g;
}

/* Writes a chain into the next free descriptors; returns its head. */
static uint16_t chain(struct fix *f, unsigned int q, const struct seg *s,
		      unsigned int n)
{
	uint16_t head = f->next_desc[q];

	for (unsigned int i = 0; i < n; i++) {
		uint16_t d = (head + i) % QSIZE;

		desc(f, q, d, s[i].gpa, s[i].len,
		     (s[i].write ? VIRTQ_DESC_F_WRITE : 0) |
			     (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0),
		     (d + 1) % QSIZE);
	}
	f->next_desc[q] = (head + n) % QSIZE;
	return head;
}

/* Posts @s, waits for it, returns the status byte at @st. */
static uint8_t run(struct fix *f, unsigned int q, const struct seg *s,
		   unsigned int n, uint64_t st, uint32_t *len)
{
	uint16_t head = chain(f, q, s, n);

	avail(f, q, head);
	kick(f, q);
	assert_true(wait_used(f, q, f->avail_idx[q]));
	assert_int_equal(used_id(f, q, f->avail_idx[q] - 1), head);
	if (len)
		*len = used_len(f, q, f->avail_idx[q] - 1);
	return vd_rd8(&f->vm, st);
}

/* Header, data (if @len), status: the layout Linux uses. */
static uint8_t req(struct fix *f, unsigned int q, uint32_t type,
		   uint64_t sector, uint64_t data, uint32_t len,
		   bool dev_writes, uint32_t *used)
{
	struct seg s[3];
	unsigned int n = 0;
	uint64_t st;

	s[n++] = (struct seg){ put_hdr(f, type, sector), 16, false };
	if (len)
		s[n++] = (struct seg){ data, len, dev_writes };
	st = put_status(f);
	s[n++] = (struct seg){ st, 1, true };
	return run(f, q, s, n, st, used);
}

static uint8_t pattern_byte(uint64_t off, unsigned int seed)
{
	return (uint8_t)((off * 7 + (off >> 9) * 13 + seed) ^ 0x5a);
}

static void fill(void *buf, size_t len, uint64_t off, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = pattern_byte(off + i, seed);
}

static uint8_t write_pattern(struct fix *f, unsigned int q, uint64_t sector,
			     uint32_t len, unsigned int seed)
{
	uint64_t data = galloc(f, len);

	fill(vd_hva(&f->vm, data, len), len, sector * 512, seed);
	return req(f, q, VIRTIO_BLK_T_OUT, sector, data, len, false, NULL);
}

/* Reads into guest memory; returns the host view of it. */
static uint8_t *read_back(struct fix *f, unsigned int q, uint64_t sector,
			  uint32_t len)
{
	uint64_t data = galloc(f, len);
	uint32_t used;

	memset(vd_hva(&f->vm, data, len), 0xee, len);
	assert_int_equal(req(f, q, VIRTIO_BLK_T_IN, sector, data, len, true,
			     &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, len + 1);
	return vd_hva(&f->vm, data, len);
}

static void expect_pattern(const uint8_t *p, uint32_t len, uint64_t off,
			   unsigned int seed)
{
	uint8_t *want = malloc(len);

	assert_non_null(want);
	fill(want, len, off, seed);
	assert_memory_equal(p, want, len);
	free(want);
}

static void expect_zero(const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		assert_int_equal(p[i], 0);
}

/* The image file as the host sees it. */
static void file_read(struct fix *f, void *buf, size_t len, uint64_t off)
{
	FILE *fp = fopen(f->path, "rb");

	assert_non_null(fp);
	assert_int_equal(fseek(fp, (long)off, SEEK_SET), 0);
	assert_int_equal(fread(buf, 1, len, fp), len);
	fclose(fp);
}

/* ---- fixture ---- */

static const struct params p_uring = { BLK_ENGINE_IO_URING, false, 1, SERIAL };
static const struct params p_sync = { BLK_ENGINE_SYNC, false, 1, SERIAL };
static const struct params p_uring_ro = { BLK_ENGINE_IO_URING, true, 1,
					  "ABCDEFGHIJKLMNOPQRST" };
static const struct params p_sync_ro = { BLK_ENGINE_SYNC, true, 1,
					 "ABCDEFGHIJKLMNOPQRST" };
static const struct params p_uring_mq = { BLK_ENGINE_IO_URING, false, 2,
					  SERIAL };
static const struct params p_sync_mq = { BLK_ENGINE_SYNC, false, 2, SERIAL };

static char *make_image(void)
{
	const char *dir = getenv("TMPDIR");
	uint8_t *buf = malloc(IMG_SIZE);
	char *path;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	assert_true(asprintf(&path, "%s/devisor-vblk-XXXXXX", dir) > 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_non_null(buf);
	fill(buf, IMG_SIZE, 0, 1);
	assert_int_equal(pwrite(fd, buf, IMG_SIZE, 0), IMG_SIZE);
	free(buf);
	close(fd);
	return path;
}

static int setup(void **state)
{
	const struct params *p = *state;
	struct fix *f;
	struct blk_options o = {
		.readonly = p->readonly,
		.engine = p->engine,
		.serial = p->serial,
	};
	struct blk_backend *be;

	if (p->engine == BLK_ENGINE_IO_URING && !blk_io_uring_available()) {
		print_message("io_uring unavailable here: skipping\n");
		*state = NULL;
		return 0;
	}
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->p = p;
	f->loop = vd_vm_init(&f->vm, RAM_SIZE);
	f->path = make_image();
	be = blk_open(f->path, &o);
	assert_non_null(be);
	assert_int_equal(blk_info(be)->engine, p->engine);
	f->vdev = virtio_blk_create(&f->vm, be, f->loop, p->nq);
	assert_non_null(f->vdev);
	f->m = virtio_mmio_create(&f->vm, BASE, GSI, f->vdev, f->loop);
	assert_non_null(f->m);
	f->heap = HEAP_GPA;
	reset(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	if (!f)
		return 0;
	vd_vm_destroy(&f->vm, f->loop);
	unlink(f->path);
	free(f->path);
	free(f);
	return 0;
}

static struct fix *get(void **state)
{
	if (!*state)
		skip();
	return *state;
}

/* ---- tests ---- */

static void test_config(void **state)
{
	struct fix *f = get(state);
	uint64_t feat = offered(f);

	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_DEVICE_ID),
			 VIRTIO_ID_BLOCK);
	assert_true(feat & F_BLK(SEG_MAX));
	assert_true(feat & F_BLK(BLK_SIZE));
	assert_true(feat & F_BLK(FLUSH));
	assert_true(feat & F_BLK(WRITE_ZEROES));
	assert_false(feat & F_BLK(RO));
	assert_false(feat & F_BLK(MQ));
	assert_false(feat & F_BLK(SIZE_MAX));
	assert_int_equal(cfg(f, 0, 8), IMG_SECTORS);
	/* Drivers read the 64-bit capacity in halves too. */
	assert_int_equal(cfg(f, 0, 4), IMG_SECTORS);
	assert_int_equal(cfg(f, 4, 4), 0);
	assert_int_equal(cfg(f, 12, 4), QSIZE - 2);
	assert_int_equal(cfg(f, 20, 4), 512);
	assert_int_equal(cfg(f, 34, 2), 1);
	assert_int_equal(cfg(f, 48, 4), 1u << 16);
	assert_int_equal(cfg(f, 52, 4), 1);
	if (feat & F_BLK(DISCARD)) {
		assert_true(cfg(f, 36, 4) > 0);
		assert_int_equal(cfg(f, 40, 4), 1);
		assert_int_equal(cfg(f, 44, 4), 1);
		assert_int_equal(cfg(f, 56, 1), 1);
	}
	/* Past the end reads 0. */
	assert_int_equal(cfg(f, 60, 4), 0);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_CONFIG_GENERATION),
			 0);
}

struct counted {
	unsigned int n;
	uint64_t read_ops, read_bytes, write_ops, write_bytes;
};

static void count(void *arg, const char *name, uint64_t value)
{
	struct counted *c = arg;

	c->n++;
	if (!strcmp(name, "read_ops"))
		c->read_ops = value;
	else if (!strcmp(name, "read_bytes"))
		c->read_bytes = value;
	else if (!strcmp(name, "write_ops"))
		c->write_ops = value;
	else if (!strcmp(name, "write_bytes"))
		c->write_bytes = value;
	else
		fail_msg("unexpected counter %s", name);
}

static void test_write_flush_read(void **state)
{
	struct fix *f = get(state);
	uint8_t file[4096];
	uint32_t used;
	uint64_t a, b, st;

	bring_up(f);
	assert_int_equal(write_pattern(f, 0, 8, 8192, 2), VIRTIO_BLK_S_OK);
	assert_true(vd_wait_edges(GSI, 1));

	/* The data over two descriptors, as a scatter list does it. */
	a = galloc(f, 1024);
	b = galloc(f, 3072);
	fill(vd_hva(&f->vm, a, 1024), 1024, 100 * 512, 3);
	fill(vd_hva(&f->vm, b, 3072), 3072, 100 * 512 + 1024, 3);
	st = put_status(f);
	assert_int_equal(
		run(f, 0,
		    (struct seg[]){ RD(put_hdr(f, VIRTIO_BLK_T_OUT, 100), 16),
				    RD(a, 1024), RD(b, 3072), WR(st, 1) },
		    4, st, &used),
		VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);

	assert_int_equal(req(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);

	expect_pattern(read_back(f, 0, 8, 8192), 8192, 8 * 512, 2);
	expect_pattern(read_back(f, 0, 100, 4096), 4096, 100 * 512, 3);
	/* Untouched neighbours. */
	expect_pattern(read_back(f, 0, 7, 512), 512, 7 * 512, 1);
	expect_pattern(read_back(f, 0, 24, 512), 512, 24 * 512, 1);
	/* The last sector. */
	assert_int_equal(write_pattern(f, 0, IMG_SECTORS - 1, 512, 4),
			 VIRTIO_BLK_S_OK);
	expect_pattern(read_back(f, 0, IMG_SECTORS - 1, 512), 512,
		       (IMG_SECTORS - 1) * 512ull, 4);

	/* And it reached the file. */
	file_read(f, file, 4096, 100 * 512);
	expect_pattern(file, 4096, 100 * 512, 3);

	/* IN scattered over three writable pieces, status in the last. */
	a = galloc(f, 512);
	b = galloc(f, 1024);
	st = galloc(f, 513);
	*(uint8_t *)vd_hva(&f->vm, st + 512, 1) = NONE;
	assert_int_equal(
		run(f, 0,
		    (struct seg[]){ RD(put_hdr(f, VIRTIO_BLK_T_IN, 8), 16),
				    WR(a, 512), WR(b, 1024), WR(st, 513) },
		    4, st + 512, &used),
		VIRTIO_BLK_S_OK);
	assert_int_equal(used, 2049);
	expect_pattern(vd_hva(&f->vm, a, 512), 512, 8 * 512, 2);
	expect_pattern(vd_hva(&f->vm, b, 1024), 1024, 9 * 512, 2);
	expect_pattern(vd_hva(&f->vm, st, 512), 512, 11 * 512, 2);

	/* vm.counters: three writes of 12800 bytes, six reads of 15872. */
	{
		struct counted c = { 0 };

		virtio_dev_counters(f->vdev, count, &c);
		assert_int_equal(c.n, 4);
		assert_int_equal(c.read_ops, 6);
		assert_int_equal(c.read_bytes, 15872);
		assert_int_equal(c.write_ops, 3);
		assert_int_equal(c.write_bytes, 12800);
	}
}

static void test_get_id(void **state)
{
	struct fix *f = get(state);
	const char *serial = f->p->serial;
	size_t n = strlen(serial);
	uint64_t id = galloc(f, 32);
	uint8_t want[20] = { 0 };
	uint32_t used;

	bring_up(f);
	memcpy(want, serial, n);
	memset(vd_hva(&f->vm, id, 32), 0xee, 32);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_GET_ID, 0, id, 20, true, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, 21);
	assert_memory_equal(vd_hva(&f->vm, id, 20), want, 20);
	assert_int_equal(*(uint8_t *)vd_hva(&f->vm, id + 20, 1), 0xee);

	/* A short buffer gets what fits. */
	memset(vd_hva(&f->vm, id, 32), 0xee, 32);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_GET_ID, 0, id, 8, true, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, 9);
	assert_memory_equal(vd_hva(&f->vm, id, 8), want, 8);
	assert_int_equal(*(uint8_t *)vd_hva(&f->vm, id + 8, 1), 0xee);
}

static void test_discard(void **state)
{
	struct fix *f = get(state);
	uint64_t seg;

	if (!(offered(f) & F_BLK(DISCARD)))
		skip();
	bring_up(f);
	assert_int_equal(write_pattern(f, 0, 64, 8192, 5), VIRTIO_BLK_S_OK);
	seg = galloc(f, 16);
	vd_wr64(&f->vm, seg, 66);
	vd_wr32(&f->vm, seg + 8, 8);
	vd_wr32(&f->vm, seg + 12, 0);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_DISCARD, 0, seg, 16, false,
			     NULL),
			 VIRTIO_BLK_S_OK);
	expect_pattern(read_back(f, 0, 64, 1024), 1024, 64 * 512, 5);
	expect_zero(read_back(f, 0, 66, 4096), 4096);
	expect_pattern(read_back(f, 0, 74, 2048), 2048, 74 * 512, 5);

	/* UNMAP is a write-zeroes flag only. */
	vd_wr32(&f->vm, seg + 12, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_DISCARD, 0, seg, 16, false,
			     NULL),
			 VIRTIO_BLK_S_UNSUPP);
}

static void test_write_zeroes(void **state)
{
	struct fix *f = get(state);
	uint64_t seg, two;

	bring_up(f);
	assert_int_equal(write_pattern(f, 0, 200, 16384, 6), VIRTIO_BLK_S_OK);
	seg = galloc(f, 16);
	vd_wr64(&f->vm, seg, 202);
	vd_wr32(&f->vm, seg + 8, 4);
	vd_wr32(&f->vm, seg + 12, 0);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false,
			     NULL),
			 VIRTIO_BLK_S_OK);
	vd_wr64(&f->vm, seg, 220);
	vd_wr32(&f->vm, seg + 8, 8);
	vd_wr32(&f->vm, seg + 12, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false,
			     NULL),
			 VIRTIO_BLK_S_OK);
	expect_pattern(read_back(f, 0, 200, 1024), 1024, 200 * 512, 6);
	expect_zero(read_back(f, 0, 202, 2048), 2048);
	expect_pattern(read_back(f, 0, 206, 7168), 7168, 206 * 512, 6);
	expect_zero(read_back(f, 0, 220, 4096), 4096);
	expect_pattern(read_back(f, 0, 228, 2048), 2048, 228 * 512, 6);

	/* Unknown flags. */
	vd_wr32(&f->vm, seg + 12, 2);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false,
			     NULL),
			 VIRTIO_BLK_S_UNSUPP);
	/* Two segments: more than max_write_zeroes_seg. */
	two = galloc(f, 32);
	memcpy(vd_hva(&f->vm, two, 16), vd_hva(&f->vm, seg, 16), 16);
	memcpy(vd_hva(&f->vm, two + 16, 16), vd_hva(&f->vm, seg, 16), 16);
	vd_wr32(&f->vm, two + 12, 0);
	vd_wr32(&f->vm, two + 28, 0);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, two, 32, false,
			     NULL),
			 VIRTIO_BLK_S_UNSUPP);
	/* Half a segment, none at all. */
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, two, 8, false,
			     NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, 0, 0, false,
			     NULL),
			 VIRTIO_BLK_S_IOERR);
	/* Past the end, and more than max_write_zeroes_sectors. */
	vd_wr64(&f->vm, seg, IMG_SECTORS - 2);
	vd_wr32(&f->vm, seg + 8, 4);
	vd_wr32(&f->vm, seg + 12, 0);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false,
			     NULL),
			 VIRTIO_BLK_S_IOERR);
	vd_wr64(&f->vm, seg, 0);
	vd_wr32(&f->vm, seg + 8, (1u << 16) + 1);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false,
			     NULL),
			 VIRTIO_BLK_S_IOERR);
	/* None of that touched the data. */
	expect_pattern(read_back(f, 0, 0, 4096), 4096, 0, 1);
	expect_pattern(read_back(f, 0, IMG_SECTORS - 2, 1024), 1024,
		       (IMG_SECTORS - 2) * 512ull, 1);
}

static void test_readonly(void **state)
{
	struct fix *f = get(state);
	uint8_t *before = malloc(IMG_SIZE), *after = malloc(IMG_SIZE);
	const char *serial = f->p->serial;
	uint64_t feat = offered(f), seg, id;
	uint32_t used;

	assert_non_null(before);
	assert_non_null(after);
	assert_true(feat & F_BLK(RO));
	assert_false(feat & F_BLK(DISCARD));
	assert_false(feat & F_BLK(WRITE_ZEROES));
	file_read(f, before, IMG_SIZE, 0);
	/* A driver that ignores RO is still refused. */
	bring_up_with(f, blk_features & ~F_BLK(RO), 1);
	assert_int_equal(write_pattern(f, 0, 0, 4096, 7), VIRTIO_BLK_S_IOERR);
	seg = galloc(f, 16);
	vd_wr64(&f->vm, seg, 0);
	vd_wr32(&f->vm, seg + 8, 8);
	vd_wr32(&f->vm, seg + 12, 0);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_DISCARD, 0, seg, 16, false,
			     NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, false,
			     NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL),
			 VIRTIO_BLK_S_OK);
	expect_pattern(read_back(f, 0, 0, 4096), 4096, 0, 1);
	file_read(f, after, IMG_SIZE, 0);
	assert_memory_equal(before, after, IMG_SIZE);
	free(before);
	free(after);

	/* A 20-byte serial has no terminator. */
	id = galloc(f, 32);
	memset(vd_hva(&f->vm, id, 32), 0xee, 32);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_GET_ID, 0, id, 32, true, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, 21);
	assert_memory_equal(vd_hva(&f->vm, id, 20), serial, 20);
	assert_int_equal(*(uint8_t *)vd_hva(&f->vm, id + 20, 1), 0xee);
}

/*
 * vm.resize-disk: the image grows, the capacity and generation the driver
 * reads change, a configuration interrupt tells it, and the sectors past
 * the old end take requests; smaller or ragged sizes are refused.
 */
static void test_resize(void **state)
{
	struct fix *f = get(state);
	struct stat st;

	bring_up(f);
	assert_int_equal(write_pattern(f, 0, IMG_SECTORS, 4096, 3),
			 VIRTIO_BLK_S_IOERR);
	vd_irq_clear();
	assert_int_equal(virtio_blk_resize(f->vdev, 2 * IMG_SIZE), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 2 * IMG_SIZE);
	assert_int_equal(cfg(f, 0, 8), 2 * IMG_SECTORS);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_CONFIG_GENERATION),
			 1);
	assert_true(vd_wait_edges(GSI, 1));
	assert_true(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(write_pattern(f, 0, IMG_SECTORS, 4096, 3),
			 VIRTIO_BLK_S_OK);
	expect_pattern(read_back(f, 0, IMG_SECTORS, 4096), 4096,
		       IMG_SECTORS * 512, 3);
	/* The same size: nothing changes, nothing is announced. */
	assert_int_equal(virtio_blk_resize(f->vdev, 2 * IMG_SIZE), 0);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_CONFIG_GENERATION),
			 1);
	assert_int_equal(virtio_blk_resize(f->vdev, IMG_SIZE), -EINVAL);
	assert_int_equal(virtio_blk_resize(f->vdev, 2 * IMG_SIZE + 100),
			 -EINVAL);
	assert_int_equal(cfg(f, 0, 8), 2 * IMG_SECTORS);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 2 * IMG_SIZE);
}

static void test_resize_readonly(void **state)
{
	struct fix *f = get(state);

	assert_int_equal(virtio_blk_resize(f->vdev, 2 * IMG_SIZE), -EROFS);
	assert_int_equal(cfg(f, 0, 8), IMG_SECTORS);
}

static void test_bad_requests(void **state)
{
	struct fix *f = get(state);
	uint8_t *before = malloc(IMG_SIZE), *after = malloc(IMG_SIZE);
	uint64_t data = galloc(f, 4096), st;
	uint32_t used;

	assert_non_null(before);
	assert_non_null(after);
	file_read(f, before, IMG_SIZE, 0);
	bring_up(f);
	/* Out of range, including a sector count that would wrap. */
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_IN, IMG_SECTORS, data, 512,
			     true, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, data, 1024,
			     true, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(write_pattern(f, 0, IMG_SECTORS, 512, 8),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(write_pattern(f, 0, ~0ull, 512, 8),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(write_pattern(f, 0, ~0ull >> 9, 512, 8),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(write_pattern(f, 0, ~0ull >> 8, 4096, 8),
			 VIRTIO_BLK_S_IOERR);
	/* Not a multiple of 512. */
	assert_int_equal(write_pattern(f, 0, 0, 513, 8), VIRTIO_BLK_S_IOERR);
	assert_int_equal(write_pattern(f, 0, 0, 100, 8), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_IN, 0, data, 511, true, NULL),
			 VIRTIO_BLK_S_IOERR);
	/* Unknown types, including legacy SCSI and GET_LIFETIME. */
	assert_int_equal(req(f, 0, 99, 0, data, 512, true, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(req(f, 0, 2, 0, data, 512, true, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(req(f, 0, 10, 0, data, 512, true, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(req(f, 0, VIRTIO_BLK_T_OUT | VIRTIO_BLK_T_BARRIER, 0,
			     data, 512, false, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	/* A header too short: 12 bytes. */
	st = put_status(f);
	assert_int_equal(
		run(f, 0,
		    (struct seg[]){ RD(put_hdr(f, VIRTIO_BLK_T_IN, 0), 12),
				    WR(data, 512), WR(st, 1) },
		    3, st, &used),
		VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	/* Only a status byte. */
	st = put_status(f);
	assert_int_equal(run(f, 0, (struct seg[]){ WR(st, 1) }, 1, st, NULL),
			 VIRTIO_BLK_S_IOERR);
	/* The device is still fine and the file untouched. */
	assert_int_equal(status(f), S_ALL);
	expect_pattern(read_back(f, 0, 0, 4096), 4096, 0, 1);
	file_read(f, after, IMG_SIZE, 0);
	assert_memory_equal(before, after, IMG_SIZE);
	free(before);
	free(after);
}

static void test_split_header(void **state)
{
	struct fix *f = get(state);
	uint64_t h = galloc(f, 16), data = galloc(f, 2048), st;
	uint32_t used;

	bring_up(f);
	/* OUT with the header in three pieces (5 + 3 + 8 bytes). */
	vd_wr32(&f->vm, h, VIRTIO_BLK_T_OUT);
	vd_wr32(&f->vm, h + 4, 0);
	vd_wr64(&f->vm, h + 8, 300);
	fill(vd_hva(&f->vm, data, 2048), 2048, 300 * 512, 9);
	st = put_status(f);
	assert_int_equal(run(f, 0,
			     (struct seg[]){ RD(h, 5), RD(h + 5, 3),
					     RD(h + 8, 8), RD(data, 2048),
					     WR(st, 1) },
			     5, st, &used),
			 VIRTIO_BLK_S_OK);
	/* IN with header and data in one readable + one writable buffer. */
	vd_wr32(&f->vm, h, VIRTIO_BLK_T_IN);
	memset(vd_hva(&f->vm, data, 2048), 0, 2048);
	st = put_status(f);
	assert_int_equal(run(f, 0,
			     (struct seg[]){ RD(h, 10), RD(h + 10, 6),
					     WR(data, 2048), WR(st, 1) },
			     4, st, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(used, 2049);
	expect_pattern(vd_hva(&f->vm, data, 2048), 2048, 300 * 512, 9);
	/* Header and data sharing a descriptor: 16 + 512 readable. */
	data = galloc(f, 16 + 512);
	vd_wr32(&f->vm, data, VIRTIO_BLK_T_OUT);
	vd_wr32(&f->vm, data + 4, 0);
	vd_wr64(&f->vm, data + 8, 400);
	fill(vd_hva(&f->vm, data + 16, 512), 512, 400 * 512, 10);
	st = put_status(f);
	assert_int_equal(run(f, 0,
			     (struct seg[]){ RD(data, 16 + 512), WR(st, 1) }, 2,
			     st, NULL),
			 VIRTIO_BLK_S_OK);
	expect_pattern(read_back(f, 0, 400, 512), 512, 400 * 512, 10);
}

/* Ring-level violations: NEEDS_RESET, and a reset brings it back. */
static void expect_needs_reset_then_recover(struct fix *f)
{
	assert_true(vd_mmio_wait_status(&f->vm, BASE, S_NEEDS_RESET));
	assert_int_equal(used_idx(f, 0), 0);
	/* Further kicks are ignored. */
	kick(f, 0);
	usleep(10000);
	assert_int_equal(used_idx(f, 0), 0);

	bring_up(f);
	assert_int_equal(write_pattern(f, 0, 16, 4096, 11), VIRTIO_BLK_S_OK);
	expect_pattern(read_back(f, 0, 16, 4096), 4096, 16 * 512, 11);
}

static void test_no_status_byte(void **state)
{
	struct fix *f = get(state);
	uint64_t data = galloc(f, 512), st;
	uint16_t head;

	bring_up(f);
	/* Only readable buffers. */
	head = chain(f, 0,
		     (struct seg[]){ RD(put_hdr(f, VIRTIO_BLK_T_IN, 0), 16),
				     RD(data, 512) },
		     2);
	avail(f, 0, head);
	kick(f, 0);
	expect_needs_reset_then_recover(f);

	/* The status byte readable, after writable data: bad ordering. */
	bring_up(f);
	st = put_status(f);
	head = chain(f, 0,
		     (struct seg[]){ RD(put_hdr(f, VIRTIO_BLK_T_IN, 0), 16),
				     WR(data, 512), RD(st, 1) },
		     3);
	avail(f, 0, head);
	kick(f, 0);
	expect_needs_reset_then_recover(f);
	assert_int_equal(vd_rd8(&f->vm, st), NONE);
}

static void test_descriptor_loop(void **state)
{
	struct fix *f = get(state);
	uint64_t st = put_status(f);

	bring_up(f);
	desc(f, 0, 0, put_hdr(f, VIRTIO_BLK_T_IN, 0), 16, VIRTQ_DESC_F_NEXT, 1);
	desc(f, 0, 1, galloc(f, 512), 512, VIRTQ_DESC_F_NEXT, 0);
	avail(f, 0, 0);
	kick(f, 0);
	assert_true(vd_mmio_wait_status(&f->vm, BASE, S_NEEDS_RESET));
	/* The config change interrupt told the driver. */
	assert_true(vd_wait_edges(GSI, 1));
	assert_true(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(vd_rd8(&f->vm, st), NONE);
	expect_needs_reset_then_recover(f);
}

static void test_multiqueue(void **state)
{
	struct fix *f = get(state);

	assert_true(offered(f) & F_BLK(MQ));
	assert_int_equal(cfg(f, 34, 2), 2);
	bring_up(f);
	assert_int_equal(write_pattern(f, 1, 500, 4096, 12), VIRTIO_BLK_S_OK);
	expect_pattern(read_back(f, 1, 500, 4096), 4096, 500 * 512, 12);
	assert_int_equal(used_idx(f, 0), 0);
	/* Queue 0 sees queue 1's data. */
	expect_pattern(read_back(f, 0, 500, 4096), 4096, 500 * 512, 12);
	assert_int_equal(used_idx(f, 1), 2);
	/* A third queue does not exist. */
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}

/* Many requests in one kick: batched submission, out-of-order completion. */
static void test_many_in_flight(void **state)
{
	struct fix *f = get(state);
	enum { N = 64, LEN = 4096 };
	uint64_t data[N], st[N];
	uint16_t head[N];
	bool seen[QSIZE] = { false };

	bring_up(f);
	for (int i = 0; i < N; i++) {
		uint64_t sector = 600 + i * (LEN / 512);

		data[i] = galloc(f, LEN);
		fill(vd_hva(&f->vm, data[i], LEN), LEN, sector * 512, 13);
		st[i] = put_status(f);
		head[i] = chain(
			f, 0,
			(struct seg[]){
				RD(put_hdr(f, VIRTIO_BLK_T_OUT, sector), 16),
				RD(data[i], LEN), WR(st[i], 1) },
			3);
		avail(f, 0, head[i]);
	}
	kick(f, 0);
	assert_true(wait_used(f, 0, N));
	for (int i = 0; i < N; i++) {
		uint32_t id = used_id(f, 0, i);

		assert_true(id < QSIZE);
		assert_false(seen[id]);
		seen[id] = true;
		assert_int_equal(used_len(f, 0, i), 1);
		assert_int_equal(vd_rd8(&f->vm, st[i]), VIRTIO_BLK_S_OK);
	}
	for (int i = 0; i < N; i++)
		assert_true(seen[head[i]]);

	/* Now read them all back at once. */
	for (int i = 0; i < N; i++) {
		uint64_t sector = 600 + i * (LEN / 512);

		memset(vd_hva(&f->vm, data[i], LEN), 0, LEN);
		*(uint8_t *)vd_hva(&f->vm, st[i], 1) = NONE;
		head[i] = chain(
			f, 0,
			(struct seg[]){
				RD(put_hdr(f, VIRTIO_BLK_T_IN, sector), 16),
				WR(data[i], LEN), WR(st[i], 1) },
			3);
		avail(f, 0, head[i]);
	}
	kick(f, 0);
	assert_true(wait_used(f, 0, 2 * N));
	for (int i = 0; i < N; i++) {
		assert_int_equal(vd_rd8(&f->vm, st[i]), VIRTIO_BLK_S_OK);
		expect_pattern(vd_hva(&f->vm, data[i], LEN), LEN,
			       (600 + i * (LEN / 512)) * 512ull, 13);
	}
}

/*
 * Runs the kick handler on this thread under the device lock, so that the
 * requests it submits cannot complete before we are done. Buffers are
 * posted under the lock too: the kick DRIVER_OK sent may still be on its
 * way. No assert with the lock held: the teardown would deadlock.
 */
static void notify_locked(struct fix *f, unsigned int q)
{
	f->vdev->ops->queue_notify(f->vdev, q);
}

/* Post @n reads of sector i (one descriptor chain each) without a kick. */
static void post_reads(struct fix *f, unsigned int q, unsigned int n,
		       uint64_t *st)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t data = galloc(f, 512);

		st[i] = put_status(f);
		avail(f, q,
		      chain(f, q,
			    (struct seg[]){
				    RD(put_hdr(f, VIRTIO_BLK_T_IN, i), 16),
				    WR(data, 512), WR(st[i], 1) },
			    3));
	}
}

static bool status_is_zero(struct fix *f, uintptr_t unused)
{
	return status(f) == 0;
}

static void test_reset_in_flight(void **state)
{
	struct fix *f = get(state);
	enum { N = 32 };
	uint64_t st[N];
	uint32_t inflight;
	uint8_t resetting;

	bring_up(f);
	virtio_dev_lock(f->vdev);
	post_reads(f, 0, N, st);
	notify_locked(f, 0);
	inflight = f->vdev->vqs[0].inflight;
	/* What a status write of 0 does; the reads are still in flight. */
	virtio_dev_reset(f->vdev);
	resetting = virtio_dev_status(f->vdev);
	virtio_dev_unlock(f->vdev);
	assert_int_equal(inflight, N);
	/* The reset completes on the I/O thread once they are done. */
	assert_int_equal(resetting, S_ALL);
	assert_true(vd_wait_until(status_is_zero, f, 0));
	/* Nothing of the old generation reaches the rings or buffers. */
	usleep(50000);
	assert_int_equal(used_idx(f, 0), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(vd_rd8(&f->vm, st[i]), NONE);

	bring_up(f);
	assert_int_equal(write_pattern(f, 0, 40, 1024, 14), VIRTIO_BLK_S_OK);
	expect_pattern(read_back(f, 0, 40, 1024), 1024, 40 * 512, 14);
	assert_int_equal(used_idx(f, 0), 2);
	/* With nothing in flight the reset is done at once. */
	virtio_dev_lock(f->vdev);
	virtio_dev_reset(f->vdev);
	resetting = virtio_dev_status(f->vdev);
	virtio_dev_unlock(f->vdev);
	assert_int_equal(resetting, 0);
}

/* Queue setup on the device's own calls, with the lock held. */
static bool setup_queue_locked(struct fix *f, unsigned int q, uint64_t ring)
{
	f->ring[q] = ring;
	f->avail_idx[q] = 0;
	f->next_desc[q] = 0;
	memset(vd_hva(&f->vm, ring, RING_STRIDE), 0, RING_STRIDE);
	virtio_dev_queue_set_size(f->vdev, q, QSIZE);
	virtio_dev_queue_set_addr(f->vdev, q, VIRTIO_QUEUE_DESC, ring);
	virtio_dev_queue_set_addr(f->vdev, q, VIRTIO_QUEUE_DRIVER,
				  ring + AVAIL_OFF);
	virtio_dev_queue_set_addr(f->vdev, q, VIRTIO_QUEUE_DEVICE,
				  ring + USED_OFF);
	virtio_dev_queue_enable(f->vdev, q);
	return f->vdev->vqs[q].ready;
}

/*
 * virtio-mmio QueueReady = 0 resets one ring under requests in flight.
 * Their completions must not reach the new ring, and the slots they hold
 * must not wedge it: with 200 old requests and 100 new ones the device
 * runs out of slots, then resumes as the old ones drain.
 */
static void test_queue_disable_in_flight(void **state)
{
	struct fix *f = get(state);
	enum { OLD = 200, NEW = 100 };
	uint64_t old_st, st[NEW];
	uint32_t inflight[2];
	uint16_t head;
	bool ready;

	bring_up(f);
	virtio_dev_lock(f->vdev);
	/* One FLUSH chain made available 200 times. */
	old_st = put_status(f);
	head = chain(f, 0,
		     (struct seg[]){ RD(put_hdr(f, VIRTIO_BLK_T_FLUSH, 0), 16),
				     WR(old_st, 1) },
		     2);
	for (int i = 0; i < OLD; i++)
		avail(f, 0, head);
	/* Two notifications: each pops at most half a ring. */
	notify_locked(f, 0);
	notify_locked(f, 0);
	inflight[0] = f->vdev->vqs[0].inflight;
	virtio_dev_queue_disable(f->vdev, 0);
	ready = setup_queue_locked(f, 0, RING_GPA + 2 * RING_STRIDE);
	for (int i = 0; i < NEW; i++) {
		st[i] = put_status(f);
		avail(f, 0,
		      chain(f, 0,
			    (struct seg[]){
				    RD(put_hdr(f, VIRTIO_BLK_T_FLUSH, 0), 16),
				    WR(st[i], 1) },
			    2));
	}
	notify_locked(f, 0);
	inflight[1] = f->vdev->vqs[0].inflight;
	virtio_dev_unlock(f->vdev);
	assert_int_equal(inflight[0], OLD);
	assert_true(ready);
	/* 256 slots: 200 old, 56 new. */
	assert_int_equal(inflight[1], QSIZE - OLD);

	assert_true(wait_used(f, 0, NEW));
	usleep(20000);
	assert_int_equal(used_idx(f, 0), NEW);
	for (int i = 0; i < NEW; i++)
		assert_int_equal(vd_rd8(&f->vm, st[i]), VIRTIO_BLK_S_OK);
	assert_int_equal(vd_rd8(&f->vm, old_st), NONE);
	/* The old ring saw nothing either. */
	assert_int_equal(vd_rd16(&f->vm, RING_GPA + USED_OFF + 2), 0);
	assert_int_equal(status(f), S_ALL);

	/* And kicks work again. */
	assert_int_equal(write_pattern(f, 0, 50, 512, 15), VIRTIO_BLK_S_OK);
	expect_pattern(read_back(f, 0, 50, 512), 512, 50 * 512, 15);
}

/*
 * Issue 12: a notification pops at most half a ring (128 requests); a kick
 * the device sends itself brings the rest, so one busy ring cannot hold
 * the I/O thread. Under the lock nothing completes, so what the handler
 * popped is what the ring holds.
 */
static void test_budget(void **state)
{
	struct fix *f = get(state);
	enum { N = 200 };
	uint64_t st;
	uint32_t popped;
	uint16_t head;

	bring_up(f);
	virtio_dev_lock(f->vdev);
	/* One FLUSH chain made available 200 times. */
	st = put_status(f);
	head = chain(f, 0,
		     (struct seg[]){ RD(put_hdr(f, VIRTIO_BLK_T_FLUSH, 0), 16),
				     WR(st, 1) },
		     2);
	for (int i = 0; i < N; i++)
		avail(f, 0, head);
	notify_locked(f, 0);
	popped = f->vdev->vqs[0].inflight + used_idx(f, 0);
	virtio_dev_unlock(f->vdev);
	assert_int_equal(popped, 128);
	assert_true(wait_used(f, 0, N));
	assert_int_equal(vd_rd8(&f->vm, st), VIRTIO_BLK_S_OK);
}

static void rate_limited_cb(void *arg, const char *name, uint64_t v)
{
	if (!strcmp(name, "rate_limited"))
		*(uint64_t *)arg = v;
}

/*
 * ops_size=5, ops_refill_time=100 (50 requests a second): 20 reads at
 * once go 5 at a time, taking 300 ms at least, and all complete; the
 * disk's counters say how often one waited. A reset while requests wait
 * loses nothing of the next driver's.
 */
static void test_rate_limit(void **state)
{
	struct fix *f = get(state);
	struct rate_limit_config c = { .ops = { .size = 5, .refill_ms = 100 } };
	enum { N = 20 };
	uint64_t st[N], t0, ms, limited = 0;

	virtio_blk_set_rate_limit(f->vdev, &c);
	bring_up(f);
	t0 = monotonic_ns();
	post_reads(f, 0, N, st);
	kick(f, 0);
	assert_true(wait_used(f, 0, N));
	ms = (monotonic_ns() - t0) / 1000000;
	print_message("20 requests at 50 a second: %llu ms\n",
		      (unsigned long long)ms);
	assert_true(ms >= 290);
	for (int i = 0; i < N; i++)
		assert_int_equal(vd_rd8(&f->vm, st[i]), VIRTIO_BLK_S_OK);
	virtio_dev_lock(f->vdev);
	f->vdev->ops->counters(f->vdev, rate_limited_cb, &limited);
	virtio_dev_unlock(f->vdev);
	assert_true(limited >= 3);

	/* Waiting requests, then a reset: the next driver's still run. */
	post_reads(f, 0, N, st);
	kick(f, 0);
	usleep(20 * 1000);
	bring_up(f);
	post_reads(f, 0, 3, st);
	kick(f, 0);
	assert_true(wait_used(f, 0, 3));
	for (int i = 0; i < 3; i++)
		assert_int_equal(vd_rd8(&f->vm, st[i]), VIRTIO_BLK_S_OK);
}

static bool queue0_not_ready(struct fix *f, uintptr_t unused)
{
	return vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY, 4) == 0;
}

/*
 * Issue 12: QueueReady = 0 with reads in flight. The driver takes its
 * buffers back once QueueReady reads 0, so it reads 1 until the last read
 * of that queue is done, like a reset's status.
 */
static void test_queue_disable_waits(void **state)
{
	struct fix *f = get(state);
	enum { N = 32 };
	uint64_t st[N];
	bool ready_meanwhile, ready_after;
	uint32_t inflight;

	bring_up(f);
	virtio_dev_lock(f->vdev);
	post_reads(f, 0, N, st);
	notify_locked(f, 0);
	inflight = f->vdev->vqs[0].inflight;
	virtio_dev_queue_disable(f->vdev, 0);
	ready_meanwhile = virtio_dev_queue_ready(f->vdev, 0);
	ready_after = f->vdev->vqs[0].ready;
	virtio_dev_unlock(f->vdev);
	assert_int_equal(inflight, N);
	assert_true(ready_meanwhile);
	assert_false(ready_after);
	assert_true(vd_wait_until(queue0_not_ready, f, 0));
	/* Nothing of the old ring's generation completes into it. */
	usleep(20000);
	assert_int_equal(used_idx(f, 0), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(vd_rd8(&f->vm, st[i]), NONE);
	assert_int_equal(status(f), S_ALL);

	/* With nothing in flight it reads 0 at once. */
	virtio_dev_lock(f->vdev);
	ready_after = setup_queue_locked(f, 0, RING_GPA + 2 * RING_STRIDE);
	virtio_dev_queue_disable(f->vdev, 0);
	ready_meanwhile = virtio_dev_queue_ready(f->vdev, 0);
	virtio_dev_unlock(f->vdev);
	assert_true(ready_after);
	assert_false(ready_meanwhile);
}

/* The device goes away with requests in flight. */
/*
 * The device is destroyed on the I/O thread, the one its completions run
 * on, so none of the requests in the back-end can complete first.
 */
struct destroyer {
	struct fix *f;
	int efd;
	sem_t entered, go, done;
	uint16_t inflight;
};

static void destroy_cb(void *opaque, uint32_t events)
{
	struct destroyer *x = opaque;
	uint64_t v;

	assert_int_equal(read(x->efd, &v, sizeof(v)), sizeof(v));
	sem_post(&x->entered);
	sem_wait(&x->go);
	virtio_dev_lock(x->f->vdev);
	x->inflight = x->f->vdev->vqs[0].inflight;
	virtio_dev_unlock(x->f->vdev);
	virtio_mmio_destroy(x->f->m);
	sem_post(&x->done);
}

static void test_destroy_in_flight(void **state)
{
	struct fix *f = get(state);
	struct destroyer x = { .f = f };
	struct blk_options o = { .engine = f->p->engine };
	struct blk_backend *be;
	uint64_t st[16], one = 1;

	bring_up(f);
	sem_init(&x.entered, 0, 0);
	sem_init(&x.go, 0, 0);
	sem_init(&x.done, 0, 0);
	x.efd = eventfd(0, EFD_CLOEXEC);
	assert_true(x.efd >= 0);
	assert_int_equal(evloop_add(f->loop, x.efd, EPOLLIN, destroy_cb, &x),
			 0);
	assert_int_equal(write(x.efd, &one, sizeof(one)), sizeof(one));
	sem_wait(&x.entered);
	/* The I/O thread waits in destroy_cb: the reads stay in the back-end. */
	virtio_dev_lock(f->vdev);
	post_reads(f, 0, 16, st);
	notify_locked(f, 0);
	virtio_dev_unlock(f->vdev);
	sem_post(&x.go);
	sem_wait(&x.done);
	evloop_del(f->loop, x.efd);
	close(x.efd);

	assert_int_equal(x.inflight, 16);
	/* Their completions touched nothing of the guest's, then or since. */
	usleep(20000);
	assert_int_equal(used_idx(f, 0), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(vd_rd8(&f->vm, st[i]), NONE);
	/* The window is gone, and so is the image's lock: it opens again. */
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_MAGIC_VALUE),
			 0xffffffff);
	be = blk_open(f->path, &o);
	assert_non_null(be);
	blk_close(be);
}

/* Packed ring: ring slots per chain (ndescs) must balance too. */
/* used_reached() without a queue: at least @arg (ring-wrap aware). */
static bool used_past(struct fix *f, uintptr_t arg)
{
	return (int16_t)(used_idx(f, 0) - (uint16_t)arg) >= 0;
}

/*
 * A driver that kicks only when the device asks for it (used->flags, or
 * avail_event with EVENT_IDX, as Linux does) and keeps 8 reads in flight,
 * posting each as soon as one completes: every request is served, however
 * the device times its notification suppression.
 */
static void kick_when_asked(struct fix *f, bool event_idx)
{
	enum { QD = 8, ROUNDS = 3000 };
	const uint64_t avail_event = f->ring[0] + USED_OFF + 4 + 8 * QSIZE;
	uint64_t hdr[QD], data[QD], st[QD];
	uint16_t done = 0, posted = 0;

	bring_up_with(f, blk_features | (event_idx ? F_EVENT_IDX : 0), 1);
	for (int i = 0; i < QD; i++) {
		hdr[i] = put_hdr(f, VIRTIO_BLK_T_IN, i);
		data[i] = galloc(f, 512);
		st[i] = put_status(f);
	}
	while (done != ROUNDS) {
		while ((uint16_t)(posted - done) < QD && posted != ROUNDS) {
			unsigned int i = posted % QD;
			uint16_t old = f->avail_idx[0];
			bool want;

			avail(f, 0,
			      chain(f, 0,
				    (struct seg[]){ RD(hdr[i], 16),
						    WR(data[i], 512),
						    WR(st[i], 1) },
				    3));
			posted++;
			/* The driver's full barrier before reading the flags. */
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (event_idx) {
				uint16_t ev = vd_rd16(&f->vm, avail_event);

				want = (uint16_t)(f->avail_idx[0] - ev - 1) <
				       (uint16_t)(f->avail_idx[0] - old);
			} else {
				want = !(
					vd_rd16(&f->vm, f->ring[0] + USED_OFF) &
					VIRTQ_USED_F_NO_NOTIFY);
			}
			if (want)
				kick(f, 0);
		}
		if (!vd_wait_until(used_past, f, (uint16_t)(done + 1)))
			fail_msg("stalled with %u of %u requests served", done,
				 ROUNDS);
		done = used_idx(f, 0);
		if ((uint16_t)(posted - done) > QD)
			fail_msg("more served (%u) than posted (%u)", done,
				 posted);
	}
}

static void test_kick_when_asked(void **state)
{
	kick_when_asked(get(state), false);
}

static void test_kick_when_asked_event_idx(void **state)
{
	kick_when_asked(get(state), true);
}

/* Whether a driver posting one more buffer now would kick. */
static bool kicks_wanted(struct fix *f, uintptr_t event_idx)
{
	const uint64_t used = f->ring[0] + USED_OFF;

	if (event_idx)
		return vd_rd16(&f->vm, used + 4 + 8 * QSIZE) == f->avail_idx[0];
	return !(vd_rd16(&f->vm, used) & VIRTQ_USED_F_NO_NOTIFY);
}

/*
 * With BLK_QUIET_DEPTH (8) or more requests in flight the device leaves
 * kicks off, and what the driver posts meanwhile, without a kick, is taken
 * when they complete. Once nothing is in flight kicks are wanted again.
 * The device lock holds the first batch in flight.
 */
static void quiet_at_depth(struct fix *f, bool event_idx)
{
	enum { DEEP = 16, MORE = 4 };
	const uint64_t flags_gpa = f->ring[0] + USED_OFF;
	const uint64_t avail_event = f->ring[0] + USED_OFF + 4 + 8 * QSIZE;
	uint64_t st[DEEP + MORE];
	uint16_t flags, ev;

	bring_up_with(f, blk_features | (event_idx ? F_EVENT_IDX : 0), 1);
	virtio_dev_lock(f->vdev);
	post_reads(f, 0, DEEP, st);
	notify_locked(f, 0);
	/* What a driver reads after posting more (Linux: virtqueue_kick_prepare). */
	post_reads(f, 0, MORE, st + DEEP);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	flags = vd_rd16(&f->vm, flags_gpa);
	ev = vd_rd16(&f->vm, avail_event);
	virtio_dev_unlock(f->vdev);

	if (event_idx)
		/* Kick wanted if avail moved past avail_event: it has not. */
		assert_false((uint16_t)(DEEP + MORE - ev - 1) < (uint16_t)MORE);
	else
		assert_true(flags & VIRTQ_USED_F_NO_NOTIFY);
	/* No kick: the completions of the first batch bring the rest in. */
	assert_true(wait_used(f, 0, DEEP + MORE));
	for (int i = 0; i < DEEP + MORE; i++)
		assert_int_equal(vd_rd8(&f->vm, st[i]), VIRTIO_BLK_S_OK);
	/* Nothing in flight: the next request must be kicked for. */
	assert_true(vd_wait_until(kicks_wanted, f, event_idx));
}

static void test_quiet_at_depth(void **state)
{
	quiet_at_depth(get(state), false);
}

static void test_quiet_at_depth_event_idx(void **state)
{
	quiet_at_depth(get(state), true);
}

/*
 * --disk poll=: after a pass the I/O thread watches the ring for a while
 * with kicks off and takes what the driver posts meanwhile, unkicked. The
 * window opens as kicks come close together; with nothing to take, it
 * closes and kicks are wanted again. A driver that kicks only when asked
 * (as Linux does) must see every request served either way.
 */
static void test_poll(void **state)
{
	struct fix *f = get(state);
	unsigned int unkicked = 0, i;
	uint64_t polled, st;

	stats_on = true;
	polled = stats_counters[STATS_VIRTIO_POLLED];
	virtio_blk_set_poll(f->vdev, 200 * 1000 * 1000ull);
	bring_up_with(f, blk_features, 1);
	for (i = 0; i < 400 && unkicked < 3; i++) {
		post_reads(f, 0, 1, &st);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (kicks_wanted(f, 0))
			kick(f, 0);
		else
			unkicked++;
		assert_true(wait_used(f, 0, f->avail_idx[0]));
		assert_int_equal(vd_rd8(&f->vm, st), VIRTIO_BLK_S_OK);
	}
	if (unkicked < 3)
		fail_msg("kicks always wanted in %u requests: no poll window",
			 i);
	assert_true(stats_counters[STATS_VIRTIO_POLLED] > polled);
	stats_on = false;
	/* Idle: the window closes, and the next request needs a kick. */
	assert_true(vd_wait_until(kicks_wanted, f, 0));
}

/* Whether posting what came after avail index @old wants a kick. */
static bool event_kick_wanted(struct fix *f, uint16_t old)
{
	uint16_t ev = vd_rd16(&f->vm, f->ring[0] + USED_OFF + 4 + 8 * QSIZE);

	return (uint16_t)(f->avail_idx[0] - ev - 1) <
	       (uint16_t)(f->avail_idx[0] - old);
}

/* The driver takes back everything used so far (Linux's used_event). */
static void consume_used(struct fix *f)
{
	vd_wr16(&f->vm, f->ring[0] + AVAIL_OFF + 4 + 2 * QSIZE, used_idx(f, 0));
}

static bool batched_past(struct fix *f, uintptr_t n)
{
	return __atomic_load_n(&stats_counters[STATS_VIRTIO_BATCHED],
			       __ATOMIC_RELAXED) > n;
}

/*
 * --disk batch=: a kick with 8 or more requests outstanding by the
 * driver's used_event is held while the driver goes on posting, its kicks
 * off meanwhile, and what it posted is all served at the look that finds
 * nothing new. A shallow queue is served at once and its kick not held.
 * The first look comes after a quarter of the bound: 100 ms here.
 */
static void test_batch(void **state)
{
	enum { SHALLOW = 2, DEEP = 12, MORE = 4 };
	struct fix *f = get(state);
	uint64_t st[SHALLOW + DEEP + MORE], batched;
	unsigned int unkicked = 0;

	stats_on = true;
	batched = stats_counters[STATS_VIRTIO_BATCHED];
	virtio_dev_set_batch(f->vdev, 400 * 1000 * 1000ull);
	bring_up_with(f, blk_features | F_EVENT_IDX, 1);

	post_reads(f, 0, SHALLOW, st);
	kick(f, 0);
	assert_true(wait_used(f, 0, SHALLOW));
	assert_int_equal(stats_counters[STATS_VIRTIO_BATCHED], batched);
	consume_used(f);

	post_reads(f, 0, DEEP, st + SHALLOW);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	assert_true(event_kick_wanted(f, SHALLOW));
	kick(f, 0);
	assert_true(vd_wait_until(batched_past, f, batched));
	for (int i = 0; i < MORE; i++) {
		post_reads(f, 0, 1, st + SHALLOW + DEEP + i);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (event_kick_wanted(f, f->avail_idx[0] - 1))
			kick(f, 0);
		else
			unkicked++;
	}
	assert_true(wait_used(f, 0, SHALLOW + DEEP + MORE));
	for (int i = 0; i < SHALLOW + DEEP + MORE; i++)
		assert_int_equal(vd_rd8(&f->vm, st[i]), VIRTIO_BLK_S_OK);
	/* Posted while the kick was held: no kick wanted for them. */
	assert_int_equal(unkicked, MORE);
	stats_on = false;
	/* Served: the next request needs a kick again. */
	assert_true(vd_wait_until(kicks_wanted, f, 1));
}

/* The device goes away with a kick held: its look must not run after. */
static void test_batch_teardown(void **state)
{
	struct fix *f = get(state);
	uint64_t st[12], batched;

	stats_on = true;
	batched = stats_counters[STATS_VIRTIO_BATCHED];
	virtio_dev_set_batch(f->vdev, 400 * 1000 * 1000ull);
	bring_up_with(f, blk_features | F_EVENT_IDX, 1);
	post_reads(f, 0, 12, st);
	kick(f, 0);
	assert_true(vd_wait_until(batched_past, f, batched));
	stats_on = false;
	/* Held for 100 ms more; the teardown comes first. */
	assert_int_equal(used_idx(f, 0), 0);
}

static void test_packed(void **state)
{
	struct fix *f = get(state);
	uint64_t d = RING_GPA, data[2], st[2];
	uint8_t file[1024];
	uint16_t flags;

	bring_up_with(f, blk_features | F_PACKED, 1);
	for (int r = 0; r < 2; r++) {
		uint64_t sector = 700 + r;

		data[r] = galloc(f, 512);
		fill(vd_hva(&f->vm, data[r], 512), 512, sector * 512, 16);
		st[r] = put_status(f);
		/* Three descriptors: header, data, status; id on the last. */
		vd_wr64(&f->vm, d + 48 * r,
			put_hdr(f, VIRTIO_BLK_T_OUT, sector));
		vd_wr32(&f->vm, d + 48 * r + 8, 16);
		vd_wr16(&f->vm, d + 48 * r + 14,
			VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_AVAIL);
		vd_wr64(&f->vm, d + 48 * r + 16, data[r]);
		vd_wr32(&f->vm, d + 48 * r + 24, 512);
		vd_wr16(&f->vm, d + 48 * r + 30,
			VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_AVAIL);
		vd_wr64(&f->vm, d + 48 * r + 32, st[r]);
		vd_wr32(&f->vm, d + 48 * r + 40, 1);
		vd_wr16(&f->vm, d + 48 * r + 44, 40 + r);
		vd_wr16(&f->vm, d + 48 * r + 46,
			VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_AVAIL);
	}
	kick(f, 0);
	for (int i = 0; i < 5000; i++) {
		if ((vd_rd16(&f->vm, d + 14) & VIRTQ_DESC_F_USED) &&
		    (vd_rd16(&f->vm, d + 48 + 14) & VIRTQ_DESC_F_USED))
			break;
		usleep(1000);
	}
	for (int r = 0; r < 2; r++) {
		flags = vd_rd16(&f->vm, d + 48 * r + 14);
		assert_true(flags & VIRTQ_DESC_F_USED);
		assert_int_equal(vd_rd8(&f->vm, st[r]), VIRTIO_BLK_S_OK);
	}
	/* Used ids are the buffer ids, in completion order. */
	assert_int_equal(vd_rd16(&f->vm, d + 12) + vd_rd16(&f->vm, d + 48 + 12),
			 40 + 41);
	assert_int_equal(status(f), S_ALL);
	file_read(f, file, sizeof(file), 700 * 512);
	expect_pattern(file, sizeof(file), 700 * 512, 16);
}

/* Named after the parameters, e.g. test_config/p_sync. */
#define CASE(fn, p)                                                       \
	{                                                                 \
		.name = #fn "/" #p, .test_func = fn, .setup_func = setup, \
		.teardown_func = teardown, .initial_state = (void *)&p    \
	}
#define BOTH(fn, pu, ps) CASE(fn, pu), CASE(fn, ps)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_config, p_uring, p_sync),
		BOTH(test_write_flush_read, p_uring, p_sync),
		BOTH(test_get_id, p_uring, p_sync),
		BOTH(test_discard, p_uring, p_sync),
		BOTH(test_write_zeroes, p_uring, p_sync),
		BOTH(test_readonly, p_uring_ro, p_sync_ro),
		BOTH(test_bad_requests, p_uring, p_sync),
		BOTH(test_resize, p_uring, p_sync),
		BOTH(test_resize_readonly, p_uring_ro, p_sync_ro),
		BOTH(test_split_header, p_uring, p_sync),
		BOTH(test_no_status_byte, p_uring, p_sync),
		BOTH(test_descriptor_loop, p_uring, p_sync),
		BOTH(test_multiqueue, p_uring_mq, p_sync_mq),
		BOTH(test_many_in_flight, p_uring, p_sync),
		BOTH(test_reset_in_flight, p_uring, p_sync),
		BOTH(test_queue_disable_in_flight, p_uring, p_sync),
		BOTH(test_queue_disable_waits, p_uring, p_sync),
		BOTH(test_budget, p_uring, p_sync),
		BOTH(test_rate_limit, p_uring, p_sync),
		BOTH(test_destroy_in_flight, p_uring, p_sync),
		BOTH(test_packed, p_uring, p_sync),
		BOTH(test_kick_when_asked, p_uring, p_sync),
		BOTH(test_kick_when_asked_event_idx, p_uring, p_sync),
		BOTH(test_quiet_at_depth, p_uring, p_sync),
		BOTH(test_poll, p_uring, p_sync),
		BOTH(test_batch, p_uring, p_sync),
		BOTH(test_batch_teardown, p_uring, p_sync),
		BOTH(test_quiet_at_depth_event_idx, p_uring, p_sync),
	};

	if (getenv("BLK_TEST_VERBOSE"))
		log_level = LOG_DEBUG;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
