// SPDX-License-Identifier: GPL-2.0
#include "vhost/vhost.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm/memory.h"
#include "util/common.h"
#include "util/evloop.h"
#include "util/log.h"
#include "virtio/virtio.h"

static int vioctl(struct vhost *v, unsigned long req, void *arg,
		  const char *what)
{
	int err;

	if (ioctl(v->fd, req, arg) == 0)
		return 0;
	err = errno;
	pr_err("%s: %s: %s", v->name, what, strerror(err));
	return -err;
}

int vhost_open(struct vhost *v, const char *path, const char *module,
	       const char *name)
{
	int err;

	v->name = name;
	v->fd = open(path, O_RDWR | O_CLOEXEC);
	if (v->fd < 0) {
		err = -errno;
		if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
			pr_err("%s: no %s: is the %s kernel module loaded "
			       "(modprobe %s)?",
			       name, path, module, module);
		else
			pr_err("%s: cannot open %s: %s", name, path,
			       strerror(errno));
		return err;
	}
	err = vioctl(v, VHOST_SET_OWNER, NULL, "VHOST_SET_OWNER");
	if (err)
		vhost_close(v);
	return err;
}

void vhost_close(struct vhost *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}

int vhost_get_features(struct vhost *v, uint64_t *features)
{
	return vioctl(v, VHOST_GET_FEATURES, features, "VHOST_GET_FEATURES");
}

int vhost_set_features(struct vhost *v, uint64_t features)
{
	return vioctl(v, VHOST_SET_FEATURES, &features, "VHOST_SET_FEATURES");
}

int vhost_set_mem_table(struct vhost *v, const struct guest_mem *mem)
{
	struct mem_region r[GUEST_MEM_MAX_RANGES];
	unsigned int n = guest_mem_ranges(mem, r);
	struct vhost_memory *t;
	int ret;

	t = calloc(1, sizeof(*t) + n * sizeof(t->regions[0]));
	if (!t)
		return -ENOMEM;
	t->nregions = n;
	for (unsigned int i = 0; i < n; i++)
		t->regions[i] = (struct vhost_memory_region){
			.guest_phys_addr = r[i].gpa,
			.memory_size = r[i].size,
			.userspace_addr = (uintptr_t)r[i].hva,
		};
	ret = vioctl(v, VHOST_SET_MEM_TABLE, t, "VHOST_SET_MEM_TABLE");
	free(t);
	return ret;
}

/*
 * The back-end's table follows plugged RAM. Under the device's lock, which
 * orders a change after activation's first table: vm_plug_ram() publishes
 * the range before it tells us, so a table sent after that has it.
 */
static int ram_changed(struct vhost_ram *vr)
{
	int ret;

	pthread_mutex_lock(&vr->vdev->lock);
	ret = vr->set_table(vr->vdev);
	pthread_mutex_unlock(&vr->vdev->lock);
	return ret;
}

static int ram_add(struct ram_listener *l, const struct mem_region *r)
{
	/* The first call: nothing runs yet; activation sends the table. */
	return r ? ram_changed(container_of(l, struct vhost_ram, l)) : 0;
}

static void ram_del(struct ram_listener *l, const struct mem_region *r)
{
	ram_changed(container_of(l, struct vhost_ram, l));
}

void vhost_ram_follow(struct vhost_ram *vr, struct vm *vm,
		      struct virtio_dev *vdev,
		      int (*set_table)(struct virtio_dev *vdev))
{
	*vr = (struct vhost_ram){ .l = { .add = ram_add, .del = ram_del },
				  .vm = vm,
				  .vdev = vdev,
				  .set_table = set_table };
	/* add(NULL) does nothing, so this cannot fail. */
	vm_ram_listen(vm, &vr->l);
}

void vhost_ram_unfollow(struct vhost_ram *vr)
{
	if (vr->vm)
		vm_ram_unlisten(vr->vm, &vr->l);
	vr->vm = NULL;
}

int vhost_set_ring(struct vhost *v, const struct vhost_ring *r)
{
	struct vhost_vring_state num = { .index = r->index, .num = r->num };
	struct vhost_vring_state base = { .index = r->index, .num = r->base };
	struct vhost_vring_addr addr = {
		.index = r->index,
		.desc_user_addr = (uintptr_t)r->desc,
		.avail_user_addr = (uintptr_t)r->avail,
		.used_user_addr = (uintptr_t)r->used,
	};
	struct vhost_vring_file kick = { .index = r->index, .fd = r->kick_fd };
	struct vhost_vring_file call = { .index = r->index, .fd = r->call_fd };

	int ret;

	ret = vioctl(v, VHOST_SET_VRING_NUM, &num, "VHOST_SET_VRING_NUM");
	if (!ret)
		ret = vioctl(v, VHOST_SET_VRING_BASE, &base,
			     "VHOST_SET_VRING_BASE");
	if (!ret)
		ret = vioctl(v, VHOST_SET_VRING_ADDR, &addr,
			     "VHOST_SET_VRING_ADDR");
	if (!ret)
		ret = vioctl(v, VHOST_SET_VRING_KICK, &kick,
			     "VHOST_SET_VRING_KICK");
	if (!ret)
		ret = vioctl(v, VHOST_SET_VRING_CALL, &call,
			     "VHOST_SET_VRING_CALL");
	return ret;
}

int vhost_get_ring_base(struct vhost *v, unsigned int index, uint16_t *base)
{
	struct vhost_vring_state s = { .index = index };
	int ret = vioctl(v, VHOST_GET_VRING_BASE, &s, "VHOST_GET_VRING_BASE");

	if (!ret)
		*base = (uint16_t)s.num;
	return ret;
}

int vhost_net_set_backend(struct vhost *v, unsigned int index, int fd)
{
	struct vhost_vring_file f = { .index = index, .fd = fd };

	return vioctl(v, VHOST_NET_SET_BACKEND, &f, "VHOST_NET_SET_BACKEND");
}

/*
 * The back-end used buffers of queue c->q: raise its interrupt. It
 * already applied the driver's suppression (EVENT_IDX, NO_INTERRUPT).
 */
static void call_cb(void *opaque, uint32_t events)
{
	struct vhost_call *c = opaque;
	struct virtio_dev *vdev = c->vdev;
	uint64_t n;

	if (read(c->fd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&vdev->lock);
	if (virtio_dev_running(vdev) && vdev->tops)
		vdev->tops->notify_queue(vdev, c->q);
	pthread_mutex_unlock(&vdev->lock);
}

int vhost_call_init(struct vhost_call *c, struct virtio_dev *vdev,
		    unsigned int q, struct evloop *loop)
{
	int err;

	*c = (struct vhost_call){ .vdev = vdev, .loop = loop, .q = q };
	c->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->fd < 0) {
		err = -errno;
		pr_err("%s: call eventfd: %s", vdev->name, strerror(errno));
		return err;
	}
	err = evloop_add(loop, c->fd, EPOLLIN, call_cb, c);
	if (err) {
		pr_err("%s: cannot poll its call eventfd: %s", vdev->name,
		       strerror(-err));
		close(c->fd);
		c->fd = -1;
	}
	return err;
}

void vhost_call_stop(struct vhost_call *c)
{
	if (c->fd >= 0 && c->loop)
		evloop_del(c->loop, c->fd);
	c->loop = NULL;
}

void vhost_call_close(struct vhost_call *c)
{
	vhost_call_stop(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int vhost_ring_of(struct virtio_dev *vdev, const struct guest_mem *mem,
		  unsigned int q, const struct vhost_call *c,
		  struct vhost_ring *r)
{
	struct virtqueue *vq = &vdev->vqs[q];
	uint64_t n = vq->size;
	int irqfd;

	if (!vq->ready || vq->packed || !n)
		return -EINVAL;
	irqfd = virtio_dev_queue_irqfd(vdev, q);
	*r = (struct vhost_ring){
		.index = q,
		.num = vq->size,
		.kick_fd = virtio_dev_kick_fd(vdev, q),
		/* KVM's irqfd when the transport has one (MSI-X): no trip
		 * through devisor per interrupt. */
		.call_fd = irqfd >= 0 ? irqfd : c->fd,
	};
	/* The back-end wants our addresses of the rings, in RAM. */
	r->desc = gpa_to_hva(mem, vq->desc_gpa, 16 * n);
	r->avail = gpa_to_hva(mem, vq->driver_gpa, 6 + 2 * n);
	r->used = gpa_to_hva(mem, vq->device_gpa, 6 + 8 * n);
	if (!r->desc || !r->avail || !r->used)
		return -EFAULT;
	return 0;
}
