// SPDX-License-Identifier: GPL-2.0
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

enum log_level log_level = LOG_WARN;

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warning",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	/* One line per call even when vCPU threads log concurrently. */
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	va_list ap;

	if (lvl > log_level)
		return;
	pthread_mutex_lock(&lock);
	/* \r first: the terminal may be in raw mode while the guest runs. */
	fprintf(stderr, "\rdevisor: %s: ", level_names[lvl]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\r\n", stderr);
	pthread_mutex_unlock(&lock);
}

#define RL_WINDOW_NS 1000000000ull
#define RL_BURST 10

bool ratelimit_ok(struct ratelimit *rl)
{
	uint64_t now = monotonic_ns();
	bool ok;

	/* Racy by design: a rate limit that is off by one costs nothing. */
	if (now - rl->window_start_ns > RL_WINDOW_NS) {
		if (rl->suppressed)
			log_msg(LOG_WARN, "%u similar messages suppressed",
				rl->suppressed);
		rl->window_start_ns = now;
		rl->count = 0;
		rl->suppressed = 0;
	}
	ok = rl->count++ < RL_BURST;
	if (!ok)
		rl->suppressed++;
	return ok;
}

int usage_error_for(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", cmd);
	return EXIT_USAGE;
}
