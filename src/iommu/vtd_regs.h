/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_IOMMU_VTD_REGS_H
#define DEVISOR_IOMMU_VTD_REGS_H

/*
 * The hardware interface of an Intel VT-d DMA-remapping unit, as the guest
 * sees it: register offsets and fields, the in-memory table formats and
 * the invalidation descriptors (Intel Virtualization Technology for
 * Directed I/O Architecture Specification, chapters 9, 10 and 11). Names
 * follow the specification's. Shared by the model and its tests.
 */

#include <stdint.h>

/* Register offsets in the unit's 4 KiB register page. */
#define VTD_VER 0x000 /* 32 */
#define VTD_CAP 0x008 /* 64 */
#define VTD_ECAP 0x010 /* 64 */
#define VTD_GCMD 0x018 /* 32 */
#define VTD_GSTS 0x01c /* 32 */
#define VTD_RTADDR 0x020 /* 64 */
#define VTD_CCMD 0x028 /* 64 */
#define VTD_FSTS 0x034 /* 32 */
#define VTD_FECTL 0x038 /* 32 */
#define VTD_FEDATA 0x03c /* 32 */
#define VTD_FEADDR 0x040 /* 32 */
#define VTD_FEUADDR 0x044 /* 32 */
#define VTD_AFLOG 0x058 /* 64, reserved here: CAP.AFL = 0 */
#define VTD_PMEN 0x064 /* 32, reserved here: CAP.PLMR = PHMR = 0 */
#define VTD_PLMBASE 0x068
#define VTD_PLMLIMIT 0x06c
#define VTD_PHMBASE 0x070
#define VTD_PHMLIMIT 0x078
#define VTD_IQH 0x080 /* 64 */
#define VTD_IQT 0x088 /* 64 */
#define VTD_IQA 0x090 /* 64 */
#define VTD_ICS 0x09c /* 32 */
#define VTD_IECTL 0x0a0 /* 32 */
#define VTD_IEDATA 0x0a4 /* 32 */
#define VTD_IEADDR 0x0a8 /* 32 */
#define VTD_IEUADDR 0x0ac /* 32 */
#define VTD_IRTA 0x0b8 /* 64, reserved without ECAP.IR */

/* Where this model puts the variable blocks (CAP.FRO, ECAP.IRO). */
#define VTD_FRCD_BASE 0x400 /* fault recording registers, 16 bytes each */
#define VTD_NFR 8 /* how many */
#define VTD_IVA (VTD_IOTLB_BASE + 0x0) /* 64: invalidate address */
#define VTD_IOTLB (VTD_IOTLB_BASE + 0x8) /* 64: IOTLB invalidate */
#define VTD_IOTLB_BASE 0x500
#define VTD_REG_SIZE 0x1000

/* VER_REG: major 7:4, minor 3:0. */
#define VTD_VER_VALUE 0x30 /* 3.0: the version that defines scalable mode */

/* CAP_REG */
#define VTD_CAP_ND(x) ((uint64_t)(x) << 0) /* 2^(4+2*ND) domains */
#define VTD_CAP_AFL (1ull << 3)
#define VTD_CAP_RWBF (1ull << 4)
#define VTD_CAP_PLMR (1ull << 5)
#define VTD_CAP_PHMR (1ull << 6)
#define VTD_CAP_CM (1ull << 7)
#define VTD_CAP_SAGAW_39 (1ull << 9) /* 3-level tables */
#define VTD_CAP_SAGAW_48 (1ull << 10) /* 4-level tables */
#define VTD_CAP_MGAW(aw) ((uint64_t)((aw)-1) << 16)
#define VTD_CAP_ZLR (1ull << 22)
#define VTD_CAP_FRO(off) ((uint64_t)((off) / 16) << 24)
#define VTD_CAP_SLLPS_2M (1ull << 34)
#define VTD_CAP_SLLPS_1G (1ull << 35)
#define VTD_CAP_PSI (1ull << 39)
#define VTD_CAP_NFR(n) ((uint64_t)((n)-1) << 40)
#define VTD_CAP_MAMV(m) ((uint64_t)(m) << 48)
#define VTD_CAP_DWD (1ull << 54)
#define VTD_CAP_DRD (1ull << 55)
#define VTD_CAP_FRO_OF(cap) ((((cap) >> 24) & 0x3ff) * 16)
#define VTD_CAP_NFR_OF(cap) ((((cap) >> 40) & 0xff) + 1)
#define VTD_CAP_MAMV_OF(cap) (((cap) >> 48) & 0x3f)

/* ECAP_REG */
#define VTD_ECAP_C (1ull << 0) /* page-walk coherency */
#define VTD_ECAP_QI (1ull << 1)
#define VTD_ECAP_DT (1ull << 2)
#define VTD_ECAP_IR (1ull << 3)
#define VTD_ECAP_EIM (1ull << 4)
#define VTD_ECAP_PT (1ull << 6)
#define VTD_ECAP_SC (1ull << 7)
#define VTD_ECAP_IRO(off) ((uint64_t)((off) / 16) << 8)
#define VTD_ECAP_IRO_OF(ecap) ((((ecap) >> 8) & 0x3ff) * 16)
#define VTD_ECAP_PASID (1ull << 40)
#define VTD_ECAP_SMTS (1ull << 43)
#define VTD_ECAP_SLADS (1ull << 45)
#define VTD_ECAP_SLTS (1ull << 46)
#define VTD_ECAP_FLTS (1ull << 47)
#define VTD_ECAP_SMPWCS (1ull << 48)
#define VTD_ECAP_RPS (1ull << 49)

/* GCMD_REG and GSTS_REG: a command bit and its status share a position. */
#define VTD_GCMD_CFI (1u << 23)
#define VTD_GCMD_SIRTP (1u << 24)
#define VTD_GCMD_IRE (1u << 25)
#define VTD_GCMD_QIE (1u << 26)
#define VTD_GCMD_WBF (1u << 27)
#define VTD_GCMD_EAFL (1u << 28)
#define VTD_GCMD_SFL (1u << 29)
#define VTD_GCMD_SRTP (1u << 30)
#define VTD_GCMD_TE (1u << 31)
#define VTD_GSTS_QIES VTD_GCMD_QIE
#define VTD_GSTS_WBFS VTD_GCMD_WBF
#define VTD_GSTS_RTPS VTD_GCMD_SRTP
#define VTD_GSTS_TES VTD_GCMD_TE
#define VTD_GSTS_CFIS VTD_GCMD_CFI
#define VTD_GSTS_IRTPS VTD_GCMD_SIRTP
#define VTD_GSTS_IRES VTD_GCMD_IRE

/* IRTA_REG: table base, extended interrupt mode, size 2^(S+1) entries. */
#define VTD_IRTA_EIME (1ull << 11)
#define VTD_IRTA_S_MASK 0xfull
#define VTD_IRTA_RSVD 0x7f0ull

/* Interrupt remapping table entry (128 bits), remapped format (IM = 0). */
#define VTD_IRTE_P (1ull << 0)
#define VTD_IRTE_FPD (1ull << 1)
#define VTD_IRTE_DM (1ull << 2)
#define VTD_IRTE_RH (1ull << 3)
#define VTD_IRTE_TM (1ull << 4)
#define VTD_IRTE_DLM_SHIFT 5
#define VTD_IRTE_IM (1ull << 15) /* posted format: no ECAP.PI here */
#define VTD_IRTE_V_SHIFT 16
#define VTD_IRTE_DST_SHIFT 32
/* Reserved in the low qword: 14:12 and 31:24 (11:8 are for software). */
#define VTD_IRTE_LO_RSVD 0xff007000ull
/* ... and with EIME = 0 (xAPIC): DST bits 7:0 and 31:16 (ids in 15:8). */
#define VTD_IRTE_LO_RSVD_XAPIC 0xffff00ff00000000ull
/* High qword: SID 15:0, SQ 17:16, SVT 19:18, the rest reserved. */
#define VTD_IRTE_HI_RSVD (~0xfffffull)
#define VTD_SVT_NONE 0
#define VTD_SVT_SID 1 /* requester id against SID under the SQ mask */
#define VTD_SVT_BUS 2 /* requester bus in [SID 15:8, SID 7:0] */

/* An interrupt request (an MSI write to 0xfeexxxxx) in remappable form. */
#define VTD_MSI_ADDR_BASE 0xfee00000ull
#define VTD_MSI_ADDR_MASK 0xfff00000ull
#define VTD_MSI_IF (1ull << 4) /* interrupt format: 1 remappable */
#define VTD_MSI_SHV (1ull << 3) /* subhandle (data 15:0) valid */

/* RTADDR_REG */
#define VTD_RTADDR_TTM_SHIFT 10
#define VTD_RTADDR_TTM_MASK (3ull << 10)
#define VTD_TTM_LEGACY 0
#define VTD_TTM_SCALABLE 1
#define VTD_RTADDR_SMT (1ull << 10) /* TTM = 01b */
#define VTD_PAGE_MASK (~0xfffull)

/* CCMD_REG */
#define VTD_CCMD_DID(d) ((uint64_t)(d))
#define VTD_CCMD_SID(s) ((uint64_t)(s) << 16)
#define VTD_CCMD_FM(f) ((uint64_t)(f) << 32)
#define VTD_CCMD_CAIG_SHIFT 59
#define VTD_CCMD_CIRG_SHIFT 61
#define VTD_CCMD_GLOBAL (1ull << 61)
#define VTD_CCMD_DOMAIN (2ull << 61)
#define VTD_CCMD_DEVICE (3ull << 61)
#define VTD_CCMD_ICC (1ull << 63)

/* IOTLB_REG and IVA_REG */
#define VTD_IOTLB_DID(d) ((uint64_t)(d) << 32)
#define VTD_IOTLB_DW (1ull << 48)
#define VTD_IOTLB_DR (1ull << 49)
#define VTD_IOTLB_IAIG_SHIFT 57
#define VTD_IOTLB_IIRG_SHIFT 60
#define VTD_IOTLB_GLOBAL (1ull << 60)
#define VTD_IOTLB_DSI (2ull << 60)
#define VTD_IOTLB_PSI (3ull << 60)
#define VTD_IOTLB_IVT (1ull << 63)
#define VTD_IVA_AM(am) ((uint64_t)(am))
#define VTD_IVA_IH (1ull << 6)

/* FSTS_REG */
#define VTD_FSTS_PFO (1u << 0)
#define VTD_FSTS_PPF (1u << 1)
#define VTD_FSTS_IQE (1u << 4)
#define VTD_FSTS_ICE (1u << 5)
#define VTD_FSTS_ITE (1u << 6)
#define VTD_FSTS_FRI(fsts) (((fsts) >> 8) & 0xff)

/* FECTL_REG and IECTL_REG */
#define VTD_xECTL_IP (1u << 30)
#define VTD_xECTL_IM (1u << 31)

/* ICS_REG */
#define VTD_ICS_IWC (1u << 0)

/* IQA_REG */
#define VTD_IQA_QS_MASK 0x7ull
#define VTD_IQA_DW (1ull << 11) /* 256-bit descriptors */

/* Fault recording register, high qword (bits 127:64 of the record). */
#define VTD_FRCD_SID(hi) ((hi)&0xffff)
#define VTD_FRCD_PP (1ull << 31)
#define VTD_FRCD_FR(hi) (((hi) >> 32) & 0xff)
#define VTD_FRCD_T (1ull << 62) /* 1: read request, 0: write */
#define VTD_FRCD_F (1ull << 63)

/* Root entry (legacy: P, CTP; scalable: LP/LCTP low qword, UP/UCTP high). */
#define VTD_RE_P (1ull << 0)

/* Legacy context entry. */
#define VTD_CE_P (1ull << 0)
#define VTD_CE_FPD (1ull << 1)
#define VTD_CE_TT_SHIFT 2
#define VTD_CE_TT_MASK (3ull << 2)
#define VTD_CE_TT_SL 0 /* untranslated requests through second level */
#define VTD_CE_TT_DEVTLB 1
#define VTD_CE_TT_PT 2 /* pass-through */
#define VTD_CE_AW_39 1 /* high qword, bits 2:0 */
#define VTD_CE_AW_48 2
#define VTD_CE_DID(d) ((uint64_t)(d) << 8) /* high qword */

/* Scalable-mode context entry (256 bits). */
#define VTD_SCE_P (1ull << 0)
#define VTD_SCE_FPD (1ull << 1)
#define VTD_SCE_DTE (1ull << 2)
#define VTD_SCE_PASIDE (1ull << 3)
#define VTD_SCE_PRE (1ull << 4)
#define VTD_SCE_PDTS(x) ((uint64_t)(x) << 9)

/* Scalable-mode PASID directory entry (64 bits). */
#define VTD_PDE_P (1ull << 0)
#define VTD_PDE_FPD (1ull << 1)

/* Scalable-mode PASID table entry (512 bits). */
#define VTD_PTE_P (1ull << 0)
#define VTD_PTE_FPD (1ull << 1)
#define VTD_PTE_AW(aw) ((uint64_t)(aw) << 2)
#define VTD_PTE_SLADE (1ull << 9)
#define VTD_PTE_PGTT(t) ((uint64_t)(t) << 6)
#define VTD_PGTT_FL 1
#define VTD_PGTT_SL 2
#define VTD_PGTT_NESTED 3
#define VTD_PGTT_PT 4
#define VTD_PTE_PWSNP (1ull << 23) /* qword 1 */

/* Second-level paging entry. */
#define VTD_SL_R (1ull << 0)
#define VTD_SL_W (1ull << 1)
#define VTD_SL_PS (1ull << 7)
#define VTD_SL_SNP (1ull << 11)
#define VTD_SL_TM (1ull << 62)

/* Invalidation descriptors: type is bits 3:0 with 6:4 in bits 11:9. */
#define VTD_DESC_CC 1
#define VTD_DESC_IOTLB 2
#define VTD_DESC_DEVTLB 3
#define VTD_DESC_IEC 4
#define VTD_DESC_WAIT 5
#define VTD_DESC_PIOTLB 6
#define VTD_DESC_PC 7
#define VTD_DESC_PDEVTLB 8
#define VTD_DESC_G(g) ((uint64_t)(g) << 4)
#define VTD_DESC_DID(d) ((uint64_t)(d) << 16)
#define VTD_DESC_CC_SID(s) ((uint64_t)(s) << 32)
#define VTD_DESC_CC_FM(f) ((uint64_t)(f) << 48)
#define VTD_DESC_PASID(p) ((uint64_t)(p) << 32)
#define VTD_DESC_WAIT_IF (1ull << 4)
#define VTD_DESC_WAIT_SW (1ull << 5)
#define VTD_DESC_WAIT_FN (1ull << 6)
#define VTD_DESC_WAIT_PD (1ull << 7)
#define VTD_DESC_WAIT_DATA(d) ((uint64_t)(d) << 32)

/*
 * Fault reasons (FRCD.FR). Legacy mode (chapter 7, tables of legacy
 * faults) and scalable mode (0x30 and up).
 */
enum vtd_fault {
	VTD_FR_ROOT_P = 0x01, /* LRT.2 root entry not present */
	VTD_FR_CTX_P = 0x02, /* LCT.2 context entry not present */
	VTD_FR_CTX_INV = 0x03, /* LCT.4 invalid context entry (TT, AW) */
	VTD_FR_ADDR_BEYOND = 0x04, /* LGN.1 input address above AGAW */
	VTD_FR_WRITE = 0x05, /* LGN.2 write without W */
	VTD_FR_READ = 0x06, /* LGN.3 read without R */
	VTD_FR_SL_ACCESS = 0x07, /* LSL.1 paging entry access error */
	VTD_FR_ROOT_ACCESS = 0x08, /* LRT.1 root entry access error */
	VTD_FR_CTX_ACCESS = 0x09, /* LCT.1 context entry access error */
	VTD_FR_ROOT_RSVD = 0x0a, /* LRT.3 reserved field in root entry */
	VTD_FR_CTX_RSVD = 0x0b, /* LCT.3 reserved field in context entry */
	VTD_FR_SL_RSVD = 0x0c, /* LSL.2 reserved field in paging entry */
	VTD_FR_INTR_ADDR = 0x0e, /* LGN.4 output in interrupt range */
	VTD_FR_IR_REQ_RSVD = 0x20, /* reserved field in the request */
	VTD_FR_IR_INDEX = 0x21, /* index beyond the table (IRTA.S) */
	VTD_FR_IR_P = 0x22, /* IRTE not present */
	VTD_FR_IR_ACCESS = 0x23, /* IRTE not readable (IRTA outside RAM) */
	VTD_FR_IR_RSVD = 0x24, /* reserved field in a present IRTE */
	VTD_FR_IR_COMPAT = 0x25, /* compatibility format blocked */
	VTD_FR_IR_SID = 0x26, /* source-id verification failed */
	VTD_FR_RTADDR_TTM = 0x31, /* reserved TTM in RTADDR_REG */
	VTD_FR_SM_ROOT_ACCESS = 0x38, /* SRT.1 */
	VTD_FR_SM_ROOT_P = 0x39, /* SRT.2 */
	VTD_FR_SM_ROOT_RSVD = 0x3a, /* SRT.3 */
	VTD_FR_SM_CTX_ACCESS = 0x40, /* SCT.1 */
	VTD_FR_SM_CTX_P = 0x41, /* SCT.2 */
	VTD_FR_SM_CTX_RSVD = 0x42, /* SCT.3 */
	VTD_FR_SM_PDIR_ACCESS = 0x50, /* SPD.1 */
	VTD_FR_SM_PDIR_P = 0x51, /* SPD.2 */
	VTD_FR_SM_PDIR_RSVD = 0x52, /* SPD.3 */
	VTD_FR_SM_PTE_ACCESS = 0x58, /* SPT.1 */
	VTD_FR_SM_PTE_P = 0x59, /* SPT.2 */
	VTD_FR_SM_PTE_RSVD = 0x5a, /* SPT.3 */
	VTD_FR_SM_PTE_INV = 0x5b, /* SPT.4 invalid PGTT or AW */
	VTD_FR_SM_SL_ACCESS = 0x78, /* SSL.1 */
	VTD_FR_SM_SL_P = 0x79, /* SSL.2 R and W clear (not present) */
	VTD_FR_SM_SL_RSVD = 0x7a, /* SSL.3 */
	VTD_FR_SM_ADDR_BEYOND = 0x83, /* SGN.4 */
	VTD_FR_SM_WRITE = 0x85, /* SGN.6 */
	VTD_FR_SM_READ = 0x86, /* SGN.7 */
	VTD_FR_SM_INTR_ADDR = 0x87, /* SGN.8 */
};

#endif
