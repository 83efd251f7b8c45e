/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_MMIO_H
#define DEVISOR_VIRTIO_MMIO_H

/*
 * virtio-mmio, version 2 (virtio 1.0+ only): a 4 KiB register window with
 * the device configuration at 0x100, and one edge-triggered GSI. Registers
 * take aligned 32-bit accesses only; configuration space takes any width.
 * Guests find the device through the kernel command line
 * (virtio_mmio_cmdline()) or the firmware tables: the device describes
 * itself (struct device's describe hook) as \_SB.VRxx, _HID "LNRO0005",
 * _UID, and a _CRS with Memory32Fixed over the window and the GSI as an
 * exclusive, edge, active-high Interrupt. docs/virtio.md has the details.
 */

#include <stdint.h>

struct evloop;
struct virtio_dev;
struct virtio_mmio;
struct vm;

#define VIRTIO_MMIO_SIZE 0x1000u
#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */
#define VIRTIO_MMIO_VERSION_2 2u
#define VIRTIO_MMIO_VENDOR 0x554d4551u /* "QEMU", what guests have seen */

/*
 * Claims [@base, @base + 4 KiB) on vm->mmio, binds @vdev (kicks run on
 * @loop) and registers the device with @vm. Interrupts go to @gsi through
 * an irqfd, or KVM_IRQ_LINE pulses (vm->irq_set) without one. On success
 * the transport owns @vdev: virtio_mmio_destroy(), also run by
 * devices_destroy(), frees both; call it before destroying @loop. NULL on
 * error (logged), @vdev then stays the caller's.
 */
struct virtio_mmio *virtio_mmio_create(struct vm *vm, uint64_t base,
				       unsigned int gsi,
				       struct virtio_dev *vdev,
				       struct evloop *loop);
void virtio_mmio_destroy(struct virtio_mmio *m);

/* "virtio_mmio.device=4K@0x<base>:<gsi>", valid while @m lives. */
const char *virtio_mmio_cmdline(const struct virtio_mmio *m);

#endif
