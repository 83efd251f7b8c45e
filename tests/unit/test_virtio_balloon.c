// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon end to end, behind virtio-mmio with a real I/O thread:
 * the pages an inflate buffer names leave host memory (and read zero),
 * their neighbours and anything that is not guest RAM do not; a free page
 * report frees its blocks; the target and actual in the configuration
 * space; nothing freed while a RAM listener pins guest RAM (VFIO).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <endian.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/vm.h"
#include "util/evloop.h"
#include "util/log.h"
#include "virtio/balloon.h"
#include "virtio/mmio.h"
#include "virtio/queue.h"
#include "virtio/virtio.h"

#include "helpers/virtio_driver.h"

#define RAM_SIZE (64ull << 20)
#define BASE 0xd0000000ull
#define GSI 5
#define DESC_GPA 0x10000ull
#define AVAIL_GPA 0x11000ull
#define USED_GPA 0x12000ull
#define Q_OFF 0x4000ull
#define PFN_GPA 0x100000ull
#define QSIZE 16
#define PAGE 4096u
#define F_REPORTING (1ull << VIRTIO_BALLOON_F_PAGE_REPORTING)
#define F_DEFLATE_OOM (1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM)
#define F_STATS (1ull << VIRTIO_BALLOON_F_STATS_VQ)

struct fix {
	struct vm vm;
	struct evloop *loop;
	struct virtio_dev *vdev;
	uint16_t avail_idx[4];
};

static bool used_reached(struct fix *f, uintptr_t qn)
{
	unsigned int q = qn >> 16;

	return vd_rd16(&f->vm, USED_GPA + q * Q_OFF + 2) == (qn & 0xffff);
}

/* The driver takes @features (VERSION_1 added), its queues set up. */
static int setup_with(void **state, uint64_t features)
{
	struct fix *f = calloc(1, sizeof(*f));
	const struct balloon_config bc = { .enabled = true,
					   .size = 1 << 20,
					   .deflate_on_oom = true,
					   .free_page_reporting = true };

	assert_non_null(f);
	log_level = LOG_ERROR;
	f->loop = vd_vm_init(&f->vm, RAM_SIZE);
	f->vdev = virtio_balloon_create(&f->vm, &bc);
	assert_non_null(f->vdev);
	assert_non_null(
		virtio_mmio_create(&f->vm, BASE, GSI, f->vdev, f->loop));
	vd_mmio_reset(&f->vm, BASE);
	vd_mmio_ack(&f->vm, BASE);
	assert_int_equal(vd_mmio_offered(&f->vm, BASE) & 0xffffffull,
			 F_STATS | F_REPORTING | F_DEFLATE_OOM);
	assert_true(vd_mmio_features_ok(&f->vm, BASE, F_VERSION_1 | features));
	for (unsigned int q = 0; q < 3 + !!(features & F_STATS); q++)
		vd_mmio_setup_queue(&f->vm, BASE, q, 128, QSIZE,
				    DESC_GPA + q * Q_OFF, AVAIL_GPA + q * Q_OFF,
				    USED_GPA + q * Q_OFF);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS), S_ALL);
	*state = f;
	return 0;
}

/* Free page reporting without statistics: reporting is queue 2. */
static int setup(void **state)
{
	return setup_with(state, F_REPORTING);
}

/* Both: statistics are queue 2, reporting queue 3 (as Linux numbers). */
static int setup_stats(void **state)
{
	return setup_with(state, F_REPORTING | F_STATS);
}

static int teardown(void **state)
{
	struct fix *f = *state;

	vd_vm_destroy(&f->vm, f->loop);
	free(f);
	return 0;
}

struct named {
	const char *name;
	uint64_t value;
	unsigned int n;
};

static void find_counter(void *arg, const char *name, uint64_t value)
{
	struct named *c = arg;

	c->n++;
	if (!strcmp(name, c->name))
		c->value = value;
}

/*
 * The device's counter @name (0 if it has none), as vm.counters reads
 * it; *@n (unless NULL) how many counters it has.
 */
static uint64_t counter(struct fix *f, const char *name, unsigned int *n)
{
	struct named c = { .name = name };

	virtio_dev_counters(f->vdev, find_counter, &c);
	if (n)
		*n = c.n;
	return c.value;
}

/* One buffer of @len bytes at @gpa on queue @q, and the kick. */
static uint16_t post(struct fix *f, unsigned int q, uint64_t gpa, uint32_t len,
		     bool writable)
{
	uint64_t base = q * Q_OFF;
	uint16_t slot = f->avail_idx[q] % QSIZE;

	vd_desc(&f->vm, DESC_GPA + base, slot, gpa, len,
		writable ? VIRTQ_DESC_F_WRITE : 0, 0);
	vd_avail(&f->vm, AVAIL_GPA + base, QSIZE, &f->avail_idx[q], slot);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	return slot;
}

/* post(), once the device gave the buffer back: its used length. */
static uint32_t put(struct fix *f, unsigned int q, uint64_t gpa, uint32_t len,
		    bool writable)
{
	uint16_t slot = post(f, q, gpa, len, writable);

	assert_true(vd_wait_until(used_reached, f,
				  ((uintptr_t)q << 16) | f->avail_idx[q]));
	return vd_rd32(&f->vm, USED_GPA + q * Q_OFF + 4 + 8 * slot + 4);
}

static bool broken(struct fix *f, uintptr_t unused)
{
	return vd_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS) & S_NEEDS_RESET;
}

static void fill(struct fix *f, uint64_t gpa, uint64_t len)
{
	memset(vd_hva(&f->vm, gpa, len), 0xa5, len);
}

/* Inflate with the page numbers @pfns (as the driver's le32 array). */
static void inflate(struct fix *f, const uint32_t *pfns, unsigned int n)
{
	uint32_t *dst = vd_hva(&f->vm, PFN_GPA, n * 4);

	for (unsigned int i = 0; i < n; i++)
		dst[i] = htole32(pfns[i]);
	assert_int_equal(put(f, 0, PFN_GPA, n * 4, false), 0);
}

static void test_inflate(void **state)
{
	struct fix *f = *state;
	uint32_t pfns[12];
	unsigned int n = 0;

	fill(f, 0x400000, 16 * PAGE);
	fill(f, 0x500000, PAGE);
	/* Eight pages in a row, one alone, and three that are not RAM. */
	for (unsigned int i = 0; i < 8; i++)
		pfns[n++] = 0x400 + i;
	pfns[n++] = 0x500;
	pfns[n++] = RAM_SIZE / PAGE;
	pfns[n++] = 0xffffffffu;
	pfns[n++] = 0xd0000; /* the device's own registers */
	assert_int_equal(vd_resident_pages(&f->vm, 0x400000, 16 * PAGE), 16);
	inflate(f, pfns, n);
	assert_int_equal(vd_resident_pages(&f->vm, 0x400000, 8 * PAGE), 0);
	assert_int_equal(vd_resident_pages(&f->vm, 0x500000, PAGE), 0);
	assert_int_equal(vd_resident_pages(&f->vm, 0x408000, 8 * PAGE), 8);
	assert_int_equal(counter(f, "freed_bytes", NULL), 9 * PAGE);
	/* The guest reads zeroes there; the pages after are untouched. */
	assert_true(vd_all(&f->vm, 0x400000, 8 * PAGE, 0));
	assert_true(vd_all(&f->vm, 0x500000, PAGE, 0));
	assert_true(vd_all(&f->vm, 0x408000, 8 * PAGE, 0xa5));
	/* Deflate: nothing to do but give the buffer back. */
	assert_int_equal(put(f, 1, PFN_GPA, 9 * 4, false), 0);
	assert_true(virtio_dev_running(f->vdev));
}

/* num_pages from the host (a configuration change), actual from the guest. */
static void test_config(void **state)
{
	struct fix *f = *state;
	unsigned int edges = vd_irq_edges(GSI);

	assert_int_equal(vd_mmio_rd(&f->vm, BASE, 0x100, 4), 256);
	virtio_balloon_set_target(f->vdev, (64ull << 20) + 4095);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, 0x100, 4), 16384);
	assert_true(vd_wait_edges(GSI, edges + 1));
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS) & 2,
			 2);
	assert_int_equal(virtio_balloon_actual(f->vdev), 0);
	vd_mmio_wr(&f->vm, BASE, 0x104, 300, 4);
	assert_int_equal(virtio_balloon_actual(f->vdev), 300ull * PAGE);
	/* num_pages is the host's: a driver's write is dropped. */
	vd_mmio_wr(&f->vm, BASE, 0x100, 7, 4);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, 0x100, 4), 16384);
	/* A reset empties the balloon the next driver finds. */
	vd_mmio_reset(&f->vm, BASE);
	assert_int_equal(virtio_balloon_actual(f->vdev), 0);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, 0x100, 4), 16384);
}

/* A free page report: the blocks leave host memory, nothing is written. */
static void test_report(void **state)
{
	struct fix *f = *state;

	fill(f, 0x800000, 2 << 20);
	fill(f, 0xa00000, PAGE);
	assert_int_equal(put(f, 2, 0x800000, 2 << 20, true), 0);
	assert_int_equal(vd_resident_pages(&f->vm, 0x800000, 1 << 20), 0);
	assert_int_equal(counter(f, "reported_bytes", NULL), 2 << 20);
	assert_true(vd_all(&f->vm, 0x800000, 2 << 20, 0));
	/* Only whole pages: a block's partial page stays. */
	assert_int_equal(put(f, 2, 0xa00000 + 16, PAGE - 16, true), 0);
	assert_int_equal(counter(f, "reported_bytes", NULL), 2 << 20);
	assert_true(vd_all(&f->vm, 0xa00000, PAGE, 0xa5));
	/* A block that is not guest RAM breaks the device, as any buffer. */
	post(f, 2, RAM_SIZE - PAGE, 2 * PAGE, true);
	assert_true(vd_wait_until(broken, f, 0));
	assert_int_equal(counter(f, "reported_bytes", NULL), 2 << 20);
}

static int pin_add(struct ram_listener *l, const struct mem_region *r)
{
	return 0;
}

static void pin_del(struct ram_listener *l, const struct mem_region *r)
{
}

/* Pages pinned for a device's DMA are not freed behind its back. */
static void test_pinned(void **state)
{
	struct fix *f = *state;
	struct ram_listener pin = { .add = pin_add,
				    .del = pin_del,
				    .pins = true };
	uint32_t pfn = 0x600;

	fill(f, 0x600000, PAGE);
	assert_int_equal(vm_ram_listen(&f->vm, &pin), 0);
	assert_true(vm_ram_pinned(&f->vm));
	inflate(f, &pfn, 1);
	assert_int_equal(counter(f, "freed_bytes", NULL), 0);
	assert_true(vd_all(&f->vm, 0x600000, PAGE, 0xa5));
	vm_ram_unlisten(&f->vm, &pin);
	assert_false(vm_ram_pinned(&f->vm));
	inflate(f, &pfn, 1);
	assert_int_equal(counter(f, "freed_bytes", NULL), PAGE);
	assert_true(vd_all(&f->vm, 0x600000, PAGE, 0));
}

/*
 * An inflate buffer far larger than Linux sends: only its first 256 Ki
 * page numbers are looked at, and the device goes on.
 */
static void test_huge_inflate(void **state)
{
	struct fix *f = *state;
	uint32_t len = 4 << 20;

	memset(vd_hva(&f->vm, 0x1000000, len), 0xff, len);
	assert_int_equal(put(f, 0, 0x1000000, len, false), 0);
	assert_int_equal(counter(f, "freed_bytes", NULL), 0);
	assert_true(virtio_dev_running(f->vdev));
}

static bool stats_free_is(struct fix *f, uintptr_t want)
{
	return counter(f, "free_memory", NULL) == want;
}

/* A statistics buffer of (le16 tag, le64 value) pairs on queue 2. */
static void post_stats(struct fix *f, uint64_t free, uint64_t total)
{
	uint8_t *p = vd_hva(&f->vm, 0x200000, 30);
	const uint16_t tags[3] = { 4, 5, 999 };
	const uint64_t vals[3] = { free, total, 7 };

	for (unsigned int i = 0; i < 3; i++) {
		uint16_t t = htole16(tags[i]);
		uint64_t v = htole64(vals[i]);

		memcpy(p + i * 10, &t, 2);
		memcpy(p + i * 10 + 2, &v, 8);
	}
	post(f, 2, 0x200000, 30, false);
}

/*
 * The guest's statistics: held until the host wants new ones (vm.counters
 * asks), given back unwritten, refilled; unknown tags ignored. Reporting
 * then is queue 3.
 */
static void test_stats(void **state)
{
	struct fix *f = *state;
	unsigned int n;

	post_stats(f, 100 << 20, 400 << 20);
	assert_true(vd_wait_until(stats_free_is, f, 100 << 20));
	assert_int_equal(counter(f, "total_memory", &n), 400 << 20);
	/* actual, freed, reported, and the two known statistics. */
	assert_int_equal(n, 5);
	/* Held: not used until asked for. */
	assert_int_equal(vd_rd16(&f->vm, USED_GPA + 2 * Q_OFF + 2), 0);
	virtio_balloon_stats_request(f->vdev);
	assert_true(vd_wait_until(used_reached, f,
				  ((uintptr_t)2 << 16) | f->avail_idx[2]));
	assert_int_equal(vd_rd32(&f->vm, USED_GPA + 2 * Q_OFF + 8), 0);
	post_stats(f, 50 << 20, 400 << 20);
	assert_true(vd_wait_until(stats_free_is, f, 50 << 20));
	/* Asking twice gives back once: the driver has it meanwhile. */
	virtio_balloon_stats_request(f->vdev);
	virtio_balloon_stats_request(f->vdev);
	assert_true(vd_wait_until(used_reached, f,
				  ((uintptr_t)2 << 16) | f->avail_idx[2]));
	assert_true(virtio_dev_running(f->vdev));

	fill(f, 0x800000, 2 << 20);
	assert_int_equal(put(f, 3, 0x800000, 2 << 20, true), 0);
	assert_int_equal(counter(f, "reported_bytes", NULL), 2 << 20);
	/* A reset forgets them. */
	vd_mmio_reset(&f->vm, BASE);
	counter(f, "free_memory", &n);
	assert_int_equal(n, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inflate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup_stats,
						teardown),
		cmocka_unit_test_setup_teardown(test_huge_inflate, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
