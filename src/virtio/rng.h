/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_RNG_H
#define DEVISOR_VIRTIO_RNG_H

/*
 * virtio-rng (entropy device, spec 5.4): one request queue whose
 * device-writable buffers are filled from the host's getrandom().
 */
struct virtio_dev;
struct vm;

/* Unbound device; hand it to virtio_pci_create()/virtio_mmio_create(). */
struct virtio_dev *virtio_rng_create(struct vm *vm);

#endif
