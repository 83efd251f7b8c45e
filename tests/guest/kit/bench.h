/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GUEST_KIT_BENCH_H
#define GUEST_KIT_BENCH_H

/*
 * What the polled block benchmarks (blk_bench, nvme_bench) share: the
 * block addresses they read, their options, the three tests (4 KiB random
 * reads at depth 1 and N, 1 MiB sequential reads at depth M) and the
 *
 *   RESULT <name> <value> <unit>
 *
 * lines bench/ reads. Each guest keeps its own timing loop.
 */

#include "guest.h"

#define BENCH_SECTOR 512u
#define BENCH_SMALL 4096u
#define BENCH_BIG (1u << 20)

struct bench_result {
	uint64_t reqs, bytes, ticks, lat_ticks;
	uint64_t notifies; /* to the device: kicks, doorbell writes */
};

struct bench {
	const char *name; /* the guest's, before each message */
	const char *notifies; /* "kicks": RESULT <test>_kicks_per_kreq */
	/* Keeps @depth reads of @len in flight for @secs seconds. */
	bool (*run)(unsigned int depth, uint32_t len, bool random,
		    unsigned long secs, struct bench_result *res);
};

/*
 * The first sector of the next read of @len bytes from a disk of
 * @nsectors: random (xorshift, @len-aligned) or the next in sequence,
 * back to 0 before the end.
 */
uint64_t bench_next_sector(uint64_t nsectors, uint32_t len, bool random);
/* Command line option @key if it is 1 to @max, else @def. */
unsigned long bench_arg(const char *key, unsigned long def, unsigned long max);
/*
 * The tests `tests=` names (qd1, qdN, seq; all without it), @secs seconds
 * each, with their RESULT lines. False once a run fails.
 */
bool bench_tests(const struct bench *b, unsigned long secs, unsigned long depth,
		 unsigned long seq_depth);

#endif
