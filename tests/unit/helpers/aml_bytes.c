// SPDX-License-Identifier: GPL-2.0
/* AML byte searches for the device tests; see aml_bytes.h. */
#include <string.h>

#include "acpi/aml.h"
#include "helpers/aml_bytes.h"

unsigned int aml_count_bytes(const struct aml *a, const void *b, size_t n)
{
	unsigned int c = 0;

	for (size_t i = 0; i + n <= a->len; i++)
		c += !memcmp(a->buf + i, b, n);
	return c;
}

bool aml_has_bytes(const struct aml *a, const void *b, size_t n)
{
	return aml_count_bytes(a, b, n) != 0;
}
