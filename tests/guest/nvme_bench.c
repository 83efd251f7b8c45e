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
 * up by the kit's polled driver (kit/nvme.h), as tests/guest/nvme.c is
 * (admin queue, CC.EN, Identify, one I/O queue pair without interrupts);
 * any vendor's controller will do. A 1 MiB read larger than the
 * controller's MDTS is split into MDTS-sized commands (PRP lists), all in
 * flight together; it completes with its last one. Doorbells are rung once per batch: the SQ tail after the
 * refills, the CQ head after the completions reaped.
 *
 * When the controller offers Doorbell Buffer Config (OACS bit 8) the I/O
 * queue pair uses shadow doorbells as Linux's nvme driver does (set up
 * before the I/O queues): the new value goes to the shadow buffer, and
 * the doorbell register is written only when it passes the controller's
 * event index. The admin queue keeps plain doorbells.
 *
 * Options: seconds=N, depth=N (the high depth, default 32), seq_depth=N
 * (default 4), tests=qd1,qdN,seq (a subset), dbbuf=0 (plain doorbells
 * even if shadow doorbells are offered).
 */
#include "bench.h"
#include "nvme.h"
#include "tsc.h"

#define PAGE NVME_PAGE
#define SECTOR 512u
#define AQSIZE 16u
#define IOQSIZE 128u
#define MAX_DEPTH 64u
#define MAX_SEQ_DEPTH 4u
#define MAX_PARTS 8u /* commands per 1 MiB read: MDTS >= 128 KiB */
#define SMALL BENCH_SMALL
#define BIG BENCH_BIG

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
/* Shadow doorbells and event indexes. */
static uint32_t dbs[PAGE / 4] __attribute__((aligned(PAGE)));
static uint32_t eis[PAGE / 4] __attribute__((aligned(PAGE)));
/* A PRP list page per command slot (CID). */
static uint64_t lists[MAX_DEPTH][PAGE / 8] __attribute__((aligned(PAGE)));
static uint8_t small_bufs[MAX_DEPTH][SMALL] __attribute__((aligned(PAGE)));
static uint8_t big_bufs[MAX_SEQ_DEPTH][BIG] __attribute__((aligned(PAGE)));

static struct nvme nv = { .name = "nvme_bench" };
static uint32_t max_xfer = BIG; /* bytes per command, from MDTS */
static uint64_t nsze;

static struct req reqs[MAX_DEPTH];
static uint8_t slot_req[MAX_DEPTH]; /* CID -> request */
static bool slot_busy[MAX_DEPTH];

/* One admin command, polled; returns its status or -1. */
static int admin(uint32_t *e)
{
	int st = nvme_exec(&nv, 0, e);

	if (st > 0)
		printf("nvme_bench: admin opcode %#x: status %#x\n",
		       e[0] & 0xff, st);
	return st;
}

static bool bring_up(bool want_dbbuf)
{
	unsigned int mqes, mdts;
	bool dbbuf;
	uint32_t e[16];

	if (!nvme_enable(&nv, asq, acq, AQSIZE))
		return false;
	mqes = (unsigned int)(nv.cap & 0xffff) + 1;

	memset(idbuf, 0, sizeof(idbuf));
	nvme_sqe(e, 0x06, 0, 0, nvme_pa(idbuf), 0);
	e[10] = 1; /* CNS 1: controller */
	if (admin(e))
		return false;
	mdts = idbuf[77];
	/* OACS bit 8: Doorbell Buffer Config. */
	dbbuf = want_dbbuf && (idbuf[256] | idbuf[257] << 8) & 0x100;
	if (mdts && mdts < 20 && (PAGE << mdts) < max_xfer)
		max_xfer = PAGE << mdts;
	if (BIG / max_xfer > MAX_PARTS) {
		printf("nvme_bench: MDTS %u too small\n", mdts);
		return false;
	}
	memset(idbuf, 0, sizeof(idbuf));
	nvme_sqe(e, 0x06, 0, 1, nvme_pa(idbuf), 0);
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
	if (dbbuf && nvme_dbbuf(&nv, dbs, eis))
		return false;
	printf("nvme_bench: shadow doorbells %s\n", dbbuf ? "on" : "off");
	return !nvme_create_io_queues(&nv, iosq, iocq, IOQSIZE);
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
	uint64_t lba = bench_next_sector(nsze, len, random);
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
				lists[cid][p / PAGE - 1] =
					nvme_pa(buf + off + p);
			prp2 = nvme_pa(lists[cid]);
		} else if (n > PAGE) {
			prp2 = nvme_pa(buf + off + PAGE);
		}
		nvme_sqe(e, 0x02, (uint16_t)cid, 1, nvme_pa(buf + off), prp2);
		e[10] = (uint32_t)(lba + off / SECTOR);
		e[11] = (uint32_t)((lba + off / SECTOR) >> 32);
		e[12] = n / SECTOR - 1;
		slot_busy[cid] = true;
		slot_req[cid] = (uint8_t)r;
		reqs[r].left++;
		nvme_push(&nv, 1, e);
	}
	return true;
}

/* Keeps @depth reads of @len in flight for @secs seconds. */
static bool run(unsigned int depth, uint32_t len, bool random,
		unsigned long secs, struct bench_result *res)
{
	uint64_t rings0 = nv.sq_rings + nv.cq_rings, start, end, now, deadline;
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
	nvme_ring_sq(&nv, 1);
	deadline = tsc_deadline_ms(secs * 1000 + 10000);
	while (inflight) {
		bool refilled = false, reaped = false;

		while ((ent = nvme_reap(&nv, 1))) {
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
			nvme_ring_cq(&nv, 1);
		if (refilled)
			nvme_ring_sq(&nv, 1);
		if (!reaped) {
			if (tsc_passed(deadline)) {
				printf("nvme_bench: %u reads never completed (CSTS %#x)\n",
				       inflight, nvme_rd32(&nv, NVME_CSTS));
				return false;
			}
			cpu_relax();
		}
	}
	res->ticks = rdtsc() - start;
	res->notifies = nv.sq_rings + nv.cq_rings - rings0;
	return true;
}

int guest_main(void)
{
	static const struct bench bench = { .name = "nvme_bench",
					    .notifies = "doorbells",
					    .run = run };
	unsigned long secs = bench_arg("seconds", 3, 3600);
	unsigned long depth = bench_arg("depth", 32, MAX_DEPTH);
	unsigned long seq_depth = bench_arg("seq_depth", 4, MAX_SEQ_DEPTH);
	char v[8];
	bool want_dbbuf =
		!(cmdline_arg("dbbuf", v, sizeof(v)) >= 0 && !strcmp(v, "0"));

	if (!nvme_find(&nv) || !bring_up(want_dbbuf))
		return GUEST_FAIL;
	if (seq_depth * (BIG / max_xfer) > MAX_DEPTH)
		seq_depth = MAX_DEPTH / (BIG / max_xfer);
	printf("RESULT tsc_khz %lu kHz\n", (unsigned long)tsc_khz());

	if (!bench_tests(&bench, secs, depth, seq_depth))
		return GUEST_FAIL;
	nvme_wr32(&nv, NVME_CC, nvme_rd32(&nv, NVME_CC) | NVME_CC_SHN_NORMAL);
	return GUEST_PASS;
}
