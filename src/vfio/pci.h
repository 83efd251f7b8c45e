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

/*
 * Opens the function at @path (its sysfs directory), resets it and
 * registers it on @host at @devfn (-1: the planned or lowest free one).
 * Returns NULL with one sentence in @err.
 */
struct vfio_pci *vfio_pci_create(struct vm *vm, struct pci_host *host,
				 const char *path, int devfn, char *err,
				 size_t errlen);

#endif
