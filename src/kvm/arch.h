/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_KVM_ARCH_H
#define DEVISOR_KVM_ARCH_H

/*
 * What kvm/ asks of the architecture, so that the VM, memory, interrupt
 * and vCPU code stays free of any one instruction set (kvmtool's
 * kvm__arch_* hooks). src/arch/$(ARCH)/ implements them; the Makefile
 * links one architecture in. The board (struct board_ops, board.h) is
 * the architecture's other half.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct kvm_irq_routing_entry;
struct mem_region;
struct vcpu;
struct vm;

/* KVM capabilities the architecture needs, checked before KVM_CREATE_VM. */
struct arch_kvm_cap {
	int cap;
	const char *name; /* for "KVM lacks a required capability: %s" */
};
extern const struct arch_kvm_cap arch_kvm_caps[];
extern const unsigned int arch_nr_kvm_caps;

/*
 * After guest RAM is registered, before the vCPUs: the in-kernel
 * interrupt controller, timers, and whatever else the vCPUs must find
 * (x86: TSS and identity-map pages, PIC/IOAPIC, PIT). Logs and returns
 * -errno.
 */
int arch_vm_setup(struct vm *vm);

/*
 * Where @ram_size bytes of RAM go: fills @map (gpa and size only) in
 * ascending order, around whatever the architecture keeps for MMIO.
 * Returns the number of regions (at most @max) or -EINVAL.
 */
int arch_ram_map(uint64_t ram_size, struct mem_region *map, unsigned int max);
/*
 * Where @size bytes of memory to hotplug go, RAM ending at @ram_end: a
 * guest-physical address, or 0 where the architecture has no such area.
 */
uint64_t arch_hotplug_gpa(uint64_t ram_end, uint64_t size);

/*
 * The GSI routes KVM starts with, which KVM_SET_GSI_ROUTING would
 * otherwise drop: fills @e (room for ARCH_MAX_IRQ_ROUTES) and returns how
 * many. MSI routes take GSIs none of these use.
 */
#define ARCH_MAX_IRQ_ROUTES 64
unsigned int arch_irq_default_routes(struct kvm_irq_routing_entry *e);

/* KVM_IRQ_LINE's irq field for @gsi (x86: the GSI itself). */
uint32_t arch_irq_line(unsigned int gsi);

/*
 * A paused guest's clock stands still, as Cloud Hypervisor does it: the
 * VM's clock (x86 kvmclock, arm64 the virtual counter) is read once every
 * vCPU is parked (arch_clock_save(), into vm->paused_clock) and set back
 * before they run again (arch_clock_restore()); stop_lock held, so a
 * vCPU register goes through vm_vcpu_call(). Without a VM (vm_fd < 0)
 * both do nothing.
 */
void arch_clock_save(struct vm *vm);
void arch_clock_restore(struct vm *vm);

/*
 * Whether the guest's reads of a read-only slot (vm_map_device_rom()) see
 * what we stored there, though the guest maps the window as device memory.
 * x86: yes, the guest's uncached reads snoop our caches. arm64: only with
 * FEAT_S2FWB, which user space cannot see; without it an uncached read
 * may fetch stale memory past our cache, so no.
 */
extern const bool arch_rom_reads_coherent;

/* The vCPU's program counter for messages; 0 when it cannot be read. */
uint64_t arch_vcpu_pc(struct vcpu *vcpu);
/*
 * The vCPU's state in one line for a report of a stuck guest (SIGUSR2):
 * where it runs and what interrupts it has; on the vCPU's own thread.
 */
void arch_vcpu_describe(struct vcpu *vcpu, char *buf, size_t len);
/* Its name in those messages ("RIP"). */
extern const char arch_pc_name[];
/*
 * Whether arch_vcpu_nmi() can inject a non-maskable interrupt (vm.nmi):
 * x86 yes (KVM_NMI); arm64 has no NMI KVM can raise.
 */
extern const bool arch_has_nmi;
/* Queues an NMI for the vCPU; on its own thread, outside KVM_RUN. */
int arch_vcpu_nmi(struct vcpu *vcpu);

/*
 * vm.coredump: the ELF machine (EM_*) of the core file, and one vCPU's
 * notes as complete ELF note records (NT_PRSTATUS with its general
 * registers, and what else a debugger of this architecture reads) into
 * @buf; on the vCPU's own thread, outside KVM_RUN. The bytes, at most
 * ARCH_CORE_NOTES_MAX, or -errno.
 */
#define ARCH_CORE_NOTES_MAX 2048
extern const uint16_t arch_elf_machine;
ssize_t arch_vcpu_core_notes(struct vcpu *vcpu, void *buf, size_t len);

/*
 * The KVM ioctls only this architecture makes, 0-terminated, for the
 * seccomp sandbox (util/sandbox_gen.c, from src/arch/ARCH/sandbox.c):
 * building the VM and its vCPUs on the main thread, and a vCPU thread's
 * own (arch_vcpu_pc(), arch_vcpu_describe()).
 */
extern const unsigned long arch_sandbox_main_ioctls[];
extern const unsigned long arch_sandbox_vcpu_ioctls[];

#endif
