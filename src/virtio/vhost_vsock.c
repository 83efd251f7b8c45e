// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock on the kernel's vhost-vsock (`--vsock cid=N`): rx and tx
 * are served by the host kernel's vhost worker, which reads the rings
 * from guest memory through the table we give it, is kicked by the
 * queue's ioeventfd and signals the call eventfd when it used buffers:
 * the queue's MSI-X irqfd on virtio-pci, or ours (virtio-mmio, INTx),
 * whose callback raises the interrupt through the transport;
 * the host's programs use AF_VSOCK to CID N. The event queue stays here
 * (TRANSPORT_RESET after a device reset), as in QEMU and Cloud
 * Hypervisor. docs/vsock.md.
 */
#include <errno.h>
#include <linux/vhost.h>
#include <linux/virtio_vsock.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm/vm.h"
#include "util/common.h"
#include "util/evloop.h"
#include "util/log.h"
#include "vhost/vhost.h"
#include "virtio/virtio.h"
#include "virtio/vsock.h"

#define QUEUE_SIZE 256
#define NR_QUEUES 3
#define EVQ 2
#define NR_KERNEL 2 /* rx 0 and tx 1 */

struct vhost_vsock {
	struct virtio_dev vdev;
	struct virtqueue vqs[NR_QUEUES];
	uint8_t config[8];
	struct vm *vm;
	struct evloop *loop;
	struct vhost vhost;
	struct vhost_ram vhost_ram;
	uint64_t vhost_features;
	struct vhost_call calls[NR_KERNEL];
	bool running; /* VHOST_VSOCK_SET_RUNNING 1 */
	bool was_active;
	bool event_reset;
};

static struct vhost_vsock *to_vv(struct virtio_dev *vdev)
{
	return (struct vhost_vsock *)vdev;
}

static int set_running(struct vhost_vsock *vv, int on)
{
	if (ioctl(vv->vhost.fd, VHOST_VSOCK_SET_RUNNING, &on) < 0) {
		int err = errno;

		pr_err("%s: VHOST_VSOCK_SET_RUNNING %d: %s", vv->vdev.name, on,
		       strerror(err));
		return -err;
	}
	return 0;
}

static void vhost_stop(struct vhost_vsock *vv)
{
	uint16_t base;

	if (!vv->running)
		return;
	set_running(vv, 0);
	for (unsigned int q = 0; q < NR_KERNEL; q++)
		vhost_get_ring_base(&vv->vhost, q, &base);
	vv->running = false;
}

static bool vv_features_ok(struct virtio_dev *vdev, uint64_t features)
{
	/* Everything negotiated must be the kernel's to do. */
	return !(features & ~to_vv(vdev)->vhost_features);
}

/* Plugged RAM: the kernel's table again; device lock held. */
static int vv_set_table(struct virtio_dev *vdev)
{
	struct vhost_vsock *vv = to_vv(vdev);

	return vv->running ? vhost_set_mem_table(&vv->vhost, &vv->vm->mem) : 0;
}

/* DRIVER_OK: the rings go to the kernel. */
static int vv_activate(struct virtio_dev *vdev)
{
	struct vhost_vsock *vv = to_vv(vdev);
	int ret;

	vv->was_active = true;
	ret = vhost_set_features(&vv->vhost, vdev->features);
	if (!ret)
		ret = vhost_set_mem_table(&vv->vhost, &vv->vm->mem);
	for (unsigned int q = 0; q < NR_KERNEL && !ret; q++) {
		struct vhost_ring r;

		ret = vhost_ring_of(vdev, &vv->vm->mem, q, &vv->calls[q], &r);
		if (!ret)
			ret = vhost_set_ring(&vv->vhost, &r);
	}
	if (!ret)
		ret = set_running(vv, 1);
	if (!ret)
		vv->running = true;
	return ret;
}

static void vv_reset(struct virtio_dev *vdev)
{
	struct vhost_vsock *vv = to_vv(vdev);

	/* The kernel's connections of this guest end with the rings. */
	vhost_stop(vv);
	if (vv->was_active)
		vv->event_reset = true;
}

static void vv_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct vhost_vsock *vv = to_vv(vdev);

	if (q == EVQ && vv->event_reset &&
	    vsock_deliver_transport_reset(vdev, &vv->vqs[EVQ]))
		vv->event_reset = false;
}

static void vv_stop(struct virtio_dev *vdev)
{
	struct vhost_vsock *vv = to_vv(vdev);

	pthread_mutex_lock(&vdev->lock);
	vhost_stop(vv);
	pthread_mutex_unlock(&vdev->lock);
	for (unsigned int q = 0; q < NR_KERNEL; q++)
		vhost_call_stop(&vv->calls[q]);
}

static void vv_destroy(struct virtio_dev *vdev)
{
	struct vhost_vsock *vv = to_vv(vdev);

	vhost_ram_unfollow(&vv->vhost_ram);
	vhost_stop(vv);
	vhost_close(&vv->vhost);
	for (unsigned int q = 0; q < NR_KERNEL; q++)
		vhost_call_close(&vv->calls[q]);
	free(vv);
}

static const struct virtio_dev_ops vv_ops = {
	.features_ok = vv_features_ok,
	.activate = vv_activate,
	.reset = vv_reset,
	.queue_notify = vv_queue_notify,
	.stop = vv_stop,
	.destroy = vv_destroy,
};

struct virtio_dev *virtio_vhost_vsock_create(struct vm *vm, uint64_t cid,
					     const char *dev_path,
					     struct evloop *loop)
{
	struct vhost_vsock *vv;
	unsigned int q;

	if (cid < VSOCK_CID_MIN || cid > VSOCK_CID_MAX) {
		pr_err("vhost-vsock: guest CID %llu is reserved",
		       (unsigned long long)cid);
		return NULL;
	}
	vv = calloc(1, sizeof(*vv));
	if (!vv)
		return NULL;
	vv->vhost.fd = -1;
	for (q = 0; q < NR_KERNEL; q++)
		vv->calls[q].fd = -1;
	if (virtio_dev_init(&vv->vdev, "vhost-vsock", VIRTIO_ID_VSOCK, &vv_ops,
			    vv->vqs, NR_QUEUES, QUEUE_SIZE, &vm->mem)) {
		free(vv);
		return NULL;
	}
	vv->vm = vm;
	vv->loop = loop;
	if (vhost_open(&vv->vhost, dev_path ? dev_path : "/dev/vhost-vsock",
		       "vhost_vsock", "vhost-vsock") ||
	    vhost_get_features(&vv->vhost, &vv->vhost_features))
		goto fail;
	if (ioctl(vv->vhost.fd, VHOST_VSOCK_SET_GUEST_CID, &cid) < 0) {
		pr_err("vhost-vsock: guest CID %llu: %s%s",
		       (unsigned long long)cid, strerror(errno),
		       errno == EADDRINUSE ? " (another VM has it)" : "");
		goto fail;
	}
	/* The kernel serves split rings only; SEQPACKET if it has it. */
	vv->vdev.core_features_off =
		(VIRTIO_CORE_FEATURES & ~vv->vhost_features) |
		(1ull << VIRTQ_F_RING_PACKED);
	vv->vhost_features |= 1ull << VIRTIO_F_VERSION_1;
	vv->vhost_features &= ~(1ull << VIRTQ_F_RING_PACKED);
	vv->vdev.device_features = vv->vhost_features &
				   (1ull << VIRTIO_VSOCK_F_SEQPACKET);
	vv->vdev.kernel_queues = (1ull << NR_KERNEL) - 1;
	put_le(vv->config, cid, 8);
	vv->vdev.config = vv->config;
	vv->vdev.config_len = sizeof(vv->config);
	for (q = 0; q < NR_KERNEL; q++)
		if (vhost_call_init(&vv->calls[q], &vv->vdev, q, loop))
			goto fail;
	vhost_ram_follow(&vv->vhost_ram, vm, &vv->vdev, vv_set_table);
	return &vv->vdev;
fail:
	for (q = 0; q < NR_KERNEL; q++)
		vhost_call_close(&vv->calls[q]);
	vhost_close(&vv->vhost);
	pthread_mutex_destroy(&vv->vdev.lock);
	free(vv);
	return NULL;
}
