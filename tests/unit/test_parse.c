// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "kvm/memory.h"
#include "util/parse.h"

static void test_sizes(void **state)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t v;
	} cases[] = {
		{ "512M", 0, 512ull << 20 },
		{ "512", 0, 512ull << 20 },
		{ "2G", 0, 2ull << 30 },
		{ "2g", 0, 2ull << 30 },
		{ "1024K", 0, 1ull << 20 },
		{ "512MiB", 0, 512ull << 20 },
		{ "512MB", 0, 512ull << 20 },
		{ "4096B", 0, 4096 },
		{ "1T", 0, 1ull << 40 },
		{ "", -EINVAL, 0 },
		{ "M", -EINVAL, 0 },
		{ "-1G", -EINVAL, 0 },
		{ "12Q", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 },
		{ "5GX", -EINVAL, 0 },
		{ " 5G", -EINVAL, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "17179869184G", -ERANGE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;

		assert_int_equal(parse_size(cases[i].s, &v), cases[i].ret);
		if (!cases[i].ret)
			assert_int_equal(v, cases[i].v);
	}
}

static void test_uint(void **state)
{
	unsigned long v;

	assert_int_equal(parse_uint("4", 1, 255, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(parse_uint("0", 1, 255, &v), -ERANGE);
	assert_int_equal(parse_uint("256", 1, 255, &v), -ERANGE);
	assert_int_equal(parse_uint("4x", 1, 255, &v), -EINVAL);
	assert_int_equal(parse_uint("-4", 1, 255, &v), -EINVAL);
	assert_int_equal(parse_uint("", 1, 255, &v), -EINVAL);
}

static void test_guest_mem_layout(void **state)
{
	/* 4 GiB of RAM with a 1 GiB hole at 3 GiB: 1 GiB moves above 4G. */
	static const struct mem_region map[] = {
		{ .gpa = 0, .size = 3ull << 30 },
		{ .gpa = 4ull << 30, .size = 1ull << 30 },
	};
	static const struct mem_region overlap[] = {
		{ .gpa = 0, .size = 3ull << 30 },
		{ .gpa = 2ull << 30, .size = 1ull << 30 },
	};
	static const struct mem_region small = { .gpa = 0, .size = 64 << 20 };
	struct guest_mem m;

	assert_int_equal(guest_mem_init_map(&m, map, 2), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(m.ram_size, 4ull << 30);
	assert_int_equal(m.regions[1].slot, 1);
	assert_ptr_equal(m.regions[1].hva, m.base + (3ull << 30));
	assert_int_equal(guest_mem_end(&m), 5ull << 30);
	assert_non_null(gpa_to_hva(&m, (3ull << 30) - 8, 8));
	assert_null(gpa_to_hva(&m, (3ull << 30) - 8, 9)); /* into the hole */
	assert_null(gpa_to_hva(&m, 3ull << 30, 1)); /* in the hole */
	assert_non_null(gpa_to_hva(&m, 4ull << 30, 4096)); /* high RAM */
	assert_null(gpa_to_hva(&m, (5ull << 30) - 1, 2)); /* past the end */
	/* Lengths that would wrap a 64-bit sum. */
	assert_null(gpa_to_hva(&m, 0x1000, UINT64_MAX));
	assert_null(gpa_to_hva(&m, UINT64_MAX, 2));
	assert_null(gpa_to_hva(&m, UINT64_MAX - 0xfff, 0x2000));
	guest_mem_destroy(&m);

	assert_int_equal(guest_mem_init_map(&m, &small, 1), 0);
	assert_int_equal(m.nr, 1);
	assert_null(gpa_to_hva(&m, 64 << 20, 1));
	guest_mem_destroy(&m);

	/* Regions out of order or overlapping, none at all, an empty one. */
	assert_int_equal(guest_mem_init_map(&m, overlap, 2), -EINVAL);
	assert_int_equal(
		guest_mem_init_map(&m, (struct mem_region[]){ map[1], map[0] },
				   2),
		-EINVAL);
	assert_int_equal(guest_mem_init_map(&m, map, 0), -EINVAL);
	assert_int_equal(
		guest_mem_init_map(
			&m, &(struct mem_region){ .gpa = 0, .size = 0 }, 1),
		-EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_guest_mem_layout),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
