/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_CONFIG_H
#define DEVISOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/block.h"
#include "backend/net.h"
#include "util/evloop.h"
#include "util/rate_limit.h"
#include "virtio/balloon.h"

/*
 * What the user asked for on the command line, checked and typed. Parsers
 * return 0 or -EINVAL with one precise sentence in @err.
 */
#define CONFIG_MAX_DISKS 16
#define CONFIG_MAX_NETS 8
#define CONFIG_MAX_NVMES 8
#define CONFIG_MAX_VFIO 8

enum virtio_transport_kind { TRANSPORT_PCI, TRANSPORT_MMIO };

/* A PCI device with no addr= gets one from config_plan_pci(). */
#define CONFIG_PCI_AUTO (-1)

/*
 * A device's id as the control API names it (Cloud Hypervisor's): 1 to
 * 31 characters; without one, devisor's own _diskN, _netN or _vfioN.
 */
#define CONFIG_ID_LEN 32

struct disk_config {
	const char *path;
	/* vhost-user=SOCKET: served by an external back-end, no image */
	const char *vhost_user;
	bool readonly;
	bool direct;
	enum blk_engine engine;
	enum virtio_transport_kind transport;
	unsigned int nr_queues; /* 0: config_disk_queues() decides */
	bool packed; /* offer VIRTIO_F_RING_PACKED (QEMU's packed=, default on) */
	/* I/O thread polling, microseconds at most (virtio_dev_set_poll()) */
	unsigned int poll_us;
	unsigned int batch_us; /* or CONFIG_DISK_BATCH_AUTO */
	/*
	 * An I/O thread of its own (iothread=on, as Cloud Hypervisor gives
	 * every device) instead of the board's, which it shares otherwise.
	 */
	bool iothread;
	/* bw_size= ... ops_refill_time= (Cloud Hypervisor's): virtio-blk */
	struct rate_limit_config rate_limit;
	char serial[BLK_SERIAL_LEN + 1];
	int addr; /* devfn on bus 0, or CONFIG_PCI_AUTO */
	unsigned int vfs; /* --nvme: SR-IOV VFs offered, 0..CONFIG_NVME_MAX_VFS */
	bool removed; /* through the API: not built again at a reboot */
	char id[CONFIG_ID_LEN]; /* id=; "": _diskN */
};

/* --disk poll='s default and bound, in microseconds. */
#define CONFIG_DISK_POLL_US 50
#define CONFIG_DISK_POLL_MAX_US 1000
/*
 * --disk batch=: how long a deep queue's kick may wait (virtio.h). Without
 * batch=, CONFIG_DISK_BATCH_US on virtio-mmio, where every interrupt also
 * costs the driver's InterruptACK exit, and off on PCI, where batching
 * measured no gain (docs/virtio.md, "Batching").
 */
#define CONFIG_DISK_BATCH_US 200
#define CONFIG_DISK_BATCH_MAX_US 10000
#define CONFIG_DISK_BATCH_AUTO (~0u)

/* VFs of an NVMe PF live in functions 1-7 of its slot (docs/nvme.md). */
#define CONFIG_NVME_MAX_VFS 7

/* A disk before its options: engine auto, virtio-pci, one queue, no addr=
 * (what --disk, --nvme and the API's add-disk start from). */
struct disk_config config_disk_defaults(void);

/* "path=IMG[,readonly=on][,transport=pci|mmio][,direct=on]
 *  [,engine=auto|io_uring|sync][,queues=N][,packed=on|off][,poll=US]
 *  [,serial=S][,addr=DD.F]"; a bare
 *  IMG works too; or "vhost-user=SOCKET[,transport=pci|mmio][,addr=DD.F]". Points into @spec, which must outlive @out. */
int config_parse_disk(char *spec, struct disk_config *out, char *err,
		      size_t errlen);

/*
 * "path=IMG[,serial=S][,readonly=on][,direct=on][,engine=...][,addr=DD.F]"
 * (a bare IMG too): an NVMe controller over the image. The serial is
 * Identify's SN, 1 to 20 printable ASCII characters. vfs=N (0 to
 * CONFIG_NVME_MAX_VFS) offers N SR-IOV virtual functions, each an NVMe
 * controller over its own slice of the image. Only the back-end fields,
 * addr and vfs of @out are used.
 */
int config_parse_nvme(char *spec, struct disk_config *out, char *err,
		      size_t errlen);

/* --device: a host PCI function bound to vfio-pci, passed through. */
struct vfio_config {
	const char *path; /* /sys/bus/pci/devices/DDDD:BB:DD.F */
	int addr; /* devfn on bus 0, or CONFIG_PCI_AUTO */
	bool no_rom; /* rom=off: the expansion ROM hidden */
	bool removed; /* through the API: not built again at a reboot */
	char id[CONFIG_ID_LEN]; /* id=; "": _vfioN */
};

/*
 * "path=/sys/bus/pci/devices/DDDD:BB:DD.F[,addr=DD.F][,rom=on|off]" (Cloud
 * Hypervisor's --device; a bare path too). Points into @spec.
 */
int config_parse_vfio(char *spec, struct vfio_config *out, char *err,
		      size_t errlen);

/* The back-end options a --disk or --nvme asks for. */
struct blk_options config_blk_options(const struct disk_config *d);

#define CONFIG_DISK_MAX_QUEUES 16
/* batch= in microseconds, the transport's default resolved. */
unsigned int config_disk_batch_us(const struct disk_config *d);
/* A virtio disk's request queues: queues=N, or one per vCPU on PCI. */
unsigned int config_disk_queues(const struct disk_config *d,
				unsigned int nr_cpus);

/*
 * What the guest's firmware tables say about the machine (SMBIOS type 1).
 * Defaults: serial "0", the nil UUID (SMBIOS: "not present").
 */
#define CONFIG_PLATFORM_SERIAL_MAX 64

struct platform_config {
	char serial[CONFIG_PLATFORM_SERIAL_MAX + 1];
	uint8_t uuid[16]; /* in the order it is written */
};

void config_platform_default(struct platform_config *p);

/* "serial=S,uuid=U", either or both, over what @out holds already. */
int config_parse_platform(char *spec, struct platform_config *out, char *err,
			  size_t errlen);

/* 8-4-4-4-12 hexadecimal digits, either case. */
int config_parse_uuid(const char *s, uint8_t out[16]);

/*
 * --cpus: "N", or Cloud Hypervisor's "boot=N,max=M" (either key; boot 1
 * when left out, max N). 1 <= boot <= max <= CONFIG_MAX_CPUS.
 */
int config_parse_cpus(char *spec, unsigned int *boot, unsigned int *max,
		      char *err, size_t errlen);

/* on|off|yes|no|true|false|1|0 */
int config_parse_bool(const char *s, bool *out);

/*
 * "DD.F": a slot of bus 0 (hex, 01-1f; 00 is the host bridge's) and a
 * function 0-7. Gives the devfn.
 */
int config_parse_pci_addr(const char *s, int *devfn, char *err, size_t errlen);

/*
 * A --net spec: net_backend_parse()'s, plus ",addr=DD.F" and, where @id
 * is not NULL (CONFIG_ID_LEN bytes), ",id=ID".
 */
int config_parse_net(const char *spec, struct net_options *out, int *addr,
		     char *id, char *err, size_t errlen);
/* --rng's optional argument: "addr=DD.F" (NULL: none). */
int config_parse_rng(const char *spec, int *addr, char *err, size_t errlen);
/* "serial" or "virtio[,addr=DD.F]". */
int config_parse_console(const char *spec, bool *virtio, int *addr, char *err,
			 size_t errlen);

/*
 * --vsock "cid=N[,socket=PATH][,transport=pci|mmio][,addr=DD.F]": a
 * virtio-vsock device for guest CID N (3 to 2^32-2), served in devisor
 * over UNIX sockets at PATH (docs/vsock.md), or without socket= by the
 * kernel's vhost-vsock. Points into @spec, which must outlive @out.
 */
struct vsock_config {
	bool enabled;
	uint64_t cid;
	const char *socket; /* NULL: vhost-vsock */
	enum virtio_transport_kind transport;
	int addr;
	bool removed; /* through the API: not built again at a reboot */
	char id[CONFIG_ID_LEN]; /* id=; "": _vsock0 */
};

int config_parse_vsock(char *spec, struct vsock_config *out, char *err,
		       size_t errlen);

/*
 * --iommu: none (default), vtd, one Intel VT-d unit (docs/iommu.md), with
 * interrupt remapping unless vtd,intremap=off and caching mode (CAP.CM)
 * with vtd,caching_mode=on or a --device, or virtio, a virtio-iommu PCI
 * function described by an ACPI VIOT table.
 */
enum iommu_kind { IOMMU_NONE, IOMMU_VTD, IOMMU_VIRTIO };

struct iommu_config {
	enum iommu_kind kind;
	bool intremap; /* vtd: interrupt remapping */
	bool caching_mode; /* vtd: CM from boot on, for vm.add-device */
};

int config_parse_iommu(const char *s, struct iommu_config *out, char *err,
		       size_t errlen);

/*
 * --pmem "file=PATH[,discard_writes=on|off]": a virtio-pmem device
 * (virtio/pmem.h) over the file, on PCI. Points into the spec.
 */
#define CONFIG_MAX_PMEMS 4
struct pmem_config {
	const char *path;
	bool discard_writes;
	uint64_t size; /* 0: the file's; else it must be the file's */
	int addr; /* devfn on bus 0, or CONFIG_PCI_AUTO */
	bool removed; /* through the API: not built again at a reboot */
	char id[CONFIG_ID_LEN]; /* id=; "": _pmemN */
};
int config_parse_pmem(char *spec, struct pmem_config *out, char *err,
		      size_t errlen);

/*
 * --balloon "size=SIZE[,deflate_on_oom=on|off][,free_page_reporting=on|off]"
 * (Cloud Hypervisor's): a virtio-balloon device (virtio/balloon.h) on PCI
 * that asks the guest for SIZE at boot (0 allowed).
 */
int config_parse_balloon(char *spec, struct balloon_config *out, char *err,
			 size_t errlen);

/* Everything `devisor run` was asked for: what a board builds a VM from. */
struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	unsigned int nr_cpus; /* the guest's vCPUs: at boot, then vm.resize's */
	/*
	 * vCPUs the VM has room for; those beyond nr_cpus the board offers
	 * through CPU hotplug (vm.resize). config_finish(): at least nr_cpus.
	 */
	unsigned int max_cpus;
	uint64_t ram_size;
	/*
	 * Room to plug more RAM at run time (vm.resize, hw/memhp; any size,
	 * config_finish() makes it whole slots, at most 256 GiB), and how
	 * much of it is plugged: a reboot plugs that much again before the
	 * guest starts.
	 */
	uint64_t hotplug_size, ram_plugged;
	/*
	 * hotplug_method=virtio-mem: the hotplug area is a virtio-mem
	 * device's region instead (virtio/mem.h), of which the guest is asked
	 * to plug @virtio_mem_requested bytes (vm.resize; kept for reboots).
	 */
	bool hotplug_virtio_mem;
	uint64_t virtio_mem_requested;
	/* Guest RAM in a memfd (shared=on, or any vhost-user device). */
	bool ram_shared;
	const char *boot_protocol; /* NULL: pick from the image */

	struct disk_config disks[CONFIG_MAX_DISKS];
	unsigned int nr_disks;
	struct disk_config nvmes[CONFIG_MAX_NVMES]; /* --nvme controllers */
	unsigned int nr_nvmes;
	struct vfio_config vfio[CONFIG_MAX_VFIO]; /* --device */
	struct pmem_config pmems[CONFIG_MAX_PMEMS]; /* --pmem */
	unsigned int nr_pmems;
	unsigned int nr_vfio;
	struct net_options nets[CONFIG_MAX_NETS];
	/* PCI devfns; CONFIG_PCI_AUTO until config_plan_pci() plans them. */
	int net_addrs[CONFIG_MAX_NETS];
	/* Removed through the API: not built again at a reboot. */
	bool net_removed[CONFIG_MAX_NETS];
	char net_ids[CONFIG_MAX_NETS][CONFIG_ID_LEN]; /* "": _netN */
	unsigned int nr_nets;
	bool rng;
	int rng_addr;
	bool virtio_console; /* the terminal is hvc0, not ttyS0 */
	bool serial_null; /* the serial port's output dropped (vm.create) */
	int console_addr;
	struct vsock_config vsock;
	/* --balloon; size follows vm.resize's desired_balloon */
	struct balloon_config balloon;
	int balloon_addr;
	int virtio_mem_addr; /* planned by config_plan_pci() */
	bool exit_on_reset; /* --on-reset exit: a reset ends devisor */
	enum evloop_sched io_sched; /* --io-sched: the device I/O threads' */
	struct platform_config platform;
	struct iommu_config iommu; /* --iommu */
	int iommu_addr; /* --iommu virtio's devfn, planned */
};

#define CONFIG_MAX_CPUS 255
#define CONFIG_RAM_DEFAULT (512ull << 20)
#define CONFIG_RAM_MIN (16ull << 20)

/* Before any option: 1 vCPU, 512 MiB, no devices, PCI addresses planned. */
void config_vm_defaults(struct vm_config *cfg);

/*
 * Guest RAM of @size bytes: at least CONFIG_RAM_MIN, whole 4 KiB pages;
 * the sentence in @err is the caller's to prefix with the size.
 */
int config_check_ram(uint64_t size, char *err, size_t errlen);
/*
 * --memory: "SIZE" or "size=SIZE", then shared=on|off and
 * hotplug_size=SIZE (Cloud Hypervisor's names), into @cfg.
 */
int config_parse_memory(char *spec, struct vm_config *cfg, char *err,
			size_t errlen);

/*
 * After the last option, from the command line or vm.create alike: RAM
 * shared for vhost-user, every PCI device given its devfn
 * (config_plan_pci()), the IOMMU's demands checked, the default kernel
 * command line set.
 */
int config_finish(struct vm_config *cfg, char *err, size_t errlen);

/* An id= for a device: 1-31 letters, digits, '-', '_', '.', no leading '_'. */
int config_check_id(const char *id, char *err, size_t errlen);

enum config_dev_kind {
	CONFIG_DEV_DISK,
	CONFIG_DEV_NET,
	CONFIG_DEV_VFIO,
	CONFIG_DEV_PMEM,
	CONFIG_DEV_VSOCK,
	CONFIG_DEV_KINDS
};

/*
 * The id of device @i of @kind: its own, or _diskN, _netN, _vfioN, _pmemN,
 * _vsock0 in @buf.
 */
const char *config_device_id(const struct vm_config *cfg,
			     enum config_dev_kind kind, unsigned int i,
			     char buf[CONFIG_ID_LEN]);

/* The device @id names, removed ones aside: 0, or -ENOENT. */
int config_find_id(const struct vm_config *cfg, const char *id,
		   enum config_dev_kind *kind, unsigned int *idx);

/*
 * What --iommu vtd or virtio asks of the rest: the IOMMU translates PCI
 * functions only (the DRHD has INCLUDE_PCI_ALL, the VIOT PCI ranges), so a virtio-mmio disk, whose DMA
 * nothing would translate, is refused rather than left as a hole in the
 * guest's DMA protection.
 */
int config_check_iommu(const struct vm_config *cfg, char *err, size_t errlen);

/*
 * Gives every PCI device of @cfg its devfn (docs/pci.md, "Addressing"):
 * explicit addr= first, then the rest, in the order --net, --disk
 * (transport=pci), --nvme, --device, --pmem, --balloon, --rng, --console
 * virtio, --vsock (transport=pci), take the lowest free slot.
 * The sentence in @err names the option at fault.
 */
int config_plan_pci(struct vm_config *cfg, char *err, size_t errlen);

#endif
