// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpu.h"

/* A supported-CPUID table as KVM hands it out: leaf 1 without the bit. */
static struct kvm_cpuid2 *supported(void)
{
	struct kvm_cpuid2 *c =
		calloc(1, sizeof(*c) + 3 * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = 3;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0xd };
	c->entries[1] = (struct kvm_cpuid_entry2){
		.function = 1,
		.eax = 0x000306a9,
		.ebx = 0x00000800,
		.ecx = 0x77fa3203 & ~CPUID_1_ECX_TSC_DEADLINE,
		.edx = 0x0f8bfbff,
	};
	c->entries[2] =
		(struct kvm_cpuid_entry2){ .function = 0xa, .eax = 0x07300402 };
	return c;
}

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *c,
					   uint32_t fn)
{
	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn)
			return &c->entries[i];
	fail_msg("no leaf %#x", fn);
	return NULL;
}

static void test_tsc_deadline_with_cap(void **state)
{
	struct kvm_cpuid2 *c = supported();
	uint32_t ecx = c->entries[1].ecx;

	x86_cpuid_for_vcpu(c, 2, 4, true);
	assert_true(leaf(c, 1)->ecx & CPUID_1_ECX_TSC_DEADLINE);
	assert_true(leaf(c, 1)->ecx & CPUID_1_ECX_HYPERVISOR);
	/* Nothing else in ECX moved. */
	assert_int_equal(leaf(c, 1)->ecx & ~(CPUID_1_ECX_TSC_DEADLINE |
					     CPUID_1_ECX_HYPERVISOR),
			 ecx & ~CPUID_1_ECX_HYPERVISOR);
	assert_int_equal(leaf(c, 1)->eax, 0x000306a9);
	assert_int_equal(leaf(c, 1)->ebx >> 24, 2);
	assert_int_equal((leaf(c, 1)->ebx >> 16) & 0xff, 4);
	free(c);
}

static void test_tsc_deadline_without_cap(void **state)
{
	struct kvm_cpuid2 *c = supported();

	c->entries[1].ecx &= ~CPUID_1_ECX_X2APIC;
	x86_cpuid_for_vcpu(c, 0, 1, false);
	assert_false(leaf(c, 1)->ecx & CPUID_1_ECX_TSC_DEADLINE);
	/* x2APIC for interrupt remapping's EIM, whatever the table said. */
	assert_true(leaf(c, 1)->ecx & CPUID_1_ECX_X2APIC);
	/* Cleared even if a table ever carried it. */
	c->entries[1].ecx |= CPUID_1_ECX_TSC_DEADLINE;
	x86_cpuid_for_vcpu(c, 0, 1, false);
	assert_false(leaf(c, 1)->ecx & CPUID_1_ECX_TSC_DEADLINE);
	/* And the PMU stays hidden either way. */
	assert_int_equal(leaf(c, 0xa)->eax, 0);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tsc_deadline_with_cap),
		cmocka_unit_test(test_tsc_deadline_without_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
