/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_X86_MACHINE_H
#define DEVISOR_ARCH_X86_MACHINE_H

#include "arch/x86/layout.h"
#include "backend/console.h"
#include "kvm/vm.h"

struct evloop;
struct pci_host;
struct virtio_mmio;
struct vtd;

/* What main() needs to know of the board after it is built. */
struct machine {
	struct serial *uart;
	struct console_port console; /* where the terminal's input goes */
	struct pci_host *pci;
	struct vtd *vtd; /* --iommu vtd; a device of the VM, which frees it */
	struct evloop *io; /* the I/O thread virtio back-ends run on */
	struct virtio_mmio *mmio[VIRTIO_MMIO_MAX];
	unsigned int nr_mmio;
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
