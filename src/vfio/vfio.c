// SPDX-License-Identifier: GPL-2.0
/*
 * VFIO container, groups and devices (see vfio.h). The kernel's rules:
 * a group can join a container only when every device in it is bound to
 * a VFIO driver or to none ("viable"); the container gets its IOMMU model
 * once it has a group; device fds come from the group.
 */
#include "vfio/vfio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm/memory.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"

#define FAIL(ret, ...)                              \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return ret;                         \
	} while (0)

struct vfio_group {
	int fd;
	int id;
	unsigned int users;
	struct vfio_group *next;
};

/*
 * A container: one IOVA space in the host IOMMU. Without an emulated
 * IOMMU every device shares the VM's one, with all of guest RAM mapped;
 * behind one (a shadow of the guest's tables, vfio/pci.c) each device has
 * its own, mapped as the guest's domain for it says.
 */
struct vfio_container {
	int fd;
	unsigned int users; /* devices open */
	struct vm *vm;
	bool shared; /* guest RAM mapped, any device may join */
	bool iommu_set;
	/* A shared container with its IOMMU set follows guest RAM. */
	struct ram_listener ram;
	char ram_err[192]; /* why add() refused, for the caller */
	struct vfio_group *groups;
	struct vfio_container *next;
};

static pthread_mutex_t vfio_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vfio_container *containers;

/* The basename of @link's target, or NULL. */
static const char *link_name(const char *dir, const char *link, char *buf,
			     size_t len)
{
	char p[PATH_MAX + 64];
	ssize_t n;
	const char *slash;

	if (snprintf(p, sizeof(p), "%s/%s", dir, link) >= (int)sizeof(p))
		return NULL;
	n = readlink(p, buf, len - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	return slash ? slash + 1 : buf;
}

static bool released(const char *driver)
{
	/* What the kernel accepts in a viable group (vfio_dev_driver_allowed). */
	return !driver || !strcmp(driver, "vfio-pci") ||
	       !strcmp(driver, "pci-stub") || !strcmp(driver, "pcieport");
}

int vfio_check_sysfs(const char *path, int *group, char *err, size_t errlen)
{
	char buf[PATH_MAX], dpath[PATH_MAX], blockers[512] = "";
	const char *name, *drv, *g;
	DIR *d;
	struct dirent *e;
	size_t used = 0;
	unsigned int nr_blockers = 0;

	name = strrchr(path, '/');
	name = name ? name + 1 : path;
	if (access(path, F_OK))
		FAIL(-ENODEV,
		     "%s: no such PCI device (a path like "
		     "/sys/bus/pci/devices/0000:01:00.0; see lspci -D)",
		     path);
	drv = link_name(path, "driver", buf, sizeof(buf));
	if (!drv || strcmp(drv, "vfio-pci"))
		FAIL(-EBUSY,
		     "%s is %s%s, not to vfio-pci: modprobe vfio-pci; "
		     "echo vfio-pci > %s/driver_override; %secho %s > "
		     "/sys/bus/pci/drivers_probe",
		     name, drv ? "bound to " : "not bound to a driver",
		     drv ? drv : "", path,
		     drv ? "echo the address > its driver/unbind; " : "", name);
	g = link_name(path, "iommu_group", buf, sizeof(buf));
	if (!g)
		FAIL(-ENXIO,
		     "%s has no IOMMU group: the host has no IOMMU on (boot it "
		     "with intel_iommu=on or amd_iommu=on, and VT-d or AMD-Vi "
		     "enabled in the firmware)",
		     name);
	*group = atoi(g);
	/* Every other device of the group must be released too. */
	snprintf(dpath, sizeof(dpath), "%s/iommu_group/devices", path);
	d = opendir(dpath);
	if (!d)
		return 0; /* the kernel will say when opening the group */
	while ((e = readdir(d))) {
		char dev[PATH_MAX + 256];

		if (e->d_name[0] == '.' || !strcmp(e->d_name, name))
			continue;
		snprintf(dev, sizeof(dev), "%s/%s", dpath, e->d_name);
		drv = link_name(dev, "driver", buf, sizeof(buf));
		if (released(drv))
			continue;
		nr_blockers++;
		if (used < sizeof(blockers))
			used += snprintf(blockers + used,
					 sizeof(blockers) - used, "%s%s (%s)",
					 used ? ", " : "", e->d_name, drv);
	}
	closedir(d);
	if (nr_blockers)
		FAIL(-EBUSY,
		     "IOMMU group %d of %s is not viable: %s %s still bound "
		     "to a host driver; bind %s to vfio-pci or unbind %s too",
		     *group, name, blockers, nr_blockers > 1 ? "are" : "is",
		     nr_blockers > 1 ? "them" : "it",
		     nr_blockers > 1 ? "them" : "it");
	return 0;
}

/* RAM range @r, IOVA = GPA, for the devices' DMA. */
static int map_range(struct vfio_container *c, const struct mem_region *r)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)r->hva,
		.iova = r->gpa,
		.size = r->size,
	};
	int e;

	if (ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &map) == 0)
		return 0;
	e = errno;
	snprintf(c->ram_err, sizeof(c->ram_err),
		 "VFIO cannot map guest RAM %#llx+%#llx for DMA: %s%s",
		 (unsigned long long)r->gpa, (unsigned long long)r->size,
		 strerror(e),
		 e == ENOMEM ? " (the locked-memory limit, ulimit -l, must "
			       "cover guest RAM)" :
			       "");
	return -e;
}

static void unmap_range(struct vfio_container *c, const struct mem_region *r)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = r->gpa,
		.size = r->size,
	};

	if (ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
		pr_warn("VFIO: unmapping guest RAM %#llx: %s",
			(unsigned long long)r->gpa, strerror(errno));
}

/*
 * The ram_listener of a shared container: all of guest RAM first, then
 * each range plugged. No vfio_lock: the container outlives its listening.
 */
static int ram_add(struct ram_listener *l, const struct mem_region *r)
{
	struct vfio_container *c = container_of(l, struct vfio_container, ram);
	struct mem_region all[GUEST_MEM_MAX_RANGES];
	unsigned int n, i;
	int ret = 0;

	if (r) {
		ret = map_range(c, r);
		if (ret)
			pr_err("%s", c->ram_err);
		return ret;
	}
	n = guest_mem_ranges(&c->vm->mem, all);
	for (i = 0; i < n && !ret; i++) {
		ret = map_range(c, &all[i]);
		/*
		 * A device's RAM (a pmem file) may not pin; only DMA to it
		 * fails then, which a guest rarely asks for.
		 */
		if (ret && guest_mem_is_device_ram(&c->vm->mem, &all[i])) {
			pr_warn("%s; passed-through devices cannot reach it",
				c->ram_err);
			ret = 0;
		}
	}
	if (ret)
		while (--i)
			unmap_range(c, &all[i - 1]);
	return ret;
}

static void ram_del(struct ram_listener *l, const struct mem_region *r)
{
	unmap_range(container_of(l, struct vfio_container, ram), r);
}

/* Guest RAM, and what is plugged later, for DMA. vfio_lock held. */
static int map_ram(struct vfio_container *c, char *err, size_t errlen)
{
	int ret;

	c->ram = (struct ram_listener){ .add = ram_add,
					.del = ram_del,
					.pins = true };
	ret = vm_ram_listen(c->vm, &c->ram);
	if (ret)
		FAIL(ret, "%s", c->ram_err);
	return 0;
}

/* A new container for @vm. vfio_lock held. */
static struct vfio_container *container_new(struct vm *vm, bool shared,
					    char *err, size_t errlen)
{
	struct vfio_container *c;
	int fd, api;

	fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen,
			 "cannot open /dev/vfio/vfio: %s (modprobe vfio-pci; "
			 "root or access to /dev/vfio is needed)",
			 strerror(e));
		return NULL;
	}
	api = ioctl(fd, VFIO_GET_API_VERSION);
	if (api != VFIO_API_VERSION ||
	    ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		close(fd);
		snprintf(err, errlen,
			 "the host's VFIO has no type1 v2 IOMMU (API %d)", api);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->fd = fd;
	c->vm = vm;
	c->shared = shared;
	c->next = containers;
	containers = c;
	return c;
}

/* The group @id if some container has it open. vfio_lock held. */
static struct vfio_group *group_find(int id, struct vfio_container **in)
{
	for (struct vfio_container *c = containers; c; c = c->next)
		for (struct vfio_group *g = c->groups; g; g = g->next)
			if (g->id == id) {
				*in = c;
				return g;
			}
	return NULL;
}

static void container_put(struct vfio_container *c)
{
	struct vfio_container **pp;

	if (--c->users)
		return;
	if (c->shared && c->iommu_set)
		vm_ram_unlisten(c->vm, &c->ram);
	/* Closing the container unmaps and unpins all it mapped. */
	while (c->groups) {
		struct vfio_group *g = c->groups;

		c->groups = g->next;
		ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
		close(g->fd);
		free(g);
	}
	close(c->fd);
	for (pp = &containers; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c);
}

/* vfio_lock held; opens group @id into @c. */
static struct vfio_group *group_open(struct vfio_container *c, int id,
				     char *err, size_t errlen)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_group *g;
	char p[64];
	int fd, e;

	snprintf(p, sizeof(p), "/dev/vfio/%d", id);
	fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == EACCES || e == EPERM)
			snprintf(err, errlen,
				 "no permission to open %s: run devisor as "
				 "root or give its user that file",
				 p);
		else if (e == EBUSY)
			snprintf(err, errlen,
				 "%s is busy: another process (a VMM?) has "
				 "the group open",
				 p);
		else
			snprintf(err, errlen, "cannot open %s: %s", p,
				 strerror(e));
		return NULL;
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0 ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		snprintf(err, errlen,
			 "IOMMU group %d is not viable: a device in "
			 "/sys/kernel/iommu_groups/%d/devices is still bound "
			 "to a host driver",
			 id, id);
		close(fd);
		return NULL;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &c->fd) < 0) {
		snprintf(err, errlen, "VFIO: IOMMU group %d: %s", id,
			 strerror(errno));
		close(fd);
		return NULL;
	}
	if (!c->iommu_set) {
		if (ioctl(c->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
			snprintf(err, errlen, "VFIO_SET_IOMMU (type1 v2): %s",
				 strerror(errno));
			goto fail;
		}
		c->iommu_set = true;
		if (c->shared && map_ram(c, err, errlen)) {
			c->iommu_set = false;
			goto fail;
		}
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	g->fd = fd;
	g->id = id;
	g->users = 1;
	g->next = c->groups;
	c->groups = g;
	return g;
fail:
	ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
	close(fd);
	return NULL;
}

/*
 * The group for a device of @vm, with its container: a group already open
 * is shared (and must be in the right kind of container); else the VM's
 * shared container, or a new one of the device's own.
 */
static struct vfio_group *group_get(struct vm *vm, int id, bool own,
				    struct vfio_container **out, char *err,
				    size_t errlen)
{
	struct vfio_container *c = NULL;
	struct vfio_group *g = group_find(id, &c);

	if (g) {
		if (own || !c->shared || c->vm != vm) {
			snprintf(
				err, errlen,
				"IOMMU group %d is already in use by another "
				"--device%s",
				id,
				own ? "; behind --iommu vtd each passed-"
				      "through device needs a group of its own" :
				      "");
			return NULL;
		}
		g->users++;
		c->users++;
		*out = c;
		return g;
	}
	if (!own)
		for (c = containers; c; c = c->next)
			if (c->shared && c->vm == vm)
				break;
	if (!c) {
		c = container_new(vm, !own, err, errlen);
		if (!c)
			return NULL;
	}
	c->users++;
	g = group_open(c, id, err, errlen);
	if (!g) {
		container_put(c);
		return NULL;
	}
	*out = c;
	return g;
}

static void group_put(struct vfio_container *c, struct vfio_group *g)
{
	struct vfio_group **pp;

	if (!--g->users) {
		for (pp = &c->groups; *pp; pp = &(*pp)->next)
			if (*pp == g) {
				*pp = g->next;
				break;
			}
		ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
		close(g->fd);
		free(g);
	}
	container_put(c);
}

/* The mmappable areas of a region: the sparse-mmap capability or all. */
static void region_areas(struct vfio_region *r,
			 const struct vfio_region_info *info)
{
	const struct vfio_info_cap_header *h;
	uint32_t off;

	r->nr_areas = 0;
	if (!(info->flags & VFIO_REGION_INFO_FLAG_MMAP) || !info->size)
		return;
	if (info->flags & VFIO_REGION_INFO_FLAG_CAPS) {
		for (off = info->cap_offset; off && off < info->argsz;
		     off = h->next) {
			const struct vfio_region_info_cap_sparse_mmap *s;

			if (off + sizeof(*h) > info->argsz)
				break;
			h = (const void *)((const char *)info + off);
			if (h->id != VFIO_REGION_INFO_CAP_SPARSE_MMAP)
				continue;
			s = (const void *)h;
			if (off + sizeof(*s) > info->argsz)
				break;
			for (uint32_t i = 0;
			     i < s->nr_areas && r->nr_areas < VFIO_MAX_AREAS;
			     i++) {
				if (off + sizeof(*s) +
					    (i + 1) * sizeof(s->areas[0]) >
				    info->argsz)
					break;
				if (!s->areas[i].size)
					continue;
				r->areas[r->nr_areas].offset =
					s->areas[i].offset;
				r->areas[r->nr_areas++].size = s->areas[i].size;
			}
			return;
		}
	}
	r->areas[0].offset = 0;
	r->areas[0].size = info->size;
	r->nr_areas = 1;
}

static int get_region(struct vfio_device *vd, unsigned int idx)
{
	struct vfio_region_info *info;
	size_t sz = sizeof(*info);

	for (int pass = 0; pass < 2; pass++) {
		info = calloc(1, sz);
		if (!info)
			return -ENOMEM;
		info->argsz = sz;
		info->index = idx;
		if (ioctl(vd->fd, VFIO_DEVICE_GET_REGION_INFO, info) < 0) {
			int e = errno;

			free(info);
			/* A region the device lacks (no VGA) is empty. */
			return e == EINVAL ? 0 : -e;
		}
		if (info->argsz > sz && pass == 0 && info->argsz < 65536) {
			sz = info->argsz;
			free(info);
			continue;
		}
		break;
	}
	vd->regions[idx].flags = info->flags;
	vd->regions[idx].size = info->size;
	vd->regions[idx].offset = info->offset;
	region_areas(&vd->regions[idx], info);
	free(info);
	return 0;
}

int vfio_device_open(struct vm *vm, const char *path, bool own_container,
		     struct vfio_device *vd, char *err, size_t errlen)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	const char *name;
	int group, ret;

	memset(vd, 0, sizeof(*vd));
	vd->fd = -1;
	ret = vfio_check_sysfs(path, &group, err, errlen);
	if (ret)
		return ret;
	name = strrchr(path, '/');
	name = name ? name + 1 : path;
	if (strlen(name) >= sizeof(vd->name))
		FAIL(-EINVAL, "%s: not a PCI address", name);
	strcpy(vd->name, name);

	pthread_mutex_lock(&vfio_lock);
	vd->group = group_get(vm, group, own_container, &vd->container, err,
			      errlen);
	if (!vd->group) {
		pthread_mutex_unlock(&vfio_lock);
		return -EIO;
	}
	vd->fd = ioctl(vd->group->fd, VFIO_GROUP_GET_DEVICE_FD, vd->name);
	if (vd->fd < 0) {
		snprintf(err, errlen, "VFIO: cannot get device %s: %s",
			 vd->name, strerror(errno));
		goto fail;
	}
	if (ioctl(vd->fd, VFIO_DEVICE_GET_INFO, &info) < 0 ||
	    !(info.flags & VFIO_DEVICE_FLAGS_PCI)) {
		snprintf(err, errlen, "VFIO: %s is not a PCI device", vd->name);
		goto fail;
	}
	vd->flags = info.flags;
	vd->nr_regions = info.num_regions < VFIO_PCI_NUM_REGIONS ?
				 info.num_regions :
				 VFIO_PCI_NUM_REGIONS;
	for (unsigned int i = 0; i < vd->nr_regions; i++) {
		ret = get_region(vd, i);
		if (ret) {
			snprintf(err, errlen, "VFIO: %s region %u: %s",
				 vd->name, i, strerror(-ret));
			goto fail;
		}
	}
	for (unsigned int i = 0; i < VFIO_PCI_NUM_IRQS && i < info.num_irqs;
	     i++) {
		struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = i };

		if (ioctl(vd->fd, VFIO_DEVICE_GET_IRQ_INFO, &irq) == 0 &&
		    irq.flags & VFIO_IRQ_INFO_EVENTFD)
			vd->irq_count[i] = irq.count;
	}
	pthread_mutex_unlock(&vfio_lock);
	return 0;
fail:
	if (vd->fd >= 0)
		close(vd->fd);
	vd->fd = -1;
	group_put(vd->container, vd->group);
	vd->group = NULL;
	vd->container = NULL;
	pthread_mutex_unlock(&vfio_lock);
	return -EIO;
}

void vfio_device_close(struct vfio_device *vd)
{
	if (vd->fd < 0)
		return;
	close(vd->fd);
	vd->fd = -1;
	if (!vd->group)
		return; /* a test's device */
	pthread_mutex_lock(&vfio_lock);
	group_put(vd->container, vd->group);
	vd->group = NULL;
	vd->container = NULL;
	pthread_mutex_unlock(&vfio_lock);
}

int vfio_dma_map(struct vfio_device *vd, uint64_t iova, uint64_t size,
		 void *hva, bool readable, bool writable)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = (readable ? VFIO_DMA_MAP_FLAG_READ : 0) |
			 (writable ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = (uintptr_t)hva,
		.iova = iova,
		.size = size,
	};

	if (!vd->container)
		return -ENODEV;
	return ioctl(vd->container->fd, VFIO_IOMMU_MAP_DMA, &map) < 0 ? -errno :
									0;
}

int vfio_dma_unmap(struct vfio_device *vd, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};

	if (!vd->container)
		return -ENODEV;
	return ioctl(vd->container->fd, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0 ?
		       -errno :
		       0;
}

static int region_check(struct vfio_device *vd, unsigned int idx, uint64_t off,
			size_t len)
{
	const struct vfio_region *r;

	if (idx >= vd->nr_regions)
		return -EINVAL;
	r = &vd->regions[idx];
	if (off > r->size || len > r->size - off)
		return -EINVAL;
	return 0;
}

int vfio_region_read(struct vfio_device *vd, unsigned int idx, uint64_t off,
		     void *buf, size_t len)
{
	ssize_t n;
	int ret = region_check(vd, idx, off, len);

	if (ret)
		return ret;
	n = pread(vd->fd, buf, len, vd->regions[idx].offset + off);
	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

int vfio_region_write(struct vfio_device *vd, unsigned int idx, uint64_t off,
		      const void *buf, size_t len)
{
	ssize_t n;
	int ret = region_check(vd, idx, off, len);

	if (ret)
		return ret;
	n = pwrite(vd->fd, buf, len, vd->regions[idx].offset + off);
	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

int vfio_irq_set_eventfds(struct vfio_device *vd, unsigned int index,
			  unsigned int start, unsigned int count,
			  const int *fds)
{
	size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
	struct vfio_irq_set *set = calloc(1, sz);
	int ret = 0;

	if (!set)
		return -ENOMEM;
	set->argsz = sz;
	set->index = index;
	set->start = start;
	set->count = count;
	set->flags =
		VFIO_IRQ_SET_ACTION_TRIGGER |
		(count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	for (unsigned int i = 0; i < count; i++)
		((int32_t *)set->data)[i] = fds[i];
	if (ioctl(vd->fd, VFIO_DEVICE_SET_IRQS, set) < 0)
		ret = -errno;
	free(set);
	return ret;
}

int vfio_irq_set_unmask_fd(struct vfio_device *vd, unsigned int index, int fd)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (void *)buf;

	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(buf);
	set->index = index;
	set->start = 0;
	set->count = 1;
	set->flags = VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_DATA_EVENTFD;
	memcpy(set->data, &fd, sizeof(int32_t));
	return ioctl(vd->fd, VFIO_DEVICE_SET_IRQS, set) < 0 ? -errno : 0;
}

int vfio_device_reset(struct vfio_device *vd)
{
	if (!(vd->flags & VFIO_DEVICE_FLAGS_RESET))
		return -ENOTTY;
	return ioctl(vd->fd, VFIO_DEVICE_RESET) < 0 ? -errno : 0;
}
