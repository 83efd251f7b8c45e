/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fake VFIO device for test_vfio_pci and the vfio fuzz target: @fd (a
 * memfd) laid out as vfio-pci lays out its device file, config space at
 * 0 and a 64-bit memory BAR0 of @bar0_size bytes at @bar0_off, mmappable,
 * with INTx, @nr_msi MSI and @nr_msix MSI-X vectors. No container: the
 * device is closed with its fd.
 */
#ifndef TESTS_UNIT_HELPERS_VFIO_FAKE_H
#define TESTS_UNIT_HELPERS_VFIO_FAKE_H

#include <string.h>

#include "vfio/vfio.h"

static inline struct vfio_device vfio_fake_device(int fd, uint64_t bar0_off,
						  uint64_t bar0_size,
						  unsigned int nr_msi,
						  unsigned int nr_msix)
{
	struct vfio_device vd = { .fd = fd, .flags = VFIO_DEVICE_FLAGS_PCI };

	strcpy(vd.name, "0000:00:05.0");
	vd.nr_regions = VFIO_PCI_NUM_REGIONS;
	vd.regions[0] = (struct vfio_region){
		.flags = VFIO_REGION_INFO_FLAG_READ |
			 VFIO_REGION_INFO_FLAG_WRITE |
			 VFIO_REGION_INFO_FLAG_MMAP,
		.size = bar0_size,
		.offset = bar0_off,
		.nr_areas = 1,
		.areas = { { 0, bar0_size } },
	};
	vd.regions[VFIO_PCI_CONFIG_REGION_INDEX] = (struct vfio_region){
		.flags = VFIO_REGION_INFO_FLAG_READ |
			 VFIO_REGION_INFO_FLAG_WRITE,
		.size = 256,
	};
	vd.irq_count[VFIO_PCI_INTX_IRQ_INDEX] = 1;
	vd.irq_count[VFIO_PCI_MSI_IRQ_INDEX] = nr_msi;
	vd.irq_count[VFIO_PCI_MSIX_IRQ_INDEX] = nr_msix;
	return vd;
}

#endif
