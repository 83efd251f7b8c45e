// SPDX-License-Identifier: GPL-2.0
/*
 * Polled virtio-blk benchmark: 4 KiB random reads at queue depth 1 and 32
 * (depth = requests kept in flight, refilled as they complete) and 1 MiB
 * sequential reads, each for `seconds=N` (default 3). Prints
 *
 *   RESULT <name> <value> <unit>
 *
 * lines for bench/. Time is rdtsc against `tsc_khz=` or CPUID, else an
 * RTC calibration. VIRTIO_F_EVENT_IDX is used when offered (`event_idx=0`
 * turns it off), so the device is only kicked when it asked to be; the
 * kicks per 1000 requests are reported too.
 *
 * Other options: transport=pci|mmio, depth=N (the high depth, default 32),
 * seq_depth=N (default 4), tests=qd1,qdN,seq (a subset).
 */
#include "blk.h"
#include "tsc.h"

#define MAX_DEPTH 64
#define SMALL 4096
#define BIG (1u << 20)
#define MAX_SEQ_DEPTH 4

static uint8_t pool[1 << 20] __attribute__((aligned(4096)));
static uint8_t small_bufs[MAX_DEPTH][SMALL] __attribute__((aligned(4096)));
static uint8_t big_bufs[MAX_SEQ_DEPTH][BIG] __attribute__((aligned(4096)));

static struct blk b;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t seq_next;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct result {
	uint64_t reqs, bytes, ticks, lat_ticks, kicks;
};

static uint64_t next_sector(uint32_t len, bool random)
{
	uint64_t units = b.capacity / (len / SECTOR_SIZE), s;

	if (random)
		return (xorshift() % units) * (len / SECTOR_SIZE);
	s = seq_next;
	seq_next += len / SECTOR_SIZE;
	if (seq_next + len / SECTOR_SIZE > b.capacity)
		seq_next = 0;
	return s;
}

/* Keeps @depth reads of @len in flight for @secs seconds. */
static bool run(unsigned int depth, uint32_t len, bool random,
		unsigned long secs, struct result *res)
{
	uint64_t submitted_at[MAX_DEPTH];
	uint64_t start, end, now, kicks0 = b.vq.kicks;
	unsigned int i, inflight = 0;

	memset(res, 0, sizeof(*res));
	start = rdtsc();
	end = start + secs * 1000 * tsc_khz();
	for (i = 0; i < depth; i++) {
		void *buf = len == SMALL ? small_bufs[i] : big_bufs[i];
		struct blk_req *r = blk_submit(&b, VIRTIO_BLK_T_IN,
					       next_sector(len, random), buf,
					       len, buf);

		if (!r) {
			printf("blk_bench: cannot queue %u requests of %u bytes\n",
			       depth, len);
			return false;
		}
		submitted_at[r - b.reqs] = rdtsc();
		inflight++;
	}
	vq_kick(&b.vq);
	while (inflight) {
		struct blk_req *r = blk_poll(&b);
		bool refilled = false;

		if (!r) {
			cpu_relax();
			continue;
		}
		do {
			now = rdtsc();
			inflight--;
			if (r->status != VIRTIO_BLK_S_OK) {
				printf("blk_bench: read failed: %s\n",
				       blk_status_str(r->status));
				return false;
			}
			res->reqs++;
			res->bytes += len;
			res->lat_ticks += now - submitted_at[r - b.reqs];
			if (now < end) {
				void *buf = r->priv;
				struct blk_req *n =
					blk_submit(&b, VIRTIO_BLK_T_IN,
						   next_sector(len, random),
						   buf, len, buf);

				if (!n) {
					puts("blk_bench: resubmit failed");
					return false;
				}
				submitted_at[n - b.reqs] = now;
				inflight++;
				refilled = true;
			}
		} while ((r = blk_poll(&b)));
		if (refilled)
			vq_kick(&b.vq);
	}
	res->ticks = rdtsc() - start;
	res->kicks = b.vq.kicks - kicks0;
	if (vdev_status(&b.dev) & VIRTIO_S_NEEDS_RESET) {
		puts("blk_bench: device needs a reset");
		return false;
	}
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
		/* MB/s = bytes / us */
		snprintf(key, sizeof(key), "%s", name);
		print_fixed(key, r->bytes, us, "MB/s");
	} else {
		snprintf(key, sizeof(key), "%s_iops", name);
		print_fixed(key, r->reqs * 1000000, us, "IOPS");
	}
	snprintf(key, sizeof(key), "%s_lat", name);
	print_fixed(key, tsc_to_ns(r->lat_ticks), r->reqs * 1000, "us");
	snprintf(key, sizeof(key), "%s_kicks_per_kreq", name);
	print_fixed(key, r->kicks * 1000, r->reqs, "kicks");
	printf("blk_bench: %s: %lu requests in %lu us\n", name,
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

int guest_main(void)
{
	uint64_t want = VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) |
			VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX);
	unsigned long secs = 3, depth = 32, seq_depth = 4, v;
	char buf[48], tests[48] = "", name[32];
	struct result r;

	if (cmdline_arg("seconds", buf, sizeof(buf)) >= 0 &&
	    parse_ulong(buf, &v) && v)
		secs = v;
	if (cmdline_arg("depth", buf, sizeof(buf)) >= 0 &&
	    parse_ulong(buf, &v) && v && v <= MAX_DEPTH)
		depth = v;
	if (cmdline_arg("seq_depth", buf, sizeof(buf)) >= 0 &&
	    parse_ulong(buf, &v) && v && v <= MAX_SEQ_DEPTH)
		seq_depth = v;
	if (cmdline_arg("event_idx", buf, sizeof(buf)) >= 0 &&
	    !strcmp(buf, "0"))
		want &= ~VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	cmdline_arg("tests", tests, sizeof(tests));

	dma_pool_init(pool, sizeof(pool));
	if (!blk_open(&b, want, 256, MAX_DEPTH))
		return GUEST_FAIL;
	if (b.capacity < 2 * BIG / SECTOR_SIZE) {
		printf("blk_bench: disk of %lu sectors is too small\n",
		       (unsigned long)b.capacity);
		return GUEST_FAIL;
	}
	if (3 * depth > b.vq.size) {
		depth = b.vq.size / 3;
		printf("blk_bench: queue size %u: depth limited to %lu\n",
		       b.vq.size, depth);
	}
	printf("RESULT tsc_khz %lu kHz\n", (unsigned long)tsc_khz());
	printf("RESULT event_idx %d bool\n",
	       vdev_has(&b.dev, VIRTIO_F_EVENT_IDX));

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
	printf("blk_bench: kicks %lu, skipped %lu, completions %lu\n",
	       b.vq.kicks, b.vq.kicks_skipped, b.vq.completions);
	return GUEST_PASS;
}
