/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_SANDBOX_H
#define DEVISOR_UTIL_SANDBOX_H

/*
 * The seccomp sandbox (--seccomp): an allow-list of system calls per kind
 * of thread, as Firecracker and Cloud Hypervisor have, compiled with
 * libseccomp when devisor is built (util/sandbox_gen.c). Each thread
 * installs its own filter when it starts (sandbox_apply()); a thread
 * inherits its creator's filter too, so the
 * main thread's list holds everything the threads it starts may do.
 * docs/sandbox.md lists what each kind may call and why.
 *
 * A call outside the list traps (SIGSYS): the handler prints the call's
 * number and name and the thread, puts the terminal back and ends devisor
 * with status 128 + SIGSYS (159). With --seccomp log the call goes through
 * and the kernel logs it (dmesg, "audit: type=1326 ... syscall=N"); with
 * --seccomp false there is no filter.
 */
#include <stdbool.h>

enum sandbox_mode {
	SANDBOX_OFF, /* the default in a program that never calls init */
	SANDBOX_ON,
	SANDBOX_LOG,
};

enum sandbox_kind {
	SANDBOX_MAIN, /* set-up, reboots, tear-down */
	SANDBOX_VCPU, /* KVM_RUN and device register accesses */
	SANDBOX_IO, /* the event loop: virtio queues, block, tap, slirp */
	SANDBOX_CONSOLE, /* terminal input and virtio-console output */
	SANDBOX_API, /* the control API's HTTP server and its actions */
	SANDBOX_SIGNAL, /* sigwait() for the termination signals */
	SANDBOX_RTC, /* the RTC's interrupt timer */
	SANDBOX_IOMMU, /* virtio-iommu's queues: io's, and VFIO's mapping */
	SANDBOX_NR_KINDS
};

#define SANDBOX_KIND_NAMES                                          \
	{                                                           \
		[SANDBOX_MAIN] = "main", [SANDBOX_VCPU] = "vcpu",   \
		[SANDBOX_IO] = "io", [SANDBOX_CONSOLE] = "console", \
		[SANDBOX_API] = "api", [SANDBOX_SIGNAL] = "signal", \
		[SANDBOX_RTC] = "rtc", [SANDBOX_IOMMU] = "iommu",   \
	}

/* "main", "vcpu", ...: the names docs/sandbox.md and messages use. */
const char *sandbox_kind_name(enum sandbox_kind kind);

/* Parses --seccomp's value: true/on, false/off or log. -1 if neither. */
int sandbox_parse_mode(const char *s, enum sandbox_mode *mode);

/* Whether this devisor was built with libseccomp. */
bool sandbox_available(void);

/*
 * Sets the mode for every later sandbox_apply(), from the main thread
 * before any other starts, and installs the SIGSYS handler. @on_violation
 * (may be NULL) runs in the handler before devisor ends: it must be
 * async-signal-safe (the terminal's restore). 0 or -errno.
 */
int sandbox_init(enum sandbox_mode mode, void (*on_violation)(void));

enum sandbox_mode sandbox_mode(void);

/*
 * Installs @kind's filter on the calling thread, named @name (at most 15
 * characters) in a violation's message. Does nothing when the mode is
 * off. A filter that cannot be installed ends devisor with a message: a
 * thread must not run unfiltered when the user asked for the sandbox.
 *
 * For the guest tier's test only: with DEVISOR_SECCOMP_SELFTEST set to
 * this kind's name, the thread then makes a call no filter allows
 * (execveat on fd -1), which the sandbox must stop.
 */
void sandbox_apply(enum sandbox_kind kind, const char *name);

/*
 * Names the calling thread for a violation's message, when it inherited
 * its filter instead of installing one (libmicrohttpd's thread).
 */
void sandbox_name_thread(enum sandbox_kind kind, const char *name);

/* For the unit tests: @kind's filter's length in instructions, or -errno. */
int sandbox_filter_len(enum sandbox_kind kind);

#endif
