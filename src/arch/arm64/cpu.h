/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_ARM64_CPU_H
#define DEVISOR_ARCH_ARM64_CPU_H

#include <stdint.h>

struct vm;

/*
 * KVM_ARM_VCPU_INIT on every vCPU with the host's preferred target and
 * PSCI 0.2: vCPU 0 runs, the others start powered off until the guest's
 * PSCI CPU_ON. Returns 0 or -errno (logged).
 */
int arm64_vcpus_init(struct vm *vm);

/* vCPU 0 enters the Image at @entry with the DTB's address in x0. */
int arm64_vcpu_boot(struct vm *vm, uint64_t entry, uint64_t fdt);

/*
 * The in-kernel GICv3 at layout.h's addresses, with an ITS unless @its is
 * false, after arm64_vcpus_init(); fills @fds (GIC, ITS or -1) for
 * arm64_gic_close(). Returns 0 or -errno (logged).
 */
int arm64_gic_create(struct vm *vm, int its, int fds[2]);
void arm64_gic_close(int fds[2]);

#endif
