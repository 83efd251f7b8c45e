// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-iommu: endpoints, domains and their interval maps, the request
 * parser and fault records (iommu/viommu.h; docs/iommu.md).
 */
#include "iommu/viommu.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/memory.h"
#include "util/log.h"

_Static_assert(sizeof(struct viommu_req_attach) == 20, "ATTACH");
_Static_assert(sizeof(struct viommu_req_detach) == 20, "DETACH");
_Static_assert(sizeof(struct viommu_req_map) == 36, "MAP");
_Static_assert(sizeof(struct viommu_req_unmap) == 28, "UNMAP");
_Static_assert(sizeof(struct viommu_req_probe) == 72, "PROBE");
_Static_assert(sizeof(struct viommu_probe_resv_mem) == 24, "RESV_MEM");
_Static_assert(sizeof(struct viommu_fault) == 24, "fault");
_Static_assert(sizeof(struct viommu_config) == 40, "config");
_Static_assert(sizeof(struct viot_head) == 12, "VIOT head");
_Static_assert(sizeof(struct viot_pci_range) == 24, "VIOT PCI range");
_Static_assert(sizeof(struct viot_virtio_pci) == 16, "VIOT virtio-pci");

#define GRANULE 4096ull

struct viommu_map {
	uint64_t start, end, phys; /* [start, end] -> phys */
	uint32_t flags;
};

struct viommu_domain {
	uint32_t id;
	bool bypass;
	bool mapped; /* its first MAP was logged */
	unsigned int nr_eps;
	/* Sorted by start, disjoint (so ends are sorted too). */
	struct viommu_map *maps;
	size_t nr, cap;
	struct viommu_domain *next;
};

/* An endpoint: one DMA space's translator state (dma_space.opaque). */
struct viommu_ep {
	struct viommu *v; /* NULL once the model is gone */
	struct dma_space *as;
	uint32_t id;
	struct viommu_domain *dom;
	struct viommu_ep *next;
};

struct viommu {
	pthread_mutex_t lock;
	const struct guest_mem *mem;
	struct viommu_params p;
	void (*fault)(void *opaque);
	void *fault_opaque;
	uint64_t features;
	uint8_t bypass;
	struct viommu_ep *eps;
	struct viommu_domain *domains;
	size_t nr_maps;
	struct viommu_fault faults[VIOMMU_FAULT_RING];
	unsigned int fault_head, nr_faults;
	uint64_t lost;
};

static struct viommu_ep *find_ep(struct viommu *v, uint32_t id)
{
	for (struct viommu_ep *e = v->eps; e; e = e->next)
		if (e->id == id)
			return e;
	return NULL;
}

static struct viommu_domain *find_domain(struct viommu *v, uint32_t id)
{
	for (struct viommu_domain *d = v->domains; d; d = d->next)
		if (d->id == id)
			return d;
	return NULL;
}

/* Index of the first mapping whose end is >= @iova (d->nr if none). */
static size_t lower_bound(const struct viommu_domain *d, uint64_t iova)
{
	size_t lo = 0, hi = d->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->maps[mid].end < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Under the lock: drop @d's cached translations in every attached space. */
static void invalidate_domain(struct viommu *v, struct viommu_domain *d,
			      uint64_t iova, uint64_t len)
{
	for (struct viommu_ep *e = v->eps; e; e = e->next)
		if (e->dom == d)
			dma_space_invalidate(e->as, iova, len);
}

static void free_domain(struct viommu *v, struct viommu_domain *d)
{
	for (struct viommu_domain **pp = &v->domains; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	v->nr_maps -= d->nr;
	free(d->maps);
	free(d);
}

/* The endpoint leaves its domain, which goes when it has none left. */
static void detach_ep(struct viommu *v, struct viommu_ep *e)
{
	struct viommu_domain *d = e->dom;

	if (!d)
		return;
	e->dom = NULL;
	dma_space_invalidate(e->as, 0, 0);
	if (!--d->nr_eps)
		free_domain(v, d);
}

struct viommu *viommu_create(const struct guest_mem *mem,
			     const struct viommu_params *p)
{
	struct viommu *v = calloc(1, sizeof(*v));
	pthread_mutexattr_t a;

	if (!v)
		return NULL;
	v->mem = mem;
	v->p = *p;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&v->lock, &a);
	pthread_mutexattr_destroy(&a);
	return v;
}

static void clear_locked(struct viommu *v)
{
	/* The reset state first: what a mirror replays is that. */
	v->bypass = 0;
	for (struct viommu_ep *e = v->eps; e; e = e->next) {
		e->dom = NULL;
		dma_space_invalidate(e->as, 0, 0);
	}
	while (v->domains)
		free_domain(v, v->domains);
	v->features = 0;
	v->nr_faults = 0;
	v->fault_head = 0;
}

void viommu_reset(struct viommu *v)
{
	pthread_mutex_lock(&v->lock);
	clear_locked(v);
	pthread_mutex_unlock(&v->lock);
}

void viommu_destroy(struct viommu *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&v->lock);
	clear_locked(v);
	for (struct viommu_ep *e = v->eps; e; e = e->next)
		e->v = NULL;
	v->eps = NULL;
	pthread_mutex_unlock(&v->lock);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

void viommu_set_notify(struct viommu *v, void (*fault)(void *opaque),
		       void *opaque)
{
	pthread_mutex_lock(&v->lock);
	v->fault = fault;
	v->fault_opaque = opaque;
	pthread_mutex_unlock(&v->lock);
}

void viommu_set_features(struct viommu *v, uint64_t features)
{
	pthread_mutex_lock(&v->lock);
	v->features = features;
	pthread_mutex_unlock(&v->lock);
}

void viommu_get_config(struct viommu *v, struct viommu_config *c)
{
	memset(c, 0, sizeof(*c));
	c->page_size_mask = htole64(~(GRANULE - 1));
	c->input_start = 0;
	c->input_end = htole64(v->p.input_end);
	c->domain_start = 0;
	c->domain_end = htole32(v->p.domain_end);
	c->probe_size = htole32(VIOMMU_PROBE_SIZE);
	pthread_mutex_lock(&v->lock);
	c->bypass = v->bypass;
	pthread_mutex_unlock(&v->lock);
}

void viommu_set_bypass(struct viommu *v, uint8_t bypass)
{
	pthread_mutex_lock(&v->lock);
	if (v->features >> VIOMMU_F_BYPASS_CONFIG & 1 &&
	    !!bypass != !!v->bypass) {
		/*
		 * Unattached endpoints change behaviour: drop what they hold,
		 * once the change is made (a mirror replays the new state).
		 */
		v->bypass = bypass ? 1 : 0;
		for (struct viommu_ep *e = v->eps; e; e = e->next)
			if (!e->dom)
				dma_space_invalidate(e->as, 0, 0);
	}
	pthread_mutex_unlock(&v->lock);
}

static bool zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int do_attach(struct viommu *v, const struct viommu_req_attach *r)
{
	uint32_t dom_id = le32toh(r->domain), flags = le32toh(r->flags);
	bool bypass = flags & VIOMMU_ATTACH_F_BYPASS;
	struct viommu_ep *e;
	struct viommu_domain *d, *old;

	if (!zero(r->reserved, sizeof(r->reserved)) ||
	    (flags & ~VIOMMU_ATTACH_F_BYPASS) ||
	    (bypass && !(v->features >> VIOMMU_F_BYPASS_CONFIG & 1)))
		return VIOMMU_S_INVAL;
	e = find_ep(v, le32toh(r->endpoint));
	if (!e)
		return VIOMMU_S_NOENT;
	if (dom_id > v->p.domain_end)
		return VIOMMU_S_RANGE;
	d = find_domain(v, dom_id);
	if (d && d->bypass != bypass)
		return VIOMMU_S_INVAL;
	if (d && e->dom == d)
		return VIOMMU_S_OK;
	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d)
			return VIOMMU_S_NOMEM;
		d->id = dom_id;
		d->bypass = bypass;
		d->next = v->domains;
		v->domains = d;
	}
	/*
	 * As a DETACH from the old domain, then the ATTACH (spec 5.13.6.3),
	 * in one step: cached translations go once the new domain is in
	 * place, so a mirror replays its mappings, never the gap between.
	 */
	d->nr_eps++;
	old = e->dom;
	e->dom = d;
	if (old && !--old->nr_eps)
		free_domain(v, old);
	dma_space_invalidate(e->as, 0, 0);
	/* One line per endpoint and domain: drivers attach rarely. */
	pr_info("virtio-iommu: endpoint %02x:%02x.%x attached to %s domain %u",
		e->id >> 8 & 0xff, e->id >> 3 & 0x1f, e->id & 7,
		bypass ? "bypass" : "translated", dom_id);
	return VIOMMU_S_OK;
}

static int do_detach(struct viommu *v, const struct viommu_req_detach *r)
{
	struct viommu_ep *e;

	if (!zero(r->reserved, sizeof(r->reserved)))
		return VIOMMU_S_INVAL;
	e = find_ep(v, le32toh(r->endpoint));
	if (!e)
		return VIOMMU_S_NOENT;
	if (!e->dom || e->dom->id != le32toh(r->domain))
		return VIOMMU_S_INVAL;
	detach_ep(v, e);
	return VIOMMU_S_OK;
}

static int do_map(struct viommu *v, const struct viommu_req_map *r)
{
	uint64_t start = le64toh(r->virt_start), end = le64toh(r->virt_end);
	uint64_t phys = le64toh(r->phys_start);
	uint32_t flags = le32toh(r->flags);
	struct viommu_domain *d;
	size_t i;

	/* No F_MMIO offered: the MMIO flag is as unknown as any other. */
	if (flags & ~(VIOMMU_MAP_F_READ | VIOMMU_MAP_F_WRITE))
		return VIOMMU_S_INVAL;
	d = find_domain(v, le32toh(r->domain));
	if (!d)
		return VIOMMU_S_NOENT;
	if (d->bypass)
		return VIOMMU_S_INVAL;
	if (start > end || end > v->p.input_end || (start & (GRANULE - 1)) ||
	    ((end + 1) & (GRANULE - 1)) || (phys & (GRANULE - 1)) ||
	    end - start > UINT64_MAX - phys)
		return VIOMMU_S_RANGE;
	i = lower_bound(d, start);
	if (i < d->nr && d->maps[i].start <= end)
		return VIOMMU_S_INVAL; /* overlaps a mapping */
	if (v->nr_maps >= VIOMMU_MAX_MAPPINGS)
		return VIOMMU_S_NOMEM;
	if (d->nr == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct viommu_map *m = realloc(d->maps, cap * sizeof(*m));

		if (!m)
			return VIOMMU_S_NOMEM;
		d->maps = m;
		d->cap = cap;
	}
	memmove(&d->maps[i + 1], &d->maps[i], (d->nr - i) * sizeof(*d->maps));
	d->maps[i] = (struct viommu_map){
		.start = start, .end = end, .phys = phys, .flags = flags
	};
	d->nr++;
	v->nr_maps++;
	/* Faulted before, translates now: a mirror maps it before we answer. */
	for (struct viommu_ep *e = v->eps; e; e = e->next)
		if (e->dom == d)
			dma_space_mapped(e->as, start,
					 end - start == UINT64_MAX ?
						 0 :
						 end - start + 1);
	if (!d->mapped) {
		d->mapped = true;
		pr_info("virtio-iommu: domain %u: first mapping iova %#llx-%#llx "
			"-> gpa %#llx",
			d->id, (unsigned long long)start,
			(unsigned long long)end, (unsigned long long)phys);
	}
	return VIOMMU_S_OK;
}

static int do_unmap(struct viommu *v, const struct viommu_req_unmap *r)
{
	uint64_t start = le64toh(r->virt_start), end = le64toh(r->virt_end);
	struct viommu_domain *d;
	size_t i, j;

	if (!zero(r->reserved, sizeof(r->reserved)))
		return VIOMMU_S_INVAL;
	d = find_domain(v, le32toh(r->domain));
	if (!d)
		return VIOMMU_S_NOENT;
	if (d->bypass)
		return VIOMMU_S_INVAL;
	if (start > end)
		return VIOMMU_S_RANGE;
	i = lower_bound(d, start);
	for (j = i; j < d->nr && d->maps[j].start <= end; j++)
		/* Mappings are never split: the request is refused whole. */
		if (d->maps[j].start < start || d->maps[j].end > end)
			return VIOMMU_S_RANGE;
	if (j == i)
		return VIOMMU_S_OK;
	memmove(&d->maps[i], &d->maps[j], (d->nr - j) * sizeof(*d->maps));
	d->nr -= j - i;
	v->nr_maps -= j - i;
	invalidate_domain(v, d, start,
			  end - start == UINT64_MAX ? 0 : end - start + 1);
	return VIOMMU_S_OK;
}

/* Fills @props (VIOMMU_PROBE_SIZE bytes, zeroed: ends with NONE). */
static int do_probe(struct viommu *v, const struct viommu_req_probe *r,
		    uint8_t *props)
{
	struct viommu_probe_resv_mem msi = {
		.type = htole16(VIOMMU_PROBE_T_RESV_MEM),
		.length = htole16(sizeof(msi) - 4),
		.subtype = VIOMMU_RESV_MEM_T_MSI,
		.start = htole64(v->p.msi_start),
		.end = htole64(v->p.msi_end),
	};

	if (!zero(r->reserved, sizeof(r->reserved)))
		return VIOMMU_S_INVAL;
	if (!find_ep(v, le32toh(r->endpoint)))
		return VIOMMU_S_NOENT;
	if (v->p.msi_start <= v->p.msi_end)
		memcpy(props, &msi, sizeof(msi));
	return VIOMMU_S_OK;
}

size_t viommu_request(struct viommu *v, const void *req, size_t rlen,
		      size_t wlen, uint8_t *out)
{
	static const size_t need[] = {
		[VIOMMU_T_ATTACH] = sizeof(struct viommu_req_attach),
		[VIOMMU_T_DETACH] = sizeof(struct viommu_req_detach),
		[VIOMMU_T_MAP] = sizeof(struct viommu_req_map),
		[VIOMMU_T_UNMAP] = sizeof(struct viommu_req_unmap),
		[VIOMMU_T_PROBE] = sizeof(struct viommu_req_probe),
	};
	const size_t tail = sizeof(struct viommu_req_tail);
	uint8_t buf[VIOMMU_REQ_MAX] = { 0 };
	size_t len = tail;
	uint8_t type;
	int st;

	if (wlen < tail)
		return 0;
	memset(out, 0, VIOMMU_RESP_MAX);
	memcpy(buf, req, rlen < sizeof(buf) ? rlen : sizeof(buf));
	type = buf[0];
	pthread_mutex_lock(&v->lock);
	if (rlen < sizeof(struct viommu_req_head))
		st = VIOMMU_S_INVAL;
	else if (type >= sizeof(need) / sizeof(need[0]) || !need[type] ||
		 (type == VIOMMU_T_PROBE &&
		  !(v->features >> VIOMMU_F_PROBE & 1)))
		st = VIOMMU_S_UNSUPP;
	else if (rlen < need[type])
		st = VIOMMU_S_INVAL;
	else if (type == VIOMMU_T_ATTACH)
		st = do_attach(v, (const void *)buf);
	else if (type == VIOMMU_T_DETACH)
		st = do_detach(v, (const void *)buf);
	else if (type == VIOMMU_T_MAP)
		st = do_map(v, (const void *)buf);
	else if (type == VIOMMU_T_UNMAP)
		st = do_unmap(v, (const void *)buf);
	else if (wlen < VIOMMU_RESP_MAX)
		st = VIOMMU_S_INVAL; /* no room for probe_size bytes */
	else {
		st = do_probe(v, (const void *)buf, out);
		len = VIOMMU_RESP_MAX;
		if (st)
			memset(out, 0, VIOMMU_PROBE_SIZE);
	}
	pthread_mutex_unlock(&v->lock);
	out[len - tail] = (uint8_t)st;
	return len;
}

/* Under the lock. */
static void record_fault(struct viommu *v, struct viommu_ep *e, uint8_t reason,
			 uint64_t iova, enum dma_dir dir)
{
	struct viommu_fault *f;
	uint32_t flags = VIOMMU_FAULT_F_ADDRESS;

	if (dir & DMA_READ)
		flags |= VIOMMU_FAULT_F_READ;
	if (dir & DMA_WRITE)
		flags |= VIOMMU_FAULT_F_WRITE;
	pr_debug_ratelimited(
		"viommu: endpoint %#x: %s fault at iova %#llx", e->id,
		reason == VIOMMU_FAULT_R_DOMAIN ? "domain" : "mapping",
		(unsigned long long)iova);
	if (v->nr_faults == VIOMMU_FAULT_RING) {
		v->lost++;
		return;
	}
	f = &v->faults[(v->fault_head + v->nr_faults++) % VIOMMU_FAULT_RING];
	*f = (struct viommu_fault){
		.reason = reason,
		.flags = htole32(flags),
		.endpoint = htole32(e->id),
		.address = htole64(iova),
	};
	if (v->fault)
		v->fault(v->fault_opaque);
}

bool viommu_take_fault(struct viommu *v, struct viommu_fault *f)
{
	bool got;

	pthread_mutex_lock(&v->lock);
	got = v->nr_faults;
	if (got) {
		*f = v->faults[v->fault_head];
		v->fault_head = (v->fault_head + 1) % VIOMMU_FAULT_RING;
		v->nr_faults--;
	}
	pthread_mutex_unlock(&v->lock);
	return got;
}

void viommu_ram_changed(void *viommu, uint64_t gpa, uint64_t len, bool added)
{
	struct viommu *v = viommu;

	pthread_mutex_lock(&v->lock);
	for (struct viommu_ep *e = v->eps; e; e = e->next) {
		if (!(e->dom ? e->dom->bypass : v->bypass))
			continue;
		if (added)
			dma_space_mapped(e->as, gpa, len);
		else
			dma_space_invalidate(e->as, gpa, len);
	}
	pthread_mutex_unlock(&v->lock);
}

uint64_t viommu_take_lost(struct viommu *v)
{
	uint64_t n;

	pthread_mutex_lock(&v->lock);
	n = v->lost;
	v->lost = 0;
	pthread_mutex_unlock(&v->lock);
	return n;
}

static int vi_translate(struct dma_space *as, uint64_t iova, uint64_t len,
			enum dma_dir dir, void **hva, uint64_t *contig)
{
	struct viommu_ep *e = as->opaque;
	struct viommu *v = e->v;
	struct viommu_domain *d;
	uint64_t gpa = iova, n = len;
	int ret = 0;

	if (!v)
		return -EFAULT;
	pthread_mutex_lock(&v->lock);
	d = e->dom;
	if (!d) {
		if (!v->bypass) {
			record_fault(v, e, VIOMMU_FAULT_R_DOMAIN, iova, dir);
			ret = -EFAULT;
		}
	} else if (!d->bypass) {
		size_t i = lower_bound(d, iova);
		const struct viommu_map *mp = i < d->nr ? &d->maps[i] : NULL;
		uint32_t want = (dir & DMA_READ ? VIOMMU_MAP_F_READ : 0) |
				(dir & DMA_WRITE ? VIOMMU_MAP_F_WRITE : 0);

		if (!mp || mp->start > iova) {
			record_fault(v, e, VIOMMU_FAULT_R_MAPPING, iova, dir);
			ret = -EFAULT;
		} else if ((mp->flags & want) != want) {
			record_fault(v, e, VIOMMU_FAULT_R_MAPPING, iova, dir);
			ret = -EACCES;
		} else {
			gpa = mp->phys + (iova - mp->start);
			n = mp->end - iova; /* bytes after iova's */
			n = n < len - 1 ? n + 1 : len;
		}
	}
	pthread_mutex_unlock(&v->lock);
	if (ret)
		return ret;
	/* -EFAULT: mapped to something that is not RAM. */
	return dma_ram_piece(as->mem, gpa, n, hva, contig);
}

/*
 * What @as's endpoint maps in [iova, iova + len - 1]: the identity for a
 * bypassing one, else its domain's mappings, cut to RAM.
 */
static int vi_replay(struct dma_space *as, uint64_t iova, uint64_t len,
		     dma_replay_fn *fn, void *arg)
{
	struct viommu_ep *e = as->opaque;
	struct viommu *v = e->v;
	uint64_t last = dma_last_byte(iova, len);
	struct viommu_domain *d;
	int ret = 0;

	if (!v)
		return 0;
	pthread_mutex_lock(&v->lock);
	d = e->dom;
	if (d ? d->bypass : v->bypass) {
		ret = dma_replay_translated(as->mem, iova, last, iova,
					    DMA_READ | DMA_WRITE, fn, arg);
	} else if (d) {
		for (size_t i = lower_bound(d, iova);
		     i < d->nr && d->maps[i].start <= last && !ret; i++) {
			const struct viommu_map *mp = &d->maps[i];
			uint64_t s = mp->start > iova ? mp->start : iova;
			uint64_t t = mp->end < last ? mp->end : last;
			enum dma_dir dir =
				(mp->flags & VIOMMU_MAP_F_READ ? DMA_READ : 0) |
				(mp->flags & VIOMMU_MAP_F_WRITE ? DMA_WRITE :
								  0);

			ret = dma_replay_translated(as->mem, s, t,
						    mp->phys + (s - mp->start),
						    dir, fn, arg);
		}
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static void vi_destroy(struct dma_space *as)
{
	struct viommu_ep *e = as->opaque;
	struct viommu *v = e->v;

	if (v) {
		pthread_mutex_lock(&v->lock);
		detach_ep(v, e);
		for (struct viommu_ep **pp = &v->eps; *pp; pp = &(*pp)->next) {
			if (*pp == e) {
				*pp = e->next;
				break;
			}
		}
		pthread_mutex_unlock(&v->lock);
	}
	free(e);
}

static const struct dma_ops vi_dma_ops = {
	.translate = vi_translate,
	.destroy = vi_destroy,
	.replay = vi_replay,
};

int viommu_dma_space_init(struct dma_space *as, struct viommu *v,
			  uint32_t endpoint)
{
	struct viommu_ep *e;

	pthread_mutex_lock(&v->lock);
	if (find_ep(v, endpoint)) {
		pthread_mutex_unlock(&v->lock);
		return -EEXIST;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		pthread_mutex_unlock(&v->lock);
		return -ENOMEM;
	}
	e->v = v;
	e->as = as;
	e->id = endpoint;
	dma_space_init(as, v->mem, &vi_dma_ops, e);
	e->next = v->eps;
	v->eps = e;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

size_t viommu_viot_build(void *body, size_t size, uint16_t segment,
			 uint16_t bdf)
{
	const uint16_t iommu_off = 36 + sizeof(struct viot_head);
	struct viot_virtio_pci node = {
		.type = VIOT_NODE_VIRTIO_IOMMU_PCI,
		.length = htole16(sizeof(node)),
		.segment = htole16(segment),
		.bdf = htole16(bdf),
	};
	struct viot_pci_range ranges[2];
	struct viot_head head = { .node_offset = htole16(iommu_off) };
	unsigned int n = 0;
	uint8_t *p = body;
	size_t len;

	/* Every BDF but the IOMMU's own: it does not translate itself. */
	if (bdf > 0)
		ranges[n++] = (struct viot_pci_range){ .bdf_start = 0,
						       .bdf_end = bdf - 1 };
	if (bdf < 0xffff)
		ranges[n++] = (struct viot_pci_range){ .bdf_start = bdf + 1,
						       .bdf_end = 0xffff };
	for (unsigned int i = 0; i < n; i++) {
		struct viot_pci_range *r = &ranges[i];

		r->type = VIOT_NODE_PCI_RANGE;
		r->length = htole16(sizeof(*r));
		r->endpoint_start = htole32(r->bdf_start);
		r->segment_start = r->segment_end = htole16(segment);
		r->bdf_start = htole16(r->bdf_start);
		r->bdf_end = htole16(r->bdf_end);
		r->output_node = htole16(iommu_off);
	}
	head.node_count = htole16(1 + n);
	len = sizeof(head) + sizeof(node) + n * sizeof(ranges[0]);
	if (size < len)
		return 0;
	memcpy(p, &head, sizeof(head));
	memcpy(p + sizeof(head), &node, sizeof(node));
	memcpy(p + sizeof(head) + sizeof(node), ranges, n * sizeof(ranges[0]));
	return len;
}
