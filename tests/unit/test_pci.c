// SPDX-License-Identifier: GPL-2.0
/*
 * PCI root complex tests. Everything goes through bus_read/bus_write on the
 * VM's PIO and MMIO buses, the way a guest's config cycles and BAR
 * accesses arrive.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "arch/x86/machine.h"
#include "kvm/dma.h"
#include "kvm/vm.h"
#include "pci/msix.h"
#include "pci/pci.h"

#define ECAM PCI_ECAM_BASE
#define MMIO64_BASE 0x1000000000ull /* 64 GiB */
#define MMIO64_SIZE 0x1000000000ull

struct bar_rec {
	unsigned int reads, writes;
	uint64_t last_off, last_val;
	unsigned int last_size;
};

struct tdev {
	struct pci_dev pdev;
	struct bar_rec rec[PCI_STD_NUM_BARS];
};

struct fix {
	struct vm vm;
	struct pci_host host;
	struct tdev a, b, mf0, mf2;
	int irq_level[64];
	unsigned int irq_events;
};

static struct fix *cur;

static uint64_t rec_read(void *opaque, uint64_t off, unsigned int size)
{
	struct bar_rec *r = opaque;

	r->reads++;
	r->last_off = off;
	r->last_size = size;
	return 0x5a5a0000 | off;
}

static void rec_write(void *opaque, uint64_t off, uint64_t val,
		      unsigned int size)
{
	struct bar_rec *r = opaque;

	r->writes++;
	r->last_off = off;
	r->last_val = val;
	r->last_size = size;
}

static const struct bus_ops rec_ops = {
	.read = rec_read,
	.write = rec_write,
};

static void rec_irq(struct vm *vm, unsigned int gsi, int level)
{
	cur->irq_level[gsi] = level;
	cur->irq_events++;
}

/* ---- guest-side config access ---- */

static void cf8_select(struct vm *vm, unsigned int bus, unsigned int devfn,
		       unsigned int reg)
{
	uint32_t a = 0x80000000u | bus << 16 | devfn << 8 | (reg & 0xfc);

	bus_write(&vm->pio, 0xcf8, &a, 4);
}

static uint32_t cf8_read(struct vm *vm, unsigned int bus, unsigned int devfn,
			 unsigned int reg, unsigned int size)
{
	uint32_t v = 0;

	cf8_select(vm, bus, devfn, reg);
	bus_read(&vm->pio, 0xcfc + (reg & 3), &v, size);
	return v;
}

static void cf8_write(struct vm *vm, unsigned int bus, unsigned int devfn,
		      unsigned int reg, uint32_t v, unsigned int size)
{
	cf8_select(vm, bus, devfn, reg);
	bus_write(&vm->pio, 0xcfc + (reg & 3), &v, size);
}

static uint64_t ecam_addr(unsigned int bus, unsigned int devfn,
			  unsigned int reg)
{
	return ECAM + ((uint64_t)bus << 20) + ((uint64_t)devfn << 12) + reg;
}

static uint64_t ecam_read(struct vm *vm, unsigned int bus, unsigned int devfn,
			  unsigned int reg, unsigned int size)
{
	uint64_t v = 0;

	bus_read(&vm->mmio, ecam_addr(bus, devfn, reg), &v, size);
	return v;
}

static void ecam_write(struct vm *vm, unsigned int bus, unsigned int devfn,
		       unsigned int reg, uint64_t v, unsigned int size)
{
	bus_write(&vm->mmio, ecam_addr(bus, devfn, reg), &v, size);
}

static uint64_t mmio_read(struct vm *vm, uint64_t addr, unsigned int size)
{
	uint64_t v = 0;

	bus_read(&vm->mmio, addr, &v, size);
	return v;
}

static bool claimed(struct bus *bus, uint64_t addr)
{
	struct bus_region r;

	return bus_find(bus, addr, &r);
}

/* ---- fixture ---- */

static void tdev_init(struct tdev *t, const char *name, uint16_t did)
{
	pci_dev_init(&t->pdev, name, 0x1af4, did, 0xff0000, 1);
}

static int setup(void **state)
{
	struct pci_host_config cfg;
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	cur = f;
	vm_init_common(&f->vm);
	f->vm.irq_set = rec_irq;
	pc_pci_host_config(&cfg);
	cfg.mmio64_base = MMIO64_BASE;
	cfg.mmio64_size = MMIO64_SIZE;
	assert_int_equal(pci_host_init(&f->host, &f->vm, &cfg), 0);

	/* a: every BAR flavour */
	tdev_init(&f->a, "dev-a", 0x1001);
	assert_int_equal(pci_dev_set_bar(&f->a.pdev, 0, 0x1000, PCI_BAR_MEM32,
					 &rec_ops, &f->a.rec[0]),
			 0);
	assert_int_equal(pci_dev_set_bar(&f->a.pdev, 1, 32, PCI_BAR_IO,
					 &rec_ops, &f->a.rec[1]),
			 0);
	assert_int_equal(pci_dev_set_bar(&f->a.pdev, 2, 1 << 20,
					 PCI_BAR_MEM64 | PCI_BAR_PREFETCH,
					 &rec_ops, &f->a.rec[2]),
			 0);
	assert_int_equal(pci_dev_set_bar(&f->a.pdev, 4, 0x10000,
					 PCI_BAR_MEM32 | PCI_BAR_PREFETCH,
					 &rec_ops, &f->a.rec[4]),
			 0);
	assert_int_equal(pci_dev_set_intx_pin(&f->a.pdev, 1), 0);
	assert_int_equal(pci_dev_register(&f->host, &f->a.pdev,
					  PCI_DEVFN(1, 0)),
			 PCI_DEVFN(1, 0));

	/* b: one huge 64-bit BAR, PCIe */
	tdev_init(&f->b, "dev-b", 0x1002);
	assert_int_equal(pci_dev_set_bar(&f->b.pdev, 0, 8ull << 30,
					 PCI_BAR_MEM64, &rec_ops, &f->b.rec[0]),
			 0);
	assert_int_equal(pci_dev_set_bar(&f->b.pdev, 2, 0x1000, PCI_BAR_MEM32,
					 &rec_ops, &f->b.rec[2]),
			 0);
	assert_true(pci_add_pcie_capability(&f->b.pdev, PCI_EXP_TYPE_RC_END) >=
		    0x40);
	assert_int_equal(pci_dev_set_intx_pin(&f->b.pdev, 1), 0);
	assert_int_equal(pci_dev_register(&f->host, &f->b.pdev,
					  PCI_DEVFN(5, 0)),
			 PCI_DEVFN(5, 0));

	/* slot 3: functions 0 and 2 */
	tdev_init(&f->mf0, "mf-0", 0x1003);
	tdev_init(&f->mf2, "mf-2", 0x1004);
	assert_int_equal(pci_dev_register(&f->host, &f->mf0.pdev,
					  PCI_DEVFN(3, 0)),
			 PCI_DEVFN(3, 0));
	assert_int_equal(pci_dev_register(&f->host, &f->mf2.pdev,
					  PCI_DEVFN(3, 2)),
			 PCI_DEVFN(3, 2));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	pci_dev_exit(&f->a.pdev);
	pci_dev_exit(&f->b.pdev);
	pci_dev_exit(&f->mf0.pdev);
	pci_dev_exit(&f->mf2.pdev);
	pci_host_destroy(&f->host);
	vm_destroy(&f->vm);
	free(f);
	cur = NULL;
	return 0;
}

/* ---- enumeration ---- */

static void test_host_bridge(void **state)
{
	struct fix *f = *state;

	assert_int_equal(cf8_read(&f->vm, 0, 0, PCI_VENDOR_ID, 4), 0x29c08086);
	assert_int_equal(cf8_read(&f->vm, 0, 0, PCI_CLASS_REVISION, 4) >> 8,
			 0x060000);
	assert_int_equal(cf8_read(&f->vm, 0, 0, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cf8_read(&f->vm, 0, 0, PCI_SUBSYSTEM_VENDOR_ID, 4),
			 0x11001af4);
}

static void test_enumerate_cf8_equals_ecam(void **state)
{
	struct fix *f = *state;
	unsigned int found = 0;

	for (unsigned int devfn = 0; devfn < 256; devfn++) {
		uint32_t id = cf8_read(&f->vm, 0, devfn, 0, 4);

		assert_int_equal(id, ecam_read(&f->vm, 0, devfn, 0, 4));
		if (id == 0xffffffff)
			continue;
		found++;
		for (unsigned int reg = 0; reg < 256; reg += 4)
			assert_int_equal(cf8_read(&f->vm, 0, devfn, reg, 4),
					 ecam_read(&f->vm, 0, devfn, reg, 4));
	}
	/* bridge, a, b, 3.0, 3.2 */
	assert_int_equal(found, 5);
	assert_int_equal(cf8_read(&f->vm, 0, PCI_DEVFN(3, 0), PCI_HEADER_TYPE,
				  1),
			 PCI_HEADER_TYPE_MFD);
	assert_int_equal(cf8_read(&f->vm, 0, PCI_DEVFN(3, 2), 0, 4),
			 0x10041af4);
	assert_int_equal(cf8_read(&f->vm, 0, PCI_DEVFN(3, 1), 0, 4),
			 0xffffffff);
	assert_int_equal(
		cf8_read(&f->vm, 0, PCI_DEVFN(1, 0), PCI_HEADER_TYPE, 1), 0);
}

static void test_absent_reads_ones(void **state)
{
	struct fix *f = *state;
	uint32_t v = 0;

	assert_int_equal(cf8_read(&f->vm, 0, PCI_DEVFN(9, 0), 0, 4),
			 0xffffffff);
	assert_int_equal(cf8_read(&f->vm, 0, PCI_DEVFN(9, 0), 2, 2), 0xffff);
	assert_int_equal(cf8_read(&f->vm, 0, PCI_DEVFN(9, 0), 3, 1), 0xff);
	assert_int_equal(cf8_read(&f->vm, 1, 0, 0, 4), 0xffffffff);
	assert_int_equal(ecam_read(&f->vm, 7, 0, 0, 4), 0xffffffff);
	assert_int_equal(ecam_read(&f->vm, 255, 0xff, 0xffc, 4), 0xffffffff);
	assert_int_equal(ecam_read(&f->vm, 0, PCI_DEVFN(9, 0), 0, 8),
			 0xffffffffffffffffull);
	/* Writes to nothing go nowhere. */
	cf8_write(&f->vm, 0, PCI_DEVFN(9, 0), PCI_COMMAND, 0xffff, 2);
	ecam_write(&f->vm, 3, 0, PCI_COMMAND, 0xffff, 2);
	/* Without the enable bit the data port is not a config cycle. */
	v = 0x00000000 | PCI_DEVFN(1, 0) << 8;
	bus_write(&f->vm.pio, 0xcf8, &v, 4);
	v = 0;
	bus_read(&f->vm.pio, 0xcfc, &v, 4);
	assert_int_equal(v, 0xffffffff);
	/* A conventional function has no extended space. */
	assert_int_equal(ecam_read(&f->vm, 0, PCI_DEVFN(1, 0), 0x100, 4),
			 0xffffffff);
}

static void test_cf8_latch(void **state)
{
	struct fix *f = *state;
	uint32_t v = 0x80000000u | PCI_DEVFN(1, 0) << 8, r = 0;
	uint8_t b = 0x12;
	uint16_t w = 0x3456;

	bus_write(&f->vm.pio, 0xcf8, &v, 4);
	bus_read(&f->vm.pio, 0xcf8, &r, 4);
	assert_int_equal(r, v);
	/* Only dword writes latch. */
	bus_write(&f->vm.pio, 0xcf8, &b, 1);
	bus_write(&f->vm.pio, 0xcfa, &w, 2);
	bus_read(&f->vm.pio, 0xcf8, &r, 4);
	assert_int_equal(r, v);
	/*
	 * A dword at 0xcfa straddles CONFIG_ADDRESS and CONFIG_DATA: bytes
	 * 0xcfa-0xcfb read as ones, 0xcfc-0xcfd are the function's (issue
	 * 12: the split byte reads ORed in unmasked all-ones values).
	 */
	r = 0;
	bus_read(&f->vm.pio, 0xcfa, &r, 4);
	assert_int_equal(r, 0x1af4ffff);
	r = 0;
	bus_read(&f->vm.pio, 0xcfb, &r, 2);
	assert_int_equal(r, 0xf4ff);
	/* Reserved and low bits read as zero. */
	v = 0xffffffff;
	bus_write(&f->vm.pio, 0xcf8, &v, 4);
	bus_read(&f->vm.pio, 0xcf8, &r, 4);
	assert_int_equal(r, 0x80fffffc);
}

static void test_unaligned_sub_dword(void **state)
{
	struct fix *f = *state;
	unsigned int a = PCI_DEVFN(1, 0);
	uint32_t id = cf8_read(&f->vm, 0, a, 0, 4);

	assert_int_equal(id, 0x10011af4);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(cf8_read(&f->vm, 0, a, i, 1),
				 (id >> (8 * i)) & 0xff);
		assert_int_equal(ecam_read(&f->vm, 0, a, i, 1),
				 (id >> (8 * i)) & 0xff);
	}
	assert_int_equal(cf8_read(&f->vm, 0, a, 2, 2), 0x1001);
	assert_int_equal(cf8_read(&f->vm, 0, a, 1, 2), 0x011a);
	assert_int_equal(ecam_read(&f->vm, 0, a, 1, 2), 0x011a);
	/* Crossing a dword: byte 3 of the ID and byte 0 of Command. */
	assert_int_equal(ecam_read(&f->vm, 0, a, 3, 2), 0x0010);
	/* Interrupt Pin is byte 1 of the 0x3c dword. */
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_INTERRUPT_PIN, 1), 1);
	/* A qword through ECAM is two dwords. */
	assert_int_equal(ecam_read(&f->vm, 0, a, 0, 8),
			 (uint64_t)cf8_read(&f->vm, 0, a, 4, 4) << 32 | id);
	/* Byte writes land in place: Interrupt Line. */
	cf8_write(&f->vm, 0, a, PCI_INTERRUPT_LINE, 0x0b, 1);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_INTERRUPT_LINE, 4) & 0xffff,
			 0x010b);
	ecam_write(&f->vm, 0, a, PCI_CACHE_LINE_SIZE, 0x10, 1);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_CACHE_LINE_SIZE, 1), 0x10);
}

static void test_readonly_fields(void **state)
{
	struct fix *f = *state;
	unsigned int a = PCI_DEVFN(1, 0);
	uint32_t class = cf8_read(&f->vm, 0, a, PCI_CLASS_REVISION, 4);

	cf8_write(&f->vm, 0, a, PCI_VENDOR_ID, 0xffffffff, 4);
	ecam_write(&f->vm, 0, a, PCI_DEVICE_ID, 0, 2);
	cf8_write(&f->vm, 0, a, PCI_CLASS_REVISION, 0, 4);
	cf8_write(&f->vm, 0, a, PCI_HEADER_TYPE, 0xff, 1);
	cf8_write(&f->vm, 0, a, PCI_INTERRUPT_PIN, 4, 1);
	cf8_write(&f->vm, 0, a, PCI_SUBSYSTEM_VENDOR_ID, 0xffffffff, 4);
	cf8_write(&f->vm, 0, a, PCI_ROM_ADDRESS, 0xffffffff, 4);
	cf8_write(&f->vm, 0, a, PCI_CAPABILITY_LIST, 0xff, 1);
	assert_int_equal(cf8_read(&f->vm, 0, a, 0, 4), 0x10011af4);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_CLASS_REVISION, 4), class);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_SUBSYSTEM_VENDOR_ID, 4), 0);
	/* No expansion ROM: sizing reads zero. */
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_ROM_ADDRESS, 4), 0);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_CAPABILITY_LIST, 1), 0);
	/* Command keeps only the bits we implement. */
	cf8_write(&f->vm, 0, a, PCI_COMMAND, 0xffff, 2);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
				 PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
				 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	cf8_write(&f->vm, 0, a, PCI_COMMAND, 0, 2);
}

static void test_status_rw1c(void **state)
{
	struct fix *f = *state;
	unsigned int a = PCI_DEVFN(1, 0);
	uint16_t errs = PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
			PCI_STATUS_REC_MASTER_ABORT |
			PCI_STATUS_DETECTED_PARITY;

	/* The device model reports errors; the guest clears them. */
	pci_cfg_set(&f->a.pdev, PCI_STATUS, errs, 2);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_STATUS, 2), errs);
	/* Writing zeroes (e.g. a Command dword write) clears nothing. */
	cf8_write(&f->vm, 0, a, PCI_COMMAND, PCI_COMMAND_MASTER, 4);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_STATUS, 2), errs);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_COMMAND, 2),
			 PCI_COMMAND_MASTER);
	cf8_write(&f->vm, 0, a, PCI_STATUS,
		  PCI_STATUS_PARITY | PCI_STATUS_REC_MASTER_ABORT, 2);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_STATUS, 2),
			 PCI_STATUS_SIG_TARGET_ABORT |
				 PCI_STATUS_DETECTED_PARITY);
	/* Ones on read-only status bits do not set them; high byte alone. */
	ecam_write(&f->vm, 0, a, PCI_STATUS + 1, 0xff, 1);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_STATUS, 2), 0);
	cf8_write(&f->vm, 0, a, PCI_STATUS, 0xffff, 2);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_STATUS, 2), 0);
	cf8_write(&f->vm, 0, a, PCI_COMMAND, 0, 2);
}

/* ---- capabilities ---- */

static void test_capability_list(void **state)
{
	struct fix *f = *state;
	struct tdev *t = calloc(1, sizeof(*t));
	struct msi msi;
	uint8_t want[] = { PCI_CAP_ID_VNDR, PCI_CAP_ID_MSI, PCI_CAP_ID_EXP,
			   PCI_CAP_ID_VNDR };
	unsigned int ids[8], n = 0, devfn;
	int off[4], e1, e2;
	uint8_t ptr;

	tdev_init(t, "caps", 0x1010);
	off[0] = pci_add_capability(&t->pdev, PCI_CAP_ID_VNDR, 6);
	off[1] = msi_init(&msi, &t->pdev, 4, true, true);
	off[2] = pci_add_pcie_capability(&t->pdev, PCI_EXP_TYPE_ENDPOINT);
	off[3] = pci_add_capability(&t->pdev, PCI_CAP_ID_VNDR, 16);
	assert_int_equal(off[0], 0x40);
	for (unsigned int i = 1; i < 4; i++) {
		assert_true(off[i] > off[i - 1]);
		assert_int_equal(off[i] & 3, 0);
	}
	assert_int_equal(pci_add_capability(&t->pdev, 0x09, 100), -ENOSPC);
	assert_int_equal(pci_add_pcie_capability(&t->pdev,
						 PCI_EXP_TYPE_ENDPOINT),
			 -EEXIST);
	e1 = pci_add_ext_capability(&t->pdev, PCI_EXT_CAP_ID_DSN, 1, 12);
	e2 = pci_add_ext_capability(&t->pdev, PCI_EXT_CAP_ID_VNDR, 1, 16);
	assert_int_equal(e1, 0x100);
	assert_int_equal(e2, 0x10c);
	devfn = pci_dev_register(&f->host, &t->pdev, -1);
	/* First free slot after the bridge and slot 1. */
	assert_int_equal(devfn, PCI_DEVFN(2, 0));

	assert_true(cf8_read(&f->vm, 0, devfn, PCI_STATUS, 2) &
		    PCI_STATUS_CAP_LIST);
	ptr = cf8_read(&f->vm, 0, devfn, PCI_CAPABILITY_LIST, 1);
	while (ptr && n < 8) {
		ids[n++] = cf8_read(&f->vm, 0, devfn, ptr, 1);
		assert_int_equal(ptr, off[n - 1]);
		ptr = cf8_read(&f->vm, 0, devfn, ptr + PCI_CAP_LIST_NEXT, 1);
	}
	assert_int_equal(n, 4);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(ids[i], want[i]);

	/* PCIe capability: v2 endpoint with a link. */
	assert_int_equal(cf8_read(&f->vm, 0, devfn, off[2] + PCI_EXP_FLAGS, 2),
			 2 | PCI_EXP_TYPE_ENDPOINT << 4);
	assert_int_equal(cf8_read(&f->vm, 0, devfn, off[2] + PCI_EXP_LNKSTA, 2),
			 0x11);
	cf8_write(&f->vm, 0, devfn, off[2] + PCI_EXP_DEVCTL, 0xffff, 2);
	assert_int_equal(cf8_read(&f->vm, 0, devfn, off[2] + PCI_EXP_DEVCTL, 2),
			 0x78ff);
	pci_cfg_set(&t->pdev, off[2] + PCI_EXP_DEVSTA,
		    PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_URD, 2);
	ecam_write(&f->vm, 0, devfn, off[2] + PCI_EXP_DEVSTA,
		   PCI_EXP_DEVSTA_URD, 2);
	assert_int_equal(cf8_read(&f->vm, 0, devfn, off[2] + PCI_EXP_DEVSTA, 2),
			 PCI_EXP_DEVSTA_CED);

	/* Extended list, only through ECAM. */
	{
		uint32_t h = ecam_read(&f->vm, 0, devfn, 0x100, 4);

		assert_int_equal(PCI_EXT_CAP_ID(h), PCI_EXT_CAP_ID_DSN);
		assert_int_equal(PCI_EXT_CAP_VER(h), 1);
		assert_int_equal(PCI_EXT_CAP_NEXT(h), 0x10c);
		h = ecam_read(&f->vm, 0, devfn, 0x10c, 4);
		assert_int_equal(PCI_EXT_CAP_ID(h), PCI_EXT_CAP_ID_VNDR);
		assert_int_equal(PCI_EXT_CAP_NEXT(h), 0);
		/* Read-only headers. */
		ecam_write(&f->vm, 0, devfn, 0x100, 0, 4);
		assert_int_equal(ecam_read(&f->vm, 0, devfn, 0x100, 4),
				 0x10c10003);
		assert_int_equal(ecam_read(&f->vm, 0, devfn, 0xffc, 4), 0);
	}

	pci_dev_exit(&t->pdev);
	msi_destroy(&msi);
	free(t);
}

static void hook_read(struct pci_dev *pdev, unsigned int off, unsigned int size,
		      uint32_t *val)
{
	if (off == 0x44 && size == 4)
		*val = 0xcafef00d;
}

static bool hook_write(struct pci_dev *pdev, unsigned int off, uint32_t val,
		       unsigned int size)
{
	if (off == 0x44)
		return true; /* swallowed */
	if (off == 0x48) {
		/* Apply, then look at the result. */
		pci_cfg_write_generic(pdev, off, val, size);
		pci_cfg_set(pdev, 0x4c, pci_cfg_get(pdev, 0x48, 4) + 1, 4);
		return true;
	}
	return false;
}

static void test_cfg_hooks(void **state)
{
	struct fix *f = *state;
	struct tdev *t = calloc(1, sizeof(*t));
	int off, devfn;

	tdev_init(t, "hooks", 0x1011);
	off = pci_add_capability(&t->pdev, PCI_CAP_ID_VNDR, 16);
	assert_int_equal(off, 0x40);
	pci_cfg_set_wmask(&t->pdev, 0x44, 0xffffffff, 4);
	pci_cfg_set_wmask(&t->pdev, 0x48, 0x0000ffff, 4);
	t->pdev.cfg_read = hook_read;
	t->pdev.cfg_write = hook_write;
	devfn = pci_dev_register(&f->host, &t->pdev, PCI_DEVFN(20, 0));
	assert_int_equal(devfn, PCI_DEVFN(20, 0));

	assert_int_equal(cf8_read(&f->vm, 0, devfn, 0x44, 4), 0xcafef00d);
	assert_int_equal(cf8_read(&f->vm, 0, devfn, 0x44, 2), 0);
	cf8_write(&f->vm, 0, devfn, 0x44, 0x11111111, 4);
	assert_int_equal(pci_cfg_get(&t->pdev, 0x44, 4), 0);
	cf8_write(&f->vm, 0, devfn, 0x48, 0x12345678, 4);
	assert_int_equal(cf8_read(&f->vm, 0, devfn, 0x48, 4), 0x5678);
	assert_int_equal(cf8_read(&f->vm, 0, devfn, 0x4c, 4), 0x5679);
	pci_dev_exit(&t->pdev);
	free(t);
}

/* ---- BARs ---- */

/* What Linux's __pci_read_base does, one dword at a time. */
static uint64_t probe_bar(struct vm *vm, unsigned int devfn, unsigned int idx,
			  uint32_t *flags)
{
	unsigned int reg = PCI_BASE_ADDRESS_0 + 4 * idx;
	uint32_t orig = cf8_read(vm, 0, devfn, reg, 4), lo, hi = 0;
	uint64_t mask;

	cf8_write(vm, 0, devfn, reg, 0xffffffff, 4);
	lo = cf8_read(vm, 0, devfn, reg, 4);
	cf8_write(vm, 0, devfn, reg, orig, 4);
	*flags = orig & (orig & 1 ? 0x3 : 0xf);
	if (!lo)
		return 0;
	if (lo & PCI_BASE_ADDRESS_SPACE_IO) {
		mask = lo & 0xfffc;
		return mask & ~(mask - 1);
	}
	if (lo & PCI_BASE_ADDRESS_MEM_TYPE_64) {
		uint32_t ohi = cf8_read(vm, 0, devfn, reg + 4, 4);

		cf8_write(vm, 0, devfn, reg + 4, 0xffffffff, 4);
		hi = cf8_read(vm, 0, devfn, reg + 4, 4);
		cf8_write(vm, 0, devfn, reg + 4, ohi, 4);
	}
	mask = ((uint64_t)hi << 32 | lo) & ~0xfull;
	if (!(lo & PCI_BASE_ADDRESS_MEM_TYPE_64))
		mask |= 0xffffffff00000000ull;
	return mask & ~(mask - 1);
}

static void test_bar_sizing(void **state)
{
	struct fix *f = *state;
	unsigned int a = PCI_DEVFN(1, 0), b = PCI_DEVFN(5, 0);
	uint32_t fl, before[6];

	for (unsigned int i = 0; i < 6; i++)
		before[i] =
			cf8_read(&f->vm, 0, a, PCI_BASE_ADDRESS_0 + 4 * i, 4);
	assert_int_equal(probe_bar(&f->vm, a, 0, &fl), 0x1000);
	assert_int_equal(fl, 0);
	assert_int_equal(probe_bar(&f->vm, a, 1, &fl), 32);
	assert_int_equal(fl, PCI_BASE_ADDRESS_SPACE_IO);
	assert_int_equal(probe_bar(&f->vm, a, 2, &fl), 1 << 20);
	assert_int_equal(fl, PCI_BASE_ADDRESS_MEM_TYPE_64 |
				     PCI_BASE_ADDRESS_MEM_PREFETCH);
	assert_int_equal(probe_bar(&f->vm, a, 4, &fl), 0x10000);
	assert_int_equal(fl, PCI_BASE_ADDRESS_MEM_PREFETCH);
	assert_int_equal(probe_bar(&f->vm, b, 0, &fl), 8ull << 30);
	assert_int_equal(fl, PCI_BASE_ADDRESS_MEM_TYPE_64);
	/* Unused BAR slot: sizes to nothing. */
	assert_int_equal(probe_bar(&f->vm, b, 3, &fl), 0);
	/* Sizing restored every address. */
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(cf8_read(&f->vm, 0, a,
					  PCI_BASE_ADDRESS_0 + 4 * i, 4),
				 before[i]);
	/* I/O BARs decode 16 bits: the upper half reads as zero. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_1, 0xffffffff, 4);
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_BASE_ADDRESS_1, 4),
			 0x0000ffe1);
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_1, before[1], 4);
}

static void test_bar_placement(void **state)
{
	struct fix *f = *state;
	uint64_t a0 = pci_bar_addr(&f->a.pdev, 0, NULL);
	uint64_t a1 = pci_bar_addr(&f->a.pdev, 1, NULL);
	uint64_t a2 = pci_bar_addr(&f->a.pdev, 2, NULL);
	uint64_t a4 = pci_bar_addr(&f->a.pdev, 4, NULL);
	uint64_t b0 = pci_bar_addr(&f->b.pdev, 0, NULL);
	bool mapped = true;

	assert_true(a0 >= PCI_MMIO32_BASE &&
		    a0 + 0x1000 <= PCI_MMIO32_BASE + PCI_MMIO32_SIZE);
	assert_int_equal(a0 & 0xfff, 0);
	assert_true(a1 >= PCI_IO_BASE && a1 + 32 <= PCI_IO_BASE + PCI_IO_SIZE);
	assert_int_equal(a1 & 31, 0);
	assert_true(a2 >= MMIO64_BASE);
	assert_int_equal(a2 & ((1 << 20) - 1), 0);
	assert_int_equal(a4 & 0xffff, 0);
	assert_true(b0 >= MMIO64_BASE &&
		    b0 + (8ull << 30) <= MMIO64_BASE + MMIO64_SIZE);
	assert_int_equal(b0 & ((8ull << 30) - 1), 0);
	/* Decode is off after registration, as after reset. */
	pci_bar_addr(&f->a.pdev, 0, &mapped);
	assert_false(mapped);
	assert_false(claimed(&f->vm.mmio, a0));
	assert_false(claimed(&f->vm.pio, a1));
	/* Windows are exposed for _CRS. */
	assert_int_equal(f->host.mmio32.base, PCI_MMIO32_BASE);
	assert_int_equal(f->host.mmio64.size, MMIO64_SIZE);
	assert_int_equal(f->host.io.base, PCI_IO_BASE);
	assert_int_equal(f->host.nr_buses, 1);
	assert_int_equal(pci_host_intx_gsi(&f->host, 1, 1), 17);
	assert_int_equal(pci_host_intx_gsi(&f->host, 4, 1), 16);
	assert_int_equal(pci_host_intx_gsi(&f->host, 4, 4), 19);
}

static void test_bar_decode_and_move(void **state)
{
	struct fix *f = *state;
	unsigned int a = PCI_DEVFN(1, 0);
	uint64_t a0 = pci_bar_addr(&f->a.pdev, 0, NULL);
	uint64_t a1 = pci_bar_addr(&f->a.pdev, 1, NULL);
	uint64_t n0 = PCI_MMIO32_BASE + 0x1000000;
	uint32_t v;
	uint8_t port = 0;

	cf8_write(&f->vm, 0, a, PCI_COMMAND,
		  PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
	assert_true(claimed(&f->vm.mmio, a0));
	assert_true(claimed(&f->vm.pio, a1));
	assert_int_equal(mmio_read(&f->vm, a0 + 0x10, 4), 0x5a5a0010);
	assert_int_equal(f->a.rec[0].last_off, 0x10);
	v = 0xabcd;
	bus_write(&f->vm.pio, a1 + 4, &v, 2);
	assert_int_equal(f->a.rec[1].last_off, 4);
	assert_int_equal(f->a.rec[1].last_val, 0xabcd);
	bus_read(&f->vm.pio, a1 + 31, &port, 1);
	assert_int_equal(f->a.rec[1].last_off, 31);

	/* Move BAR0: old address released, new one claimed. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_0, (uint32_t)n0, 4);
	assert_false(claimed(&f->vm.mmio, a0));
	assert_true(claimed(&f->vm.mmio, n0));
	assert_int_equal(mmio_read(&f->vm, n0 + 0x20, 4), 0x5a5a0020);
	assert_int_equal(mmio_read(&f->vm, a0 + 0x20, 4), 0xffffffff);

	/* Memory decode off unmaps memory BARs only. */
	cf8_write(&f->vm, 0, a, PCI_COMMAND, PCI_COMMAND_IO, 2);
	assert_false(claimed(&f->vm.mmio, n0));
	assert_true(claimed(&f->vm.pio, a1));
	/* Moving while off maps nothing; turning on maps at the new place. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_0, (uint32_t)a0, 4);
	assert_false(claimed(&f->vm.mmio, a0));
	cf8_write(&f->vm, 0, a, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(claimed(&f->vm.mmio, a0));
	assert_false(claimed(&f->vm.pio, a1));

	/* Sizing with decode on leaves nothing at the all-ones address. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	assert_false(claimed(&f->vm.mmio, 0xfffff000));
	assert_false(claimed(&f->vm.mmio, a0));
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_0, (uint32_t)a0, 4);
	assert_true(claimed(&f->vm.mmio, a0));
	/* Address zero means unassigned. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_0, 0, 4);
	assert_false(claimed(&f->vm.mmio, 0));
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_0, (uint32_t)a0, 4);

	/* Reset puts everything back and turns decode off. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_0, (uint32_t)n0, 4);
	pci_dev_reset(&f->a.pdev);
	assert_int_equal(pci_bar_addr(&f->a.pdev, 0, NULL), a0);
	assert_false(claimed(&f->vm.mmio, n0));
	assert_false(claimed(&f->vm.mmio, a0));
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_COMMAND, 2), 0);
}

static void test_bar64_pair(void **state)
{
	struct fix *f = *state;
	unsigned int a = PCI_DEVFN(1, 0);
	uint64_t a2 = pci_bar_addr(&f->a.pdev, 2, NULL);
	uint64_t n2 = MMIO64_BASE + 0x800000000ull + (1 << 20);
	uint64_t n3 = MMIO64_BASE + 0x900000000ull;
	bool mapped;

	cf8_write(&f->vm, 0, a, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(claimed(&f->vm.mmio, a2));
	/* Low half alone: the address is not complete, nothing moves. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_2, (uint32_t)n2 | 0xc, 4);
	assert_true(claimed(&f->vm.mmio, a2));
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_3, n2 >> 32, 4);
	assert_false(claimed(&f->vm.mmio, a2));
	assert_true(claimed(&f->vm.mmio, n2));
	assert_int_equal(pci_bar_addr(&f->a.pdev, 2, &mapped), n2);
	assert_true(mapped);
	/* High half first works too. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_3, n3 >> 32, 4);
	assert_true(claimed(&f->vm.mmio, n2));
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_2, (uint32_t)n3, 4);
	assert_false(claimed(&f->vm.mmio, n2));
	assert_true(claimed(&f->vm.mmio, n3));
	assert_int_equal(mmio_read(&f->vm, n3 + 8, 4), 0x5a5a0008);
	/* A qword ECAM write moves it in one go. */
	ecam_write(&f->vm, 0, a, PCI_BASE_ADDRESS_2, a2, 8);
	assert_true(claimed(&f->vm.mmio, a2));
	assert_false(claimed(&f->vm.mmio, n3));
	/* Sizing the pair with decode on maps nothing anywhere. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_2, 0xffffffff, 4);
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_3, 0xffffffff, 4);
	pci_bar_addr(&f->a.pdev, 2, &mapped);
	assert_false(mapped);
	assert_false(claimed(&f->vm.mmio, a2));
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_2, (uint32_t)a2, 4);
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_3, a2 >> 32, 4);
	assert_true(claimed(&f->vm.mmio, a2));
	/* A Command write settles a half-written pair. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_2, (uint32_t)n2, 4);
	cf8_write(&f->vm, 0, a, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(claimed(&f->vm.mmio, (a2 & ~0xffffffffull) | (uint32_t)n2));
	cf8_write(&f->vm, 0, a, PCI_COMMAND, 0, 2);
	assert_false(
		claimed(&f->vm.mmio, (a2 & ~0xffffffffull) | (uint32_t)n2));
}

static void test_hostile_bars(void **state)
{
	struct fix *f = *state;
	unsigned int a = PCI_DEVFN(1, 0), b = PCI_DEVFN(5, 0);
	uint64_t a0 = pci_bar_addr(&f->a.pdev, 0, NULL);
	uint64_t b2 = pci_bar_addr(&f->b.pdev, 2, NULL);
	uint32_t seed = 12345;
	bool mapped;

	/* Pretend there is RAM: 0..3 GiB and 4..6 GiB. */
	f->vm.mem.regions[0] =
		(struct mem_region){ .gpa = 0, .size = 0xc0000000 };
	f->vm.mem.regions[1] =
		(struct mem_region){ .gpa = 1ull << 32, .size = 2ull << 30 };
	f->vm.mem.nr = 2;

	cf8_write(&f->vm, 0, b, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	cf8_write(&f->vm, 0, a, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(claimed(&f->vm.mmio, b2));

	/* Over RAM: left unmapped. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_0, 0x100000, 4);
	pci_bar_addr(&f->a.pdev, 0, &mapped);
	assert_false(mapped);
	assert_false(claimed(&f->vm.mmio, 0x100000));
	ecam_write(&f->vm, 0, a, PCI_BASE_ADDRESS_2, (1ull << 32) + 0x100000,
		   8);
	pci_bar_addr(&f->a.pdev, 2, &mapped);
	assert_false(mapped);
	/* Over another device's BAR: that device keeps it. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_0, (uint32_t)b2, 4);
	pci_bar_addr(&f->a.pdev, 0, &mapped);
	assert_false(mapped);
	mmio_read(&f->vm, b2, 4);
	assert_int_equal(f->b.rec[2].reads, 1);
	assert_int_equal(f->a.rec[0].reads, 0);
	/* Over the ECAM window: refused by the bus. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_0, (uint32_t)ECAM, 4);
	assert_int_equal(ecam_read(&f->vm, 0, a, 0, 4), 0x10011af4);
	/* Back home works. */
	cf8_write(&f->vm, 0, a, PCI_BASE_ADDRESS_0, (uint32_t)a0, 4);
	pci_bar_addr(&f->a.pdev, 0, &mapped);
	assert_true(mapped);

	/* All ones, forever, everywhere. */
	for (unsigned int round = 0; round < 4; round++) {
		for (unsigned int reg = 0; reg < 0x1000; reg += 4) {
			ecam_write(&f->vm, 0, a, reg, ~0ull, 4);
			ecam_write(&f->vm, 0, b, reg, ~0ull, 8);
			cf8_write(&f->vm, 0, 0, reg & 0xff, 0xffffffff, 4);
		}
	}
	assert_int_equal(cf8_read(&f->vm, 0, a, 0, 4), 0x10011af4);
	/* Random junk of every size at every offset, both mechanisms. */
	for (unsigned int i = 0; i < 20000; i++) {
		unsigned int reg, size, devfn;
		uint64_t val;

		seed = seed * 1103515245 + 12345;
		reg = (seed >> 8) & 0xfff;
		size = 1u << ((seed >> 4) & 3);
		devfn = (seed >> 24) & 1 ? a : b;
		val = (uint64_t)seed * 0x9e3779b97f4a7c15ull;
		if (seed & 1)
			ecam_write(&f->vm, 0, devfn, reg, val, size);
		else
			cf8_write(&f->vm, 0, devfn, reg & 0xff, val,
				  size > 4 ? 4 : size);
		if (!(i % 7))
			ecam_read(&f->vm, 0, devfn, reg, size);
	}
	assert_int_equal(cf8_read(&f->vm, 0, a, 0, 4), 0x10011af4);
	assert_int_equal(cf8_read(&f->vm, 0, b, 0, 4), 0x10021af4);
	/* Whatever is mapped now is not RAM. */
	for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++) {
		uint64_t x = pci_bar_addr(&f->a.pdev, i, &mapped);

		if (mapped && f->a.pdev.bars[i].type != PCI_BAR_IO)
			assert_true(x >= 0xc0000000ull && x != 0);
	}
	f->vm.mem.nr = 0;
}

/* ---- INTx ---- */

static void test_intx(void **state)
{
	struct fix *f = *state;
	unsigned int a = PCI_DEVFN(1, 0), b = PCI_DEVFN(5, 0);

	/* Slot 1 INTA and slot 5 INTA share GSI 17. */
	assert_int_equal(cf8_read(&f->vm, 0, a, PCI_INTERRUPT_LINE, 1), 17);
	assert_int_equal(cf8_read(&f->vm, 0, b, PCI_INTERRUPT_LINE, 1), 17);
	assert_int_equal(
		cf8_read(&f->vm, 0, PCI_DEVFN(3, 0), PCI_INTERRUPT_PIN, 1), 0);

	pci_dev_set_intx(&f->a.pdev, 1);
	assert_int_equal(f->irq_level[17], 1);
	assert_true(cf8_read(&f->vm, 0, a, PCI_STATUS, 2) &
		    PCI_STATUS_INTERRUPT);
	assert_false(cf8_read(&f->vm, 0, b, PCI_STATUS, 2) &
		     PCI_STATUS_INTERRUPT);
	/* Interrupt Status is read-only. */
	cf8_write(&f->vm, 0, a, PCI_STATUS, 0xffff, 2);
	assert_true(cf8_read(&f->vm, 0, a, PCI_STATUS, 2) &
		    PCI_STATUS_INTERRUPT);

	/* Wire-OR: b joining and leaving doesn't drop a's level. */
	pci_dev_set_intx(&f->b.pdev, 1);
	pci_dev_set_intx(&f->b.pdev, 0);
	assert_int_equal(f->irq_level[17], 1);

	/* INTX_DISABLE masks the output, not the status. */
	cf8_write(&f->vm, 0, a, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	assert_int_equal(f->irq_level[17], 0);
	assert_true(cf8_read(&f->vm, 0, a, PCI_STATUS, 2) &
		    PCI_STATUS_INTERRUPT);
	pci_dev_set_intx(&f->a.pdev, 0);
	pci_dev_set_intx(&f->a.pdev, 1);
	assert_int_equal(f->irq_level[17], 0);
	cf8_write(&f->vm, 0, a, PCI_COMMAND, 0, 2);
	assert_int_equal(f->irq_level[17], 1);
	pci_dev_set_intx(&f->a.pdev, 0);
	assert_int_equal(f->irq_level[17], 0);
	assert_false(cf8_read(&f->vm, 0, a, PCI_STATUS, 2) &
		     PCI_STATUS_INTERRUPT);
	/* Repeated levels don't produce edges. */
	f->irq_events = 0;
	pci_dev_set_intx(&f->a.pdev, 0);
	assert_int_equal(f->irq_events, 0);
	/* A function without a pin drives nothing. */
	pci_dev_set_intx(&f->mf0.pdev, 1);
	assert_int_equal(f->irq_events, 0);
}

static void test_register_errors(void **state)
{
	struct fix *f = *state;
	struct tdev *t = calloc(1, sizeof(*t));
	struct tdev *big = calloc(1, sizeof(*big));

	tdev_init(t, "err", 0x1020);
	assert_int_equal(pci_dev_set_bar(&t->pdev, 6, 0x1000, PCI_BAR_MEM32,
					 NULL, NULL),
			 -EINVAL);
	assert_int_equal(pci_dev_set_bar(&t->pdev, 0, 0x1800, PCI_BAR_MEM32,
					 NULL, NULL),
			 -EINVAL);
	assert_int_equal(pci_dev_set_bar(&t->pdev, 5, 0x1000, PCI_BAR_MEM64,
					 NULL, NULL),
			 -EINVAL);
	assert_int_equal(pci_dev_set_bar(&t->pdev, 0, 512, PCI_BAR_IO, NULL,
					 NULL),
			 -EINVAL);
	assert_int_equal(pci_dev_set_bar(&t->pdev, 0, 8,
					 PCI_BAR_IO | PCI_BAR_PREFETCH, NULL,
					 NULL),
			 -EINVAL);
	assert_int_equal(pci_dev_set_bar(&t->pdev, 0, 0x1000, PCI_BAR_MEM64,
					 NULL, NULL),
			 0);
	assert_int_equal(pci_dev_set_bar(&t->pdev, 1, 0x1000, PCI_BAR_MEM32,
					 NULL, NULL),
			 -EBUSY);
	assert_int_equal(pci_dev_set_intx_pin(&t->pdev, 5), -EINVAL);
	assert_int_equal(pci_dev_register(&f->host, &t->pdev, PCI_DEVFN(1, 0)),
			 -EEXIST);
	assert_int_equal(pci_add_ext_capability(&t->pdev, 1, 1, 8), -EINVAL);

	/* A BAR bigger than every window doesn't fit and takes nothing. */
	tdev_init(big, "big", 0x1021);
	assert_int_equal(pci_dev_set_bar(&big->pdev, 0, 1ull << 40,
					 PCI_BAR_MEM64, NULL, NULL),
			 0);
	{
		uint64_t w32 = pci_window_avail(&f->host.mmio32);
		uint64_t w64 = pci_window_avail(&f->host.mmio64);

		assert_int_equal(pci_dev_register(&f->host, &big->pdev, -1),
				 -ENOSPC);
		assert_int_equal(pci_window_avail(&f->host.mmio32), w32);
		assert_int_equal(pci_window_avail(&f->host.mmio64), w64);
	}
	assert_int_equal(pci_dev_register(&f->host, &t->pdev, -1),
			 PCI_DEVFN(2, 0));
	assert_int_equal(pci_dev_register(&f->host, &t->pdev, -1), -EINVAL);
	pci_dev_exit(&t->pdev);
	assert_int_equal(cf8_read(&f->vm, 0, PCI_DEVFN(2, 0), 0, 4),
			 0xffffffff);
	pci_dev_exit(&big->pdev);
	free(t);
	free(big);
}

/* ---- the BAR allocator ---- */

static void test_window_alloc(void **state)
{
	struct pci_window w;
	uint64_t a, b, c, d;

	assert_int_equal(pci_window_init(&w, 0x10000, 0x10000), 0);
	/* Natural alignment, lowest fit. */
	assert_int_equal(pci_window_alloc(&w, 0x1000, 0x1000, &a), 0);
	assert_int_equal(a, 0x10000);
	assert_int_equal(pci_window_alloc(&w, 0x4000, 0x4000, &b), 0);
	assert_int_equal(b, 0x14000);
	/* The hole left by alignment is used by a smaller request. */
	assert_int_equal(pci_window_alloc(&w, 0x2000, 0x2000, &c), 0);
	assert_int_equal(c, 0x12000);
	assert_int_equal(pci_window_avail(&w), 0x10000 - 0x7000);
	assert_int_equal(pci_window_alloc(&w, 0x1000, 3, &d), -EINVAL);

	/* Exhaustion: fails cleanly and takes nothing. */
	assert_int_equal(pci_window_alloc(&w, 0x10000, 0x10000, &d), -ENOSPC);
	assert_int_equal(pci_window_alloc(&w, 0x8000, 0x8000, &d), 0);
	assert_int_equal(d, 0x18000);
	assert_int_equal(pci_window_alloc(&w, 0x8000, 0x8000, &d), -ENOSPC);
	assert_int_equal(pci_window_avail(&w), 0x1000);

	/* Fragmentation: 0x1000 + 0x2000 free but split by b. */
	pci_window_free(&w, c, 0x2000);
	assert_int_equal(pci_window_avail(&w), 0x3000);
	assert_int_equal(pci_window_alloc(&w, 0x4000, 0x1000, &d), -ENOSPC);
	/* Freeing b joins everything below 0x18000 into one extent. */
	pci_window_free(&w, b, 0x4000);
	assert_int_equal(w.nr_free, 1);
	assert_int_equal(pci_window_alloc(&w, 0x4000, 0x4000, &d), 0);
	assert_int_equal(d, 0x14000);
	/* Reuse of what was freed, lowest first. */
	pci_window_free(&w, a, 0x1000);
	assert_int_equal(pci_window_alloc(&w, 0x1000, 0x1000, &d), 0);
	assert_int_equal(d, 0x10000);
	/* A double free or one outside the window changes nothing. */
	pci_window_free(&w, 0x12000, 0x1000);
	pci_window_free(&w, 0x30000, 0x1000);
	assert_int_equal(pci_window_avail(&w), 0x3000);
	pci_window_destroy(&w);

	/* An absent window has no space. */
	assert_int_equal(pci_window_init(&w, 0, 0), 0);
	assert_int_equal(pci_window_alloc(&w, 16, 16, &d), -ENOSPC);
	pci_window_destroy(&w);
}

/* Many small frees in any order coalesce back into the whole window. */
static void test_window_churn(void **state)
{
	struct pci_window w;
	uint64_t addr[64];
	unsigned int i;

	assert_int_equal(pci_window_init(&w, 0x100000, 64 * 0x1000), 0);
	for (i = 0; i < 64; i++) {
		assert_int_equal(pci_window_alloc(&w, 0x1000, 0x1000, &addr[i]),
				 0);
		assert_int_equal(addr[i], 0x100000 + i * 0x1000);
	}
	assert_int_equal(pci_window_avail(&w), 0);
	for (i = 0; i < 64; i += 2)
		pci_window_free(&w, addr[i], 0x1000);
	assert_int_equal(w.nr_free, 32);
	assert_int_equal(pci_window_alloc(&w, 0x2000, 0x1000, &addr[0]),
			 -ENOSPC);
	for (i = 63; i < 64; i -= 2)
		pci_window_free(&w, addr[i], 0x1000);
	assert_int_equal(w.nr_free, 1);
	assert_int_equal(pci_window_alloc(&w, 64 * 0x1000, 0x1000, &addr[0]),
			 0);
	pci_window_destroy(&w);
}

/* ---- functions at run time ---- */

static void bar_dev_init(struct tdev *t, const char *name)
{
	tdev_init(t, name, 0x1030);
	assert_int_equal(pci_dev_set_bar(&t->pdev, 0, 0x4000, PCI_BAR_MEM32,
					 &rec_ops, &t->rec[0]),
			 0);
	assert_int_equal(pci_dev_set_bar(&t->pdev, 1, 16, PCI_BAR_IO, &rec_ops,
					 &t->rec[1]),
			 0);
	assert_int_equal(pci_dev_set_intx_pin(&t->pdev, 1), 0);
}

static void test_runtime_add_remove(void **state)
{
	struct fix *f = *state;
	struct tdev *t = calloc(1, sizeof(*t)), *u = calloc(1, sizeof(*u));
	unsigned int fn = PCI_DEVFN(9, 0);
	uint64_t avail = pci_window_avail(&f->host.mmio32);
	uint64_t io_avail = pci_window_avail(&f->host.io);
	uint64_t m, io;

	bar_dev_init(t, "hot");
	assert_int_equal(pci_dev_register(&f->host, &t->pdev, fn), fn);
	assert_int_equal(cf8_read(&f->vm, 0, fn, 0, 4), 0x10301af4);
	assert_int_equal(pci_window_avail(&f->host.mmio32), avail - 0x4000);
	m = pci_bar_addr(&t->pdev, 0, NULL);
	io = pci_bar_addr(&t->pdev, 1, NULL);
	cf8_write(&f->vm, 0, fn, PCI_COMMAND,
		  PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
	assert_int_equal(mmio_read(&f->vm, m + 8, 4), 0x5a5a0008);
	assert_true(claimed(&f->vm.pio, io));
	/* Asserting INTx, then removal, must not leave the GSI stuck. */
	pci_dev_set_intx(&t->pdev, 1);
	assert_int_equal(f->irq_level[16 + 9 % 4], 1);

	pci_dev_unregister(&t->pdev);
	assert_int_equal(f->irq_level[16 + 9 % 4], 0);
	assert_int_equal(cf8_read(&f->vm, 0, fn, 0, 4), 0xffffffff);
	assert_int_equal(ecam_read(&f->vm, 0, fn, PCI_COMMAND, 2), 0xffff);
	cf8_write(&f->vm, 0, fn, PCI_COMMAND, 0, 2);
	assert_false(claimed(&f->vm.mmio, m));
	assert_false(claimed(&f->vm.pio, io));
	t->rec[0].reads = 0;
	assert_int_equal(mmio_read(&f->vm, m, 4), 0xffffffff);
	assert_int_equal(t->rec[0].reads, 0);
	assert_int_equal(pci_window_avail(&f->host.mmio32), avail);
	assert_int_equal(pci_window_avail(&f->host.io), io_avail);
	/* On the device list no more; removing twice is harmless. */
	for (struct device *d = f->vm.devices; d; d = d->next)
		assert_ptr_not_equal(d, &t->pdev.dev);
	pci_dev_unregister(&t->pdev);

	/* The space and the slot are reused. */
	bar_dev_init(u, "hot2");
	assert_int_equal(pci_dev_register(&f->host, &u->pdev, fn), fn);
	assert_int_equal(pci_bar_addr(&u->pdev, 0, NULL), m);
	assert_int_equal(pci_bar_addr(&u->pdev, 1, NULL), io);
	pci_dev_exit(&u->pdev);
	pci_dev_exit(&t->pdev);
	free(t);
	free(u);
}

/* Functions added and removed from several threads at once. */
struct churn {
	struct fix *f;
	struct tdev t;
	unsigned int devfn;
	int failures;
};

static void *churn_thread(void *arg)
{
	struct churn *c = arg;

	for (unsigned int i = 0; i < 200; i++) {
		if (pci_dev_register(&c->f->host, &c->t.pdev, c->devfn) !=
		    (int)c->devfn)
			c->failures++;
		if (ecam_read(&c->f->vm, 0, c->devfn, 0, 2) != 0x1af4)
			c->failures++;
		pci_dev_unregister(&c->t.pdev);
	}
	return NULL;
}

static void count_dev(struct device *d, void *arg)
{
	(*(unsigned int *)arg)++;
}

static void test_concurrent_add_remove(void **state)
{
	struct fix *f = *state;
	struct churn *c = calloc(4, sizeof(*c));
	pthread_t thr[4];
	uint64_t avail = pci_window_avail(&f->host.mmio32);
	unsigned int before = 0, after = 0, seen;

	devices_for_each(&f->vm, count_dev, &before);
	for (unsigned int i = 0; i < 4; i++) {
		c[i].f = f;
		c[i].devfn = PCI_DEVFN(10 + i, 0);
		bar_dev_init(&c[i].t, "churn");
		assert_int_equal(
			pthread_create(&thr[i], NULL, churn_thread, &c[i]), 0);
	}
	/* Walking the registry meanwhile sees a consistent list. */
	for (unsigned int n = 0; n < 200; n++) {
		seen = 0;
		devices_for_each(&f->vm, count_dev, &seen);
		assert_true(seen >= before && seen <= before + 4);
	}
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(thr[i], NULL), 0);
		assert_int_equal(c[i].failures, 0);
		pci_dev_exit(&c[i].t.pdev);
	}
	devices_for_each(&f->vm, count_dev, &after);
	assert_int_equal(after, before);
	assert_int_equal(pci_window_avail(&f->host.mmio32), avail);
	free(c);
}

/*
 * A config hook that adds and removes functions, as a PF's SR-IOV control
 * would: it runs under its function's lock, so the work is deferred and
 * done before the config write returns.
 */
static struct tdev *hook_child;
static bool hook_seen_child;

static bool spawn_cfg_write(struct pci_dev *pdev, unsigned int off,
			    uint32_t val, unsigned int size)
{
	if (off != 0x44)
		return false;
	if (val == 1) {
		assert_int_equal(pci_dev_register(pdev->host, &hook_child->pdev,
						  PCI_DEVFN(3, 5)),
				 PCI_DEVFN(3, 5));
		/* Not yet: host->lock may not be taken under pdev->lock. */
		hook_seen_child = pci_host_find(pdev->host, 0, PCI_DEVFN(3, 5));
		/* Deferred registration needs its address up front. */
		assert_int_equal(pci_dev_register(pdev->host, &hook_child->pdev,
						  -1),
				 -EINVAL);
	} else {
		pci_dev_unregister(&hook_child->pdev);
	}
	return true;
}

static void test_add_from_config_hook(void **state)
{
	struct fix *f = *state;
	unsigned int fn = PCI_DEVFN(3, 5);

	hook_child = calloc(1, sizeof(*hook_child));
	bar_dev_init(hook_child, "child");
	f->mf0.pdev.cfg_write = spawn_cfg_write;

	cf8_write(&f->vm, 0, PCI_DEVFN(3, 0), 0x44, 1, 4);
	assert_false(hook_seen_child);
	assert_ptr_equal(pci_host_find(&f->host, 0, fn), &hook_child->pdev);
	assert_int_equal(cf8_read(&f->vm, 0, fn, 0, 4), 0x10301af4);

	ecam_write(&f->vm, 0, PCI_DEVFN(3, 0), 0x44, 0, 4);
	assert_null(pci_host_find(&f->host, 0, fn));
	assert_int_equal(cf8_read(&f->vm, 0, fn, 0, 4), 0xffffffff);
	/* Function 2 is still there, so slot 3 stays multi-function. */
	assert_int_equal(cf8_read(&f->vm, 0, PCI_DEVFN(3, 0), PCI_HEADER_TYPE,
				  1),
			 PCI_HEADER_TYPE_MFD);
	f->mf0.pdev.cfg_write = NULL;
	pci_dev_exit(&hook_child->pdev);
	free(hook_child);
}

/* ---- BAR address sources ---- */

struct fake_pf {
	bool enabled;
	uint64_t base;
	unsigned int calls;
};

static bool fake_bar_addr(void *opaque, struct pci_dev *pdev, unsigned int idx,
			  uint64_t *addr)
{
	struct fake_pf *pf = opaque;

	pf->calls++;
	if (!pf->enabled)
		return false;
	*addr = pf->base + idx * 0x10000;
	return true;
}

static const struct pci_bar_source fake_source = { .addr = fake_bar_addr };

static void test_bar_source(void **state)
{
	struct fix *f = *state;
	struct tdev *vf = calloc(1, sizeof(*vf));
	struct fake_pf pf = { .base = 0xd0000000 };
	uint64_t avail = pci_window_avail(&f->host.mmio32);
	unsigned int fn = PCI_DEVFN(3, 1);
	bool mapped = true;

	tdev_init(vf, "vf", 0x1040);
	assert_int_equal(pci_dev_set_bar(&vf->pdev, 0, 0x4000, PCI_BAR_MEM32,
					 &rec_ops, &vf->rec[0]),
			 0);
	pci_dev_set_bar_source(&vf->pdev, &fake_source, &pf);
	assert_int_equal(pci_dev_register(&f->host, &vf->pdev, fn), fn);
	/* No window space, and the registers read as zero (read-only). */
	assert_int_equal(pci_window_avail(&f->host.mmio32), avail);
	cf8_write(&f->vm, 0, fn, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	assert_int_equal(cf8_read(&f->vm, 0, fn, PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(pci_bar_addr(&vf->pdev, 0, &mapped), 0);
	assert_false(mapped);

	/* The source enables decode, whatever the VF's Command says. */
	pf.enabled = true;
	pci_dev_update_bars(&vf->pdev);
	assert_true(pf.calls > 0);
	assert_int_equal(pci_bar_addr(&vf->pdev, 0, &mapped), 0xd0000000);
	assert_true(mapped);
	assert_int_equal(mmio_read(&f->vm, 0xd0000010, 4), 0x5a5a0010);
	assert_int_equal(vf->rec[0].reads, 1);

	/* The PF moves its VF BAR: the old range stops dispatching. */
	pf.base = 0xd0100000;
	pci_dev_update_bars(&vf->pdev);
	assert_false(claimed(&f->vm.mmio, 0xd0000000));
	assert_int_equal(mmio_read(&f->vm, 0xd0100000, 4), 0x5a5a0000);
	pf.enabled = false;
	pci_dev_update_bars(&vf->pdev);
	assert_false(claimed(&f->vm.mmio, 0xd0100000));

	pci_dev_exit(&vf->pdev);
	free(vf);
}

/* ---- boot-time addressing ---- */

static void test_plan_devfns(void **state)
{
	int out[40];
	unsigned int bad = 99;

	/* Explicit first, then the rest take the lowest free slots. */
	{
		const int want[] = { -1, PCI_DEVFN(2, 0), -1, PCI_DEVFN(2, 3),
				     -1 };

		assert_int_equal(pci_plan_devfns(want, 5, out, &bad), 0);
		assert_int_equal(out[0], PCI_DEVFN(1, 0));
		assert_int_equal(out[1], PCI_DEVFN(2, 0));
		assert_int_equal(out[2], PCI_DEVFN(3, 0));
		assert_int_equal(out[3], PCI_DEVFN(2, 3));
		assert_int_equal(out[4], PCI_DEVFN(4, 0));
	}
	/* Adding an automatic device at the end moves none before it. */
	{
		const int want[] = { -1, -1, PCI_DEVFN(1, 0) };

		assert_int_equal(pci_plan_devfns(want, 3, out, &bad), 0);
		assert_int_equal(out[0], PCI_DEVFN(2, 0));
		assert_int_equal(out[1], PCI_DEVFN(3, 0));
		assert_int_equal(out[2], PCI_DEVFN(1, 0));
	}
	{
		const int want[] = { -1, PCI_DEVFN(0, 0) };

		assert_int_equal(pci_plan_devfns(want, 2, out, &bad), -EINVAL);
		assert_int_equal(bad, 1);
	}
	{
		const int want[] = { PCI_DEVFN(0, 3) };

		assert_int_equal(pci_plan_devfns(want, 1, out, &bad), -EINVAL);
	}
	{
		const int want[] = { PCI_DEVFN(4, 0), -1, PCI_DEVFN(4, 0) };

		assert_int_equal(pci_plan_devfns(want, 3, out, &bad), -EEXIST);
		assert_int_equal(bad, 2);
	}
	{
		const int want[] = { -1, PCI_DEVFN(6, 1) };

		assert_int_equal(pci_plan_devfns(want, 2, out, &bad), -ENODEV);
		assert_int_equal(bad, 1);
	}
	{
		int want[32];

		for (unsigned int i = 0; i < 32; i++)
			want[i] = -1;
		assert_int_equal(pci_plan_devfns(want, 31, out, &bad), 0);
		assert_int_equal(out[30], PCI_DEVFN(31, 0));
		assert_int_equal(pci_plan_devfns(want, 32, out, &bad), -ENOSPC);
		assert_int_equal(bad, 31);
	}
}

/* pci_host_set_next_devfn() places the next function that asks for none. */
static void test_next_devfn(void **state)
{
	struct fix *f = *state;
	struct tdev *t = calloc(1, sizeof(*t)), *u = calloc(1, sizeof(*u));

	tdev_init(t, "planned", 0x1050);
	tdev_init(u, "auto", 0x1051);
	pci_host_set_next_devfn(&f->host, PCI_DEVFN(7, 0));
	assert_int_equal(pci_dev_register(&f->host, &t->pdev, -1),
			 PCI_DEVFN(7, 0));
	/* Used once: the next one takes the lowest free slot. */
	assert_int_equal(pci_dev_register(&f->host, &u->pdev, -1),
			 PCI_DEVFN(2, 0));
	/* A planned address that is taken fails, it isn't moved. */
	pci_dev_exit(&u->pdev);
	tdev_init(u, "auto", 0x1051);
	pci_host_set_next_devfn(&f->host, PCI_DEVFN(7, 0));
	assert_int_equal(pci_dev_register(&f->host, &u->pdev, -1), -EEXIST);
	pci_dev_exit(&u->pdev);
	pci_dev_exit(&t->pdev);
	free(t);
	free(u);
}

static void test_small_ecam(void **state)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct pci_host *host = calloc(1, sizeof(*host));
	struct pci_host_config cfg;

	vm_init_common(vm);
	pc_pci_host_config(&cfg);
	cfg.ecam_size = 4 << 20;
	assert_int_equal(pci_host_init(host, vm, &cfg), 0);
	assert_int_equal(host->nr_buses, 4);
	assert_int_equal(ecam_read(vm, 0, 0, 0, 4), 0x29c08086);
	assert_false(claimed(&vm->mmio, ECAM + (4 << 20)));
	pci_host_destroy(host);
	assert_false(claimed(&vm->mmio, ECAM));
	assert_false(claimed(&vm->pio, 0xcf8));

	cfg.ecam_size = 3 << 19;
	assert_int_equal(pci_host_init(host, vm, &cfg), -EINVAL);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	free(host);
	free(vm);
}

/* ---- DMA through the host's IOMMU ---- */

static int dma_inits, dma_init_ret;
static uint16_t dma_init_sid;

static int rec_dma_init(void *opaque, struct dma_space *as, uint16_t sid)
{
	assert_ptr_equal(opaque, &dma_inits);
	dma_inits++;
	dma_init_sid = sid;
	if (dma_init_ret)
		return dma_init_ret;
	dma_space_init_identity(as, NULL);
	return 0;
}

static void test_dma_iommu(void **state)
{
	struct fix *f = *state;
	struct vm *vm = calloc(1, sizeof(*vm));
	struct pci_host *host = calloc(1, sizeof(*host));
	struct tdev *t = calloc(1, sizeof(*t));
	struct pci_host_config cfg;
	struct dma_space as;

	/* No IOMMU: functions keep the identity, and are told so. */
	assert_false(pci_host_has_iommu(&f->host));
	assert_int_equal(pci_dev_dma_init(&f->a.pdev, &as), -ENODEV);

	vm_init_common(vm);
	pc_pci_host_config(&cfg);
	cfg.dma_init = rec_dma_init;
	cfg.dma_opaque = &dma_inits;
	assert_int_equal(pci_host_init(host, vm, &cfg), 0);
	assert_true(pci_host_has_iommu(host));
	tdev_init(t, "behind", 0x1060);
	/* Not registered yet: no requester id. */
	assert_int_equal(pci_dev_dma_init(&t->pdev, &as), -ENODEV);
	assert_int_equal(dma_inits, 0);
	assert_int_equal(pci_dev_register(host, &t->pdev, PCI_DEVFN(0x1f, 7)),
			 PCI_DEVFN(0x1f, 7));
	/* The requester id is bus << 8 | devfn. */
	assert_int_equal(pci_dev_dma_init(&t->pdev, &as), 0);
	assert_int_equal(dma_inits, 1);
	assert_int_equal(dma_init_sid, 0x00ff);
	dma_space_destroy(&as);
	/* The IOMMU's error comes back. */
	dma_init_ret = -ENOMEM;
	assert_int_equal(pci_dev_dma_init(&t->pdev, &as), -ENOMEM);
	dma_init_ret = 0;

	pci_dev_exit(&t->pdev);
	pci_host_destroy(host);
	vm_destroy(vm);
	free(t);
	free(host);
	free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_host_bridge),
		T(test_enumerate_cf8_equals_ecam),
		T(test_absent_reads_ones),
		T(test_cf8_latch),
		T(test_unaligned_sub_dword),
		T(test_readonly_fields),
		T(test_status_rw1c),
		T(test_capability_list),
		T(test_cfg_hooks),
		T(test_bar_sizing),
		T(test_bar_placement),
		T(test_bar_decode_and_move),
		T(test_bar64_pair),
		T(test_hostile_bars),
		T(test_intx),
		T(test_register_errors),
		cmocka_unit_test(test_window_alloc),
		cmocka_unit_test(test_window_churn),
		T(test_runtime_add_remove),
		T(test_concurrent_add_remove),
		T(test_add_from_config_hook),
		T(test_bar_source),
		cmocka_unit_test(test_plan_devfns),
		T(test_next_devfn),
		cmocka_unit_test(test_small_ecam),
		T(test_dma_iommu),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
