/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VFIO_PCI_H
#define DEVISOR_VFIO_PCI_H

/*
 * A host PCI function passed through with VFIO: to the rest of devisor a
 * PCI function like any other (docs/vfio.md has the config-space rules
 * and the interrupt paths).
 */

#include <stddef.h>

struct vm;
struct pci_host;
struct vfio_pci;

/* @flags: the device's expansion ROM stays hidden from the guest. */
#define VFIO_PCI_NO_ROM 1u

/*
 * Opens the function at @path (its sysfs directory), resets it and
 * registers it on @host at @devfn (-1: the planned or lowest free one).
 * Returns NULL with one sentence in @err.
 */
struct vfio_pci *vfio_pci_create(struct vm *vm, struct pci_host *host,
				 const char *path, int devfn,
				 unsigned int flags, char *err, size_t errlen);

/*
 * The same for a device already open (@vd, taken over: closed on
 * failure too); unit tests and fuzzing give a device over a memfd.
 */
struct vfio_device;
struct vfio_pci *vfio_pci_create_dev(struct vm *vm, struct pci_host *host,
				     struct vfio_device *vd, int devfn,
				     unsigned int flags, char *err,
				     size_t errlen);
/* The vfio_pci behind a PCI function, or NULL when it is another kind. */
struct pci_dev;
struct vfio_pci *vfio_pci_from_pdev(struct pci_dev *pdev);
struct pci_dev *vfio_pci_pdev(struct vfio_pci *vp);
/* Unregisters and frees it, and gives the device back reset. */
void vfio_pci_destroy(struct vfio_pci *vp);

/*
 * Every --device of @cfg (those not removed) on @host, for any board:
 * 0, or -ENODEV after logging which one failed and why.
 */
struct vm_config;
int vfio_pci_create_devices(struct vm *vm, const struct vm_config *cfg,
			    struct pci_host *host);

#endif
