/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_IOMMU_H
#define DEVISOR_VIRTIO_IOMMU_H

/*
 * virtio-iommu (device id 23, spec 5.13) on a virtio transport: a request
 * queue served by the model of iommu/viommu.h and an event queue for its
 * fault reports. docs/iommu.md, "virtio-iommu".
 */
#include <stdint.h>

struct dma_space;
struct viommu;
struct viommu_params;
struct virtio_dev;
struct vm;

#ifndef VIRTIO_ID_IOMMU
#define VIRTIO_ID_IOMMU 23
#endif

/*
 * The model as a device of @vm (destroyed with the VM's devices): create
 * it before the PCI host, so it outlives every function whose DMA goes
 * through it. NULL on error (logged).
 */
struct viommu *virtio_iommu_model_create(struct vm *vm,
					 const struct viommu_params *p);
/* pci_host_config.dma_init for functions behind @viommu: endpoint = sid. */
int virtio_iommu_pci_dma_init(void *viommu, struct dma_space *as, uint16_t sid);

/*
 * The virtio device in front of @v; its own DMA is not translated (the
 * VIOT leaves its BDF out). Unbound: hand it to virtio_pci_create().
 */
struct virtio_dev *virtio_iommu_create(struct vm *vm, struct viommu *v);

#endif
