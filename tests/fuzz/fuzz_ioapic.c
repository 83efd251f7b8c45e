// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace I/O APIC: register accesses (IOREGSEL, IOWIN, EOI) of any
 * size and offset, input lines of any pin and level, and EOIs of any
 * vector, in any order. Built once; each input starts from reset.
 */
#include <stdlib.h>

#include "hw/ioapic.h"
#include "util/log.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned int fired;

static void on_route(void *opaque, unsigned int pin, uint64_t addr,
		     uint32_t data)
{
	if (pin >= IOAPIC_NR_PINS)
		abort();
}

static void on_fire(void *opaque, unsigned int pin)
{
	if (pin >= IOAPIC_NR_PINS)
		abort();
	fired++;
}

static const struct ioapic_ops ops = { .route = on_route, .fire = on_fire };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ioapic *io;
	struct fz in = { data, size };

	if (!io) {
		log_level = getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_QUIET;
		io = ioapic_create(0, &ops, NULL);
		if (!io)
			abort();
	}
	ioapic_reset(io);
	while (!fz_done(&in)) {
		uint8_t op = fz_u8(&in);
		unsigned int sz = 1u << ((op >> 3) & 3);
		uint64_t off = fz_u8(&in);

		switch (op & 7) {
		case 0:
			(void)ioapic_mmio_read(io, off, sz);
			break;
		case 1:
			ioapic_mmio_write(io, off, fz_u32(&in), sz);
			break;
		case 2: /* an indirect register, the usual way */
			ioapic_mmio_write(io, IOAPIC_IOREGSEL, off, 4);
			ioapic_mmio_write(io, IOAPIC_IOWIN, fz_u32(&in), 4);
			break;
		case 3:
			ioapic_set_irq(io, off % 32, op >> 7);
			break;
		case 4:
			ioapic_eoi(io, off);
			break;
		default:
			ioapic_set_irq(io, off % IOAPIC_NR_PINS, 1);
			ioapic_set_irq(io, off % IOAPIC_NR_PINS, 0);
			break;
		}
	}
	return 0;
}
