/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_CPUHP_H
#define DEVISOR_HW_CPUHP_H

/*
 * ACPI CPU hotplug: a register block (hw/hp_block.h, one bit per CPU) the
 * guest's ACPI code reads when the board raises its event (on the PC, GPE
 * ACPI_GPE_CPUHP of hw/acpi_pm), and the AML that goes with it. In the
 * DSDT, \_SB.CPUS (a processor container, ACPI0010) gets an
 * OperationRegion on the block, one Device (Cnnn, ACPI0007) per possible
 * CPU with _UID, _STA, _MAT (the board's MADT entry for it, enabled) and,
 * but for CPU 0, _EJ0, and Method CSCN that notifies each CPU plugged
 * (Device Check: Linux adds the CPU, and user space onlines it) and each
 * asked back (Eject Request: Linux offlines the CPU, then calls _EJ0). The
 * block owns whether each vCPU may run (vm_set_plugged()): a plug gives
 * the vCPU before the guest hears of it, and the vCPU is taken away only
 * at the eject, when the guest has let go.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/device.h"
#include "hw/hp_block.h"

#define CPUHP_IO_BASE 0x620
#define CPUHP_MAX_CPUS HP_MAX_ITEMS

/* The DSDT's names for what the board's event handler calls. */
#define CPUHP_AML_SCOPE "\\_SB.CPUS"
#define CPUHP_AML_NOTIFY "\\_SB.CPUS.CSCN"

/* The largest _MAT an architecture gives (x86: a 8-byte Local APIC). */
#define CPUHP_MAT_MAX 16

struct vm;

struct cpuhp_ops {
	/* The board's event: raises the guest's ACPI interrupt. */
	void (*event)(void *opaque);
	/* Whether the guest enabled that interrupt (its OSPM listens). */
	bool (*listening)(void *opaque);
	/*
	 * CPU @cpu's interrupt controller entry as the MADT would give it
	 * enabled, into @buf (CPUHP_MAT_MAX); returns its length.
	 */
	size_t (*mat)(unsigned int cpu, uint8_t *buf);
};

struct cpuhp {
	struct device dev;
	struct vm *vm;
	const struct cpuhp_ops *ops;
	void *opaque;
	unsigned int nr_cpus; /* possible CPUs, 1 to CPUHP_MAX_CPUS */
	struct hp_block regs;
};

/*
 * Registers the block at CPUHP_IO_BASE on @vm's PIO bus and in the device
 * registry (describe hook: the AML above), for @nr_cpus possible CPUs of
 * which the first @boot_cpus are present. NULL with an error logged on
 * failure. Freed by devices_destroy().
 */
struct cpuhp *cpuhp_create(struct vm *vm, unsigned int nr_cpus,
			   unsigned int boot_cpus, const struct cpuhp_ops *ops,
			   void *opaque);

/* Whether the guest handles hotplug events (it enabled the event). */
bool cpuhp_guest_listening(struct cpuhp *hp);
/* Whether the guest has @cpu; how many CPUs it has. */
bool cpuhp_present(struct cpuhp *hp, unsigned int cpu);
unsigned int cpuhp_nr_present(struct cpuhp *hp);
/*
 * @cpu is now the guest's: present, and the guest is told. -EINVAL for
 * no such CPU, -EEXIST if present already.
 */
int cpuhp_plug(struct cpuhp *hp, unsigned int cpu);
/*
 * Asks the guest to let go of @cpu; its eject unplugs the vCPU.
 * -EINVAL for CPU 0 or no such CPU, -ENOENT if not present.
 */
int cpuhp_unplug_request(struct cpuhp *hp, unsigned int cpu);
/* Withdraws a request the guest did not answer. */
void cpuhp_unplug_cancel(struct cpuhp *hp, unsigned int cpu);
/* Without a guest that listens: @cpu is gone at once, as if ejected. */
void cpuhp_force_unplug(struct cpuhp *hp, unsigned int cpu);

/* The bus ops, for the unit tests. */
uint64_t cpuhp_read(void *opaque, uint64_t off, unsigned int size);
void cpuhp_write(void *opaque, uint64_t off, uint64_t value, unsigned int size);
int cpuhp_describe(struct device *dev, struct device_desc *d);

#endif
