/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_DEVICES_H
#define DEVISOR_VIRTIO_DEVICES_H

/*
 * The virtio devices a vm_config asks for (--disk, --net, --rng,
 * --console virtio, --vsock), made one way for every board: the board
 * only says where each goes (PCI at a devfn, or its next virtio-mmio
 * window) through @attach.
 */
#include "config.h"
#include "virtio/pmem.h"

struct console_port;
struct pci_host;
struct evloop;
struct virtio_dev;
struct vm;

struct virtio_board {
	/*
	 * Puts @vdev on @transport (PCI: at @devfn, CONFIG_PCI_AUTO for
	 * any). Takes @vdev: on failure it is destroyed. 0 or -errno.
	 */
	int (*attach)(void *opaque, struct virtio_dev *vdev,
		      enum virtio_transport_kind transport, int devfn);
	void *opaque;
	struct evloop *io; /* the I/O thread the devices run on */
	/*
	 * Where a virtio-pmem range of @size bytes goes in guest-physical
	 * space (VIRTIO_PMEM_ALIGN aligned, clear of RAM and the PCI
	 * windows), or 0 if nowhere; NULL: the board has no place for any.
	 */
	virtio_pmem_place_fn *place_pmem;
	/* With --console virtio, set to the virtio console's input. */
	struct console_port *console;
	/* With --balloon, set to the balloon device (board.balloon). */
	struct virtio_dev **balloon;
};

/* Returns 0, or -errno after logging (what was made stays attached). */
int virtio_create_devices(struct vm *vm, const struct vm_config *cfg,
			  const struct virtio_board *b);

/*
 * One --disk's device (virtio-blk on its opened back-end, or
 * vhost-user-blk) and one --net's (virtio-net on its back-end), for boot
 * and for the control API's hot-add alike. NULL with errno set.
 */
struct virtio_dev *virtio_disk_create(struct vm *vm,
				      const struct disk_config *dc,
				      struct evloop *io);
struct virtio_dev *virtio_nic_create(struct vm *vm, const struct net_options *n,
				     struct evloop *io);
/*
 * A hot-added device onto @pci at @devfn (CONFIG_PCI_AUTO: the next
 * free): takes @vdev (NULL: returns -errno, as the creators above leave
 * it). The devfn, or -errno.
 */
int virtio_pci_hotplug(struct vm *vm, struct pci_host *pci,
		       struct virtio_dev *vdev, int devfn, struct evloop *io);

#endif
