/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_PARSE_H
#define DEVISOR_UTIL_PARSE_H

#include <stdint.h>

/*
 * "512M", "2G", "1024K", "4096" (MiB when no suffix, as QEMU's -m). Returns
 * 0, or -EINVAL for garbage and -ERANGE for a value that overflows.
 */
int parse_size(const char *s, uint64_t *out);
/* Decimal only, no sign, within [min, max]. */
int parse_uint(const char *s, unsigned long min, unsigned long max,
	       unsigned long *out);

#endif
