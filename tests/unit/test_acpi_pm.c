// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "bus/bus.h"
#include "bus/device.h"
#include "helpers/pio.h"
#include "hw/acpi_pm.h"
#include "kvm/vm.h"
#include "util/log.h"

static struct vm vm;
static struct acpi_pm *pm;
static int sci_level = -1;
static unsigned int sci_changes;

static void record_irq(struct vm *v, unsigned int gsi, int level)
{
	assert_int_equal(gsi, ACPI_SCI_IRQ);
	sci_level = level;
	sci_changes++;
}

static int setup(void **state)
{
	vm_init_common(&vm);
	vm.irq_set = record_irq;
	sci_level = -1;
	sci_changes = 0;
	pm = acpi_pm_create(&vm);
	return pm ? 0 : -1;
}

static int teardown(void **state)
{
	devices_destroy(&vm);
	assert_int_equal(vm.pio.nr, 0);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	return 0;
}

#define PM1_STS ACPI_PM1_EVT_PORT
#define PM1_EN (ACPI_PM1_EVT_PORT + ACPI_PM1_EVT_LEN / 2)
#define PM1_CNT ACPI_PM1_CNT_PORT

static uint16_t slp(unsigned int typ, bool en)
{
	return (typ << ACPI_PM1_CNT_SLP_TYP_SHIFT) |
	       (en ? ACPI_PM1_CNT_SLP_EN : 0);
}

static void test_registered(void **state)
{
	struct bus_region r;

	assert_true(bus_find(&vm.pio, ACPI_PM_IO_BASE, &r));
	assert_int_equal(r.base, ACPI_PM_IO_BASE);
	assert_int_equal(r.len, ACPI_PM_IO_LEN);
	assert_ptr_equal(vm.devices, &pm->dev);
	/* The FADT's blocks and reset register all land in it. */
	assert_true(ACPI_PM1_EVT_PORT >= ACPI_PM_IO_BASE);
	assert_true(ACPI_PM1_CNT_PORT + ACPI_PM1_CNT_LEN <=
		    ACPI_PM_IO_BASE + ACPI_PM_IO_LEN);
	assert_true(ACPI_RESET_PORT < ACPI_PM_IO_BASE + ACPI_PM_IO_LEN);
	assert_true(ACPI_PM_TMR_PORT + ACPI_PM_TMR_LEN <=
		    ACPI_PM_IO_BASE + ACPI_PM_IO_LEN);
	assert_true(ACPI_PM_TMR_PORT >= ACPI_RESET_PORT + 1);
	/* A second one cannot claim the same ports. */
	assert_null(acpi_pm_create(&vm));
}

static void test_initial_state(void **state)
{
	assert_int_equal(pio_in(&vm, PM1_STS, 2), 0);
	assert_int_equal(pio_in(&vm, PM1_EN, 2), 0);
	/* SMI_CMD is 0: ACPI mode from the start. */
	assert_int_equal(pio_in(&vm, PM1_CNT, 2), ACPI_PM1_CNT_SCI_EN);
	assert_int_equal(pio_in(&vm, PM1_STS, 4), 0);
}

static void test_status_w1c(void **state)
{
	acpi_pm_power_button(pm);
	assert_int_equal(pio_in(&vm, PM1_STS, 2), ACPI_PM1_PWRBTN);

	/* Writing 0s, or 1s to other bits, leaves it set. */
	pio_out(&vm, PM1_STS, 0, 2);
	assert_int_equal(pio_in(&vm, PM1_STS, 2), ACPI_PM1_PWRBTN);
	pio_out(&vm, PM1_STS, (uint16_t)~ACPI_PM1_PWRBTN, 2);
	assert_int_equal(pio_in(&vm, PM1_STS, 2), ACPI_PM1_PWRBTN);
	/* Writing it as a value ("read, write back") clears it. */
	pio_out(&vm, PM1_STS, pio_in(&vm, PM1_STS, 2), 2);
	assert_int_equal(pio_in(&vm, PM1_STS, 2), 0);

	/* Byte access to the high half works the same way. */
	acpi_pm_power_button(pm);
	pio_out(&vm, PM1_STS + 1, ACPI_PM1_PWRBTN >> 8, 1);
	assert_int_equal(pio_in(&vm, PM1_STS, 2), 0);
}

static void test_enable_and_sci(void **state)
{
	pio_out(&vm, PM1_EN, 0xffff, 2);
	/* Only bits with a status event behind them stick. */
	assert_int_equal(pio_in(&vm, PM1_EN, 2) & ACPI_PM1_STS_WAK, 0);
	assert_true(pio_in(&vm, PM1_EN, 2) & ACPI_PM1_PWRBTN);
	pio_out(&vm, PM1_EN, ACPI_PM1_PWRBTN, 2);
	assert_int_equal(sci_changes, 0);

	acpi_pm_power_button(pm);
	assert_int_equal(sci_level, 1);
	/* Level-triggered: stays up until the guest acks. */
	acpi_pm_power_button(pm);
	assert_int_equal(sci_changes, 1);
	pio_out(&vm, PM1_STS, ACPI_PM1_PWRBTN, 2);
	assert_int_equal(sci_level, 0);

	/* Pending status raises the SCI as soon as it is enabled. */
	pio_out(&vm, PM1_EN, 0, 2);
	acpi_pm_power_button(pm);
	assert_int_equal(sci_level, 0);
	pio_out(&vm, PM1_EN, ACPI_PM1_PWRBTN, 2);
	assert_int_equal(sci_level, 1);
	pio_out(&vm, PM1_EN, 0, 2);
	assert_int_equal(sci_level, 0);

	/* Device reset drops everything. */
	pio_out(&vm, PM1_EN, ACPI_PM1_PWRBTN, 2);
	assert_int_equal(sci_level, 1);
	devices_reset(&vm);
	assert_int_equal(sci_level, 0);
	assert_int_equal(pio_in(&vm, PM1_STS, 2), 0);
	assert_int_equal(pio_in(&vm, PM1_EN, 2), 0);
}

static void test_s5_powers_off(void **state)
{
	/* ACPICA writes SLP_TYP first, then SLP_TYP | SLP_EN. */
	pio_out(&vm, PM1_CNT, slp(ACPI_SLP_TYP_S5, false) | ACPI_PM1_CNT_SCI_EN,
		2);
	assert_int_equal(vm.stop_reason, VM_RUNNING);
	assert_int_equal(pio_in(&vm, PM1_CNT, 2),
			 slp(ACPI_SLP_TYP_S5, false) | ACPI_PM1_CNT_SCI_EN);

	pio_out(&vm, PM1_CNT, slp(ACPI_SLP_TYP_S5, true) | ACPI_PM1_CNT_SCI_EN,
		2);
	assert_int_equal(vm.stop_reason, VM_STOP_POWEROFF);
	assert_int_equal(vm.exit_status, 0);
	assert_string_equal(vm.stop_message, "guest powered off");
}

static void test_s5_byte_write(void **state)
{
	/* SLP_TYP and SLP_EN both live in the high byte. */
	pio_out(&vm, PM1_CNT + 1, slp(ACPI_SLP_TYP_S5, true) >> 8, 1);
	assert_int_equal(vm.stop_reason, VM_STOP_POWEROFF);
}

static void test_other_sleep_type(void **state)
{
	for (unsigned int typ = 0; typ < 8; typ++) {
		if (typ == ACPI_SLP_TYP_S5)
			continue;
		pio_out(&vm, PM1_STS, ACPI_PM1_STS_WAK, 2);
		pio_out(&vm, PM1_CNT, slp(typ, true), 2);
		assert_int_equal(vm.stop_reason, VM_RUNNING);
		/* Woken at once, so a guest spinning on WAK_STS moves on. */
		assert_true(pio_in(&vm, PM1_STS, 2) & ACPI_PM1_STS_WAK);
		/* SLP_EN is write-only. */
		assert_int_equal(pio_in(&vm, PM1_CNT, 2) & ACPI_PM1_CNT_SLP_EN,
				 0);
	}
	/* A low-byte write cannot carry SLP_EN. */
	pio_out(&vm, PM1_CNT, ACPI_PM1_CNT_SCI_EN, 1);
	assert_int_equal(vm.stop_reason, VM_RUNNING);
}

static void test_reset_register(void **state)
{
	/* Selecting the reset type alone does not reset. */
	pio_out(&vm, ACPI_RESET_PORT, 0x02, 1);
	assert_int_equal(vm.stop_reason, VM_RUNNING);
	assert_int_equal(pio_in(&vm, ACPI_RESET_PORT, 1), 0);
	pio_out(&vm, ACPI_RESET_PORT, ACPI_RESET_VALUE, 1);
	assert_int_equal(vm.stop_reason, VM_STOP_RESET);
	assert_string_equal(vm.stop_message,
			    "guest requested reset (ACPI reset register)");
}

static void test_reset_register_0e(void **state)
{
	pio_out(&vm, ACPI_RESET_PORT, 0x0e, 1);
	assert_int_equal(vm.stop_reason, VM_STOP_RESET);
}

static uint64_t ticks(uint64_t ns)
{
	return ns * ACPI_PM_TMR_HZ / 1000000000ull;
}

/*
 * Two reads 50 ms apart advance by 3.579545 MHz times the time between
 * them, bracketed by clock readings taken around each read (so a busy
 * host only widens the window, never fails the test).
 */
static void test_timer_rate(void **state)
{
	struct timespec pause = { .tv_nsec = 50000000 };
	uint64_t t0, t1, t2, t3;
	uint32_t a, b, d;

	t0 = monotonic_ns();
	a = pio_in(&vm, ACPI_PM_TMR_PORT, 4);
	t1 = monotonic_ns();
	nanosleep(&pause, NULL);
	t2 = monotonic_ns();
	b = pio_in(&vm, ACPI_PM_TMR_PORT, 4);
	t3 = monotonic_ns();
	d = b - a;
	assert_true(d + 1 >= ticks(t2 - t1));
	assert_true(d <= ticks(t3 - t0) + 1);
	assert_true(d >= ticks(50000000) - 1);
	/* Started at 0 when the device was created, not at host boot. */
	assert_true(a < ticks(10ull * 1000000000));
}

static void test_timer_widths(void **state)
{
	uint32_t v, first, hi, b;
	uint64_t q;

	/* Monotonic across reads, dword after dword. */
	v = pio_in(&vm, ACPI_PM_TMR_PORT, 4);
	for (int i = 0; i < 1000; i++) {
		uint32_t w = pio_in(&vm, ACPI_PM_TMR_PORT, 4);

		assert_true((uint32_t)(w - v) < 0x80000000u);
		v = w;
	}
	/* Word and byte reads of the upper half see the same counter. */
	first = pio_in(&vm, ACPI_PM_TMR_PORT, 4);
	hi = pio_in(&vm, ACPI_PM_TMR_PORT + 2, 2);
	b = pio_in(&vm, ACPI_PM_TMR_PORT + 3, 1);
	v = pio_in(&vm, ACPI_PM_TMR_PORT, 4);
	assert_in_range(hi, first >> 16, v >> 16);
	assert_in_range(b, first >> 24, v >> 24);
	/* A qword from PM1_CNT takes the rest of the block, timer included. */
	first = pio_in(&vm, ACPI_PM_TMR_PORT, 4);
	q = pio_in(&vm, PM1_CNT, 8);
	v = pio_in(&vm, ACPI_PM_TMR_PORT, 4);
	assert_int_equal(q & 0xffffffff, ACPI_PM1_CNT_SCI_EN);
	assert_in_range(q >> 32, first, v);
}

static void test_timer_read_only(void **state)
{
	uint32_t before = pio_in(&vm, ACPI_PM_TMR_PORT, 4), after;

	pio_out(&vm, ACPI_PM_TMR_PORT, 0, 4);
	pio_out(&vm, ACPI_PM_TMR_PORT, 0xffffffff, 4);
	pio_out(&vm, ACPI_PM_TMR_PORT + 1, 0, 1);
	after = pio_in(&vm, ACPI_PM_TMR_PORT, 4);
	assert_true(after - before < ticks(5ull * 1000000000));
	assert_true(after >= before);
	/* Nothing else changed either. */
	assert_int_equal(pio_in(&vm, PM1_STS, 2), 0);
	assert_int_equal(pio_in(&vm, PM1_CNT, 2), ACPI_PM1_CNT_SCI_EN);
	assert_int_equal(vm.stop_reason, VM_RUNNING);
}

static void test_timer_reset(void **state)
{
	struct timespec pause = { .tv_nsec = 20000000 };
	uint32_t before, after;

	nanosleep(&pause, NULL);
	before = pio_in(&vm, ACPI_PM_TMR_PORT, 4);
	assert_true(before >= ticks(20000000));
	devices_reset(&vm);
	after = pio_in(&vm, ACPI_PM_TMR_PORT, 4);
	assert_true(after < before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registered, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_initial_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_status_w1c, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_enable_and_sci, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_s5_powers_off, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_s5_byte_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_sleep_type, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_register, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_register_0e, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timer_rate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timer_widths, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timer_read_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timer_reset, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
