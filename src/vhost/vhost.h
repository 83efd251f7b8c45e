/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VHOST_VHOST_H
#define DEVISOR_VHOST_VHOST_H

/*
 * The kernel's vhost ioctl interface (<linux/vhost.h>), shared by every
 * device whose data plane can move into the host kernel (vhost-vsock
 * today; vhost-net next): the device's queues are served by a kernel
 * worker that reads guest memory through the table we give it, is kicked
 * by the same eventfd KVM signals on the guest's notify (our ioeventfd)
 * and signals an eventfd of ours when it has used buffers (the call fd).
 * Every function returns 0 or -errno and logs what failed, naming the
 * device.
 */
#include <stdint.h>

#include "kvm/vm.h"

struct evloop;
struct guest_mem;
struct virtio_dev;

struct vhost {
	int fd;
	const char *name; /* for messages */
};

/*
 * Opens @path (e.g. /dev/vhost-vsock) and becomes its owner. A missing
 * node or a refused open gets a message that names @module, the kernel
 * module that provides it.
 */
int vhost_open(struct vhost *v, const char *path, const char *module,
	       const char *name);
void vhost_close(struct vhost *v);

int vhost_get_features(struct vhost *v, uint64_t *features);
int vhost_set_features(struct vhost *v, uint64_t features);
/*
 * All of @mem's RAM (guest_mem_ranges()): guest physical address, size,
 * our mapping. Again at any time: the kernel swaps tables safely.
 */
int vhost_set_mem_table(struct vhost *v, const struct guest_mem *mem);

/*
 * A vhost device's back-end (kernel or vhost-user) keeps its own map of
 * guest RAM; this keeps it current when RAM is plugged: @set_table, with
 * the device's lock held, sends the whole table again if the back-end
 * runs (0 if not), and its error fails the plug. From the device's
 * creation to its destruction.
 */
struct vhost_ram {
	struct ram_listener l;
	struct vm *vm;
	struct virtio_dev *vdev;
	int (*set_table)(struct virtio_dev *vdev);
};

void vhost_ram_follow(struct vhost_ram *vr, struct vm *vm,
		      struct virtio_dev *vdev,
		      int (*set_table)(struct virtio_dev *vdev));
void vhost_ram_unfollow(struct vhost_ram *vr);

/* One split ring as the driver set it up; host addresses of each part. */
struct vhost_ring {
	unsigned int index;
	unsigned int num;
	void *desc, *avail, *used;
	uint16_t base; /* next avail index to serve */
	int kick_fd; /* our ioeventfd's eventfd */
	int call_fd; /* signalled when buffers were used */
};

/* Num, addresses, base, kick and call of one ring. */
int vhost_set_ring(struct vhost *v, const struct vhost_ring *r);
/* Stops ring @index and gives the next avail index it would serve. */
int vhost_get_ring_base(struct vhost *v, unsigned int index, uint16_t *base);

/*
 * The call fd of one kernel-served queue when the transport has no irqfd
 * for it (virtio-mmio, INTx): an eventfd of ours on @loop whose callback
 * raises the interrupt through the transport, which sets its interrupt
 * status first. With MSI-X the worker signals KVM's irqfd directly.
 */
struct vhost_call {
	struct virtio_dev *vdev;
	struct evloop *loop;
	unsigned int q;
	int fd;
};

/* -errno after logging; @c->fd is -1 until it succeeds. */
int vhost_call_init(struct vhost_call *c, struct virtio_dev *vdev,
		    unsigned int q, struct evloop *loop);
/* Off the loop (no lock held: evloop_del waits out the callback). */
void vhost_call_stop(struct vhost_call *c);
void vhost_call_close(struct vhost_call *c);

/*
 * Ring @q of @vdev as the driver set it up, for the back-end: our
 * addresses of its three parts (which must lie in RAM: -EFAULT), base 0,
 * kick = the queue's kick eventfd (bound to the transport's ioeventfd),
 * call = the transport's irqfd if it has one, else @c's eventfd.
 * -EINVAL for a queue not ready or packed. Under vdev->lock, at DRIVER_OK.
 */
int vhost_ring_of(struct virtio_dev *vdev, const struct guest_mem *mem,
		  unsigned int q, const struct vhost_call *c,
		  struct vhost_ring *r);

/* VHOST_NET_SET_BACKEND of ring @index: @fd (a tap) or -1 to detach. */
int vhost_net_set_backend(struct vhost *v, unsigned int index, int fd);

#endif
