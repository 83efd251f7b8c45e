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
#define GUEST_MEM_MAX_DEV_RAM 8

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
	/*
	 * Memory hotplug (vm.resize): an area the architecture places after
	 * RAM (arch_hotplug_gpa()), reserved in the mapping after RAM, of
	 * which the first @hotplug.size bytes are the guest's (grown by
	 * guest_mem_grow(), read atomically; .slot unused). 0 of 0: none.
	 */
	struct mem_region hotplug;
	uint64_t hotplug_max;
	/*
	 * Memory a device maps into the guest that other devices may DMA
	 * to (virtio-pmem's file): added while the board is built, before
	 * any vCPU or I/O thread runs (guest_mem_add_device_ram()); the
	 * device owns the mapping.
	 */
	struct mem_region dev_ram[GUEST_MEM_MAX_DEV_RAM];
	unsigned int nr_dev_ram;
};

/*
 * @ram_size bytes of RAM where the architecture puts them (arch_ram_map()):
 * private, MAP_NORESERVE and THP-friendly, or with @shared a memfd that
 * other processes can map (m->fd).
 */
int guest_mem_init(struct guest_mem *m, uint64_t ram_size, bool shared);
/*
 * As guest_mem_init(), with room for @hotplug_max bytes more to plug at
 * run time: -EOPNOTSUPP where the architecture has no place for them.
 */
int guest_mem_init_hotplug(struct guest_mem *m, uint64_t ram_size,
			   uint64_t hotplug_max, bool shared);
/*
 * Gives the guest @bytes more of the hotplug area: *@gpa and *@hva say
 * where they start. The caller maps them into KVM first, then publishes
 * them for DMA with guest_mem_publish(). -ENOSPC past hotplug_max.
 */
int guest_mem_grow(const struct guest_mem *m, uint64_t bytes, uint64_t *gpa,
		   uint8_t **hva);
void guest_mem_publish(struct guest_mem *m, uint64_t bytes);
/*
 * Takes back the last @bytes published, before the guest was told of them
 * (a plug that failed); the mapping stays, so a DMA that raced it still
 * lands in memory reserved for the guest.
 */
void guest_mem_retract(struct guest_mem *m, uint64_t bytes);
/* -ENOSPC when full; -EINVAL for an empty or wrapping range. */
int guest_mem_add_device_ram(struct guest_mem *m, uint64_t gpa, uint64_t size,
			     uint8_t *hva);
/* The device RAM range at @gpa is gone (its device is being freed). */
void guest_mem_remove_device_ram(struct guest_mem *m, uint64_t gpa);
/* RAM plugged at run time so far, in bytes. */
uint64_t guest_mem_plugged(const struct guest_mem *m);
/*
 * RAM in the @nr regions of @map (gpa and size; ascending, apart), one
 * host mapping behind them all. Returns 0 or -errno.
 */
int guest_mem_init_map(struct guest_mem *m, const struct mem_region *map,
		       unsigned int nr);
void guest_mem_destroy(struct guest_mem *m);

/*
 * Every range of RAM the guest has, in @out (GUEST_MEM_MAX_RANGES
 * entries), ascending: RAM regions, memory plugged so far and device RAM.
 * What a device can reach by DMA is exactly these. Returns how many.
 */
#define GUEST_MEM_MAX_RANGES (GUEST_MEM_MAX_REGIONS + 1 + GUEST_MEM_MAX_DEV_RAM)
unsigned int guest_mem_ranges(const struct guest_mem *m,
			      struct mem_region *out);
/* Whether @r is device RAM, not in the mapping behind guest RAM. */
static inline bool guest_mem_is_device_ram(const struct guest_mem *m,
					   const struct mem_region *r)
{
	return r->hva < m->base || r->hva - m->base >= (ptrdiff_t)m->map_size;
}
/*
 * The range holding @gpa: its host pointer in *@hva and the bytes from
 * there to the range's end in *@avail; -EFAULT if @gpa is not RAM.
 */
int guest_mem_lookup(const struct guest_mem *m, uint64_t gpa, uint8_t **hva,
		     uint64_t *avail);
/*
 * Calls @fn for each piece of RAM inside [gpa, last], ascending, one per
 * range; stops at the first nonzero return and gives it back.
 */
typedef int guest_mem_fn(void *arg, uint64_t gpa, uint64_t len, uint8_t *hva);
int guest_mem_for_each(const struct guest_mem *m, uint64_t gpa, uint64_t last,
		       guest_mem_fn *fn, void *arg);
/*
 * Whether [gpa, gpa+size) touches guest RAM, device RAM or any of the
 * hotplug area (plugged or not); a range that wraps always does.
 */
bool guest_mem_overlaps(const struct guest_mem *m, uint64_t gpa, uint64_t size);
/* Host pointer for [gpa, gpa+len) if it lies inside one range, else NULL. */
void *gpa_to_hva(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy helpers; return 0 or -EFAULT when the range is not all RAM. */
int guest_read(const struct guest_mem *m, uint64_t gpa, void *dst, size_t len);
int guest_write(const struct guest_mem *m, uint64_t gpa, const void *src,
		size_t len);

/* Highest guest-physical address + 1 that is RAM at boot. */
uint64_t guest_mem_end(const struct guest_mem *m);
/* Past RAM and the whole hotplug area: where MMIO may start. */
uint64_t guest_mem_reserved_end(const struct guest_mem *m);

#endif
