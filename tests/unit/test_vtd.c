// SPDX-License-Identifier: GPL-2.0
/*
 * The VT-d DMA-remapping model: tables built in a test guest_mem (legacy
 * and scalable mode, 3 and 4 levels, 2 MiB and 1 GiB pages), every fault
 * reason, fault recording and its event, register-based and queued
 * invalidation, and the dma_space adapter.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iommu/vtd.h"
#include "iommu/vtd_regs.h"
#include "kvm/dma.h"
#include "kvm/memory.h"

#define RAM_SIZE (64ull << 20)
#define HOLE_START (32ull << 20) /* RAM 0-32 MiB, then 4 GiB + 32 MiB */
#define PAGE 4096ull
#define TABLES_START 0x100000ull /* page tables from 1 MiB */
#define NOT_RAM 0x80000000ull /* in the hole */

#define SID_A 0x0010 /* 00:02.0 */
#define SID_B 0x0018 /* 00:03.0 */
#define SID_HI 0x0188 /* 01:11.0: devfn >= 128, upper scalable half */
#define DID 5

/* The standard mappings of the domain. */
#define IOVA_4K 0x10000ull
#define IOVA_RO 0x11000ull
#define IOVA_WO 0x12000ull
#define IOVA_INTR 0x13000ull
#define IOVA_HOLE 0x14000ull /* mapped to a GPA that is not RAM */
#define IOVA_UNMAPPED 0x20000ull
#define IOVA_2M 0xa00000ull
#define IOVA_1G 0x40000000ull
#define GPA_4K 0x1800000ull /* 24 MiB */
#define GPA_RO 0x1801000ull
#define GPA_WO 0x1802000ull
#define GPA_2M 0x1000000ull /* 16 MiB */
#define GPA_1G 0x0ull

static struct guest_mem mem;
static struct vtd *vtd;
static uint64_t next_page;

static struct {
	unsigned int n;
	uint64_t addr[16];
	uint32_t data[16];
} msis;

static struct {
	unsigned int n;
	int sid;
	uint64_t iova, len;
} notices;

static void on_msi(void *opaque, uint64_t addr, uint32_t data)
{
	if (msis.n < 16) {
		msis.addr[msis.n] = addr;
		msis.data[msis.n] = data;
	}
	msis.n++;
}

static void on_invalidate(void *opaque, int sid, uint64_t iova, uint64_t len)
{
	notices.n++;
	notices.sid = sid;
	notices.iova = iova;
	notices.len = len;
}

static const struct vtd_ops ops = {
	.msi = on_msi,
	.invalidate = on_invalidate,
};

/* ---- guest memory and registers ---- */

static uint8_t *ram(uint64_t gpa)
{
	return gpa_to_hva(&mem, gpa, 1);
}

static void w64(uint64_t gpa, uint64_t v)
{
	assert_int_equal(guest_write(&mem, gpa, &v, 8), 0);
}

static uint64_t r64(uint64_t gpa)
{
	uint64_t v;

	assert_int_equal(guest_read(&mem, gpa, &v, 8), 0);
	return v;
}

static uint32_t r32(uint64_t gpa)
{
	uint32_t v;

	assert_int_equal(guest_read(&mem, gpa, &v, 4), 0);
	return v;
}

static uint64_t alloc_page(void)
{
	uint64_t p = next_page;

	next_page += PAGE;
	assert_true(next_page <= GPA_2M);
	memset(ram(p), 0, PAGE);
	return p;
}

static uint32_t reg32(uint64_t off)
{
	return vtd_mmio_read(vtd, off, 4);
}

static uint64_t reg64(uint64_t off)
{
	return vtd_mmio_read(vtd, off, 8);
}

static void wreg32(uint64_t off, uint32_t v)
{
	vtd_mmio_write(vtd, off, v, 4);
}

static void wreg64(uint64_t off, uint64_t v)
{
	vtd_mmio_write(vtd, off, v, 8);
}

/* GCMD as software drives it: the current states, plus or minus one. */
static void gcmd(uint32_t bit, bool on)
{
	uint32_t states = reg32(VTD_GSTS) & (VTD_GSTS_TES | VTD_GSTS_QIES);

	wreg32(VTD_GCMD, on ? states | bit : states & ~bit);
}

static void iotlb_reg(uint64_t cmd, uint64_t iva);

/* ---- tables ---- */

static struct {
	bool sm;
	unsigned int levels;
	uint64_t root, slpt;
	/* Entries the fault cases break. */
	uint64_t root_entry, ctx_entry, pdir_entry, pasid_entry;
	uint64_t top_entry, pte_4k, pde_2m, pdpe_1g;
} T;

static uint64_t root_entry_of(uint16_t sid)
{
	return T.root + (sid >> 8) * 16 + (T.sm ? ((sid & 0xff) >> 7) * 8 : 0);
}

/* The context entry of @sid, making its context table if need be. */
static uint64_t ctx_entry_of(uint16_t sid)
{
	uint64_t re = root_entry_of(sid), e = r64(re);
	unsigned int devfn = sid & 0xff;

	if (!(e & VTD_RE_P)) {
		e = alloc_page() | VTD_RE_P;
		w64(re, e);
	}
	if (T.sm)
		return (e & VTD_PAGE_MASK) + (devfn & 0x7f) * 32;
	return (e & VTD_PAGE_MASK) + devfn * 16;
}

static void attach_legacy(uint16_t sid, uint64_t slpt, unsigned int levels,
			  uint16_t did, unsigned int tt)
{
	uint64_t ce = ctx_entry_of(sid);

	w64(ce, slpt | (uint64_t)tt << VTD_CE_TT_SHIFT | VTD_CE_P);
	w64(ce + 8, (levels - 2) | VTD_CE_DID(did));
	if (sid == SID_A)
		T.ctx_entry = ce;
}

static void attach_sm(uint16_t sid, uint64_t slpt, unsigned int levels,
		      uint16_t did, unsigned int pgtt)
{
	uint64_t ce = ctx_entry_of(sid);
	uint64_t pdir = alloc_page(), ptbl = alloc_page();

	w64(ce, pdir | VTD_SCE_P);
	w64(ce + 8, 0);
	w64(ce + 16, 0);
	w64(ce + 24, 0);
	w64(pdir, ptbl | VTD_PDE_P);
	w64(ptbl,
	    slpt | VTD_PTE_PGTT(pgtt) | VTD_PTE_AW(levels - 2) | VTD_PTE_P);
	w64(ptbl + 8, did | VTD_PTE_PWSNP);
	if (sid == SID_A) {
		T.ctx_entry = ce;
		T.pdir_entry = pdir;
		T.pasid_entry = ptbl;
	}
}

/* @sid to pass-through, in the mode of the tables. */
static void attach_pt(uint16_t sid, uint16_t did)
{
	if (T.sm)
		attach_sm(sid, 0, 4, did, VTD_PGTT_PT);
	else
		attach_legacy(sid, 0, 4, did, VTD_CE_TT_PT);
}

static void attach(uint16_t sid, uint64_t slpt, uint16_t did)
{
	if (T.sm)
		attach_sm(sid, slpt, T.levels, did, VTD_PGTT_SL);
	else
		attach_legacy(sid, slpt, T.levels, did, VTD_CE_TT_SL);
}

/*
 * Map [iova, iova + 1 << shift) to @gpa in the tables at @slpt with
 * @perm (VTD_SL_R/W); returns the leaf entry's address.
 */
static uint64_t map(uint64_t slpt, uint64_t iova, uint64_t gpa,
		    unsigned int shift, uint64_t perm)
{
	uint64_t table = slpt;

	for (unsigned int level = T.levels;; level--) {
		unsigned int lshift = 12 + 9 * (level - 1);
		uint64_t slot = table + ((iova >> lshift) & 511) * 8;
		uint64_t e;

		if (lshift == shift) {
			w64(slot, gpa | perm | (shift > 12 ? VTD_SL_PS : 0));
			return slot;
		}
		e = r64(slot);
		if (!(e & 3)) {
			e = alloc_page() | VTD_SL_R | VTD_SL_W;
			w64(slot, e);
		}
		if (level == T.levels)
			T.top_entry = slot;
		table = e & VTD_PAGE_MASK;
	}
}

static void set_root(void)
{
	wreg64(VTD_RTADDR, T.root | (T.sm ? VTD_RTADDR_SMT : 0));
	gcmd(VTD_GCMD_SRTP, true);
}

/* A fresh unit and the standard domain DID: SID_A in it, TE on. */
static void world(bool sm, unsigned int levels)
{
	if (vtd)
		vtd_destroy(vtd);
	vtd = vtd_create(&mem, &ops, NULL);
	assert_non_null(vtd);
	memset(&msis, 0, sizeof(msis));
	memset(&notices, 0, sizeof(notices));
	memset(&T, 0, sizeof(T));
	next_page = TABLES_START;
	T.sm = sm;
	T.levels = levels;
	T.root = alloc_page();
	T.slpt = alloc_page();
	attach(SID_A, T.slpt, DID);
	T.root_entry = root_entry_of(SID_A);
	T.pte_4k = map(T.slpt, IOVA_4K, GPA_4K, 12, VTD_SL_R | VTD_SL_W);
	map(T.slpt, IOVA_RO, GPA_RO, 12, VTD_SL_R);
	map(T.slpt, IOVA_WO, GPA_WO, 12, VTD_SL_W);
	map(T.slpt, IOVA_INTR, 0xfee00000ull, 12, VTD_SL_R | VTD_SL_W);
	map(T.slpt, IOVA_HOLE, NOT_RAM, 12, VTD_SL_R | VTD_SL_W);
	T.pde_2m = map(T.slpt, IOVA_2M, GPA_2M, 21, VTD_SL_R | VTD_SL_W);
	T.pdpe_1g = map(T.slpt, IOVA_1G, GPA_1G, 30, VTD_SL_R);
	set_root();
	gcmd(VTD_GCMD_TE, true);
	assert_int_equal(reg32(VTD_GSTS), VTD_GSTS_TES | VTD_GSTS_RTPS);
}

static int xlate(uint16_t sid, uint64_t iova, enum dma_dir dir, uint64_t *gpa)
{
	struct vtd_xlate x;
	int r = vtd_translate(vtd, sid, iova, dir, &x);

	if (!r && gpa)
		*gpa = x.gpa;
	return r;
}

static uint64_t gpa_of(uint16_t sid, uint64_t iova)
{
	uint64_t gpa = ~0ull;

	assert_int_equal(xlate(sid, iova, DMA_READ, &gpa), 0);
	return gpa;
}

static uint64_t frcd(unsigned int i, unsigned int half)
{
	return reg64(VTD_FRCD_BASE + 16 * i + 8 * half);
}

static void clear_frcd(unsigned int i)
{
	wreg32(VTD_FRCD_BASE + 16 * i + 12, 1u << 31);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	static const struct mem_region map[] = {
		{ .gpa = 0, .size = HOLE_START },
		{ .gpa = 0x100000000ull, .size = RAM_SIZE - HOLE_START },
	};

	(void)state;
	return guest_mem_init_map(&mem, map, 2);
}

static int group_teardown(void **state)
{
	(void)state;
	if (vtd)
		vtd_destroy(vtd);
	vtd = NULL;
	guest_mem_destroy(&mem);
	return 0;
}

/* ---- registers ---- */

static void test_registers(void **state)
{
	uint64_t cap, ecap;

	(void)state;
	world(false, 4);
	vtd_reset(vtd);
	cap = reg64(VTD_CAP);
	ecap = reg64(VTD_ECAP);
	assert_int_equal(reg32(VTD_VER), 0x30);
	assert_int_equal(cap & 7, 6); /* ND: 16-bit domain ids */
	assert_int_equal((cap >> 8) & 0x1f, 0x6); /* SAGAW: 39 and 48 bits */
	assert_int_equal(((cap >> 16) & 0x3f) + 1, 48); /* MGAW */
	assert_int_equal(cap & VTD_CAP_CM, 0);
	assert_int_equal(cap & (VTD_CAP_RWBF | VTD_CAP_AFL), 0);
	assert_int_equal(cap & (VTD_CAP_PLMR | VTD_CAP_PHMR), 0);
	assert_int_equal((cap >> 34) & 0xf, 3); /* SLLPS: 2 MiB, 1 GiB */
	assert_true(cap & VTD_CAP_PSI);
	assert_int_equal(VTD_CAP_NFR_OF(cap), VTD_NFR);
	assert_int_equal(VTD_CAP_FRO_OF(cap), VTD_FRCD_BASE);
	assert_int_equal(VTD_CAP_MAMV_OF(cap), 18);
	assert_true(ecap & VTD_ECAP_QI);
	assert_true(ecap & VTD_ECAP_PT);
	assert_true(ecap & VTD_ECAP_SMTS);
	assert_true(ecap & VTD_ECAP_SLTS);
	assert_int_equal(ecap & (VTD_ECAP_IR | VTD_ECAP_EIM | VTD_ECAP_DT), 0);
	assert_int_equal(ecap & (VTD_ECAP_FLTS | VTD_ECAP_PASID), 0);
	assert_int_equal(VTD_ECAP_IRO_OF(ecap), VTD_IOTLB_BASE);
	/* Power-on: off, interrupts masked. */
	assert_int_equal(reg32(VTD_GSTS), 0);
	assert_int_equal(reg32(VTD_FECTL), VTD_xECTL_IM);
	assert_int_equal(reg32(VTD_IECTL), VTD_xECTL_IM);
	assert_int_equal(reg32(VTD_FSTS), 0);
	/* 64-bit registers read as halves too; CAP is read-only. */
	assert_int_equal(reg32(VTD_CAP + 4), cap >> 32);
	wreg64(VTD_CAP, 0);
	assert_int_equal(reg64(VTD_CAP), cap);
	wreg32(VTD_RTADDR + 4, 0x12);
	wreg32(VTD_RTADDR, 0x345fff);
	assert_int_equal(reg64(VTD_RTADDR), 0x1200345c00ull);
	/* Other sizes and misaligned accesses are ignored. */
	assert_int_equal(vtd_mmio_read(vtd, VTD_CAP, 2), 0);
	assert_int_equal(vtd_mmio_read(vtd, VTD_CAP + 4, 8), 0);
	assert_int_equal(vtd_mmio_read(vtd, 0x2000, 4), 0);
	vtd_mmio_write(vtd, VTD_FECTL, 0, 1);
	assert_int_equal(reg32(VTD_FECTL), VTD_xECTL_IM);
	/* FEDATA/FEADDR: 16 data bits, dword-aligned address. */
	wreg32(VTD_FEDATA, 0xffffffff);
	wreg32(VTD_FEADDR, 0xfee00003);
	assert_int_equal(reg32(VTD_FEDATA), 0xffff);
	assert_int_equal(reg32(VTD_FEADDR), 0xfee00000);
	/* FEUADDR is reserved without EIM; GCMD reads as 0. */
	wreg32(VTD_FEUADDR, 1);
	assert_int_equal(reg32(VTD_FEUADDR), 0);
	assert_int_equal(reg32(VTD_GCMD), 0);
}

static void test_global_command(void **state)
{
	(void)state;
	world(false, 4);
	/* WBF is not required (RWBF = 0) and ignored: WBFS never sets. */
	wreg32(VTD_GCMD, VTD_GSTS_TES | VTD_GCMD_WBF);
	assert_int_equal(reg32(VTD_GSTS), VTD_GSTS_TES | VTD_GSTS_RTPS);
	/* No interrupt remapping: IRE and SIRTP do nothing. */
	wreg32(VTD_GCMD, VTD_GSTS_TES | VTD_GCMD_IRE | VTD_GCMD_SIRTP);
	assert_int_equal(reg32(VTD_GSTS), VTD_GSTS_TES | VTD_GSTS_RTPS);
	/* TE off: identity, and every device is told. */
	notices.n = 0;
	gcmd(VTD_GCMD_TE, false);
	assert_int_equal(reg32(VTD_GSTS), VTD_GSTS_RTPS);
	assert_int_equal(notices.n, 1);
	assert_int_equal(notices.sid, VTD_SID_ALL);
	assert_int_equal(gpa_of(SID_B, 0x123456), 0x123456);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), IOVA_4K);
	gcmd(VTD_GCMD_TE, true);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K);
	/* SRTP again: RTPS stays set, the new table is used at once. */
	T.root = alloc_page();
	set_root();
	assert_int_equal(reg32(VTD_GSTS), VTD_GSTS_TES | VTD_GSTS_RTPS);
	assert_int_equal(xlate(SID_A, IOVA_4K, DMA_READ, NULL), VTD_FR_ROOT_P);
}

/* ---- translation ---- */

static void check_mappings(void)
{
	struct vtd_xlate x;

	assert_int_equal(vtd_translate(vtd, SID_A, IOVA_4K + 0x123,
				       DMA_READ | DMA_WRITE, &x),
			 0);
	assert_int_equal(x.gpa, GPA_4K + 0x123);
	assert_int_equal(x.page_mask, 0xfff);
	assert_int_equal(x.perm, VTD_PERM_R | VTD_PERM_W);
	assert_int_equal(vtd_translate(vtd, SID_A, IOVA_RO, DMA_READ, &x), 0);
	assert_int_equal(x.gpa, GPA_RO);
	assert_int_equal(x.perm, VTD_PERM_R);
	assert_int_equal(vtd_translate(vtd, SID_A, IOVA_WO + 8, DMA_WRITE, &x),
			 0);
	assert_int_equal(x.gpa, GPA_WO + 8);
	assert_int_equal(x.perm, VTD_PERM_W);
	assert_int_equal(
		vtd_translate(vtd, SID_A, IOVA_2M + 0x12345, DMA_WRITE, &x), 0);
	assert_int_equal(x.gpa, GPA_2M + 0x12345);
	assert_int_equal(x.page_mask, 0x1fffff);
	assert_int_equal(vtd_translate(vtd, SID_A, IOVA_1G + 0x2345678,
				       DMA_READ, &x),
			 0);
	assert_int_equal(x.gpa, GPA_1G + 0x2345678);
	assert_int_equal(x.page_mask, 0x3fffffff);
	/* Twice: the second from the caches, the same answer. */
	assert_int_equal(gpa_of(SID_A, IOVA_2M + 0x1000), GPA_2M + 0x1000);
	assert_int_equal(gpa_of(SID_A, IOVA_2M + 0x1000), GPA_2M + 0x1000);
	/* PS means nothing in a level-1 entry: ignored, not reserved. */
	w64(T.pte_4k, r64(T.pte_4k) | VTD_SL_PS);
	iotlb_reg(VTD_IOTLB_GLOBAL, 0);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K);
	assert_int_equal(reg32(VTD_FSTS), 0);
}

static void test_translate_legacy(void **state)
{
	(void)state;
	world(false, 4);
	check_mappings();
	world(false, 3);
	check_mappings();
}

static void test_translate_scalable(void **state)
{
	(void)state;
	world(true, 4);
	check_mappings();
	world(true, 3);
	check_mappings();
	/* A device in the upper half of a scalable root entry. */
	attach(SID_HI, T.slpt, DID);
	assert_int_equal(gpa_of(SID_HI, IOVA_4K), GPA_4K);
}

static void test_pass_through(void **state)
{
	struct vtd_xlate x;

	(void)state;
	world(false, 4);
	attach_legacy(SID_B, 0, 4, 9, VTD_CE_TT_PT);
	assert_int_equal(vtd_translate(vtd, SID_B, 0x1234567, DMA_WRITE, &x),
			 0);
	assert_int_equal(x.gpa, 0x1234567);
	assert_int_equal(x.page_mask, UINT64_MAX);
	assert_int_equal(xlate(SID_B, 1ull << 48, DMA_READ, NULL),
			 VTD_FR_ADDR_BEYOND);
	world(true, 4);
	attach_sm(SID_B, 0, 4, 9, VTD_PGTT_PT);
	assert_int_equal(gpa_of(SID_B, 0x7654321), 0x7654321);
}

/* ---- faults ---- */

struct fault_case {
	const char *name;
	bool sm;
	unsigned int levels;
	void (*breakit)(void);
	uint64_t iova;
	enum dma_dir dir;
	uint8_t reason;
};

static void nothing(void)
{
}

static void root_clear(void)
{
	w64(T.root_entry, 0);
}

static void root_rsvd(void)
{
	w64(T.root_entry, r64(T.root_entry) | 0x10);
}

static void root_hi_rsvd(void)
{
	w64(T.root_entry + 8, 1);
}

static void root_table_not_ram(void)
{
	T.root = NOT_RAM;
	set_root();
}

static void ctx_table_not_ram(void)
{
	w64(T.root_entry, NOT_RAM | VTD_RE_P);
}

static void ctx_clear_p(void)
{
	w64(T.ctx_entry, r64(T.ctx_entry) & ~1ull);
}

static void ctx_rsvd_lo(void)
{
	w64(T.ctx_entry, r64(T.ctx_entry) | 0x100);
}

static void ctx_rsvd_hi(void)
{
	w64(T.ctx_entry + 8, r64(T.ctx_entry + 8) | 1ull << 30);
}

static void ctx_tt_devtlb(void)
{
	w64(T.ctx_entry, r64(T.ctx_entry) | 1ull << VTD_CE_TT_SHIFT);
}

static void ctx_tt_reserved(void)
{
	w64(T.ctx_entry, r64(T.ctx_entry) | 3ull << VTD_CE_TT_SHIFT);
}

static void ctx_aw_5level(void)
{
	w64(T.ctx_entry + 8, (r64(T.ctx_entry + 8) & ~7ull) | 3);
}

static void ctx_slpt_not_ram(void)
{
	w64(T.ctx_entry, NOT_RAM | VTD_CE_P);
}

static void pte_snp(void)
{
	w64(T.pte_4k, r64(T.pte_4k) | VTD_SL_SNP);
}

static void pte_above_haw(void)
{
	w64(T.pte_4k, r64(T.pte_4k) | 1ull << 50);
}

static void pte_tm(void)
{
	w64(T.pte_4k, r64(T.pte_4k) | VTD_SL_TM);
}

static void top_ps(void)
{
	w64(T.top_entry, r64(T.top_entry) | VTD_SL_PS);
}

static void pde_2m_misaligned(void)
{
	w64(T.pde_2m, r64(T.pde_2m) | 0x1000);
}

static void pdpe_1g_misaligned(void)
{
	w64(T.pdpe_1g, r64(T.pdpe_1g) | 0x200000);
}

static void top_not_ram(void)
{
	w64(T.top_entry, NOT_RAM | VTD_SL_R | VTD_SL_W);
}

static void sm_ctx_dte(void)
{
	w64(T.ctx_entry, r64(T.ctx_entry) | VTD_SCE_DTE);
}

static void sm_ctx_rid_pasid(void)
{
	w64(T.ctx_entry + 8, 7);
}

static void sm_ctx_qw2(void)
{
	w64(T.ctx_entry + 16, 1);
}

static void sm_pdir_not_ram(void)
{
	w64(T.ctx_entry, NOT_RAM | VTD_SCE_P);
}

static void sm_pdir_clear(void)
{
	w64(T.pdir_entry, r64(T.pdir_entry) & ~1ull);
}

static void sm_pdir_rsvd(void)
{
	w64(T.pdir_entry, r64(T.pdir_entry) | 0x8);
}

static void sm_ptbl_not_ram(void)
{
	w64(T.pdir_entry, NOT_RAM | VTD_PDE_P);
}

static void sm_pasid_clear(void)
{
	w64(T.pasid_entry, r64(T.pasid_entry) & ~1ull);
}

static void sm_pasid_rsvd(void)
{
	w64(T.pasid_entry + 24, 1);
}

static void sm_pasid_slade(void)
{
	w64(T.pasid_entry, r64(T.pasid_entry) | VTD_PTE_SLADE);
}

static void sm_pgtt(unsigned int pgtt)
{
	w64(T.pasid_entry,
	    (r64(T.pasid_entry) & ~(7ull << 6)) | VTD_PTE_PGTT(pgtt));
}

static void sm_pgtt_fl(void)
{
	sm_pgtt(VTD_PGTT_FL);
}

static void sm_pgtt_nested(void)
{
	sm_pgtt(VTD_PGTT_NESTED);
}

static void sm_pgtt_reserved(void)
{
	sm_pgtt(6);
}

static void sm_aw_bad(void)
{
	w64(T.pasid_entry, (r64(T.pasid_entry) & ~(7ull << 2)) | 3 << 2);
}

static void sm_slpt_not_ram(void)
{
	w64(T.pasid_entry, (r64(T.pasid_entry) & 0xfff) | NOT_RAM);
}

static void ttm_reserved(void)
{
	wreg64(VTD_RTADDR, T.root | 2ull << VTD_RTADDR_TTM_SHIFT);
	gcmd(VTD_GCMD_SRTP, true);
}

static const struct fault_case fault_cases[] = {
	/* Legacy mode. */
	{ "root not present", 0, 4, root_clear, IOVA_4K, DMA_READ, 0x1 },
	{ "root reserved", 0, 4, root_rsvd, IOVA_4K, DMA_READ, 0xa },
	{ "root high reserved", 0, 4, root_hi_rsvd, IOVA_4K, DMA_READ, 0xa },
	{ "root table not RAM", 0, 4, root_table_not_ram, IOVA_4K, DMA_READ,
	  0x8 },
	{ "context table not RAM", 0, 4, ctx_table_not_ram, IOVA_4K, DMA_READ,
	  0x9 },
	{ "context not present", 0, 4, ctx_clear_p, IOVA_4K, DMA_READ, 0x2 },
	{ "context reserved lo", 0, 4, ctx_rsvd_lo, IOVA_4K, DMA_READ, 0xb },
	{ "context reserved hi", 0, 4, ctx_rsvd_hi, IOVA_4K, DMA_READ, 0xb },
	{ "context TT device-TLB", 0, 4, ctx_tt_devtlb, IOVA_4K, DMA_READ,
	  0x3 },
	{ "context TT reserved", 0, 4, ctx_tt_reserved, IOVA_4K, DMA_READ,
	  0x3 },
	{ "context AW 5-level", 0, 4, ctx_aw_5level, IOVA_4K, DMA_READ, 0x3 },
	{ "SLPTPTR not RAM", 0, 4, ctx_slpt_not_ram, IOVA_4K, DMA_READ, 0x7 },
	{ "non-leaf not RAM", 0, 4, top_not_ram, IOVA_4K, DMA_WRITE, 0x7 },
	{ "PTE SNP reserved", 0, 4, pte_snp, IOVA_4K, DMA_READ, 0xc },
	{ "PTE above HAW", 0, 4, pte_above_haw, IOVA_4K, DMA_READ, 0xc },
	{ "PTE TM reserved", 0, 3, pte_tm, IOVA_4K, DMA_READ, 0xc },
	{ "PML4E PS", 0, 4, top_ps, IOVA_4K, DMA_READ, 0xc },
	{ "2M page misaligned", 0, 4, pde_2m_misaligned, IOVA_2M, DMA_READ,
	  0xc },
	{ "1G page misaligned", 0, 3, pdpe_1g_misaligned, IOVA_1G, DMA_READ,
	  0xc },
	{ "not present read", 0, 4, nothing, IOVA_UNMAPPED, DMA_READ, 0x6 },
	{ "not present write", 0, 4, nothing, IOVA_UNMAPPED, DMA_WRITE, 0x5 },
	{ "write read-only", 0, 4, nothing, IOVA_RO, DMA_WRITE, 0x5 },
	{ "read write-only", 0, 4, nothing, IOVA_WO, DMA_READ, 0x6 },
	{ "1G page read-only", 0, 3, nothing, IOVA_1G, DMA_READ | DMA_WRITE,
	  0x5 },
	{ "beyond 39 bits", 0, 3, nothing, 1ull << 39, DMA_READ, 0x4 },
	{ "beyond 48 bits", 0, 4, nothing, 1ull << 48, DMA_WRITE, 0x4 },
	{ "interrupt range", 0, 4, nothing, IOVA_INTR, DMA_WRITE, 0xe },
	{ "TTM reserved", 0, 4, ttm_reserved, IOVA_4K, DMA_READ, 0x31 },
	/* Scalable mode. */
	{ "SM root table not RAM", 1, 4, root_table_not_ram, IOVA_4K, DMA_READ,
	  0x38 },
	{ "SM root not present", 1, 4, root_clear, IOVA_4K, DMA_READ, 0x39 },
	{ "SM root reserved", 1, 4, root_rsvd, IOVA_4K, DMA_READ, 0x3a },
	{ "SM context table not RAM", 1, 4, ctx_table_not_ram, IOVA_4K,
	  DMA_READ, 0x40 },
	{ "SM context not present", 1, 4, ctx_clear_p, IOVA_4K, DMA_READ,
	  0x41 },
	{ "SM context DTE", 1, 4, sm_ctx_dte, IOVA_4K, DMA_READ, 0x42 },
	{ "SM context RID_PASID", 1, 4, sm_ctx_rid_pasid, IOVA_4K, DMA_READ,
	  0x42 },
	{ "SM context qword 2", 1, 4, sm_ctx_qw2, IOVA_4K, DMA_READ, 0x42 },
	{ "SM PASID dir not RAM", 1, 4, sm_pdir_not_ram, IOVA_4K, DMA_READ,
	  0x50 },
	{ "SM PASID dir not present", 1, 4, sm_pdir_clear, IOVA_4K, DMA_READ,
	  0x51 },
	{ "SM PASID dir reserved", 1, 4, sm_pdir_rsvd, IOVA_4K, DMA_READ,
	  0x52 },
	{ "SM PASID table not RAM", 1, 4, sm_ptbl_not_ram, IOVA_4K, DMA_READ,
	  0x58 },
	{ "SM PASID entry not present", 1, 4, sm_pasid_clear, IOVA_4K, DMA_READ,
	  0x59 },
	{ "SM PASID entry reserved", 1, 4, sm_pasid_rsvd, IOVA_4K, DMA_READ,
	  0x5a },
	{ "SM PASID entry SLADE", 1, 4, sm_pasid_slade, IOVA_4K, DMA_READ,
	  0x5a },
	{ "SM PGTT first-level", 1, 4, sm_pgtt_fl, IOVA_4K, DMA_READ, 0x5b },
	{ "SM PGTT nested", 1, 4, sm_pgtt_nested, IOVA_4K, DMA_READ, 0x5b },
	{ "SM PGTT reserved", 1, 4, sm_pgtt_reserved, IOVA_4K, DMA_READ, 0x5b },
	{ "SM AW 5-level", 1, 4, sm_aw_bad, IOVA_4K, DMA_READ, 0x5b },
	{ "SM SLPTPTR not RAM", 1, 4, sm_slpt_not_ram, IOVA_4K, DMA_READ,
	  0x78 },
	{ "SM non-leaf not RAM", 1, 3, top_not_ram, IOVA_4K, DMA_READ, 0x78 },
	{ "SM not present", 1, 4, nothing, IOVA_UNMAPPED, DMA_WRITE, 0x79 },
	{ "SM PTE reserved", 1, 4, pte_snp, IOVA_4K, DMA_READ, 0x7a },
	{ "SM PML4E PS", 1, 4, top_ps, IOVA_4K, DMA_READ, 0x7a },
	{ "SM 2M misaligned", 1, 4, pde_2m_misaligned, IOVA_2M, DMA_READ,
	  0x7a },
	{ "SM beyond 39 bits", 1, 3, nothing, 1ull << 39, DMA_READ, 0x83 },
	{ "SM write read-only", 1, 4, nothing, IOVA_RO, DMA_WRITE, 0x85 },
	{ "SM read write-only", 1, 4, nothing, IOVA_WO, DMA_READ, 0x86 },
	{ "SM interrupt range", 1, 4, nothing, IOVA_INTR, DMA_READ, 0x87 },
};

static void test_fault_reasons(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fault_cases) / sizeof(fault_cases[0]);
	     i++) {
		const struct fault_case *c = &fault_cases[i];
		uint64_t hi;
		int r;

		world(c->sm, c->levels);
		c->breakit();
		r = xlate(SID_A, c->iova + 0x18, c->dir, NULL);
		if (r != c->reason)
			fail_msg("%s: reason %#x, want %#x", c->name, r,
				 c->reason);
		/* Recorded in the first record, pending, event masked. */
		hi = frcd(0, 1);
		if (!(hi & VTD_FRCD_F) || VTD_FRCD_FR(hi) != c->reason)
			fail_msg("%s: record %#llx", c->name,
				 (unsigned long long)hi);
		assert_int_equal(VTD_FRCD_SID(hi), SID_A);
		assert_int_equal(!!(hi & VTD_FRCD_T), !(c->dir & DMA_WRITE));
		assert_int_equal(frcd(0, 0), c->iova);
		assert_int_equal(reg32(VTD_FSTS), VTD_FSTS_PPF);
		assert_int_equal(reg32(VTD_FECTL), VTD_xECTL_IM | VTD_xECTL_IP);
		assert_int_equal(msis.n, 0);
		/* A fault is not cached: the same again, recorded again. */
		assert_int_equal(xlate(SID_A, c->iova, c->dir, NULL),
				 c->reason);
		assert_true(frcd(1, 1) & VTD_FRCD_F);
	}
}

static void test_fault_recording(void **state)
{
	(void)state;
	world(false, 4);
	wreg32(VTD_FEDATA, 0x4041);
	wreg32(VTD_FEADDR, 0xfee01000);
	wreg32(VTD_FECTL, 0); /* unmasked */
	/* Eight faults fill the records in order; one event, for the first. */
	for (unsigned int i = 0; i < VTD_NFR; i++)
		assert_int_equal(xlate(SID_A, IOVA_UNMAPPED + i * PAGE,
				       DMA_READ, NULL),
				 VTD_FR_READ);
	assert_int_equal(msis.n, 1);
	assert_int_equal(msis.addr[0], 0xfee01000);
	assert_int_equal(msis.data[0], 0x4041);
	assert_int_equal(reg32(VTD_FECTL), 0);
	for (unsigned int i = 0; i < VTD_NFR; i++)
		assert_int_equal(frcd(i, 0), IOVA_UNMAPPED + i * PAGE);
	assert_int_equal(reg32(VTD_FSTS), VTD_FSTS_PPF); /* FRI 0 */
	/* The ninth finds record 0 still full: overflow, not recorded. */
	assert_int_equal(xlate(SID_B, 0x1000, DMA_WRITE, NULL), VTD_FR_CTX_P);
	assert_int_equal(reg32(VTD_FSTS), VTD_FSTS_PPF | VTD_FSTS_PFO);
	assert_int_equal(VTD_FRCD_SID(frcd(0, 1)), SID_A);
	assert_int_equal(msis.n, 1);
	/* Software services the records: PPF falls with the last F. */
	for (unsigned int i = 0; i < VTD_NFR; i++)
		clear_frcd(i);
	assert_int_equal(reg32(VTD_FSTS), VTD_FSTS_PFO);
	/* While PFO is set nothing is recorded. */
	xlate(SID_B, 0x1000, DMA_WRITE, NULL);
	assert_int_equal(frcd(0, 1) & VTD_FRCD_F, 0);
	wreg32(VTD_FSTS, VTD_FSTS_PFO);
	assert_int_equal(reg32(VTD_FSTS), 0);
	/* Next record index wrapped to 0: FRI 0, and a new event. */
	xlate(SID_B, 0x1000, DMA_WRITE, NULL);
	assert_int_equal(reg32(VTD_FSTS), VTD_FSTS_PPF);
	assert_int_equal(VTD_FRCD_SID(frcd(0, 1)), SID_B);
	assert_int_equal(VTD_FRCD_FR(frcd(0, 1)), VTD_FR_CTX_P);
	assert_int_equal(frcd(0, 1) & VTD_FRCD_T, 0);
	assert_int_equal(msis.n, 2);
	/* Cleared, the next fault goes to record 1 and FRI says so. */
	clear_frcd(0);
	xlate(SID_B, 0x1000, DMA_READ, NULL);
	assert_int_equal(reg32(VTD_FSTS), VTD_FSTS_PPF | 1 << 8);
	assert_true(frcd(1, 1) & VTD_FRCD_T);
	assert_int_equal(msis.n, 3);
	/* An 8-byte write of the high qword clears F as well. */
	wreg64(VTD_FRCD_BASE + 16 + 8, VTD_FRCD_F);
	assert_int_equal(reg32(VTD_FSTS), 0);
}

static void test_fault_event_mask(void **state)
{
	(void)state;
	world(false, 4);
	wreg32(VTD_FEDATA, 0x55);
	wreg32(VTD_FEADDR, 0xfee00000);
	/* Masked (power-on): pending in IP, sent on unmask. */
	xlate(SID_A, IOVA_RO, DMA_WRITE, NULL);
	assert_int_equal(msis.n, 0);
	assert_int_equal(reg32(VTD_FECTL), VTD_xECTL_IM | VTD_xECTL_IP);
	/* A second fault while one is pending raises nothing new. */
	xlate(SID_A, IOVA_WO, DMA_READ, NULL);
	wreg32(VTD_FECTL, 0);
	assert_int_equal(msis.n, 1);
	assert_int_equal(msis.data[0], 0x55);
	assert_int_equal(reg32(VTD_FECTL), 0);
	wreg32(VTD_FECTL, VTD_xECTL_IM);
	assert_int_equal(msis.n, 1);
	/* Masked again, and serviced before unmasking: IP falls, no MSI. */
	clear_frcd(0);
	clear_frcd(1);
	xlate(SID_A, IOVA_RO, DMA_WRITE, NULL);
	assert_int_equal(reg32(VTD_FECTL), VTD_xECTL_IM | VTD_xECTL_IP);
	clear_frcd(2);
	assert_int_equal(reg32(VTD_FECTL), VTD_xECTL_IM);
	wreg32(VTD_FECTL, 0);
	assert_int_equal(msis.n, 1);
}

static void test_fault_processing_disable(void **state)
{
	(void)state;
	/* Legacy: FPD in the context entry, even with P clear. */
	world(false, 4);
	w64(T.ctx_entry, r64(T.ctx_entry) | VTD_CE_FPD);
	assert_int_equal(xlate(SID_A, IOVA_RO, DMA_WRITE, NULL), VTD_FR_WRITE);
	assert_int_equal(xlate(SID_A, IOVA_UNMAPPED, DMA_READ, NULL),
			 VTD_FR_READ);
	assert_int_equal(reg32(VTD_FSTS), 0);
	world(false, 4);
	w64(T.ctx_entry, VTD_CE_FPD);
	assert_int_equal(xlate(SID_A, IOVA_4K, DMA_READ, NULL), VTD_FR_CTX_P);
	assert_int_equal(reg32(VTD_FSTS), 0);
	/* Root-level faults are not qualified: always recorded. */
	root_clear();
	assert_int_equal(xlate(SID_A, IOVA_4K, DMA_READ, NULL), VTD_FR_ROOT_P);
	assert_int_equal(reg32(VTD_FSTS), VTD_FSTS_PPF);
	/* Scalable: FPD in the PASID table entry. */
	world(true, 4);
	w64(T.pasid_entry, r64(T.pasid_entry) | VTD_PTE_FPD);
	assert_int_equal(xlate(SID_A, IOVA_RO, DMA_WRITE, NULL),
			 VTD_FR_SM_WRITE);
	assert_int_equal(reg32(VTD_FSTS), 0);
}

/* ---- register-based invalidation ---- */

static void iotlb_reg(uint64_t cmd, uint64_t iva)
{
	wreg64(VTD_IVA, iva);
	wreg64(VTD_IOTLB, cmd | VTD_IOTLB_IVT);
}

static void test_iotlb_register(void **state)
{
	uint64_t second;

	(void)state;
	world(false, 4);
	second = map(T.slpt, IOVA_4K + PAGE, GPA_4K + 0x10000, 12,
		     VTD_SL_R | VTD_SL_W);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K);
	assert_int_equal(gpa_of(SID_A, IOVA_4K + PAGE), GPA_4K + 0x10000);
	/* The guest changes the tables: the IOTLB still has the old ones. */
	w64(T.pte_4k, (GPA_4K + 0x20000) | VTD_SL_R | VTD_SL_W);
	w64(second, (GPA_4K + 0x30000) | VTD_SL_R);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K);
	/* Page-selective, other page: nothing for this one. */
	notices.n = 0;
	iotlb_reg(VTD_IOTLB_PSI | VTD_IOTLB_DID(DID), IOVA_4K + PAGE);
	assert_int_equal(reg64(VTD_IOTLB) >> 57 & 3, 3); /* IAIG: PSI */
	assert_int_equal(reg64(VTD_IOTLB) & VTD_IOTLB_IVT, 0);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K);
	assert_int_equal(gpa_of(SID_A, IOVA_4K + PAGE), GPA_4K + 0x30000);
	assert_int_equal(notices.n, 1);
	assert_int_equal(notices.sid, SID_A);
	assert_int_equal(notices.iova, IOVA_4K + PAGE);
	assert_int_equal(notices.len, PAGE);
	/* Wrong domain: nothing. */
	iotlb_reg(VTD_IOTLB_PSI | VTD_IOTLB_DID(DID + 1), IOVA_4K);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K);
	/* AM 1: both pages, from the aligned address. */
	w64(second, (GPA_4K + 0x40000) | VTD_SL_R);
	iotlb_reg(VTD_IOTLB_PSI | VTD_IOTLB_DID(DID),
		  (IOVA_4K + PAGE) | VTD_IVA_AM(1));
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x20000);
	assert_int_equal(gpa_of(SID_A, IOVA_4K + PAGE), GPA_4K + 0x40000);
	/* A 4 KiB invalidation inside a 2 MiB page drops the superpage. */
	assert_int_equal(gpa_of(SID_A, IOVA_2M), GPA_2M);
	w64(T.pde_2m, 0x1200000 | VTD_SL_PS | VTD_SL_R | VTD_SL_W);
	assert_int_equal(gpa_of(SID_A, IOVA_2M), GPA_2M);
	iotlb_reg(VTD_IOTLB_PSI | VTD_IOTLB_DID(DID), IOVA_2M + 0x5000);
	assert_int_equal(gpa_of(SID_A, IOVA_2M), 0x1200000);
	/* Domain-selective. */
	w64(T.pte_4k, (GPA_4K + 0x50000) | VTD_SL_R | VTD_SL_W);
	iotlb_reg(VTD_IOTLB_DSI | VTD_IOTLB_DID(DID), 0);
	assert_int_equal(reg64(VTD_IOTLB) >> 57 & 3, 2);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x50000);
	assert_int_equal(notices.len, UINT64_MAX);
	/* Global. */
	w64(T.pte_4k, (GPA_4K + 0x60000) | VTD_SL_R | VTD_SL_W);
	notices.n = 0;
	iotlb_reg(VTD_IOTLB_GLOBAL, 0);
	assert_int_equal(reg64(VTD_IOTLB) >> 57 & 3, 1);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x60000);
	assert_int_equal(notices.sid, VTD_SID_ALL);
	/* AM above MAMV: done domain-selective, and said so. */
	w64(T.pte_4k, (GPA_4K + 0x70000) | VTD_SL_R | VTD_SL_W);
	iotlb_reg(VTD_IOTLB_PSI | VTD_IOTLB_DID(DID), VTD_IVA_AM(40));
	assert_int_equal(reg64(VTD_IOTLB) >> 57 & 3, 2);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x70000);
	/* IIRG 0 is not processed: IAIG 0. */
	iotlb_reg(0, 0);
	assert_int_equal(reg64(VTD_IOTLB) >> 57 & 3, 0);
	/* Two 32-bit writes: the command runs with the upper half. */
	w64(T.pte_4k, (GPA_4K + 0x80000) | VTD_SL_R | VTD_SL_W);
	wreg32(VTD_IOTLB, 0);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x70000);
	wreg32(VTD_IOTLB + 4, (VTD_IOTLB_IVT | VTD_IOTLB_GLOBAL) >> 32);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x80000);
}

static void ccmd(uint64_t cmd)
{
	wreg64(VTD_CCMD, cmd | VTD_CCMD_ICC);
	assert_int_equal(reg64(VTD_CCMD) & VTD_CCMD_ICC, 0);
}

static void test_context_command(void **state)
{
	uint64_t other = 0;

	(void)state;
	world(false, 4);
	attach(SID_B, T.slpt, DID + 1);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K);
	assert_int_equal(gpa_of(SID_B, IOVA_4K), GPA_4K);
	/* SID_A moves to pass-through: cached until invalidated. */
	attach_legacy(SID_A, 0, 4, DID, VTD_CE_TT_PT);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K);
	/* Device-selective, another device: still cached. */
	notices.n = 0;
	ccmd(VTD_CCMD_DEVICE | VTD_CCMD_SID(SID_B) | VTD_CCMD_DID(DID + 1));
	assert_int_equal(reg64(VTD_CCMD) >> 59 & 3, 3); /* CAIG */
	assert_int_equal(notices.n, 1);
	assert_int_equal(notices.sid, SID_B);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K);
	/* Function mask 3 (bits 2:0): SID_B's mask covers SID_A? No. */
	ccmd(VTD_CCMD_DEVICE | VTD_CCMD_SID(SID_A | 7) | VTD_CCMD_FM(3));
	assert_int_equal(gpa_of(SID_A, IOVA_4K), IOVA_4K);
	assert_int_equal(gpa_of(SID_B, IOVA_4K), GPA_4K);
	/* Domain-selective. */
	attach_legacy(SID_B, 0, 4, DID + 1, VTD_CE_TT_PT);
	assert_int_equal(gpa_of(SID_B, IOVA_4K), GPA_4K);
	ccmd(VTD_CCMD_DOMAIN | VTD_CCMD_DID(DID));
	assert_int_equal(gpa_of(SID_B, IOVA_4K), GPA_4K);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), IOVA_4K); /* cached again */
	ccmd(VTD_CCMD_DOMAIN | VTD_CCMD_DID(DID + 1));
	assert_int_equal(reg64(VTD_CCMD) >> 59 & 3, 2);
	assert_int_equal(gpa_of(SID_B, IOVA_4K), IOVA_4K);
	/* Global. */
	other = alloc_page();
	map(other, IOVA_4K, 0x1900000, 12, VTD_SL_R);
	attach(SID_A, other, DID);
	attach(SID_B, other, DID);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), IOVA_4K);
	notices.n = 0;
	ccmd(VTD_CCMD_GLOBAL);
	assert_int_equal(reg64(VTD_CCMD) >> 59 & 3, 1);
	assert_int_equal(notices.sid, VTD_SID_ALL);
	assert_int_equal(gpa_of(SID_A, IOVA_4K), 0x1900000);
	assert_int_equal(gpa_of(SID_B, IOVA_4K), 0x1900000);
	/* CIRG 0: not processed, CAIG 0. */
	ccmd(0);
	assert_int_equal(reg64(VTD_CCMD) >> 59 & 3, 0);
}

/* ---- queued invalidation ---- */

static struct {
	uint64_t base;
	unsigned int tail, entries, width;
} Q;

static void qi_start(unsigned int qs, bool dw)
{
	Q.base = alloc_page();
	for (unsigned int i = 1; i < (1u << qs); i++)
		alloc_page();
	Q.width = dw ? 32 : 16;
	Q.entries = (dw ? 128 : 256) << qs;
	Q.tail = 0;
	wreg64(VTD_IQT, 0);
	wreg64(VTD_IQA, Q.base | qs | (dw ? VTD_IQA_DW : 0));
	gcmd(VTD_GCMD_QIE, true);
	assert_true(reg32(VTD_GSTS) & VTD_GSTS_QIES);
	assert_int_equal(reg64(VTD_IQH), 0);
}

/* Queue a descriptor without submitting it. */
static void qi_put(uint64_t lo, uint64_t hi)
{
	uint64_t at = Q.base + (uint64_t)Q.tail * Q.width;

	w64(at, lo);
	w64(at + 8, hi);
	if (Q.width == 32) {
		w64(at + 16, 0);
		w64(at + 24, 0);
	}
	Q.tail = (Q.tail + 1) % Q.entries;
}

static void qi_submit(void)
{
	wreg64(VTD_IQT, (uint64_t)Q.tail * Q.width);
}

static uint64_t status_addr;

static void qi_wait(uint32_t data)
{
	qi_put(VTD_DESC_WAIT | VTD_DESC_WAIT_SW | VTD_DESC_WAIT_DATA(data),
	       status_addr);
}

static void qi_run(uint64_t lo, uint64_t hi)
{
	static uint32_t seq;

	qi_put(lo, hi);
	qi_wait(++seq);
	qi_submit();
	assert_int_equal(r32(status_addr), seq);
	assert_int_equal(reg64(VTD_IQH), reg64(VTD_IQT));
	assert_int_equal(reg32(VTD_FSTS) & VTD_FSTS_IQE, 0);
}

static void test_queued_invalidation(void **state)
{
	(void)state;
	for (int dw = 0; dw < 2; dw++) {
		world(dw, 4);
		status_addr = alloc_page() + 0x40;
		qi_start(0, dw);
		/* IOTLB, page-selective. */
		assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K);
		w64(T.pte_4k, (GPA_4K + 0x20000) | VTD_SL_R | VTD_SL_W);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K);
		notices.n = 0;
		qi_run(VTD_DESC_IOTLB | VTD_DESC_G(3) | VTD_DESC_DID(DID),
		       IOVA_4K);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x20000);
		assert_int_equal(notices.n, 1);
		assert_int_equal(notices.iova, IOVA_4K);
		/* IOTLB, domain and global. */
		w64(T.pte_4k, (GPA_4K + 0x30000) | VTD_SL_R | VTD_SL_W);
		qi_run(VTD_DESC_IOTLB | VTD_DESC_G(2) | VTD_DESC_DID(DID), 0);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x30000);
		w64(T.pte_4k, (GPA_4K + 0x40000) | VTD_SL_R | VTD_SL_W);
		qi_run(VTD_DESC_IOTLB | VTD_DESC_G(1), 0);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x40000);
		/* PASID-based IOTLB, RID_PASID's pages. */
		w64(T.pte_4k, (GPA_4K + 0x50000) | VTD_SL_R | VTD_SL_W);
		qi_run(VTD_DESC_PIOTLB | VTD_DESC_G(3) | VTD_DESC_DID(DID) |
			       VTD_DESC_PASID(1),
		       IOVA_4K);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x40000);
		qi_run(VTD_DESC_PIOTLB | VTD_DESC_G(3) | VTD_DESC_DID(DID),
		       IOVA_4K);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x50000);
		w64(T.pte_4k, (GPA_4K + 0x60000) | VTD_SL_R | VTD_SL_W);
		qi_run(VTD_DESC_PIOTLB | VTD_DESC_G(2) | VTD_DESC_DID(DID), 0);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x60000);
		/* Context cache, device-selective: now pass-through. */
		attach_pt(SID_A, DID);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x60000);
		qi_run(VTD_DESC_CC | VTD_DESC_G(3) | VTD_DESC_CC_SID(SID_A), 0);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), IOVA_4K);
		/* Domain-selective and global. */
		attach(SID_A, T.slpt, DID);
		qi_run(VTD_DESC_CC | VTD_DESC_G(2) | VTD_DESC_DID(DID), 0);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x60000);
		attach_pt(SID_A, DID);
		qi_run(VTD_DESC_CC | VTD_DESC_G(1), 0);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), IOVA_4K);
		/* PASID cache: PASID-selective in the domain, then global. */
		attach(SID_A, T.slpt, DID);
		qi_run(VTD_DESC_PC | VTD_DESC_G(1) | VTD_DESC_DID(DID), 0);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), GPA_4K + 0x60000);
		attach_pt(SID_A, DID);
		qi_run(VTD_DESC_PC | VTD_DESC_G(3), 0);
		assert_int_equal(gpa_of(SID_A, IOVA_4K), IOVA_4K);
		/* Interrupt entry cache: accepted, nothing to do. */
		qi_run(VTD_DESC_IEC | VTD_DESC_G(1), 0);
		/* Disabling resets the head; the tail is software's. */
		gcmd(VTD_GCMD_QIE, false);
		assert_int_equal(reg64(VTD_IQH), 0);
		assert_int_equal(reg32(VTD_GSTS) & VTD_GSTS_QIES, 0);
	}
}

static void test_wait_descriptor(void **state)
{
	(void)state;
	world(false, 4);
	status_addr = alloc_page();
	wreg32(VTD_IEDATA, 0x61);
	wreg32(VTD_IEADDR, 0xfee02000);
	qi_start(0, false);
	/* IF, masked (power-on): IWC and IP, no message until unmasked. */
	qi_put(VTD_DESC_WAIT | VTD_DESC_WAIT_IF, 0);
	qi_submit();
	assert_int_equal(reg32(VTD_ICS), VTD_ICS_IWC);
	assert_int_equal(reg32(VTD_IECTL), VTD_xECTL_IM | VTD_xECTL_IP);
	assert_int_equal(msis.n, 0);
	wreg32(VTD_IECTL, 0);
	assert_int_equal(msis.n, 1);
	assert_int_equal(msis.addr[0], 0xfee02000);
	assert_int_equal(msis.data[0], 0x61);
	assert_int_equal(reg32(VTD_IECTL), 0);
	/* IWC still set: a second IF raises nothing. */
	qi_put(VTD_DESC_WAIT | VTD_DESC_WAIT_IF | VTD_DESC_WAIT_FN, 0);
	qi_submit();
	assert_int_equal(msis.n, 1);
	/* Serviced: the next one interrupts at once. */
	wreg32(VTD_ICS, VTD_ICS_IWC);
	assert_int_equal(reg32(VTD_ICS), 0);
	qi_put(VTD_DESC_WAIT | VTD_DESC_WAIT_IF | VTD_DESC_WAIT_SW |
		       VTD_DESC_WAIT_DATA(0xabcd1234),
	       status_addr);
	qi_submit();
	assert_int_equal(msis.n, 2);
	assert_int_equal(r32(status_addr), 0xabcd1234);
	/* Masked with IP pending, then serviced (IWC cleared): IP falls. */
	wreg32(VTD_ICS, VTD_ICS_IWC);
	wreg32(VTD_IECTL, VTD_xECTL_IM);
	qi_put(VTD_DESC_WAIT | VTD_DESC_WAIT_IF, 0);
	qi_submit();
	assert_int_equal(reg32(VTD_IECTL), VTD_xECTL_IM | VTD_xECTL_IP);
	wreg32(VTD_ICS, VTD_ICS_IWC);
	assert_int_equal(reg32(VTD_IECTL), VTD_xECTL_IM);
	wreg32(VTD_IECTL, 0);
	assert_int_equal(msis.n, 2);
}

/* Submit one bad descriptor between two good ones: IQE at it. */
static void expect_iqe(uint64_t lo, uint64_t hi)
{
	unsigned int bad;

	qi_put(VTD_DESC_IOTLB | VTD_DESC_G(1), 0);
	bad = Q.tail;
	qi_put(lo, hi);
	qi_wait(0x77);
	w64(status_addr, 0);
	qi_submit();
	assert_true(reg32(VTD_FSTS) & VTD_FSTS_IQE);
	assert_int_equal(reg64(VTD_IQH), (uint64_t)bad * Q.width);
	assert_int_equal(r32(status_addr), 0); /* stopped before the wait */
	/* Fixed and IQE cleared: goes on from the head, to the tail. */
	w64(Q.base + (uint64_t)bad * Q.width, VTD_DESC_IEC);
	w64(Q.base + (uint64_t)bad * Q.width + 8, 0);
	wreg32(VTD_FSTS, VTD_FSTS_IQE);
	assert_int_equal(reg32(VTD_FSTS), 0);
	assert_int_equal(r32(status_addr), 0x77);
	assert_int_equal(reg64(VTD_IQH), reg64(VTD_IQT));
}

static void test_queue_errors(void **state)
{
	(void)state;
	world(false, 4);
	status_addr = alloc_page();
	wreg32(VTD_FEDATA, 0x99);
	wreg32(VTD_FECTL, 0);
	qi_start(0, false);
	expect_iqe(0, 0); /* type 0 */
	assert_int_equal(msis.n, 1); /* IQE raises the fault event */
	assert_int_equal(msis.data[0], 0x99);
	expect_iqe(VTD_DESC_DEVTLB, 0); /* no device-TLB */
	expect_iqe(VTD_DESC_PDEVTLB, 0);
	expect_iqe(9, 0);
	expect_iqe(VTD_DESC_CC, 0); /* granularity 0 */
	expect_iqe(VTD_DESC_CC | VTD_DESC_G(1) | 1ull << 7, 0);
	expect_iqe(VTD_DESC_CC | VTD_DESC_G(1), 1);
	expect_iqe(VTD_DESC_IOTLB, 0);
	expect_iqe(VTD_DESC_IOTLB | VTD_DESC_G(3), 0x80); /* rsvd in hi */
	expect_iqe(VTD_DESC_IOTLB | VTD_DESC_G(3), 19); /* AM > MAMV */
	expect_iqe(VTD_DESC_IOTLB | VTD_DESC_G(1) | 1ull << 40, 0);
	expect_iqe(VTD_DESC_IEC | 1ull << 20, 0);
	expect_iqe(VTD_DESC_WAIT | 1ull << 8, 0);
	expect_iqe(VTD_DESC_WAIT, 1); /* status address bits 1:0 */
	expect_iqe(VTD_DESC_WAIT | VTD_DESC_WAIT_SW, NOT_RAM);
	expect_iqe(VTD_DESC_PIOTLB | VTD_DESC_G(1), 0);
	expect_iqe(VTD_DESC_PC | VTD_DESC_G(2), 0);
	expect_iqe(VTD_DESC_PC | 1ull << 60, 0);
	assert_int_equal(msis.n, 18);

	/* Tail beyond the queue (256 entries): IQE, head unmoved. */
	wreg64(VTD_IQT, 256 * 16);
	assert_int_equal(reg64(VTD_IQT), 256 * 16);
	assert_true(reg32(VTD_FSTS) & VTD_FSTS_IQE);
	assert_int_equal(reg64(VTD_IQH), (uint64_t)Q.tail * 16);
	/* Clearing IQE with the bad tail still there: IQE again. */
	wreg32(VTD_FSTS, VTD_FSTS_IQE);
	assert_true(reg32(VTD_FSTS) & VTD_FSTS_IQE);
	qi_submit();
	wreg32(VTD_FSTS, VTD_FSTS_IQE);
	assert_int_equal(reg32(VTD_FSTS), 0);

	/* 256-bit descriptors: a tail between two is invalid. */
	gcmd(VTD_GCMD_QIE, false);
	qi_start(0, true);
	wreg64(VTD_IQT, 16);
	assert_true(reg32(VTD_FSTS) & VTD_FSTS_IQE);
	wreg64(VTD_IQT, 0);
	wreg32(VTD_FSTS, VTD_FSTS_IQE);
	/* ...and their upper half is reserved. */
	qi_put(VTD_DESC_IOTLB | VTD_DESC_G(1), 0);
	w64(Q.base + 16, 1);
	qi_submit();
	assert_true(reg32(VTD_FSTS) & VTD_FSTS_IQE);
	assert_int_equal(reg64(VTD_IQH), 0);

	/* A queue outside RAM: the fetch fails, IQE. */
	world(false, 4);
	wreg64(VTD_IQA, NOT_RAM);
	gcmd(VTD_GCMD_QIE, true);
	wreg64(VTD_IQT, 16);
	assert_true(reg32(VTD_FSTS) & VTD_FSTS_IQE);
	assert_int_equal(reg64(VTD_IQH), 0);
}

static void test_queue_wrap_and_flood(void **state)
{
	(void)state;
	world(false, 4);
	status_addr = alloc_page();
	qi_start(0, false);
	/* Walk the head to near the end, then wrap the tail past 0. */
	for (unsigned int i = 0; i < 250; i++)
		qi_put(VTD_DESC_IEC, 0);
	qi_submit();
	assert_int_equal(reg64(VTD_IQH), 250 * 16);
	for (unsigned int i = 0; i < 9; i++)
		qi_wait(1000 + i);
	assert_int_equal(Q.tail, 3);
	qi_submit();
	assert_int_equal(reg64(VTD_IQH), 3 * 16);
	assert_int_equal(r32(status_addr), 1008);
	/* A full lap less one, every slot an invalidation: all done. */
	for (unsigned int i = 0; i < Q.entries - 1; i++)
		qi_put(VTD_DESC_IOTLB | VTD_DESC_G(1), 0);
	qi_submit();
	assert_int_equal(reg64(VTD_IQH), reg64(VTD_IQT));
	assert_int_equal(reg32(VTD_FSTS), 0);
	/* Register invalidation is refused while the queue is on. */
	wreg64(VTD_CCMD, VTD_CCMD_ICC | VTD_CCMD_GLOBAL);
	assert_int_equal(reg64(VTD_CCMD) >> 59 & 3, 0);
	iotlb_reg(VTD_IOTLB_GLOBAL, 0);
	assert_int_equal(reg64(VTD_IOTLB) >> 57 & 3, 0);
	/* A tail written before enabling is run at enable. */
	gcmd(VTD_GCMD_QIE, false);
	Q.tail = 0;
	qi_wait(4242);
	qi_submit();
	gcmd(VTD_GCMD_QIE, true);
	assert_int_equal(r32(status_addr), 4242);
	assert_int_equal(reg64(VTD_IQH), 16);
}

/* ---- the dma_space adapter ---- */

static unsigned int notified;

static void dma_notified(struct dma_notifier *n, uint64_t iova, uint64_t len)
{
	notified++;
}

static void test_dma_space(void **state)
{
	static const uint64_t scatter[4] = { 0x1805000, 0x1803000, 0x1809000,
					     0x1804000 };
	struct dma_notifier dn = { .invalidate = dma_notified };
	struct dma_space as, as_b;
	struct iovec iov[8];
	uint8_t buf[3 * 4096], back[sizeof(buf)];
	uint64_t base = 0x100000;

	(void)state;
	world(true, 4);
	assert_int_equal(vtd_dma_space_init(&as, vtd, SID_A), 0);
	assert_int_equal(vtd_dma_space_init(&as_b, vtd, SID_B), 0);
	dma_notifier_add(&as, &dn);
	for (unsigned int i = 0; i < 4; i++)
		map(T.slpt, base + i * PAGE, scatter[i], 12,
		    VTD_SL_R | VTD_SL_W);
	/* 3 pages from 100 bytes in: four pieces, in IOVA order. */
	assert_int_equal(dma_map_iov(&as, base + 100, sizeof(buf), DMA_WRITE,
				     iov, 8),
			 4);
	for (unsigned int i = 0; i < 4; i++)
		assert_ptr_equal(iov[i].iov_base,
				 ram(scatter[i] + (i ? 0 : 100)));
	assert_int_equal(iov[0].iov_len, PAGE - 100);
	assert_int_equal(iov[3].iov_len, 100);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 5);
	assert_int_equal(dma_write(&as, base + 100, buf, sizeof(buf)), 0);
	assert_memory_equal(ram(scatter[1]), buf + PAGE - 100, PAGE);
	assert_int_equal(dma_read(&as, base + 100, back, sizeof(back)), 0);
	assert_memory_equal(back, buf, sizeof(buf));
	/* A 2 MiB page: one piece across its 4 KiB boundaries. */
	assert_int_equal(
		dma_map_iov(&as, IOVA_2M + 0x800, 0x3000, DMA_READ, iov, 8), 1);
	assert_ptr_equal(iov[0].iov_base, ram(GPA_2M + 0x800));
	/* Permission, not mapped, not RAM, another device. */
	assert_int_equal(dma_write(&as, IOVA_RO, buf, 4), -EACCES);
	assert_int_equal(dma_check(&as, IOVA_UNMAPPED, 4, DMA_READ), -EFAULT);
	assert_int_equal(dma_check(&as, IOVA_HOLE, 4, DMA_READ), -EFAULT);
	assert_int_equal(dma_check(&as, IOVA_1G + 0x1000, 8, DMA_READ), 0);
	assert_int_equal(dma_check(&as, IOVA_1G + HOLE_START - 4, 8, DMA_READ),
			 -EFAULT);
	assert_int_equal(dma_check(&as_b, IOVA_4K, 4, DMA_READ), -EFAULT);
	/* The guest unmaps a page and invalidates: the space hears of it. */
	assert_int_equal(dma_check(&as, base, 4, DMA_READ), 0);
	w64(T.pte_4k, 0);
	status_addr = alloc_page();
	qi_start(0, true);
	notified = 0;
	{
		uint64_t gen = as.generation, gen_b = as_b.generation;

		qi_run(VTD_DESC_IOTLB | VTD_DESC_G(3) | VTD_DESC_DID(DID),
		       IOVA_4K);
		assert_true(as.generation > gen);
		/* No context entry, so no domain known: it hears them all. */
		assert_true(as_b.generation > gen_b);
	}
	assert_int_equal(notified, 1);
	assert_int_equal(dma_check(&as, IOVA_4K, 4, DMA_READ), -EFAULT);
	/* Translation off: identity over RAM. */
	gcmd(VTD_GCMD_TE, false);
	assert_int_equal(dma_map_iov(&as, 0x1000, 0x3000, DMA_READ, iov, 8), 1);
	assert_ptr_equal(iov[0].iov_base, ram(0x1000));
	dma_notifier_del(&as, &dn);
	vtd_dma_space_destroy(&as_b);
	vtd_dma_space_destroy(&as);
}

/* ---- threads ---- */

#define THREAD_PAGES 16
#define THREAD_IOVA 0x3000000ull
#define THREAD_GPA_A 0x1a00000ull
#define THREAD_GPA_B 0x1b00000ull

static struct dma_space thread_as;
static int thread_stop;
static unsigned long thread_reads;

/* Each page reads back as one of its two GPAs' markers, never else. */
static void *reader(void *arg)
{
	unsigned int bad = 0;

	(void)arg;
	while (!__atomic_load_n(&thread_stop, __ATOMIC_ACQUIRE)) {
		for (unsigned int i = 0; i < THREAD_PAGES; i++) {
			uint32_t v = 0;
			int r = dma_read(&thread_as, THREAD_IOVA + i * PAGE, &v,
					 sizeof(v));

			if (r || (v != 0xa0000000u + i && v != 0xb0000000u + i))
				bad++;
			__atomic_add_fetch(&thread_reads, 1, __ATOMIC_RELAXED);
		}
	}
	return (void *)(uintptr_t)bad;
}

static uint64_t notified_iova, notified_len;
static unsigned int nr_mapped;

static void ram_notified(struct dma_notifier *n, uint64_t iova, uint64_t len)
{
	nr_mapped++;
	notified_iova = iova;
	notified_len = len;
}

static void ram_invalidated(struct dma_notifier *n, uint64_t iova, uint64_t len)
{
	notified++;
	notified_iova = iova;
}

static int count_piece(void *arg, uint64_t iova, uint64_t len, void *hva,
		       enum dma_dir dir)
{
	(*(unsigned int *)arg)++;
	return 0;
}

/*
 * Device RAM added after a device went pass-through: its space is
 * told of the range (a VFIO shadow replays it) and the replay and DMA
 * reach it, as boot RAM.
 */
static void test_ram_added(void **state)
{
	static uint8_t dev_ram[2 * PAGE];
	struct dma_notifier dn = { .invalidate = ram_invalidated,
				   .mapped = ram_notified };
	uint64_t gpa = 0x4000000000ull;
	struct dma_space as;
	unsigned int pieces = 0;

	(void)state;
	world(true, 4);
	attach_sm(SID_B, 0, 4, 9, VTD_PGTT_PT);
	assert_int_equal(vtd_dma_space_init(&as, vtd, SID_B), 0);
	dma_notifier_add(&as, &dn);
	assert_int_equal(dma_write(&as, gpa + 8, "new", 3), -EFAULT);
	assert_int_equal(guest_mem_add_device_ram(&mem, gpa, sizeof(dev_ram),
						  dev_ram),
			 0);
	notified = nr_mapped = 0;
	vtd_ram_changed(vtd, gpa, sizeof(dev_ram), true);
	/* Told it is mapped, not invalidated: nothing cached is dropped. */
	assert_int_equal(nr_mapped, 1);
	assert_int_equal(notified, 0);
	assert_int_equal(notified_iova, gpa);
	assert_int_equal(notified_len, sizeof(dev_ram));
	assert_int_equal(dma_write(&as, gpa + 8, "new", 3), 0);
	assert_memory_equal(dev_ram + 8, "new", 3);
	assert_int_equal(dma_space_replay(&as, gpa, sizeof(dev_ram),
					  count_piece, &pieces),
			 0);
	assert_int_equal(pieces, 1);
	/* Taken back: an invalidation, as for a mapping the guest dropped. */
	guest_mem_remove_device_ram(&mem, gpa);
	vtd_ram_changed(vtd, gpa, sizeof(dev_ram), false);
	assert_int_equal(notified, 1);
	assert_int_equal(notified_iova, gpa);
	dma_notifier_del(&as, &dn);
	dma_space_destroy(&as);
}

static void test_threads(void **state)
{
	uint64_t pte[THREAD_PAGES];
	pthread_t t[4];

	(void)state;
	world(false, 4);
	for (unsigned int i = 0; i < THREAD_PAGES; i++) {
		uint32_t a = 0xa0000000u + i, b = 0xb0000000u + i;

		assert_int_equal(
			guest_write(&mem, THREAD_GPA_A + i * PAGE, &a, 4), 0);
		assert_int_equal(
			guest_write(&mem, THREAD_GPA_B + i * PAGE, &b, 4), 0);
		pte[i] = map(T.slpt, THREAD_IOVA + i * PAGE,
			     THREAD_GPA_A + i * PAGE, 12, VTD_SL_R);
	}
	assert_int_equal(vtd_dma_space_init(&thread_as, vtd, SID_A), 0);
	thread_stop = 0;
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader, NULL), 0);
	/*
	 * Remap page by page, invalidating each, while they read: at least
	 * 2000 rounds, and on until the readers have read (on a loaded
	 * machine they may not have run at all by round 2000).
	 */
	for (unsigned int round = 0;
	     round < 2000 ||
	     __atomic_load_n(&thread_reads, __ATOMIC_RELAXED) < 4000;
	     round++) {
		unsigned int i = round % THREAD_PAGES;
		uint64_t gpa = (round / THREAD_PAGES) % 2 ? THREAD_GPA_A :
							    THREAD_GPA_B;

		w64(pte[i], (gpa + i * PAGE) | VTD_SL_R);
		if (round % 7 == 0)
			iotlb_reg(VTD_IOTLB_DSI | VTD_IOTLB_DID(DID), 0);
		else
			iotlb_reg(VTD_IOTLB_PSI | VTD_IOTLB_DID(DID),
				  THREAD_IOVA + i * PAGE);
	}
	__atomic_store_n(&thread_stop, 1, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < 4; i++) {
		void *bad;

		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_int_equal((uintptr_t)bad, 0);
	}
	assert_true(thread_reads > 0);
	assert_int_equal(reg32(VTD_FSTS), 0);
	vtd_dma_space_destroy(&thread_as);
}

/* ---- a hostile guest ---- */

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A random value, often an address near the tables or outside RAM. */
static uint64_t rnd_entry(void)
{
	switch (rnd() % 4) {
	case 0:
		return rnd();
	case 1:
		return (TABLES_START + (rnd() % 64) * PAGE) | (rnd() & 0xfff);
	case 2:
		return (rnd() % (RAM_SIZE * 2)) | 1;
	default:
		return (TABLES_START + (rnd() % 64) * PAGE) | 3;
	}
}

static void test_hostile_guest(void **state)
{
	static const uint64_t regs[] = {
		VTD_GCMD,
		VTD_RTADDR,
		VTD_CCMD,
		VTD_FSTS,
		VTD_FECTL,
		VTD_IQT,
		VTD_IQA,
		VTD_ICS,
		VTD_IECTL,
		VTD_IVA,
		VTD_IOTLB,
		VTD_FRCD_BASE + 8,
		VTD_FRCD_BASE + 0x78,
	};

	(void)state;
	for (unsigned int round = 0; round < 40; round++) {
		world(round & 1, 3 + (round & 2) / 2);
		/* Garbage over the tables, the queue and the registers. */
		for (unsigned int i = 0; i < 4000; i++)
			w64(TABLES_START + (rnd() % (64 * PAGE / 8)) * 8,
			    rnd_entry());
		wreg64(VTD_IQA,
		       (TABLES_START + (rnd() % 64) * PAGE) | (rnd() & 0x807));
		for (unsigned int i = 0; i < 200; i++) {
			uint64_t off = regs[rnd() % (sizeof(regs) / 8)];

			if (rnd() & 1)
				wreg64(off & ~7ull, rnd_entry());
			else
				wreg32(off, rnd());
			for (unsigned int j = 0; j < 20; j++) {
				struct vtd_xlate x;
				uint64_t iova = rnd() % 4 ?
							rnd() % (1ull << 32) :
							rnd();
				int r = vtd_translate(vtd, rnd() & 0xffff, iova,
						      1 + rnd() % 3, &x);

				assert_true(r >= 0 && r < 0x100);
			}
			vtd_mmio_read(vtd, (rnd() % 1024) * 4, 4);
		}
		/* Whatever happened, the unit still answers sanely. */
		assert_int_equal(reg32(VTD_VER), 0x30);
		assert_true((reg64(VTD_IQH) >> 4) < 32768);
	}
}

/* What a replay reported, piece by piece. */
static struct {
	unsigned int n;
	uint64_t iova[16], last[16], gpa[16];
	uint8_t perm[16];
} rp;

static int on_piece(void *arg, uint64_t iova, uint64_t last, uint64_t gpa,
		    uint8_t perm)
{
	(void)arg;
	if (rp.n < 16) {
		rp.iova[rp.n] = iova;
		rp.last[rp.n] = last;
		rp.gpa[rp.n] = gpa;
		rp.perm[rp.n] = perm;
	}
	rp.n++;
	return 0;
}

static unsigned int replay(uint16_t sid, uint64_t lo, uint64_t hi)
{
	memset(&rp, 0, sizeof(rp));
	assert_int_equal(vtd_replay(vtd, sid, lo, hi, on_piece, NULL), 0);
	return rp.n;
}

/* The index of the piece at @iova, or fail. */
static unsigned int piece_at(uint64_t iova)
{
	for (unsigned int i = 0; i < rp.n && i < 16; i++)
		if (rp.iova[i] == iova)
			return i;
	fail_msg("no piece at %#llx", (unsigned long long)iova);
	return 0;
}

/*
 * A replay reports what the tables map, clipped to the range asked,
 * ascending, with each leaf's permissions; no faults are recorded for
 * what is not mapped; identity while translation is off.
 */
static void test_replay(void **state)
{
	unsigned int i, n;

	(void)state;
	for (int sm = 0; sm < 2; sm++) {
		world(sm, 4);
		n = replay(SID_A, 0, UINT64_MAX);
		/* 4K, RO, WO, the interrupt page and the hole, 2M, 1G. */
		assert_int_equal(n, 7);
		for (i = 1; i < n; i++)
			assert_true(rp.iova[i] > rp.last[i - 1]);
		i = piece_at(IOVA_4K);
		assert_int_equal(rp.last[i], IOVA_4K + 0xfff);
		assert_int_equal(rp.gpa[i], GPA_4K);
		assert_int_equal(rp.perm[i], VTD_PERM_R | VTD_PERM_W);
		assert_int_equal(rp.perm[piece_at(IOVA_RO)], VTD_PERM_R);
		assert_int_equal(rp.perm[piece_at(IOVA_WO)], VTD_PERM_W);
		i = piece_at(IOVA_2M);
		assert_int_equal(rp.last[i], IOVA_2M + 0x1fffff);
		assert_int_equal(rp.gpa[i], GPA_2M);
		i = piece_at(IOVA_1G);
		assert_int_equal(rp.last[i], IOVA_1G + 0x3fffffff);
		assert_int_equal(rp.perm[i], VTD_PERM_R);
		/* Clipped: the middle of the 2 MiB page only. */
		assert_int_equal(
			replay(SID_A, IOVA_2M + 0x3000, IOVA_2M + 0x4fff), 1);
		assert_int_equal(rp.iova[0], IOVA_2M + 0x3000);
		assert_int_equal(rp.last[0], IOVA_2M + 0x4fff);
		assert_int_equal(rp.gpa[0], GPA_2M + 0x3000);
		/* A device with no context entry: nothing, and no fault. */
		assert_int_equal(replay(SID_B, 0, UINT64_MAX), 0);
		assert_int_equal(reg32(VTD_FSTS), 0);
	}
	/* A level-4 entry pointing at its own table still ends. */
	world(false, 4);
	w64(T.top_entry, T.slpt | VTD_SL_R | VTD_SL_W);
	memset(&rp, 0, sizeof(rp));
	assert_true(vtd_replay(vtd, SID_A, 0, UINT64_MAX, on_piece, NULL) >= 0);
	/* Translation off: the identity, the range as asked. */
	gcmd(VTD_GCMD_TE, false);
	assert_int_equal(replay(SID_B, 0x1000, 0x1fff), 1);
	assert_int_equal(rp.iova[0], 0x1000);
	assert_int_equal(rp.last[0], 0x1fff);
	assert_int_equal(rp.gpa[0], 0x1000);
	assert_int_equal(rp.perm[0], VTD_PERM_R | VTD_PERM_W);
}

/*
 * A function added while translation is on (vm.add-device): no context
 * entry yet, so no walk has named its domain. The guest's first context
 * and the mappings it makes after (caching mode) must reach its notifier,
 * which a VFIO shadow replays from.
 */
static void test_new_function(void **state)
{
	struct dma_notifier dn = { .invalidate = dma_notified };
	struct dma_space as;

	(void)state;
	for (int sm = 0; sm < 2; sm++) {
		world(sm, 4);
		status_addr = alloc_page();
		qi_start(0, true);
		assert_int_equal(vtd_dma_space_init(&as, vtd, SID_B), 0);
		dma_notifier_add(&as, &dn);
		assert_int_equal(replay(SID_B, 0, UINT64_MAX), 0);
		/* The guest gives it a context in DID, then invalidates it. */
		attach(SID_B, T.slpt, DID);
		notified = 0;
		qi_run(VTD_DESC_CC | VTD_DESC_G(3) | VTD_DESC_CC_SID(SID_B), 0);
		assert_int_equal(notified, 1);
		assert_int_equal(replay(SID_B, 0, UINT64_MAX), 7);
		/* A page mapped in DID later (caching mode) reaches it too. */
		map(T.slpt, 0x7000000, 0x1a00000, 12, VTD_SL_R);
		notified = 0;
		qi_run(VTD_DESC_IOTLB | VTD_DESC_G(3) | VTD_DESC_DID(DID),
		       0x7000000);
		assert_int_equal(notified, 1);
		/* Not a domain it is in, now that one walk named DID. */
		qi_run(VTD_DESC_IOTLB | VTD_DESC_G(2) | VTD_DESC_DID(DID + 1),
		       0);
		assert_int_equal(notified, 1);
		dma_notifier_del(&as, &dn);
		vtd_dma_space_destroy(&as);
	}
}

/* Caching mode shows in CAP, also after a reset. */
static void test_caching_mode(void **state)
{
	(void)state;
	world(false, 4);
	assert_int_equal(reg64(VTD_CAP) & VTD_CAP_CM, 0);
	vtd_set_caching_mode(vtd, true);
	assert_int_equal(reg64(VTD_CAP) & VTD_CAP_CM, VTD_CAP_CM);
	vtd_reset(vtd);
	assert_int_equal(reg64(VTD_CAP) & VTD_CAP_CM, VTD_CAP_CM);
}

/* ---- interrupt remapping ---- */

/* The one fault recorded since the last call: its reason, SID and index. */
static void expect_ir_fault(uint8_t reason, uint16_t sid, uint32_t index)
{
	unsigned int found = 0;

	for (unsigned int i = 0; i < VTD_NFR; i++) {
		uint64_t hi = frcd(i, 1);

		if (!(hi & VTD_FRCD_F))
			continue;
		found++;
		assert_int_equal(VTD_FRCD_FR(hi), reason);
		assert_int_equal(VTD_FRCD_SID(hi), sid);
		assert_int_equal(hi & VTD_FRCD_T, 0);
		assert_int_equal(frcd(i, 0), (uint64_t)index << 48);
		clear_frcd(i);
	}
	assert_int_equal(found, 1);
}

static void expect_no_fault(void)
{
	for (unsigned int i = 0; i < VTD_NFR; i++)
		assert_int_equal(frcd(i, 1) & VTD_FRCD_F, 0);
}

static int remap(int sid, uint64_t *addr, uint32_t *data)
{
	return vtd_remap_msi(vtd, sid, addr, data, true);
}

#define IRTE_LO(vec, dst) \
	(VTD_IRTE_P | (uint64_t)(vec) << 16 | (uint64_t)(dst) << 32)
#define IRTE_SID(svt, sq, sid) \
	((uint64_t)(svt) << 18 | (uint64_t)(sq) << 16 | (sid))
#define MSI_IR(handle)                                         \
	(0xfee00000ull | ((handle)&0x7fff) << 5 | VTD_MSI_IF | \
	 (((handle) >> 15) & 1) << 2)

static void test_intremap(void **state)
{
	uint64_t irt, addr, irte[2];
	uint32_t data, keep;
	struct vtd_irq irq;

	(void)state;
	world(false, 4);
	assert_int_equal(reg64(VTD_ECAP) & (VTD_ECAP_IR | VTD_ECAP_EIM), 0);
	wreg64(VTD_IRTA, 0x123000 | 3);
	assert_int_equal(reg64(VTD_IRTA), 0); /* reserved without IR */
	vtd_set_intremap(vtd, true);
	assert_int_equal(reg64(VTD_ECAP) & (VTD_ECAP_IR | VTD_ECAP_EIM),
			 VTD_ECAP_IR | VTD_ECAP_EIM);
	vtd_reset(vtd); /* kept across resets */
	assert_true(reg64(VTD_ECAP) & VTD_ECAP_IR);
	set_root();
	gcmd(VTD_GCMD_TE, true);

	/* IRTA: reserved bits 10:4 read 0; SIRTP latches it. */
	irt = alloc_page();
	wreg64(VTD_IRTA, irt | VTD_IRTA_EIME | 0x7f0 | 3); /* 16 entries */
	assert_int_equal(reg64(VTD_IRTA), irt | VTD_IRTA_EIME | 3);
	(void)vtd_ir_take_changed(vtd);
	keep = reg32(VTD_GSTS) & (VTD_GSTS_TES | VTD_GSTS_QIES);
	wreg32(VTD_GCMD, keep | VTD_GCMD_SIRTP);
	assert_true(reg32(VTD_GSTS) & VTD_GSTS_IRTPS);
	assert_true(vtd_ir_take_changed(vtd));
	assert_false(vtd_ir_take_changed(vtd));

	/* Remapping off: every message passes as it is. */
	addr = MSI_IR(5);
	data = 0x1234;
	assert_int_equal(remap(SID_A, &addr, &data), 0);
	assert_int_equal(addr, MSI_IR(5));
	assert_int_equal(data, 0x1234);

	wreg32(VTD_GCMD, keep | VTD_GCMD_IRE);
	assert_true(reg32(VTD_GSTS) & VTD_GSTS_IRES);
	assert_false(reg32(VTD_GSTS) & VTD_GSTS_CFIS);
	assert_true(vtd_ir_take_changed(vtd));
	keep |= VTD_GCMD_IRE;

	/* x2APIC mode: 32-bit destination, level, physical. */
	w64(irt + 5 * 16, IRTE_LO(0x41, 1) | VTD_IRTE_TM);
	w64(irt + 5 * 16 + 8, IRTE_SID(VTD_SVT_SID, 0, SID_A));
	addr = MSI_IR(5);
	data = 0;
	assert_int_equal(remap(SID_A, &addr, &data), 0);
	assert_int_equal(addr, 0xfee01000ull);
	assert_int_equal(data, 0x41 | 1u << 15 | 1u << 14);
	/* Logical, redirection hint, lowest priority, edge; a subhandle. */
	w64(irt + 7 * 16, IRTE_LO(0x52, 3) | VTD_IRTE_DM | VTD_IRTE_RH |
				  1ull << VTD_IRTE_DLM_SHIFT);
	w64(irt + 7 * 16 + 8, 0);
	addr = MSI_IR(5) | VTD_MSI_SHV;
	data = 2;
	assert_int_equal(remap(SID_B, &addr, &data), 0);
	assert_int_equal(addr, 0xfee03000ull | 1u << 3 | 1u << 2);
	assert_int_equal(data, 0x52 | 1u << 8);
	expect_no_fault();

	/* Each fault reason, with the interrupt index in FI 63:48. */
	addr = MSI_IR(16); /* 16 entries */
	assert_int_equal(remap(SID_A, &addr, &data), VTD_FR_IR_INDEX);
	expect_ir_fault(VTD_FR_IR_INDEX, SID_A, 16);
	addr = MSI_IR(9);
	assert_int_equal(remap(SID_A, &addr, &data), VTD_FR_IR_P);
	expect_ir_fault(VTD_FR_IR_P, SID_A, 9);
	addr = MSI_IR(5); /* SVT 01b: SID_A only */
	assert_int_equal(remap(SID_B, &addr, &data), VTD_FR_IR_SID);
	expect_ir_fault(VTD_FR_IR_SID, SID_B, 5);
	addr = MSI_IR(5) | VTD_MSI_SHV;
	data = 1u << 16; /* data 31:16 reserved with a subhandle */
	assert_int_equal(remap(SID_A, &addr, &data), VTD_FR_IR_REQ_RSVD);
	expect_ir_fault(VTD_FR_IR_REQ_RSVD, SID_A, 5);
	addr = 0xfee00000ull | 3u << 12; /* compatibility format */
	data = 0x30;
	assert_int_equal(remap(SID_A, &addr, &data), VTD_FR_IR_COMPAT);
	expect_ir_fault(VTD_FR_IR_COMPAT, SID_A, 0);
	/* Not an interrupt request at all: left alone. */
	addr = 0x1000;
	assert_int_equal(remap(SID_A, &addr, &data), 0);
	expect_no_fault();
	/* Reserved fields of a present IRTE; FPD hides the record. */
	w64(irt + 5 * 16, IRTE_LO(0x41, 1) | 1ull << 12);
	addr = MSI_IR(5);
	assert_int_equal(remap(SID_A, &addr, &data), VTD_FR_IR_RSVD);
	expect_ir_fault(VTD_FR_IR_RSVD, SID_A, 5);
	w64(irt + 5 * 16, IRTE_LO(0x41, 1) | VTD_IRTE_IM);
	assert_int_equal(remap(SID_A, &addr, &data), VTD_FR_IR_RSVD);
	expect_ir_fault(VTD_FR_IR_RSVD, SID_A, 5);
	w64(irt + 5 * 16, IRTE_LO(0x41, 1) | 1ull << 12 | VTD_IRTE_FPD);
	assert_int_equal(remap(SID_A, &addr, &data), VTD_FR_IR_RSVD);
	expect_no_fault();
	/* Route computations do not record. */
	addr = MSI_IR(9);
	assert_int_equal(vtd_remap_msi(vtd, SID_A, &addr, &data, false),
			 VTD_FR_IR_P);
	expect_no_fault();

	/* xAPIC mode: the id in DST 15:8, the rest reserved; CFI passes. */
	wreg64(VTD_IRTA, irt | 3);
	wreg32(VTD_GCMD, keep | VTD_GCMD_SIRTP);
	w64(irt + 5 * 16, IRTE_LO(0x41, 1u << 8));
	w64(irt + 5 * 16 + 8, 0);
	addr = MSI_IR(5);
	assert_int_equal(remap(SID_A, &addr, &data), 0);
	assert_int_equal(addr, 0xfee01000ull);
	w64(irt + 5 * 16, IRTE_LO(0x41, 1));
	addr = MSI_IR(5);
	assert_int_equal(remap(SID_A, &addr, &data), VTD_FR_IR_RSVD);
	expect_ir_fault(VTD_FR_IR_RSVD, SID_A, 5);
	wreg32(VTD_GCMD, keep | VTD_GCMD_CFI);
	assert_true(reg32(VTD_GSTS) & VTD_GSTS_CFIS);
	addr = 0xfee00000ull | 3u << 12;
	data = 0x30;
	assert_int_equal(remap(SID_A, &addr, &data), 0);
	assert_int_equal(addr, 0xfee00000ull | 3u << 12);
	expect_no_fault();
	/* x2APIC mode blocks them whatever CFI says. */
	wreg64(VTD_IRTA, irt | VTD_IRTA_EIME | 3);
	wreg32(VTD_GCMD, keep | VTD_GCMD_CFI | VTD_GCMD_SIRTP);
	assert_int_equal(remap(SID_A, &addr, &data), VTD_FR_IR_COMPAT);
	expect_ir_fault(VTD_FR_IR_COMPAT, SID_A, 0);

	/* A table outside RAM. */
	wreg64(VTD_IRTA, NOT_RAM | VTD_IRTA_EIME | 3);
	wreg32(VTD_GCMD, keep | VTD_GCMD_SIRTP);
	addr = MSI_IR(1);
	assert_int_equal(remap(SID_A, &addr, &data), VTD_FR_IR_ACCESS);
	expect_ir_fault(VTD_FR_IR_ACCESS, SID_A, 1);

	/* IEC invalidation, queued: routes must be computed again. */
	(void)vtd_ir_take_changed(vtd);
	status_addr = alloc_page() + 0x40;
	qi_start(0, false);
	qi_run(VTD_DESC_IEC, 0);
	assert_true(vtd_ir_take_changed(vtd));
	qi_run(VTD_DESC_IEC | VTD_DESC_G(1) | 5ull << 32, 0);
	assert_true(vtd_ir_take_changed(vtd));
	assert_int_equal(reg32(VTD_FSTS) & VTD_FSTS_IQE, 0);

	/* IRE off again: remappable requests pass unremapped. */
	wreg32(VTD_GCMD, reg32(VTD_GSTS) & (VTD_GSTS_TES | VTD_GSTS_QIES));
	assert_false(reg32(VTD_GSTS) & VTD_GSTS_IRES);
	addr = MSI_IR(1);
	assert_int_equal(remap(SID_A, &addr, &data), 0);
	assert_int_equal(addr, MSI_IR(1));

	/* The decode on its own: source-id qualifiers, SVT, DLM. */
	irte[0] = IRTE_LO(0x33, 7);
	irte[1] = IRTE_SID(VTD_SVT_SID, 3, 0x0010); /* 00:02.x, any fn */
	assert_int_equal(vtd_ir_decode(irte, true, 0x0017, &irq), 0);
	assert_int_equal(irq.vector, 0x33);
	assert_int_equal(irq.dest, 7);
	assert_int_equal(vtd_ir_decode(irte, true, 0x0018, &irq),
			 VTD_FR_IR_SID);
	irte[1] = IRTE_SID(VTD_SVT_SID, 1, 0x0010); /* ignore fn bit 2 */
	assert_int_equal(vtd_ir_decode(irte, true, 0x0014, &irq), 0);
	assert_int_equal(vtd_ir_decode(irte, true, 0x0011, &irq),
			 VTD_FR_IR_SID);
	irte[1] = IRTE_SID(VTD_SVT_BUS, 0, 0x0203); /* buses 2-3 */
	assert_int_equal(vtd_ir_decode(irte, true, 0x0310, &irq), 0);
	assert_int_equal(vtd_ir_decode(irte, true, 0x0110, &irq),
			 VTD_FR_IR_SID);
	assert_int_equal(vtd_ir_decode(irte, true, -1, &irq), VTD_FR_IR_SID);
	irte[1] = IRTE_SID(3, 0, 0); /* SVT 11b is reserved */
	assert_int_equal(vtd_ir_decode(irte, true, 0x0010, &irq),
			 VTD_FR_IR_RSVD);
	irte[1] = 1ull << 20;
	assert_int_equal(vtd_ir_decode(irte, true, 0x0010, &irq),
			 VTD_FR_IR_RSVD);
	irte[1] = 0;
	irte[0] = IRTE_LO(0x33, 7) | 3ull << VTD_IRTE_DLM_SHIFT;
	assert_int_equal(vtd_ir_decode(irte, true, 0x0010, &irq),
			 VTD_FR_IR_RSVD);
	irte[0] = IRTE_LO(0x33, 7) | 4ull << VTD_IRTE_DLM_SHIFT; /* NMI */
	assert_int_equal(vtd_ir_decode(irte, true, 0x0010, &irq), 0);
	assert_int_equal(irq.dlm, 4);
	irte[0] = 0;
	assert_int_equal(vtd_ir_decode(irte, true, 0x0010, &irq), VTD_FR_IR_P);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registers),
		cmocka_unit_test(test_global_command),
		cmocka_unit_test(test_translate_legacy),
		cmocka_unit_test(test_translate_scalable),
		cmocka_unit_test(test_pass_through),
		cmocka_unit_test(test_fault_reasons),
		cmocka_unit_test(test_fault_recording),
		cmocka_unit_test(test_fault_event_mask),
		cmocka_unit_test(test_fault_processing_disable),
		cmocka_unit_test(test_iotlb_register),
		cmocka_unit_test(test_context_command),
		cmocka_unit_test(test_queued_invalidation),
		cmocka_unit_test(test_wait_descriptor),
		cmocka_unit_test(test_queue_errors),
		cmocka_unit_test(test_queue_wrap_and_flood),
		cmocka_unit_test(test_dma_space),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_hostile_guest),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_ram_added),
		cmocka_unit_test(test_new_function),
		cmocka_unit_test(test_caching_mode),
		cmocka_unit_test(test_intremap),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
