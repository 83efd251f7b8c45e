// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-mmio tests: a fake guest drives the transport the way Linux's
 * virtio_mmio driver does (vm_probe, vm_finalize_features, vm_setup_vq),
 * with virtio-rng and virtio-console behind it and a real I/O thread. No
 * KVM: ioeventfd and irqfd fail, so kicks take the register path and the
 * interrupt edges arrive through vm->irq_set; setup_rng_irqfd offers
 * irqfds through vm->irq_ops as KVM does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_console.h>
#include <linux/virtio_mmio.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi/aml.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "util/evloop.h"
#include "virtio/console.h"
#include "virtio/mmio.h"
#include "virtio/pmem.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"

#include "helpers/virtio_driver.h"

#define RAM_SIZE (64ull << 20)
#define BASE 0xd0000000ull
#define GSI 5
#define DESC_GPA 0x10000ull
#define AVAIL_GPA 0x11000ull
#define USED_GPA 0x12000ull
#define BUF_GPA 0x100000ull
#define QSIZE 16
/* Second queue's rings (console transmitq). */
#define Q1_OFF 0x4000ull

struct fix {
	struct vm vm;
	struct evloop *loop;
	struct virtio_mmio *m;
	struct virtio_dev *vdev;
	uint16_t avail_idx[2];
	int pipe[2]; /* console output */
	char pmem_path[64]; /* virtio-pmem's file */
};

/* ---- guest access ---- */

static uint32_t status(struct fix *f)
{
	return vd_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS);
}

static void desc(struct fix *f, unsigned int q, uint16_t i, uint64_t addr,
		 uint32_t len, uint16_t flags, uint16_t next)
{
	vd_desc(&f->vm, DESC_GPA + q * Q1_OFF, i, addr, len, flags, next);
}

static void avail(struct fix *f, unsigned int q, uint16_t head)
{
	vd_avail(&f->vm, AVAIL_GPA + q * Q1_OFF, QSIZE, &f->avail_idx[q], head);
}

static uint16_t used_idx(struct fix *f, unsigned int q)
{
	return vd_rd16(&f->vm, USED_GPA + q * Q1_OFF + 2);
}

static void kick(struct fix *f, unsigned int q)
{
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static bool used0_reached(struct fix *f, uintptr_t n)
{
	return used_idx(f, 0) == n;
}

static bool used1_reached(struct fix *f, uintptr_t n)
{
	return used_idx(f, 1) == n;
}

/* ---- the driver (Linux virtio_mmio) ---- */

static void reset(struct fix *f)
{
	vd_mmio_reset(&f->vm, BASE);
	f->avail_idx[0] = f->avail_idx[1] = 0;
	memset(vd_hva(&f->vm, 0, 0x20000), 0, 0x20000);
}

static bool negotiate(struct fix *f, uint64_t want)
{
	uint64_t offered;

	vd_mmio_ack(&f->vm, BASE);
	offered = vd_mmio_offered(&f->vm, BASE);
	/* vm_finalize_features insists on VERSION_1 for version 2. */
	assert_true(offered & F_VERSION_1);
	return vd_mmio_features_ok(&f->vm, BASE, want);
}

static void setup_queue(struct fix *f, unsigned int q)
{
	uint64_t off = q * Q1_OFF;

	vd_mmio_setup_queue(&f->vm, BASE, q, 256, QSIZE, DESC_GPA + off,
			    AVAIL_GPA + off, USED_GPA + off);
}

static void bring_up(struct fix *f, uint64_t features, unsigned int nq)
{
	reset(f);
	assert_true(negotiate(f, features));
	for (unsigned int q = 0; q < nq; q++)
		setup_queue(f, q);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(status(f), S_ALL);
}

static uint16_t post_rng(struct fix *f, uint16_t head, uint64_t gpa)
{
	memset(vd_hva(&f->vm, gpa, 64), 0, 64);
	desc(f, 0, head, gpa, 64, VIRTQ_DESC_F_WRITE, 0);
	avail(f, 0, head);
	kick(f, 0);
	return f->avail_idx[0];
}

static void check_random(struct fix *f, uint16_t slot, uint64_t gpa)
{
	static const uint8_t zero[64];

	assert_int_equal(vd_rd32(&f->vm, USED_GPA + 4 + 8 * slot + 4), 64);
	assert_memory_not_equal(vd_hva(&f->vm, gpa, 64), zero, 64);
}

/* ---- fixture ---- */

static struct fix *fix_new(void)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->loop = vd_vm_init(&f->vm, RAM_SIZE);
	f->pipe[0] = f->pipe[1] = -1;
	return f;
}

static int setup_rng(void **state)
{
	struct fix *f = fix_new();

	f->vdev = virtio_rng_create(&f->vm);
	assert_non_null(f->vdev);
	f->m = virtio_mmio_create(&f->vm, BASE, GSI, f->vdev, f->loop);
	assert_non_null(f->m);
	*state = f;
	return 0;
}

/* The irqfd half of vm->irq_ops: the line's eventfd, bound to GSI. */
static int line_efd = -1;

static int rec_irqfd_assign(void *opaque, int efd, unsigned int gsi)
{
	assert_int_equal(gsi, GSI);
	line_efd = efd;
	return 0;
}

static int rec_irqfd_deassign(void *opaque, int efd, unsigned int gsi)
{
	assert_int_equal(efd, line_efd);
	line_efd = -1;
	return 0;
}

static const struct irq_ops irqfd_ops = {
	.irqfd_assign = rec_irqfd_assign,
	.irqfd_deassign = rec_irqfd_deassign,
};

static int setup_rng_irqfd(void **state)
{
	struct fix *f = fix_new();

	f->vm.irq_ops = &irqfd_ops;
	f->vdev = virtio_rng_create(&f->vm);
	assert_non_null(f->vdev);
	f->m = virtio_mmio_create(&f->vm, BASE, GSI, f->vdev, f->loop);
	assert_non_null(f->m);
	*state = f;
	return 0;
}

static int setup_console(void **state)
{
	struct fix *f = fix_new();

	assert_int_equal(pipe2(f->pipe, O_CLOEXEC | O_NONBLOCK), 0);
	f->vdev = virtio_console_create(&f->vm, f->pipe[1]);
	assert_non_null(f->vdev);
	virtio_console_set_size(f->vdev, 80, 25);
	f->m = virtio_mmio_create(&f->vm, BASE, GSI, f->vdev, f->loop);
	assert_non_null(f->m);
	*state = f;
	return 0;
}

/* virtio-pmem over a 4 MiB file whose bytes count up, at PMEM_GPA. */
#define PMEM_GPA 0x140000000ull
#define PMEM_SIZE (4ull << 20)

static uint64_t place_pmem(void *opaque, uint64_t size)
{
	return PMEM_GPA;
}

static int setup_pmem(void **state)
{
	struct fix *f = fix_new();
	uint8_t buf[4096];
	int fd;

	strcpy(f->pmem_path, "/tmp/devisor-pmem-XXXXXX");
	fd = mkstemp(f->pmem_path);
	assert_true(fd >= 0);
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	for (uint64_t off = 0; off < PMEM_SIZE; off += sizeof(buf))
		assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	close(fd);
	f->vdev = virtio_pmem_create(&f->vm, f->pmem_path, false, place_pmem,
				     NULL);
	assert_non_null(f->vdev);
	f->m = virtio_mmio_create(&f->vm, BASE, GSI, f->vdev, f->loop);
	assert_non_null(f->m);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	if (f->pmem_path[0])
		unlink(f->pmem_path);
	vd_vm_destroy(&f->vm, f->loop);
	/* The transport never bound an irqfd (test_rng_irqfd). */
	assert_int_equal(line_efd, -1);
	if (f->pipe[0] >= 0) {
		close(f->pipe[0]);
		close(f->pipe[1]);
	}
	free(f);
	return 0;
}

/* ---- tests ---- */

static void test_identity(void **state)
{
	struct fix *f = *state;

	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_MAGIC_VALUE),
			 0x74726976);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_DEVICE_ID),
			 VIRTIO_ID_RNG);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_VENDOR_ID),
			 VIRTIO_MMIO_VENDOR);
	assert_string_equal(virtio_mmio_cmdline(f->m),
			    "virtio_mmio.device=4K@0xd0000000:5");
	/* No shared memory regions: length -1. */
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_SHM_SEL, 0);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_SHM_LEN_LOW),
			 0xffffffffu);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_SHM_LEN_HIGH),
			 0xffffffffu);
}

static void test_rng_end_to_end(void **state)
{
	struct fix *f = *state;
	uint16_t n;

	bring_up(f, F_VERSION_1, 1);
	n = post_rng(f, 0, BUF_GPA);
	assert_true(vd_wait_until(used0_reached, f, n));
	check_random(f, 0, BUF_GPA);
	assert_true(vd_wait_edges(GSI, 1));
	/* vm_interrupt: read the status, ack it. */
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_ACK,
		   VIRTIO_MMIO_INT_VRING);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	n = post_rng(f, 1, BUF_GPA + 0x1000);
	assert_true(vd_wait_until(used0_reached, f, n));
	check_random(f, 1, BUF_GPA + 0x1000);
	assert_true(vd_wait_edges(GSI, 2));
}

/*
 * An acknowledgement clears the events set when it is written, as in
 * QEMU: Linux handles its queues after the ACK, so it sees the request
 * that completes between its status read and its ACK then. An event
 * raised after the ACK stays set for the edge that comes with it.
 */
static void test_ack_order(void **state)
{
	struct fix *f = *state;
	uint16_t n;

	bring_up(f, F_VERSION_1, 1);
	n = post_rng(f, 0, BUF_GPA);
	assert_true(vd_wait_until(used0_reached, f, n));
	assert_true(vd_wait_edges(GSI, 1));
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING);
	/* Completes after that read, before the ACK. */
	n = post_rng(f, 1, BUF_GPA + 0x1000);
	assert_true(vd_wait_until(used0_reached, f, n));
	assert_true(vd_wait_edges(GSI, 2));
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_ACK,
		   VIRTIO_MMIO_INT_VRING);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* After the ACK: set, with its own edge. */
	n = post_rng(f, 0, BUF_GPA + 0x2000);
	assert_true(vd_wait_until(used0_reached, f, n));
	assert_true(vd_wait_edges(GSI, 3));
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING);
	/* An ACK of the other event leaves this one. */
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_ACK,
		   VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING);
	/* Values other than the three event sets, and repeats, are fine. */
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffffu);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_ACK, 3);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_ACK, 3);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

/*
 * KVM offers irqfds, but one bound to an IOAPIC pin injects from a
 * kworker: the line pulses through KVM_IRQ_LINE (irq_set) on the I/O
 * thread instead, and no irqfd is bound.
 */
static void test_rng_irqfd(void **state)
{
	struct fix *f = *state;
	uint16_t n;

	bring_up(f, F_VERSION_1, 1);
	n = post_rng(f, 0, BUF_GPA);
	assert_true(vd_wait_until(used0_reached, f, n));
	check_random(f, 0, BUF_GPA);
	assert_true(vd_wait_edges(GSI, 1));
	assert_int_equal(line_efd, -1);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING);
}

static void test_rng_packed_event_idx(void **state)
{
	struct fix *f = *state;
	uint64_t d = DESC_GPA;
	uint16_t flags;
	uint8_t *p;

	bring_up(f,
		 F_VERSION_1 | F_PACKED | (1ull << VIRTQ_F_EVENT_IDX) |
			 (1ull << VIRTQ_F_INDIRECT_DESC),
		 1);
	/* Packed descriptor: addr, len, id, flags (AVAIL = wrap 1). */
	memset(vd_hva(&f->vm, BUF_GPA, 64), 0, 64);
	p = vd_hva(&f->vm, d, 16);
	memcpy(p, &(uint64_t){ htole64(BUF_GPA) }, 8);
	memcpy(p + 8, &(uint32_t){ htole32(64) }, 4);
	memcpy(p + 12, &(uint16_t){ htole16(7) }, 2);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vd_wr16(&f->vm, d + 14, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_AVAIL);
	kick(f, 0);
	for (int i = 0; i < 5000; i++) {
		flags = vd_rd16(&f->vm, d + 14);
		if (flags & VIRTQ_DESC_F_USED)
			break;
		usleep(1000);
	}
	assert_true(flags & VIRTQ_DESC_F_USED);
	assert_true(flags & VIRTQ_DESC_F_AVAIL);
	assert_int_equal(vd_rd16(&f->vm, d + 12), 7);
	assert_int_equal(vd_rd32(&f->vm, d + 8), 64);
	assert_true(vd_wait_edges(GSI, 1));
}

static void test_feature_refusal(void **state)
{
	struct fix *f = *state;

	reset(f);
	assert_false(negotiate(f, F_VERSION_1 | (1ull << 7)));
	assert_int_equal(status(f), S_ACK | S_DRIVER);
	reset(f);
	assert_false(negotiate(f, 0));
	/* Queues cannot go live without negotiated features. */
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_SEL, 0);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY), 0);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS,
		   S_ACK | S_DRIVER | S_DRIVER_OK);
	assert_int_equal(status(f), S_ACK | S_DRIVER);
	reset(f);
	assert_true(negotiate(f, F_VERSION_1));
}

static void test_needs_reset_and_recovery(void **state)
{
	struct fix *f = *state;
	uint16_t n;

	bring_up(f, F_VERSION_1, 1);
	/* avail->idx jumps past the ring size. */
	vd_wr16(&f->vm, AVAIL_GPA + 2, QSIZE + 5);
	kick(f, 0);
	assert_true(vd_mmio_wait_status(&f->vm, BASE, S_NEEDS_RESET));
	assert_true(vd_wait_edges(GSI, 1));
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(used_idx(f, 0), 0);

	bring_up(f, F_VERSION_1, 1);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	n = post_rng(f, 0, BUF_GPA);
	assert_true(vd_wait_until(used0_reached, f, n));
	check_random(f, 0, BUF_GPA);
}

static void test_bad_accesses(void **state)
{
	struct fix *f = *state;

	reset(f);
	/*
	 * Registers are defined for aligned 32-bit accesses only. Other
	 * reads see the registers as little-endian memory, the same whether
	 * they exit or the guest reads the mapped page; writes are dropped.
	 */
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_MAGIC_VALUE, 1),
			 'v');
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_MAGIC_VALUE, 2),
			 0x6976);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_MAGIC_VALUE, 8),
			 (uint64_t)VIRTIO_MMIO_VERSION_2 << 32 |
				 VIRTIO_MMIO_MAGIC);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_MAGIC_VALUE + 1,
				    4),
			 VIRTIO_MMIO_VERSION_2 << 24 | VIRTIO_MMIO_MAGIC >> 8);
	vd_mmio_wr(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ACK, 1);
	vd_mmio_wr(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ACK, 2);
	vd_mmio_wr(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ACK, 8);
	vd_mmio_wr(&f->vm, BASE, VIRTIO_MMIO_STATUS + 2, S_ACK, 4);
	assert_int_equal(status(f), 0);
	for (uint64_t off = 0; off < VIRTIO_MMIO_SIZE; off += 0x3d)
		for (unsigned int sz = 1; sz <= 8; sz <<= 1) {
			(void)vd_mmio_rd(&f->vm, BASE, off, sz);
			vd_mmio_wr(&f->vm, BASE, off + 1, ~0ull, sz);
		}
	assert_int_equal(status(f), 0);

	/* QueueSel past the end: absent queue, writes ignored. */
	assert_true(negotiate(f, F_VERSION_1));
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_SEL, 9);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NUM, 8);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY), 0);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY, 0);
	kick(f, 9);
	kick(f, 0xffffffff);
	assert_int_equal(status(f), S_ACK | S_DRIVER | S_FEAT);

	/* A split ring of 3 entries cannot go live. */
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_SEL, 0);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NUM, 3);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(status(f) & S_NEEDS_RESET);

	/* QueueReady = 0 stops a queue (Linux vm_del_vq). */
	bring_up(f, F_VERSION_1, 1);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY), 0);
	post_rng(f, 0, BUF_GPA);
	usleep(50000);
	assert_int_equal(used_idx(f, 0), 0);
	/* rng has no config space: reads 0 at any width. */
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_CONFIG, 4), 0);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_CONFIG + 3, 1),
			 0);
}

static void test_vm_reset(void **state)
{
	struct fix *f = *state;

	bring_up(f, F_VERSION_1, 1);
	devices_reset(&f->vm);
	assert_int_equal(status(f), 0);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY), 0);
	bring_up(f, F_VERSION_1, 1);
	assert_true(vd_wait_until(used0_reached, f, post_rng(f, 0, BUF_GPA)));
}

static void test_dsdt(void **state)
{
	struct fix *f = *state;
	struct aml a;
	struct device_desc d = { .aml = &a };
	bool found = false;

	/* The transport describes itself, as the board's walk asks it to. */
	aml_init(&a);
	assert_int_equal(devices_describe(&f->vm, &d), 0);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.buf[0], 0x5b); /* a Device, nothing around it */
	assert_int_equal(a.buf[1], 0x82);
	for (size_t i = 0; i + 8 <= a.len; i++)
		found |= memcmp(a.buf + i, "LNRO0005", 8) == 0;
	assert_true(found);
	/* Memory32Fixed descriptor: tag 0x86, length 9, RW, base, size. */
	found = false;
	for (size_t i = 0; i + 12 <= a.len; i++) {
		uint32_t b, l;

		if (a.buf[i] != 0x86 || a.buf[i + 1] != 9)
			continue;
		memcpy(&b, a.buf + i + 4, 4);
		memcpy(&l, a.buf + i + 8, 4);
		found |= b == BASE && l == VIRTIO_MMIO_SIZE;
	}
	assert_true(found);
	aml_free(&a);
}

/* ---- console ---- */

static bool efd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 5000) == 1;
}

static void test_console_tx(void **state)
{
	struct fix *f = *state;
	char out[64] = { 0 };
	ssize_t n = 0;

	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_DEVICE_ID),
			 VIRTIO_ID_CONSOLE);
	assert_true(vd_reg(&f->vm, BASE, VIRTIO_MMIO_DEVICE_FEATURES) &
		    (1u << VIRTIO_CONSOLE_F_SIZE));
	bring_up(f,
		 F_VERSION_1 | (1ull << VIRTIO_CONSOLE_F_SIZE) |
			 (1ull << VIRTIO_CONSOLE_F_EMERG_WRITE),
		 2);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_CONFIG + 0, 2),
			 80);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_CONFIG + 2, 2),
			 25);

	/* "hello, " + "world" over two readable descriptors. */
	memcpy(vd_hva(&f->vm, BUF_GPA, 7), "hello, ", 7);
	memcpy(vd_hva(&f->vm, BUF_GPA + 0x100, 5), "world", 5);
	desc(f, 1, 0, BUF_GPA, 7, VIRTQ_DESC_F_NEXT, 1);
	desc(f, 1, 1, BUF_GPA + 0x100, 5, 0, 0);
	avail(f, 1, 0);
	kick(f, 1);
	assert_true(vd_wait_until(used1_reached, f, 1));
	for (int i = 0; i < 5000 && n < 12; i++) {
		ssize_t r = read(f->pipe[0], out + n, sizeof(out) - 1 - n);

		if (r > 0)
			n += r;
		else
			usleep(1000);
	}
	assert_string_equal(out, "hello, world");

	/* Emergency write: one byte through config space. */
	vd_mmio_wr(&f->vm, BASE, VIRTIO_MMIO_CONFIG + 8, '!', 4);
	assert_true(efd_readable(f->pipe[0]));
	assert_int_equal(read(f->pipe[0], out, 1), 1);
	assert_int_equal(out[0], '!');

	/* A resize bumps the generation and raises a config interrupt. */
	n = vd_reg(&f->vm, BASE, VIRTIO_MMIO_CONFIG_GENERATION);
	virtio_console_set_size(f->vdev, 132, 43);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_CONFIG_GENERATION),
			 n + 1);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_CONFIG + 0, 2),
			 132);
	assert_true(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_MMIO_INT_CONFIG);
}

static uint8_t tx_pattern(size_t i)
{
	return (uint8_t)(i * 13 + (i >> 8));
}

/*
 * A reader that does not read: the transmit queue stops being used while
 * the I/O thread goes on serving the device; once the reader reads, every
 * buffer is used and every byte arrives, in order.
 */
static void test_console_tx_backpressure(void **state)
{
	struct fix *f = *state;
	enum { CHUNK = 8192, TOTAL = QSIZE * CHUNK };
	static uint8_t got[TOTAL];
	int efd = virtio_console_rx_eventfd(f->vdev);
	size_t n = 0;
	uint16_t stalled;
	uint64_t cnt;

	assert_true(fcntl(f->pipe[1], F_SETPIPE_SZ, 4096) >= 4096);
	bring_up(f, F_VERSION_1, 2);
	for (size_t i = 0; i < TOTAL; i++)
		*(uint8_t *)vd_hva(&f->vm, BUF_GPA + i, 1) = tx_pattern(i);
	for (uint16_t i = 0; i < QSIZE; i++) {
		desc(f, 1, i, BUF_GPA + (uint64_t)i * CHUNK, CHUNK, 0, 0);
		avail(f, 1, i);
	}
	kick(f, 1);
	usleep(100000);
	stalled = used_idx(f, 1);
	assert_true(stalled > 0 && stalled < QSIZE);
	usleep(50000);
	assert_int_equal(used_idx(f, 1), stalled);

	/* The I/O thread still runs the device: a receive kick gets through. */
	assert_int_equal(
		virtio_console_receive(f->vdev, (const uint8_t *)"x", 1), 0);
	while (read(efd, &cnt, 8) == 8)
		;
	desc(f, 0, 0, BUF_GPA + TOTAL, 16, VIRTQ_DESC_F_WRITE, 0);
	avail(f, 0, 0);
	kick(f, 0);
	assert_true(efd_readable(efd));
	assert_int_equal(used_idx(f, 1), stalled);

	while (n < TOTAL && efd_readable(f->pipe[0])) {
		ssize_t r = read(f->pipe[0], got + n, TOTAL - n);

		if (r > 0)
			n += r;
	}
	assert_int_equal(n, TOTAL);
	for (size_t i = 0; i < TOTAL; i++)
		if (got[i] != tx_pattern(i))
			fail_msg("byte %zu: got %#x, want %#x", i, got[i],
				 tx_pattern(i));
	assert_true(vd_wait_until(used1_reached, f, QSIZE));
	for (uint16_t i = 0; i < QSIZE; i++)
		assert_int_equal(vd_rd32(&f->vm, USED_GPA + Q1_OFF + 4 + 8 * i),
				 i);
}

static void test_console_rx_backpressure(void **state)
{
	struct fix *f = *state;
	const uint8_t *msg = (const uint8_t *)"0123456789";
	int efd = virtio_console_rx_eventfd(f->vdev);
	uint64_t cnt;

	/* Before DRIVER_OK nothing is taken. */
	assert_int_equal(virtio_console_receive(f->vdev, msg, 10), 0);
	bring_up(f, F_VERSION_1, 2);
	/* activate() kicks the receive queue: the input is told to retry. */
	assert_true(efd_readable(efd));
	assert_int_equal(read(efd, &cnt, 8), 8);
	/* No receive buffers posted: back-pressure. */
	assert_int_equal(virtio_console_receive(f->vdev, msg, 10), 0);

	/* One 4-byte buffer: 4 bytes go in, the rest waits. */
	desc(f, 0, 0, BUF_GPA, 4, VIRTQ_DESC_F_WRITE, 0);
	avail(f, 0, 0);
	kick(f, 0);
	assert_true(efd_readable(efd));
	assert_int_equal(read(efd, &cnt, 8), 8);
	assert_int_equal(virtio_console_receive(f->vdev, msg, 10), 4);
	assert_int_equal(used_idx(f, 0), 1);
	assert_int_equal(vd_rd32(&f->vm, USED_GPA + 4 + 4), 4);
	assert_memory_equal(vd_hva(&f->vm, BUF_GPA, 4), "0123", 4);
	assert_true(vd_wait_edges(GSI, 1));

	/* Two more buffers take the remaining six bytes. */
	desc(f, 0, 1, BUF_GPA + 0x100, 4, VIRTQ_DESC_F_WRITE, 0);
	desc(f, 0, 2, BUF_GPA + 0x200, 16, VIRTQ_DESC_F_WRITE, 0);
	avail(f, 0, 1);
	avail(f, 0, 2);
	kick(f, 0);
	assert_true(efd_readable(efd));
	assert_int_equal(virtio_console_receive(f->vdev, msg + 4, 6), 6);
	assert_int_equal(used_idx(f, 0), 3);
	assert_memory_equal(vd_hva(&f->vm, BUF_GPA + 0x100, 4), "4567", 4);
	assert_memory_equal(vd_hva(&f->vm, BUF_GPA + 0x200, 2), "89", 2);
	assert_int_equal(vd_rd32(&f->vm, USED_GPA + 4 + 16 + 4), 2);
}

/*
 * Issue 12: a notification serves at most half a ring (128 buffers); the
 * rest waits for a kick the device sends itself, so a guest that keeps
 * refilling one ring cannot hold the I/O thread its other devices share.
 * The handler runs here under the device lock, so the I/O thread cannot
 * serve the self-kick before we look.
 */
#define BIGQ 256
#define BUDGET 128
#define POSTED 200

static bool used_reached_q(struct fix *f, uintptr_t qn)
{
	return used_idx(f, qn >> 16) == (qn & 0xffff);
}

static void budget_case(struct fix *f, unsigned int q, uint32_t len,
			uint16_t flags)
{
	uint64_t off = q * Q1_OFF;
	uint16_t idx = 0, used_now;

	reset(f);
	assert_true(negotiate(f, F_VERSION_1));
	for (unsigned int i = 0; i <= q; i++)
		vd_mmio_setup_queue(&f->vm, BASE, i, BIGQ, BIGQ,
				    DESC_GPA + i * Q1_OFF,
				    AVAIL_GPA + i * Q1_OFF,
				    USED_GPA + i * Q1_OFF);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(status(f), S_ALL);

	virtio_dev_lock(f->vdev);
	for (uint16_t i = 0; i < POSTED; i++) {
		vd_desc(&f->vm, DESC_GPA + off, i, BUF_GPA + i * 64ull, len,
			flags, 0);
		vd_avail(&f->vm, AVAIL_GPA + off, BIGQ, &idx, i);
	}
	f->vdev->ops->queue_notify(f->vdev, q);
	used_now = used_idx(f, q);
	virtio_dev_unlock(f->vdev);
	assert_int_equal(used_now, BUDGET);
	/* No guest kick: the device's own finishes the ring. */
	assert_true(
		vd_wait_until(used_reached_q, f, (uintptr_t)q << 16 | POSTED));
}

static void test_rng_budget(void **state)
{
	budget_case(*state, 0, 64, VIRTQ_DESC_F_WRITE);
	check_random(*state, POSTED - 1, BUF_GPA + (POSTED - 1) * 64ull);
}

static void test_console_tx_budget(void **state)
{
	struct fix *f = *state;
	char out[POSTED + 1];
	ssize_t got = 0, r;

	for (int i = 0; i < POSTED; i++)
		memset(vd_hva(&f->vm, BUF_GPA + i * 64ull, 1), 'a' + i % 26, 1);
	budget_case(f, 1, 1, 0);
	for (int i = 0; i < 5000 && got < POSTED; i++) {
		r = read(f->pipe[0], out + got, sizeof(out) - got);
		if (r > 0)
			got += r;
		else
			usleep(1000);
	}
	assert_int_equal(got, POSTED);
	for (int i = 0; i < POSTED; i++)
		assert_int_equal(out[i], 'a' + i % 26);
}

static bool needs_reset(struct fix *f, uintptr_t unused)
{
	return status(f) & S_NEEDS_RESET;
}

/*
 * A request of @type with @len readable bytes: the status word once used
 * (the request at BUF_GPA), or, with !@wait, once posted.
 */
static uint32_t pmem_request(struct fix *f, uint32_t type, uint32_t len,
			     bool wait)
{
	uint16_t n;

	vd_wr32(&f->vm, BUF_GPA, type);
	vd_wr32(&f->vm, BUF_GPA + 64, 0xdeadbeef);
	desc(f, 0, 0, BUF_GPA, len, VIRTQ_DESC_F_NEXT, 1);
	desc(f, 0, 1, BUF_GPA + 64, 4, VIRTQ_DESC_F_WRITE, 0);
	avail(f, 0, 0);
	kick(f, 0);
	n = f->avail_idx[0];
	if (wait)
		assert_true(vd_wait_until(used0_reached, f, n));
	return vd_rd32(&f->vm, BUF_GPA + 64);
}

/*
 * The range the configuration gives is the file's, reachable for other
 * devices' DMA; a flush answers 0, another type 1 (EIO); a request too
 * short for its type breaks the device, not devisor.
 */
static void test_pmem(void **state)
{
	struct fix *f = *state;
	uint8_t *p;

	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_DEVICE_ID),
			 VIRTIO_ID_PMEM);
	reset(f);
	assert_true(negotiate(f, F_VERSION_1));
	vd_mmio_setup_queue(&f->vm, BASE, 0, 64, QSIZE, DESC_GPA, AVAIL_GPA,
			    USED_GPA);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(status(f), S_ALL);
	assert_int_equal(vd_reg(&f->vm, BASE, 0x100), (uint32_t)PMEM_GPA);
	assert_int_equal(vd_reg(&f->vm, BASE, 0x104), PMEM_GPA >> 32);
	assert_int_equal(vd_reg(&f->vm, BASE, 0x108), PMEM_SIZE);
	assert_int_equal(vd_reg(&f->vm, BASE, 0x10c), 0);
	p = gpa_to_hva(&f->vm.mem, PMEM_GPA + PMEM_SIZE - 4096, 4096);
	assert_non_null(p);
	assert_int_equal(p[5], 5);
	assert_null(gpa_to_hva(&f->vm.mem, PMEM_GPA + PMEM_SIZE - 4096, 4097));
	p[0] = 0x5a; /* a guest store: MAP_SHARED, so the file has it */
	assert_int_equal(pmem_request(f, 0, 4, true), 0);
	assert_int_equal(pmem_request(f, 7, 4, true), 1);
	assert_false(status(f) & S_NEEDS_RESET);
	pmem_request(f, 0, 2, false);
	assert_true(vd_wait_until(needs_reset, f, 0));
	{
		FILE *fp = fopen(f->pmem_path, "rb");
		uint8_t b[8];

		assert_non_null(fp);
		assert_int_equal(fseek(fp, PMEM_SIZE - 4096, SEEK_SET), 0);
		assert_int_equal(fread(b, 1, 8, fp), 8);
		fclose(fp);
		assert_int_equal(b[0], 0x5a);
		assert_int_equal(b[5], 5);
	}
}

static uint64_t place_none(void *opaque, uint64_t size)
{
	return 0;
}

static uint64_t place_odd(void *opaque, uint64_t size)
{
	return PMEM_GPA + 4096;
}

/* Files virtio-pmem refuses, each with its reason. */
static void test_pmem_bad_files(void **state)
{
	char path[] = "/tmp/devisor-pmem-XXXXXX", err[256];
	int fd = mkstemp(path);
	struct vm vm;

	vm_init_common(&vm);

	assert_true(fd >= 0);
	assert_int_equal(virtio_pmem_file_size(path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "whole number of 2 MiB"));
	assert_int_equal(ftruncate(fd, 3 << 20), 0);
	assert_int_equal(virtio_pmem_file_size(path, err, sizeof(err)), 0);
	assert_int_equal(ftruncate(fd, 4 << 20), 0);
	assert_int_equal(virtio_pmem_file_size(path, err, sizeof(err)),
			 4 << 20);
	assert_int_equal(virtio_pmem_check(path, 2 << 20, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not the 2097152 asked for"));
	assert_int_equal(virtio_pmem_check(path, 4 << 20, err, sizeof(err)),
			 4 << 20);
	/* No room on the board, or a place not 2 MiB aligned: no device. */
	errno = 0;
	assert_null(virtio_pmem_create(&vm, path, false, place_none, NULL));
	assert_int_equal(errno, ENOSPC);
	assert_null(virtio_pmem_create(&vm, path, false, place_odd, NULL));
	assert_int_equal(errno, EINVAL);
	/* Sized by the fd it opens: a file cut to 3 MiB is refused there. */
	assert_int_equal(ftruncate(fd, 3 << 20), 0);
	assert_null(virtio_pmem_create(&vm, path, false, place_pmem, NULL));
	assert_int_equal(errno, EINVAL);
	close(fd);
	unlink(path);
	assert_int_equal(virtio_pmem_file_size(path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_rng, teardown)
#define C(fn) cmocka_unit_test_setup_teardown(fn, setup_console, teardown)
		T(test_identity),
		T(test_rng_end_to_end),
		T(test_ack_order),
		cmocka_unit_test_setup_teardown(test_rng_irqfd, setup_rng_irqfd,
						teardown),
		T(test_rng_packed_event_idx),
		T(test_feature_refusal),
		T(test_needs_reset_and_recovery),
		T(test_bad_accesses),
		T(test_vm_reset),
		T(test_dsdt),
		C(test_console_tx),
		C(test_console_tx_backpressure),
		C(test_console_rx_backpressure),
		T(test_rng_budget),
		C(test_console_tx_budget),
		cmocka_unit_test_setup_teardown(test_pmem, setup_pmem,
						teardown),
		cmocka_unit_test(test_pmem_bad_files),
#undef T
#undef C
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
