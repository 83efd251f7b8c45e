// SPDX-License-Identifier: GPL-2.0
#include "virtio/queue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

/*
 * Ring layouts, in bytes. Split: descriptor table, avail ring (flags, idx,
 * ring[size], used_event), used ring (flags, idx, ring[size] of 8-byte
 * elements, avail_event). Packed: descriptor ring and two 4-byte event
 * suppression structures (off_wrap, flags).
 */
#define DESC_SIZE 16u
#define AVAIL_RING(i) (4u + 2u * (uint64_t)(i))
#define USED_RING(i) (4u + 8u * (uint64_t)(i))
#define EVENT_OFF_WRAP 0u
#define EVENT_FLAGS 2u
#define PACKED_FLAGS_OFF 14u

struct split_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

_Static_assert(sizeof(struct split_desc) == DESC_SIZE, "split desc layout");
_Static_assert(sizeof(struct packed_desc) == DESC_SIZE, "packed desc layout");

/* Running state of one chain walk. */
struct walk {
	struct virtq_chain *chain;
	uint32_t ndesc; /* descriptors seen, direct and indirect */
	uint64_t total; /* bytes, readable + writable */
	bool seen_write;
};

static const char *const virtq_errors[] = {
	[VIRTQ_E_AVAIL_IDX - VIRTQ_E_BASE] =
		"available index moved by more than the queue size",
	[VIRTQ_E_HEAD_RANGE - VIRTQ_E_BASE] = "chain head index out of range",
	[VIRTQ_E_NEXT_RANGE - VIRTQ_E_BASE] =
		"descriptor next index out of range",
	[VIRTQ_E_CHAIN_LEN - VIRTQ_E_BASE] =
		"descriptor chain longer than the queue size (loop?)",
	[VIRTQ_E_CHAIN_CAP - VIRTQ_E_BASE] =
		"descriptor chain has more segments than the device accepts",
	[VIRTQ_E_INDIRECT_FEATURE - VIRTQ_E_BASE] =
		"indirect descriptor without VIRTIO_F_INDIRECT_DESC",
	[VIRTQ_E_INDIRECT_NEXT - VIRTQ_E_BASE] =
		"indirect descriptor chained with NEXT",
	[VIRTQ_E_INDIRECT_NESTED - VIRTQ_E_BASE] =
		"indirect descriptor inside an indirect table",
	[VIRTQ_E_INDIRECT_LEN - VIRTQ_E_BASE] = "indirect table length invalid",
	[VIRTQ_E_INDIRECT_RANGE - VIRTQ_E_BASE] =
		"indirect table not mapped for the device (not RAM, or the IOMMU refuses)",
	[VIRTQ_E_SEG_RANGE - VIRTQ_E_BASE] =
		"buffer not mapped for the device (not RAM, or the IOMMU refuses)",
	[VIRTQ_E_LEN_OVERFLOW - VIRTQ_E_BASE] =
		"descriptor chain longer than 4 GiB",
	[VIRTQ_E_ORDER - VIRTQ_E_BASE] =
		"device-readable descriptor after a device-writable one",
	[VIRTQ_E_PACKED_AVAIL - VIRTQ_E_BASE] =
		"packed chain continues into a descriptor not made available",
	[VIRTQ_E_INFLIGHT - VIRTQ_E_BASE] =
		"more buffers in flight than the queue holds",
	[VIRTQ_E_RING_RANGE - VIRTQ_E_BASE] =
		"ring not mapped for the device (not RAM, or the IOMMU refuses)",
	[VIRTQ_E_SIZE - VIRTQ_E_BASE] = "invalid queue size",
	[VIRTQ_E_ALIGN - VIRTQ_E_BASE] = "misaligned ring address",
	[VIRTQ_E_BUSY - VIRTQ_E_BASE] = "queue changed while enabled",
	[VIRTQ_E_NOT_READY - VIRTQ_E_BASE] = "queue not enabled",
	[VIRTQ_E_BAD_CHAIN - VIRTQ_E_BASE] = "pushed a chain never popped",
};

const char *virtq_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err >= VIRTQ_E_BASE && err < VIRTQ_E_END)
		return virtq_errors[err - VIRTQ_E_BASE];
	return strerror(err);
}

/*
 * Ring fields are shared with running vCPUs, so they are read and written
 * as single aligned 16-bit accesses. Alignment is checked at enable time;
 * checking the host pointer again keeps a stray GPA from becoming UB.
 */
static uint16_t *ring16(const struct virtqueue *vq, uint64_t gpa,
			enum dma_dir dir)
{
	uint16_t *p = dma_map_contig(vq->dma, gpa, sizeof(*p), dir);

	if (!p || ((uintptr_t)p & (sizeof(*p) - 1)))
		return NULL;
	return p;
}

static int load16(const struct virtqueue *vq, uint64_t gpa, uint16_t *val)
{
	uint16_t *p = ring16(vq, gpa, DMA_READ);

	if (!p)
		return -VIRTQ_E_RING_RANGE;
	*val = le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
	return 0;
}

static int store16(const struct virtqueue *vq, uint64_t gpa, uint16_t val)
{
	uint16_t *p = ring16(vq, gpa, DMA_WRITE);

	if (!p)
		return -VIRTQ_E_RING_RANGE;
	__atomic_store_n(p, htole16(val), __ATOMIC_RELAXED);
	return 0;
}

/* One copy of a descriptor: the guest may rewrite it while we look. */
static int read_split_desc(struct dma_space *dma, uint64_t gpa,
			   struct split_desc *d)
{
	if (dma_read(dma, gpa, d, sizeof(*d)))
		return -EFAULT;
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
	return 0;
}

static int read_packed_desc(struct dma_space *dma, uint64_t gpa,
			    struct packed_desc *d)
{
	if (dma_read(dma, gpa, d, sizeof(*d)))
		return -EFAULT;
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->id = le16toh(d->id);
	d->flags = le16toh(d->flags);
	return 0;
}

/* Only once a buffer is found: an empty pop leaves the caller's chain. */
static void chain_clear(struct virtq_chain *c)
{
	c->nsegs = 0;
	c->readable = 0;
	c->writable = 0;
	c->id = 0;
	c->ndescs = 0;
}

/*
 * Every descriptor that carries data passes here, so the rules that apply
 * to all of them (count, order, total length, RAM) live in one place.
 */
static int chain_add(const struct virtqueue *vq, struct walk *w, uint64_t gpa,
		     uint32_t len, bool write)
{
	struct virtq_chain *c = w->chain;
	struct virtq_seg *s;

	if (++w->ndesc > vq->size)
		return -VIRTQ_E_CHAIN_LEN;
	if (!write && w->seen_write)
		return -VIRTQ_E_ORDER;
	w->seen_write |= write;
	w->total += len;
	if (w->total > UINT32_MAX)
		return -VIRTQ_E_LEN_OVERFLOW;
	/* An empty buffer moves no data; its address is never used. */
	if (!len)
		return 0;
	if (dma_check(vq->dma, gpa, len, write ? DMA_WRITE : DMA_READ))
		return -VIRTQ_E_SEG_RANGE;
	if (c->nsegs >= c->cap)
		return -VIRTQ_E_CHAIN_CAP;

	s = &c->segs[c->nsegs++];
	s->gpa = gpa;
	s->len = len;
	s->write = write;
	if (write)
		c->writable += len;
	else
		c->readable += len;
	return 0;
}

/* Checks common to both layouts; returns the number of table entries. */
static int indirect_table(const struct virtqueue *vq, uint64_t addr,
			  uint32_t len)
{
	if (!vq->indirect)
		return -VIRTQ_E_INDIRECT_FEATURE;
	if (!len || len % DESC_SIZE || len / DESC_SIZE > vq->size)
		return -VIRTQ_E_INDIRECT_LEN;
	if (dma_check(vq->dma, addr, len, DMA_READ))
		return -VIRTQ_E_INDIRECT_RANGE;
	return (int)(len / DESC_SIZE);
}

static int split_indirect(const struct virtqueue *vq, struct walk *w,
			  const struct split_desc *d)
{
	unsigned int steps = 0;
	uint16_t i = 0;
	int n, r;

	/* Spec: only the last descriptor of a chain may be indirect. */
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return -VIRTQ_E_INDIRECT_NEXT;
	n = indirect_table(vq, d->addr, d->len);
	if (n < 0)
		return n;

	for (;;) {
		struct split_desc e;

		/* More steps than entries can only be a loop. */
		if (steps++ == (unsigned int)n)
			return -VIRTQ_E_CHAIN_LEN;
		if (read_split_desc(vq->dma, d->addr + (uint64_t)i * DESC_SIZE,
				    &e))
			return -VIRTQ_E_INDIRECT_RANGE;
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return -VIRTQ_E_INDIRECT_NESTED;
		r = chain_add(vq, w, e.addr, e.len,
			      e.flags & VIRTQ_DESC_F_WRITE);
		if (r)
			return r;
		if (!(e.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (e.next >= n)
			return -VIRTQ_E_NEXT_RANGE;
		i = e.next;
	}
}

static int split_walk(const struct virtqueue *vq, struct walk *w, uint16_t head)
{
	uint16_t i = head;
	int r;

	/* chain_add() counts every descriptor, which bounds this loop. */
	for (;;) {
		struct split_desc d;

		if (read_split_desc(vq->dma,
				    vq->desc_gpa + (uint64_t)i * DESC_SIZE, &d))
			return -VIRTQ_E_RING_RANGE;
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return split_indirect(vq, w, &d);
		r = chain_add(vq, w, d.addr, d.len,
			      d.flags & VIRTQ_DESC_F_WRITE);
		if (r)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->size)
			return -VIRTQ_E_NEXT_RANGE;
		i = d.next;
	}
}

/* The driver's avail->idx (split rings): one load, one place. */
static int load_avail_idx(const struct virtqueue *vq, uint16_t *idx)
{
	return load16(vq, vq->driver_gpa + 2, idx);
}

/* The driver's used_event (split rings, EVENT_IDX): after the avail ring. */
static int load_used_event(const struct virtqueue *vq, uint16_t *ev)
{
	return load16(vq, vq->driver_gpa + AVAIL_RING(vq->size), ev);
}

static int split_pop(struct virtqueue *vq, struct virtq_chain *chain)
{
	struct walk w = { .chain = chain };
	uint16_t avail_idx, head;
	int r;

	if (vq->avail_idx_shadow == vq->last_avail_idx) {
		r = load_avail_idx(vq, &avail_idx);
		if (r)
			return r;
		if ((uint16_t)(avail_idx - vq->last_avail_idx) > vq->size)
			return -VIRTQ_E_AVAIL_IDX;
		vq->avail_idx_shadow = avail_idx;
		if (avail_idx == vq->last_avail_idx)
			return 0;
	}
	/* Ring entries and descriptors only after the idx that exposed them. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);

	if (vq->inflight >= vq->size)
		return -VIRTQ_E_INFLIGHT;
	r = load16(vq,
		   vq->driver_gpa +
			   AVAIL_RING(vq->last_avail_idx & (vq->size - 1)),
		   &head);
	if (r)
		return r;
	if (head >= vq->size)
		return -VIRTQ_E_HEAD_RANGE;
	chain_clear(chain);
	r = split_walk(vq, &w, head);
	if (r)
		return r;

	vq->last_avail_idx++;
	vq->inflight++;
	chain->id = head;
	chain->ndescs = 1;
	/* Keep a device that polls without disabling kicks from stalling. */
	if (vq->event_idx && vq->notify_enabled) {
		r = store16(vq, vq->device_gpa + USED_RING(vq->size),
			    vq->last_avail_idx);
		if (r)
			return r;
	}
	return 1;
}

static bool packed_avail(uint16_t flags, bool wrap)
{
	bool avail = flags & VIRTQ_DESC_F_AVAIL;
	bool used = flags & VIRTQ_DESC_F_USED;

	return avail == wrap && used != wrap;
}

static int packed_indirect(const struct virtqueue *vq, struct walk *w,
			   const struct packed_desc *d)
{
	int n, r;

	n = indirect_table(vq, d->addr, d->len);
	if (n < 0)
		return n;
	/* Packed tables are sequential; NEXT inside them is ignored. */
	for (int i = 0; i < n; i++) {
		struct packed_desc e;

		if (read_packed_desc(vq->dma, d->addr + (uint64_t)i * DESC_SIZE,
				     &e))
			return -VIRTQ_E_INDIRECT_RANGE;
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return -VIRTQ_E_INDIRECT_NESTED;
		r = chain_add(vq, w, e.addr, e.len,
			      e.flags & VIRTQ_DESC_F_WRITE);
		if (r)
			return r;
	}
	return 0;
}

static uint16_t packed_event(const struct virtqueue *vq)
{
	return vq->last_avail_idx | (uint16_t)(vq->avail_wrap << 15);
}

static int packed_pop(struct virtqueue *vq, struct virtq_chain *chain)
{
	struct walk w = { .chain = chain };
	uint16_t idx = vq->last_avail_idx, flags, id = 0;
	unsigned int ndescs = 0;
	bool wrap = vq->avail_wrap;
	int r;

	r = load16(vq, vq->desc_gpa + idx * DESC_SIZE + PACKED_FLAGS_OFF,
		   &flags);
	if (r)
		return r;
	if (!packed_avail(flags, wrap))
		return 0;
	/* The rest of the chain only after the flags that exposed it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	chain_clear(chain);

	for (;;) {
		struct packed_desc d;

		if (read_packed_desc(vq->dma, vq->desc_gpa + idx * DESC_SIZE,
				     &d))
			return -VIRTQ_E_RING_RANGE;
		if (ndescs && !packed_avail(d.flags, wrap))
			return -VIRTQ_E_PACKED_AVAIL;
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* Spec: an indirect descriptor stands alone. */
			if (ndescs || (d.flags & VIRTQ_DESC_F_NEXT))
				return -VIRTQ_E_INDIRECT_NEXT;
			r = packed_indirect(vq, &w, &d);
		} else {
			r = chain_add(vq, &w, d.addr, d.len,
				      d.flags & VIRTQ_DESC_F_WRITE);
		}
		if (r)
			return r;
		ndescs++;
		if (++idx == vq->size) {
			idx = 0;
			wrap = !wrap;
		}
		/* The buffer id lives in the last descriptor of the list. */
		if (!(d.flags & VIRTQ_DESC_F_NEXT)) {
			id = d.id;
			break;
		}
		if (ndescs == vq->size)
			return -VIRTQ_E_CHAIN_LEN;
	}

	if (vq->inflight + ndescs > vq->size)
		return -VIRTQ_E_INFLIGHT;
	vq->last_avail_idx = idx;
	vq->avail_wrap = wrap;
	vq->inflight += ndescs;
	chain->id = id;
	chain->ndescs = ndescs;
	if (vq->event_idx && vq->notify_enabled) {
		r = store16(vq, vq->device_gpa + EVENT_OFF_WRAP,
			    packed_event(vq));
		if (r)
			return r;
	}
	return 1;
}

int virtq_pop(struct virtqueue *vq, struct virtq_chain *chain)
{
	int r;

	if (vq->broken)
		return vq->broken;
	/* A kick on a queue the driver never enabled finds nothing. */
	if (!vq->ready)
		return 0;

	r = vq->packed ? packed_pop(vq, chain) : split_pop(vq, chain);
	if (r < 0) {
		vq->broken = r;
		chain_clear(chain);
	}
	return r;
}

void virtq_unpop(struct virtqueue *vq, const struct virtq_chain *chain)
{
	if (vq->packed) {
		if (vq->last_avail_idx < chain->ndescs) {
			vq->last_avail_idx += vq->size;
			vq->avail_wrap = !vq->avail_wrap;
		}
		vq->last_avail_idx -= chain->ndescs;
	} else {
		vq->last_avail_idx--;
	}
	vq->inflight -= chain->ndescs;
}

bool virtq_empty(const struct virtqueue *vq)
{
	uint16_t v;

	if (!vq->ready || vq->broken)
		return true;
	if (!vq->packed) {
		if (vq->avail_idx_shadow != vq->last_avail_idx)
			return false;
		if (load_avail_idx(vq, &v))
			return false;
		return v == vq->last_avail_idx;
	}
	if (load16(vq,
		   vq->desc_gpa + vq->last_avail_idx * DESC_SIZE +
			   PACKED_FLAGS_OFF,
		   &v))
		return false;
	return !packed_avail(v, vq->avail_wrap);
}

uint16_t virtq_avail_count(const struct virtqueue *vq)
{
	uint16_t v, pos, n = 0;
	bool wrap;

	if (!vq->ready || vq->broken)
		return 0;
	if (!vq->packed) {
		if (load_avail_idx(vq, &v))
			return 0;
		v -= vq->last_avail_idx;
		/* A driver that claims more than the ring holds is caught by
		 * the next pop; here it only ends the batch. */
		return v <= vq->size ? v : 0;
	}
	/* Packed: a slot per descriptor, read up to the first not posted. */
	pos = vq->last_avail_idx;
	wrap = vq->avail_wrap;
	while (n < vq->size) {
		if (load16(vq,
			   vq->desc_gpa + pos * DESC_SIZE + PACKED_FLAGS_OFF,
			   &v) ||
		    !packed_avail(v, wrap))
			break;
		n++;
		if (++pos == vq->size) {
			pos = 0;
			wrap = !wrap;
		}
	}
	return n;
}

int virtq_driver_taken(const struct virtqueue *vq)
{
	uint16_t ev, taken;

	if (!vq->ready || !vq->event_idx || vq->broken)
		return -1;
	if (!vq->packed) {
		if (load_used_event(vq, &ev))
			return -1;
		taken = (uint16_t)(vq->last_avail_idx - ev);
	} else {
		if (load16(vq, vq->driver_gpa + EVENT_OFF_WRAP, &ev))
			return -1;
		ev &= 0x7fff;
		if (ev >= vq->size)
			return -1;
		taken = (uint16_t)((vq->last_avail_idx + vq->size - ev) %
				   vq->size);
	}
	/* Linux parks the event at 0 while it reaps: nothing to read. */
	return taken > vq->size ? -1 : taken;
}

static uint32_t clamp_len(const struct virtq_chain *c, uint32_t written)
{
	/* Spec: len never claims more than the driver offered. */
	return written > c->writable ? c->writable : written;
}

/* Used elements first, then one store of used->idx publishes them all. */
static int split_push_batch(struct virtqueue *vq,
			    const struct virtq_chain *chains,
			    const uint32_t *written, unsigned int n)
{
	uint16_t old = vq->used_idx, new = old + n;
	int r;

	if (n > vq->inflight)
		return -VIRTQ_E_BAD_CHAIN;
	for (unsigned int i = 0; i < n; i++)
		if (chains[i].id >= vq->size || chains[i].ndescs != 1)
			return -VIRTQ_E_BAD_CHAIN;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t slot = (uint16_t)(old + i) & (vq->size - 1);
		uint32_t elem[2] = {
			htole32(chains[i].id),
			htole32(clamp_len(&chains[i], written[i])),
		};

		if (dma_write(vq->dma, vq->device_gpa + USED_RING(slot), elem,
			      sizeof(elem)))
			return -VIRTQ_E_RING_RANGE;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r = store16(vq, vq->device_gpa + 2, new);
	if (r)
		return r;
	vq->used_idx = new;
	vq->inflight -= n;
	if ((int16_t)(new - vq->signalled_used) < (uint16_t)(new - old))
		vq->signalled_valid = false;
	return 0;
}

/* Ring position after @c's slots, from @pos in lap @wrap. */
static uint16_t packed_advance(const struct virtqueue *vq, uint16_t pos,
			       const struct virtq_chain *c, bool *wrap)
{
	unsigned int next = pos + c->ndescs;

	if (next >= vq->size) {
		next -= vq->size;
		*wrap = !*wrap;
	}
	return (uint16_t)next;
}

/* Hands one used element to the driver. */
static int packed_set_used(struct virtqueue *vq, uint16_t pos, bool wrap,
			   const struct virtq_chain *c, uint32_t written)
{
	uint16_t flags = wrap ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0;

	if (clamp_len(c, written))
		flags |= VIRTQ_DESC_F_WRITE;
	return store16(vq, vq->desc_gpa + pos * DESC_SIZE + PACKED_FLAGS_OFF,
		       flags);
}

/*
 * Every element's id and len, then the flags of all but the first, then
 * the first's: the driver stops at the first, so it sees all or none.
 */
static int packed_push_batch(struct virtqueue *vq,
			     const struct virtq_chain *chains,
			     const uint32_t *written, unsigned int n)
{
	uint16_t head = vq->used_idx, pos = head;
	bool wrap = vq->used_wrap;
	uint32_t slots = 0;
	int r;

	for (unsigned int i = 0; i < n; i++) {
		if (!chains[i].ndescs)
			return -VIRTQ_E_BAD_CHAIN;
		slots += chains[i].ndescs;
	}
	if (slots > vq->inflight)
		return -VIRTQ_E_BAD_CHAIN;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = vq->desc_gpa + pos * DESC_SIZE;
		uint32_t len = htole32(clamp_len(&chains[i], written[i]));
		uint16_t id = htole16(chains[i].id);

		if (dma_write(vq->dma, gpa + 8, &len, sizeof(len)) ||
		    dma_write(vq->dma, gpa + 12, &id, sizeof(id)))
			return -VIRTQ_E_RING_RANGE;
		pos = packed_advance(vq, pos, &chains[i], &wrap);
	}
	/* ids and lens before the flags that hand them over */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wrap = vq->used_wrap;
	pos = packed_advance(vq, head, &chains[0], &wrap);
	for (unsigned int i = 1; i < n; i++) {
		r = packed_set_used(vq, pos, wrap, &chains[i], written[i]);
		if (r)
			return r;
		pos = packed_advance(vq, pos, &chains[i], &wrap);
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r = packed_set_used(vq, head, vq->used_wrap, &chains[0], written[0]);
	if (r)
		return r;
	if (wrap != vq->used_wrap)
		vq->signalled_valid = false;
	vq->used_idx = pos;
	vq->used_wrap = wrap;
	vq->inflight -= slots;
	return 0;
}

int virtq_push_batch(struct virtqueue *vq, const struct virtq_chain *chains,
		     const uint32_t *written, unsigned int n)
{
	int r;

	if (vq->broken)
		return vq->broken;
	if (!vq->ready)
		return -VIRTQ_E_NOT_READY;
	if (!n)
		return 0;
	r = vq->packed ? packed_push_batch(vq, chains, written, n) :
			 split_push_batch(vq, chains, written, n);
	if (!r)
		vq->used_since_signal = true;
	return r;
}

int virtq_push(struct virtqueue *vq, const struct virtq_chain *chain,
	       uint32_t written)
{
	return virtq_push_batch(vq, chain, &written, 1);
}

static bool packed_need_event(const struct virtqueue *vq, uint16_t off_wrap,
			      uint16_t new, uint16_t old)
{
	int off = off_wrap & 0x7fff;

	/* An event in the other lap is a ring's length away. */
	if ((bool)(off_wrap >> 15) != vq->used_wrap)
		off -= vq->size;
	return virtq_need_event((uint16_t)off, new, old);
}

bool virtq_should_notify(struct virtqueue *vq)
{
	uint16_t old, new, flags, event;
	bool valid;

	if (!vq->ready || !vq->used_since_signal)
		return false;
	/* Our used-ring stores must be visible before we read the driver's
	 * suppression state, or both sides can decide to stay quiet. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	old = vq->signalled_used;
	new = vq->used_idx;
	valid = vq->signalled_valid;
	vq->signalled_used = new;
	vq->signalled_valid = true;
	vq->used_since_signal = false;

	/* When in doubt, interrupt: drivers must cope with spurious ones. */
	if (!vq->packed) {
		if (!vq->event_idx) {
			if (load16(vq, vq->driver_gpa, &flags))
				return true;
			return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
		}
		if (load_used_event(vq, &event))
			return true;
		return !valid || virtq_need_event(event, new, old);
	}

	if (load16(vq, vq->driver_gpa + EVENT_FLAGS, &flags))
		return true;
	/* off_wrap is meaningful only as of the flags that announced it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (load16(vq, vq->driver_gpa + EVENT_OFF_WRAP, &event))
		return true;
	switch (flags & 3) {
	case VIRTQ_RING_EVENT_FLAGS_DISABLE:
		return false;
	case VIRTQ_RING_EVENT_FLAGS_DESC:
		if (vq->event_idx)
			return !valid || packed_need_event(vq, event, new, old);
		return true;
	default:
		return true;
	}
}

void virtq_set_notification(struct virtqueue *vq, bool enable)
{
	vq->notify_enabled = enable;
	if (!vq->ready || vq->broken)
		return;

	/* Failed stores only cost kicks; a broken ring shows up in pop. */
	if (!vq->packed) {
		if (!vq->event_idx)
			store16(vq, vq->device_gpa,
				enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
		else if (enable)
			store16(vq, vq->device_gpa + USED_RING(vq->size),
				vq->last_avail_idx);
	} else if (!enable) {
		store16(vq, vq->device_gpa + EVENT_FLAGS,
			VIRTQ_RING_EVENT_FLAGS_DISABLE);
	} else if (vq->event_idx) {
		store16(vq, vq->device_gpa + EVENT_OFF_WRAP, packed_event(vq));
		/* The driver must see off_wrap before the flag naming it. */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		store16(vq, vq->device_gpa + EVENT_FLAGS,
			VIRTQ_RING_EVENT_FLAGS_DESC);
	} else {
		store16(vq, vq->device_gpa + EVENT_FLAGS,
			VIRTQ_RING_EVENT_FLAGS_ENABLE);
	}
	/* Publish before the caller re-checks the ring for new buffers. */
	if (enable)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void virtq_init(struct virtqueue *vq, struct dma_space *dma, uint16_t max_size)
{
	memset(vq, 0, sizeof(*vq));
	vq->dma = dma;
	vq->max_size = max_size && max_size <= VIRTQ_MAX_SIZE ? max_size :
								VIRTQ_MAX_SIZE;
	virtq_reset(vq);
}

static void virtq_reset_runtime(struct virtqueue *vq)
{
	vq->last_avail_idx = 0;
	vq->avail_idx_shadow = 0;
	vq->used_idx = 0;
	/* Spec: both ring wrap counters start at 1. */
	vq->avail_wrap = true;
	vq->used_wrap = true;
	vq->inflight = 0;
	vq->notify_enabled = true;
	vq->signalled_valid = false;
	vq->used_since_signal = false;
	vq->signalled_used = 0;
	vq->broken = 0;
}

void virtq_reset(struct virtqueue *vq)
{
	struct dma_space *dma = vq->dma;
	uint16_t max_size = vq->max_size;

	memset(vq, 0, sizeof(*vq));
	vq->dma = dma;
	vq->max_size = max_size;
	vq->size = max_size;
	virtq_reset_runtime(vq);
}

int virtq_set_size(struct virtqueue *vq, uint32_t size)
{
	if (vq->ready)
		return -VIRTQ_E_BUSY;
	if (!size || size > vq->max_size) {
		vq->size = 0;
		return -VIRTQ_E_SIZE;
	}
	vq->size = (uint16_t)size;
	return 0;
}

static uint64_t driver_align(const struct virtqueue *vq)
{
	return vq->packed ? 4 : 2;
}

int virtq_set_desc_addr(struct virtqueue *vq, uint64_t gpa)
{
	if (vq->ready)
		return -VIRTQ_E_BUSY;
	vq->desc_gpa = gpa;
	return gpa & (DESC_SIZE - 1) ? -VIRTQ_E_ALIGN : 0;
}

int virtq_set_driver_addr(struct virtqueue *vq, uint64_t gpa)
{
	if (vq->ready)
		return -VIRTQ_E_BUSY;
	vq->driver_gpa = gpa;
	return gpa & (driver_align(vq) - 1) ? -VIRTQ_E_ALIGN : 0;
}

int virtq_set_device_addr(struct virtqueue *vq, uint64_t gpa)
{
	if (vq->ready)
		return -VIRTQ_E_BUSY;
	vq->device_gpa = gpa;
	return gpa & 3 ? -VIRTQ_E_ALIGN : 0;
}

int virtq_set_features(struct virtqueue *vq, uint64_t features)
{
	if (vq->ready)
		return -VIRTQ_E_BUSY;
	vq->indirect = features & (1ull << VIRTQ_F_INDIRECT_DESC);
	vq->event_idx = features & (1ull << VIRTQ_F_EVENT_IDX);
	vq->packed = features & (1ull << VIRTQ_F_RING_PACKED);
	return 0;
}

int virtq_enable(struct virtqueue *vq)
{
	uint64_t size = vq->size, driver_len, device_len;

	if (vq->ready)
		return 0;
	if (!size || size > vq->max_size)
		return -VIRTQ_E_SIZE;
	if (!vq->packed && (size & (size - 1)))
		return -VIRTQ_E_SIZE;
	if ((vq->desc_gpa & (DESC_SIZE - 1)) ||
	    (vq->driver_gpa & (driver_align(vq) - 1)) || (vq->device_gpa & 3))
		return -VIRTQ_E_ALIGN;

	if (vq->packed) {
		driver_len = 4;
		device_len = 4;
	} else {
		driver_len = AVAIL_RING(size) + 2;
		device_len = USED_RING(size) + 2;
	}
	/* The device writes a packed ring's descriptors back. */
	if (dma_check(vq->dma, vq->desc_gpa, size * DESC_SIZE,
		      vq->packed ? DMA_READ | DMA_WRITE : DMA_READ) ||
	    dma_check(vq->dma, vq->driver_gpa, driver_len, DMA_READ) ||
	    dma_check(vq->dma, vq->device_gpa, device_len,
		      DMA_READ | DMA_WRITE))
		return -VIRTQ_E_RING_RANGE;

	virtq_reset_runtime(vq);
	vq->ready = true;
	return 0;
}

/* Walk @write segments from @offset, copying @len bytes one way or other. */
static int chain_copy(struct dma_space *dma, const struct virtq_chain *chain,
		      bool write, uint64_t offset, void *buf, size_t len,
		      bool to_guest)
{
	uint64_t total = write ? chain->writable : chain->readable;
	uint8_t *p = buf;

	if (offset > total || len > total - offset)
		return -ERANGE;
	for (uint32_t i = 0; i < chain->nsegs && len; i++) {
		const struct virtq_seg *s = &chain->segs[i];
		size_t n;
		int r;

		if (s->write != write)
			continue;
		if (offset >= s->len) {
			offset -= s->len;
			continue;
		}
		n = s->len - offset;
		if (n > len)
			n = len;
		r = to_guest ? dma_write(dma, s->gpa + offset, p, n) :
			       dma_read(dma, s->gpa + offset, p, n);
		if (r)
			return -EFAULT;
		p += n;
		len -= n;
		offset = 0;
	}
	return len ? -ERANGE : 0;
}

int virtq_chain_read(struct dma_space *dma, const struct virtq_chain *chain,
		     uint64_t offset, void *dst, size_t len)
{
	return chain_copy(dma, chain, false, offset, dst, len, false);
}

int virtq_chain_write(struct dma_space *dma, const struct virtq_chain *chain,
		      uint64_t offset, const void *src, size_t len)
{
	/* chain_copy() only reads @buf when copying to the guest. */
	return chain_copy(dma, chain, true, offset, (void *)src, len, true);
}

int virtq_chain_iov(struct dma_space *dma, const struct virtq_chain *chain,
		    bool write, struct iovec *iov, unsigned int max)
{
	enum dma_dir dir = write ? DMA_WRITE : DMA_READ;
	unsigned int n = 0;

	for (uint32_t i = 0; i < chain->nsegs; i++) {
		const struct virtq_seg *s = &chain->segs[i];
		int r;

		if (s->write != write)
			continue;
		/* One segment may take several iovecs: see kvm/dma.h. */
		r = dma_map_iov(dma, s->gpa, s->len, dir, iov + n, max - n);
		if (r < 0) {
			virtq_chain_unmap(dma, chain, write, iov, n, 0);
			return r == -ENOSPC ? -ENOSPC : -EFAULT;
		}
		n += r;
	}
	return (int)n;
}

void virtq_chain_unmap(struct dma_space *dma, const struct virtq_chain *chain,
		       bool write, const struct iovec *iov, unsigned int n,
		       size_t written)
{
	(void)chain;
	dma_unmap_iov(dma, iov, n, write ? DMA_WRITE : DMA_READ, written);
}
