// SPDX-License-Identifier: GPL-2.0
/* hw/pcihp: the hotplug registers, their GPE in hw/acpi_pm, and the AML. */
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
#include "hw/pcihp.h"
#include "kvm/vm.h"

static struct vm vm;
static struct acpi_pm *pm;
static struct pcihp *hp;

static int setup(void **state)
{
	vm_init_common(&vm);
	gpe_wire(&vm, ACPI_GPE_PCIHP);
	pm = acpi_pm_create(&vm);
	hp = pm ? pcihp_create(&vm, gpe_event, gpe_listening, pm) : NULL;
	return hp ? 0 : -1;
}

static int teardown(void **state)
{
	devices_destroy(&vm);
	assert_int_equal(vm.pio.nr, 0);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	return 0;
}

#define UP (PCIHP_IO_BASE + PCIHP_REG_UP)
#define DOWN (PCIHP_IO_BASE + PCIHP_REG_DOWN)
#define EJECT (PCIHP_IO_BASE + PCIHP_REG_EJECT)
#define GPE_STS ACPI_GPE0_PORT
#define GPE_EN (ACPI_GPE0_PORT + ACPI_GPE0_LEN / 2)

static void test_layout(void **state)
{
	struct bus_region r;

	assert_true(bus_find(&vm.pio, PCIHP_IO_BASE, &r));
	assert_int_equal(r.len, PCIHP_IO_LEN);
	/* Its own ports, after acpi_pm's (GPE0 included). */
	assert_true(PCIHP_IO_BASE >= ACPI_PM_IO_BASE + ACPI_PM_IO_LEN);
	assert_true(ACPI_GPE0_PORT + ACPI_GPE0_LEN <=
		    ACPI_PM_IO_BASE + ACPI_PM_IO_LEN);
	assert_int_equal(ACPI_GPE0_LEN % 2, 0);
	assert_null(pcihp_create(&vm, gpe_event, gpe_listening, pm));
}

static void test_plug_read_clears(void **state)
{
	assert_int_equal(pio_in(&vm, UP, 4), 0);
	pcihp_plug(hp, 5);
	pcihp_plug(hp, 31);
	assert_int_equal(gpe_events, 2);
	assert_int_equal(pio_in(&vm, UP, 4), (1u << 5) | (1u << 31));
	/* Told once. */
	assert_int_equal(pio_in(&vm, UP, 4), 0);
	/* Byte reads clear only the byte read. */
	pcihp_plug(hp, 5);
	pcihp_plug(hp, 9);
	assert_int_equal(pio_in(&vm, UP + 1, 1), 1u << 1);
	assert_int_equal(pio_in(&vm, UP, 4), 1u << 5);
	/* Slot 0 (the host bridge) and beyond 31: nothing. */
	pcihp_plug(hp, 0);
	pcihp_plug(hp, 32);
	assert_int_equal(pio_in(&vm, UP, 4), 0);
}

static void test_unplug_eject(void **state)
{
	assert_int_equal(pcihp_unplug_request(hp, 0), -EINVAL);
	assert_int_equal(pcihp_unplug_request(hp, 32), -EINVAL);
	assert_int_equal(pcihp_unplug_request(hp, 6), 0);
	/* DOWN stays set until the eject, whoever reads it. */
	assert_int_equal(pio_in(&vm, DOWN, 4), 1u << 6);
	assert_int_equal(pio_in(&vm, DOWN, 4), 1u << 6);
	assert_false(pcihp_take_ejected(hp, 6));
	/* An eject of a slot nobody asked for is ignored. */
	pio_out(&vm, EJECT, 1u << 7, 4);
	assert_false(pcihp_take_ejected(hp, 7));
	assert_int_equal(pio_in(&vm, DOWN, 4), 1u << 6);
	/* EJECT reads as 0; UP is untouched by removals. */
	assert_int_equal(pio_in(&vm, EJECT, 4), 0);
	assert_int_equal(pio_in(&vm, UP, 4), 0);
	pio_out(&vm, EJECT, (1u << 6) | (1u << 7), 4);
	assert_int_equal(pio_in(&vm, DOWN, 4), 0);
	assert_true(pcihp_take_ejected(hp, 6));
	assert_false(pcihp_take_ejected(hp, 6));
	/* A withdrawn request: a late eject does not count. */
	assert_int_equal(pcihp_unplug_request(hp, 8), 0);
	pcihp_unplug_cancel(hp, 8);
	pio_out(&vm, EJECT, 1u << 8, 4);
	assert_false(pcihp_take_ejected(hp, 8));
}

static void test_gpe_sci(void **state)
{
	/* Disabled: status only, no SCI. */
	pcihp_plug(hp, 3);
	assert_int_equal(pio_in(&vm, GPE_STS, 1), 1u << ACPI_GPE_PCIHP);
	assert_true(gpe_sci_level != 1);
	/* Enabling a pending GPE raises it; level until acked. */
	assert_false(pcihp_guest_listening(hp));
	pio_out(&vm, GPE_EN, 1u << ACPI_GPE_PCIHP, 1);
	assert_true(pcihp_guest_listening(hp));
	assert_int_equal(gpe_sci_level, 1);
	assert_int_equal(pio_in(&vm, GPE_EN, 1), 1u << ACPI_GPE_PCIHP);
	pio_out(&vm, GPE_STS, 0, 1);
	assert_int_equal(gpe_sci_level, 1);
	pio_out(&vm, GPE_STS, 1u << ACPI_GPE_PCIHP, 1);
	assert_int_equal(gpe_sci_level, 0);
	assert_int_equal(pio_in(&vm, GPE_STS, 1), 0);
	pcihp_unplug_request(hp, 3);
	assert_int_equal(gpe_sci_level, 1);
	/* A reset forgets the news and the enables. */
	devices_reset(&vm);
	assert_int_equal(gpe_sci_level, 0);
	assert_int_equal(pio_in(&vm, DOWN, 4), 0);
	assert_int_equal(pio_in(&vm, UP, 4), 0);
	assert_int_equal(pio_in(&vm, GPE_EN, 1), 0);
}

/* The bytes of "Notify (Sxx, @v)" for @slot, as PCNT holds them. */
static bool has_notify(const struct aml *a, unsigned int slot, uint8_t v)
{
	uint8_t want[7] = { 0x86, 'S', 0, 0, '_', 0x0a, v };
	char name[5];

	snprintf(name, sizeof(name), "S%02X", slot);
	memcpy(want + 1, name, 3);
	if (v <= 1) {
		want[5] = v; /* Zero/One */
		for (size_t i = 0; i + 6 <= a->len; i++)
			if (!memcmp(a->buf + i, want, 6))
				return true;
		return false;
	}
	for (size_t i = 0; i + 7 <= a->len; i++)
		if (!memcmp(a->buf + i, want, 7))
			return true;
	return false;
}

static void test_aml(void **state)
{
	struct aml a;
	struct device_desc d = { .aml = &a };
	/* OperationRegion (PCHP, SystemIO, PCIHP_IO_BASE, PCIHP_IO_LEN) */
	const uint8_t region[] = { 0x5b,
				   0x80,
				   'P',
				   'C',
				   'H',
				   'P',
				   AML_REGION_SYSTEM_IO,
				   0x0b,
				   PCIHP_IO_BASE & 0xff,
				   PCIHP_IO_BASE >> 8,
				   0x0a,
				   PCIHP_IO_LEN };
	/* The Field's units, in register order, 32 bits each. */
	const uint8_t units[] = { 'P', 'C', 'I', 'U', 32,  'P', 'C', 'I',
				  'D', 32,  'B', '0', 'E', 'J', 32 };
	/* Slot 0x1f: _ADR 0x001f0000, _SUN 0x1f. */
	const uint8_t adr[] = { 0x08, '_',  'A',  'D',	'R',
				0x0c, 0x00, 0x00, 0x1f, 0x00 };
	const uint8_t sun[] = { 0x08, '_', 'S', 'U', 'N', 0x0a, 0x1f };

	aml_init(&a);
	assert_int_equal(pcihp_describe(&hp->dev, &d), 0);
	assert_int_equal(aml_finish(&a), 0);
	assert_true(aml_has_bytes(&a, region, sizeof(region)));
	assert_true(aml_has_bytes(&a, units, sizeof(units)));
	assert_true(aml_has_bytes(&a, adr, sizeof(adr)));
	assert_true(aml_has_bytes(&a, sun, sizeof(sun)));
	/* No device for the host bridge's slot 0. */
	assert_false(aml_has_bytes(&a, "S00_", 4));
	for (unsigned int s = 1; s < 32; s++) {
		assert_true(has_notify(&a, s, 1));
		assert_true(has_notify(&a, s, 3));
	}
	aml_free(&a);
}

static void test_aml_builder_ops(void **state)
{
	static const struct aml_field_unit bad[] = { { "TOOLONG", 8 } };
	static const struct aml_field_unit zero[] = { { "ABCD", 0 } };
	static const struct aml_field_unit gap[] = { { NULL, 8 }, { "AB", 8 } };
	const uint8_t want_gap[] = { 0x5b, 0x81, 0x0d, 'R', 'E', 'G', 'N', 0x01,
				     0x00, 0x08, 'A',  'B', '_', '_', 0x08 };
	struct aml a;

	aml_init(&a);
	aml_field(&a, "REGN", AML_FIELD_BYTE_ACC, gap, 2);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, sizeof(want_gap));
	assert_memory_equal(a.buf, want_gap, sizeof(want_gap));
	aml_free(&a);

	aml_init(&a);
	aml_field(&a, "REGN", 0, bad, 1);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_field(&a, "REGN", 0, zero, 1);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_local(&a, 8);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_arg(&a, 7);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	/* If (And (Local0, 4, Zero)) { Store (Arg1, Local2) } */
	aml_init(&a);
	aml_if_begin(&a);
	aml_and(&a);
	aml_local(&a, 0);
	aml_integer(&a, 4);
	aml_null_target(&a);
	aml_store(&a);
	aml_arg(&a, 1);
	aml_local(&a, 2);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, 10);
	assert_memory_equal(a.buf, "\xa0\x09\x7b\x60\x0a\x04\x00\x70\x69\x62",
			    10);
	aml_free(&a);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_layout),	      T(test_plug_read_clears),
		T(test_unplug_eject), T(test_gpe_sci),
		T(test_aml),	      cmocka_unit_test(test_aml_builder_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
