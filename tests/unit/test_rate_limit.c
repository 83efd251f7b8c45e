// SPDX-License-Identifier: GPL-2.0
/*
 * Token buckets (util/rate_limit.h) on a clock the test moves: the rate
 * over time, the one-time burst, an operation larger than the bucket,
 * fractions of a token that add up, and the configurations refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "util/rate_limit.h"

#define MS 1000000ull
#define T0 (1000 * MS)

static struct rate_limiter make(uint64_t bw, uint64_t bw_burst, uint64_t ops,
				uint64_t refill_ms)
{
	struct rate_limit_config c = {
		.bw = { .size = bw,
			.one_time_burst = bw_burst,
			.refill_ms = bw ? refill_ms : 0 },
		.ops = { .size = ops, .refill_ms = ops ? refill_ms : 0 },
	};
	struct rate_limiter rl;

	rate_limiter_init(&rl, &c, T0);
	return rl;
}

/* 10 operations a second: a full bucket, then one every 100 ms. */
static void test_ops(void **state)
{
	struct rate_limiter rl = make(0, 0, 10, 1000);
	uint64_t w;

	for (int i = 0; i < 10; i++)
		assert_int_equal(rate_limiter_take(&rl, 4096, T0), 0);
	w = rate_limiter_take(&rl, 4096, T0);
	assert_true(w >= 100 * MS && w <= 101 * MS);
	/* Nothing paid by a refusal: a bit early is still too early. */
	assert_true(rate_limiter_take(&rl, 0, T0 + 99 * MS) > 0);
	assert_int_equal(rate_limiter_take(&rl, 0, T0 + 100 * MS), 0);
	assert_true(rate_limiter_take(&rl, 0, T0 + 100 * MS) > 0);
	/* A long pause refills the bucket, no more. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(rate_limiter_take(&rl, 0, T0 + 60000 * MS), 0);
	assert_true(rate_limiter_take(&rl, 0, T0 + 60000 * MS) > 0);
}

/* 3 a second, asked every millisecond: fractions of a token add up. */
static void test_fractions(void **state)
{
	struct rate_limiter rl = make(0, 0, 3, 1000);
	unsigned int n = 0;

	for (uint64_t t = 0; t <= 10000; t++)
		n += !rate_limiter_take(&rl, 0, T0 + t * MS);
	/* The full bucket, then 3 per second for 10 s. */
	assert_int_equal(n, 3 + 30);
}

/* 1 MiB a second with a 512 KiB one-time burst, spent first. */
static void test_bandwidth_burst(void **state)
{
	struct rate_limiter rl = make(1 << 20, 512 << 10, 0, 1000);
	uint64_t w;

	assert_int_equal(rate_limiter_take(&rl, 512 << 10, T0), 0);
	assert_int_equal(rate_limiter_take(&rl, 1 << 20, T0), 0);
	w = rate_limiter_take(&rl, 256 << 10, T0);
	assert_true(w >= 250 * MS && w <= 251 * MS);
	assert_int_equal(rate_limiter_take(&rl, 256 << 10, T0 + w), 0);
	/* The burst does not come back. */
	assert_int_equal(rate_limiter_take(&rl, 1 << 20, T0 + 5000 * MS), 0);
	assert_true(rate_limiter_take(&rl, 1, T0 + 5000 * MS) > 0);
}

/*
 * 4 MiB through a 1 MiB bucket: it waits for a full bucket, goes, and
 * leaves 3 MiB of debt, so the next byte waits 3 s.
 */
static void test_larger_than_bucket(void **state)
{
	struct rate_limiter rl = make(1 << 20, 0, 0, 1000);
	uint64_t w;

	assert_int_equal(rate_limiter_take(&rl, 1, T0), 0);
	assert_true(rate_limiter_take(&rl, 4 << 20, T0) > 0);
	assert_int_equal(rate_limiter_take(&rl, 4 << 20, T0 + 1000 * MS), 0);
	w = rate_limiter_take(&rl, 1, T0 + 1000 * MS);
	assert_true(w >= 3000 * MS && w <= 3001 * MS);
}

/* Both buckets: the one that is short decides, neither pays alone. */
static void test_both(void **state)
{
	struct rate_limiter rl = make(8192, 0, 100, 1000);

	assert_int_equal(rate_limiter_take(&rl, 8192, T0), 0);
	assert_true(rate_limiter_take(&rl, 4096, T0) >= 500 * MS);
	assert_int_equal(rl.ops.budget, 99);
	/* Refilled to 100 meanwhile, then one paid. */
	assert_int_equal(rate_limiter_take(&rl, 4096, T0 + 500 * MS), 0);
	assert_int_equal(rl.ops.budget, 99);
	assert_int_equal(rl.bw.budget, 0);
}

static void test_config_check(void **state)
{
	char err[128];
	struct {
		struct token_bucket_config b;
		const char *err;
	} cases[] = {
		{ { .size = 1, .refill_ms = 1 }, NULL },
		{ { 0 }, NULL },
		{ { .size = 100 }, "bw: a size without a refill time" },
		{ { .refill_ms = 100 },
		  "bw: a refill time or burst without a size" },
		{ { .one_time_burst = 100 },
		  "bw: a refill time or burst without a size" },
		{ { .size = 1, .refill_ms = 86400001 },
		  "bw: a refill time over a day" },
		{ { .size = 1ull << 49, .refill_ms = 1 },
		  "bw: more than 2^48 tokens" },
	};
	struct rate_limit_config none = { 0 }, some = { .ops = { 1, 0, 1 } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(token_bucket_config_check(&cases[i].b, "bw",
							   err, sizeof(err)),
				 cases[i].err ? -EINVAL : 0);
		if (cases[i].err)
			assert_string_equal(err, cases[i].err);
	}
	assert_false(rate_limit_config_active(&none));
	assert_true(rate_limit_config_active(&some));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops),
		cmocka_unit_test(test_fractions),
		cmocka_unit_test(test_bandwidth_burst),
		cmocka_unit_test(test_larger_than_bucket),
		cmocka_unit_test(test_both),
		cmocka_unit_test(test_config_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
