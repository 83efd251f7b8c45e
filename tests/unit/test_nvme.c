// SPDX-License-Identifier: GPL-2.0
/*
 * NVMe controller model tests: a tiny in-test NVMe driver over guest memory
 * drives the controller through its BAR0 functions, with a temporary raw
 * image behind the synchronous block engine (completions arrive only when
 * the test calls nvme_process_completions(), so requests can be held in
 * flight deterministically) and, once, io_uring. Data buffers live either
 * in plain guest RAM (identity DMA space) or behind a page-scattering
 * translation, so every buffer contiguous in IOVA is split at every page.
 *
 * Status values are spelled out here from the spec, not taken from the
 * model's headers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/block.h"
#include "hw/nvme/nvme.h"
#include "kvm/dma.h"
#include "kvm/memory.h"
#include "util/evloop.h"

#include "helpers/nvme_driver.h"

#define RAM_SIZE (64ull << 20)
#define HOLE_START (32ull << 20) /* RAM 0-32 MiB, then above 4 GiB */
#define PAGE 4096ull
#define IMG_SIZE (1u << 20)
#define LBA 512u
#define NSZE (IMG_SIZE / LBA)

/* Guest addresses the driver uses (identity: GPA = IOVA). */
#define ASQ_GPA 0x10000ull
#define ACQ_GPA 0x11000ull
#define ASQ_SIZE 32
#define ACQ_SIZE 32
#define IOSQ_GPA(q) (0x20000ull + (q)*0x10000ull)
#define IOCQ_GPA(q) (0x28000ull + (q)*0x10000ull)
#define LIST_GPA 0x80000ull /* PRP list pages */
#define ADMIN_BUF 0x90000ull /* admin data, two pages */
#define DBS_GPA 0xa0000ull /* shadow doorbells */
#define EIS_GPA 0xa1000ull /* event indexes */
#define ID_DATA_GPA 0x200000ull /* data area, identity mode */
#define DATA_PAGES 256 /* 1 MiB of data area */
/* Scatter mode: the data area is IOVA_BASE.., pages permuted in RAM. */
#define IOVA_BASE 0x100000000000ull
#define SCATTER_RAM 0x400000ull
#define NOT_RAM (HOLE_START + 0x1000) /* in the PCI hole */

/* Status (SC | SCT << 8) without DNR/M/CRD. */
#define S_OK 0x000
#define S_INVALID_OPCODE 0x001
#define S_INVALID_FIELD 0x002
#define S_DATA_XFER 0x004
#define S_INVALID_NS 0x00b
#define S_CMD_SEQ 0x00c
#define S_PRP_OFFSET 0x013
#define S_LBA_RANGE 0x080
#define S_CQ_INVALID 0x100
#define S_INVALID_QID 0x101
#define S_INVALID_QSIZE 0x102
#define S_AER_LIMIT 0x105
#define S_INVALID_VECTOR 0x108
#define S_INVALID_LOG 0x109
#define S_QUEUE_DELETION 0x10c
#define S_NOT_SAVEABLE 0x10d
#define DNR_BIT 0x4000

struct q {
	uint64_t base;
	uint16_t qid, size, idx;
	bool phase;
};

struct cqe {
	uint32_t dw0;
	uint16_t sqhd, sqid, cid, status;
};

/*
 * KICKS: identity, with the glue's sq_kick/sq_ioeventfd recorded; the
 * "I/O thread" (nvme_process_doorbells()) runs right after a register
 * write that kicked, unless a test holds it (lazy).
 */
enum mode { IDENTITY, SCATTER, URING, KICKS };

struct fix {
	enum mode mode;
	struct guest_mem mem;
	struct dma_space dma;
	char path[64];
	struct blk_backend *be;
	struct nvme_ctrl *n;
	struct q asq, acq, sq[4], cq[4];
	uint16_t cid;
	uint64_t data; /* the data area's first IOVA */
	unsigned int msgs[8];
	bool level;
	unsigned int level_changes;
	/* KICKS: kicks asked and taken, ioeventfds wanted, (de)assignments. */
	unsigned int kicks, kicks_done;
	bool ioev[NVME_MAX_IOQ + 1];
	unsigned int ioev_calls;
	bool lazy;
};

static enum mode m_identity = IDENTITY, m_scatter = SCATTER, m_uring = URING,
		 m_kicks = KICKS;

/* ---- the page-scattering translation ---- */

/* Data page i lives at RAM page perm(i): neighbours are never adjacent. */
static uint64_t scatter_page(uint64_t i)
{
	return SCATTER_RAM + ((i * 37) % DATA_PAGES) * PAGE;
}

static int scatter_translate(struct dma_space *as, uint64_t iova, uint64_t len,
			     enum dma_dir dir, void **hva, uint64_t *contig)
{
	uint64_t off = iova % PAGE, gpa;

	if (iova >= IOVA_BASE && iova - IOVA_BASE < DATA_PAGES * PAGE)
		gpa = scatter_page((iova - IOVA_BASE) / PAGE) + off;
	else if (iova < HOLE_START)
		gpa = iova; /* queues and lists: identity, split per page */
	else
		return -EFAULT;
	*hva = gpa_to_hva(as->mem, gpa, 1);
	*contig = PAGE - off < len ? PAGE - off : len;
	return *hva ? 0 : -EFAULT;
}

static const struct dma_ops scatter_ops = { .translate = scatter_translate };

/* ---- interrupts ---- */

static void irq_notify(void *opaque, unsigned int vector)
{
	struct fix *f = opaque;

	assert_true(vector < 8);
	__atomic_fetch_add(&f->msgs[vector], 1, __ATOMIC_RELAXED);
}

static void irq_level(void *opaque, bool asserted)
{
	struct fix *f = opaque;

	f->level = asserted;
	f->level_changes++;
}

static const struct nvme_irq_ops irq_ops = {
	.notify = irq_notify,
	.set_level = irq_level,
};

/* Controller lock held: record only, as the glue's eventfd write does. */
static void kick(void *opaque, uint16_t qid)
{
	struct fix *f = opaque;

	assert_true(qid >= 1 && qid <= NVME_MAX_IOQ);
	f->kicks++;
}

static void ioeventfd(void *opaque, uint16_t qid, bool on)
{
	struct fix *f = opaque;

	assert_true(qid >= 1 && qid <= NVME_MAX_IOQ);
	/* Asked only when it changes. */
	assert_int_not_equal(f->ioev[qid], on);
	f->ioev[qid] = on;
	f->ioev_calls++;
}

static const struct nvme_irq_ops kick_ops = {
	.notify = irq_notify,
	.set_level = irq_level,
	.sq_kick = kick,
	.sq_ioeventfd = ioeventfd,
};

static unsigned int ioevs(struct fix *f)
{
	unsigned int k = 0;

	for (unsigned int q = 0; q <= NVME_MAX_IOQ; q++)
		k += f->ioev[q];
	return k;
}

/* The I/O thread's turn, if it was kicked. */
static void io_thread(struct fix *f)
{
	if (f->kicks == f->kicks_done)
		return;
	f->kicks_done = f->kicks;
	nvme_process_doorbells(f->n);
}

/* ---- guest memory and registers ---- */

static void *hva(struct fix *f, uint64_t gpa, uint64_t len)
{
	void *p = gpa_to_hva(&f->mem, gpa, len);

	assert_non_null(p);
	return p;
}

static void gwrite(struct fix *f, uint64_t iova, const void *src, size_t len)
{
	assert_int_equal(dma_write(&f->dma, iova, src, len), 0);
}

static void gread(struct fix *f, uint64_t iova, void *dst, size_t len)
{
	assert_int_equal(dma_read(&f->dma, iova, dst, len), 0);
}

static void wr64g(struct fix *f, uint64_t iova, uint64_t v)
{
	v = htole64(v);
	gwrite(f, iova, &v, 8);
}

static uint32_t rd32(struct fix *f, uint64_t off)
{
	return (uint32_t)nvme_mmio_read(f->n, off, 4);
}

static void wr32(struct fix *f, uint64_t off, uint32_t v)
{
	nvme_mmio_write(f->n, off, v, 4);
	if (!f->lazy)
		io_thread(f);
}

static void wr64(struct fix *f, uint64_t off, uint64_t v)
{
	nvme_mmio_write(f->n, off, v, 8);
}

/* ---- fixture ---- */

static struct fix *fix_new(enum mode mode, bool readonly)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct blk_options o = {
		.engine = mode == URING ? BLK_ENGINE_IO_URING : BLK_ENGINE_SYNC,
		.readonly = readonly,
		.serial = "nvme-test-serial",
	};
	static const struct mem_region ram_map[] = {
		{ .gpa = 0, .size = HOLE_START },
		{ .gpa = 0x100000000ull, .size = RAM_SIZE - HOLE_START },
	};
	struct nvme_config cfg = { .name = "nvme-test", .nr_vectors = 4 };
	uint8_t *img;
	int fd;

	assert_non_null(f);
	f->mode = mode;
	assert_int_equal(guest_mem_init_map(&f->mem, ram_map, 2), 0);
	if (mode == KICKS)
		mode = IDENTITY;
	if (mode == SCATTER) {
		dma_space_init(&f->dma, &f->mem, &scatter_ops, NULL);
		f->data = IOVA_BASE;
	} else {
		dma_space_init_identity(&f->dma, &f->mem);
		f->data = ID_DATA_GPA;
	}
	snprintf(f->path, sizeof(f->path), "/tmp/devisor-nvme-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	img = malloc(IMG_SIZE);
	assert_non_null(img);
	for (unsigned int i = 0; i < IMG_SIZE; i++)
		img[i] = (uint8_t)(i / LBA + 1);
	assert_int_equal(pwrite(fd, img, IMG_SIZE, 0), IMG_SIZE);
	free(img);
	close(fd);
	f->be = blk_open(f->path, &o);
	assert_non_null(f->be);
	f->n = nvme_create(&f->dma, f->be, &cfg,
			   f->mode == KICKS ? &kick_ops : &irq_ops, f);
	assert_non_null(f->n);
	return f;
}

static void fix_free(struct fix *f)
{
	nvme_destroy(f->n);
	blk_close(f->be);
	unlink(f->path);
	dma_space_destroy(&f->dma);
	guest_mem_destroy(&f->mem);
	free(f);
}

static int setup(void **state)
{
	enum mode m = *state ? *(enum mode *)*state : IDENTITY;

	if (m == URING && !blk_io_uring_available()) {
		print_message("no io_uring here: the io_uring case runs on the "
			      "synchronous engine\n");
		m = IDENTITY;
	}
	*state = fix_new(m, false);
	return 0;
}

static int teardown(void **state)
{
	fix_free(*state);
	return 0;
}

/* ---- the driver ---- */

static void q_init(struct q *q, uint16_t qid, uint64_t base, uint16_t size)
{
	*q = (struct q){ .base = base, .qid = qid, .size = size, .phase = true };
}

static void enable_with(struct fix *f, uint32_t cc)
{
	wr32(f, AQA, (ACQ_SIZE - 1) << 16 | (ASQ_SIZE - 1));
	wr64(f, ASQ, ASQ_GPA);
	wr64(f, ACQ, ACQ_GPA);
	memset(hva(f, ACQ_GPA, ACQ_SIZE * 16), 0, ACQ_SIZE * 16);
	wr32(f, CC, cc);
	q_init(&f->asq, 0, ASQ_GPA, ASQ_SIZE);
	q_init(&f->acq, 0, ACQ_GPA, ACQ_SIZE);
	f->sq[0] = f->asq;
	f->cq[0] = f->acq;
}

static void enable(struct fix *f)
{
	enable_with(f, CC_READY_BITS);
	assert_int_equal(rd32(f, CSTS) & 3, 1);
}

static void disable(struct fix *f)
{
	wr32(f, CC, 0);
	assert_int_equal(rd32(f, CSTS) & 1, 0);
}

static void cmd(struct fix *f, uint32_t *e, uint8_t opc, uint32_t nsid)
{
	nvme_sqe_init(e, opc, ++f->cid, nsid);
}

/* Writes the entry at the tail without ringing. */
static void push(struct fix *f, unsigned int qid, const uint32_t *e)
{
	struct q *q = &f->sq[qid];

	nvme_sqe_store(hva(f, q->base + (uint64_t)q->idx * 64, 64), e);
	q->idx = (uint16_t)((q->idx + 1) % q->size);
}

static void ring(struct fix *f, unsigned int qid)
{
	wr32(f, SQTDBL(qid), f->sq[qid].idx);
}

static void submit(struct fix *f, unsigned int qid, const uint32_t *e)
{
	push(f, qid, e);
	ring(f, qid);
}

/* The next entry if its phase says it is new; no doorbell. */
static bool pop(struct fix *f, unsigned int qid, struct cqe *c)
{
	struct q *q = &f->cq[qid];
	uint32_t dw[4];

	memcpy(dw, hva(f, q->base + (uint64_t)q->idx * 16, 16), 16);
	for (int i = 0; i < 4; i++)
		dw[i] = le32toh(dw[i]);
	if (((dw[3] >> 16) & 1) != q->phase)
		return false;
	c->dw0 = dw[0];
	c->sqhd = (uint16_t)dw[2];
	c->sqid = (uint16_t)(dw[2] >> 16);
	c->cid = (uint16_t)dw[3];
	c->status = (uint16_t)(dw[3] >> 17);
	q->idx = (uint16_t)((q->idx + 1) % q->size);
	if (!q->idx)
		q->phase = !q->phase;
	return true;
}

static void ring_cq(struct fix *f, unsigned int qid)
{
	wr32(f, CQHDBL(qid), f->cq[qid].idx);
}

/* Let the back-end complete what it has; with io_uring, wait a little. */
static void complete_io(struct fix *f)
{
	if (f->mode == URING) {
		struct pollfd p = { .fd = nvme_completion_fd(f->n),
				    .events = POLLIN };

		(void)poll(&p, 1, 100);
	}
	io_thread(f);
	nvme_process_completions(f->n);
}

static bool wait_cqe(struct fix *f, unsigned int qid, struct cqe *c)
{
	for (int i = 0; i < 50; i++) {
		if (pop(f, qid, c)) {
			ring_cq(f, qid);
			return true;
		}
		complete_io(f);
	}
	return false;
}

/* Submit, wait, check the CID; returns SC | SCT << 8 (and DNR). */
static uint16_t exec_full(struct fix *f, unsigned int qid, const uint32_t *e,
			  struct cqe *c)
{
	submit(f, qid, e);
	assert_true(wait_cqe(f, qid, c));
	assert_int_equal(c->cid, e[0] >> 16);
	assert_int_equal(c->sqid, qid);
	return c->status;
}

static uint16_t exec(struct fix *f, unsigned int qid, const uint32_t *e)
{
	struct cqe c;

	return exec_full(f, qid, e, &c) & 0x7ff;
}

static uint16_t create_cq(struct fix *f, uint16_t qid, uint16_t size,
			  uint16_t iv, bool ien, bool pc)
{
	uint32_t e[16];
	uint16_t st;

	cmd(f, e, 0x05, 0);
	nvme_sqe_prp(e, IOCQ_GPA(qid), 0);
	e[10] = (uint32_t)(size - 1) << 16 | qid;
	e[11] = (uint32_t)iv << 16 | (ien ? 2 : 0) | (pc ? 1 : 0);
	st = exec(f, 0, e);
	if (!st && qid < 4) {
		q_init(&f->cq[qid], qid, IOCQ_GPA(qid), size);
		memset(hva(f, IOCQ_GPA(qid), size * 16ull), 0, size * 16ull);
	}
	return st;
}

static uint16_t create_sq(struct fix *f, uint16_t qid, uint16_t size,
			  uint16_t cqid)
{
	uint32_t e[16];
	uint16_t st;

	cmd(f, e, 0x01, 0);
	nvme_sqe_prp(e, IOSQ_GPA(qid), 0);
	e[10] = (uint32_t)(size - 1) << 16 | qid;
	e[11] = (uint32_t)cqid << 16 | 1;
	st = exec(f, 0, e);
	if (!st && qid < 4)
		q_init(&f->sq[qid], qid, IOSQ_GPA(qid), size);
	return st;
}

static uint16_t delete_q(struct fix *f, uint8_t opc, uint16_t qid)
{
	uint32_t e[16];

	cmd(f, e, opc, 0);
	e[10] = qid;
	return exec(f, 0, e);
}

/* An I/O queue pair @qid of @size entries, interrupts on vector @qid. */
static void ioq(struct fix *f, uint16_t qid, uint16_t size)
{
	assert_int_equal(create_cq(f, qid, size, qid, true, true), S_OK);
	assert_int_equal(create_sq(f, qid, size, qid), S_OK);
}

static void up(struct fix *f)
{
	enable(f);
	ioq(f, 1, 64);
}

/* Read or write @nlb blocks at @slba with the given pointers. */
static void rw_cmd(struct fix *f, uint32_t *e, bool write, uint64_t slba,
		   uint32_t nlb, uint64_t prp1, uint64_t prp2)
{
	cmd(f, e, write ? 0x01 : 0x02, 1);
	nvme_sqe_prp(e, prp1, prp2);
	e[10] = (uint32_t)slba;
	e[11] = (uint32_t)(slba >> 32);
	e[12] = nlb - 1;
}

/*
 * PRP pointers for @len bytes at data offset @off: PRP1, then PRP2 as the
 * second page or a list at @list (its entries may cross into a second list
 * page when @list sits near a page end).
 */
static void build_prps(struct fix *f, uint64_t off, uint64_t len, uint64_t list,
		       uint64_t *prp1, uint64_t *prp2)
{
	uint64_t first = PAGE - off % PAGE, rem, page;
	uint64_t ent = list;

	*prp1 = f->data + off;
	*prp2 = 0;
	if (len <= first)
		return;
	rem = len - first;
	page = off - off % PAGE + PAGE;
	if (rem <= PAGE) {
		*prp2 = f->data + page;
		return;
	}
	*prp2 = list;
	while (rem) {
		uint64_t left = (PAGE - ent % PAGE) / 8;
		uint64_t need = (rem + PAGE - 1) / PAGE;

		if (need > left && left == 1) {
			/* Chain to the next list page. */
			uint64_t next = ent - ent % PAGE + 2 * PAGE;

			wr64g(f, ent, next);
			ent = next;
			continue;
		}
		wr64g(f, ent, f->data + page);
		ent += 8;
		page += PAGE;
		rem -= rem < PAGE ? rem : PAGE;
	}
}

static uint8_t pat(uint64_t i, unsigned int seed)
{
	return (uint8_t)(i * 13 + seed + (i >> 12));
}

static void fill_data(struct fix *f, uint64_t off, uint64_t len,
		      unsigned int seed)
{
	uint8_t *buf = malloc(len);

	for (uint64_t i = 0; i < len; i++)
		buf[i] = pat(i, seed);
	gwrite(f, f->data + off, buf, len);
	free(buf);
}

static void check_data(struct fix *f, uint64_t off, uint64_t len,
		       unsigned int seed)
{
	uint8_t *buf = malloc(len);

	gread(f, f->data + off, buf, len);
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != pat(i, seed))
			fail_msg("byte %llu: %#x, want %#x",
				 (unsigned long long)i, buf[i], pat(i, seed));
	free(buf);
}

static void check_file(struct fix *f, uint64_t off, uint64_t len,
		       unsigned int seed)
{
	uint8_t *buf = malloc(len);
	int fd = open(f->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != pat(i, seed))
			fail_msg("image byte %llu: %#x, want %#x",
				 (unsigned long long)(off + i), buf[i],
				 pat(i, seed));
	free(buf);
}

/* ---- registers and the state machine ---- */

static void test_registers(void **state)
{
	struct fix *f = *state;
	uint64_t cap = nvme_mmio_read(f->n, CAP, 8);

	assert_int_equal(cap & 0xffff, 1023); /* MQES */
	assert_true(cap & (1ull << 16)); /* CQR */
	assert_int_equal((cap >> 17) & 3, 0); /* AMS: round robin only */
	assert_true(((cap >> 24) & 0xff) > 0); /* TO */
	assert_int_equal((cap >> 32) & 0xf, 0); /* DSTRD */
	assert_true(cap & (1ull << 37)); /* CSS: NVM */
	assert_int_equal((cap >> 48) & 0xf, 0); /* MPSMIN 4 KiB */
	assert_int_equal((cap >> 52) & 0xf, 4); /* MPSMAX 64 KiB */
	assert_int_equal(rd32(f, CAP + 4), cap >> 32);
	assert_int_equal(rd32(f, VS), 0x00010400);
	assert_int_equal(rd32(f, CSTS), 0);
	/* CAP is read-only; AQA/ASQ/ACQ read back, reserved bits clear. */
	wr32(f, CAP, 0);
	assert_int_equal(nvme_mmio_read(f->n, CAP, 8), cap);
	wr32(f, AQA, 0xffffffff);
	assert_int_equal(rd32(f, AQA), 0x0fff0fff);
	wr64(f, ASQ, 0x123456789abcdeffull);
	assert_int_equal(nvme_mmio_read(f->n, ASQ, 8), 0x123456789abcd000ull);
	/* Two halves, low first, like lo_hi_writeq. */
	wr32(f, ACQ, 0x5000);
	wr32(f, ACQ + 4, 0x1);
	assert_int_equal(nvme_mmio_read(f->n, ACQ, 8), 0x100005000ull);
	/* Sub-dword reads see the register's bytes; odd writes are ignored. */
	assert_int_equal(nvme_mmio_read(f->n, VS + 2, 2), 0x0001);
	nvme_mmio_write(f->n, CC, 1, 1);
	assert_int_equal(rd32(f, CC), 0);
	assert_int_equal(nvme_mmio_read(f->n, NVME_BAR0_SIZE, 4), 0);

	enable(f);
	assert_int_equal(rd32(f, CC), CC_READY_BITS);
	/* While enabled, AQA/ASQ and the page size do not change. */
	wr32(f, AQA, 0);
	assert_int_equal(rd32(f, AQA), (ACQ_SIZE - 1) << 16 | (ASQ_SIZE - 1));
	wr32(f, CC, CC_READY_BITS | 1u << 7);
	assert_int_equal(rd32(f, CC), CC_READY_BITS);
	disable(f);
	assert_int_equal(rd32(f, CSTS), 0);
}

static void test_bad_enable(void **state)
{
	struct fix *f = *state;
	static const uint32_t bad[] = {
		CC_READY_BITS | 5u << 7, /* MPS beyond MPSMAX */
		CC_READY_BITS | 1u << 4, /* CSS: not NVM */
		CC_READY_BITS | 1u << 11, /* AMS: weighted round robin */
	};

	for (unsigned int i = 0; i < 3; i++) {
		enable_with(f, bad[i]);
		assert_int_equal(rd32(f, CSTS) & 3, 2); /* CFS, not RDY */
		/* Nothing is fetched on a failed controller. */
		wr32(f, SQTDBL(0), 1);
		disable(f);
		assert_int_equal(rd32(f, CSTS), 0);
	}
	/* A one-entry admin queue is no queue. */
	wr32(f, AQA, 0);
	wr32(f, CC, CC_READY_BITS);
	assert_int_equal(rd32(f, CSTS) & 3, 2);
	disable(f);
	/* An unaligned ASQ with 64 KiB pages. */
	wr32(f, AQA, 0x001f001f);
	wr64(f, ASQ, 0x11000);
	wr64(f, ACQ, 0x20000);
	wr32(f, CC, CC_READY_BITS | 4u << 7);
	assert_int_equal(rd32(f, CSTS) & 3, 2);
	disable(f);
	/* And then a good one works. */
	enable(f);
}

static void test_admin_queue_not_ram(void **state)
{
	struct fix *f = *state;
	uint32_t e[16];

	wr32(f, AQA, 0x001f001f);
	wr64(f, ASQ, NOT_RAM);
	wr64(f, ACQ, ACQ_GPA);
	wr32(f, CC, CC_READY_BITS);
	assert_int_equal(rd32(f, CSTS) & 3, 1);
	/* The fetch fails: fatal, and the controller stops. */
	wr32(f, SQTDBL(0), 1);
	assert_int_equal(rd32(f, CSTS) & 3, 3);
	disable(f);
	enable(f);
	cmd(f, e, 0x06, 0);
	nvme_sqe_prp(e, ADMIN_BUF, 0);
	e[10] = 1;
	assert_int_equal(exec(f, 0, e), S_OK);
}

static void test_shutdown(void **state)
{
	struct fix *f = *state;
	uint32_t e[16];

	up(f);
	fill_data(f, 0, 4096, 3);
	rw_cmd(f, e, true, 8, 8, f->data, 0);
	submit(f, 1, e);
	/* In flight when the shutdown comes: it completes first. */
	wr32(f, CC, CC_READY_BITS | 1u << 14);
	assert_int_equal(rd32(f, CSTS) & 0xc, 0x8); /* SHST complete */
	struct cqe c;
	assert_true(pop(f, 1, &c));
	assert_int_equal(c.status, 0);
	check_file(f, 8 * LBA, 4096, 3);
	/* Nothing is fetched after a shutdown. */
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	submit(f, 1, e);
	complete_io(f);
	assert_false(pop(f, 1, &c));
	disable(f);
	enable(f);
	assert_int_equal(rd32(f, CSTS) & 0xc, 0);
}

/* ---- admin commands ---- */

static void test_identify(void **state)
{
	struct fix *f = *state;
	uint8_t *d = hva(f, ADMIN_BUF, 4096);
	uint32_t e[16];

	enable(f);
	cmd(f, e, 0x06, 0);
	nvme_sqe_prp(e, ADMIN_BUF, 0);
	e[10] = 1; /* controller */
	assert_int_equal(exec(f, 0, e), S_OK);
	assert_int_equal(d[0] | d[1] << 8, NVME_DEFAULT_VID);
	assert_memory_equal(d + 4, "nvme-test-serial    ", 20);
	assert_memory_equal(d + 24, "devisor NVMe ", 13);
	assert_int_equal(d[24 + 39], ' ');
	assert_int_equal(d[77], 7); /* MDTS */
	assert_int_equal(d[80] | d[81] << 8 | d[82] << 16, 0x010400);
	assert_true(d[257] & 1); /* OACS bit 8: Doorbell Buffer Config */
	assert_int_equal(d[259], 3); /* AERL */
	assert_int_equal(d[512], 0x66);
	assert_int_equal(d[513], 0x44);
	assert_int_equal(d[516], 1); /* NN */
	assert_int_equal(d[520] & 0x0c, 0x0c); /* DSM, Write Zeroes */
	assert_int_equal(d[525] & 1, 1); /* VWC */
	assert_memory_equal(d + 768, "nqn.2014-08.org.nvmexpress:uuid:", 32);

	memset(d, 0xee, 4096);
	e[10] = 0; /* namespace */
	e[1] = 1;
	e[0] = 0x06 | (uint32_t)++f->cid << 16;
	assert_int_equal(exec(f, 0, e), S_OK);
	assert_int_equal(le64toh(*(uint64_t *)d), NSZE);
	assert_int_equal(d[128 + 2], 9); /* LBADS */
	assert_int_equal(d[26], 0);

	e[10] = 2; /* active namespaces after 0 */
	e[1] = 0;
	e[0] = 0x06 | (uint32_t)++f->cid << 16;
	assert_int_equal(exec(f, 0, e), S_OK);
	assert_int_equal(le32toh(*(uint32_t *)d), 1);
	assert_int_equal(le32toh(*(uint32_t *)(d + 4)), 0);
	e[1] = 1; /* after 1: none */
	e[0] = 0x06 | (uint32_t)++f->cid << 16;
	assert_int_equal(exec(f, 0, e), S_OK);
	assert_int_equal(le32toh(*(uint32_t *)d), 0);

	e[10] = 3; /* descriptors: NGUID then UUID */
	e[0] = 0x06 | (uint32_t)++f->cid << 16;
	assert_int_equal(exec(f, 0, e), S_OK);
	assert_int_equal(d[0], 2);
	assert_int_equal(d[1], 16);
	assert_int_equal(d[20], 3);
	assert_int_equal(d[21], 16);
	assert_int_equal(d[24 + 6] >> 4, 8); /* UUID version 8 */
	assert_int_equal(d[40], 0); /* end of list */

	/* Wrong namespace, unknown CNS, SGL requested. */
	e[10] = 0;
	e[1] = 2;
	e[0] = 0x06 | (uint32_t)++f->cid << 16;
	assert_int_equal(exec(f, 0, e), S_INVALID_NS);
	e[10] = 0x1f;
	e[1] = 0;
	e[0] = 0x06 | (uint32_t)++f->cid << 16;
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);
	e[10] = 1;
	e[0] = 0x06 | 1u << 14 | (uint32_t)++f->cid << 16;
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);
	/* Identify into memory that is not RAM. */
	cmd(f, e, 0x06, 0);
	nvme_sqe_prp(e, NOT_RAM, 0);
	e[10] = 1;
	assert_int_equal(exec(f, 0, e), S_DATA_XFER);
	/* Unknown admin opcode, with DNR. */
	cmd(f, e, 0x7f, 0);
	struct cqe c;
	assert_int_equal(exec_full(f, 0, e, &c), S_INVALID_OPCODE | DNR_BIT);
	/* SQ head pointer reported: everything fetched. */
	assert_int_equal(c.sqhd, f->sq[0].idx);
}

static void test_queue_errors(void **state)
{
	struct fix *f = *state;
	uint32_t e[16];

	enable(f);
	assert_int_equal(create_cq(f, 0, 16, 0, true, true), S_INVALID_QID);
	assert_int_equal(create_cq(f, 1, 1, 0, true, true), S_INVALID_QSIZE);
	assert_int_equal(create_cq(f, 1, 0, 0, true, true), S_INVALID_QSIZE);
	assert_int_equal(create_cq(f, 1, 16, 0, true, false), S_INVALID_FIELD);
	assert_int_equal(create_cq(f, 1, 16, 4, true, true), S_INVALID_VECTOR);
	assert_int_equal(create_cq(f, NVME_MAX_IOQ + 1, 16, 0, true, true),
			 S_INVALID_QID);
	/* MQES + 1 entries is the most. */
	cmd(f, e, 0x05, 0);
	nvme_sqe_prp(e, IOCQ_GPA(1), 0);
	e[10] = 1024u << 16 | 1;
	e[11] = 3;
	assert_int_equal(exec(f, 0, e), S_INVALID_QSIZE);
	/* A queue base that is not page aligned, or not RAM. */
	cmd(f, e, 0x05, 0);
	nvme_sqe_prp(e, IOCQ_GPA(1) + 64, 0);
	e[10] = 15u << 16 | 1;
	e[11] = 3;
	assert_int_equal(exec(f, 0, e), S_PRP_OFFSET);
	cmd(f, e, 0x05, 0);
	nvme_sqe_prp(e, NOT_RAM, 0);
	e[10] = 15u << 16 | 1;
	e[11] = 3;
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);

	assert_int_equal(create_cq(f, 1, 16, 1, true, true), S_OK);
	assert_int_equal(create_cq(f, 1, 16, 1, true, true), S_INVALID_QID);
	/* SQ onto no CQ, onto the admin CQ, bad sizes, PC=0. */
	assert_int_equal(create_sq(f, 1, 16, 2), S_CQ_INVALID);
	assert_int_equal(create_sq(f, 1, 16, 0), S_CQ_INVALID);
	assert_int_equal(create_sq(f, 0, 16, 1), S_INVALID_QID);
	assert_int_equal(create_sq(f, 1, 1, 1), S_INVALID_QSIZE);
	cmd(f, e, 0x01, 0);
	nvme_sqe_prp(e, IOSQ_GPA(1), 0);
	e[10] = 15u << 16 | 1;
	e[11] = 1u << 16; /* PC = 0 */
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);
	assert_int_equal(create_sq(f, 1, 16, 1), S_OK);
	assert_int_equal(create_sq(f, 1, 16, 1), S_INVALID_QID);

	/* Number of Queues is fixed once queues exist. */
	cmd(f, e, 0x09, 0);
	e[10] = 0x07;
	e[11] = 0;
	assert_int_equal(exec(f, 0, e), S_CMD_SEQ);

	/* A CQ with an SQ on it stays. */
	assert_int_equal(delete_q(f, 0x04, 1), S_QUEUE_DELETION);
	assert_int_equal(delete_q(f, 0x00, 0), S_INVALID_QID);
	assert_int_equal(delete_q(f, 0x00, 2), S_INVALID_QID);
	assert_int_equal(delete_q(f, 0x04, 0), S_INVALID_QID);
	assert_int_equal(delete_q(f, 0x00, 1), S_OK);
	assert_int_equal(delete_q(f, 0x00, 1), S_INVALID_QID);
	assert_int_equal(delete_q(f, 0x04, 1), S_OK);
	assert_int_equal(delete_q(f, 0x04, 1), S_INVALID_QID);

	/* After a reset, Number of Queues limits the QIDs. */
	disable(f);
	enable(f);
	cmd(f, e, 0x09, 0);
	e[10] = 0x07;
	e[11] = 0x00010000; /* one SQ, two CQs */
	struct cqe c;
	assert_int_equal(exec_full(f, 0, e, &c), S_OK);
	assert_int_equal(c.dw0, 0x00010000);
	assert_int_equal(create_cq(f, 2, 16, 2, true, true), S_OK);
	assert_int_equal(create_sq(f, 2, 16, 2), S_INVALID_QID);
	assert_int_equal(create_cq(f, 3, 16, 3, true, true), S_INVALID_QID);
	cmd(f, e, 0x09, 0);
	e[10] = 0x07;
	e[11] = 0xffff;
	assert_int_equal(exec(f, 0, e), S_CMD_SEQ);
	/* I/O entry sizes not programmed: refused. */
	disable(f);
	enable_with(f, 1);
	assert_int_equal(create_cq(f, 1, 16, 1, true, true), S_INVALID_FIELD);
}

static void test_features(void **state)
{
	struct fix *f = *state;
	struct cqe c;
	uint32_t e[16];

	enable(f);
	/* Get/Set for the simple ones. */
	static const struct {
		uint8_t fid;
		uint32_t val;
	} sets[] = {
		{ 0x01, 0x03020103 }, /* arbitration */
		{ 0x08, 0x0a04 }, /* interrupt coalescing */
		{ 0x0a, 1 }, /* write atomicity */
		{ 0x0b, 0x02 }, /* async event config */
		{ 0x06, 0 }, /* volatile write cache off */
	};
	for (unsigned int i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		cmd(f, e, 0x09, 0);
		e[10] = sets[i].fid;
		e[11] = sets[i].val;
		assert_int_equal(exec(f, 0, e), S_OK);
		cmd(f, e, 0x0a, 0);
		e[10] = sets[i].fid;
		assert_int_equal(exec_full(f, 0, e, &c), S_OK);
		assert_int_equal(c.dw0, sets[i].val);
	}
	/* Defaults (SEL 1), saved (2) = default, capabilities (3). */
	cmd(f, e, 0x0a, 0);
	e[10] = 0x06 | 1u << 8;
	assert_int_equal(exec_full(f, 0, e, &c), S_OK);
	assert_int_equal(c.dw0, 1);
	cmd(f, e, 0x0a, 0);
	e[10] = 0x07 | 3u << 8;
	assert_int_equal(exec_full(f, 0, e, &c), S_OK);
	assert_int_equal(c.dw0, 4); /* changeable */
	cmd(f, e, 0x0a, 0);
	e[10] = 0x07 | 4u << 8;
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);
	cmd(f, e, 0x0a, 0);
	e[10] = 0x07;
	assert_int_equal(exec_full(f, 0, e, &c), S_OK);
	assert_int_equal(c.dw0, (NVME_MAX_IOQ - 1) * 0x10001u);
	/* Temperature threshold: over by default is the warning level. */
	cmd(f, e, 0x0a, 0);
	e[10] = 0x04;
	assert_int_equal(exec_full(f, 0, e, &c), S_OK);
	assert_int_equal(c.dw0, 358);
	cmd(f, e, 0x0a, 0);
	e[10] = 0x04;
	e[11] = 1u << 16; /* sensor 1: absent */
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);
	/* Interrupt vector configuration, within the vectors we have. */
	cmd(f, e, 0x09, 0);
	e[10] = 0x09;
	e[11] = 1u << 16 | 3;
	assert_int_equal(exec(f, 0, e), S_OK);
	cmd(f, e, 0x0a, 0);
	e[10] = 0x09;
	e[11] = 3;
	assert_int_equal(exec_full(f, 0, e, &c), S_OK);
	assert_int_equal(c.dw0, 1u << 16 | 3);
	cmd(f, e, 0x09, 0);
	e[10] = 0x09;
	e[11] = 4;
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);
	/* Saving, power states we lack, unknown features, a namespace. */
	cmd(f, e, 0x09, 0);
	e[10] = 0x06 | 1u << 31;
	assert_int_equal(exec(f, 0, e), S_NOT_SAVEABLE);
	cmd(f, e, 0x09, 0);
	e[10] = 0x02;
	e[11] = 1;
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);
	cmd(f, e, 0x09, 0);
	e[10] = 0x7e;
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);
	cmd(f, e, 0x0a, 0);
	e[10] = 0x0d; /* host memory buffer: not offered */
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);
	cmd(f, e, 0x09, 1);
	e[10] = 0x06;
	assert_int_equal(exec(f, 0, e), 0x10f);
	/* Number of queues: 0xffff is invalid, values are 0's based. */
	cmd(f, e, 0x09, 0);
	e[10] = 0x07;
	e[11] = 0xffff0000;
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);
	cmd(f, e, 0x09, 0);
	e[10] = 0x07;
	e[11] = 0x01000100; /* more than we have: capped */
	assert_int_equal(exec_full(f, 0, e, &c), S_OK);
	assert_int_equal(c.dw0, (NVME_MAX_IOQ - 1) * 0x10001u);
	/* A reset brings the defaults back. */
	disable(f);
	enable(f);
	cmd(f, e, 0x0a, 0);
	e[10] = 0x06;
	assert_int_equal(exec_full(f, 0, e, &c), S_OK);
	assert_int_equal(c.dw0, 1);
}

static void get_log(struct fix *f, uint8_t lid, uint32_t len, uint64_t off,
		    bool rae, uint16_t want)
{
	uint32_t e[16], numd = len / 4 - 1;

	cmd(f, e, 0x02, 0xffffffff);
	nvme_sqe_prp(e, ADMIN_BUF, ADMIN_BUF + PAGE);
	e[10] = lid | (rae ? 1u << 15 : 0) | (numd & 0xffff) << 16;
	e[11] = numd >> 16;
	e[12] = (uint32_t)off;
	e[13] = (uint32_t)(off >> 32);
	assert_int_equal(exec(f, 0, e), want);
}

static void test_log_pages(void **state)
{
	struct fix *f = *state;
	uint8_t *d = hva(f, ADMIN_BUF, 2 * PAGE);
	uint32_t e[16];

	up(f);
	fill_data(f, 0, 8192, 5);
	rw_cmd(f, e, true, 0, 16, f->data, f->data + PAGE);
	assert_int_equal(exec(f, 1, e), S_OK);
	for (int i = 0; i < 3; i++) {
		rw_cmd(f, e, false, 0, 2, f->data, 0);
		assert_int_equal(exec(f, 1, e), S_OK);
	}
	get_log(f, 0x02, 512, 0, true, S_OK);
	assert_int_equal(d[0], 0); /* no critical warning */
	assert_int_equal(d[1] | d[2] << 8, 313); /* kelvin */
	assert_int_equal(d[3], 100);
	assert_int_equal(le64toh(*(uint64_t *)(d + 32)), 1); /* units read */
	assert_int_equal(le64toh(*(uint64_t *)(d + 48)), 1); /* written */
	assert_int_equal(le64toh(*(uint64_t *)(d + 64)), 3); /* read cmds */
	assert_int_equal(le64toh(*(uint64_t *)(d + 80)), 1); /* write cmds */
	assert_int_equal(le64toh(*(uint64_t *)(d + 112)), 1); /* power cycles */
	/* Partial reads at an offset. */
	get_log(f, 0x02, 8, 64, true, S_OK);
	assert_int_equal(le64toh(*(uint64_t *)d), 3);
	get_log(f, 0x02, 4, 516, true, S_INVALID_FIELD);
	get_log(f, 0x02, 4, 2, true, S_INVALID_FIELD);
	/* Firmware slots: slot 1 active, the revision Identify reports. */
	uint8_t fr[8];
	cmd(f, e, 0x06, 0);
	nvme_sqe_prp(e, ADMIN_BUF, 0);
	e[10] = 1;
	assert_int_equal(exec(f, 0, e), S_OK);
	memcpy(fr, d + 64, 8);
	get_log(f, 0x03, 512, 0, true, S_OK);
	assert_int_equal(d[0], 1);
	assert_memory_equal(d + 8, fr, 8);
	/* Errors: newest first; the previous one follows. */
	rw_cmd(f, e, false, NSZE, 1, f->data, 0);
	assert_int_equal(exec(f, 1, e), S_LBA_RANGE);
	get_log(f, 0x01, 256, 0, true, S_OK);
	/* Two bad Get Log Page before: this is the third error. */
	assert_int_equal(le64toh(*(uint64_t *)d), 3);
	assert_int_equal(d[8] | d[9] << 8, 1); /* SQ 1 */
	assert_int_equal(d[10] | d[11] << 8, e[0] >> 16);
	assert_int_equal(((d[12] | d[13] << 8) >> 1) & 0x7ff, S_LBA_RANGE);
	assert_int_equal(le64toh(*(uint64_t *)(d + 64)), 2);
	assert_int_equal(d[64 + 8], 0); /* admin queue */
	/* Unknown log page; longer than a transfer may be. */
	get_log(f, 0x7f, 512, 0, true, S_INVALID_LOG);
	get_log(f, 0x02, 8192, 0, true, S_INVALID_FIELD);
}

static uint64_t aer_submit(struct fix *f)
{
	uint32_t e[16];

	cmd(f, e, 0x0c, 0);
	submit(f, 0, e);
	return e[0] >> 16;
}

static void test_aer(void **state)
{
	struct fix *f = *state;
	uint32_t e[16];
	struct cqe c;
	uint64_t cid;

	up(f);
	cid = aer_submit(f);
	assert_false(pop(f, 0, &c)); /* outstanding */
	/* A doorbell of a queue that does not exist. */
	wr32(f, SQTDBL(5), 1);
	assert_true(pop(f, 0, &c));
	ring_cq(f, 0);
	assert_int_equal(c.cid, cid);
	assert_int_equal(c.status, 0);
	assert_int_equal(c.dw0, 0x00 | 0x00 << 8 | 0x01 << 16);

	/* Error events are now masked until the error log is read. */
	cid = aer_submit(f);
	wr32(f, SQTDBL(1), 200); /* beyond the queue's size */
	assert_false(pop(f, 0, &c));
	get_log(f, 0x01, 64, 0, true, S_OK); /* RAE: still masked */
	assert_false(pop(f, 0, &c));
	/* Read with RAE clear: unmasked, and the AER goes first. */
	cmd(f, e, 0x02, 0xffffffff);
	nvme_sqe_prp(e, ADMIN_BUF, 0);
	e[10] = 0x01 | 15u << 16;
	submit(f, 0, e);
	assert_true(pop(f, 0, &c));
	assert_int_equal(c.cid, cid);
	assert_int_equal(c.dw0, 0x00 | 0x01 << 8 | 0x01 << 16);
	assert_true(pop(f, 0, &c));
	assert_int_equal(c.cid, e[0] >> 16);
	assert_int_equal(c.status, 0);
	ring_cq(f, 0);

	/* A CQ head beyond what was posted is also invalid. */
	get_log(f, 0x01, 64, 0, false, S_OK);
	cid = aer_submit(f);
	wr32(f, CQHDBL(1), 5);
	assert_true(pop(f, 0, &c));
	ring_cq(f, 0);
	assert_int_equal(c.dw0, 0x00 | 0x01 << 8 | 0x01 << 16);

	/* SMART: a temperature threshold below the current temperature. */
	cmd(f, e, 0x09, 0);
	e[10] = 0x0b;
	e[11] = 0x02;
	assert_int_equal(exec(f, 0, e), S_OK);
	cid = aer_submit(f);
	cmd(f, e, 0x09, 0);
	e[10] = 0x04;
	e[11] = 300;
	submit(f, 0, e);
	/* The AER and the Set Features both complete, AER first. */
	assert_true(pop(f, 0, &c));
	assert_int_equal(c.cid, cid);
	assert_int_equal(c.dw0, 0x01 | 0x01 << 8 | 0x02 << 16);
	assert_true(pop(f, 0, &c));
	assert_int_equal(c.cid, e[0] >> 16);
	ring_cq(f, 0);
	get_log(f, 0x02, 512, 0, false, S_OK);
	assert_int_equal(*(uint8_t *)hva(f, ADMIN_BUF, 1), 0x02);

	/* At most AERL + 1 outstanding. */
	for (int i = 0; i < 4; i++)
		aer_submit(f);
	cmd(f, e, 0x0c, 0);
	assert_int_equal(exec(f, 0, e), S_AER_LIMIT);
	/* Abort: best effort, which here means never. */
	cmd(f, e, 0x08, 0);
	e[10] = (uint32_t)cid << 16 | 1;
	assert_int_equal(exec_full(f, 0, e, &c), S_OK);
	assert_int_equal(c.dw0 & 1, 1);
	/* The outstanding AERs vanish with a reset. */
	disable(f);
	enable(f);
	cmd(f, e, 0x0c, 0);
	submit(f, 0, e);
	assert_false(pop(f, 0, &c));
}

/* ---- I/O ---- */

/* Write then read back @len bytes at data offset @off, @slba. */
static void roundtrip(struct fix *f, uint64_t off, uint64_t len, uint64_t slba,
		      uint64_t list, unsigned int seed)
{
	uint64_t prp1, prp2;
	uint32_t e[16];

	fill_data(f, off, len, seed);
	build_prps(f, off, len, list, &prp1, &prp2);
	rw_cmd(f, e, true, slba, (uint32_t)(len / LBA), prp1, prp2);
	assert_int_equal(exec(f, 1, e), S_OK);
	check_file(f, slba * LBA, len, seed);
	/* Read into a clean buffer at another offset. */
	fill_data(f, off, len, seed + 100);
	build_prps(f, off, len, list, &prp1, &prp2);
	rw_cmd(f, e, false, slba, (uint32_t)(len / LBA), prp1, prp2);
	assert_int_equal(exec(f, 1, e), S_OK);
	check_data(f, off, len, seed);
}

static void test_read_write(void **state)
{
	struct fix *f = *state;

	up(f);
	roundtrip(f, 0, LBA, 0, 0, 1); /* PRP1 only */
	roundtrip(f, 0x200, 2 * LBA, 3, 0, 2); /* PRP1 with an offset */
	roundtrip(f, 0xe00, PAGE, 10, 0, 3); /* PRP1 + PRP2 as a page */
	roundtrip(f, 0, 2 * PAGE, 20, 0, 4); /* two whole pages */
	roundtrip(f, 0x400, 16 * PAGE, 100, LIST_GPA, 5); /* a PRP list */
	/* A list that starts near its page's end and chains. */
	roundtrip(f, 0, 8 * PAGE, 300, LIST_GPA + PAGE - 16, 6);
	/* The largest transfer: MDTS, 512 KiB, 128 entries. */
	roundtrip(f, 0, 512 * 1024, 1024, LIST_GPA, 7);
	/* With an offset it needs 129 pages: the list has 128 entries. */
	roundtrip(f, 0x800, 512 * 1024, 1024, LIST_GPA, 8);
}

/*
 * Dataset Management, deallocate: the three 16-byte @ranges written across
 * the end of the first data page, so the list takes both PRPs.
 */
static uint16_t dsm_deallocate(struct fix *f, uint32_t *e,
			       const uint8_t *ranges)
{
	gwrite(f, f->data + PAGE - 16, ranges, 48);
	cmd(f, e, 0x09, 1);
	nvme_sqe_prp(e, f->data + PAGE - 16, f->data + PAGE);
	e[10] = 2;
	e[11] = 1u << 2;
	return exec(f, 1, e);
}

static void test_flush_zeroes_dsm(void **state)
{
	struct fix *f = *state;
	uint8_t zero[4096] = { 0 }, buf[4096];
	uint32_t e[16];

	up(f);
	cmd(f, e, 0x00, 1);
	assert_int_equal(exec(f, 1, e), S_OK);
	cmd(f, e, 0x00, 0xffffffff);
	assert_int_equal(exec(f, 1, e), S_OK);
	cmd(f, e, 0x00, 2);
	assert_int_equal(exec(f, 1, e), S_INVALID_NS);

	/* Write Zeroes over 8 blocks at 40, with FUA. */
	cmd(f, e, 0x08, 1);
	e[10] = 40;
	e[12] = 7 | 1u << 30;
	assert_int_equal(exec(f, 1, e), S_OK);
	rw_cmd(f, e, false, 40, 8, f->data, 0);
	assert_int_equal(exec(f, 1, e), S_OK);
	gread(f, f->data, buf, 4096);
	assert_memory_equal(buf, zero, 4096);
	/* The neighbour is untouched. */
	rw_cmd(f, e, false, 48, 1, f->data, 0);
	assert_int_equal(exec(f, 1, e), S_OK);
	gread(f, f->data, buf, 1);
	assert_int_equal(buf[0], 49);
	cmd(f, e, 0x08, 1);
	e[10] = NSZE - 1;
	e[12] = 1;
	assert_int_equal(exec(f, 1, e), S_LBA_RANGE);

	/* Dataset Management: two ranges deallocated, one empty. */
	uint8_t ranges[48] = { 0 };
	uint32_t nlb = 8;
	uint64_t slba = 64;
	memcpy(ranges + 4, &nlb, 4);
	memcpy(ranges + 8, &slba, 8);
	slba = 200;
	memcpy(ranges + 20, &nlb, 4);
	memcpy(ranges + 24, &slba, 8);
	assert_int_equal(dsm_deallocate(f, e, ranges), S_OK);
	if (blk_info(f->be)->discard) {
		rw_cmd(f, e, false, 200, 8, f->data, 0);
		assert_int_equal(exec(f, 1, e), S_OK);
		gread(f, f->data, buf, 4096);
		assert_memory_equal(buf, zero, 4096);
	} else {
		print_message("no discard on this file system: DSM is a "
			      "no-op here\n");
	}
	/* A range past the end fails the whole command. */
	slba = NSZE - 4;
	memcpy(ranges + 24, &slba, 8);
	assert_int_equal(dsm_deallocate(f, e, ranges), S_LBA_RANGE);
	/* Hints only: nothing to do. */
	cmd(f, e, 0x09, 1);
	e[11] = 3;
	assert_int_equal(exec(f, 1, e), S_OK);

	/* Write with the volatile cache off: written, then flushed. */
	cmd(f, e, 0x09, 0);
	e[10] = 0x06;
	assert_int_equal(exec(f, 0, e), S_OK);
	roundtrip(f, 0, PAGE, 500, 0, 9);
}

static void test_io_errors(void **state)
{
	struct fix *f = *state;
	uint32_t e[16];
	struct cqe c;

	up(f);
	rw_cmd(f, e, false, NSZE - 1, 2, f->data, f->data + PAGE);
	assert_int_equal(exec_full(f, 1, e, &c), S_LBA_RANGE | DNR_BIT);
	rw_cmd(f, e, false, ~0ull, 1, f->data, 0); /* slba + nlb wraps */
	assert_int_equal(exec(f, 1, e), S_LBA_RANGE);
	/* 1025 blocks of 512: past MDTS. */
	rw_cmd(f, e, false, 0, 1025, f->data, LIST_GPA);
	assert_int_equal(exec(f, 1, e), S_INVALID_FIELD);
	rw_cmd(f, e, true, 0, 1, f->data, 0);
	e[1] = 2;
	assert_int_equal(exec(f, 1, e), S_INVALID_NS);
	e[1] = 0;
	e[0] = 0x02 | (uint32_t)++f->cid << 16;
	assert_int_equal(exec(f, 1, e), S_INVALID_NS);
	cmd(f, e, 0x7f, 1);
	assert_int_equal(exec(f, 1, e), S_INVALID_OPCODE);
	cmd(f, e, 0x06, 1); /* an admin opcode on an I/O queue */
	assert_int_equal(exec(f, 1, e), S_INVALID_OPCODE);
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	e[0] |= 2u << 14; /* SGL with a metadata SGL */
	assert_int_equal(exec(f, 1, e), S_INVALID_FIELD);
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	e[0] |= 1u << 8; /* fused */
	assert_int_equal(exec(f, 1, e), S_INVALID_FIELD);
}

static void test_hostile_prp(void **state)
{
	struct fix *f = *state;
	uint64_t l = LIST_GPA;
	uint32_t e[16];

	up(f);
	/* Data outside RAM, first or second page. */
	rw_cmd(f, e, false, 0, 1, NOT_RAM, 0);
	assert_int_equal(exec(f, 1, e), S_DATA_XFER);
	rw_cmd(f, e, false, 0, 16, f->data, NOT_RAM);
	assert_int_equal(exec(f, 1, e), S_DATA_XFER);
	/* Offsets: PRP1 not dword aligned, PRP2 page with an offset. */
	rw_cmd(f, e, false, 0, 1, f->data + 2, 0);
	assert_int_equal(exec(f, 1, e), S_PRP_OFFSET);
	rw_cmd(f, e, false, 0, 16, f->data, f->data + PAGE + 8);
	assert_int_equal(exec(f, 1, e), S_PRP_OFFSET);
	/* A list pointer off a qword; an entry with an offset. */
	rw_cmd(f, e, false, 0, 24, f->data, l + 4);
	assert_int_equal(exec(f, 1, e), S_PRP_OFFSET);
	wr64g(f, l, f->data + PAGE);
	wr64g(f, l + 8, f->data + 2 * PAGE + 512);
	rw_cmd(f, e, false, 0, 24, f->data, l);
	assert_int_equal(exec(f, 1, e), S_PRP_OFFSET);
	/* An entry outside RAM. */
	wr64g(f, l + 8, NOT_RAM);
	rw_cmd(f, e, false, 0, 24, f->data, l);
	assert_int_equal(exec(f, 1, e), S_DATA_XFER);
	/* The list itself outside RAM. */
	rw_cmd(f, e, false, 0, 24, f->data, NOT_RAM);
	assert_int_equal(exec(f, 1, e), S_DATA_XFER);
	/* A list that chains to itself: two entries per lap, a loop. */
	l = LIST_GPA + PAGE - 16;
	wr64g(f, l, f->data + PAGE);
	wr64g(f, l + 8, LIST_GPA); /* next list page = this page */
	rw_cmd(f, e, false, 0, 8 * 64, f->data, l);
	assert_int_equal(exec(f, 1, e), S_DATA_XFER);
	/* A chain pointer with an offset. */
	wr64g(f, l + 8, LIST_GPA + 2 * PAGE + 8);
	rw_cmd(f, e, false, 0, 32, f->data, l);
	assert_int_equal(exec(f, 1, e), S_PRP_OFFSET);
	/* A write whose second page runs off the end of RAM. */
	rw_cmd(f, e, true, 0, 8, HOLE_START - 0x800, HOLE_START);
	assert_int_equal(exec(f, 1, e), S_DATA_XFER);
	/* And the controller still works. */
	roundtrip(f, 0, 4 * PAGE, 0, LIST_GPA, 11);
	assert_int_equal(rd32(f, CSTS) & 3, 1);
}

/* ---- SGLs ---- */

#define SGL_DATA 0x0
#define SGL_BIT_BUCKET 0x1
#define SGL_SEG 0x2
#define SGL_LAST 0x3

static void sgl_put(struct fix *f, uint64_t at, uint64_t addr, uint32_t len,
		    uint8_t type)
{
	uint8_t d[16] = { 0 };

	addr = htole64(addr);
	len = htole32(len);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	d[15] = type;
	gwrite(f, at, d, 16);
}

/* A read or write of @nlb blocks at 0 whose DPTR is an SGL descriptor. */
static void sgl_cmd(struct fix *f, uint32_t *e, bool write, uint32_t nlb,
		    uint64_t addr, uint32_t len, uint8_t type)
{
	rw_cmd(f, e, write, 0, nlb, 0, 0);
	e[0] |= 1u << 14;
	nvme_sqe_prp(e, addr, 0);
	e[8] = len;
	e[9] = (uint32_t)type << 24;
}

static void check_at(struct fix *f, uint64_t iova, uint64_t len, uint64_t from,
		     unsigned int seed)
{
	uint8_t *buf = malloc(len);

	gread(f, iova, buf, len);
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != pat(from + i, seed))
			fail_msg("byte %llu", (unsigned long long)(from + i));
	free(buf);
}

static void test_sgl(void **state)
{
	struct fix *f = *state;
	uint64_t l = LIST_GPA, d = f->data;
	uint32_t e[16];
	uint8_t *id = hva(f, ADMIN_BUF, 4096);

	up(f);
	cmd(f, e, 0x06, 0);
	nvme_sqe_prp(e, ADMIN_BUF, 0);
	e[10] = 1;
	assert_int_equal(exec(f, 0, e), S_OK);
	assert_int_equal(id[536] & 3, 1); /* SGLS: supported */

	/* One data block: the whole transfer. */
	fill_data(f, 0, 4096, 21);
	sgl_cmd(f, e, true, 8, d, 4096, SGL_DATA << 4);
	assert_int_equal(exec(f, 1, e), S_OK);
	check_file(f, 0, 4096, 21);

	/* Read back through a last segment of three odd-sized blocks. */
	sgl_put(f, l, d + PAGE + 100, 1000, SGL_DATA << 4);
	sgl_put(f, l + 16, d + 3 * PAGE + 7, 2000, SGL_DATA << 4);
	sgl_put(f, l + 32, d + 5 * PAGE, 1096, SGL_DATA << 4);
	sgl_cmd(f, e, false, 8, l, 48, SGL_LAST << 4);
	assert_int_equal(exec(f, 1, e), S_OK);
	check_at(f, d + PAGE + 100, 1000, 0, 21);
	check_at(f, d + 3 * PAGE + 7, 2000, 1000, 21);
	check_at(f, d + 5 * PAGE, 1096, 3000, 21);

	/* A segment that chains to a last segment. */
	sgl_put(f, l, d + 8 * PAGE, 2048, SGL_DATA << 4);
	sgl_put(f, l + 16, l + PAGE, 16, SGL_LAST << 4);
	sgl_put(f, l + PAGE, d + 9 * PAGE + 4, 2048, SGL_DATA << 4);
	sgl_cmd(f, e, false, 8, l, 32, SGL_SEG << 4);
	assert_int_equal(exec(f, 1, e), S_OK);
	check_at(f, d + 8 * PAGE, 2048, 0, 21);
	check_at(f, d + 9 * PAGE + 4, 2048, 2048, 21);

	/* Too short, too long. */
	sgl_cmd(f, e, false, 8, d, 4095, SGL_DATA << 4);
	assert_int_equal(exec(f, 1, e), 0x00f);
	sgl_cmd(f, e, false, 8, d, 4097, SGL_DATA << 4);
	assert_int_equal(exec(f, 1, e), 0x00f);
	/* Bit buckets are not offered; nor offset or keyed subtypes. */
	sgl_cmd(f, e, false, 8, d, 4096, SGL_BIT_BUCKET << 4);
	assert_int_equal(exec(f, 1, e), 0x011);
	sgl_cmd(f, e, false, 8, d, 4096, SGL_DATA << 4 | 1);
	assert_int_equal(exec(f, 1, e), 0x011);
	/* A segment of a length that is no whole descriptor. */
	sgl_cmd(f, e, false, 8, l, 40, SGL_LAST << 4);
	assert_int_equal(exec(f, 1, e), 0x00d);
	/* A segment pointer inside a last segment. */
	sgl_put(f, l, d, 2048, SGL_DATA << 4);
	sgl_put(f, l + 16, l + PAGE, 16, SGL_LAST << 4);
	sgl_cmd(f, e, false, 8, l, 32, SGL_LAST << 4);
	assert_int_equal(exec(f, 1, e), 0x00d);
	/* A segment that points at itself: the descriptor budget ends it. */
	sgl_put(f, l, l, 16, SGL_SEG << 4);
	sgl_cmd(f, e, false, 8, l, 16, SGL_SEG << 4);
	assert_int_equal(exec(f, 1, e), 0x00e);
	/* Segments and data outside RAM. */
	sgl_cmd(f, e, false, 8, NOT_RAM, 16, SGL_LAST << 4);
	assert_int_equal(exec(f, 1, e), S_DATA_XFER);
	sgl_cmd(f, e, false, 8, NOT_RAM, 4096, SGL_DATA << 4);
	assert_int_equal(exec(f, 1, e), S_DATA_XFER);
	/* DSM ranges through an SGL. */
	uint8_t range[16] = { 0 };
	range[4] = 8; /* 8 blocks at LBA 0 */
	gwrite(f, d, range, 16);
	cmd(f, e, 0x09, 1);
	e[0] |= 1u << 14;
	nvme_sqe_prp(e, d, 0);
	e[8] = 16;
	e[11] = 1u << 2;
	assert_int_equal(exec(f, 1, e), S_OK);
	/* Still working. */
	roundtrip(f, 0, 2 * PAGE, 40, 0, 22);
}

/* ---- completion queues, interrupts ---- */

static void test_cq_full(void **state)
{
	struct fix *f = *state;
	uint16_t cids[10];
	uint8_t sentinel[16];
	struct cqe c;
	uint32_t e[16];

	enable(f);
	/* A 4-entry CQ holds three; a 16-entry SQ feeds it. */
	assert_int_equal(create_cq(f, 1, 4, 1, true, true), S_OK);
	assert_int_equal(create_sq(f, 1, 16, 1), S_OK);
	for (int i = 0; i < 10; i++) {
		rw_cmd(f, e, false, (uint64_t)i, 1, f->data + i * LBA, 0);
		cids[i] = (uint16_t)(e[0] >> 16);
		push(f, 1, e);
	}
	ring(f, 1);
	complete_io(f);
	memcpy(sentinel, hva(f, IOCQ_GPA(1) + 3 * 16, 16), 16);
	for (int i = 0; i < 3; i++) {
		assert_true(pop(f, 1, &c));
		assert_int_equal(c.cid, cids[i]);
	}
	assert_false(pop(f, 1, &c));
	/* Never overwritten: the fourth slot is still untouched. */
	assert_memory_equal(hva(f, IOCQ_GPA(1) + 3 * 16, 16), sentinel, 16);
	/* Consume, and the held ones come in order, with phase flips. */
	for (int i = 3, spins = 0; i < 10; spins++) {
		assert_true(spins < 20);
		ring_cq(f, 1);
		complete_io(f);
		while (pop(f, 1, &c)) {
			assert_int_equal(c.cid, cids[i]);
			assert_int_equal(c.status, 0);
			i++;
		}
	}
	ring_cq(f, 1);
	for (int i = 0; i < 10; i++) {
		uint8_t b;

		gread(f, f->data + i * LBA, &b, 1);
		assert_int_equal(b, i + 1);
	}
}

static void test_back_pressure(void **state)
{
	struct fix *f = *state;
	struct cqe c;
	uint32_t e[16];
	unsigned int got = 0;

	/*
	 * A 2-entry CQ under a 64-entry SQ: the SQ's slots fill with held
	 * completions and fetching stops; the host never loses one.
	 */
	enable(f);
	assert_int_equal(create_cq(f, 1, 2, 1, true, true), S_OK);
	assert_int_equal(create_sq(f, 1, 64, 1), S_OK);
	/* 60 fetched, one posted; 60 more find four free slots. */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 60; i++) {
			cmd(f, e, 0x00, 1); /* flush */
			push(f, 1, e);
		}
		ring(f, 1);
		complete_io(f);
	}
	for (int spins = 0; spins < 2000 && got < 120; spins++) {
		complete_io(f);
		if (pop(f, 1, &c)) {
			assert_int_equal(c.status, 0);
			got++;
			ring_cq(f, 1);
		}
	}
	assert_int_equal(got, 120);
	assert_false(pop(f, 1, &c));
}

static void test_interrupts(void **state)
{
	struct fix *f = *state;
	struct cqe c;
	uint32_t e[16];

	/* Pin-based: a level while the admin CQ has unconsumed entries. */
	enable(f);
	cmd(f, e, 0x0a, 0);
	e[10] = 0x07;
	submit(f, 0, e);
	assert_true(f->level);
	wr32(f, INTMS, 1);
	assert_false(f->level);
	assert_int_equal(rd32(f, INTMS), 1);
	assert_int_equal(rd32(f, INTMC), 1);
	wr32(f, INTMC, 1);
	assert_true(f->level);
	assert_true(pop(f, 0, &c));
	ring_cq(f, 0);
	assert_false(f->level);

	/* MSI-X: an edge per batch, on the CQ's vector, if IEN. */
	nvme_set_irq_mode(f->n, NVME_IRQ_MSIX);
	assert_int_equal(create_cq(f, 1, 16, 2, true, true), S_OK);
	assert_int_equal(create_sq(f, 1, 16, 1), S_OK);
	assert_int_equal(create_cq(f, 2, 16, 3, false, true), S_OK);
	assert_int_equal(create_sq(f, 2, 16, 2), S_OK);
	memset(f->msgs, 0, sizeof(f->msgs));
	for (int i = 0; i < 3; i++) {
		rw_cmd(f, e, false, 0, 1, f->data, 0);
		push(f, 1, e);
	}
	ring(f, 1);
	complete_io(f);
	assert_int_equal(f->msgs[2], 1);
	for (int i = 0; i < 3; i++)
		assert_true(pop(f, 1, &c));
	ring_cq(f, 1);
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	assert_int_equal(exec(f, 2, e), S_OK);
	assert_int_equal(f->msgs[3], 0); /* polled queue */
	/* INTMS means nothing with MSI-X. */
	wr32(f, INTMS, 1);
	assert_int_equal(rd32(f, INTMS), 0);

	/* MSI: a masked vector's message waits for the unmask. */
	nvme_set_irq_mode(f->n, NVME_IRQ_MSI);
	wr32(f, INTMS, 1u << 2);
	memset(f->msgs, 0, sizeof(f->msgs));
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	submit(f, 1, e);
	complete_io(f);
	assert_int_equal(f->msgs[2], 0);
	wr32(f, INTMC, 1u << 2);
	assert_int_equal(f->msgs[2], 1);
	assert_true(pop(f, 1, &c));
	ring_cq(f, 1);
}

/* ---- resets with work in flight ---- */

static void test_disable_in_flight(void **state)
{
	struct fix *f = *state;
	uint8_t before[64 * 16];
	struct cqe c;
	uint32_t e[16];

	if (f->mode == URING)
		skip();
	up(f);
	memset(hva(f, IOCQ_GPA(1), sizeof(before)), 0xa5, sizeof(before));
	f->cq[1].phase = false; /* 0xa5 has the phase bit set: a fresh lap */
	for (int i = 0; i < 8; i++) {
		rw_cmd(f, e, true, (uint64_t)i * 8, 8, f->data, 0);
		push(f, 1, e);
	}
	ring(f, 1);
	memcpy(before, hva(f, IOCQ_GPA(1), sizeof(before)), sizeof(before));
	/* The writes sit in the back-end: no completion yet. */
	disable(f);
	complete_io(f);
	assert_memory_equal(hva(f, IOCQ_GPA(1), sizeof(before)), before,
			    sizeof(before));
	/* Doorbells of a disabled controller do nothing. */
	wr32(f, SQTDBL(0), 3);
	wr32(f, SQTDBL(1), 3);
	assert_int_equal(rd32(f, CSTS), 0);
	/* It comes back clean. */
	up(f);
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	assert_int_equal(exec_full(f, 1, e, &c), S_OK);
	assert_int_equal(c.sqhd, 1);
	nvme_reset(f->n);
	assert_int_equal(rd32(f, CC), 0);
	assert_int_equal(rd32(f, AQA), 0);
}

static void test_delete_sq_in_flight(void **state)
{
	struct fix *f = *state;
	struct cqe c;
	uint32_t e[16];

	if (f->mode == URING)
		skip();
	up(f);
	for (int i = 0; i < 4; i++) {
		rw_cmd(f, e, false, 0, 8, f->data, 0);
		push(f, 1, e);
	}
	ring(f, 1);
	cmd(f, e, 0x00, 0);
	e[10] = 1;
	submit(f, 0, e);
	/* Waits for the back-end. */
	assert_false(pop(f, 0, &c));
	complete_io(f);
	assert_true(pop(f, 0, &c));
	ring_cq(f, 0);
	assert_int_equal(c.cid, e[0] >> 16);
	assert_int_equal(c.status, 0);
	/* The aborted reads left nothing in the CQ. */
	assert_false(pop(f, 1, &c));
	assert_int_equal(delete_q(f, 0x04, 1), S_OK);
	/* The QID is free again. */
	ioq(f, 1, 16);
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	assert_int_equal(exec(f, 1, e), S_OK);
}

/* ---- shadow doorbells ---- */

static uint32_t shadow(struct fix *f, uint64_t base, unsigned int qid, bool cq)
{
	uint32_t v;

	gread(f, base + (2 * qid + cq) * 4, &v, 4);
	return le32toh(v);
}

static void set_shadow(struct fix *f, unsigned int qid, bool cq, uint32_t v)
{
	v = htole32(v);
	gwrite(f, DBS_GPA + (2 * qid + cq) * 4, &v, 4);
}

static void test_shadow_doorbells(void **state)
{
	struct fix *f = *state;
	struct cqe c;
	uint32_t e[16];

	enable(f);
	memset(hva(f, DBS_GPA, 2 * PAGE), 0, 2 * PAGE);
	cmd(f, e, 0x7c, 0);
	nvme_sqe_prp(e, DBS_GPA + 8, EIS_GPA);
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);
	cmd(f, e, 0x7c, 0);
	nvme_sqe_prp(e, DBS_GPA, NOT_RAM);
	assert_int_equal(exec(f, 0, e), S_INVALID_FIELD);
	cmd(f, e, 0x7c, 0);
	nvme_sqe_prp(e, DBS_GPA, EIS_GPA);
	assert_int_equal(exec(f, 0, e), S_OK);
	ioq(f, 1, 8);
	/* The admin queue stays on MMIO; its doorbells are mirrored. */
	assert_int_equal(shadow(f, DBS_GPA, 0, false), f->sq[0].idx);

	/* I/O: the shadow tail counts, the MMIO value does not. */
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	push(f, 1, e);
	set_shadow(f, 1, false, f->sq[1].idx);
	wr32(f, SQTDBL(1), 7); /* junk: ignored */
	assert_true(wait_cqe(f, 1, &c));
	assert_int_equal(c.status, 0);
	assert_int_equal(shadow(f, EIS_GPA, 1, false), 1);
	/* The CQ head doorbell comes from the shadow too. */
	set_shadow(f, 1, true, f->cq[1].idx);

	/* Three commands in the shadow, one doorbell: all run. */
	for (int i = 0; i < 3; i++) {
		rw_cmd(f, e, false, 0, 1, f->data, 0);
		push(f, 1, e);
		set_shadow(f, 1, false, f->sq[1].idx);
	}
	wr32(f, SQTDBL(1), 0);
	complete_io(f);
	for (int i = 0; i < 3; i++)
		assert_true(pop(f, 1, &c));
	assert_int_equal(shadow(f, EIS_GPA, 1, false), 4);

	/*
	 * The host consumed those three but left the shadow head at 1: of
	 * the 8 entries (7 usable) the controller sees room for four.
	 */
	for (int i = 0; i < 7; i++) {
		cmd(f, e, 0x00, 1);
		push(f, 1, e);
	}
	set_shadow(f, 1, false, f->sq[1].idx);
	wr32(f, SQTDBL(1), 0);
	complete_io(f);
	for (int i = 0; i < 4; i++)
		assert_true(pop(f, 1, &c));
	assert_false(pop(f, 1, &c));
	/* Full: the controller asked to hear when the head passes 1. */
	assert_int_equal(shadow(f, EIS_GPA, 1, true), 1);
	set_shadow(f, 1, true, f->cq[1].idx);
	wr32(f, CQHDBL(1), 0); /* the host rings: event index passed */
	for (int i = 0; i < 3; i++)
		assert_true(pop(f, 1, &c));
	assert_false(pop(f, 1, &c));
	set_shadow(f, 1, true, f->cq[1].idx);
	/* A shadow tail beyond the queue: invalid, ignored. */
	set_shadow(f, 1, false, 100);
	wr32(f, SQTDBL(1), 0);
	complete_io(f);
	assert_false(pop(f, 1, &c));
	assert_int_equal(rd32(f, CSTS) & 3, 1);
	/* A reset forgets the buffers. */
	disable(f);
	up(f);
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	assert_int_equal(exec(f, 1, e), S_OK);
}

/* ---- I/O SQ doorbells on the I/O thread (sq_kick, ioeventfds) ---- */

static void dbbuf_on(struct fix *f)
{
	uint32_t e[16];

	memset(hva(f, DBS_GPA, 2 * PAGE), 0, 2 * PAGE);
	cmd(f, e, 0x7c, 0);
	nvme_sqe_prp(e, DBS_GPA, EIS_GPA);
	assert_int_equal(exec(f, 0, e), S_OK);
}

static void test_kick_ioeventfd_lifecycle(void **state)
{
	struct fix *f = *state;
	struct cqe c;
	uint32_t e[16];

	f->lazy = true;
	enable(f);
	/* No shadow doorbells: the written tail is needed, no ioeventfd. */
	ioq(f, 1, 16);
	assert_int_equal(ioevs(f), 0);
	assert_int_equal(f->kicks, 0); /* the admin queue runs in place */
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	submit(f, 1, e);
	assert_int_equal(f->kicks, 1);
	/* Nothing fetched on the ringing thread. */
	nvme_process_completions(f->n);
	assert_false(pop(f, 1, &c));
	io_thread(f);
	assert_true(wait_cqe(f, 1, &c));
	assert_int_equal(c.status, 0);
	assert_int_equal(c.sqhd, 1);
	/* An overrunning tail is refused on the vCPU: no kick. */
	wr32(f, SQTDBL(1), 16);
	assert_int_equal(f->kicks, 1);

	/* Shadow doorbells: existing and new I/O SQs get an ioeventfd. */
	dbbuf_on(f);
	assert_true(f->ioev[1]);
	ioq(f, 2, 16);
	assert_true(f->ioev[2]);
	assert_int_equal(ioevs(f), 2);
	assert_int_equal(f->ioev_calls, 2);

	/* What an ioeventfd does: the shadow tail, a kick, no value. */
	rw_cmd(f, e, false, 8, 1, f->data, 0);
	push(f, 2, e);
	set_shadow(f, 2, false, f->sq[2].idx);
	f->kicks++;
	io_thread(f);
	assert_true(wait_cqe(f, 2, &c));
	assert_int_equal(c.status, 0);
	assert_int_equal(c.sqid, 2);
	assert_int_equal(shadow(f, EIS_GPA, 2, false), 1);
	/* A kick finds every SQ that moved: 1 and 2 at once. */
	for (unsigned int q = 1; q <= 2; q++) {
		rw_cmd(f, e, false, 0, 1, f->data, 0);
		push(f, q, e);
		set_shadow(f, q, false, f->sq[q].idx);
	}
	f->kicks++;
	io_thread(f);
	assert_true(wait_cqe(f, 1, &c));
	assert_true(wait_cqe(f, 2, &c));
	/* A hostile shadow tail: ignored, reported, the controller goes on. */
	set_shadow(f, 2, false, 1000);
	f->kicks++;
	io_thread(f);
	complete_io(f);
	assert_false(pop(f, 2, &c));
	assert_int_equal(rd32(f, CSTS) & 3, 1);
	set_shadow(f, 2, false, f->sq[2].idx);

	/* Delete I/O SQ: its ioeventfd goes first, its doorbell exits. */
	assert_int_equal(delete_q(f, 0x00, 2), S_OK);
	assert_false(f->ioev[2]);
	assert_true(f->ioev[1]);
	assert_int_equal(delete_q(f, 0x04, 2), S_OK);
	wr32(f, SQTDBL(2), 1);
	assert_int_equal(rd32(f, CSTS) & 3, 1);

	/* CC.EN = 0: all of them go, with the shadow buffers. */
	disable(f);
	assert_int_equal(ioevs(f), 0);
	/* A kick still on its way finds nothing. */
	f->kicks++;
	io_thread(f);
	complete_io(f);
	assert_int_equal(rd32(f, CSTS), 0);

	/* Enabled again, shadow doorbells first, then the queue. */
	enable(f);
	dbbuf_on(f);
	assert_int_equal(ioevs(f), 0);
	ioq(f, 1, 16);
	assert_true(f->ioev[1]);
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	push(f, 1, e);
	set_shadow(f, 1, false, f->sq[1].idx);
	wr32(f, SQTDBL(1), 0); /* no ioeventfd took it: a kick */
	io_thread(f);
	assert_true(wait_cqe(f, 1, &c));
	assert_int_equal(c.status, 0);
	/* Function level reset: gone too. */
	nvme_reset(f->n);
	assert_int_equal(ioevs(f), 0);
}

/*
 * A reset while commands are in the back-end and a kick is pending:
 * nothing of the old queues reaches guest memory, the kick finds nothing.
 */
static void test_kick_reset_in_flight(void **state)
{
	struct fix *f = *state;
	uint8_t before[64 * 16];
	struct cqe c;
	uint32_t e[16];

	f->lazy = true;
	enable(f);
	dbbuf_on(f);
	ioq(f, 1, 64);
	memset(hva(f, IOCQ_GPA(1), sizeof(before)), 0xa5, sizeof(before));
	f->cq[1].phase = false;
	for (int i = 0; i < 8; i++) {
		rw_cmd(f, e, true, (uint64_t)i * 8, 8, f->data, 0);
		push(f, 1, e);
	}
	set_shadow(f, 1, false, f->sq[1].idx);
	f->kicks++;
	io_thread(f); /* the writes go to the back-end */
	for (int i = 0; i < 4; i++) {
		rw_cmd(f, e, true, (uint64_t)i * 8, 8, f->data, 0);
		push(f, 1, e);
	}
	set_shadow(f, 1, false, f->sq[1].idx);
	wr32(f, SQTDBL(1), 0); /* a kick, not taken yet */
	memcpy(before, hva(f, IOCQ_GPA(1), sizeof(before)), sizeof(before));
	disable(f);
	assert_int_equal(ioevs(f), 0);
	io_thread(f);
	complete_io(f);
	assert_memory_equal(hva(f, IOCQ_GPA(1), sizeof(before)), before,
			    sizeof(before));
	/* The same with a function level reset, then it comes back clean. */
	enable(f);
	dbbuf_on(f);
	ioq(f, 1, 64);
	memset(hva(f, IOCQ_GPA(1), sizeof(before)), 0xa5, sizeof(before));
	f->cq[1].phase = false;
	for (int i = 0; i < 8; i++) {
		rw_cmd(f, e, false, (uint64_t)i * 8, 8, f->data, 0);
		push(f, 1, e);
	}
	set_shadow(f, 1, false, f->sq[1].idx);
	f->kicks++;
	io_thread(f);
	f->kicks++;
	nvme_reset(f->n);
	io_thread(f);
	complete_io(f);
	assert_memory_equal(hva(f, IOCQ_GPA(1), sizeof(before)), before,
			    sizeof(before));
	f->lazy = false;
	up(f);
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	assert_int_equal(exec_full(f, 1, e, &c), S_OK);
}

/* ---- threads: a vCPU rings, the I/O thread completes ---- */

static void completion_cb(void *opaque, uint32_t events)
{
	struct fix *f = opaque;

	(void)events;
	nvme_process_completions(f->n);
}

/* pop(), with the phase read before the rest, as a driver must. */
static bool pop_acquire(struct fix *f, unsigned int qid, struct cqe *c)
{
	struct q *q = &f->cq[qid];
	uint32_t *p = hva(f, q->base + (uint64_t)q->idx * 16, 16);
	uint32_t dw3 = le32toh(__atomic_load_n(&p[3], __ATOMIC_ACQUIRE));

	if (((dw3 >> 16) & 1) != q->phase)
		return false;
	c->dw0 = le32toh(p[0]);
	c->sqhd = (uint16_t)le32toh(p[2]);
	c->sqid = (uint16_t)(le32toh(p[2]) >> 16);
	c->cid = (uint16_t)dw3;
	c->status = (uint16_t)(dw3 >> 17);
	q->idx = (uint16_t)((q->idx + 1) % q->size);
	if (!q->idx)
		q->phase = !q->phase;
	return true;
}

static void test_threads(void **state)
{
	struct fix *f = *state;
	enum { TOTAL = 4000, QSIZE = 32 };
	static uint8_t seen[65536];
	struct evloop *loop = evloop_create("nvme-test-io");
	unsigned int sent = 0, done = 0, inflight[3] = { 0 };
	struct timespec t0, now;
	uint32_t e[16];

	assert_non_null(loop);
	memset(seen, 0, sizeof(seen));
	enable(f);
	nvme_set_irq_mode(f->n, NVME_IRQ_MSIX);
	ioq(f, 1, QSIZE);
	ioq(f, 2, QSIZE);
	assert_int_equal(evloop_add(loop, nvme_completion_fd(f->n), EPOLLIN,
				    completion_cb, f),
			 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < TOTAL) {
		for (unsigned int qid = 1; qid <= 2; qid++) {
			struct cqe c;
			bool any = false;

			while (sent < TOTAL && inflight[qid] < QSIZE - 1) {
				unsigned int slba = (sent * 7) % (NSZE - 8);

				rw_cmd(f, e, sent % 3 == 0, slba, 8,
				       f->data + (uint64_t)(sent % 64) * PAGE,
				       0);
				push(f, qid, e);
				inflight[qid]++;
				sent++;
				any = true;
			}
			if (any)
				ring(f, qid);
			any = false;
			while (pop_acquire(f, qid, &c)) {
				assert_int_equal(c.status, 0);
				assert_int_equal(seen[c.cid], 0);
				seen[c.cid] = 1;
				inflight[qid]--;
				done++;
				any = true;
			}
			if (any)
				ring_cq(f, qid);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		assert_true(now.tv_sec - t0.tv_sec < 30);
	}
	evloop_del(loop, nvme_completion_fd(f->n));
	evloop_destroy(loop);
	assert_true(__atomic_load_n(&f->msgs[1], __ATOMIC_RELAXED) +
			    __atomic_load_n(&f->msgs[2], __ATOMIC_RELAXED) >
		    0);
	disable(f);
}

/* ---- a read-only namespace ---- */

static void test_readonly(void **state)
{
	struct fix *f = fix_new(IDENTITY, true);
	uint32_t e[16];

	(void)state;
	up(f);
	rw_cmd(f, e, true, 0, 1, f->data, 0);
	assert_int_equal(exec(f, 1, e), 0x020);
	cmd(f, e, 0x08, 1);
	assert_int_equal(exec(f, 1, e), 0x020);
	cmd(f, e, 0x09, 1);
	e[11] = 1u << 2;
	assert_int_equal(exec(f, 1, e), 0x020);
	rw_cmd(f, e, false, 0, 1, f->data, 0);
	assert_int_equal(exec(f, 1, e), S_OK);
	cmd(f, e, 0x06, 1);
	nvme_sqe_prp(e, ADMIN_BUF, 0);
	assert_int_equal(exec(f, 0, e), S_OK);
	assert_int_equal(*(uint8_t *)hva(f, ADMIN_BUF + 99, 1), 1);
	fix_free(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TM(fn, m) \
	cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &(m))

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_registers),
		T(test_bad_enable),
		T(test_admin_queue_not_ram),
		T(test_shutdown),
		T(test_identify),
		T(test_queue_errors),
		T(test_features),
		T(test_log_pages),
		T(test_aer),
		TM(test_read_write, m_identity),
		TM(test_read_write, m_scatter),
		TM(test_read_write, m_uring),
		TM(test_flush_zeroes_dsm, m_identity),
		TM(test_flush_zeroes_dsm, m_scatter),
		T(test_io_errors),
		TM(test_sgl, m_identity),
		TM(test_sgl, m_scatter),
		TM(test_hostile_prp, m_identity),
		TM(test_cq_full, m_identity),
		TM(test_cq_full, m_scatter),
		TM(test_back_pressure, m_uring),
		T(test_back_pressure),
		T(test_interrupts),
		T(test_disable_in_flight),
		T(test_delete_sq_in_flight),
		T(test_shadow_doorbells),
		TM(test_read_write, m_kicks),
		TM(test_cq_full, m_kicks),
		TM(test_back_pressure, m_kicks),
		TM(test_interrupts, m_kicks),
		TM(test_disable_in_flight, m_kicks),
		TM(test_delete_sq_in_flight, m_kicks),
		TM(test_shadow_doorbells, m_kicks),
		TM(test_kick_ioeventfd_lifecycle, m_kicks),
		TM(test_kick_reset_in_flight, m_kicks),
		TM(test_threads, m_uring),
		TM(test_threads, m_identity),
		cmocka_unit_test(test_readonly),
	};

	return cmocka_run_group_tests_name("nvme", tests, NULL, NULL);
}
