// SPDX-License-Identifier: GPL-2.0
/* The userspace I/O APIC of split irqchip; see ioapic.h. */
#include "hw/ioapic.h"

#include <stdlib.h>

#include "util/log.h"

void ioapic_rte_msg(uint64_t rte, uint64_t *addr, uint32_t *data)
{
	/*
	 * Bits 63:48 land on address bits 19:4: destination id (and the
	 * extended id bits) in compatibility format, interrupt index 14:0
	 * and the format bit in remappable format, whose index bit 15 is the
	 * destination mode bit, as the VT-d specification lays them out.
	 */
	*addr = 0xfee00000ull | ((rte >> 48) & 0xffff) << 4 |
		((rte & IOAPIC_RTE_DESTMODE) ? 1u << 2 : 0);
	*data = (rte & IOAPIC_RTE_VECTOR) |
		(((rte >> IOAPIC_RTE_DELMODE_SHIFT) & 7) << 8) |
		((rte & IOAPIC_RTE_LEVEL) ? 1u << 15 : 0);
}

static void route(struct ioapic *io, unsigned int pin)
{
	uint64_t addr;
	uint32_t data;

	if (!io->ops || !io->ops->route)
		return;
	ioapic_rte_msg(io->rte[pin], &addr, &data);
	io->ops->route(io->opaque, pin, addr, data);
}

/* Send what is pending and unmasked; a level pin waits for its EOI. */
static void service(struct ioapic *io)
{
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t *rte = &io->rte[pin];

		if (!(io->irr & (1u << pin)) || (*rte & IOAPIC_RTE_MASKED))
			continue;
		if (*rte & IOAPIC_RTE_LEVEL) {
			if (*rte & IOAPIC_RTE_REMOTE_IRR)
				continue;
			*rte |= IOAPIC_RTE_REMOTE_IRR;
		} else {
			io->irr &= ~(1u << pin);
		}
		io->fired++;
		if (io->ops && io->ops->fire)
			io->ops->fire(io->opaque, pin);
	}
}

static void reset_locked(struct ioapic *io)
{
	io->id_reg = (uint32_t)io->id << 24;
	io->regsel = 0;
	io->irr = 0;
	io->line = 0;
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		io->rte[pin] = IOAPIC_RTE_MASKED;
		route(io, pin);
	}
}

struct ioapic *ioapic_create(uint8_t id, const struct ioapic_ops *ops,
			     void *opaque)
{
	struct ioapic *io = calloc(1, sizeof(*io));

	if (!io)
		return NULL;
	pthread_mutex_init(&io->lock, NULL);
	io->ops = ops;
	io->opaque = opaque;
	io->id = id & 0xf;
	reset_locked(io);
	return io;
}

void ioapic_destroy(struct ioapic *io)
{
	if (!io)
		return;
	pthread_mutex_destroy(&io->lock);
	free(io);
}

void ioapic_reset(struct ioapic *io)
{
	pthread_mutex_lock(&io->lock);
	reset_locked(io);
	pthread_mutex_unlock(&io->lock);
}

static uint32_t reg_read(struct ioapic *io)
{
	unsigned int r = io->regsel;

	switch (r) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return io->id_reg;
	case IOAPIC_REG_VER:
		return IOAPIC_VERSION | (IOAPIC_NR_PINS - 1) << 16;
	}
	if (r >= IOAPIC_REG_RTE && r < IOAPIC_REG_RTE + 2 * IOAPIC_NR_PINS) {
		uint64_t rte = io->rte[(r - IOAPIC_REG_RTE) / 2];

		return (r & 1) ? rte >> 32 : (uint32_t)rte;
	}
	return 0; /* no such register */
}

static void reg_write(struct ioapic *io, uint32_t val)
{
	unsigned int r = io->regsel, pin;
	uint64_t *rte, keep, old;

	if (r == IOAPIC_REG_ID) {
		io->id_reg = val & 0x0f000000;
		return;
	}
	if (r < IOAPIC_REG_RTE || r >= IOAPIC_REG_RTE + 2 * IOAPIC_NR_PINS)
		return; /* version, arbitration id: read-only */
	pin = (r - IOAPIC_REG_RTE) / 2;
	rte = &io->rte[pin];
	old = *rte;
	keep = *rte & ~IOAPIC_RTE_WRITABLE;
	if (r & 1)
		*rte = (*rte & 0xffffffffull) | (uint64_t)val << 32;
	else
		*rte = (*rte & ~0xffffffffull) | val;
	*rte = (*rte & IOAPIC_RTE_WRITABLE) | keep;
	/*
	 * An edge-triggered pin has no remote IRR: Linux clears a stuck one
	 * by switching the pin to edge and back (IOAPICs before 0x20).
	 */
	if (!(*rte & IOAPIC_RTE_LEVEL)) {
		/* ... and its request is a new edge, not a held level. */
		if (old & IOAPIC_RTE_LEVEL)
			io->irr &= ~(1u << pin);
		*rte &= ~IOAPIC_RTE_REMOTE_IRR;
	} else /* a level pin's request is its input */
		io->irr = (io->irr & ~(1u << pin)) | (io->line & (1u << pin));
	route(io, pin);
	service(io);
}

uint64_t ioapic_mmio_read(struct ioapic *io, uint64_t off, unsigned int size)
{
	uint64_t val = 0;

	pthread_mutex_lock(&io->lock);
	if (off == IOAPIC_IOREGSEL && size <= 4)
		val = io->regsel;
	else if (off == IOAPIC_IOWIN && size == 4)
		val = reg_read(io);
	pthread_mutex_unlock(&io->lock);
	return val;
}

static void eoi_locked(struct ioapic *io, unsigned int vector)
{
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t *rte = &io->rte[pin];

		if ((*rte & IOAPIC_RTE_VECTOR) == vector &&
		    (*rte & IOAPIC_RTE_LEVEL))
			*rte &= ~IOAPIC_RTE_REMOTE_IRR;
	}
	service(io);
}

void ioapic_mmio_write(struct ioapic *io, uint64_t off, uint64_t val,
		       unsigned int size)
{
	pthread_mutex_lock(&io->lock);
	if (off == IOAPIC_IOREGSEL && size <= 4)
		io->regsel = (uint8_t)val;
	else if (off == IOAPIC_IOWIN && size == 4)
		reg_write(io, (uint32_t)val);
	else if (off == IOAPIC_EOI && size == 4)
		eoi_locked(io, val & 0xff);
	else
		pr_debug_ratelimited("ioapic: %u-byte write at %#llx ignored",
				     size, (unsigned long long)off);
	pthread_mutex_unlock(&io->lock);
}

void ioapic_set_irq(struct ioapic *io, unsigned int pin, int level)
{
	uint32_t bit = 1u << pin;

	if (pin >= IOAPIC_NR_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	if (io->rte[pin] & IOAPIC_RTE_LEVEL) {
		if (level)
			io->irr |= bit;
		else
			io->irr &= ~bit;
	} else if (level && !(io->line & bit)) {
		io->irr |= bit; /* a rising edge */
	}
	io->line = level ? io->line | bit : io->line & ~bit;
	service(io);
	pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi(struct ioapic *io, unsigned int vector)
{
	pthread_mutex_lock(&io->lock);
	eoi_locked(io, vector & 0xff);
	pthread_mutex_unlock(&io->lock);
}

uint64_t ioapic_rte(struct ioapic *io, unsigned int pin)
{
	uint64_t rte;

	pthread_mutex_lock(&io->lock);
	rte = pin < IOAPIC_NR_PINS ? io->rte[pin] : 0;
	pthread_mutex_unlock(&io->lock);
	return rte;
}
