/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_MEM_H
#define DEVISOR_VIRTIO_MEM_H

/*
 * virtio-mem (virtio 1.2, 5.15): RAM the guest plugs and unplugs in
 * blocks of VIRTIO_MEM_BLOCK inside one region, up to what the host
 * requests (vm.resize with --memory ...,hotplug_method=virtio-mem). The
 * region is the VM's memory hotplug area, mapped whole for the vCPUs and
 * for DMA from the start (vm_plug_ram()); an unplugged block is given
 * back to the host (its pages discarded) and reads as zeroes, which the
 * spec allows without VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE.
 */

#include <stdint.h>

struct virtio_dev;
struct vm;

/* The device's block: a THP's worth, as QEMU's default on x86. */
#define VIRTIO_MEM_BLOCK (2ull << 20)
/* The region's alignment and size unit: a Linux memory block. */
#define VIRTIO_MEM_REGION_ALIGN (128ull << 20)

/*
 * The device over @vm's memory hotplug area, all @size bytes of it
 * (VIRTIO_MEM_REGION_ALIGN whole), asking the guest for @requested bytes.
 * Unbound: hand it to a transport. NULL with errno on failure (logged).
 */
struct virtio_dev *virtio_mem_create(struct vm *vm, uint64_t size,
				     uint64_t requested);
/*
 * Asks the guest for @bytes plugged (a multiple of VIRTIO_MEM_BLOCK, at
 * most the region): a configuration change. Any thread.
 */
void virtio_mem_set_requested(struct virtio_dev *vdev, uint64_t bytes);
/* Bytes the guest has plugged now. */
uint64_t virtio_mem_plugged(struct virtio_dev *vdev);

#endif
