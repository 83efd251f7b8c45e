/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_X86_CPU_H
#define DEVISOR_ARCH_X86_CPU_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "arch/x86/boot.h"

struct vcpu;

/* KVM_GET_SUPPORTED_CPUID, grown until it fits. Free with free(). */
struct kvm_cpuid2 *x86_supported_cpuid(int kvm_fd);

#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

/*
 * A vCPU's CPUID from the supported set: APIC id, topology (one package of
 * @nr_cpus cores), hypervisor bit, TSC-deadline timer iff @tsc_deadline
 * (KVM_CAP_TSC_DEADLINE_TIMER), KVM leaves kept, PMU hidden. Pure function
 * of its inputs so tests can check it.
 */
void x86_cpuid_for_vcpu(struct kvm_cpuid2 *cpuid, unsigned int id,
			unsigned int nr_cpus, bool tsc_deadline);

/*
 * From the supported set: the vendor string of leaf 0 ("" if absent) and
 * leaf 1's EAX | EDX << 32, the processor ID that SMBIOS type 4 reports.
 */
void x86_cpu_ident(const struct kvm_cpuid2 *cpuid, char vendor[13],
		   uint64_t *id);

/* CPUID, LAPIC LINT0/1, FPU. */
int x86_vcpu_init(struct vcpu *vcpu, const struct kvm_cpuid2 *supported,
		  unsigned int nr_cpus, bool tsc_deadline);
/* Registers and segments for the boot vCPU per the chosen protocol. */
int x86_vcpu_boot_state(struct vcpu *vcpu, const struct boot_entry *e);

#endif
