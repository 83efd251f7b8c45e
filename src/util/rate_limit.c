// SPDX-License-Identifier: GPL-2.0
/* Token buckets (util/rate_limit.h). */
#include "util/rate_limit.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS 1000000ull
/* A day: a longer refill is a typo, and keeps the products in range. */
#define MAX_REFILL_MS (24ull * 3600 * 1000)
/* 2^48 tokens (256 TiB): size * refill_ns stays within 128 bits easily. */
#define MAX_TOKENS (1ull << 48)

bool rate_limit_config_active(const struct rate_limit_config *c)
{
	return c->bw.size || c->ops.size;
}

int token_bucket_config_check(const struct token_bucket_config *b,
			      const char *what, char *err, size_t errlen)
{
	const char *why = NULL;

	if (!b->size && !b->refill_ms && !b->one_time_burst)
		return 0;
	if (!b->size)
		why = "a refill time or burst without a size";
	else if (!b->refill_ms)
		why = "a size without a refill time";
	else if (b->refill_ms > MAX_REFILL_MS)
		why = "a refill time over a day";
	else if (b->size > MAX_TOKENS || b->one_time_burst > MAX_TOKENS)
		why = "more than 2^48 tokens";
	if (!why)
		return 0;
	snprintf(err, errlen, "%s: %s", what, why);
	return -EINVAL;
}

static void bucket_init(struct token_bucket *b,
			const struct token_bucket_config *c, uint64_t now)
{
	*b = (struct token_bucket){
		.size = c->size,
		.refill_ns = c->refill_ms * NS_PER_MS,
		.burst = c->size ? c->one_time_burst : 0,
		.budget = (int64_t)c->size,
		.last = now,
	};
}

void rate_limiter_init(struct rate_limiter *rl,
		       const struct rate_limit_config *c, uint64_t now)
{
	bucket_init(&rl->bw, &c->bw, now);
	bucket_init(&rl->ops, &c->ops, now);
}

/* The tokens earned up to @now; the fraction of one stays in @b->last. */
static void refill(struct token_bucket *b, uint64_t now)
{
	unsigned __int128 earned;
	uint64_t elapsed, add;

	if (now <= b->last)
		return;
	elapsed = now - b->last;
	earned = (unsigned __int128)elapsed * b->size / b->refill_ns;
	if ((int64_t)b->size - b->budget <= 0 ||
	    earned >= (unsigned __int128)((int64_t)b->size - b->budget)) {
		b->budget = (int64_t)b->size;
		b->last = now;
		return;
	}
	add = (uint64_t)earned;
	b->budget += (int64_t)add;
	b->last += (uint64_t)((unsigned __int128)add * b->refill_ns / b->size);
}

/* Tokens of @n to pay from the budget (the burst goes first). */
static uint64_t from_budget(const struct token_bucket *b, uint64_t n)
{
	return n > b->burst ? n - b->burst : 0;
}

/* 0 if @b can pay @n now, else the nanoseconds until it can. */
static uint64_t wait_ns(struct token_bucket *b, uint64_t n, uint64_t now)
{
	uint64_t need, t, earned;
	unsigned __int128 missing;

	if (!b->size)
		return 0;
	refill(b, now);
	need = from_budget(b, n);
	/* More than the bucket holds: a full bucket will do. */
	if (need > b->size)
		need = b->size;
	if (b->budget >= (int64_t)need)
		return 0;
	missing = (unsigned __int128)((int64_t)need - b->budget);
	/* Rounded up, less the fraction of a token already earned. */
	t = (uint64_t)((missing * b->refill_ns + b->size - 1) / b->size);
	earned = now - b->last;
	return t > earned ? t - earned + 1 : 1;
}

static void pay(struct token_bucket *b, uint64_t n)
{
	uint64_t need;

	if (!b->size)
		return;
	need = from_budget(b, n);
	b->burst -= n - need;
	b->budget -= (int64_t)need;
}

uint64_t rate_limiter_take(struct rate_limiter *rl, uint64_t bytes,
			   uint64_t now)
{
	uint64_t a = wait_ns(&rl->bw, bytes, now);
	uint64_t b = wait_ns(&rl->ops, 1, now);

	if (a || b)
		return a > b ? a : b;
	pay(&rl->bw, bytes);
	pay(&rl->ops, 1);
	return 0;
}

int rate_limit_parse_key(const char *key, const char *val,
			 struct rate_limit_config *rl, char *err, size_t errlen)
{
	struct token_bucket_config *b;
	uint64_t *field, v;
	const char *k;
	char *end;

	if (!strncmp(key, "bw_", 3))
		b = &rl->bw;
	else if (!strncmp(key, "ops_", 4))
		b = &rl->ops;
	else
		return 0;
	k = key + (b == &rl->bw ? 3 : 4);
	if (!strcmp(k, "size"))
		field = &b->size;
	else if (!strcmp(k, "one_time_burst"))
		field = &b->one_time_burst;
	else if (!strcmp(k, "refill_time"))
		field = &b->refill_ms;
	else
		return 0;
	errno = 0;
	v = strtoull(val, &end, 10);
	if (!*val || *end || errno || val[0] == '-' || val[0] == '+') {
		snprintf(err, errlen, "%s takes a number%s, not '%s'", key,
			 field == &b->refill_ms ? " of milliseconds" : "", val);
		return -EINVAL;
	}
	*field = v;
	return 1;
}

int rate_limit_config_check(const struct rate_limit_config *c, const char *what,
			    char *err, size_t errlen)
{
	char name[48];

	snprintf(name, sizeof(name), "%s bw_", what);
	if (token_bucket_config_check(&c->bw, name, err, errlen))
		return -EINVAL;
	snprintf(name, sizeof(name), "%s ops_", what);
	return token_bucket_config_check(&c->ops, name, err, errlen);
}
