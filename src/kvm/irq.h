/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_KVM_IRQ_H
#define DEVISOR_KVM_IRQ_H

#include <stdbool.h>
#include <stdint.h>

/*
 * An interrupt output of a device. Devices drive a level; how it reaches
 * the guest (KVM_IRQ_LINE into the in-kernel irqchip, a test's recorder)
 * is the owner's business, which keeps device models testable without KVM.
 */
struct irq_line {
	void (*set)(struct irq_line *line, int level);
	void *opaque;
	unsigned int gsi;
	int level; /* last level driven, for tests and edge detection */
};

static inline void irq_line_set(struct irq_line *line, int level)
{
	if (line && line->set) {
		line->level = level;
		line->set(line, level);
	}
}

struct vm;
/* A line wired to @gsi of the VM's in-kernel irqchip. */
void vm_irq_line_init(struct vm *vm, struct irq_line *line, unsigned int gsi);

/*
 * One edge: set(1) then set(0), on the caller's thread. Not an irqfd: KVM
 * injects an irqfd bound to a PIC/IOAPIC pin from a kworker
 * (irqfd_inject), a thread switch per interrupt that KVM_IRQ_LINE's two
 * ioctls do not pay (an MSI irqfd injects in place).
 */
void irq_line_pulse(struct irq_line *line);

/*
 * The requester of an MSI (PCI bus << 8 | devfn, or the IOAPIC's id from
 * the DMAR table), which an interrupt-remapping unit validates against the
 * IRTE; IRQ_SID_NONE for messages no requester sends through the remapping
 * unit (the unit's own fault and completion events): never remapped.
 */
#define IRQ_SID_NONE (-1)

/*
 * The KVM operations behind MSI vectors and irqfds, as a table so that a
 * struct msi_vectors (kvm/msi_vectors.h) and the lines above can run on a
 * unit test's recorder. Each returns 0 (route_add: the GSI) or -errno.
 */
struct irq_ops {
	int (*route_add)(void *opaque, int sid, uint64_t addr, uint32_t data);
	int (*route_update)(void *opaque, unsigned int gsi, int sid,
			    uint64_t addr, uint32_t data);
	void (*route_remove)(void *opaque, unsigned int gsi);
	int (*irqfd_assign)(void *opaque, int efd, unsigned int gsi);
	int (*irqfd_deassign)(void *opaque, int efd, unsigned int gsi);
	int (*signal_msi)(void *opaque, int sid, uint64_t addr, uint32_t data);
	/* vm_ioeventfd() on the MMIO bus (NULL in a recorder: -ENOSYS). */
	int (*ioeventfd)(void *opaque, uint64_t addr, unsigned int len, int efd,
			 bool assign);
};

/* @vm->irq_ops if a test set it, else KVM's; the opaque is @vm. */
const struct irq_ops *vm_irq_ops(struct vm *vm);

#endif

/*
 * GSI routing for MSI and irqfd. KVM_SET_GSI_ROUTING replaces the whole
 * table, so devisor keeps it: the architecture's defaults (x86: PIC and
 * IOAPIC, arch_irq_default_routes()) plus one route per MSI vector that a
 * device wired to an irqfd, on the lowest GSI no route uses.
 */
/*
 * Allocates a GSI routed to MSI (@addr, @data) from requester @sid. With an
 * interrupt remapper (vm_set_msi_remap()) the route KVM holds is the
 * remapped message, and a message the remapper blocks has no KVM route
 * (its irqfd then injects nothing). Returns the GSI or -errno.
 */
int vm_msi_route_add(struct vm *vm, int sid, uint64_t addr, uint32_t data);
int vm_msi_route_update(struct vm *vm, unsigned int gsi, int sid, uint64_t addr,
			uint32_t data);
void vm_msi_route_remove(struct vm *vm, unsigned int gsi);

/*
 * GSIs below @n are the board's own, for vm_msi_route_set(): a userspace
 * IOAPIC's pins with split irqchip. Before any route is made.
 */
void vm_irq_reserve_gsis(struct vm *vm, unsigned int n);
/* Routes reserved @gsi to (@sid, @addr, @data), as vm_msi_route_add(). */
int vm_msi_route_set(struct vm *vm, unsigned int gsi, int sid, uint64_t addr,
		     uint32_t data);
/*
 * Fires reserved @gsi's MSI route (KVM_IRQ_LINE, so that KVM also knows
 * the vector for EOI exits). A route the remapper blocked is translated
 * again, recording the fault if it still is.
 */
void vm_msi_route_fire(struct vm *vm, unsigned int gsi);

/*
 * An interrupt remapper: rewrites the message (@addr, @data) from @sid in place and
 * returns 0, or returns a nonzero fault reason when the request is
 * blocked (@record: report the fault as the hardware would; route
 * computations do not, deliveries do). Called with vm->irq_lock held.
 */
typedef int vm_msi_remap_fn(void *opaque, int sid, uint64_t *addr,
			    uint32_t *data, bool record);
void vm_set_msi_remap(struct vm *vm, vm_msi_remap_fn *fn, void *opaque);
/*
 * The remapper's tables changed (interrupt entry cache invalidation, a new
 * table pointer, remapping turned on or off): every route is computed
 * again from its requester's message. Not under the remapper's own lock.
 */
void vm_msi_remap_changed(struct vm *vm);

/* Binds @efd to @gsi: a write to the eventfd injects without an exit. */
int vm_irqfd_assign(struct vm *vm, int efd, unsigned int gsi);
int vm_irqfd_deassign(struct vm *vm, int efd, unsigned int gsi);

/*
 * A level-triggered irqfd: a write to @efd raises @gsi and KVM keeps it
 * raised until the guest's EOI, when it lowers it and signals
 * @resample_fd (a pass-through device's INTx: VFIO unmasks on it).
 * -EOPNOTSUPP with split irqchip: KVM has no IOAPIC to resample at.
 */
int vm_irqfd_assign_resample(struct vm *vm, int efd, int resample_fd,
			     unsigned int gsi);

/*
 * From now on every MSI route and KVM_SIGNAL_MSI carries its requester id
 * as the device id (KVM_MSI_VALID_DEVID), which an arm64 ITS needs to
 * translate it (the device tree's msi-map says the two are equal). Fails
 * with -EOPNOTSUPP, logged, when KVM takes no device ids (no ITS).
 */
int vm_msi_require_devid(struct vm *vm);

/* One MSI from @sid now, from any thread (KVM_SIGNAL_MSI), remapped. */
int vm_signal_msi(struct vm *vm, int sid, uint64_t addr, uint32_t data);

/*
 * Guest writes to [addr, addr+len) on the PIO or MMIO bus signal @efd in
 * the kernel, without returning to devisor (virtio queue notify).
 */
int vm_ioeventfd(struct vm *vm, uint64_t addr, unsigned int len, bool pio,
		 int efd, bool assign);
/*
 * The same for writes of exactly @len (1, 2, 4 or 8) bytes whose value is
 * @data: several eventfds can share one register (virtio-mmio QueueNotify).
 * Deassign with the same @data.
 */
int vm_ioeventfd_datamatch(struct vm *vm, uint64_t addr, unsigned int len,
			   bool pio, int efd, uint64_t data, bool assign);
