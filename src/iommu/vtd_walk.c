// SPDX-License-Identifier: GPL-2.0
/*
 * VT-d translation of requests without PASID: root and context entries
 * (legacy and scalable mode; scalable mode goes on through the PASID
 * directory and table entries of PASID 0, the RID_PASID), then the
 * second-level page tables, 3 or 4 levels with 2 MiB and 1 GiB pages.
 *
 * Every entry is copied out of guest RAM once (guest_read(): an entry
 * outside RAM is an access fault, never a host access) and checked from
 * the copy. A walk reads at most 2 + 2 + 4 entries: nothing loops.
 */
#include <errno.h>
#include <string.h>

#include "iommu/vtd_internal.h"
#include "kvm/memory.h"

#define VTD_INTR_FIRST 0xfee00000ull
#define VTD_INTR_LAST 0xfeefffffull

/* A fault reason and, past the context entry, whether it is suppressed. */
static int fault(struct vtd *v, uint16_t sid, uint64_t iova, enum dma_dir dir,
		 uint8_t reason, bool fpd)
{
	/*
	 * With FPD set in an entry the walk went through, the faults found
	 * there or further on ("qualified" faults) fail the request without
	 * being recorded. Faults before the context entry was read are not
	 * qualified.
	 */
	if (!fpd)
		vtd_record_fault(v, sid, iova, reason, !(dir & DMA_WRITE));
	return reason;
}

static int resolve_legacy(struct vtd *v, uint16_t sid, struct vtd_ctx *c,
			  bool *fpd)
{
	unsigned int bus = sid >> 8, devfn = sid & 0xff, tt, aw;
	uint64_t re[2], ce[2];

	if (guest_read(v->mem, v->rta + bus * 16, re, sizeof(re)))
		return VTD_FR_ROOT_ACCESS;
	if (!(re[0] & VTD_RE_P))
		return VTD_FR_ROOT_P;
	if ((re[0] & 0xffe) || (re[0] & ~VTD_HAW_MASK) || re[1])
		return VTD_FR_ROOT_RSVD;
	if (guest_read(v->mem, (re[0] & VTD_PAGE_MASK) + devfn * 16, ce,
		       sizeof(ce)))
		return VTD_FR_CTX_ACCESS;
	/* From here on the entry's FPD applies, even to its P bit. */
	*fpd = ce[0] & VTD_CE_FPD;
	if (!(ce[0] & VTD_CE_P))
		return VTD_FR_CTX_P;
	tt = (ce[0] & VTD_CE_TT_MASK) >> VTD_CE_TT_SHIFT;
	if ((ce[0] & 0xff0) || (ce[1] & 0xffffffffff000080ull) ||
	    (tt != VTD_CE_TT_PT && (ce[0] & ~VTD_HAW_MASK)))
		return VTD_FR_CTX_RSVD;
	c->did = ce[1] >> 8;
	switch (tt) {
	case VTD_CE_TT_SL:
		aw = ce[1] & 7;
		if (aw != VTD_CE_AW_39 && aw != VTD_CE_AW_48)
			return VTD_FR_CTX_INV; /* not in SAGAW */
		c->levels = aw + 2;
		c->slptptr = ce[0] & VTD_PAGE_MASK;
		return 0;
	case VTD_CE_TT_PT:
		c->pt = true;
		return 0;
	default: /* device-TLB (ECAP.DT = 0) or reserved */
		return VTD_FR_CTX_INV;
	}
}

static int resolve_scalable(struct vtd *v, uint16_t sid, struct vtd_ctx *c,
			    bool *fpd)
{
	unsigned int bus = sid >> 8, devfn = sid & 0xff, pgtt, aw;
	const uint32_t pasid = 0; /* RID_PASID: ECAP.RPS = 0 */
	uint64_t re[2], ce[4], de, pe[8], half;

	if (guest_read(v->mem, v->rta + bus * 16, re, sizeof(re)))
		return VTD_FR_SM_ROOT_ACCESS;
	/* Lower half: devfn 0-127, upper half: 128-255. */
	half = re[devfn >> 7];
	if (!(half & VTD_RE_P))
		return VTD_FR_SM_ROOT_P;
	if ((half & 0xffe) || (half & ~VTD_HAW_MASK))
		return VTD_FR_SM_ROOT_RSVD;
	if (guest_read(v->mem, (half & VTD_PAGE_MASK) + (devfn & 0x7f) * 32, ce,
		       sizeof(ce)))
		return VTD_FR_SM_CTX_ACCESS;
	*fpd = ce[0] & VTD_SCE_FPD;
	if (!(ce[0] & VTD_SCE_P))
		return VTD_FR_SM_CTX_P;
	/*
	 * DTE, PASIDE and PRE are reserved without DT, PASID and PRS;
	 * RID_PASID and RID_PRIV without RPS and RPRIVS.
	 */
	if ((ce[0] & (VTD_SCE_DTE | VTD_SCE_PASIDE | VTD_SCE_PRE | 0x1e0)) ||
	    (ce[0] & ~VTD_HAW_MASK) || ce[1] || ce[2] || ce[3])
		return VTD_FR_SM_CTX_RSVD;

	if (guest_read(v->mem, (ce[0] & VTD_PAGE_MASK) + (pasid >> 6) * 8, &de,
		       sizeof(de)))
		return VTD_FR_SM_PDIR_ACCESS;
	*fpd |= de & VTD_PDE_FPD;
	if (!(de & VTD_PDE_P))
		return VTD_FR_SM_PDIR_P;
	if ((de & 0xffc) || (de & ~VTD_HAW_MASK))
		return VTD_FR_SM_PDIR_RSVD;

	if (guest_read(v->mem, (de & VTD_PAGE_MASK) + (pasid & 0x3f) * 64, pe,
		       sizeof(pe)))
		return VTD_FR_SM_PTE_ACCESS;
	*fpd |= pe[0] & VTD_PTE_FPD;
	if (!(pe[0] & VTD_PTE_P))
		return VTD_FR_SM_PTE_P;
	/*
	 * Reserved: 11:10 and SLADE (no SLADS) in qword 0, 22:16 in qword 1,
	 * 11:8 in qword 2, qwords 3-7. The memory-type and snoop fields of
	 * qword 1 and the first-level fields of qword 2 are not used.
	 */
	if ((pe[0] & (0xc00 | VTD_PTE_SLADE)) || (pe[1] & 0x7f0000) ||
	    (pe[2] & 0xf00) || pe[3] || pe[4] || pe[5] || pe[6] || pe[7])
		return VTD_FR_SM_PTE_RSVD;
	c->did = pe[1] & 0xffff;
	pgtt = (pe[0] >> 6) & 7;
	switch (pgtt) {
	case VTD_PGTT_SL:
		aw = (pe[0] >> 2) & 7;
		if (aw != VTD_CE_AW_39 && aw != VTD_CE_AW_48)
			return VTD_FR_SM_PTE_INV;
		if (pe[0] & ~VTD_HAW_MASK)
			return VTD_FR_SM_PTE_RSVD;
		c->levels = aw + 2;
		c->slptptr = pe[0] & VTD_PAGE_MASK;
		return 0;
	case VTD_PGTT_PT:
		c->pt = true;
		return 0;
	default: /* first-level, nested (not supported) or reserved */
		return VTD_FR_SM_PTE_INV;
	}
}

static struct vtd_ctx *ctx_lookup(struct vtd *v, uint16_t sid)
{
	for (unsigned int i = 0; i < VTD_CTX_CACHE_SIZE; i++) {
		if (v->ctx[i].valid && v->ctx[i].sid == sid)
			return &v->ctx[i];
	}
	return NULL;
}

static struct vtd_ctx *ctx_insert(struct vtd *v, const struct vtd_ctx *c)
{
	struct vtd_ctx *slot = NULL;

	for (unsigned int i = 0; i < VTD_CTX_CACHE_SIZE && !slot; i++) {
		if (!v->ctx[i].valid)
			slot = &v->ctx[i];
	}
	if (!slot) {
		slot = &v->ctx[v->ctx_victim];
		v->ctx_victim = (v->ctx_victim + 1) % VTD_CTX_CACHE_SIZE;
	}
	*slot = *c;
	return slot;
}

static unsigned int iotlb_index(uint16_t did, uint64_t iova, unsigned int shift)
{
	uint64_t h = (iova >> shift) * 0x9e3779b97f4a7c15ull;

	h ^= (uint64_t)did * 0xff51afd7ed558ccdull + shift;
	return (h ^ (h >> 29)) % VTD_IOTLB_SIZE;
}

static const struct vtd_iotlb *iotlb_lookup(struct vtd *v, uint16_t did,
					    uint64_t iova)
{
	static const unsigned int shifts[] = { 12, 21, 30 };

	for (unsigned int i = 0; i < 3; i++) {
		unsigned int s = shifts[i];
		const struct vtd_iotlb *e =
			&v->iotlb[iotlb_index(did, iova, s)];

		if (e->valid && e->did == did && e->shift == s &&
		    e->iova == (iova & ~((1ull << s) - 1)))
			return e;
	}
	return NULL;
}

/* Reserved bits of a present second-level entry at @level. */
static uint64_t sl_rsvd(unsigned int level, bool ps)
{
	/* Above HAW (51:48), TM (no DT), SNP (no SC). */
	uint64_t r = 0x000f000000000000ull | VTD_SL_TM | VTD_SL_SNP;

	if (level == 4)
		r |= VTD_SL_PS;
	else if (level == 3 && ps)
		r |= 0x3ffff000ull; /* a 1 GiB frame is 1 GiB aligned */
	else if (level == 2 && ps)
		r |= 0x1ff000ull;
	return r;
}

static int sl_walk(struct vtd *v, const struct vtd_ctx *c, uint64_t iova,
		   enum dma_dir dir, struct vtd_iotlb *out)
{
	uint64_t table = c->slptptr;
	uint8_t perm = VTD_PERM_R | VTD_PERM_W;

	for (unsigned int level = c->levels; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (level - 1);
		uint64_t pte;
		bool leaf;

		if (guest_read(v->mem, table + ((iova >> shift) & 511) * 8,
			       &pte, sizeof(pte)))
			return c->scalable ? VTD_FR_SM_SL_ACCESS :
					     VTD_FR_SL_ACCESS;
		if (!(pte & (VTD_SL_R | VTD_SL_W))) {
			if (c->scalable)
				return VTD_FR_SM_SL_P;
			return dir & DMA_WRITE ? VTD_FR_WRITE : VTD_FR_READ;
		}
		leaf = level == 1 || (level <= 3 && (pte & VTD_SL_PS));
		if (pte & sl_rsvd(level, pte & VTD_SL_PS))
			return c->scalable ? VTD_FR_SM_SL_RSVD : VTD_FR_SL_RSVD;
		perm &= pte & (VTD_SL_R | VTD_SL_W);
		table = pte & VTD_HAW_MASK & VTD_PAGE_MASK;
		if (leaf) {
			out->valid = true;
			out->shift = shift;
			out->perm = perm;
			out->did = c->did;
			out->iova = iova & ~((1ull << shift) - 1);
			out->gpa = table & ~((1ull << shift) - 1);
			return 0;
		}
	}
	return c->scalable ? VTD_FR_SM_SL_ACCESS : VTD_FR_SL_ACCESS;
}

void vtd_endpoint_seen(struct vtd *v, uint16_t sid, int32_t did)
{
	for (unsigned int i = 0; i < v->nr_ep; i++) {
		if (v->ep[i].sid == sid) {
			v->ep[i].did = did;
			return;
		}
	}
	if (v->nr_ep == VTD_MAX_ENDPOINTS) {
		v->ep_overflow = true;
		return;
	}
	v->ep[v->nr_ep++] = (struct vtd_endpoint){ .sid = sid, .did = did };
}

int vtd_translate_locked(struct vtd *v, uint16_t sid, uint64_t iova,
			 enum dma_dir dir, struct vtd_xlate *out)
{
	/* A request that names neither direction is taken as a read. */
	uint8_t need = (dir & DMA_WRITE ? VTD_PERM_W : 0) |
		       (dir & DMA_READ || !(dir & DMA_WRITE) ? VTD_PERM_R : 0);
	const struct vtd_iotlb *e;
	struct vtd_iotlb walked;
	const struct vtd_ctx *c;
	uint64_t gpa;
	int r;

	memset(out, 0, sizeof(*out));
	if (!(v->gsts & VTD_GSTS_TES)) {
		vtd_endpoint_seen(v, sid, -1);
		out->gpa = iova;
		out->page_mask = UINT64_MAX;
		out->perm = VTD_PERM_R | VTD_PERM_W;
		return 0;
	}

	c = ctx_lookup(v, sid);
	if (!c) {
		struct vtd_ctx n = { .valid = true, .sid = sid };
		bool fpd = false;

		if (v->ttm == VTD_TTM_LEGACY)
			r = resolve_legacy(v, sid, &n, &fpd);
		else if (v->ttm == VTD_TTM_SCALABLE)
			r = resolve_scalable(v, sid, &n, &fpd);
		else
			r = VTD_FR_RTADDR_TTM; /* reserved, or abort-DMA */
		if (r)
			return fault(v, sid, iova, dir, r, fpd);
		n.fpd = fpd;
		n.scalable = v->ttm == VTD_TTM_SCALABLE;
		c = ctx_insert(v, &n);
	}
	vtd_endpoint_seen(v, sid, c->did);

	if (c->pt) {
		if (iova >> VTD_HAW)
			return fault(v, sid, iova, dir,
				     c->scalable ? VTD_FR_SM_ADDR_BEYOND :
						   VTD_FR_ADDR_BEYOND,
				     c->fpd);
		out->gpa = iova;
		out->page_mask = UINT64_MAX;
		out->perm = VTD_PERM_R | VTD_PERM_W;
		return 0;
	}

	if (iova >> (12 + 9 * c->levels))
		return fault(v, sid, iova, dir,
			     c->scalable ? VTD_FR_SM_ADDR_BEYOND :
					   VTD_FR_ADDR_BEYOND,
			     c->fpd);
	e = iotlb_lookup(v, c->did, iova);
	if (!e) {
		memset(&walked, 0, sizeof(walked));
		r = sl_walk(v, c, iova, dir, &walked);
		if (r)
			return fault(v, sid, iova, dir, r, c->fpd);
		e = &walked;
	}
	if (need & ~e->perm) {
		out->perm = e->perm;
		if (need & ~e->perm & VTD_PERM_W)
			r = c->scalable ? VTD_FR_SM_WRITE : VTD_FR_WRITE;
		else
			r = c->scalable ? VTD_FR_SM_READ : VTD_FR_READ;
		return fault(v, sid, iova, dir, r, c->fpd);
	}
	gpa = e->gpa | (iova & ((1ull << e->shift) - 1));
	if (gpa >= VTD_INTR_FIRST && gpa <= VTD_INTR_LAST)
		return fault(v, sid, iova, dir,
			     c->scalable ? VTD_FR_SM_INTR_ADDR :
					   VTD_FR_INTR_ADDR,
			     c->fpd);
	/* Caching mode 0: only translations that worked are cached. */
	if (e == &walked)
		v->iotlb[iotlb_index(e->did, e->iova, e->shift)] = walked;
	out->gpa = gpa;
	out->page_mask = (1ull << e->shift) - 1;
	out->perm = e->perm;
	return 0;
}

/* Replay ----------------------------------------------------------------- */

/* A hostile table cannot keep a replay going: this many entries at most. */
#define VTD_REPLAY_MAX_READS (1u << 20)

struct replay {
	struct vtd *v;
	uint64_t lo, hi;
	vtd_replay_fn *fn;
	void *arg;
	unsigned int reads;
};

static int replay_level(struct replay *rp, uint64_t table, unsigned int level,
			uint64_t base, uint8_t perm)
{
	unsigned int shift = 12 + 9 * (level - 1);

	for (unsigned int i = 0; i < 512; i++) {
		uint64_t start = base + ((uint64_t)i << shift);
		uint64_t end = start + ((1ull << shift) - 1);
		uint64_t pte, addr;
		bool ps, leaf;
		uint8_t p;
		int r;

		if (end < rp->lo)
			continue;
		if (start > rp->hi)
			break;
		if (++rp->reads > VTD_REPLAY_MAX_READS)
			return -E2BIG;
		if (guest_read(rp->v->mem, table + i * 8, &pte, sizeof(pte)) ||
		    !(pte & (VTD_SL_R | VTD_SL_W)))
			continue;
		ps = pte & VTD_SL_PS;
		if (pte & sl_rsvd(level, ps))
			continue; /* a DMA there faults: nothing to mirror */
		leaf = level == 1 || (level <= 3 && ps);
		p = perm & (pte & (VTD_SL_R | VTD_SL_W));
		addr = pte & VTD_HAW_MASK & VTD_PAGE_MASK;
		if (leaf) {
			uint64_t s = start > rp->lo ? start : rp->lo;
			uint64_t e = end < rp->hi ? end : rp->hi;

			r = rp->fn(rp->arg, s, e,
				   (addr & ~((1ull << shift) - 1)) +
					   (s - start),
				   p);
		} else {
			r = replay_level(rp, addr, level - 1, start, p);
		}
		if (r)
			return r;
	}
	return 0;
}

int vtd_replay(struct vtd *v, uint16_t sid, uint64_t lo, uint64_t hi,
	       vtd_replay_fn *fn, void *arg)
{
	struct replay rp = { .v = v, .lo = lo, .hi = hi, .fn = fn, .arg = arg };
	struct vtd_ctx c = { .valid = true, .sid = sid };
	bool fpd = false;
	uint64_t top;
	int r = 0;

	/* Recursive: called from an invalidation notice, under the lock. */
	pthread_mutex_lock(&v->lock);
	if (!(v->gsts & VTD_GSTS_TES)) {
		r = fn(arg, lo, hi, lo, VTD_PERM_R | VTD_PERM_W);
		goto out;
	}
	if (v->ttm == VTD_TTM_LEGACY)
		r = resolve_legacy(v, sid, &c, &fpd);
	else if (v->ttm == VTD_TTM_SCALABLE)
		r = resolve_scalable(v, sid, &c, &fpd);
	else
		r = VTD_FR_RTADDR_TTM;
	if (r) {
		r = 0; /* no context: nothing is mapped */
		goto out;
	}
	vtd_endpoint_seen(v, sid, c.did);
	top = c.pt ? VTD_HAW_MASK : (1ull << (12 + 9 * c.levels)) - 1;
	if (lo > top)
		goto out;
	rp.hi = hi < top ? hi : top;
	if (c.pt)
		r = fn(arg, lo, rp.hi, lo, VTD_PERM_R | VTD_PERM_W);
	else
		r = replay_level(&rp, c.slptptr, c.levels, 0,
				 VTD_PERM_R | VTD_PERM_W);
out:
	pthread_mutex_unlock(&v->lock);
	return r;
}
