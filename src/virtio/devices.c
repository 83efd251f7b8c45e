// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio devices of a vm_config, for any board (virtio/devices.h):
 * back-ends opened, devices made, each handed to the board's attach().
 */
#include "virtio/devices.h"

#include <errno.h>
#include <unistd.h>

#include "backend/block.h"
#include "backend/console.h"
#include "backend/net.h"
#include "kvm/vm.h"
#include "pci/pci.h"
#include "virtio/balloon.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/mem.h"
#include "virtio/net.h"
#include "virtio/pci.h"
#include "util/log.h"
#include "virtio/pmem.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"
#include "virtio/vsock.h"

static size_t vcon_receive(void *opaque, const uint8_t *buf, size_t len)
{
	return virtio_console_receive(opaque, buf, len);
}

struct virtio_dev *virtio_disk_create(struct vm *vm,
				      const struct disk_config *dc,
				      struct evloop *io)
{
	struct blk_options bo = config_blk_options(dc);
	struct evloop *own = NULL;
	struct virtio_dev *vdev;
	struct blk_backend *be;

	if (dc->vhost_user) {
		vdev = virtio_vhost_user_blk_create(vm, dc->vhost_user, io);
		if (!vdev)
			errno = ENODEV;
		return vdev;
	}
	be = blk_open(dc->path, &bo);
	if (!be)
		return NULL;
	if (dc->iothread) {
		/* Named after the disk's id where it has one. */
		own = evloop_create_own(dc->id[0] ? dc->id : "disk", io,
					dc->path);
		if (!own) {
			blk_close(be);
			return NULL;
		}
		io = own;
	}
	vdev = virtio_blk_create(vm, be, io,
				 config_disk_queues(dc, vm->nr_cpus));
	if (!vdev) {
		blk_close(be);
		if (own)
			evloop_destroy(own);
		errno = ENODEV;
	} else {
		vdev->own_loop = own;
		if (!dc->packed)
			vdev->core_features_off |= 1ull << VIRTQ_F_RING_PACKED;
		virtio_blk_set_poll(vdev, dc->poll_us * 1000ull);
		if (rate_limit_config_active(&dc->rate_limit))
			virtio_blk_set_rate_limit(vdev, &dc->rate_limit);
		virtio_dev_set_batch(vdev, config_disk_batch_us(dc) * 1000ull);
	}
	return vdev;
}

struct virtio_dev *virtio_nic_create(struct vm *vm, const struct net_options *n,
				     struct evloop *io)
{
	struct net_backend *bes[NET_MAX_QUEUE_PAIRS];
	struct evloop *own = NULL;
	struct virtio_dev *vdev;
	int pairs;

	if (n->iothread) {
		own = evloop_create_own(n->ifname[0] ? n->ifname : "net", io,
					"NIC");
		if (!own)
			return NULL;
		io = own;
	}
	pairs = net_backend_open_queues(n, io, bes);
	if (pairs < 0) {
		if (own)
			evloop_destroy(own);
		errno = -pairs;
		return NULL;
	}
	/* It closes the back-ends if it fails. */
	/* vhost=auto: devisor moves the frames when it must count them. */
	vdev = virtio_net_create_mq(vm, bes, pairs,
				    rate_limit_config_active(&n->rate_limit) &&
						    n->vhost == NET_VHOST_AUTO ?
					    NET_VHOST_OFF :
					    n->vhost,
				    n->poll_us * 1000ull);
	if (!vdev) {
		if (own)
			evloop_destroy(own);
		errno = ENODEV;
		return NULL;
	}
	vdev->own_loop = own;
	if (rate_limit_config_active(&n->rate_limit))
		virtio_net_set_rate_limit(vdev, &n->rate_limit);
	return vdev;
}

static struct virtio_dev *pmem_create(struct vm *vm,
				      const struct pmem_config *pc,
				      const struct virtio_board *b)
{
	if (!b->place_pmem) {
		pr_err("pmem %s: not on this board", pc->path);
		errno = EOPNOTSUPP;
		return NULL;
	}
	return virtio_pmem_create(vm, pc->path, pc->discard_writes,
				  b->place_pmem, b->opaque);
}

static struct virtio_dev *vsock_create(struct vm *vm,
				       const struct vsock_config *vc,
				       const struct virtio_board *b)
{
	struct virtio_dev *vdev;

	if (vc->socket)
		vdev = virtio_vsock_create(vm, vc->cid, vc->socket, b->io);
	else
		vdev = virtio_vhost_vsock_create(vm, vc->cid, NULL, b->io);
	if (!vdev)
		errno = ENODEV;
	return vdev;
}

int virtio_pci_hotplug(struct vm *vm, struct pci_host *pci,
		       const struct virtio_hotplug *h,
		       const struct virtio_board *b)
{
	struct virtio_dev *vdev = NULL;
	struct virtio_pci *vp;

	switch (h->kind) {
	case VIRTIO_HP_DISK:
		vdev = virtio_disk_create(vm, h->disk, b->io);
		break;
	case VIRTIO_HP_NET:
		vdev = virtio_nic_create(vm, h->net, b->io);
		break;
	case VIRTIO_HP_PMEM:
		vdev = pmem_create(vm, h->pmem, b);
		break;
	case VIRTIO_HP_VSOCK:
		vdev = vsock_create(vm, h->vsock, b);
		break;
	}
	if (!vdev)
		return -errno;
	if (h->devfn != CONFIG_PCI_AUTO)
		pci_host_set_next_devfn(pci, h->devfn);
	vp = virtio_pci_create(vm, pci, vdev, b->io);
	if (!vp) {
		virtio_dev_destroy(vdev);
		return -ENODEV;
	}
	return virtio_pci_pdev(vp)->devfn;
}

static int create_disks(struct vm *vm, const struct vm_config *cfg,
			const struct virtio_board *b)
{
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *dc = &cfg->disks[i];
		struct virtio_dev *vdev;
		int ret;

		if (dc->removed)
			continue;
		vdev = virtio_disk_create(vm, dc, b->io);
		if (!vdev)
			return -errno;
		ret = b->attach(b->opaque, vdev, dc->transport, dc->addr);
		if (ret)
			return ret;
		if (dc->transport == TRANSPORT_MMIO && b->mmio_disks)
			b->mmio_disks[i] = vdev;
	}
	return 0;
}

static int create_nets(struct vm *vm, const struct vm_config *cfg,
		       const struct virtio_board *b)
{
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		struct virtio_dev *vdev;
		int ret;

		if (cfg->net_removed[i])
			continue;
		vdev = virtio_nic_create(vm, &cfg->nets[i], b->io);
		if (!vdev)
			return -errno;
		ret = b->attach(b->opaque, vdev,
				cfg->nets[i].mmio ? TRANSPORT_MMIO :
						    TRANSPORT_PCI,
				cfg->net_addrs[i]);
		if (ret)
			return ret;
		if (cfg->nets[i].mmio && b->mmio_nets)
			b->mmio_nets[i] = vdev;
	}
	return 0;
}

/* A device made just now (NULL: errno says why) at its planned slot. */
static int attach_pci(const struct virtio_board *b, struct virtio_dev *vdev,
		      int devfn)
{
	if (!vdev)
		return -errno;
	return b->attach(b->opaque, vdev, TRANSPORT_PCI, devfn);
}

int virtio_create_devices(struct vm *vm, const struct vm_config *cfg,
			  const struct virtio_board *b)
{
	struct virtio_dev *vdev;
	int ret;

	if ((ret = create_disks(vm, cfg, b)) || (ret = create_nets(vm, cfg, b)))
		return ret;
	for (unsigned int i = 0; i < cfg->nr_pmems; i++) {
		const struct pmem_config *pc = &cfg->pmems[i];

		if (pc->removed)
			continue;
		ret = attach_pci(b, pmem_create(vm, pc, b), pc->addr);
		if (ret)
			return ret;
	}
	if (cfg->balloon.enabled) {
		vdev = virtio_balloon_create(vm, &cfg->balloon);
		ret = attach_pci(b, vdev, cfg->balloon_addr);
		if (ret)
			return ret;
		*b->balloon = vdev;
	}
	if (cfg->hotplug_virtio_mem) {
		vdev = virtio_mem_create(vm, cfg->hotplug_size,
					 cfg->virtio_mem_requested);
		ret = attach_pci(b, vdev, cfg->virtio_mem_addr);
		if (ret)
			return ret;
		*b->virtio_mem = vdev;
	}
	if (cfg->rng) {
		vdev = virtio_rng_create(vm);
		if (!vdev)
			return -ENOMEM;
		ret = b->attach(b->opaque, vdev, TRANSPORT_PCI, cfg->rng_addr);
		if (ret)
			return ret;
	}
	if (cfg->virtio_console) {
		vdev = virtio_console_create(vm, STDOUT_FILENO);
		if (!vdev)
			return -ENOMEM;
		ret = b->attach(b->opaque, vdev, TRANSPORT_PCI,
				cfg->console_addr);
		if (ret)
			return ret;
		*b->console = (struct console_port){
			.receive = vcon_receive,
			.rx_eventfd = virtio_console_rx_eventfd(vdev),
			.opaque = vdev,
		};
	}
	if (cfg->vsock.enabled && !cfg->vsock.removed) {
		vdev = vsock_create(vm, &cfg->vsock, b);
		if (!vdev)
			return -errno;
		ret = b->attach(b->opaque, vdev, cfg->vsock.transport,
				cfg->vsock.addr);
		if (ret)
			return ret;
	}
	return 0;
}
