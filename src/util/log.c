// SPDX-License-Identifier: GPL-2.0
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

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
	char buf[1024];
	size_t n, cap;
	va_list ap;
	int m;

	if (lvl > log_level)
		return;
	/*
	 * One write per line: stderr is unbuffered, and the guest's console
	 * on stdout often shares the same file or terminal.  \r first: the
	 * terminal may be in raw mode while the guest runs.
	 */
	n = (size_t)snprintf(buf, sizeof(buf),
			     "\rdevisor: %s: ", level_names[lvl]);
	cap = sizeof(buf) - n - 2; /* room for "\r\n" */
	va_start(ap, fmt);
	m = vsnprintf(buf + n, cap, fmt, ap);
	va_end(ap);
	if (m > 0)
		n += (size_t)m < cap ? (size_t)m : cap - 1;
	buf[n++] = '\r';
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0)
		return; /* nowhere left to say it */
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
