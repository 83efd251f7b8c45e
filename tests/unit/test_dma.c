// SPDX-License-Identifier: GPL-2.0
/*
 * DMA address spaces: the identity over guest RAM, and a page-scattering
 * translation standing in for an IOMMU, under which a buffer contiguous in
 * IOVA is split at every page and a read-only page refuses device writes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kvm/dma.h"
#include "kvm/memory.h"
#include "virtio/queue.h"

#define RAM_SIZE (64ull << 20)
#define HOLE_START (32ull << 20) /* RAM 0-32 MiB, then 4 GiB + 32 MiB */
#define PAGE 4096ull
#define NPAGES 8
#define IOVA_BASE 0x100000000000ull /* nowhere near RAM: only the map knows */
#define RAM_BASE 0x200000ull /* the mapped pages live at 2 MiB */

static struct guest_mem mem;
static struct dma_space ident;

/* IOVA page i -> RAM page perm[i]; -1: unmapped. */
static const int perm[NPAGES] = { 5, 2, 7, 0, -1, 3, 6, 1 };
static const bool readonly[NPAGES] = { [7] = true };
static unsigned int translations;

static int scatter_translate(struct dma_space *as, uint64_t iova, uint64_t len,
			     enum dma_dir dir, void **hva, uint64_t *contig)
{
	uint64_t page = (iova - IOVA_BASE) / PAGE, off = iova % PAGE;

	translations++;
	if (iova < IOVA_BASE || page >= NPAGES || perm[page] < 0)
		return -EFAULT;
	if ((dir & DMA_WRITE) && readonly[page])
		return -EACCES;
	*hva = gpa_to_hva(as->mem, RAM_BASE + perm[page] * PAGE + off, 1);
	*contig = PAGE - off < len ? PAGE - off : len;
	return *hva ? 0 : -EFAULT;
}

static const struct dma_ops scatter_ops = { .translate = scatter_translate };
static struct dma_space scatter;

static uint8_t *ram(uint64_t gpa)
{
	return gpa_to_hva(&mem, gpa, 1);
}

static uint8_t *page_hva(int iova_page)
{
	return ram(RAM_BASE + perm[iova_page] * PAGE);
}

static int setup(void **state)
{
	(void)state;
	static const struct mem_region map[] = {
		{ .gpa = 0, .size = HOLE_START },
		{ .gpa = 0x100000000ull, .size = RAM_SIZE - HOLE_START },
	};

	if (guest_mem_init_map(&mem, map, 2))
		return -1;
	dma_space_init_identity(&ident, &mem);
	dma_space_init(&scatter, &mem, &scatter_ops, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dma_space_destroy(&scatter);
	dma_space_destroy(&ident);
	guest_mem_destroy(&mem);
	return 0;
}

/*
 * Guest RAM sits where KVM can map it with 2 MiB pages: each region's host
 * address agrees with its guest address modulo 2 MiB, private and shared.
 */
static void expect_huge_aligned(const struct guest_mem *m)
{
	assert_true(m->nr > 0);
	for (unsigned int i = 0; i < m->nr; i++)
		assert_int_equal(
			((uintptr_t)m->regions[i].hva - m->regions[i].gpa) &
				((2u << 20) - 1),
			0);
}

/*
 * Sizes that are not multiples of 2 MiB: the kernel then leaves a plain
 * mmap() page-aligned (Linux 6.7 and later align only PMD-sized ones).
 */
static void test_ram_huge_aligned(void **state)
{
	static const struct mem_region map[] = {
		{ .gpa = 0, .size = 32ull << 20 },
		{ .gpa = 0x100000000ull, .size = (32ull << 20) + 4096 },
	};
	struct guest_mem m;

	(void)state;
	for (int i = 0; i < 8; i++) {
		assert_int_equal(guest_mem_init_map(&m, map, 2), 0);
		expect_huge_aligned(&m);
		/* All of it is there. */
		memset(m.regions[1].hva, 0xa5, map[1].size);
		guest_mem_destroy(&m);
		assert_int_equal(guest_mem_init(&m, (64ull << 20) + 4096, true),
				 0);
		expect_huge_aligned(&m);
		memset(m.regions[0].hva, 0x5a, m.regions[0].size);
		guest_mem_destroy(&m);
	}
}

static void test_identity(void **state)
{
	struct iovec iov[4];
	uint8_t buf[16] = "hello, dma!";
	uint8_t back[16];

	(void)state;
	/* Within one region: one iovec, the RAM itself. */
	assert_int_equal(dma_map_iov(&ident, 0x1000, 0x3000, DMA_READ, iov, 4),
			 1);
	assert_ptr_equal(iov[0].iov_base, ram(0x1000));
	assert_int_equal(iov[0].iov_len, 0x3000);
	assert_int_equal(dma_write(&ident, 0x5000, buf, sizeof(buf)), 0);
	assert_memory_equal(ram(0x5000), buf, sizeof(buf));
	assert_int_equal(dma_read(&ident, 0x5000, back, sizeof(back)), 0);
	assert_memory_equal(back, buf, sizeof(buf));
	/* Up to the hole is RAM, one byte into it is not. */
	assert_int_equal(dma_check(&ident, HOLE_START - 16, 16, DMA_WRITE), 0);
	assert_int_equal(dma_check(&ident, HOLE_START - 16, 17, DMA_WRITE),
			 -EFAULT);
	assert_int_equal(dma_read(&ident, HOLE_START, back, 1), -EFAULT);
	/* Lengths that wrap the address space are refused, not summed. */
	assert_int_equal(dma_check(&ident, 0x1000, UINT64_MAX, DMA_READ),
			 -EFAULT);
	assert_int_equal(dma_check(&ident, UINT64_MAX - 1, 4, DMA_READ),
			 -EFAULT);
	assert_int_equal(dma_map_iov(&ident, 0x1000, 0, DMA_READ, iov, 4), 0);
	assert_non_null(dma_map_contig(&ident, 0x1000, 2, DMA_READ));
	assert_null(dma_map_contig(&ident, HOLE_START - 1, 2, DMA_READ));
}

static void test_scatter_splits_at_pages(void **state)
{
	struct iovec iov[8];
	uint64_t iova = IOVA_BASE + PAGE - 100; /* 100 B of page 0 on */

	(void)state;
	/* 100 + 4096 + 4096 + 50 bytes: four pieces, in IOVA order. */
	assert_int_equal(dma_map_iov(&scatter, iova, 100 + 2 * PAGE + 50,
				     DMA_READ, iov, 8),
			 4);
	assert_ptr_equal(iov[0].iov_base, page_hva(0) + PAGE - 100);
	assert_int_equal(iov[0].iov_len, 100);
	assert_ptr_equal(iov[1].iov_base, page_hva(1));
	assert_int_equal(iov[1].iov_len, PAGE);
	assert_ptr_equal(iov[2].iov_base, page_hva(2));
	assert_int_equal(iov[2].iov_len, PAGE);
	assert_ptr_equal(iov[3].iov_base, page_hva(3));
	assert_int_equal(iov[3].iov_len, 50);
	/* Too few iovecs: refused whole. */
	assert_int_equal(dma_map_iov(&scatter, iova, 100 + 2 * PAGE + 50,
				     DMA_READ, iov, 3),
			 -ENOSPC);
	/* Not contiguous on the host: no single pointer. */
	assert_null(dma_map_contig(&scatter, iova, 200, DMA_READ));
	assert_non_null(dma_map_contig(&scatter, iova, 100, DMA_READ));
}

static void test_scatter_copies(void **state)
{
	uint8_t src[PAGE + 64], dst[PAGE + 64];
	uint64_t iova = IOVA_BASE + 2 * PAGE - 32; /* pages 1, 2, 3 */

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(dma_write(&scatter, iova, src, sizeof(src)), 0);
	assert_memory_equal(page_hva(1) + PAGE - 32, src, 32);
	assert_memory_equal(page_hva(2), src + 32, PAGE);
	assert_memory_equal(page_hva(3), src + 32 + PAGE, 32);
	memset(dst, 0, sizeof(dst));
	assert_int_equal(dma_read(&scatter, iova, dst, sizeof(dst)), 0);
	assert_memory_equal(dst, src, sizeof(src));
}

static void test_scatter_faults(void **state)
{
	uint8_t b[8] = { 0 };
	struct iovec iov[8];

	(void)state;
	/* Page 4 is unmapped: a buffer over it faults, whichever way. */
	assert_int_equal(dma_check(&scatter, IOVA_BASE + 3 * PAGE, 2 * PAGE,
				   DMA_READ),
			 -EFAULT);
	assert_int_equal(dma_map_iov(&scatter, IOVA_BASE + 4 * PAGE + 8, 8,
				     DMA_WRITE, iov, 8),
			 -EFAULT);
	/* Page 7 is read-only: the device may read it, not write it. */
	assert_int_equal(dma_read(&scatter, IOVA_BASE + 7 * PAGE, b, 8), 0);
	assert_int_equal(dma_write(&scatter, IOVA_BASE + 7 * PAGE, b, 8),
			 -EACCES);
	assert_int_equal(dma_check(&scatter, IOVA_BASE + 6 * PAGE, 2 * PAGE,
				   DMA_READ | DMA_WRITE),
			 -EACCES);
	/* Past the map. */
	assert_int_equal(dma_read(&scatter, IOVA_BASE + NPAGES * PAGE, b, 1),
			 -EFAULT);
}

/* Ring in IOVA pages 0 (descriptors), 1 (avail), 2 (used). */
#define RING_DESC IOVA_BASE
#define RING_AVAIL (IOVA_BASE + PAGE)
#define RING_USED (IOVA_BASE + 2 * PAGE)

/* A size-16 queue on @scatter with its rings at @desc, @avail, @used. */
static int ring_enable(struct virtqueue *vq, uint64_t desc, uint64_t avail,
		       uint64_t used)
{
	virtq_reset(vq);
	assert_int_equal(virtq_set_size(vq, 16), 0);
	assert_int_equal(virtq_set_desc_addr(vq, desc), 0);
	assert_int_equal(virtq_set_driver_addr(vq, avail), 0);
	assert_int_equal(virtq_set_device_addr(vq, used), 0);
	return virtq_enable(vq);
}

/* A virtqueue behind the scattering space splits its buffers too. */
static void test_virtqueue_behind_scatter(void **state)
{
	struct virtqueue vq;
	struct virtq_seg segs[4];
	struct virtq_chain c = VIRTQ_CHAIN_INIT(segs);
	struct iovec iov[8];
	uint8_t *d = page_hva(0), *a = page_hva(1);
	uint64_t addr = htole64(IOVA_BASE + 5 * PAGE + PAGE / 2);
	uint32_t len = htole32(PAGE + 16); /* pages 5 and 6 */
	uint16_t flags = htole16(VIRTQ_DESC_F_WRITE), one = htole16(1);
	char msg[] = "across a page boundary";
	uint16_t used_idx;

	(void)state;
	memset(page_hva(0), 0, PAGE);
	memset(page_hva(1), 0, PAGE);
	memset(page_hva(2), 0, PAGE);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(a + 2, &one, 2); /* avail->idx = 1, ring[0] = 0 */

	virtq_init(&vq, &scatter, 16);
	assert_int_equal(ring_enable(&vq, RING_DESC, RING_AVAIL, RING_USED), 0);
	assert_int_equal(virtq_pop(&vq, &c), 1);
	assert_int_equal(c.nsegs, 1);
	assert_int_equal(c.writable, PAGE + 16);

	/* One descriptor, two host pieces. */
	assert_int_equal(virtq_chain_iov(&scatter, &c, true, iov, 8), 2);
	assert_ptr_equal(iov[0].iov_base, page_hva(5) + PAGE / 2);
	assert_int_equal(iov[0].iov_len, PAGE / 2);
	assert_ptr_equal(iov[1].iov_base, page_hva(6));
	assert_int_equal(iov[1].iov_len, PAGE / 2 + 16);
	assert_int_equal(virtq_chain_iov(&scatter, &c, true, iov, 1), -ENOSPC);
	virtq_chain_unmap(&scatter, &c, true, iov, 2, 0);

	/* A copy that straddles the boundary lands on both pages. */
	assert_int_equal(virtq_chain_write(&scatter, &c, PAGE / 2 - 6, msg,
					   sizeof(msg)),
			 0);
	assert_memory_equal(page_hva(5) + PAGE - 6, msg, 6);
	assert_memory_equal(page_hva(6), msg + 6, sizeof(msg) - 6);

	assert_int_equal(virtq_push(&vq, &c, PAGE + 16), 0);
	memcpy(&used_idx, page_hva(2) + 2, 2);
	assert_int_equal(le16toh(used_idx), 1);
}

/* A descriptor pointing at an unmapped IOVA breaks the ring, once. */
static void test_virtqueue_unmapped_buffer(void **state)
{
	struct virtqueue vq;
	struct virtq_seg segs[4];
	struct virtq_chain c = VIRTQ_CHAIN_INIT(segs);
	uint64_t addr = htole64(IOVA_BASE + 4 * PAGE); /* unmapped */
	uint32_t len = htole32(64);
	uint16_t one = htole16(1);

	(void)state;
	memset(page_hva(0), 0, PAGE);
	memset(page_hva(1), 0, PAGE);
	memcpy(page_hva(0), &addr, 8);
	memcpy(page_hva(0) + 8, &len, 4);
	memcpy(page_hva(1) + 2, &one, 2);
	virtq_init(&vq, &scatter, 16);
	assert_int_equal(ring_enable(&vq, RING_DESC, RING_AVAIL, RING_USED), 0);
	assert_int_equal(virtq_pop(&vq, &c), -VIRTQ_E_SEG_RANGE);
	/* A ring in an unmapped page cannot be enabled. */
	assert_int_equal(ring_enable(&vq, IOVA_BASE + 4 * PAGE, RING_AVAIL,
				     RING_USED),
			 -VIRTQ_E_RING_RANGE);
	/* The used ring on a read-only page neither. */
	assert_int_equal(ring_enable(&vq, RING_DESC, RING_AVAIL,
				     IOVA_BASE + 7 * PAGE),
			 -VIRTQ_E_RING_RANGE);
}

struct recorder {
	struct dma_notifier n;
	unsigned int calls;
	uint64_t iova, len;
};

static void record(struct dma_notifier *n, uint64_t iova, uint64_t len)
{
	struct recorder *r = (struct recorder *)n;

	r->calls++;
	r->iova = iova;
	r->len = len;
}

static void test_invalidation(void **state)
{
	struct recorder a = { .n.invalidate = record },
			b = { .n.invalidate = record };
	uint64_t gen = scatter.generation;

	(void)state;
	dma_notifier_add(&scatter, &a.n);
	dma_notifier_add(&scatter, &b.n);
	dma_space_invalidate(&scatter, IOVA_BASE + PAGE, 2 * PAGE);
	assert_int_equal(scatter.generation, gen + 1);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(a.iova, IOVA_BASE + PAGE);
	assert_int_equal(a.len, 2 * PAGE);
	dma_notifier_del(&scatter, &a.n);
	dma_space_invalidate(&scatter, IOVA_BASE, PAGE);
	assert_int_equal(scatter.generation, gen + 2);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 2);
	dma_notifier_del(&scatter, &b.n);
	assert_null(scatter.notifiers);
}

/* A translator that claims nothing (or too much) ends the walk. */
static int bad_translate(struct dma_space *as, uint64_t iova, uint64_t len,
			 enum dma_dir dir, void **hva, uint64_t *contig)
{
	*hva = gpa_to_hva(as->mem, 0x1000, 1);
	*contig = as->opaque ? len + 1 : 0;
	return 0;
}

static void test_broken_translator(void **state)
{
	static const struct dma_ops bad = { .translate = bad_translate };
	struct dma_space zero, over;
	uint8_t b[4];

	(void)state;
	dma_space_init(&zero, &mem, &bad, NULL);
	dma_space_init(&over, &mem, &bad, &over);
	assert_int_equal(dma_read(&zero, 0, b, sizeof(b)), -EFAULT);
	assert_int_equal(dma_read(&over, 0, b, sizeof(b)), -EFAULT);
	dma_space_destroy(&zero);
	dma_space_destroy(&over);
}

static unsigned int nr_pieces;
static uint64_t piece_iova[4], piece_len[4];
static void *piece_hva[4];

static int on_piece(void *arg, uint64_t iova, uint64_t len, void *hva,
		    enum dma_dir dir)
{
	(void)arg;
	assert_int_equal(dir, DMA_READ | DMA_WRITE);
	if (nr_pieces < 4) {
		piece_iova[nr_pieces] = iova;
		piece_len[nr_pieces] = len;
		piece_hva[nr_pieces] = hva;
	}
	nr_pieces++;
	return 0;
}

/* The identity replays the RAM regions, clipped; a space with no replay says so. */
static void test_identity_replay(void **state)
{
	(void)state;
	nr_pieces = 0;
	assert_int_equal(dma_space_replay(&ident, 0, 0, on_piece, NULL), 0);
	assert_int_equal(nr_pieces, mem.nr);
	for (unsigned int i = 0; i < mem.nr; i++) {
		assert_int_equal(piece_iova[i], mem.regions[i].gpa);
		assert_int_equal(piece_len[i], mem.regions[i].size);
		assert_ptr_equal(piece_hva[i], mem.regions[i].hva);
	}
	nr_pieces = 0;
	assert_int_equal(dma_space_replay(&ident, mem.regions[0].gpa + 0x1000,
					  0x2000, on_piece, NULL),
			 0);
	assert_int_equal(nr_pieces, 1);
	assert_int_equal(piece_iova[0], mem.regions[0].gpa + 0x1000);
	assert_int_equal(piece_len[0], 0x2000);
	assert_int_equal(dma_space_replay(&scatter, 0, 0, on_piece, NULL),
			 -ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ram_huge_aligned),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_identity_replay),
		cmocka_unit_test(test_scatter_splits_at_pages),
		cmocka_unit_test(test_scatter_copies),
		cmocka_unit_test(test_scatter_faults),
		cmocka_unit_test(test_virtqueue_behind_scatter),
		cmocka_unit_test(test_virtqueue_unmapped_buffer),
		cmocka_unit_test(test_invalidation),
		cmocka_unit_test(test_broken_translator),
	};

	return cmocka_run_group_tests_name("dma", tests, setup, teardown);
}
