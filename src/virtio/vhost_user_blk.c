// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk served by a vhost-user back-end (`--disk vhost-user=SOCKET`,
 * e.g. qemu-storage-daemon --export type=vhost-user-blk): devisor keeps
 * the transport, feature negotiation and the configuration space (read
 * from the back-end with GET_CONFIG at start); the request queue is the
 * back-end's, which maps guest RAM from our memfd, is kicked by the
 * queue's ioeventfd and signals the call fd (the MSI-X irqfd, or our
 * eventfd on virtio-mmio and INTx). No request passes through devisor.
 * A back-end that goes away marks the device broken. docs/vhost.md.
 */
#include "virtio/blk.h"

#include <errno.h>
#include <linux/virtio_blk.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/vm.h"
#include "util/evloop.h"
#include "util/log.h"
#include "vhost/vhost.h"
#include "vhost/vhost_user.h"
#include "virtio/virtio.h"

#define QUEUE_SIZE 256
/* struct virtio_blk_config up to the write-zeroes fields. */
#define CFG_LEN 60

#define F(bit) (1ull << (bit))
/* Device bits passed through when the back-end has them. */
#define BLK_FEATURES                                          \
	(F(VIRTIO_BLK_F_SIZE_MAX) | F(VIRTIO_BLK_F_SEG_MAX) | \
	 F(VIRTIO_BLK_F_GEOMETRY) | F(VIRTIO_BLK_F_RO) |      \
	 F(VIRTIO_BLK_F_BLK_SIZE) | F(VIRTIO_BLK_F_FLUSH) |   \
	 F(VIRTIO_BLK_F_TOPOLOGY) | F(VIRTIO_BLK_F_DISCARD) | \
	 F(VIRTIO_BLK_F_WRITE_ZEROES))

struct vu_blk {
	struct virtio_dev vdev;
	struct virtqueue vq;
	struct vm *vm;
	struct evloop *loop;
	struct vhost_user vu;
	struct vhost_ram vhost_ram;
	struct vhost_call call;
	uint8_t config[CFG_LEN];
};

static struct vu_blk *to_vb(struct virtio_dev *vdev)
{
	return (struct vu_blk *)vdev;
}

/* Plugged RAM: the back-end's table again; device lock held. */
static int vb_set_table(struct virtio_dev *vdev)
{
	struct vu_blk *vb = to_vb(vdev);

	return vb->vu.running ?
		       vhost_user_set_mem_table(&vb->vu, &vb->vm->mem) :
		       0;
}

static int vb_activate(struct virtio_dev *vdev)
{
	struct vu_blk *vb = to_vb(vdev);

	return vhost_user_start(&vb->vu, vdev, &vb->vm->mem, &vb->call, 1);
}

static void vb_reset(struct virtio_dev *vdev)
{
	vhost_user_stop(&to_vb(vdev)->vu, 1);
}

static void vb_stop(struct virtio_dev *vdev)
{
	struct vu_blk *vb = to_vb(vdev);

	pthread_mutex_lock(&vdev->lock);
	vhost_user_stop(&vb->vu, 1);
	pthread_mutex_unlock(&vdev->lock);
	vhost_user_unwatch(&vb->vu);
	vhost_call_stop(&vb->call);
}

static void vb_destroy(struct virtio_dev *vdev)
{
	struct vu_blk *vb = to_vb(vdev);

	vhost_ram_unfollow(&vb->vhost_ram);
	vhost_call_close(&vb->call);
	vhost_user_close(&vb->vu);
	free(vb);
}

static const struct virtio_dev_ops vb_ops = {
	.activate = vb_activate,
	.reset = vb_reset,
	.stop = vb_stop,
	.destroy = vb_destroy,
};

struct virtio_dev *virtio_vhost_user_blk_create(struct vm *vm,
						const char *socket,
						struct evloop *loop)
{
	struct vu_blk *vb = calloc(1, sizeof(*vb));
	uint64_t capacity;

	if (!vb)
		return NULL;
	vb->vu.fd = -1;
	vb->call.fd = -1;
	if (virtio_dev_init(&vb->vdev, "vhost-user-blk", VIRTIO_ID_BLOCK,
			    &vb_ops, &vb->vq, 1, QUEUE_SIZE, &vm->mem)) {
		free(vb);
		return NULL;
	}
	vb->vm = vm;
	vb->loop = loop;
	if (vm->mem.fd < 0) {
		pr_err("vhost-user-blk: guest RAM is not shared (a memfd)");
		goto fail;
	}
	if (vhost_user_connect(&vb->vu, socket, "vhost-user-blk"))
		goto fail;
	if (vhost_user_get_config(&vb->vu, 0, vb->config, CFG_LEN))
		goto fail;
	memcpy(&capacity, vb->config, 8);
	pr_info("vhost-user-blk: %s: %llu sectors, features %#llx", socket,
		(unsigned long long)capacity,
		(unsigned long long)vb->vu.features);
	/* Split rings only, and what the back-end does of the core's. */
	vb->vdev.core_features_off = (VIRTIO_CORE_FEATURES & ~vb->vu.features) |
				     F(VIRTQ_F_RING_PACKED);
	vb->vdev.device_features = vb->vu.features & BLK_FEATURES;
	vb->vdev.kernel_queues = 1;
	vb->vdev.config = vb->config;
	vb->vdev.config_len = CFG_LEN;
	if (vhost_call_init(&vb->call, &vb->vdev, 0, loop))
		goto fail;
	if (vhost_user_watch(&vb->vu, &vb->vdev, loop))
		goto fail;
	vhost_ram_follow(&vb->vhost_ram, vm, &vb->vdev, vb_set_table);
	return &vb->vdev;
fail:
	vhost_call_close(&vb->call);
	vhost_user_close(&vb->vu);
	pthread_mutex_destroy(&vb->vdev.lock);
	free(vb);
	return NULL;
}
