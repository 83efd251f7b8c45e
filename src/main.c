// SPDX-License-Identifier: GPL-2.0
/*
 * devisor: command line, signals, and the life of one VM.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "backend/console.h"
#include "backend/net.h"
#include "board.h"
#include "config.h"
#include "hw/acpi_pm.h"
#include "hw/pcihp.h"
#include "kvm/vcpu.h"
#include "pci/pci.h"
#include "kvm/vm.h"
#include "util/file.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/sandbox.h"
#include "util/stats.h"
#include "vfio/vfio.h"
#include "version.h"

/* The board, and with it the architecture: a PC. */
static const struct board_ops *board;

#define MAX_CPUS 255
#define REBOOT_MIN_MS 1000

static void usage(FILE *f)
{
	fputs("usage: devisor run --kernel PATH [options]\n"
	      "       devisor remote --api-socket PATH COMMAND [ARG]\n"
	      "       devisor --help | --version\n"
	      "\n"
	      "Boot a Linux kernel (bzImage or ELF vmlinux) in a KVM virtual "
	      "machine.\nThe guest console (COM1, ttyS0) is this terminal; "
	      "Ctrl-A x quits.\n"
	      "\n"
	      "options for run:\n"
	      "  -k, --kernel PATH    kernel: bzImage or ELF vmlinux "
	      "(required)\n"
	      "  -i, --initrd PATH    initial ramdisk\n"
	      "  -c, --cmdline STR    kernel command line "
	      "(default \"console=ttyS0\")\n"
	      "  -p, --cpus N         number of vCPUs, 1-255 (default 1)\n"
	      "  -m, --memory SIZE    guest RAM, e.g. 512M, 2G; a bare number "
	      "is MiB\n"
	      "                       (default 512M)\n"
	      "      --boot PROTO     auto, linux64 or pvh (default auto: "
	      "linux64)\n"
	      "      --disk SPEC      virtio-blk disk, repeatable: "
	      "path=IMG[,readonly=on]\n"
	      "                       [,transport=pci|mmio][,direct=on]"
	      "[,engine=auto|io_uring|sync]\n"
	      "                       [,queues=N][,packed=on|off][,poll=US]\n"
	      "                       [,batch=US][,serial=S][,addr=DD.F]\n"
	      "      --nvme SPEC      NVMe controller, repeatable: "
	      "path=IMG[,serial=S]\n"
	      "                       [,readonly=on][,direct=on]"
	      "[,engine=auto|io_uring|sync]\n"
	      "                       [,addr=DD.F][,vfs=N] (serial: Identify's "
	      "SN, 1-20 characters;\n"
	      "                       vfs: 0-7 SR-IOV VFs, each over a slice "
	      "of IMG)\n"
	      "      --device SPEC    host PCI function passed through with "
	      "VFIO, repeatable:\n"
	      "                       path=/sys/bus/pci/devices/DDDD:BB:DD.F"
	      "[,addr=DD.F][,rom=on|off]\n"
	      "                       (bound to vfio-pci; docs/vfio.md)\n"
	      "      --net SPEC       virtio-net, repeatable: "
	      "tap=NAME[,mac=M][,addr=DD.F] or\n"
	      "                       user[,hostfwd=tcp::HPORT-:GPORT]..."
	      "[,mac=M][,addr=DD.F]\n"
	      "                       (10.0.2.15/24, gateway 10.0.2.2 = host "
	      "loopback, DNS 10.0.2.3)\n"
	      "      --rng [addr=DD.F]\n"
	      "                       virtio-rng from the host's getrandom()\n"
	      "      --console KIND   serial (ttyS0, default) or "
	      "virtio[,addr=DD.F] (hvc0;\n"
	      "                       default command line becomes "
	      "console=hvc0)\n"
	      "      --vsock SPEC     virtio-vsock: cid=N,socket=PATH"
	      "[,transport=pci|mmio][,addr=DD.F]\n"
	      "                       (host connects to PATH and writes "
	      "\"CONNECT <port>\\n\";\n"
	      "                       guest connections to port P go to "
	      "PATH_P)\n"
	      "      --on-reset WHAT  reboot (default: a new VM from the same "
	      "options)\n"
	      "                       or exit, on a guest reset or triple "
	      "fault\n"
	      "      --iommu KIND     none (default) or vtd: an Intel VT-d "
	      "DMA-remapping unit\n"
	      "                       in front of every PCI device (guest: "
	      "intel_iommu=on),\n"
	      "                       with interrupt remapping and a userspace "
	      "IOAPIC unless\n"
	      "                       vtd,intremap=off; or virtio: a "
	      "virtio-iommu PCI function\n"
	      "                       (ACPI VIOT) in front of the others\n"
	      "      --platform SPEC  SMBIOS system identity: serial=S,uuid=U "
	      "with UUID\n"
	      "                       as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx "
	      "(default\n"
	      "                       serial \"0\", nil UUID)\n"
	      "      --api-socket PATH\n"
	      "                       serve the control API (Cloud "
	      "Hypervisor's REST API)\n"
	      "                       on a UNIX socket; see 'devisor remote "
	      "--help'\n"
	      "      --seccomp MODE   true (default): each thread kind may "
	      "make only its own\n"
	      "                       system calls, and another one stops "
	      "devisor; log: they\n"
	      "                       go through and the kernel logs them "
	      "(dmesg); false: none\n"
	      "      --io-sched POLICY\n"
	      "                       batch (default): device I/O threads run "
	      "as SCHED_BATCH:\n"
	      "                       waking, they do not preempt a vCPU, whose "
	      "burst of\n"
	      "                       requests is then served in one pass; "
	      "normal: they may\n"
	      "                       (less latency at queue depth 1 on a busy "
	      "host)\n"
	      "  -v, --verbose        more log output; twice for debug\n"
	      "  -q, --quiet          errors only\n"
	      "\n"
	      "addr=DD.F puts a PCI device at slot DD (hex 01-1f), function F; "
	      "devices\nwithout one take the lowest free slots in the order "
	      "--net, --disk,\n--nvme, --rng, --console, --vsock.\n"
	      "\n"
	      "exit status: 0 when the guest powers off (or resets, with "
	      "--on-reset exit);\n"
	      "(V << 1) | 1 when a test guest writes V to the debug-exit port "
	      "0xf4; 1 on a\nguest crash (KVM internal error; a triple fault "
	      "with --on-reset exit) or a\ndevisor error; 2 on a usage error; "
	      "128+N when stopped by signal N.\n",
	      f);
}

#define usage_error(...) usage_error_for("devisor", __VA_ARGS__)

enum {
	OPT_BOOT = 256,
	OPT_DISK,
	OPT_NVME,
	OPT_NET,
	OPT_RNG,
	OPT_CONSOLE,
	OPT_ON_RESET,
	OPT_PLATFORM,
	OPT_IOMMU,
	OPT_API_SOCKET,
	OPT_DEVICE,
	OPT_SECCOMP,
	OPT_VSOCK,
	OPT_IO_SCHED,
};

static const struct option run_opts[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'c' },
	{ "cpus", required_argument, NULL, 'p' },
	{ "memory", required_argument, NULL, 'm' },
	{ "boot", required_argument, NULL, OPT_BOOT },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "nvme", required_argument, NULL, OPT_NVME },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "net", required_argument, NULL, OPT_NET },
	{ "rng", optional_argument, NULL, OPT_RNG },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "on-reset", required_argument, NULL, OPT_ON_RESET },
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ "iommu", required_argument, NULL, OPT_IOMMU },
	{ "vsock", required_argument, NULL, OPT_VSOCK },
	{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "io-sched", required_argument, NULL, OPT_IO_SCHED },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* --seccomp: on unless asked otherwise (util/sandbox.h). */
static enum sandbox_mode seccomp_mode = SANDBOX_ON;

static int parse_run(int argc, char **argv, struct vm_config *cfg,
		     const char **api_socket)
{
	char err_msg[160];
	const char *why;
	unsigned long n;
	int c, err;

	*cfg = (struct vm_config){ .nr_cpus = 1,
				   .ram_size = 512ull << 20,
				   .rng_addr = CONFIG_PCI_AUTO,
				   .console_addr = CONFIG_PCI_AUTO,
				   .io_sched = EVLOOP_SCHED_BATCH };
	config_platform_default(&cfg->platform);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":k:i:c:p:m:vqh", run_opts,
				NULL)) != -1) {
		switch (c) {
		case 'k':
			cfg->kernel = optarg;
			break;
		case 'i':
			cfg->initrd = optarg;
			break;
		case 'c':
			cfg->cmdline = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 1, MAX_CPUS, &n))
				return usage_error("--cpus takes a number from "
						   "1 to %d, not '%s'",
						   MAX_CPUS, optarg);
			cfg->nr_cpus = n;
			break;
		case 'm': {
			char *opt = strchr(optarg, ',');

			if (opt) {
				*opt++ = '\0';
				if (!strcmp(opt, "shared=on"))
					cfg->ram_shared = true;
				else if (strcmp(opt, "shared=off"))
					return usage_error(
						"--memory takes SIZE[,shared=on|"
						"off], not '%s'",
						opt);
			}
			err = parse_size(optarg, &cfg->ram_size);
			if (err)
				return usage_error("--memory takes a size such "
						   "as 512M or 2G, not '%s'",
						   optarg);
			if (cfg->ram_size < (16ull << 20))
				return usage_error("--memory %s is too small: "
						   "the minimum is 16M",
						   optarg);
			if (cfg->ram_size & 0xfff)
				return usage_error("--memory %s is not a "
						   "multiple of 4K",
						   optarg);
			break;
		}
		case OPT_BOOT:
			if (!strcmp(optarg, "auto"))
				cfg->boot_protocol = NULL;
			else if (!strcmp(optarg, "linux64") ||
				 !strcmp(optarg, "pvh"))
				cfg->boot_protocol = optarg;
			else
				return usage_error("--boot takes auto, linux64 "
						   "or pvh, not '%s'",
						   optarg);
			break;
		case OPT_DISK:
			if (cfg->nr_disks == CONFIG_MAX_DISKS)
				return usage_error("at most %d --disk options",
						   CONFIG_MAX_DISKS);
			if (config_parse_disk(optarg,
					      &cfg->disks[cfg->nr_disks],
					      err_msg, sizeof(err_msg)))
				return usage_error("--disk: %s", err_msg);
			cfg->nr_disks++;
			break;
		case OPT_NVME:
			if (cfg->nr_nvmes == CONFIG_MAX_NVMES)
				return usage_error("at most %d --nvme options",
						   CONFIG_MAX_NVMES);
			if (config_parse_nvme(optarg,
					      &cfg->nvmes[cfg->nr_nvmes],
					      err_msg, sizeof(err_msg)))
				return usage_error("--nvme: %s", err_msg);
			cfg->nr_nvmes++;
			break;
		case OPT_DEVICE:
			if (cfg->nr_vfio == CONFIG_MAX_VFIO)
				return usage_error(
					"at most %d --device options",
					CONFIG_MAX_VFIO);
			if (config_parse_vfio(optarg, &cfg->vfio[cfg->nr_vfio],
					      err_msg, sizeof(err_msg)))
				return usage_error("--device: %s", err_msg);
			cfg->nr_vfio++;
			break;
		case OPT_NET:
			if (cfg->nr_nets == CONFIG_MAX_NETS)
				return usage_error("at most %d --net options",
						   CONFIG_MAX_NETS);
			if (config_parse_net(optarg, &cfg->nets[cfg->nr_nets],
					     &cfg->net_addrs[cfg->nr_nets],
					     err_msg, sizeof(err_msg)))
				return usage_error("--net: %s", err_msg);
			cfg->nr_nets++;
			break;
		case OPT_RNG:
			/* "--rng addr=DD.F" as well as "--rng=addr=DD.F". */
			if (!optarg && optind < argc &&
			    !strncmp(argv[optind], "addr=", 5))
				optarg = argv[optind++];
			if (config_parse_rng(optarg, &cfg->rng_addr, err_msg,
					     sizeof(err_msg)))
				return usage_error("--rng: %s", err_msg);
			cfg->rng = true;
			break;
		case OPT_CONSOLE:
			if (config_parse_console(optarg, &cfg->virtio_console,
						 &cfg->console_addr, err_msg,
						 sizeof(err_msg)))
				return usage_error("--console: %s", err_msg);
			break;
		case OPT_IO_SCHED:
			if (!strcmp(optarg, "batch"))
				cfg->io_sched = EVLOOP_SCHED_BATCH;
			else if (!strcmp(optarg, "normal"))
				cfg->io_sched = EVLOOP_SCHED_NORMAL;
			else
				return usage_error("--io-sched takes batch or "
						   "normal, not '%s'",
						   optarg);
			break;
		case OPT_ON_RESET:
			if (!strcmp(optarg, "reboot"))
				cfg->exit_on_reset = false;
			else if (!strcmp(optarg, "exit"))
				cfg->exit_on_reset = true;
			else
				return usage_error("--on-reset takes reboot or "
						   "exit, not '%s'",
						   optarg);
			break;
		case OPT_PLATFORM:
			if (config_parse_platform(optarg, &cfg->platform,
						  err_msg, sizeof(err_msg)))
				return usage_error("--platform: %s", err_msg);
			break;
		case OPT_IOMMU:
			if (config_parse_iommu(optarg, &cfg->iommu,
					       &cfg->intremap, err_msg,
					       sizeof(err_msg)))
				return usage_error("--iommu: %s", err_msg);
			break;
		case OPT_VSOCK:
			if (cfg->vsock.enabled)
				return usage_error("at most one --vsock");
			if (config_parse_vsock(optarg, &cfg->vsock, err_msg,
					       sizeof(err_msg)))
				return usage_error("--vsock: %s", err_msg);
			break;
		case OPT_API_SOCKET:
			if (!*optarg)
				return usage_error("--api-socket needs a path");
			if (strlen(optarg) >= 108)
				return usage_error("--api-socket %s is longer "
						   "than a UNIX socket path "
						   "can be (107 bytes)",
						   optarg);
			why = api_unavailable();
			if (why)
				return usage_error("--api-socket: %s", why);
			*api_socket = optarg;
			break;
		case OPT_SECCOMP:
			if (sandbox_parse_mode(optarg, &seccomp_mode))
				return usage_error(
					"--seccomp takes true, false "
					"or log, not '%s'",
					optarg);
			break;
		case 'v':
			if (log_level < LOG_DEBUG)
				log_level++;
			break;
		case 'q':
			log_level = LOG_ERROR;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!cfg->kernel)
		return usage_error("run needs --kernel PATH");
	/* A vhost-user back-end maps guest RAM: it must be a memfd. */
	for (unsigned int i = 0; i < cfg->nr_disks; i++)
		if (cfg->disks[i].vhost_user && !cfg->ram_shared) {
			pr_info("--disk vhost-user: guest RAM is shared (a "
				"memfd)");
			cfg->ram_shared = true;
		}
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		if (cfg->nets[i].type == NET_VHOST_USER && !cfg->ram_shared) {
			pr_info("--net vhost-user: guest RAM is shared (a "
				"memfd)");
			cfg->ram_shared = true;
		}
	if (config_plan_pci(cfg, err_msg, sizeof(err_msg)) ||
	    config_check_iommu(cfg, err_msg, sizeof(err_msg)))
		return usage_error("%s", err_msg);
	if (!cfg->cmdline)
		cfg->cmdline = cfg->virtio_console ? "console=hvc0" :
						     "console=ttyS0";
	return 0;
}

/*
 * The files named on the command line are checked before /dev/kvm is
 * opened, so a typo gets its own message on any host, KVM or not.
 */
static int check_inputs(const struct vm_config *cfg)
{
	if (check_file(cfg->kernel, "kernel"))
		return -1;
	if (cfg->initrd && check_file(cfg->initrd, "initrd"))
		return -1;
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		struct blk_options bo = config_blk_options(&cfg->disks[i]);

		if (cfg->disks[i].vhost_user)
			continue;
		if (blk_check(cfg->disks[i].path, &bo))
			return -1;
	}
	for (unsigned int i = 0; i < cfg->nr_nvmes; i++) {
		struct blk_options bo = config_blk_options(&cfg->nvmes[i]);

		if (blk_check(cfg->nvmes[i].path, &bo))
			return -1;
	}
	for (unsigned int i = 0; i < cfg->nr_vfio; i++) {
		char err[512];
		int group;

		if (vfio_check_sysfs(cfg->vfio[i].path, &group, err,
				     sizeof(err))) {
			pr_err("--device: %s", err);
			return -1;
		}
	}
	return 0;
}

/*
 * The VM the signal thread stops. Between two boots there is none: a
 * signal then is remembered and ends the next boot at once.
 */
static struct {
	pthread_mutex_t lock;
	struct vm *vm;
	struct board *board;
	int sig;
} running = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void stop_on_signal(struct vm *vm, int sig)
{
	vm_stop(vm, VM_STOP_SIGNAL, 128 + sig, "stopped by SIG%s",
		sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
}

static void *signal_thread(void *arg)
{
	sigset_t set;
	int sig;

	(void)arg;
	sandbox_apply(SANDBOX_SIGNAL, "signal");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	while (sigwait(&set, &sig) == 0) {
		pthread_mutex_lock(&running.lock);
		if (sig == SIGUSR2) {
			/* A report on a guest that seems stuck; it runs on. */
			if (running.vm)
				vm_dump_vcpus(running.vm);
		} else {
			running.sig = sig;
			if (running.vm)
				stop_on_signal(running.vm, sig);
		}
		pthread_mutex_unlock(&running.lock);
	}
	return NULL;
}

static int stop_signal(void)
{
	int sig;

	pthread_mutex_lock(&running.lock);
	sig = running.sig;
	pthread_mutex_unlock(&running.lock);
	return sig;
}

static void set_running(struct vm *vm, struct board *b)
{
	pthread_mutex_lock(&running.lock);
	running.vm = vm;
	running.board = b;
	if (vm && running.sig)
		stop_on_signal(vm, running.sig);
	pthread_mutex_unlock(&running.lock);
}

/* One boot of the VM, from nothing to torn down; returns true to reboot. */
static bool boot_once(struct vm *vm, const struct vm_config *cfg)
{
	struct board *b = NULL;
	bool reboot;

	int err = vm_create(vm, cfg->nr_cpus, cfg->ram_size,
			    (board->vm_flags ? board->vm_flags(cfg) : 0) |
				    (cfg->ram_shared ? VM_SHARED_RAM : 0));

	stats_mark("vm");
	if (err || board->setup(vm, cfg, &b)) {
		vm->exit_status = 1;
		vm_destroy(vm);
		board->destroy(b);
		return false;
	}
	stats_mark("board");
	set_running(vm, b);
	if (console_start(vm, &b->console) < 0) {
		set_running(NULL, NULL);
		vm->exit_status = 1;
		vm_destroy(vm);
		board->destroy(b);
		return false;
	}
	if (vm_start(vm) == 0)
		vm_wait(vm);
	console_stop();
	console_restore();
	stats_report(vm);
	set_running(NULL, NULL);

	/* A reset ends this VM; with --on-reset reboot the next one starts. */
	reboot = vm->stop_reason == VM_STOP_REBOOT ||
		 (!cfg->exit_on_reset &&
		  (vm->stop_reason == VM_STOP_RESET ||
		   vm->stop_reason == VM_STOP_TRIPLE_FAULT));
	/* A triple fault is the guest crashing: say so even when rebooting. */
	if (reboot && vm->stop_reason == VM_STOP_TRIPLE_FAULT)
		pr_warn("%s: rebooting", vm->stop_message);
	else if (reboot)
		pr_info("%s: rebooting", vm->stop_message);
	else if (vm->stop_reason == VM_STOP_POWEROFF ||
		 vm->stop_reason == VM_STOP_RESET ||
		 vm->stop_reason == VM_STOP_DEBUG_EXIT)
		pr_info("%s", vm->stop_message);
	else if (vm->stop_reason == VM_STOP_SIGNAL && vm->exit_status == 0)
		pr_info("%s", vm->stop_message);
	else
		pr_err("%s", vm->stop_message);
	vm_destroy(vm);
	board->destroy(b);
	return reboot;
}

/*
 * The control API's actions (api/api.h) on the running VM. Between two
 * boots there is none: the VM is "Created" and actions get 405.
 */
#define API_NO_VM(err) \
	(snprintf(err, API_ERR_LEN, "the VM is not running (rebooting)"), 405)

static enum api_vm_state api_state(void *opaque)
{
	enum api_vm_state st = API_VM_CREATED;

	pthread_mutex_lock(&running.lock);
	if (running.vm)
		st = vm_stopping(running.vm) ? API_VM_SHUTDOWN :
		     vm_paused(running.vm)   ? API_VM_PAUSED :
					       API_VM_RUNNING;
	pthread_mutex_unlock(&running.lock);
	return st;
}

static int api_pause_resume(char *err, bool pause)
{
	int ret;

	pthread_mutex_lock(&running.lock);
	if (!running.vm) {
		pthread_mutex_unlock(&running.lock);
		return API_NO_VM(err);
	}
	/*
	 * Said before the vCPUs run again, so the line never lands in the
	 * middle of what the guest prints next.
	 */
	if (!pause && vm_paused(running.vm))
		pr_info("VM resumed through the API");
	ret = pause ? vm_pause(running.vm) : vm_resume(running.vm);
	pthread_mutex_unlock(&running.lock);
	if (ret == -EALREADY) {
		snprintf(err, API_ERR_LEN, "the VM is %s",
			 pause ? "already paused" : "not paused");
		return 405;
	}
	if (ret) {
		snprintf(err, API_ERR_LEN, "the VM is shutting down");
		return 405;
	}
	if (pause)
		pr_info("VM paused through the API");
	return 204;
}

static int api_pause(void *opaque, char *err)
{
	return api_pause_resume(err, true);
}

static int api_resume(void *opaque, char *err)
{
	return api_pause_resume(err, false);
}

static int api_stop(char *err, enum vm_stop_reason reason, const char *msg)
{
	pthread_mutex_lock(&running.lock);
	if (!running.vm || vm_stopping(running.vm)) {
		pthread_mutex_unlock(&running.lock);
		return API_NO_VM(err);
	}
	vm_stop(running.vm, reason, 0, "%s", msg);
	pthread_mutex_unlock(&running.lock);
	return 204;
}

static int api_shutdown(void *opaque, char *err)
{
	return api_stop(err, VM_STOP_POWEROFF, "shut down through the API");
}

static int api_reboot(void *opaque, char *err)
{
	return api_stop(err, VM_STOP_REBOOT, "reboot through the API");
}

static int api_power_button(void *opaque, char *err)
{
	pthread_mutex_lock(&running.lock);
	if (!running.vm || vm_stopping(running.vm) ||
	    !running.board->power_button) {
		pthread_mutex_unlock(&running.lock);
		return API_NO_VM(err);
	}
	acpi_pm_power_button(running.board->power_button);
	pthread_mutex_unlock(&running.lock);
	return 204;
}

static void api_counters(void *opaque, struct api_counters *c)
{
	char name[16];

	pthread_mutex_lock(&running.lock);
	for (unsigned int i = 0; running.vm && i < running.vm->nr_cpus; i++) {
		struct vcpu *v = running.vm->vcpus[i];

		if (!v)
			continue;
		snprintf(name, sizeof(name), "_vcpu%u", i);
		api_counter(c, name, "exits_io",
			    __atomic_load_n(&v->exits_io, __ATOMIC_RELAXED));
		api_counter(c, name, "exits_mmio",
			    __atomic_load_n(&v->exits_mmio, __ATOMIC_RELAXED));
	}
	pthread_mutex_unlock(&running.lock);
}

/* What vm.info reports and a reboot builds: run-time disks are added. */
static struct vm_config *api_cfg;
/* The first of them: their paths are copies, freed at exit. */
static unsigned int api_first_disk, api_first_vfio;

static void api_cfg_free(void)
{
	for (unsigned int i = api_first_disk; api_cfg && i < api_cfg->nr_disks;
	     i++)
		free((char *)api_cfg->disks[i].path);
	for (unsigned int i = api_first_vfio; api_cfg && i < api_cfg->nr_vfio;
	     i++)
		free((char *)api_cfg->vfio[i].path);
	api_cfg = NULL;
}

/*
 * A virtio-blk disk on PCI, kept in the vm_config so that a reboot builds
 * it again at the same address. ACPI PCI hotplug (hw/pcihp.h) tells the
 * guest, whose acpiphp scans the slot.
 */
static int api_add_disk(void *opaque, const struct disk_config *d,
			const char *id, char *out_id, char *out_bdf, char *err)
{
	struct blk_options bo = config_blk_options(d);
	struct disk_config dc = *d;
	unsigned int idx;
	int devfn, ret = 200;

	if (id[0]) {
		snprintf(err, API_ERR_LEN,
			 "field 'id': devisor names disks itself (_diskN); "
			 "leave it out");
		return 400;
	}
	if (blk_check(d->path, &bo)) {
		snprintf(err, API_ERR_LEN,
			 "cannot use disk image %s (devisor's log says why)",
			 d->path);
		return 500;
	}
	pthread_mutex_lock(&running.lock);
	idx = api_cfg->nr_disks;
	if (!running.vm || vm_stopping(running.vm)) {
		ret = API_NO_VM(err);
	} else if (idx == CONFIG_MAX_DISKS) {
		snprintf(err, API_ERR_LEN, "at most %d disks",
			 CONFIG_MAX_DISKS);
		ret = 500;
	} else if (!(dc.path = strdup(d->path))) {
		snprintf(err, API_ERR_LEN, "out of memory");
		ret = 500;
	} else {
		devfn = board->add_disk(running.vm, running.board, &dc);
		if (devfn < 0) {
			snprintf(err, API_ERR_LEN, "cannot add disk %s: %s",
				 d->path, strerror(-devfn));
			free((char *)dc.path);
			ret = 500;
		} else {
			dc.addr = devfn;
			api_cfg->disks[idx] = dc;
			__atomic_store_n(&api_cfg->nr_disks, idx + 1,
					 __ATOMIC_RELEASE);
			snprintf(out_id, API_ID_LEN, "_disk%u", idx);
			snprintf(out_bdf, 16, "0000:00:%02x.%x",
				 PCI_SLOT(devfn), PCI_FUNC(devfn));
			if (running.board->hotplug)
				pcihp_plug(running.board->hotplug,
					   PCI_SLOT(devfn));
			pr_info("disk %s added at %s through the API", dc.path,
				out_bdf);
		}
	}
	pthread_mutex_unlock(&running.lock);
	return ret;
}

/*
 * A virtio-net NIC on a tap (NetConfig has no user networking), kept in
 * the vm_config (_netN) and announced by ACPI hotplug.
 */
static int api_add_net(void *opaque, const struct net_options *n,
		       const char *id, char *out_id, char *out_bdf, char *err)
{
	unsigned int idx;
	int devfn, ret = 200;

	if (id[0]) {
		snprintf(err, API_ERR_LEN,
			 "field 'id': devisor names NICs itself (_netN); "
			 "leave it out");
		return 400;
	}
	pthread_mutex_lock(&running.lock);
	idx = api_cfg->nr_nets;
	if (!running.vm || vm_stopping(running.vm) || !running.board->hotplug) {
		ret = API_NO_VM(err);
	} else if (idx == CONFIG_MAX_NETS) {
		snprintf(err, API_ERR_LEN, "at most %d NICs", CONFIG_MAX_NETS);
		ret = 500;
	} else {
		devfn = board->add_net(running.vm, running.board, n);
		if (devfn < 0) {
			snprintf(err, API_ERR_LEN,
				 "cannot add a NIC on tap %s: %s (devisor's "
				 "log says more)",
				 n->ifname, strerror(-devfn));
			ret = 500;
		} else {
			api_cfg->nets[idx] = *n;
			api_cfg->net_addrs[idx] = devfn;
			api_cfg->net_removed[idx] = false;
			__atomic_store_n(&api_cfg->nr_nets, idx + 1,
					 __ATOMIC_RELEASE);
			snprintf(out_id, API_ID_LEN, "_net%u", idx);
			snprintf(out_bdf, 16, "0000:00:%02x.%x",
				 PCI_SLOT(devfn), PCI_FUNC(devfn));
			pcihp_plug(running.board->hotplug, PCI_SLOT(devfn));
			pr_info("NIC on tap %s added at %s through the API",
				n->ifname, out_bdf);
		}
	}
	pthread_mutex_unlock(&running.lock);
	return ret;
}

/*
 * A VFIO function (vm.add-device) at the lowest free slot, kept in the
 * vm_config (_vfioN) like a disk; the guest learns of it through ACPI
 * hotplug. Not behind --iommu vtd (the board says why).
 */
static int api_add_device(void *opaque, const char *path, const char *id,
			  char *out_id, char *out_bdf, char *err)
{
	char msg[API_ERR_LEN - 40];
	unsigned int idx;
	int devfn, group, ret = 200;
	char *copy;

	if (id[0]) {
		snprintf(err, API_ERR_LEN,
			 "field 'id': devisor names devices itself (_vfioN); "
			 "leave it out");
		return 400;
	}
	if (vfio_check_sysfs(path, &group, msg, sizeof(msg))) {
		snprintf(err, API_ERR_LEN, "%s", msg);
		return 400;
	}
	pthread_mutex_lock(&running.lock);
	idx = api_cfg->nr_vfio;
	if (!running.vm || vm_stopping(running.vm) || !running.board->hotplug) {
		ret = API_NO_VM(err);
	} else if (idx == CONFIG_MAX_VFIO) {
		snprintf(err, API_ERR_LEN, "at most %d VFIO devices",
			 CONFIG_MAX_VFIO);
		ret = 500;
	} else if (!(copy = strdup(path))) {
		snprintf(err, API_ERR_LEN, "out of memory");
		ret = 500;
	} else {
		devfn = board->add_vfio(running.vm, running.board, copy, msg,
					sizeof(msg));
		if (devfn < 0) {
			snprintf(err, API_ERR_LEN, "cannot add %s: %s", path,
				 msg);
			free(copy);
			ret = devfn == -EOPNOTSUPP ? 405 : 500;
		} else {
			api_cfg->vfio[idx] =
				(struct vfio_config){ .path = copy,
						      .addr = devfn };
			__atomic_store_n(&api_cfg->nr_vfio, idx + 1,
					 __ATOMIC_RELEASE);
			snprintf(out_id, API_ID_LEN, "_vfio%u", idx);
			snprintf(out_bdf, 16, "0000:00:%02x.%x",
				 PCI_SLOT(devfn), PCI_FUNC(devfn));
			pcihp_plug(running.board->hotplug, PCI_SLOT(devfn));
			pr_info("%s passed through at %s through the API", path,
				out_bdf);
		}
	}
	pthread_mutex_unlock(&running.lock);
	return ret;
}

/* How long vm.remove-device waits for the guest to eject the slot. */
#define EJECT_WAIT_MS 20000
#define EJECT_POLL_MS 50

/*
 * Waits for the guest to eject @slot of the VM @vm. Polls under
 * running.lock, so the board cannot go away meanwhile; 0, -ETIMEDOUT, or
 * -ESHUTDOWN when the VM stopped (or rebooted: a new VM). Returns with
 * running.lock held when 0.
 */
static int wait_eject(struct vm *vm, unsigned int slot)
{
	for (int ms = 0;; ms += EJECT_POLL_MS) {
		pthread_mutex_lock(&running.lock);
		if (running.vm != vm || vm_stopping(vm)) {
			pthread_mutex_unlock(&running.lock);
			return -ESHUTDOWN;
		}
		if (pcihp_take_ejected(running.board->hotplug, slot))
			return 0;
		if (ms >= EJECT_WAIT_MS) {
			pcihp_unplug_cancel(running.board->hotplug, slot);
			pthread_mutex_unlock(&running.lock);
			return -ETIMEDOUT;
		}
		pthread_mutex_unlock(&running.lock);
		usleep(EJECT_POLL_MS * 1000);
	}
}

/*
 * A device added at run time (_diskN, _vfioN) or given on the command
 * line leaves PCI in two steps: ACPI hotplug asks the guest to let go of
 * its slot, and once the guest ejected it (its driver is unbound, its
 * requests are done), the function is freed with the vCPUs paused, so
 * none is inside its registers. This call waits for the eject (at most
 * EJECT_WAIT_MS); the API serves nothing else meanwhile.
 */
static int api_remove_device(void *opaque, const char *id, char *err)
{
	bool *removed = NULL;
	const char *what = NULL;
	unsigned int idx, slot;
	int addr = 0, ret = 204, paused, r;
	struct vm *vm;
	char end;

	if (sscanf(id, "_disk%u%c", &idx, &end) == 1 &&
	    idx < api_cfg->nr_disks && !api_cfg->disks[idx].removed) {
		if (api_cfg->disks[idx].transport != TRANSPORT_PCI) {
			snprintf(err, API_ERR_LEN,
				 "%s is on virtio-mmio, which has no removal",
				 id);
			return 405;
		}
		removed = &api_cfg->disks[idx].removed;
		addr = api_cfg->disks[idx].addr;
		what = api_cfg->disks[idx].path;
	} else if (sscanf(id, "_net%u%c", &idx, &end) == 1 &&
		   idx < api_cfg->nr_nets && !api_cfg->net_removed[idx]) {
		removed = &api_cfg->net_removed[idx];
		addr = api_cfg->net_addrs[idx];
		what = api_cfg->nets[idx].type == NET_TAP ?
			       api_cfg->nets[idx].ifname :
			       "user networking";
	} else if (sscanf(id, "_vfio%u%c", &idx, &end) == 1 &&
		   idx < api_cfg->nr_vfio && !api_cfg->vfio[idx].removed) {
		removed = &api_cfg->vfio[idx].removed;
		addr = api_cfg->vfio[idx].addr;
		what = api_cfg->vfio[idx].path;
	}
	if (!removed) {
		snprintf(err, API_ERR_LEN,
			 "no device '%s' (devisor removes disks, _diskN, NICs, "
			 "_netN, and VFIO devices, _vfioN)",
			 id);
		return 404;
	}
	slot = PCI_SLOT(addr);
	pthread_mutex_lock(&running.lock);
	vm = running.vm;
	if (!vm || vm_stopping(vm) || !running.board->hotplug) {
		pthread_mutex_unlock(&running.lock);
		return API_NO_VM(err);
	}
	if (PCI_FUNC(addr)) {
		pthread_mutex_unlock(&running.lock);
		snprintf(err, API_ERR_LEN,
			 "%s is function %u of its slot: hotplug ejects "
			 "whole slots",
			 id, PCI_FUNC(addr));
		return 405;
	}
	if (!pcihp_guest_listening(running.board->hotplug)) {
		/* No ACPI in the guest: nobody to ask, nor to wait for. */
		pr_warn("%s: the guest does not handle ACPI hotplug; removed "
			"without its eject",
			id);
		r = 0;
	} else {
		pcihp_unplug_request(running.board->hotplug, slot);
		pthread_mutex_unlock(&running.lock);
		r = wait_eject(vm, slot);
	}
	if (r == -ETIMEDOUT) {
		snprintf(err, API_ERR_LEN,
			 "the guest did not eject slot %u within %d s; %s "
			 "stays (Linux: is acpiphp there?)",
			 slot, EJECT_WAIT_MS / 1000, id);
		return 504;
	}
	if (r)
		return API_NO_VM(err);
	/* running.lock is held: the guest let go of the slot. */
	paused = vm_pause(vm);
	if (paused && paused != -EALREADY) {
		ret = API_NO_VM(err);
	} else {
		r = board->remove_pci(vm, running.board, addr);
		if (r) {
			snprintf(err, API_ERR_LEN, "cannot remove %s: %s", id,
				 strerror(-r));
			ret = 500;
		} else {
			*removed = true;
			pr_info("%s (%s) ejected by the guest and removed "
				"through the API",
				id, what);
		}
		if (!paused)
			vm_resume(vm);
	}
	pthread_mutex_unlock(&running.lock);
	return ret;
}

static const struct api_ops vmm_api_ops = {
	.state = api_state,
	.pause = api_pause,
	.resume = api_resume,
	.shutdown = api_shutdown,
	.reboot = api_reboot,
	.power_button = api_power_button,
	.counters = api_counters,
	.add_disk = api_add_disk,
	.add_net = api_add_net,
	.add_device = api_add_device,
	.remove_device = api_remove_device,
};

static int cmd_run(int argc, char **argv)
{
	static struct vm vm;
	struct vm_config cfg;
	const char *api_socket = NULL;
	struct api api = { .ops = &vmm_api_ops, .cfg = &cfg };

	struct api_server *server = NULL;
	pthread_t sigthr;
	sigset_t set;
	int ret;

	stats_mark("main");
	ret = parse_run(argc, argv, &cfg, &api_socket);
	if (ret)
		return ret;
	if (check_inputs(&cfg))
		return 1;
	for (unsigned int i = 0; i < cfg.nr_nets; i++)
		if (net_backend_preload(&cfg.nets[i]))
			return 1;
	stats_mark("options");
	api_cfg = &cfg;
	api_first_disk = cfg.nr_disks;
	api_first_vfio = cfg.nr_vfio;

	/* Before any thread starts: each installs its filter as it does. */
	ret = sandbox_init(seccomp_mode, console_restore);
	if (ret) {
		pr_err("seccomp: cannot set up the sandbox: %s",
		       strerror(-ret));
		return 1;
	}

	/*
	 * Termination signals, and SIGUSR2's state report, go to one thread,
	 * whatever the others do.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A closed console must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&sigthr, NULL, signal_thread, NULL) == 0)
		pthread_detach(sigthr);
	/* The API thread, like every other, leaves the signals to sigthr. */
	if (api_socket) {
		server = api_server_start(api_socket, &api);
		if (!server)
			return 1;
	}

	/*
	 * From here the main thread may do only what building, rebooting and
	 * tearing down VMs needs; the threads it starts inherit that and add
	 * their own filter.
	 */
	sandbox_apply(SANDBOX_MAIN, "main");
	stats_mark("sandbox");

	/*
	 * A reboot is a new VM built from the same options, as Cloud
	 * Hypervisor does: every device, the irqchip and RAM start from
	 * power-on state, and the disks keep what the guest wrote.
	 */
	for (;;) {
		struct timespec t0, t1;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (!boot_once(&vm, &cfg))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		     (t1.tv_nsec - t0.tv_nsec) / 1000000;
		/*
		 * A guest that resets at once (a crash loop) reboots at most
		 * once per REBOOT_MIN_MS rather than building VMs flat out;
		 * a signal still ends the wait.
		 */
		for (; ms < REBOOT_MIN_MS && !stop_signal(); ms += 50)
			usleep(50 * 1000);
		if (stop_signal()) {
			pr_info("stopped by SIG%s between two boots",
				sigabbrev_np(stop_signal()) ?: "?");
			api_server_stop(server);
			api_cfg_free();
			return 128 + stop_signal();
		}
	}
	api_server_stop(server);
	api_cfg_free();
	return vm.exit_status;
}

int main(int argc, char **argv)
{
	/*
	 * One malloc arena for every thread: each thread's own arena costs
	 * resident pages (36 to 90 KiB each in a tiny guest, where they made
	 * a seventh of devisor's memory), and the hot paths allocate little
	 * (slirp's frames, on the one I/O thread).
	 */
	mallopt(M_ARENA_MAX, 1);
	board = arch_board();
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("devisor %s\n", devisor_version);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "remote"))
		return api_remote_main(argc - 1, argv + 1);
	return usage_error("unknown command '%s' (try 'run' or 'remote')",
			   argv[1]);
}
