// SPDX-License-Identifier: GPL-2.0
/*
 * MSI vector group tests: the group runs on a recorder of struct irq_ops,
 * which hands out GSIs from 24, keeps the irqfd bindings and counts every
 * call. Firing through an irqfd is seen as the eventfd's counter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm/msi_vectors.h"

#define NV 4
#define GSI0 24
#define ADDR 0xfee00000ull

struct rec {
	bool fail_route, fail_irqfd;
	unsigned int next_gsi;
	unsigned int adds, updates, removes, assigns, deassigns, signals;
	uint64_t addr; /* last route or signal */
	uint32_t data;
	int bound_efd[GSI0 + 16]; /* by GSI; -1: no irqfd */
	bool routed[GSI0 + 16];
};

static int rec_route_add(void *opaque, int sid, uint64_t addr, uint32_t data)
{
	struct rec *r = opaque;

	if (r->fail_route)
		return -ENOSYS;
	r->adds++;
	r->addr = addr;
	r->data = data;
	r->routed[r->next_gsi] = true;
	return r->next_gsi++;
}

static int rec_route_update(void *opaque, unsigned int gsi, int sid,
			    uint64_t addr, uint32_t data)
{
	struct rec *r = opaque;

	assert_true(r->routed[gsi]);
	r->updates++;
	r->addr = addr;
	r->data = data;
	return 0;
}

static void rec_route_remove(void *opaque, unsigned int gsi)
{
	struct rec *r = opaque;

	assert_true(r->routed[gsi]);
	r->routed[gsi] = false;
	r->removes++;
}

static int rec_irqfd_assign(void *opaque, int efd, unsigned int gsi)
{
	struct rec *r = opaque;

	if (r->fail_irqfd)
		return -ENOSYS;
	assert_true(r->routed[gsi]);
	assert_int_equal(r->bound_efd[gsi], -1);
	r->bound_efd[gsi] = efd;
	r->assigns++;
	return 0;
}

static int rec_irqfd_deassign(void *opaque, int efd, unsigned int gsi)
{
	struct rec *r = opaque;

	assert_int_equal(r->bound_efd[gsi], efd);
	r->bound_efd[gsi] = -1;
	r->deassigns++;
	return 0;
}

static int rec_signal_msi(void *opaque, int sid, uint64_t addr, uint32_t data)
{
	struct rec *r = opaque;

	r->signals++;
	r->addr = addr;
	r->data = data;
	return 0;
}

static const struct irq_ops rec_ops = {
	.route_add = rec_route_add,
	.route_update = rec_route_update,
	.route_remove = rec_route_remove,
	.irqfd_assign = rec_irqfd_assign,
	.irqfd_deassign = rec_irqfd_deassign,
	.signal_msi = rec_signal_msi,
};

struct fix {
	struct rec r;
	struct msi_vectors mv;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->r.next_gsi = GSI0;
	for (unsigned int i = 0; i < GSI0 + 16; i++)
		f->r.bound_efd[i] = -1;
	assert_int_equal(msi_vectors_init(&f->mv, "test", NV, &rec_ops, &f->r),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	msi_vectors_destroy(&f->mv);
	free(f);
	return 0;
}

/* What KVM would have injected from @gsi's irqfd since last asked. */
static uint64_t injected(struct fix *f, unsigned int gsi)
{
	uint64_t cnt = 0;
	int efd = f->r.bound_efd[gsi];

	assert_true(efd >= 0);
	if (read(efd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return 0;
	return cnt;
}

static void test_route_on_first_unmask(void **state)
{
	struct fix *f = *state;

	/* A masked vector's message is only remembered. */
	msi_vectors_set_msg(&f->mv, 1, ADDR, 0x41);
	assert_int_equal(f->r.adds, 0);
	assert_false(msi_vectors_fire(&f->mv, 1));
	assert_int_equal(f->r.signals, 0);
	assert_true(msi_vectors_pending(&f->mv, 1));

	/* Unmask: route to the message, irqfd, and the pending one goes. */
	msi_vectors_mask(&f->mv, 1, false);
	assert_int_equal(f->r.adds, 1);
	assert_int_equal(f->r.addr, ADDR);
	assert_int_equal(f->r.data, 0x41);
	assert_int_equal(f->r.assigns, 1);
	assert_false(msi_vectors_pending(&f->mv, 1));
	assert_int_equal(injected(f, GSI0), 1);

	assert_true(msi_vectors_fire(&f->mv, 1));
	assert_true(msi_vectors_fire(&f->mv, 1));
	assert_int_equal(injected(f, GSI0), 2);
	assert_int_equal(f->r.signals, 0);
	/* Other vectors were never unmasked: no routes for them. */
	assert_int_equal(f->r.adds, 1);
	assert_int_equal(msi_vectors_eventfd(&f->mv, 1), f->r.bound_efd[GSI0]);
}

static void test_message_change_updates_route(void **state)
{
	struct fix *f = *state;

	msi_vectors_set_msg(&f->mv, 0, ADDR, 0x30);
	msi_vectors_mask(&f->mv, 0, false);
	assert_int_equal(f->r.adds, 1);

	msi_vectors_set_msg(&f->mv, 0, ADDR | 0x1000, 0x31);
	assert_int_equal(f->r.updates, 1);
	assert_int_equal(f->r.addr, ADDR | 0x1000);
	assert_int_equal(f->r.data, 0x31);
	/* The same message again costs no KVM_SET_GSI_ROUTING. */
	msi_vectors_set_msg(&f->mv, 0, ADDR | 0x1000, 0x31);
	assert_int_equal(f->r.updates, 1);

	/* Masked, the route still follows the message; the GSI stays. */
	msi_vectors_mask(&f->mv, 0, true);
	msi_vectors_set_msg(&f->mv, 0, ADDR, 0x32);
	assert_int_equal(f->r.updates, 2);
	assert_int_equal(f->r.data, 0x32);
	msi_vectors_mask(&f->mv, 0, false);
	assert_int_equal(f->r.adds, 1);
	assert_int_equal(f->r.removes, 0);
}

static void test_mask_pending_unmask(void **state)
{
	struct fix *f = *state;

	msi_vectors_set_msg(&f->mv, 2, ADDR, 0x50);
	msi_vectors_mask(&f->mv, 2, false);
	msi_vectors_mask(&f->mv, 2, true);
	/* A masked vector keeps its route but not its irqfd. */
	assert_int_equal(f->r.deassigns, 1);
	assert_int_equal(f->r.removes, 0);
	assert_int_equal(f->r.bound_efd[GSI0], -1);

	assert_false(msi_vectors_fire(&f->mv, 2));
	assert_false(msi_vectors_fire(&f->mv, 2));
	assert_true(msi_vectors_pending(&f->mv, 2));
	assert_false(msi_vectors_pending(&f->mv, 1));
	assert_int_equal(f->r.signals, 0);

	/* Unmask delivers once, as MSI-X does with a PBA bit. */
	msi_vectors_mask(&f->mv, 2, false);
	assert_int_equal(f->r.assigns, 2);
	assert_false(msi_vectors_pending(&f->mv, 2));
	assert_int_equal(injected(f, GSI0), 1);
	/* Masking again with nothing pending delivers nothing on unmask. */
	msi_vectors_mask(&f->mv, 2, true);
	msi_vectors_mask(&f->mv, 2, false);
	assert_int_equal(injected(f, GSI0), 0);
}

static void test_backend_eventfd_while_masked(void **state)
{
	struct fix *f = *state;
	uint64_t one = 1;
	int efd;

	/* A back-end may take the eventfd before the guest unmasks. */
	efd = msi_vectors_eventfd(&f->mv, 3);
	assert_true(efd >= 0);
	msi_vectors_set_msg(&f->mv, 3, ADDR, 0x60);
	msi_vectors_mask(&f->mv, 3, false);
	assert_int_equal(f->r.bound_efd[GSI0], efd);
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(injected(f, GSI0), 1);

	/* Masked, its writes are pending and wait for the unmask. */
	msi_vectors_mask(&f->mv, 3, true);
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	assert_true(msi_vectors_pending(&f->mv, 3));
	msi_vectors_mask(&f->mv, 3, false);
	assert_false(msi_vectors_pending(&f->mv, 3));
	assert_int_equal(injected(f, GSI0), 1);

	/* Unasked, the write stays in the eventfd; KVM injects on bind. */
	msi_vectors_mask(&f->mv, 3, true);
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	msi_vectors_mask(&f->mv, 3, false);
	assert_int_equal(injected(f, GSI0), 1);
	assert_int_equal(f->r.signals, 0);
}

static void test_fallback_without_routes(void **state)
{
	struct fix *f = *state;

	f->r.fail_route = true;
	msi_vectors_set_msg(&f->mv, 0, ADDR, 0x70);
	msi_vectors_mask(&f->mv, 0, false);
	assert_true(msi_vectors_fire(&f->mv, 0));
	assert_int_equal(f->r.signals, 1);
	assert_int_equal(f->r.addr, ADDR);
	assert_int_equal(f->r.data, 0x70);
	/* Once refused, the group stops asking: one warning, no retries. */
	f->r.fail_route = false;
	msi_vectors_set_msg(&f->mv, 1, ADDR, 0x71);
	msi_vectors_mask(&f->mv, 1, false);
	assert_int_equal(f->r.adds, 0);
	assert_true(msi_vectors_fire(&f->mv, 1));
	assert_int_equal(f->r.signals, 2);
	assert_int_equal(f->r.data, 0x71);
	/* No irqfd to hand out: a back-end must call fire. */
	assert_int_equal(msi_vectors_eventfd(&f->mv, 2), -1);

	/* Masking still works on the slow path. */
	msi_vectors_mask(&f->mv, 1, true);
	assert_false(msi_vectors_fire(&f->mv, 1));
	assert_int_equal(f->r.signals, 2);
	msi_vectors_mask(&f->mv, 1, false);
	assert_int_equal(f->r.signals, 3);
}

static void test_fallback_without_irqfd(void **state)
{
	struct fix *f = *state;

	f->r.fail_irqfd = true;
	msi_vectors_set_msg(&f->mv, 0, ADDR, 0x80);
	msi_vectors_mask(&f->mv, 0, false);
	assert_int_equal(f->r.adds, 1);
	assert_int_equal(f->r.assigns, 0);
	assert_true(msi_vectors_fire(&f->mv, 0));
	assert_int_equal(f->r.signals, 1);
	assert_int_equal(f->r.data, 0x80);
}

static void test_reset_and_teardown(void **state)
{
	struct fix *f = *state;

	for (unsigned int v = 0; v < 2; v++) {
		msi_vectors_set_msg(&f->mv, v, ADDR, 0x90 + v);
		msi_vectors_mask(&f->mv, v, false);
	}
	assert_false(msi_vectors_fire(&f->mv, NV));
	assert_false(msi_vectors_fire(&f->mv, 0xffff));

	/* Reset: masked, nothing pending, routes kept for the next life. */
	msi_vectors_mask(&f->mv, 1, true);
	msi_vectors_fire(&f->mv, 1);
	msi_vectors_reset(&f->mv);
	assert_false(msi_vectors_pending(&f->mv, 1));
	assert_false(msi_vectors_fire(&f->mv, 0));
	assert_int_equal(f->r.deassigns, 2);
	assert_int_equal(f->r.removes, 0);
	/* The table came back empty: the old route is refreshed on unmask. */
	msi_vectors_mask(&f->mv, 0, false);
	assert_int_equal(f->r.adds, 2);
	assert_int_equal(f->r.updates, 1);
	assert_int_equal(f->r.data, 0);
	/* Vector 0 fired while masked after the reset: delivered now. */
	assert_int_equal(injected(f, GSI0), 1);

	msi_vectors_destroy(&f->mv);
	assert_int_equal(f->r.removes, 2);
	assert_int_equal(f->r.deassigns, 3);
	assert_false(f->r.routed[GSI0] || f->r.routed[GSI0 + 1]);
	assert_int_equal(f->r.bound_efd[GSI0], -1);
	/* A second destroy (the fixture's) does nothing. */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_route_on_first_unmask),
		T(test_message_change_updates_route),
		T(test_mask_pending_unmask),
		T(test_backend_eventfd_while_masked),
		T(test_fallback_without_routes),
		T(test_fallback_without_irqfd),
		T(test_reset_and_teardown),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
