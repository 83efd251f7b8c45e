// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow of a guest IOMMU domain in a VFIO container (vfio/shadow.c),
 * against a DMA space whose mappings the test sets and a container that
 * records every map and unmap. What a device relies on: a mapping the
 * guest did not change stays in the container through any invalidation,
 * however wide; one it removed or changed is gone before the sync ends.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kvm/dma.h"
#include "vfio/shadow.h"

#define PAGE 4096ull
#define MAX_ENTRIES 64
#define MAX_CALLS 256
#define HVA(n) ((void *)(0x7f0000000000ull + (n)*PAGE))

/* The guest's mappings, as the space replays them (sorted by iova). */
static struct shadow_map table[MAX_ENTRIES];
static unsigned int nr_table;

static struct call {
	char op; /* 'm' or 'u' */
	uint64_t iova, len;
	void *hva;
	enum dma_dir dir;
} calls[MAX_CALLS];
static unsigned int nr_calls;
static int fail_map; /* the next map's result */

static struct dma_space space;
static struct shadow sh;

static int model_replay(struct dma_space *as, uint64_t iova, uint64_t len,
			dma_replay_fn *fn, void *arg)
{
	uint64_t last = dma_last_byte(iova, len);

	for (unsigned int i = 0; i < nr_table; i++) {
		const struct shadow_map *m = &table[i];
		uint64_t s = m->iova > iova ? m->iova : iova;
		uint64_t e = m->iova + m->len - 1 < last ?
				     m->iova + m->len - 1 :
				     last;
		int ret;

		if (s > e)
			continue;
		ret = fn(arg, s, e - s + 1, (char *)m->hva + (s - m->iova),
			 m->dir);
		if (ret)
			return ret;
	}
	return 0;
}

static const struct dma_ops model_ops = { .replay = model_replay };

static int rec_map(void *opaque, uint64_t iova, uint64_t len, void *hva,
		   enum dma_dir dir)
{
	int ret = fail_map;

	assert_true(nr_calls < MAX_CALLS);
	calls[nr_calls++] = (struct call){ 'm', iova, len, hva, dir };
	fail_map = 0;
	return ret;
}

static int rec_unmap(void *opaque, uint64_t iova, uint64_t len)
{
	assert_true(nr_calls < MAX_CALLS);
	calls[nr_calls++] = (struct call){ 'u', iova, len, NULL, 0 };
	return 0;
}

static const struct shadow_ops rec_ops = { .map = rec_map, .unmap = rec_unmap };

static void set_table(unsigned int i, uint64_t iova, uint64_t len,
		      unsigned int hva_page, enum dma_dir dir)
{
	table[i] = (struct shadow_map){ iova, len, HVA(hva_page), dir };
	if (i >= nr_table)
		nr_table = i + 1;
}

/* Pages 0x1000..0x8000 of IOVA space, 8 of them, each its own leaf. */
static void eight_pages(void)
{
	for (unsigned int i = 0; i < 8; i++)
		set_table(i, (i + 1) * PAGE, PAGE, 100 + i,
			  DMA_READ | DMA_WRITE);
}

static void start(unsigned int max)
{
	nr_calls = 0;
	shadow_init(&sh, &space, &rec_ops, NULL, "test", max);
}

static void assert_call(unsigned int i, char op, uint64_t iova, uint64_t len)
{
	assert_true(i < nr_calls);
	assert_int_equal(calls[i].op, op);
	assert_int_equal(calls[i].iova, iova);
	assert_int_equal(calls[i].len, len);
}

/* The container holds exactly what the space maps (sh.maps == table). */
static void assert_mirrors(void)
{
	assert_int_equal(sh.nr, nr_table);
	for (unsigned int i = 0; i < nr_table; i++) {
		assert_int_equal(sh.maps[i].iova, table[i].iova);
		assert_int_equal(sh.maps[i].len, table[i].len);
		assert_ptr_equal(sh.maps[i].hva, table[i].hva);
		assert_int_equal(sh.maps[i].dir, table[i].dir);
	}
}

static int setup(void **state)
{
	nr_table = 0;
	nr_calls = 0;
	fail_map = 0;
	memset(table, 0, sizeof(table));
	dma_space_init(&space, NULL, &model_ops, NULL);
	return 0;
}

static int teardown(void **state)
{
	shadow_destroy(&sh);
	dma_space_destroy(&space);
	return 0;
}

static void test_init_maps_all(void **state)
{
	eight_pages();
	start(SHADOW_MAX_MAPPINGS);
	assert_int_equal(nr_calls, 8);
	for (unsigned int i = 0; i < 8; i++) {
		assert_call(i, 'm', (i + 1) * PAGE, PAGE);
		assert_ptr_equal(calls[i].hva, HVA(100 + i));
	}
	assert_mirrors();
}

/*
 * Linux rounds an invalidation up to an aligned power of two, or flushes
 * the whole domain: mappings it did not change never leave the container.
 */
static void test_wide_invalidation_keeps_unchanged(void **state)
{
	eight_pages();
	start(SHADOW_MAX_MAPPINGS);
	nr_calls = 0;
	dma_space_invalidate(&space, 0, 16 * PAGE);
	dma_space_invalidate(&space, 0, 0); /* the whole space */
	dma_space_mapped(&space, 3 * PAGE, PAGE);
	assert_int_equal(nr_calls, 0);
	assert_mirrors();
}

static void test_removed_page_only(void **state)
{
	eight_pages();
	start(SHADOW_MAX_MAPPINGS);
	/* The guest unmaps page 0x4000; its flush covers 0x0-0x7fff. */
	memmove(&table[3], &table[4], 4 * sizeof(table[0]));
	nr_table = 7;
	nr_calls = 0;
	dma_space_invalidate(&space, 0, 8 * PAGE);
	assert_int_equal(nr_calls, 1);
	assert_call(0, 'u', 4 * PAGE, PAGE);
	assert_mirrors();
}

static void test_changed_page_remapped(void **state)
{
	eight_pages();
	start(SHADOW_MAX_MAPPINGS);
	set_table(2, 3 * PAGE, PAGE, 500, DMA_READ | DMA_WRITE); /* new page */
	set_table(5, 6 * PAGE, PAGE, 105, DMA_READ); /* now read-only */
	nr_calls = 0;
	dma_space_invalidate(&space, 0, 0);
	/* Out first: what replaces a mapping may overlap it. */
	assert_int_equal(nr_calls, 4);
	assert_call(0, 'u', 3 * PAGE, PAGE);
	assert_call(1, 'u', 6 * PAGE, PAGE);
	assert_call(2, 'm', 3 * PAGE, PAGE);
	assert_ptr_equal(calls[2].hva, HVA(500));
	assert_call(3, 'm', 6 * PAGE, PAGE);
	assert_int_equal(calls[3].dir, DMA_READ);
	assert_mirrors();
}

static void test_new_page_mapped(void **state)
{
	eight_pages();
	nr_table = 4;
	start(SHADOW_MAX_MAPPINGS);
	nr_table = 8;
	nr_calls = 0;
	dma_space_invalidate(&space, 6 * PAGE, PAGE); /* caching mode */
	assert_int_equal(nr_calls, 1);
	assert_call(0, 'm', 6 * PAGE, PAGE);
	assert_int_equal(sh.nr, 5);
	nr_calls = 0;
	dma_space_invalidate(&space, 0, 0);
	assert_int_equal(nr_calls, 3); /* 5, 7, 8: nothing else */
	assert_mirrors();
}

/*
 * VFIO unmaps whole mappings: a narrow invalidation inside a big one (the
 * identity over RAM) looks at all of it, and keeps it when unchanged.
 */
static void test_big_mapping(void **state)
{
	set_table(0, 0, 512 * PAGE, 0, DMA_READ | DMA_WRITE);
	start(SHADOW_MAX_MAPPINGS);
	assert_int_equal(nr_calls, 1);
	nr_calls = 0;
	dma_space_invalidate(&space, 17 * PAGE, PAGE);
	assert_int_equal(nr_calls, 0);
	/* Translation comes on: two pages where the identity was. */
	nr_table = 0;
	set_table(0, 16 * PAGE, PAGE, 7, DMA_READ);
	set_table(1, 300 * PAGE, PAGE, 9, DMA_WRITE);
	dma_space_invalidate(&space, 17 * PAGE, PAGE);
	assert_int_equal(nr_calls, 3);
	assert_call(0, 'u', 0, 512 * PAGE);
	assert_call(1, 'm', 16 * PAGE, PAGE);
	assert_call(2, 'm', 300 * PAGE, PAGE);
	assert_mirrors();
}

/*
 * A replayed piece larger than the container mapping it still translates
 * (the identity over RAM that grew, a range mapped anew around a page):
 * the mapping stays, the rest of the piece is mapped beside it.
 */
static void test_kept_inside_bigger_piece(void **state)
{
	set_table(0, 4 * PAGE, 2 * PAGE, 10, DMA_READ | DMA_WRITE);
	start(SHADOW_MAX_MAPPINGS);
	nr_calls = 0;
	/* Now pages 2..9 map to 8..15: pages 4-5 still translate the same. */
	set_table(0, 2 * PAGE, 8 * PAGE, 8, DMA_READ | DMA_WRITE);
	dma_space_invalidate(&space, 0, 0);
	assert_int_equal(nr_calls, 2);
	assert_call(0, 'm', 2 * PAGE, 2 * PAGE);
	assert_ptr_equal(calls[0].hva, HVA(8));
	assert_call(1, 'm', 6 * PAGE, 4 * PAGE);
	assert_ptr_equal(calls[1].hva, HVA(12));
	assert_int_equal(sh.nr, 3);
	assert_int_equal(sh.maps[1].iova, 4 * PAGE);
	assert_ptr_equal(sh.maps[1].hva, HVA(10));
	/* The same piece again: nothing moves. */
	nr_calls = 0;
	dma_space_invalidate(&space, 0, 0);
	assert_int_equal(nr_calls, 0);
	/* Moved elsewhere: all three go, one comes. */
	set_table(0, 2 * PAGE, 8 * PAGE, 20, DMA_READ | DMA_WRITE);
	dma_space_invalidate(&space, 0, 0);
	assert_int_equal(nr_calls, 4);
	assert_call(3, 'm', 2 * PAGE, 8 * PAGE);
	assert_mirrors();
}

/*
 * A byte range that is not whole pages (found by fuzz_vfio_shadow): the
 * replay clipped inside a page could not be mapped, so an unchanged
 * mapping left and nothing came back. Syncs are by whole pages.
 */
static void test_unaligned_invalidation(void **state)
{
	set_table(0, 0, 6 * PAGE, 63, DMA_READ | DMA_WRITE);
	start(SHADOW_MAX_MAPPINGS);
	set_table(0, 0, 14 * PAGE, 63, DMA_READ | DMA_WRITE);
	nr_calls = 0;
	/* Bytes 0x3fc0-0x7f7f: pages 3-7, and all of [0, 6 pages) kept. */
	dma_space_invalidate(&space, 0x3fc0, 0x3fc0);
	assert_int_equal(nr_calls, 1);
	assert_call(0, 'm', 6 * PAGE, 2 * PAGE);
	assert_ptr_equal(calls[0].hva, HVA(69));
	assert_int_equal(sh.nr, 2);
}

static void test_limit(void **state)
{
	eight_pages();
	start(5);
	assert_int_equal(nr_calls, 5);
	assert_int_equal(sh.nr, 5);
	/* Page 0x2000 goes: room for one more, the next sync finds it. */
	memmove(&table[1], &table[2], 6 * sizeof(table[0]));
	nr_table = 7;
	nr_calls = 0;
	dma_space_invalidate(&space, 0, 0);
	assert_int_equal(nr_calls, 2);
	assert_call(0, 'u', 2 * PAGE, PAGE);
	assert_call(1, 'm', 6 * PAGE, PAGE);
	assert_int_equal(sh.nr, 5);
	assert_int_equal(sh.maps[4].iova, 6 * PAGE);
}

/* A map VFIO refused is not in the container: the next sync tries again. */
static void test_failed_map_retried(void **state)
{
	eight_pages();
	fail_map = -ENOMEM;
	start(SHADOW_MAX_MAPPINGS);
	assert_int_equal(nr_calls, 8);
	assert_int_equal(sh.nr, 7);
	nr_calls = 0;
	dma_space_invalidate(&space, 0, 0);
	assert_int_equal(nr_calls, 1);
	assert_call(0, 'm', PAGE, PAGE);
	assert_mirrors();
}

/* What VFIO cannot map (not page aligned, no access) is left out. */
static void test_unmappable_skipped(void **state)
{
	set_table(0, PAGE, PAGE, 1, 0);
	set_table(1, 2 * PAGE, 100, 2, DMA_READ);
	set_table(2, 3 * PAGE, PAGE, 3, DMA_READ);
	start(SHADOW_MAX_MAPPINGS);
	assert_int_equal(nr_calls, 1);
	assert_call(0, 'm', 3 * PAGE, PAGE);
	assert_int_equal(sh.nr, 1);
}

/* A replay out of IOVA order still gives a sorted container. */
static void test_replay_out_of_order(void **state)
{
	for (unsigned int i = 0; i < 5; i++)
		set_table(i, (5 - i) * PAGE, PAGE, i, DMA_READ);
	start(SHADOW_MAX_MAPPINGS);
	assert_int_equal(nr_calls, 5);
	assert_int_equal(sh.nr, 5);
	for (unsigned int i = 0; i < 5; i++) {
		assert_int_equal(sh.maps[i].iova, (i + 1) * PAGE);
		assert_ptr_equal(sh.maps[i].hva, HVA(4 - i));
	}
	nr_calls = 0;
	dma_space_invalidate(&space, 0, 0);
	assert_int_equal(nr_calls, 0);
}

static void test_destroy_unmaps_all(void **state)
{
	eight_pages();
	start(SHADOW_MAX_MAPPINGS);
	nr_calls = 0;
	shadow_destroy(&sh);
	assert_int_equal(nr_calls, 8);
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(calls[i].op, 'u');
	assert_null(space.notifiers);
	/* No longer listening. */
	dma_space_invalidate(&space, 0, 0);
	assert_int_equal(nr_calls, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_maps_all, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_wide_invalidation_keeps_unchanged, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_removed_page_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_changed_page_remapped,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_page_mapped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_big_mapping, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_kept_inside_bigger_piece,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unaligned_invalidation,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_map_retried, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unmappable_skipped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replay_out_of_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_destroy_unmaps_all, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("vfio_shadow", tests, NULL, NULL);
}
