// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-mmio tests: a fake guest drives the transport the way Linux's
 * virtio_mmio driver does (vm_probe, vm_finalize_features, vm_setup_vq),
 * with virtio-rng and virtio-console behind it and a real I/O thread. No
 * KVM: ioeventfd and irqfd fail, so kicks take the register path and the
 * interrupt edges arrive through vm->irq_set.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <fcntl.h>
#include <linux/virtio_console.h>
#include <linux/virtio_mmio.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/aml.h"
#include "arch/x86/layout.h"
#include "kvm/vm.h"
#include "util/evloop.h"
#include "virtio/console.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"

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

#define F_VERSION_1 (1ull << VIRTIO_F_VERSION_1)
#define F_PACKED (1ull << VIRTIO_F_RING_PACKED)
#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER VIRTIO_CONFIG_S_DRIVER
#define S_FEAT VIRTIO_CONFIG_S_FEATURES_OK
#define S_DRIVER_OK VIRTIO_CONFIG_S_DRIVER_OK
#define S_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define S_ALL (S_ACK | S_DRIVER | S_FEAT | S_DRIVER_OK)

struct fix {
	struct vm vm;
	struct evloop *loop;
	struct virtio_mmio *m;
	struct virtio_dev *vdev;
	uint16_t avail_idx[2];
	int pipe[2]; /* console output */
};

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int edges[64];
static int last_level[64];

static void rec_irq(struct vm *vm, unsigned int gsi, int level)
{
	pthread_mutex_lock(&rec_lock);
	if (gsi < 64) {
		if (level && !last_level[gsi])
			edges[gsi]++;
		last_level[gsi] = level;
	}
	pthread_mutex_unlock(&rec_lock);
}

static unsigned int nr_edges(void)
{
	unsigned int n;

	pthread_mutex_lock(&rec_lock);
	n = edges[GSI];
	pthread_mutex_unlock(&rec_lock);
	return n;
}

/* ---- guest access ---- */

static uint64_t rd(struct fix *f, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	bus_read(&f->vm.mmio, BASE + off, &v, size);
	return v;
}

static void wr(struct fix *f, uint64_t off, uint64_t v, unsigned int size)
{
	bus_write(&f->vm.mmio, BASE + off, &v, size);
}

static uint32_t reg(struct fix *f, uint64_t off)
{
	return rd(f, off, 4);
}

static void set_reg(struct fix *f, uint64_t off, uint32_t v)
{
	wr(f, off, v, 4);
}

static uint32_t status(struct fix *f)
{
	return reg(f, VIRTIO_MMIO_STATUS);
}

static void *hva(struct fix *f, uint64_t gpa, uint64_t len)
{
	void *p = gpa_to_hva(&f->vm.mem, gpa, len);

	assert_non_null(p);
	return p;
}

static void wr16(struct fix *f, uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	memcpy(hva(f, gpa, 2), &v, 2);
}

static uint16_t rd16(struct fix *f, uint64_t gpa)
{
	uint16_t v;

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	memcpy(&v, hva(f, gpa, 2), 2);
	return le16toh(v);
}

static uint32_t rd32(struct fix *f, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, hva(f, gpa, 4), 4);
	return le32toh(v);
}

static void desc(struct fix *f, unsigned int q, uint16_t i, uint64_t addr,
		 uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = hva(f, DESC_GPA + q * Q1_OFF + 16ull * i, 16);
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t fl = htole16(flags), n = htole16(next);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &fl, 2);
	memcpy(p + 14, &n, 2);
}

static void avail(struct fix *f, unsigned int q, uint16_t head)
{
	uint64_t ring = AVAIL_GPA + q * Q1_OFF;

	wr16(f, ring + 4 + 2 * (f->avail_idx[q] % QSIZE), head);
	f->avail_idx[q]++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr16(f, ring + 2, f->avail_idx[q]);
}

static uint16_t used_idx(struct fix *f, unsigned int q)
{
	return rd16(f, USED_GPA + q * Q1_OFF + 2);
}

static void kick(struct fix *f, unsigned int q)
{
	set_reg(f, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static bool wait_until(bool (*cond)(struct fix *, uintptr_t), struct fix *f,
		       uintptr_t arg)
{
	for (int i = 0; i < 5000; i++) {
		if (cond(f, arg))
			return true;
		usleep(1000);
	}
	return cond(f, arg);
}

static bool used0_reached(struct fix *f, uintptr_t n)
{
	return used_idx(f, 0) == n;
}

static bool used1_reached(struct fix *f, uintptr_t n)
{
	return used_idx(f, 1) == n;
}

static bool status_has(struct fix *f, uintptr_t bits)
{
	return (status(f) & bits) == bits;
}

static bool edges_reached(struct fix *f, uintptr_t n)
{
	return nr_edges() >= n;
}

/* ---- the driver (Linux virtio_mmio) ---- */

static void reset(struct fix *f)
{
	set_reg(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(status(f), 0);
	f->avail_idx[0] = f->avail_idx[1] = 0;
	memset(hva(f, 0, 0x20000), 0, 0x20000);
}

static bool negotiate(struct fix *f, uint64_t want)
{
	uint64_t offered;

	set_reg(f, VIRTIO_MMIO_STATUS, S_ACK);
	set_reg(f, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
	set_reg(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)reg(f, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	set_reg(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered |= reg(f, VIRTIO_MMIO_DEVICE_FEATURES);
	/* vm_finalize_features insists on VERSION_1 for version 2. */
	assert_true(offered & F_VERSION_1);
	set_reg(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	set_reg(f, VIRTIO_MMIO_DRIVER_FEATURES, want >> 32);
	set_reg(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	set_reg(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	set_reg(f, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT);
	return status(f) & S_FEAT;
}

static void setup_queue(struct fix *f, unsigned int q)
{
	uint64_t off = q * Q1_OFF;

	set_reg(f, VIRTIO_MMIO_QUEUE_SEL, q);
	/* "Queue shouldn't already be set up." */
	assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	set_reg(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	set_reg(f, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA + off);
	set_reg(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	set_reg(f, VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL_GPA + off);
	set_reg(f, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	set_reg(f, VIRTIO_MMIO_QUEUE_USED_LOW, USED_GPA + off);
	set_reg(f, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	set_reg(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_READY), 1);
}

static void bring_up(struct fix *f, uint64_t features, unsigned int nq)
{
	reset(f);
	assert_true(negotiate(f, features));
	for (unsigned int q = 0; q < nq; q++)
		setup_queue(f, q);
	set_reg(f, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(status(f), S_ALL);
}

static uint16_t post_rng(struct fix *f, uint16_t head, uint64_t gpa)
{
	memset(hva(f, gpa, 64), 0, 64);
	desc(f, 0, head, gpa, 64, VIRTQ_DESC_F_WRITE, 0);
	avail(f, 0, head);
	kick(f, 0);
	return f->avail_idx[0];
}

static void check_random(struct fix *f, uint16_t slot, uint64_t gpa)
{
	static const uint8_t zero[64];

	assert_int_equal(rd32(f, USED_GPA + 4 + 8 * slot + 4), 64);
	assert_memory_not_equal(hva(f, gpa, 64), zero, 64);
}

/* ---- fixture ---- */

static struct fix *fix_new(void)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	memset(edges, 0, sizeof(edges));
	memset(last_level, 0, sizeof(last_level));
	vm_init_common(&f->vm);
	f->vm.irq_set = rec_irq;
	assert_int_equal(guest_mem_init(&f->vm.mem, RAM_SIZE, PCI_HOLE_START,
					PCI_HOLE_END),
			 0);
	f->loop = evloop_create("test-io");
	assert_non_null(f->loop);
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

static int teardown(void **state)
{
	struct fix *f = *state;

	devices_destroy(&f->vm);
	evloop_destroy(f->loop);
	vm_destroy(&f->vm);
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

	assert_int_equal(reg(f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(reg(f, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(reg(f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(reg(f, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_string_equal(virtio_mmio_cmdline(f->m),
			    "virtio_mmio.device=4K@0xd0000000:5");
	/* No shared memory regions: length -1. */
	set_reg(f, VIRTIO_MMIO_SHM_SEL, 0);
	assert_int_equal(reg(f, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
	assert_int_equal(reg(f, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffffu);
}

static void test_rng_end_to_end(void **state)
{
	struct fix *f = *state;
	uint16_t n;

	bring_up(f, F_VERSION_1, 1);
	n = post_rng(f, 0, BUF_GPA);
	assert_true(wait_until(used0_reached, f, n));
	check_random(f, 0, BUF_GPA);
	assert_true(wait_until(edges_reached, f, 1));
	/* vm_interrupt: read the status, ack it. */
	assert_int_equal(reg(f, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING);
	set_reg(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(reg(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	n = post_rng(f, 1, BUF_GPA + 0x1000);
	assert_true(wait_until(used0_reached, f, n));
	check_random(f, 1, BUF_GPA + 0x1000);
	assert_true(wait_until(edges_reached, f, 2));
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
	memset(hva(f, BUF_GPA, 64), 0, 64);
	p = hva(f, d, 16);
	memcpy(p, &(uint64_t){ htole64(BUF_GPA) }, 8);
	memcpy(p + 8, &(uint32_t){ htole32(64) }, 4);
	memcpy(p + 12, &(uint16_t){ htole16(7) }, 2);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr16(f, d + 14, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_AVAIL);
	kick(f, 0);
	for (int i = 0; i < 5000; i++) {
		flags = rd16(f, d + 14);
		if (flags & VIRTQ_DESC_F_USED)
			break;
		usleep(1000);
	}
	assert_true(flags & VIRTQ_DESC_F_USED);
	assert_true(flags & VIRTQ_DESC_F_AVAIL);
	assert_int_equal(rd16(f, d + 12), 7);
	assert_int_equal(rd32(f, d + 8), 64);
	assert_true(wait_until(edges_reached, f, 1));
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
	set_reg(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	set_reg(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	set_reg(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_READY), 0);
	set_reg(f, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
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
	wr16(f, AVAIL_GPA + 2, QSIZE + 5);
	kick(f, 0);
	assert_true(wait_until(status_has, f, S_NEEDS_RESET));
	assert_true(wait_until(edges_reached, f, 1));
	assert_int_equal(reg(f, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(used_idx(f, 0), 0);

	bring_up(f, F_VERSION_1, 1);
	assert_int_equal(reg(f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	n = post_rng(f, 0, BUF_GPA);
	assert_true(wait_until(used0_reached, f, n));
	check_random(f, 0, BUF_GPA);
}

static void test_bad_accesses(void **state)
{
	struct fix *f = *state;

	reset(f);
	/* Registers take aligned 32-bit accesses only. */
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE, 1), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE, 8), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE + 1, 4), 0);
	wr(f, VIRTIO_MMIO_STATUS, S_ACK, 1);
	wr(f, VIRTIO_MMIO_STATUS, S_ACK, 2);
	wr(f, VIRTIO_MMIO_STATUS, S_ACK, 8);
	wr(f, VIRTIO_MMIO_STATUS + 2, S_ACK, 4);
	assert_int_equal(status(f), 0);
	for (uint64_t off = 0; off < VIRTIO_MMIO_SIZE; off += 0x3d)
		for (unsigned int sz = 1; sz <= 8; sz <<= 1) {
			(void)rd(f, off, sz);
			wr(f, off + 1, ~0ull, sz);
		}
	assert_int_equal(status(f), 0);

	/* QueueSel past the end: absent queue, writes ignored. */
	assert_true(negotiate(f, F_VERSION_1));
	set_reg(f, VIRTIO_MMIO_QUEUE_SEL, 9);
	assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	set_reg(f, VIRTIO_MMIO_QUEUE_NUM, 8);
	set_reg(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_READY), 0);
	set_reg(f, VIRTIO_MMIO_QUEUE_READY, 0);
	kick(f, 9);
	kick(f, 0xffffffff);
	assert_int_equal(status(f), S_ACK | S_DRIVER | S_FEAT);

	/* A split ring of 3 entries cannot go live. */
	set_reg(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	set_reg(f, VIRTIO_MMIO_QUEUE_NUM, 3);
	set_reg(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(status(f) & S_NEEDS_RESET);

	/* QueueReady = 0 stops a queue (Linux vm_del_vq). */
	bring_up(f, F_VERSION_1, 1);
	set_reg(f, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_READY), 0);
	post_rng(f, 0, BUF_GPA);
	usleep(50000);
	assert_int_equal(used_idx(f, 0), 0);
	/* rng has no config space: reads 0 at any width. */
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG, 4), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 3, 1), 0);
}

static void test_vm_reset(void **state)
{
	struct fix *f = *state;

	bring_up(f, F_VERSION_1, 1);
	devices_reset(&f->vm);
	assert_int_equal(status(f), 0);
	set_reg(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(reg(f, VIRTIO_MMIO_QUEUE_READY), 0);
	bring_up(f, F_VERSION_1, 1);
	assert_true(wait_until(used0_reached, f, post_rng(f, 0, BUF_GPA)));
}

static void test_dsdt(void **state)
{
	struct fix *f = *state;
	struct acpi_dsdt_hook hook = virtio_mmio_dsdt_hook(f->m);
	struct aml a;
	bool found = false;

	aml_init(&a);
	assert_int_equal(hook.build(&a, hook.opaque), 0);
	assert_int_equal(aml_finish(&a), 0);
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

static void test_console_tx(void **state)
{
	struct fix *f = *state;
	char out[64] = { 0 };
	ssize_t n = 0;

	assert_int_equal(reg(f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	assert_true(reg(f, VIRTIO_MMIO_DEVICE_FEATURES) &
		    (1u << VIRTIO_CONSOLE_F_SIZE));
	bring_up(f,
		 F_VERSION_1 | (1ull << VIRTIO_CONSOLE_F_SIZE) |
			 (1ull << VIRTIO_CONSOLE_F_EMERG_WRITE),
		 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 0, 2), 80);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 2, 2), 25);

	/* "hello, " + "world" over two readable descriptors. */
	memcpy(hva(f, BUF_GPA, 7), "hello, ", 7);
	memcpy(hva(f, BUF_GPA + 0x100, 5), "world", 5);
	desc(f, 1, 0, BUF_GPA, 7, VIRTQ_DESC_F_NEXT, 1);
	desc(f, 1, 1, BUF_GPA + 0x100, 5, 0, 0);
	avail(f, 1, 0);
	kick(f, 1);
	assert_true(wait_until(used1_reached, f, 1));
	for (int i = 0; i < 5000 && n < 12; i++) {
		ssize_t r = read(f->pipe[0], out + n, sizeof(out) - 1 - n);

		if (r > 0)
			n += r;
		else
			usleep(1000);
	}
	assert_string_equal(out, "hello, world");

	/* Emergency write: one byte through config space. */
	wr(f, VIRTIO_MMIO_CONFIG + 8, '!', 4);
	assert_int_equal(read(f->pipe[0], out, 1), 1);
	assert_int_equal(out[0], '!');

	/* A resize bumps the generation and raises a config interrupt. */
	n = reg(f, VIRTIO_MMIO_CONFIG_GENERATION);
	virtio_console_set_size(f->vdev, 132, 43);
	assert_int_equal(reg(f, VIRTIO_MMIO_CONFIG_GENERATION), n + 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 0, 2), 132);
	assert_true(reg(f, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_MMIO_INT_CONFIG);
}

static bool efd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 5000) == 1;
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
	assert_int_equal(rd32(f, USED_GPA + 4 + 4), 4);
	assert_memory_equal(hva(f, BUF_GPA, 4), "0123", 4);
	assert_true(wait_until(edges_reached, f, 1));

	/* Two more buffers take the remaining six bytes. */
	desc(f, 0, 1, BUF_GPA + 0x100, 4, VIRTQ_DESC_F_WRITE, 0);
	desc(f, 0, 2, BUF_GPA + 0x200, 16, VIRTQ_DESC_F_WRITE, 0);
	avail(f, 0, 1);
	avail(f, 0, 2);
	kick(f, 0);
	assert_true(efd_readable(efd));
	assert_int_equal(virtio_console_receive(f->vdev, msg + 4, 6), 6);
	assert_int_equal(used_idx(f, 0), 3);
	assert_memory_equal(hva(f, BUF_GPA + 0x100, 4), "4567", 4);
	assert_memory_equal(hva(f, BUF_GPA + 0x200, 2), "89", 2);
	assert_int_equal(rd32(f, USED_GPA + 4 + 16 + 4), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_rng, teardown)
#define C(fn) cmocka_unit_test_setup_teardown(fn, setup_console, teardown)
		T(test_identity),
		T(test_rng_end_to_end),
		T(test_rng_packed_event_idx),
		T(test_feature_refusal),
		T(test_needs_reset_and_recovery),
		T(test_bad_accesses),
		T(test_vm_reset),
		T(test_dsdt),
		C(test_console_tx),
		C(test_console_rx_backpressure),
#undef T
#undef C
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
