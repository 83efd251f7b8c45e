/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_NVME_DEVICES_H
#define DEVISOR_HW_NVME_DEVICES_H

struct evloop;
struct pci_host;
struct vm;
struct vm_config;

/*
 * Every --nvme of @cfg on @pci, completing on @io (the board's I/O
 * thread, after its virtio devices): 0, or -errno after logging.
 */
int nvme_create_devices(struct vm *vm, const struct vm_config *cfg,
			struct pci_host *pci, struct evloop *io);

#endif
