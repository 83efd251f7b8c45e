// SPDX-License-Identifier: GPL-2.0
/* Polled NVMe driver for test guests. See nvme.h. */
#include "nvme.h"
#include "pci.h"
#include "tsc.h"

bool nvme_find(struct nvme *n)
{
	uint16_t bdf = 0xffff;

	pci_init();
	for (unsigned int d = 1; d < 32 && bdf == 0xffff; d++) {
		uint16_t f = PCI_BDF(0, d, 0);

		if (pci_present(f) &&
		    pci_cfg_read32(f, PCI_REVISION) >> 8 == 0x010802)
			bdf = f;
	}
	if (bdf == 0xffff) {
		printf("%s: no function of class 01:08:02 on bus 0\n", n->name);
		return false;
	}
	printf("%s: %02x:%02x.%x %04x:%04x\n", n->name, PCI_BUS(bdf),
	       PCI_DEV(bdf), PCI_FN(bdf), pci_cfg_read16(bdf, PCI_VENDOR_ID),
	       pci_cfg_read16(bdf, PCI_DEVICE_ID));
	if (!pci_enable_device(bdf))
		return false;
	n->bar = (uintptr_t)pci_bar_addr(bdf, 0);
	return true;
}

bool nvme_wait_csts(struct nvme *n, uint32_t mask, uint32_t want,
		    const char *what)
{
	uint64_t deadline = tsc_deadline_ms(10000);
	uint32_t v;

	while (((v = nvme_rd32(n, NVME_CSTS)) & mask) != want) {
		if (tsc_passed(deadline)) {
			printf("%s: timed out waiting for %s (CSTS %#x)\n",
			       n->name, what, v);
			return false;
		}
		cpu_relax();
	}
	return true;
}

bool nvme_enable(struct nvme *n, void *asq, void *acq, uint16_t size)
{
	n->cap = nvme_rd32(n, NVME_CAP) | (uint64_t)nvme_rd32(n, NVME_CAP + 4)
						  << 32;
	n->dstrd = (unsigned int)(n->cap >> 32) & 0xf;
	printf("%s: CAP %#lx VS %#x\n", n->name, (unsigned long)n->cap,
	       nvme_rd32(n, NVME_VS));
	if (nvme_rd32(n, NVME_CC) & NVME_CC_EN) {
		nvme_wr32(n, NVME_CC, 0);
		if (!nvme_wait_csts(n, NVME_CSTS_RDY, 0, "RDY=0"))
			return false;
	}
	memset(acq, 0, 16u * size);
	nvme_wr32(n, NVME_AQA, (size - 1u) << 16 | (size - 1u));
	nvme_wr32(n, NVME_ASQ, (uint32_t)nvme_pa(asq));
	nvme_wr32(n, NVME_ASQ + 4, (uint32_t)(nvme_pa(asq) >> 32));
	nvme_wr32(n, NVME_ACQ, (uint32_t)nvme_pa(acq));
	nvme_wr32(n, NVME_ACQ + 4, (uint32_t)(nvme_pa(acq) >> 32));
	n->sq[0] = (struct nvme_queue){ .base = asq, .size = size };
	n->cq[0] =
		(struct nvme_queue){ .base = acq, .size = size, .phase = true };
	nvme_wr32(n, NVME_CC, NVME_CC_EN | NVME_CC_IOQES);
	return nvme_wait_csts(n, NVME_CSTS_RDY | NVME_CSTS_CFS, NVME_CSTS_RDY,
			      "RDY=1");
}

void nvme_sqe(uint32_t *e, uint8_t opc, uint16_t cid, uint32_t nsid,
	      uint64_t prp1, uint64_t prp2)
{
	memset(e, 0, 64);
	e[0] = opc | (uint32_t)cid << 16;
	e[1] = nsid;
	e[6] = (uint32_t)prp1;
	e[7] = (uint32_t)(prp1 >> 32);
	e[8] = (uint32_t)prp2;
	e[9] = (uint32_t)(prp2 >> 32);
}

void nvme_push(struct nvme *n, unsigned int qid, const uint32_t *e)
{
	struct nvme_queue *s = &n->sq[qid];

	memcpy(s->base + 64u * s->idx, e, 64);
	s->idx = (uint16_t)((s->idx + 1) % s->size);
}

/* Linux's nvme_dbbuf_need_event(): whether @new_idx passed @event_idx. */
static bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

/* Shadow doorbell @idx to @v; whether the register must be written too. */
static bool shadow_update(struct nvme *n, unsigned int qid, unsigned int idx,
			  uint16_t v)
{
	uint16_t old;

	if (!n->dbs || !qid)
		return true;
	asm volatile("" ::: "memory"); /* the entries first (x86: wmb) */
	old = (uint16_t)n->dbs[idx];
	n->dbs[idx] = v;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* mb() */
	return need_event((uint16_t)n->eis[idx], v, old);
}

void nvme_ring_sq(struct nvme *n, unsigned int qid)
{
	asm volatile("" ::: "memory");
	if (!shadow_update(n, qid, 2 * qid, n->sq[qid].idx))
		return;
	nvme_wr32(n, nvme_sq_db(n, qid), n->sq[qid].idx);
	n->sq_rings++;
}

volatile uint32_t *nvme_reap(struct nvme *n, unsigned int qid)
{
	struct nvme_queue *c = &n->cq[qid];
	volatile uint32_t *ent = (volatile uint32_t *)(c->base + 16u * c->idx);

	if (((ent[3] >> 16) & 1) != c->phase)
		return NULL;
	asm volatile("" ::: "memory");
	c->idx = (uint16_t)((c->idx + 1) % c->size);
	if (!c->idx)
		c->phase = !c->phase;
	return ent;
}

void nvme_ring_cq(struct nvme *n, unsigned int qid)
{
	if (!shadow_update(n, qid, 2 * qid + 1, n->cq[qid].idx))
		return;
	nvme_wr32(n, nvme_cq_db(n, qid), n->cq[qid].idx);
	n->cq_rings++;
}

int nvme_exec(struct nvme *n, unsigned int qid, uint32_t *e)
{
	uint64_t deadline = tsc_deadline_ms(10000);
	volatile uint32_t *ent;
	uint32_t dw3;

	e[0] = (e[0] & 0xffff) | (uint32_t)++n->cid << 16;
	nvme_push(n, qid, e);
	nvme_ring_sq(n, qid);
	while (!(ent = nvme_reap(n, qid))) {
		if (tsc_passed(deadline)) {
			printf("%s: no completion on queue %u for opcode %#x (CSTS %#x)\n",
			       n->name, qid, e[0] & 0xff,
			       nvme_rd32(n, NVME_CSTS));
			return -1;
		}
		cpu_relax();
	}
	dw3 = ent[3];
	if ((uint16_t)dw3 != e[0] >> 16) {
		printf("%s: completion for CID %u, want %u\n", n->name,
		       (unsigned int)(uint16_t)dw3, e[0] >> 16);
		return -1;
	}
	nvme_ring_cq(n, qid);
	return NVME_CQE_STATUS(dw3);
}

int nvme_create_io_queues(struct nvme *n, void *sq, void *cq, uint16_t size)
{
	uint32_t e[16];
	int st;

	memset(cq, 0, 16u * size);
	nvme_sqe(e, 0x05, 0, 0, nvme_pa(cq), 0); /* I/O CQ 1, polled (IEN 0) */
	e[10] = (size - 1u) << 16 | 1;
	e[11] = 1; /* PC */
	st = nvme_exec(n, 0, e);
	if (st) {
		printf("%s: create I/O CQ: status %#x\n", n->name, st);
		return st;
	}
	nvme_sqe(e, 0x01, 0, 0, nvme_pa(sq), 0); /* I/O SQ 1 on CQ 1 */
	e[10] = (size - 1u) << 16 | 1;
	e[11] = 1u << 16 | 1;
	st = nvme_exec(n, 0, e);
	if (st) {
		printf("%s: create I/O SQ: status %#x\n", n->name, st);
		return st;
	}
	n->sq[1] = (struct nvme_queue){ .base = sq, .size = size };
	n->cq[1] =
		(struct nvme_queue){ .base = cq, .size = size, .phase = true };
	return 0;
}

int nvme_dbbuf(struct nvme *n, void *dbs, void *eis)
{
	uint32_t e[16];
	int st;

	memset(dbs, 0, NVME_PAGE);
	memset(eis, 0, NVME_PAGE);
	nvme_sqe(e, 0x7c, 0, 0, nvme_pa(dbs), nvme_pa(eis));
	st = nvme_exec(n, 0, e);
	if (st > 0)
		printf("%s: Doorbell Buffer Config: status %#x\n", n->name, st);
	if (!st) {
		n->dbs = dbs;
		n->eis = eis;
	}
	return st;
}
