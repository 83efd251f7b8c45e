// SPDX-License-Identifier: GPL-2.0
/*
 * The VT-d unit wired into a VM (--iommu vtd): its DMAR table, its
 * register page on the MMIO bus, its event MSIs, its reset as a device of
 * the VM, and a virtio-pci function (virtio-rng) whose DMA goes through it:
 * VIRTIO_F_ACCESS_PLATFORM offered and required, rings and buffers at
 * IOVAs the guest's legacy or scalable-mode tables map to scattered guest
 * pages, a buffer the tables do not map failing the device and recording
 * a fault with the function's requester id, and an IOTLB invalidation
 * reaching the device. No KVM: a fake driver does what Linux's
 * intel-iommu and virtio_pci drivers do, through the MMIO bus.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/virtio_pci.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "arch/x86/machine.h"
#include "iommu/vtd.h"
#include "iommu/vtd_regs.h"
#include "iommu/vtd_vm.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "pci/pci.h"
#include "util/evloop.h"
#include "virtio/pci.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"

#include "helpers/pci_fixture.h"
#include "helpers/virtio_driver.h"
#include "helpers/virtio_pci_common.h"

#define RAM_SIZE (64ull << 20)
#define TABLES 0x100000ull /* VT-d tables from 1 MiB */
#define QSIZE 16
#define DID 3
#define F_ACCESS_PLATFORM (1ull << VIRTIO_F_ACCESS_PLATFORM)

/* The rings live at these IOVAs; the tables put them elsewhere in RAM. */
#define IOVA_DESC 0x40000000ull
#define IOVA_AVAIL 0x40001000ull
#define IOVA_USED 0x40002000ull
#define GPA_DESC 0x20000ull
#define GPA_AVAIL 0x35000ull
#define GPA_USED 0x27000ull
#define IOVA_BUF 0x7f000000ull
#define GPA_BUF 0x300000ull
#define GPA_BUF2 0x301000ull
#define IOVA_UNMAPPED 0x7f100000ull

#define FE_ADDR 0xfee00000ull
#define FE_DATA 0x49

struct fix {
	struct pci_fix pf; /* bar: BAR 4 */
	struct vtd *vtd;
	struct virtio_pci *vp;
	struct vp_common common; /* .pf: &pf */
	uint32_t notify, notify_mult;
	uint16_t avail_idx;
	/* VT-d tables */
	bool sm;
	uint64_t next_page, root, slpt;
};

/* ---- guest accesses ---- */

static uint32_t reg32(struct fix *f, uint64_t off)
{
	uint64_t v = 0;

	assert_true(bus_read(&f->pf.vm.mmio, VTD_REG_BASE + off, &v, 4));
	return v;
}

static uint64_t reg64(struct fix *f, uint64_t off)
{
	uint64_t v = 0;

	assert_true(bus_read(&f->pf.vm.mmio, VTD_REG_BASE + off, &v, 8));
	return v;
}

static void wreg32(struct fix *f, uint64_t off, uint32_t v)
{
	assert_true(bus_write(&f->pf.vm.mmio, VTD_REG_BASE + off, &v, 4));
}

static void wreg64(struct fix *f, uint64_t off, uint64_t v)
{
	assert_true(bus_write(&f->pf.vm.mmio, VTD_REG_BASE + off, &v, 8));
}

static bool negotiate(struct fix *f, uint64_t want)
{
	vp_set_status(&f->common, 0);
	assert_int_equal(vp_status(&f->common), 0);
	vp_set_status(&f->common, S_ACK);
	vp_set_status(&f->common, S_ACK | S_DRIVER);
	return vp_features_ok(&f->common, want);
}

/*
 * Features with ACCESS_PLATFORM, queue 0 of QSIZE with its rings at the
 * addresses the device is given (IOVAs, or GPAs before translation is on)
 * and DRIVER_OK.
 */
static void queue_up(struct fix *f, uint64_t desc, uint64_t avail,
		     uint64_t used)
{
	assert_true(negotiate(f, F_VERSION_1 | F_ACCESS_PLATFORM));
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SIZE, QSIZE, 2);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_DESCLO, desc, 8);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_AVAILLO, avail, 8);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_USEDLO, used, 8);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	vp_set_status(&f->common, S_ALL);
}

/* The driver's view: rings at IOVAs, as Linux's DMA API hands them out. */
static void bring_up(struct fix *f)
{
	f->avail_idx = 0;
	memset(vd_hva(&f->pf.vm, GPA_DESC, 4096), 0, 4096);
	memset(vd_hva(&f->pf.vm, GPA_AVAIL, 4096), 0, 4096);
	memset(vd_hva(&f->pf.vm, GPA_USED, 4096), 0, 4096);
	queue_up(f, IOVA_DESC, IOVA_AVAIL, IOVA_USED);
	assert_int_equal(
		vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	assert_int_equal(vp_status(&f->common), S_ALL);
}

/* One 64-byte writable buffer at @iova in descriptor @head. */
static uint16_t post(struct fix *f, uint16_t head, uint64_t iova)
{
	uint16_t off;

	vd_desc(&f->pf.vm, GPA_DESC, head, iova, 64, VIRTQ_DESC_F_WRITE, 0);
	vd_avail(&f->pf.vm, GPA_AVAIL, QSIZE, &f->avail_idx, head);
	vp_common_wr(&f->common, VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	off = vp_common_rd(&f->common, VIRTIO_PCI_COMMON_Q_NOFF, 2);
	bus_write(&f->pf.vm.mmio, f->pf.bar + f->notify + off * f->notify_mult,
		  &(uint16_t){ 0 }, 2);
	return f->avail_idx;
}

static bool used_reached(struct fix *f, uintptr_t n)
{
	return vd_rd16(&f->pf.vm, GPA_USED + 2) == n;
}

static bool status_has(struct fix *f, uintptr_t bits)
{
	return (vp_status(&f->common) & bits) == bits;
}

static bool nonzero(struct fix *f, uint64_t gpa)
{
	static const uint8_t zero[64];

	return memcmp(vd_hva(&f->pf.vm, gpa, 64), zero, 64) != 0;
}

/* ---- VT-d tables, as Linux's intel-iommu builds them ---- */

static uint64_t alloc_page(struct fix *f)
{
	uint64_t p = f->next_page;

	f->next_page += 4096;
	memset(vd_hva(&f->pf.vm, p, 4096), 0, 4096);
	return p;
}

static uint64_t rd64(struct fix *f, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, vd_hva(&f->pf.vm, gpa, 8), 8);
	return v;
}

/* 4-level second-level tables: map one 4 KiB page. */
static void map(struct fix *f, uint64_t iova, uint64_t gpa, uint64_t perm)
{
	uint64_t table = f->slpt;

	for (unsigned int level = 4; level > 1; level--) {
		uint64_t slot =
			table + ((iova >> (12 + 9 * (level - 1))) & 511) * 8;
		uint64_t e = rd64(f, slot);

		if (!(e & 3)) {
			e = alloc_page(f) | VTD_SL_R | VTD_SL_W;
			vd_wr64(&f->pf.vm, slot, e);
		}
		table = e & VTD_PAGE_MASK;
	}
	vd_wr64(&f->pf.vm, table + ((iova >> 12) & 511) * 8, gpa | perm);
}

/* The function's context (and, scalable, PASID 0) entry in domain DID. */
static void attach(struct fix *f)
{
	uint16_t sid = f->pf.devfn; /* bus 0 */
	uint64_t ctx = alloc_page(f);

	if (f->sm) {
		uint64_t pdir = alloc_page(f), ptbl = alloc_page(f);
		uint64_t ce = ctx + (sid & 0x7f) * 32;

		vd_wr64(&f->pf.vm, f->root + ((sid & 0xff) >> 7) * 8,
			ctx | VTD_RE_P);
		vd_wr64(&f->pf.vm, ce, pdir | VTD_SCE_P);
		vd_wr64(&f->pf.vm, pdir, ptbl | VTD_PDE_P);
		vd_wr64(&f->pf.vm, ptbl,
			f->slpt | VTD_PTE_PGTT(VTD_PGTT_SL) |
				VTD_PTE_AW(VTD_CE_AW_48) | VTD_PTE_P);
		vd_wr64(&f->pf.vm, ptbl + 8, DID | VTD_PTE_PWSNP);
	} else {
		uint64_t ce = ctx + (sid & 0xff) * 16;

		vd_wr64(&f->pf.vm, f->root, ctx | VTD_RE_P);
		vd_wr64(&f->pf.vm, ce,
			f->slpt | VTD_CE_TT_SL << VTD_CE_TT_SHIFT | VTD_CE_P);
		vd_wr64(&f->pf.vm, ce + 8, VTD_CE_AW_48 | VTD_CE_DID(DID));
	}
}

static void gcmd(struct fix *f, uint32_t bit)
{
	uint32_t states = reg32(f, VTD_GSTS) & (VTD_GSTS_TES | VTD_GSTS_QIES);

	wreg32(f, VTD_GCMD, states | bit);
}

/* Tables for the function, the root pointer, fault event unmasked, TE. */
static void iommu_on(struct fix *f, bool sm)
{
	f->sm = sm;
	f->next_page = TABLES;
	f->root = alloc_page(f);
	f->slpt = alloc_page(f);
	attach(f);
	map(f, IOVA_DESC, GPA_DESC, VTD_SL_R | VTD_SL_W);
	map(f, IOVA_AVAIL, GPA_AVAIL, VTD_SL_R);
	map(f, IOVA_USED, GPA_USED, VTD_SL_R | VTD_SL_W);
	map(f, IOVA_BUF, GPA_BUF, VTD_SL_R | VTD_SL_W);
	wreg64(f, VTD_RTADDR, f->root | (sm ? VTD_RTADDR_SMT : 0));
	gcmd(f, VTD_GCMD_SRTP);
	assert_true(reg32(f, VTD_GSTS) & VTD_GSTS_RTPS);
	wreg32(f, VTD_FEDATA, FE_DATA);
	wreg32(f, VTD_FEADDR, FE_ADDR);
	wreg32(f, VTD_FECTL, 0);
	gcmd(f, VTD_GCMD_TE);
	assert_true(reg32(f, VTD_GSTS) & VTD_GSTS_TES);
}

/* The VM's MSIs: @n so far, the last one the unit's fault event. */
static void check_fault_msis(unsigned int n)
{
	uint64_t addr;
	uint32_t data;

	assert_int_equal(pf_msgs(&addr, &data), n);
	if (n) {
		assert_int_equal(addr, FE_ADDR);
		assert_int_equal(data, FE_DATA);
	}
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct pci_host_config cfg;
	struct fix *f = calloc(1, sizeof(*f));
	struct virtio_dev *rng;
	int cap;

	assert_non_null(f);
	/* Only KVM_SIGNAL_MSI is used here. */
	pf_vm_init(&f->pf, RAM_SIZE, false);
	f->common.pf = &f->pf;
	/* As the board does: the unit first, so it is destroyed last. */
	f->vtd = vtd_vm_create(&f->pf.vm, VTD_REG_BASE);
	assert_non_null(f->vtd);
	pc_pci_host_config(&cfg);
	cfg.dma_init = vtd_vm_pci_dma_init;
	cfg.dma_opaque = f->vtd;
	pf_host_init(&f->pf, &cfg);
	assert_true(pci_host_has_iommu(&f->pf.host));
	rng = virtio_rng_create(&f->pf.vm);
	assert_non_null(rng);
	pci_host_set_next_devfn(&f->pf.host, PCI_DEVFN(5, 0));
	f->vp = virtio_pci_create(&f->pf.vm, &f->pf.host, rng, f->pf.loop);
	assert_non_null(f->vp);
	f->pf.devfn = virtio_pci_pdev(f->vp)->devfn;
	assert_int_equal(f->pf.devfn, PCI_DEVFN(5, 0));

	f->pf.bar = (pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_4, 4) & ~0xfull) |
		    (uint64_t)pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_5, 4) << 32;
	pf_cfg_wr(&f->pf, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
		  2);
	for (cap = pf_cfg_rd(&f->pf, PCI_CAPABILITY_LIST, 1); cap;
	     cap = pf_cfg_rd(&f->pf, cap + 1, 1)) {
		if (pf_cfg_rd(&f->pf, cap, 1) != PCI_CAP_ID_VNDR)
			continue;
		switch (pf_cfg_rd(&f->pf, cap + VIRTIO_PCI_CAP_CFG_TYPE, 1)) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			f->common.off = pf_cfg_rd(
				&f->pf, cap + VIRTIO_PCI_CAP_OFFSET, 4);
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			f->notify = pf_cfg_rd(&f->pf,
					      cap + VIRTIO_PCI_CAP_OFFSET, 4);
			f->notify_mult = pf_cfg_rd(
				&f->pf, cap + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
			break;
		}
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	/* Newest first: the function, the host, then the unit. */
	pf_destroy(&f->pf);
	free(f);
	return 0;
}

/* ---- tests ---- */

static void test_dmar_table(void **state)
{
	const struct vtd_dmar_config dc = {
		.reg_base = VTD_REG_BASE,
		.segment = 0,
		.ioapic_id = IOAPIC_ID,
		.ioapic_bus = IOAPIC_PCI_BUS,
		.ioapic_devfn = IOAPIC_PCI_DEVFN,
	};
	static uint8_t area[ACPI_TABLES_SIZE];
	uint8_t body[64], small[35];
	struct acpi_extra_table extra = { .signature = { 'D', 'M', 'A', 'R' },
					  .revision = 1,
					  .body = body };
	struct x86_acpi_config ac = { .nr_cpus = 2,
				      .extra_tables = &extra,
				      .nr_extra_tables = 1 };
	struct acpi_tables t = { .buf = area,
				 .size = sizeof(area),
				 .base_gpa = ACPI_TABLES_ADDR };
	const struct acpi_table_info *ti;
	struct vtd_dmar_drhd drhd;
	struct vtd_dmar_scope sc;
	const uint8_t *d;
	uint64_t base;

	(void)state;
	assert_int_equal(vtd_dmar_build(small, sizeof(small), &dc), 0);
	extra.body_len = vtd_dmar_build(body, sizeof(body), &dc);
	assert_int_equal(extra.body_len, 12 + 16 + 8);
	assert_int_equal(x86_acpi_build(&t, &ac), 0);
	ti = acpi_find_table(&t, "DMAR");
	assert_non_null(ti);
	d = area + ti->offset;
	assert_int_equal(ti->len, 36 + 12 + 16 + 8);
	assert_int_equal(acpi_checksum(d, ti->len), 0);
	assert_memory_equal(d, "DMAR", 4);
	/* Host address width - 1, then flags: no INTR_REMAP (ECAP.IR = 0). */
	assert_int_equal(d[36], 47);
	assert_int_equal(d[37], 0);
	for (unsigned int i = 38; i < 48; i++)
		assert_int_equal(d[i], 0);
	/* One DRHD: all of segment 0, registers at 0xfed90000. */
	memcpy(&drhd, d + 48, sizeof(drhd));
	assert_int_equal(drhd.type, 0);
	assert_int_equal(drhd.length, 16 + 8);
	assert_int_equal(drhd.flags, VTD_DRHD_F_INCLUDE_PCI_ALL);
	assert_int_equal(drhd.size, 0);
	assert_int_equal(drhd.segment, 0);
	memcpy(&base, d + 48 + 8, 8);
	assert_int_equal(base, 0xfed90000ull);
	/* Its device scope: the I/O APIC, id 0, at ff:00.0 as on q35. */
	memcpy(&sc, d + 64, sizeof(sc));
	assert_int_equal(sc.type, VTD_SCOPE_IOAPIC);
	assert_int_equal(sc.length, 8);
	assert_int_equal(sc.reserved, 0);
	assert_int_equal(sc.enumeration_id, 0);
	assert_int_equal(sc.start_bus, 0xff);
	assert_int_equal(sc.dev, 0);
	assert_int_equal(sc.fn, 0);
}

static void test_register_page(void **state)
{
	struct fix *f = *state;
	struct bus_region r;

	assert_true(bus_find(&f->pf.vm.mmio, VTD_REG_BASE + 0xfff, &r));
	assert_int_equal(r.base, VTD_REG_BASE);
	assert_int_equal(r.len, 4096);
	assert_false(bus_find(&f->pf.vm.mmio, VTD_REG_BASE + 0x1000, &r));
	/* What Linux's dmar_validate_one_drhd/alloc_iommu read first. */
	assert_int_equal(reg32(f, VTD_VER), VTD_VER_VALUE);
	assert_int_equal(reg64(f, VTD_CAP), vtd_mmio_read(f->vtd, VTD_CAP, 8));
	assert_true(reg64(f, VTD_CAP) & VTD_CAP_SAGAW_48);
	assert_true(reg64(f, VTD_ECAP) & VTD_ECAP_QI);
	assert_false(reg64(f, VTD_ECAP) & VTD_ECAP_IR);
	assert_int_equal(reg32(f, VTD_GSTS), 0);
	/* A 64-bit register in two halves, as some drivers write it. */
	wreg32(f, VTD_RTADDR, 0x123000);
	wreg32(f, VTD_RTADDR + 4, 0);
	assert_int_equal(reg64(f, VTD_RTADDR), 0x123000);
}

/* A fault (here: a bad root table) reaches the VM as an MSI. */
static void test_fault_event_msi(void **state)
{
	struct fix *f = *state;
	struct vtd_xlate x;
	uint64_t hi;

	wreg64(f, VTD_RTADDR, 0x1000); /* zeroed RAM: nothing present */
	gcmd(f, VTD_GCMD_SRTP);
	gcmd(f, VTD_GCMD_TE);
	wreg32(f, VTD_FEDATA, FE_DATA);
	wreg32(f, VTD_FEADDR, FE_ADDR);
	assert_int_equal(vtd_translate(f->vtd, f->pf.devfn, 0x1000, DMA_READ,
				       &x),
			 VTD_FR_ROOT_P);
	/* Masked at power-on: pending, not sent. */
	check_fault_msis(0);
	assert_true(reg32(f, VTD_FECTL) & VTD_xECTL_IP);
	wreg32(f, VTD_FECTL, 0);
	check_fault_msis(1);
	hi = reg64(f, VTD_FRCD_BASE + 8);
	assert_true(hi & VTD_FRCD_F);
	assert_int_equal(VTD_FRCD_SID(hi), f->pf.devfn);
	assert_int_equal(VTD_FRCD_FR(hi), VTD_FR_ROOT_P);
}

static void test_access_platform(void **state)
{
	struct fix *f = *state;
	struct virtio_dev *plain = virtio_rng_create(&f->pf.vm);

	/* Without an IOMMU a device does not offer it. */
	assert_non_null(plain);
	assert_false(virtio_dev_device_features(plain, 1) &
		     (F_ACCESS_PLATFORM >> 32));
	virtio_dev_destroy(plain);

	assert_true(vp_offered(&f->common) & F_ACCESS_PLATFORM);
	/* A driver that would hand it physical addresses is refused. */
	assert_false(negotiate(f, F_VERSION_1));
	assert_int_equal(vp_status(&f->common), S_ACK | S_DRIVER);
	assert_true(negotiate(f, F_VERSION_1 | F_ACCESS_PLATFORM));
}

/* Translation off: the IOVAs are guest physical addresses. */
static void test_identity_before_te(void **state)
{
	struct fix *f = *state;
	uint16_t n;

	f->avail_idx = 0;
	queue_up(f, GPA_DESC, GPA_AVAIL, GPA_USED);
	vd_desc(&f->pf.vm, GPA_DESC, 0, GPA_BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	vd_avail(&f->pf.vm, GPA_AVAIL, QSIZE, &f->avail_idx, 0);
	bus_write(&f->pf.vm.mmio, f->pf.bar + f->notify, &(uint16_t){ 0 }, 2);
	n = f->avail_idx;
	assert_true(vd_wait_until(used_reached, f, n));
	assert_true(nonzero(f, GPA_BUF));
}

static void through_tables(struct fix *f, bool sm)
{
	uint16_t n;
	uint64_t hi;

	iommu_on(f, sm);
	bring_up(f);
	/* The random bytes land where the tables say, not at the IOVA. */
	memset(vd_hva(&f->pf.vm, GPA_BUF, 64), 0, 64);
	n = post(f, 0, IOVA_BUF);
	assert_true(vd_wait_until(used_reached, f, n));
	assert_true(nonzero(f, GPA_BUF));
	assert_int_equal(vd_rd32(&f->pf.vm, GPA_USED + 4 + 4), 64);

	/*
	 * Remapped to another page: the old translation stays cached (CM =
	 * 0) until the guest invalidates the IOTLB, which reaches the device.
	 */
	map(f, IOVA_BUF, GPA_BUF2, VTD_SL_R | VTD_SL_W);
	memset(vd_hva(&f->pf.vm, GPA_BUF, 64), 0, 64);
	memset(vd_hva(&f->pf.vm, GPA_BUF2, 64), 0, 64);
	n = post(f, 1, IOVA_BUF);
	assert_true(vd_wait_until(used_reached, f, n));
	assert_true(nonzero(f, GPA_BUF));
	assert_false(nonzero(f, GPA_BUF2));
	wreg64(f, VTD_IOTLB, VTD_IOTLB_IVT | VTD_IOTLB_GLOBAL);
	assert_false(reg64(f, VTD_IOTLB) & VTD_IOTLB_IVT);
	memset(vd_hva(&f->pf.vm, GPA_BUF, 64), 0, 64);
	n = post(f, 2, IOVA_BUF);
	assert_true(vd_wait_until(used_reached, f, n));
	assert_true(nonzero(f, GPA_BUF2));
	assert_false(nonzero(f, GPA_BUF));

	/* A buffer the tables do not map: device fails, fault recorded. */
	check_fault_msis(0);
	post(f, 3, IOVA_UNMAPPED);
	assert_true(vd_wait_until(status_has, f, S_NEEDS_RESET));
	assert_int_equal(vd_rd16(&f->pf.vm, GPA_USED + 2), n);
	hi = reg64(f, VTD_FRCD_BASE + 8);
	assert_true(hi & VTD_FRCD_F);
	assert_int_equal(VTD_FRCD_SID(hi), f->pf.devfn);
	assert_int_equal(VTD_FRCD_FR(hi), sm ? VTD_FR_SM_SL_P : VTD_FR_WRITE);
	assert_int_equal(reg64(f, VTD_FRCD_BASE), IOVA_UNMAPPED);
	check_fault_msis(1);
}

static void test_legacy_tables(void **state)
{
	through_tables(*state, false);
}

static void test_scalable_tables(void **state)
{
	through_tables(*state, true);
}

/* The VM's reset puts the unit back to power-on: translation off. */
static void test_reset(void **state)
{
	struct fix *f = *state;

	iommu_on(f, false);
	assert_true(reg32(f, VTD_GSTS) & VTD_GSTS_TES);
	devices_reset(&f->pf.vm);
	assert_int_equal(reg32(f, VTD_GSTS), 0);
	assert_int_equal(reg64(f, VTD_RTADDR), 0);
	assert_true(reg32(f, VTD_FECTL) & VTD_xECTL_IM);
	/* And the function's DMA is the identity again. */
	pf_cfg_wr(&f->pf, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
		  2);
	test_identity_before_te(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dmar_table),
		cmocka_unit_test_setup_teardown(test_register_page, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_event_msi, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_access_platform, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_identity_before_te, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_legacy_tables, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_scalable_tables, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
