// SPDX-License-Identifier: GPL-2.0
#include "kvm/memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/arch.h"

#define SZ_2M (2ull << 20)

/*
 * Guest RAM at a 2 MiB-aligned host address. KVM maps a huge page into the
 * guest (one nested page fault and one TLB entry for 2 MiB, not 512) only
 * where the host and guest addresses agree modulo 2 MiB; a plain mmap() is
 * only page-aligned. Each region's offset in the mapping is the sum of the
 * sizes before it, which keeps its guest address's alignment as long as
 * those sizes are multiples of 2 MiB (the board's RAM below the hole is).
 */
static void *map_ram(uint64_t size, int flags, int fd)
{
	uint64_t len = size + SZ_2M;
	uint8_t *r, *a;
	int err;

	r = mmap(NULL, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return MAP_FAILED;
	a = (uint8_t *)(((uintptr_t)r + SZ_2M - 1) & ~(uintptr_t)(SZ_2M - 1));
	if (mmap(a, size, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0) ==
	    MAP_FAILED) {
		err = errno;
		munmap(r, len);
		errno = err;
		return MAP_FAILED;
	}
	if (a > r)
		munmap(r, (size_t)(a - r));
	munmap(a + size, (size_t)(r + len - (a + size)));
	return a;
}

/*
 * Shared RAM: a memfd another process (a vhost-user back-end) can map
 * with the fd we pass it. MAP_SHARED, so no NORESERVE trick: the pages
 * come from shmem as the guest touches them.
 */
static void *map_shared(uint64_t size, int *fdp)
{
	int fd = memfd_create("devisor-ram", MFD_CLOEXEC);
	void *p;

	if (fd < 0)
		return MAP_FAILED;
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return MAP_FAILED;
	}
	p = map_ram(size, MAP_SHARED, fd);
	if (p == MAP_FAILED) {
		int err = errno;

		close(fd);
		errno = err;
		return MAP_FAILED;
	}
	*fdp = fd;
	return p;
}

static int init_map(struct guest_mem *m, const struct mem_region *map,
		    unsigned int nr, bool shared, uint64_t hotplug_max)
{
	uint64_t ram_size = 0, off = 0, len;
	void *p;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (!nr || nr > GUEST_MEM_MAX_REGIONS)
		return -EINVAL;
	for (unsigned int i = 0; i < nr; i++) {
		if (!map[i].size || map[i].gpa + map[i].size < map[i].gpa ||
		    ram_size + map[i].size < ram_size ||
		    (i && map[i].gpa < map[i - 1].gpa + map[i - 1].size))
			return -EINVAL;
		ram_size += map[i].size;
	}
	len = ram_size + hotplug_max;
	if (len < ram_size)
		return -EINVAL;

	/*
	 * One reservation, guest RAM and the hotplug area: NORESERVE so an
	 * idle guest (or memory not plugged) costs nothing, and THP-friendly
	 * so the guest's TLB reach is large.
	 */
	if (shared)
		p = map_shared(len, &m->fd);
	else
		p = map_ram(len, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1);
	if (p == MAP_FAILED)
		return -errno;
	if (len >= SZ_2M)
		madvise(p, len, MADV_HUGEPAGE);
	/* Guest RAM never belongs in a core dump of devisor. */
	madvise(p, len, MADV_DONTDUMP);

	m->base = p;
	m->map_size = len;
	m->ram_size = ram_size;
	for (unsigned int i = 0; i < nr; i++) {
		m->regions[i] = (struct mem_region){ .gpa = map[i].gpa,
						     .size = map[i].size,
						     .hva = m->base + off,
						     .slot = i };
		off += map[i].size;
	}
	m->nr = nr;
	return 0;
}

int guest_mem_init_map(struct guest_mem *m, const struct mem_region *map,
		       unsigned int nr)
{
	return init_map(m, map, nr, false, 0);
}

int guest_mem_init_hotplug(struct guest_mem *m, uint64_t ram_size,
			   uint64_t hotplug_max, bool shared)
{
	struct mem_region map[GUEST_MEM_MAX_REGIONS];
	int nr = arch_ram_map(ram_size, map, GUEST_MEM_MAX_REGIONS);
	uint64_t gpa = 0;
	int ret;

	if (nr >= 0 && hotplug_max) {
		gpa = arch_hotplug_gpa(map[nr - 1].gpa + map[nr - 1].size,
				       hotplug_max);
		if (!gpa)
			nr = -EOPNOTSUPP;
	}
	if (nr < 0) {
		memset(m, 0, sizeof(*m));
		m->fd = -1;
		return nr;
	}
	ret = init_map(m, map, nr, shared, hotplug_max);
	if (!ret && hotplug_max) {
		m->hotplug =
			(struct mem_region){ .gpa = gpa,
					     .hva = m->base + m->ram_size };
		m->hotplug_max = hotplug_max;
	}
	return ret;
}

int guest_mem_init(struct guest_mem *m, uint64_t ram_size, bool shared)
{
	return guest_mem_init_hotplug(m, ram_size, 0, shared);
}

uint64_t guest_mem_plugged(const struct guest_mem *m)
{
	return __atomic_load_n(&m->hotplug.size, __ATOMIC_ACQUIRE);
}

int guest_mem_grow(const struct guest_mem *m, uint64_t bytes, uint64_t *gpa,
		   uint8_t **hva)
{
	uint64_t cur = guest_mem_plugged(m);

	if (!bytes || bytes > m->hotplug_max - cur)
		return -ENOSPC;
	*gpa = m->hotplug.gpa + cur;
	*hva = m->hotplug.hva + cur;
	return 0;
}

void guest_mem_publish(struct guest_mem *m, uint64_t bytes)
{
	__atomic_store_n(&m->hotplug.size, guest_mem_plugged(m) + bytes,
			 __ATOMIC_RELEASE);
}

void guest_mem_retract(struct guest_mem *m, uint64_t bytes)
{
	__atomic_store_n(&m->hotplug.size, guest_mem_plugged(m) - bytes,
			 __ATOMIC_RELEASE);
}

uint64_t guest_mem_reserved_end(const struct guest_mem *m)
{
	if (m->hotplug_max)
		return m->hotplug.gpa + m->hotplug_max;
	return guest_mem_end(m);
}

void guest_mem_destroy(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base, m->map_size);
	if (m->fd > 0)
		close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

/*
 * Range @i in no order (RAM regions, the @plugged bytes of the hotplug
 * area, device RAM): false past the last. The lookups walk these in
 * place; guest_mem_ranges() sorts a copy.
 */
static bool range_at(const struct guest_mem *m, uint64_t plugged,
		     unsigned int i, struct mem_region *r)
{
	if (i < m->nr) {
		*r = m->regions[i];
		return true;
	}
	i -= m->nr;
	if (plugged) {
		if (!i) {
			*r = (struct mem_region){ .gpa = m->hotplug.gpa,
						  .size = plugged,
						  .hva = m->hotplug.hva };
			return true;
		}
		i--;
	}
	if (i < m->nr_dev_ram) {
		*r = m->dev_ram[i];
		return true;
	}
	return false;
}

unsigned int guest_mem_ranges(const struct guest_mem *m, struct mem_region *out)
{
	/* Plugged memory: only what the guest was given so far. */
	uint64_t plugged = guest_mem_plugged(m);
	unsigned int n = 0;

	while (n < GUEST_MEM_MAX_RANGES && range_at(m, plugged, n, &out[n]))
		n++;
	/* Ascending: the board puts device RAM anywhere above RAM. */
	for (unsigned int i = 1; i < n; i++)
		for (unsigned int j = i; j && out[j - 1].gpa > out[j].gpa;
		     j--) {
			struct mem_region t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

int guest_mem_lookup(const struct guest_mem *m, uint64_t gpa, uint8_t **hva,
		     uint64_t *avail)
{
	uint64_t plugged = guest_mem_plugged(m);
	struct mem_region r;

	for (unsigned int i = 0; range_at(m, plugged, i, &r); i++) {
		uint64_t off = gpa - r.gpa;

		/* Compared, never summed: a guest address cannot wrap. */
		if (gpa >= r.gpa && off < r.size) {
			*hva = r.hva + off;
			*avail = r.size - off;
			return 0;
		}
	}
	return -EFAULT;
}

int guest_mem_for_each(const struct guest_mem *m, uint64_t gpa, uint64_t last,
		       guest_mem_fn *fn, void *arg)
{
	struct mem_region r[GUEST_MEM_MAX_RANGES];
	unsigned int n = guest_mem_ranges(m, r);

	for (unsigned int i = 0; i < n && gpa <= last; i++) {
		uint64_t rlast = r[i].gpa + (r[i].size - 1);
		uint64_t s = r[i].gpa > gpa ? r[i].gpa : gpa;
		uint64_t e = rlast < last ? rlast : last;
		int ret;

		if (s > e)
			continue;
		ret = fn(arg, s, e - s + 1, r[i].hva + (s - r[i].gpa));
		if (ret)
			return ret;
	}
	return 0;
}

bool guest_mem_overlaps(const struct guest_mem *m, uint64_t gpa, uint64_t size)
{
	uint64_t last = gpa + (size - 1);
	struct mem_region r;

	if (!size || last < gpa)
		return size != 0;
	/* All the hotplug area, plugged or not: a later plug needs it free. */
	for (unsigned int i = 0; range_at(m, m->hotplug_max, i, &r); i++)
		if (gpa <= r.gpa + (r.size - 1) && r.gpa <= last)
			return true;
	return false;
}

void *gpa_to_hva(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	uint8_t *hva;
	uint64_t avail;

	/* One range must hold all of it: ranges that touch are not joined. */
	if (guest_mem_lookup(m, gpa, &hva, &avail) || len > avail)
		return NULL;
	return hva;
}

int guest_mem_add_device_ram(struct guest_mem *m, uint64_t gpa, uint64_t size,
			     uint8_t *hva)
{
	if (!size || gpa + size < gpa)
		return -EINVAL;
	if (m->nr_dev_ram == GUEST_MEM_MAX_DEV_RAM)
		return -ENOSPC;
	m->dev_ram[m->nr_dev_ram++] =
		(struct mem_region){ .gpa = gpa, .size = size, .hva = hva };
	return 0;
}

void guest_mem_remove_device_ram(struct guest_mem *m, uint64_t gpa)
{
	for (unsigned int i = 0; i < m->nr_dev_ram; i++)
		if (m->dev_ram[i].gpa == gpa) {
			m->dev_ram[i] = m->dev_ram[--m->nr_dev_ram];
			return;
		}
}

int guest_read(const struct guest_mem *m, uint64_t gpa, void *dst, size_t len)
{
	void *src = gpa_to_hva(m, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guest_write(const struct guest_mem *m, uint64_t gpa, const void *src,
		size_t len)
{
	void *dst = gpa_to_hva(m, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

uint64_t guest_mem_end(const struct guest_mem *m)
{
	const struct mem_region *r = &m->regions[m->nr - 1];

	return r->gpa + r->size;
}
