// SPDX-License-Identifier: GPL-2.0
#include "pci/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/vm.h"
#include "pci/msix.h"
#include "pci/sriov.h"
#include "util/common.h"
#include "util/log.h"

/* No guest CPU decodes more; a 64-bit BAR beyond is mid-sizing garbage. */
#define PCI_PHYS_LIMIT (1ull << 52)
#define IO_SPACE_END 0x10000ull
#define SZ_1M (1ull << 20)

#define CONF1_ENABLE 0x80000000u
/* Bits 30:24 (extended register on some AMD parts) and 1:0 read as 0. */
#define CONF1_MASK 0x80fffffcu

#define STATUS_W1C                                                   \
	(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |           \
	 PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT | \
	 PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)
#define COMMAND_RW                                                  \
	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
	 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

static uint32_t ones(unsigned int size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static bool overlaps(unsigned int off, unsigned int size, unsigned int reg,
		     unsigned int reg_size)
{
	return off < reg + reg_size && reg < off + size;
}

static unsigned int cfg_size(const struct pci_dev *pdev)
{
	return pdev->express ? PCI_CFG_SPACE_EXP_SIZE : PCI_CFG_SPACE_SIZE;
}

/* Sizes 1, 2 and 4 within one dword go through whole; the rest by byte. */
static bool needs_split(unsigned int off, unsigned int size)
{
	return (size != 1 && size != 2 && size != 4) || (off & 3) + size > 4;
}

/* Function locks ------------------------------------------------------ */

/*
 * How many function locks this thread holds. Registration and removal
 * under one are deferred (host->lock comes first) onto this thread's own
 * queue, which runs when the outermost is released. Per thread, so no one
 * runs the work while still inside another lock of their own.
 */
struct pci_deferred {
	struct pci_deferred *next;
	struct pci_host *host;
	struct pci_dev *pdev;
	int devfn; /* -1: a removal */
};

static __thread unsigned int fn_depth;
static __thread struct pci_deferred *deferred, *deferred_last;
/*
 * Set while run_deferred() works: a function lock taken and released
 * inside do_register() (a PF's SR-IOV setup under host->lock) must not
 * start the rest of the queue there; the outer loop runs it.
 */
static __thread bool in_deferred;

static void run_deferred(void);

static void fn_lock(struct pci_dev *pdev)
{
	pthread_mutex_lock(&pdev->lock);
	fn_depth++;
}

static void fn_unlock(struct pci_dev *pdev)
{
	pthread_mutex_unlock(&pdev->lock);
	if (--fn_depth == 0 && deferred && !in_deferred)
		run_deferred();
}

void pci_dev_lock(struct pci_dev *pdev)
{
	fn_lock(pdev);
}

void pci_dev_unlock(struct pci_dev *pdev)
{
	fn_unlock(pdev);
}

/* Raw access --------------------------------------------------------- */

static bool raw_ok(unsigned int off, unsigned int size)
{
	return size && size <= 4 && off < PCI_CFG_SPACE_EXP_SIZE &&
	       size <= PCI_CFG_SPACE_EXP_SIZE - off;
}

uint32_t pci_cfg_get(struct pci_dev *pdev, unsigned int off, unsigned int size)
{
	uint32_t v;

	if (!raw_ok(off, size))
		return 0;
	fn_lock(pdev);
	v = (uint32_t)get_le(&pdev->config[off], size);
	fn_unlock(pdev);
	return v;
}

void pci_cfg_set(struct pci_dev *pdev, unsigned int off, uint32_t val,
		 unsigned int size)
{
	if (!raw_ok(off, size))
		return;
	fn_lock(pdev);
	put_le(&pdev->config[off], val, size);
	fn_unlock(pdev);
}

void pci_cfg_set_wmask(struct pci_dev *pdev, unsigned int off, uint32_t mask,
		       unsigned int size)
{
	if (!raw_ok(off, size))
		return;
	fn_lock(pdev);
	put_le(&pdev->wmask[off], mask, size);
	fn_unlock(pdev);
}

void pci_cfg_set_w1cmask(struct pci_dev *pdev, unsigned int off, uint32_t mask,
			 unsigned int size)
{
	if (!raw_ok(off, size))
		return;
	fn_lock(pdev);
	put_le(&pdev->w1cmask[off], mask, size);
	fn_unlock(pdev);
}

/* Function setup ----------------------------------------------------- */

static void pci_dev_reset_dev(struct device *dev)
{
	pci_dev_reset(container_of(dev, struct pci_dev, dev));
}

void pci_dev_init(struct pci_dev *pdev, const char *name, uint16_t vendor,
		  uint16_t device, uint32_t class_code, uint8_t revision)
{
	pthread_mutexattr_t attr;

	memset(pdev, 0, sizeof(*pdev));
	pdev->dev.name = name;
	pdev->dev.kind = DEV_PCI;
	pdev->dev.reset = pci_dev_reset_dev;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&pdev->lock, &attr);
	pthread_mutexattr_destroy(&attr);

	put_le(&pdev->config[PCI_VENDOR_ID], vendor, 2);
	put_le(&pdev->config[PCI_DEVICE_ID], device, 2);
	pdev->config[PCI_REVISION_ID] = revision;
	put_le(&pdev->config[PCI_CLASS_PROG], class_code, 3);
	pdev->config[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;

	put_le(&pdev->wmask[PCI_COMMAND], COMMAND_RW, 2);
	put_le(&pdev->w1cmask[PCI_STATUS], STATUS_W1C, 2);
	/* No effect on a VM, but software expects to write it. */
	pdev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	pdev->wmask[PCI_INTERRUPT_LINE] = 0xff;

	pdev->cap_next = PCI_STD_HEADER_SIZEOF;
	pdev->ext_next = PCI_CFG_SPACE_SIZE;
	for (unsigned int i = 0; i < PCI_NUM_BAR_SLOTS; i++) {
		pdev->bars[i].pdev = pdev;
		pdev->bars[i].idx = i;
	}
}

void pci_dev_set_subsystem(struct pci_dev *pdev, uint16_t vendor, uint16_t id)
{
	pci_cfg_set(pdev, PCI_SUBSYSTEM_VENDOR_ID, vendor, 2);
	pci_cfg_set(pdev, PCI_SUBSYSTEM_ID, id, 2);
}

int pci_dev_set_intx_pin(struct pci_dev *pdev, unsigned int pin)
{
	if (pin > 4 || pdev->registered)
		return -EINVAL;
	pci_cfg_set(pdev, PCI_INTERRUPT_PIN, pin, 1);
	return 0;
}

static bool is_upper_half(const struct pci_dev *pdev, unsigned int idx)
{
	return idx > 0 && pdev->bars[idx - 1].type == PCI_BAR_MEM64;
}

int pci_dev_set_bar(struct pci_dev *pdev, unsigned int idx, uint64_t size,
		    unsigned int type, const struct bus_ops *ops, void *opaque)
{
	enum pci_bar_type t = type & 0xff;
	bool prefetch = type & PCI_BAR_PREFETCH;
	unsigned int reg = PCI_BASE_ADDRESS_0 + 4 * idx;
	struct pci_bar *bar;
	uint32_t lo_bits, lo_mask;

	if (pdev->registered || idx >= PCI_STD_NUM_BARS || !size ||
	    (size & (size - 1)) || (type & ~(0xffu | PCI_BAR_PREFETCH)))
		return -EINVAL;
	switch (t) {
	case PCI_BAR_IO:
		/* x86 has 64K ports, so the upper 16 bits are hardwired. */
		if (prefetch || size < 4 || size > 256)
			return -EINVAL;
		lo_bits = PCI_BASE_ADDRESS_SPACE_IO;
		lo_mask = ~(uint32_t)(size - 1) & 0xfffc;
		break;
	case PCI_BAR_MEM32:
		if (size < 16 || size > (1ull << 31))
			return -EINVAL;
		lo_bits = prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0;
		lo_mask = ~(uint32_t)(size - 1) & 0xfffffff0;
		break;
	case PCI_BAR_MEM64:
		if (size < 16 || size > (1ull << 48) ||
		    idx + 1 >= PCI_STD_NUM_BARS)
			return -EINVAL;
		lo_bits = PCI_BASE_ADDRESS_MEM_TYPE_64 |
			  (prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
		lo_mask = ~(uint32_t)(size - 1) & 0xfffffff0;
		break;
	default:
		return -EINVAL;
	}

	bar = &pdev->bars[idx];
	if (bar->type != PCI_BAR_NONE || is_upper_half(pdev, idx) ||
	    (t == PCI_BAR_MEM64 && pdev->bars[idx + 1].type != PCI_BAR_NONE))
		return -EBUSY;

	fn_lock(pdev);
	bar->type = t;
	bar->prefetch = prefetch;
	bar->size = size;
	bar->ops = ops;
	bar->opaque = opaque;
	put_le(&pdev->config[reg], lo_bits, 4);
	put_le(&pdev->wmask[reg], lo_mask, 4);
	if (t == PCI_BAR_MEM64) {
		put_le(&pdev->config[reg + 4], 0, 4);
		put_le(&pdev->wmask[reg + 4], ~(size - 1) >> 32, 4);
	}
	fn_unlock(pdev);
	return 0;
}

int pci_dev_set_rom(struct pci_dev *pdev, uint64_t size,
		    const struct bus_ops *ops, void *opaque)
{
	struct pci_bar *bar = &pdev->bars[PCI_ROM_SLOT];

	if (pdev->registered || size < 2048 || size > (1u << 24) ||
	    (size & (size - 1)))
		return -EINVAL;
	if (bar->type != PCI_BAR_NONE)
		return -EBUSY;
	fn_lock(pdev);
	bar->type = PCI_BAR_ROM;
	bar->size = size;
	bar->ops = ops;
	bar->opaque = opaque;
	put_le(&pdev->config[PCI_ROM_ADDRESS], 0, 4);
	put_le(&pdev->wmask[PCI_ROM_ADDRESS],
	       (~(uint32_t)(size - 1) & PCI_ROM_ADDRESS_MASK) |
		       PCI_ROM_ADDRESS_ENABLE,
	       4);
	fn_unlock(pdev);
	return 0;
}

int pci_dev_set_next_cap(struct pci_dev *pdev, unsigned int off)
{
	if (off & 3 || off < PCI_STD_HEADER_SIZEOF || off >= PCI_CFG_SPACE_SIZE)
		return -EINVAL;
	fn_lock(pdev);
	if (off < pdev->cap_next) {
		fn_unlock(pdev);
		return -EINVAL;
	}
	pdev->cap_next = off;
	fn_unlock(pdev);
	return 0;
}

int pci_add_capability(struct pci_dev *pdev, uint8_t id, unsigned int size)
{
	unsigned int off;

	if (size < 2 || size > PCI_CFG_SPACE_SIZE - PCI_STD_HEADER_SIZEOF)
		return -EINVAL;
	fn_lock(pdev);
	off = (pdev->cap_next + 3) & ~3u;
	if (off + size > PCI_CFG_SPACE_SIZE) {
		fn_unlock(pdev);
		return -ENOSPC;
	}
	memset(&pdev->config[off], 0, size);
	memset(&pdev->wmask[off], 0, size);
	memset(&pdev->w1cmask[off], 0, size);
	pdev->config[off] = id;
	/* Appended, so the list walks in the order capabilities were added. */
	if (pdev->cap_last)
		pdev->config[pdev->cap_last + PCI_CAP_LIST_NEXT] = off;
	else
		pdev->config[PCI_CAPABILITY_LIST] = off;
	pdev->cap_last = off;
	pdev->cap_next = off + size;
	pdev->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	fn_unlock(pdev);
	return off;
}

int pci_add_ext_capability(struct pci_dev *pdev, uint16_t id, uint8_t version,
			   unsigned int size)
{
	unsigned int off;
	uint32_t hdr;

	if (!pdev->express || size < 4 ||
	    size > PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE || version > 15)
		return -EINVAL;
	fn_lock(pdev);
	off = (pdev->ext_next + 3) & ~3u;
	if (off + size > PCI_CFG_SPACE_EXP_SIZE) {
		fn_unlock(pdev);
		return -ENOSPC;
	}
	memset(&pdev->config[off], 0, size);
	memset(&pdev->wmask[off], 0, size);
	memset(&pdev->w1cmask[off], 0, size);
	put_le(&pdev->config[off], id | (uint32_t)version << 16, 4);
	if (pdev->ext_last) {
		hdr = (uint32_t)get_le(&pdev->config[pdev->ext_last], 4);
		put_le(&pdev->config[pdev->ext_last], hdr | (uint32_t)off << 20,
		       4);
	}
	pdev->ext_last = off;
	pdev->ext_next = off + size;
	fn_unlock(pdev);
	return off;
}

/* Version 2 layout, Device Capabilities 2 through Slot Status 2. */
#define PCI_EXP_V2_SIZEOF 0x3c

int pci_add_pm_capability(struct pci_dev *pdev)
{
	int cap = pci_add_capability(pdev, PCI_CAP_ID_PM, PCI_PM_SIZEOF);

	if (cap < 0)
		return cap;
	pci_cfg_set(pdev, cap + PCI_PM_PMC, 3, 2);
	pci_cfg_set(pdev, cap + PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET, 2);
	pci_cfg_set_wmask(pdev, cap + PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK, 2);
	return cap;
}

bool pci_cfg_write_is_flr(const struct pci_dev *pdev, unsigned int off,
			  uint32_t val, unsigned int size)
{
	unsigned int devctl = pdev->exp_cap + PCI_EXP_DEVCTL;
	uint32_t bits;

	if (!pdev->exp_cap || off >= devctl + 2 || devctl >= off + size)
		return false;
	bits = off <= devctl ? val >> 8 * (devctl - off) :
			       val << 8 * (off - devctl);
	return bits & PCI_EXP_DEVCTL_BCR_FLR;
}

int pci_add_pcie_capability(struct pci_dev *pdev, unsigned int port_type)
{
	int off;

	/* Ports and bridges need a type 1 header we don't model. */
	if (port_type != PCI_EXP_TYPE_ENDPOINT &&
	    port_type != PCI_EXP_TYPE_LEG_END &&
	    port_type != PCI_EXP_TYPE_RC_END)
		return -EINVAL;
	if (pdev->express)
		return -EEXIST;
	off = pci_add_capability(pdev, PCI_CAP_ID_EXP, PCI_EXP_V2_SIZEOF);
	if (off < 0)
		return off;

	fn_lock(pdev);
	pdev->express = true;
	pdev->exp_cap = off;
	put_le(&pdev->config[off + PCI_EXP_FLAGS], 2 | port_type << 4, 2);
	/* 128-byte payload, no FLR, no phantom functions or extended tags. */
	put_le(&pdev->config[off + PCI_EXP_DEVCAP], PCI_EXP_DEVCAP_RBER, 4);
	put_le(&pdev->config[off + PCI_EXP_DEVCTL],
	       PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN |
		       PCI_EXP_DEVCTL_READRQ_512B,
	       2);
	put_le(&pdev->wmask[off + PCI_EXP_DEVCTL],
	       PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE |
		       PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE |
		       PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_PAYLOAD |
		       PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ,
	       2);
	put_le(&pdev->w1cmask[off + PCI_EXP_DEVSTA],
	       PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED | PCI_EXP_DEVSTA_FED |
		       PCI_EXP_DEVSTA_URD,
	       2);
	/* An integrated endpoint has no link; the others a 2.5GT/s x1 one. */
	if (port_type != PCI_EXP_TYPE_RC_END) {
		put_le(&pdev->config[off + PCI_EXP_LNKCAP],
		       PCI_EXP_LNKCAP_SLS_2_5GB | 1 << 4, 4);
		put_le(&pdev->wmask[off + PCI_EXP_LNKCTL],
		       PCI_EXP_LNKCTL_ASPMC | PCI_EXP_LNKCTL_RCB |
			       PCI_EXP_LNKCTL_CCC | PCI_EXP_LNKCTL_ES,
		       2);
		put_le(&pdev->config[off + PCI_EXP_LNKSTA],
		       PCI_EXP_LNKSTA_CLS_2_5GB | 1 << PCI_EXP_LNKSTA_NLW_SHIFT,
		       2);
		put_le(&pdev->config[off + PCI_EXP_LNKCAP2],
		       PCI_EXP_LNKCAP2_SLS_2_5GB, 4);
		put_le(&pdev->config[off + PCI_EXP_LNKCTL2],
		       PCI_EXP_LNKCTL2_TLS_2_5GT, 2);
	}
	fn_unlock(pdev);
	return off;
}

/* INTx ---------------------------------------------------------------- */

unsigned int pci_host_intx_gsi(const struct pci_host *host, unsigned int slot,
			       unsigned int pin)
{
	/* The classic swizzle, so four slots in a row use all four lines. */
	return host->cfg.intx_gsi_base + ((slot + pin - 1) & 3);
}

/* host->intx_lock held. */
static void intx_update(struct pci_dev *pdev)
{
	struct pci_host *host = pdev->host;
	bool out = pdev->intx_level && !pdev->intx_blocked;
	unsigned int i;

	if (!host || !pdev->registered || !pdev->intx_pin ||
	    out == pdev->intx_out)
		return;
	pdev->intx_out = out;
	i = pdev->intx_gsi - host->cfg.intx_gsi_base;
	if (out) {
		if (host->intx_count[i]++ == 0)
			irq_line_set(&host->intx_line[i], 1);
	} else {
		if (--host->intx_count[i] == 0)
			irq_line_set(&host->intx_line[i], 0);
	}
}

void pci_dev_set_intx(struct pci_dev *pdev, int level)
{
	struct pci_host *host = pdev->host;

	if (!host || !pdev->intx_pin)
		return;
	pthread_mutex_lock(&host->intx_lock);
	__atomic_store_n(&pdev->intx_level, level != 0, __ATOMIC_RELAXED);
	intx_update(pdev);
	pthread_mutex_unlock(&host->intx_lock);
}

/* pdev->lock held: INTx is off while disabled or MSI(-X) is in use. */
static void intx_recompute_blocked(struct pci_dev *pdev)
{
	struct pci_host *host = pdev->host;
	bool blocked = ((uint32_t)get_le(&pdev->config[PCI_COMMAND], 2) &
			PCI_COMMAND_INTX_DISABLE) ||
		       (pdev->msix && msix_enabled(pdev->msix)) ||
		       (pdev->msi && msi_enabled(pdev->msi));

	if (!host)
		return;
	pthread_mutex_lock(&host->intx_lock);
	pdev->intx_blocked = blocked;
	intx_update(pdev);
	pthread_mutex_unlock(&host->intx_lock);
}

/* BARs ---------------------------------------------------------------- */

static uint64_t bar_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pci_bar *bar = opaque;
	struct msix *msix = bar->pdev->msix;

	if (msix && msix_bar_claims(msix, bar->idx, off))
		return msix_bar_read(msix, bar->idx, off, size);
	if (bar->ops && bar->ops->read)
		return bar->ops->read(bar->opaque, off, size);
	return 0;
}

static void bar_write(void *opaque, uint64_t off, uint64_t val,
		      unsigned int size)
{
	struct pci_bar *bar = opaque;
	struct msix *msix = bar->pdev->msix;

	if (bar->type == PCI_BAR_ROM)
		return; /* read-only memory */
	if (msix && msix_bar_claims(msix, bar->idx, off))
		msix_bar_write(msix, bar->idx, off, val, size);
	else if (bar->ops && bar->ops->write)
		bar->ops->write(bar->opaque, off, val, size);
}

/* Every BAR goes through here so MSI-X can take its part of any BAR. */
static const struct bus_ops pci_bar_ops = {
	.read = bar_read,
	.write = bar_write,
};

static struct bus *bar_bus(struct pci_bar *bar)
{
	struct vm *vm = bar->pdev->host->vm;

	return bar->type == PCI_BAR_IO ? &vm->pio : &vm->mmio;
}

static unsigned int bar_reg(unsigned int idx)
{
	return idx == PCI_ROM_SLOT ? PCI_ROM_ADDRESS :
				     PCI_BASE_ADDRESS_0 + 4 * idx;
}

static uint64_t bar_decode(const struct pci_dev *pdev, unsigned int idx)
{
	const struct pci_bar *bar = &pdev->bars[idx];
	const uint8_t *p = &pdev->config[bar_reg(idx)];
	uint64_t a = (uint32_t)get_le(p, 4);

	switch (bar->type) {
	case PCI_BAR_ROM:
		return a & PCI_ROM_ADDRESS_MASK;
	case PCI_BAR_IO:
		return a & PCI_BASE_ADDRESS_IO_MASK & 0xffff;
	case PCI_BAR_MEM32:
		return a & 0xfffffff0;
	case PCI_BAR_MEM64:
		return (a & 0xfffffff0) | (uint64_t)(uint32_t)get_le(p + 4, 4)
						  << 32;
	default:
		return 0;
	}
}

uint64_t pci_bar_addr(struct pci_dev *pdev, unsigned int idx, bool *mapped)
{
	uint64_t a;

	if (idx >= PCI_NUM_BAR_SLOTS)
		return 0;
	fn_lock(pdev);
	a = bar_decode(pdev, idx);
	if (pdev->bar_source &&
	    !pdev->bar_source->addr(pdev->bar_source_opaque, pdev, idx, &a))
		a = 0;
	if (mapped)
		*mapped = pdev->bars[idx].mapped;
	fn_unlock(pdev);
	return a;
}

/*
 * Where the BAR should decode now, if anywhere. Zero means unassigned; an
 * address that runs into the top of its space is what sizing leaves
 * behind (all ones), so neither is mapped.
 */
static bool bar_target(struct pci_dev *pdev, struct pci_bar *bar,
		       uint64_t *addr)
{
	uint16_t cmd = (uint32_t)get_le(&pdev->config[PCI_COMMAND], 2);
	uint64_t a = bar_decode(pdev, bar->idx), limit;

	if (!pdev->registered)
		return false;
	if (bar->type == PCI_BAR_IO) {
		if (!(cmd & PCI_COMMAND_IO) && !pdev->bar_source)
			return false;
		limit = IO_SPACE_END;
	} else {
		if (!(cmd & PCI_COMMAND_MEMORY) && !pdev->bar_source)
			return false;
		limit = bar->type == PCI_BAR_MEM64 ? PCI_PHYS_LIMIT :
						     1ull << 32;
		if (bar->type == PCI_BAR_ROM &&
		    !(pdev->config[PCI_ROM_ADDRESS] & PCI_ROM_ADDRESS_ENABLE))
			return false;
	}
	/* The source decides about decode too (a VF's MSE is its PF's). */
	if (pdev->bar_source && !pdev->bar_source->addr(pdev->bar_source_opaque,
							pdev, bar->idx, &a))
		return false;
	if (!a || a >= limit || bar->size >= limit - a)
		return false;
	*addr = a;
	return true;
}

static void bar_unmap(struct pci_bar *bar)
{
	if (!bar->mapped)
		return;
	if (bar->pdev->bar_mapped)
		bar->pdev->bar_mapped(bar->pdev, bar->idx, bar->addr, false);
	bus_unregister(bar_bus(bar), bar->addr, bar);
	bar->mapped = false;
}

/*
 * A refused BAR is retried on every later BAR or Command write (the
 * conflicting region may have moved away), but logged once per address.
 */
static void bar_map(struct pci_dev *pdev, struct pci_bar *bar, uint64_t a)
{
	bool quiet = bar->refused == a;
	int ret;

	bar->refused = a;
	if (bar->type != PCI_BAR_IO &&
	    guest_mem_overlaps(&pdev->host->vm->mem, a, bar->size)) {
		if (!quiet)
			pr_warn_ratelimited(
				"%s: BAR%u at %#llx overlaps RAM, not mapped",
				pdev->dev.name, bar->idx,
				(unsigned long long)a);
		return;
	}
	ret = bus_register(bar_bus(bar), a, bar->size, &pci_bar_ops, bar,
			   pdev->dev.name);
	if (ret) {
		if (!quiet)
			pr_warn_ratelimited(
				"%s: BAR%u at %#llx+%#llx: %s, not mapped",
				pdev->dev.name, bar->idx, (unsigned long long)a,
				(unsigned long long)bar->size,
				ret == -EEXIST ? "conflict" : "error");
		return;
	}
	bar->refused = 0;
	bar->mapped = true;
	bar->addr = a;
	if (pdev->bar_mapped)
		pdev->bar_mapped(pdev, bar->idx, a, true);
}

/*
 * pdev->lock held. Unmap everything that moves first, so BARs of one
 * function can trade places. A 64-bit BAR with only one half written
 * since its last remap keeps its mapping: the address is not complete.
 */
static void update_mappings(struct pci_dev *pdev)
{
	bool want[PCI_NUM_BAR_SLOTS] = { false };
	uint64_t addr[PCI_NUM_BAR_SLOTS] = { 0 };
	unsigned int i;

	for (i = 0; i < PCI_NUM_BAR_SLOTS; i++) {
		struct pci_bar *bar = &pdev->bars[i];

		if (bar->type == PCI_BAR_NONE)
			continue;
		if (bar->type == PCI_BAR_MEM64 && bar->written &&
		    bar->written != 3) {
			want[i] = bar->mapped;
			addr[i] = bar->addr;
			continue;
		}
		bar->written = 0;
		want[i] = bar_target(pdev, bar, &addr[i]);
	}
	for (i = 0; i < PCI_NUM_BAR_SLOTS; i++) {
		struct pci_bar *bar = &pdev->bars[i];

		if (bar->mapped && (!want[i] || addr[i] != bar->addr))
			bar_unmap(bar);
	}
	for (i = 0; i < PCI_NUM_BAR_SLOTS; i++) {
		struct pci_bar *bar = &pdev->bars[i];

		if (want[i] && !bar->mapped)
			bar_map(pdev, bar, addr[i]);
	}
	if (pdev->bars_changed)
		pdev->bars_changed(pdev);
}

void pci_dev_set_bar_source(struct pci_dev *pdev,
			    const struct pci_bar_source *src, void *opaque)
{
	fn_lock(pdev);
	pdev->bar_source = src;
	pdev->bar_source_opaque = opaque;
	fn_unlock(pdev);
}

void pci_dev_update_bars(struct pci_dev *pdev)
{
	fn_lock(pdev);
	update_mappings(pdev);
	fn_unlock(pdev);
}

static void bar_written(struct pci_dev *pdev, unsigned int slot)
{
	/* Read-only registers: no half-written 64-bit address to wait for. */
	if (pdev->bar_source)
		return;
	if (pdev->bars[slot].type == PCI_BAR_MEM64)
		pdev->bars[slot].written |= 1;
	else if (is_upper_half(pdev, slot))
		pdev->bars[slot - 1].written |= 2;
}

/* Config access -------------------------------------------------------- */

void pci_cfg_write_generic(struct pci_dev *pdev, unsigned int off, uint32_t val,
			   unsigned int size)
{
	bool cmd, bars = false, irq = false;

	if (!raw_ok(off, size))
		return;
	fn_lock(pdev);
	for (unsigned int i = 0; i < size; i++) {
		uint8_t b = val >> (8 * i), *c = &pdev->config[off + i];

		*c = (*c & ~pdev->wmask[off + i]) | (b & pdev->wmask[off + i]);
		*c &= ~(b & pdev->w1cmask[off + i]);
	}

	cmd = overlaps(off, size, PCI_COMMAND, 2);
	for (unsigned int s = 0; s < PCI_STD_NUM_BARS; s++) {
		if (overlaps(off, size, PCI_BASE_ADDRESS_0 + 4 * s, 4)) {
			bar_written(pdev, s);
			bars = true;
		}
	}
	bars |= overlaps(off, size, PCI_ROM_ADDRESS, 4);
	if (cmd) {
		/* A decode toggle settles half-written 64-bit BARs. */
		for (unsigned int s = 0; s < PCI_STD_NUM_BARS; s++)
			pdev->bars[s].written = 0;
	}
	if (cmd || bars)
		update_mappings(pdev);
	if (pdev->msix &&
	    overlaps(off, size, pdev->msix->cap + PCI_MSIX_FLAGS, 2)) {
		msix_cfg_written(pdev->msix);
		irq = true;
	}
	if (pdev->msi && overlaps(off, size, pdev->msi->cap, 0x18)) {
		msi_cfg_written(pdev->msi);
		irq = true;
	}
	if (pdev->sriov &&
	    overlaps(off, size, pdev->sriov->cap, PCI_EXT_CAP_SRIOV_SIZEOF))
		pci_sriov_cfg_written(pdev->sriov);
	if (cmd || irq)
		intx_recompute_blocked(pdev);
	fn_unlock(pdev);
}

uint32_t pci_cfg_read(struct pci_dev *pdev, unsigned int off, unsigned int size)
{
	uint32_t val;

	if (!size || size > 4 || off >= cfg_size(pdev) ||
	    size > cfg_size(pdev) - off)
		return ones(size);
	if (needs_split(off, size)) {
		val = 0;
		for (unsigned int i = 0; i < size; i++)
			val |= pci_cfg_read(pdev, off + i, 1) << (8 * i);
		return val;
	}
	fn_lock(pdev);
	val = (uint32_t)get_le(&pdev->config[off], size);
	/* Interrupt Status follows the pin even while INTx is disabled. */
	if (overlaps(off, size, PCI_STATUS, 1) &&
	    __atomic_load_n(&pdev->intx_level, __ATOMIC_RELAXED))
		val |= PCI_STATUS_INTERRUPT << (8 * (PCI_STATUS - off));
	if (pdev->msi)
		msi_cfg_read_fixup(pdev->msi, off, size, &val);
	if (pdev->cfg_read)
		pdev->cfg_read(pdev, off, size, &val);
	fn_unlock(pdev);
	return val & ones(size);
}

void pci_cfg_write(struct pci_dev *pdev, unsigned int off, uint32_t val,
		   unsigned int size)
{
	if (!size || size > 4 || off >= cfg_size(pdev) ||
	    size > cfg_size(pdev) - off)
		return;
	if (needs_split(off, size)) {
		for (unsigned int i = 0; i < size; i++)
			pci_cfg_write(pdev, off + i, val >> (8 * i), 1);
		return;
	}
	val &= ones(size);
	fn_lock(pdev);
	if (!pdev->cfg_write || !pdev->cfg_write(pdev, off, val, size))
		pci_cfg_write_generic(pdev, off, val, size);
	fn_unlock(pdev);
}

/* Host: registry, mechanism #1, ECAM -------------------------------------- */

static struct pci_dev *lookup(struct pci_host *host, unsigned int bus,
			      unsigned int devfn)
{
	struct pci_bus *b;

	if (bus >= PCI_MAX_BUSES || devfn > 0xff)
		return NULL;
	b = __atomic_load_n(&host->buses[bus], __ATOMIC_ACQUIRE);
	return b ? __atomic_load_n(&b->devfn[devfn], __ATOMIC_ACQUIRE) : NULL;
}

bool pci_host_has_io(const struct pci_host *host)
{
	return host->cfg.io_size != 0;
}

bool pci_host_has_iommu(const struct pci_host *host)
{
	return host->cfg.dma_init != NULL;
}

int pci_host_dma_init(struct pci_host *host, struct dma_space *as,
		      unsigned int bus, unsigned int devfn)
{
	if (!host || !pci_host_has_iommu(host) || bus > 0xff || devfn > 0xff)
		return -ENODEV;
	return host->cfg.dma_init(host->cfg.dma_opaque, as,
				  (uint16_t)(bus << 8 | devfn));
}

int pci_dev_dma_init(struct pci_dev *pdev, struct dma_space *as)
{
	return pci_host_dma_init(pdev->host, as, pdev->bus, pdev->devfn);
}

struct pci_dev *pci_host_find(struct pci_host *host, unsigned int bus,
			      unsigned int devfn)
{
	return lookup(host, bus, devfn);
}

/*
 * Software finds functions 1-7 only through function 0, but a VF is found
 * through its PF's SR-IOV capability, wherever its routing ID lands.
 */
static struct pci_dev *cfg_target(struct pci_host *host, unsigned int bus,
				  unsigned int devfn)
{
	struct pci_dev *p = lookup(host, bus, devfn);

	if (p && !p->virtfn && !lookup(host, bus, devfn & ~7u))
		return NULL;
	return p;
}

uint32_t pci_host_cfg_read(struct pci_host *host, unsigned int bus,
			   unsigned int devfn, unsigned int off,
			   unsigned int size)
{
	struct pci_dev *pdev = cfg_target(host, bus, devfn);

	if (!pdev)
		return ones(size);
	return pci_cfg_read(pdev, off, size);
}

void pci_host_cfg_write(struct pci_host *host, unsigned int bus,
			unsigned int devfn, unsigned int off, uint32_t val,
			unsigned int size)
{
	struct pci_dev *pdev = cfg_target(host, bus, devfn);

	if (pdev)
		pci_cfg_write(pdev, off, val, size);
}

static uint64_t conf1_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pci_host *host = opaque;
	uint32_t addr;
	uint64_t v = 0;

	if (off < 4 && off + size > 4) {
		/* Each byte's read may be all ones in 64 bits: keep 8. */
		for (unsigned int i = 0; i < size; i++)
			v |= (conf1_read(host, off + i, 1) & 0xff) << (8 * i);
		return v;
	}
	if (off < 4) {
		/* Only the whole dword is the address register. */
		if (off == 0 && size == 4)
			return __atomic_load_n(&host->cf8, __ATOMIC_RELAXED);
		if (host->cfg.conf1_other)
			return host->cfg.conf1_other->read(
				host->cfg.conf1_other_opaque, off, size);
		return ~0ull;
	}
	addr = __atomic_load_n(&host->cf8, __ATOMIC_RELAXED);
	if (!(addr & CONF1_ENABLE))
		return ~0ull;
	return pci_host_cfg_read(host, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
				 (addr & 0xfc) + (off - 4), size);
}

static void conf1_write(void *opaque, uint64_t off, uint64_t val,
			unsigned int size)
{
	struct pci_host *host = opaque;
	uint32_t addr;

	if (off < 4 && off + size > 4) {
		for (unsigned int i = 0; i < size; i++)
			conf1_write(host, off + i, val >> (8 * i), 1);
		return;
	}
	if (off < 4) {
		if (off == 0 && size == 4) {
			__atomic_store_n(&host->cf8, (uint32_t)val & CONF1_MASK,
					 __ATOMIC_RELAXED);
		} else if (host->cfg.conf1_other) {
			host->cfg.conf1_other->write(
				host->cfg.conf1_other_opaque, off, val, size);
		}
		return;
	}
	addr = __atomic_load_n(&host->cf8, __ATOMIC_RELAXED);
	if (!(addr & CONF1_ENABLE))
		return;
	pci_host_cfg_write(host, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
			   (addr & 0xfc) + (off - 4), val, size);
}

static const struct bus_ops conf1_ops = {
	.read = conf1_read,
	.write = conf1_write,
};

/* ECAM: bus in bits 27:20, devfn in 19:12, register in 11:0. */
static uint64_t ecam_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pci_host *host = opaque;
	uint64_t v = 0;

	if (size == 8 && !(off & 7))
		return ecam_read(host, off, 4) | ecam_read(host, off + 4, 4)
							 << 32;
	if (needs_split(off, size)) {
		for (unsigned int i = 0; i < size; i++)
			v |= ecam_read(host, off + i, 1) << (8 * i);
		return v;
	}
	return pci_host_cfg_read(host, off >> 20, (off >> 12) & 0xff,
				 off & 0xfff, size);
}

static void ecam_write(void *opaque, uint64_t off, uint64_t val,
		       unsigned int size)
{
	struct pci_host *host = opaque;

	if (size == 8 && !(off & 7)) {
		ecam_write(host, off, val, 4);
		ecam_write(host, off + 4, val >> 32, 4);
		return;
	}
	if (needs_split(off, size)) {
		for (unsigned int i = 0; i < size; i++)
			ecam_write(host, off + i, val >> (8 * i), 1);
		return;
	}
	pci_host_cfg_write(host, off >> 20, (off >> 12) & 0xff, off & 0xfff,
			   val, size);
}

static const struct bus_ops ecam_ops = {
	.read = ecam_read,
	.write = ecam_write,
};

/* Windows: a sorted, coalesced free list ----------------------------------- */

int pci_window_init(struct pci_window *w, uint64_t base, uint64_t size)
{
	*w = (struct pci_window){ .base = base, .size = size };
	if (!size)
		return 0;
	w->free = malloc(sizeof(*w->free));
	if (!w->free)
		return -ENOMEM;
	w->free[0] = (struct pci_range){ base, base + size };
	w->nr_free = w->cap_free = 1;
	return 0;
}

void pci_window_destroy(struct pci_window *w)
{
	free(w->free);
	w->free = NULL;
	w->nr_free = w->cap_free = 0;
}

uint64_t pci_window_avail(const struct pci_window *w)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < w->nr_free; i++)
		n += w->free[i].end - w->free[i].start;
	return n;
}

/* Room for one more extent; a split can add one. */
static int window_reserve(struct pci_window *w)
{
	struct pci_range *n;
	unsigned int cap;

	if (w->nr_free < w->cap_free)
		return 0;
	cap = w->cap_free ? 2 * w->cap_free : 4;
	n = realloc(w->free, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	w->free = n;
	w->cap_free = cap;
	return 0;
}

int pci_window_alloc(struct pci_window *w, uint64_t size, uint64_t align,
		     uint64_t *out)
{
	if (!size || !align || (align & (align - 1)))
		return -EINVAL;
	for (unsigned int i = 0; i < w->nr_free; i++) {
		struct pci_range *r = &w->free[i];
		uint64_t a = (r->start + align - 1) & ~(align - 1);

		if (a < r->start || a >= r->end || size > r->end - a)
			continue;
		if (a > r->start && a + size < r->end) {
			/* Taken from the middle: the extent splits in two. */
			if (window_reserve(w))
				return -ENOMEM;
			r = &w->free[i];
			memmove(r + 1, r, (w->nr_free - i) * sizeof(*r));
			w->nr_free++;
			r[0].end = a;
			r[1].start = a + size;
		} else if (a > r->start) {
			r->end = a;
		} else if (a + size < r->end) {
			r->start = a + size;
		} else {
			memmove(r, r + 1, (w->nr_free - i - 1) * sizeof(*r));
			w->nr_free--;
		}
		*out = a;
		return 0;
	}
	return -ENOSPC;
}

void pci_window_free(struct pci_window *w, uint64_t addr, uint64_t size)
{
	uint64_t end = addr + size;
	unsigned int i = 0;

	if (!size || addr < w->base || end < addr || end - w->base > w->size) {
		pr_err("pci: freeing %#llx+%#llx outside its window",
		       (unsigned long long)addr, (unsigned long long)size);
		return;
	}
	while (i < w->nr_free && w->free[i].end <= addr)
		i++;
	if (i < w->nr_free && w->free[i].start < end) {
		pr_err("pci: %#llx+%#llx freed twice", (unsigned long long)addr,
		       (unsigned long long)size);
		return;
	}
	if (i > 0 && w->free[i - 1].end == addr) {
		w->free[i - 1].end = end;
		if (i < w->nr_free && w->free[i].start == end) {
			w->free[i - 1].end = w->free[i].end;
			memmove(&w->free[i], &w->free[i + 1],
				(w->nr_free - i - 1) * sizeof(*w->free));
			w->nr_free--;
		}
		return;
	}
	if (i < w->nr_free && w->free[i].start == end) {
		w->free[i].start = addr;
		return;
	}
	if (window_reserve(w)) {
		/* The space is lost to the guest, nothing else breaks. */
		pr_err("pci: out of memory, %#llx+%#llx leaked",
		       (unsigned long long)addr, (unsigned long long)size);
		return;
	}
	memmove(&w->free[i + 1], &w->free[i],
		(w->nr_free - i) * sizeof(*w->free));
	w->free[i] = (struct pci_range){ addr, end };
	w->nr_free++;
}

/* Registration ----------------------------------------------------------- */

static int bar_alloc(struct pci_host *host, struct pci_bar *bar)
{
	/* Memory BARs get whole pages: mmap-able later, never shared. */
	uint64_t align = bar->size < 4096 ? 4096 : bar->size;

	bar->win = &host->io;
	if (bar->type == PCI_BAR_IO)
		return pci_window_alloc(&host->io, bar->size, bar->size,
					&bar->placed);
	bar->win = &host->mmio64;
	if (bar->type == PCI_BAR_MEM64 &&
	    !pci_window_alloc(&host->mmio64, bar->size, align, &bar->placed))
		return 0;
	bar->win = &host->mmio32;
	return pci_window_alloc(&host->mmio32, bar->size, align, &bar->placed);
}

/* host->lock held. */
static void release_bars(struct pci_dev *pdev)
{
	for (unsigned int i = 0; i < PCI_NUM_BAR_SLOTS; i++) {
		struct pci_bar *bar = &pdev->bars[i];

		if (bar->win)
			pci_window_free(bar->win, bar->placed, bar->size);
		bar->win = NULL;
		bar->placed = 0;
	}
	if (pdev->sriov)
		pci_sriov_release(pdev->sriov);
}

/* host->lock and pdev->lock held. */
static int place_bars(struct pci_host *host, struct pci_dev *pdev)
{
	unsigned int i;
	int ret;

	if (pdev->bar_source) {
		/* The registers read as zero; the source says where. */
		for (i = 0; i < PCI_STD_NUM_BARS; i++) {
			put_le(&pdev->config[PCI_BASE_ADDRESS_0 + 4 * i], 0, 4);
			put_le(&pdev->wmask[PCI_BASE_ADDRESS_0 + 4 * i], 0, 4);
		}
		return 0;
	}
	for (i = 0; i < PCI_NUM_BAR_SLOTS; i++) {
		if (pdev->bars[i].type == PCI_BAR_NONE)
			continue;
		ret = bar_alloc(host, &pdev->bars[i]);
		if (ret) {
			pdev->bars[i].win = NULL;
			release_bars(pdev);
			pr_err("%s: no room for BAR%u (%#llx bytes)",
			       pdev->dev.name, i,
			       (unsigned long long)pdev->bars[i].size);
			return ret;
		}
	}
	for (i = 0; i < PCI_NUM_BAR_SLOTS; i++) {
		unsigned int reg = bar_reg(i);
		uint8_t *p = &pdev->config[reg];
		uint64_t a = pdev->bars[i].placed;
		uint32_t type_bits = (uint32_t)get_le(p, 4) &
				     ~(uint32_t)get_le(&pdev->wmask[reg], 4);

		if (pdev->bars[i].type == PCI_BAR_NONE)
			continue;
		/* A re-registration replaces the old address. */
		put_le(p, type_bits | (uint32_t)a, 4);
		if (pdev->bars[i].type == PCI_BAR_MEM64)
			put_le(p + 4, a >> 32, 4);
	}
	if (pdev->sriov) {
		ret = pci_sriov_place(pdev->sriov, host);
		if (ret) {
			release_bars(pdev);
			return ret;
		}
	}
	return 0;
}

/* host->lock held; fn0's lock is taken raw: no deferred work under it. */
static void set_multifunction(struct pci_dev *fn0, bool on)
{
	pthread_mutex_lock(&fn0->lock);
	if (on) {
		fn0->config[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MFD;
		fn0->reset_config[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MFD;
	} else {
		fn0->config[PCI_HEADER_TYPE] &= ~PCI_HEADER_TYPE_MFD;
		fn0->reset_config[PCI_HEADER_TYPE] &= ~PCI_HEADER_TYPE_MFD;
	}
	pthread_mutex_unlock(&fn0->lock);
}

static bool slot_free(const struct pci_bus *b, unsigned int slot)
{
	for (unsigned int f = 0; f < 8; f++)
		if (b->devfn[PCI_DEVFN(slot, f)])
			return false;
	return true;
}

/* No function lock held by this thread. */
static int do_register(struct pci_host *host, struct pci_dev *pdev, int devfn)
{
	struct pci_bus *b;
	struct pci_dev *fn0;
	unsigned int pin;
	int ret;

	pthread_mutex_lock(&host->lock);
	if (pdev->registered) {
		ret = -EINVAL;
		goto out;
	}
	b = host->buses[0];
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b) {
			ret = -ENOMEM;
			goto out;
		}
		__atomic_store_n(&host->buses[0], b, __ATOMIC_RELEASE);
	}
	if (devfn < 0 && host->next_devfn >= 0) {
		devfn = host->next_devfn;
		host->next_devfn = -1;
	}
	for (unsigned int s = 0; s < PCI_MAX_SLOTS && devfn < 0; s++)
		if (slot_free(b, s))
			devfn = PCI_DEVFN(s, 0);
	if (devfn < 0) {
		ret = -ENOSPC;
		goto out;
	}
	if (b->devfn[devfn]) {
		ret = -EEXIST;
		goto out;
	}

	pthread_mutex_lock(&pdev->lock);
	ret = place_bars(host, pdev);
	if (ret) {
		pthread_mutex_unlock(&pdev->lock);
		goto out;
	}
	pin = pdev->config[PCI_INTERRUPT_PIN];
	if (pin) {
		pdev->intx_pin = pin;
		pdev->intx_gsi = pci_host_intx_gsi(host, PCI_SLOT(devfn), pin);
		/* What firmware would have written; informational. */
		pdev->config[PCI_INTERRUPT_LINE] = pdev->intx_gsi;
	}
	pdev->host = host;
	pdev->bus = 0;
	pdev->devfn = devfn;
	pdev->registered = true;
	if (pdev->sriov)
		pci_sriov_registered(pdev->sriov);
	if (PCI_FUNC(devfn) == 0) {
		for (unsigned int f = 1; f < 8; f++)
			if (b->devfn[devfn + f])
				pdev->config[PCI_HEADER_TYPE] |=
					PCI_HEADER_TYPE_MFD;
	}
	memcpy(pdev->reset_config, pdev->config, sizeof(pdev->config));
	pdev->reset_saved = true;
	/* A VF may decode at once: its PF's VF MSE may already be set. */
	if (pdev->bar_source)
		update_mappings(pdev);
	pthread_mutex_unlock(&pdev->lock);

	fn0 = b->devfn[devfn & ~7];
	if (PCI_FUNC(devfn) && fn0)
		set_multifunction(fn0, true);
	__atomic_store_n(&b->devfn[devfn], pdev, __ATOMIC_RELEASE);
	ret = devfn;
out:
	pthread_mutex_unlock(&host->lock);
	if (ret >= 0)
		device_register(host->vm, &pdev->dev);
	return ret;
}

/* No function lock held by this thread. */
static void do_unregister(struct pci_dev *pdev)
{
	struct pci_host *host = pdev->host;
	struct pci_bus *b;
	struct pci_dev *fn0;
	bool others = false;

	if (!host)
		return;
	/* Released first: intx_update() ignores unregistered functions. */
	pthread_mutex_lock(&host->intx_lock);
	__atomic_store_n(&pdev->intx_level, false, __ATOMIC_RELAXED);
	intx_update(pdev);
	pdev->intx_pin = 0;
	pthread_mutex_unlock(&host->intx_lock);

	pthread_mutex_lock(&host->lock);
	if (!pdev->registered) {
		pthread_mutex_unlock(&host->lock);
		return;
	}
	b = host->buses[pdev->bus];
	/* Unreachable first, so no config write can map a BAR again. */
	__atomic_store_n(&b->devfn[pdev->devfn], NULL, __ATOMIC_RELEASE);
	pthread_mutex_lock(&pdev->lock);
	pdev->registered = false;
	for (unsigned int i = 0; i < PCI_NUM_BAR_SLOTS; i++)
		bar_unmap(&pdev->bars[i]);
	if (pdev->bars_changed)
		pdev->bars_changed(pdev);
	pthread_mutex_unlock(&pdev->lock);
	release_bars(pdev);
	fn0 = b->devfn[pdev->devfn & ~7];
	for (unsigned int f = 1; f < 8; f++)
		others |= b->devfn[(pdev->devfn & ~7) + f] != NULL;
	if (fn0 && !others)
		set_multifunction(fn0, false);
	pthread_mutex_unlock(&host->lock);
	device_unregister(host->vm, &pdev->dev);
}

static int defer(struct pci_host *host, struct pci_dev *pdev, int devfn)
{
	struct pci_deferred *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->host = host;
	d->pdev = pdev;
	d->devfn = devfn;
	if (deferred)
		deferred_last->next = d;
	else
		deferred = d;
	deferred_last = d;
	return 0;
}

/* With no function lock held: in queue order, one at a time. */
static void run_deferred(void)
{
	in_deferred = true;
	while (deferred) {
		struct pci_deferred *d = deferred;
		int ret;

		deferred = d->next;
		if (d->devfn < 0) {
			do_unregister(d->pdev);
		} else {
			ret = do_register(d->host, d->pdev, d->devfn);
			if (ret < 0)
				pr_err("%s: cannot add at 00:%02x.%x: %s",
				       d->pdev->dev.name, PCI_SLOT(d->devfn),
				       PCI_FUNC(d->devfn), strerror(-ret));
		}
		free(d);
	}
	in_deferred = false;
}

int pci_dev_register(struct pci_host *host, struct pci_dev *pdev, int devfn)
{
	int ret;

	if (pdev->registered || devfn > 0xff)
		return -EINVAL;
	if (!fn_depth)
		return do_register(host, pdev, devfn);
	if (devfn < 0)
		return -EINVAL;
	ret = defer(host, pdev, devfn);
	return ret ? ret : devfn;
}

void pci_host_set_next_devfn(struct pci_host *host, int devfn)
{
	pthread_mutex_lock(&host->lock);
	host->next_devfn = devfn >= 0 && devfn <= 0xff ? devfn : -1;
	pthread_mutex_unlock(&host->lock);
}

void pci_dev_unregister(struct pci_dev *pdev)
{
	struct pci_host *host = pdev->host;

	if (!host)
		return;
	if (!fn_depth) {
		do_unregister(pdev);
	} else if (defer(host, pdev, -1)) {
		pr_err("%s: out of memory, cannot remove", pdev->dev.name);
	}
}

void pci_dev_exit(struct pci_dev *pdev)
{
	do_unregister(pdev);
	pthread_mutex_destroy(&pdev->lock);
}

int pci_plan_devfns(const int *want, unsigned int n, int *out,
		    unsigned int *bad)
{
	bool used[256] = { [0] = true };
	unsigned int i;

	for (i = 0; i < n; i++) {
		out[i] = want[i];
		if (want[i] < 0)
			continue;
		*bad = i;
		if (want[i] > 0xff || PCI_SLOT(want[i]) == 0)
			return -EINVAL;
		if (used[want[i]])
			return -EEXIST;
		used[want[i]] = true;
	}
	for (i = 0; i < n; i++) {
		if (want[i] > 0 && PCI_FUNC(want[i]) && !used[want[i] & ~7]) {
			*bad = i;
			return -ENODEV;
		}
	}
	for (i = 0; i < n; i++) {
		unsigned int s = 1;

		if (want[i] >= 0)
			continue;
		for (; s < PCI_MAX_SLOTS; s++) {
			bool free_slot = true;

			for (unsigned int f = 0; f < 8; f++)
				free_slot &= !used[PCI_DEVFN(s, f)];
			if (free_slot)
				break;
		}
		if (s == PCI_MAX_SLOTS) {
			*bad = i;
			return -ENOSPC;
		}
		out[i] = PCI_DEVFN(s, 0);
		used[out[i]] = true;
	}
	return 0;
}

void pci_dev_reset(struct pci_dev *pdev)
{
	fn_lock(pdev);
	/* Also a removed VF, so that it comes back clean. */
	if (pdev->reset_saved) {
		memcpy(pdev->config, pdev->reset_config, sizeof(pdev->config));
		for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++)
			pdev->bars[i].written = 0;
		update_mappings(pdev);
	}
	if (pdev->sriov)
		pci_sriov_reset(pdev->sriov);
	if (pdev->msix)
		msix_reset(pdev->msix);
	if (pdev->msi)
		msi_reset(pdev->msi);
	intx_recompute_blocked(pdev);
	fn_unlock(pdev);
}

static bool window_ok(uint64_t base, uint64_t size, uint64_t limit)
{
	return !size || (base < limit && size <= limit - base);
}

static void pci_host_dev_destroy(struct device *dev)
{
	pci_host_destroy(container_of(dev, struct pci_host, dev));
}

int pci_host_init(struct pci_host *host, struct vm *vm,
		  const struct pci_host_config *cfg)
{
	int ret;

	if ((cfg->ecam_base | cfg->ecam_size) & (SZ_1M - 1) ||
	    cfg->ecam_size > PCI_MAX_BUSES * SZ_1M ||
	    !window_ok(cfg->ecam_base, cfg->ecam_size, 1ull << 32) ||
	    !window_ok(cfg->mmio32_base, cfg->mmio32_size, 1ull << 32) ||
	    !window_ok(cfg->mmio64_base, cfg->mmio64_size, PCI_PHYS_LIMIT) ||
	    !window_ok(cfg->io_base, cfg->io_size, IO_SPACE_END))
		return -EINVAL;

	memset(host, 0, sizeof(*host));
	host->vm = vm;
	host->cfg = *cfg;
	if (pci_window_init(&host->mmio32, cfg->mmio32_base,
			    cfg->mmio32_size) ||
	    pci_window_init(&host->mmio64, cfg->mmio64_base,
			    cfg->mmio64_size) ||
	    pci_window_init(&host->io, cfg->io_base, cfg->io_size)) {
		ret = -ENOMEM;
		goto err_windows;
	}
	host->nr_buses = cfg->ecam_size / SZ_1M;
	host->next_devfn = -1;
	pthread_mutex_init(&host->lock, NULL);
	pthread_mutex_init(&host->intx_lock, NULL);
	for (unsigned int i = 0; i < 4; i++)
		vm_irq_line_init(vm, &host->intx_line[i],
				 cfg->intx_gsi_base + i);

	ret = bus_register(&vm->pio, PCI_CONF1_PORT, PCI_CONF1_SIZE, &conf1_ops,
			   host, "pci-conf1");
	if (ret)
		goto err_locks;
	/*
	 * A CONFIG_ADDRESS write does nothing until the CONFIG_DATA access
	 * after it, which exits and applies it first: queued in KVM, it
	 * costs no exit to us (half of a Linux boot's exits here; QEMU's
	 * q35 does the same).
	 */
	vm_coalesce_pio(vm, PCI_CONF1_PORT, 4);
	if (cfg->ecam_size) {
		ret = bus_register(&vm->mmio, cfg->ecam_base, cfg->ecam_size,
				   &ecam_ops, host, "pci-ecam");
		if (ret)
			goto err_conf1;
	}

	pci_dev_init(&host->bridge, "pci-host-bridge", cfg->vendor_id,
		     cfg->device_id, 0x060000, 0);
	pci_dev_set_subsystem(&host->bridge, cfg->subsys_vendor_id,
			      cfg->subsys_id);
	/* Never disabled: a host bridge's decode is the whole bus's. */
	pci_cfg_set(&host->bridge, PCI_COMMAND,
		    PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
	host->dev = (struct device){ .name = "pci-host",
				     .kind = DEV_PLATFORM,
				     .destroy = pci_host_dev_destroy,
				     .describe = pci_host_describe };
	device_register(vm, &host->dev);
	ret = pci_dev_register(host, &host->bridge, PCI_DEVFN(0, 0));
	if (ret < 0) {
		device_unregister(vm, &host->dev);
		goto err_ecam;
	}
	return 0;

err_ecam:
	pthread_mutex_destroy(&host->bridge.lock);
	if (cfg->ecam_size)
		bus_unregister(&vm->mmio, cfg->ecam_base, host);
err_conf1:
	bus_unregister(&vm->pio, PCI_CONF1_PORT, host);
err_locks:
	pthread_mutex_destroy(&host->intx_lock);
	pthread_mutex_destroy(&host->lock);
err_windows:
	pci_window_destroy(&host->mmio32);
	pci_window_destroy(&host->mmio64);
	pci_window_destroy(&host->io);
	return ret;
}

void pci_host_destroy(struct pci_host *host)
{
	struct vm *vm = host->vm;

	device_unregister(vm, &host->dev);
	pci_dev_exit(&host->bridge);
	if (host->cfg.ecam_size)
		bus_unregister(&vm->mmio, host->cfg.ecam_base, host);
	bus_unregister(&vm->pio, PCI_CONF1_PORT, host);
	for (unsigned int i = 0; i < PCI_MAX_BUSES; i++) {
		free(host->buses[i]);
		host->buses[i] = NULL;
	}
	pci_window_destroy(&host->mmio32);
	pci_window_destroy(&host->mmio64);
	pci_window_destroy(&host->io);
	pthread_mutex_destroy(&host->intx_lock);
	pthread_mutex_destroy(&host->lock);
}
