/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_PCI_MSIX_H
#define DEVISOR_PCI_MSIX_H

/*
 * MSI-X and MSI for emulated functions. The device calls msix_notify() /
 * msi_notify() from any thread; a message is delivered at once when the
 * function has the capability enabled and the vector unmasked, or
 * remembered as pending and delivered when the guest unmasks it. A device
 * on a VM attaches a struct msi_vectors (msix_set_vectors()), which then
 * holds the routes, irqfds and pending bits; without one, delivery and
 * routing updates go to the handlers set here, or by default to the
 * pci_host_config ones.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvm/msi_vectors.h"
#include "pci/pci.h"

#define MSIX_MAX_VECTORS 2048

struct msix_entry {
	uint32_t addr_lo;
	uint32_t addr_hi;
	uint32_t data;
	uint32_t ctrl;
};

struct msix {
	struct pci_dev *pdev;
	pthread_mutex_t lock; /* table, PBA, cached control */
	unsigned int nr_vectors;
	unsigned int cap; /* config offset of the capability */
	unsigned int table_bar, pba_bar;
	uint32_t table_off, pba_off;
	struct msix_entry *table;
	uint64_t *pba;
	bool enabled, fmasked; /* Message Control as last written */
	pci_msi_deliver_fn *deliver;
	pci_msi_update_fn *update;
	void *opaque;
	struct msi_vectors *vectors; /* NULL: the handlers and pba above */
};

/* Bytes of the table, and of the Pending Bit Array (a bit a vector). */
static inline uint32_t msix_table_size(unsigned int nr_vectors)
{
	return nr_vectors * PCI_MSIX_ENTRY_SIZE;
}

static inline uint32_t msix_pba_size(unsigned int nr_vectors)
{
	return (nr_vectors + 63) / 64 * 8;
}

/*
 * Adds the capability to @pdev (before pci_dev_register, after the BARs
 * are set) with the table at @table_off in BAR @table_bar and the PBA at
 * @pba_off in BAR @pba_bar; both must fit their BAR, not overlap, and be
 * 8-byte aligned. Accesses there are served here, the rest of the BAR
 * still reaches the device's ops. Returns the capability offset or -errno.
 */
int msix_init(struct msix *msix, struct pci_dev *pdev, unsigned int nr_vectors,
	      unsigned int table_bar, uint32_t table_off, unsigned int pba_bar,
	      uint32_t pba_off);
void msix_destroy(struct msix *msix);
/* NULL handlers fall back to the host's. Call before the guest runs. */
void msix_set_handlers(struct msix *msix, pci_msi_deliver_fn *deliver,
		       pci_msi_update_fn *update, void *opaque);

/*
 * From now on message and mask changes go to @mv (at least nr_vectors
 * vectors, the caller's), notifies fire it and the PBA reads its pending
 * bits. Call before the guest runs.
 */
void msix_set_vectors(struct msix *msix, struct msi_vectors *mv);

/* Signal @vector. Returns true when a message went out now. */
bool msix_notify(struct msix *msix, unsigned int vector);
bool msix_enabled(struct msix *msix);
/* Entry contents and effective mask (vector, function or disabled). */
bool msix_get_msg(struct msix *msix, unsigned int vector, uint64_t *addr,
		  uint32_t *data);
bool msix_is_pending(struct msix *msix, unsigned int vector);
/* Function reset: disabled, all vectors masked, nothing pending. */
void msix_reset(struct msix *msix);

struct msi {
	struct pci_dev *pdev;
	pthread_mutex_t lock; /* the cached copy and pending bits */
	unsigned int cap;
	unsigned int max_vectors;
	bool is64, maskable;
	/* Cached from config space, refreshed on every write to the cap. */
	bool enabled;
	unsigned int nr_enabled;
	uint64_t addr;
	uint16_t data;
	uint32_t mask;
	uint32_t pending;
	pci_msi_deliver_fn *deliver;
	pci_msi_update_fn *update;
	void *opaque;
	struct msi_vectors *vectors; /* NULL: the handlers and pending above */
};

/* @nr_vectors: power of two, 1..32. Returns the cap offset or -errno. */
int msi_init(struct msi *msi, struct pci_dev *pdev, unsigned int nr_vectors,
	     bool is64, bool maskable);
void msi_destroy(struct msi *msi);
void msi_set_handlers(struct msi *msi, pci_msi_deliver_fn *deliver,
		      pci_msi_update_fn *update, void *opaque);
/* As msix_set_vectors(), for max_vectors vectors. */
void msi_set_vectors(struct msi *msi, struct msi_vectors *mv);
bool msi_notify(struct msi *msi, unsigned int vector);
bool msi_enabled(struct msi *msi);
void msi_reset(struct msi *msi);

/* For pci.c: the BAR and config-space sides. */
bool msix_bar_claims(struct msix *msix, unsigned int bar, uint64_t off);
uint64_t msix_bar_read(struct msix *msix, unsigned int bar, uint64_t off,
		       unsigned int size);
void msix_bar_write(struct msix *msix, unsigned int bar, uint64_t off,
		    uint64_t val, unsigned int size);
void msix_cfg_written(struct msix *msix);
void msi_cfg_written(struct msi *msi);
void msi_cfg_read_fixup(struct msi *msi, unsigned int off, unsigned int size,
			uint32_t *val);

#endif
