// SPDX-License-Identifier: GPL-2.0
/*
 * hw/cpuhp: the CPU hotplug registers, what they do to the vCPUs
 * (vm_set_plugged()), their GPE in hw/acpi_pm, and the AML.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "bus/bus.h"
#include "bus/device.h"
#include "helpers/aml_bytes.h"
#include "helpers/gpe.h"
#include "helpers/pio.h"
#include "hw/acpi_pm.h"
#include "hw/cpuhp.h"
#include "hw/pcihp.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"

/* Two words of CPUs: 40 possible, 2 at boot. */
#define NR 40
#define BOOT 2

static struct vm vm;
static struct acpi_pm *pm;
static struct cpuhp *hp;

/* A Local APIC entry, as the PC's would be. */
static size_t mat(unsigned int cpu, uint8_t *buf)
{
	const uint8_t e[8] = { 0, 8, cpu, cpu, 1, 0, 0, 0 };

	memcpy(buf, e, sizeof(e));
	return sizeof(e);
}

static const struct cpuhp_ops ops = {
	.event = gpe_event,
	.listening = gpe_listening,
	.mat = mat,
};

static int setup(void **state)
{
	vm_init_common(&vm);
	gpe_wire(&vm, ACPI_GPE_CPUHP);
	/* vCPUs with no thread: vm_set_plugged() only flips the flag. */
	vm.nr_cpus = NR;
	vm.vcpus = calloc(NR, sizeof(*vm.vcpus));
	for (unsigned int i = 0; i < NR; i++) {
		vm.vcpus[i] = calloc(1, sizeof(struct vcpu));
		vm.vcpus[i]->id = i;
		vm.vcpus[i]->plugged = i < BOOT;
	}
	pm = acpi_pm_create(&vm);
	hp = pm ? cpuhp_create(&vm, NR, BOOT, &ops, pm) : NULL;
	return hp ? 0 : -1;
}

static int teardown(void **state)
{
	devices_destroy(&vm);
	assert_int_equal(vm.pio.nr, 0);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	for (unsigned int i = 0; i < NR; i++)
		free(vm.vcpus[i]);
	free(vm.vcpus);
	vm.vcpus = NULL;
	return 0;
}

#define UP(w) (CPUHP_IO_BASE + HP_REG_UP + 4 * (w))
#define DOWN(w) (CPUHP_IO_BASE + HP_REG_DOWN + 4 * (w))
#define PRESENT(w) (CPUHP_IO_BASE + HP_REG_PRESENT + 4 * (w))
#define EJECT(w) (CPUHP_IO_BASE + HP_REG_EJECT + 4 * (w))
#define GPE_STS ACPI_GPE0_PORT
#define GPE_EN (ACPI_GPE0_PORT + ACPI_GPE0_LEN / 2)

static void test_layout(void **state)
{
	struct bus_region r;

	assert_true(bus_find(&vm.pio, CPUHP_IO_BASE, &r));
	assert_int_equal(r.len, HP_IO_LEN);
	/* Its own ports, after acpi_pm's and pcihp's. */
	assert_true(CPUHP_IO_BASE >= ACPI_PM_IO_BASE + ACPI_PM_IO_LEN);
	assert_true(CPUHP_IO_BASE >= PCIHP_IO_BASE + PCIHP_IO_LEN);
	assert_true(ACPI_GPE_CPUHP != ACPI_GPE_PCIHP);
	assert_true(ACPI_GPE_CPUHP < 8 * (ACPI_GPE0_LEN / 2));
	/* The ports are taken; and nonsense counts are refused. */
	assert_null(cpuhp_create(&vm, NR, BOOT, &ops, pm));
	assert_null(cpuhp_create(&vm, 0, 0, &ops, pm));
	assert_null(cpuhp_create(&vm, 4, 5, &ops, pm));
	assert_null(cpuhp_create(&vm, CPUHP_MAX_CPUS + 1, 1, &ops, pm));
	/* Past the block's words: zero, and writes go nowhere. */
	assert_int_equal(pio_in(&vm, PRESENT(2), 4), 0);
	assert_int_equal(pio_in(&vm, EJECT(0), 4), 0);
}

static void test_boot_present(void **state)
{
	assert_int_equal(pio_in(&vm, PRESENT(0), 4), (1u << BOOT) - 1);
	assert_int_equal(pio_in(&vm, PRESENT(1), 4), 0);
	assert_int_equal(pio_in(&vm, UP(0), 4), 0);
	assert_int_equal(pio_in(&vm, DOWN(0), 4), 0);
	assert_true(cpuhp_present(hp, 0));
	assert_true(cpuhp_present(hp, BOOT - 1));
	assert_false(cpuhp_present(hp, BOOT));
	assert_false(cpuhp_present(hp, NR));
}

static void test_plug(void **state)
{
	assert_int_equal(cpuhp_plug(hp, 0), -EEXIST);
	assert_int_equal(cpuhp_plug(hp, NR), -EINVAL);
	assert_int_equal(gpe_events, 0);
	assert_false(vm.vcpus[2]->plugged);
	assert_int_equal(cpuhp_plug(hp, 2), 0);
	/* The vCPU may run before the guest is told. */
	assert_true(vm.vcpus[2]->plugged);
	assert_int_equal(gpe_events, 1);
	assert_int_equal(pio_in(&vm, PRESENT(0), 4), 0x7);
	assert_int_equal(pio_in(&vm, UP(0), 4), 1u << 2);
	/* Told once. */
	assert_int_equal(pio_in(&vm, UP(0), 4), 0);
	assert_int_equal(cpuhp_plug(hp, 2), -EEXIST);
	/* The second word: CPU 33 is bit 1 of word 1; byte reads clear their byte. */
	assert_int_equal(cpuhp_plug(hp, 33), 0);
	assert_int_equal(cpuhp_plug(hp, 3), 0);
	assert_int_equal(pio_in(&vm, UP(1), 1), 1u << 1);
	assert_int_equal(pio_in(&vm, UP(1), 4), 0);
	assert_int_equal(pio_in(&vm, UP(0), 4), 1u << 3);
	assert_int_equal(pio_in(&vm, PRESENT(1), 4), 1u << 1);
	assert_true(vm.vcpus[33]->plugged);
}

static void test_unplug_eject(void **state)
{
	assert_int_equal(cpuhp_unplug_request(hp, 0), -EINVAL);
	assert_int_equal(cpuhp_unplug_request(hp, NR), -EINVAL);
	assert_int_equal(cpuhp_unplug_request(hp, 5), -ENOENT);
	assert_int_equal(gpe_events, 0);
	assert_int_equal(cpuhp_unplug_request(hp, 1), 0);
	assert_int_equal(gpe_events, 1);
	/* DOWN stays until the eject, whoever reads it; the vCPU runs on. */
	assert_int_equal(pio_in(&vm, DOWN(0), 4), 1u << 1);
	assert_int_equal(pio_in(&vm, DOWN(0), 4), 1u << 1);
	assert_true(vm.vcpus[1]->plugged);
	/* An eject nobody asked for (CPU 0) is ignored. */
	pio_out(&vm, EJECT(0), 1u << 0, 4);
	assert_true(cpuhp_present(hp, 0));
	assert_true(vm.vcpus[0]->plugged);
	pio_out(&vm, EJECT(0), (1u << 0) | (1u << 1), 4);
	assert_false(cpuhp_present(hp, 1));
	assert_false(vm.vcpus[1]->plugged);
	assert_int_equal(pio_in(&vm, DOWN(0), 4), 0);
	assert_int_equal(pio_in(&vm, PRESENT(0), 4), 1u << 0);
	/* A withdrawn request: a late eject does not count. */
	assert_int_equal(cpuhp_plug(hp, 2), 0);
	assert_int_equal(cpuhp_unplug_request(hp, 2), 0);
	/* Taken back before the guest read UP: no arrival to tell. */
	assert_int_equal(pio_in(&vm, UP(0), 4), 0);
	cpuhp_unplug_cancel(hp, 2);
	pio_out(&vm, EJECT(0), 1u << 2, 4);
	assert_true(cpuhp_present(hp, 2));
	assert_true(vm.vcpus[2]->plugged);
	/* Without a guest that listens: gone at once. */
	cpuhp_force_unplug(hp, 2);
	assert_false(cpuhp_present(hp, 2));
	assert_false(vm.vcpus[2]->plugged);
	cpuhp_force_unplug(hp, 0);
	assert_true(cpuhp_present(hp, 0));
	assert_int_equal(vm_plugged_vcpus(&vm), 1);
}

static void test_gpe_sci(void **state)
{
	/* Disabled: status only, no SCI. */
	cpuhp_plug(hp, 4);
	assert_int_equal(pio_in(&vm, GPE_STS, 1), 1u << ACPI_GPE_CPUHP);
	assert_true(gpe_sci_level != 1);
	assert_false(cpuhp_guest_listening(hp));
	pio_out(&vm, GPE_EN, 1u << ACPI_GPE_CPUHP, 1);
	assert_true(cpuhp_guest_listening(hp));
	assert_int_equal(gpe_sci_level, 1);
	pio_out(&vm, GPE_STS, 1u << ACPI_GPE_CPUHP, 1);
	assert_int_equal(gpe_sci_level, 0);
	cpuhp_unplug_request(hp, 4);
	assert_int_equal(gpe_sci_level, 1);
	/* A reset forgets the news, not who is present. */
	devices_reset(&vm);
	assert_int_equal(pio_in(&vm, DOWN(0), 4), 0);
	assert_int_equal(pio_in(&vm, UP(0), 4), 0);
	assert_true(cpuhp_present(hp, 4));
}

/* "Notify (Cnnn, @v)" with @v One or 3. */
static bool has_notify(const struct aml *a, unsigned int cpu, uint8_t v)
{
	uint8_t want[7] = { 0x86, 0, 0, 0, 0, 0x0a, v };
	char name[6];

	snprintf(name, sizeof(name), "C%03X", cpu);
	memcpy(want + 1, name, 4);
	if (v == 1) {
		want[5] = 0x01;
		return aml_has_bytes(a, want, 6);
	}
	return aml_has_bytes(a, want, 7);
}

static void test_aml(void **state)
{
	struct aml a;
	struct device_desc d = { .aml = &a };
	/* OperationRegion (CPHP, SystemIO, CPUHP_IO_BASE, HP_IO_LEN) */
	const uint8_t region[] = { 0x5b,
				   0x80,
				   'C',
				   'P',
				   'H',
				   'P',
				   AML_REGION_SYSTEM_IO,
				   0x0b,
				   CPUHP_IO_BASE & 0xff,
				   CPUHP_IO_BASE >> 8,
				   0x0a,
				   HP_IO_LEN };
	/* Name (_MAT, Buffer (8) {...}) of CPU 0x27 = 39. */
	const uint8_t mat39[] = { 0x08, '_', 'M', 'A', 'T', 0x11, 0x0b, 0x0a, 8,
				  0,	8,   39,  39,  1,   0,	  0,	0 };
	/* Name (_UID, 39) */
	const uint8_t uid39[] = { 0x08, '_', 'U', 'I', 'D', 0x0a, 39 };

	aml_init(&a);
	assert_int_equal(cpuhp_describe(&hp->dev, &d), 0);
	assert_int_equal(aml_finish(&a), 0);
	assert_true(aml_has_bytes(&a, region, sizeof(region)));
	assert_true(aml_has_bytes(&a, "ACPI0010", 8));
	assert_true(aml_has_bytes(&a, "CPUS", 4));
	assert_true(aml_has_bytes(&a, "CSCN", 4));
	assert_true(aml_has_bytes(&a, mat39, sizeof(mat39)));
	assert_true(aml_has_bytes(&a, uid39, sizeof(uid39)));
	/* The field units of both words, in register order. */
	assert_true(aml_has_bytes(&a, "CU00\x20", 5));
	assert_true(aml_has_bytes(&a, "CE07\x20", 5));
	/* One processor device per possible CPU; all but CPU 0 ejectable. */
	assert_int_equal(aml_count_bytes(&a, "ACPI0007", 8), NR);
	assert_int_equal(aml_count_bytes(&a, "_EJ0", 4), NR - 1);
	assert_false(aml_has_bytes(&a, "C028", 4));
	for (unsigned int cpu = 0; cpu < NR; cpu++) {
		assert_true(has_notify(&a, cpu, 1));
		assert_true(has_notify(&a, cpu, 3));
	}
	aml_free(&a);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_layout),	      T(test_boot_present), T(test_plug),
		T(test_unplug_eject), T(test_gpe_sci),	    T(test_aml),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
