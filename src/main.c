// SPDX-License-Identifier: GPL-2.0
/*
 * devisor: command line, signals, and the life of one VM.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "hw/cpuhp.h"
#include "hw/memhp.h"
#include "hw/pcihp.h"
#include "kvm/coredump.h"
#include "kvm/vcpu.h"
#include "pci/pci.h"
#include "kvm/vm.h"
#include "util/file.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/sandbox.h"
#include "util/stats.h"
#include "vfio/vfio.h"
#include "virtio/balloon.h"
#include "virtio/blk.h"
#include "virtio/devices.h"
#include "virtio/mem.h"
#include "virtio/pci.h"
#include "virtio/pmem.h"
#include "virtio/virtio.h"
#include "version.h"

/* The board, and with it the architecture: a PC. */
static const struct board_ops *board;

#define MAX_CPUS CONFIG_MAX_CPUS
#define REBOOT_MIN_MS 1000

static void usage(FILE *f)
{
	fputs("usage: devisor run --kernel PATH [options]\n"
	      "       devisor run --api-socket PATH   (the VM from vm.create)\n"
	      "       devisor remote --api-socket PATH COMMAND [ARG]\n"
	      "       devisor --help | --version\n"
	      "\n"
	      "Boot a Linux kernel (bzImage or ELF vmlinux) in a KVM virtual "
	      "machine.\nThe guest console (COM1, ttyS0) is this terminal; "
	      "Ctrl-A x quits.\n"
	      "\n"
	      "options for run:\n"
	      "  -k, --kernel PATH    kernel: bzImage or ELF vmlinux "
	      "(required\n"
	      "                       without --api-socket)\n"
	      "  -i, --initrd PATH    initial ramdisk\n"
	      "  -c, --cmdline STR    kernel command line "
	      "(default \"console=ttyS0\")\n"
	      "  -p, --cpus N         number of vCPUs, 1-255 (default 1)\n"
	      "      --cpus boot=N,max=M\n"
	      "                       N vCPUs at boot, room for M: the API's "
	      "vm.resize\n"
	      "                       plugs and unplugs the rest (x86, ACPI)\n"
	      "  -m, --memory SIZE    guest RAM, e.g. 512M, 2G; a bare number "
	      "is MiB\n"
	      "                       (default 512M)\n"
	      "      --memory SIZE,hotplug_size=SIZE\n"
	      "                       room for vm.resize to plug more RAM "
	      "(128M steps)\n"
	      "      --memory SIZE,hotplug_method=virtio-mem,hotplug_size=SIZE\n"
	      "                       the same through a virtio-mem device "
	      "(whole 128M):\n"
	      "                       vm.resize grows and shrinks it in 2M "
	      "blocks\n"
	      "      --boot PROTO     auto, linux64 or pvh (default auto: "
	      "linux64)\n"
	      "      --disk SPEC      virtio-blk disk, repeatable: "
	      "path=IMG[,readonly=on]\n"
	      "                       [,transport=pci|mmio][,direct=on]"
	      "[,engine=auto|io_uring|sync]\n"
	      "                       [,queues=N][,packed=on|off][,poll=US]\n"
	      "                       [,batch=US][,serial=S][,addr=DD.F]"
	      "[,id=ID]\n"
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
	      "                       [,id=ID]\n"
	      "                       (bound to vfio-pci; docs/vfio.md)\n"
	      "      --net SPEC       virtio-net, repeatable: "
	      "tap=NAME[,queues=N][,mac=M][,addr=DD.F] or\n"
	      "                       user[,hostfwd=tcp::HPORT-:GPORT]..."
	      "[,mac=M][,addr=DD.F]\n"
	      "                       (10.0.2.15/24, gateway 10.0.2.2 = host "
	      "loopback, DNS 10.0.2.3);\n"
	      "                       fd=N instead of tap=NAME: a tap devisor "
	      "inherited\n"
	      "                       as descriptor N (fds=N:M...: one per "
	      "queue pair of a\n"
	      "                       multi_queue tap); each takes [,id=ID]\n"
	      "      --rng [addr=DD.F]\n"
	      "                       virtio-rng from the host's getrandom()\n"
	      "      --console KIND   serial (ttyS0, default) or "
	      "virtio[,addr=DD.F] (hvc0;\n"
	      "                       default command line becomes "
	      "console=hvc0)\n"
	      "      --vsock SPEC     virtio-vsock: cid=N,socket=PATH"
	      "[,transport=pci|mmio][,addr=DD.F][,id=ID]\n"
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
	      "                       vtd,intremap=off; vtd,caching_mode=on "
	      "for vm.add-device;\n"
	      "                       or virtio: a virtio-iommu PCI function\n"
	      "                       (ACPI VIOT) in front of the others\n"
	      "      --pmem file=PATH[,discard_writes=on][,id=ID]\n"
	      "                       virtio-pmem over the file (a whole number "
	      "of 2M):\n"
	      "                       Linux's /dev/pmemN; up to 4\n"
	      "      --balloon size=SIZE[,deflate_on_oom=on][,free_page_reporting=on]\n"
	      "                       virtio-balloon: the guest gives SIZE of "
	      "its RAM back\n"
	      "                       (vm.resize desired_balloon changes it); "
	      "with free page\n"
	      "                       reporting, its free memory as well\n"
	      "      --platform SPEC  SMBIOS system identity: serial=S,uuid=U "
	      "with UUID\n"
	      "                       as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx "
	      "(default\n"
	      "                       serial \"0\", nil UUID)\n"
	      "      --api-socket PATH\n"
	      "                       serve the control API (Cloud "
	      "Hypervisor's REST API)\n"
	      "                       on a UNIX socket; see 'devisor remote "
	      "--help'. Alone,\n"
	      "                       devisor waits for vm.create and "
	      "vm.boot\n"
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
	OPT_BALLOON,
	OPT_IOMMU,
	OPT_API_SOCKET,
	OPT_DEVICE,
	OPT_SECCOMP,
	OPT_VSOCK,
	OPT_IO_SCHED,
	OPT_PMEM,
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
	{ "pmem", required_argument, NULL, OPT_PMEM },
	{ "net", required_argument, NULL, OPT_NET },
	{ "rng", optional_argument, NULL, OPT_RNG },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "on-reset", required_argument, NULL, OPT_ON_RESET },
	{ "platform", required_argument, NULL, OPT_PLATFORM },
	{ "balloon", required_argument, NULL, OPT_BALLOON },
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

/* Options of devisor itself rather than of its VM. */
static bool vmm_option(int c)
{
	return c == OPT_API_SOCKET || c == OPT_SECCOMP || c == 'v' || c == 'q';
}

static const char *option_name(int c)
{
	static char name[24];

	for (const struct option *o = run_opts; o->name; o++)
		if (o->val == c) {
			snprintf(name, sizeof(name), "--%s", o->name);
			break;
		}
	return name;
}

static int parse_run(int argc, char **argv, struct vm_config *cfg,
		     const char **api_socket)
{
	const char *why, *vm_opts = NULL;
	char err_msg[256];
	int c;

	config_vm_defaults(cfg);
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
			if (config_parse_cpus(optarg, &cfg->nr_cpus,
					      &cfg->max_cpus, err_msg,
					      sizeof(err_msg)))
				return usage_error("--cpus %s", err_msg);
			break;
		case 'm':
			if (config_parse_memory(optarg, cfg, err_msg,
						sizeof(err_msg)))
				return usage_error("--memory %s", err_msg);
			break;
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
					     cfg->net_ids[cfg->nr_nets],
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
		case OPT_PMEM:
			if (cfg->nr_pmems == CONFIG_MAX_PMEMS)
				return usage_error("at most %d --pmem",
						   CONFIG_MAX_PMEMS);
			if (config_parse_pmem(optarg,
					      &cfg->pmems[cfg->nr_pmems],
					      err_msg, sizeof(err_msg)))
				return usage_error("--pmem: %s", err_msg);
			cfg->nr_pmems++;
			break;
		case OPT_BALLOON:
			if (config_parse_balloon(optarg, &cfg->balloon, err_msg,
						 sizeof(err_msg)))
				return usage_error("--balloon: %s", err_msg);
			break;
		case OPT_PLATFORM:
			if (config_parse_platform(optarg, &cfg->platform,
						  err_msg, sizeof(err_msg)))
				return usage_error("--platform: %s", err_msg);
			break;
		case OPT_IOMMU:
			if (config_parse_iommu(optarg, &cfg->iommu, err_msg,
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
		if (!vm_opts && !vmm_option(c))
			vm_opts = option_name(c);
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!cfg->kernel && !*api_socket)
		return usage_error("run needs --kernel PATH, or --api-socket "
				   "PATH to take the VM from vm.create");
	if (!cfg->kernel) {
		/* The VM comes whole from vm.create: no half of it here. */
		if (vm_opts)
			return usage_error("%s needs --kernel (with only "
					   "--api-socket, vm.create gives the "
					   "whole VM)",
					   vm_opts);
		return 0;
	}
	if (config_finish(cfg, err_msg, sizeof(err_msg)))
		return usage_error("%s", err_msg);
	return 0;
}

/*
 * The files named on the command line (or in vm.create) are checked before
 * /dev/kvm is opened, so a typo gets its own message on any host, KVM or
 * not. -1 with the reason in @err, or -2 when blk_check() logged it.
 */
static int check_inputs(const struct vm_config *cfg, char *err, size_t errlen)
{
	int group;

	if (check_file(cfg->kernel, "kernel", err, errlen))
		return -1;
	if (cfg->initrd && check_file(cfg->initrd, "initrd", err, errlen))
		return -1;
	for (unsigned int i = 0; i < cfg->nr_disks + cfg->nr_nvmes; i++) {
		const struct disk_config *d =
			i < cfg->nr_disks ? &cfg->disks[i] :
					    &cfg->nvmes[i - cfg->nr_disks];
		struct blk_options bo = config_blk_options(d);

		if (d->vhost_user)
			continue;
		if (blk_check(d->path, &bo)) {
			snprintf(err, errlen,
				 "disk image %s cannot be used (devisor's log "
				 "says why)",
				 d->path);
			return -2;
		}
	}
	for (unsigned int i = 0; i < cfg->nr_vfio; i++) {
		char msg[256];

		if (vfio_check_sysfs(cfg->vfio[i].path, &group, msg,
				     sizeof(msg))) {
			snprintf(err, errlen, "--device: %s", msg);
			return -1;
		}
	}
	for (unsigned int i = 0; i < cfg->nr_pmems; i++)
		if (!virtio_pmem_check(cfg->pmems[i].path, cfg->pmems[i].size,
				       err, errlen))
			return -1;
	return 0;
}

/* What the main thread is asked to do next, by the API. */
enum vmm_cmd { CMD_NONE, CMD_BOOT, CMD_DELETE, CMD_EXIT };

/*
 * The VM the signal thread stops. Between two boots there is none: a
 * signal then is remembered and ends the next boot at once. The rest is
 * the VM's life as the API sees it (docs/architecture.md, "The control
 * API").
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* any change below */
	struct vm *vm;
	struct board *board;
	int sig;
	bool created; /* the config holds a VM (command line or vm.create) */
	bool cli; /* the command line's: when it ends, devisor ends */
	bool booted; /* from vm.boot (or the start) to the VM's end */
	bool api_stopped; /* ended by vm.shutdown, vm.delete, vmm.shutdown */
	bool exiting; /* the main thread is past its last VM */
	enum vmm_cmd cmd;
	unsigned int boots; /* boots tried; each says how it went: */
	bool boot_failed;
} running = { .lock = PTHREAD_MUTEX_INITIALIZER,
	      .cond = PTHREAD_COND_INITIALIZER };

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
			pthread_cond_broadcast(&running.cond);
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
	/* vm.delete or vmm.shutdown between two boots: no next one. */
	else if (vm && running.api_stopped)
		vm_stop(vm, VM_STOP_POWEROFF, 0, "stopped through the API");
	pthread_mutex_unlock(&running.lock);
}

/* A boot started (or not): what vm.boot waits for. */
static void boot_tried(bool failed)
{
	pthread_mutex_lock(&running.lock);
	running.boots++;
	running.boot_failed = failed;
	pthread_cond_broadcast(&running.cond);
	pthread_mutex_unlock(&running.lock);
}

/* One boot of the VM, from nothing to torn down; returns true to reboot. */
static bool boot_once(struct vm *vm, const struct vm_config *cfg)
{
	struct board *b = NULL;
	bool reboot;

	int err = vm_create(vm, cfg->max_cpus, cfg->ram_size, cfg->hotplug_size,
			    (board->vm_flags ? board->vm_flags(cfg) : 0) |
				    (cfg->ram_shared ? VM_SHARED_RAM : 0));

	/* What vm.resize plugged is the guest's again after a reboot. */
	if (!err && cfg->ram_plugged) {
		err = vm_plug_ram(vm, cfg->ram_plugged);
		if (err)
			pr_err("cannot plug %llu MiB of hotplugged RAM again: %s",
			       (unsigned long long)(cfg->ram_plugged >> 20),
			       strerror(-err));
	}
	stats_mark("vm");
	if (err || board->setup(vm, cfg, &b)) {
		vm->exit_status = 1;
		vm_destroy(vm);
		board->destroy(b);
		boot_tried(true);
		return false;
	}
	stats_mark("board");
	/* The spare vCPUs wait until vm.resize gives them (hw/cpuhp.h). */
	for (unsigned int i = cfg->nr_cpus; i < vm->nr_cpus; i++)
		vm_set_plugged(vm, i, false);
	set_running(vm, b);
	if (console_start(vm, &b->console) < 0) {
		set_running(NULL, NULL);
		vm->exit_status = 1;
		vm_destroy(vm);
		board->destroy(b);
		boot_tried(true);
		return false;
	}
	if (vm_start(vm) == 0) {
		boot_tried(false);
		vm_wait(vm);
	} else {
		boot_tried(true);
	}
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
 * boots there is none: the VM is "Created" and actions get 405; with no
 * VM created at all they get 404. running.lock held.
 */
static int no_vm(char *err)
{
	if (!running.created) {
		snprintf(err, API_ERR_LEN, "no VM: vm.create first");
		return 404;
	}
	snprintf(err, API_ERR_LEN, "%s",
		 running.booted ? "the VM is not running (rebooting)" :
				  "the VM is not booted (vm.boot)");
	return 405;
}

static int no_vm_unlock(char *err)
{
	int ret = no_vm(err);

	pthread_mutex_unlock(&running.lock);
	return ret;
}

static enum api_vm_state api_state(void *opaque)
{
	enum api_vm_state st;

	pthread_mutex_lock(&running.lock);
	st = running.created ? API_VM_CREATED : API_VM_NONE;
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
	if (!running.vm)
		return no_vm_unlock(err);
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
	if (!running.vm || vm_stopping(running.vm))
		return no_vm_unlock(err);
	vm_stop(running.vm, reason, 0, "%s", msg);
	pthread_mutex_unlock(&running.lock);
	return 204;
}

static int api_shutdown(void *opaque, char *err)
{
	pthread_mutex_lock(&running.lock);
	if (!running.vm || vm_stopping(running.vm))
		return no_vm_unlock(err);
	vm_stop(running.vm, VM_STOP_POWEROFF, 0, "shut down through the API");
	running.api_stopped = true;
	/*
	 * A VM of vm.create's is answered for once it is down, so that
	 * vm.boot may follow at once; the command line's ends devisor.
	 */
	while (running.booted && !running.cli && !running.exiting)
		pthread_cond_wait(&running.cond, &running.lock);
	pthread_mutex_unlock(&running.lock);
	return 204;
}

static int api_reboot(void *opaque, char *err)
{
	return api_stop(err, VM_STOP_REBOOT, "reboot through the API");
}

static int api_power_button(void *opaque, char *err)
{
	pthread_mutex_lock(&running.lock);
	if (!running.vm || vm_stopping(running.vm) ||
	    !running.board->power_button)
		return no_vm_unlock(err);
	acpi_pm_power_button(running.board->power_button);
	pthread_mutex_unlock(&running.lock);
	return 204;
}

/*
 * vm.coredump: the paused VM's vCPU notes and RAM as an ELF core file
 * (kvm/coredump.h), as Cloud Hypervisor asks: paused, so that the
 * registers and RAM agree. A file that could not be written whole is
 * removed.
 */
static int api_coredump(void *opaque, const char *path, char *err)
{
	int fd, ret;

	pthread_mutex_lock(&running.lock);
	if (!running.vm || vm_stopping(running.vm))
		return no_vm_unlock(err);
	if (!vm_paused(running.vm)) {
		pthread_mutex_unlock(&running.lock);
		snprintf(err, API_ERR_LEN,
			 "the VM is not paused (vm.pause first)");
		return 405;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = errno;
		pthread_mutex_unlock(&running.lock);
		snprintf(err, API_ERR_LEN, "cannot open %.150s: %s", path,
			 strerror(ret));
		return 500;
	}
	ret = vm_coredump(running.vm, fd, err, API_ERR_LEN);
	pthread_mutex_unlock(&running.lock);
	if (close(fd) && !ret) {
		ret = -errno;
		snprintf(err, API_ERR_LEN, "cannot write %.150s: %s", path,
			 strerror(-ret));
	}
	if (ret) {
		unlink(path);
		return ret == -EBUSY ? 405 : 500;
	}
	pr_info("core of the VM written to %s (vm.coredump)", path);
	return 204;
}

static int api_nmi(void *opaque, char *err)
{
	int ret;

	pthread_mutex_lock(&running.lock);
	if (!running.vm || vm_stopping(running.vm))
		return no_vm_unlock(err);
	ret = vm_inject_nmi(running.vm);
	pthread_mutex_unlock(&running.lock);
	if (ret == -EOPNOTSUPP) {
		snprintf(err, API_ERR_LEN,
			 "no NMI to inject on this architecture");
		return 405;
	}
	if (ret) {
		snprintf(err, API_ERR_LEN, "the VM is stopping");
		return 405;
	}
	return 204;
}

/* What vm.info reports and a reboot builds: run-time disks are added. */
static struct vm_config *api_cfg;
/* The first of them: their paths are copies, freed at exit. */
static unsigned int api_first_disk, api_first_vfio, api_first_pmem;
/* The vsock device's socket path is a copy (vm.create, vm.add-vsock). */
static bool api_vsock_copy;
/* The config came from vm.create: all its strings are copies. */
static bool api_owned;

struct dev_counters {
	struct api_counters *c;
	const char *id;
};

static void dev_counter(void *arg, const char *name, uint64_t value)
{
	struct dev_counters *d = arg;

	api_counter(d->c, d->id, name, value);
}

/*
 * The running device of disk or NIC @idx (not removed), on PCI or on
 * virtio-mmio, or NULL. A vhost-user disk's is a virtio_dev too (which
 * virtio_blk_resize() refuses). running.lock held, running.vm set.
 */
static struct virtio_dev *config_vdev(enum config_dev_kind kind,
				      unsigned int idx)
{
	struct board *b = running.board;

	if (kind == CONFIG_DEV_DISK)
		return api_cfg->disks[idx].transport == TRANSPORT_PCI ?
			       virtio_pci_dev_at(b->pci,
						 api_cfg->disks[idx].addr) :
			       b->mmio_disks[idx];
	return api_cfg->nets[idx].mmio ?
		       b->mmio_nets[idx] :
		       virtio_pci_dev_at(b->pci, api_cfg->net_addrs[idx]);
}

/* A disk's or NIC's counters, by its id; running.lock held. */
static void dev_counters(struct api_counters *c, enum config_dev_kind kind,
			 unsigned int idx)
{
	struct virtio_dev *vdev = config_vdev(kind, idx);
	char id[CONFIG_ID_LEN];
	struct dev_counters d = { c, config_device_id(api_cfg, kind, idx, id) };

	if (vdev)
		virtio_dev_counters(vdev, dev_counter, &d);
}

static void api_counters(void *opaque, struct api_counters *c)
{
	struct virtio_dev *balloon;
	char name[16];

	pthread_mutex_lock(&running.lock);
	for (unsigned int i = 0; running.vm && i < api_cfg->nr_disks; i++)
		if (!api_cfg->disks[i].removed)
			dev_counters(c, CONFIG_DEV_DISK, i);
	for (unsigned int i = 0; running.vm && i < api_cfg->nr_nets; i++)
		if (!api_cfg->net_removed[i])
			dev_counters(c, CONFIG_DEV_NET, i);
	balloon = running.vm ? running.board->balloon : NULL;
	if (balloon) {
		struct dev_counters d = { c, "_balloon" };

		virtio_dev_counters(balloon, dev_counter, &d);
		/* The guest's statistics come as it can: for the next call. */
		virtio_balloon_stats_request(balloon);
	}
	if (running.vm && running.board->virtio_mem) {
		struct dev_counters d = { c, "_virtio_mem" };

		virtio_dev_counters(running.board->virtio_mem, dev_counter, &d);
	}
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

/* A NIC's tap descriptors (fd=, vm.add-net's SCM_RIGHTS) are the config's. */
static void net_close_fd(struct net_options *n)
{
	if (n->type != NET_TAP)
		return;
	for (unsigned int i = 0; i < n->nr_fds; i++)
		close(n->fds[i]);
	n->nr_fds = 0;
}

static void cfg_free_strings(struct vm_config *c)
{
	for (unsigned int i = 0; i < c->nr_nets; i++)
		net_close_fd(&c->nets[i]);
	for (unsigned int i = api_first_disk; i < c->nr_disks; i++)
		free((char *)c->disks[i].path);
	for (unsigned int i = api_first_vfio; i < c->nr_vfio; i++)
		free((char *)c->vfio[i].path);
	for (unsigned int i = api_first_pmem; i < c->nr_pmems; i++)
		free((char *)c->pmems[i].path);
	if (api_vsock_copy)
		free((char *)c->vsock.socket);
	if (api_owned) {
		free((char *)c->kernel);
		free((char *)c->initrd);
		free((char *)c->cmdline);
	}
}

static void api_cfg_free(void)
{
	if (api_cfg)
		cfg_free_strings(api_cfg);
	api_cfg = NULL;
}

/* A copy of *@s that the config owns (none for NULL); false: no memory. */
static bool own(const char **s)
{
	return !*s || (*s = strdup(*s));
}

/* vm.create's @src into @dst with every string copied; running.lock held. */
static int cfg_take(struct vm_config *dst, const struct vm_config *src)
{
	bool ok = true;

	*dst = *src;
	api_owned = true;
	api_first_disk = 0;
	api_first_vfio = 0;
	api_first_pmem = 0;
	api_vsock_copy = true;
	ok &= own(&dst->kernel);
	ok &= own(&dst->initrd);
	ok &= own(&dst->cmdline);
	ok &= own(&dst->vsock.socket);
	for (unsigned int i = 0; i < dst->nr_disks; i++)
		ok &= own(&dst->disks[i].path);
	for (unsigned int i = 0; i < dst->nr_vfio; i++)
		ok &= own(&dst->vfio[i].path);
	for (unsigned int i = 0; i < dst->nr_pmems; i++)
		ok &= own(&dst->pmems[i].path);
	if (ok)
		return 0;
	cfg_free_strings(dst);
	config_vm_defaults(dst);
	return -ENOMEM;
}

static int api_create(void *opaque, struct vm_config *c, char *err)
{
	char msg[API_ERR_LEN];
	int ret = 204;

	if (config_finish(c, msg, sizeof(msg)) ||
	    check_inputs(c, msg, sizeof(msg))) {
		snprintf(err, API_ERR_LEN, "%s", msg);
		return 400;
	}
	pthread_mutex_lock(&running.lock);
	if (running.created) {
		snprintf(err, API_ERR_LEN,
			 "a VM is created already (vm.delete it first)");
		ret = 405;
	} else if (cfg_take(api_cfg, c)) {
		snprintf(err, API_ERR_LEN, "out of memory");
		ret = 500;
	} else {
		running.created = true;
		pr_info("VM created through the API: kernel %s, %u vCPU(s), "
			"%llu MiB",
			api_cfg->kernel, api_cfg->nr_cpus,
			(unsigned long long)(api_cfg->ram_size >> 20));
	}
	pthread_mutex_unlock(&running.lock);
	return ret;
}

/* Answered once the vCPUs run, or with 500 when the VM cannot be built. */
static int api_boot(void *opaque, char *err)
{
	unsigned int boots;
	int ret = 204;

	pthread_mutex_lock(&running.lock);
	if (!running.created)
		return no_vm_unlock(err);
	if (running.booted || running.cmd != CMD_NONE) {
		snprintf(err, API_ERR_LEN, "the VM is booted already");
		pthread_mutex_unlock(&running.lock);
		return 405;
	}
	running.booted = true;
	running.cmd = CMD_BOOT;
	boots = running.boots;
	pthread_cond_broadcast(&running.cond);
	while (running.boots == boots && !running.exiting)
		pthread_cond_wait(&running.cond, &running.lock);
	if (running.boots == boots || running.boot_failed) {
		snprintf(err, API_ERR_LEN,
			 "the VM did not start (devisor's log says why)");
		ret = 500;
	}
	pthread_mutex_unlock(&running.lock);
	return ret;
}

/*
 * Stops the VM, if one runs, for the main thread's @cmd: a stop of the
 * API's, which ends the reboot loop and no more. running.lock held.
 */
static void end_vm_for(enum vmm_cmd cmd, const char *why)
{
	if (running.vm && !vm_stopping(running.vm))
		vm_stop(running.vm, VM_STOP_POWEROFF, 0, "%s", why);
	running.api_stopped = running.booted;
	running.cmd = cmd;
	pthread_cond_broadcast(&running.cond);
}

/* A running VM stops first; deleting nothing is no error (as Cloud Hypervisor). */
static int api_delete(void *opaque, char *err)
{
	pthread_mutex_lock(&running.lock);
	if (running.cmd == CMD_EXIT || running.exiting) {
		snprintf(err, API_ERR_LEN, "devisor is shutting down");
		pthread_mutex_unlock(&running.lock);
		return 405;
	}
	if (running.created)
		end_vm_for(CMD_DELETE, "deleted through the API");
	while (running.created && !running.exiting)
		pthread_cond_wait(&running.cond, &running.lock);
	pthread_mutex_unlock(&running.lock);
	return 204;
}

/* Answered at once; devisor exits after the answer went out. */
static int api_shutdown_vmm(void *opaque, char *err)
{
	pthread_mutex_lock(&running.lock);
	end_vm_for(CMD_EXIT, "VMM shut down through the API");
	pthread_mutex_unlock(&running.lock);
	return 204;
}

/* An id a new device may take: 409 when a device has it; lock held. */
static int id_taken(const char *id, char *err)
{
	enum config_dev_kind kind;
	unsigned int idx;

	if (!id[0] || config_find_id(api_cfg, id, &kind, &idx))
		return 0;
	snprintf(err, API_ERR_LEN, "id '%s' is taken", id);
	return 409;
}

static void fmt_bdf(char *out, int devfn)
{
	snprintf(out, 16, "0000:00:%02x.%x", PCI_SLOT(devfn), PCI_FUNC(devfn));
}

/*
 * A VM created but not booted takes a device into its config, as Cloud
 * Hypervisor does (Kata adds its NICs so), built at vm.boot. Its PCI
 * address is planned now, as vm.create planned the others (they keep
 * theirs), so that vm.counters and vm.remove-device find it: 204, or 500
 * with the sentence in @err.
 */
static int plan_added(char *err)
{
	char msg[API_ERR_LEN];

	if (!config_plan_pci(api_cfg, msg, sizeof(msg)))
		return 204;
	snprintf(err, API_ERR_LEN, "%s", msg);
	return 500;
}

/*
 * What every vm.add-* asks first, running.lock held: a VM to add to (a
 * running one; with @hotplug, only on a board that can tell the guest),
 * or one created and not booted yet (*@preboot: its config takes the
 * device); @id free; fewer than @max @what already (@max 0: no bound).
 * 0, or the status with its sentence in @err.
 */
static int can_add(const char *id, unsigned int nr, unsigned int max,
		   const char *what, bool hotplug, bool *preboot, char *err)
{
	int ret;

	*preboot = running.created && !running.booted;
	if (!*preboot && (!running.vm || vm_stopping(running.vm)))
		return no_vm(err);
	if (!*preboot && hotplug && !running.board->hotplug) {
		snprintf(err, API_ERR_LEN,
			 "this board has no ACPI PCI hotplug to announce new "
			 "%s with: give them at boot",
			 what);
		return 405;
	}
	if ((ret = id_taken(id, err)))
		return ret;
	if (max && nr >= max) {
		snprintf(err, API_ERR_LEN, "at most %u %s", max, what);
		return 500;
	}
	return 0;
}

/*
 * @h into the running VM, announced to the guest by ACPI hotplug where
 * the board has it: the devfn (its address in @out_bdf), or -1 with the
 * 500's sentence, about @what, in @err. running.lock held.
 */
static int plug_virtio(const struct virtio_hotplug *h, const char *what,
		       char *out_bdf, char *err)
{
	int devfn = board->add_virtio(running.vm, running.board, h);

	if (devfn < 0) {
		snprintf(err, API_ERR_LEN,
			 "cannot add %.100s: %.60s (devisor's log says more)",
			 what, strerror(-devfn));
		return -1;
	}
	fmt_bdf(out_bdf, devfn);
	if (running.board->hotplug)
		pcihp_plug(running.board->hotplug, PCI_SLOT(devfn));
	pr_info("%s added at %s through the API", what, out_bdf);
	return devfn;
}

/*
 * One vm.add-* of a virtio device: the request's device, its string
 * copied so that the config can own it, and what the kind does with it.
 * A running VM gets it through ACPI hotplug; one not booted yet keeps it
 * in its config. Either way the config keeps it (what vm.info reports and
 * a reboot builds), its count published last.
 */
struct api_add {
	struct virtio_hotplug hp;
	enum config_dev_kind kind;
	const char *id;
	/* With @max (0: one at most), the config's count is at @nr_off. */
	size_t nr_off;
	unsigned int *nr, idx, max;
	const char *plural;
	bool hotplug; /* a running VM needs the board's ACPI hotplug */
	char what[API_ERR_LEN / 2]; /* the device, for messages */
	/* The device's string the config will own (a copy), or NULL. */
	const char **owned;
	union {
		struct disk_config disk;
		struct net_options net;
		struct pmem_config pmem;
		struct vsock_config vsock;
	};
	/*
	 * All under running.lock. @check (or NULL): what only the config can
	 * refuse, 0 or a status with its sentence in @err. @keep: the device
	 * into the config at a->idx, at @devfn (CONFIG_PCI_AUTO: planned).
	 * @forget (or NULL): what @keep did beyond that slot, undone when the
	 * plan refuses the device.
	 */
	int (*check)(struct api_add *a, char *err);
	void (*keep)(struct api_add *a, int devfn);
	void (*forget)(struct api_add *a);
};

static int api_add_virtio(struct api_add *a, char *out_id, char *out_bdf,
			  char *err)
{
	char idbuf[CONFIG_ID_LEN];
	int devfn = CONFIG_PCI_AUTO, ret;
	bool preboot;

	pthread_mutex_lock(&running.lock);
	a->nr = a->max ? (unsigned int *)((char *)api_cfg + a->nr_off) : NULL;
	a->idx = a->nr ? *a->nr : 0;
	if ((ret = can_add(a->id, a->idx, a->max, a->plural, a->hotplug,
			   &preboot, err)) ||
	    (a->check && (ret = a->check(a, err))))
		goto out;
	if (a->owned && !(*a->owned = strdup(*a->owned))) {
		snprintf(err, API_ERR_LEN, "out of memory");
		ret = 500;
		goto out;
	}
	if (!preboot &&
	    (devfn = plug_virtio(&a->hp, a->what, out_bdf, err)) < 0) {
		ret = 500;
		goto drop;
	}
	a->keep(a, devfn);
	if (a->nr)
		__atomic_store_n(a->nr, a->idx + 1, __ATOMIC_RELEASE);
	if (!preboot) {
		snprintf(out_id, API_ID_LEN, "%s",
			 config_device_id(api_cfg, a->kind, a->idx, idbuf));
		ret = 200;
		goto out;
	}
	if ((ret = plan_added(err)) == 204) {
		pr_info("%s added to the VM's config through the API", a->what);
		goto out;
	}
	/* The device at a->idx was the last: the count goes back. */
	if (a->nr)
		__atomic_store_n(a->nr, a->idx, __ATOMIC_RELEASE);
	if (a->forget)
		a->forget(a);
drop:
	if (a->owned)
		free((char *)*a->owned);
out:
	pthread_mutex_unlock(&running.lock);
	return ret;
}

static void disk_keep(struct api_add *a, int devfn)
{
	a->disk.addr = devfn;
	api_cfg->disks[a->idx] = a->disk;
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
	struct api_add a = {
		.kind = CONFIG_DEV_DISK,
		.id = id,
		.nr_off = offsetof(struct vm_config, nr_disks),
		.max = CONFIG_MAX_DISKS,
		.plural = "disks",
		.disk = *d,
		.keep = disk_keep,
	};

	if (blk_check(d->path, &bo)) {
		snprintf(err, API_ERR_LEN,
			 "cannot use disk image %s (devisor's log says why)",
			 d->path);
		return 500;
	}
	snprintf(a.what, sizeof(a.what), "disk %s", d->path);
	snprintf(a.disk.id, sizeof(a.disk.id), "%s", id);
	a.owned = &a.disk.path;
	a.hp = (struct virtio_hotplug){ .kind = VIRTIO_HP_DISK,
					.disk = &a.disk,
					.devfn = d->addr };
	return api_add_virtio(&a, out_id, out_bdf, err);
}

static void net_keep(struct api_add *a, int devfn)
{
	api_cfg->nets[a->idx] = a->net;
	api_cfg->net_addrs[a->idx] = devfn;
	api_cfg->net_removed[a->idx] = false;
	snprintf(api_cfg->net_ids[a->idx], CONFIG_ID_LEN, "%s", a->id);
}

/*
 * A virtio-net NIC on a tap (NetConfig has no user networking), kept in
 * the vm_config (_netN) and announced by ACPI hotplug.
 */
static int api_add_net(void *opaque, const struct net_options *given,
		       const char *id, char *out_id, char *out_bdf, char *err)
{
	struct api_add a = {
		.kind = CONFIG_DEV_NET,
		.id = id,
		.nr_off = offsetof(struct vm_config, nr_nets),
		.max = CONFIG_MAX_NETS,
		.plural = "NICs",
		.hotplug = true,
		.net = *given,
		.keep = net_keep,
	};
	char msg[200];

	/* The tap is named in messages and vm.info by its name. */
	if (a.net.nr_fds &&
	    net_tap_fds_check(a.net.fds, a.net.nr_fds, true, a.net.ifname, NULL,
			      msg, sizeof(msg))) {
		snprintf(err, API_ERR_LEN, "%s", msg);
		return 400;
	}
	snprintf(a.what, sizeof(a.what), "a NIC on tap %.15s", a.net.ifname);
	a.hp = (struct virtio_hotplug){ .kind = VIRTIO_HP_NET,
					.net = &a.net,
					.devfn = CONFIG_PCI_AUTO };
	return api_add_virtio(&a, out_id, out_bdf, err);
}

static void pmem_keep(struct api_add *a, int devfn)
{
	a->pmem.addr = devfn;
	api_cfg->pmems[a->idx] = a->pmem;
}

/*
 * virtio-pmem over a file (vm.add-pmem), kept in the vm_config (_pmemN);
 * its range goes where the board keeps them, after the PCI windows.
 */
static int api_add_pmem(void *opaque, const struct pmem_config *p,
			const char *id, char *out_id, char *out_bdf, char *err)
{
	struct api_add a = {
		.kind = CONFIG_DEV_PMEM,
		.id = id,
		.nr_off = offsetof(struct vm_config, nr_pmems),
		.max = CONFIG_MAX_PMEMS,
		.plural = "pmem devices",
		.pmem = *p,
		.keep = pmem_keep,
	};
	char msg[API_ERR_LEN];

	if (!virtio_pmem_check(p->path, p->size, msg, sizeof(msg))) {
		snprintf(err, API_ERR_LEN, "%s", msg);
		return 400;
	}
	snprintf(a.what, sizeof(a.what), "pmem %s", p->path);
	snprintf(a.pmem.id, sizeof(a.pmem.id), "%s", id);
	a.pmem.removed = false;
	a.owned = &a.pmem.path;
	a.hp = (struct virtio_hotplug){ .kind = VIRTIO_HP_PMEM,
					.pmem = &a.pmem,
					.devfn = CONFIG_PCI_AUTO };
	return api_add_virtio(&a, out_id, out_bdf, err);
}

/* One vsock device at most: a removed one's place is taken. */
static int vsock_check(struct api_add *a, char *err)
{
	char idbuf[CONFIG_ID_LEN];

	if (!api_cfg->vsock.enabled || api_cfg->vsock.removed)
		return 0;
	snprintf(err, API_ERR_LEN,
		 "the VM has a vsock device (%s): one at most",
		 config_device_id(api_cfg, CONFIG_DEV_VSOCK, 0, idbuf));
	return 409;
}

static void vsock_keep(struct api_add *a, int devfn)
{
	/* The removed device's path, if the API gave it, was ours. */
	if (api_vsock_copy)
		free((char *)api_cfg->vsock.socket);
	api_vsock_copy = true;
	a->vsock.addr = devfn;
	api_cfg->vsock = a->vsock;
}

/* A removed device does not come back: the config forgets it. */
static void vsock_forget(struct api_add *a)
{
	api_cfg->vsock = (struct vsock_config){ 0 };
}

/*
 * The VM's vsock device (vm.add-vsock; Cloud Hypervisor's hybrid vsock:
 * the host side is a Unix socket), when it has none.
 */
static int api_add_vsock(void *opaque, const struct vsock_config *v,
			 const char *id, char *out_id, char *out_bdf, char *err)
{
	struct api_add a = {
		.kind = CONFIG_DEV_VSOCK,
		.id = id,
		.vsock = *v,
		.check = vsock_check,
		.keep = vsock_keep,
		.forget = vsock_forget,
	};

	snprintf(a.what, sizeof(a.what), "vsock cid %llu on %s",
		 (unsigned long long)v->cid, v->socket);
	snprintf(a.vsock.id, sizeof(a.vsock.id), "%s", id);
	a.owned = &a.vsock.socket;
	a.vsock.enabled = true;
	a.vsock.removed = false;
	a.vsock.transport = TRANSPORT_PCI;
	a.hp = (struct virtio_hotplug){ .kind = VIRTIO_HP_VSOCK,
					.vsock = &a.vsock,
					.devfn = CONFIG_PCI_AUTO };
	return api_add_virtio(&a, out_id, out_bdf, err);
}

/*
 * A VFIO function (vm.add-device) at the lowest free slot, kept in the
 * vm_config (_vfioN) like a disk; the guest learns of it through ACPI
 * hotplug. Behind --iommu vtd only with caching mode (the board says
 * why).
 */
static int api_add_device(void *opaque, const char *path, const char *id,
			  char *out_id, char *out_bdf, char *err)
{
	char idbuf[CONFIG_ID_LEN];
	char msg[API_ERR_LEN - 40];
	unsigned int idx;
	int devfn, group, ret = 200;
	char *copy;

	if (vfio_check_sysfs(path, &group, msg, sizeof(msg))) {
		snprintf(err, API_ERR_LEN, "%s", msg);
		return 400;
	}
	pthread_mutex_lock(&running.lock);
	idx = api_cfg->nr_vfio;
	if (!running.vm || vm_stopping(running.vm)) {
		ret = no_vm(err);
	} else if (!running.board->hotplug || !board->add_vfio) {
		snprintf(err, API_ERR_LEN,
			 "this board has no ACPI PCI hotplug to announce a "
			 "function with: pass it with --device at boot");
		ret = 405;
	} else if ((ret = id_taken(id, err))) {
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
			snprintf(api_cfg->vfio[idx].id, CONFIG_ID_LEN, "%s",
				 id);
			__atomic_store_n(&api_cfg->nr_vfio, idx + 1,
					 __ATOMIC_RELEASE);
			ret = 200;
			snprintf(out_id, API_ID_LEN, "%s",
				 config_device_id(api_cfg, CONFIG_DEV_VFIO, idx,
						  idbuf));
			fmt_bdf(out_bdf, devfn);
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
 * Waits for the guest of @vm to do what ACPI hotplug asked of it: @done
 * (under running.lock, with the board) says when, polled every
 * EJECT_POLL_MS for EJECT_WAIT_MS, after which @give_up withdraws the
 * request. 0 or -ETIMEDOUT with running.lock held; -ESHUTDOWN without,
 * when the VM stopped (or rebooted: a new VM), so the board cannot go
 * away meanwhile.
 */
static int wait_guest(struct vm *vm,
		      bool (*done)(struct board *b, unsigned int arg),
		      void (*give_up)(struct board *b, unsigned int arg),
		      unsigned int arg)
{
	for (int ms = 0;; ms += EJECT_POLL_MS) {
		pthread_mutex_lock(&running.lock);
		if (running.vm != vm || vm_stopping(vm)) {
			pthread_mutex_unlock(&running.lock);
			return -ESHUTDOWN;
		}
		if (done(running.board, arg))
			return 0;
		if (ms >= EJECT_WAIT_MS) {
			give_up(running.board, arg);
			return -ETIMEDOUT;
		}
		pthread_mutex_unlock(&running.lock);
		usleep(EJECT_POLL_MS * 1000);
	}
}

static bool slot_ejected(struct board *b, unsigned int slot)
{
	return pcihp_take_ejected(b->hotplug, slot);
}

static void slot_give_up(struct board *b, unsigned int slot)
{
	pcihp_unplug_cancel(b->hotplug, slot);
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
	enum config_dev_kind kind;
	bool *removed = NULL, asked;
	const char *what = NULL;
	unsigned int idx, slot;
	int addr = 0, ret = 204, paused, r;
	struct vm *vm;

	if (config_find_id(api_cfg, id, &kind, &idx)) {
		snprintf(err, API_ERR_LEN,
			 "no device '%s' (devisor removes disks, NICs, VFIO, "
			 "pmem and vsock devices: vm.info lists their ids)",
			 id);
		return 404;
	}
	if (kind == CONFIG_DEV_DISK) {
		if (api_cfg->disks[idx].transport != TRANSPORT_PCI) {
			snprintf(err, API_ERR_LEN,
				 "%s is on virtio-mmio, which has no removal",
				 id);
			return 405;
		}
		removed = &api_cfg->disks[idx].removed;
		addr = api_cfg->disks[idx].addr;
		what = api_cfg->disks[idx].path;
	} else if (kind == CONFIG_DEV_NET) {
		removed = &api_cfg->net_removed[idx];
		addr = api_cfg->net_addrs[idx];
		what = api_cfg->nets[idx].type == NET_TAP ?
			       api_cfg->nets[idx].ifname :
			       "user networking";
	} else if (kind == CONFIG_DEV_VFIO) {
		removed = &api_cfg->vfio[idx].removed;
		addr = api_cfg->vfio[idx].addr;
		what = api_cfg->vfio[idx].path;
	} else if (kind == CONFIG_DEV_PMEM) {
		removed = &api_cfg->pmems[idx].removed;
		addr = api_cfg->pmems[idx].addr;
		what = api_cfg->pmems[idx].path;
	} else {
		if (api_cfg->vsock.transport != TRANSPORT_PCI) {
			snprintf(err, API_ERR_LEN,
				 "%s is on virtio-mmio, which has no removal",
				 id);
			return 405;
		}
		removed = &api_cfg->vsock.removed;
		addr = api_cfg->vsock.addr;
		what = api_cfg->vsock.socket ? api_cfg->vsock.socket :
					       "vhost-vsock";
	}
	slot = PCI_SLOT(addr);
	pthread_mutex_lock(&running.lock);
	vm = running.vm;
	if (!vm || vm_stopping(vm))
		return no_vm_unlock(err);
	if (!running.board->hotplug) {
		pthread_mutex_unlock(&running.lock);
		snprintf(err, API_ERR_LEN,
			 "this board has no ACPI PCI hotplug to ask the guest "
			 "for its eject: %s stays until the VM ends",
			 id);
		return 405;
	}
	if (PCI_FUNC(addr)) {
		pthread_mutex_unlock(&running.lock);
		snprintf(err, API_ERR_LEN,
			 "%s is function %u of its slot: hotplug ejects "
			 "whole slots",
			 id, PCI_FUNC(addr));
		return 405;
	}
	asked = pcihp_guest_listening(running.board->hotplug);
	if (!asked) {
		/* No ACPI in the guest: nobody to ask, nor to wait for. */
		pr_warn("%s: the guest does not handle ACPI hotplug; removed "
			"without its eject",
			id);
		r = 0;
	} else {
		pcihp_unplug_request(running.board->hotplug, slot);
		pthread_mutex_unlock(&running.lock);
		r = wait_guest(vm, slot_ejected, slot_give_up, slot);
	}
	if (r == -ETIMEDOUT) {
		pthread_mutex_unlock(&running.lock);
		snprintf(err, API_ERR_LEN,
			 "the guest did not eject slot %u within %d s; %s "
			 "stays (Linux: is acpiphp there?)",
			 slot, EJECT_WAIT_MS / 1000, id);
		return 504;
	}
	if (r) {
		pthread_mutex_lock(&running.lock);
		return no_vm_unlock(err);
	}
	/* running.lock is held: the guest let go of the slot. */
	paused = vm_pause(vm);
	if (paused && paused != -EALREADY) {
		ret = no_vm(err);
	} else {
		r = board->remove_pci(vm, running.board, addr);
		if (r) {
			snprintf(err, API_ERR_LEN, "cannot remove %s: %s", id,
				 strerror(-r));
			ret = 500;
		} else {
			*removed = true;
			pr_info("%s (%s)%s removed through the API", id, what,
				asked ? " ejected by the guest and" : "");
			if (kind == CONFIG_DEV_NET)
				net_close_fd(&api_cfg->nets[idx]);
		}
		if (!paused)
			vm_resume(vm);
	}
	pthread_mutex_unlock(&running.lock);
	return ret;
}

/*
 * vm.resize-disk: a virtio-blk disk grows, image and capacity; the
 * guest hears of it through a configuration change interrupt. Growing
 * only: a guest's file system does not survive its disk shrinking under
 * it.
 */
static int api_resize_disk(void *opaque, const char *id, uint64_t bytes,
			   char *err)
{
	enum config_dev_kind kind;
	struct virtio_dev *vdev;
	unsigned int idx;
	int ret = 204, r;

	pthread_mutex_lock(&running.lock);
	if (!running.vm || vm_stopping(running.vm)) {
		ret = no_vm(err);
	} else if (config_find_id(api_cfg, id, &kind, &idx) ||
		   kind != CONFIG_DEV_DISK) {
		snprintf(err, API_ERR_LEN,
			 "no disk '%s' (vm.info lists the disks' ids)", id);
		ret = 404;
	} else if (!(vdev = config_vdev(CONFIG_DEV_DISK, idx))) {
		snprintf(err, API_ERR_LEN, "%s has no device to resize", id);
		ret = 405;
	} else if ((r = virtio_blk_resize(vdev, bytes))) {
		snprintf(err, API_ERR_LEN, "cannot resize %s to %llu bytes: %s",
			 id, (unsigned long long)bytes,
			 r == -ENODEV	  ? "a vhost-user disk's image is its "
					    "back-end's" :
			 r == -EOPNOTSUPP ? "its image is a block device" :
			 r == -EINVAL	  ? "devisor grows disks, to a whole "
					    "number of sectors (and of direct "
					    "I/O blocks with direct=on)" :
					    strerror(-r));
		ret = r == -ENODEV || r == -EOPNOTSUPP || r == -EROFS ? 405 :
		      r == -EINVAL				      ? 400 :
									500;
	} else {
		pr_info("disk %s (%s) is now %llu bytes (vm.resize-disk)", id,
			api_cfg->disks[idx].path ? api_cfg->disks[idx].path :
						   "vhost-user",
			(unsigned long long)bytes);
	}
	pthread_mutex_unlock(&running.lock);
	return ret;
}

/* The guest has no more than @want vCPUs: it ejected what it was asked. */
static bool cpus_down_to(struct board *b, unsigned int want)
{
	return cpuhp_nr_present(b->cpu_hotplug) <= want;
}

static void cpus_give_up(struct board *b, unsigned int want)
{
	for (unsigned int i = 0; i < b->cpu_hotplug->nr_cpus; i++)
		cpuhp_unplug_cancel(b->cpu_hotplug, i);
}

/*
 * With hotplug_method=virtio-mem: the guest is asked for desired_ram less
 * the boot RAM from the device's region (whole blocks), less than before
 * too, and plugs or unplugs blocks to get there; kept for later boots.
 */
static int resize_virtio_mem(uint64_t ram, char *err)
{
	uint64_t want;

	if (ram < api_cfg->ram_size ||
	    ram - api_cfg->ram_size > api_cfg->hotplug_size) {
		snprintf(err, API_ERR_LEN,
			 "desired_ram %llu: virtio-mem gives between the boot "
			 "RAM (%llu) and %llu more (hotplug_size)",
			 (unsigned long long)ram,
			 (unsigned long long)api_cfg->ram_size,
			 (unsigned long long)api_cfg->hotplug_size);
		return 400;
	}
	want = (ram - api_cfg->ram_size + VIRTIO_MEM_BLOCK - 1) &
	       ~(VIRTIO_MEM_BLOCK - 1);
	if (running.vm) {
		if (vm_stopping(running.vm) || !running.board->virtio_mem)
			return no_vm(err);
		virtio_mem_set_requested(running.board->virtio_mem, want);
		pr_info("virtio-mem: the guest is asked for %llu MiB (%llu MiB "
			"plugged now)",
			(unsigned long long)(want >> 20),
			(unsigned long long)(virtio_mem_plugged(
						     running.board
							     ->virtio_mem) >>
					     20));
	}
	api_cfg->virtio_mem_requested = want;
	return 204;
}

/*
 * vm.resize's desired_ram: more RAM from the hotplug area through ACPI
 * memory hotplug (hw/memhp), rounded up to whole slots. Less than the VM
 * has is a no-op, as with Cloud Hypervisor's ACPI method: the guest
 * cannot be trusted to have let go of memory (virtio-mem's area goes to
 * resize_virtio_mem()). running.lock held; 204 or an error in @err.
 */
static int resize_ram(uint64_t ram, char *err)
{
	uint64_t have = api_cfg->ram_size + api_cfg->ram_plugged;
	uint64_t room = api_cfg->hotplug_size - api_cfg->ram_plugged;
	uint64_t got;
	int ret;

	if (api_cfg->hotplug_virtio_mem)
		return resize_virtio_mem(ram, err);

	if (!api_cfg->hotplug_size) {
		snprintf(err, API_ERR_LEN,
			 "cannot plug memory: it has no hotplug area (memory "
			 "hotplug_size, --memory SIZE,hotplug_size=SIZE)");
		return 400;
	}
	if (ram <= have) {
		if (ram < have)
			pr_warn("vm.resize: desired_ram %llu MiB is below the "
				"VM's %llu MiB; memory only grows, nothing done",
				(unsigned long long)(ram >> 20),
				(unsigned long long)(have >> 20));
		return 204;
	}
	if (ram - have > room) {
		snprintf(err, API_ERR_LEN,
			 "desired_ram %llu: the VM has %llu bytes and room for "
			 "%llu more (hotplug_size)",
			 (unsigned long long)ram, (unsigned long long)have,
			 (unsigned long long)room);
		return 400;
	}
	got = memhp_round(api_cfg->hotplug_size, ram - have);
	if (running.vm) {
		if (vm_stopping(running.vm) || !running.board->mem_hotplug)
			return no_vm(err);
		ret = memhp_grow(running.board->mem_hotplug, ram - have, &got);
		if (ret) {
			snprintf(err, API_ERR_LEN, "cannot plug %llu MiB: %s",
				 (unsigned long long)((ram - have) >> 20),
				 strerror(-ret));
			return 500;
		}
		pr_info("%llu MiB of RAM plugged through the API (%llu MiB "
			"in all)",
			(unsigned long long)(got >> 20),
			(unsigned long long)((have + got) >> 20));
	}
	/* Not booted: the first boot plugs it. */
	api_cfg->ram_plugged += got;
	return 204;
}

/*
 * The balloon's target, now and for the next boot (its config's size):
 * the guest is asked (a configuration change) and gives pages as it can.
 */
static int api_balloon(void *opaque, uint64_t bytes, char *err)
{
	uint64_t ram;
	int ret = 204;

	pthread_mutex_lock(&running.lock);
	if (!running.created)
		return no_vm_unlock(err);
	ram = api_cfg->ram_size + api_cfg->ram_plugged;
	if (!api_cfg->balloon.enabled) {
		snprintf(err, API_ERR_LEN,
			 "desired_balloon: the VM has no balloon device "
			 "(--balloon, VmConfig balloon)");
		ret = 400;
	} else if (bytes >= ram) {
		snprintf(err, API_ERR_LEN,
			 "desired_balloon %llu is not below the VM's %llu "
			 "bytes of RAM",
			 (unsigned long long)bytes, (unsigned long long)ram);
		ret = 400;
	} else {
		api_cfg->balloon.size = bytes;
		if (running.vm && running.board->balloon)
			virtio_balloon_set_target(running.board->balloon,
						  bytes);
		pr_info("balloon: the guest is asked for %llu MiB",
			(unsigned long long)(bytes >> 20));
	}
	pthread_mutex_unlock(&running.lock);
	return ret;
}

static uint64_t api_balloon_actual(void *opaque)
{
	uint64_t v = 0;

	pthread_mutex_lock(&running.lock);
	if (running.vm && running.board->balloon)
		v = virtio_balloon_actual(running.board->balloon);
	pthread_mutex_unlock(&running.lock);
	return v;
}

/*
 * vm.resize: vCPUs plugged, the lowest absent first (answered once the
 * guest is told: Linux adds them, user space onlines them), or unplugged,
 * the highest first (answered once the guest ejected them, at most
 * EJECT_WAIT_MS). The count is the config's, so a reboot boots that many,
 * as Cloud Hypervisor does.
 */
static int api_resize(void *opaque, unsigned int vcpus, uint64_t ram, char *err)
{
	unsigned int have;
	struct cpuhp *hp;
	struct vm *vm;
	int r;

	pthread_mutex_lock(&running.lock);
	if (!running.created)
		return no_vm_unlock(err);
	if (ram && (api_cfg->hotplug_virtio_mem ||
		    ram != api_cfg->ram_size + api_cfg->ram_plugged)) {
		r = resize_ram(ram, err);
		if (r != 204 || !vcpus) {
			pthread_mutex_unlock(&running.lock);
			return r;
		}
	}
	if (vcpus > api_cfg->max_cpus) {
		snprintf(err, API_ERR_LEN,
			 "desired_vcpus %u is above the VM's max_vcpus %u",
			 vcpus, api_cfg->max_cpus);
		r = 400;
	} else if (!vcpus || vcpus == api_cfg->nr_cpus) {
		r = 204;
	} else if (!running.vm) {
		/* Not booted: the next boot has that many. */
		api_cfg->nr_cpus = vcpus;
		r = 204;
	} else {
		r = 0;
	}
	if (r) {
		pthread_mutex_unlock(&running.lock);
		return r;
	}
	vm = running.vm;
	hp = running.board->cpu_hotplug;
	if (vm_stopping(vm) || !hp)
		return no_vm_unlock(err);
	have = cpuhp_nr_present(hp);
	if (vcpus > have || !cpuhp_guest_listening(hp)) {
		if (vcpus < have)
			pr_warn("the guest does not handle ACPI CPU hotplug; "
				"%u vCPU(s) taken without its eject",
				have - vcpus);
		for (unsigned int i = 0; i < vm->nr_cpus && have < vcpus; i++)
			have += !cpuhp_plug(hp, i);
		for (unsigned int i = vm->nr_cpus; i-- > 1 && have > vcpus;)
			if (cpuhp_present(hp, i)) {
				cpuhp_force_unplug(hp, i);
				have--;
			}
		api_cfg->nr_cpus = have;
		pthread_mutex_unlock(&running.lock);
		pr_info("%u vCPU(s) through the API", have);
		return 204;
	}
	for (unsigned int i = vm->nr_cpus, n = have; i-- > 1 && n > vcpus;)
		if (!cpuhp_unplug_request(hp, i))
			n--;
	pthread_mutex_unlock(&running.lock);
	r = wait_guest(vm, cpus_down_to, cpus_give_up, vcpus);
	if (r == -ESHUTDOWN) {
		pthread_mutex_lock(&running.lock);
		return no_vm_unlock(err);
	}
	/* running.lock is held. */
	have = cpuhp_nr_present(hp);
	api_cfg->nr_cpus = have;
	pthread_mutex_unlock(&running.lock);
	if (r) {
		snprintf(err, API_ERR_LEN,
			 "the guest did not eject the vCPUs asked for within "
			 "%d s; it has %u (Linux: CONFIG_ACPI_HOTPLUG_CPU?)",
			 EJECT_WAIT_MS / 1000, have);
		return 504;
	}
	pr_info("%u vCPU(s) through the API: the guest ejected the rest", have);
	return 204;
}

static const struct api_ops vmm_api_ops = {
	.state = api_state,
	.create = api_create,
	.boot = api_boot,
	.delete_vm = api_delete,
	.shutdown_vmm = api_shutdown_vmm,
	.pause = api_pause,
	.resume = api_resume,
	.shutdown = api_shutdown,
	.reboot = api_reboot,
	.power_button = api_power_button,
	.nmi = api_nmi,
	.coredump = api_coredump,
	.counters = api_counters,
	.add_disk = api_add_disk,
	.add_net = api_add_net,
	.add_pmem = api_add_pmem,
	.add_vsock = api_add_vsock,
	.resize_disk = api_resize_disk,
	.add_device = api_add_device,
	.remove_device = api_remove_device,
	.resize = api_resize,
	.balloon = api_balloon,
	.balloon_actual = api_balloon_actual,
};

/*
 * One VM from its first boot to its end: a reboot is a new VM built from
 * the same options, as Cloud Hypervisor does (every device, the irqchip
 * and RAM start from power-on state; the disks keep what the guest
 * wrote). Returns devisor's exit status; *@started tells whether the
 * first boot got as far as running the vCPUs.
 */
static int run_vm(struct vm *vm, const struct vm_config *cfg, bool *started)
{
	*started = false;
	for (;;) {
		struct timespec t0, t1;
		bool reboot, stop;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		reboot = boot_once(vm, cfg);
		pthread_mutex_lock(&running.lock);
		/* Any boot that ran counts; a failed one ends the loop. */
		*started |= !running.boot_failed;
		stop = running.api_stopped;
		pthread_mutex_unlock(&running.lock);
		if (!reboot || stop)
			return vm->exit_status;
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
			return 128 + stop_signal();
		}
	}
}

/*
 * With only --api-socket, devisor waits for its VM: vm.create gives the
 * config, vm.boot runs it, vm.shutdown ends it and it may boot again,
 * vm.delete forgets it, vmm.shutdown ends devisor. A guest that powers
 * itself off (or crashes) ends devisor, as Cloud Hypervisor does.
 */
static int serve_api_vms(struct vm *vm, struct vm_config *cfg)
{
	for (;;) {
		enum vmm_cmd cmd;
		bool started, stopped;
		int sig, status;

		pthread_mutex_lock(&running.lock);
		while (running.cmd == CMD_NONE && !running.sig)
			pthread_cond_wait(&running.cond, &running.lock);
		cmd = running.cmd;
		sig = running.sig;
		if (cmd != CMD_EXIT)
			running.cmd = CMD_NONE;
		pthread_mutex_unlock(&running.lock);
		if (sig) {
			pr_info("stopped by SIG%s", sigabbrev_np(sig) ?: "?");
			return 128 + sig;
		}
		if (cmd == CMD_EXIT) {
			pr_info("VMM shut down through the API");
			return 0;
		}
		if (cmd == CMD_DELETE) {
			pthread_mutex_lock(&running.lock);
			cfg_free_strings(cfg);
			config_vm_defaults(cfg);
			api_owned = false;
			api_vsock_copy = false;
			running.created = false;
			pthread_cond_broadcast(&running.cond);
			pthread_mutex_unlock(&running.lock);
			pr_info("VM deleted through the API");
			continue;
		}
		status = run_vm(vm, cfg, &started);
		pthread_mutex_lock(&running.lock);
		stopped = running.api_stopped;
		running.api_stopped = false;
		running.booted = false;
		pthread_cond_broadcast(&running.cond);
		pthread_mutex_unlock(&running.lock);
		/* A VM that never ran was answered with 500 and stays. */
		if (started && !stopped)
			return status;
	}
}

static int cmd_run(int argc, char **argv)
{
	static struct vm vm;
	struct vm_config cfg;
	const char *api_socket = NULL;
	struct api api = { .ops = &vmm_api_ops, .cfg = &cfg };
	struct api_server *server = NULL;
	char msg[512];
	pthread_t sigthr;
	sigset_t set;
	bool started;
	int ret;

	stats_mark("main");
	ret = parse_run(argc, argv, &cfg, &api_socket);
	if (ret)
		return ret;
	if (cfg.kernel) {
		ret = check_inputs(&cfg, msg, sizeof(msg));
		if (ret == -1)
			pr_err("%s", msg);
		if (ret)
			return 1;
		for (unsigned int i = 0; i < cfg.nr_nets; i++)
			if (net_backend_preload(&cfg.nets[i]))
				return 1;
		/* The command line's VM, booted now; its end is devisor's. */
		running.created = true;
		running.cli = true;
		running.booted = true;
	}
	stats_mark("options");
	api_cfg = &cfg;
	api_first_disk = cfg.nr_disks;
	api_first_vfio = cfg.nr_vfio;
	api_first_pmem = cfg.nr_pmems;

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

	if (running.cli)
		ret = run_vm(&vm, &cfg, &started);
	else
		ret = serve_api_vms(&vm, &cfg);
	/* Whoever waits on the API's side is answered before it stops. */
	pthread_mutex_lock(&running.lock);
	running.exiting = true;
	running.booted = false;
	running.created = false;
	pthread_cond_broadcast(&running.cond);
	pthread_mutex_unlock(&running.lock);
	api_server_stop(server);
	api_cfg_free();
	return ret;
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
