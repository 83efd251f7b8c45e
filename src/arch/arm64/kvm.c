// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 side of kvm/arch.h. The GICv3 and its ITS are KVM devices the
 * board makes once the vCPUs exist (gic.c), so nothing is made before
 * them here; RAM starts at 1 GiB, under the MMIO of layout.h.
 */
#include "kvm/arch.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <linux/kvm.h>

#include "arch/arm64/layout.h"
#include "kvm/coredump.h"
#include "kvm/memory.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "util/log.h"

const struct arch_kvm_cap arch_kvm_caps[] = {
	{ KVM_CAP_ARM_PSCI_0_2, "PSCI 0.2" },
	{ KVM_CAP_DEVICE_CTRL, "device control (the in-kernel GIC)" },
	{ KVM_CAP_ONE_REG, "one-register access" },
};
const unsigned int arch_nr_kvm_caps =
	sizeof(arch_kvm_caps) / sizeof(arch_kvm_caps[0]);

const bool arch_rom_reads_coherent = false;

const char arch_pc_name[] = "PC";

int arch_vm_setup(struct vm *vm)
{
	return 0;
}

int arch_ram_map(uint64_t ram_size, struct mem_region *map, unsigned int max)
{
	if (!ram_size || max < 1 || ram_size > ARM64_RAM_MAX)
		return -EINVAL;
	map[0] = (struct mem_region){ .gpa = ARM64_RAM_BASE, .size = ram_size };
	return 1;
}

/*
 * The hotplug area (virtio-mem's region; no ACPI memory hotplug here):
 * right after RAM, 1 GiB aligned, with room above it for the 64-bit PCI
 * window that the board places after it.
 */
uint64_t arch_hotplug_gpa(uint64_t ram_end, uint64_t size)
{
	uint64_t gpa = (ram_end + (1ull << 30) - 1) & ~((1ull << 30) - 1);
	uint64_t room = ARM64_IPA_LIMIT - ARM64_PCI_MMIO64_SIZE - (1ull << 30);

	if (gpa < ram_end || size > room || gpa > room - size)
		return 0;
	return gpa;
}

/* KVM's own: GSI n is SPI n of the GIC (irqchip 0). */
unsigned int arch_irq_default_routes(struct kvm_irq_routing_entry *e)
{
	_Static_assert(ARM64_NR_SPIS <= ARCH_MAX_IRQ_ROUTES, "routes");
	for (unsigned int i = 0; i < ARM64_NR_SPIS; i++)
		e[i] = (struct kvm_irq_routing_entry){
			.gsi = i,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = 0, .pin = i },
		};
	return ARM64_NR_SPIS;
}

/* An SPI: the type in bits 24-27, the INTID (32 + SPI) below. */
uint32_t arch_irq_line(unsigned int gsi)
{
	return KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT | (32 + gsi);
}

/* A 64-bit core register at @off in struct kvm_regs; *@ok false if not. */
static uint64_t core_reg(struct vcpu *v, size_t off, bool *ok)
{
	uint64_t val = 0;
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
		      (off / sizeof(uint32_t)),
		.addr = (uintptr_t)&val,
	};

	*ok = *ok && ioctl(v->fd, KVM_GET_ONE_REG, &reg) == 0;
	return val;
}

uint64_t arch_vcpu_pc(struct vcpu *v)
{
	bool ok = true;
	uint64_t pc = core_reg(v, offsetof(struct kvm_regs, regs.pc), &ok);

	return ok ? pc : 0;
}

const bool arch_has_nmi = false;

int arch_vcpu_nmi(struct vcpu *v)
{
	return -EOPNOTSUPP;
}

void arch_vcpu_describe(struct vcpu *v, char *buf, size_t len)
{
	struct kvm_mp_state mp;
	bool ok = true;
	uint64_t pc = core_reg(v, offsetof(struct kvm_regs, regs.pc), &ok);
	uint64_t pstate =
		core_reg(v, offsetof(struct kvm_regs, regs.pstate), &ok);
	uint64_t sp = core_reg(v, offsetof(struct kvm_regs, sp_el1), &ok);
	int n;

	n = ok ? snprintf(buf, len, "PC %#llx PSTATE %#llx SP_EL1 %#llx",
			  (unsigned long long)pc, (unsigned long long)pstate,
			  (unsigned long long)sp) :
		 snprintf(buf, len, "registers unreadable");
	if (n < 0 || (size_t)n >= len)
		return;
	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0)
		snprintf(buf + n, len - n, "; %s",
			 mp.mp_state == KVM_MP_STATE_STOPPED   ? "stopped" :
			 mp.mp_state == KVM_MP_STATE_SUSPENDED ? "suspended" :
								 "runnable");
}

/*
 * The virtual counter (CNTVCT: the guest's clocksource and timers),
 * through vCPU 0's thread: KVM_REG_ARM_TIMER_CNT is a vCPU register, and
 * setting it moves the offset (CNTVOFF) of every vCPU of the VM.
 */
static ssize_t counter_get(struct vcpu *v, void *arg)
{
	struct kvm_one_reg r = { .id = KVM_REG_ARM_TIMER_CNT,
				 .addr = (uintptr_t)arg };

	return ioctl(v->fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

static ssize_t counter_set(struct vcpu *v, void *arg)
{
	struct kvm_one_reg r = { .id = KVM_REG_ARM_TIMER_CNT,
				 .addr = (uintptr_t)arg };

	return ioctl(v->fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

void arch_clock_save(struct vm *vm)
{
	ssize_t ret;

	vm->clock_saved = false;
	if (vm->vm_fd < 0 || !vm->vcpus || !vm->vcpus[0])
		return;
	ret = vm_vcpu_call(vm, vm->vcpus[0], counter_get, &vm->paused_clock);
	if (ret < 0) {
		pr_warn("reading the virtual counter: %s; the guest's clock "
			"runs on while paused",
			strerror((int)-ret));
		return;
	}
	vm->clock_saved = true;
}

void arch_clock_restore(struct vm *vm)
{
	ssize_t ret;

	if (vm->vm_fd < 0 || !vm->clock_saved)
		return;
	vm->clock_saved = false;
	ret = vm_vcpu_call(vm, vm->vcpus[0], counter_set, &vm->paused_clock);
	if (ret < 0)
		pr_warn("setting the virtual counter: %s; the guest's clock "
			"jumps over the pause",
			strerror((int)-ret));
}

/* vm.coredump ------------------------------------------------------------ */

const uint16_t arch_elf_machine = EM_AARCH64;

/* PSTATE.M of EL1 with SP_EL1 selected: the stack the kernel runs on. */
#define PSR_MODE_EL1H 0x5

ssize_t arch_vcpu_core_notes(struct vcpu *v, void *buf, size_t len)
{
	struct elf_prstatus pr;
	struct user_regs_struct u;
	uint64_t sp_el0, sp_el1;
	bool ok = true;
	size_t n;

	for (unsigned int i = 0; i < 31; i++)
		u.regs[i] = core_reg(
			v, offsetof(struct kvm_regs, regs.regs) + i * 8, &ok);
	sp_el0 = core_reg(v, offsetof(struct kvm_regs, regs.sp), &ok);
	sp_el1 = core_reg(v, offsetof(struct kvm_regs, sp_el1), &ok);
	u.pc = core_reg(v, offsetof(struct kvm_regs, regs.pc), &ok);
	u.pstate = core_reg(v, offsetof(struct kvm_regs, regs.pstate), &ok);
	if (!ok)
		return -EIO;
	/* The SP the vCPU was using, as a debugger wants it. */
	u.sp = (u.pstate & 0xf) == PSR_MODE_EL1H ? sp_el1 : sp_el0;

	memset(&pr, 0, sizeof(pr));
	pr.pr_pid = v->id + 1;
	memcpy(&pr.pr_reg, &u, sizeof(u));
	n = elf_note_put(buf, len, "CORE", NT_PRSTATUS, &pr, sizeof(pr));
	return n ? (ssize_t)n : -ENOSPC;
}
