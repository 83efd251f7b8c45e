// SPDX-License-Identifier: GPL-2.0
/*
 * A device's DMA address space behind a VT-d unit: each piece is one
 * translation, cut at the end of its page (or superpage) and of the RAM
 * region the guest physical address lies in.
 */
#include <errno.h>
#include <stdlib.h>

#include "iommu/vtd_internal.h"
#include "kvm/memory.h"

static int vtd_dma_translate(struct dma_space *as, uint64_t iova, uint64_t len,
			     enum dma_dir dir, void **hva, uint64_t *contig)
{
	struct vtd_port *p = as->opaque;
	struct vtd_xlate x;
	uint64_t n;

	if (!p->vtd)
		return -EFAULT;
	if (vtd_translate(p->vtd, p->sid, iova, dir, &x))
		return x.perm ? -EACCES : -EFAULT;
	/* Bytes left in the page; a page_mask of all ones is no limit. */
	n = x.page_mask - (iova & x.page_mask);
	n = n < len - 1 ? n + 1 : len;
	/* -EFAULT: translated to something that is not RAM. */
	return dma_ram_piece(as->mem, x.gpa, n, hva, contig);
}

struct replay_arg {
	const struct guest_mem *mem;
	dma_replay_fn *fn;
	void *arg;
};

/* A translated piece, cut to the RAM it lands in (the rest is not RAM). */
static int replay_piece(void *a, uint64_t iova, uint64_t last, uint64_t gpa,
			uint8_t perm)
{
	const struct replay_arg *ra = a;

	return dma_replay_translated(ra->mem, iova, last, gpa,
				     (perm & VTD_PERM_R ? DMA_READ : 0) |
					     (perm & VTD_PERM_W ? DMA_WRITE :
								  0),
				     ra->fn, ra->arg);
}

static int vtd_dma_replay(struct dma_space *as, uint64_t iova, uint64_t len,
			  dma_replay_fn *fn, void *arg)
{
	struct vtd_port *p = as->opaque;
	struct replay_arg ra = { .mem = as->mem, .fn = fn, .arg = arg };
	uint64_t last = dma_last_byte(iova, len);

	if (!p->vtd)
		return 0;
	return vtd_replay(p->vtd, p->sid, iova, last, replay_piece, &ra);
}

static void vtd_dma_destroy(struct dma_space *as)
{
	struct vtd_port *p = as->opaque;
	struct vtd *v = p->vtd;

	if (v) {
		pthread_mutex_lock(&v->lock);
		for (struct vtd_port **pp = &v->ports; *pp; pp = &(*pp)->next) {
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		}
		pthread_mutex_unlock(&v->lock);
	}
	free(p);
}

static const struct dma_ops vtd_dma_ops = {
	.translate = vtd_dma_translate,
	.destroy = vtd_dma_destroy,
	.replay = vtd_dma_replay,
};

int vtd_dma_space_init(struct dma_space *as, struct vtd *v, uint16_t sid)
{
	struct vtd_port *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->vtd = v;
	p->as = as;
	p->sid = sid;
	dma_space_init(as, v->mem, &vtd_dma_ops, p);
	pthread_mutex_lock(&v->lock);
	p->next = v->ports;
	v->ports = p;
	/*
	 * A function added while translation is on has no context entry
	 * yet, so no walk will name it; until one does, every invalidation
	 * of its source id or of any domain reaches it (its VFIO shadow
	 * must hear the guest's first mappings).
	 */
	vtd_endpoint_seen(v, sid, -1);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

void vtd_dma_space_destroy(struct dma_space *as)
{
	dma_space_destroy(as);
}
