/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_X86_ACPI_H
#define DEVISOR_ARCH_X86_ACPI_H

/*
 * The PC's ACPI tables (full ACPI, not hardware-reduced): a FADT for
 * hw/acpi_pm, a MADT for KVM's LAPICs and IOAPIC, and a DSDT with \_S5
 * and whatever the VM's devices describe in \_SB (their describe hooks,
 * bus/device.h); the board adds MCFG. acpi/acpi.c lays them out.
 *
 * At 0xe0000 (layout.h) the RSDP is also found by the legacy scan; Linux
 * treats 640K..1M as reserved whatever the e820 map says.
 */
#include <stdbool.h>

#include "acpi/acpi.h"

struct vm;

/* xAPIC ids are 8 bits and 0xff is broadcast. */
#define ACPI_MAX_CPUS 255u

struct x86_acpi_config {
	unsigned int nr_cpus; /* 1..ACPI_MAX_CPUS; APIC id == cpu index */
	/*
	 * The first @nr_present are the guest's at boot (0: all); the rest
	 * are disabled in the MADT, for hw/cpuhp to plug (GPE ACPI_GPE_CPUHP
	 * calls its CSCN).
	 */
	unsigned int nr_present;
	/* hw/memhp is there: GPE ACPI_GPE_MEMHP calls its MSCN. */
	bool mem_hotplug;
	struct vm *vm; /* its devices describe themselves; NULL: none */
	/* hw/pcihp is there: GPE ACPI_GPE_PCIHP calls its PCNT. */
	bool pci_hotplug;
	/* After the MADT, e.g. MCFG. */
	const struct acpi_extra_table *extra_tables;
	unsigned int nr_extra_tables;
	/* No 8259s (split irqchip): the MADT leaves PCAT_COMPAT clear. */
	bool no_pic;
};

/*
 * acpi_build()'s errors, or a describe hook's (or the AML's: -EINVAL,
 * -ENOMEM, -E2BIG). Errors are logged.
 */
int x86_acpi_build(struct acpi_tables *out, const struct x86_acpi_config *cfg);

/*
 * CPU @cpu's MADT entry, enabled, into @buf (CPUHP_MAT_MAX bytes): the
 * MADT's and hw/cpuhp's _MAT. Returns its length.
 */
size_t x86_acpi_cpu_mat(unsigned int cpu, uint8_t *buf);

/* MADT entries after struct acpi_madt. */
#define ACPI_MADT_PCAT_COMPAT (1u << 0)
#define ACPI_MADT_ENABLED (1u << 0)

enum acpi_madt_type {
	ACPI_MADT_LAPIC = 0,
	ACPI_MADT_IOAPIC = 1,
	ACPI_MADT_ISO = 2,
	ACPI_MADT_LAPIC_NMI = 4,
};

struct acpi_madt_lapic {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags; /* ACPI_MADT_ENABLED */
} __attribute__((packed));

struct acpi_madt_ioapic {
	uint8_t type;
	uint8_t length;
	uint8_t id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

/* Interrupt Source Override */
struct acpi_madt_iso {
	uint8_t type;
	uint8_t length;
	uint8_t bus; /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

#define ACPI_MPS_ACTIVE_HIGH 0x1
#define ACPI_MPS_ACTIVE_LOW 0x3
#define ACPI_MPS_EDGE (0x1 << 2)
#define ACPI_MPS_LEVEL (0x3 << 2)

struct acpi_madt_lapic_nmi {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid; /* 0xff: all */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

#endif
