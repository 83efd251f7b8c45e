/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_KVM_DMA_H
#define DEVISOR_KVM_DMA_H

/*
 * A device's DMA address space: the only way a device model reaches guest
 * memory. Addresses a device is given by its driver are I/O virtual
 * addresses (IOVAs); the space turns them into host pointers, range and
 * direction checked, splitting a buffer wherever the translation does.
 *
 * Without an IOMMU a space is the identity over guest RAM (IOVA = guest
 * physical address, contiguous within a RAM region). An emulated IOMMU
 * (--iommu vtd: iommu/vtd.h) gives each PCI function a space whose ops
 * walk the guest's translation tables: a buffer contiguous in
 * IOVA may then be scattered in RAM page by page, which is why callers
 * take iovecs, never one pointer for a whole buffer (after QEMU's
 * AddressSpace and Cloud Hypervisor's AccessPlatform).
 *
 * Rules for device models:
 * - Never keep a host pointer from this API past the operation that got
 *   it, unless it came from dma_map_iov() and is released with
 *   dma_unmap_iov() when the I/O is done (io_uring holds such pointers).
 * - A translation the guest invalidates must not be used again: spaces
 *   with a real translation call dma_space_invalidate(), which bumps
 *   @generation and runs the notifiers, so anything derived from an old
 *   translation can be dropped or redone.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_mem;
struct dma_space;

/* What the device does to the memory; a mask (both: DMA_READ | DMA_WRITE). */
enum dma_dir {
	DMA_READ = 1, /* device reads guest memory (driver -> device) */
	DMA_WRITE = 2, /* device writes guest memory (device -> driver) */
};

/*
 * One mapped extent, from dma_space_replay(): [iova, iova + len) is RAM
 * at @hva, permitted for @dir. Nonzero stops the replay with that value.
 */
typedef int dma_replay_fn(void *arg, uint64_t iova, uint64_t len, void *hva,
			  enum dma_dir dir);

struct dma_ops {
	/*
	 * Translate @iova for @dir: on success *@hva points at it and
	 * *@contig (>= 1) says how many bytes from there, at most @len, are
	 * contiguous in host memory with the same permission. Returns 0,
	 * -EFAULT (not mapped / outside RAM) or -EACCES (mapped without
	 * @dir's permission). Called with no lock of the space held.
	 */
	int (*translate)(struct dma_space *as, uint64_t iova, uint64_t len,
			 enum dma_dir dir, void **hva, uint64_t *contig);
	/*
	 * Optional: frees the translator's state (@as->opaque), from
	 * dma_space_destroy(). The space's owner then needs to know nothing
	 * of who made the space.
	 */
	void (*destroy)(struct dma_space *as);
	/*
	 * Optional: every mapped extent within [iova, iova + len - 1]
	 * (@len 0: to the end of the space), ascending, without faults
	 * recorded; for a device that must mirror the translation into a
	 * real IOMMU (VFIO behind an emulated one).
	 */
	int (*replay)(struct dma_space *as, uint64_t iova, uint64_t len,
		      dma_replay_fn *fn, void *arg);
};

/* Called on invalidation of [iova, iova+len): drop cached translations. */
struct dma_notifier {
	void (*invalidate)(struct dma_notifier *n, uint64_t iova, uint64_t len);
	/*
	 * Optional: [iova, iova+len) translates where it faulted before (a
	 * new mapping, new RAM under an identity). What translated before
	 * still does, so nothing cached is dropped; a mirror of the space
	 * (VFIO behind an IOMMU) maps the range.
	 */
	void (*mapped)(struct dma_notifier *n, uint64_t iova, uint64_t len);
	struct dma_notifier *next;
};

struct dma_space {
	const struct dma_ops *ops;
	const struct guest_mem *mem; /* the RAM any translation ends in */
	void *opaque; /* the translator's */
	/* Bumped on every invalidation; read without a lock. */
	uint64_t generation;
	pthread_mutex_t lock; /* the notifier list */
	struct dma_notifier *notifiers;
};

/* The last byte of [iova, iova + len); @len 0, or past the end: the end. */
static inline uint64_t dma_last_byte(uint64_t iova, uint64_t len)
{
	return !len || len - 1 > UINT64_MAX - iova ? UINT64_MAX :
						     iova + len - 1;
}

/*
 * For translators: the RAM at @gpa, to which @n bytes (>= 1) of a buffer
 * translate contiguously: *@hva, and *@contig the bytes of them inside
 * one RAM range. -EFAULT if @gpa is not RAM.
 */
int dma_ram_piece(const struct guest_mem *mem, uint64_t gpa, uint64_t n,
		  void **hva, uint64_t *contig);

/* IOVA = guest physical address, over @mem. */
void dma_space_init_identity(struct dma_space *as, const struct guest_mem *mem);
/* A space translated by @ops (an IOMMU's; tests' page-scattering maps). */
void dma_space_init(struct dma_space *as, const struct guest_mem *mem,
		    const struct dma_ops *ops, void *opaque);
/* Runs the ops' destroy, if any; no translation may be in progress. */
void dma_space_destroy(struct dma_space *as);

/* Whether all of [iova, iova+len) is mapped for @dir: 0, -EFAULT, -EACCES. */
int dma_check(struct dma_space *as, uint64_t iova, uint64_t len,
	      enum dma_dir dir);
/* Copy to or from [iova, iova+len); 0, -EFAULT or -EACCES. */
int dma_read(struct dma_space *as, uint64_t iova, void *dst, size_t len);
int dma_write(struct dma_space *as, uint64_t iova, const void *src, size_t len);

/*
 * Map [iova, iova+len) for @dir into host iovecs @iov[0..max), one per
 * contiguous piece. Returns the number used, -ENOSPC if @max is too small,
 * -EFAULT or -EACCES. A zero @len maps to zero iovecs. Release with
 * dma_unmap_iov() once the I/O on them is done.
 */
int dma_map_iov(struct dma_space *as, uint64_t iova, uint64_t len,
		enum dma_dir dir, struct iovec *iov, unsigned int max);
/* @written: bytes the device wrote through a DMA_WRITE mapping. */
void dma_unmap_iov(struct dma_space *as, const struct iovec *iov,
		   unsigned int n, enum dma_dir dir, size_t written);

/*
 * [iova, iova+len) as one host pointer if the space maps it contiguously
 * (a ring, a small header), else NULL. Valid only until the caller
 * returns to its event loop: not to be kept.
 */
void *dma_map_contig(struct dma_space *as, uint64_t iova, uint64_t len,
		     enum dma_dir dir);

/*
 * What the space maps in [iova, iova + len - 1] (@len 0: all from @iova),
 * extent by extent (see dma_ops.replay). Returns 0, -ENOTSUP for a space
 * that cannot enumerate, or what @fn returned to stop it. Used with a
 * notifier: on each invalidation drop the range, then replay it.
 */
int dma_space_replay(struct dma_space *as, uint64_t iova, uint64_t len,
		     dma_replay_fn *fn, void *arg);

/* The translator's side: the guest invalidated [iova, iova+len). */
void dma_space_invalidate(struct dma_space *as, uint64_t iova, uint64_t len);
/* ... or [iova, iova+len) became mapped (struct dma_notifier.mapped). */
void dma_space_mapped(struct dma_space *as, uint64_t iova, uint64_t len);
/*
 * For translators' replays: [iova, last] translates contiguously to guest
 * physical @gpa on, for @dir; calls @fn for the RAM pieces of it, at the
 * IOVAs they have.
 */
int dma_replay_translated(const struct guest_mem *mem, uint64_t iova,
			  uint64_t last, uint64_t gpa, enum dma_dir dir,
			  dma_replay_fn *fn, void *arg);
void dma_notifier_add(struct dma_space *as, struct dma_notifier *n);
void dma_notifier_del(struct dma_space *as, struct dma_notifier *n);

#endif
