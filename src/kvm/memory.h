/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_KVM_MEMORY_H
#define DEVISOR_KVM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Guest physical memory: a few RAM regions, each one host mapping. This is
 * the only way devisor code turns a guest address into a host pointer, and
 * every translation is bounds-checked, so no guest-supplied address or
 * length can reach host memory outside guest RAM.
 */
#define GUEST_MEM_MAX_REGIONS 8

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	unsigned int slot;
};

struct guest_mem {
	struct mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int nr;
	uint8_t *base; /* the single host mapping that backs all regions */
	uint64_t map_size;
	uint64_t ram_size; /* bytes of RAM the user asked for */
	/*
	 * Shared RAM (vhost-user, --memory SIZE,shared=on): the memfd behind
	 * base, region i at offset hva - base; -1 for private anonymous RAM.
	 */
	int fd;
};

/*
 * @ram_size bytes of RAM where the architecture puts them (arch_ram_map()):
 * private, MAP_NORESERVE and THP-friendly, or with @shared a memfd that
 * other processes can map (m->fd).
 */
int guest_mem_init(struct guest_mem *m, uint64_t ram_size, bool shared);
/*
 * RAM in the @nr regions of @map (gpa and size; ascending, apart), one
 * host mapping behind them all. Returns 0 or -errno.
 */
int guest_mem_init_map(struct guest_mem *m, const struct mem_region *map,
		       unsigned int nr);
void guest_mem_destroy(struct guest_mem *m);

/* Host pointer for [gpa, gpa+len) if it lies inside one region, else NULL. */
void *gpa_to_hva(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy helpers; return 0 or -EFAULT when the range is not all RAM. */
int guest_read(const struct guest_mem *m, uint64_t gpa, void *dst, size_t len);
int guest_write(const struct guest_mem *m, uint64_t gpa, const void *src,
		size_t len);

/* Highest guest-physical address + 1 that is RAM. */
uint64_t guest_mem_end(const struct guest_mem *m);

#endif
