// SPDX-License-Identifier: GPL-2.0
/*
 * The NVMe controller model on its own, deterministic: a driver that has
 * enabled it (admin queues of 64 entries, one I/O queue pair of 64 made
 * with Create I/O CQ/SQ) then submits the commands the input gives, 64
 * bytes each, to the admin or the I/O queue, with the PRP lists, SGL
 * segments and data they point at written into guest memory, register
 * writes (CC, AQA, doorbells of any queue) in between. The synchronous
 * back-end completes on this thread; completions are reaped and the
 * completion queues' heads given back as a driver would. The controller
 * has the PCI glue's sq_kick/sq_ioeventfd: a kicked "I/O thread" runs
 * before each reap, and an input may run it unasked, as an SQ doorbell
 * ioeventfd would (tails from the shadow buffer). The ioeventfd wishes
 * must stay consistent: asked only when they change, none left after a
 * reset.
 */
#include <stdlib.h>
#include <string.h>

#include "hw/nvme/nvme.h"
#include "kvm/dma.h"
#include "kvm/memory.h"
#include "util/log.h"

#include "fuzz.h"

#define RAM (1ull << 20)
#define DISK (1ull << 20)
#define QN 64u
#define ASQ 0x10000ull
#define ACQ 0x11000ull
#define IOSQ 0x12000ull
#define IOCQ 0x13000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem mem;
static struct dma_space dma;
static struct nvme_ctrl *n;

/* The driver's view of a queue pair. */
struct qp {
	uint64_t sq, cq;
	unsigned int qid, sq_tail, cq_head;
	bool phase;
};

static struct qp qps[2];

static void nop_notify(void *opaque, unsigned int vector)
{
}

static void nop_level(void *opaque, bool asserted)
{
}

static bool kicked;
static bool ioev[NVME_MAX_IOQ + 1];

static void kick(void *opaque, uint16_t qid)
{
	kicked = true;
}

static void ioeventfd(void *opaque, uint16_t qid, bool on)
{
	if (!qid || qid > NVME_MAX_IOQ || ioev[qid] == on)
		abort();
	ioev[qid] = on;
}

static const struct nvme_irq_ops irq_ops = {
	.notify = nop_notify,
	.set_level = nop_level,
	.sq_kick = kick,
	.sq_ioeventfd = ioeventfd,
};

static void reap(void)
{
	if (kicked) {
		kicked = false;
		nvme_process_doorbells(n);
	}
	nvme_process_completions(n);
	for (unsigned int i = 0; i < 2; i++) {
		struct qp *q = &qps[i];
		unsigned int moved = 0;
		uint16_t status;

		for (;;) {
			memcpy(&status,
			       gpa_to_hva(&mem, q->cq + 16 * q->cq_head + 14,
					  2),
			       2);
			if ((status & 1) != q->phase || moved++ >= QN)
				break;
			if (++q->cq_head == QN) {
				q->cq_head = 0;
				q->phase = !q->phase;
			}
		}
		if (moved > 1)
			nvme_mmio_write(n, NVME_DB_BASE + 8 * q->qid + 4,
					q->cq_head, 4);
	}
}

static void submit(struct qp *q, const void *cmd)
{
	memcpy(gpa_to_hva(&mem, q->sq + 64 * q->sq_tail, 64), cmd, 64);
	q->sq_tail = (q->sq_tail + 1) % QN;
	nvme_mmio_write(n, NVME_DB_BASE + 8 * q->qid, q->sq_tail, 4);
	reap();
}

static void create_io_queues(void)
{
	uint32_t c[16] = { 0 };

	/* Create I/O CQ 1 (PC, interrupts on vector 0), then SQ 1 on it. */
	c[0] = 0x05 | 1u << 16;
	memcpy(&c[6], &(uint64_t){ IOCQ }, 8);
	c[10] = (QN - 1) << 16 | 1;
	c[11] = 1 | 1u << 1;
	submit(&qps[0], c);
	memset(c, 0, sizeof(c));
	c[0] = 0x01 | 2u << 16;
	memcpy(&c[6], &(uint64_t){ IOSQ }, 8);
	c[10] = (QN - 1) << 16 | 1;
	c[11] = 1 | 1u << 16;
	submit(&qps[0], c);
}

static void build(void)
{
	struct nvme_config nc = { .name = "nvme-fuzz", .max_ioq = 2 };

	log_level = getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_QUIET;
	if (guest_mem_init(&mem, RAM, false))
		abort();
	dma_space_init_identity(&dma, &mem);
	n = nvme_create(&dma, fz_disk(DISK), &nc, &irq_ops, NULL);
	if (!n)
		abort();
	nvme_set_irq_mode(n, NVME_IRQ_MSIX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };

	if (!n)
		build();
	nvme_reset(n);
	for (unsigned int q = 0; q <= NVME_MAX_IOQ; q++)
		if (ioev[q])
			abort();
	kicked = false;
	memset(gpa_to_hva(&mem, 0, RAM), 0, RAM);
	qps[0] = (struct qp){ ASQ, ACQ, 0, 0, 0, true };
	qps[1] = (struct qp){ IOSQ, IOCQ, 1, 0, 0, true };
	nvme_mmio_write(n, 0x24, (QN - 1) << 16 | (QN - 1), 4); /* AQA */
	nvme_mmio_write(n, 0x28, ASQ, 8);
	nvme_mmio_write(n, 0x30, ACQ, 8);
	nvme_mmio_write(n, 0x14, 0x00460001, 4); /* CC: EN, 64/16 B */
	create_io_queues();

	while (!fz_done(&in)) {
		uint8_t op = fz_u8(&in), buf[64];
		uint64_t off;

		switch (op & 3) {
		case 0:
			/* A command; the CID is the driver's. */
			fz_bytes(&in, buf, 64);
			submit(&qps[(op >> 2) & 1], buf);
			break;
		case 1:
			/* PRP lists, SGL segments, data. */
			fz_mem_write(&mem, RAM, &in, 1 + (op >> 2) % 64);
			break;
		case 2:
			/* Any register or doorbell, any value. */
			off = fz_u16(&in) % NVME_BAR0_SIZE;
			nvme_mmio_write(n, off, fz_u32(&in),
					1u << ((op >> 2) & 3));
			(void)nvme_mmio_read(n, fz_u16(&in) % NVME_BAR0_SIZE,
					     4);
			break;
		default:
			/* An SQ doorbell ioeventfd: no value, a kick. */
			if (op & 4)
				kicked = true;
			reap();
			break;
		}
	}
	return 0;
}
