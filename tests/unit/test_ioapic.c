// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace I/O APIC: IOREGSEL/IOWIN, ID/version/arbitration, the
 * redirection table's writable bits, the message each entry sends
 * (compatibility and remappable format), edge and level pins, masking,
 * remote IRR and its EOI by vector (KVM's EOI exit and the EOI register).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw/ioapic.h"

static struct {
	unsigned int fires[IOAPIC_NR_PINS];
	unsigned int routes[IOAPIC_NR_PINS];
	uint64_t addr[IOAPIC_NR_PINS];
	uint32_t data[IOAPIC_NR_PINS];
} rec;

static void on_route(void *opaque, unsigned int pin, uint64_t addr,
		     uint32_t data)
{
	rec.routes[pin]++;
	rec.addr[pin] = addr;
	rec.data[pin] = data;
}

static void on_fire(void *opaque, unsigned int pin)
{
	rec.fires[pin]++;
}

static const struct ioapic_ops ops = { .route = on_route, .fire = on_fire };

static struct ioapic *io;

static int setup(void **state)
{
	memset(&rec, 0, sizeof(rec));
	io = ioapic_create(0, &ops, NULL);
	return io ? 0 : -1;
}

static int teardown(void **state)
{
	ioapic_destroy(io);
	io = NULL;
	return 0;
}

static uint32_t rd(unsigned int reg)
{
	ioapic_mmio_write(io, IOAPIC_IOREGSEL, reg, 4);
	return ioapic_mmio_read(io, IOAPIC_IOWIN, 4);
}

static void wr(unsigned int reg, uint32_t val)
{
	ioapic_mmio_write(io, IOAPIC_IOREGSEL, reg, 4);
	ioapic_mmio_write(io, IOAPIC_IOWIN, val, 4);
}

static void set_rte(unsigned int pin, uint64_t rte)
{
	wr(IOAPIC_REG_RTE + 2 * pin + 1, rte >> 32);
	wr(IOAPIC_REG_RTE + 2 * pin, (uint32_t)rte);
}

static void test_registers(void **state)
{
	assert_int_equal(rd(IOAPIC_REG_VER), 0x170020);
	assert_int_equal(rd(IOAPIC_REG_ID), 0);
	wr(IOAPIC_REG_ID, 0xffffffff);
	assert_int_equal(rd(IOAPIC_REG_ID), 0x0f000000);
	assert_int_equal(rd(IOAPIC_REG_ARB), 0x0f000000);
	wr(IOAPIC_REG_VER, 0); /* read-only */
	assert_int_equal(rd(IOAPIC_REG_VER), 0x170020);
	ioapic_mmio_write(io, IOAPIC_IOREGSEL, 0x23, 1);
	assert_int_equal(ioapic_mmio_read(io, IOAPIC_IOREGSEL, 4), 0x23);
	assert_int_equal(rd(0x40), 0); /* past the table */
	/* Power-on: all masked. */
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		assert_int_equal(rd(IOAPIC_REG_RTE + 2 * pin),
				 IOAPIC_RTE_MASKED);
		assert_int_equal(rd(IOAPIC_REG_RTE + 2 * pin + 1), 0);
	}
	/* Delivery status, remote IRR, bits 31:17 and 47:32: read-only. */
	wr(IOAPIC_REG_RTE + 2 * 3, 0xffffffff);
	wr(IOAPIC_REG_RTE + 2 * 3 + 1, 0xffffffff);
	assert_int_equal(ioapic_rte(io, 3), 0xffff00000001afffull);
	/* Only whole-register accesses at IOWIN. */
	ioapic_mmio_write(io, IOAPIC_IOREGSEL, IOAPIC_REG_VER, 4);
	assert_int_equal(ioapic_mmio_read(io, IOAPIC_IOWIN, 2), 0);
	ioapic_reset(io);
	assert_int_equal(ioapic_rte(io, 3), IOAPIC_RTE_MASKED);
	assert_int_equal(rd(IOAPIC_REG_ID), 0);
}

static void test_messages(void **state)
{
	uint64_t addr;
	uint32_t data;

	/* Compatibility format: destination 63:56, logical, fixed, level. */
	set_rte(4,
		0x03ull << 56 | IOAPIC_RTE_DESTMODE | IOAPIC_RTE_LEVEL | 0x31);
	assert_int_equal(rec.addr[4], 0xfee03004ull);
	assert_int_equal(rec.data[4], 0x31 | 1u << 15);
	/* Lowest priority, edge, physical. */
	ioapic_rte_msg(0x01ull << 56 | 1ull << IOAPIC_RTE_DELMODE_SHIFT | 0x40,
		       &addr, &data);
	assert_int_equal(addr, 0xfee01000ull);
	assert_int_equal(data, 0x140);
	/* Remappable: index 14:0 in 63:49, index 15 in bit 11. */
	ioapic_rte_msg(0x1234ull << 49 | IOAPIC_RTE_FORMAT |
			       IOAPIC_RTE_DESTMODE | 0x55,
		       &addr, &data);
	assert_int_equal(addr,
			 0xfee00000ull | 0x1234u << 5 | 1u << 4 | 1u << 2);
	assert_int_equal(data, 0x55);
}

static void test_edge(void **state)
{
	set_rte(4, 0x30);
	ioapic_set_irq(io, 4, 1);
	assert_int_equal(rec.fires[4], 1);
	ioapic_set_irq(io, 4, 1); /* no new edge */
	assert_int_equal(rec.fires[4], 1);
	ioapic_set_irq(io, 4, 0);
	ioapic_set_irq(io, 4, 1);
	assert_int_equal(rec.fires[4], 2);
	ioapic_set_irq(io, 4, 0);
	/* An edge while masked is held and sent on unmask, once. */
	set_rte(4, 0x30 | IOAPIC_RTE_MASKED);
	ioapic_set_irq(io, 4, 1);
	ioapic_set_irq(io, 4, 0);
	ioapic_set_irq(io, 4, 1);
	ioapic_set_irq(io, 4, 0);
	assert_int_equal(rec.fires[4], 2);
	set_rte(4, 0x30);
	assert_int_equal(rec.fires[4], 3);
	assert_int_equal(ioapic_rte(io, 4) & IOAPIC_RTE_REMOTE_IRR, 0);
	/* Raised while masked and still high at the unmask: sent. */
	set_rte(4, 0x30 | IOAPIC_RTE_MASKED);
	ioapic_set_irq(io, 4, 1);
	set_rte(4, 0x30);
	assert_int_equal(rec.fires[4], 4);
	ioapic_set_irq(io, 4, 0);
	/* Pins past the table are ignored. */
	ioapic_set_irq(io, IOAPIC_NR_PINS, 1);
}

static void test_level(void **state)
{
	set_rte(9, IOAPIC_RTE_LEVEL | 0x39);
	ioapic_set_irq(io, 9, 1);
	assert_int_equal(rec.fires[9], 1);
	assert_true(ioapic_rte(io, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* Still asserted, remote IRR set: nothing more until the EOI. */
	ioapic_set_irq(io, 9, 1);
	assert_int_equal(rec.fires[9], 1);
	ioapic_eoi(io, 0x38); /* another vector */
	assert_true(ioapic_rte(io, 9) & IOAPIC_RTE_REMOTE_IRR);
	ioapic_eoi(io, 0x39); /* still asserted: sent again */
	assert_int_equal(rec.fires[9], 2);
	assert_true(ioapic_rte(io, 9) & IOAPIC_RTE_REMOTE_IRR);
	ioapic_set_irq(io, 9, 0);
	ioapic_eoi(io, 0x39);
	assert_int_equal(rec.fires[9], 2);
	assert_int_equal(ioapic_rte(io, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
	/* The EOI register (version 0x20) does the same. */
	ioapic_set_irq(io, 9, 1);
	assert_int_equal(rec.fires[9], 3);
	ioapic_mmio_write(io, IOAPIC_EOI, 0x39, 4);
	assert_int_equal(rec.fires[9], 4);
	ioapic_set_irq(io, 9, 0);
	ioapic_mmio_write(io, IOAPIC_EOI, 0x39, 4);
	/* Masked while asserted: sent when unmasked, if still asserted. */
	set_rte(9, IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED | 0x39);
	ioapic_set_irq(io, 9, 1);
	assert_int_equal(rec.fires[9], 4);
	set_rte(9, IOAPIC_RTE_LEVEL | 0x39);
	assert_int_equal(rec.fires[9], 5);
	/* Switching to edge clears a stuck remote IRR (Linux < 0x20). */
	set_rte(9, 0x39);
	assert_int_equal(ioapic_rte(io, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
	/* Back to level with the line high: a request again. */
	set_rte(9, IOAPIC_RTE_LEVEL | 0x39);
	assert_int_equal(rec.fires[9], 6);
	/* Deasserted before service: nothing pending. */
	ioapic_set_irq(io, 9, 0);
	ioapic_eoi(io, 0x39);
	assert_int_equal(rec.fires[9], 6);
}

static void test_routes_follow_entries(void **state)
{
	unsigned int before = rec.routes[2];

	set_rte(2, 0x22);
	assert_int_equal(rec.routes[2], before + 2); /* high, then low */
	assert_int_equal(rec.data[2], 0x22);
	ioapic_reset(io);
	assert_int_equal(rec.routes[2], before + 3);
	assert_int_equal(rec.data[2], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routes_follow_entries,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
