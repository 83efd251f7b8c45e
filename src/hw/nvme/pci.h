/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_NVME_PCI_H
#define DEVISOR_HW_NVME_PCI_H

/*
 * The PCI Express function around the NVMe controller model (nvme.h):
 * class 01:08:02, BAR0 (64-bit memory, 16 KiB) with the registers and
 * doorbells and, in its upper half, the MSI-X table and PBA; one MSI-X
 * vector per completion queue (an MSI vector group) or INTA; a PCI power
 * management capability and a PCIe capability (integrated endpoint) that
 * offers Function Level Reset. The back-end's completions are reaped on
 * the board's I/O thread. See docs/nvme.md.
 */

#include <stdint.h>

#include "hw/nvme/nvme.h"

struct blk_backend;
struct evloop;
struct pci_dev;
struct pci_host;
struct vm;

/* PCI identity: devisor's vendor id (see nvme.h) and our own device id. */
#define NVME_PCI_VENDOR NVME_DEFAULT_VID
#define NVME_PCI_DEVICE 0x10d0 /* outside virtio's 0x1000-0x107f */
#define NVME_PCI_VF_DEVICE 0x10d1 /* an SR-IOV VF's (the PF's VF Device ID) */
/* VFs at PF + 1 .. PF + 7: the rest of the PF's slot (docs/nvme.md). */
#define NVME_PCI_MAX_VFS 7
#define NVME_PCI_SUBSYS_VENDOR NVME_DEFAULT_VID
#define NVME_PCI_SUBSYS_ID 0x1100
#define NVME_PCI_CLASS 0x010802 /* mass storage, NVM, NVM Express */
#define NVME_PCI_REVISION 0x01

/* BAR0 layout: registers and doorbells, then MSI-X. */
#define NVME_PCI_BAR 0
#define NVME_PCI_MSIX_TABLE 0x2000u
#define NVME_PCI_MSIX_PBA 0x3000u

struct nvme_pci;

/*
 * Creates the function for a controller over @be (with @cfg: serial,
 * queues; cfg->nr_vectors is ours to set) and registers it on @host at
 * @devfn (-1: the next free slot). Completions run on @loop. On success
 * the function owns @be: nvme_pci_destroy(), also run by
 * devices_destroy(), closes it; call it before destroying @loop. On
 * failure @be is left to the caller. NULL on error (logged).
 */
struct nvme_pci *nvme_pci_create(struct vm *vm, struct pci_host *host,
				 struct blk_backend *be,
				 const struct nvme_config *cfg,
				 struct evloop *loop, int devfn);
void nvme_pci_destroy(struct nvme_pci *np);

/*
 * A PF with an SR-IOV capability offering @nr_vfs (<= NVME_PCI_MAX_VFS)
 * VFs at routing IDs PF + 1 + i. VF i is an NVMe controller of its own
 * over @vf_be[i] with @vf_cfg[i] (its namespace slice), built now and
 * added to the bus when the guest sets VF Enable. The VFs' back-ends are
 * always taken (closed on failure); @be as for nvme_pci_create(). VFs
 * use the identity DMA space: not for use behind an IOMMU.
 */
struct nvme_pci *
nvme_pci_create_pf(struct vm *vm, struct pci_host *host, struct blk_backend *be,
		   const struct nvme_config *cfg, struct evloop *loop,
		   int devfn, struct blk_backend **vf_be,
		   const struct nvme_config *vf_cfg, unsigned int nr_vfs);
unsigned int nvme_pci_nr_vfs(struct nvme_pci *np);
/*
 * The loop @np was made with is its own (--nvme ...,iothread=on): stopped
 * once the controller and its VFs are destroyed.
 */
void nvme_pci_own_loop(struct nvme_pci *np);
/* VF @i's function (NULL past the last), enabled or not. */
struct nvme_pci *nvme_pci_vf(struct nvme_pci *np, unsigned int i);

/* For tests and dumps. */
struct pci_dev *nvme_pci_pdev(struct nvme_pci *np);
struct nvme_ctrl *nvme_pci_ctrl(struct nvme_pci *np);

#endif
