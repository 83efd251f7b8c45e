/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_RATE_LIMIT_H
#define DEVISOR_UTIL_RATE_LIMIT_H

/*
 * Token buckets for a device's I/O, as Cloud Hypervisor's and
 * Firecracker's rate_limiter_config: a bucket of @size tokens that
 * refills from empty to full in @refill_ms, plus a one-time burst spent
 * first and never refilled. A rate limiter has one bucket for bytes
 * (bandwidth) and one for operations; either may be absent (size 0).
 * Not thread-safe: the device's lock covers it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct token_bucket_config {
	uint64_t size; /* 0: no limit */
	uint64_t one_time_burst;
	uint64_t refill_ms;
};

struct rate_limit_config {
	struct token_bucket_config bw; /* bytes */
	struct token_bucket_config ops; /* operations */
};

struct token_bucket {
	uint64_t size;
	uint64_t refill_ns;
	uint64_t burst;
	/* Below 0 after an operation larger than the bucket: paid back. */
	int64_t budget;
	uint64_t last; /* monotonic ns the budget counts up to */
};

struct rate_limiter {
	struct token_bucket bw, ops;
};

/* Whether @c limits anything. */
bool rate_limit_config_active(const struct rate_limit_config *c);

/*
 * Checks a bucket: 0, or -EINVAL with a sentence naming @what in @err
 * (a size without a refill time, or the reverse; a refill time over a
 * day; a size that would overflow).
 */
int token_bucket_config_check(const struct token_bucket_config *b,
			      const char *what, char *err, size_t errlen);

/*
 * Cloud Hypervisor's command-line keys: bw_ (bytes) or ops_ (requests)
 * then size, one_time_burst or refill_time (ms). 1 when @key was one,
 * 0 when it is not, -EINVAL with @err for a value that is not a number.
 */
int rate_limit_parse_key(const char *key, const char *val,
			 struct rate_limit_config *rl, char *err,
			 size_t errlen);
/* Both buckets checked, named "@what bw_" and "@what ops_". */
int rate_limit_config_check(const struct rate_limit_config *c, const char *what,
			    char *err, size_t errlen);

/* Full buckets at @now (monotonic_ns()). */
void rate_limiter_init(struct rate_limiter *rl,
		       const struct rate_limit_config *c, uint64_t now);

/*
 * One operation of @bytes at @now: 0 when both buckets had enough and
 * paid, or the nanoseconds until they will have (nothing paid). An
 * operation larger than the bandwidth bucket waits for a full bucket and
 * leaves it in debt, so the long-run rate holds.
 */
uint64_t rate_limiter_take(struct rate_limiter *rl, uint64_t bytes,
			   uint64_t now);

#endif
