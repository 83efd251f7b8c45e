/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GUEST_KIT_NVME_H
#define GUEST_KIT_NVME_H

/*
 * A polled NVMe driver for test guests (nvme, nvme_bench): the function
 * found by class 01:08:02 on bus 0, the controller enabled with an admin
 * queue pair, commands built and submitted, completions reaped, and one
 * I/O queue pair without interrupts. Submission queue entries are 64
 * bytes, completion queue entries 16 (CC.IOSQES/IOCQES); every queue lives
 * in memory the caller gives, identity-mapped.
 */

#include "guest.h"

#define NVME_PAGE 4096u

/* Registers */
#define NVME_CAP 0x00
#define NVME_VS 0x08
#define NVME_CC 0x14
#define NVME_CSTS 0x1c
#define NVME_AQA 0x24
#define NVME_ASQ 0x28
#define NVME_ACQ 0x30
#define NVME_CC_EN 1u
#define NVME_CC_IOQES (6u << 16 | 4u << 20)
#define NVME_CC_SHN_NORMAL (1u << 14)
#define NVME_CSTS_RDY 1u
#define NVME_CSTS_CFS 2u
#define NVME_CSTS_SHST(v) (((v) >> 2) & 3u)

/* A completion's status (SC | SCT << 8). */
#define NVME_CQE_STATUS(dw3) ((int)(((dw3) >> 17) & 0x7ff))

struct nvme_queue {
	uint8_t *base;
	uint16_t idx, size; /* tail (SQ) or head (CQ); entries */
	bool phase; /* CQ: the phase tag of a new entry */
};

struct nvme {
	const char *name; /* the guest's, before each message */
	uintptr_t bar; /* BAR 0 */
	uint64_t cap;
	unsigned int dstrd; /* CAP.DSTRD */
	uint16_t cid; /* the last CID nvme_exec() gave */
	struct nvme_queue sq[2], cq[2]; /* admin, then I/O queue 1 */
	uint64_t sq_rings, cq_rings; /* doorbell writes */
	/*
	 * Shadow doorbells and event indexes (nvme_dbbuf()), dword 2 * qid
	 * for the SQ, + 1 for the CQ; NULL: plain doorbells.
	 */
	volatile uint32_t *dbs, *eis;
};

static inline uint64_t nvme_pa(const void *p)
{
	return (uint64_t)(uintptr_t)p; /* identity map */
}

static inline uint32_t nvme_rd32(struct nvme *n, unsigned int off)
{
	return readl(n->bar + off);
}

static inline void nvme_wr32(struct nvme *n, unsigned int off, uint32_t v)
{
	writel(v, n->bar + off);
}

/* Queue @q's doorbells. */
static inline unsigned int nvme_sq_db(const struct nvme *n, unsigned int q)
{
	return 0x1000u + (2u * q << n->dstrd) * 4u;
}

static inline unsigned int nvme_cq_db(const struct nvme *n, unsigned int q)
{
	return 0x1000u + ((2u * q + 1u) << n->dstrd) * 4u;
}

/*
 * The first function of class 01:08:02 on bus 0 (printed), its memory
 * decoding and bus mastering on, n->bar set; n->name is the prefix of
 * every message.
 */
bool nvme_find(struct nvme *n);
/* Polls CSTS until (CSTS & @mask) == @want, for up to 10 s. */
bool nvme_wait_csts(struct nvme *n, uint32_t mask, uint32_t want,
		    const char *what);
/*
 * Reads CAP (printed with VS), disables the controller if it is enabled,
 * then enables it with the admin queue pair at @asq and @acq (@size
 * entries each; the CQ is cleared) and waits for CSTS.RDY.
 */
bool nvme_enable(struct nvme *n, void *asq, void *acq, uint16_t size);
/*
 * Submission queue entry @e (16 dwords): @opc, @nsid, PRP1 and PRP2, the
 * rest 0. The CID is @cid (nvme_exec() gives its own).
 */
void nvme_sqe(uint32_t *e, uint8_t opc, uint16_t cid, uint32_t nsid,
	      uint64_t prp1, uint64_t prp2);
/* @e at the tail of SQ @qid, without a doorbell. */
void nvme_push(struct nvme *n, unsigned int qid, const uint32_t *e);
/*
 * SQ @qid's tail doorbell. With shadow doorbells an I/O queue's goes to
 * the shadow, and to the register only when it passes the controller's
 * event index (Linux's nvme_dbbuf_update_and_check_event()); the admin
 * queue's always to the register, as Linux does.
 */
void nvme_ring_sq(struct nvme *n, unsigned int qid);
/* The next completion on CQ @qid, or NULL; advances the head (no doorbell). */
volatile uint32_t *nvme_reap(struct nvme *n, unsigned int qid);
/* CQ @qid's head doorbell, the same way. */
void nvme_ring_cq(struct nvme *n, unsigned int qid);
/*
 * @e with the next CID on queue @qid, polled for up to 10 s; checks the
 * completion's CID. Returns its status, or -1 (printed).
 */
int nvme_exec(struct nvme *n, unsigned int qid, uint32_t *e);
/*
 * I/O CQ 1 at @cq (cleared), polled (IEN 0), and I/O SQ 1 at @sq on it,
 * @size entries each. Returns the status of the first command that failed
 * (printed), 0, or -1.
 */
int nvme_create_io_queues(struct nvme *n, void *sq, void *cq, uint16_t size);
/*
 * Doorbell Buffer Config (admin opcode 7Ch) with the shadow doorbells at
 * @dbs and the event indexes at @eis (a page each, cleared here), then
 * nvme_ring_*() use them. Returns its status (printed) or -1.
 */
int nvme_dbbuf(struct nvme *n, void *dbs, void *eis);

#endif
