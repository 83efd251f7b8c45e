// SPDX-License-Identifier: GPL-2.0
/*
 * The seccomp sandbox at run time: each thread loads its kind's filter,
 * compiled when devisor was built (util/sandbox_gen.c, the allow-lists;
 * sandbox_bpf.h), with this process's pid and the mode patched in.
 */
#include "util/sandbox.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kvm/arch.h"
#include "util/log.h"

#ifdef HAVE_LIBSECCOMP
#include <linux/seccomp.h>
#include <sys/prctl.h>

#include "util/sandbox_bpf.h"
#endif

static const char *const kind_names[SANDBOX_NR_KINDS] = SANDBOX_KIND_NAMES;

static enum sandbox_mode mode;

const char *sandbox_kind_name(enum sandbox_kind kind)
{
	return kind < SANDBOX_NR_KINDS ? kind_names[kind] : "?";
}

int sandbox_parse_mode(const char *s, enum sandbox_mode *m)
{
	if (!strcmp(s, "true") || !strcmp(s, "on"))
		*m = SANDBOX_ON;
	else if (!strcmp(s, "false") || !strcmp(s, "off"))
		*m = SANDBOX_OFF;
	else if (!strcmp(s, "log"))
		*m = SANDBOX_LOG;
	else
		return -1;
	return 0;
}

enum sandbox_mode sandbox_mode(void)
{
	return mode;
}

#ifdef HAVE_LIBSECCOMP

bool sandbox_available(void)
{
	return true;
}

int sandbox_filter_len(enum sandbox_kind kind)
{
	return kind < SANDBOX_NR_KINDS ? (int)sandbox_bpf[kind].len : -EINVAL;
}

static void (*violation_hook)(void);
static __thread const char *thread_kind;
static __thread char thread_name[16];

static void put(char *buf, size_t *len, size_t size, const char *s)
{
	while (*s && *len + 1 < size)
		buf[(*len)++] = *s++;
}

static void put_num(char *buf, size_t *len, size_t size, long v)
{
	char tmp[24];
	int n = 0;

	if (v < 0) {
		put(buf, len, size, "-");
		v = -v;
	}
	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v && n < (int)sizeof(tmp));
	while (n && *len + 1 < size)
		buf[(*len)++] = tmp[--n];
}

static void sigsys_handler(int sig, siginfo_t *si, void *uctx)
{
	static int once;
	char msg[320];
	size_t len = 0;
	int nr = si->si_syscall;
	ssize_t w;

	if (__atomic_exchange_n(&once, 1, __ATOMIC_SEQ_CST))
		for (;;)
			syscall(SYS_sched_yield);
	put(msg, &len, sizeof(msg), "\r\ndevisor: seccomp: thread ");
	put(msg, &len, sizeof(msg), thread_name[0] ? thread_name : "?");
	put(msg, &len, sizeof(msg), " (");
	put(msg, &len, sizeof(msg), thread_kind ?: "its creator's");
	put(msg, &len, sizeof(msg), " filter) made system call ");
	put_num(msg, &len, sizeof(msg), nr);
	put(msg, &len, sizeof(msg), " (");
	put(msg, &len, sizeof(msg),
	    nr >= 0 && nr < SANDBOX_NR_NAMES && sandbox_syscall_names[nr][0] ?
		    sandbox_syscall_names[nr] :
		    "?");
	put(msg, &len, sizeof(msg),
	    "), which its filter does not allow; stopping devisor "
	    "(--seccomp log lets such calls through and the kernel logs "
	    "them)\r\n");
	w = write(STDERR_FILENO, msg, len);
	(void)w;
	if (violation_hook)
		violation_hook();
	syscall(SYS_exit_group, 128 + SIGSYS);
}

int sandbox_init(enum sandbox_mode m, void (*on_violation)(void))
{
	struct sigaction sa = { .sa_sigaction = sigsys_handler,
				.sa_flags = SA_SIGINFO };

	mode = m;
	if (m == SANDBOX_OFF)
		return 0;
	if (m == SANDBOX_LOG) {
		uint32_t act = SECCOMP_RET_LOG;

		/* A kernel without it would kill where it should log. */
		if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act) <
		    0) {
			pr_err("seccomp: this kernel cannot log a call instead "
			       "of stopping it (SECCOMP_RET_LOG, Linux 4.14+): "
			       "use --seccomp true or false");
			return -EOPNOTSUPP;
		}
	}
	/*
	 * glibc reads /etc/localtime on a process's first gmtime_r() or
	 * timegm(), which the RTC may first call on a vCPU thread, whose
	 * filter opens nothing: read it now.
	 */
	tzset();
	violation_hook = on_violation;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
#ifdef SANDBOX_ASAN
	pr_info("seccomp: ASan build: every filter also allows the "
		"sanitizer's calls (ptrace, clone, wait4, ... for "
		"LeakSanitizer)");
#endif
	if (m == SANDBOX_LOG)
		pr_info("seccomp: log mode: calls outside a thread's list go "
			"through and the kernel logs them (dmesg: "
			"\"audit: type=1326 ... syscall=N\")");
	return 0;
}

void sandbox_name_thread(enum sandbox_kind kind, const char *name)
{
	if (thread_kind || kind >= SANDBOX_NR_KINDS)
		return;
	thread_kind = kind_names[kind];
	strncpy(thread_name, name, sizeof(thread_name) - 1);
}

static void selftest(enum sandbox_kind kind)
{
	const char *want = getenv("DEVISOR_SECCOMP_SELFTEST");
	long r;

	if (!want || strcmp(want, kind_names[kind]))
		return;
	pr_info("seccomp self-test: thread %s calls execveat", thread_name);
	/* fd -1: without a filter this fails with EBADF and runs nothing. */
	r = syscall(SYS_execveat, -1, "", NULL, NULL, 0);
	pr_warn("seccomp self-test: execveat in thread %s was not stopped "
		"(%ld, %s)",
		thread_name, r, strerror(errno));
}

/*
 * @kind's filter with this process's pid for tgkill's and, in log mode,
 * logging where the filter traps; then loaded on the calling thread.
 */
static int load(enum sandbox_kind kind)
{
	const struct sandbox_bpf *f = &sandbox_bpf[kind];
	/* Not on the stack: 8 KiB there is 8 KiB more of every thread's RSS. */
	struct sock_filter *insns = malloc(f->len * sizeof(*insns));
	struct sock_fprog prog = { .len = f->len, .filter = insns };
	uint32_t pid = (uint32_t)getpid();
	int ret = 0;

	if (!insns)
		return -ENOMEM;
	memcpy(insns, f->insns, f->len * sizeof(insns[0]));
	for (unsigned int i = 0; i < f->len; i++) {
		struct sock_filter *in = &insns[i];

		if (in->code == (BPF_JMP | BPF_JEQ | BPF_K) &&
		    in->k == SANDBOX_PID_PLACEHOLDER)
			in->k = pid;
		else if (mode == SANDBOX_LOG && in->code == (BPF_RET | BPF_K) &&
			 in->k == SECCOMP_RET_TRAP)
			in->k = SECCOMP_RET_LOG;
	}
	/* A filter can only narrow what this thread and its children do. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		ret = -errno;
	free(insns);
	return ret;
}

void sandbox_apply(enum sandbox_kind kind, const char *name)
{
	sigset_t set;
	int err;

	if (mode == SANDBOX_OFF || kind >= SANDBOX_NR_KINDS)
		return;
	strncpy(thread_name, name, sizeof(thread_name) - 1);
	/*
	 * A trap while SIGSYS is blocked kills with no message: the threads
	 * that block every other signal take this one.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	err = load(kind);
	/* Until here a trap is its creator's filter's. */
	thread_kind = kind_names[kind];
	if (err) {
		pr_err("seccomp: cannot install the %s filter on thread %s: %s "
		       "(--seccomp false runs without the sandbox)",
		       thread_kind, name, strerror(-err));
		syscall(SYS_exit_group, 1);
	}
	pr_debug("seccomp: %s filter on thread %s", thread_kind, name);
	selftest(kind);
}

#else /* !HAVE_LIBSECCOMP */

bool sandbox_available(void)
{
	return false;
}

int sandbox_init(enum sandbox_mode m, void (*on_violation)(void))
{
	mode = SANDBOX_OFF;
	if (m != SANDBOX_OFF)
		pr_warn("seccomp: this devisor was built without libseccomp "
			"(scripts/install-deps): no sandbox");
	return 0;
}

void sandbox_apply(enum sandbox_kind kind, const char *name)
{
}

void sandbox_name_thread(enum sandbox_kind kind, const char *name)
{
}

int sandbox_filter_len(enum sandbox_kind kind)
{
	return -ENOSYS;
}

#endif
