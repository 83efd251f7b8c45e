// SPDX-License-Identifier: GPL-2.0
/*
 * vm_coalesced_flush(): the writes KVM queued in the coalesced ring reach
 * the buses in order, the ring is handed back, and a ring with bad
 * indexes or lengths is not followed outside itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kvm/vm.h"

#define NR_SLOTS 8

struct rec {
	unsigned int n;
	uint64_t off[32], val[32];
	unsigned int size[32];
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned int size)
{
	return 0;
}

static void rec_write(void *opaque, uint64_t off, uint64_t val,
		      unsigned int size)
{
	struct rec *r = opaque;

	if (r->n < 32) {
		r->off[r->n] = off;
		r->val[r->n] = val;
		r->size[r->n] = size;
	}
	r->n++;
}

static const struct bus_ops rec_ops = { .read = rec_read, .write = rec_write };

struct fixture {
	struct vm vm;
	struct rec pio, mmio;
	struct kvm_coalesced_mmio_ring *ring;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	size_t sz =
		sizeof(*f->ring) + NR_SLOTS * sizeof(struct kvm_coalesced_mmio);

	assert_non_null(f);
	vm_init_common(&f->vm);
	assert_int_equal(bus_register(&f->vm.pio, 0xcf8, 8, &rec_ops, &f->pio,
				      "conf1"),
			 0);
	assert_int_equal(bus_register(&f->vm.mmio, 0x10000, 0x1000, &rec_ops,
				      &f->mmio, "dev"),
			 0);
	f->ring = calloc(1, sz);
	assert_non_null(f->ring);
	f->vm.coalesced_ring = f->ring;
	f->vm.coalesced_max = NR_SLOTS;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bus_destroy(&f->vm.pio);
	bus_destroy(&f->vm.mmio);
	free(f->ring);
	free(f);
	return 0;
}

/* Queues a write as KVM does: the entry, then last moves on. */
static void queue(struct fixture *f, bool pio, uint64_t addr, uint32_t val,
		  uint32_t len)
{
	struct kvm_coalesced_mmio *e = &f->ring->coalesced_mmio[f->ring->last];

	memset(e, 0, sizeof(*e));
	e->phys_addr = addr;
	e->len = len;
	e->pio = pio;
	memcpy(e->data, &val, sizeof(val));
	f->ring->last = (f->ring->last + 1) % NR_SLOTS;
}

static void test_in_order(void **state)
{
	struct fixture *f = *state;

	queue(f, true, 0xcf8, 0x80000010, 4);
	queue(f, false, 0x10004, 0x55, 1);
	queue(f, true, 0xcf9, 0x06, 1);
	vm_coalesced_check(&f->vm);
	assert_int_equal(f->pio.n, 2);
	assert_int_equal(f->mmio.n, 1);
	assert_int_equal(f->pio.off[0], 0);
	assert_int_equal(f->pio.val[0], 0x80000010);
	assert_int_equal(f->pio.size[0], 4);
	assert_int_equal(f->pio.off[1], 1);
	assert_int_equal(f->pio.val[1], 0x06);
	assert_int_equal(f->mmio.off[0], 4);
	assert_int_equal(f->ring->first, f->ring->last);
	/* Empty: nothing more. */
	vm_coalesced_check(&f->vm);
	assert_int_equal(f->pio.n, 2);
}

static void test_wraps(void **state)
{
	struct fixture *f = *state;

	f->ring->first = f->ring->last = NR_SLOTS - 2;
	for (uint32_t i = 0; i < 5; i++)
		queue(f, true, 0xcf8, i, 4);
	assert_int_equal(f->ring->last, 3);
	vm_coalesced_flush(&f->vm);
	assert_int_equal(f->pio.n, 5);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(f->pio.val[i], i);
	assert_int_equal(f->ring->first, 3);
}

static void test_bad_ring(void **state)
{
	struct fixture *f = *state;

	/* A length beyond the entry's data is skipped, the ring still moves. */
	queue(f, true, 0xcf8, 1, 9);
	queue(f, true, 0xcf8, 2, 4);
	vm_coalesced_flush(&f->vm);
	assert_int_equal(f->pio.n, 1);
	assert_int_equal(f->pio.val[0], 2);
	/* Indexes past the ring: nothing read, nothing written. */
	f->ring->first = 0;
	f->ring->last = NR_SLOTS + 3;
	vm_coalesced_flush(&f->vm);
	f->ring->first = NR_SLOTS * 4;
	f->ring->last = 1;
	vm_coalesced_flush(&f->vm);
	assert_int_equal(f->pio.n, 1);
}

static void test_no_ring(void **state)
{
	struct vm vm;

	vm_init_common(&vm);
	vm_coalesced_check(&vm);
	vm_coalesced_flush(&vm);
	/* No KVM, no ring: the writes keep exiting. */
	assert_true(vm_coalesce_pio(&vm, 0xcf8, 4) < 0);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ring, setup, teardown),
		cmocka_unit_test(test_no_ring),
	};

	return cmocka_run_group_tests_name("coalesced", tests, NULL, NULL);
}
