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

struct vhost_vsock;

struct call {
	struct vhost_vsock *vv;
	unsigned int q;
	int fd;
};

struct vhost_vsock {
	struct virtio_dev vdev;
	struct virtqueue vqs[NR_QUEUES];
	struct virtq_seg segs[4];
	uint8_t config[8];
	struct vm *vm;
	struct evloop *loop;
	struct vhost vhost;
	uint64_t vhost_features;
	struct call calls[NR_KERNEL];
	bool running; /* VHOST_VSOCK_SET_RUNNING 1 */
	bool was_active;
	bool event_reset;
};

static struct vhost_vsock *to_vv(struct virtio_dev *vdev)
{
	return (struct vhost_vsock *)vdev;
}

/*
 * The kernel used buffers of queue @q: raise its interrupt. The worker
 * already applied the driver's suppression (EVENT_IDX, NO_INTERRUPT)
 * before it signalled.
 */
static void call_cb(void *opaque, uint32_t events)
{
	struct call *c = opaque;
	struct virtio_dev *vdev = &c->vv->vdev;
	uint64_t n;

	if (read(c->fd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&vdev->lock);
	if (virtio_dev_running(vdev) && vdev->tops)
		vdev->tops->notify_queue(vdev, c->q);
	pthread_mutex_unlock(&vdev->lock);
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
		struct virtqueue *vq = &vv->vqs[q];
		uint64_t n = vq->size;
		int irqfd = virtio_dev_queue_irqfd(vdev, q);
		struct vhost_ring r = {
			.index = q,
			.num = vq->size,
			.kick_fd = virtio_dev_kick_fd(vdev, q),
			/* KVM's irqfd when the transport has one (MSI-X):
			 * no trip through devisor per interrupt. */
			.call_fd = irqfd >= 0 ? irqfd : vv->calls[q].fd,
		};

		if (!vq->ready || vq->packed)
			return -EINVAL;
		/* The kernel wants our addresses of the rings, in RAM. */
		r.desc = gpa_to_hva(&vv->vm->mem, vq->desc_gpa, 16 * n);
		r.avail = gpa_to_hva(&vv->vm->mem, vq->driver_gpa, 6 + 2 * n);
		r.used = gpa_to_hva(&vv->vm->mem, vq->device_gpa, 6 + 8 * n);
		if (!r.desc || !r.avail || !r.used)
			return -EFAULT;
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
	struct virtqueue *vq = &vv->vqs[EVQ];
	struct virtq_chain c = VIRTQ_CHAIN_INIT(vv->segs);
	uint8_t ev[4] = { VIRTIO_VSOCK_EVENT_TRANSPORT_RESET };
	int r;

	if (q != EVQ || !vv->event_reset)
		return;
	r = virtq_pop(vq, &c);
	if (r < 0) {
		virtio_dev_fail(vdev, r, "event queue");
		return;
	}
	if (!r)
		return;
	if (c.readable || c.writable < sizeof(ev)) {
		virtio_dev_fail(vdev, -EINVAL, "event buffer too short");
		return;
	}
	if (virtq_chain_write(&vdev->dma, &c, 0, ev, sizeof(ev))) {
		virtio_dev_fail(vdev, -EFAULT, "event buffer");
		return;
	}
	virtq_push(vq, &c, sizeof(ev));
	vv->event_reset = false;
	virtio_dev_notify_queue(vdev, EVQ);
}

static void vv_stop(struct virtio_dev *vdev)
{
	struct vhost_vsock *vv = to_vv(vdev);

	pthread_mutex_lock(&vdev->lock);
	vhost_stop(vv);
	pthread_mutex_unlock(&vdev->lock);
	for (unsigned int q = 0; q < NR_KERNEL; q++)
		if (vv->calls[q].fd >= 0)
			evloop_del(vv->loop, vv->calls[q].fd);
}

static void vv_destroy(struct virtio_dev *vdev)
{
	struct vhost_vsock *vv = to_vv(vdev);

	vhost_stop(vv);
	vhost_close(&vv->vhost);
	for (unsigned int q = 0; q < NR_KERNEL; q++)
		if (vv->calls[q].fd >= 0)
			close(vv->calls[q].fd);
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
	for (q = 0; q < NR_KERNEL; q++) {
		struct call *c = &vv->calls[q];

		*c = (struct call){ .vv = vv, .q = q };
		c->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->fd < 0 || evloop_add(loop, c->fd, EPOLLIN, call_cb, c)) {
			pr_err("vhost-vsock: cannot poll its call eventfd");
			goto fail;
		}
	}
	return &vv->vdev;
fail:
	for (q = 0; q < NR_KERNEL; q++)
		if (vv->calls[q].fd >= 0) {
			evloop_del(loop, vv->calls[q].fd);
			close(vv->calls[q].fd);
		}
	vhost_close(&vv->vhost);
	pthread_mutex_destroy(&vv->vdev.lock);
	free(vv);
	return NULL;
}
