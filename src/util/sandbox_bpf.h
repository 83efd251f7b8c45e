/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_SANDBOX_BPF_H
#define DEVISOR_UTIL_SANDBOX_BPF_H

/*
 * The filters sandbox-gen (util/sandbox_gen.c) compiles at build time, in
 * $(BUILD)/gen/sandbox_bpf.c, and what util/sandbox.c patches into them
 * when it loads one.
 */
#include <linux/filter.h>

#include "util/sandbox.h"

/* An ASan build: its run time's calls are in every list too. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif

/*
 * tgkill is allowed for this process's pid only, which the build cannot
 * know: the filters compare with this value, above any pid (PID_MAX_LIMIT
 * is 2^22), and the loader puts getpid() in its place.
 */
#define SANDBOX_PID_PLACEHOLDER 0x3ffffffeu

/* The longest filter the generator writes (ours are a few hundred). */
#define SANDBOX_BPF_MAX 1024

/* System call numbers named in a violation's message. */
#define SANDBOX_NR_NAMES 512

struct sandbox_bpf {
	const struct sock_filter *insns;
	unsigned int len;
};

/* Trap by default (SECCOMP_RET_TRAP); the loader makes that log for log. */
extern const struct sandbox_bpf sandbox_bpf[SANDBOX_NR_KINDS];
extern const char sandbox_syscall_names[SANDBOX_NR_NAMES][24];

#endif
