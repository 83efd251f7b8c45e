// SPDX-License-Identifier: GPL-2.0
#include "vhost/vhost.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm/memory.h"
#include "util/log.h"

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
	struct vhost_memory *t;
	int ret;

	t = calloc(1, sizeof(*t) + mem->nr * sizeof(t->regions[0]));
	if (!t)
		return -ENOMEM;
	t->nregions = mem->nr;
	for (unsigned int i = 0; i < mem->nr; i++)
		t->regions[i] = (struct vhost_memory_region){
			.guest_phys_addr = mem->regions[i].gpa,
			.memory_size = mem->regions[i].size,
			.userspace_addr = (uintptr_t)mem->regions[i].hva,
		};
	ret = vioctl(v, VHOST_SET_MEM_TABLE, t, "VHOST_SET_MEM_TABLE");
	free(t);
	return ret;
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
