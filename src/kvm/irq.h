/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_KVM_IRQ_H
#define DEVISOR_KVM_IRQ_H

/*
 * An interrupt output of a device. Devices drive a level; how it reaches
 * the guest (KVM_IRQ_LINE into the in-kernel PIC/IOAPIC, a test's recorder)
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

#endif
