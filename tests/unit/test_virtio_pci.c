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

#include "helpers/pci_fixture.h"
#include "helpers/virtio_driver.h"
#include "helpers/virtio_pci_common.h"

#define RAM_SIZE (64ull << 20)
#define DESC_GPA 0x10000ull
#define AVAIL_GPA 0x11000ull
#define USED_GPA 0x12000ull
#define BUF_GPA 0x100000ull
#define QSIZE 16
#define MSI_ADDR 0xfee00000ull

struct fix {
	struct pci_fix pf; /* bar: BAR 4 */
	struct virtio_pci *vp;
	bool routes; /* KVM takes MSI routes */
	uint64_t msix_bar;
	/* From the capabilities, as a driver finds them. */
	struct vp_common common; /* .pf: &pf */
	uint32_t isr, notify, device;
	uint32_t notify_mult;
	unsigned int pcicfg, msix_cap;
	unsigned int caps_seen;
	uint16_t avail_idx;
};

static unsigned int msgs_with(uint32_t data)
{
	return pf_msgs_with(MSI_ADDR, data);
}

/* ---- guest access ---- */

static void desc(struct fix *f, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	vd_desc(&f->pf.vm, DESC_GPA, i, addr, len, flags, next);
}

static void avail(struct fix *f, uint16_t head)
{
	vd_avail(&f->pf.vm, AVAIL_GPA, QSIZE, &f->avail_idx, head);
}

static uint16_t used_idx(struct fix *f)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return vd_rd16(&f->pf.vm, USED_GPA + 2);
}

static void kick(struct fix *f, uint16_t q)
{
	uint16_t off;

	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
	off = vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_NOFF, 2);
	/* Linux: iowrite16(queue index, notify base + off * multiplier). */
	pf_wr(&f->pf, f->notify + off * f->notify_mult, q, 2);
}

static bool used_reached(struct fix *f, uintptr_t n)
{
	return used_idx(f) == n;
}

static bool status_has(struct fix *f, uintptr_t bits)
{
	return (vp_status(&f->common) & bits) == bits;
}

static bool msi_seen(struct fix *f, uintptr_t data)
{
	return msgs_with(data) > 0;
}

static bool pba_set(struct fix *f, uintptr_t vector)
{
	return msix_is_pending(virtio_pci_pdev(f->vp)->msix, vector);
}

static bool intx_up(struct fix *f, uintptr_t unused)
{
	return pf_level(pf_intx_gsi(&f->pf)) == 1;
}

/* ---- the driver ---- */

static void find_caps(struct fix *f)
{
	unsigned int pos = pf_cfg_rd(&f->pf, PCI_CAPABILITY_LIST, 1);
	int guard = 48;

	f->caps_seen = 0;
	while (pos && guard--) {
		uint8_t id = pf_cfg_rd(&f->pf, pos, 1);

		if (id == PCI_CAP_ID_MSIX)
			f->msix_cap = pos;
		if (id == PCI_CAP_ID_VNDR) {
			uint8_t type = pf_cfg_rd(
				&f->pf, pos + VIRTIO_PCI_CAP_CFG_TYPE, 1);
			uint8_t bar =
				pf_cfg_rd(&f->pf, pos + VIRTIO_PCI_CAP_BAR, 1);
			uint32_t off = pf_cfg_rd(
				&f->pf, pos + VIRTIO_PCI_CAP_OFFSET, 4);

			f->caps_seen |= 1u << type;
			if (type != VIRTIO_PCI_CAP_PCI_CFG)
				assert_int_equal(bar, 4);
			switch (type) {
			case VIRTIO_PCI_CAP_COMMON_CFG:
				f->common.off = off;
				break;
			case VIRTIO_PCI_CAP_ISR_CFG:
				f->isr = off;
				break;
			case VIRTIO_PCI_CAP_NOTIFY_CFG:
				f->notify = off;
				f->notify_mult = pf_cfg_rd(
					&f->pf,
					pos + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
				break;
			case VIRTIO_PCI_CAP_DEVICE_CFG:
				f->device = off;
				break;
			case VIRTIO_PCI_CAP_PCI_CFG:
				f->pcicfg = pos;
				break;
			}
		}
		pos = pf_cfg_rd(&f->pf, pos + 1, 1);
	}
}

static void reset(struct fix *f)
{
	vp_set_status(&f->common, 0);
	/* Linux waits for the status to read back 0. */
	assert_int_equal(vp_status(&f->common), 0);
	f->avail_idx = 0;
	memset(vd_hva(&f->pf.vm, 0, 0x20000), 0, 0x20000);
}

static bool negotiate(struct fix *f, uint64_t want)
{
	vp_set_status(&f->common, S_ACK);
	vp_set_status(&f->common, S_ACK | S_DRIVER);
	assert_true(vp_offered(&f->common) & F_VERSION_1);
	return vp_features_ok(&f->common, want);
}

static void setup_queue(struct fix *f, uint16_t vector)
{
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_SIZE, 2),
			 256);
	assert_int_equal(
		vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SIZE, QSIZE, 2);
	/* Linux: vp_iowrite64_twopart. */
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_DESCLO, DESC_GPA, 4);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_DESCHI, 0, 4);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_AVAILLO, AVAIL_GPA, 4);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_AVAILHI, 0, 4);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_USEDLO, USED_GPA, 4);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_USEDHI, 0, 4);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_MSIX, vector, 2);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_MSIX, 2),
			 vector);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	assert_int_equal(
		vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
}

static void bring_up(struct fix *f, uint16_t vector)
{
	reset(f);
	assert_true(negotiate(f, F_VERSION_1));
	setup_queue(f, vector);
	vp_set_status(&f->common, S_ACK | S_DRIVER | S_FEAT | S_DRIVER_OK);
	assert_int_equal(vp_status(&f->common),
			 S_ACK | S_DRIVER | S_FEAT | S_DRIVER_OK);
}

/* Post one 64-byte writable buffer; returns the expected used index. */
static uint16_t post_rng(struct fix *f, uint16_t head, uint64_t gpa)
{
	memset(vd_hva(&f->pf.vm, gpa, 64), 0, 64);
	desc(f, head, gpa, 64, VIRTQ_DESC_F_WRITE, 0);
	avail(f, head);
	kick(f, 0);
	return f->avail_idx;
}

static void check_random(struct fix *f, uint16_t slot, uint64_t gpa)
{
	static const uint8_t zero[64];

	assert_int_equal(vd_rd32(&f->pf.vm, USED_GPA + 4 + 8 * slot + 4), 64);
	assert_memory_not_equal(vd_hva(&f->pf.vm, gpa, 64), zero, 64);
}

static void msix_program(struct fix *f, unsigned int v, bool unmask)
{
	uint64_t e = f->msix_bar + 16 * v;

	bus_write(&f->pf.vm.mmio, e + PCI_MSIX_ENTRY_LOWER_ADDR,
		  &(uint32_t){ (uint32_t)MSI_ADDR }, 4);
	bus_write(&f->pf.vm.mmio, e + PCI_MSIX_ENTRY_UPPER_ADDR,
		  &(uint32_t){ 0 }, 4);
	bus_write(&f->pf.vm.mmio, e + PCI_MSIX_ENTRY_DATA,
		  &(uint32_t){ 0x40 + v }, 4);
	bus_write(&f->pf.vm.mmio, e + PCI_MSIX_ENTRY_VECTOR_CTRL,
		  &(uint32_t){ unmask ? 0 : 1 }, 4);
}

/* ---- fixture ---- */

static int setup_vm(void **state, bool routes)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct virtio_dev *rng;

	assert_non_null(f);
	f->routes = routes;
	pf_init(&f->pf, RAM_SIZE, routes);
	f->common.pf = &f->pf;
	rng = virtio_rng_create(&f->pf.vm);
	assert_non_null(rng);
	f->vp = virtio_pci_create(&f->pf.vm, &f->pf.host, rng, f->pf.loop);
	assert_non_null(f->vp);

	/* Enumerate like firmware: the first virtio function on bus 0. */
	f->pf.devfn = 0;
	for (unsigned int slot = 0; slot < 32; slot++) {
		f->pf.devfn = PCI_DEVFN(slot, 0);
		if (pf_cfg_rd(&f->pf, PCI_VENDOR_ID, 2) == 0x1af4)
			break;
	}
	assert_int_equal(f->pf.devfn, virtio_pci_pdev(f->vp)->devfn);
	f->pf.bar = (pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_4, 4) & ~0xfull) |
		    (uint64_t)pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_5, 4) << 32;
	f->msix_bar = pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_1, 4) & ~0xfull;
	assert_true(f->pf.bar != 0);
	pf_cfg_wr(&f->pf, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
		  2);
	find_caps(f);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_vm(state, true);
}

/* KVM refuses MSI routes: the group falls back to KVM_SIGNAL_MSI. */
static int setup_no_routes(void **state)
{
	return setup_vm(state, false);
}

static int teardown(void **state)
{
	struct fix *f = *state;

	/* Newest first: the function, then the host; the loop outlives both. */
	pf_destroy(&f->pf);
	free(f);
	return 0;
}

/* ---- tests ---- */

static void test_identity_and_caps(void **state)
{
	struct fix *f = *state;

	assert_int_equal(pf_cfg_rd(&f->pf, PCI_DEVICE_ID, 2),
			 0x1040 + VIRTIO_ID_RNG);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_REVISION_ID, 1), 1);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_true(pf_cfg_rd(&f->pf, PCI_SUBSYSTEM_ID, 2) >= 0x40);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_INTERRUPT_PIN, 1), 1);
	/* 64-bit memory BAR 4. */
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_4, 4) & 0x7,
			 PCI_BASE_ADDRESS_MEM_TYPE_64);
	/* rng has no device config: no DEVICE_CFG capability. */
	assert_int_equal(f->caps_seen, 1u << VIRTIO_PCI_CAP_COMMON_CFG |
					       1u << VIRTIO_PCI_CAP_NOTIFY_CFG |
					       1u << VIRTIO_PCI_CAP_ISR_CFG |
					       1u << VIRTIO_PCI_CAP_PCI_CFG);
	assert_int_equal(f->notify_mult, 4);
	assert_true(f->msix_cap != 0);
	/* One vector per queue plus config. */
	assert_int_equal(pf_cfg_rd(&f->pf, f->msix_cap + PCI_MSIX_FLAGS, 2) &
				 PCI_MSIX_FLAGS_QSIZE,
			 1);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_NUMQ, 2),
			 1);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_MSIX, 2),
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
	assert_true(pf_cfg_rd(&f->pf, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* ISR: queue bit, read-to-clear, drops the line. */
	assert_int_equal(pf_rd(&f->pf, f->isr, 1), 1);
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 0);
	assert_int_equal(pf_rd(&f->pf, f->isr, 1), 0);

	/* A second buffer, chained over two descriptors. */
	memset(vd_hva(&f->pf.vm, BUF_GPA + 0x1000, 64), 0, 64);
	desc(f, 1, BUF_GPA + 0x1000, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
	     2);
	desc(f, 2, BUF_GPA + 0x1010, 48, VIRTQ_DESC_F_WRITE, 0);
	avail(f, 1);
	kick(f, 0);
	assert_true(vd_wait_until(used_reached, f, 2));
	check_random(f, 1, BUF_GPA + 0x1000);
	assert_true(vd_wait_until(intx_up, f, 0));
	assert_int_equal(pf_rd(&f->pf, f->isr, 1), 1);
}

static void test_rng_msix(void **state)
{
	struct fix *f = *state;
	uint16_t n;

	/* Linux: enable MSI-X, program the table, then assign vectors. */
	pf_cfg_wr(&f->pf, f->msix_cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE,
		  2);
	msix_program(f, 0, true);
	msix_program(f, 1, true);
	reset(f);
	assert_true(negotiate(f, F_VERSION_1));
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_MSIX, 0, 2);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_MSIX, 2),
			 0);
	/* A vector beyond the table is refused: reads NO_VECTOR. */
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_MSIX, 5, 2);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_MSIX, 2),
			 VIRTIO_MSI_NO_VECTOR);
	setup_queue(f, 1);
	vp_set_status(&f->common, S_ACK | S_DRIVER | S_FEAT | S_DRIVER_OK);

	n = post_rng(f, 0, BUF_GPA);
	assert_true(vd_wait_until(used_reached, f, n));
	check_random(f, 0, BUF_GPA);
	assert_true(vd_wait_until(msi_seen, f, 0x41));
	/* MSI-X blocks INTx and leaves the ISR queue bit alone. */
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 0);
	assert_int_equal(pf_rd(&f->pf, f->isr, 1), 0);

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
	assert_int_equal(pf_irqfd_msgs(), f->routes ? 2 : 0);
}

static void test_feature_refusal(void **state)
{
	struct fix *f = *state;

	/* A bit that was not offered. */
	reset(f);
	assert_false(negotiate(f, F_VERSION_1 | (1ull << 5)));
	assert_int_equal(vp_status(&f->common), S_ACK | S_DRIVER);
	/* DRIVER_OK without FEATURES_OK does not activate. */
	vp_set_status(&f->common, S_ACK | S_DRIVER | S_DRIVER_OK);
	assert_int_equal(vp_status(&f->common), S_ACK | S_DRIVER);

	/* Legacy semantics (no VERSION_1) are not supported. */
	reset(f);
	assert_false(negotiate(f, 0));
	assert_int_equal(vp_status(&f->common), S_ACK | S_DRIVER);

	/* FEATURES_OK without DRIVER is out of order. */
	reset(f);
	vp_set_status(&f->common, S_ACK | S_FEAT);
	assert_int_equal(vp_status(&f->common), S_ACK);

	/* The accepted set reads back; later writes are ignored. */
	reset(f);
	assert_true(negotiate(f, F_VERSION_1 | (1ull << VIRTQ_F_EVENT_IDX)));
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_GF, 0, 4);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_GF, 4), 1);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_GF, 4),
			 1u << VIRTQ_F_EVENT_IDX);
	/* The driver cannot clear bits (only reset) nor set NEEDS_RESET. */
	vp_set_status(&f->common, S_ACK | S_NEEDS_RESET);
	assert_int_equal(vp_status(&f->common), S_ACK | S_DRIVER | S_FEAT);
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
	assert_int_equal(pf_rd(&f->pf, f->isr, 1), VIRTIO_PCI_ISR_CONFIG);
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
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_STATUS, S_ACK, 4);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_STATUS, S_ACK, 2);
	assert_int_equal(vp_status(&f->common), 0);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_NUMQ, 4),
			 0);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_DF, 2), 0);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SELECT, 3, 1);
	assert_int_equal(
		vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	/* Odd offsets, the end of the BAR, unused regions. */
	for (uint64_t off = 0; off < VIRTIO_PCI_BAR_SIZE; off += 0x7f) {
		for (unsigned int sz = 1; sz <= 8; sz <<= 1) {
			(void)pf_rd(&f->pf, off, sz);
			pf_wr(&f->pf, off + 1, 0xffffffffffffffffull, sz);
		}
	}
	assert_int_equal(vp_status(&f->common), 0);

	/* queue_select past the end: absent queue, writes ignored. */
	assert_true(negotiate(f, F_VERSION_1));
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SELECT, 7, 2);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_SIZE, 2),
			 0);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_MSIX, 2),
			 VIRTIO_MSI_NO_VECTOR);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SIZE, 8, 2);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_DESCLO, DESC_GPA, 4);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	assert_int_equal(
		vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_int_equal(
		vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
	pf_wr(&f->pf, f->notify + 7 * 4, 7, 2);
	pf_wr(&f->pf, f->notify + 4000, 0, 2);

	/* A full-width queue address works too, and reads back. */
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_DESCLO, 0x123456789000ull,
		     8);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_DESCHI,
				      4),
			 0x1234);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_DESCLO,
				      8),
			 0x123456789000ull);

	/* Split ring sizes must be powers of two: enabling fails. */
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SIZE, 3, 2);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_DESCLO, DESC_GPA, 8);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_AVAILLO, AVAIL_GPA, 8);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_USEDLO, USED_GPA, 8);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	assert_int_equal(
		vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_true(vp_status(&f->common) & S_NEEDS_RESET);

	/* Rings outside RAM fail the same way, after a reset. */
	reset(f);
	assert_true(negotiate(f, F_VERSION_1));
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_DESCLO, PCI_HOLE_START, 8);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	assert_int_equal(
		vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_true(vp_status(&f->common) & S_NEEDS_RESET);

	/* Enabling before FEATURES_OK is ignored; 0 is never a disable. */
	reset(f);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	assert_int_equal(
		vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	bring_up(f, VIRTIO_MSI_NO_VECTOR);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 0, 2);
	assert_int_equal(
		vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	/* Queue setup is frozen while enabled. */
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SIZE, 4, 2);
	assert_int_equal(vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_SIZE, 2),
			 QSIZE);

	/* The ISR wants a byte read; a dword read neither sees nor clears. */
	post_rng(f, 0, BUF_GPA);
	assert_true(vd_wait_until(intx_up, f, 0));
	assert_int_equal(pf_rd(&f->pf, f->isr, 4), 0);
	assert_int_equal(pf_rd(&f->pf, f->isr, 1), 1);
	/* No device config: reads 0. */
	assert_int_equal(pf_rd(&f->pf, VIRTIO_PCI_DEVICE_OFF, 4), 0);
}

static void window_setup(struct fix *f, uint8_t bar, uint32_t off, uint32_t len)
{
	pf_cfg_wr(&f->pf, f->pcicfg + VIRTIO_PCI_CAP_BAR, bar, 1);
	pf_cfg_wr(&f->pf, f->pcicfg + VIRTIO_PCI_CAP_OFFSET, off, 4);
	pf_cfg_wr(&f->pf, f->pcicfg + VIRTIO_PCI_CAP_LENGTH, len, 4);
}

static void test_pci_cfg_window(void **state)
{
	struct fix *f = *state;
	unsigned int data = f->pcicfg + 16;

	reset(f);
	window_setup(f, 4, f->common.off + VIRTIO_PCI_COMMON_NUMQ, 2);
	assert_int_equal(pf_cfg_rd(&f->pf, data, 2), 1);
	window_setup(f, 4, f->common.off + VIRTIO_PCI_COMMON_STATUS, 1);
	pf_cfg_wr(&f->pf, data, S_ACK, 1);
	assert_int_equal(vp_status(&f->common), S_ACK);
	assert_int_equal(pf_cfg_rd(&f->pf, data, 1), S_ACK);
	window_setup(f, 4, f->common.off + VIRTIO_PCI_COMMON_DF, 4);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	/* VERSION_1 (32) and RING_PACKED (34). */
	assert_int_equal(pf_cfg_rd(&f->pf, data, 4), 0x5);

	/* Bad length, misaligned offset, past the BAR, other BAR: nothing. */
	window_setup(f, 4, f->common.off + VIRTIO_PCI_COMMON_STATUS, 3);
	pf_cfg_wr(&f->pf, data, 0, 4);
	window_setup(f, 4, f->common.off + VIRTIO_PCI_COMMON_NUMQ + 1, 2);
	pf_cfg_wr(&f->pf, data, 0, 4);
	window_setup(f, 4, 0xfffffffc, 4);
	pf_cfg_wr(&f->pf, data, 0, 4);
	(void)pf_cfg_rd(&f->pf, data, 4);
	window_setup(f, 2, 0, 4);
	pf_cfg_wr(&f->pf, data, 0, 4);
	(void)pf_cfg_rd(&f->pf, data, 4);
	assert_int_equal(vp_status(&f->common), S_ACK);

	/* The MSI-X table is reachable through it too. */
	window_setup(f, 1, 16 + PCI_MSIX_ENTRY_DATA, 4);
	pf_cfg_wr(&f->pf, data, 0x77, 4);
	assert_int_equal(pf_cfg_rd(&f->pf, data, 4), 0x77);
}

static void test_vm_reset(void **state)
{
	struct fix *f = *state;

	bring_up(f, VIRTIO_MSI_NO_VECTOR);
	devices_reset(&f->pf.vm);
	/* Function reset: decode off, device status back to 0. */
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_COMMAND, 2), 0);
	pf_cfg_wr(&f->pf, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
		  2);
	assert_int_equal(vp_status(&f->common), 0);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	assert_int_equal(
		vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
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
