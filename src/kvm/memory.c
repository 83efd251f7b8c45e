// SPDX-License-Identifier: GPL-2.0
#include "kvm/memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define SZ_2M (2ull << 20)

int guest_mem_init(struct guest_mem *m, uint64_t ram_size, uint64_t hole_start,
		   uint64_t hole_end)
{
	uint64_t low, high;
	void *p;

	memset(m, 0, sizeof(*m));
	if (!ram_size || hole_start > hole_end)
		return -EINVAL;

	low = ram_size < hole_start ? ram_size : hole_start;
	high = ram_size - low;
	if (high && hole_end + high < hole_end)
		return -EINVAL;

	/*
	 * One reservation, guest RAM only: NORESERVE so an idle guest costs
	 * nothing, and THP-friendly so the guest's TLB reach is large.
	 */
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
	m->regions[m->nr++] = (struct mem_region){
		.gpa = 0, .size = low, .hva = p, .slot = 0
	};
	if (high)
		m->regions[m->nr++] =
			(struct mem_region){ .gpa = hole_end,
					     .size = high,
					     .hva = (uint8_t *)p + low,
					     .slot = 1 };
	return 0;
}

void guest_mem_destroy(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base, m->map_size);
	memset(m, 0, sizeof(*m));
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

uint64_t guest_mem_low_end(const struct guest_mem *m)
{
	return m->regions[0].size;
}
