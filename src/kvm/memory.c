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
		    unsigned int nr, bool shared)
{
	uint64_t ram_size = 0, off = 0;
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

	/*
	 * One reservation, guest RAM only: NORESERVE so an idle guest costs
	 * nothing, and THP-friendly so the guest's TLB reach is large.
	 */
	if (shared)
		p = map_shared(ram_size, &m->fd);
	else
		p = map_ram(ram_size,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
	if (p == MAP_FAILED)
		return -errno;
	if (ram_size >= SZ_2M)
		madvise(p, ram_size, MADV_HUGEPAGE);
	/* Guest RAM never belongs in a core dump of devisor. */
	madvise(p, ram_size, MADV_DONTDUMP);

	m->base = p;
	m->map_size = ram_size;
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
	return init_map(m, map, nr, false);
}

int guest_mem_init(struct guest_mem *m, uint64_t ram_size, bool shared)
{
	struct mem_region map[GUEST_MEM_MAX_REGIONS];
	int nr = arch_ram_map(ram_size, map, GUEST_MEM_MAX_REGIONS);

	if (nr < 0) {
		memset(m, 0, sizeof(*m));
		m->fd = -1;
		return nr;
	}
	return init_map(m, map, nr, shared);
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

void *gpa_to_hva(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < m->nr; i++) {
		const struct mem_region *r = &m->regions[i];

		uint64_t off = gpa - r->gpa;

		/* Compared, never summed: a guest length cannot wrap. */
		if (gpa < r->gpa || off >= r->size || len > r->size - off)
			continue;
		return r->hva + off;
	}
	return NULL;
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
