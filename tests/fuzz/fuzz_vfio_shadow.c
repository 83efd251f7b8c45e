// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow of a guest IOMMU domain in a VFIO container (vfio/shadow.c):
 * the input changes a model of the guest's mappings (16 slots of up to 16
 * pages, each mapped somewhere with some permissions or not at all) and
 * invalidates ranges of it, narrow, wide or whole. A model container
 * stands in for VFIO's and aborts where VFIO would refuse: a map over an
 * existing mapping, an unmap that is not exactly one. Checked after each
 * sync: the shadow's list is sorted and apart and is the container's; no
 * mapping the guest left as it was was unmapped; after a whole-space
 * invalidation the container maps all the model maps, as it maps it. A small limit (40) on
 * mappings makes the full container part of the game.
 */
#include <stdlib.h>
#include <string.h>

#include "kvm/dma.h"
#include "util/log.h"
#include "vfio/shadow.h"

#include "fuzz.h"

#define PAGE 4096ull
#define SLOTS 16
#define SLOT_PAGES 16
#define LIMIT 40
#define HVA(p) ((void *)(0x7f0000000000ull + (p)*PAGE))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The guest's mappings: slot k maps [k * 16 pages, + len) or nothing. */
static struct shadow_map table[SLOTS];

/* The model container. */
static struct shadow_map box[LIMIT + 1];
static unsigned int nr_box;
static bool destroying; /* then everything leaves */

static int model_replay(struct dma_space *as, uint64_t iova, uint64_t len,
			dma_replay_fn *fn, void *arg)
{
	uint64_t last = dma_last_byte(iova, len);

	for (unsigned int k = 0; k < SLOTS; k++) {
		const struct shadow_map *m = &table[k];
		uint64_t s, e;
		int ret;

		if (!m->len)
			continue;
		s = m->iova > iova ? m->iova : iova;
		e = m->iova + m->len - 1 < last ? m->iova + m->len - 1 : last;
		if (s > e)
			continue;
		ret = fn(arg, s, e - s + 1, (char *)m->hva + (s - m->iova),
			 m->dir);
		if (ret)
			return ret;
	}
	return 0;
}

static const struct dma_ops model_ops = { .replay = model_replay };

/* Whether [iova, iova + len) translates as @m says in the model now. */
static bool unchanged(const struct shadow_map *m)
{
	for (unsigned int k = 0; k < SLOTS; k++) {
		const struct shadow_map *t = &table[k];

		if (t->len && m->iova >= t->iova &&
		    m->iova + m->len <= t->iova + t->len)
			return t->dir == m->dir &&
			       (char *)t->hva + (m->iova - t->iova) == m->hva;
	}
	return false;
}

static int box_map(void *opaque, uint64_t iova, uint64_t len, void *hva,
		   enum dma_dir dir)
{
	for (unsigned int i = 0; i < nr_box; i++)
		if (iova < box[i].iova + box[i].len && box[i].iova < iova + len)
			abort(); /* VFIO: EEXIST */
	if (nr_box == LIMIT)
		abort(); /* the shadow keeps to its limit */
	box[nr_box++] = (struct shadow_map){ iova, len, hva, dir };
	return 0;
}

static int box_unmap(void *opaque, uint64_t iova, uint64_t len)
{
	for (unsigned int i = 0; i < nr_box; i++) {
		if (box[i].iova != iova || box[i].len != len)
			continue;
		/* Only what the guest changed or removed leaves. */
		if (!destroying && unchanged(&box[i]))
			abort();
		box[i] = box[--nr_box];
		return 0;
	}
	abort(); /* not one mapping: VFIO would refuse or split nothing */
}

static const struct shadow_ops box_ops = { .map = box_map, .unmap = box_unmap };

static bool in_box(const struct shadow_map *m)
{
	for (unsigned int i = 0; i < nr_box; i++)
		if (box[i].iova == m->iova && box[i].len == m->len &&
		    box[i].hva == m->hva && box[i].dir == m->dir)
			return true;
	return false;
}

static void check(const struct shadow *s, bool whole)
{
	uint64_t want = 0, have = 0;

	if (s->nr != nr_box)
		abort();
	for (unsigned int i = 0; i < s->nr; i++) {
		if (i &&
		    s->maps[i - 1].iova + s->maps[i - 1].len > s->maps[i].iova)
			abort();
		if (!in_box(&s->maps[i]))
			abort();
	}
	if (!whole)
		return;
	/*
	 * All of it mirrored, each mapping as the model translates it (a
	 * slot may be several mappings: one kept, the rest beside it),
	 * unless the container is full.
	 */
	for (unsigned int k = 0; k < SLOTS; k++)
		want += table[k].dir ? table[k].len : 0;
	for (unsigned int i = 0; i < s->nr; i++) {
		if (!unchanged(&s->maps[i]))
			abort();
		have += s->maps[i].len;
	}
	if (s->nr < LIMIT && have != want)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };
	struct dma_space as;
	struct shadow s;

	log_level = getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_QUIET;
	memset(table, 0, sizeof(table));
	nr_box = 0;
	destroying = false;
	dma_space_init(&as, NULL, &model_ops, NULL);
	shadow_init(&s, &as, &box_ops, NULL, "fuzz", LIMIT);
	while (!fz_done(&in)) {
		uint8_t op = fz_u8(&in), k = fz_u8(&in) % SLOTS;
		uint64_t lo, len;

		switch (op % 4) {
		case 0: /* map slot k (again): length, memory, permissions */
			table[k] = (struct shadow_map){
				.iova = k * SLOT_PAGES * PAGE,
				.len = (1 + fz_u8(&in) % SLOT_PAGES) * PAGE,
				.hva = HVA(fz_u8(&in) % 64),
				.dir = fz_u8(&in) % 4,
			};
			break;
		case 1: /* unmap slot k */
			table[k].len = 0;
			break;
		case 2: /* invalidate a range, in bytes, maybe unaligned */
			lo = fz_u16(&in) * 64ull;
			len = fz_u16(&in) * 64ull;
			dma_space_invalidate(&as, lo, len);
			check(&s, !len && !lo);
			break;
		default: /* a new-mapping notice (caching mode, plugged RAM) */
			lo = (uint64_t)k * SLOT_PAGES * PAGE;
			dma_space_mapped(&as, lo, SLOT_PAGES * PAGE);
			check(&s, false);
			break;
		}
	}
	dma_space_invalidate(&as, 0, 0);
	check(&s, true);
	destroying = true;
	shadow_destroy(&s);
	if (nr_box)
		abort();
	dma_space_destroy(&as);
	return 0;
}
