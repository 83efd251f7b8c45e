/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_X86_ACPI_PCI_H
#define DEVISOR_ARCH_X86_ACPI_PCI_H

#include <stddef.h>

struct aml;
struct pci_host;

/* DSDT hook: \_SB.PCI0, a PCIe root bridge with its windows and _PRT. */
int acpi_pci_dsdt(struct aml *a, void *pci_host);

/* The MCFG body (after the table header) for the host's ECAM window. */
size_t acpi_pci_mcfg(const struct pci_host *host, void *body, size_t size);

#endif
