/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_COMMON_H
#define DEVISOR_UTIL_COMMON_H

/*
 * Helpers every layer uses, as Linux spells them: container_of, ilog2,
 * and little-endian byte strings (guest registers, config spaces, ACPI
 * and virtio structures are little-endian whatever the host is).
 */
#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

/* floor(log2(@v)); 0 for 0 and 1. */
static inline unsigned int ilog2(uint64_t v)
{
	return v ? 63 - (unsigned int)__builtin_clzll(v) : 0;
}

/* The low @n (at most 8) bytes of @v at @p, least significant first. */
static inline void put_le(void *p, uint64_t v, unsigned int n)
{
	uint8_t *b = p;

	for (unsigned int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_le(const void *p, unsigned int n)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

#endif
