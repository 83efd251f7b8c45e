// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "hw/i8042.h"
#include "kvm/vm.h"

#define DATA 0x60
#define CMD 0x64

#define STR_OBF 0x01
#define STR_IBF 0x02
#define STR_AUXDATA 0x20
#define STR_TIMEOUT 0x40

struct fixture {
	struct vm vm;
	struct i8042 *k;
};

static int irq_level[16];

static void irq_recorder(struct vm *vm, unsigned int gsi, int level)
{
	if (gsi < 16)
		irq_level[gsi] = level;
}

static uint8_t in(struct fixture *f, uint16_t port)
{
	uint8_t v = 0;

	assert_true(bus_read(&f->vm.pio, port, &v, 1));
	return v;
}

static void out(struct fixture *f, uint16_t port, uint8_t v)
{
	assert_true(bus_write(&f->vm.pio, port, &v, 1));
}

/* Linux's i8042_command(): wait IBF clear, command, params, read back. */
static int command(struct fixture *f, uint8_t cmd, const uint8_t *params,
		   int nparams, uint8_t *ret)
{
	assert_int_equal(in(f, CMD) & STR_IBF, 0);
	out(f, CMD, cmd);
	for (int i = 0; i < nparams; i++) {
		assert_int_equal(in(f, CMD) & STR_IBF, 0);
		out(f, DATA, params[i]);
	}
	if (!ret)
		return 0;
	if (!(in(f, CMD) & STR_OBF))
		return -1;
	*ret = in(f, DATA);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	memset(irq_level, 0, sizeof(irq_level));
	vm_init_common(&f->vm);
	f->vm.irq_set = irq_recorder;
	f->k = i8042_create(&f->vm);
	assert_non_null(f->k);
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

static void test_self_test(void **state)
{
	struct fixture *f = *state;
	struct bus_region reg;
	uint8_t r;

	/* i8042_flush() finds an empty buffer. */
	assert_int_equal(in(f, CMD) & STR_OBF, 0);
	assert_int_equal(command(f, 0xaa, NULL, 0, &r), 0);
	assert_int_equal(r, 0x55);
	assert_int_equal(in(f, CMD) & STR_OBF, 0);
	assert_int_equal(command(f, 0xab, NULL, 0, &r), 0);
	assert_int_equal(r, 0x00);
	/* Ports 0x61-0x63 stay with the PIT and others. */
	assert_false(bus_find(&f->vm.pio, 0x61, &reg));
}

static void test_ctr_round_trip(void **state)
{
	struct fixture *f = *state;
	uint8_t r, p = 0x65;

	assert_int_equal(command(f, 0x60, &p, 1, NULL), 0);
	assert_int_equal(command(f, 0x20, NULL, 0, &r), 0);
	assert_int_equal(r, 0x65);
	/* 0xa7/0xa8 and 0xad/0xae flip the disable bits. */
	command(f, 0xa8, NULL, 0, NULL);
	command(f, 0xae, NULL, 0, NULL);
	assert_int_equal(command(f, 0x20, NULL, 0, &r), 0);
	assert_int_equal(r, 0x45);
	command(f, 0xa7, NULL, 0, NULL);
	command(f, 0xad, NULL, 0, NULL);
	assert_int_equal(command(f, 0x20, NULL, 0, &r), 0);
	assert_int_equal(r, 0x75);
	/* The SYS flag shows in the status register. */
	assert_int_equal(in(f, CMD) & 0x04, 0x04);
}

static void test_aux_loop_and_irq(void **state)
{
	struct fixture *f = *state;
	uint8_t r, p = 0x5a;

	/* Linux's AUX detection: the loop must come back as AUX data. */
	out(f, CMD, 0xd3);
	out(f, DATA, p);
	assert_int_equal(in(f, CMD) & (STR_OBF | STR_AUXDATA),
			 STR_OBF | STR_AUXDATA);
	assert_int_equal(irq_level[12], 1);
	assert_int_equal(irq_level[1], 0);
	assert_int_equal(in(f, DATA), 0x5a);
	assert_int_equal(irq_level[12], 0);

	/* A byte to a mouse that is not there: 0xfe, timeout. */
	command(f, 0xd4, &(uint8_t){ 0xf2 }, 1, NULL);
	r = in(f, CMD);
	assert_int_equal(r & (STR_OBF | STR_AUXDATA | STR_TIMEOUT),
			 STR_OBF | STR_AUXDATA | STR_TIMEOUT);
	assert_int_equal(in(f, DATA), 0xfe);
	assert_int_equal(in(f, CMD) & (STR_OBF | STR_TIMEOUT), 0);

	/* Same for the keyboard, on IRQ 1. */
	out(f, DATA, 0xf2);
	assert_int_equal(irq_level[1], 1);
	assert_int_equal(in(f, CMD) & (STR_AUXDATA | STR_TIMEOUT), STR_TIMEOUT);
	assert_int_equal(in(f, DATA), 0xfe);
	assert_int_equal(irq_level[1], 0);

	/* With KBDINT clear the data waits without an interrupt. */
	command(f, 0x60, &(uint8_t){ 0x44 }, 1, NULL);
	assert_int_equal(command(f, 0x20, NULL, 0, &r), 0);
	assert_int_equal(irq_level[1], 0);
	assert_int_equal(r, 0x44);
}

static void test_reset_pulse(void **state)
{
	struct fixture *f = *state;

	assert_false(vm_stopping(&f->vm));
	out(f, CMD, 0xff); /* pulse nothing */
	out(f, CMD, 0xd0);
	assert_int_equal(in(f, DATA) & 0x03, 0x03);
	assert_false(vm_stopping(&f->vm));
	out(f, CMD, 0xfe);
	assert_true(vm_stopping(&f->vm));
	assert_int_equal(f->vm.stop_reason, VM_STOP_RESET);
	assert_int_equal(f->vm.exit_status, 0);
	assert_string_equal(f->vm.stop_message,
			    "guest requested reset (i8042)");
}

static void test_reset_via_output_port(void **state)
{
	struct fixture *f = *state;

	command(f, 0xd1, &(uint8_t){ 0x03 }, 1, NULL);
	assert_false(vm_stopping(&f->vm));
	command(f, 0xd1, &(uint8_t){ 0x02 }, 1, NULL);
	assert_int_equal(f->vm.stop_reason, VM_STOP_RESET);
}

static void test_fuzz(void **state)
{
	struct fixture *f = *state;

	srand(3);
	for (unsigned int i = 0; i < 100000; i++) {
		uint8_t v = rand();
		uint16_t port = rand() & 1 ? DATA : CMD;

		/* Keep the reset commands out so the run goes on. */
		if (port == CMD && (v >= 0xf0 || v == 0xd1))
			continue;
		if (rand() & 1)
			out(f, port, v);
		else
			in(f, port);
	}
	assert_int_equal(in(f, CMD) & STR_IBF, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_self_test, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ctr_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_aux_loop_and_irq, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_pulse, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_via_output_port,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
