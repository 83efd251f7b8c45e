// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM ioctls only arm64 makes, for the seccomp filters (kvm/arch.h).
 * Built into sandbox-gen (util/sandbox_gen.c), not into devisor.
 */
#include <linux/kvm.h>

#include "kvm/arch.h"

const unsigned long arch_sandbox_main_ioctls[] = {
	KVM_ARM_PREFERRED_TARGET,
	KVM_ARM_VCPU_INIT,
	KVM_CREATE_DEVICE,
	KVM_SET_DEVICE_ATTR,
	KVM_HAS_DEVICE_ATTR,
	KVM_SET_ONE_REG,
	0,
};

const unsigned long arch_sandbox_vcpu_ioctls[] = {
	KVM_GET_ONE_REG,
	KVM_SET_ONE_REG, /* the virtual counter, after a pause */
	KVM_GET_MP_STATE, /* arch_vcpu_describe() */
	0,
};
