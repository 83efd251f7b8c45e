// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-pci tests: a fake guest drives the transport the way Linux's
 * virtio_pci_modern does (caps, reset, ACK, DRIVER, features, FEATURES_OK,
 * queue setup, DRIVER_OK), with virtio-rng behind it and a real I/O thread.
 * There is no KVM: ioeventfds fail, so kicks take the register path; INTx
 * arrives through vm->irq_set, MSI-X through vm->irq_ops, a recorder that
 * reads the irqfds as KVM would (or refuses routes, for the fallback).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <linux/virtio_pci.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "arch/x86/machine.h"
#include "kvm/vm.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "util/evloop.h"
#include "virtio/pci.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"

#include "helpers/virtio_driver.h"

#define RAM_SIZE (64ull << 20)
#define DESC_GPA 0x10000ull
#define AVAIL_GPA 0x11000ull
#define USED_GPA 0x12000ull
#define BUF_GPA 0x100000ull
#define QSIZE 16
#define MSI_ADDR 0xfee00000ull

struct fix {
	struct vm vm;
	struct pci_host host;
	struct evloop *loop;
	struct virtio_pci *vp;
	unsigned int devfn;
	uint64_t bar; /* BAR 4 */
	uint64_t msix_bar;
	/* From the capabilities, as a driver finds them. */
	uint32_t common, isr, notify, device;
	uint32_t notify_mult;
	unsigned int pcicfg, msix_cap;
	unsigned int caps_seen;
	uint16_t avail_idx;
};

/* Written by the I/O thread, read by the test. */
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static int irq_level[64];
static struct {
	uint64_t addr;
	uint32_t data;
} msgs[256];
static unsigned int nr_msgs;

/* The KVM side of vm->irq_ops: GSI 24 + i is routes[i]. */
#define NR_ROUTES 64
static bool routes_fail;
static struct {
	bool used;
	uint64_t addr;
	uint32_t data;
	int efd; /* bound irqfd, or -1 */
} routes[NR_ROUTES];
static unsigned int irqfd_msgs; /* how many came by irqfd */

static void rec_msi(void *opaque, uint64_t addr, uint32_t data);

/* rec_lock held. What KVM injected from each irqfd since last time. */
static void collect_irqfds(void)
{
	uint64_t cnt;

	for (unsigned int g = 0; g < NR_ROUTES; g++) {
		if (!routes[g].used || routes[g].efd < 0 ||
		    read(routes[g].efd, &cnt, sizeof(cnt)) != sizeof(cnt))
			continue;
		for (; cnt && nr_msgs < 256; cnt--, irqfd_msgs++) {
			msgs[nr_msgs].addr = routes[g].addr;
			msgs[nr_msgs].data = routes[g].data;
			nr_msgs++;
		}
	}
}

static int rec_route_add(void *opaque, uint64_t addr, uint32_t data)
{
	int gsi = -ENOSPC;

	if (routes_fail)
		return -ENOSYS;
	pthread_mutex_lock(&rec_lock);
	for (unsigned int g = 0; g < NR_ROUTES; g++) {
		if (!routes[g].used) {
			routes[g].used = true;
			routes[g].addr = addr;
			routes[g].data = data;
			routes[g].efd = -1;
			gsi = 24 + g;
			break;
		}
	}
	pthread_mutex_unlock(&rec_lock);
	return gsi;
}

static int rec_route_update(void *opaque, unsigned int gsi, uint64_t addr,
			    uint32_t data)
{
	pthread_mutex_lock(&rec_lock);
	collect_irqfds();
	routes[gsi - 24].addr = addr;
	routes[gsi - 24].data = data;
	pthread_mutex_unlock(&rec_lock);
	return 0;
}

static void rec_route_remove(void *opaque, unsigned int gsi)
{
	pthread_mutex_lock(&rec_lock);
	routes[gsi - 24].used = false;
	pthread_mutex_unlock(&rec_lock);
}

static int rec_irqfd(void *opaque, int efd, unsigned int gsi, bool assign)
{
	pthread_mutex_lock(&rec_lock);
	collect_irqfds();
	routes[gsi - 24].efd = assign ? efd : -1;
	pthread_mutex_unlock(&rec_lock);
	return 0;
}

static int rec_irqfd_assign(void *opaque, int efd, unsigned int gsi)
{
	return rec_irqfd(opaque, efd, gsi, true);
}

static int rec_irqfd_deassign(void *opaque, int efd, unsigned int gsi)
{
	return rec_irqfd(opaque, efd, gsi, false);
}

static int rec_signal_msi(void *opaque, uint64_t addr, uint32_t data)
{
	rec_msi(opaque, addr, data);
	return 0;
}

static const struct irq_ops rec_ops = {
	.route_add = rec_route_add,
	.route_update = rec_route_update,
	.route_remove = rec_route_remove,
	.irqfd_assign = rec_irqfd_assign,
	.irqfd_deassign = rec_irqfd_deassign,
	.signal_msi = rec_signal_msi,
};

static void rec_irq(struct vm *vm, unsigned int gsi, int level)
{
	pthread_mutex_lock(&rec_lock);
	if (gsi < 64)
		irq_level[gsi] = level;
	pthread_mutex_unlock(&rec_lock);
}

static void rec_msi(void *opaque, uint64_t addr, uint32_t data)
{
	pthread_mutex_lock(&rec_lock);
	if (nr_msgs < 256) {
		msgs[nr_msgs].addr = addr;
		msgs[nr_msgs].data = data;
		nr_msgs++;
	}
	pthread_mutex_unlock(&rec_lock);
}

static int level(unsigned int gsi)
{
	int l;

	pthread_mutex_lock(&rec_lock);
	l = irq_level[gsi];
	pthread_mutex_unlock(&rec_lock);
	return l;
}

static unsigned int msgs_with(uint32_t data)
{
	unsigned int n = 0;

	pthread_mutex_lock(&rec_lock);
	collect_irqfds();
	for (unsigned int i = 0; i < nr_msgs; i++)
		n += msgs[i].data == data && msgs[i].addr == MSI_ADDR;
	pthread_mutex_unlock(&rec_lock);
	return n;
}

/* ---- guest access ---- */

static uint32_t cfg_rd(struct fix *f, unsigned int reg, unsigned int size)
{
	uint64_t v = 0;

	bus_read(&f->vm.mmio, PCI_ECAM_BASE + (f->devfn << 12) + reg, &v, size);
	return v;
}

static void cfg_wr(struct fix *f, unsigned int reg, uint32_t v,
		   unsigned int size)
{
	bus_write(&f->vm.mmio, PCI_ECAM_BASE + (f->devfn << 12) + reg, &v,
		  size);
}

static uint64_t rd(struct fix *f, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	bus_read(&f->vm.mmio, f->bar + off, &v, size);
	return v;
}

static void wr(struct fix *f, uint64_t off, uint64_t v, unsigned int size)
{
	bus_write(&f->vm.mmio, f->bar + off, &v, size);
}

static uint64_t common_rd(struct fix *f, unsigned int reg, unsigned int size)
{
	return rd(f, f->common + reg, size);
}

static void common_wr(struct fix *f, unsigned int reg, uint64_t v,
		      unsigned int size)
{
	wr(f, f->common + reg, v, size);
}

static uint8_t status(struct fix *f)
{
	return common_rd(f, VIRTIO_PCI_COMMON_STATUS, 1);
}

static void set_status(struct fix *f, uint8_t s)
{
	common_wr(f, VIRTIO_PCI_COMMON_STATUS, s, 1);
}

static void desc(struct fix *f, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	vd_desc(&f->vm, DESC_GPA, i, addr, len, flags, next);
}

static void avail(struct fix *f, uint16_t head)
{
	vd_avail(&f->vm, AVAIL_GPA, QSIZE, &f->avail_idx, head);
}

static uint16_t used_idx(struct fix *f)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return vd_rd16(&f->vm, USED_GPA + 2);
}

static void kick(struct fix *f, uint16_t q)
{
	uint16_t off;

	common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
	off = common_rd(f, VIRTIO_PCI_COMMON_Q_NOFF, 2);
	/* Linux: iowrite16(queue index, notify base + off * multiplier). */
	wr(f, f->notify + off * f->notify_mult, q, 2);
}

static bool used_reached(struct fix *f, uintptr_t n)
{
	return used_idx(f) == n;
}

static bool status_has(struct fix *f, uintptr_t bits)
{
	return (status(f) & bits) == bits;
}

static bool msi_seen(struct fix *f, uintptr_t data)
{
	return msgs_with(data) > 0;
}

static bool pba_set(struct fix *f, uintptr_t vector)
{
	return msix_is_pending(virtio_pci_pdev(f->vp)->msix, vector);
}

static unsigned int intx_gsi(struct fix *f)
{
	return pci_host_intx_gsi(&f->host, PCI_SLOT(f->devfn), 1);
}

static bool intx_up(struct fix *f, uintptr_t unused)
{
	return level(intx_gsi(f)) == 1;
}

/* ---- the driver ---- */

static void find_caps(struct fix *f)
{
	unsigned int pos = cfg_rd(f, PCI_CAPABILITY_LIST, 1);
	int guard = 48;

	f->caps_seen = 0;
	while (pos && guard--) {
		uint8_t id = cfg_rd(f, pos, 1);

		if (id == PCI_CAP_ID_MSIX)
			f->msix_cap = pos;
		if (id == PCI_CAP_ID_VNDR) {
			uint8_t type =
				cfg_rd(f, pos + VIRTIO_PCI_CAP_CFG_TYPE, 1);
			uint8_t bar = cfg_rd(f, pos + VIRTIO_PCI_CAP_BAR, 1);
			uint32_t off =
				cfg_rd(f, pos + VIRTIO_PCI_CAP_OFFSET, 4);

			f->caps_seen |= 1u << type;
			if (type != VIRTIO_PCI_CAP_PCI_CFG)
				assert_int_equal(bar, 4);
			switch (type) {
			case VIRTIO_PCI_CAP_COMMON_CFG:
				f->common = off;
				break;
			case VIRTIO_PCI_CAP_ISR_CFG:
				f->isr = off;
				break;
			case VIRTIO_PCI_CAP_NOTIFY_CFG:
				f->notify = off;
				f->notify_mult = cfg_rd(
					f, pos + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
				break;
			case VIRTIO_PCI_CAP_DEVICE_CFG:
				f->device = off;
				break;
			case VIRTIO_PCI_CAP_PCI_CFG:
				f->pcicfg = pos;
				break;
			}
		}
		pos = cfg_rd(f, pos + 1, 1);
	}
}

static void reset(struct fix *f)
{
	set_status(f, 0);
	/* Linux waits for the status to read back 0. */
	assert_int_equal(status(f), 0);
	f->avail_idx = 0;
	memset(vd_hva(&f->vm, 0, 0x20000), 0, 0x20000);
}

static bool negotiate(struct fix *f, uint64_t want)
{
	uint64_t offered;

	set_status(f, S_ACK);
	set_status(f, S_ACK | S_DRIVER);
	common_wr(f, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	offered = common_rd(f, VIRTIO_PCI_COMMON_DF, 4);
	common_wr(f, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	offered |= common_rd(f, VIRTIO_PCI_COMMON_DF, 4) << 32;
	assert_true(offered & F_VERSION_1);
	common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	common_wr(f, VIRTIO_PCI_COMMON_GF, (uint32_t)want, 4);
	common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	common_wr(f, VIRTIO_PCI_COMMON_GF, want >> 32, 4);
	set_status(f, S_ACK | S_DRIVER | S_FEAT);
	return status(f) & S_FEAT;
}

static void setup_queue(struct fix *f, uint16_t vector)
{
	common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	common_wr(f, VIRTIO_PCI_COMMON_Q_SIZE, QSIZE, 2);
	/* Linux: vp_iowrite64_twopart. */
	common_wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, DESC_GPA, 4);
	common_wr(f, VIRTIO_PCI_COMMON_Q_DESCHI, 0, 4);
	common_wr(f, VIRTIO_PCI_COMMON_Q_AVAILLO, AVAIL_GPA, 4);
	common_wr(f, VIRTIO_PCI_COMMON_Q_AVAILHI, 0, 4);
	common_wr(f, VIRTIO_PCI_COMMON_Q_USEDLO, USED_GPA, 4);
	common_wr(f, VIRTIO_PCI_COMMON_Q_USEDHI, 0, 4);
	common_wr(f, VIRTIO_PCI_COMMON_Q_MSIX, vector, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), vector);
	common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
}

static void bring_up(struct fix *f, uint16_t vector)
{
	reset(f);
	assert_true(negotiate(f, F_VERSION_1));
	setup_queue(f, vector);
	set_status(f, S_ACK | S_DRIVER | S_FEAT | S_DRIVER_OK);
	assert_int_equal(status(f), S_ACK | S_DRIVER | S_FEAT | S_DRIVER_OK);
}

/* Post one 64-byte writable buffer; returns the expected used index. */
static uint16_t post_rng(struct fix *f, uint16_t head, uint64_t gpa)
{
	memset(vd_hva(&f->vm, gpa, 64), 0, 64);
	desc(f, head, gpa, 64, VIRTQ_DESC_F_WRITE, 0);
	avail(f, head);
	kick(f, 0);
	return f->avail_idx;
}

static void check_random(struct fix *f, uint16_t slot, uint64_t gpa)
{
	static const uint8_t zero[64];

	assert_int_equal(vd_rd32(&f->vm, USED_GPA + 4 + 8 * slot + 4), 64);
	assert_memory_not_equal(vd_hva(&f->vm, gpa, 64), zero, 64);
}

static void msix_program(struct fix *f, unsigned int v, bool unmask)
{
	uint64_t e = f->msix_bar + 16 * v;

	bus_write(&f->vm.mmio, e + PCI_MSIX_ENTRY_LOWER_ADDR,
		  &(uint32_t){ (uint32_t)MSI_ADDR }, 4);
	bus_write(&f->vm.mmio, e + PCI_MSIX_ENTRY_UPPER_ADDR, &(uint32_t){ 0 },
		  4);
	bus_write(&f->vm.mmio, e + PCI_MSIX_ENTRY_DATA, &(uint32_t){ 0x40 + v },
		  4);
	bus_write(&f->vm.mmio, e + PCI_MSIX_ENTRY_VECTOR_CTRL,
		  &(uint32_t){ unmask ? 0 : 1 }, 4);
}

/* ---- fixture ---- */

static int setup_vm(void **state)
{
	struct pci_host_config cfg;
	struct fix *f = calloc(1, sizeof(*f));
	struct virtio_dev *rng;

	assert_non_null(f);
	memset(irq_level, 0, sizeof(irq_level));
	nr_msgs = 0;
	irqfd_msgs = 0;
	memset(routes, 0, sizeof(routes));
	vm_init_common(&f->vm);
	f->vm.irq_set = rec_irq;
	f->vm.irq_ops = &rec_ops;
	assert_int_equal(guest_mem_init(&f->vm.mem, RAM_SIZE), 0);
	pc_pci_host_config(&cfg);
	assert_int_equal(pci_host_init(&f->host, &f->vm, &cfg), 0);
	f->loop = evloop_create("test-io");
	assert_non_null(f->loop);
	rng = virtio_rng_create(&f->vm);
	assert_non_null(rng);
	f->vp = virtio_pci_create(&f->vm, &f->host, rng, f->loop);
	assert_non_null(f->vp);

	/* Enumerate like firmware: the first virtio function on bus 0. */
	f->devfn = 0;
	for (unsigned int slot = 0; slot < 32; slot++) {
		f->devfn = PCI_DEVFN(slot, 0);
		if (cfg_rd(f, PCI_VENDOR_ID, 2) == 0x1af4)
			break;
	}
	assert_int_equal(f->devfn, virtio_pci_pdev(f->vp)->devfn);
	f->bar = (cfg_rd(f, PCI_BASE_ADDRESS_4, 4) & ~0xfull) |
		 (uint64_t)cfg_rd(f, PCI_BASE_ADDRESS_5, 4) << 32;
	f->msix_bar = cfg_rd(f, PCI_BASE_ADDRESS_1, 4) & ~0xfull;
	assert_true(f->bar != 0);
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	find_caps(f);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	routes_fail = false;
	return setup_vm(state);
}

/* KVM refuses MSI routes: the group falls back to KVM_SIGNAL_MSI. */
static int setup_no_routes(void **state)
{
	routes_fail = true;
	return setup_vm(state);
}

static int teardown(void **state)
{
	struct fix *f = *state;

	/* Newest first: the function, then the host; the loop outlives both. */
	vd_vm_destroy(&f->vm, f->loop);
	free(f);
	return 0;
}

/* ---- tests ---- */

static void test_identity_and_caps(void **state)
{
	struct fix *f = *state;

	assert_int_equal(cfg_rd(f, PCI_DEVICE_ID, 2), 0x1040 + VIRTIO_ID_RNG);
	assert_int_equal(cfg_rd(f, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_rd(f, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_true(cfg_rd(f, PCI_SUBSYSTEM_ID, 2) >= 0x40);
	assert_int_equal(cfg_rd(f, PCI_INTERRUPT_PIN, 1), 1);
	/* 64-bit memory BAR 4. */
	assert_int_equal(cfg_rd(f, PCI_BASE_ADDRESS_4, 4) & 0x7,
			 PCI_BASE_ADDRESS_MEM_TYPE_64);
	/* rng has no device config: no DEVICE_CFG capability. */
	assert_int_equal(f->caps_seen, 1u << VIRTIO_PCI_CAP_COMMON_CFG |
					       1u << VIRTIO_PCI_CAP_NOTIFY_CFG |
					       1u << VIRTIO_PCI_CAP_ISR_CFG |
					       1u << VIRTIO_PCI_CAP_PCI_CFG);
	assert_int_equal(f->notify_mult, 4);
	assert_true(f->msix_cap != 0);
	/* One vector per queue plus config. */
	assert_int_equal(cfg_rd(f, f->msix_cap + PCI_MSIX_FLAGS, 2) &
				 PCI_MSIX_FLAGS_QSIZE,
			 1);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_MSIX, 2),
			 VIRTIO_MSI_NO_VECTOR);
}

static void test_rng_intx(void **state)
{
	struct fix *f = *state;
	uint16_t n;

	bring_up(f, VIRTIO_MSI_NO_VECTOR);
	n = post_rng(f, 0, BUF_GPA);
	assert_true(vd_wait_until(used_reached, f, n));
	check_random(f, 0, BUF_GPA);
	assert_true(vd_wait_until(intx_up, f, 0));
	assert_true(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* ISR: queue bit, read-to-clear, drops the line. */
	assert_int_equal(rd(f, f->isr, 1), 1);
	assert_int_equal(level(intx_gsi(f)), 0);
	assert_int_equal(rd(f, f->isr, 1), 0);

	/* A second buffer, chained over two descriptors. */
	memset(vd_hva(&f->vm, BUF_GPA + 0x1000, 64), 0, 64);
	desc(f, 1, BUF_GPA + 0x1000, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
	     2);
	desc(f, 2, BUF_GPA + 0x1010, 48, VIRTQ_DESC_F_WRITE, 0);
	avail(f, 1);
	kick(f, 0);
	assert_true(vd_wait_until(used_reached, f, 2));
	check_random(f, 1, BUF_GPA + 0x1000);
	assert_true(vd_wait_until(intx_up, f, 0));
	assert_int_equal(rd(f, f->isr, 1), 1);
}

static void test_rng_msix(void **state)
{
	struct fix *f = *state;
	uint16_t n;

	/* Linux: enable MSI-X, program the table, then assign vectors. */
	cfg_wr(f, f->msix_cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	msix_program(f, 0, true);
	msix_program(f, 1, true);
	reset(f);
	assert_true(negotiate(f, F_VERSION_1));
	common_wr(f, VIRTIO_PCI_COMMON_MSIX, 0, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_MSIX, 2), 0);
	/* A vector beyond the table is refused: reads NO_VECTOR. */
	common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 5, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2),
			 VIRTIO_MSI_NO_VECTOR);
	setup_queue(f, 1);
	set_status(f, S_ACK | S_DRIVER | S_FEAT | S_DRIVER_OK);

	n = post_rng(f, 0, BUF_GPA);
	assert_true(vd_wait_until(used_reached, f, n));
	check_random(f, 0, BUF_GPA);
	assert_true(vd_wait_until(msi_seen, f, 0x41));
	/* MSI-X blocks INTx and leaves the ISR queue bit alone. */
	assert_int_equal(level(intx_gsi(f)), 0);
	assert_int_equal(rd(f, f->isr, 1), 0);

	/* Masked: the message waits in the PBA until unmasked. */
	msix_program(f, 1, false);
	n = post_rng(f, 1, BUF_GPA + 0x1000);
	assert_true(vd_wait_until(used_reached, f, n));
	assert_true(vd_wait_until(pba_set, f, 1));
	assert_int_equal(msgs_with(0x41), 1);
	msix_program(f, 1, true);
	assert_int_equal(msgs_with(0x41), 2);
	assert_false(msix_is_pending(virtio_pci_pdev(f->vp)->msix, 1));
	/* Both by irqfd, or both by KVM_SIGNAL_MSI when routes fail. */
	pthread_mutex_lock(&rec_lock);
	assert_int_equal(irqfd_msgs, routes_fail ? 0 : 2);
	pthread_mutex_unlock(&rec_lock);
}

static void test_feature_refusal(void **state)
{
	struct fix *f = *state;

	/* A bit that was not offered. */
	reset(f);
	assert_false(negotiate(f, F_VERSION_1 | (1ull << 5)));
	assert_int_equal(status(f), S_ACK | S_DRIVER);
	/* DRIVER_OK without FEATURES_OK does not activate. */
	set_status(f, S_ACK | S_DRIVER | S_DRIVER_OK);
	assert_int_equal(status(f), S_ACK | S_DRIVER);

	/* Legacy semantics (no VERSION_1) are not supported. */
	reset(f);
	assert_false(negotiate(f, 0));
	assert_int_equal(status(f), S_ACK | S_DRIVER);

	/* FEATURES_OK without DRIVER is out of order. */
	reset(f);
	set_status(f, S_ACK | S_FEAT);
	assert_int_equal(status(f), S_ACK);

	/* The accepted set reads back; later writes are ignored. */
	reset(f);
	assert_true(negotiate(f, F_VERSION_1 | (1ull << VIRTQ_F_EVENT_IDX)));
	common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	common_wr(f, VIRTIO_PCI_COMMON_GF, 0, 4);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_GF, 4), 1);
	common_wr(f, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_GF, 4),
			 1u << VIRTQ_F_EVENT_IDX);
	/* The driver cannot clear bits (only reset) nor set NEEDS_RESET. */
	set_status(f, S_ACK | S_NEEDS_RESET);
	assert_int_equal(status(f), S_ACK | S_DRIVER | S_FEAT);
}

static void test_needs_reset_and_recovery(void **state)
{
	struct fix *f = *state;
	uint16_t n;

	bring_up(f, VIRTIO_MSI_NO_VECTOR);
	/* A descriptor loop: 0 -> 1 -> 0. */
	desc(f, 0, BUF_GPA, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(f, 1, BUF_GPA + 64, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	avail(f, 0);
	kick(f, 0);
	assert_true(vd_wait_until(status_has, f, S_NEEDS_RESET));
	/* Configuration change interrupt. */
	assert_true(vd_wait_until(intx_up, f, 0));
	assert_int_equal(rd(f, f->isr, 1), VIRTIO_PCI_ISR_CONFIG);
	assert_int_equal(used_idx(f), 0);

	/* Nothing is processed until reset. */
	desc(f, 2, BUF_GPA, 64, VIRTQ_DESC_F_WRITE, 0);
	avail(f, 2);
	kick(f, 0);
	usleep(50000);
	assert_int_equal(used_idx(f), 0);

	/* Reset and start over: the device works again. */
	bring_up(f, VIRTIO_MSI_NO_VECTOR);
	n = post_rng(f, 0, BUF_GPA);
	assert_true(vd_wait_until(used_reached, f, n));
	check_random(f, 0, BUF_GPA);
}

static void test_bad_accesses(void **state)
{
	struct fix *f = *state;

	reset(f);
	/* Wrong widths do nothing. */
	common_wr(f, VIRTIO_PCI_COMMON_STATUS, S_ACK, 4);
	common_wr(f, VIRTIO_PCI_COMMON_STATUS, S_ACK, 2);
	assert_int_equal(status(f), 0);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_NUMQ, 4), 0);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_DF, 2), 0);
	common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 3, 1);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	/* Odd offsets, the end of the BAR, unused regions. */
	for (uint64_t off = 0; off < VIRTIO_PCI_BAR_SIZE; off += 0x7f) {
		for (unsigned int sz = 1; sz <= 8; sz <<= 1) {
			(void)rd(f, off, sz);
			wr(f, off + 1, 0xffffffffffffffffull, sz);
		}
	}
	assert_int_equal(status(f), 0);

	/* queue_select past the end: absent queue, writes ignored. */
	assert_true(negotiate(f, F_VERSION_1));
	common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 7, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2),
			 VIRTIO_MSI_NO_VECTOR);
	common_wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 8, 2);
	common_wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, DESC_GPA, 4);
	common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
	wr(f, f->notify + 7 * 4, 7, 2);
	wr(f, f->notify + 4000, 0, 2);

	/* A full-width queue address works too, and reads back. */
	common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, 0x123456789000ull, 8);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_DESCHI, 4), 0x1234);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_DESCLO, 8),
			 0x123456789000ull);

	/* Split ring sizes must be powers of two: enabling fails. */
	common_wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 3, 2);
	common_wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, DESC_GPA, 8);
	common_wr(f, VIRTIO_PCI_COMMON_Q_AVAILLO, AVAIL_GPA, 8);
	common_wr(f, VIRTIO_PCI_COMMON_Q_USEDLO, USED_GPA, 8);
	common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_true(status(f) & S_NEEDS_RESET);

	/* Rings outside RAM fail the same way, after a reset. */
	reset(f);
	assert_true(negotiate(f, F_VERSION_1));
	common_wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, PCI_HOLE_START, 8);
	common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_true(status(f) & S_NEEDS_RESET);

	/* Enabling before FEATURES_OK is ignored; 0 is never a disable. */
	reset(f);
	common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	bring_up(f, VIRTIO_MSI_NO_VECTOR);
	common_wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 0, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	/* Queue setup is frozen while enabled. */
	common_wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 4, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), QSIZE);

	/* The ISR wants a byte read; a dword read neither sees nor clears. */
	post_rng(f, 0, BUF_GPA);
	assert_true(vd_wait_until(intx_up, f, 0));
	assert_int_equal(rd(f, f->isr, 4), 0);
	assert_int_equal(rd(f, f->isr, 1), 1);
	/* No device config: reads 0. */
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF, 4), 0);
}

static void window_setup(struct fix *f, uint8_t bar, uint32_t off, uint32_t len)
{
	cfg_wr(f, f->pcicfg + VIRTIO_PCI_CAP_BAR, bar, 1);
	cfg_wr(f, f->pcicfg + VIRTIO_PCI_CAP_OFFSET, off, 4);
	cfg_wr(f, f->pcicfg + VIRTIO_PCI_CAP_LENGTH, len, 4);
}

static void test_pci_cfg_window(void **state)
{
	struct fix *f = *state;
	unsigned int data = f->pcicfg + 16;

	reset(f);
	window_setup(f, 4, f->common + VIRTIO_PCI_COMMON_NUMQ, 2);
	assert_int_equal(cfg_rd(f, data, 2), 1);
	window_setup(f, 4, f->common + VIRTIO_PCI_COMMON_STATUS, 1);
	cfg_wr(f, data, S_ACK, 1);
	assert_int_equal(status(f), S_ACK);
	assert_int_equal(cfg_rd(f, data, 1), S_ACK);
	window_setup(f, 4, f->common + VIRTIO_PCI_COMMON_DF, 4);
	common_wr(f, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	/* VERSION_1 (32) and RING_PACKED (34). */
	assert_int_equal(cfg_rd(f, data, 4), 0x5);

	/* Bad length, misaligned offset, past the BAR, other BAR: nothing. */
	window_setup(f, 4, f->common + VIRTIO_PCI_COMMON_STATUS, 3);
	cfg_wr(f, data, 0, 4);
	window_setup(f, 4, f->common + VIRTIO_PCI_COMMON_NUMQ + 1, 2);
	cfg_wr(f, data, 0, 4);
	window_setup(f, 4, 0xfffffffc, 4);
	cfg_wr(f, data, 0, 4);
	(void)cfg_rd(f, data, 4);
	window_setup(f, 2, 0, 4);
	cfg_wr(f, data, 0, 4);
	(void)cfg_rd(f, data, 4);
	assert_int_equal(status(f), S_ACK);

	/* The MSI-X table is reachable through it too. */
	window_setup(f, 1, 16 + PCI_MSIX_ENTRY_DATA, 4);
	cfg_wr(f, data, 0x77, 4);
	assert_int_equal(cfg_rd(f, data, 4), 0x77);
}

static void test_vm_reset(void **state)
{
	struct fix *f = *state;

	bring_up(f, VIRTIO_MSI_NO_VECTOR);
	devices_reset(&f->vm);
	/* Function reset: decode off, device status back to 0. */
	assert_int_equal(cfg_rd(f, PCI_COMMAND, 2), 0);
	cfg_wr(f, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	assert_int_equal(status(f), 0);
	common_wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	assert_int_equal(common_rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	bring_up(f, VIRTIO_MSI_NO_VECTOR);
	assert_true(vd_wait_until(used_reached, f, post_rng(f, 0, BUF_GPA)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_identity_and_caps),
		T(test_rng_intx),
		T(test_rng_msix),
		cmocka_unit_test_setup_teardown(test_rng_msix, setup_no_routes,
						teardown),
		T(test_feature_refusal),
		T(test_needs_reset_and_recovery),
		T(test_bad_accesses),
		T(test_pci_cfg_window),
		T(test_vm_reset),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
