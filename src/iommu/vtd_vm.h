/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_IOMMU_VTD_VM_H
#define DEVISOR_IOMMU_VTD_VM_H

/*
 * A VT-d unit in a VM (--iommu vtd; docs/iommu.md, "Wiring"): the model of
 * vtd.h with its 4 KiB register page on the VM's MMIO bus, its fault and
 * invalidation completion events sent as MSIs through the VM's irq_ops
 * (KVM_SIGNAL_MSI; the same path an MSI vector group falls back to), reset
 * and destroyed with the VM's devices, a DMA space for each PCI function,
 * and the DMAR ACPI table that tells the guest where the unit is.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dma_space;
struct vm;
struct vtd;

/*
 * Creates the unit and puts its register page (VTD_REG_SIZE bytes,
 * iommu/vtd_regs.h) at @base on @vm's MMIO bus. It is a device of @vm:
 * create it before the PCI host, so it is destroyed after the functions
 * whose DMA goes through it. NULL on error (logged).
 */
struct vtd *vtd_vm_create(struct vm *vm, uint64_t base);

/*
 * Interrupt remapping on @vtd: ECAP.IR/EIM, and @vm's MSI routes and
 * KVM_SIGNAL_MSI go through the unit's IRTEs from now on (kvm/irq.h
 * vm_set_msi_remap()), recomputed when the guest invalidates its
 * interrupt entry cache or replaces the table. Before the guest runs.
 */
void vtd_vm_set_intremap(struct vm *vm, struct vtd *vtd);

/* pci_host_config.dma_init for functions behind @vtd (a struct vtd *). */
int vtd_vm_pci_dma_init(void *vtd, struct dma_space *as, uint16_t sid);

/* What the DMAR table says about the one unit. */
struct vtd_dmar_config {
	uint64_t reg_base; /* register page */
	uint16_t segment; /* the PCI segment it covers, all of it */
	uint8_t ioapic_id; /* the I/O APIC's id (MADT) */
	/* The I/O APIC's requester id: its device scope's bus and path. */
	uint8_t ioapic_bus, ioapic_devfn;
	bool intremap; /* INTR_REMAP in the flags */
};

/* Host address width (DMAR field: width - 1), as CAP.MGAW and the walk. */
#define VTD_DMAR_HAW 48

/*
 * The DMAR table's body, everything after the standard 36-byte header
 * (acpi_extra_table): host address width, flags (INTR_REMAP with
 * @c->intremap; never X2APIC_OPT_OUT), and one DRHD with INCLUDE_PCI_ALL for
 * @c->segment whose device scope names the I/O APIC. Returns its length,
 * or 0 if @size is too small.
 */
size_t vtd_dmar_build(void *body, size_t size, const struct vtd_dmar_config *c);

/* DMAR layout (VT-d specification, chapter 8), little-endian. */
struct vtd_dmar_head {
	uint8_t haw; /* host address width - 1 */
	uint8_t flags;
	uint8_t reserved[10];
} __attribute__((packed));

#define VTD_DMAR_F_INTR_REMAP 0x1
#define VTD_DMAR_F_X2APIC_OPT_OUT 0x2
#define VTD_DMAR_F_DMA_CTRL_OPT_IN 0x4

struct vtd_dmar_drhd {
	uint16_t type; /* 0: DMA remapping hardware unit definition */
	uint16_t length; /* with the device scopes */
	uint8_t flags;
	uint8_t size; /* register set size: 2^size pages; 0: 4 KiB */
	uint16_t segment;
	uint64_t base;
} __attribute__((packed));

#define VTD_DMAR_TYPE_DRHD 0
#define VTD_DRHD_F_INCLUDE_PCI_ALL 0x1

/* A device scope with one path entry (device, function). */
struct vtd_dmar_scope {
	uint8_t type;
	uint8_t length; /* 6 + 2 per path entry */
	uint16_t reserved;
	uint8_t enumeration_id;
	uint8_t start_bus;
	uint8_t dev, fn;
} __attribute__((packed));

#define VTD_SCOPE_PCI_ENDPOINT 1
#define VTD_SCOPE_PCI_SUBHIERARCHY 2
#define VTD_SCOPE_IOAPIC 3
#define VTD_SCOPE_HPET 4

#endif
