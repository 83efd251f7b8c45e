/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VFIO_VFIO_H
#define DEVISOR_VFIO_VFIO_H

/*
 * VFIO plumbing, with no PCI model in it (that is vfio/pci.c): a host
 * device bound to vfio-pci, found by its sysfs path, opened through its
 * IOMMU group in the process's one container (type1 v2 IOMMU), with all
 * of guest RAM mapped for its DMA at IOVA = guest physical address.
 * Groups and the container are shared by every device and go with the
 * last one. docs/vfio.md.
 */

#include <linux/vfio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vfio_group;
struct vfio_container;

#define VFIO_MAX_AREAS 8

/* A region of the device file (a BAR, config space) and what mmaps. */
struct vfio_region {
	uint32_t flags; /* VFIO_REGION_INFO_FLAG_* */
	uint64_t size;
	uint64_t offset; /* in the device file */
	/* Parts that may be mmapped, region-relative (the sparse-mmap cap). */
	unsigned int nr_areas;
	struct {
		uint64_t offset, size;
	} areas[VFIO_MAX_AREAS];
};

struct vfio_device {
	int fd;
	char name[32]; /* DDDD:BB:DD.F */
	struct vfio_group *group;
	struct vfio_container *container;
	uint32_t flags; /* VFIO_DEVICE_FLAGS_* */
	unsigned int nr_regions;
	struct vfio_region regions[VFIO_PCI_NUM_REGIONS];
	uint32_t irq_count[VFIO_PCI_NUM_IRQS];
};

/*
 * Opens the device at @path (/sys/bus/pci/devices/DDDD:BB:DD.F) for @vm,
 * in the VM's shared container with all guest RAM mapped, or with
 * @own_container in one of its own with nothing mapped (vfio_dma_map():
 * behind an emulated IOMMU).
 * Everything the user can get wrong fails here, before the guest runs,
 * with one sentence in @err saying what and how to fix it: no such
 * device, not bound to vfio-pci, no IOMMU group (no host IOMMU), another
 * device of the group not released, no permission. Returns 0 or -errno.
 */
int vfio_device_open(struct vm *vm, const char *path, bool own_container,
		     struct vfio_device *vd, char *err, size_t errlen);
void vfio_device_close(struct vfio_device *vd);

/*
 * The checks on sysfs alone (device, driver, group, the group's other
 * devices), for vfio_device_open() and tests. Returns 0 with the group
 * number in *@group, or -errno with @err.
 */
int vfio_check_sysfs(const char *path, int *group, char *err, size_t errlen);

/*
 * DMA mappings of a device's own container: [iova, iova + size) to host
 * memory at @hva (page aligned); an unmap must cover whole mappings.
 * 0 or -errno.
 */
int vfio_dma_map(struct vfio_device *vd, uint64_t iova, uint64_t size,
		 void *hva, bool readable, bool writable);
int vfio_dma_unmap(struct vfio_device *vd, uint64_t iova, uint64_t size);

/* Bytes of region @idx at @off; 0 or -errno (short access: -EIO). */
int vfio_region_read(struct vfio_device *vd, unsigned int idx, uint64_t off,
		     void *buf, size_t len);
int vfio_region_write(struct vfio_device *vd, unsigned int idx, uint64_t off,
		      const void *buf, size_t len);

/*
 * Interrupts of @index (VFIO_PCI_*_IRQ_INDEX): @count eventfds from
 * @start signal them; @count 0 turns the index off.
 */
int vfio_irq_set_eventfds(struct vfio_device *vd, unsigned int index,
			  unsigned int start, unsigned int count,
			  const int *fds);
/* INTx: @fd (an eventfd KVM signals at the guest's EOI) unmasks it. */
int vfio_irq_set_unmask_fd(struct vfio_device *vd, unsigned int index, int fd);

/* VFIO_DEVICE_RESET when the device has one; 0, -ENOTTY or -errno. */
int vfio_device_reset(struct vfio_device *vd);

#endif
