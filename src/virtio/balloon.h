/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_BALLOON_H
#define DEVISOR_VIRTIO_BALLOON_H

/*
 * virtio-balloon (spec 5.5): the host asks the guest for memory back
 * (num_pages, set by vm.resize's desired_balloon), the guest gives it
 * pages (the inflate queue) whose host memory devisor then frees, and
 * takes them back when asked (the deflate queue: the guest just uses them
 * again, they fault in as zeroes), and its memory statistics on the
 * statistics queue (vm.counters). With free page reporting
 * (VIRTIO_BALLOON_F_PAGE_REPORTING), the guest also hands over the free
 * blocks its allocator gathers, which devisor frees the same way. Only
 * guest RAM is freed, never a device's memory; while a passed-through
 * device has guest RAM pinned for DMA nothing is (its IOMMU would keep
 * the old pages). docs/virtio.md, "virtio-balloon".
 */
#include <stdbool.h>
#include <stdint.h>

#ifndef VIRTIO_ID_BALLOON
#define VIRTIO_ID_BALLOON 5
#endif
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_PAGE_REPORTING 5
/* The balloon's unit, whatever the guest's page size. */
#define VIRTIO_BALLOON_PAGE 4096u

struct virtio_dev;
struct vm;

struct balloon_config {
	bool enabled;
	uint64_t size; /* bytes asked of the guest at boot (whole 4 KiB) */
	bool deflate_on_oom;
	bool free_page_reporting;
};

struct virtio_dev *virtio_balloon_create(struct vm *vm,
					 const struct balloon_config *bc);
/* Asks the guest for @bytes (rounded down to whole 4 KiB pages) in all. */
void virtio_balloon_set_target(struct virtio_dev *vdev, uint64_t bytes);
/*
 * Asks the guest for fresh memory statistics (the statistics queue's
 * buffer given back); they come as it can, for the next vm.counters,
 * whose _balloon has the last ones it sent (free_memory, total_memory,
 * available_memory, ... in bytes or counts, as the guest's tags say).
 */
void virtio_balloon_stats_request(struct virtio_dev *vdev);
/*
 * What the guest says it has given (the config's actual), in bytes.
 * vm.counters (virtio_dev_counters()) has it too, with what devisor freed
 * for it and for free page reports since boot.
 */
uint64_t virtio_balloon_actual(struct virtio_dev *vdev);

#endif
