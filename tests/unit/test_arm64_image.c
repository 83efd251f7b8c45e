// SPDX-License-Identifier: GPL-2.0
/* The arm64 Image header and where the kernel, initrd and DTB go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"

#define MiB (1ull << 20)

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A header as Linux's head.S lays it out. */
static void header(uint8_t *h, uint64_t text_offset, uint64_t size,
		   uint64_t flags)
{
	memset(h, 0, 64);
	put64(h + 8, text_offset);
	put64(h + 16, size);
	put64(h + 24, flags);
	memcpy(h + 56, "ARM\x64", 4);
}

static void test_parse(void **state)
{
	uint8_t h[4096];
	struct arm64_image img;
	char err[128];

	header(h, 0, 20 * MiB, 0xa);
	assert_int_equal(
		arm64_image_parse(h, sizeof(h), &img, err, sizeof(err)), 0);
	assert_int_equal(img.text_offset, 0);
	assert_int_equal(img.image_size, 20 * MiB);
	/* Before 3.17: no size, text_offset 0x80000 whatever it says. */
	header(h, 0, 0, 0);
	assert_int_equal(
		arm64_image_parse(h, sizeof(h), &img, err, sizeof(err)), 0);
	assert_int_equal(img.text_offset, 0x80000);
	assert_int_equal(img.image_size, sizeof(h));
}

static void test_rejects(void **state)
{
	uint8_t h[4096];
	struct arm64_image img;
	char err[128];

	header(h, 0, 20 * MiB, 1); /* big-endian */
	assert_int_equal(arm64_image_parse(h, sizeof(h), &img, err,
					   sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "big-endian"));
	header(h, 3 * MiB, 20 * MiB, 0);
	assert_int_equal(arm64_image_parse(h, sizeof(h), &img, err,
					   sizeof(err)),
			 -EINVAL);
	header(h, 0, 100, 0); /* smaller than the file */
	assert_int_equal(arm64_image_parse(h, sizeof(h), &img, err,
					   sizeof(err)),
			 -EINVAL);
	header(h, 0, 20 * MiB, 0);
	h[56] = 'X';
	assert_int_equal(arm64_image_parse(h, sizeof(h), &img, err,
					   sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "magic"));
	assert_int_equal(arm64_image_parse(h, 10, &img, err, sizeof(err)),
			 -EINVAL);
	h[0] = 0x1f;
	h[1] = 0x8b;
	assert_int_equal(arm64_image_parse(h, sizeof(h), &img, err,
					   sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "gzip"));
}

static void test_layout(void **state)
{
	struct arm64_image img = { .text_offset = 0x80000,
				   .image_size = 30 * MiB };
	struct arm64_boot_layout l;

	assert_int_equal(arm64_boot_layout(ARM64_RAM_BASE, 256 * MiB, &img,
					   20 * MiB, 10 * MiB, 2 * MiB, &l),
			 0);
	assert_int_equal(l.kernel, ARM64_RAM_BASE + 0x80000);
	assert_int_equal(l.fdt % (2 * MiB), 0);
	assert_int_equal(l.fdt, ARM64_RAM_BASE + 254 * MiB);
	assert_int_equal(l.initrd, l.fdt - 10 * MiB);
	assert_true(l.initrd >= l.kernel + img.image_size);
	/* No initrd. */
	assert_int_equal(arm64_boot_layout(ARM64_RAM_BASE, 256 * MiB, &img,
					   20 * MiB, 0, 2 * MiB, &l),
			 0);
	assert_int_equal(l.initrd, 0);
	/* Too small for all three, or for the kernel's BSS. */
	assert_int_equal(arm64_boot_layout(ARM64_RAM_BASE, 40 * MiB, &img,
					   20 * MiB, 10 * MiB, 2 * MiB, &l),
			 -ENOSPC);
	assert_int_equal(arm64_boot_layout(ARM64_RAM_BASE, 16 * MiB, &img,
					   20 * MiB, 0, 2 * MiB, &l),
			 -ENOSPC);
	/* An initrd of absurd size does not wrap. */
	assert_int_equal(arm64_boot_layout(ARM64_RAM_BASE, 256 * MiB, &img,
					   20 * MiB, UINT64_MAX - 5, 2 * MiB,
					   &l),
			 -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
