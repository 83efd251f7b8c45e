// SPDX-License-Identifier: GPL-2.0
/* The polled block benchmarks' common part. See bench.h. */
#include "bench.h"
#include "tsc.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t seq_next;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

uint64_t bench_next_sector(uint64_t nsectors, uint32_t len, bool random)
{
	uint64_t per = len / BENCH_SECTOR, s;

	if (random)
		return (xorshift() % (nsectors / per)) * per;
	s = seq_next;
	seq_next += per;
	if (seq_next + per > nsectors)
		seq_next = 0;
	return s;
}

unsigned long bench_arg(const char *key, unsigned long def, unsigned long max)
{
	char buf[24];
	unsigned long v;

	if (cmdline_arg(key, buf, sizeof(buf)) >= 0 && parse_ulong(buf, &v) &&
	    v && v <= max)
		return v;
	return def;
}

/* value / div with two decimals, from integers only. */
static void print_fixed(const char *name, uint64_t num, uint64_t div,
			const char *unit)
{
	uint64_t v = div ? num * 100 / div : 0;

	printf("RESULT %s %lu.%02lu %s\n", name, (unsigned long)(v / 100),
	       (unsigned long)(v % 100), unit);
}

static void report(const struct bench *b, const char *name,
		   const struct bench_result *r, bool mbps)
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
	snprintf(key, sizeof(key), "%s_%s_per_kreq", name, b->notifies);
	print_fixed(key, r->notifies * 1000, r->reqs, b->notifies);
	printf("%s: %s: %lu requests in %lu us\n", b->name, name,
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

bool bench_tests(const struct bench *b, unsigned long secs, unsigned long depth,
		 unsigned long seq_depth)
{
	char tests[48] = "", name[32];
	struct bench_result r;

	cmdline_arg("tests", tests, sizeof(tests));
	if (want_test(tests, "qd1")) {
		if (!b->run(1, BENCH_SMALL, true, secs, &r))
			return false;
		report(b, "randread_4k_qd1", &r, false);
	}
	if (want_test(tests, "qdN")) {
		if (!b->run((unsigned int)depth, BENCH_SMALL, true, secs, &r))
			return false;
		snprintf(name, sizeof(name), "randread_4k_qd%lu", depth);
		report(b, name, &r, false);
	}
	if (want_test(tests, "seq")) {
		if (!b->run((unsigned int)seq_depth, BENCH_BIG, false, secs,
			    &r))
			return false;
		snprintf(name, sizeof(name), "seqread_1m_qd%lu", seq_depth);
		report(b, name, &r, true);
	}
	return true;
}
