// SPDX-License-Identifier: GPL-2.0
/*
 * VT-d cache invalidation: the context cache (which here also holds what
 * the PASID cache would: the PASID entry of RID_PASID) and the IOTLB, by
 * register (CCMD_REG, IOTLB_REG/IVA_REG) or through the invalidation
 * queue. Whatever is invalidated, the devices that may hold translations
 * from it are told (vtd_notify()).
 */
#include <string.h>

#include "iommu/vtd_internal.h"
#include "kvm/memory.h"
#include "util/log.h"

void vtd_flush_all(struct vtd *v)
{
	memset(v->ctx, 0, sizeof(v->ctx));
	memset(v->iotlb, 0, sizeof(v->iotlb));
	v->ctx_victim = 0;
}

/* Source ids equal but for the function bits FM masks (2, 2:1 or 2:0). */
static bool sid_match(uint16_t a, uint16_t b, unsigned int fm)
{
	uint16_t mask = fm ? ((1u << fm) - 1) << (3 - fm) : 0;

	return (a & ~mask) == (b & ~mask);
}

static void iotlb_drop(struct vtd *v, bool all, uint16_t did, uint64_t start,
		       uint64_t last)
{
	for (unsigned int i = 0; i < VTD_IOTLB_SIZE; i++) {
		struct vtd_iotlb *e = &v->iotlb[i];
		uint64_t e_last = e->iova + ((1ull << e->shift) - 1);

		if (!e->valid)
			continue;
		if (all ||
		    (e->did == did && e->iova <= last && start <= e_last))
			e->valid = false;
	}
}

/*
 * A context entry may have pointed at other tables: the IOTLB entries of
 * the domains dropped go too (software must invalidate them anyway).
 */
void vtd_ctx_invalidate(struct vtd *v, enum vtd_scope scope, uint16_t did,
			uint16_t sid, unsigned int fm)
{
	if (scope == VTD_SCOPE_ALL) {
		vtd_flush_all(v);
		return;
	}
	for (unsigned int i = 0; i < VTD_CTX_CACHE_SIZE; i++) {
		struct vtd_ctx *c = &v->ctx[i];

		if (!c->valid)
			continue;
		if (scope == VTD_SCOPE_DOMAIN ? c->did == did :
						sid_match(c->sid, sid, fm)) {
			c->valid = false;
			iotlb_drop(v, false, c->did, 0, UINT64_MAX);
		}
	}
}

static void notify_one(struct vtd *v, int sid, uint64_t iova, uint64_t len)
{
	for (struct vtd_port *p = v->ports; p; p = p->next) {
		if (sid == VTD_SID_ALL || p->sid == sid)
			dma_space_invalidate(p->as, iova, len);
	}
	if (v->ops && v->ops->invalidate)
		v->ops->invalidate(v->opaque, sid, iova, len);
}

void vtd_ram_changed(void *vtd, uint64_t gpa, uint64_t len, bool added)
{
	struct vtd *v = vtd;

	pthread_mutex_lock(&v->lock);
	for (struct vtd_port *p = v->ports; p; p = p->next) {
		if (added)
			dma_space_mapped(p->as, gpa, len);
		else
			dma_space_invalidate(p->as, gpa, len);
	}
	pthread_mutex_unlock(&v->lock);
}

/*
 * Tell every device that may hold a translation from what was invalidated:
 * all of them, those last seen in domain @did (or whose domain is not
 * known), or those matching @sid under @fm.
 */
void vtd_notify(struct vtd *v, enum vtd_scope scope, uint16_t did, uint16_t sid,
		unsigned int fm, uint64_t iova, uint64_t len)
{
	if (scope == VTD_SCOPE_ALL || v->ep_overflow) {
		notify_one(v, VTD_SID_ALL, iova, len);
		return;
	}
	for (unsigned int i = 0; i < v->nr_ep; i++) {
		const struct vtd_endpoint *ep = &v->ep[i];
		bool match;

		if (scope == VTD_SCOPE_DOMAIN)
			match = ep->did < 0 || ep->did == did;
		else
			match = sid_match(ep->sid, sid, fm);
		if (match)
			notify_one(v, ep->sid, iova, len);
	}
}

static void ctx_inv(struct vtd *v, unsigned int g, uint16_t did, uint16_t sid,
		    unsigned int fm)
{
	enum vtd_scope scope = g == 1 ? VTD_SCOPE_ALL :
			       g == 2 ? VTD_SCOPE_DOMAIN :
					VTD_SCOPE_DEVICE;

	vtd_ctx_invalidate(v, scope, did, sid, fm);
	vtd_notify(v, scope, did, sid, fm, 0, UINT64_MAX);
}

/* @g: 1 global, 2 domain, 3 page(s) at @addr, 4 KiB << @am (am <= MAMV). */
static void iotlb_inv(struct vtd *v, unsigned int g, uint16_t did,
		      uint64_t addr, unsigned int am)
{
	uint64_t size = 4096ull << am;

	if (g == 1) {
		iotlb_drop(v, true, 0, 0, 0);
		vtd_notify(v, VTD_SCOPE_ALL, 0, 0, 0, 0, UINT64_MAX);
	} else if (g == 2) {
		iotlb_drop(v, false, did, 0, UINT64_MAX);
		vtd_notify(v, VTD_SCOPE_DOMAIN, did, 0, 0, 0, UINT64_MAX);
	} else {
		addr &= ~(size - 1);
		iotlb_drop(v, false, did, addr, addr + (size - 1));
		vtd_notify(v, VTD_SCOPE_DOMAIN, did, 0, 0, addr, size);
	}
}

/*
 * CCMD_REG with ICC: invalidate at the requested granularity (CIRG), report
 * it as done at that granularity (CAIG) and clear ICC. A reserved CIRG is
 * not processed (CAIG 0). With queued invalidation on, software must use
 * the queue: the register is ignored.
 */
void vtd_ccmd_write(struct vtd *v)
{
	uint64_t c = v->ccmd;
	unsigned int cirg = (c >> VTD_CCMD_CIRG_SHIFT) & 3, caig = cirg;

	if (v->gsts & VTD_GSTS_QIES) {
		pr_debug_ratelimited("vtd: CCMD write with QI enabled ignored");
		caig = 0;
	} else if (cirg) {
		ctx_inv(v, cirg, c & 0xffff, (c >> 16) & 0xffff, (c >> 32) & 3);
	}
	v->ccmd = (c & ~(VTD_CCMD_ICC | 3ull << VTD_CCMD_CAIG_SHIFT)) |
		  (uint64_t)caig << VTD_CCMD_CAIG_SHIFT;
}

/*
 * IOTLB_REG with IVT: global, domain or page selective (address and AM
 * from IVA_REG). An AM above MAMV is done domain-selective and reported so
 * in IAIG, as hardware may invalidate more than asked.
 */
void vtd_iotlb_reg_write(struct vtd *v)
{
	uint64_t r = v->iotlb_reg;
	unsigned int iirg = (r >> VTD_IOTLB_IIRG_SHIFT) & 3, iaig = iirg;
	unsigned int am = v->iva & 0x3f;

	if (v->gsts & VTD_GSTS_QIES) {
		pr_debug_ratelimited(
			"vtd: IOTLB write with QI enabled ignored");
		iaig = 0;
	} else if (iirg) {
		if (iirg == 3 && am > VTD_MAMV)
			iaig = 2;
		iotlb_inv(v, iaig, (r >> 32) & 0xffff, v->iva & VTD_PAGE_MASK,
			  am);
	}
	v->iotlb_reg = (r & ~(VTD_IOTLB_IVT | 3ull << VTD_IOTLB_IAIG_SHIFT)) |
		       (uint64_t)iaig << VTD_IOTLB_IAIG_SHIFT;
}

/*
 * One descriptor; false if it is invalid: an unsupported type (device-TLB,
 * PASID-based device-TLB, page group responses...), a reserved granularity
 * or a reserved bit set, or a status write that does not land in RAM.
 */
static bool process_desc(struct vtd *v, const uint64_t d[4])
{
	unsigned int type = (d[0] & 0xf) | ((d[0] >> 9) & 7) << 4;
	unsigned int g = (d[0] >> 4) & 3, am = d[1] & 0x3f;
	uint16_t did = (d[0] >> 16) & 0xffff;
	uint32_t pasid = (d[0] >> 32) & 0xfffff;

	if (d[2] || d[3]) /* the upper half of a 256-bit descriptor */
		return false;
	switch (type) {
	case VTD_DESC_CC:
		if ((d[0] & 0xfffc00000000f1c0ull) || d[1] || !g)
			return false;
		ctx_inv(v, g, did, (d[0] >> 32) & 0xffff, (d[0] >> 48) & 3);
		return true;
	case VTD_DESC_IOTLB:
		/* DR/DW (bits 7:6) ask for draining: nothing is buffered. */
		if ((d[0] & 0xffffffff0000f100ull) || (d[1] & 0xf80) || !g ||
		    (g == 3 && am > VTD_MAMV))
			return false;
		iotlb_inv(v, g, did, d[1] & VTD_PAGE_MASK, am);
		return true;
	case VTD_DESC_IEC:
		if ((d[0] & 0xffff000007fff1e0ull) || d[1])
			return false;
		vtd_ir_iec(v);
		return true;
	case VTD_DESC_WAIT:
		if ((d[0] & 0xfffff100ull) || (d[1] & 3))
			return false;
		/*
		 * Everything before this descriptor is done (invalidations
		 * are synchronous), so fence (FN) and page-request drain
		 * (PD) have nothing to wait for.
		 */
		if (d[0] & VTD_DESC_WAIT_SW) {
			uint32_t data = d[0] >> 32;

			if (guest_write(v->mem, d[1], &data, sizeof(data)))
				return false;
		}
		if (d[0] & VTD_DESC_WAIT_IF)
			vtd_completion_event(v);
		return true;
	case VTD_DESC_PIOTLB:
		/* G: 10b all of the PASID's, 11b pages of it. */
		if ((d[0] & 0xfff000000000f1c0ull) || (d[1] & 0xf80) || g < 2 ||
		    (g == 3 && am > VTD_MAMV))
			return false;
		if (pasid == 0) /* only RID_PASID's translations are cached */
			iotlb_inv(v, g, did, d[1] & VTD_PAGE_MASK, am);
		return true;
	case VTD_DESC_PC:
		/* G: 00b domain, 01b PASID in domain, 11b global. */
		if ((d[0] & 0xfff000000000f1c0ull) || d[1] || g == 2)
			return false;
		if (g == 3)
			ctx_inv(v, 1, 0, 0, 0);
		else if (g == 0 || pasid == 0)
			ctx_inv(v, 2, did, 0, 0);
		return true;
	default:
		return false;
	}
}

static void qi_error(struct vtd *v)
{
	uint32_t pre = vtd_fsts(v);

	v->fsts |= VTD_FSTS_IQE;
	vtd_fault_event(v, pre);
}

/*
 * Run the queue from head to tail. An invalid tail (beyond the queue, or
 * not 256-bit aligned with 256-bit descriptors), a descriptor that cannot
 * be fetched or an invalid descriptor sets IQE and stops with IQH at it;
 * clearing IQE goes on from there. At most one lap per call.
 */
void vtd_qi_process(struct vtd *v)
{
	unsigned int size = v->iq_dw ? 32 : 16;
	uint32_t tail;

	if (!(v->gsts & VTD_GSTS_QIES) || (v->fsts & VTD_FSTS_IQE))
		return;
	if (v->iq_dw && (v->iqt & 0x10)) {
		qi_error(v);
		return;
	}
	tail = v->iqt >> (v->iq_dw ? 5 : 4);
	if (tail >= v->iq_entries) {
		qi_error(v);
		return;
	}
	for (uint32_t n = 0; v->iq_head != tail && n < v->iq_entries; n++) {
		uint64_t off = (uint64_t)v->iq_head * size;
		uint64_t d[4] = { 0 };

		if (off > UINT64_MAX - v->iq_base ||
		    guest_read(v->mem, v->iq_base + off, d, size) ||
		    !process_desc(v, d)) {
			qi_error(v);
			return;
		}
		v->iq_head = (v->iq_head + 1) % v->iq_entries;
	}
}

/*
 * QIE: the queue's base, size and descriptor width are taken from IQA_REG
 * now; IQH starts at 0 and is reset to 0 when the queue is disabled.
 */
void vtd_qi_enable(struct vtd *v, bool enable)
{
	v->iq_head = 0;
	if (!enable) {
		v->gsts &= ~VTD_GSTS_QIES;
		return;
	}
	v->iq_base = v->iqa & VTD_PAGE_MASK;
	v->iq_dw = v->iqa & VTD_IQA_DW;
	v->iq_entries = (v->iq_dw ? 128u : 256u) << (v->iqa & VTD_IQA_QS_MASK);
	v->gsts |= VTD_GSTS_QIES;
	/* Some drivers write the tail before enabling: run what is there. */
	vtd_qi_process(v);
}
