// SPDX-License-Identifier: GPL-2.0
/* vCPU bring-up and the in-kernel GICv3 + ITS (KVM's api.rst, devices/). */
#include "arch/arm64/cpu.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "arch/arm64/layout.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "util/log.h"

#define CORE_REG(r)                                            \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 (offsetof(struct kvm_regs, r) / sizeof(uint32_t)))

int arm64_vcpus_init(struct vm *vm)
{
	struct kvm_vcpu_init init = { 0 };

	if (vm->nr_cpus > ARM64_MAX_CPUS) {
		pr_err("at most %llu vCPUs fit the redistributor region",
		       (unsigned long long)ARM64_MAX_CPUS);
		return -EINVAL;
	}
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		pr_err("KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
		return -errno;
	}
	for (unsigned int i = 0; i < vm->nr_cpus; i++) {
		struct kvm_vcpu_init vi = { .target = init.target };

		vi.features[0] = 1u << KVM_ARM_VCPU_PSCI_0_2;
		if (i)
			vi.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
		if (ioctl(vm->vcpus[i]->fd, KVM_ARM_VCPU_INIT, &vi) < 0) {
			pr_err("KVM_ARM_VCPU_INIT vCPU %u: %s", i,
			       strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int set_reg(struct vcpu *v, uint64_t id, uint64_t val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	if (ioctl(v->fd, KVM_SET_ONE_REG, &reg) < 0) {
		pr_err("KVM_SET_ONE_REG %#llx: %s", (unsigned long long)id,
		       strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * booting.rst: x0 the DTB, x1-x3 zero, MMU and caches off, interrupts
 * masked at EL1 (what KVM_ARM_VCPU_INIT leaves in PSTATE).
 */
int arm64_vcpu_boot(struct vm *vm, uint64_t entry, uint64_t fdt)
{
	struct vcpu *v = vm->vcpus[0];
	int ret = set_reg(v, CORE_REG(regs.regs[0]), fdt);

	for (unsigned int i = 1; !ret && i < 4; i++)
		ret = set_reg(v, CORE_REG(regs.regs[i]), 0);
	if (!ret)
		ret = set_reg(v, CORE_REG(regs.pc), entry);
	return ret;
}

static int set_attr(int fd, uint32_t group, uint64_t attr, const void *val,
		    const char *what)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uintptr_t)val,
	};

	if (ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0) {
		pr_err("%s: %s", what, strerror(errno));
		return -errno;
	}
	return 0;
}

static int create_device(struct vm *vm, uint32_t type, const char *what)
{
	struct kvm_create_device cd = { .type = type };

	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd) < 0) {
		pr_err("KVM_CREATE_DEVICE %s: %s", what, strerror(errno));
		return -errno;
	}
	return (int)cd.fd;
}

int arm64_gic_create(struct vm *vm, int its, int fds[2])
{
	const uint64_t dist = ARM64_GIC_DIST_BASE,
		       redist = ARM64_GIC_REDIST_BASE,
		       its_base = ARM64_GIC_ITS_BASE;
	const uint32_t nr_irqs = 32 + ARM64_NR_SPIS;
	int ret;

	fds[0] = fds[1] = -1;
	ret = create_device(vm, KVM_DEV_TYPE_ARM_VGIC_V3, "GICv3");
	if (ret < 0)
		return ret;
	fds[0] = ret;
	ret = set_attr(fds[0], KVM_DEV_ARM_VGIC_GRP_ADDR,
		       KVM_VGIC_V3_ADDR_TYPE_DIST, &dist,
		       "GICv3 distributor address");
	if (!ret)
		ret = set_attr(fds[0], KVM_DEV_ARM_VGIC_GRP_ADDR,
			       KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist,
			       "GICv3 redistributor address");
	if (!ret)
		ret = set_attr(fds[0], KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0,
			       &nr_irqs, "GICv3 number of interrupts");
	if (ret)
		return ret;
	if (its) {
		ret = create_device(vm, KVM_DEV_TYPE_ARM_VGIC_ITS, "GIC ITS");
		if (ret < 0)
			return ret;
		fds[1] = ret;
		ret = set_attr(fds[1], KVM_DEV_ARM_VGIC_GRP_ADDR,
			       KVM_VGIC_ITS_ADDR_TYPE, &its_base,
			       "ITS address");
		if (ret)
			return ret;
	}
	/* After every vCPU's KVM_ARM_VCPU_INIT: the GIC sizes itself. */
	ret = set_attr(fds[0], KVM_DEV_ARM_VGIC_GRP_CTRL,
		       KVM_DEV_ARM_VGIC_CTRL_INIT, NULL, "GICv3 init");
	if (!ret && fds[1] >= 0)
		ret = set_attr(fds[1], KVM_DEV_ARM_VGIC_GRP_CTRL,
			       KVM_DEV_ARM_VGIC_CTRL_INIT, NULL, "ITS init");
	return ret;
}

void arm64_gic_close(int fds[2])
{
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}
