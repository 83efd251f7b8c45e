// SPDX-License-Identifier: GPL-2.0
/*
 * SR-IOV tests: the capability as software sizes and programs it, VFs
 * appearing at their routing IDs and going away, their BARs carved from
 * the PF's VF BARs, the NumVFs rules and an enable/disable loop. All
 * through ECAM, as a guest does it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "arch/x86/machine.h"
#include "kvm/vm.h"
#include "pci/pci.h"
#include "pci/sriov.h"

#define ECAM PCI_ECAM_BASE
#define MAX_VFS 8

struct vf {
	struct pci_dev pdev;
	unsigned int reads, gets, puts;
	uint64_t last_off;
	bool live;
};

struct fix {
	struct vm vm;
	struct pci_host host;
	struct pci_dev pf;
	struct pci_sriov sr;
	struct vf vfs[MAX_VFS];
	unsigned int cap;
};

static uint64_t vf_read(void *opaque, uint64_t off, unsigned int size)
{
	struct vf *v = opaque;

	v->reads++;
	v->last_off = off;
	return 0xabcd0000u | off;
}

static void vf_write(void *opaque, uint64_t off, uint64_t val,
		     unsigned int size)
{
}

static const struct bus_ops vf_ops = { .read = vf_read, .write = vf_write };

static struct pci_dev *t_vf_get(void *opaque, unsigned int i)
{
	struct fix *f = opaque;

	assert_false(f->vfs[i].live);
	f->vfs[i].gets++;
	f->vfs[i].live = true;
	return &f->vfs[i].pdev;
}

static void t_vf_put(void *opaque, unsigned int i, struct pci_dev *vf)
{
	struct fix *f = opaque;

	assert_ptr_equal(vf, &f->vfs[i].pdev);
	assert_true(f->vfs[i].live);
	f->vfs[i].puts++;
	f->vfs[i].live = false;
}

static const struct pci_sriov_ops t_ops = {
	.vf_get = t_vf_get,
	.vf_put = t_vf_put,
};

static uint64_t ecam_addr(unsigned int devfn, unsigned int reg)
{
	return ECAM + ((uint64_t)devfn << 12) + reg;
}

static uint32_t rd(struct fix *f, unsigned int devfn, unsigned int reg,
		   unsigned int size)
{
	uint64_t v = 0;

	bus_read(&f->vm.mmio, ecam_addr(devfn, reg), &v, size);
	return (uint32_t)v;
}

static void wr(struct fix *f, unsigned int devfn, unsigned int reg, uint32_t v,
	       unsigned int size)
{
	uint64_t x = v;

	bus_write(&f->vm.mmio, ecam_addr(devfn, reg), &x, size);
}

static bool claimed(struct fix *f, uint64_t addr)
{
	struct bus_region r;

	return bus_find(&f->vm.mmio, addr, &r);
}

static const char *const names[MAX_VFS] = { "vf0", "vf1", "vf2", "vf3",
					    "vf4", "vf5", "vf6", "vf7" };

/* A PF at @devfn with @total VFs at @offset/@stride. */
static struct fix *make(unsigned int devfn, uint16_t total, uint16_t offset,
			uint16_t stride)
{
	struct pci_host_config cfg;
	struct pci_sriov_config sc = {
		.total_vfs = total,
		.offset = offset,
		.stride = stride,
		.vf_device = 0x10d1,
		.bar_size = { 0x4000, 0, 0x1000 },
		.bar_type = { PCI_BAR_MEM64, PCI_BAR_NONE, PCI_BAR_MEM32 },
	};
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	vm_init_common(&f->vm);
	pc_pci_host_config(&cfg);
	assert_int_equal(pci_host_init(&f->host, &f->vm, &cfg), 0);
	pci_dev_init(&f->pf, "pf", 0x1af4, 0x10d0, 0x010802, 1);
	assert_true(pci_add_pcie_capability(&f->pf, PCI_EXP_TYPE_RC_END) > 0);
	assert_int_equal(pci_sriov_init(&f->sr, &f->pf, &sc, &t_ops, f), 0);
	f->cap = f->sr.cap;
	for (unsigned int i = 0; i < MAX_VFS; i++) {
		pci_dev_init(&f->vfs[i].pdev, names[i], 0x1af4, 0x10d1,
			     0x010802, 1);
		assert_int_equal(pci_dev_set_bar(&f->vfs[i].pdev, 0, 0x4000,
						 PCI_BAR_MEM64, &vf_ops,
						 &f->vfs[i]),
				 0);
		assert_int_equal(pci_dev_set_bar(&f->vfs[i].pdev, 2, 0x1000,
						 PCI_BAR_MEM32, &vf_ops,
						 &f->vfs[i]),
				 0);
		assert_true(pci_add_pcie_capability(&f->vfs[i].pdev,
						    PCI_EXP_TYPE_RC_END) > 0);
	}
	assert_int_equal(pci_dev_register(&f->host, &f->pf, devfn), devfn);
	return f;
}

static void destroy(struct fix *f)
{
	pci_sriov_exit(&f->sr);
	for (unsigned int i = 0; i < MAX_VFS; i++) {
		assert_false(f->vfs[i].live);
		pci_dev_exit(&f->vfs[i].pdev);
	}
	pci_dev_exit(&f->pf);
	pci_host_destroy(&f->host);
	vm_destroy(&f->vm);
	free(f);
}

static unsigned int sr(struct fix *f, unsigned int off)
{
	return f->cap + off;
}

static void test_capability(void **state)
{
	struct fix *f = make(PCI_DEVFN(4, 0), 7, 1, 1);
	unsigned int pf = PCI_DEVFN(4, 0);
	uint32_t hdr, lo, hi, saved;
	unsigned int off = PCI_CFG_SPACE_SIZE;

	/* Found by walking the extended list, after the others. */
	for (;;) {
		hdr = rd(f, pf, off, 4);
		if ((hdr & 0xffff) == PCI_EXT_CAP_ID_SRIOV)
			break;
		off = hdr >> 20;
		assert_true(off >= PCI_CFG_SPACE_SIZE);
	}
	assert_int_equal(off, f->cap);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_TOTAL_VF), 2), 7);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_INITIAL_VF), 2), 7);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_VF_OFFSET), 2), 1);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_VF_STRIDE), 2), 1);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_VF_DID), 2), 0x10d1);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_SUP_PGSIZE), 4), 1);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_SYS_PGSIZE), 4), 1);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_NUM_VF), 2), 0);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_FUNC_LINK), 1), 0);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_STATUS), 2), 0);

	/* VF BAR0 (64-bit) sizes as 16 KiB per VF, and was placed. */
	saved = rd(f, pf, sr(f, PCI_SRIOV_BAR), 4);
	assert_int_equal(saved & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_true((saved & ~0xfu) != 0);
	hi = rd(f, pf, sr(f, PCI_SRIOV_BAR + 4), 4);
	wr(f, pf, sr(f, PCI_SRIOV_BAR), 0xffffffff, 4);
	wr(f, pf, sr(f, PCI_SRIOV_BAR + 4), 0xffffffff, 4);
	lo = rd(f, pf, sr(f, PCI_SRIOV_BAR), 4);
	assert_int_equal(lo, 0xffffc004);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_BAR + 4), 4), 0xffffffff);
	wr(f, pf, sr(f, PCI_SRIOV_BAR), saved, 4);
	wr(f, pf, sr(f, PCI_SRIOV_BAR + 4), hi, 4);
	/* VF BAR2 (32-bit) 4 KiB; VF BAR1 is the upper half, BAR3 unused. */
	wr(f, pf, sr(f, PCI_SRIOV_BAR + 8), 0xffffffff, 4);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_BAR + 8), 4), 0xfffff000);
	wr(f, pf, sr(f, PCI_SRIOV_BAR + 12), 0xffffffff, 4);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_BAR + 12), 4), 0);
	/* Read-only fields stay. */
	wr(f, pf, sr(f, PCI_SRIOV_TOTAL_VF), 0x55, 2);
	wr(f, pf, sr(f, PCI_SRIOV_VF_OFFSET), 0x0909, 4);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_TOTAL_VF), 2), 7);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_VF_OFFSET), 4), 0x00010001);
	destroy(f);
}

static void test_bad_config(void **state)
{
	struct pci_dev pf;
	struct pci_sriov s;
	struct pci_sriov_config c = { .total_vfs = 4,
				      .offset = 1,
				      .stride = 1 };

	pci_dev_init(&pf, "pf", 0x1af4, 1, 0, 0);
	/* Not express: no extended space. */
	assert_true(pci_sriov_init(&s, &pf, &c, &t_ops, NULL) < 0);
	assert_true(pci_add_pcie_capability(&pf, PCI_EXP_TYPE_RC_END) > 0);
	c.offset = 0;
	assert_int_equal(pci_sriov_init(&s, &pf, &c, &t_ops, NULL), -EINVAL);
	c.offset = 200;
	c.stride = 20;
	assert_int_equal(pci_sriov_init(&s, &pf, &c, &t_ops, NULL), -ERANGE);
	c.offset = 1;
	c.stride = 1;
	c.bar_size[0] = 0x800; /* below a page */
	c.bar_type[0] = PCI_BAR_MEM32;
	assert_int_equal(pci_sriov_init(&s, &pf, &c, &t_ops, NULL), -EINVAL);
	c.bar_size[0] = 0x1000;
	c.bar_type[0] = PCI_BAR_IO;
	assert_int_equal(pci_sriov_init(&s, &pf, &c, &t_ops, NULL), -EINVAL);
	pci_dev_exit(&pf);
}

/* Sets VF BAR0 and BAR2 where a guest would, then VFE|MSE with @n VFs. */
static void enable(struct fix *f, unsigned int pf, unsigned int n)
{
	wr(f, pf, sr(f, PCI_SRIOV_NUM_VF), n, 2);
	wr(f, pf, sr(f, PCI_SRIOV_CTRL),
	   PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE, 2);
}

static void test_enable_disable(void **state)
{
	struct fix *f = make(PCI_DEVFN(4, 0), 7, 1, 1);
	unsigned int pf = PCI_DEVFN(4, 0);
	uint64_t base0, base2;

	/* Move the VF BARs somewhere of our own. */
	wr(f, pf, sr(f, PCI_SRIOV_BAR), 0xd0000000, 4);
	wr(f, pf, sr(f, PCI_SRIOV_BAR + 4), 0, 4);
	wr(f, pf, sr(f, PCI_SRIOV_BAR + 8), 0xd8000000, 4);
	base0 = 0xd0000000;
	base2 = 0xd8000000;
	assert_int_equal(rd(f, pf, PCI_HEADER_TYPE, 1), 0);

	enable(f, pf, 3);
	for (unsigned int i = 0; i < 3; i++) {
		unsigned int fn = PCI_DEVFN(4, 1 + i);
		uint16_t cmd;

		assert_ptr_equal(pci_host_find(&f->host, 0, fn),
				 &f->vfs[i].pdev);
		/* IDs read 0xffff; the rest of the header is there. */
		assert_int_equal(rd(f, fn, PCI_VENDOR_ID, 4), 0xffffffff);
		assert_int_equal(rd(f, fn, PCI_CLASS_REVISION, 4) >> 8,
				 0x010802);
		/* Memory Space Enable is RO zero; Bus Master is not. */
		wr(f, fn, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
		   2);
		cmd = rd(f, fn, PCI_COMMAND, 2);
		assert_int_equal(cmd, PCI_COMMAND_MASTER);
		/* BARs read zero, and decode at base + i * size. */
		assert_int_equal(rd(f, fn, PCI_BASE_ADDRESS_0, 4), 0);
		wr(f, fn, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
		assert_int_equal(rd(f, fn, PCI_BASE_ADDRESS_0, 4), 0);
		assert_int_equal(pci_bar_addr(&f->vfs[i].pdev, 0, NULL),
				 base0 + i * 0x4000);
		assert_int_equal(pci_bar_addr(&f->vfs[i].pdev, 2, NULL),
				 base2 + i * 0x1000);
		assert_true(claimed(f, base0 + i * 0x4000));
		assert_true(claimed(f, base2 + i * 0x1000 + 0xfff));
	}
	/* VF 1's BAR0 reaches VF 1's model. */
	{
		uint64_t v = 0;

		bus_read(&f->vm.mmio, base0 + 0x4000 + 0x10, &v, 4);
		assert_int_equal(f->vfs[1].reads, 1);
		assert_int_equal(f->vfs[1].last_off, 0x10);
	}
	assert_false(pci_host_find(&f->host, 0, PCI_DEVFN(4, 4)));
	assert_false(claimed(f, base0 + 3 * 0x4000));
	assert_int_equal(rd(f, pf, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_MFD);

	/* VF MSE off: nothing decodes, the VFs stay. */
	wr(f, pf, sr(f, PCI_SRIOV_CTRL), PCI_SRIOV_CTRL_VFE, 2);
	assert_false(claimed(f, base0));
	assert_non_null(pci_host_find(&f->host, 0, PCI_DEVFN(4, 1)));
	/* Moving VF BAR2 while decoding: every VF follows. */
	wr(f, pf, sr(f, PCI_SRIOV_CTRL),
	   PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE, 2);
	wr(f, pf, sr(f, PCI_SRIOV_BAR + 8), 0xd9000000, 4);
	assert_false(claimed(f, base2));
	assert_true(claimed(f, 0xd9000000 + 2 * 0x1000));

	/* Disable: all gone, no BAR left behind. */
	wr(f, pf, sr(f, PCI_SRIOV_CTRL), PCI_SRIOV_CTRL_MSE, 2);
	for (unsigned int i = 0; i < 3; i++) {
		assert_null(pci_host_find(&f->host, 0, PCI_DEVFN(4, 1 + i)));
		assert_int_equal(rd(f, PCI_DEVFN(4, 1 + i), 0, 4), 0xffffffff);
		assert_false(f->vfs[i].live);
		assert_int_equal(f->vfs[i].puts, 1);
		assert_false(claimed(f, base0 + i * 0x4000));
		assert_false(claimed(f, 0xd9000000 + i * 0x1000));
	}
	assert_int_equal(rd(f, pf, PCI_HEADER_TYPE, 1), 0);
	destroy(f);
}

static void test_num_vfs_rules(void **state)
{
	struct fix *f = make(PCI_DEVFN(4, 0), 4, 1, 1);
	unsigned int pf = PCI_DEVFN(4, 0);

	/* Past TotalVFs: ignored. */
	wr(f, pf, sr(f, PCI_SRIOV_NUM_VF), 2, 2);
	wr(f, pf, sr(f, PCI_SRIOV_NUM_VF), 5, 2);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_NUM_VF), 2), 2);
	wr(f, pf, sr(f, PCI_SRIOV_CTRL), PCI_SRIOV_CTRL_VFE, 2);
	assert_non_null(pci_host_find(&f->host, 0, PCI_DEVFN(4, 2)));
	assert_null(pci_host_find(&f->host, 0, PCI_DEVFN(4, 3)));
	/* Frozen while enabled. */
	wr(f, pf, sr(f, PCI_SRIOV_NUM_VF), 4, 2);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_NUM_VF), 2), 2);
	assert_null(pci_host_find(&f->host, 0, PCI_DEVFN(4, 3)));
	/* A second VFE write changes nothing. */
	wr(f, pf, sr(f, PCI_SRIOV_CTRL), PCI_SRIOV_CTRL_VFE, 2);
	assert_int_equal(f->vfs[0].gets, 1);
	wr(f, pf, sr(f, PCI_SRIOV_CTRL), 0, 2);
	assert_null(pci_host_find(&f->host, 0, PCI_DEVFN(4, 1)));
	/* VFE with NumVFs 0: nothing. */
	wr(f, pf, sr(f, PCI_SRIOV_NUM_VF), 0, 2);
	wr(f, pf, sr(f, PCI_SRIOV_CTRL), PCI_SRIOV_CTRL_VFE, 2);
	assert_null(pci_host_find(&f->host, 0, PCI_DEVFN(4, 1)));
	wr(f, pf, sr(f, PCI_SRIOV_CTRL), 0, 2);
	/* Reset of the PF (FLR) removes them too. */
	enable(f, pf, 3);
	assert_non_null(pci_host_find(&f->host, 0, PCI_DEVFN(4, 3)));
	pci_dev_reset(&f->pf);
	assert_null(pci_host_find(&f->host, 0, PCI_DEVFN(4, 1)));
	assert_null(pci_host_find(&f->host, 0, PCI_DEVFN(4, 3)));
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_CTRL), 2), 0);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_NUM_VF), 2), 0);
	destroy(f);
}

/* Offset 3, stride 5 from 06.0: 06.3, 07.0, 07.5, 08.2. */
static void test_odd_routing(void **state)
{
	struct fix *f = make(PCI_DEVFN(6, 0), 4, 3, 5);
	unsigned int pf = PCI_DEVFN(6, 0);
	const unsigned int want[4] = { PCI_DEVFN(6, 3), PCI_DEVFN(7, 0),
				       PCI_DEVFN(7, 5), PCI_DEVFN(8, 2) };
	uint64_t base = rd(f, pf, sr(f, PCI_SRIOV_BAR), 4) & ~0xfull;

	base |= (uint64_t)rd(f, pf, sr(f, PCI_SRIOV_BAR + 4), 4) << 32;
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(pci_sriov_vf_devfn(&f->sr, pf, i), want[i]);
	assert_int_equal(rd(f, pf, sr(f, PCI_SRIOV_FUNC_LINK), 1), 0);
	assert_int_equal(pci_sriov_vf_devfn(&f->sr, PCI_DEVFN(0x1f, 7), 3), -1);
	enable(f, pf, 4);
	for (unsigned int i = 0; i < 4; i++) {
		assert_ptr_equal(pci_host_find(&f->host, 0, want[i]),
				 &f->vfs[i].pdev);
		/* Reachable though 08.0 does not exist. */
		assert_int_equal(rd(f, want[i], PCI_CLASS_REVISION, 4) >> 8,
				 0x010802);
		/* Placed by devisor at registration: already decoding. */
		assert_int_equal(pci_bar_addr(&f->vfs[i].pdev, 0, NULL),
				 base + i * 0x4000);
		assert_true(claimed(f, base + i * 0x4000));
	}
	/* Nothing else appeared in the slots crossed. */
	assert_null(pci_host_find(&f->host, 0, PCI_DEVFN(7, 1)));
	assert_int_equal(rd(f, PCI_DEVFN(8, 0), 0, 4), 0xffffffff);
	wr(f, pf, sr(f, PCI_SRIOV_CTRL), 0, 2);
	for (unsigned int i = 0; i < 4; i++)
		assert_null(pci_host_find(&f->host, 0, want[i]));
	destroy(f);
}

/* A PF whose last VFs would be on bus 1: only those on bus 0 appear. */
static void test_off_bus(void **state)
{
	struct fix *f = make(PCI_DEVFN(0x1f, 0), 4, 5, 1);
	unsigned int pf = PCI_DEVFN(0x1f, 0);

	enable(f, pf, 4);
	assert_non_null(pci_host_find(&f->host, 0, PCI_DEVFN(0x1f, 5)));
	assert_non_null(pci_host_find(&f->host, 0, PCI_DEVFN(0x1f, 7)));
	assert_true(f->vfs[2].live);
	assert_false(f->vfs[3].live);
	wr(f, pf, sr(f, PCI_SRIOV_CTRL), 0, 2);
	assert_null(pci_host_find(&f->host, 0, PCI_DEVFN(0x1f, 5)));
	assert_false(f->vfs[0].live);
	destroy(f);
}

static void test_toggle_loop(void **state)
{
	struct fix *f = make(PCI_DEVFN(4, 0), 7, 1, 1);
	unsigned int pf = PCI_DEVFN(4, 0);
	uint64_t avail = pci_window_avail(&f->host.mmio32);

	for (unsigned int round = 0; round < 200; round++) {
		unsigned int n = round % 8;

		enable(f, pf, n);
		for (unsigned int i = 0; i < 7; i++)
			assert_true(!!pci_host_find(&f->host, 0,
						    PCI_DEVFN(4, 1 + i)) ==
				    (i < n));
		wr(f, pf, sr(f, PCI_SRIOV_CTRL), 0, 2);
		for (unsigned int i = 0; i < 7; i++)
			assert_null(pci_host_find(&f->host, 0,
						  PCI_DEVFN(4, 1 + i)));
	}
	/* No window space leaked by the VFs. */
	assert_int_equal(pci_window_avail(&f->host.mmio32), avail);
	/* Exit with VFs enabled removes them. */
	enable(f, pf, 5);
	destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capability),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_enable_disable),
		cmocka_unit_test(test_num_vfs_rules),
		cmocka_unit_test(test_odd_routing),
		cmocka_unit_test(test_off_bus),
		cmocka_unit_test(test_toggle_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
