// SPDX-License-Identifier: GPL-2.0
/*
 * MSI routes through the VT-d unit's interrupt remapping, on a VM without
 * KVM: the routing table devisor would hand KVM holds each route's
 * remapped message, a blocked one is left out, the IOAPIC's reserved
 * GSIs are set apart, and an IEC invalidation or a new table through the
 * register page recomputes every route from its requester's message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/kvm.h>

#include "iommu/vtd.h"
#include "iommu/vtd_regs.h"
#include "iommu/vtd_vm.h"
#include "kvm/irq.h"
#include "kvm/memory.h"
#include "kvm/vm.h"

#define BASE 0xfed90000ull
#define IRT 0x100000ull
#define IQ 0x200000ull
#define SID 0x0010

static struct vm vm;

static void reg_write(uint64_t off, uint64_t val, unsigned int size)
{
	assert_true(bus_write(&vm.mmio, BASE + off, &val, size));
}

static uint32_t reg_read32(uint64_t off)
{
	uint32_t v = 0;

	assert_true(bus_read(&vm.mmio, BASE + off, &v, 4));
	return v;
}

static void irte(unsigned int i, uint8_t vector, uint32_t dest)
{
	uint64_t e[2] = { VTD_IRTE_P | (uint64_t)vector << 16 |
				  (uint64_t)dest << 32,
			  1ull << 18 | SID };

	assert_int_equal(guest_write(&vm.mem, IRT + 16 * i, e, sizeof(e)), 0);
}

/* The route of @gsi in the table devisor would commit, or NULL. */
static const struct kvm_irq_routing_entry *route(unsigned int gsi)
{
	for (unsigned int i = 0; i < vm.routing->nr; i++)
		if (vm.routing->entries[i].gsi == gsi)
			return &vm.routing->entries[i];
	return NULL;
}

static uint64_t msi_ir(unsigned int handle)
{
	return 0xfee00000ull | (uint64_t)handle << 5 | VTD_MSI_IF;
}

static void test_routes_follow_irtes(void **state)
{
	struct vtd *vtd;
	const struct kvm_irq_routing_entry *e;
	uint64_t desc[2] = { VTD_DESC_IEC, 0 };
	int gsi;

	vm_init_common(&vm);
	assert_int_equal(guest_mem_init(&vm.mem, 16 << 20, false), 0);
	vm.split_irqchip = true;
	vm_irq_reserve_gsis(&vm, 24);
	vtd = vtd_vm_create(&vm, BASE);
	assert_non_null(vtd);
	vtd_vm_set_intremap(&vm, vtd);

	/* Before the guest turns remapping on, messages pass as they are. */
	gsi = vm_msi_route_add(&vm, SID, msi_ir(3), 0);
	assert_int_equal(gsi, 24); /* above the IOAPIC's pins */
	e = route(gsi);
	assert_non_null(e);
	assert_int_equal(e->u.msi.address_lo, (uint32_t)msi_ir(3));

	/* Queued invalidation, a 16-entry table in x2APIC mode, IRE. */
	reg_write(VTD_IQA, IQ, 8);
	reg_write(VTD_GCMD, VTD_GCMD_QIE, 4);
	reg_write(VTD_IRTA, IRT | VTD_IRTA_EIME | 3, 8);
	reg_write(VTD_GCMD, VTD_GCMD_QIE | VTD_GCMD_SIRTP, 4);
	reg_write(VTD_GCMD, VTD_GCMD_QIE | VTD_GCMD_IRE, 4);
	assert_true(reg_read32(VTD_GSTS) & VTD_GSTS_IRES);
	/* IRTE 3 is not present yet: no route KVM could deliver. */
	assert_null(route(gsi));

	irte(3, 0x41, 1);
	assert_null(route(gsi)); /* the cached (blocked) route stays... */
	assert_int_equal(guest_write(&vm.mem, IQ, desc, sizeof(desc)), 0);
	reg_write(VTD_IQT, 16, 8); /* ... until the IEC invalidation */
	e = route(gsi);
	assert_non_null(e);
	assert_int_equal(e->u.msi.address_lo, 0xfee01000u);
	assert_int_equal(e->u.msi.data, 0x41);

	/* The guest moves the interrupt: IRTE, then IEC. */
	irte(3, 0x42, 0);
	assert_int_equal(route(gsi)->u.msi.data, 0x41);
	assert_int_equal(guest_write(&vm.mem, IQ + 16, desc, sizeof(desc)), 0);
	reg_write(VTD_IQT, 32, 8);
	e = route(gsi);
	assert_int_equal(e->u.msi.address_lo, 0xfee00000u);
	assert_int_equal(e->u.msi.data, 0x42);

	/* Another requester may not use that IRTE (SVT 01b). */
	assert_int_equal(vm_msi_route_update(&vm, gsi, 0x0018, msi_ir(3), 0),
			 0);
	assert_null(route(gsi));
	assert_int_equal(vm_msi_route_update(&vm, gsi, SID, msi_ir(3), 0), 0);
	assert_non_null(route(gsi));

	/* An IOAPIC pin's reserved GSI, with its own requester id. */
	assert_int_equal(vm_msi_route_set(&vm, 4, 0xff00, msi_ir(5), 0), 0);
	assert_null(route(4)); /* IRTE 5: not present */
	irte(5, 0x30, 1);
	assert_int_equal(guest_write(&vm.mem, IQ + 32, desc, sizeof(desc)), 0);
	reg_write(VTD_IQT, 48, 8);
	assert_null(route(4)); /* its SID is 00:02.0, not ff:00.0 */
	assert_int_equal(vm_msi_route_set(&vm, 30, 0xff00, msi_ir(5), 0),
			 -EINVAL); /* not reserved */

	/* Remapping off: the requesters' messages again. */
	reg_write(VTD_GCMD, VTD_GCMD_QIE, 4);
	assert_int_equal(route(gsi)->u.msi.address_lo, (uint32_t)msi_ir(3));
	assert_int_equal(route(4)->u.msi.address_lo, (uint32_t)msi_ir(5));

	vm_msi_route_remove(&vm, gsi);
	assert_null(route(gsi));
	vm_destroy(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes_follow_irtes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
