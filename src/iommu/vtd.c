// SPDX-License-Identifier: GPL-2.0
/*
 * VT-d unit: life cycle, the register page, global commands, fault
 * recording and the two event interrupts. Translation is in vtd_walk.c,
 * invalidation in vtd_inv.c, the DMA address space adapter in vtd_dma.c.
 */
#include "iommu/vtd.h"

#include <stdlib.h>
#include <string.h>

#include "iommu/vtd_internal.h"
#include "util/log.h"

/* What this model implements, and so what the guest is told. */
static const uint64_t vtd_cap_value =
	VTD_CAP_ND(VTD_ND) | VTD_CAP_SAGAW_39 | VTD_CAP_SAGAW_48 |
	VTD_CAP_MGAW(VTD_MGAW) | VTD_CAP_FRO(VTD_FRCD_BASE) | VTD_CAP_SLLPS_2M |
	VTD_CAP_SLLPS_1G | VTD_CAP_PSI | VTD_CAP_NFR(VTD_NFR) |
	VTD_CAP_MAMV(VTD_MAMV);
/*
 * C and SMPWCS: the walk reads guest RAM directly, so it is coherent with
 * the CPUs' caches. IR and EIM come with vtd_set_intremap(). No DT, no
 * PASID (requests with PASID), no first-level or nested translation.
 */
static const uint64_t vtd_ecap_value =
	VTD_ECAP_C | VTD_ECAP_QI | VTD_ECAP_PT | VTD_ECAP_IRO(VTD_IOTLB_BASE) |
	VTD_ECAP_SMTS | VTD_ECAP_SLTS | VTD_ECAP_SMPWCS;

void vtd_msi(struct vtd *v, uint64_t addr, uint32_t data)
{
	if (v->ops && v->ops->msi)
		v->ops->msi(v->opaque, addr, data);
}

static uint64_t fe_addr(const struct vtd *v)
{
	return v->feaddr; /* FEUADDR is reserved without EIM */
}

static uint64_t ie_addr(const struct vtd *v)
{
	return v->ieaddr;
}

/* FSTS as read: PPF is the OR of the records' F bits, FRI when pending. */
uint32_t vtd_fsts(const struct vtd *v)
{
	uint32_t fsts = v->fsts;

	for (unsigned int i = 0; i < VTD_NFR; i++) {
		if (v->frcd[i][1] & VTD_FRCD_F) {
			fsts |= VTD_FSTS_PPF | (v->fri_first << 8);
			break;
		}
	}
	return fsts;
}

#define VTD_FSTS_EVENTS                                              \
	(VTD_FSTS_PFO | VTD_FSTS_PPF | VTD_FSTS_IQE | VTD_FSTS_ICE | \
	 VTD_FSTS_ITE)

/*
 * A fault status field rose. The event is raised only if none was pending
 * before (@pre_status): software services them all from one interrupt. A
 * masked event stays pending (IP) until unmasked or serviced.
 */
void vtd_fault_event(struct vtd *v, uint32_t pre_status)
{
	if (pre_status & VTD_FSTS_EVENTS)
		return;
	v->fectl |= VTD_xECTL_IP;
	if (!(v->fectl & VTD_xECTL_IM)) {
		vtd_msi(v, fe_addr(v), v->fedata);
		v->fectl &= ~VTD_xECTL_IP;
	}
}

/* Software serviced every fault condition: nothing left to interrupt for. */
static void fault_event_serviced(struct vtd *v)
{
	if (!(vtd_fsts(v) & VTD_FSTS_EVENTS))
		v->fectl &= ~VTD_xECTL_IP;
}

/*
 * Primary fault logging: the record at the next index if it is free, else
 * overflow (PFO) and the fault is lost; nothing is recorded while PFO is
 * set. A record made while none was pending sets PPF, reports its index in
 * FSTS.FRI and raises the fault event.
 */
void vtd_record_fault(struct vtd *v, uint16_t sid, uint64_t iova,
		      uint8_t reason, bool is_read)
{
	uint32_t pre = vtd_fsts(v);
	unsigned int i = v->fri_next;

	pr_debug_ratelimited("vtd: fault %#x sid %02x:%02x.%u iova %#llx %s",
			     reason, sid >> 8, (sid >> 3) & 0x1f, sid & 7,
			     (unsigned long long)iova,
			     is_read ? "read" : "write");
	if (pre & VTD_FSTS_PFO)
		return;
	if (v->frcd[i][1] & VTD_FRCD_F) {
		v->fsts |= VTD_FSTS_PFO;
		return;
	}
	v->frcd[i][0] = iova & VTD_PAGE_MASK;
	v->frcd[i][1] = VTD_FRCD_F | (uint64_t)reason << 32 | sid |
			(is_read ? VTD_FRCD_T : 0);
	v->fri_next = (i + 1) % VTD_NFR;
	if (!(pre & VTD_FSTS_PPF)) {
		v->fri_first = i;
		vtd_fault_event(v, pre);
	}
}

/* Invalidation completion event (a wait descriptor with IF). */
void vtd_completion_event(struct vtd *v)
{
	if (v->ics & VTD_ICS_IWC)
		return; /* the previous one is not serviced yet */
	v->ics |= VTD_ICS_IWC;
	v->iectl |= VTD_xECTL_IP;
	if (!(v->iectl & VTD_xECTL_IM)) {
		vtd_msi(v, ie_addr(v), v->iedata);
		v->iectl &= ~VTD_xECTL_IP;
	}
}

static void reset_locked(struct vtd *v)
{
	v->cap = vtd_cap_value | (v->caching_mode ? VTD_CAP_CM : 0);
	v->ecap = vtd_ecap_value |
		  (v->intremap ? VTD_ECAP_IR | VTD_ECAP_EIM : 0);
	v->gsts = 0;
	v->rtaddr = v->rta = 0;
	v->ttm = VTD_TTM_LEGACY;
	v->ccmd = 0;
	v->fsts = 0;
	v->fectl = VTD_xECTL_IM;
	v->fedata = v->feaddr = v->feuaddr = 0;
	v->iqt = v->iqa = 0;
	v->ics = 0;
	v->iectl = VTD_xECTL_IM;
	v->iedata = v->ieaddr = v->ieuaddr = 0;
	v->iva = v->iotlb_reg = 0;
	memset(v->frcd, 0, sizeof(v->frcd));
	v->fri_next = v->fri_first = 0;
	v->iq_base = 0;
	v->iq_entries = 0;
	v->iq_dw = false;
	v->iq_head = 0;
	vtd_ir_reset(v);
	vtd_flush_all(v);
}

struct vtd *vtd_create(const struct guest_mem *mem, const struct vtd_ops *ops,
		       void *opaque)
{
	struct vtd *v = calloc(1, sizeof(*v));
	pthread_mutexattr_t a;

	if (!v)
		return NULL;
	/* Recursive: a notice's receiver may replay (vtd_replay()). */
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&v->lock, &a);
	pthread_mutexattr_destroy(&a);
	v->mem = mem;
	v->ops = ops;
	v->opaque = opaque;
	reset_locked(v);
	return v;
}

void vtd_destroy(struct vtd *v)
{
	if (!v)
		return;
	/* Address spaces still attached outlive the unit's notices. */
	for (struct vtd_port *p = v->ports; p; p = p->next)
		p->vtd = NULL;
	pthread_mutex_destroy(&v->lock);
	free(v);
}

void vtd_set_caching_mode(struct vtd *v, bool on)
{
	pthread_mutex_lock(&v->lock);
	v->caching_mode = on;
	v->cap = on ? v->cap | VTD_CAP_CM : v->cap & ~VTD_CAP_CM;
	pthread_mutex_unlock(&v->lock);
}

bool vtd_caching_mode(struct vtd *v)
{
	bool on;

	pthread_mutex_lock(&v->lock);
	on = v->caching_mode;
	pthread_mutex_unlock(&v->lock);
	return on;
}

void vtd_reset(struct vtd *v)
{
	pthread_mutex_lock(&v->lock);
	reset_locked(v);
	vtd_notify(v, VTD_SCOPE_ALL, 0, 0, 0, 0, UINT64_MAX);
	pthread_mutex_unlock(&v->lock);
}

static const char *ttm_name(unsigned int ttm)
{
	return ttm == VTD_TTM_LEGACY   ? "legacy" :
	       ttm == VTD_TTM_SCALABLE ? "scalable-mode" :
					 "reserved-mode";
}

/*
 * Global command. Software sets or clears one command at a time but the
 * model takes them all: TE and QIE are states, SRTP a one-shot whose status
 * (RTPS) stays set once done. WBF is not required (CAP.RWBF = 0) and,
 * like SFL/EAFL (no advanced fault logging), is ignored: its status never
 * sets. SIRTP, IRE and CFI are interrupt remapping's (vtd_ir.c), ignored
 * without ECAP.IR.
 */
static void gcmd_write(struct vtd *v, uint32_t cmd)
{
	if (cmd & VTD_GCMD_SRTP) {
		v->rta = v->rtaddr & VTD_PAGE_MASK;
		v->ttm = (v->rtaddr & VTD_RTADDR_TTM_MASK) >>
			 VTD_RTADDR_TTM_SHIFT;
		v->gsts |= VTD_GSTS_RTPS;
		/* More than ESRTPS = 0 asks for: stale entries never live. */
		vtd_flush_all(v);
		if (v->gsts & VTD_GSTS_TES)
			vtd_notify(v, VTD_SCOPE_ALL, 0, 0, 0, 0, UINT64_MAX);
	}
	if (!!(cmd & VTD_GCMD_TE) != !!(v->gsts & VTD_GSTS_TES)) {
		v->gsts ^= VTD_GSTS_TES;
		/* Rare in a sane guest, so said at -v; a toggling one is capped. */
		if (v->gsts & VTD_GSTS_TES)
			pr_info_ratelimited(
				"vtd: DMA remapping on, %s tables at %#llx",
				ttm_name(v->ttm), (unsigned long long)v->rta);
		else
			pr_info_ratelimited("vtd: DMA remapping off");
		vtd_flush_all(v);
		vtd_notify(v, VTD_SCOPE_ALL, 0, 0, 0, 0, UINT64_MAX);
	}
	if (!!(cmd & VTD_GCMD_QIE) != !!(v->gsts & VTD_GSTS_QIES))
		vtd_qi_enable(v, cmd & VTD_GCMD_QIE);
	vtd_ir_gcmd(v, cmd);
}

static void fsts_write(struct vtd *v, uint32_t val)
{
	bool iqe = v->fsts & VTD_FSTS_IQE;

	v->fsts &= ~(val & (VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE |
			    VTD_FSTS_ITE));
	fault_event_serviced(v);
	/* The queue stopped at the bad descriptor; it goes on from there. */
	if (iqe && !(v->fsts & VTD_FSTS_IQE))
		vtd_qi_process(v);
}

static void fectl_write(struct vtd *v, uint32_t val)
{
	v->fectl = (v->fectl & ~VTD_xECTL_IM) | (val & VTD_xECTL_IM);
	if ((v->fectl & (VTD_xECTL_IM | VTD_xECTL_IP)) == VTD_xECTL_IP) {
		vtd_msi(v, fe_addr(v), v->fedata);
		v->fectl &= ~VTD_xECTL_IP;
	}
}

static void iectl_write(struct vtd *v, uint32_t val)
{
	v->iectl = (v->iectl & ~VTD_xECTL_IM) | (val & VTD_xECTL_IM);
	if ((v->iectl & (VTD_xECTL_IM | VTD_xECTL_IP)) == VTD_xECTL_IP) {
		vtd_msi(v, ie_addr(v), v->iedata);
		v->iectl &= ~VTD_xECTL_IP;
	}
}

static void ics_write(struct vtd *v, uint32_t val)
{
	if (val & VTD_ICS_IWC) {
		v->ics &= ~VTD_ICS_IWC;
		v->iectl &= ~VTD_xECTL_IP;
	}
}

static bool frcd_index(uint64_t off, unsigned int *i)
{
	if (off < VTD_FRCD_BASE || off >= VTD_FRCD_BASE + 16 * VTD_NFR)
		return false;
	*i = (off - VTD_FRCD_BASE) / 16;
	return true;
}

/* Every register as 32-bit halves; reads have no side effects. */
static uint32_t read32(struct vtd *v, uint64_t off)
{
	unsigned int i;

	switch (off) {
	case VTD_VER:
		return VTD_VER_VALUE;
	case VTD_CAP:
	case VTD_CAP + 4:
		return v->cap >> (off - VTD_CAP) * 8;
	case VTD_ECAP:
	case VTD_ECAP + 4:
		return v->ecap >> (off - VTD_ECAP) * 8;
	case VTD_GSTS:
		return v->gsts;
	case VTD_RTADDR:
	case VTD_RTADDR + 4:
		return v->rtaddr >> (off - VTD_RTADDR) * 8;
	case VTD_CCMD:
	case VTD_CCMD + 4:
		return v->ccmd >> (off - VTD_CCMD) * 8;
	case VTD_FSTS:
		return vtd_fsts(v);
	case VTD_FECTL:
		return v->fectl;
	case VTD_FEDATA:
		return v->fedata;
	case VTD_FEADDR:
		return v->feaddr;
	case VTD_IQH:
		return v->iq_head << (v->iq_dw ? 5 : 4);
	case VTD_IQT:
		return v->iqt;
	case VTD_IQA:
	case VTD_IQA + 4:
		return v->iqa >> (off - VTD_IQA) * 8;
	case VTD_ICS:
		return v->ics;
	case VTD_IECTL:
		return v->iectl;
	case VTD_IEDATA:
		return v->iedata;
	case VTD_IEADDR:
		return v->ieaddr;
	case VTD_IVA:
	case VTD_IVA + 4:
		return v->iva >> (off - VTD_IVA) * 8;
	case VTD_IOTLB:
	case VTD_IOTLB + 4:
		return v->iotlb_reg >> (off - VTD_IOTLB) * 8;
	case VTD_IRTA:
	case VTD_IRTA + 4:
		return v->irta >> (off - VTD_IRTA) * 8;
	}
	if (frcd_index(off, &i))
		return v->frcd[i][(off % 16) / 8] >> (off % 8) * 8;
	return 0; /* reserved: GCMD (write-only) and what is not implemented */
}

/*
 * 64-bit registers take 8-byte writes or either 4-byte half. A command in
 * the upper half (CCMD.ICC, IOTLB.IVT) runs when that half is written, a
 * tail (IQT) when the lower half is.
 */
static void write_reg64(struct vtd *v, uint64_t base, uint64_t val,
			uint64_t bytes)
{
	bool lo = bytes & 0xffffffffull, hi = bytes >> 32;
	uint64_t *reg;

	switch (base) {
	case VTD_RTADDR:
		reg = &v->rtaddr;
		*reg = (*reg & ~bytes) | (val & bytes & ~0x3ffull);
		return;
	case VTD_CCMD:
		/* CAIG is read-only; ICC stays set only while busy (never). */
		v->ccmd = (((v->ccmd & ~bytes) | (val & bytes)) &
			   (0x3ffffffffull | 3ull << VTD_CCMD_CIRG_SHIFT |
			    VTD_CCMD_ICC)) |
			  (v->ccmd & 3ull << VTD_CCMD_CAIG_SHIFT);
		if (hi && (v->ccmd & VTD_CCMD_ICC))
			vtd_ccmd_write(v);
		return;
	case VTD_IQT:
		if (!lo)
			return;
		v->iqt = val & 0x7fff0ull;
		vtd_qi_process(v);
		return;
	case VTD_IQA:
		v->iqa = (v->iqa & ~bytes) |
			 (val & bytes &
			  (VTD_PAGE_MASK | VTD_IQA_DW | VTD_IQA_QS_MASK));
		return;
	case VTD_IVA:
		v->iva = (v->iva & ~bytes) |
			 (val & bytes & (VTD_PAGE_MASK | VTD_IVA_IH | 0x3f));
		return;
	case VTD_IOTLB:
		v->iotlb_reg =
			(((v->iotlb_reg & ~bytes) | (val & bytes)) &
			 (0xffffull << 32 | VTD_IOTLB_DW | VTD_IOTLB_DR |
			  3ull << VTD_IOTLB_IIRG_SHIFT | VTD_IOTLB_IVT)) |
			(v->iotlb_reg & 3ull << VTD_IOTLB_IAIG_SHIFT);
		if (hi && (v->iotlb_reg & VTD_IOTLB_IVT))
			vtd_iotlb_reg_write(v);
		return;
	case VTD_IRTA:
		if (v->intremap)
			v->irta = (v->irta & ~bytes) |
				  (val & bytes & ~VTD_IRTA_RSVD);
		return;
	}
}

static void write32(struct vtd *v, uint64_t off, uint32_t val)
{
	unsigned int i;

	switch (off) {
	case VTD_GCMD:
		gcmd_write(v, val);
		return;
	case VTD_FSTS:
		fsts_write(v, val);
		return;
	case VTD_FECTL:
		fectl_write(v, val);
		return;
	case VTD_FEDATA:
		v->fedata = val & 0xffff;
		return;
	case VTD_FEADDR:
		v->feaddr = val & ~3u;
		return;
	case VTD_ICS:
		ics_write(v, val);
		return;
	case VTD_IECTL:
		iectl_write(v, val);
		return;
	case VTD_IEDATA:
		v->iedata = val & 0xffff;
		return;
	case VTD_IEADDR:
		v->ieaddr = val & ~3u;
		return;
	}
	if (frcd_index(off, &i)) {
		/* Only F (bit 127) is writable: write 1 to clear. */
		if (off % 16 == 12 && (val & (1u << 31))) {
			v->frcd[i][1] &= ~VTD_FRCD_F;
			fault_event_serviced(v);
		}
		return;
	}
	write_reg64(v, off & ~7ull, (uint64_t)val << (off % 8) * 8,
		    0xffffffffull << (off % 8) * 8);
}

static bool is_reg64(uint64_t off)
{
	switch (off) {
	case VTD_CAP:
	case VTD_ECAP:
	case VTD_RTADDR:
	case VTD_CCMD:
	case VTD_IQH:
	case VTD_IQT:
	case VTD_IQA:
	case VTD_IVA:
	case VTD_IOTLB:
	case VTD_IRTA:
		return true;
	}
	return off >= VTD_FRCD_BASE && off < VTD_FRCD_BASE + 16 * VTD_NFR;
}

static bool access_ok(uint64_t off, unsigned int size)
{
	if (size != 4 && size != 8)
		return false;
	return off < VTD_REG_SIZE && off % size == 0;
}

uint64_t vtd_mmio_read(struct vtd *v, uint64_t off, unsigned int size)
{
	uint64_t val;

	if (!access_ok(off, size)) {
		pr_debug_ratelimited("vtd: %u-byte read at %#llx ignored", size,
				     (unsigned long long)off);
		return 0;
	}
	pthread_mutex_lock(&v->lock);
	val = read32(v, off);
	if (size == 8)
		val |= (uint64_t)read32(v, off + 4) << 32;
	pthread_mutex_unlock(&v->lock);
	return val;
}

void vtd_mmio_write(struct vtd *v, uint64_t off, uint64_t val,
		    unsigned int size)
{
	unsigned int i;

	if (!access_ok(off, size)) {
		pr_debug_ratelimited("vtd: %u-byte write at %#llx ignored",
				     size, (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&v->lock);
	if (size == 4) {
		write32(v, off, val);
	} else if (frcd_index(off, &i)) {
		if (off % 16 == 8)
			write32(v, off + 4, val >> 32);
	} else if (is_reg64(off)) {
		write_reg64(v, off, val, UINT64_MAX);
	} else {
		/* Two 32-bit registers written at once: in address order. */
		write32(v, off, val);
		write32(v, off + 4, val >> 32);
	}
	pthread_mutex_unlock(&v->lock);
}

int vtd_translate(struct vtd *v, uint16_t sid, uint64_t iova, enum dma_dir dir,
		  struct vtd_xlate *out)
{
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = vtd_translate_locked(v, sid, iova, dir, out);
	pthread_mutex_unlock(&v->lock);
	return ret;
}
