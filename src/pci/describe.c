// SPDX-License-Identifier: GPL-2.0
/* How the root complex describes itself to the guest's firmware tables. */
#include "pci/pci.h"

#include <string.h>

#include "acpi/acpi.h"
#include "acpi/aml.h"
#include "util/common.h"

/* \_SB.PCI0: a PCIe root bridge with its windows and _PRT. */
int pci_host_describe(struct device *dev, struct device_desc *d)
{
	const struct pci_host *host = container_of(dev, struct pci_host, dev);
	struct aml *a = d->aml;

	if (!a)
		return 0;
	aml_device_begin(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A08");
	aml_name_eisaid(a, "_CID", "PNP0A03");
	aml_name_integer(a, "_SEG", 0);
	aml_name_integer(a, "_BBN", 0);
	aml_name_integer(a, "_UID", 0);

	aml_name(a, "_CRS");
	aml_restemp_begin(a);
	aml_res_word_bus_number(a, 0, host->nr_buses - 1);
	aml_res_io(a, PCI_CONF1_PORT, PCI_CONF1_PORT, 1, PCI_CONF1_SIZE);
	/* Legacy ISA ports sit behind the root bridge too, as on a PC. */
	aml_res_word_io(a, 0x0000, PCI_CONF1_PORT - 1);
	aml_res_word_io(a, PCI_CONF1_PORT + PCI_CONF1_SIZE, 0xffff);
	/* Not prefetchable: non-prefetchable BARs are placed here too. */
	aml_res_dword_memory(a, AML_MEM_RW | AML_MEM_NONCACHEABLE,
			     host->mmio32.base,
			     host->mmio32.base + host->mmio32.size - 1);
	if (host->mmio64.size)
		aml_res_qword_memory(a, AML_MEM_RW | AML_MEM_NONCACHEABLE,
				     host->mmio64.base,
				     host->mmio64.base + host->mmio64.size - 1);
	aml_restemp_end(a);

	/* INTx: pin P of slot D raises GSI intx_base + ((D + P) & 3). */
	aml_name(a, "_PRT");
	aml_package_begin(a);
	for (unsigned int slot = 0; slot < PCI_MAX_SLOTS; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			aml_package_begin(a);
			aml_integer(a, (slot << 16) | 0xffff);
			aml_integer(a, pin);
			aml_zero(a);
			aml_integer(a, pci_host_intx_gsi(host, slot, pin + 1));
			aml_end(a);
		}
	}
	aml_end(a);
	aml_end(a); /* PCI0 */
	return 0;
}

size_t pci_host_mcfg(const struct pci_host *host, void *body, size_t size)
{
	struct acpi_mcfg_allocation alloc = {
		.base = host->cfg.ecam_base,
		.segment = 0,
		.start_bus = 0,
		.end_bus = host->nr_buses - 1,
	};

	/* MCFG: 8 reserved bytes, then one allocation per segment. */
	if (size < 8 + sizeof(alloc))
		return 0;
	memset(body, 0, 8);
	memcpy((char *)body + 8, &alloc, sizeof(alloc));
	return 8 + sizeof(alloc);
}
