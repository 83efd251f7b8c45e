/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_X86_MACHINE_H
#define DEVISOR_ARCH_X86_MACHINE_H

#include "kvm/vm.h"

struct pci_host;

/* What main() needs to know of the board after it is built. */
struct machine {
	struct serial *console;
	struct pci_host *pci;
};

/*
 * Builds the PC board on a created VM: legacy devices, ACPI tables, the
 * kernel and initrd in RAM, CPUID and boot registers on every vCPU.
 */
int machine_setup(struct vm *vm, const struct vm_config *cfg,
		  struct machine *m);

/* Frees what machine_setup() allocated; after vm_destroy(). */
void machine_destroy(struct machine *m);

#endif
