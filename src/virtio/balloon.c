// SPDX-License-Identifier: GPL-2.0
/* virtio-balloon; see virtio/balloon.h. */
#include "virtio/balloon.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kvm/vm.h"
#include "util/log.h"
#include "virtio/virtio.h"

#define BALLOON_QUEUE_SIZE 128
#define BALLOON_INFLATE 0
#define BALLOON_DEFLATE 1
/*
 * Then the statistics queue and the reporting queue, numbered as Linux
 * and QEMU number them: in a row, skipping what was not negotiated (no
 * FREE_PAGE_HINT ever), so reporting is 3 after statistics, else 2.
 */
#define BALLOON_STATS 2
/* Statistics the driver sends (struct virtio_balloon_stat: le16, le64). */
#define STAT_LEN 10
#define MAX_STATS 64
/* Chains per notification; the rest waits for our own kick. */
#define BALLOON_BUDGET 32
/*
 * Page numbers taken from one inflate buffer: Linux sends 256; a bound
 * keeps a hostile chain from holding the I/O thread (the rest is ignored:
 * the guest only keeps its memory).
 */
#define BALLOON_MAX_PFNS (256u * 1024)
#define PFNS_PER_READ 256
/* Segments of a free page report (Linux: up to 32 blocks). */
#define BALLOON_MAX_IOV 256

#define CFG_NUM_PAGES 0
#define CFG_ACTUAL 4

/* vm.counters' names of the statistics' tags (spec 5.5.6.3; Linux 6.12). */
static const char *const stat_names[] = {
	"swap_in",	    "swap_out",	    "major_faults",
	"minor_faults",	    "free_memory",  "total_memory",
	"available_memory", "disk_caches",  "hugetlb_allocations",
	"hugetlb_failures", "oom_kills",    "alloc_stalls",
	"async_scans",	    "direct_scans", "async_reclaims",
	"direct_reclaims",
};
#define NR_STAT_TAGS (sizeof(stat_names) / sizeof(stat_names[0]))

struct virtio_balloon {
	struct virtio_dev vdev;
	struct virtqueue vqs[4];
	struct virtq_seg segs[BALLOON_QUEUE_SIZE];
	struct iovec iov[BALLOON_MAX_IOV];
	struct vm *vm;
	uint8_t config[8]; /* le32 num_pages, le32 actual; device lock */
	/* Bytes freed for inflated pages, for free page reports; device lock */
	uint64_t freed, reported;
	/*
	 * The statistics buffer the driver gave, held until the device
	 * wants fresh ones (it gives it back; the driver refills it), and
	 * what it said last. Device lock.
	 */
	struct virtq_seg stat_segs[4];
	struct virtq_chain stat_chain;
	bool stat_held;
	uint64_t stat_val[NR_STAT_TAGS];
	uint32_t stat_seen; /* bit per tag the driver sent */
	bool told_pinned, told_range, told_big;
};

static struct virtio_balloon *to_balloon(struct virtio_dev *vdev)
{
	return (struct virtio_balloon *)vdev;
}

static uint32_t cfg32(const struct virtio_balloon *b, unsigned int off)
{
	uint32_t v;

	memcpy(&v, b->config + off, 4);
	return le32toh(v);
}

/*
 * Gives the host memory behind [hva, hva + len) of guest RAM back: the
 * guest reads zeroes there next. Returns the bytes freed.
 */
static uint64_t discard(struct virtio_balloon *b, uint8_t *hva, uint64_t len)
{
	int ret = vm_discard_ram(b->vm, hva, len);

	if (ret == -EBUSY) {
		if (!b->told_pinned) {
			b->told_pinned = true;
			pr_warn("%s: guest RAM is pinned for a passed-through "
				"device: the pages the guest gives stay in "
				"host memory",
				b->vdev.name);
		}
		return 0;
	}
	if (ret < 0) {
		pr_warn_ratelimited("%s: cannot free %llu bytes of guest RAM: "
				    "%s",
				    b->vdev.name, (unsigned long long)len,
				    strerror(-ret));
		return 0;
	}
	return len;
}

/* Whether [hva, hva + len) is inside the mapping behind guest RAM. */
static bool in_ram(const struct guest_mem *m, const uint8_t *hva, uint64_t len)
{
	return hva >= m->base && len <= m->map_size &&
	       (uint64_t)(hva - m->base) <= m->map_size - len;
}

/* Adjacent pages are freed in one call. */
struct run {
	uint8_t *hva;
	uint64_t len;
};

static void run_add(struct virtio_balloon *b, struct run *r, uint8_t *hva)
{
	if (r->len && r->hva + r->len == hva) {
		r->len += VIRTIO_BALLOON_PAGE;
		return;
	}
	b->freed += discard(b, r->hva, r->len);
	r->hva = hva;
	r->len = VIRTIO_BALLOON_PAGE;
}

/* An inflate buffer: le32 page numbers the guest gives up. */
static int64_t inflate(struct virtio_dev *vdev, struct virtq_chain *c)
{
	struct virtio_balloon *b = to_balloon(vdev);
	const struct guest_mem *m = &b->vm->mem;
	uint32_t pfns[PFNS_PER_READ];
	uint64_t nr = c->readable / 4;
	struct run run = { 0 };

	if (nr > BALLOON_MAX_PFNS) {
		if (!b->told_big) {
			b->told_big = true;
			pr_warn("%s: an inflate buffer of %llu pages; only the "
				"first %u are freed",
				vdev->name, (unsigned long long)nr,
				BALLOON_MAX_PFNS);
		}
		nr = BALLOON_MAX_PFNS;
	}
	for (uint64_t done = 0; done < nr;) {
		unsigned int n = nr - done < PFNS_PER_READ ? nr - done :
							     PFNS_PER_READ;

		if (virtq_chain_read(&vdev->dma, c, done * 4, pfns, n * 4))
			return -EFAULT;
		for (unsigned int i = 0; i < n; i++) {
			uint64_t gpa = (uint64_t)le32toh(pfns[i]) *
				       VIRTIO_BALLOON_PAGE;
			uint64_t avail;
			uint8_t *hva;

			if (guest_mem_lookup(m, gpa, &hva, &avail) ||
			    avail < VIRTIO_BALLOON_PAGE ||
			    !in_ram(m, hva, VIRTIO_BALLOON_PAGE)) {
				if (!b->told_range) {
					b->told_range = true;
					pr_warn("%s: the guest gave page %#llx, "
						"which is not its RAM; ignored",
						vdev->name,
						(unsigned long long)gpa);
				}
				continue;
			}
			run_add(b, &run, hva);
		}
		done += n;
	}
	b->freed += discard(b, run.hva, run.len);
	return 0;
}

/* Deflate: the guest uses the pages again; they fault back in. */
static int64_t deflate(struct virtio_dev *vdev, struct virtq_chain *c)
{
	return 0;
}

/*
 * A free page report: writable buffers over blocks of free guest memory
 * (their addresses go through the device's DMA space like any buffer).
 * Whole pages of them that are guest RAM are freed; the device writes
 * nothing.
 */
static int64_t report(struct virtio_dev *vdev, struct virtq_chain *c)
{
	struct virtio_balloon *b = to_balloon(vdev);
	const struct guest_mem *m = &b->vm->mem;
	int n = virtq_chain_iov(&vdev->dma, c, true, b->iov, BALLOON_MAX_IOV);
	uint64_t freed = 0;

	if (n < 0)
		return n == -ENOSPC ? 0 : n;
	for (int i = 0; i < n; i++) {
		uintptr_t start = (uintptr_t)b->iov[i].iov_base;
		uintptr_t end = start + b->iov[i].iov_len;

		start = (start + VIRTIO_BALLOON_PAGE - 1) &
			~(uintptr_t)(VIRTIO_BALLOON_PAGE - 1);
		end &= ~(uintptr_t)(VIRTIO_BALLOON_PAGE - 1);
		if (end > start && in_ram(m, (uint8_t *)start, end - start))
			freed += discard(b, (uint8_t *)start, end - start);
	}
	virtq_chain_unmap(&vdev->dma, c, true, b->iov, n, 0);
	b->reported += freed;
	return 0;
}

/* Gives the held statistics buffer back: the driver refills it. */
static void stats_give_back(struct virtio_balloon *b)
{
	struct virtqueue *vq = &b->vqs[BALLOON_STATS];
	int ret;

	if (!b->stat_held)
		return;
	b->stat_held = false;
	ret = virtq_push(vq, &b->stat_chain, 0);
	if (ret)
		virtio_dev_fail(&b->vdev, ret, "statistics queue");
	else
		virtio_dev_notify_queue(&b->vdev, BALLOON_STATS);
}

/* Takes a statistics buffer's (le16 tag, le64 value) pairs, and holds it. */
static int stats_take(struct virtio_balloon *b, struct virtq_chain *c)
{
	uint8_t buf[STAT_LEN * MAX_STATS];
	unsigned int n = c->readable / STAT_LEN;

	if (n > MAX_STATS)
		n = MAX_STATS;
	if (virtq_chain_read(&b->vdev.dma, c, 0, buf, n * STAT_LEN))
		return -EFAULT;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t tag;
		uint64_t val;

		memcpy(&tag, buf + i * STAT_LEN, 2);
		memcpy(&val, buf + i * STAT_LEN + 2, 8);
		tag = le16toh(tag);
		if (tag >= NR_STAT_TAGS)
			continue;
		b->stat_val[tag] = le64toh(val);
		b->stat_seen |= 1u << tag;
	}
	b->stat_chain = *c;
	b->stat_chain.segs = NULL;
	b->stat_held = true;
	return 0;
}

/* The statistics queue, as virtio_dev_serve_queue() but holding. */
static void stats_notify(struct virtio_balloon *b)
{
	struct virtqueue *vq = &b->vqs[BALLOON_STATS];
	struct virtq_chain c = VIRTQ_CHAIN_INIT(b->stat_segs);
	int r;

	do {
		virtq_set_notification(vq, false);
		while ((r = virtq_pop(vq, &c)) > 0) {
			/* One at a time: an older one goes back first. */
			stats_give_back(b);
			r = stats_take(b, &c);
			if (r < 0)
				break;
		}
		if (r < 0) {
			virtio_dev_fail(&b->vdev, r, "statistics queue");
			return;
		}
		virtq_set_notification(vq, true);
	} while (!virtq_empty(vq));
}

static void balloon_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_balloon *b = to_balloon(vdev);
	struct virtq_chain c = VIRTQ_CHAIN_INIT(b->segs);
	bool stats = virtio_dev_has_feature(vdev, VIRTIO_BALLOON_F_STATS_VQ);

	if (q == BALLOON_INFLATE)
		virtio_dev_serve_queue(vdev, q, &c, BALLOON_BUDGET, inflate,
				       "inflate queue");
	else if (q == BALLOON_DEFLATE)
		virtio_dev_serve_queue(vdev, q, &c, BALLOON_BUDGET, deflate,
				       "deflate queue");
	else if (q == BALLOON_STATS && stats)
		stats_notify(b);
	else if (q == BALLOON_STATS + (unsigned int)stats)
		virtio_dev_serve_queue(vdev, q, &c, BALLOON_BUDGET, report,
				       "reporting queue");
}

/* The driver writes actual (and may write num_pages: read only). */
static void balloon_config_write(struct virtio_dev *vdev, uint32_t off,
				 const void *data, unsigned int len)
{
	struct virtio_balloon *b = to_balloon(vdev);

	for (unsigned int i = 0; i < len; i++)
		if (off + i >= CFG_ACTUAL && off + i < CFG_ACTUAL + 4)
			b->config[off + i] = ((const uint8_t *)data)[i];
}

/* A new driver starts with its balloon empty and no statistics. */
static void balloon_reset(struct virtio_dev *vdev)
{
	struct virtio_balloon *b = to_balloon(vdev);

	memset(b->config + CFG_ACTUAL, 0, 4);
	b->stat_held = false;
	b->stat_seen = 0;
}

static void balloon_counters(struct virtio_dev *vdev,
			     void (*fn)(void *arg, const char *name,
					uint64_t value),
			     void *arg)
{
	struct virtio_balloon *b = to_balloon(vdev);

	fn(arg, "actual_bytes",
	   (uint64_t)cfg32(b, CFG_ACTUAL) * VIRTIO_BALLOON_PAGE);
	fn(arg, "freed_bytes", b->freed);
	fn(arg, "reported_bytes", b->reported);
	for (unsigned int t = 0; t < NR_STAT_TAGS; t++)
		if (b->stat_seen & (1u << t))
			fn(arg, stat_names[t], b->stat_val[t]);
}

static void balloon_destroy(struct virtio_dev *vdev)
{
	free(vdev);
}

static const struct virtio_dev_ops balloon_ops = {
	.counters = balloon_counters,
	.config_write = balloon_config_write,
	.queue_notify = balloon_queue_notify,
	.reset = balloon_reset,
	.destroy = balloon_destroy,
};

static void set_num_pages(struct virtio_balloon *b, uint64_t bytes)
{
	uint64_t pages = bytes / VIRTIO_BALLOON_PAGE;
	uint32_t v = htole32(pages > UINT32_MAX ? UINT32_MAX : pages);

	memcpy(b->config + CFG_NUM_PAGES, &v, 4);
}

struct virtio_dev *virtio_balloon_create(struct vm *vm,
					 const struct balloon_config *bc)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	unsigned int nr_queues = bc->free_page_reporting ? 4 : 3;

	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	b->vm = vm;
	if (virtio_dev_init(&b->vdev, "virtio-balloon", VIRTIO_ID_BALLOON,
			    &balloon_ops, b->vqs, nr_queues, BALLOON_QUEUE_SIZE,
			    &vm->mem)) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	b->vdev.device_features |= 1ull << VIRTIO_BALLOON_F_STATS_VQ;
	if (bc->deflate_on_oom)
		b->vdev.device_features |= 1ull
					   << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (bc->free_page_reporting)
		b->vdev.device_features |= 1ull
					   << VIRTIO_BALLOON_F_PAGE_REPORTING;
	set_num_pages(b, bc->size);
	b->vdev.config = b->config;
	b->vdev.config_len = sizeof(b->config);
	return &b->vdev;
}

void virtio_balloon_set_target(struct virtio_dev *vdev, uint64_t bytes)
{
	struct virtio_balloon *b = to_balloon(vdev);

	virtio_dev_lock(vdev);
	set_num_pages(b, bytes);
	virtio_dev_config_changed(vdev);
	virtio_dev_unlock(vdev);
}

uint64_t virtio_balloon_actual(struct virtio_dev *vdev)
{
	uint64_t v;

	virtio_dev_lock(vdev);
	v = (uint64_t)cfg32(to_balloon(vdev), CFG_ACTUAL) * VIRTIO_BALLOON_PAGE;
	virtio_dev_unlock(vdev);
	return v;
}

void virtio_balloon_stats_request(struct virtio_dev *vdev)
{
	virtio_dev_lock(vdev);
	if (virtio_dev_running(vdev))
		stats_give_back(to_balloon(vdev));
	virtio_dev_unlock(vdev);
}
