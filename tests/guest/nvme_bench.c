// SPDX-License-Identifier: GPL-2.0
/*
 * Polled NVMe benchmark, blk_bench's three tests over NVMe: 4 KiB random
 * reads at queue depth 1 and 32 (commands kept in flight in one I/O SQ,
 * refilled as they complete) and 1 MiB sequential reads at depth 4, each
 * for `seconds=N` (default 3). Prints
 *
 *   RESULT <name> <value> <unit>
 *
 * lines for bench/. The function is found by class 01:08:02 and brought
 * up as tests/guest/nvme.c does (admin queue, CC.EN, Identify, one I/O
 * queue pair without interrupts); any vendor's controller will do. A 1 MiB
 * read larger than the controller's MDTS is split into MDTS-sized
 * commands (PRP lists), all in flight together; it completes with its
 * last one. Doorbells are rung once per batch: the SQ tail after the
 * refills, the CQ head after the completions reaped.
 *
 * Options: seconds=N, depth=N (the high depth, default 32), seq_depth=N
 * (default 4), tests=qd1,qdN,seq (a subset).
 */
#include "pci.h"
#include "tsc.h"

#define PAGE 4096u
#define SECTOR 512u
#define AQSIZE 16u
#define IOQSIZE 128u
#define MAX_DEPTH 64u
#define MAX_SEQ_DEPTH 4u
#define MAX_PARTS 8u /* commands per 1 MiB read: MDTS >= 128 KiB */
#define SMALL 4096u
#define BIG (1u << 20)

#define CAP 0x00
#define CC 0x14
#define CSTS 0x1c
#define AQA 0x24
#define ASQ 0x28
#define ACQ 0x30
#define CC_EN 1u
#define CC_IOQES (6u << 16 | 4u << 20)
#define CC_SHN_NORMAL (1u << 14)
#define CSTS_RDY 1u
#define CSTS_CFS 2u

struct q {
	uint8_t *base;
	uint16_t idx, size;
	bool phase;
};

/* One read of @len: @parts commands; done when @left reaches 0. */
struct req {
	uint8_t *buf;
	uint64_t submitted;
	unsigned int left;
};

static uint8_t asq[PAGE] __attribute__((aligned(PAGE)));
static uint8_t acq[PAGE] __attribute__((aligned(PAGE)));
static uint8_t iosq[IOQSIZE * 64] __attribute__((aligned(PAGE)));
static uint8_t iocq[PAGE] __attribute__((aligned(PAGE)));
static uint8_t idbuf[PAGE] __attribute__((aligned(PAGE)));
/* A PRP list page per command slot (CID). */
static uint64_t lists[MAX_DEPTH][PAGE / 8] __attribute__((aligned(PAGE)));
static uint8_t small_bufs[MAX_DEPTH][SMALL] __attribute__((aligned(PAGE)));
static uint8_t big_bufs[MAX_SEQ_DEPTH][BIG] __attribute__((aligned(PAGE)));

static uintptr_t bar;
static unsigned int dstrd;
static struct q sq[2], cq[2];
static uint16_t admin_cid;
static uint32_t max_xfer = BIG; /* bytes per command, from MDTS */
static uint64_t nsze;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t seq_next;

static struct req reqs[MAX_DEPTH];
static uint8_t slot_req[MAX_DEPTH]; /* CID -> request */
static bool slot_busy[MAX_DEPTH];
static uint64_t sq_rings, cq_rings;

static uint32_t rd32(unsigned int off)
{
	return readl(bar + off);
}

static void wr32(unsigned int off, uint32_t v)
{
	writel(v, bar + off);
}

static uint64_t pa(const void *p)
{
	return (uint64_t)(uintptr_t)p; /* identity map */
}

static unsigned int sq_db(unsigned int q)
{
	return 0x1000u + (2u * q << dstrd) * 4u;
}

static unsigned int cq_db(unsigned int q)
{
	return 0x1000u + ((2u * q + 1u) << dstrd) * 4u;
}

static bool wait_csts(uint32_t mask, uint32_t want, const char *what)
{
	uint64_t deadline = tsc_deadline_ms(10000);
	uint32_t v;

	while (((v = rd32(CSTS)) & mask) != want) {
		if (tsc_passed(deadline)) {
			printf("nvme_bench: timed out waiting for %s (CSTS %#x)\n",
			       what, v);
			return false;
		}
		cpu_relax();
	}
	return true;
}

static void sqe(uint32_t *e, uint8_t opc, uint16_t cid, uint32_t nsid,
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

static void push(unsigned int qid, const uint32_t *e)
{
	struct q *s = &sq[qid];

	memcpy(s->base + 64u * s->idx, e, 64);
	s->idx = (uint16_t)((s->idx + 1) % s->size);
}

static void ring_sq(unsigned int qid)
{
	asm volatile("" ::: "memory");
	wr32(sq_db(qid), sq[qid].idx);
	sq_rings++;
}

/* The next completion on @qid, or NULL; advances the head (no doorbell). */
static volatile uint32_t *reap(unsigned int qid)
{
	struct q *c = &cq[qid];
	volatile uint32_t *ent = (volatile uint32_t *)(c->base + 16u * c->idx);

	if (((ent[3] >> 16) & 1) != c->phase)
		return NULL;
	asm volatile("" ::: "memory");
	c->idx = (uint16_t)((c->idx + 1) % c->size);
	if (!c->idx)
		c->phase = !c->phase;
	return ent;
}

static void ring_cq(unsigned int qid)
{
	wr32(cq_db(qid), cq[qid].idx);
	cq_rings++;
}

/* One admin command, polled; returns its status or -1. */
static int admin(uint32_t *e)
{
	uint64_t deadline = tsc_deadline_ms(10000);
	volatile uint32_t *ent;
	int st;

	e[0] = (e[0] & 0xffff) | (uint32_t)++admin_cid << 16;
	push(0, e);
	ring_sq(0);
	while (!(ent = reap(0))) {
		if (tsc_passed(deadline)) {
			printf("nvme_bench: no completion for admin opcode %#x\n",
			       e[0] & 0xff);
			return -1;
		}
		cpu_relax();
	}
	st = (int)((ent[3] >> 17) & 0x7ff);
	ring_cq(0);
	if (st)
		printf("nvme_bench: admin opcode %#x: status %#x\n",
		       e[0] & 0xff, st);
	return st;
}

static bool bring_up(void)
{
	uint64_t cap = rd32(CAP) | (uint64_t)rd32(CAP + 4) << 32;
	unsigned int mqes = (unsigned int)(cap & 0xffff) + 1;
	uint32_t e[16];
	unsigned int mdts;

	dstrd = (unsigned int)(cap >> 32) & 0xf;
	printf("nvme_bench: CAP %#lx\n", (unsigned long)cap);
	if (rd32(CC) & CC_EN) {
		wr32(CC, 0);
		if (!wait_csts(CSTS_RDY, 0, "RDY=0"))
			return false;
	}
	memset(acq, 0, sizeof(acq));
	wr32(AQA, (AQSIZE - 1) << 16 | (AQSIZE - 1));
	wr32(ASQ, (uint32_t)pa(asq));
	wr32(ASQ + 4, (uint32_t)(pa(asq) >> 32));
	wr32(ACQ, (uint32_t)pa(acq));
	wr32(ACQ + 4, (uint32_t)(pa(acq) >> 32));
	sq[0] = (struct q){ .base = asq, .size = AQSIZE };
	cq[0] = (struct q){ .base = acq, .size = AQSIZE, .phase = true };
	wr32(CC, CC_EN | CC_IOQES);
	if (!wait_csts(CSTS_RDY | CSTS_CFS, CSTS_RDY, "RDY=1"))
		return false;

	memset(idbuf, 0, sizeof(idbuf));
	sqe(e, 0x06, 0, 0, pa(idbuf), 0);
	e[10] = 1; /* CNS 1: controller */
	if (admin(e))
		return false;
	mdts = idbuf[77];
	if (mdts && mdts < 20 && (PAGE << mdts) < max_xfer)
		max_xfer = PAGE << mdts;
	if (BIG / max_xfer > MAX_PARTS) {
		printf("nvme_bench: MDTS %u too small\n", mdts);
		return false;
	}
	memset(idbuf, 0, sizeof(idbuf));
	sqe(e, 0x06, 0, 1, pa(idbuf), 0);
	e[10] = 0; /* CNS 0: namespace 1 */
	if (admin(e))
		return false;
	memcpy(&nsze, idbuf, 8);
	if (idbuf[128 + 4 * (idbuf[26] & 0xf) + 2] != 9) {
		puts("nvme_bench: namespace 1 does not use 512-byte blocks");
		return false;
	}
	printf("nvme_bench: %lu blocks, %u bytes per command at most\n",
	       (unsigned long)nsze, max_xfer);
	if (nsze < 2 * BIG / SECTOR) {
		puts("nvme_bench: namespace too small");
		return false;
	}

	if (mqes < IOQSIZE) {
		printf("nvme_bench: MQES %u < %u\n", mqes, IOQSIZE);
		return false;
	}
	memset(iocq, 0, sizeof(iocq));
	sqe(e, 0x05, 0, 0, pa(iocq), 0); /* I/O CQ 1, polled (IEN 0) */
	e[10] = (IOQSIZE - 1) << 16 | 1;
	e[11] = 1; /* PC */
	if (admin(e))
		return false;
	sqe(e, 0x01, 0, 0, pa(iosq), 0); /* I/O SQ 1 on CQ 1 */
	e[10] = (IOQSIZE - 1) << 16 | 1;
	e[11] = 1u << 16 | 1;
	if (admin(e))
		return false;
	sq[1] = (struct q){ .base = iosq, .size = IOQSIZE };
	cq[1] = (struct q){ .base = iocq, .size = IOQSIZE, .phase = true };
	return true;
}

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t next_lba(uint32_t len, bool random)
{
	uint64_t per = len / SECTOR, s;

	if (random)
		return (xorshift() % (nsze / per)) * per;
	s = seq_next;
	seq_next += per;
	if (seq_next + per > nsze)
		seq_next = 0;
	return s;
}

static int free_slot(void)
{
	for (unsigned int i = 0; i < MAX_DEPTH; i++)
		if (!slot_busy[i])
			return (int)i;
	return -1;
}

/* Queues request @r (no doorbell): its commands of at most max_xfer. */
static bool submit(unsigned int r, uint32_t len, bool random, uint64_t now)
{
	uint64_t lba = next_lba(len, random);
	uint8_t *buf = reqs[r].buf;
	uint32_t e[16];

	reqs[r].submitted = now;
	reqs[r].left = 0;
	for (uint32_t off = 0; off < len; off += max_xfer) {
		uint32_t n = len - off < max_xfer ? len - off : max_xfer;
		uint64_t prp2 = 0;
		int cid = free_slot();

		if (cid < 0) {
			puts("nvme_bench: out of command slots");
			return false;
		}
		if (n > 2 * PAGE) {
			for (uint32_t p = PAGE; p < n; p += PAGE)
				lists[cid][p / PAGE - 1] = pa(buf + off + p);
			prp2 = pa(lists[cid]);
		} else if (n > PAGE) {
			prp2 = pa(buf + off + PAGE);
		}
		sqe(e, 0x02, (uint16_t)cid, 1, pa(buf + off), prp2);
		e[10] = (uint32_t)(lba + off / SECTOR);
		e[11] = (uint32_t)((lba + off / SECTOR) >> 32);
		e[12] = n / SECTOR - 1;
		slot_busy[cid] = true;
		slot_req[cid] = (uint8_t)r;
		reqs[r].left++;
		push(1, e);
	}
	return true;
}

struct result {
	uint64_t reqs, bytes, ticks, lat_ticks, sq_rings, cq_rings;
};

/* Keeps @depth reads of @len in flight for @secs seconds. */
static bool run(unsigned int depth, uint32_t len, bool random,
		unsigned long secs, struct result *res)
{
	uint64_t start, end, now, sq0 = sq_rings, cq0 = cq_rings, deadline;
	unsigned int inflight = 0;
	volatile uint32_t *ent;

	memset(res, 0, sizeof(*res));
	start = rdtsc();
	end = start + secs * 1000 * tsc_khz();
	for (unsigned int i = 0; i < depth; i++) {
		reqs[i].buf = len == SMALL ? small_bufs[i] : big_bufs[i];
		if (!submit(i, len, random, rdtsc()))
			return false;
		inflight++;
	}
	ring_sq(1);
	deadline = tsc_deadline_ms(secs * 1000 + 10000);
	while (inflight) {
		bool refilled = false, reaped = false;

		while ((ent = reap(1))) {
			uint16_t cid = (uint16_t)ent[3];
			unsigned int st = (ent[3] >> 17) & 0x7ff, r;

			reaped = true;
			if (cid >= MAX_DEPTH || !slot_busy[cid]) {
				printf("nvme_bench: completion for CID %u\n",
				       cid);
				return false;
			}
			if (st) {
				printf("nvme_bench: read failed: status %#x\n",
				       st);
				return false;
			}
			slot_busy[cid] = false;
			r = slot_req[cid];
			if (--reqs[r].left)
				continue;
			now = rdtsc();
			inflight--;
			res->reqs++;
			res->bytes += len;
			res->lat_ticks += now - reqs[r].submitted;
			if (now < end) {
				if (!submit(r, len, random, now))
					return false;
				inflight++;
				refilled = true;
			}
		}
		if (reaped)
			ring_cq(1);
		if (refilled)
			ring_sq(1);
		if (!reaped) {
			if (tsc_passed(deadline)) {
				printf("nvme_bench: %u reads never completed (CSTS %#x)\n",
				       inflight, rd32(CSTS));
				return false;
			}
			cpu_relax();
		}
	}
	res->ticks = rdtsc() - start;
	res->sq_rings = sq_rings - sq0;
	res->cq_rings = cq_rings - cq0;
	return true;
}

/* value / div with two decimals, from integers only. */
static void print_fixed(const char *name, uint64_t num, uint64_t div,
			const char *unit)
{
	uint64_t v = div ? num * 100 / div : 0;

	printf("RESULT %s %lu.%02lu %s\n", name, (unsigned long)(v / 100),
	       (unsigned long)(v % 100), unit);
}

static void report(const char *name, const struct result *r, bool mbps)
{
	char key[48];
	uint64_t us = tsc_to_us(r->ticks);

	if (mbps) {
		snprintf(key, sizeof(key), "%s", name);
		print_fixed(key, r->bytes, us, "MB/s");
	} else {
		snprintf(key, sizeof(key), "%s_iops", name);
		print_fixed(key, r->reqs * 1000000, us, "IOPS");
	}
	snprintf(key, sizeof(key), "%s_lat", name);
	print_fixed(key, tsc_to_ns(r->lat_ticks), r->reqs * 1000, "us");
	snprintf(key, sizeof(key), "%s_doorbells_per_kreq", name);
	print_fixed(key, (r->sq_rings + r->cq_rings) * 1000, r->reqs,
		    "doorbells");
	printf("nvme_bench: %s: %lu requests in %lu us\n", name,
	       (unsigned long)r->reqs, (unsigned long)us);
}

static bool want_test(const char *tests, const char *t)
{
	size_t n = strlen(t);
	const char *p = tests;

	if (!*tests)
		return true;
	while (*p) {
		if (!strncmp(p, t, n) && (p[n] == ',' || !p[n]))
			return true;
		while (*p && *p != ',')
			p++;
		if (*p)
			p++;
	}
	return false;
}

static unsigned long arg(const char *key, unsigned long def, unsigned long max)
{
	char buf[24];
	unsigned long v;

	if (cmdline_arg(key, buf, sizeof(buf)) >= 0 && parse_ulong(buf, &v) &&
	    v && v <= max)
		return v;
	return def;
}

int guest_main(void)
{
	unsigned long secs = arg("seconds", 3, 3600);
	unsigned long depth = arg("depth", 32, MAX_DEPTH);
	unsigned long seq_depth = arg("seq_depth", 4, MAX_SEQ_DEPTH);
	char tests[48] = "", name[32];
	uint16_t bdf = 0xffff;
	struct result r;

	cmdline_arg("tests", tests, sizeof(tests));
	pci_init();
	for (unsigned int d = 1; d < 32 && bdf == 0xffff; d++) {
		uint16_t f = PCI_BDF(0, d, 0);

		if (pci_present(f) &&
		    pci_cfg_read32(f, PCI_REVISION) >> 8 == 0x010802)
			bdf = f;
	}
	if (bdf == 0xffff) {
		puts("nvme_bench: no function of class 01:08:02 on bus 0");
		return GUEST_FAIL;
	}
	printf("nvme_bench: %02x:%02x.%x %04x:%04x\n", PCI_BUS(bdf),
	       PCI_DEV(bdf), PCI_FN(bdf), pci_cfg_read16(bdf, PCI_VENDOR_ID),
	       pci_cfg_read16(bdf, PCI_DEVICE_ID));
	if (!pci_enable_device(bdf))
		return GUEST_FAIL;
	bar = (uintptr_t)pci_bar_addr(bdf, 0);
	if (!bring_up())
		return GUEST_FAIL;
	if (seq_depth * (BIG / max_xfer) > MAX_DEPTH)
		seq_depth = MAX_DEPTH / (BIG / max_xfer);
	printf("RESULT tsc_khz %lu kHz\n", (unsigned long)tsc_khz());

	if (want_test(tests, "qd1")) {
		if (!run(1, SMALL, true, secs, &r))
			return GUEST_FAIL;
		report("randread_4k_qd1", &r, false);
	}
	if (want_test(tests, "qdN")) {
		if (!run((unsigned int)depth, SMALL, true, secs, &r))
			return GUEST_FAIL;
		snprintf(name, sizeof(name), "randread_4k_qd%lu", depth);
		report(name, &r, false);
	}
	if (want_test(tests, "seq")) {
		if (!run((unsigned int)seq_depth, BIG, false, secs, &r))
			return GUEST_FAIL;
		snprintf(name, sizeof(name), "seqread_1m_qd%lu", seq_depth);
		report(name, &r, true);
	}
	wr32(CC, rd32(CC) | CC_SHN_NORMAL);
	return GUEST_PASS;
}
