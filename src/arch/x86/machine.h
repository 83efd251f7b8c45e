/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_X86_MACHINE_H
#define DEVISOR_ARCH_X86_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/layout.h"
#include "board.h"
#include "hw/acpi_pm.h"

struct evloop;
struct pci_host;
struct pci_host_config;
struct virtio_mmio;
struct vm;
struct vm_config;
struct vtd;

/* The PC board. */
extern const struct board_ops pc_board;

struct ioapic;

struct machine {
	struct board board; /* main()'s part: the console port */
	struct serial *uart;
	struct pci_host *pci;
	struct vtd *vtd; /* --iommu vtd; a device of the VM, which frees it */
	bool intremap; /* its interrupt remapping is on */
	/* --iommu virtio's model (a device of the VM) and its function. */
	struct viommu *viommu;
	int viommu_devfn;
	/*
	 * Its request queue's thread: Linux waits for each MAP and UNMAP
	 * spinning, which must not queue behind the disks' and NICs' work.
	 */
	struct evloop *iommu_io;
	struct ioapic *ioapic; /* split irqchip's; a device of the VM */
	struct evloop *io; /* the I/O thread virtio back-ends run on */
	struct virtio_mmio *mmio[VIRTIO_MMIO_MAX];
	unsigned int nr_mmio;
	uint8_t rcr; /* 0xCF9 */
	/* The hotplug blocks' events: GPEs 1 (PCI), 2 (CPU), 3 (memory). */
	struct acpi_gpe_line pcihp_gpe, cpuhp_gpe, memhp_gpe;
};

/* The PC's host bridge: IDs, windows and INTx GSIs (layout.h). */
void pc_pci_host_config(struct pci_host_config *cfg);

/*
 * The parts of pc_board's setup that need no KVM, for tests: every
 * device @cfg asks for, then the ACPI tables in RAM, which the devices
 * made so far describe themselves in. machine_destroy() after
 * vm_destroy() frees what they made.
 */
int machine_create_devices(struct vm *vm, const struct vm_config *cfg,
			   struct machine *m);
int machine_install_acpi(struct vm *vm, struct machine *m, uint64_t *rsdp);
void machine_destroy(struct machine *m);

#endif
