// SPDX-License-Identifier: GPL-2.0
/* virtio-pmem; see virtio/pmem.h. */
#include "virtio/pmem.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/vm.h"
#include "util/log.h"
#include "virtio/virtio.h"

#define PMEM_QUEUE_SIZE 64
/* Flushes per notification; the rest waits for our own kick. */
#define PMEM_BUDGET 16
#define PMEM_REQ_FLUSH 0
#define PMEM_RESP_OK 0
#define PMEM_RESP_EIO 1

struct virtio_pmem {
	struct virtio_dev vdev;
	struct virtqueue vq;
	struct virtq_seg segs[PMEM_QUEUE_SIZE];
	uint8_t config[16]; /* le64 start, le64 size */
	struct vm *vm;
	int fd;
	uint8_t *map;
	uint64_t size, gpa;
	bool discard;
	int slot;
	bool flushed; /* told once, at the first flush */
};

static struct virtio_pmem *to_pmem(struct virtio_dev *vdev)
{
	return (struct virtio_pmem *)vdev;
}

/* A request: le32 type readable, le32 ret writable. */
static int64_t serve(struct virtio_dev *vdev, struct virtq_chain *c)
{
	struct virtio_pmem *p = to_pmem(vdev);
	uint32_t type, ret = PMEM_RESP_OK;

	if (virtq_chain_read(&vdev->dma, c, 0, &type, sizeof(type)))
		return -EINVAL;
	if (le32toh(type) != PMEM_REQ_FLUSH) {
		pr_warn_ratelimited("%s: request type %u is not a flush",
				    vdev->name, le32toh(type));
		ret = PMEM_RESP_EIO;
	} else if (!p->discard && fdatasync(p->fd) < 0) {
		pr_warn_ratelimited("%s: flush: %s", vdev->name,
				    strerror(errno));
		ret = PMEM_RESP_EIO;
	} else if (!p->flushed) {
		p->flushed = true;
		pr_info("virtio-pmem: %#llx+%llu MiB flushed (%s)",
			(unsigned long long)p->gpa,
			(unsigned long long)(p->size >> 20),
			p->discard ? "writes discarded" : "fdatasync");
	}
	ret = htole32(ret);
	if (virtq_chain_write(&vdev->dma, c, 0, &ret, sizeof(ret)))
		return -EINVAL;
	return sizeof(ret);
}

static void pmem_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_pmem *p = to_pmem(vdev);
	struct virtq_chain c = VIRTQ_CHAIN_INIT(p->segs);

	virtio_dev_serve_queue(vdev, q, &c, PMEM_BUDGET, serve,
			       "request queue");
}

static void pmem_destroy(struct virtio_dev *vdev)
{
	struct virtio_pmem *p = to_pmem(vdev);

	/* With the VM: its vCPUs are gone; no DMA finds the range first. */
	guest_mem_remove_device_ram(&p->vm->mem, p->gpa);
	if (p->slot >= 0)
		vm_unmap_device_memory(p->vm, p->slot);
	munmap(p->map, p->size);
	close(p->fd);
	free(p);
}

static const struct virtio_dev_ops pmem_ops = {
	.queue_notify = pmem_queue_notify,
	.destroy = pmem_destroy,
};

/* The size of the file @st describes as a pmem range, or 0 and why. */
static uint64_t size_of(const struct stat *st, const char *path, char *err,
			size_t errlen)
{
	if (!S_ISREG(st->st_mode) || !st->st_size ||
	    st->st_size % VIRTIO_PMEM_ALIGN) {
		snprintf(err, errlen,
			 "pmem file %s is %lld bytes: it must be a regular "
			 "file of a whole number of 2 MiB",
			 path, (long long)st->st_size);
		return 0;
	}
	return st->st_size;
}

uint64_t virtio_pmem_file_size(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "cannot use pmem file %s: %s", path,
			 strerror(errno));
		return 0;
	}
	return size_of(&st, path, err, errlen);
}

uint64_t virtio_pmem_check(const char *path, uint64_t size, char *err,
			   size_t errlen)
{
	uint64_t have = virtio_pmem_file_size(path, err, errlen);

	if (have && size && size != have) {
		snprintf(err, errlen,
			 "pmem file %s is %llu bytes, not the %llu asked for "
			 "(devisor does not resize it)",
			 path, (unsigned long long)have,
			 (unsigned long long)size);
		return 0;
	}
	return have;
}

uint64_t virtio_pmem_lowest_free(const struct guest_mem *mem, uint64_t from,
				 uint64_t size, uint64_t align, uint64_t limit)
{
	for (;;) {
		uint64_t gpa = (from + align - 1) & ~(align - 1);

		if (gpa < from || size > limit || gpa > limit - size)
			return 0;
		if (!guest_mem_overlaps(mem, gpa, size))
			return gpa;
		from = gpa + size;
	}
}

struct virtio_dev *virtio_pmem_create(struct vm *vm, const char *path,
				      bool discard_writes,
				      virtio_pmem_place_fn *place, void *opaque)
{
	struct virtio_pmem *p = calloc(1, sizeof(*p));
	char err[256];
	struct stat st;
	uint64_t v, gpa;
	int e;

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	p->fd = -1;
	p->slot = -1;
	p->map = MAP_FAILED;
	p->vm = vm;
	p->discard = discard_writes;
	/*
	 * Written back unless discard_writes: then read only is enough.
	 * Sized by the fd it maps, so a file swapped meanwhile is not.
	 */
	p->fd = open(path, (discard_writes ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (p->fd < 0 || fstat(p->fd, &st) < 0) {
		e = errno;
		pr_err("cannot open pmem file %s: %s", path, strerror(e));
		goto fail;
	}
	p->size = size_of(&st, path, err, sizeof(err));
	if (!p->size) {
		pr_err("%s", err);
		e = EINVAL;
		goto fail;
	}
	gpa = place(opaque, p->size);
	if (!gpa) {
		pr_err("pmem file %s: no room for %llu MiB in guest-physical "
		       "space on this board",
		       path, (unsigned long long)(p->size >> 20));
		e = ENOSPC;
		goto fail;
	}
	if (gpa % VIRTIO_PMEM_ALIGN) {
		pr_err("virtio-pmem: guest address %#llx is not 2 MiB aligned",
		       (unsigned long long)gpa);
		e = EINVAL;
		goto fail;
	}
	p->map = mmap(NULL, p->size, PROT_READ | PROT_WRITE,
		      discard_writes ? MAP_PRIVATE : MAP_SHARED, p->fd, 0);
	if (p->map == MAP_FAILED) {
		e = errno;
		pr_err("cannot map pmem file %s: %s", path, strerror(e));
		goto fail;
	}
	madvise(p->map, p->size, MADV_DONTDUMP);
	if (vm->vm_fd >= 0) {
		p->slot = vm_map_device_memory(vm, gpa, p->size, p->map);
		if (p->slot < 0) {
			e = -p->slot;
			pr_err("cannot map pmem file %s into the guest: %s",
			       path, strerror(e));
			goto fail;
		}
	}
	if (vm->mem.nr_dev_ram == GUEST_MEM_MAX_DEV_RAM) {
		pr_err("pmem file %s: at most %d device memory ranges", path,
		       GUEST_MEM_MAX_DEV_RAM);
		e = ENOSPC;
		goto fail;
	}
	if (virtio_dev_init(&p->vdev, "virtio-pmem", VIRTIO_ID_PMEM, &pmem_ops,
			    &p->vq, 1, PMEM_QUEUE_SIZE, &vm->mem)) {
		e = ENOMEM;
		goto fail;
	}
	/* Nothing fails after this: the range stays as long as the device. */
	guest_mem_add_device_ram(&vm->mem, gpa, p->size, p->map);
	p->gpa = gpa;
	v = htole64(gpa);
	memcpy(p->config, &v, 8);
	v = htole64(p->size);
	memcpy(p->config + 8, &v, 8);
	p->vdev.config = p->config;
	p->vdev.config_len = sizeof(p->config);
	pr_info("virtio-pmem: %s (%llu MiB%s) at %#llx", path,
		(unsigned long long)(p->size >> 20),
		discard_writes ? ", writes discarded" : "",
		(unsigned long long)gpa);
	return &p->vdev;
fail:
	if (p->slot >= 0)
		vm_unmap_device_memory(vm, p->slot);
	if (p->map != MAP_FAILED)
		munmap(p->map, p->size);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
	errno = e;
	return NULL;
}
