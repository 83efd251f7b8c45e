// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM ioctls only x86 makes, for the seccomp filters (kvm/arch.h).
 * Built into sandbox-gen (util/sandbox_gen.c), not into devisor.
 */
#include <linux/kvm.h>

#include "kvm/arch.h"

const unsigned long arch_sandbox_main_ioctls[] = {
	KVM_GET_SUPPORTED_CPUID,
	KVM_CREATE_IRQCHIP,
	KVM_ENABLE_CAP, /* KVM_CAP_SPLIT_IRQCHIP (--iommu vtd) */
	KVM_CREATE_PIT2,
	KVM_SET_TSS_ADDR,
	KVM_SET_IDENTITY_MAP_ADDR,
	KVM_SET_CPUID2,
	KVM_SET_FPU,
	KVM_GET_LAPIC,
	KVM_SET_LAPIC,
	KVM_SET_REGS,
	KVM_SET_SREGS,
	0,
};

const unsigned long arch_sandbox_vcpu_ioctls[] = {
	KVM_GET_REGS,
	KVM_GET_SREGS,
	KVM_GET_MP_STATE, /* arch_vcpu_describe() */
	KVM_GET_MSRS, /* arch_vcpu_core_notes() */
	KVM_GET_VCPU_EVENTS,
	KVM_GET_LAPIC,
	KVM_TRANSLATE, /* the code bytes at RIP */
	KVM_NMI, /* arch_vcpu_nmi() */
	0,
};
