/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_KVM_VM_H
#define DEVISOR_KVM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/kvm.h>

#include "bus/bus.h"
#include "bus/device.h"
#include "kvm/memory.h"

struct vcpu;
struct kvm_irq_routing;
struct irq_ops;

/* Why the VM stopped; decides devisor's exit status and message. */
enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF, /* ACPI S5: exit 0 */
	VM_STOP_RESET, /* i8042 / reset request: exit 0 */
	VM_STOP_DEBUG_EXIT, /* test guest wrote the debug-exit port */
	VM_STOP_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN */
	VM_STOP_INTERNAL_ERROR, /* KVM_EXIT_INTERNAL_ERROR and friends */
	VM_STOP_SIGNAL, /* SIGTERM/SIGINT or Ctrl-A x */
	VM_STOP_ERROR, /* devisor itself failed */
	VM_STOP_REBOOT, /* asked through the API: reboots whatever --on-reset */
};

struct vm {
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct device *devices;

	unsigned int nr_cpus;
	struct vcpu **vcpus;

	/*
	 * How device interrupt lines reach the guest. vm_create() points it
	 * at KVM_IRQ_LINE; unit tests point it at a recorder.
	 */
	void (*irq_set)(struct vm *vm, unsigned int gsi, int level);
	/* The same for MSI routes, irqfds and KVM_SIGNAL_MSI; NULL: KVM. */
	const struct irq_ops *irq_ops;

	/* GSI routing table as last committed; see kvm/irq.c. */
	pthread_mutex_t irq_lock;
	struct kvm_irq_routing *routing;
	uint64_t gsi_used[4]; /* bitmap of GSIs 0..255 with a route */
	/* What each MSI route's requester asked for, before remapping. */
	struct vm_msi_src *msi_src;
	unsigned int nr_reserved_gsis; /* vm_irq_reserve_gsis() */
	/* The interrupt remapper, or NULL (vm_set_msi_remap()). */
	int (*msi_remap)(void *opaque, int sid, uint64_t *addr, uint32_t *data,
			 bool record);
	void *msi_remap_opaque;
	/*
	 * Each MSI carries its requester id as KVM's device id (an arm64
	 * ITS translates by it): vm_msi_require_devid().
	 */
	bool msi_devid;
	/*
	 * Split irqchip (local APICs in KVM, the IOAPIC in devisor):
	 * arch_vm_setup() reads it, so it is set between vm_init_common()
	 * and arch_vm_setup() (vm_create()'s @flags).
	 */
	bool split_irqchip;
	/* KVM_EXIT_IOAPIC_EOI of split irqchip: the guest EOIed @vector. */
	void (*ioapic_eoi)(struct vm *vm, unsigned int vector);
	/* The userspace IOAPIC behind irq_set and ioapic_eoi, or NULL. */
	void *irqchip;

	/*
	 * KVM memory slots that map device memory (a passed-through BAR)
	 * rather than RAM: slot VM_DEV_SLOT_BASE + i is in use when bit i
	 * is set; under dev_slot_lock.
	 */
	pthread_mutex_t dev_slot_lock;
	uint64_t dev_slots;
	/* KVM slots of RAM plugged at run time (vm_plug_ram()); dev_slot_lock. */
	unsigned int nr_ram_slots;
	/*
	 * Who keeps a map of guest RAM of its own (struct ram_listener), and
	 * the lock that orders their registration with RAM changes.
	 */
	pthread_mutex_t ram_lock;
	struct ram_listener *ram_listeners;

	/*
	 * KVM's coalesced I/O ring (vm_coalesce_pio()): writes KVM queued
	 * instead of exiting, applied by vm_coalesced_flush() before any
	 * exit is handled. NULL when KVM has none; entries the ring holds.
	 */
	struct kvm_coalesced_mmio_ring *coalesced_ring;
	unsigned int coalesced_max;
	pthread_mutex_t coalesced_lock;

	/* CLOCK_MONOTONIC of the first KVM_RUN; the start-up benchmark's end. */
	uint64_t first_run_ns;

	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond; /* stop_reason or pause state changed */
	/*
	 * vm_pause(): vCPUs park outside KVM_RUN while @pause_req is set,
	 * @nr_parked counting them; under stop_lock.
	 */
	bool pause_req;
	unsigned int nr_parked;
	/* The guest's clock when paused (arch_clock_save()); stop_lock. */
	uint64_t paused_clock;
	bool clock_saved;
	enum vm_stop_reason stop_reason;
	int exit_status;
	char stop_message[256];
};

/* Device memory slots start above every RAM region's. */
#define VM_DEV_SLOT_BASE GUEST_MEM_MAX_REGIONS
#define VM_MAX_DEV_SLOTS 64
/* Then one per vm_plug_ram(). */
#define VM_RAM_SLOT_BASE (VM_DEV_SLOT_BASE + VM_MAX_DEV_SLOTS)
#define VM_MAX_RAM_SLOTS 64

/*
 * Maps @size bytes of host memory at @hva (an mmap of a device's BAR) at
 * guest physical @gpa, so guest accesses there never exit. @gpa, @size
 * and @hva must be page aligned. Returns the slot (for
 * vm_unmap_device_memory()) or -errno: -ENOSPC when all slots are used.
 */
int vm_map_device_memory(struct vm *vm, uint64_t gpa, uint64_t size, void *hva);
/*
 * The same for a device's registers that the guest reads far more often
 * than it writes (virtio-mmio's): guest reads come from @hva without an
 * exit, writes exit as MMIO (and match ioeventfds) as if nothing were
 * mapped. -EOPNOTSUPP when KVM lacks read-only slots or the architecture
 * cannot promise the guest sees our writes (arch_rom_reads_coherent).
 * Unmapped with vm_unmap_device_memory().
 */
int vm_map_device_rom(struct vm *vm, uint64_t gpa, uint64_t size, void *hva);
void vm_unmap_device_memory(struct vm *vm, int slot);

/*
 * Gives the guest @bytes more RAM from the hotplug area (guest_mem_grow()):
 * a KVM slot of its own, then devices may DMA to it, those with a map of
 * their own told first (struct ram_listener). Telling the guest is the
 * board's (hw/memhp). 0, -ENOSPC (the area or the slots are used up),
 * -EINVAL (not whole pages), a listener's refusal or KVM's -errno; on
 * failure the guest has nothing more.
 */
int vm_plug_ram(struct vm *vm, uint64_t bytes);

/*
 * What keeps its own map of the guest's RAM for DMA outside devisor's
 * address spaces (VFIO's IOMMU mappings, vhost's memory table) follows
 * the RAM of guest_mem_ranges() through this, as QEMU's MemoryListener.
 * Callbacks run under vm->ram_lock, RAM changes are serialised with
 * them, and they may not take a lock that is held around
 * vm_ram_listen() or vm_plug_ram().
 */
struct ram_listener {
	/*
	 * @r is the guest's now (guest_mem_ranges() has it); NULL: all of
	 * guest_mem_ranges(), the first call, from vm_ram_listen(). -errno
	 * refuses it: a plug fails, a vm_ram_listen() returns it. A refused
	 * NULL call must leave nothing of it behind.
	 */
	int (*add)(struct ram_listener *l, const struct mem_region *r);
	/* @r is gone again (a later listener refused the plug). */
	void (*del)(struct ram_listener *l, const struct mem_region *r);
	/*
	 * Its map pins the pages (VFIO's IOMMU mappings): memory freed
	 * behind it (a balloon) would leave it the old pages.
	 */
	bool pins;
	struct ram_listener *next;
};

/* Registers @l after its add(NULL) succeeds; its -errno otherwise. */
int vm_ram_listen(struct vm *vm, struct ram_listener *l);
void vm_ram_unlisten(struct vm *vm, struct ram_listener *l);
/* Whether a listener pins guest RAM (ram_listener.pins). */
bool vm_ram_pinned(struct vm *vm);
/*
 * Gives the host memory behind [@hva, @hva + @len) of guest RAM back (a
 * hole punched in shared RAM's memfd, MADV_DONTNEED otherwise): the guest
 * reads zeroes there next. 0; -EBUSY, nothing done, while a listener pins
 * RAM (a passed-through device still maps those pages); or -errno.
 */
int vm_discard_ram(struct vm *vm, uint8_t *hva, uint64_t len);

/*
 * A listener that only hears of ranges coming and going and never
 * refuses (an emulated IOMMU telling its devices' spaces): @changed for
 * each range plugged (@added) and each plug undone. Ends with
 * vm_ram_unlisten(@vm, &@w->l).
 */
typedef void ram_changed_fn(void *opaque, uint64_t gpa, uint64_t size,
			    bool added);
struct ram_watch {
	struct ram_listener l;
	ram_changed_fn *changed;
	void *opaque;
};
void vm_ram_watch(struct vm *vm, struct ram_watch *w, ram_changed_fn *changed,
		  void *opaque);

/*
 * Lets KVM queue the guest's writes to ports [@port, @port + @size) in the
 * coalesced ring instead of exiting to us (KVM_CAP_COALESCED_PIO), for a
 * register whose writes have no effect until a later access that exits
 * (PCI's CONFIG_ADDRESS). Returns 0 or -errno (then writes just exit).
 */
int vm_coalesce_pio(struct vm *vm, uint16_t port, uint32_t size);
/* Applies the queued writes, in order, through the buses. Any thread. */
void vm_coalesced_flush(struct vm *vm);

static inline void vm_coalesced_check(struct vm *vm)
{
	struct kvm_coalesced_mmio_ring *r = vm->coalesced_ring;

	if (r && __atomic_load_n(&r->last, __ATOMIC_ACQUIRE) !=
			 __atomic_load_n(&r->first, __ATOMIC_RELAXED))
		vm_coalesced_flush(vm);
}

/* The KVM-free part of vm_create(): buses, locks. Unit tests use it alone. */
void vm_init_common(struct vm *vm);

/* Creates the VM with @ram_size bytes of RAM and @nr_cpus vCPUs (@flags: VM_*). */
#define VM_SPLIT_IRQCHIP 1u /* vm_create() flag: see vm->split_irqchip */
#define VM_SHARED_RAM \
	2u /* vm_create() flag: guest RAM in a memfd (vhost-user) */
int vm_create(struct vm *vm, unsigned int nr_cpus, uint64_t ram_size,
	      uint64_t hotplug_size, unsigned int flags);
void vm_destroy(struct vm *vm);

/* Starts one thread per vCPU; returns once they run. */
int vm_start(struct vm *vm);
/* Blocks until something calls vm_stop, then joins the vCPU threads. */
void vm_wait(struct vm *vm);

/*
 * Ends the VM from any thread (vCPU, I/O, signal handler thread). The
 * first reason wins; later calls are ignored.
 */
void vm_stop(struct vm *vm, enum vm_stop_reason reason, int exit_status,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool vm_stopping(struct vm *vm);

/*
 * Pauses every vCPU outside KVM_RUN (a kick, then a wait until all are
 * parked) or lets them run again; from any thread but a vCPU's. Return 0,
 * -EALREADY (already in that state) or -ESHUTDOWN (the VM is stopping).
 * Devices and their I/O threads keep running; vm_stop() ends a pause.
 */
int vm_pause(struct vm *vm);
/*
 * Has every vCPU log its registers and interrupt state (SIGUSR2), and
 * says which did not answer within a second: those are stuck inside
 * devisor, not in the guest. The caller keeps the VM from being destroyed
 * meanwhile (main.c: under the lock that tears it down).
 */
void vm_dump_vcpus(struct vm *vm);
/*
 * An NMI to every vCPU the guest has (vm.nmi), each queued by its own
 * thread at its next exit; a paused VM takes it when resumed. 0,
 * -EOPNOTSUPP (no NMI on this architecture) or -ESHUTDOWN.
 */
int vm_inject_nmi(struct vm *vm);
int vm_resume(struct vm *vm);
bool vm_paused(struct vm *vm);
/*
 * Where a vCPU thread parks before KVM_RUN: while the VM is paused, or
 * while @v is unplugged (@v NULL: a thread that is always plugged).
 * Parked, it runs what vm_vcpu_call() asks of it.
 */
void vm_pause_point(struct vm *vm, struct vcpu *v);
/*
 * Runs @fn(@v, @arg) on @v's own thread, parked (the VM paused, or @v
 * unplugged): register ioctls belong to a vCPU's thread (and its seccomp
 * filter). Call with stop_lock held. @fn's result, or -EBUSY (@v is not
 * parked), -ESHUTDOWN (the VM is stopping, or @v never ran).
 */
struct vcpu;
ssize_t vm_vcpu_call(struct vm *vm, struct vcpu *v,
		     ssize_t (*fn)(struct vcpu *v, void *arg), void *arg);
/*
 * The ELF core notes of every vCPU the guest has (arch_vcpu_core_notes()),
 * each made by its own parked thread, one after the other into @buf:
 * the bytes, or -EBUSY (the VM is not paused), -ESHUTDOWN (it is
 * stopping), -ENOSPC (@len too small: ARCH_CORE_NOTES_MAX a vCPU) or a
 * vCPU's error.
 */
ssize_t vm_vcpu_core_notes(struct vm *vm, uint8_t *buf, size_t len);
/*
 * Gives the guest vCPU @id or takes it away (CPU hotplug; the board tells
 * the guest). An unplugged vCPU's thread leaves KVM_RUN and parks there,
 * counted as paused. -EINVAL for no such vCPU.
 */
int vm_set_plugged(struct vm *vm, unsigned int id, bool plugged);
unsigned int vm_plugged_vcpus(struct vm *vm);

#endif
