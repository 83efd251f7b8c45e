/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A container's mappings kept equal to what a device's DMA space maps
 * (docs/vfio.md, "Behind the emulated IOMMU"). Pure bookkeeping: the
 * container is reached through @ops, so tests can watch every change.
 */
#ifndef DEVISOR_VFIO_SHADOW_H
#define DEVISOR_VFIO_SHADOW_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvm/dma.h"

/* VFIO's default limit of mappings per container (dma_entry_limit). */
#define SHADOW_MAX_MAPPINGS 65535

struct shadow_ops {
	/* 0 or -errno, as VFIO_IOMMU_MAP_DMA / _UNMAP_DMA. */
	int (*map)(void *opaque, uint64_t iova, uint64_t len, void *hva,
		   enum dma_dir dir);
	int (*unmap)(void *opaque, uint64_t iova, uint64_t len);
};

/* One mapping in the container: [iova, iova + len) -> hva, for dir. */
struct shadow_map {
	uint64_t iova, len;
	void *hva;
	enum dma_dir dir;
};

struct shadow {
	const struct shadow_ops *ops;
	void *opaque;
	const char *name; /* for its messages */
	struct dma_space *dma;
	struct dma_notifier notifier;
	pthread_mutex_t lock;
	struct shadow_map *maps; /* sorted by iova, apart */
	unsigned int nr, max;
	bool full_logged;
	/* For the -v summary: what the syncs did and what they left alone. */
	unsigned long syncs, maps_done, unmaps_done, kept;
};

/*
 * Mirrors @dma from now on (a notifier on it), starting with all it maps
 * now. @max: mappings the container takes (SHADOW_MAX_MAPPINGS).
 */
void shadow_init(struct shadow *s, struct dma_space *dma,
		 const struct shadow_ops *ops, void *opaque, const char *name,
		 unsigned int max);
/* [lo, hi] of the space changed, or may have: the container follows. */
void shadow_sync(struct shadow *s, uint64_t lo, uint64_t hi);
/* Stops mirroring and unmaps everything. */
void shadow_destroy(struct shadow *s);

#endif
