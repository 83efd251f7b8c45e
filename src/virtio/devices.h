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
	/* With hotplug_method=virtio-mem, its device (board.virtio_mem). */
	struct virtio_dev **virtio_mem;
	/* Set to the virtio-mmio disks and NICs (board.mmio_*); or NULL. */
	struct virtio_dev **mmio_disks, **mmio_nets;
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
/* What the control API hot-adds: vm.add-disk, -net, -pmem, -vsock. */
enum virtio_hp_kind {
	VIRTIO_HP_DISK,
	VIRTIO_HP_NET,
	VIRTIO_HP_PMEM,
	VIRTIO_HP_VSOCK
};

struct virtio_hotplug {
	enum virtio_hp_kind kind;
	union {
		const struct disk_config *disk;
		const struct net_options *net;
		const struct pmem_config *pmem;
		const struct vsock_config *vsock;
	};
	int devfn; /* CONFIG_PCI_AUTO: the lowest free slot */
};

/*
 * The device @h asks for, made as at boot from @b (its I/O thread and
 * place for pmem; @b->attach is not used), onto @pci at h->devfn. The
 * devfn, or -errno (logged).
 */
int virtio_pci_hotplug(struct vm *vm, struct pci_host *pci,
		       const struct virtio_hotplug *h,
		       const struct virtio_board *b);

#endif
