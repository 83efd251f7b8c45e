// SPDX-License-Identifier: GPL-2.0
/*
 * The seccomp sandbox: one allow-list per kind of thread (sandbox.h,
 * docs/sandbox.md). Lists are by name, resolved by libseccomp for the
 * native architecture; ioctl is allowed per request number, clone only
 * for threads, tgkill only inside this process, socket only for IPv4/6,
 * and the I/O thread opens files read-only.
 */
#include "util/sandbox.h"

#include <errno.h>
#include <malloc.h>
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
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <linux/vhost.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif

static const char *const kind_names[SANDBOX_NR_KINDS] = {
	[SANDBOX_MAIN] = "main", [SANDBOX_VCPU] = "vcpu",
	[SANDBOX_IO] = "io",	 [SANDBOX_CONSOLE] = "console",
	[SANDBOX_API] = "api",	 [SANDBOX_SIGNAL] = "signal",
	[SANDBOX_RTC] = "rtc",
};

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

/*
 * Every thread: memory, locks, time, logging to stderr, signals to its
 * own process, and what glibc does on a thread's first malloc (a new
 * arena sizes itself with sched_getaffinity) or first stdio use (fstat,
 * TCGETS).
 */
static const char *const base_calls[] = {
	"read",
	"write",
	"readv",
	"writev",
	"close",
	"futex",
	"rt_sigreturn",
	"rt_sigprocmask",
	"restart_syscall",
	"exit",
	"exit_group",
	"mmap",
	"munmap",
	"mprotect",
	"madvise",
	"mremap",
	"brk",
	"clock_gettime",
	"clock_nanosleep",
	"nanosleep",
	"gettimeofday",
	"gettid",
	"getpid",
	"sched_yield",
	"sched_getaffinity",
	"getrandom",
	"fstat",
	"newfstatat",
	NULL,
};

/*
 * Device code at run time, which vCPUs (register accesses: queue set-up,
 * MSI-X unmasks binding irqfds, NVMe doorbells submitting I/O, SR-IOV VF
 * enable), the I/O thread (queues, completions), the console writer
 * (virtio-console's transmit queue) and the API (a disk added or removed)
 * all run: eventfds, the event loop's registrations, block I/O by either
 * engine, polls that wait for a peer.
 */
static const char *const device_calls[] = {
	"eventfd2", "epoll_ctl", "poll",      "ppoll",	   "io_uring_enter",
	"pread64",  "pwrite64",	 "preadv",    "pwritev",   "preadv2",
	"pwritev2", "fsync",	 "fdatasync", "fallocate", "lseek",
	"fcntl",    NULL,
};

static const unsigned long device_ioctls[] = {
	KVM_IRQ_LINE,	     KVM_SIGNAL_MSI, KVM_IRQFD,	      KVM_IOEVENTFD,
	KVM_SET_GSI_ROUTING, TUNSETOFFLOAD,  TUNSETVNETHDRSZ, 0,
};

/*
 * A passed-through function at run time (vfio/pci.c), from the config
 * and BAR accesses of vCPUs and the unit's invalidations: interrupt
 * modes, FLR, the shadow of the guest's IOMMU domain, BARs mapped as
 * memory slots where the guest moves them.
 */
static const unsigned long vfio_ioctls[] = {
	VFIO_DEVICE_SET_IRQS, VFIO_DEVICE_RESET,	  VFIO_IOMMU_MAP_DMA,
	VFIO_IOMMU_UNMAP_DMA, KVM_SET_USER_MEMORY_REGION, 0,
};

/*
 * A device whose queues the host kernel serves (vhost-vsock, vhost-net):
 * set up at boot, started and stopped by the driver's status writes
 * (vCPUs) and resets, stopped at exit (main).
 */
static const unsigned long vhost_ioctls[] = {
	VHOST_GET_FEATURES,	   VHOST_SET_FEATURES,
	VHOST_SET_OWNER,	   VHOST_SET_MEM_TABLE,
	VHOST_SET_VRING_NUM,	   VHOST_SET_VRING_ADDR,
	VHOST_SET_VRING_BASE,	   VHOST_GET_VRING_BASE,
	VHOST_SET_VRING_KICK,	   VHOST_SET_VRING_CALL,
	VHOST_VSOCK_SET_GUEST_CID, VHOST_VSOCK_SET_RUNNING,
	VHOST_NET_SET_BACKEND,	   0,
};

/*
 * A device a vhost-user back-end serves: the driver's status writes and
 * resets (vCPUs) send requests with their fds and read the replies
 * (poll() is device code's already).
 */
static const char *const vhost_user_calls[] = { "sendmsg", "recvfrom", NULL };

/* Opening passed-through functions, with every boot. */
static const unsigned long vfio_setup_ioctls[] = {
	VFIO_GET_API_VERSION,
	VFIO_CHECK_EXTENSION,
	VFIO_SET_IOMMU,
	VFIO_GROUP_GET_STATUS,
	VFIO_GROUP_SET_CONTAINER,
	VFIO_GROUP_UNSET_CONTAINER,
	VFIO_GROUP_GET_DEVICE_FD,
	VFIO_DEVICE_GET_INFO,
	VFIO_DEVICE_GET_REGION_INFO,
	VFIO_DEVICE_GET_IRQ_INFO,
	0,
};

/* A vCPU's own; its registers (arch_vcpu_pc()) are the architecture's. */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN,
	0,
};

/* The event loop, with libslirp's sockets, timer and resolv.conf. */
static const char *const io_calls[] = {
	"epoll_wait", "epoll_pwait", "timerfd_settime", "connect",
	"sendto",     "recvfrom",    "sendmsg",		"recvmsg",
	"setsockopt", "getsockopt",  "getsockname",	"getpeername",
	"bind",	      "listen",	     "accept",		"accept4",
	"shutdown",   "statx",	     "uname",		NULL,
};

static const unsigned long io_ioctls[] = { FIONREAD, FIONBIO, 0 };

/*
 * Thread creation: the new thread runs under its creator's filter until
 * it installs its own (seccomp, after PR_SET_NO_NEW_PRIVS: a filter can
 * only narrow what the thread may do), and sets up its robust list, rseq
 * area and name; glibc's first pthread_create in a process installs its
 * internal signal handlers.
 */
static const char *const creator_calls[] = {
	"set_robust_list", "rseq",    "sigaltstack", "prctl",
	"rt_sigaction",	   "seccomp", NULL,
};

/*
 * libmicrohttpd's thread (accept, read, answer) and the API's actions:
 * vm.add-disk opens, checks and locks an image and sets up its engine;
 * vm.add-device opens a VFIO group and maps guest RAM for it;
 * vm.remove-device tears either down.
 */
static const char *const api_calls[] = {
	"accept",      "accept4",	 "recvfrom",
	"recvmsg",     "sendto",	 "sendmsg",
	"shutdown",    "setsockopt",	 "getsockopt",
	"getsockname", "getpeername",	 "select",
	"pselect6",    "epoll_create1",	 "epoll_wait",
	"epoll_pwait", "pipe2",		 "openat",
	"access",      "faccessat",	 "faccessat2",
	"statx",       "statfs",	 "fstatfs",
	"flock",       "io_uring_setup", "io_uring_register",
	"unlink",      "uname",		 "readlink",
	"readlinkat",  "getdents64",	 NULL,
};

static const unsigned long blk_ioctls[] = {
	BLKGETSIZE64,
	BLKSSZGET,
	BLKPBSZGET,
	0,
};

/* vm.add-net: a tap's set-up (backend/net_tap.c). */
static const unsigned long tap_setup_ioctls[] = {
	TUNGETFEATURES,
	TUNSETIFF,
	0,
};

/* vm_pause()/vm_resume() keep the guest's clock still (kvm/arch.h). */
static const unsigned long pause_ioctls[] = {
	KVM_GET_CLOCK,
	KVM_SET_CLOCK,
	0,
};

/* Building and tearing down VMs: every boot and every reboot. */
static const char *const main_calls[] = {
	"memfd_create", /* shared guest RAM (vhost-user) */
	"ftruncate",
	"openat",
	"mincore", /* DEVISOR_STATS: guest RAM's resident pages at exit */
	"access",
	"faccessat",
	"faccessat2",
	"statx",
	"statfs",
	"fstatfs",
	"flock",
	"epoll_create1",
	"timerfd_create",
	"timerfd_settime",
	"io_uring_setup",
	"io_uring_register",
	"bind",
	"listen",
	"connect",
	"setsockopt",
	"getsockopt",
	"getsockname",
	"shutdown",
	"unlink",
	"unlinkat",
	"rt_sigaction",
	"rt_sigtimedwait",
	"uname",
	"sysinfo",
	"prlimit64",
	"getrlimit",
	"readlink",
	"readlinkat",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"dup",
	"dup2",
	"dup3",
	"pipe2",
	"getdents64",
	"getcwd",
	NULL,
};

static const unsigned long main_ioctls[] = {
	KVM_GET_API_VERSION,
	KVM_CHECK_EXTENSION,
	KVM_CREATE_VM,
	KVM_GET_VCPU_MMAP_SIZE,
	KVM_CREATE_VCPU,
	KVM_SET_USER_MEMORY_REGION,
	KVM_REGISTER_COALESCED_MMIO,
	TUNGETFEATURES,
	TUNSETIFF,
	TCSETSW,
	TCSETSF,
	FIOCLEX,
	0,
};

static const char *const signal_calls[] = { "rt_sigtimedwait", NULL };

#ifdef SANDBOX_ASAN
/*
 * ASan's run time: an alternate signal stack per thread, its allocator's
 * mappings, reading /proc/self/maps on a report, and LeakSanitizer's check
 * at exit, which clones a tracer that ptraces every thread.
 */
static const char *const asan_calls[] = {
	"sigaltstack", "rt_sigaction", "prctl",	     "openat",
	"readlink",    "readlinkat",   "getdents64", "ptrace",
	"wait4",       "getppid",      "prlimit64",  "getrlimit",
	"setrlimit",   "clone",	       "kill",	     "process_vm_readv",
	"mincore",     "uname",	       "dup2",	     "pipe2",
	"open",	       "getdents",     "stat",	     "lstat",
	"access",      "pipe",	       NULL,
};
#endif

enum {
	F_CLONE_THREAD = 1 << 0, /* clone(CLONE_THREAD ...) */
	F_SOCKET_INET = 1 << 1, /* socket(AF_INET/AF_INET6, ...) */
	F_OPEN_RDONLY = 1 << 2, /* openat(..., O_RDONLY) */
	F_OPEN_EACCES = 1 << 3, /* open/openat fail with EACCES */
	F_SOCKET_UNIX = 1 << 4, /* socket(AF_UNIX, ...): vsock's back-end */
};

struct kind_spec {
	const char *const *calls[8];
	const unsigned long *ioctls[12];
	unsigned int flags;
};

/* The main thread's threads run under its filter and their own. */
static const struct kind_spec specs[SANDBOX_NR_KINDS] = {
	[SANDBOX_MAIN] = {
		.calls = { base_calls, device_calls, io_calls, creator_calls,
			   main_calls, signal_calls },
		.ioctls = { device_ioctls, vcpu_ioctls, io_ioctls, blk_ioctls,
			    main_ioctls, vfio_ioctls, vfio_setup_ioctls,
			    vhost_ioctls, arch_sandbox_main_ioctls,
			    pause_ioctls,
			    arch_sandbox_vcpu_ioctls },
		.flags = F_CLONE_THREAD | F_SOCKET_INET | F_SOCKET_UNIX,
	},
	[SANDBOX_VCPU] = {
		.calls = { base_calls, device_calls, vhost_user_calls },
		.ioctls = { device_ioctls, vcpu_ioctls, vfio_ioctls,
			    vhost_ioctls, arch_sandbox_vcpu_ioctls },
		.flags = F_OPEN_EACCES,
	},
	[SANDBOX_IO] = {
		.calls = { base_calls, device_calls, io_calls },
		.ioctls = { device_ioctls, io_ioctls },
		.flags = F_SOCKET_INET | F_SOCKET_UNIX | F_OPEN_RDONLY,
	},
	[SANDBOX_CONSOLE] = {
		.calls = { base_calls, device_calls },
		.ioctls = { device_ioctls },
		.flags = F_OPEN_EACCES,
	},
	[SANDBOX_API] = {
		.calls = { base_calls, device_calls, creator_calls, api_calls },
		.ioctls = { device_ioctls, blk_ioctls, io_ioctls,
			    pause_ioctls, vfio_ioctls, vfio_setup_ioctls,
			    tap_setup_ioctls },
		.flags = F_CLONE_THREAD,
	},
	[SANDBOX_SIGNAL] = {
		.calls = { base_calls, signal_calls },
		.flags = F_OPEN_EACCES,
	},
	[SANDBOX_RTC] = {
		.calls = { base_calls },
		.ioctls = { device_ioctls },
		.flags = F_OPEN_EACCES,
	},
};

static const struct kind_spec *spec(enum sandbox_kind kind)
{
	return &specs[kind];
}

static int add(scmp_filter_ctx ctx, uint32_t action, const char *name,
	       unsigned int n, const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);
	int ret;

	/* A call this architecture does not have needs no rule. */
	if (nr == __NR_SCMP_ERROR)
		return 0;
	ret = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	/* The same call from two lists, or pseudo-calls libseccomp maps. */
	return ret == -EEXIST ? 0 : ret;
}

static int add_ioctl(scmp_filter_ctx ctx, unsigned long req)
{
	struct scmp_arg_cmp cmp[] = {
		SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, req & 0xffffffffu),
	};

	return add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, cmp);
}

static int build(scmp_filter_ctx ctx, enum sandbox_kind kind)
{
	const struct kind_spec *s = spec(kind);
	int ret = 0;

	for (unsigned int l = 0; !ret && l < 8 && s->calls[l]; l++)
		for (unsigned int i = 0; !ret && s->calls[l][i]; i++)
			ret = add(ctx, SCMP_ACT_ALLOW, s->calls[l][i], 0, NULL);
#ifdef SANDBOX_ASAN
	for (unsigned int i = 0; !ret && asan_calls[i]; i++)
		ret = add(ctx, SCMP_ACT_ALLOW, asan_calls[i], 0, NULL);
#endif
	for (unsigned int l = 0; !ret && l < 12 && s->ioctls[l]; l++)
		for (unsigned int i = 0; !ret && s->ioctls[l][i]; i++)
			ret = add_ioctl(ctx, s->ioctls[l][i]);
	/* isatty() and tcgetattr() anywhere; the terminal's restore. */
	if (!ret)
		ret = add_ioctl(ctx, TCGETS);
	if (!ret) {
		struct scmp_arg_cmp cmp[] = {
			SCMP_A0(SCMP_CMP_EQ, STDIN_FILENO, 0),
			SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TCSETS),
		};

		ret = add(ctx, SCMP_ACT_ALLOW, "ioctl", 2, cmp);
	}
	/* Signals (pthread_kill, raise) to this process only. */
	if (!ret) {
		struct scmp_arg_cmp cmp[] = {
			SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0),
		};

		ret = add(ctx, SCMP_ACT_ALLOW, "tgkill", 1, cmp);
	}
	/*
	 * clone3's flags are in memory, out of a filter's reach: ENOSYS
	 * makes glibc fall back to clone, whose flags it can check.
	 */
	if (!ret)
		ret = add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
	if (!ret && (s->flags & F_CLONE_THREAD)) {
		struct scmp_arg_cmp cmp[] = {
			SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD),
		};

		ret = add(ctx, SCMP_ACT_ALLOW, "clone", 1, cmp);
	}
	if (s->flags & F_SOCKET_INET) {
		static const int domains[] = { AF_INET, AF_INET6 };

		for (unsigned int i = 0; !ret && i < 2; i++) {
			struct scmp_arg_cmp cmp[] = {
				SCMP_A0(SCMP_CMP_EQ, domains[i], 0),
			};

			ret = add(ctx, SCMP_ACT_ALLOW, "socket", 1, cmp);
		}
	}
	if (!ret && (s->flags & F_SOCKET_UNIX)) {
		struct scmp_arg_cmp cmp[] = {
			SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0),
		};

		ret = add(ctx, SCMP_ACT_ALLOW, "socket", 1, cmp);
	}
	if (!ret && (s->flags & F_OPEN_RDONLY)) {
		struct scmp_arg_cmp cmp[] = {
			SCMP_A2(SCMP_CMP_MASKED_EQ,
				O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND,
				O_RDONLY),
		};

		ret = add(ctx, SCMP_ACT_ALLOW, "openat", 1, cmp);
	}
	/*
	 * devisor opens nothing on these threads, but glibc may, lazily and
	 * read-only (seen on a vCPU in L2 during an SR-IOV VF cycle; the time
	 * zone is read up front, see sandbox_init()): refused with an error
	 * it falls back from, where a trap would stop the VM.
	 */
	if (!ret && (s->flags & F_OPEN_EACCES))
		ret = add(ctx, SCMP_ACT_ERRNO(EACCES), "openat", 0, NULL);
	if (!ret && (s->flags & F_OPEN_EACCES))
		ret = add(ctx, SCMP_ACT_ERRNO(EACCES), "open", 0, NULL);
	return ret;
}

static scmp_filter_ctx create(enum sandbox_kind kind, enum sandbox_mode m,
			      int *err)
{
	scmp_filter_ctx ctx =
		seccomp_init(m == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);

	if (!ctx) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = build(ctx, kind);
	if (*err) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

int sandbox_count_rules(enum sandbox_kind kind, enum sandbox_mode m)
{
	const struct kind_spec *s;
	scmp_filter_ctx ctx;
	int err, n = 0;

	if (kind >= SANDBOX_NR_KINDS)
		return -EINVAL;
	ctx = create(kind, m, &err);
	if (!ctx)
		return err;
	seccomp_release(ctx);
	s = spec(kind);
	/* Every name must be a call here: a typo would be no rule at all. */
	for (unsigned int l = 0; l < 8 && s->calls[l]; l++)
		for (unsigned int i = 0; s->calls[l][i]; i++, n++)
			if (seccomp_syscall_resolve_name(s->calls[l][i]) ==
			    __NR_SCMP_ERROR)
				return -ENOENT;
	for (unsigned int l = 0; l < 12 && s->ioctls[l]; l++)
		for (unsigned int i = 0; s->ioctls[l][i]; i++)
			n++;
	return n;
}

/* Names for the SIGSYS handler, which must not call into libseccomp. */
#define NAMES_MAX 512
static char names[NAMES_MAX][24];
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
	    nr >= 0 && nr < NAMES_MAX && names[nr][0] ? names[nr] : "?");
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
	for (int i = 0; i < NAMES_MAX; i++) {
		char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, i);

		if (n) {
			strncpy(names[i], n, sizeof(names[i]) - 1);
			free(n);
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

void sandbox_apply(enum sandbox_kind kind, const char *name)
{
	scmp_filter_ctx ctx;
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
	ctx = create(kind, mode, &err);
	if (ctx) {
		err = seccomp_load(ctx);
		seccomp_release(ctx);
		/*
		 * libseccomp's working memory is freed but stays resident,
		 * in this thread's malloc arena: about 70 KiB per thread, a
		 * fifth of a tiny guest's own memory. Give it back. Not under
		 * ASan: its allocator replaces glibc's, whose arenas then are
		 * never set up, and threads trimming them at once race in
		 * glibc's lazy set-up (a SEGV in malloc_trim, seen in CI).
		 */
#ifndef SANDBOX_ASAN
		malloc_trim(0);
#endif
	}
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

int sandbox_count_rules(enum sandbox_kind kind, enum sandbox_mode m)
{
	return -ENOSYS;
}

#endif
