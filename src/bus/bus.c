// SPDX-License-Identifier: GPL-2.0
#include "bus/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"
#include "util/log.h"

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->regions);
	pthread_rwlock_destroy(&bus->lock);
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first region whose end lies above @addr (caller holds lock). */
static unsigned int lower_bound(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_region *r = &bus->regions[mid];

		if (r->base + (r->len - 1) < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name)
{
	unsigned int i;
	int ret = 0;

	if (!len || base + (len - 1) < base || !ops)
		return -EINVAL;

	pthread_rwlock_wrlock(&bus->lock);
	i = lower_bound(bus, base);
	if (i < bus->nr && bus->regions[i].base <= base + (len - 1)) {
		ret = -EEXIST;
		goto out;
	}
	if (bus->nr == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_region *n = realloc(bus->regions, cap * sizeof(*n));

		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		bus->regions = n;
		bus->cap = cap;
	}
	memmove(&bus->regions[i + 1], &bus->regions[i],
		(bus->nr - i) * sizeof(*bus->regions));
	bus->regions[i] = (struct bus_region){ .base = base,
					       .len = len,
					       .ops = ops,
					       .opaque = opaque,
					       .name = name };
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base, void *opaque)
{
	unsigned int i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = lower_bound(bus, base);
	if (i < bus->nr && bus->regions[i].base == base &&
	    bus->regions[i].opaque == opaque) {
		memmove(&bus->regions[i], &bus->regions[i + 1],
			(bus->nr - i - 1) * sizeof(*bus->regions));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

bool bus_find(struct bus *bus, uint64_t addr, struct bus_region *out)
{
	unsigned int i;
	bool found = false;

	pthread_rwlock_rdlock(&bus->lock);
	i = lower_bound(bus, addr);
	if (i < bus->nr && bus->regions[i].base <= addr) {
		*out = bus->regions[i];
		found = true;
	}
	pthread_rwlock_unlock(&bus->lock);
	return found;
}

/*
 * Regions are copied out under the read lock and called without it: a
 * callback may reprogram the bus, and devices are never freed while vCPUs
 * run, so the copied ops/opaque stay valid.
 */
static bool region_fits(struct bus *bus, uint64_t addr, unsigned int size,
			struct bus_region *r)
{
	return bus_find(bus, addr, r) && addr - r->base + size <= r->len;
}

bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned int size)
{
	struct bus_region r;
	uint8_t *p = data;
	bool any = false;

	if (size == 0 || size > 8) {
		memset(data, 0xff, size > 8 ? 8 : size);
		return false;
	}
	if (region_fits(bus, addr, size, &r)) {
		put_le(p,
		       r.ops->read ?
			       r.ops->read(r.opaque, addr - r.base, size) :
			       ~0ull,
		       size);
		return true;
	}
	/* Unclaimed, or straddling a region edge: go byte by byte. */
	for (unsigned int i = 0; i < size; i++) {
		if (bus_find(bus, addr + i, &r) && r.ops->read) {
			p[i] = r.ops->read(r.opaque, addr + i - r.base, 1);
			any = true;
		} else {
			p[i] = 0xff;
		}
	}
	if (!any) {
		__atomic_fetch_add(&bus->unclaimed_reads, 1, __ATOMIC_RELAXED);
		pr_debug_ratelimited("%s: unclaimed read of %u at %#lx",
				     bus->name, size, (unsigned long)addr);
	}
	return any;
}

bool bus_write(struct bus *bus, uint64_t addr, const void *data,
	       unsigned int size)
{
	struct bus_region r;
	const uint8_t *p = data;
	bool any = false;

	if (size == 0 || size > 8)
		return false;
	if (region_fits(bus, addr, size, &r)) {
		if (r.ops->write)
			r.ops->write(r.opaque, addr - r.base, get_le(p, size),
				     size);
		return true;
	}
	for (unsigned int i = 0; i < size; i++) {
		if (bus_find(bus, addr + i, &r)) {
			if (r.ops->write)
				r.ops->write(r.opaque, addr + i - r.base, p[i],
					     1);
			any = true;
		}
	}
	if (!any) {
		__atomic_fetch_add(&bus->unclaimed_writes, 1, __ATOMIC_RELAXED);
		pr_debug_ratelimited("%s: unclaimed write of %u at %#lx",
				     bus->name, size, (unsigned long)addr);
	}
	return any;
}
