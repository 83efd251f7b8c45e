// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/cpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/layout.h"
#include "kvm/vcpu.h"
#include "util/log.h"

struct kvm_cpuid2 *x86_supported_cpuid(int kvm_fd)
{
	for (unsigned int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c =
			calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG) {
			pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
			return NULL;
		}
	}
	return NULL;
}

static unsigned int order_base_2(unsigned int n)
{
	unsigned int s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

void x86_cpuid_for_vcpu(struct kvm_cpuid2 *cpuid, unsigned int id,
			unsigned int nr_cpus, bool tsc_deadline)
{
	unsigned int core_bits = order_base_2(nr_cpus);

	for (unsigned int i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			/* APIC id, logical count; HTT says "count valid". */
			e->ebx = (e->ebx & 0x0000ffff) | (id << 24) |
				 ((nr_cpus & 0xff) << 16);
			if (nr_cpus > 1)
				e->edx |= 1u << 28;
			else
				e->edx &= ~(1u << 28);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			/*
			 * KVM's local APIC (in the kernel in both irqchip
			 * modes) has x2APIC mode; Linux uses VT-d's EIM
			 * only if the CPU offers it ("Enabled IRQ remapping
			 * in x2apic mode"). KVM lists it; say so anyway.
			 */
			e->ecx |= CPUID_1_ECX_X2APIC;
			/*
			 * KVM_GET_SUPPORTED_CPUID leaves this out: the LAPIC
			 * emulates it. Without it Linux calibrates the LAPIC
			 * timer against PIT ticks, which a busy or nested host
			 * makes fail ("APIC timer disabled").
			 */
			if (tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			else
				e->ecx &= ~CPUID_1_ECX_TSC_DEADLINE;
			break;
		case 4:
			/* Intel: cores sharing the package. */
			e->eax = (e->eax & 0x03ffffff) |
				 (((1u << core_bits) - 1) << 26);
			break;
		case 0xa:
			/* No virtual PMU: nothing to leak, nothing to trap. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			/* One thread per core, all cores in one package. */
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = core_bits;
				e->ebx = nr_cpus;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000008:
			/* AMD: core count and APIC id width. */
			e->ecx = (e->ecx & ~0xf0ffu) | (core_bits << 12) |
				 ((nr_cpus - 1) & 0xff);
			break;
		}
	}
}

void x86_cpu_ident(const struct kvm_cpuid2 *cpuid, char vendor[13],
		   uint64_t *id)
{
	vendor[0] = '\0';
	*id = 0;
	for (unsigned int i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 0) {
			memcpy(vendor, &e->ebx, 4);
			memcpy(vendor + 4, &e->edx, 4);
			memcpy(vendor + 8, &e->ecx, 4);
			vendor[12] = '\0';
		} else if (e->function == 1) {
			*id = e->eax | (uint64_t)e->edx << 32;
		}
	}
}

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_EXTINT 0x7
#define APIC_MODE_NMI 0x4

static void lapic_set_lvt(struct kvm_lapic_state *l, unsigned int reg,
			  unsigned int mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, 4);
}

int x86_vcpu_init(struct vcpu *vcpu, const struct kvm_cpuid2 *supported,
		  unsigned int nr_cpus, bool tsc_deadline)
{
	size_t sz = sizeof(*supported) +
		    supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	struct kvm_lapic_state lapic;
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	int ret = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, supported, sz);
	x86_cpuid_for_vcpu(c, vcpu->id, nr_cpus, tsc_deadline);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
		ret = -errno;
		pr_err("KVM_SET_CPUID2 on vCPU %u: %s", vcpu->id,
		       strerror(errno));
		goto out;
	}
	/* As on a PC: LINT0 takes the 8259's ExtINT, LINT1 takes NMI. */
	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) == 0) {
		lapic_set_lvt(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
		lapic_set_lvt(&lapic, APIC_LVT1, APIC_MODE_NMI);
		if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
			pr_warn("KVM_SET_LAPIC on vCPU %u: %s", vcpu->id,
				strerror(errno));
	}
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0) {
		ret = -errno;
		pr_err("KVM_SET_FPU on vCPU %u: %s", vcpu->id, strerror(errno));
	}
out:
	free(c);
	return ret;
}

static struct kvm_segment flat_seg(uint16_t sel, uint8_t type, bool code64,
				   bool db)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = db,
		.s = 1,
		.l = code64,
		.g = 1,
	};
}

int x86_vcpu_boot_state(struct vcpu *vcpu, const struct boot_entry *e)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 0x2 };

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
		pr_err("KVM_GET_SREGS: %s", strerror(errno));
		return -errno;
	}
	/* A busy TSS so VM entry checks pass; the kernel loads its own. */
	sregs.tr = (struct kvm_segment){
		.limit = 0x67, .type = 11, .present = 1, .g = 0
	};
	sregs.ldt = (struct kvm_segment){
		.type = 2, .present = 1, .unusable = 0, .limit = 0xffff
	};

	if (e->protocol == BOOT_PVH) {
		/* PVH: 32-bit flat protected mode, paging off, EBX = info. */
		sregs.cs = flat_seg(0x10, 0xb, false, true);
		sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
			flat_seg(0x18, 0x3, false, true);
		sregs.cr0 = 0x11; /* PE, ET */
		sregs.cr4 = 0;
		sregs.efer = 0;
		regs.rip = e->entry;
		regs.rbx = e->boot_info;
	} else {
		sregs.gdt.base = BOOT_GDT_ADDR;
		sregs.gdt.limit = 4 * 8 - 1;
		sregs.idt.base = 0;
		sregs.idt.limit = 0;
		sregs.cs = flat_seg(0x10, 0xb, true, false);
		sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
			flat_seg(0x18, 0x3, false, true);
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 = 1u << 5; /* PAE */
		sregs.cr0 = 0x80000011; /* PG, ET, PE */
		sregs.efer = (1u << 8) | (1u << 10); /* LME, LMA */
		regs.rip = e->entry;
		regs.rsi = e->boot_info;
		regs.rsp = BOOT_STACK_TOP;
		regs.rbp = BOOT_STACK_TOP;
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0) {
		pr_err("KVM_SET_SREGS: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0) {
		pr_err("KVM_SET_REGS: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
