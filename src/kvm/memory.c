// SPDX-License-Identifier: GPL-2.0
#include "kvm/memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/arch.h"

#define SZ_2M (2ull << 20)

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
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
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
		p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
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
