/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_BOARD_H
#define DEVISOR_BOARD_H

/*
 * A board: the machine a VM is built as from a vm_config, with its
 * devices, firmware tables, the kernel in RAM and the vCPUs' first state.
 * Each architecture has its own (src/arch/<arch>/, with the kvm/arch.h
 * hooks) and main.c picks one. Only what main() needs is shared here.
 */
#include "backend/console.h"
#include "config.h"

struct vm;
struct vm_config;
struct virtio_hotplug;
struct acpi_pm;
struct pcihp;
struct cpuhp;
struct memhp;
struct virtio_dev;
struct pci_host;

struct board {
	struct console_port console; /* where the terminal's input goes */
	/* The ACPI fixed-feature power button (API vm.power-button). */
	struct acpi_pm *power_button;
	/* ACPI PCI hotplug of bus 0 (hw/pcihp.h); NULL: none. */
	struct pcihp *hotplug;
	/*
	 * ACPI CPU hotplug (hw/cpuhp.h) of the vCPUs beyond the config's
	 * nr_cpus, up to max_cpus; NULL: none (no spare vCPUs).
	 */
	struct cpuhp *cpu_hotplug;
	/* ACPI memory hotplug (hw/memhp.h); NULL: no hotplug area. */
	struct memhp *mem_hotplug;
	/* virtio-balloon (--balloon, virtio/balloon.h); NULL: none. */
	struct virtio_dev *balloon;
	/* virtio-mem (hotplug_method=virtio-mem, virtio/mem.h); NULL: none. */
	struct virtio_dev *virtio_mem;
	/* PCI bus 0, where vm.counters finds a device by its devfn. */
	struct pci_host *pci;
	/*
	 * The virtio-mmio disks and NICs, by their index in the config
	 * (NULL: none, or on PCI), for vm.counters and vm.resize-disk: a
	 * virtio-mmio device lives as long as the board (no removal).
	 */
	struct virtio_dev *mmio_disks[CONFIG_MAX_DISKS];
	struct virtio_dev *mmio_nets[CONFIG_MAX_NETS];
};

struct board_ops {
	/* vm_create()'s flags for @cfg (VM_SPLIT_IRQCHIP); NULL: none. */
	unsigned int (*vm_flags)(const struct vm_config *cfg);
	/*
	 * Builds the board on a VM from vm_create(). *@out is set once
	 * there is anything to free, failure or not.
	 */
	int (*setup)(struct vm *vm, const struct vm_config *cfg,
		     struct board **out);
	/* After vm_destroy(): frees what setup() made. Takes NULL. */
	void (*destroy)(struct board *b);
	/*
	 * A virtio device on PCI while the VM runs (the API's vm.add-disk,
	 * -net, -pmem, -vsock) at @h->devfn or, for CONFIG_PCI_AUTO, the
	 * lowest free slot (virtio_pci_hotplug()). Returns the devfn or
	 * -errno (logged). The caller tells the guest (pcihp_plug() on
	 * ->hotplug).
	 */
	int (*add_virtio)(struct vm *vm, struct board *b,
			  const struct virtio_hotplug *h);
	/*
	 * A host function through VFIO while the VM runs (vm.add-device), at
	 * the lowest free slot. Returns the devfn, or -errno with a sentence
	 * in @err.
	 */
	int (*add_vfio)(struct vm *vm, struct board *b, const char *path,
			char *err, size_t errlen);
	/*
	 * Removes the virtio or VFIO PCI function at @devfn of bus 0 and
	 * frees it:
	 * call with the vCPUs paused (vm_pause()), after the guest ejected
	 * it (hw/pcihp.h). -ENODEV when there is no
	 * virtio or VFIO function there.
	 */
	int (*remove_pci)(struct vm *vm, struct board *b, int devfn);
};

/* The architecture's board (src/arch/$(ARCH)/): main()'s one choice. */
const struct board_ops *arch_board(void);

#endif
