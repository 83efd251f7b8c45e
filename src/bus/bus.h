/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_BUS_BUS_H
#define DEVISOR_BUS_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The one way an exit reaches a device. A device claims [base, base+len) on
 * the PIO or MMIO bus with a pair of callbacks, in the manner of QEMU's
 * MemoryRegionOps: @offset is relative to the region base, @size is 1, 2, 4
 * or 8 and values are little-endian integers. Callbacks run on the vCPU
 * thread that took the exit, with no bus lock held, so they may (un)register
 * regions themselves (a guest moving a BAR) and must do their own locking.
 */
struct bus_ops {
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned int size);
	void (*write)(void *opaque, uint64_t offset, uint64_t value,
		      unsigned int size);
};

struct bus_region {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name;
	pthread_rwlock_t lock;
	struct bus_region *regions; /* sorted by base, never overlapping */
	unsigned int nr, cap;
	/* Counters for benchmarks and tests. */
	uint64_t unclaimed_reads, unclaimed_writes;
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/* Returns 0, -EINVAL for an empty or wrapping range, -EEXIST on overlap. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name);
/* Removes the region that starts at @base and is owned by @opaque. */
int bus_unregister(struct bus *bus, uint64_t base, void *opaque);

/*
 * Dispatch one access of @size bytes (1..8). @data is the exit's byte
 * buffer. An access no region claims reads as all ones and is dropped on
 * write. An access that straddles the end of a region is split so each byte
 * goes where it belongs. Returns true when a region handled it.
 */
bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned int size);
bool bus_write(struct bus *bus, uint64_t addr, const void *data,
	       unsigned int size);

/* Look up the region containing @addr; copies it out. For tests and dumps. */
bool bus_find(struct bus *bus, uint64_t addr, struct bus_region *out);

#endif
