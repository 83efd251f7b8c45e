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

#include "hw/rtc.h"
#include "kvm/vm.h"

#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d

struct fixture {
	struct vm vm;
	struct rtc *rtc;
};

static int irq8_level;
static unsigned int irq8_edges;

static void irq_recorder(struct vm *vm, unsigned int gsi, int level)
{
	if (gsi != 8)
		return;
	if (level && !__atomic_load_n(&irq8_level, __ATOMIC_SEQ_CST))
		__atomic_add_fetch(&irq8_edges, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&irq8_level, level, __ATOMIC_SEQ_CST);
}

static int irq8(void)
{
	return __atomic_load_n(&irq8_level, __ATOMIC_SEQ_CST);
}

/* Waits up to @ms for IRQ 8 to go up; returns its level. */
static int wait_irq8(int ms)
{
	for (int i = 0; i < ms / 10 && !irq8(); i++)
		usleep(10 * 1000);
	return irq8();
}

static uint8_t cmos_in(struct fixture *f, uint8_t idx)
{
	uint8_t v = 0;

	assert_true(bus_write(&f->vm.pio, 0x70, &idx, 1));
	assert_true(bus_read(&f->vm.pio, 0x71, &v, 1));
	return v;
}

static void cmos_out(struct fixture *f, uint8_t idx, uint8_t v)
{
	assert_true(bus_write(&f->vm.pio, 0x70, &idx, 1));
	assert_true(bus_write(&f->vm.pio, 0x71, &v, 1));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	irq8_level = 0;
	irq8_edges = 0;
	vm_init_common(&f->vm);
	f->vm.irq_set = irq_recorder;
	f->rtc = rtc_create(&f->vm);
	assert_non_null(f->rtc);
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

static unsigned int bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0x0f);
}

struct rtc_time {
	unsigned int sec, min, hour, wday, mday, mon, year;
};

/* Linux's mc146818_get_time(): wait out UIP, read until stable. */
static void read_time(struct fixture *f, struct rtc_time *t)
{
	struct rtc_time again;
	bool binary = cmos_in(f, REG_B) & 0x04;
	unsigned int (*dec)(uint8_t) = binary ? NULL : bcd;

	for (;;) {
		while (cmos_in(f, REG_A) & 0x80)
			usleep(10);
		t->sec = cmos_in(f, 0x00);
		t->min = cmos_in(f, 0x02);
		t->hour = cmos_in(f, 0x04);
		t->wday = cmos_in(f, 0x06);
		t->mday = cmos_in(f, 0x07);
		t->mon = cmos_in(f, 0x08);
		t->year = cmos_in(f, 0x32) << 8 | cmos_in(f, 0x09);
		again.sec = cmos_in(f, 0x00);
		if (again.sec == t->sec)
			break;
	}
	if (dec) {
		t->sec = dec(t->sec);
		t->min = dec(t->min);
		t->hour = (t->hour & 0x80) | dec(t->hour & 0x7f);
		t->wday = dec(t->wday);
		t->mday = dec(t->mday);
		t->mon = dec(t->mon);
		t->year = dec(t->year >> 8) * 100 + dec(t->year & 0xff);
	} else {
		t->year = (t->year >> 8) * 100 + (t->year & 0xff);
	}
}

static time_t rtc_to_epoch(const struct rtc_time *t)
{
	struct tm tm = { .tm_sec = t->sec,
			 .tm_min = t->min,
			 .tm_hour = t->hour,
			 .tm_mday = t->mday,
			 .tm_mon = t->mon - 1,
			 .tm_year = t->year - 1900 };

	return timegm(&tm);
}

static void check_host_time(struct fixture *f)
{
	struct rtc_time t;
	time_t before = time(NULL), got, after;
	struct tm tm;

	read_time(f, &t);
	after = time(NULL);
	got = rtc_to_epoch(&t);
	assert_true(got >= before - 1 && got <= after + 1);
	gmtime_r(&got, &tm);
	assert_int_equal(t.wday, tm.tm_wday + 1);
}

static void test_bcd_time_matches_host(void **state)
{
	struct fixture *f = *state;

	/* Power-on: BCD, 24 h. */
	assert_int_equal(cmos_in(f, REG_B) & 0x06, 0x02);
	check_host_time(f);
	assert_int_equal(cmos_in(f, REG_D), 0x80);
}

static void test_binary_time_matches_host(void **state)
{
	struct fixture *f = *state;

	cmos_out(f, REG_B, 0x06);
	check_host_time(f);
	assert_true(cmos_in(f, 0x32) == 20 || cmos_in(f, 0x32) == 21);
}

static void test_12_hour_mode(void **state)
{
	struct fixture *f = *state;
	struct rtc_time t;
	time_t now;
	struct tm tm;
	unsigned int want;

	cmos_out(f, REG_B, 0x04); /* binary, 12 h */
	do {
		now = time(NULL);
		read_time(f, &t);
	} while (time(NULL) != now);
	gmtime_r(&now, &tm);
	want = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
	if (tm.tm_hour >= 12)
		want |= 0x80;
	assert_int_equal(t.hour, want);
}

static void test_reg_c_read_to_clear(void **state)
{
	struct fixture *f = *state;
	uint8_t c;

	cmos_in(f, REG_C);
	usleep(1100 * 1000);
	/* An update happened; UIE is off so no IRQF. */
	c = cmos_in(f, REG_C);
	assert_int_equal(c & 0x90, 0x10);
	assert_int_equal(cmos_in(f, REG_C) & 0x10, 0);
	assert_int_equal(irq8_edges, 0);

	/* The periodic flag, here at 2 Hz, without PIE. */
	cmos_out(f, REG_A, 0x2f);
	cmos_in(f, REG_C);
	usleep(510 * 1000);
	assert_int_equal(cmos_in(f, REG_C) & 0xc0, 0x40);
	assert_int_equal(cmos_in(f, REG_C) & 0x40, 0);
	assert_int_equal(irq8_edges, 0);
}

static void test_update_interrupt(void **state)
{
	struct fixture *f = *state;
	uint8_t c;

	cmos_in(f, REG_C);
	cmos_out(f, REG_B, 0x02 | 0x10);
	assert_int_equal(wait_irq8(1200), 1);
	c = cmos_in(f, REG_C);
	assert_int_equal(c & 0x90, 0x90);
	assert_int_equal(irq8(), 0);
	assert_int_equal(cmos_in(f, REG_C) & 0x90, 0);
	/* SET clears UIE, as the data sheet says. */
	cmos_out(f, REG_B, 0x02 | 0x10 | 0x80);
	assert_int_equal(cmos_in(f, REG_B), 0x82);
}

static void test_periodic_interrupt(void **state)
{
	struct fixture *f = *state;

	cmos_out(f, REG_A, 0x2d); /* 8 Hz */
	cmos_in(f, REG_C);
	cmos_out(f, REG_B, 0x02 | 0x40);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(wait_irq8(500), 1);
		assert_int_equal(cmos_in(f, REG_C) & 0xc0, 0xc0);
	}
	assert_true(irq8_edges >= 4);
}

static void test_alarm_interrupt(void **state)
{
	struct fixture *f = *state;
	struct rtc_time t;

	cmos_out(f, REG_B, 0x06); /* binary, 24 h */
	read_time(f, &t);
	/* Every minute, at sec+2. */
	cmos_out(f, 0x01, (t.sec + 2) % 60);
	cmos_out(f, 0x03, 0xc0);
	cmos_out(f, 0x05, 0xff);
	cmos_in(f, REG_C);
	cmos_out(f, REG_B, 0x06 | 0x20);
	assert_int_equal(wait_irq8(3500), 1);
	assert_int_equal(cmos_in(f, REG_C) & 0xa0, 0xa0);
	/* An alarm that can never match never fires. */
	cmos_out(f, 0x01, 75);
	cmos_out(f, 0x03, 0xc0);
	usleep(1100 * 1000);
	assert_int_equal(cmos_in(f, REG_C) & 0xa0, 0);
}

static long frac_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_nsec;
}

/*
 * Polls register A across one second boundary: sleeps to 1 ms before it,
 * spins until 1 ms after. True if UIP was seen set and then clear.
 */
static bool catch_uip(struct fixture *f)
{
	bool seen = false;
	long ns = frac_ns();

	if (ns < 999000000l)
		usleep((999000000l - ns) / 1000);
	for (;;) {
		if (cmos_in(f, REG_A) & 0x80)
			seen = true;
		else if (seen)
			return true;
		/* Past the window, or preempted out of it: missed. */
		ns = frac_ns();
		if (ns > 1000000l && ns < 999000000l)
			return false;
	}
}

static void test_uip_window(void **state)
{
	struct fixture *f = *state;
	int caught = 0;

	/* A loaded host may preempt us across one 244 us window. */
	for (int i = 0; i < 10 && !caught; i++)
		caught = catch_uip(f);
	assert_true(caught);

	/* Never set in mid-second. */
	for (int i = 0; i < 1000; i++) {
		long before = frac_ns();
		uint8_t a = cmos_in(f, REG_A);
		long after = frac_ns();

		if (before > 100000000l && after < 900000000l &&
		    before <= after)
			assert_int_equal(a & 0x80, 0);
	}

	/* The divider bits are the guest's; UIP is read-only. */
	cmos_out(f, REG_A, 0xa6);
	assert_int_equal(cmos_in(f, REG_A) & 0x7f, 0x26);
}

/* Leaves SET on: the clock stays frozen at what was written. */
static void set_time(struct fixture *f, uint8_t b, const uint8_t v[7])
{
	static const uint8_t idx[7] = {
		0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32
	};

	cmos_out(f, REG_B, b | 0x80);
	for (int i = 0; i < 7; i++)
		cmos_out(f, idx[i], v[i]);
}

static void test_guest_time_is_an_offset(void **state)
{
	struct fixture *f = *state;
	/* 2001-02-03 04:05:06, BCD */
	static const uint8_t bcd_time[7] = { 0x06, 0x05, 0x04, 0x03,
					     0x02, 0x01, 0x20 };
	struct rtc_time t;
	struct tm want = { .tm_sec = 6,
			   .tm_min = 5,
			   .tm_hour = 4,
			   .tm_mday = 3,
			   .tm_mon = 1,
			   .tm_year = 101 };
	time_t w = timegm(&want), got;

	set_time(f, 0x02, bcd_time);
	/* Frozen while SET is on: reads return what was written. */
	usleep(1100 * 1000);
	assert_int_equal(cmos_in(f, 0x00), 0x06);
	assert_int_equal(cmos_in(f, 0x09), 0x01);
	assert_int_equal(cmos_in(f, REG_A) & 0x80, 0);
	cmos_out(f, REG_B, 0x02);

	read_time(f, &t);
	got = rtc_to_epoch(&t);
	assert_true(got >= w && got <= w + 1);
	assert_int_equal(t.wday, 7); /* a Saturday */

	/* It runs on from there, in either format. */
	usleep(1100 * 1000);
	cmos_out(f, REG_B, 0x06);
	read_time(f, &t);
	got = rtc_to_epoch(&t);
	assert_true(got >= w + 1 && got <= w + 3);

	/* Setting one field of a running clock keeps the others. */
	cmos_out(f, 0x09, 99);
	read_time(f, &t);
	assert_int_equal(t.year, 2099);
	assert_int_equal(t.mon, 2);
	assert_int_equal(t.mday, 3);
}

static void test_divider_reset_freezes(void **state)
{
	struct fixture *f = *state;
	uint8_t s1;

	/* Linux's set_time also holds the divider in reset. */
	cmos_out(f, REG_A, 0x70);
	s1 = cmos_in(f, 0x00);
	usleep(1100 * 1000);
	assert_int_equal(cmos_in(f, 0x00), s1);
	assert_int_equal(cmos_in(f, REG_A) & 0x80, 0);
	cmos_out(f, REG_A, 0x26);
	usleep(1100 * 1000);
	assert_int_not_equal(cmos_in(f, 0x00), s1);
}

static void test_cmos_ram_and_index(void **state)
{
	struct fixture *f = *state;
	uint8_t v = 0;

	for (unsigned int i = 0x0e; i < 0x80; i++)
		if (i != 0x32)
			cmos_out(f, i, i ^ 0xa5);
	for (unsigned int i = 0x0e; i < 0x80; i++)
		if (i != 0x32)
			assert_int_equal(cmos_in(f, i), i ^ 0xa5);
	/* Bit 7 of the index is the NMI mask, not an address bit. */
	cmos_out(f, 0x80 | 0x20, 0x42);
	assert_int_equal(cmos_in(f, 0x20), 0x42);
	assert_int_equal(cmos_in(f, 0x80 | 0x20), 0x42);
	/* Register D and C ignore writes. */
	cmos_out(f, REG_D, 0x00);
	assert_int_equal(cmos_in(f, REG_D), 0x80);
	cmos_out(f, REG_C, 0xff);
	assert_int_equal(cmos_in(f, REG_C) & 0x80, 0);
	/* The index port is write-only. */
	assert_true(bus_read(&f->vm.pio, 0x70, &v, 1));
	assert_int_equal(v, 0xff);
}

static void test_memory_size(void **state)
{
	struct fixture *f = *state;
	unsigned int sum = 0;

	rtc_set_memory_size(f->rtc, 3ull << 30, 5ull << 30);
	assert_int_equal(cmos_in(f, 0x15) | cmos_in(f, 0x16) << 8, 640);
	assert_int_equal(cmos_in(f, 0x17) | cmos_in(f, 0x18) << 8, 0xffff);
	assert_int_equal(cmos_in(f, 0x30) | cmos_in(f, 0x31) << 8, 0xffff);
	assert_int_equal(cmos_in(f, 0x34) | cmos_in(f, 0x35) << 8,
			 ((3u << 30) - (16u << 20)) >> 16);
	assert_int_equal(cmos_in(f, 0x5b) | cmos_in(f, 0x5c) << 8 |
				 cmos_in(f, 0x5d) << 16,
			 (5ull << 30) >> 16);
	for (unsigned int i = 0x10; i <= 0x2d; i++)
		sum += cmos_in(f, i);
	assert_int_equal(cmos_in(f, 0x2e) << 8 | cmos_in(f, 0x2f), sum);

	rtc_set_memory_size(f->rtc, 8 << 20, 0);
	assert_int_equal(cmos_in(f, 0x17) | cmos_in(f, 0x18) << 8, 7 * 1024);
	assert_int_equal(cmos_in(f, 0x34) | cmos_in(f, 0x35) << 8, 0);
	rtc_cmos_write(f->rtc, 0x5f, 3);
	assert_int_equal(cmos_in(f, 0x5f), 3);
}

/* A hostile guest: garbage time, formats and rates must not hurt. */
static void test_fuzz_registers(void **state)
{
	struct fixture *f = *state;
	uint8_t v;

	srand(2);
	for (unsigned int i = 0; i < 50000; i++) {
		uint8_t idx = rand(), val = rand();

		if (rand() & 1) {
			cmos_out(f, idx, val);
		} else {
			assert_true(bus_write(&f->vm.pio, 0x70, &idx, 1));
			assert_true(bus_read(&f->vm.pio, 0x71, &v, 1));
		}
	}
	cmos_out(f, REG_A, 0x26);
	cmos_out(f, REG_B, 0x02);
	cmos_in(f, 0x00);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bcd_time_matches_host,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_time_matches_host,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_12_hour_mode, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reg_c_read_to_clear, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_update_interrupt, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_periodic_interrupt, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_alarm_interrupt, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_uip_window, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_guest_time_is_an_offset,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_divider_reset_freezes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmos_ram_and_index, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_memory_size, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fuzz_registers, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
