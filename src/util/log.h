/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_LOG_H
#define DEVISOR_UTIL_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* LOG_QUIET: not even errors (the fuzz targets, which provoke them). */
enum log_level { LOG_QUIET = -1, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_level;

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)                                    \
	do {                                             \
		if (log_level >= LOG_DEBUG)              \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

/*
 * A guest can hammer any path that logs; a per-site budget keeps a hostile
 * guest from turning our log into a denial of service.
 */
struct ratelimit {
	uint64_t window_start_ns;
	unsigned int count;
	unsigned int suppressed;
};

bool ratelimit_ok(struct ratelimit *rl);

#define pr_debug_ratelimited(...)                                  \
	do {                                                       \
		static struct ratelimit __rl;                      \
		if (log_level >= LOG_DEBUG && ratelimit_ok(&__rl)) \
			log_msg(LOG_DEBUG, __VA_ARGS__);           \
	} while (0)

#define pr_info_ratelimited(...)                        \
	do {                                            \
		static struct ratelimit __rl;           \
		if (ratelimit_ok(&__rl))                \
			log_msg(LOG_INFO, __VA_ARGS__); \
	} while (0)

#define pr_warn_ratelimited(...)                        \
	do {                                            \
		static struct ratelimit __rl;           \
		if (ratelimit_ok(&__rl))                \
			log_msg(LOG_WARN, __VA_ARGS__); \
	} while (0)

/* Logged the first time only: for "device marked broken" style messages. */
#define pr_warn_once(...)                                               \
	do {                                                            \
		static int __done;                                      \
		if (!__atomic_exchange_n(&__done, 1, __ATOMIC_RELAXED)) \
			log_msg(LOG_WARN, __VA_ARGS__);                 \
	} while (0)

uint64_t monotonic_ns(void);

/* The exit status of a command-line mistake. */
#define EXIT_USAGE 2

/*
 * "@cmd: error: <message>" and "Try '@cmd --help'." on stderr, for a
 * command-line mistake (devisor run, devisor remote); returns EXIT_USAGE.
 */
int __attribute__((format(printf, 2, 3)))
usage_error_for(const char *cmd, const char *fmt, ...);

#endif
