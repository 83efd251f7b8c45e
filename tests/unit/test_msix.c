// SPDX-License-Identifier: GPL-2.0
/*
 * MSI-X and MSI tests: the guest programs the table through the BAR and
 * Message Control through config space; the device signals vectors.
 * Most tests run twice: on the host's deliver/update handlers, and with
 * a struct msi_vectors attached whose KVM refuses routes, so messages
 * take its KVM_SIGNAL_MSI fallback and the pending bits are the group's.
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
#include "pci/msix.h"
#include "pci/pci.h"

#define NVEC 70
#define TABLE_OFF 0x2000
#define PBA_OFF 0x3000
#define BAR_SIZE 0x4000
#define DEVFN PCI_DEVFN(4, 0)
#define MSI_DEVFN PCI_DEVFN(6, 0)

struct msg {
	uint64_t addr;
	uint32_t data;
};

struct upd {
	unsigned int vector;
	uint64_t addr;
	uint32_t data;
	bool masked;
};

struct fix {
	struct vm vm;
	struct pci_host host;
	struct pci_dev pdev;
	struct msix msix;
	struct pci_dev mdev;
	struct msi msi;
	uint64_t bar;
	unsigned int cap;
	unsigned int dev_reads, dev_writes;
	struct msg sent[256];
	unsigned int nr_sent;
	struct upd upd[512];
	unsigned int nr_upd;
	int irq_level[32];
	struct msi_vectors xvec, mvec; /* for setup_group */
};

static uint64_t dev_read(void *opaque, uint64_t off, unsigned int size)
{
	struct fix *f = opaque;

	f->dev_reads++;
	return 0x1234;
}

static void dev_write(void *opaque, uint64_t off, uint64_t val,
		      unsigned int size)
{
	struct fix *f = opaque;

	f->dev_writes++;
}

static const struct bus_ops dev_ops = {
	.read = dev_read,
	.write = dev_write,
};

static struct fix *cur;

static void deliver(void *opaque, uint64_t addr, uint32_t data)
{
	struct fix *f = opaque;

	assert_true(f->nr_sent < 256);
	f->sent[f->nr_sent++] = (struct msg){ addr, data };
}

static void update(void *opaque, struct pci_dev *pdev, unsigned int vector,
		   uint64_t addr, uint32_t data, bool masked)
{
	struct fix *f = opaque;

	if (f->nr_upd < 512)
		f->upd[f->nr_upd++] =
			(struct upd){ vector, addr, data, masked };
}

static void rec_irq(struct vm *vm, unsigned int gsi, int level)
{
	cur->irq_level[gsi] = level;
}

static int no_route(void *opaque, int sid, uint64_t addr, uint32_t data)
{
	return -ENOSYS;
}

static int route_update_unused(void *opaque, unsigned int gsi, int sid,
			       uint64_t addr, uint32_t data)
{
	fail_msg("no route was made");
	return -ENOSYS;
}

static void route_remove_unused(void *opaque, unsigned int gsi)
{
	fail_msg("no route was made");
}

static int irqfd_unused(void *opaque, int efd, unsigned int gsi)
{
	fail_msg("no route was made");
	return -ENOSYS;
}

static int signal_to_deliver(void *opaque, int sid, uint64_t addr,
			     uint32_t data)
{
	deliver(opaque, addr, data);
	return 0;
}

static const struct irq_ops no_route_ops = {
	.route_add = no_route,
	.route_update = route_update_unused,
	.route_remove = route_remove_unused,
	.irqfd_assign = irqfd_unused,
	.irqfd_deassign = irqfd_unused,
	.signal_msi = signal_to_deliver,
};

static uint32_t cfg_rd(struct fix *f, unsigned int devfn, unsigned int reg,
		       unsigned int size)
{
	uint64_t v = 0;

	bus_read(&f->vm.mmio, PCI_ECAM_BASE + (devfn << 12) + reg, &v, size);
	return v;
}

static void cfg_wr(struct fix *f, unsigned int devfn, unsigned int reg,
		   uint32_t v, unsigned int size)
{
	bus_write(&f->vm.mmio, PCI_ECAM_BASE + (devfn << 12) + reg, &v, size);
}

static uint64_t bar_rd(struct fix *f, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	bus_read(&f->vm.mmio, f->bar + off, &v, size);
	return v;
}

static void bar_wr(struct fix *f, uint64_t off, uint64_t v, unsigned int size)
{
	bus_write(&f->vm.mmio, f->bar + off, &v, size);
}

static uint64_t entry(unsigned int v, unsigned int field)
{
	return TABLE_OFF + 16 * v + field;
}

static void msix_ctrl(struct fix *f, uint16_t bits)
{
	cfg_wr(f, DEVFN, f->cap + PCI_MSIX_FLAGS, bits, 2);
}

static void program(struct fix *f, unsigned int v, uint64_t addr, uint32_t data)
{
	bar_wr(f, entry(v, PCI_MSIX_ENTRY_LOWER_ADDR), addr, 8);
	bar_wr(f, entry(v, PCI_MSIX_ENTRY_DATA), data, 4);
}

static void unmask(struct fix *f, unsigned int v, bool on)
{
	bar_wr(f, entry(v, PCI_MSIX_ENTRY_VECTOR_CTRL), on ? 0 : 1, 4);
}

static bool pba_bit(struct fix *f, unsigned int v)
{
	return bar_rd(f, PBA_OFF + v / 64 * 8, 8) >> (v % 64) & 1;
}

static int setup(void **state)
{
	struct pci_host_config cfg;
	struct fix *f = calloc(1, sizeof(*f));
	int cap;

	assert_non_null(f);
	cur = f;
	vm_init_common(&f->vm);
	f->vm.irq_set = rec_irq;
	pc_pci_host_config(&cfg);
	cfg.msi_deliver = deliver;
	cfg.msi_update = update;
	cfg.msi_opaque = f;
	assert_int_equal(pci_host_init(&f->host, &f->vm, &cfg), 0);

	pci_dev_init(&f->pdev, "msix-dev", 0x1af4, 0x1041, 0x020000, 1);
	assert_int_equal(pci_dev_set_bar(&f->pdev, 0, BAR_SIZE, PCI_BAR_MEM32,
					 &dev_ops, f),
			 0);
	assert_int_equal(pci_dev_set_intx_pin(&f->pdev, 1), 0);
	cap = msix_init(&f->msix, &f->pdev, NVEC, 0, TABLE_OFF, 0, PBA_OFF);
	assert_true(cap >= 0x40);
	f->cap = cap;
	assert_int_equal(pci_dev_register(&f->host, &f->pdev, DEVFN), DEVFN);
	f->bar = pci_bar_addr(&f->pdev, 0, NULL);
	cfg_wr(f, DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);

	pci_dev_init(&f->mdev, "msi-dev", 0x1af4, 0x1042, 0x020000, 1);
	assert_int_equal(pci_dev_set_intx_pin(&f->mdev, 1), 0);
	assert_int_equal(msi_init(&f->msi, &f->mdev, 8, true, true), 0x40);
	assert_int_equal(pci_dev_register(&f->host, &f->mdev, MSI_DEVFN),
			 MSI_DEVFN);
	f->nr_upd = 0;
	*state = f;
	return 0;
}

static int setup_group(void **state)
{
	struct fix *f;

	setup(state);
	f = *state;
	/* Only the group may deliver now. */
	f->host.cfg.msi_deliver = NULL;
	f->host.cfg.msi_update = NULL;
	assert_int_equal(msi_vectors_init(&f->xvec, "msix-dev", NVEC,
					  &no_route_ops, f),
			 0);
	msix_set_vectors(&f->msix, &f->xvec);
	assert_int_equal(
		msi_vectors_init(&f->mvec, "msi-dev", 8, &no_route_ops, f), 0);
	msi_set_vectors(&f->msi, &f->mvec);
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	msi_vectors_destroy(&f->xvec);
	msi_vectors_destroy(&f->mvec);
	pci_dev_exit(&f->pdev);
	msix_destroy(&f->msix);
	pci_dev_exit(&f->mdev);
	msi_destroy(&f->msi);
	pci_host_destroy(&f->host);
	vm_destroy(&f->vm);
	free(f);
	cur = NULL;
	return 0;
}

static void test_capability(void **state)
{
	struct fix *f = *state;

	assert_int_equal(cfg_rd(f, DEVFN, f->cap, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(cfg_rd(f, DEVFN, PCI_CAPABILITY_LIST, 1), f->cap);
	assert_int_equal(cfg_rd(f, DEVFN, f->cap + PCI_MSIX_FLAGS, 2),
			 NVEC - 1);
	assert_int_equal(cfg_rd(f, DEVFN, f->cap + PCI_MSIX_TABLE, 4),
			 TABLE_OFF | 0);
	assert_int_equal(cfg_rd(f, DEVFN, f->cap + PCI_MSIX_PBA, 4),
			 PBA_OFF | 0);
	/* Only Enable and Function Mask are writable. */
	msix_ctrl(f, 0xffff);
	assert_int_equal(cfg_rd(f, DEVFN, f->cap + PCI_MSIX_FLAGS, 2),
			 PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL |
				 (NVEC - 1));
	cfg_wr(f, DEVFN, f->cap + PCI_MSIX_TABLE, 0, 4);
	assert_int_equal(cfg_rd(f, DEVFN, f->cap + PCI_MSIX_TABLE, 4),
			 TABLE_OFF);
	assert_true(msix_enabled(&f->msix));
	msix_ctrl(f, 0);
	assert_false(msix_enabled(&f->msix));
}

static void test_table_rw(void **state)
{
	struct fix *f = *state;
	uint64_t addr;
	uint32_t data;

	/* Reset state: zeroed, every vector masked. */
	for (unsigned int v = 0; v < NVEC; v++) {
		assert_int_equal(bar_rd(f, entry(v, 0), 8), 0);
		assert_int_equal(bar_rd(f, entry(v, 8), 4), 0);
		assert_int_equal(bar_rd(f, entry(v, 12), 4), 1);
	}
	bar_wr(f, entry(5, PCI_MSIX_ENTRY_LOWER_ADDR), 0xfee01000, 4);
	bar_wr(f, entry(5, PCI_MSIX_ENTRY_UPPER_ADDR), 0x1, 4);
	bar_wr(f, entry(5, PCI_MSIX_ENTRY_DATA), 0x4041, 4);
	assert_int_equal(bar_rd(f, entry(5, 0), 4), 0xfee01000);
	assert_int_equal(bar_rd(f, entry(5, 4), 4), 1);
	assert_int_equal(bar_rd(f, entry(5, 0), 8), 0x1fee01000ull);
	assert_int_equal(bar_rd(f, entry(5, 8), 8), 0x0000000100004041ull);
	/* Qword write of data + control. */
	bar_wr(f, entry(6, 8), 0x0000000000000077ull, 8);
	assert_int_equal(bar_rd(f, entry(6, 8), 4), 0x77);
	assert_int_equal(bar_rd(f, entry(6, 12), 4), 0);
	/* Reserved Vector Control bits read as zero. */
	bar_wr(f, entry(6, 12), 0xffffffff, 4);
	assert_int_equal(bar_rd(f, entry(6, 12), 4), 1);
	/* Byte access (not what drivers do, but harmless). */
	bar_wr(f, entry(5, 9), 0x99, 1);
	assert_int_equal(bar_rd(f, entry(5, 8), 4), 0x9941);
	assert_int_equal(bar_rd(f, entry(5, 9), 1), 0x99);
	assert_true(msix_get_msg(&f->msix, 5, &addr, &data));
	assert_int_equal(addr, 0x1fee01000ull);
	assert_int_equal(data, 0x9941);

	/* The rest of the BAR still reaches the device. */
	assert_int_equal(bar_rd(f, 0x100, 4), 0x1234);
	bar_wr(f, 0x100, 1, 4);
	bar_wr(f, TABLE_OFF + NVEC * 16, 1, 4); /* past the table */
	assert_int_equal(f->dev_reads, 1);
	assert_int_equal(f->dev_writes, 2);
	/* The PBA is read-only. */
	bar_wr(f, PBA_OFF, ~0ull, 8);
	assert_int_equal(bar_rd(f, PBA_OFF, 8), 0);
	assert_int_equal(f->dev_writes, 2);
}

static void test_update_hook(void **state)
{
	struct fix *f = *state;

	program(f, 2, 0xfee00000, 0x31);
	/* lo+hi (one qword) and data: two changes, hi unchanged at 0. */
	assert_int_equal(f->nr_upd, 2);
	assert_int_equal(f->upd[1].vector, 2);
	assert_int_equal(f->upd[1].addr, 0xfee00000);
	assert_int_equal(f->upd[1].data, 0x31);
	assert_true(f->upd[1].masked);
	/* Rewriting the same value is not a change. */
	program(f, 2, 0xfee00000, 0x31);
	assert_int_equal(f->nr_upd, 2);
	unmask(f, 2, true);
	assert_int_equal(f->nr_upd, 3);
	assert_true(f->upd[2].masked); /* MSI-X still disabled */
	/* Enabling unmasks vector 2 only. */
	f->nr_upd = 0;
	msix_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(f->nr_upd, 1);
	assert_int_equal(f->upd[0].vector, 2);
	assert_false(f->upd[0].masked);
	f->nr_upd = 0;
	msix_ctrl(f, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(f->nr_upd, 1);
	assert_true(f->upd[0].masked);
}

static void test_disabled_does_not_deliver(void **state)
{
	struct fix *f = *state;

	program(f, 1, 0xfee00000, 0x41);
	unmask(f, 1, true);
	assert_false(msix_notify(&f->msix, 1));
	assert_int_equal(f->nr_sent, 0);
	assert_false(pba_bit(f, 1));
	/* Nothing was remembered, so enabling sends nothing. */
	msix_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(f->nr_sent, 0);
	assert_true(msix_notify(&f->msix, 1));
	assert_int_equal(f->nr_sent, 1);
	assert_int_equal(f->sent[0].addr, 0xfee00000);
	assert_int_equal(f->sent[0].data, 0x41);
	/* Out of range vectors are ignored. */
	assert_false(msix_notify(&f->msix, NVEC));
	assert_false(msix_notify(&f->msix, ~0u));
	assert_int_equal(f->nr_sent, 1);
}

static void test_mask_sets_pba_unmask_delivers(void **state)
{
	struct fix *f = *state;

	msix_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	program(f, 3, 0xfee00000, 0x51);
	program(f, 67, 0xfee02000, 0x52);
	/* Vectors start masked. */
	assert_false(msix_notify(&f->msix, 3));
	assert_false(msix_notify(&f->msix, 67));
	assert_false(msix_notify(&f->msix, 67));
	assert_int_equal(f->nr_sent, 0);
	assert_true(pba_bit(f, 3));
	assert_true(pba_bit(f, 67));
	assert_int_equal(bar_rd(f, PBA_OFF, 4), 1u << 3);
	assert_int_equal(bar_rd(f, PBA_OFF + 8, 4), 1u << 3);
	assert_true(msix_is_pending(&f->msix, 67));

	unmask(f, 67, true);
	assert_int_equal(f->nr_sent, 1);
	assert_int_equal(f->sent[0].addr, 0xfee02000);
	assert_int_equal(f->sent[0].data, 0x52);
	assert_false(pba_bit(f, 67));
	assert_true(pba_bit(f, 3));
	/* Unmasked: straight through, no PBA. */
	assert_true(msix_notify(&f->msix, 67));
	assert_int_equal(f->nr_sent, 2);
	assert_false(pba_bit(f, 67));

	/* Mask again, signal, reprogram while masked, unmask: new message. */
	unmask(f, 67, false);
	assert_false(msix_notify(&f->msix, 67));
	program(f, 67, 0xfee03000, 0x53);
	assert_int_equal(f->nr_sent, 2);
	unmask(f, 67, true);
	assert_int_equal(f->nr_sent, 3);
	assert_int_equal(f->sent[2].addr, 0xfee03000);
	assert_int_equal(f->sent[2].data, 0x53);
}

static void test_function_mask(void **state)
{
	struct fix *f = *state;

	msix_ctrl(f, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	program(f, 0, 0xfee00000, 0x61);
	program(f, 1, 0xfee00000, 0x62);
	unmask(f, 0, true);
	unmask(f, 1, true);
	assert_false(msix_notify(&f->msix, 0));
	assert_false(msix_notify(&f->msix, 1));
	assert_int_equal(f->nr_sent, 0);
	assert_true(pba_bit(f, 0));
	assert_true(pba_bit(f, 1));
	/* Vector 1 individually masked too: stays pending. */
	unmask(f, 1, false);
	msix_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(f->nr_sent, 1);
	assert_int_equal(f->sent[0].data, 0x61);
	assert_false(pba_bit(f, 0));
	assert_true(pba_bit(f, 1));
	unmask(f, 1, true);
	assert_int_equal(f->nr_sent, 2);
	assert_int_equal(f->sent[1].data, 0x62);
	assert_int_equal(bar_rd(f, PBA_OFF, 8), 0);
	/* Pending survives a disable and goes out on re-enable. */
	msix_ctrl(f, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_false(msix_notify(&f->msix, 0));
	msix_ctrl(f, 0);
	msix_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(f->nr_sent, 3);
}

static void test_intx_off_while_msix(void **state)
{
	struct fix *f = *state;
	unsigned int gsi = pci_host_intx_gsi(&f->host, 4, 1);

	pci_dev_set_intx(&f->pdev, 1);
	assert_int_equal(f->irq_level[gsi], 1);
	msix_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(f->irq_level[gsi], 0);
	msix_ctrl(f, 0);
	assert_int_equal(f->irq_level[gsi], 1);
	pci_dev_set_intx(&f->pdev, 0);
	assert_int_equal(f->irq_level[gsi], 0);
}

static void test_reset(void **state)
{
	struct fix *f = *state;

	msix_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	program(f, 9, 0xfee00000, 0x71);
	assert_false(msix_notify(&f->msix, 9));
	pci_dev_reset(&f->pdev);
	assert_false(msix_enabled(&f->msix));
	assert_int_equal(cfg_rd(f, DEVFN, f->cap + PCI_MSIX_FLAGS, 2),
			 NVEC - 1);
	assert_false(msix_is_pending(&f->msix, 9));
	cfg_wr(f, DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(bar_rd(f, entry(9, 0), 8), 0);
	assert_int_equal(bar_rd(f, entry(9, 12), 4), 1);
}

static void test_msix_init_errors(void **state)
{
	struct pci_dev *p = calloc(1, sizeof(*p));
	struct msix m;

	pci_dev_init(p, "bad", 0x1af4, 0x1000, 0, 0);
	assert_int_equal(
		pci_dev_set_bar(p, 0, 0x1000, PCI_BAR_MEM32, NULL, NULL), 0);
	assert_int_equal(pci_dev_set_bar(p, 1, 0x100, PCI_BAR_IO, NULL, NULL),
			 0);
	/* Table doesn't fit, overlaps the PBA, misaligned, I/O BAR, none. */
	assert_int_equal(msix_init(&m, p, 300, 0, 0, 0, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m, p, 8, 0, 0, 0, 0x40), -EINVAL);
	assert_int_equal(msix_init(&m, p, 8, 0, 4, 0, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m, p, 8, 1, 0, 0, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m, p, 8, 2, 0, 0, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m, p, 0, 0, 0, 0, 0x800), -EINVAL);
	assert_int_equal(msix_init(&m, p, 8, 0, 0, 0, 0xffc), -EINVAL);
	assert_true(msix_init(&m, p, 8, 0, 0, 0, 0x800) >= 0x40);
	assert_int_equal(msix_init(&m, p, 8, 0, 0, 0, 0x800), -EINVAL);
	msix_destroy(&m);
	pci_dev_exit(p);
	free(p);
}

/* ---- plain MSI ---- */

static void test_msi(void **state)
{
	struct fix *f = *state;
	unsigned int c = 0x40;
	uint16_t flags = cfg_rd(f, MSI_DEVFN, c + PCI_MSI_FLAGS, 2);

	assert_int_equal(cfg_rd(f, MSI_DEVFN, c, 1), PCI_CAP_ID_MSI);
	assert_int_equal(flags,
			 PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | 3 << 1);
	cfg_wr(f, MSI_DEVFN, c + PCI_MSI_ADDRESS_LO, 0xfee00003, 4);
	assert_int_equal(cfg_rd(f, MSI_DEVFN, c + PCI_MSI_ADDRESS_LO, 4),
			 0xfee00000);
	cfg_wr(f, MSI_DEVFN, c + PCI_MSI_ADDRESS_HI, 0, 4);
	cfg_wr(f, MSI_DEVFN, c + PCI_MSI_DATA_64, 0x4020, 2);
	/* Not enabled yet. */
	assert_false(msi_notify(&f->msi, 0));
	assert_int_equal(f->nr_sent, 0);

	/* Enable four of eight vectors. */
	cfg_wr(f, MSI_DEVFN, c + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | 2 << 4,
	       2);
	assert_true(msi_enabled(&f->msi));
	assert_true(msi_notify(&f->msi, 2));
	assert_int_equal(f->sent[0].addr, 0xfee00000);
	assert_int_equal(f->sent[0].data, 0x4022);
	assert_false(msi_notify(&f->msi, 4)); /* beyond what was enabled */
	assert_int_equal(f->nr_sent, 1);

	/* Per-vector mask: pending bit, delivered on unmask. */
	cfg_wr(f, MSI_DEVFN, c + PCI_MSI_MASK_64, 0xff, 4);
	assert_int_equal(cfg_rd(f, MSI_DEVFN, c + PCI_MSI_MASK_64, 4), 0xff);
	assert_false(msi_notify(&f->msi, 1));
	assert_int_equal(cfg_rd(f, MSI_DEVFN, c + PCI_MSI_PENDING_64, 4), 2);
	assert_int_equal(cfg_rd(f, MSI_DEVFN, c + PCI_MSI_PENDING_64, 1), 2);
	cfg_wr(f, MSI_DEVFN, c + PCI_MSI_PENDING_64, 0, 4); /* read-only */
	assert_int_equal(cfg_rd(f, MSI_DEVFN, c + PCI_MSI_PENDING_64, 4), 2);
	cfg_wr(f, MSI_DEVFN, c + PCI_MSI_MASK_64, 0xfd, 4);
	assert_int_equal(f->nr_sent, 2);
	assert_int_equal(f->sent[1].data, 0x4021);
	assert_int_equal(cfg_rd(f, MSI_DEVFN, c + PCI_MSI_PENDING_64, 4), 0);

	/* MSI on turns INTx off. */
	pci_dev_set_intx(&f->mdev, 1);
	assert_int_equal(f->irq_level[pci_host_intx_gsi(&f->host, 6, 1)], 0);
	cfg_wr(f, MSI_DEVFN, c + PCI_MSI_FLAGS, 0, 2);
	assert_int_equal(f->irq_level[pci_host_intx_gsi(&f->host, 6, 1)], 1);
	pci_dev_set_intx(&f->mdev, 0);

	/* Asking for more vectors than offered gets what exists. */
	cfg_wr(f, MSI_DEVFN, c + PCI_MSI_MASK_64, 0, 4);
	cfg_wr(f, MSI_DEVFN, c + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | 7 << 4,
	       2);
	assert_true(msi_notify(&f->msi, 7));
	assert_int_equal(f->sent[f->nr_sent - 1].data, 0x4027);

	pci_dev_reset(&f->mdev);
	assert_false(msi_enabled(&f->msi));
	assert_int_equal(cfg_rd(f, MSI_DEVFN, c + PCI_MSI_ADDRESS_LO, 4), 0);
}

static void test_msi_32bit_unmaskable(void **state)
{
	struct pci_dev *p = calloc(1, sizeof(*p));
	struct msi m;

	pci_dev_init(p, "msi32", 0x1af4, 0x1000, 0, 0);
	assert_int_equal(msi_init(&m, p, 3, false, false), -EINVAL);
	assert_int_equal(msi_init(&m, p, 1, false, false), 0x40);
	assert_int_equal(pci_cfg_get(p, 0x40 + PCI_MSI_FLAGS, 2), 0);
	/* Next capability lands right after the 10-byte structure. */
	assert_int_equal(pci_add_capability(p, PCI_CAP_ID_VNDR, 4), 0x4c);
	msi_destroy(&m);
	pci_dev_exit(p);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_capability),
		T(test_table_rw),
		T(test_update_hook),
		T(test_disabled_does_not_deliver),
		T(test_mask_sets_pba_unmask_delivers),
		T(test_function_mask),
		T(test_intx_off_while_msix),
		T(test_reset),
		T(test_msi),
		cmocka_unit_test(test_msix_init_errors),
		cmocka_unit_test(test_msi_32bit_unmaskable),
#undef T
#define G(fn) cmocka_unit_test_setup_teardown(fn, setup_group, teardown)
		G(test_disabled_does_not_deliver),
		G(test_mask_sets_pba_unmask_delivers),
		G(test_function_mask),
		G(test_intx_off_while_msix),
		G(test_reset),
		G(test_msi),
#undef G
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
