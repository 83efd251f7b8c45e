/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's accesses to a virtio-pci function's common configuration
 * structure, on the PCI function fixture (pci_fixture.h): the accessors
 * test_virtio_pci and test_vtd_wire share.
 */
#ifndef TESTS_UNIT_HELPERS_VIRTIO_PCI_COMMON_H
#define TESTS_UNIT_HELPERS_VIRTIO_PCI_COMMON_H

#include <stdbool.h>
#include <stdint.h>

struct pci_fix;

/*
 * The structure is at @off in the BAR @pf's accesses go to (pf->bar), as
 * its VIRTIO_PCI_CAP_COMMON_CFG capability says.
 */
struct vp_common {
	struct pci_fix *pf;
	uint32_t off;
};

/* Register @reg (VIRTIO_PCI_COMMON_*) of @size bytes. */
uint64_t vp_common_rd(const struct vp_common *c, unsigned int reg,
		      unsigned int size);
void vp_common_wr(const struct vp_common *c, unsigned int reg, uint64_t v,
		  unsigned int size);
/* The device status byte. */
uint8_t vp_status(const struct vp_common *c);
void vp_set_status(const struct vp_common *c, uint8_t s);
/* The 64 feature bits the device offers (DFSELECT 0, then 1). */
uint64_t vp_offered(const struct vp_common *c);
/*
 * The driver's features @want (GFSELECT 0, then 1), then FEATURES_OK on
 * top of ACKNOWLEDGE and DRIVER; whether the device kept FEATURES_OK.
 */
bool vp_features_ok(const struct vp_common *c, uint64_t want);

#endif
