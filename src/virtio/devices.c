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
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"
#include "virtio/vsock.h"

static size_t vcon_receive(void *opaque, const uint8_t *buf, size_t len)
{
	return virtio_console_receive(opaque, buf, len);
}

static int create_disks(struct vm *vm, const struct vm_config *cfg,
			const struct virtio_board *b)
{
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *dc = &cfg->disks[i];
		struct blk_options bo = config_blk_options(dc);
		struct virtio_dev *vdev;
		struct blk_backend *be;
		int ret;

		if (dc->removed)
			continue;
		if (dc->vhost_user) {
			vdev = virtio_vhost_user_blk_create(vm, dc->vhost_user,
							    b->io);
			if (!vdev)
				return -ENODEV;
		} else {
			be = blk_open(dc->path, &bo);
			if (!be)
				return -errno;
			vdev = virtio_blk_create(vm, be, b->io, dc->nr_queues);
			if (!vdev) {
				blk_close(be);
				return -ENODEV;
			}
		}
		ret = b->attach(b->opaque, vdev, dc->transport, dc->addr);
		if (ret)
			return ret;
	}
	return 0;
}

static int create_nets(struct vm *vm, const struct vm_config *cfg,
		       const struct virtio_board *b)
{
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		struct virtio_dev *vdev;
		struct net_backend *be;
		int ret;

		if (cfg->net_removed[i])
			continue;
		be = net_backend_open(&cfg->nets[i], b->io);
		if (!be)
			return -errno;
		vdev = virtio_net_create(vm, be, cfg->nets[i].vhost);
		if (!vdev) {
			net_backend_close(be);
			return -ENODEV;
		}
		ret = b->attach(b->opaque, vdev,
				cfg->nets[i].mmio ? TRANSPORT_MMIO :
						    TRANSPORT_PCI,
				cfg->net_addrs[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int virtio_create_devices(struct vm *vm, const struct vm_config *cfg,
			  const struct virtio_board *b)
{
	struct virtio_dev *vdev;
	int ret;

	if ((ret = create_disks(vm, cfg, b)) || (ret = create_nets(vm, cfg, b)))
		return ret;
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
	if (cfg->vsock.enabled) {
		if (cfg->vsock.socket)
			vdev = virtio_vsock_create(vm, cfg->vsock.cid,
						   cfg->vsock.socket, b->io);
		else
			vdev = virtio_vhost_vsock_create(vm, cfg->vsock.cid,
							 NULL, b->io);
		if (!vdev)
			return -ENODEV;
		ret = b->attach(b->opaque, vdev, cfg->vsock.transport,
				cfg->vsock.addr);
		if (ret)
			return ret;
	}
	return 0;
}
