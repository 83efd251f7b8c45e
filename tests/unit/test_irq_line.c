// SPDX-License-Identifier: GPL-2.0
/*
 * The interrupt line type: levels through vm->irq_set, edges through an
 * irqfd when vm->irq_ops gives one, and the pulse fallback without.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kvm/irq.h"
#include "kvm/vm.h"

#define GSI 5

static struct {
	bool fail_irqfd;
	int levels[8]; /* levels driven on GSI, in order */
	unsigned int nr_levels;
	int efd; /* bound irqfd, -1: none */
	unsigned int gsi;
	unsigned int deassigns;
} rec;

static void rec_set(struct vm *vm, unsigned int gsi, int level)
{
	assert_int_equal(gsi, GSI);
	assert_true(rec.nr_levels < 8);
	rec.levels[rec.nr_levels++] = level;
}

static int rec_assign(void *opaque, int efd, unsigned int gsi)
{
	if (rec.fail_irqfd)
		return -ENOSYS;
	rec.efd = efd;
	rec.gsi = gsi;
	return 0;
}

static int rec_deassign(void *opaque, int efd, unsigned int gsi)
{
	assert_int_equal(efd, rec.efd);
	assert_int_equal(gsi, rec.gsi);
	rec.efd = -1;
	rec.deassigns++;
	return 0;
}

/* Lines use only the irqfd operations. */
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
	assert_int_equal(irq_line_eventfd(&line), -1);
	irq_line_set(&line, 1);
	irq_line_set(&line, 0);
	assert_int_equal(rec.nr_levels, 2);
	assert_int_equal(rec.levels[0], 1);
	assert_int_equal(rec.levels[1], 0);
	/* Without an irqfd a pulse is the same two levels. */
	irq_line_pulse(&line);
	assert_int_equal(rec.nr_levels, 4);
	assert_int_equal(rec.levels[2], 1);
	assert_int_equal(rec.levels[3], 0);
	/* Releasing a line that never had an irqfd is a no-op. */
	vm_irq_line_release(&vm, &line);
	assert_int_equal(rec.deassigns, 0);
}

static void test_pulse_by_irqfd(void **state)
{
	struct irq_line line;
	uint64_t cnt = 0;

	vm_irq_line_init(&vm, &line, GSI);
	assert_int_equal(vm_irq_line_irqfd(&vm, &line), 0);
	assert_int_equal(rec.gsi, GSI);
	assert_int_equal(irq_line_eventfd(&line), rec.efd);
	irq_line_pulse(&line);
	irq_line_pulse(&line);
	assert_int_equal(rec.nr_levels, 0);
	assert_int_equal(read(rec.efd, &cnt, sizeof(cnt)), sizeof(cnt));
	assert_int_equal(cnt, 2);

	vm_irq_line_release(&vm, &line);
	assert_int_equal(rec.deassigns, 1);
	assert_int_equal(irq_line_eventfd(&line), -1);
	/* Released, the line pulses by levels again. */
	irq_line_pulse(&line);
	assert_int_equal(rec.nr_levels, 2);
}

static void test_irqfd_refused(void **state)
{
	struct irq_line line;

	rec.fail_irqfd = true;
	vm_irq_line_init(&vm, &line, GSI);
	assert_int_equal(vm_irq_line_irqfd(&vm, &line), -ENOSYS);
	assert_int_equal(irq_line_eventfd(&line), -1);
	irq_line_pulse(&line);
	assert_int_equal(rec.nr_levels, 2);
	vm_irq_line_release(&vm, &line);
	assert_int_equal(rec.deassigns, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pulse_by_irqfd, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_irqfd_refused, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
