// SPDX-License-Identifier: GPL-2.0
#include <linux/virtio_pci.h>

#include "helpers/pci_fixture.h"
#include "helpers/virtio_driver.h"
#include "helpers/virtio_pci_common.h"

uint64_t vp_common_rd(const struct vp_common *c, unsigned int reg,
		      unsigned int size)
{
	return pf_rd(c->pf, c->off + reg, size);
}

void vp_common_wr(const struct vp_common *c, unsigned int reg, uint64_t v,
		  unsigned int size)
{
	pf_wr(c->pf, c->off + reg, v, size);
}

uint8_t vp_status(const struct vp_common *c)
{
	return vp_common_rd(c, VIRTIO_PCI_COMMON_STATUS, 1);
}

void vp_set_status(const struct vp_common *c, uint8_t s)
{
	vp_common_wr(c, VIRTIO_PCI_COMMON_STATUS, s, 1);
}

uint64_t vp_offered(const struct vp_common *c)
{
	uint64_t v;

	vp_common_wr(c, VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	v = vp_common_rd(c, VIRTIO_PCI_COMMON_DF, 4);
	vp_common_wr(c, VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	return v | vp_common_rd(c, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

bool vp_features_ok(const struct vp_common *c, uint64_t want)
{
	vp_common_wr(c, VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	vp_common_wr(c, VIRTIO_PCI_COMMON_GF, (uint32_t)want, 4);
	vp_common_wr(c, VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	vp_common_wr(c, VIRTIO_PCI_COMMON_GF, want >> 32, 4);
	vp_set_status(c, S_ACK | S_DRIVER | S_FEAT);
	return vp_status(c) & S_FEAT;
}
