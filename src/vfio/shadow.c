// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow of a guest IOMMU domain in a VFIO container.
 *
 * Every change the guest makes to a device's mappings comes with an
 * invalidation (caching mode, or virtio-iommu's requests), and an
 * invalidation may name far more than changed: Linux rounds a range up to
 * a power-of-two mask aligned to it, or flushes the whole domain. The
 * device meanwhile DMAs to its other buffers, so a mapping that still
 * translates the same must never leave the container, not even for the
 * moment an unmap and a map take: the device's DMA there would fault
 * (an NVMe write fails with a data transfer error). So a sync compares:
 * it replays the range and unmaps only what the guest changed or
 * removed, then maps only what is new: a container mapping that one
 * replayed piece still translates as it does stays, and only the rest of
 * that piece is mapped beside it.
 */
#include "vfio/shadow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"
#include "util/log.h"

struct collected {
	struct shadow_map *v;
	unsigned int n, cap, max;
	bool over;
};

static int collect(void *arg, uint64_t iova, uint64_t len, void *hva,
		   enum dma_dir dir)
{
	struct collected *c = arg;
	unsigned int i;

	/* RAM and IOMMU pages are page aligned; anything else cannot map. */
	if (!dir || ((iova | len | (uintptr_t)hva) & 4095))
		return 0;
	if (c->n == c->max) {
		c->over = true;
		return -ENOSPC;
	}
	if (c->n == c->cap) {
		unsigned int cap = c->cap ? 2 * c->cap : 64;
		struct shadow_map *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	/*
	 * Replays come in IOVA order; anything else is put in place (no
	 * qsort: glibc's calls sysinfo, which the vCPU filter refuses).
	 */
	for (i = c->n; i && c->v[i - 1].iova > iova; i--)
		;
	memmove(&c->v[i + 1], &c->v[i], (c->n - i) * sizeof(*c->v));
	c->v[i] = (struct shadow_map){ iova, len, hva, dir };
	c->n++;
	return 0;
}

static uint64_t last_of(const struct shadow_map *m)
{
	return m->iova + m->len - 1;
}

/* @r translates all of @m as @m does (a replay's piece may be larger). */
static bool covers(const struct shadow_map *r, const struct shadow_map *m)
{
	return r->iova <= m->iova && last_of(m) <= last_of(r) &&
	       (char *)r->hva + (m->iova - r->iova) == (char *)m->hva &&
	       r->dir == m->dir;
}

/* Maps [iova, last] of replayed piece @r into @out unless at the limit. */
static void map_piece(struct shadow *s, const struct shadow_map *r,
		      uint64_t iova, uint64_t last, struct shadow_map *out,
		      unsigned int *n, unsigned int after, bool *over)
{
	struct shadow_map m = { iova, last - iova + 1,
				(char *)r->hva + (iova - r->iova), r->dir };
	int ret;

	if (*n + after >= s->max) {
		*over = true;
		return;
	}
	ret = s->ops->map(s->opaque, m.iova, m.len, m.hva, m.dir);
	if (ret) {
		pr_warn_ratelimited("%s: VFIO map %#llx+%#llx: %s", s->name,
				    (unsigned long long)m.iova,
				    (unsigned long long)m.len, strerror(-ret));
		return;
	}
	s->maps_done++;
	out[(*n)++] = m;
}

static void unmap_one(struct shadow *s, const struct shadow_map *m)
{
	int ret = s->ops->unmap(s->opaque, m->iova, m->len);

	if (ret)
		pr_warn_ratelimited("%s: VFIO unmap %#llx+%#llx: %s", s->name,
				    (unsigned long long)m->iova,
				    (unsigned long long)m->len, strerror(-ret));
}

/* Out of memory for the new list: what [a, b) held is unmapped, dropped. */
static void drop(struct shadow *s, unsigned int a, unsigned int b)
{
	for (unsigned int i = a; i < b; i++)
		unmap_one(s, &s->maps[i]);
	if (s->nr > b)
		memmove(&s->maps[a], &s->maps[b],
			(s->nr - b) * sizeof(*s->maps));
	s->nr -= b - a;
	pr_warn_once("%s: out of memory mirroring the guest's IOMMU; DMA to "
		     "ranges it changed fails",
		     s->name);
}

void shadow_sync(struct shadow *s, uint64_t lo, uint64_t hi)
{
	struct collected c = { .max = s->max };
	struct shadow_map *out;
	unsigned int a, b, i, j, n;

	/* Whole pages: a replay clipped inside one could not be mapped. */
	lo &= ~4095ull;
	hi |= 4095;
	pthread_mutex_lock(&s->lock);
	s->syncs++;
	/* [a, b): the mappings that touch [lo, hi]. */
	for (a = 0, b = s->nr; a < b;) {
		unsigned int mid = a + (b - a) / 2;

		if (last_of(&s->maps[mid]) < lo)
			a = mid + 1;
		else
			b = mid;
	}
	for (b = a; b < s->nr && s->maps[b].iova <= hi; b++)
		;
	/* VFIO unmaps whole mappings: the range grows to them. */
	if (a < b) {
		if (s->maps[a].iova < lo)
			lo = s->maps[a].iova;
		if (last_of(&s->maps[b - 1]) > hi)
			hi = last_of(&s->maps[b - 1]);
	}
	/* (The whole space, hi - lo + 1 == 0, is what a length of 0 says.) */
	dma_space_replay(s->dma, lo, hi - lo + 1, collect, &c);

	/* Each kept one can split a piece in two: one more gap apiece. */
	n = s->nr + (b - a) + c.n;
	out = malloc((n ? n : 1) * sizeof(*out));
	if (!out) {
		drop(s, a, b);
		goto unlock;
	}
	/*
	 * Gone or changed: out first, since what replaces it may overlap.
	 * Kept (still translated as it is by one replayed piece) stays in
	 * s->maps[a, b) and is marked by a zero length in its place below.
	 */
	for (i = a, j = 0; i < b; i++) {
		while (j + 1 < c.n && c.v[j + 1].iova <= s->maps[i].iova)
			j++;
		if (j < c.n && covers(&c.v[j], &s->maps[i])) {
			s->kept++;
		} else {
			unmap_one(s, &s->maps[i]);
			s->unmaps_done++;
			s->maps[i].len = 0;
		}
	}
	if (a) /* (s->maps is NULL while empty) */
		memcpy(out, s->maps, a * sizeof(*out));
	n = a;
	/* Each replayed piece: what it covers of the kept, the gaps mapped. */
	for (i = a, j = 0; j < c.n; j++) {
		const struct shadow_map *r = &c.v[j];
		uint64_t cur = r->iova;

		for (; i < b && s->maps[i].iova <= last_of(r); i++) {
			const struct shadow_map *k = &s->maps[i];

			if (!k->len || k->iova < r->iova)
				continue;
			if (k->iova > cur)
				map_piece(s, r, cur, k->iova - 1, out, &n,
					  s->nr - b, &c.over);
			out[n++] = *k;
			cur = last_of(k) + 1;
		}
		if (cur - 1 != last_of(r))
			map_piece(s, r, cur, last_of(r), out, &n, s->nr - b,
				  &c.over);
	}
	if (s->nr > b)
		memcpy(&out[n], &s->maps[b], (s->nr - b) * sizeof(*out));
	n += s->nr - b;
	free(s->maps);
	s->maps = out;
	s->nr = n;
	if (c.over && !s->full_logged) {
		pr_err("%s: the guest maps more than %u ranges for it; DMA "
		       "beyond them fails",
		       s->name, s->max);
		s->full_logged = true;
	}
unlock:
	pthread_mutex_unlock(&s->lock);
	free(c.v);
}

static void on_invalidate(struct dma_notifier *n, uint64_t iova, uint64_t len)
{
	shadow_sync(container_of(n, struct shadow, notifier), iova,
		    dma_last_byte(iova, len));
}

void shadow_init(struct shadow *s, struct dma_space *dma,
		 const struct shadow_ops *ops, void *opaque, const char *name,
		 unsigned int max)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->opaque = opaque;
	s->name = name;
	s->dma = dma;
	s->max = max;
	pthread_mutex_init(&s->lock, NULL);
	/* A new mapping is a change like any other. */
	s->notifier.invalidate = on_invalidate;
	s->notifier.mapped = on_invalidate;
	dma_notifier_add(dma, &s->notifier);
	shadow_sync(s, 0, UINT64_MAX);
}

void shadow_destroy(struct shadow *s)
{
	if (!s->dma)
		return;
	dma_notifier_del(s->dma, &s->notifier);
	pthread_mutex_lock(&s->lock);
	pr_info("%s: the guest's IOMMU changed %lu times: %lu mappings made, "
		"%lu removed, %lu left in place",
		s->name, s->syncs, s->maps_done, s->unmaps_done, s->kept);
	for (unsigned int i = 0; i < s->nr; i++)
		unmap_one(s, &s->maps[i]);
	free(s->maps);
	s->maps = NULL;
	s->nr = 0;
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	s->dma = NULL;
}
