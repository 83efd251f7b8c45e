/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_PCI_PCI_H
#define DEVISOR_PCI_PCI_H

/*
 * The PCI(e) root complex of a VM: segment 0, config access via ports
 * 0xCF8/0xCFC and an ECAM window, a host bridge at 00:00.0, and type 0
 * functions on bus 0 whose BARs devisor places in windows it manages.
 * Register offsets, bits and PCI_DEVFN() come from the uapi linux/pci.h.
 * docs/pci.md has the layout.
 *
 * Locking: host->lock (registry, windows) comes before pdev->lock (config
 * space and BAR mappings, recursive), which comes before the MSI-X/MSI
 * locks and host->intx_lock; those are leaves apart from the deliver and
 * update handlers they call. Device threads may call pci_dev_set_intx()
 * and msix_notify() holding their own locks, so config hooks (run under
 * pdev->lock) must not take such a lock.
 *
 * Functions come and go at run time with pci_dev_register() and
 * pci_dev_unregister(). Called while this thread holds a function's lock
 * (a config hook creating a VF), they would take host->lock under
 * pdev->lock, so the work is queued instead and done once the thread's
 * outermost function lock is released, before the config access returns.
 * Only locks taken through this API count: code that takes pdev->lock
 * itself must not add or remove functions under it.
 *
 * Lifetime: an unregistered function's memory must outlive any access a
 * vCPU already had in flight (as for the bus): free it only once vCPUs are
 * stopped or have left the callback. pci_dev_exit() unregisters and
 * destroys the lock.
 */

#include <linux/pci.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "bus/device.h"
#include "kvm/irq.h"

struct vm;
struct msix;
struct msi;
struct pci_dev;
struct pci_sriov;
struct dma_space;

#define PCI_MAX_BUSES 256
#define PCI_MAX_SLOTS 32
#ifndef PCI_HEADER_TYPE_MFD
#define PCI_HEADER_TYPE_MFD 0x80 /* not in older uapi headers */
#endif

/* Config mechanism #1: CONFIG_ADDRESS at 0xCF8, CONFIG_DATA at 0xCFC. */
#define PCI_CONF1_PORT 0xcf8
#define PCI_CONF1_SIZE 8

/* How a message reaches the guest: KVM_SIGNAL_MSI, a test recorder. */
typedef void pci_msi_deliver_fn(void *opaque, uint64_t addr, uint32_t data);
/*
 * A vector's message or effective mask changed (@masked covers the vector
 * mask, the function mask and the enable bit). For KVM GSI routing.
 */
typedef void pci_msi_update_fn(void *opaque, struct pci_dev *pdev,
			       unsigned int vector, uint64_t addr,
			       uint32_t data, bool masked);

/* A free extent of a window, [start, end). */
struct pci_range {
	uint64_t start, end;
};

/*
 * An address window BARs are allocated from; also what ACPI _CRS lists.
 * The free extents are kept sorted and coalesced.
 */
struct pci_window {
	uint64_t base;
	uint64_t size; /* 0: no such window */
	struct pci_range *free;
	unsigned int nr_free, cap_free;
};

/* The allocator under the BARs; callers serialize (host->lock). */
int pci_window_init(struct pci_window *w, uint64_t base, uint64_t size);
void pci_window_destroy(struct pci_window *w);
/* Lowest fit aligned to @align (a power of two); -ENOSPC when none. */
int pci_window_alloc(struct pci_window *w, uint64_t size, uint64_t align,
		     uint64_t *out);
/* Gives back what pci_window_alloc() handed out. */
void pci_window_free(struct pci_window *w, uint64_t addr, uint64_t size);
/* Bytes free, for tests and dumps. */
uint64_t pci_window_avail(const struct pci_window *w);

/* Where the host decodes and what it is, as the board says. */
struct pci_host_config {
	uint64_t ecam_base, ecam_size; /* size: 1 MiB per bus; 0: no ECAM */
	uint64_t mmio32_base, mmio32_size;
	uint64_t mmio64_base, mmio64_size; /* above RAM; 0: none */
	uint64_t io_base, io_size;
	unsigned int intx_gsi_base; /* INTx swizzles onto base..base+3 */
	pci_msi_deliver_fn *msi_deliver; /* default for every MSI(-X) */
	pci_msi_update_fn *msi_update;
	void *msi_opaque;
	/* The host bridge's (00:00.0) identity. */
	uint16_t vendor_id, device_id;
	uint16_t subsys_vendor_id, subsys_id;
	/*
	 * Accesses to CONFIG_ADDRESS other than whole dwords are not the
	 * address; a chipset may keep registers there (a PC's reset control
	 * at 0xCF9), with offsets from 0xCF8. NULL: they read all ones and
	 * writes are dropped.
	 */
	const struct bus_ops *conf1_other;
	void *conf1_other_opaque;
	/*
	 * An IOMMU in front of every function (a VT-d unit with
	 * INCLUDE_PCI_ALL): makes @as the DMA space of requester @sid (bus <<
	 * 8 | devfn), destroyed with dma_space_destroy(). NULL: no IOMMU,
	 * functions use the identity over guest RAM.
	 */
	int (*dma_init)(void *opaque, struct dma_space *as, uint16_t sid);
	void *dma_opaque;
};

enum pci_bar_type {
	PCI_BAR_NONE = 0,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64, /* uses slot idx and idx + 1 */
	PCI_BAR_ROM, /* the expansion ROM, slot PCI_ROM_SLOT only */
};
/* bars[] holds the six BARs, then the expansion ROM. */
#define PCI_ROM_SLOT PCI_STD_NUM_BARS
#define PCI_NUM_BAR_SLOTS (PCI_STD_NUM_BARS + 1)
#define PCI_BAR_PREFETCH 0x100 /* or'ed into a memory type */

struct pci_bar {
	struct pci_dev *pdev;
	unsigned int idx;
	enum pci_bar_type type; /* PCI_BAR_NONE also for a 64-bit upper half */
	bool prefetch;
	uint64_t size;
	const struct bus_ops *ops;
	void *opaque;
	/* The space given at registration, freed at removal; under host->lock. */
	struct pci_window *win;
	uint64_t placed;
	/* Mapping state, under pdev->lock. */
	bool mapped;
	uint64_t addr; /* where mapped */
	unsigned int written; /* 64-bit halves written since last remap */
	uint64_t refused; /* last address refused; logged once */
};

/*
 * Where a function's BARs decode, when not its own BAR registers: a VF's
 * come from its PF's SR-IOV capability (VF BAR n plus the VF's index times
 * the VF BAR size, while VF MSE is set). Called with pdev->lock held, on
 * every remap; returns false for "not decoding". It must not take the lock
 * of another function (its PF): cache what it needs and call
 * pci_dev_update_bars() when that changes.
 */
struct pci_bar_source {
	bool (*addr)(void *opaque, struct pci_dev *pdev, unsigned int idx,
		     uint64_t *addr);
};

struct pci_dev {
	struct device dev;
	struct pci_host *host; /* set by pci_dev_register */
	uint8_t bus, devfn;
	bool registered;
	bool express; /* 4 KiB config space */
	unsigned int exp_cap; /* the PCI Express capability's offset, or 0 */

	/* Config state; recursive so hooks may call the pci_cfg_* API. */
	pthread_mutex_t lock;
	uint8_t config[PCI_CFG_SPACE_EXP_SIZE];
	uint8_t wmask[PCI_CFG_SPACE_EXP_SIZE]; /* guest-writable bits */
	uint8_t w1cmask[PCI_CFG_SPACE_EXP_SIZE]; /* write-1-to-clear bits */
	uint8_t reset_config[PCI_CFG_SPACE_EXP_SIZE]; /* at registration */
	unsigned int cap_next, cap_last;
	unsigned int ext_next, ext_last;

	struct pci_bar bars[PCI_NUM_BAR_SLOTS];
	const struct pci_bar_source *bar_source; /* NULL: own BAR registers */
	/*
	 * Called (pdev->lock held) after every remap, whether or not a BAR
	 * moved: a device that hangs things on BAR addresses (ioeventfds)
	 * follows them here. It must not take another function's lock.
	 */
	void (*bars_changed)(struct pci_dev *pdev);
	void *bar_source_opaque;
	struct msix *msix;
	struct msi *msi;
	struct pci_sriov *sriov; /* a PF's SR-IOV capability (sriov.h) */
	bool reset_saved; /* reset_config holds the registered state */
	bool virtfn; /* an SR-IOV VF: reachable without a function 0 */

	/* INTx, under host->intx_lock; pin and GSI fixed at registration. */
	unsigned int intx_pin;
	unsigned int intx_gsi;
	bool intx_level; /* what the device drives */
	bool intx_blocked; /* INTX_DISABLE or MSI(-X) on */
	bool intx_out; /* what it contributes to the GSI */

	/*
	 * Config hooks, called with pdev->lock held. cfg_read runs after the
	 * generic read and may replace *val. cfg_write runs before the
	 * generic write; returning true means it handled the write, so the
	 * generic part is skipped (call pci_cfg_write_generic() yourself to
	 * apply it and then react). Accesses never cross a dword.
	 */
	void (*cfg_read)(struct pci_dev *pdev, unsigned int off,
			 unsigned int size, uint32_t *val);
	bool (*cfg_write)(struct pci_dev *pdev, unsigned int off, uint32_t val,
			  unsigned int size);
	/*
	 * Optional: BAR @idx now decodes at @addr (@on) or no longer does
	 * (!@on), with pdev->lock held; a pass-through function maps the
	 * device's memory into the guest there.
	 */
	void (*bar_mapped)(struct pci_dev *pdev, unsigned int idx,
			   uint64_t addr, bool on);
};

/* Function 0 of slot N on bus B is found at buses[B]->devfn[N << 3]. */
struct pci_bus {
	struct pci_dev *devfn[256];
};

struct pci_host {
	struct device dev; /* destroyed after the functions on it */
	struct vm *vm;
	struct pci_host_config cfg;
	struct pci_window mmio32, mmio64, io;
	unsigned int nr_buses; /* covered by ECAM */
	uint32_t cf8; /* latched config address */
	pthread_mutex_t lock; /* registry and windows */
	struct pci_bus *buses[PCI_MAX_BUSES];
	int next_devfn; /* for the next register(-1); -1: pick */

	/* INTx lines are wire-ORed: one count of asserters per GSI. */
	pthread_mutex_t intx_lock;
	struct irq_line intx_line[4];
	unsigned int intx_count[4];

	struct pci_dev bridge;
};

/*
 * How the host describes itself (pci/describe.c): its struct device's
 * describe hook adds \_SB.PCI0 (bus range, the config ports and the I/O
 * and MMIO windows in _CRS, INTx in _PRT); pci_host_mcfg() writes the
 * MCFG body (after the table header) for the ECAM window, or returns 0
 * when @size is too small.
 */
struct device_desc;
int pci_host_describe(struct device *dev, struct device_desc *d);
size_t pci_host_mcfg(const struct pci_host *host, void *body, size_t size);

/* Root complex. */
int pci_host_init(struct pci_host *host, struct vm *vm,
		  const struct pci_host_config *cfg);
void pci_host_destroy(struct pci_host *host);
struct pci_dev *pci_host_find(struct pci_host *host, unsigned int bus,
			      unsigned int devfn);
/* GSI that INT@pin (1 = INTA) of @slot on bus 0 is routed to; for _PRT. */
unsigned int pci_host_intx_gsi(const struct pci_host *host, unsigned int slot,
			       unsigned int pin);
/* Config access as the guest would see it; absent functions read ~0. */
uint32_t pci_host_cfg_read(struct pci_host *host, unsigned int bus,
			   unsigned int devfn, unsigned int off,
			   unsigned int size);
void pci_host_cfg_write(struct pci_host *host, unsigned int bus,
			unsigned int devfn, unsigned int off, uint32_t val,
			unsigned int size);

/* Function setup, before registration. @class_code is 24-bit. */
void pci_dev_init(struct pci_dev *pdev, const char *name, uint16_t vendor,
		  uint16_t device, uint32_t class_code, uint8_t revision);
void pci_dev_set_subsystem(struct pci_dev *pdev, uint16_t vendor, uint16_t id);
/* @pin: 0 none, 1..4 INTA..INTD. */
int pci_dev_set_intx_pin(struct pci_dev *pdev, unsigned int pin);
/*
 * @type is a pci_bar_type, or'ed with PCI_BAR_PREFETCH for memory. @size
 * is a power of two (memory >= 16, I/O 4..256). Accesses to the BAR reach
 * @ops with @opaque and BAR-relative offsets; @ops may be NULL for a BAR
 * that only holds MSI-X structures.
 */
int pci_dev_set_bar(struct pci_dev *pdev, unsigned int idx, uint64_t size,
		    unsigned int type, const struct bus_ops *ops, void *opaque);
/*
 * An expansion ROM of @size bytes (a power of two, 2 KiB to 16 MiB) behind
 * the ROM BAR (0x30): it decodes while both its enable bit and Memory
 * Space are set, read through @ops; the guest's writes to it are dropped.
 */
int pci_dev_set_rom(struct pci_dev *pdev, uint64_t size,
		    const struct bus_ops *ops, void *opaque);
/*
 * The next capability added goes at @off (dword aligned, past the last
 * one): a pass-through function keeps its device's capability offsets.
 * Returns 0 or -EINVAL.
 */
int pci_dev_set_next_cap(struct pci_dev *pdev, unsigned int off);
/* Returns the new capability's offset (body zeroed) or -errno. */
int pci_add_capability(struct pci_dev *pdev, uint8_t id, unsigned int size);
int pci_add_ext_capability(struct pci_dev *pdev, uint16_t id, uint8_t version,
			   unsigned int size);
/*
 * PCI Express capability (v2) with @port_type PCI_EXP_TYPE_RC_END for a
 * function on the root bus or PCI_EXP_TYPE_ENDPOINT; makes the function
 * express (4 KiB config space). Returns the offset or -errno.
 */
int pci_add_pcie_capability(struct pci_dev *pdev, unsigned int port_type);

/*
 * Power management 1.2 as devisor's functions offer it: D0 and D3hot
 * (D3hot to D0 keeps state: No_Soft_Reset), no PME, no D1/D2. Returns
 * the offset or -errno.
 */
int pci_add_pm_capability(struct pci_dev *pdev);
/*
 * Whether a config write of @val (@size bytes at @off) sets Initiate
 * Function Level Reset in the PCI Express capability's Device Control.
 * The bit is not in the write mask (it reads 0): a cfg_write hook asks
 * this before the generic write, and resets after it.
 */
bool pci_cfg_write_is_flr(const struct pci_dev *pdev, unsigned int off,
			  uint32_t val, unsigned int size);

/*
 * Before pci_dev_register(): the function's BARs decode where @src says,
 * not at its BAR registers (which then read as zero, as a VF's do), and
 * take no window space.
 */
void pci_dev_set_bar_source(struct pci_dev *pdev,
			    const struct pci_bar_source *src, void *opaque);
/* Re-asks the BAR source (or the registers) and remaps. Any thread. */
void pci_dev_update_bars(struct pci_dev *pdev);

/*
 * Places the BARs in the windows, wires INTx and publishes the function at
 * @devfn (-1: the one pci_host_set_next_devfn() left, else function 0 of
 * the lowest free slot). Returns the devfn or -errno. Also registers
 * pdev->dev with the VM. At run time too: under a function lock it is
 * deferred (see the locking note), needs an explicit @devfn, and a failure
 * then is only logged.
 */
int pci_dev_register(struct pci_host *host, struct pci_dev *pdev, int devfn);
/*
 * The next pci_dev_register(-1) on @host uses @devfn: for a board that
 * planned addresses (pci_plan_devfns()) and a device constructor that
 * takes none.
 */
void pci_host_set_next_devfn(struct pci_host *host, int devfn);
/*
 * Removes a function at run time: unpublished (config reads all ones),
 * BARs unmapped, their window space freed, INTx released, off the VM's
 * device list. Deferred like pci_dev_register() under a function lock.
 */
void pci_dev_unregister(struct pci_dev *pdev);
/* pci_dev_unregister() now, then the lock goes; for a model's destroy. */
void pci_dev_exit(struct pci_dev *pdev);

/*
 * Boot-time slot plan for @n functions on bus 0. @want[i] is a devfn or
 * -1. Explicit ones are placed first; then the rest, in order, each take
 * function 0 of the lowest slot no function uses. Slot 0 is the host
 * bridge's. Returns 0 with @out filled, or -EINVAL (slot 0 or out of
 * range), -EEXIST (asked for twice), -ENODEV (function 1-7 of a slot with
 * no function 0, which software never finds) or -ENOSPC, with *bad the
 * index at fault.
 */
int pci_plan_devfns(const int *want, unsigned int n, int *out,
		    unsigned int *bad);
/*
 * The function's lock, counted as the pci_* API counts it (so functions
 * added or removed under it are deferred): for a model's reset hook.
 */
void pci_dev_lock(struct pci_dev *pdev);
void pci_dev_unlock(struct pci_dev *pdev);

/* Back to the state at registration: decode off, BARs where placed. */
void pci_dev_reset(struct pci_dev *pdev);

/* Whether @host has an I/O port window (arm64's board has none). */
bool pci_host_has_io(const struct pci_host *host);
/* Whether @host's functions sit behind an IOMMU (cfg.dma_init). */
bool pci_host_has_iommu(const struct pci_host *host);
/*
 * The DMA address space of a registered function: through the host's
 * IOMMU with the function's requester id (bus << 8 | devfn). Returns 0,
 * -ENODEV without an IOMMU, or the IOMMU's error. Free it with
 * dma_space_destroy().
 */
int pci_dev_dma_init(struct pci_dev *pdev, struct dma_space *as);
/*
 * The same for the function that will answer at @devfn on @bus, before it
 * is there: an SR-IOV VF's routing ID is fixed by its PF's capability,
 * so its DMA space is ready before VF Enable makes it appear.
 */
int pci_host_dma_init(struct pci_host *host, struct dma_space *as,
		      unsigned int bus, unsigned int devfn);

/* Drive the INTx pin: @level 1 asserts. Any thread. */
void pci_dev_set_intx(struct pci_dev *pdev, int level);

/* Guest-visible config access of one function (masks, hooks, effects). */
uint32_t pci_cfg_read(struct pci_dev *pdev, unsigned int off,
		      unsigned int size);
void pci_cfg_write(struct pci_dev *pdev, unsigned int off, uint32_t val,
		   unsigned int size);
/* The generic write without the hook; for cfg_write hooks. */
void pci_cfg_write_generic(struct pci_dev *pdev, unsigned int off, uint32_t val,
			   unsigned int size);

/* Raw little-endian config bytes, no masks or effects; for device setup. */
uint32_t pci_cfg_get(struct pci_dev *pdev, unsigned int off, unsigned int size);
void pci_cfg_set(struct pci_dev *pdev, unsigned int off, uint32_t val,
		 unsigned int size);
void pci_cfg_set_wmask(struct pci_dev *pdev, unsigned int off, uint32_t mask,
		       unsigned int size);
void pci_cfg_set_w1cmask(struct pci_dev *pdev, unsigned int off, uint32_t mask,
			 unsigned int size);

/* Current guest-programmed BAR address and whether it is mapped. */
uint64_t pci_bar_addr(struct pci_dev *pdev, unsigned int idx, bool *mapped);

#endif
