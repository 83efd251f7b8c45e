// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "hw/debug_exit.h"
#include "kvm/vm.h"

struct fixture {
	struct vm vm;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	vm_init_common(&f->vm);
	assert_non_null(debug_exit_create(&f->vm, DEBUG_EXIT_PORT));
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

static void test_byte_write_stops(void **state)
{
	struct fixture *f = *state;
	uint8_t v = 0x10;

	assert_false(vm_stopping(&f->vm));
	assert_true(bus_write(&f->vm.pio, 0xf4, &v, 1));
	assert_true(vm_stopping(&f->vm));
	assert_int_equal(f->vm.stop_reason, VM_STOP_DEBUG_EXIT);
	assert_int_equal(f->vm.exit_status, 0x21);
	assert_string_equal(f->vm.stop_message,
			    "guest wrote 0x10 to debug-exit port");
	/* The first stop wins. */
	v = 0x3;
	assert_true(bus_write(&f->vm.pio, 0xf4, &v, 1));
	assert_int_equal(f->vm.exit_status, 0x21);
}

static void test_zero_and_wide_writes(void **state)
{
	struct fixture *f = *state;
	uint32_t v = 0x12345;

	assert_true(bus_write(&f->vm.pio, 0xf4, &v, 4));
	assert_int_equal(f->vm.stop_reason, VM_STOP_DEBUG_EXIT);
	assert_int_equal(f->vm.exit_status, 0x2468b);
	/* The OS keeps 8 bits of it. */
	assert_int_equal(f->vm.exit_status & 0xff, 0x8b);
}

static void test_zero_write_is_status_1(void **state)
{
	struct fixture *f = *state;
	uint16_t v = 0;

	assert_true(bus_write(&f->vm.pio, 0xf6, &v, 2));
	assert_int_equal(f->vm.exit_status, 1);
}

static void test_ports_and_reads(void **state)
{
	struct fixture *f = *state;
	uint32_t v = ~0u;

	assert_true(bus_read(&f->vm.pio, 0xf4, &v, 4));
	assert_int_equal(v, 0);
	/* Exactly four ports wide. */
	assert_false(bus_read(&f->vm.pio, 0xf8, &v, 1));
	assert_false(bus_read(&f->vm.pio, 0xf3, &v, 1));
	assert_false(vm_stopping(&f->vm));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_byte_write_stops, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_zero_and_wide_writes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_write_is_status_1,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports_and_reads, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
