/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_IOMMU_VTD_INTERNAL_H
#define DEVISOR_IOMMU_VTD_INTERNAL_H

/* The unit's state, shared by vtd.c, vtd_walk.c, vtd_inv.c, vtd_dma.c. */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "iommu/vtd.h"
#include "iommu/vtd_regs.h"

#define VTD_HAW 48 /* host address width: table pointers above are bad */
#define VTD_MGAW 48
#define VTD_MAMV 18
#define VTD_HAW_MASK ((1ull << VTD_HAW) - 1)
#define VTD_ND 6 /* 16-bit domain ids */

#define VTD_CTX_CACHE_SIZE 64
#define VTD_IOTLB_SIZE 512 /* direct-mapped */
#define VTD_MAX_ENDPOINTS 64

/*
 * Context cache entry: what a source id's request without PASID resolves
 * to, through the context entry and, in scalable mode, the PASID directory
 * and table entries of its RID_PASID (PASID 0). Only good resolutions are
 * cached (caching mode 0).
 */
struct vtd_ctx {
	bool valid;
	bool scalable; /* resolved through scalable-mode tables */
	bool pt; /* pass-through */
	bool fpd; /* fault processing disabled on the way */
	uint16_t sid;
	uint16_t did;
	uint8_t levels; /* 3 or 4 */
	uint64_t slptptr;
};

/* IOTLB entry: one page or superpage of a domain's second-level tables. */
struct vtd_iotlb {
	bool valid;
	uint8_t shift; /* 12, 21 or 30 */
	uint8_t perm; /* VTD_PERM_*, combined over all levels */
	uint16_t did;
	uint64_t iova; /* aligned to 1 << shift */
	uint64_t gpa;
};

/*
 * A source id that obtained translations, and the domain of its last one
 * (-1: identity, domain unknown): whom to notify on invalidation.
 */
struct vtd_endpoint {
	uint16_t sid;
	int32_t did;
};

/* An address space attached with vtd_dma_space_init(). */
struct vtd_port {
	struct vtd *vtd;
	struct dma_space *as;
	uint16_t sid;
	struct vtd_port *next;
};

struct vtd {
	pthread_mutex_t lock; /* everything below */
	const struct guest_mem *mem;
	const struct vtd_ops *ops;
	void *opaque;

	bool caching_mode; /* CAP.CM, kept across resets */
	bool intremap; /* ECAP.IR and EIM, kept across resets */
	bool ir_changed; /* vtd_ir_take_changed(); atomic */

	/* Interrupt remapping: IRTA as written, and as latched by SIRTP. */
	uint64_t irta;
	uint64_t irt_base;
	uint32_t irt_entries;
	bool irt_eime;

	/* Registers. */
	uint64_t cap, ecap;
	uint32_t gsts;
	uint64_t rtaddr; /* as written */
	uint64_t rta; /* latched by SRTP: table address and mode */
	unsigned int ttm;
	uint64_t ccmd;
	uint32_t fsts; /* PFO, IQE, ICE, ITE; PPF and FRI are computed */
	uint32_t fectl, fedata, feaddr, feuaddr;
	uint64_t iqt, iqa;
	uint32_t ics, iectl, iedata, ieaddr, ieuaddr;
	uint64_t iva, iotlb_reg;
	uint64_t frcd[VTD_NFR][2];
	unsigned int fri_next; /* next fault recording register to use */
	unsigned int fri_first; /* FSTS.FRI: first pending when PPF rose */

	/* Invalidation queue, as sampled when queued invalidation started. */
	uint64_t iq_base;
	uint32_t iq_entries;
	bool iq_dw; /* 256-bit descriptors */
	uint32_t iq_head;

	/* Caches. */
	struct vtd_ctx ctx[VTD_CTX_CACHE_SIZE];
	unsigned int ctx_victim;
	struct vtd_iotlb iotlb[VTD_IOTLB_SIZE];

	/* Notification targets. */
	struct vtd_endpoint ep[VTD_MAX_ENDPOINTS];
	unsigned int nr_ep;
	bool ep_overflow; /* more source ids than ep[] holds: notify all */
	struct vtd_port *ports;
};

/* vtd.c */
void vtd_record_fault(struct vtd *v, uint16_t sid, uint64_t iova,
		      uint8_t reason, bool is_read);
void vtd_fault_event(struct vtd *v, uint32_t pre_status);
void vtd_completion_event(struct vtd *v);
uint32_t vtd_fsts(const struct vtd *v);
void vtd_msi(struct vtd *v, uint64_t addr, uint32_t data);

/* vtd_ir.c */
void vtd_ir_gcmd(struct vtd *v, uint32_t cmd);
void vtd_ir_reset(struct vtd *v);
void vtd_ir_iec(struct vtd *v);
void vtd_ir_changed(struct vtd *v);

/* vtd_walk.c */
void vtd_endpoint_seen(struct vtd *v, uint16_t sid, int32_t did);
int vtd_translate_locked(struct vtd *v, uint16_t sid, uint64_t iova,
			 enum dma_dir dir, struct vtd_xlate *out);

/* vtd_inv.c */
enum vtd_scope {
	VTD_SCOPE_ALL,
	VTD_SCOPE_DOMAIN, /* did */
	VTD_SCOPE_DEVICE, /* sid under function mask fm */
};
void vtd_flush_all(struct vtd *v);
void vtd_ctx_invalidate(struct vtd *v, enum vtd_scope scope, uint16_t did,
			uint16_t sid, unsigned int fm);
void vtd_notify(struct vtd *v, enum vtd_scope scope, uint16_t did, uint16_t sid,
		unsigned int fm, uint64_t iova, uint64_t len);
void vtd_ccmd_write(struct vtd *v);
void vtd_iotlb_reg_write(struct vtd *v);
void vtd_qi_process(struct vtd *v);
void vtd_qi_enable(struct vtd *v, bool enable);

#endif
