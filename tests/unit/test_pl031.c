// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/device.h"
#include "hw/pl031.h"
#include "kvm/vm.h"

#define BASE 0x9010000ull
#define GSI 2

#define DR 0x00
#define MR 0x04
#define LR 0x08
#define CR 0x0c
#define IMSC 0x10
#define RIS 0x14
#define MIS 0x18
#define ICR 0x1c

struct fixture {
	struct vm vm;
	struct pl031 *r;
};

static volatile int irq_level[32];

static void irq_recorder(struct vm *vm, unsigned int gsi, int level)
{
	if (gsi < 32)
		irq_level[gsi] = level;
}

static uint32_t rd(struct fixture *f, uint64_t off)
{
	uint32_t v = 0;

	assert_true(bus_read(&f->vm.mmio, BASE + off, &v, 4));
	return v;
}

static void wr(struct fixture *f, uint64_t off, uint32_t v)
{
	assert_true(bus_write(&f->vm.mmio, BASE + off, &v, 4));
}

/* DR's clock: time() is CLOCK_REALTIME_COARSE and may lag it. */
static uint32_t now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)ts.tv_sec;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	memset((void *)irq_level, 0, sizeof(irq_level));
	vm_init_common(&f->vm);
	f->vm.irq_set = irq_recorder;
	f->r = pl031_create(&f->vm, BASE, GSI);
	assert_non_null(f->r);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vm_destroy(&f->vm);
	free(f);
	return 0;
}

static void test_ids(void **state)
{
	struct fixture *f = *state;
	uint32_t pid = 0, cid = 0;

	for (int i = 0; i < 4; i++) {
		pid |= (rd(f, 0xfe0 + 4 * i) & 0xff) << (8 * i);
		cid |= (rd(f, 0xff0 + 4 * i) & 0xff) << (8 * i);
	}
	assert_int_equal(pid, 0x00141031);
	assert_int_equal(cid, 0xb105f00d);
}

/* What rtc-pl031 reads for the date: the host's UTC seconds. */
static void test_counts_host_time(void **state)
{
	struct fixture *f = *state;
	uint32_t before = now_sec();
	uint32_t dr = rd(f, DR);
	uint32_t after = now_sec();

	assert_in_range(dr, before, after);
	assert_int_equal(rd(f, CR), 1);
	/* CR cannot stop it. */
	wr(f, CR, 0);
	assert_int_equal(rd(f, CR), 1);
	/* DR is read-only. */
	wr(f, DR, 5);
	assert_in_range(rd(f, DR), before, now_sec());
}

static void test_load(void **state)
{
	struct fixture *f = *state;

	wr(f, LR, 1000);
	assert_int_equal(rd(f, LR), 1000);
	assert_in_range(rd(f, DR), 1000, 1001);
	/* Wrapping past 2^32 - 1. */
	wr(f, LR, 0xffffffffu);
	assert_true(rd(f, DR) == 0xffffffffu || rd(f, DR) <= 1);
}

static void test_match_interrupt(void **state)
{
	struct fixture *f = *state;
	uint32_t now;

	wr(f, IMSC, 1);
	assert_int_equal(rd(f, IMSC), 1);
	/* A load that lands on MR is not a match. */
	wr(f, MR, 500);
	wr(f, LR, 500);
	assert_int_equal(rd(f, RIS), 0);
	assert_int_equal(irq_level[GSI], 0);
	/* One second on, the thread raises it by itself. */
	now = rd(f, DR);
	wr(f, MR, now + 1);
	for (int i = 0; i < 300 && !irq_level[GSI]; i++)
		usleep(10000);
	assert_int_equal(irq_level[GSI], 1);
	assert_int_equal(rd(f, RIS), 1);
	assert_int_equal(rd(f, MIS), 1);
	/* Masked: RIS stays, MIS and the line drop. */
	wr(f, IMSC, 0);
	assert_int_equal(irq_level[GSI], 0);
	assert_int_equal(rd(f, MIS), 0);
	assert_int_equal(rd(f, RIS), 1);
	wr(f, ICR, 1);
	assert_int_equal(rd(f, RIS), 0);
	wr(f, IMSC, 1);
	assert_int_equal(irq_level[GSI], 0);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;

	wr(f, LR, 7);
	wr(f, MR, 9);
	wr(f, IMSC, 1);
	devices_reset(&f->vm);
	assert_int_equal(rd(f, MR), 0);
	assert_int_equal(rd(f, IMSC), 0);
	assert_in_range(rd(f, DR), now_sec() - 1, now_sec());
	for (uint64_t off = 0; off < PL031_MMIO_SIZE; off += 4)
		(void)rd(f, off);
	assert_int_equal(rd(f, 0x100), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts_host_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_interrupt, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
