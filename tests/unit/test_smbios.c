// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "arch/x86/smbios.h"

/*
 * Reads the tables back with the offsets of DSP0134 3.0.0, not with the
 * builder's structs, the way Linux's dmi_scan.c and dmidecode do.
 */

static uint8_t area[SMBIOS_SIZE];

/* 01234567-89ab-cdef-0011-223344556677 */
static const uint8_t uuid[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
				  0xcd, 0xef, 0x00, 0x11, 0x22, 0x33,
				  0x44, 0x55, 0x66, 0x77 };

static struct smbios_config config(void)
{
	struct smbios_config c = {
		.version = "v1.2-test",
		.serial = "SER-42",
		.cpu_vendor = "GenuineIntel",
		.cpu_id = 0x0f8bfbff000306a9ull,
		.nr_cpus = 4,
		.ram_low = 3ull << 30,
		.ram_high = 1ull << 30,
	};

	memcpy(c.uuid, uuid, 16);
	return c;
}

static uint16_t u16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t u32(const uint8_t *p)
{
	return u16(p) | (uint32_t)u16(p + 2) << 16;
}

static uint64_t u64(const uint8_t *p)
{
	return u32(p) | (uint64_t)u32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

struct parsed {
	const uint8_t *st[32]; /* formatted areas */
	const char *strings[32][8]; /* string 1..n of each, at [i][n - 1] */
	unsigned int nr_strings[32];
	unsigned int n;
};

/* Walks the entry point and every structure; fails on anything malformed. */
static void parse(ssize_t len, struct parsed *out)
{
	const uint8_t *ep = area, *p, *end;
	uint64_t addr;
	uint32_t max;

	assert_true(len > 0);
	assert_memory_equal(ep, "_SM3_", 5);
	assert_int_equal(ep[6], 0x18);
	assert_int_equal(sum(ep, ep[6]), 0);
	assert_int_equal(ep[7], 3);
	assert_int_equal(ep[8], 0);
	assert_int_equal(ep[10], 1);
	max = u32(ep + 0x0c);
	addr = u64(ep + 0x10);
	assert_true(addr >= SMBIOS_ADDR + 0x18);
	assert_int_equal(addr % 16, 0);
	assert_int_equal(addr - SMBIOS_ADDR + max, (uint64_t)len);

	memset(out, 0, sizeof(*out));
	p = area + (addr - SMBIOS_ADDR);
	end = p + max;
	for (;;) {
		unsigned int i = out->n++;
		const uint8_t *s;

		assert_true(i < 32);
		assert_true(p + 4 <= end);
		assert_true(p[1] >= 4);
		assert_true(p + p[1] + 2 <= end);
		/* Handles are unique and not the reserved ones. */
		assert_true(u16(p + 2) < 0xfeff);
		for (unsigned int j = 0; j < i; j++)
			assert_int_not_equal(u16(out->st[j] + 2), u16(p + 2));
		out->st[i] = p;
		s = p + p[1];
		if (s[0] == 0) {
			/* No strings: two NULs. */
			assert_int_equal(s[1], 0);
			s += 2;
		} else {
			while (*s) {
				size_t l = strnlen((const char *)s, end - s);

				assert_true(s + l < end);
				assert_true(out->nr_strings[i] < 8);
				out->strings[i][out->nr_strings[i]++] =
					(const char *)s;
				s += l + 1;
			}
			s++;
		}
		if (p[0] == SMBIOS_TYPE_END) {
			assert_int_equal(p[1], 4);
			assert_ptr_equal(s, end);
			return;
		}
		p = s;
	}
}

static const char *string(const struct parsed *t, unsigned int i, uint8_t idx)
{
	if (!idx)
		return NULL;
	assert_true(idx <= t->nr_strings[i]);
	return t->strings[i][idx - 1];
}

/* Index of the first structure of @type at or after @from, or -1. */
static int find(const struct parsed *t, uint8_t type, unsigned int from)
{
	for (unsigned int i = from; i < t->n; i++)
		if (t->st[i][0] == type)
			return i;
	return -1;
}

static void test_layout(void **state)
{
	struct smbios_config c = config();
	struct parsed t;
	const uint8_t *s;
	int i, j;

	memset(area, 0xa5, sizeof(area));
	parse(smbios_build(area, sizeof(area), SMBIOS_ADDR, &c), &t);
	/* 0, 1, 3, 4, 16, 17, 19 (two), 32, 127 */
	assert_int_equal(t.n, 10);

	i = find(&t, 0, 0);
	assert_int_equal(i, 0);
	s = t.st[i];
	assert_int_equal(s[1], 0x18);
	assert_string_equal(string(&t, i, s[4]), "devisor");
	assert_string_equal(string(&t, i, s[5]), "v1.2-test");
	assert_string_equal(string(&t, i, s[8]), SMBIOS_BIOS_DATE);
	assert_true(u64(s + 0x0a) & (1u << 3));
	assert_true(s[0x13] & (1u << 4)); /* a virtual machine */

	i = find(&t, 1, 0);
	assert_true(i >= 0);
	s = t.st[i];
	assert_int_equal(s[1], 0x1b);
	assert_string_equal(string(&t, i, s[4]), "devisor");
	assert_string_equal(string(&t, i, s[5]), SMBIOS_PRODUCT);
	assert_string_equal(string(&t, i, s[6]), "v1.2-test");
	assert_string_equal(string(&t, i, s[7]), "SER-42");
	/* time_low, time_mid, time_hi little-endian; the rest as written. */
	{
		static const uint8_t want[16] = { 0x67, 0x45, 0x23, 0x01,
						  0xab, 0x89, 0xef, 0xcd,
						  0x00, 0x11, 0x22, 0x33,
						  0x44, 0x55, 0x66, 0x77 };

		assert_memory_equal(s + 8, want, 16);
	}
	assert_int_equal(s[0x18], 0x06);

	i = find(&t, 3, 0);
	assert_true(i >= 0);
	assert_int_equal(t.st[i][1], 0x16);
	assert_string_equal(string(&t, i, t.st[i][4]), "devisor");
	assert_int_equal(t.st[i][0x13], 0); /* no contained elements */

	i = find(&t, 4, 0);
	assert_true(i >= 0);
	assert_int_equal(find(&t, 4, i + 1), -1); /* one socket */
	s = t.st[i];
	assert_int_equal(s[1], 0x30);
	assert_int_equal(s[5], 0x03);
	assert_string_equal(string(&t, i, s[7]), "GenuineIntel");
	assert_int_equal(u64(s + 8), 0x0f8bfbff000306a9ull);
	assert_int_equal(s[0x18], 0x41);
	assert_int_equal(s[0x23], 4);
	assert_int_equal(s[0x24], 4);
	assert_int_equal(s[0x25], 4);
	assert_int_equal(u16(s + 0x2a), 4);
	assert_int_equal(u16(s + 0x2c), 4);
	assert_int_equal(u16(s + 0x2e), 4);
	assert_int_equal(u16(s + 0x1a), 0xffff);

	i = find(&t, 16, 0);
	assert_true(i >= 0);
	s = t.st[i];
	assert_int_equal(s[1], 0x17);
	assert_int_equal(u32(s + 7), 4u << 20); /* KiB */
	assert_int_equal(u16(s + 0x0d), 1);

	j = find(&t, 17, 0);
	assert_true(j >= 0);
	s = t.st[j];
	assert_int_equal(s[1], 0x28);
	assert_int_equal(u16(s + 4), u16(t.st[i] + 2));
	assert_int_equal(u16(s + 0x0c), 4096); /* MiB */

	j = find(&t, 19, 0);
	assert_true(j >= 0);
	s = t.st[j];
	assert_int_equal(s[1], 0x1f);
	assert_int_equal(u32(s + 4), 0);
	assert_int_equal(u32(s + 8), (3u << 20) - 1);
	assert_int_equal(u16(s + 0x0c), u16(t.st[i] + 2));
	j = find(&t, 19, j + 1);
	assert_true(j >= 0);
	s = t.st[j];
	assert_int_equal(u32(s + 4), 4u << 20);
	assert_int_equal(u32(s + 8), (5u << 20) - 1);

	i = find(&t, 32, 0);
	assert_true(i >= 0);
	assert_int_equal(t.st[i][1], 0x0b);
	assert_int_equal(t.st[i][0x0a], 0);
	assert_int_equal(find(&t, 127, 0), (int)t.n - 1);
}

/* Room for 8 vCPUs, 3 at boot (CPU hotplug): 8 cores, 3 enabled. */
static void test_hotplug_cores(void **state)
{
	struct smbios_config c = config();
	struct parsed t;
	const uint8_t *s;
	int i;

	c.nr_cpus = 8;
	c.nr_enabled = 3;
	memset(area, 0xa5, sizeof(area));
	parse(smbios_build(area, sizeof(area), SMBIOS_ADDR, &c), &t);
	i = find(&t, 4, 0);
	assert_true(i >= 0);
	s = t.st[i];
	assert_int_equal(s[0x23], 8); /* core count */
	assert_int_equal(s[0x24], 3); /* cores enabled */
	assert_int_equal(s[0x25], 8); /* threads */
	assert_int_equal(u16(s + 0x2a), 8);
	assert_int_equal(u16(s + 0x2c), 3);
	assert_int_equal(u16(s + 0x2e), 8);
}

static void test_defaults_and_small(void **state)
{
	struct smbios_config c = config();
	struct parsed t;
	const uint8_t *s;
	int i;

	/* No serial, nil UUID, 16 MiB + 4 KiB, no RAM above 4 GiB. */
	c.serial = NULL;
	c.cpu_vendor = NULL;
	memset(c.uuid, 0, 16);
	c.ram_low = (16u << 20) + 4096;
	c.ram_high = 0;
	c.nr_cpus = 1;
	parse(smbios_build(area, sizeof(area), SMBIOS_ADDR, &c), &t);
	assert_int_equal(t.n, 9);
	i = find(&t, 1, 0);
	s = t.st[i];
	assert_int_equal(s[7], 0);
	for (int k = 0; k < 16; k++)
		assert_int_equal(s[8 + k], 0);
	i = find(&t, 4, 0);
	assert_int_equal(t.st[i][7], 0);
	/* Not whole MiB: KiB units, bit 15 set. */
	i = find(&t, 17, 0);
	assert_int_equal(u16(t.st[i] + 0x0c), 0x8000 | (16 * 1024 + 4));
}

static void test_large_memory(void **state)
{
	struct smbios_config c = config();
	struct parsed t;
	int i;

	/* 64 GiB: past Size's 0x7fff MiB, so Extended Size holds it. */
	c.ram_high = (64ull << 30) - c.ram_low;
	parse(smbios_build(area, sizeof(area), SMBIOS_ADDR, &c), &t);
	i = find(&t, 17, 0);
	assert_int_equal(u16(t.st[i] + 0x0c), 0x7fff);
	assert_int_equal(u32(t.st[i] + 0x1c), 64 * 1024);
}

static void test_errors(void **state)
{
	struct smbios_config c = config();
	ssize_t full = smbios_build(area, sizeof(area), SMBIOS_ADDR, &c);

	assert_true(full > 0);
	/* Too small anywhere: in the entry point, a structure, a string. */
	size_t sizes[] = { 0, 0x17, 0x20, 0x40, full / 2, full - 3, full - 1 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		assert_int_equal(smbios_build(area, sizes[k], SMBIOS_ADDR, &c),
				 -ENOSPC);
	assert_int_equal(smbios_build(area, full, SMBIOS_ADDR, &c), full);
	assert_int_equal(smbios_build(area, sizeof(area), SMBIOS_ADDR + 8, &c),
			 -EINVAL);
	c.nr_cpus = 0;
	assert_int_equal(smbios_build(area, sizeof(area), SMBIOS_ADDR, &c),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_hotplug_cores),
		cmocka_unit_test(test_defaults_and_small),
		cmocka_unit_test(test_large_memory),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
