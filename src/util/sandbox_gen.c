// SPDX-License-Identifier: GPL-2.0
/*
 * sandbox-gen: the seccomp filters, compiled when devisor is built. The
 * allow-lists below (docs/sandbox.md says why each call is there) go
 * through libseccomp here, once, and come out as BPF in a C file that
 * util/sandbox.c loads: devisor itself neither links libseccomp nor
 * compiles a filter at start-up, as Firecracker's seccompiler does.
 *
 * It runs as a program of the build's architecture (through qemu-user
 * for a cross build), so that libseccomp resolves the names for it and
 * the ioctl numbers are the target's. Two values are only known at run
 * time and are patched in by util/sandbox.c (sandbox_bpf.h): tgkill's pid
 * and, for --seccomp log, the default action.
 *
 *   sandbox-gen > sandbox_bpf.c
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <linux/vhost.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvm/arch.h"
#include "util/sandbox_bpf.h"

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
 * engine, polls that wait for a peer, a tap's offloads and queues.
 */
static const char *const device_calls[] = {
	"eventfd2", "epoll_ctl", "poll",      "ppoll",	   "io_uring_enter",
	"pread64",  "pwrite64",	 "preadv",    "pwritev",   "preadv2",
	"pwritev2", "fsync",	 "fdatasync", "fallocate", "lseek",
	"fcntl",    NULL,
};

static const unsigned long device_ioctls[] = {
	KVM_IRQ_LINE,	 KVM_SIGNAL_MSI,      KVM_IRQFD,
	KVM_IOEVENTFD,	 KVM_SET_GSI_ROUTING, TUNSETOFFLOAD,
	TUNSETVNETHDRSZ, TUNSETQUEUE,	      0,
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
 * A passed-through function behind virtio-iommu: its container follows
 * the guest's MAP and UNMAP requests, which the iommu loop serves.
 */
static const unsigned long vfio_map_ioctls[] = {
	VFIO_IOMMU_MAP_DMA,
	VFIO_IOMMU_UNMAP_DMA,
	0,
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
	"epoll_wait",  "epoll_pwait", "epoll_pwait2", "timerfd_settime",
	"connect",     "sendto",      "recvfrom",     "sendmsg",
	"recvmsg",     "setsockopt",  "getsockopt",   "getsockname",
	"getpeername", "bind",	      "listen",	      "accept",
	"accept4",     "shutdown",    "statx",	      "uname",
	NULL,
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
 * libmicrohttpd's thread (accept, read, answer), the relay that takes
 * descriptors off requests (a socketpair per client) and the API's actions:
 * vm.add-disk opens, checks and locks an image and sets up its engine;
 * vm.add-device opens a VFIO group and maps guest RAM for it;
 * vm.add-vsock binds and listens on its UNIX socket (after a connect()
 * that finds a stale one) and makes its timer; vm.resize-disk grows an
 * image file; vm.remove-device tears any of them down.
 */
static const char *const api_calls[] = {
	"accept",	  "accept4",	    "recvfrom",
	"recvmsg",	  "sendto",	    "sendmsg",
	"shutdown",	  "setsockopt",	    "getsockopt",
	"getsockname",	  "getpeername",    "select",
	"pselect6",	  "epoll_create1",  "epoll_wait",
	"epoll_pwait",	  "pipe2",	    "openat",
	"access",	  "faccessat",	    "faccessat2",
	"statx",	  "statfs",	    "fstatfs",
	"flock",	  "io_uring_setup", "io_uring_register",
	"unlink",	  "uname",	    "readlink",
	"readlinkat",	  "getdents64",	    "socketpair",
	"bind",		  "listen",	    "connect",
	"timerfd_create", "ftruncate",	    NULL,
};

static const unsigned long blk_ioctls[] = {
	BLKGETSIZE64,
	BLKSSZGET,
	BLKPBSZGET,
	0,
};

/*
 * A tap's set-up (backend/net_tap.c), or a given one's check: at boot
 * (main) and for vm.add-net (api).
 */
static const unsigned long tap_setup_ioctls[] = {
	TUNGETFEATURES,
	TUNSETIFF,
	TUNGETIFF,
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
			    pause_ioctls, tap_setup_ioctls,
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
		/* vhost's: vm.resize gives kernel back-ends a new table. */
		.ioctls = { device_ioctls, blk_ioctls, io_ioctls,
			    pause_ioctls, vfio_ioctls, vfio_setup_ioctls,
			    tap_setup_ioctls, vhost_ioctls },
		.flags = F_CLONE_THREAD | F_SOCKET_UNIX,
	},
	[SANDBOX_SIGNAL] = {
		.calls = { base_calls, signal_calls },
		.flags = F_OPEN_EACCES,
	},
	[SANDBOX_IOMMU] = {
		.calls = { base_calls, device_calls, io_calls },
		.ioctls = { device_ioctls, io_ioctls, vfio_map_ioctls },
		.flags = F_SOCKET_INET | F_SOCKET_UNIX | F_OPEN_RDONLY,
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
			SCMP_A0(SCMP_CMP_EQ, SANDBOX_PID_PLACEHOLDER, 0),
		};

		ret = add(ctx, SCMP_ACT_ALLOW, "tgkill", 1, cmp);
	}
	/*
	 * A new thread may make itself SCHED_BATCH (an I/O thread, under its
	 * creator's filter until it loads its own: --io-sched), nothing
	 * else; a kind that starts no threads has no need for it.
	 */
	if (!ret && (s->flags & F_CLONE_THREAD)) {
		struct scmp_arg_cmp cmp[] = {
			SCMP_A0(SCMP_CMP_EQ, 0, 0),
			SCMP_A1(SCMP_CMP_EQ, SCHED_BATCH, 0),
		};

		ret = add(ctx, SCMP_ACT_ALLOW, "sched_setscheduler", 2, cmp);
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

static const char *const kind_names[SANDBOX_NR_KINDS] = SANDBOX_KIND_NAMES;

/* A name no architecture has is a typo, which would be no rule at all. */
static int check_names(enum sandbox_kind kind)
{
	const struct kind_spec *s = spec(kind);

	for (unsigned int l = 0; l < 8 && s->calls[l]; l++) {
		for (unsigned int i = 0; s->calls[l][i]; i++) {
			const char *n = s->calls[l][i];

			if (seccomp_syscall_resolve_name_arch(
				    SCMP_ARCH_X86_64, n) == __NR_SCMP_ERROR &&
			    seccomp_syscall_resolve_name_arch(
				    SCMP_ARCH_AARCH64, n) == __NR_SCMP_ERROR) {
				fprintf(stderr,
					"sandbox-gen: %s filter: no system "
					"call '%s' on any architecture\n",
					kind_names[kind], n);
				return -ENOENT;
			}
		}
	}
	return 0;
}

/* @kind's filter as BPF, printed as a C array; its length or -errno. */
static int emit(enum sandbox_kind kind)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	struct sock_filter insn;
	unsigned int n = 0, pids = 0;
	FILE *f;
	int ret;

	if (!ctx)
		return -ENOMEM;
	ret = build(ctx, kind);
	f = ret ? NULL : tmpfile();
	if (!ret && !f)
		ret = -errno;
	if (!ret)
		ret = seccomp_export_bpf(ctx, fileno(f));
	seccomp_release(ctx);
	if (ret) {
		fprintf(stderr, "sandbox-gen: %s filter: %s\n",
			kind_names[kind], strerror(-ret));
		if (f)
			fclose(f);
		return ret;
	}
	rewind(f);
	printf("/* The %s filter. */\n", kind_names[kind]);
	printf("static const struct sock_filter filter_%s[] = {\n",
	       kind_names[kind]);
	while (fread(&insn, sizeof(insn), 1, f) == 1) {
		if (insn.code == (BPF_JMP | BPF_JEQ | BPF_K) &&
		    insn.k == SANDBOX_PID_PLACEHOLDER)
			pids++;
		printf("\t{ 0x%04x, %3u, %3u, 0x%08x },\n", insn.code, insn.jt,
		       insn.jf, insn.k);
		n++;
	}
	printf("};\n\n");
	fclose(f);
	if (!n || n > SANDBOX_BPF_MAX || pids != 1) {
		fprintf(stderr,
			"sandbox-gen: %s filter: %u instructions (at most "
			"%u), %u comparisons with the pid placeholder (want "
			"one)\n",
			kind_names[kind], n, SANDBOX_BPF_MAX, pids);
		return -EINVAL;
	}
	return (int)n;
}

int main(void)
{
	int len[SANDBOX_NR_KINDS];

	printf("/*\n * Generated by sandbox-gen (src/util/sandbox_gen.c) "
	       "for this build's\n * architecture: do not edit.\n */\n");
	printf("#include \"util/sandbox_bpf.h\"\n\n");
	for (int k = 0; k < SANDBOX_NR_KINDS; k++) {
		if (check_names(k))
			return 1;
		len[k] = emit(k);
		if (len[k] < 0)
			return 1;
	}
	printf("const struct sandbox_bpf sandbox_bpf[SANDBOX_NR_KINDS] = "
	       "{\n");
	for (int k = 0; k < SANDBOX_NR_KINDS; k++)
		printf("\t[%d] = { filter_%s, %d },\n", k, kind_names[k],
		       len[k]);
	printf("};\n\n");
	/* For the SIGSYS handler's message. */
	printf("const char sandbox_syscall_names[SANDBOX_NR_NAMES][24] = {\n");
	for (int i = 0; i < SANDBOX_NR_NAMES; i++) {
		char *name =
			seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, i);

		if (name && strlen(name) < 24)
			printf("\t[%d] = \"%s\",\n", i, name);
		free(name);
	}
	printf("};\n");
	return fflush(stdout) || ferror(stdout) ? 1 : 0;
}
