// SPDX-License-Identifier: GPL-2.0
/* virtio-mem; see virtio/mem.h. */
#include "virtio/mem.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_mem.h>

#include "kvm/memory.h"
#include "kvm/vm.h"
#include "util/log.h"
#include "virtio/virtio.h"

#define MEM_QUEUE_SIZE 128
/* Requests per notification; the rest waits for our own kick. */
#define MEM_BUDGET 32

struct virtio_mem {
	struct virtio_dev vdev;
	struct virtqueue vq;
	struct virtq_seg segs[MEM_QUEUE_SIZE];
	struct virtio_mem_config config; /* device lock */
	struct vm *vm;
	uint64_t gpa, size, nr_blocks;
	uint8_t *hva;
	uint64_t *plugged; /* a bit per block; device lock */
	uint64_t nr_plugged;
	uint64_t discarded; /* bytes given back to the host so far */
	bool told_pinned;
};

static struct virtio_mem *to_mem(struct virtio_dev *vdev)
{
	return (struct virtio_mem *)vdev;
}

static bool is_plugged(const struct virtio_mem *m, uint64_t b)
{
	return m->plugged[b / 64] & (1ull << (b % 64));
}

static void set_plugged(struct virtio_mem *m, uint64_t b, bool on)
{
	if (on)
		m->plugged[b / 64] |= 1ull << (b % 64);
	else
		m->plugged[b / 64] &= ~(1ull << (b % 64));
}

/* How many of blocks [first, first + n) are plugged. */
static uint64_t count_plugged(const struct virtio_mem *m, uint64_t first,
			      uint64_t n)
{
	uint64_t c = 0;

	for (uint64_t b = first; b < first + n; b++)
		c += is_plugged(m, b);
	return c;
}

/* plugged_size changes without a configuration change (spec 5.15.4). */
static void publish_plugged(struct virtio_mem *m)
{
	m->config.plugged_size = htole64(m->nr_plugged * VIRTIO_MEM_BLOCK);
	virtio_dev_state_changed(&m->vdev);
}

/* Blocks [first, first + n) back to the host: the guest let go of them. */
static void discard(struct virtio_mem *m, uint64_t first, uint64_t n)
{
	int ret = vm_discard_ram(m->vm, m->hva + first * VIRTIO_MEM_BLOCK,
				 n * VIRTIO_MEM_BLOCK);

	if (!ret)
		m->discarded += n * VIRTIO_MEM_BLOCK;
	if (ret == -EBUSY && !m->told_pinned) {
		m->told_pinned = true;
		pr_warn("%s: guest RAM is pinned for a passed-through device: "
			"unplugged blocks stay in host memory",
			m->vdev.name);
	} else if (ret < 0 && ret != -EBUSY) {
		pr_warn_ratelimited(
			"%s: cannot free %llu MiB: %s", m->vdev.name,
			(unsigned long long)(n * VIRTIO_MEM_BLOCK >> 20),
			strerror(-ret));
	}
}

/*
 * The block range of a request, or false: not block aligned, empty, or
 * not wholly inside the region (the usable region is all of it).
 */
static bool range_of(const struct virtio_mem *m, uint64_t addr, uint16_t nb,
		     uint64_t *first)
{
	uint64_t off = addr - m->gpa;

	if (!nb || addr < m->gpa || addr % VIRTIO_MEM_BLOCK || off >= m->size)
		return false;
	*first = off / VIRTIO_MEM_BLOCK;
	return nb <= m->nr_blocks - *first;
}

/* One request; its response type, and *@state for a STATE request. */
static uint16_t handle(struct virtio_mem *m, const struct virtio_mem_req *req,
		       uint16_t *state)
{
	uint64_t requested = le64toh(m->config.requested_size);
	uint64_t addr = le64toh(req->u.plug.addr), first, n, c;
	uint16_t nb = le16toh(req->u.plug.nb_blocks);

	switch (le16toh(req->type)) {
	case VIRTIO_MEM_REQ_PLUG:
		if (!range_of(m, addr, nb, &first))
			return VIRTIO_MEM_RESP_ERROR;
		if ((m->nr_plugged + nb) * VIRTIO_MEM_BLOCK > requested)
			return VIRTIO_MEM_RESP_NACK;
		if (count_plugged(m, first, nb))
			return VIRTIO_MEM_RESP_ERROR;
		for (uint64_t b = first; b < first + nb; b++)
			set_plugged(m, b, true);
		m->nr_plugged += nb;
		publish_plugged(m);
		return VIRTIO_MEM_RESP_ACK;
	case VIRTIO_MEM_REQ_UNPLUG:
		if (!range_of(m, addr, nb, &first) ||
		    count_plugged(m, first, nb) != nb)
			return VIRTIO_MEM_RESP_ERROR;
		discard(m, first, nb);
		for (uint64_t b = first; b < first + nb; b++)
			set_plugged(m, b, false);
		m->nr_plugged -= nb;
		publish_plugged(m);
		return VIRTIO_MEM_RESP_ACK;
	case VIRTIO_MEM_REQ_UNPLUG_ALL:
		/* Runs of plugged blocks, each given back in one call. */
		for (uint64_t b = 0; b < m->nr_blocks; b += n ? n : 1) {
			for (n = 0;
			     b + n < m->nr_blocks && is_plugged(m, b + n); n++)
				set_plugged(m, b + n, false);
			if (n)
				discard(m, b, n);
		}
		m->nr_plugged = 0;
		publish_plugged(m);
		return VIRTIO_MEM_RESP_ACK;
	case VIRTIO_MEM_REQ_STATE:
		if (!range_of(m, addr, nb, &first))
			return VIRTIO_MEM_RESP_ERROR;
		c = count_plugged(m, first, nb);
		*state = c == nb ? VIRTIO_MEM_STATE_PLUGGED :
			 !c	 ? VIRTIO_MEM_STATE_UNPLUGGED :
				   VIRTIO_MEM_STATE_MIXED;
		return VIRTIO_MEM_RESP_ACK;
	default:
		pr_warn_ratelimited("%s: unknown request type %u", m->vdev.name,
				    le16toh(req->type));
		return VIRTIO_MEM_RESP_ERROR;
	}
}

/* A request: virtio_mem_req readable, virtio_mem_resp writable. */
static int64_t serve(struct virtio_dev *vdev, struct virtq_chain *c)
{
	struct virtio_mem *m = to_mem(vdev);
	struct virtio_mem_req req;
	struct virtio_mem_resp resp;
	uint16_t state = 0;

	if (virtq_chain_read(&vdev->dma, c, 0, &req, sizeof(req)))
		return -EINVAL;
	memset(&resp, 0, sizeof(resp));
	resp.type = htole16(handle(m, &req, &state));
	resp.u.state.state = htole16(state);
	if (virtq_chain_write(&vdev->dma, c, 0, &resp, sizeof(resp)))
		return -EINVAL;
	return sizeof(resp);
}

static void mem_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_mem *m = to_mem(vdev);
	struct virtq_chain c = VIRTQ_CHAIN_INIT(m->segs);

	virtio_dev_serve_queue(vdev, q, &c, MEM_BUDGET, serve,
			       "guest-request queue");
}

/* vm.counters: what the guest has plugged and what it is asked for. */
static void
mem_counters(struct virtio_dev *vdev,
	     void (*fn)(void *arg, const char *name, uint64_t value), void *arg)
{
	struct virtio_mem *m = to_mem(vdev);

	fn(arg, "plugged_bytes", m->nr_plugged * VIRTIO_MEM_BLOCK);
	fn(arg, "requested_bytes", le64toh(m->config.requested_size));
	fn(arg, "region_bytes", m->size);
	fn(arg, "discarded_bytes", m->discarded);
}

static void mem_destroy(struct virtio_dev *vdev)
{
	struct virtio_mem *m = to_mem(vdev);

	/* The region is the VM's RAM: it goes with the VM. */
	free(m->plugged);
	free(m);
}

static const struct virtio_dev_ops mem_ops = {
	.counters = mem_counters,
	.queue_notify = mem_queue_notify,
	.destroy = mem_destroy,
};

struct virtio_dev *virtio_mem_create(struct vm *vm, uint64_t size,
				     uint64_t requested)
{
	struct virtio_mem *m;
	uint64_t avail;
	int ret = 0;

	if (!size || size % VIRTIO_MEM_REGION_ALIGN ||
	    requested % VIRTIO_MEM_BLOCK || requested > size) {
		pr_err("virtio-mem: %llu MiB requested of a %llu MiB region: "
		       "the region must be whole 128 MiB, the request whole "
		       "2 MiB and no more",
		       (unsigned long long)(requested >> 20),
		       (unsigned long long)(size >> 20));
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	m->vm = vm;
	m->size = size;
	m->nr_blocks = size / VIRTIO_MEM_BLOCK;
	m->plugged = calloc((m->nr_blocks + 63) / 64, sizeof(uint64_t));
	if (!m->plugged ||
	    virtio_dev_init(&m->vdev, "virtio-mem", VIRTIO_ID_MEM, &mem_ops,
			    &m->vq, 1, MEM_QUEUE_SIZE, &vm->mem)) {
		free(m->plugged);
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	/* The whole hotplug area, mapped for the vCPUs and for DMA. */
	if (guest_mem_plugged(&vm->mem) || (ret = vm_plug_ram(vm, size)) < 0) {
		pr_err("virtio-mem: cannot map its %llu MiB region: %s",
		       (unsigned long long)(size >> 20),
		       guest_mem_plugged(&vm->mem) ?
			       "the hotplug area is in use" :
			       strerror(-ret));
		virtio_dev_destroy(&m->vdev);
		errno = ENOSPC;
		return NULL;
	}
	m->gpa = vm->mem.hotplug.gpa;
	if (guest_mem_lookup(&vm->mem, m->gpa, &m->hva, &avail) ||
	    avail < size) {
		pr_err("virtio-mem: its region is not guest RAM");
		virtio_dev_destroy(&m->vdev);
		errno = EFAULT;
		return NULL;
	}
	m->config = (struct virtio_mem_config){
		.block_size = htole64(VIRTIO_MEM_BLOCK),
		.addr = htole64(m->gpa),
		.region_size = htole64(size),
		.usable_region_size = htole64(size),
		.requested_size = htole64(requested),
	};
	m->vdev.config = &m->config;
	m->vdev.config_len = sizeof(m->config);
	pr_info("virtio-mem: %llu MiB region at %#llx, %llu MiB requested",
		(unsigned long long)(size >> 20), (unsigned long long)m->gpa,
		(unsigned long long)(requested >> 20));
	return &m->vdev;
}

void virtio_mem_set_requested(struct virtio_dev *vdev, uint64_t bytes)
{
	struct virtio_mem *m = to_mem(vdev);

	virtio_dev_lock(vdev);
	m->config.requested_size = htole64(bytes);
	virtio_dev_config_changed(vdev);
	virtio_dev_unlock(vdev);
}

uint64_t virtio_mem_plugged(struct virtio_dev *vdev)
{
	struct virtio_mem *m = to_mem(vdev);
	uint64_t v;

	virtio_dev_lock(vdev);
	v = m->nr_plugged * VIRTIO_MEM_BLOCK;
	virtio_dev_unlock(vdev);
	return v;
}
