/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_IOAPIC_H
#define DEVISOR_HW_IOAPIC_H

/*
 * An I/O APIC (82093AA register interface, version 0x20 with the EOI
 * register) in user space, for KVM's split irqchip: 24 pins, each with a
 * 64-bit redirection table entry, the interrupt request register (IRR)
 * and, for level-triggered pins, remote IRR until the guest's EOI.
 *
 * The model knows nothing of KVM: a pin's entry is turned into the MSI
 * the I/O APIC would send (compatibility or, with bit 48 set, remappable
 * format; the remapping unit is the owner's business) and handed to
 * @ops->route whenever it changes; @ops->fire asks the owner to send pin
 * @pin's current message. Both run under the device's lock and must not
 * call back into it. Every entry point takes the lock; any thread.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_NR_PINS 24
#define IOAPIC_REG_SIZE 0x1000
#define IOAPIC_VERSION 0x20

/* Register page and indirect registers. */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10
#define IOAPIC_EOI 0x40
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_RTE 0x10 /* pin n: 0x10 + 2n (low), 0x11 + 2n (high) */

/* Redirection table entry. */
#define IOAPIC_RTE_VECTOR 0xffull
#define IOAPIC_RTE_DELMODE_SHIFT 8
#define IOAPIC_RTE_DESTMODE (1ull << 11)
#define IOAPIC_RTE_DELIVS (1ull << 12)
#define IOAPIC_RTE_POLARITY (1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR (1ull << 14)
#define IOAPIC_RTE_LEVEL (1ull << 15)
#define IOAPIC_RTE_MASKED (1ull << 16)
#define IOAPIC_RTE_FORMAT (1ull << 48) /* remappable (interrupt index) */
/* What software may write: all but delivery status and remote IRR. */
#define IOAPIC_RTE_WRITABLE (0xffff00000001bfffull & ~IOAPIC_RTE_DELIVS)

struct ioapic_ops {
	/* Pin @pin's message is now (@addr, @data). */
	void (*route)(void *opaque, unsigned int pin, uint64_t addr,
		      uint32_t data);
	/* Send pin @pin's message once. */
	void (*fire)(void *opaque, unsigned int pin);
};

struct ioapic {
	pthread_mutex_t lock;
	const struct ioapic_ops *ops;
	void *opaque;
	uint8_t id; /* as reset */
	uint32_t id_reg; /* bits 27:24 */
	uint8_t regsel;
	uint32_t irr; /* per pin: asserted (level) or an edge not yet sent */
	uint32_t line; /* per pin: the input's level, for edge detection */
	uint64_t rte[IOAPIC_NR_PINS];
	uint64_t fired; /* messages sent, for tests and stats */
};

/* Power-on state (every pin masked); @ops may be NULL. NULL on ENOMEM. */
struct ioapic *ioapic_create(uint8_t id, const struct ioapic_ops *ops,
			     void *opaque);
void ioapic_destroy(struct ioapic *io);
void ioapic_reset(struct ioapic *io);

/* The register page: any size at IOREGSEL, 4 bytes at IOWIN and EOI. */
uint64_t ioapic_mmio_read(struct ioapic *io, uint64_t off, unsigned int size);
void ioapic_mmio_write(struct ioapic *io, uint64_t off, uint64_t val,
		       unsigned int size);

/* Input @pin is at @level (1: asserted, whatever the polarity bit says). */
void ioapic_set_irq(struct ioapic *io, unsigned int pin, int level);
/*
 * A local APIC's EOI of @vector (KVM_EXIT_IOAPIC_EOI): clears remote IRR of
 * the level-triggered pins with that vector and sends again what is still
 * asserted.
 */
void ioapic_eoi(struct ioapic *io, unsigned int vector);

/* The MSI an entry sends: its destination (or index) bits and vector. */
void ioapic_rte_msg(uint64_t rte, uint64_t *addr, uint32_t *data);
/* Pin @pin's entry, for tests. */
uint64_t ioapic_rte(struct ioapic *io, unsigned int pin);

#endif
