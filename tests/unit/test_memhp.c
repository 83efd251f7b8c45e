// SPDX-License-Identifier: GPL-2.0
/*
 * Memory hotplug: the hotplug area of guest_mem (nothing of it reachable
 * until plugged, then exactly what was), vm_plug_ram(), and hw/memhp's
 * slots, GPE and AML.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "acpi/aml.h"
#include "bus/bus.h"
#include "bus/device.h"
#include "helpers/aml_bytes.h"
#include "helpers/gpe.h"
#include "helpers/pio.h"
#include "hw/acpi_pm.h"
#include "hw/memhp.h"
#include "kvm/arch.h"
#include "kvm/memory.h"
#include "kvm/vm.h"

#define RAM (512ull << 20)
#define AREA (1ull << 30)
#define SLOT MEMHP_MIN_SLOT

static struct vm vm;
static struct acpi_pm *pm;

static const struct memhp_ops ops = { .event = gpe_event,
				      .listening = gpe_listening };

static int setup(void **state)
{
	vm_init_common(&vm);
	gpe_wire(&vm, ACPI_GPE_MEMHP);
	if (guest_mem_init_hotplug(&vm.mem, RAM, AREA, false))
		return -1;
	pm = acpi_pm_create(&vm);
	return pm ? 0 : -1;
}

static int teardown(void **state)
{
	devices_destroy(&vm);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	guest_mem_destroy(&vm.mem);
	return 0;
}

static void test_area(void **state)
{
	const struct guest_mem *m = &vm.mem;
	uint64_t gpa = arch_hotplug_gpa(RAM, AREA);

	assert_true(gpa != 0);
	assert_int_equal(m->hotplug.gpa, gpa);
	assert_int_equal(gpa % SLOT, 0);
	assert_int_equal(m->hotplug_max, AREA);
	/* MMIO goes after the whole area, plugged or not. */
	assert_int_equal(guest_mem_reserved_end(m), gpa + AREA);
	assert_int_equal(guest_mem_end(m), RAM);
	/* Nothing of it is the guest's yet. */
	assert_int_equal(guest_mem_plugged(m), 0);
	assert_null(gpa_to_hva(m, gpa, 1));
	assert_null(gpa_to_hva(m, gpa + AREA - 4096, 4096));

	assert_int_equal(vm_plug_ram(&vm, 100), -EINVAL);
	assert_int_equal(vm_plug_ram(&vm, 0), -ENOSPC);
	assert_int_equal(vm_plug_ram(&vm, AREA + SLOT), -ENOSPC);
	assert_int_equal(vm_plug_ram(&vm, 2 * SLOT), 0);
	assert_int_equal(guest_mem_plugged(m), 2 * SLOT);
	/* Exactly what was plugged, right after RAM in the mapping. */
	assert_ptr_equal(gpa_to_hva(m, gpa, 4096), m->base + RAM);
	assert_non_null(gpa_to_hva(m, gpa + 2 * SLOT - 4096, 4096));
	assert_null(gpa_to_hva(m, gpa + 2 * SLOT - 4096, 4097));
	assert_null(gpa_to_hva(m, gpa + 2 * SLOT, 1));
	assert_null(gpa_to_hva(m, gpa - 1, 2));
	assert_null(gpa_to_hva(m, gpa + 8, UINT64_MAX));
	assert_int_equal(guest_write(m, gpa + SLOT, "ok", 2), 0);
	assert_memory_equal(m->base + RAM + SLOT, "ok", 2);
	/* The rest, and no more. */
	assert_int_equal(vm_plug_ram(&vm, AREA - 2 * SLOT + SLOT), -ENOSPC);
	assert_int_equal(vm_plug_ram(&vm, AREA - 2 * SLOT), 0);
	assert_int_equal(vm_plug_ram(&vm, SLOT), -ENOSPC);
	assert_non_null(gpa_to_hva(m, gpa + AREA - 4096, 4096));
}

static void test_no_area(void **state)
{
	struct guest_mem m;

	assert_int_equal(guest_mem_init(&m, RAM, false), 0);
	assert_int_equal(m.hotplug_max, 0);
	assert_int_equal(guest_mem_reserved_end(&m), RAM);
	guest_mem_destroy(&m);
	/* memhp wants an area. */
	guest_mem_destroy(&vm.mem);
	assert_int_equal(guest_mem_init(&vm.mem, RAM, false), 0);
	assert_null(memhp_create(&vm, &ops, pm));
}

#define UP (MEMHP_IO_BASE + HP_REG_UP)
#define PRESENT (MEMHP_IO_BASE + HP_REG_PRESENT)
#define EJECT (MEMHP_IO_BASE + HP_REG_EJECT)

static void test_slots(void **state)
{
	struct memhp *hp;
	uint64_t got;

	/* One slot plugged before the board (a reboot): present at once. */
	assert_int_equal(vm_plug_ram(&vm, SLOT), 0);
	hp = memhp_create(&vm, &ops, pm);
	assert_non_null(hp);
	assert_int_equal(hp->nr_slots, AREA / SLOT);
	assert_int_equal(pio_in(&vm, PRESENT, 4), 0x1);
	assert_int_equal(pio_in(&vm, UP, 4), 0);
	/* Ports of its own, after the CPU block's. */
	assert_true(MEMHP_IO_BASE >= 0x620 + HP_IO_LEN);
	assert_null(memhp_create(&vm, &ops, pm));

	assert_int_equal(memhp_grow(hp, 0, &got), -EINVAL);
	assert_int_equal(gpe_events, 0);
	/* Whole slots: a bit more than one is two. */
	assert_int_equal(memhp_grow(hp, SLOT + 1, &got), 0);
	assert_int_equal(got, 2 * SLOT);
	assert_int_equal(gpe_events, 1);
	assert_int_equal(pio_in(&vm, PRESENT, 4), 0x7);
	assert_int_equal(pio_in(&vm, UP, 4), 0x6);
	assert_int_equal(pio_in(&vm, UP, 4), 0);
	assert_int_equal(pio_in(&vm, ACPI_GPE0_PORT, 1), 1u << ACPI_GPE_MEMHP);
	assert_false(gpe_listening(pm));
	assert_int_equal(memhp_grow(hp, AREA, &got), -ENOSPC);
	assert_int_equal(pio_in(&vm, PRESENT, 4), 0x7);
	/* The guest cannot hand memory back: an eject changes nothing. */
	pio_out(&vm, EJECT, 0x7, 4);
	assert_int_equal(pio_in(&vm, PRESENT, 4), 0x7);
	assert_int_equal(guest_mem_plugged(&vm.mem), 3 * SLOT);
}

static void test_aml(void **state)
{
	struct memhp *hp = memhp_create(&vm, &ops, pm);
	uint64_t last = vm.mem.hotplug.gpa + AREA - SLOT;
	struct aml a;
	struct device_desc d = { .aml = &a };
	uint8_t qword[16];
	char name[5];

	assert_non_null(hp);
	aml_init(&a);
	assert_int_equal(memhp_describe(&hp->dev, &d), 0);
	assert_int_equal(aml_finish(&a), 0);
	assert_true(aml_has_bytes(&a, "MEMS", 4));
	assert_true(aml_has_bytes(&a, "MSCN", 4));
	assert_true(aml_has_bytes(&a, "MHPR", 4));
	for (unsigned int i = 0; i < AREA / SLOT; i++) {
		snprintf(name, sizeof(name), "M%03X", i);
		assert_true(aml_has_bytes(&a, name, 4));
	}
	snprintf(name, sizeof(name), "M%03X", (unsigned int)(AREA / SLOT));
	assert_false(aml_has_bytes(&a, name, 4));
	/* The last slot's _CRS: its first and last byte. */
	memcpy(qword, &last, 8);
	last += SLOT - 1;
	memcpy(qword + 8, &last, 8);
	assert_true(aml_has_bytes(&a, qword, 16));
	aml_free(&a);
}

/* Slots of 128 MiB, doubled until an area has at most 256 of them. */
static void test_slot_sizes(void **state)
{
	assert_int_equal(memhp_slot_size(1), SLOT);
	assert_int_equal(memhp_slot_size(32ull << 30), SLOT);
	assert_int_equal(memhp_slot_size((32ull << 30) + 1), 2 * SLOT);
	assert_int_equal(memhp_slot_size(64ull << 30), 2 * SLOT);
	assert_int_equal(memhp_slot_size(MEMHP_MAX_AREA), 1ull << 30);
	assert_int_equal(memhp_area_size(1), SLOT);
	assert_int_equal(memhp_area_size(100ull << 20), SLOT);
	/* A host's RAM in MiB, as Kata gives it: whole 256 MiB slots. */
	assert_int_equal(memhp_area_size(64312ull << 20), 64512ull << 20);
	assert_int_equal(memhp_area_size(1ull << 40), MEMHP_MAX_AREA);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_area),
		T(test_no_area),
		T(test_slots),
		T(test_aml),
		cmocka_unit_test(test_slot_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
