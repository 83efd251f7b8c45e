// SPDX-License-Identifier: GPL-2.0
/*
 * MSI routes with the requester id as KVM's device id (an arm64 ITS), on a
 * VM without KVM: the routing table devisor would hand KVM carries
 * KVM_MSI_VALID_DEVID and the requester id once the board asks for it,
 * routes made before are recomputed, and a message no requester sent
 * gets no device id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <linux/kvm.h>

#include "kvm/irq.h"
#include "kvm/memory.h"
#include "kvm/vm.h"

#define ITS_TRANSLATER 0x08090040ull

static const struct kvm_irq_routing_entry *route(const struct vm *vm,
						 unsigned int gsi)
{
	for (unsigned int i = 0; i < vm->routing->nr; i++)
		if (vm->routing->entries[i].gsi == gsi)
			return &vm->routing->entries[i];
	return NULL;
}

static void test_devid_on_routes(void **state)
{
	struct vm vm;
	const struct kvm_irq_routing_entry *e;
	int before, after, none;

	vm_init_common(&vm);
	vm.split_irqchip = true; /* only MSI routes in the table */

	/* Without: the message alone (x86, or arm64 without an ITS). */
	before = vm_msi_route_add(&vm, 0x0010, ITS_TRANSLATER, 3);
	assert_true(before >= 0);
	e = route(&vm, before);
	assert_non_null(e);
	assert_int_equal(e->type, KVM_IRQ_ROUTING_MSI);
	assert_int_equal(e->flags, 0);

	/* The route made before follows; new ones carry it from the start. */
	assert_int_equal(vm_msi_require_devid(&vm), 0);
	e = route(&vm, before);
	assert_int_equal(e->flags, KVM_MSI_VALID_DEVID);
	assert_int_equal(e->u.msi.devid, 0x0010);
	assert_int_equal(e->u.msi.address_lo, (uint32_t)ITS_TRANSLATER);
	assert_int_equal(e->u.msi.data, 3);
	after = vm_msi_route_add(&vm, 0x0108, ITS_TRANSLATER, 0);
	assert_true(after >= 0 && after != before);
	e = route(&vm, after);
	assert_int_equal(e->flags, KVM_MSI_VALID_DEVID);
	assert_int_equal(e->u.msi.devid, 0x0108);

	/* A new requester id (the function moved) is the new device id. */
	assert_int_equal(
		vm_msi_route_update(&vm, after, 0x0118, ITS_TRANSLATER, 1), 0);
	e = route(&vm, after);
	assert_int_equal(e->u.msi.devid, 0x0118);
	assert_int_equal(e->u.msi.data, 1);

	/* No requester: no device id to give. */
	none = vm_msi_route_add(&vm, IRQ_SID_NONE, ITS_TRANSLATER, 7);
	assert_true(none >= 0);
	assert_int_equal(route(&vm, none)->flags, 0);

	vm_msi_route_remove(&vm, before);
	assert_null(route(&vm, before));
	assert_non_null(route(&vm, after));
	vm_destroy(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_devid_on_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
