/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_IOMMU_VTD_H
#define DEVISOR_IOMMU_VTD_H

/*
 * One Intel VT-d DMA-remapping hardware unit: its 4 KiB register page, the
 * walk of the guest's root, context, PASID and second-level tables, the
 * fault recording registers and fault event, the context cache and IOTLB
 * and their register-based and queued invalidation. See docs/iommu.md.
 *
 * The model knows nothing of KVM or x86: it reads the guest's tables
 * through a guest_mem (every access bounds-checked), raises interrupts and
 * reports invalidations through the callbacks below, and is reached through
 * vtd_mmio_read()/vtd_mmio_write() (the bus_ops shape) and
 * vtd_translate().
 *
 * Locking: one mutex per unit protects all of its state (registers, fault
 * records, invalidation queue state, caches, the list of attached address
 * spaces). Every entry point takes it; vtd_translate() may be called from
 * any number of threads. The callbacks run with it held, so that an
 * invalidation is delivered before anything the guest can observe after it
 * (an invalidation wait's status write); they must not call back into the
 * unit, directly or through a dma_notifier.
 */

#include <stdbool.h>
#include <stdint.h>

#include "kvm/dma.h"

struct guest_mem;
struct vtd;

/* Every source id, in an invalidation notice. */
#define VTD_SID_ALL (-1)

struct vtd_ops {
	/* An interrupt message: fault event or invalidation completion. */
	void (*msi)(void *opaque, uint64_t addr, uint32_t data);
	/*
	 * Translations device @sid (bus << 8 | devfn; VTD_SID_ALL: every
	 * device) obtained for [iova, iova + len) may no longer be used; len
	 * UINT64_MAX means the whole space. Address spaces made with
	 * vtd_dma_space_init() are invalidated by the unit itself before this
	 * is called.
	 */
	void (*invalidate)(void *opaque, int sid, uint64_t iova, uint64_t len);
};

/* Permissions of a translation. */
#define VTD_PERM_R 1
#define VTD_PERM_W 2

struct vtd_xlate {
	uint64_t gpa; /* the guest physical address @iova translates to */
	/*
	 * Offset bits of the page the translation belongs to: 0xfff, 0x1fffff
	 * or 0x3fffffff; UINT64_MAX for identity (translation disabled) and
	 * pass-through, which have no page.
	 */
	uint64_t page_mask;
	uint8_t perm; /* VTD_PERM_*; on a permission fault, what is mapped */
};

/* @ops and @opaque may be NULL: interrupts and notices are then dropped. */
struct vtd *vtd_create(const struct guest_mem *mem, const struct vtd_ops *ops,
		       void *opaque);
void vtd_destroy(struct vtd *vtd);
/* Power-on state: translation off, caches empty, every device notified. */
void vtd_reset(struct vtd *vtd);

/* Register page accesses: 4 or 8 bytes, naturally aligned; else ignored. */
uint64_t vtd_mmio_read(struct vtd *vtd, uint64_t offset, unsigned int size);
void vtd_mmio_write(struct vtd *vtd, uint64_t offset, uint64_t value,
		    unsigned int size);

/*
 * Translate a request without PASID from @sid for @iova, reading, writing or
 * both (@dir). Returns 0 with *@out filled, or a fault reason (enum
 * vtd_fault, > 0), which is recorded and reported as the specification
 * says unless fault processing is disabled for the device. On a fault,
 * @out->perm is non-zero only for a permission fault on a mapped page.
 */
int vtd_translate(struct vtd *vtd, uint16_t sid, uint64_t iova,
		  enum dma_dir dir, struct vtd_xlate *out);

/*
 * What device @sid's requests in [@lo, @hi] translate to now, without
 * recording faults: @fn gets each mapped piece [iova, last] at @gpa with
 * VTD_PERM_* (identity while translation is off or pass-through), in
 * ascending order; nonzero from @fn stops it. At most a million table
 * entries are read (-E2BIG beyond). May be called from an invalidation
 * notice (the unit's lock is recursive).
 */
typedef int vtd_replay_fn(void *arg, uint64_t iova, uint64_t last, uint64_t gpa,
			  uint8_t perm);
int vtd_replay(struct vtd *vtd, uint16_t sid, uint64_t lo, uint64_t hi,
	       vtd_replay_fn *fn, void *arg);
/*
 * Caching mode (CAP.CM): software then invalidates after making entries
 * present too, so a shadow of the tables (VFIO) can follow every change.
 * Before the guest runs.
 */
void vtd_set_caching_mode(struct vtd *vtd, bool on);
bool vtd_caching_mode(struct vtd *vtd);

/*
 * Interrupt remapping (ECAP.IR and EIM): off unless asked for, before the
 * guest runs. See docs/iommu.md, "Interrupt remapping".
 */
void vtd_set_intremap(struct vtd *vtd, bool on);

/* What an IRTE in remapped format sends. */
struct vtd_irq {
	uint32_t dest; /* APIC id: 8 bits in xAPIC mode, 32 in x2APIC mode */
	uint8_t vector;
	uint8_t dlm; /* delivery mode, as in an MSI's data bits 10:8 */
	bool dest_logical, redir_hint, level;
};

/*
 * Decodes the 128-bit @irte for a request from @sid (IRQ_SID_NONE: no
 * requester, fails any source-id verification): 0 with *@out filled, or
 * the fault reason (not present 0x22, reserved fields 0x24, source-id
 * mismatch 0x26). @eime: the table is in x2APIC mode (IRTA.EIME).
 */
int vtd_ir_decode(const uint64_t irte[2], bool eime, int sid,
		  struct vtd_irq *out);

/*
 * The interrupt request (@addr, @data) from @sid as remapping makes it:
 * with remapping on, a remappable-format request becomes the
 * compatibility-format message of its IRTE; a compatibility-format one
 * passes only with CFI set in xAPIC mode. Returns 0 (*@addr and *@data
 * rewritten, or left alone when remapping is off) or the fault reason,
 * recorded as the specification says when @record is set.
 */
int vtd_remap_msi(struct vtd *vtd, int sid, uint64_t *addr, uint32_t *data,
		  bool record);
/*
 * Whether the interrupt tables changed since the last call (IEC
 * invalidation, SIRTP, IRE or CFI, reset): routes computed from them must
 * be computed again. Clears the flag; any thread, without the lock.
 */
bool vtd_ir_take_changed(struct vtd *vtd);

/*
 * RAM at [gpa, gpa + len) was plugged (@added) or taken back: in a
 * pass-through domain its IOVAs translate to it or no longer do, so every
 * device's space is told the range is mapped (dma_space_mapped(): a VFIO
 * shadow maps it) or invalidated. A ram_changed_fn (kvm/vm.h).
 */
void vtd_ram_changed(void *vtd, uint64_t gpa, uint64_t len, bool added);

/*
 * A DMA address space for device @sid that translates through @vtd
 * (contiguous pieces end at the end of a page or superpage, or of RAM;
 * -EFAULT for a translation fault or an address outside RAM, -EACCES for a
 * permission fault). The unit invalidates it when the guest invalidates
 * translations the device may hold. Returns 0 or -ENOMEM. The space
 * detaches itself from the unit in dma_space_destroy(), so its owner need
 * not know it is a VT-d one; vtd_dma_space_destroy() is the same call. It
 * may outlive the unit (translations then fail).
 */
int vtd_dma_space_init(struct dma_space *as, struct vtd *vtd, uint16_t sid);
void vtd_dma_space_destroy(struct dma_space *as);

#endif
