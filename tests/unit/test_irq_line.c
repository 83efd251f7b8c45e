// SPDX-License-Identifier: GPL-2.0
/*
 * The interrupt line type: levels and edges (a 1 then a 0) through
 * vm->irq_set, never an irqfd, though vm->irq_ops offers one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "kvm/irq.h"
#include "kvm/vm.h"

#define GSI 5

static struct {
	int levels[8]; /* levels driven on GSI, in order */
	unsigned int nr_levels;
	int efd; /* bound irqfd, -1: none */
	unsigned int gsi;
} rec;

static void rec_set(struct vm *vm, unsigned int gsi, int level)
{
	assert_int_equal(gsi, GSI);
	assert_true(rec.nr_levels < 8);
	rec.levels[rec.nr_levels++] = level;
}

static int rec_assign(void *opaque, int efd, unsigned int gsi)
{
	rec.efd = efd;
	rec.gsi = gsi;
	return 0;
}

static int rec_deassign(void *opaque, int efd, unsigned int gsi)
{
	assert_int_equal(efd, rec.efd);
	assert_int_equal(gsi, rec.gsi);
	rec.efd = -1;
	return 0;
}

/* KVM's irqfd operations, on offer to the line. */
static const struct irq_ops rec_ops = {
	.irqfd_assign = rec_assign,
	.irqfd_deassign = rec_deassign,
};

static struct vm vm;

static int setup(void **state)
{
	memset(&rec, 0, sizeof(rec));
	rec.efd = -1;
	vm_init_common(&vm);
	vm.irq_set = rec_set;
	vm.irq_ops = &rec_ops;
	return 0;
}

static int teardown(void **state)
{
	vm_destroy(&vm);
	return 0;
}

static void test_levels(void **state)
{
	struct irq_line line;

	vm_irq_line_init(&vm, &line, GSI);
	irq_line_set(&line, 1);
	irq_line_set(&line, 0);
	assert_int_equal(rec.nr_levels, 2);
	assert_int_equal(rec.levels[0], 1);
	assert_int_equal(rec.levels[1], 0);
	/* A pulse is the same two levels, even with irqfds on offer. */
	irq_line_pulse(&line);
	assert_int_equal(rec.nr_levels, 4);
	assert_int_equal(rec.levels[2], 1);
	assert_int_equal(rec.levels[3], 0);
	assert_int_equal(rec.efd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
