/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixture of the PCI function tests: a VM without KVM behind the PC's
 * PCI host, an I/O loop for its devices, the guest's accesses to one
 * function (its ECAM config space, one memory BAR) and a recorder in the
 * place of KVM: line levels from vm->irq_set, and through vm->irq_ops the
 * MSI routes, their irqfds (read as KVM would inject them) and each
 * message, whether signalled or injected. The recorder is global: one
 * fixture at a time.
 */
#ifndef TESTS_UNIT_HELPERS_PCI_FIXTURE_H
#define TESTS_UNIT_HELPERS_PCI_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm/vm.h"
#include "pci/pci.h"

struct evloop;

struct pci_fix {
	struct vm vm;
	struct pci_host host;
	struct evloop *loop;
	unsigned int devfn; /* the function the accesses go to */
	uint64_t bar; /* the base pf_rd() and pf_wr() add to */
};

/*
 * The VM with @ram_size bytes of RAM, the recorder (cleared) in KVM's
 * place and a new I/O loop. With @routes false the recorder refuses MSI
 * routes, as a KVM without them would, so every message is signalled.
 */
void pf_vm_init(struct pci_fix *pf, uint64_t ram_size, bool routes);
/* The PC's PCI host configuration, for a test to vary. */
void pf_pc_host_config(struct pci_host_config *cfg);
/* The PCI host with @cfg, or the PC's configuration if NULL. */
void pf_host_init(struct pci_fix *pf, const struct pci_host_config *cfg);
/* pf_vm_init() then pf_host_init() with the PC's configuration. */
void pf_init(struct pci_fix *pf, uint64_t ram_size, bool routes);
/* The devices (newest first), then the loop, then the VM. */
void pf_destroy(struct pci_fix *pf);

/* ---- the guest's accesses ---- */

uint32_t pf_cfg_rd(struct pci_fix *pf, unsigned int reg, unsigned int size);
void pf_cfg_wr(struct pci_fix *pf, unsigned int reg, uint32_t v,
	       unsigned int size);
uint64_t pf_rd(struct pci_fix *pf, uint64_t off, unsigned int size);
void pf_wr(struct pci_fix *pf, uint64_t off, uint64_t v, unsigned int size);
/* The GSI of the function's INTA#. */
unsigned int pf_intx_gsi(struct pci_fix *pf);

/* ---- the recorder ---- */

/* The level last set on @gsi (below 64). */
int pf_level(unsigned int gsi);
/* How many messages to @addr with @data (irqfds read first). */
unsigned int pf_msgs_with(uint64_t addr, uint32_t data);
/* How many messages in all; the last one's @addr and @data if any. */
unsigned int pf_msgs(uint64_t *addr, uint32_t *data);
/* How many of them came through an irqfd. */
unsigned int pf_irqfd_msgs(void);
/*
 * MMIO ioeventfds assigned through vm->irq_ops (as KVM would hold them):
 * how many, whether one is at @addr for @len-byte writes, and how many
 * pf_wr() calls one took instead of the bus (the value lost, the eventfd
 * written). pf_destroy() checks none is left.
 */
unsigned int pf_ioeventfds(void);
bool pf_ioeventfd_at(uint64_t addr, unsigned int len);
unsigned int pf_ioeventfd_hits(void);

#endif
