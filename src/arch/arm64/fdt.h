/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_ARM64_FDT_H
#define DEVISOR_ARCH_ARM64_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/*
 * What the arm64 board's flattened device tree says. The board's own
 * nodes (memory, cpus, psci, timer, GIC and ITS, clock, PCIe host,
 * chosen) come from here; every device of @vm adds its own node through
 * the registry's describe walk (bus/device.h). Pure: no KVM, so unit
 * tests build trees on any host.
 */
struct arm64_fdt_config {
	unsigned int nr_cpus;
	uint64_t ram_base, ram_size;
	uint64_t gic_dist_base, gic_dist_size;
	uint64_t gic_redist_base, gic_redist_size; /* all vCPUs' frames */
	uint64_t its_base, its_size; /* 0: no ITS */
	int msi_map; /* the PCIe host's MSIs go to the ITS */
	uint64_t uart_base; /* stdout-path's node; 0: none */
	const char *bootargs;
	uint64_t initrd_start, initrd_size; /* size 0: no initrd */
	/* The ECAM host bridge; ecam_size 0: none. */
	uint64_t ecam_base, ecam_size;
	uint64_t mmio32_base, mmio32_size;
	uint64_t mmio64_base, mmio64_size;
	uint64_t io_cpu_base, io_size; /* PCI I/O 0.. at io_cpu_base */
	unsigned int intx_spi_base; /* INTA..INTD, the classic swizzle */
};

/*
 * Builds the tree into @buf (@size bytes) and packs it. Returns 0 or
 * -errno: -ENOSPC when it does not fit, -EINVAL for a config it cannot
 * describe; a device's describe error is returned as it is.
 */
int arm64_fdt_build(void *buf, size_t size, const struct arm64_fdt_config *c,
		    struct vm *vm);

/* The GIC interrupt specifier of SPI @gsi (bus/device.h's fdt_irq). */
unsigned int arm64_fdt_spi(unsigned int gsi, int level_triggered,
			   uint32_t *cells);

#endif
