/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_PCI_H
#define DEVISOR_VIRTIO_PCI_H

/*
 * virtio-pci, modern (virtio 1.0+) only: vendor 0x1af4, device 0x1040 +
 * device id, revision 1. BAR 4 (64-bit memory, 16 KiB) holds the four
 * virtio structures, each found through a vendor-specific capability;
 * BAR 1 (32-bit memory) holds the MSI-X table and PBA, one vector per
 * queue plus one for configuration changes. A VIRTIO_PCI_CAP_PCI_CFG
 * capability gives the config-space window onto BAR 4 and the MSI-X BAR.
 * docs/virtio.md describes the layout and the kick and interrupt paths.
 */

#include <stdint.h>

struct evloop;
struct pci_dev;
struct pci_host;
struct virtio_dev;
struct virtio_pci;
struct vm;

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_SUBSYS_ID 0x1100
#define VIRTIO_PCI_REVISION 1

/* BAR 4 layout. */
#define VIRTIO_PCI_BAR 4
#define VIRTIO_PCI_BAR_SIZE 0x4000u
#define VIRTIO_PCI_COMMON_OFF 0x0000u
#define VIRTIO_PCI_COMMON_LEN 0x40u /* up to the 1.3 admin queue fields */
#define VIRTIO_PCI_ISR_OFF 0x1000u
#define VIRTIO_PCI_DEVICE_OFF 0x2000u
#define VIRTIO_PCI_NOTIFY_OFF 0x3000u
#define VIRTIO_PCI_REGION_SIZE 0x1000u
/* One 4-byte notify address per queue, so each has its own ioeventfd. */
#define VIRTIO_PCI_NOTIFY_MULT 4u
#define VIRTIO_PCI_MSIX_BAR 1

/*
 * Creates the PCI function for @vdev, binds @vdev to it (kicks run on
 * @loop) and registers it on @host at the first free slot. On success the
 * transport owns @vdev: virtio_pci_destroy(), also run by
 * devices_destroy(), frees both; call it before destroying @loop. On
 * failure @vdev is left to the caller. NULL on error (logged).
 */
struct virtio_pci *virtio_pci_create(struct vm *vm, struct pci_host *host,
				     struct virtio_dev *vdev,
				     struct evloop *loop);
void virtio_pci_destroy(struct virtio_pci *vp);

/* The PCI function (devfn, config space), e.g. for tests and dumps. */
struct pci_dev *virtio_pci_pdev(struct virtio_pci *vp);
/* The transport of @pdev, or NULL when @pdev is not a virtio-pci one. */
struct virtio_pci *virtio_pci_from_pdev(struct pci_dev *pdev);
/* The virtio device at @devfn of @host's bus 0, or NULL. */
struct virtio_dev *virtio_pci_dev_at(struct pci_host *host, int devfn);

#endif
