// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "bus/bus.h"

struct rec {
	uint64_t last_off, last_val;
	unsigned int last_size, reads, writes;
	uint8_t regs[16];
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned int size)
{
	struct rec *r = opaque;
	uint64_t v = 0;

	r->reads++;
	r->last_off = off;
	r->last_size = size;
	memcpy(&v, &r->regs[off], size);
	return v;
}

static void rec_write(void *opaque, uint64_t off, uint64_t val,
		      unsigned int size)
{
	struct rec *r = opaque;

	r->writes++;
	r->last_off = off;
	r->last_val = val;
	r->last_size = size;
	memcpy(&r->regs[off], &val, size);
}

static const struct bus_ops rec_ops = { .read = rec_read, .write = rec_write };

static void test_register_overlap(void **state)
{
	struct bus bus;
	struct rec a = { 0 }, b = { 0 };

	bus_init(&bus, "t");
	assert_int_equal(bus_register(&bus, 0x100, 16, &rec_ops, &a, "a"), 0);
	assert_int_equal(bus_register(&bus, 0x10f, 1, &rec_ops, &b, "b"),
			 -EEXIST);
	assert_int_equal(bus_register(&bus, 0xf8, 9, &rec_ops, &b, "b"),
			 -EEXIST);
	assert_int_equal(bus_register(&bus, 0x110, 16, &rec_ops, &b, "b"), 0);
	assert_int_equal(bus_register(&bus, 0, 0, &rec_ops, &b, "z"), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX, 2, &rec_ops, &b, "w"),
			 -EINVAL);
	/* The last byte of the address space is a valid region. */
	assert_int_equal(bus_register(&bus, UINT64_MAX, 1, &rec_ops, &b, "e"),
			 0);
	assert_int_equal(bus_unregister(&bus, 0x110, &a), -ENOENT);
	assert_int_equal(bus_unregister(&bus, 0x110, &b), 0);
	assert_int_equal(bus_register(&bus, 0x110, 16, &rec_ops, &b, "b"), 0);
	bus_destroy(&bus);
}

static void test_dispatch(void **state)
{
	struct bus bus;
	struct rec a = { 0 }, b = { 0 };
	uint8_t buf[8];
	uint32_t v = 0x11223344;

	bus_init(&bus, "t");
	/* Registered out of order; lookup must still find each. */
	bus_register(&bus, 0x3f8, 8, &rec_ops, &b, "b");
	bus_register(&bus, 0x70, 2, &rec_ops, &a, "a");
	assert_true(bus_write(&bus, 0x3fa, &v, 4));
	assert_int_equal(b.last_off, 2);
	assert_int_equal(b.last_val, 0x11223344);
	assert_int_equal(b.last_size, 4);
	assert_true(bus_read(&bus, 0x3fa, buf, 2));
	assert_int_equal(buf[0], 0x44);
	assert_int_equal(buf[1], 0x33);
	assert_int_equal(a.writes, 0);
	bus_destroy(&bus);
}

static void test_unclaimed(void **state)
{
	struct bus bus;
	struct rec a = { 0 };
	uint8_t buf[8];
	uint64_t v = 0;

	bus_init(&bus, "t");
	bus_register(&bus, 0x1000, 4, &rec_ops, &a, "a");
	memset(buf, 0, sizeof(buf));
	assert_false(bus_read(&bus, 0x2000, buf, 8));
	for (int i = 0; i < 8; i++)
		assert_int_equal(buf[i], 0xff);
	assert_false(bus_write(&bus, 0x2000, &v, 8));
	assert_int_equal(bus.unclaimed_reads, 1);
	assert_int_equal(bus.unclaimed_writes, 1);
	assert_int_equal(a.reads + a.writes, 0);
	/* Absurd sizes are refused, never passed to a device. */
	assert_false(bus_write(&bus, 0x1000, &v, 0));
	assert_false(bus_write(&bus, 0x1000, &v, 9));
	bus_destroy(&bus);
}

static void test_straddle(void **state)
{
	struct bus bus;
	struct rec a = { 0 };
	uint8_t buf[4];
	uint32_t v = 0xaabbccdd;

	bus_init(&bus, "t");
	bus_register(&bus, 0x1000, 2, &rec_ops, &a, "a");
	a.regs[0] = 0x12;
	a.regs[1] = 0x34;
	/* Two bytes in the region, two beyond: split, not dropped. */
	assert_true(bus_read(&bus, 0x1000, buf, 4));
	assert_int_equal(buf[0], 0x12);
	assert_int_equal(buf[1], 0x34);
	assert_int_equal(buf[2], 0xff);
	assert_int_equal(buf[3], 0xff);
	assert_true(bus_write(&bus, 0xfff, &v, 4));
	assert_int_equal(a.regs[0], 0xcc);
	assert_int_equal(a.regs[1], 0xbb);
	bus_destroy(&bus);
}

static void test_many_regions(void **state)
{
	struct bus bus;
	static struct rec recs[200];
	uint8_t b;

	bus_init(&bus, "t");
	for (int i = 199; i >= 0; i--)
		assert_int_equal(bus_register(&bus, 0x10000 + i * 0x100, 0x10,
					      &rec_ops, &recs[i], "r"),
				 0);
	for (int i = 0; i < 200; i++) {
		recs[i].regs[3] = i;
		assert_true(bus_read(&bus, 0x10003 + i * 0x100, &b, 1));
		assert_int_equal(b, i);
		assert_false(bus_read(&bus, 0x10010 + i * 0x100, &b, 1));
	}
	bus_destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_overlap),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_unclaimed),
		cmocka_unit_test(test_straddle),
		cmocka_unit_test(test_many_regions),
	};

	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
