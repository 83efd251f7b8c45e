/* SPDX-License-Identifier: GPL-2.0 */
/* Byte searches in AML a describe hook wrote, for the device tests. */
#ifndef TESTS_UNIT_HELPERS_AML_BYTES_H
#define TESTS_UNIT_HELPERS_AML_BYTES_H

#include <stdbool.h>
#include <stddef.h>

struct aml;

/* Whether @a holds the @n bytes at @b; how many times. */
bool aml_has_bytes(const struct aml *a, const void *b, size_t n);
unsigned int aml_count_bytes(const struct aml *a, const void *b, size_t n);

#endif
