/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_KVM_MSI_VECTORS_H
#define DEVISOR_KVM_MSI_VECTORS_H

/*
 * A group of MSI vectors as a device (MSI-X, MSI, later VFIO or NVMe)
 * presents them to the guest: each vector has a message, a mask and a
 * pending bit, and once first unmasked a KVM GSI route to its message
 * with an irqfd bound to it, so firing it is one eventfd write and a
 * back-end can fire it from the kernel (msi_vectors_eventfd()).
 *
 * A masked vector keeps its route but not its irqfd binding: firing it
 * sets the pending bit, and eventfd writes from a back-end wait in the
 * eventfd. Unmasking rebinds the irqfd and delivers what is pending. If
 * KVM refuses routes or irqfds, the group says so once and delivers with
 * KVM_SIGNAL_MSI from then on.
 *
 * All operations take the group's lock, a leaf apart from the irq_ops it
 * calls (vm->irq_lock for KVM's); any thread may call them.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvm/irq.h"

struct msi_vector {
	uint64_t addr;
	uint32_t data;
	int efd; /* -1: none yet */
	int gsi; /* -1: no route yet */
	bool route_ok; /* the route holds addr/data */
	bool bound; /* efd is an irqfd on gsi now */
	bool masked;
	bool pending;
};

struct msi_vectors {
	const struct irq_ops *ops;
	void *opaque;
	const char *name; /* for the one warning */
	int sid; /* requester id (msi_vectors_set_requester()) */
	pthread_mutex_t lock;
	unsigned int nr;
	struct msi_vector *v;
	bool irqfd_broken; /* no new routes or irqfds: KVM_SIGNAL_MSI */
};

/*
 * @nr vectors, all masked with an empty message, through @ops with
 * @opaque (vm_irq_ops(vm) and vm on a VM). Returns 0 or -errno.
 */
int msi_vectors_init(struct msi_vectors *mv, const char *name, unsigned int nr,
		     const struct irq_ops *ops, void *opaque);
/*
 * The PCI requester id the messages come from (bus << 8 | devfn), for an
 * interrupt remapper; IRQ_SID_NONE until set. Once the function has its
 * address, before the guest can unmask a vector.
 */
void msi_vectors_set_requester(struct msi_vectors *mv, int sid);
/* Removes every irqfd and route and closes the eventfds. */
void msi_vectors_destroy(struct msi_vectors *mv);

/* The guest programmed @v's message; an existing route follows it. */
void msi_vectors_set_msg(struct msi_vectors *mv, unsigned int v, uint64_t addr,
			 uint32_t data);
/*
 * The effective mask of @v changed. The first unmask creates the route
 * and the irqfd; an unmask delivers what is pending.
 */
void msi_vectors_mask(struct msi_vectors *mv, unsigned int v, bool masked);
/* Signals @v: true when delivered now, false when left pending or @v > nr. */
bool msi_vectors_fire(struct msi_vectors *mv, unsigned int v);
/* The pending bit, including eventfd writes made while masked. */
bool msi_vectors_pending(struct msi_vectors *mv, unsigned int v);
/* Function reset: all masked, nothing pending; routes and eventfds stay. */
void msi_vectors_reset(struct msi_vectors *mv);
/*
 * @v's eventfd for a back-end to write (made now if need be), or -1 when
 * KVM gave no irqfd: the back-end must then call msi_vectors_fire().
 */
int msi_vectors_eventfd(struct msi_vectors *mv, unsigned int v);

#endif
