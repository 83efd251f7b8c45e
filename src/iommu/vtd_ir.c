// SPDX-License-Identifier: GPL-2.0
/*
 * VT-d interrupt remapping: the interrupt remapping table (IRTA_REG,
 * GCMD.SIRTP, IRE, CFI) and the translation of an interrupt request from
 * a source id through its IRTE, with the faults the specification names
 * (reasons 0x20-0x26). The unit keeps no interrupt entry cache: each
 * request reads its IRTE. Its owner (vtd_vm.c) holds the routes KVM
 * caches and recomputes them when vtd_ir_take_changed() says the tables
 * were invalidated or replaced.
 */
#include "iommu/vtd.h"

#include "iommu/vtd_internal.h"
#include "kvm/memory.h"
#include "util/log.h"

void vtd_set_intremap(struct vtd *v, bool on)
{
	pthread_mutex_lock(&v->lock);
	v->intremap = on;
	if (on)
		v->ecap |= VTD_ECAP_IR | VTD_ECAP_EIM;
	else
		v->ecap &= ~(VTD_ECAP_IR | VTD_ECAP_EIM);
	pthread_mutex_unlock(&v->lock);
}

bool vtd_ir_take_changed(struct vtd *v)
{
	return __atomic_exchange_n(&v->ir_changed, false, __ATOMIC_ACQ_REL);
}

void vtd_ir_changed(struct vtd *v)
{
	__atomic_store_n(&v->ir_changed, true, __ATOMIC_RELEASE);
}

/*
 * GCMD's interrupt-remapping commands: SIRTP is a one-shot that latches
 * IRTA (and, as an implementation may, drops what the unit caches of the
 * old table: every route is computed again); IRE and CFI are states.
 */
void vtd_ir_gcmd(struct vtd *v, uint32_t cmd)
{
	if (!v->intremap)
		return;
	if (cmd & VTD_GCMD_SIRTP) {
		v->irt_base = v->irta & VTD_PAGE_MASK;
		v->irt_entries = 2u << (v->irta & VTD_IRTA_S_MASK);
		v->irt_eime = v->irta & VTD_IRTA_EIME;
		v->gsts |= VTD_GSTS_IRTPS;
		vtd_ir_changed(v);
	}
	if (!!(cmd & VTD_GCMD_IRE) != !!(v->gsts & VTD_GSTS_IRES)) {
		v->gsts ^= VTD_GSTS_IRES;
		pr_info_ratelimited("vtd: interrupt remapping %s",
				    (v->gsts & VTD_GSTS_IRES) ? "on" : "off");
		vtd_ir_changed(v);
	}
	if (!!(cmd & VTD_GCMD_CFI) != !!(v->gsts & VTD_GSTS_CFIS)) {
		v->gsts ^= VTD_GSTS_CFIS;
		vtd_ir_changed(v);
	}
}

void vtd_ir_reset(struct vtd *v)
{
	v->irta = 0;
	v->irt_base = 0;
	v->irt_entries = 0;
	v->irt_eime = false;
	vtd_ir_changed(v);
}

/* An IEC invalidation descriptor: global or index-selective alike. */
void vtd_ir_iec(struct vtd *v)
{
	vtd_ir_changed(v);
}

static int ir_fault(struct vtd *v, int sid, uint32_t index, uint8_t reason,
		    bool record)
{
	/* FI bits 63:48 hold the interrupt index; T is 0 (a write). */
	if (record)
		vtd_record_fault(v, (uint16_t)sid, (uint64_t)index << 48,
				 reason, false);
	return reason;
}

/* Source-id verification (SVT, SQ, SID); true when @sid may use @hi. */
static bool sid_ok(uint64_t hi, int sid)
{
	uint16_t want = hi & 0xffff;
	unsigned int sq = (hi >> 16) & 3, svt = (hi >> 18) & 3;
	/* SQ 1-3: ignore function bits 2, 2:1, 2:0. */
	static const uint16_t sq_mask[4] = { 0xffff, 0xfffb, 0xfff9, 0xfff8 };

	switch (svt) {
	case VTD_SVT_NONE:
		return true;
	case VTD_SVT_SID:
		return sid >= 0 && ((sid ^ want) & sq_mask[sq]) == 0;
	case VTD_SVT_BUS:
		return sid >= 0 && (sid >> 8) >= (want >> 8) &&
		       (sid >> 8) <= (want & 0xff);
	}
	return false;
}

int vtd_ir_decode(const uint64_t irte[2], bool eime, int sid,
		  struct vtd_irq *out)
{
	uint64_t lo = irte[0], hi = irte[1];
	unsigned int dlm = (lo >> VTD_IRTE_DLM_SHIFT) & 7;
	uint32_t dst = lo >> VTD_IRTE_DST_SHIFT;

	if (!(lo & VTD_IRTE_P))
		return VTD_FR_IR_P;
	/* DLM 011b and 110b are reserved; posted format needs ECAP.PI. */
	if ((lo & (VTD_IRTE_LO_RSVD | VTD_IRTE_IM)) ||
	    (!eime && (lo & VTD_IRTE_LO_RSVD_XAPIC)) ||
	    (hi & VTD_IRTE_HI_RSVD) || ((hi >> 18) & 3) == 3 || dlm == 3 ||
	    dlm == 6)
		return VTD_FR_IR_RSVD;
	if (!sid_ok(hi, sid))
		return VTD_FR_IR_SID;
	*out = (struct vtd_irq){
		.vector = (lo >> VTD_IRTE_V_SHIFT) & 0xff,
		.dest = eime ? dst : (dst >> 8) & 0xff,
		.dlm = dlm,
		.dest_logical = lo & VTD_IRTE_DM,
		.redir_hint = lo & VTD_IRTE_RH,
		.level = lo & VTD_IRTE_TM,
	};
	return 0;
}

/* The compatibility-format message KVM takes for @irq. */
static void irq_to_msi(const struct vtd_irq *irq, uint64_t *addr,
		       uint32_t *data)
{
	/* KVM reads ids above 255 from address bits 63:40 (x2APIC API). */
	*addr = VTD_MSI_ADDR_BASE | (uint64_t)(irq->dest & 0xff) << 12 |
		(irq->redir_hint ? 1u << 3 : 0) |
		(irq->dest_logical ? 1u << 2 : 0) |
		(uint64_t)(irq->dest & ~0xffu) << 32;
	*data = irq->vector | (uint32_t)irq->dlm << 8 |
		(irq->level ? 1u << 15 | 1u << 14 : 0);
}

int vtd_remap_msi(struct vtd *v, int sid, uint64_t *addr, uint32_t *data,
		  bool record)
{
	uint64_t irte[2], a = *addr;
	uint32_t handle, index;
	struct vtd_irq irq;
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (!(v->gsts & VTD_GSTS_IRES) ||
	    (a & VTD_MSI_ADDR_MASK) != VTD_MSI_ADDR_BASE)
		goto out; /* remapping off, or no interrupt request */
	if (!(a & VTD_MSI_IF)) {
		/* x2APIC mode always blocks them; else CFI decides. */
		if (v->irt_eime || !(v->gsts & VTD_GSTS_CFIS))
			ret = ir_fault(v, sid, 0, VTD_FR_IR_COMPAT, record);
		goto out;
	}
	handle = ((a >> 5) & 0x7fff) | ((a >> 2) & 1) << 15;
	index = handle;
	if (a & VTD_MSI_SHV) {
		if (*data >> 16) {
			ret = ir_fault(v, sid, handle, VTD_FR_IR_REQ_RSVD,
				       record);
			goto out;
		}
		index += *data & 0xffff;
	}
	if (a >> 32) {
		ret = ir_fault(v, sid, index, VTD_FR_IR_REQ_RSVD, record);
		goto out;
	}
	if (index >= v->irt_entries) {
		ret = ir_fault(v, sid, index, VTD_FR_IR_INDEX, record);
		goto out;
	}
	if (guest_read(v->mem, v->irt_base + (uint64_t)index * 16, irte,
		       sizeof(irte))) {
		ret = ir_fault(v, sid, index, VTD_FR_IR_ACCESS, record);
		goto out;
	}
	ret = vtd_ir_decode(irte, v->irt_eime, sid, &irq);
	if (ret) {
		/* FPD: faults this IRTE causes are not recorded. */
		ir_fault(v, sid, index, ret,
			 record && !(irte[0] & VTD_IRTE_FPD));
		goto out;
	}
	irq_to_msi(&irq, addr, data);
out:
	pthread_mutex_unlock(&v->lock);
	return ret;
}
