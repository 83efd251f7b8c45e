// SPDX-License-Identifier: GPL-2.0
/*
 * Virtqueue tests: a fake driver writes split and packed rings into real
 * guest memory, and hostile rings must fail with the right error, cleanly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "kvm/memory.h"
#include "virtio/queue.h"

#define RAM_SIZE (16ull << 20)
#define DESC_GPA 0x10000ull
#define AVAIL_GPA 0x11000ull
#define USED_GPA 0x12000ull
#define IND_GPA 0x20000ull
#define IND2_GPA 0x21000ull
#define BUF_GPA 0x100000ull
#define QSIZE 16
#define PSIZE 8

#define FEAT_INDIRECT (1ull << VIRTQ_F_INDIRECT_DESC)
#define FEAT_EVENT_IDX (1ull << VIRTQ_F_EVENT_IDX)
#define FEAT_PACKED (1ull << VIRTQ_F_RING_PACKED)

static struct guest_mem mem;
static struct dma_space dma; /* identity over mem */
static struct virtqueue vq;
static struct virtq_seg segs[64];
static struct virtq_chain chain;

/* ---- fake driver: raw guest memory access ---- */

static void *hva(uint64_t gpa, uint64_t len)
{
	void *p = gpa_to_hva(&mem, gpa, len);

	assert_non_null(p);
	return p;
}

static void wr16(uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	memcpy(hva(gpa, 2), &v, 2);
}

static uint16_t rd16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, hva(gpa, 2), 2);
	return le16toh(v);
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, hva(gpa, 4), 4);
	return le32toh(v);
}

static void wr_split_desc(uint64_t table, uint16_t i, uint64_t addr,
			  uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = hva(table + 16ull * i, 16);
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &f, 2);
	memcpy(p + 14, &n, 2);
}

static void split_avail(uint16_t head)
{
	uint16_t idx = rd16(AVAIL_GPA + 2);

	wr16(AVAIL_GPA + 4 + 2 * (idx % vq.size), head);
	wr16(AVAIL_GPA + 2, idx + 1);
}

static void clear_rings(void)
{
	memset(hva(0, 0x40000), 0, 0x40000);
}

static void setup_split(uint64_t features, uint16_t size)
{
	clear_rings();
	virtq_init(&vq, &dma, 256);
	assert_int_equal(virtq_set_features(&vq, features), 0);
	assert_int_equal(virtq_set_size(&vq, size), 0);
	assert_int_equal(virtq_set_desc_addr(&vq, DESC_GPA), 0);
	assert_int_equal(virtq_set_driver_addr(&vq, AVAIL_GPA), 0);
	assert_int_equal(virtq_set_device_addr(&vq, USED_GPA), 0);
	assert_int_equal(virtq_enable(&vq), 0);
	chain = VIRTQ_CHAIN_INIT(segs);
}

/* Exactly @cap entries on the heap, so ASan sees any write past them. */
static struct virtq_seg *heap_segs(uint32_t cap)
{
	struct virtq_seg *p = test_malloc(cap * sizeof(*p));

	chain.segs = p;
	chain.cap = cap;
	return p;
}

static int group_setup(void **state)
{
	(void)state;
	dma_space_init_identity(&dma, &mem);
	return guest_mem_init(&mem, RAM_SIZE, false);
}

static int group_teardown(void **state)
{
	(void)state;
	guest_mem_destroy(&mem);
	return 0;
}

/* ---- split: good cases ---- */

static void test_split_empty(void **state)
{
	(void)state;
	setup_split(0, QSIZE);
	assert_true(virtq_empty(&vq));
	assert_int_equal(virtq_pop(&vq, &chain), 0);
	assert_false(virtq_should_notify(&vq));
	wr_split_desc(DESC_GPA, 0, BUF_GPA, 1, 0, 0);
	split_avail(0);
	assert_false(virtq_empty(&vq));
	assert_false(virtq_empty(&vq)); /* no side effects */
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_true(virtq_empty(&vq));
	/* A broken queue is empty; pop says why. */
	wr16(AVAIL_GPA + 2, 100);
	assert_false(virtq_empty(&vq));
	assert_int_equal(virtq_pop(&vq, &chain), -VIRTQ_E_AVAIL_IDX);
	assert_true(virtq_empty(&vq));
}

static void test_split_single(void **state)
{
	(void)state;
	setup_split(0, QSIZE);
	wr_split_desc(DESC_GPA, 3, BUF_GPA, 100, 0, 0);
	split_avail(3);

	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.id, 3);
	assert_int_equal(chain.nsegs, 1);
	assert_int_equal(chain.readable, 100);
	assert_int_equal(chain.writable, 0);
	assert_int_equal(chain.segs[0].gpa, BUF_GPA);
	assert_false(chain.segs[0].write);
	assert_int_equal(virtq_pop(&vq, &chain), 0);

	assert_int_equal(virtq_push(&vq, &chain, 0), 0);
	assert_int_equal(rd16(USED_GPA + 2), 1);
	assert_int_equal(rd32(USED_GPA + 4), 3);
	assert_int_equal(rd32(USED_GPA + 8), 0);
	assert_int_equal(vq.inflight, 0);
}

/* A chain given back is popped again, read anew from the ring. */
static void test_split_unpop(void **state)
{
	(void)state;
	setup_split(0, QSIZE);
	wr_split_desc(DESC_GPA, 3, BUF_GPA, 100, 0, 0);
	split_avail(3);
	wr_split_desc(DESC_GPA, 5, BUF_GPA, 50, 0, 0);
	split_avail(5);

	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.id, 3);
	virtq_unpop(&vq, &chain);
	assert_int_equal(vq.inflight, 0);
	/* Rewritten meanwhile: the second pop sees what is there now. */
	wr_split_desc(DESC_GPA, 3, BUF_GPA, 70, 0, 0);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.id, 3);
	assert_int_equal(chain.readable, 70);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.id, 5);
	assert_int_equal(vq.inflight, 2);
	assert_int_equal(virtq_pop(&vq, &chain), 0);
}

static void test_split_multi_and_copy(void **state)
{
	uint8_t in[24], out[40], back[40];

	(void)state;
	setup_split(0, QSIZE);
	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	memcpy(hva(BUF_GPA, 10), in, 10);
	memcpy(hva(BUF_GPA + 0x1000, 14), in + 10, 14);
	wr_split_desc(DESC_GPA, 0, BUF_GPA, 10, VIRTQ_DESC_F_NEXT, 5);
	wr_split_desc(DESC_GPA, 5, BUF_GPA + 0x1000, 14, VIRTQ_DESC_F_NEXT, 2);
	wr_split_desc(DESC_GPA, 2, BUF_GPA + 0x2000, 15,
		      VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 7);
	wr_split_desc(DESC_GPA, 7, BUF_GPA + 0x3000, 25, VIRTQ_DESC_F_WRITE, 0);
	split_avail(0);

	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.nsegs, 4);
	assert_int_equal(chain.readable, 24);
	assert_int_equal(chain.writable, 40);

	/* Reads cross segment boundaries and see only readable bytes. */
	memset(back, 0, sizeof(back));
	assert_int_equal(virtq_chain_read(&dma, &chain, 0, back, 24), 0);
	assert_memory_equal(back, in, 24);
	assert_int_equal(virtq_chain_read(&dma, &chain, 8, back, 4), 0);
	assert_memory_equal(back, in + 8, 4);
	assert_int_equal(virtq_chain_read(&dma, &chain, 24, back, 0), 0);
	assert_int_equal(virtq_chain_read(&dma, &chain, 20, back, 5), -ERANGE);
	assert_int_equal(virtq_chain_read(&dma, &chain, 25, back, 0), -ERANGE);
	assert_int_equal(virtq_chain_read(&dma, &chain, UINT64_MAX, back, 1),
			 -ERANGE);

	for (unsigned int i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(0xA0 + i);
	assert_int_equal(virtq_chain_write(&dma, &chain, 0, out, 40), 0);
	assert_memory_equal(hva(BUF_GPA + 0x2000, 15), out, 15);
	assert_memory_equal(hva(BUF_GPA + 0x3000, 25), out + 15, 25);
	assert_int_equal(virtq_chain_write(&dma, &chain, 30, out, 11), -ERANGE);
	/* Readable buffers are never written. */
	assert_memory_equal(hva(BUF_GPA, 10), in, 10);

	assert_int_equal(virtq_push(&vq, &chain, 40), 0);
	assert_int_equal(rd32(USED_GPA + 4), 0);
	assert_int_equal(rd32(USED_GPA + 8), 40);
}

static void test_split_push_clamps_len(void **state)
{
	(void)state;
	setup_split(0, QSIZE);
	wr_split_desc(DESC_GPA, 0, BUF_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
	split_avail(0);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(virtq_push(&vq, &chain, 1000), 0);
	assert_int_equal(rd32(USED_GPA + 8), 8);
}

static void test_split_iov(void **state)
{
	struct iovec iov[4];

	(void)state;
	setup_split(0, QSIZE);
	wr_split_desc(DESC_GPA, 0, BUF_GPA, 10, VIRTQ_DESC_F_NEXT, 1);
	wr_split_desc(DESC_GPA, 1, BUF_GPA + 0x100, 20,
		      VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	wr_split_desc(DESC_GPA, 2, BUF_GPA + 0x200, 30, VIRTQ_DESC_F_WRITE, 0);
	split_avail(0);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(virtq_chain_iov(&dma, &chain, false, iov, 4), 1);
	assert_ptr_equal(iov[0].iov_base, hva(BUF_GPA, 10));
	assert_int_equal(iov[0].iov_len, 10);
	assert_int_equal(virtq_chain_iov(&dma, &chain, true, iov, 4), 2);
	assert_ptr_equal(iov[1].iov_base, hva(BUF_GPA + 0x200, 30));
	assert_int_equal(virtq_chain_iov(&dma, &chain, true, iov, 1), -ENOSPC);
}

static void test_split_zero_len_desc(void **state)
{
	(void)state;
	setup_split(0, QSIZE);
	/* An empty buffer's address is never used, so it may be anything. */
	wr_split_desc(DESC_GPA, 0, 0xdeadbeefdeadbeefull, 0, VIRTQ_DESC_F_NEXT,
		      1);
	wr_split_desc(DESC_GPA, 1, BUF_GPA, 4, VIRTQ_DESC_F_WRITE, 0);
	split_avail(0);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.nsegs, 1);
	assert_int_equal(chain.writable, 4);
}

static void test_split_indirect(void **state)
{
	uint8_t buf[6];

	(void)state;
	setup_split(FEAT_INDIRECT, QSIZE);
	memcpy(hva(BUF_GPA, 6), "abcdef", 6);
	/* Table order differs from index order: follow next. */
	wr_split_desc(IND_GPA, 0, BUF_GPA, 6, VIRTQ_DESC_F_NEXT, 2);
	wr_split_desc(IND_GPA, 2, BUF_GPA + 0x100, 50,
		      VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	wr_split_desc(IND_GPA, 1, BUF_GPA + 0x200, 60, VIRTQ_DESC_F_WRITE, 0);
	/* WRITE on the table descriptor itself is ignored (spec). */
	wr_split_desc(DESC_GPA, 4, IND_GPA, 3 * 16,
		      VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	split_avail(4);

	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.id, 4);
	assert_int_equal(chain.nsegs, 3);
	assert_int_equal(chain.readable, 6);
	assert_int_equal(chain.writable, 110);
	assert_int_equal(chain.segs[1].gpa, BUF_GPA + 0x100);
	assert_true(chain.segs[2].write);
	assert_int_equal(virtq_chain_read(&dma, &chain, 0, buf, 6), 0);
	assert_memory_equal(buf, "abcdef", 6);
	assert_int_equal(virtq_push(&vq, &chain, 110), 0);
	assert_int_equal(rd32(USED_GPA + 4), 4);
}

static void test_split_direct_then_indirect(void **state)
{
	(void)state;
	/* Spec: devices MUST handle direct descriptors then one indirect. */
	setup_split(FEAT_INDIRECT, QSIZE);
	wr_split_desc(DESC_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	wr_split_desc(DESC_GPA, 1, IND_GPA, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	wr_split_desc(IND_GPA, 0, BUF_GPA + 0x100, 16, VIRTQ_DESC_F_NEXT, 1);
	wr_split_desc(IND_GPA, 1, BUF_GPA + 0x200, 16, VIRTQ_DESC_F_WRITE, 0);
	split_avail(0);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.nsegs, 3);
	assert_int_equal(chain.readable, 32);
	assert_int_equal(chain.writable, 16);
}

static void test_split_full_size_chain(void **state)
{
	/* Exactly queue-size descriptors is the longest legal chain. */
	struct virtq_seg *heap;

	(void)state;
	setup_split(FEAT_INDIRECT, QSIZE);
	heap = heap_segs(QSIZE);
	for (uint16_t i = 0; i < QSIZE; i++)
		wr_split_desc(DESC_GPA, i, BUF_GPA + 0x100 * i, 1,
			      i == QSIZE - 1 ? 0 : VIRTQ_DESC_F_NEXT, i + 1);
	split_avail(0);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.nsegs, QSIZE);
	assert_int_equal(virtq_push(&vq, &chain, 0), 0);

	/* Likewise a table of queue-size entries, in reverse order. */
	for (uint16_t i = 0; i < QSIZE; i++)
		wr_split_desc(IND_GPA, i, BUF_GPA + 0x100 * i, 1,
			      i == 0 ? 0 : VIRTQ_DESC_F_NEXT, i - 1);
	wr_split_desc(IND_GPA, 0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, QSIZE - 1);
	wr_split_desc(IND_GPA, 1, BUF_GPA, 1, 0, 0);
	wr_split_desc(DESC_GPA, 3, IND_GPA, QSIZE * 16, VIRTQ_DESC_F_INDIRECT,
		      0);
	split_avail(3);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.nsegs, QSIZE);
	assert_int_equal(chain.id, 3);
	test_free(heap);
}

static void test_split_avail_idx_wrap(void **state)
{
	unsigned int rounds = 0;

	(void)state;
	setup_split(0, 4);
	/* Run the 16-bit indices through 0xffff -> 0 several times. */
	for (uint32_t n = 0; n < 70000; n += 3) {
		for (int k = 0; k < 3; k++) {
			uint16_t d = (uint16_t)((n + k) % 4);

			wr_split_desc(DESC_GPA, d, BUF_GPA + d, 1,
				      VIRTQ_DESC_F_WRITE, 0);
			split_avail(d);
		}
		for (int k = 0; k < 3; k++) {
			assert_int_equal(virtq_pop(&vq, &chain), 1);
			assert_int_equal(chain.id, (n + k) % 4);
			assert_int_equal(virtq_push(&vq, &chain, 1), 0);
		}
		assert_int_equal(virtq_pop(&vq, &chain), 0);
		rounds++;
	}
	assert_int_equal(vq.last_avail_idx, (uint16_t)(rounds * 3));
	assert_int_equal(rd16(USED_GPA + 2), (uint16_t)(rounds * 3));
}

static void test_split_avail_idx_wrap_from_state(void **state)
{
	(void)state;
	setup_split(0, QSIZE);
	/* As if we had run 65534 buffers already. */
	vq.last_avail_idx = vq.avail_idx_shadow = vq.used_idx = 0xfffe;
	wr16(AVAIL_GPA + 2, 0xfffe);
	for (int i = 0; i < 4; i++) {
		wr_split_desc(DESC_GPA, (uint16_t)i, BUF_GPA, 1, 0, 0);
		split_avail((uint16_t)i);
	}
	assert_int_equal(rd16(AVAIL_GPA + 2), 2);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(virtq_pop(&vq, &chain), 1);
		assert_int_equal(chain.id, i);
		assert_int_equal(virtq_push(&vq, &chain, 0), 0);
	}
	assert_int_equal(virtq_pop(&vq, &chain), 0);
	assert_int_equal(rd16(USED_GPA + 2), 2);
	/* 0xfffe % 16 == 14: the used elements wrapped the ring too. */
	assert_int_equal(rd32(USED_GPA + 4 + 8 * 14), 0);
	assert_int_equal(rd32(USED_GPA + 4 + 8 * 1), 3);
}

/* ---- split: notifications ---- */

static void push_one(uint16_t d)
{
	wr_split_desc(DESC_GPA, d, BUF_GPA, 1, 0, 0);
	split_avail(d);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(virtq_push(&vq, &chain, 0), 0);
}

static void test_need_event(void **state)
{
	static const struct {
		uint16_t event, new_idx, old;
		bool want;
	} cases[] = {
		{ 0, 1, 0, true },	     { 0, 2, 1, false },
		{ 1, 2, 1, true },	     { 5, 10, 0, true },
		{ 10, 10, 0, false },	     { 9, 10, 0, true },
		{ 0xffff, 1, 0xfffe, true }, { 0, 1, 0xfffe, true },
		{ 1, 1, 0xfffe, false },     { 3, 3, 3, false },
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(virtq_need_event(cases[i].event,
						  cases[i].new_idx,
						  cases[i].old),
				 cases[i].want);
}

static void test_split_no_interrupt(void **state)
{
	(void)state;
	setup_split(0, QSIZE);
	push_one(0);
	assert_true(virtq_should_notify(&vq));
	/* Nothing new since the last decision: nothing to say. */
	assert_false(virtq_should_notify(&vq));

	wr16(AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	push_one(1);
	assert_false(virtq_should_notify(&vq));
	wr16(AVAIL_GPA, 0);
	push_one(2);
	assert_true(virtq_should_notify(&vq));
}

static void test_split_event_idx_notify(void **state)
{
	uint64_t used_event = AVAIL_GPA + 4 + 2 * QSIZE;

	(void)state;
	setup_split(FEAT_EVENT_IDX, QSIZE);
	/* Flags are ignored under EVENT_IDX. */
	wr16(AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	wr16(used_event, 0);
	push_one(0); /* used idx 0 -> 1 crosses event 0 */
	assert_true(virtq_should_notify(&vq));
	push_one(1); /* 1 -> 2: event 0 already passed */
	assert_false(virtq_should_notify(&vq));
	wr16(used_event, 4);
	push_one(2); /* 2 -> 3 */
	assert_false(virtq_should_notify(&vq));
	push_one(3); /* 3 -> 4 */
	assert_false(virtq_should_notify(&vq));
	push_one(4); /* 4 -> 5 crosses 4 */
	assert_true(virtq_should_notify(&vq));
	/* Several pushes per decision: any crossing counts. */
	wr16(used_event, 6);
	push_one(5);
	push_one(6);
	push_one(7); /* 5 -> 8 crosses 6 */
	assert_true(virtq_should_notify(&vq));
}

/* The driver's depth, as batching reads it: taken by us, not yet reaped. */
static void test_split_driver_taken(void **state)
{
	uint64_t used_event = AVAIL_GPA + 4 + 2 * QSIZE;

	(void)state;
	setup_split(FEAT_EVENT_IDX, QSIZE);
	for (uint16_t d = 0; d < 5; d++) {
		wr_split_desc(DESC_GPA, d, BUF_GPA, 1, 0, 0);
		split_avail(d);
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(virtq_pop(&vq, &chain), 1);
	wr16(used_event, 0);
	assert_int_equal(virtq_driver_taken(&vq), 3);
	assert_int_equal(virtq_avail_count(&vq), 2);
	wr16(used_event, 2); /* the driver reaped two */
	assert_int_equal(virtq_driver_taken(&vq), 1);
	/* An event ahead of what we took says nothing. */
	wr16(used_event, 9);
	assert_int_equal(virtq_driver_taken(&vq), -1);
	/* Without EVENT_IDX there is no index to read. */
	setup_split(0, QSIZE);
	assert_int_equal(virtq_driver_taken(&vq), -1);
}

static void test_split_set_notification(void **state)
{
	uint64_t avail_event = USED_GPA + 4 + 8 * QSIZE;

	(void)state;
	setup_split(0, QSIZE);
	virtq_set_notification(&vq, false);
	assert_int_equal(rd16(USED_GPA), VIRTQ_USED_F_NO_NOTIFY);
	virtq_set_notification(&vq, true);
	assert_int_equal(rd16(USED_GPA), 0);

	setup_split(FEAT_EVENT_IDX, QSIZE);
	push_one(0);
	push_one(1);
	/* Pop keeps avail_event at the next index we will look at. */
	assert_int_equal(rd16(avail_event), 2);
	virtq_set_notification(&vq, false);
	push_one(2);
	assert_int_equal(rd16(avail_event), 2);
	virtq_set_notification(&vq, true);
	assert_int_equal(rd16(avail_event), 3);
	/* Under EVENT_IDX the device leaves used->flags at 0. */
	assert_int_equal(rd16(USED_GPA), 0);
}

/* ---- split: hostile cases, table driven ---- */

enum { RING, IND, IND2, END };

struct wdesc {
	int table;
	uint16_t i;
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct split_case {
	const char *name;
	int expect;
	uint64_t features;
	uint16_t head;
	uint16_t avail_idx; /* 0: one buffer */
	uint32_t cap; /* 0: the full segment array */
	struct wdesc d[10];
	void (*extra)(void);
};

#define N VIRTQ_DESC_F_NEXT
#define W VIRTQ_DESC_F_WRITE
#define INDF VIRTQ_DESC_F_INDIRECT
#define D(t, i_, a, l, f, n)                                          \
	{                                                             \
		.table = t, .i = i_, .addr = a, .len = l, .flags = f, \
		.next = n                                             \
	}
#define ENDD                 \
	{                    \
		.table = END \
	}

static void long_chain_extra(void)
{
	/* 10 direct + an 8-entry table: 18 descriptors in a 16 queue. */
	for (uint16_t i = 0; i < 10; i++)
		wr_split_desc(DESC_GPA, i, BUF_GPA, 1, N, i + 1);
	wr_split_desc(DESC_GPA, 10, IND_GPA, 8 * 16, INDF, 0);
	for (uint16_t i = 0; i < 8; i++)
		wr_split_desc(IND_GPA, i, BUF_GPA, 1, i < 7 ? N : 0, i + 1);
}

static void indirect_full_ring_extra(void)
{
	/* 8 direct + a 9-entry table: one over, loop-free. */
	for (uint16_t i = 0; i < 8; i++)
		wr_split_desc(DESC_GPA, i, BUF_GPA, 1, N, i + 1);
	wr_split_desc(DESC_GPA, 8, IND_GPA, 9 * 16, INDF, 0);
	for (uint16_t i = 0; i < 9; i++)
		wr_split_desc(IND_GPA, i, BUF_GPA, 1, i < 8 ? N : 0, i + 1);
}

/* name, expected error, features, head, then ring/table descriptors */
#define SC(nm, err, feat, hd, ...)                                       \
	{                                                                \
		.name = nm, .expect = err, .features = feat, .head = hd, \
		.d = { __VA_ARGS__ ENDD }                                \
	}

static const struct split_case split_cases[] = {
	SC("loop via next", -VIRTQ_E_CHAIN_LEN, 0, 0,
	   D(RING, 0, BUF_GPA, 1, N, 1), D(RING, 1, BUF_GPA, 1, N, 2),
	   D(RING, 2, BUF_GPA, 1, N, 0), ),
	SC("self loop", -VIRTQ_E_CHAIN_LEN, 0, 5,
	   D(RING, 5, BUF_GPA, 1, N, 5), ),
	SC("self loop, zero len", -VIRTQ_E_CHAIN_LEN, 0, 5,
	   D(RING, 5, 0, 0, N, 5), ),
	SC("head out of range", -VIRTQ_E_HEAD_RANGE, 0, QSIZE, ),
	SC("head 0xffff", -VIRTQ_E_HEAD_RANGE, 0, 0xffff, ),
	SC("next out of range", -VIRTQ_E_NEXT_RANGE, 0, 0,
	   D(RING, 0, BUF_GPA, 1, N, QSIZE), ),
	{ .name = "chain longer than queue (direct + indirect)",
	  .expect = -VIRTQ_E_CHAIN_LEN,
	  .features = FEAT_INDIRECT,
	  .d = { ENDD },
	  .extra = long_chain_extra },
	{ .name = "direct + indirect one over",
	  .expect = -VIRTQ_E_CHAIN_LEN,
	  .features = FEAT_INDIRECT,
	  .d = { ENDD },
	  .extra = indirect_full_ring_extra },
	SC("indirect loop", -VIRTQ_E_CHAIN_LEN, FEAT_INDIRECT, 0,
	   D(RING, 0, IND_GPA, 4 * 16, INDF, 0), D(IND, 0, BUF_GPA, 1, N, 1),
	   D(IND, 1, BUF_GPA, 1, N, 0), ),
	SC("indirect self loop", -VIRTQ_E_CHAIN_LEN, FEAT_INDIRECT, 0,
	   D(RING, 0, IND_GPA, 16, INDF, 0), D(IND, 0, BUF_GPA, 1, N, 0), ),
	SC("indirect next out of table", -VIRTQ_E_NEXT_RANGE, FEAT_INDIRECT, 0,
	   D(RING, 0, IND_GPA, 2 * 16, INDF, 0), D(IND, 0, BUF_GPA, 1, N, 2), ),
	SC("nested indirect", -VIRTQ_E_INDIRECT_NESTED, FEAT_INDIRECT, 0,
	   D(RING, 0, IND_GPA, 2 * 16, INDF, 0), D(IND, 0, BUF_GPA, 1, N, 1),
	   D(IND, 1, IND2_GPA, 16, INDF, 0), D(IND2, 0, BUF_GPA, 1, 0, 0), ),
	SC("indirect + next", -VIRTQ_E_INDIRECT_NEXT, FEAT_INDIRECT, 0,
	   D(RING, 0, IND_GPA, 16, INDF | N, 1), D(RING, 1, BUF_GPA, 1, 0, 0),
	   D(IND, 0, BUF_GPA, 1, 0, 0), ),
	SC("indirect without feature", -VIRTQ_E_INDIRECT_FEATURE, 0, 0,
	   D(RING, 0, IND_GPA, 16, INDF, 0), D(IND, 0, BUF_GPA, 1, 0, 0), ),
	SC("indirect len 0", -VIRTQ_E_INDIRECT_LEN, FEAT_INDIRECT, 0,
	   D(RING, 0, IND_GPA, 0, INDF, 0), ),
	SC("indirect len not n*16", -VIRTQ_E_INDIRECT_LEN, FEAT_INDIRECT, 0,
	   D(RING, 0, IND_GPA, 24, INDF, 0), D(IND, 0, BUF_GPA, 1, 0, 0), ),
	SC("indirect len huge", -VIRTQ_E_INDIRECT_LEN, FEAT_INDIRECT, 0,
	   D(RING, 0, IND_GPA, 0xfffffff0u, INDF, 0), ),
	SC("indirect table > queue size", -VIRTQ_E_INDIRECT_LEN, FEAT_INDIRECT,
	   0, D(RING, 0, IND_GPA, (QSIZE + 1) * 16, INDF, 0),
	   D(IND, 0, BUF_GPA, 1, 0, 0), ),
	SC("indirect table outside RAM", -VIRTQ_E_INDIRECT_RANGE, FEAT_INDIRECT,
	   0, D(RING, 0, 0x40000000, 16, INDF, 0), ),
	SC("indirect table in the PCI hole", -VIRTQ_E_INDIRECT_RANGE,
	   FEAT_INDIRECT, 0, D(RING, 0, 0xC0000000, 16, INDF, 0), ),
	SC("indirect table straddles RAM end", -VIRTQ_E_INDIRECT_RANGE,
	   FEAT_INDIRECT, 0, D(RING, 0, RAM_SIZE - 16, 32, INDF, 0), ),
	SC("indirect table wraps 2^64", -VIRTQ_E_INDIRECT_RANGE, FEAT_INDIRECT,
	   0, D(RING, 0, UINT64_MAX - 15, 32, INDF, 0), ),
	SC("segment outside RAM", -VIRTQ_E_SEG_RANGE, 0, 0,
	   D(RING, 0, RAM_SIZE, 1, 0, 0), ),
	SC("segment in the PCI hole", -VIRTQ_E_SEG_RANGE, 0, 0,
	   D(RING, 0, 0xC0001000, 16, 0, 0), ),
	SC("segment straddles RAM end", -VIRTQ_E_SEG_RANGE, 0, 0,
	   D(RING, 0, RAM_SIZE - 8, 16, W, 0), ),
	SC("segment gpa+len wraps 2^64", -VIRTQ_E_SEG_RANGE, 0, 0,
	   D(RING, 0, 0xfffffffffffff000ull, 0x2000, 0, 0), ),
	SC("segment gpa+len wraps 2^64 to RAM", -VIRTQ_E_SEG_RANGE, 0, 0,
	   D(RING, 0, UINT64_MAX, 2, 0, 0), ),
	SC("segment in indirect outside RAM", -VIRTQ_E_SEG_RANGE, FEAT_INDIRECT,
	   0, D(RING, 0, IND_GPA, 16, INDF, 0),
	   D(IND, 0, 0x100000000ull, 16, 0, 0), ),
	SC("len sum overflow", -VIRTQ_E_LEN_OVERFLOW, 0, 0,
	   D(RING, 0, BUF_GPA, 0x800, N, 1),
	   D(RING, 1, BUF_GPA, 0xffffffffu, W, 0), ),
	SC("len sum overflow in indirect", -VIRTQ_E_LEN_OVERFLOW, FEAT_INDIRECT,
	   0, D(RING, 0, BUF_GPA, 1, N, 1), D(RING, 1, IND_GPA, 16, INDF, 0),
	   D(IND, 0, BUF_GPA, 0xffffffffu, 0, 0), ),
	SC("read after write", -VIRTQ_E_ORDER, 0, 0,
	   D(RING, 0, BUF_GPA, 1, W | N, 1), D(RING, 1, BUF_GPA, 1, 0, 0), ),
	SC("read after write across indirect", -VIRTQ_E_ORDER, FEAT_INDIRECT, 0,
	   D(RING, 0, BUF_GPA, 1, W | N, 1), D(RING, 1, IND_GPA, 16, INDF, 0),
	   D(IND, 0, BUF_GPA, 1, 0, 0), ),
	{ .name = "avail idx jumps past size",
	  .expect = -VIRTQ_E_AVAIL_IDX,
	  .avail_idx = QSIZE + 1,
	  .d = { D(RING, 0, BUF_GPA, 1, 0, 0), ENDD } },
	{ .name = "avail idx goes backwards",
	  .expect = -VIRTQ_E_AVAIL_IDX,
	  .avail_idx = 0xffff,
	  .d = { D(RING, 0, BUF_GPA, 1, 0, 0), ENDD } },
	{ .name = "more segments than the device takes",
	  .expect = -VIRTQ_E_CHAIN_CAP,
	  .cap = 2,
	  .d = { D(RING, 0, BUF_GPA, 1, N, 1), D(RING, 1, BUF_GPA, 1, N, 2),
		 D(RING, 2, BUF_GPA, 1, 0, 0), ENDD } },
};

static uint64_t table_gpa(int t)
{
	return t == RING ? DESC_GPA : t == IND ? IND_GPA : IND2_GPA;
}

static void test_split_hostile(void **state)
{
	(void)state;
	for (unsigned int c = 0; c < sizeof(split_cases) / sizeof(*split_cases);
	     c++) {
		const struct split_case *sc = &split_cases[c];
		struct virtq_seg *heap = NULL;
		int r;

		print_message("  split hostile: %s\n", sc->name);
		setup_split(sc->features, QSIZE);
		for (const struct wdesc *d = sc->d; d->table != END; d++)
			wr_split_desc(table_gpa(d->table), d->i, d->addr,
				      d->len, d->flags, d->next);
		if (sc->extra)
			sc->extra();
		wr16(AVAIL_GPA + 4, sc->head);
		wr16(AVAIL_GPA + 2, sc->avail_idx ? sc->avail_idx : 1);
		if (sc->cap)
			heap = heap_segs(sc->cap);

		r = virtq_pop(&vq, &chain);
		if (r != sc->expect)
			fail_msg("%s: got %d (%s), want %d (%s)", sc->name, r,
				 virtq_strerror(r), sc->expect,
				 virtq_strerror(sc->expect));
		assert_int_equal(chain.nsegs, 0);
		assert_int_equal(chain.readable, 0);
		assert_int_equal(chain.writable, 0);
		/* Broken stays broken, and pushes nothing. */
		assert_int_equal(virtq_pop(&vq, &chain), sc->expect);
		assert_int_equal(virtq_push(&vq, &chain, 0), sc->expect);
		assert_int_equal(rd16(USED_GPA + 2), 0);
		assert_int_equal(vq.last_avail_idx, 0);
		assert_string_not_equal(virtq_strerror(r), "");

		/* A reset queue works again. */
		virtq_reset(&vq);
		assert_int_equal(virtq_pop(&vq, &chain), 0);
		if (heap)
			test_free(heap);
	}
}

static void test_split_inflight_overflow(void **state)
{
	(void)state;
	setup_split(0, 4);
	for (uint16_t i = 0; i < 4; i++) {
		wr_split_desc(DESC_GPA, i, BUF_GPA, 1, 0, 0);
		split_avail(i);
		assert_int_equal(virtq_pop(&vq, &chain), 1);
	}
	/* Four held by the device; a fifth must reuse one of them. */
	split_avail(0);
	assert_int_equal(virtq_pop(&vq, &chain), -VIRTQ_E_INFLIGHT);
}

static void test_split_ring_moved(void **state)
{
	(void)state;
	setup_split(0, QSIZE);
	vq.driver_gpa = RAM_SIZE; /* as if RAM shrank under us */
	assert_int_equal(virtq_pop(&vq, &chain), -VIRTQ_E_RING_RANGE);
	setup_split(0, QSIZE);
	wr_split_desc(DESC_GPA, 0, BUF_GPA, 1, 0, 0);
	split_avail(0);
	vq.desc_gpa = 0xC0000000;
	assert_int_equal(virtq_pop(&vq, &chain), -VIRTQ_E_RING_RANGE);
}

static void test_push_misuse(void **state)
{
	struct virtq_chain bogus = VIRTQ_CHAIN_INIT(segs);

	(void)state;
	virtq_init(&vq, &dma, 16);
	assert_int_equal(virtq_pop(&vq, &chain), 0);
	assert_int_equal(virtq_push(&vq, &chain, 0), -VIRTQ_E_NOT_READY);

	setup_split(0, QSIZE);
	bogus.id = QSIZE;
	bogus.ndescs = 1;
	assert_int_equal(virtq_push(&vq, &bogus, 0), -VIRTQ_E_BAD_CHAIN);
	bogus.id = 0;
	/* Nothing was popped. */
	assert_int_equal(virtq_push(&vq, &bogus, 0), -VIRTQ_E_BAD_CHAIN);
}

/* ---- configuration ---- */

static void test_enable_validation(void **state)
{
	(void)state;
	clear_rings();
	virtq_init(&vq, &dma, 256);
	assert_int_equal(vq.size, 256);
	assert_int_equal(virtq_set_size(&vq, 0), -VIRTQ_E_SIZE);
	assert_int_equal(virtq_enable(&vq), -VIRTQ_E_SIZE);
	assert_int_equal(virtq_set_size(&vq, 257), -VIRTQ_E_SIZE);
	assert_int_equal(virtq_set_size(&vq, 65536), -VIRTQ_E_SIZE);
	assert_int_equal(virtq_set_size(&vq, 12), 0);
	assert_int_equal(virtq_set_desc_addr(&vq, DESC_GPA), 0);
	assert_int_equal(virtq_set_driver_addr(&vq, AVAIL_GPA), 0);
	assert_int_equal(virtq_set_device_addr(&vq, USED_GPA), 0);
	/* Split sizes are powers of two; packed ones need not be. */
	assert_int_equal(virtq_enable(&vq), -VIRTQ_E_SIZE);
	assert_int_equal(virtq_set_features(&vq, FEAT_PACKED), 0);
	assert_int_equal(virtq_enable(&vq), 0);
	assert_true(vq.ready);
	assert_int_equal(virtq_set_size(&vq, 8), -VIRTQ_E_BUSY);
	assert_int_equal(virtq_set_desc_addr(&vq, 0), -VIRTQ_E_BUSY);
	assert_int_equal(virtq_set_features(&vq, 0), -VIRTQ_E_BUSY);
	assert_int_equal(vq.desc_gpa, DESC_GPA);

	virtq_reset(&vq);
	assert_false(vq.ready);
	assert_int_equal(virtq_set_size(&vq, 16), 0);
	/* Alignment: desc 16, avail 2, used 4 (split). */
	assert_int_equal(virtq_set_desc_addr(&vq, DESC_GPA + 8),
			 -VIRTQ_E_ALIGN);
	assert_int_equal(virtq_enable(&vq), -VIRTQ_E_ALIGN);
	assert_int_equal(virtq_set_desc_addr(&vq, DESC_GPA), 0);
	assert_int_equal(virtq_set_driver_addr(&vq, AVAIL_GPA + 1),
			 -VIRTQ_E_ALIGN);
	assert_int_equal(virtq_enable(&vq), -VIRTQ_E_ALIGN);
	assert_int_equal(virtq_set_driver_addr(&vq, AVAIL_GPA + 2), 0);
	assert_int_equal(virtq_set_device_addr(&vq, USED_GPA + 2),
			 -VIRTQ_E_ALIGN);
	assert_int_equal(virtq_enable(&vq), -VIRTQ_E_ALIGN);
	assert_int_equal(virtq_set_device_addr(&vq, USED_GPA), 0);
	assert_int_equal(virtq_enable(&vq), 0);

	/* Packed: driver area needs 4. */
	virtq_reset(&vq);
	assert_int_equal(virtq_set_features(&vq, FEAT_PACKED), 0);
	assert_int_equal(virtq_set_size(&vq, 16), 0);
	assert_int_equal(virtq_set_desc_addr(&vq, DESC_GPA), 0);
	assert_int_equal(virtq_set_driver_addr(&vq, AVAIL_GPA + 2),
			 -VIRTQ_E_ALIGN);
	assert_int_equal(virtq_set_device_addr(&vq, USED_GPA), 0);
	assert_int_equal(virtq_enable(&vq), -VIRTQ_E_ALIGN);

	/* Rings must be RAM, all of them. */
	virtq_reset(&vq);
	assert_int_equal(virtq_set_size(&vq, 16), 0);
	assert_int_equal(virtq_set_desc_addr(&vq, RAM_SIZE - 16 * 8), 0);
	assert_int_equal(virtq_set_driver_addr(&vq, AVAIL_GPA), 0);
	assert_int_equal(virtq_set_device_addr(&vq, USED_GPA), 0);
	assert_int_equal(virtq_enable(&vq), -VIRTQ_E_RING_RANGE);
	assert_int_equal(virtq_set_desc_addr(&vq, DESC_GPA), 0);
	/* The used ring's avail_event is its last 2 bytes. */
	assert_int_equal(virtq_set_device_addr(&vq, RAM_SIZE - (4 + 8 * 16)),
			 0);
	assert_int_equal(virtq_enable(&vq), -VIRTQ_E_RING_RANGE);
	assert_int_equal(virtq_set_device_addr(&vq, RAM_SIZE - 136), 0);
	assert_int_equal(virtq_enable(&vq), 0);
	virtq_reset(&vq);
	assert_int_equal(virtq_set_driver_addr(&vq, 0xfffffffffffffff0ull), 0);
	assert_int_equal(virtq_enable(&vq), -VIRTQ_E_RING_RANGE);
	assert_false(vq.ready);
	/* Not ready: pop finds nothing, and never touches memory. */
	assert_int_equal(virtq_pop(&vq, &chain), 0);
}

static void test_strerror(void **state)
{
	(void)state;
	for (int e = VIRTQ_E_BASE; e < VIRTQ_E_END; e++) {
		const char *s = virtq_strerror(-e);

		assert_non_null(s);
		assert_ptr_equal(s, virtq_strerror(e));
		for (int f = VIRTQ_E_BASE; f < e; f++)
			assert_string_not_equal(s, virtq_strerror(-f));
	}
	assert_string_equal(virtq_strerror(-EFAULT), strerror(EFAULT));
}

static void test_split_push_batch(void **state)
{
	struct virtq_seg bs[3][4];
	struct virtq_chain c[3];
	const uint32_t lens[3] = { 100, 50, 500 };

	(void)state;
	setup_split(0, QSIZE);
	for (uint16_t i = 0; i < 3; i++) {
		wr_split_desc(DESC_GPA, 5 + i, BUF_GPA + 0x1000 * i, 100,
			      VIRTQ_DESC_F_WRITE, 0);
		split_avail(5 + i);
	}
	assert_int_equal(virtq_push_batch(&vq, c, lens, 0), 0);
	for (int i = 0; i < 3; i++) {
		c[i] = VIRTQ_CHAIN_INIT(bs[i]);
		assert_int_equal(virtq_pop(&vq, &c[i]), 1);
	}
	assert_int_equal(virtq_push_batch(&vq, c, lens, 3), 0);
	/* One publication of all three, lengths clamped. */
	assert_int_equal(rd16(USED_GPA + 2), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rd32(USED_GPA + 4 + 8 * i), 5 + i);
		assert_int_equal(rd32(USED_GPA + 8 + 8 * i), i == 1 ? 50 : 100);
	}
	assert_int_equal(vq.inflight, 0);
	assert_true(virtq_should_notify(&vq));
	/* Not popped (any more): refused, nothing published. */
	assert_int_equal(virtq_push_batch(&vq, c, lens, 1), -VIRTQ_E_BAD_CHAIN);
	assert_int_equal(rd16(USED_GPA + 2), 3);
}

/* ---- packed ---- */

struct pdrv {
	uint16_t next;
	bool wrap;
};

static struct pdrv drv;

static void wr_packed_desc(uint64_t table, uint16_t i, uint64_t addr,
			   uint32_t len, uint16_t id, uint16_t flags)
{
	uint8_t *p = hva(table + 16ull * i, 16);
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t d = htole16(id), f = htole16(flags);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &d, 2);
	memcpy(p + 14, &f, 2);
}

static uint16_t avail_bits(bool wrap)
{
	return wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
}

struct pseg {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* WRITE / INDIRECT; NEXT and AVAIL/USED are added */
};

/* Like a driver: the head's flags go last, after a barrier. */
static uint16_t pdrv_add(const struct pseg *s, unsigned int n, uint16_t id)
{
	uint16_t head = drv.next, head_flags = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t f = s[i].flags | avail_bits(drv.wrap);

		if (i + 1 < n)
			f |= VIRTQ_DESC_F_NEXT;
		if (i == 0) {
			head_flags = f;
			f = 0;
		}
		wr_packed_desc(DESC_GPA, drv.next, s[i].addr, s[i].len, id, f);
		if (++drv.next == vq.size) {
			drv.next = 0;
			drv.wrap = !drv.wrap;
		}
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr16(DESC_GPA + 16ull * head + 14, head_flags);
	return head;
}

static void setup_packed(uint64_t features, uint16_t size)
{
	clear_rings();
	virtq_init(&vq, &dma, 256);
	assert_int_equal(virtq_set_features(&vq, features | FEAT_PACKED), 0);
	assert_int_equal(virtq_set_size(&vq, size), 0);
	assert_int_equal(virtq_set_desc_addr(&vq, DESC_GPA), 0);
	assert_int_equal(virtq_set_driver_addr(&vq, AVAIL_GPA), 0);
	assert_int_equal(virtq_set_device_addr(&vq, USED_GPA), 0);
	assert_int_equal(virtq_enable(&vq), 0);
	chain = VIRTQ_CHAIN_INIT(segs);
	drv.next = 0;
	drv.wrap = true;
}

static void check_used(uint16_t slot, uint16_t id, uint32_t len, bool wrap,
		       bool written)
{
	uint16_t want = wrap ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0;

	if (written)
		want |= VIRTQ_DESC_F_WRITE;
	assert_int_equal(rd16(DESC_GPA + 16ull * slot + 14), want);
	assert_int_equal(rd16(DESC_GPA + 16ull * slot + 12), id);
	assert_int_equal(rd32(DESC_GPA + 16ull * slot + 8), len);
}

static void test_packed_push_batch(void **state)
{
	const struct pseg one = { BUF_GPA, 64, VIRTQ_DESC_F_WRITE };
	const struct pseg two[] = { { BUF_GPA, 64, VIRTQ_DESC_F_WRITE },
				    { BUF_GPA + 0x100, 64,
				      VIRTQ_DESC_F_WRITE } };
	struct virtq_seg bs[3][4];
	struct virtq_chain c[3];
	const uint32_t lens[3] = { 10, 0, 64 };

	(void)state;
	setup_packed(0, PSIZE);
	/* Six single buffers first, so the batch crosses the wrap. */
	for (int i = 0; i < 6; i++) {
		pdrv_add(&one, 1, i);
		assert_int_equal(virtq_pop(&vq, &chain), 1);
		assert_int_equal(virtq_push(&vq, &chain, 0), 0);
	}
	pdrv_add(two, 2, 20);
	pdrv_add(&one, 1, 21);
	pdrv_add(&one, 1, 22);
	for (int i = 0; i < 3; i++) {
		c[i] = VIRTQ_CHAIN_INIT(bs[i]);
		assert_int_equal(virtq_pop(&vq, &c[i]), 1);
	}
	assert_int_equal(c[0].ndescs, 2);
	assert_int_equal(virtq_push_batch(&vq, c, lens, 3), 0);
	check_used(6, 20, 10, true, true);
	check_used(0, 21, 0, false, false);
	check_used(1, 22, 64, false, true);
	assert_int_equal(vq.used_idx, 2);
	assert_false(vq.used_wrap);
	assert_int_equal(vq.inflight, 0);
}

static void test_packed_single(void **state)
{
	struct pseg s = { BUF_GPA, 64, 0 };

	(void)state;
	setup_packed(0, PSIZE);
	assert_true(virtq_empty(&vq));
	assert_int_equal(virtq_pop(&vq, &chain), 0);
	pdrv_add(&s, 1, 0x1234);
	assert_false(virtq_empty(&vq));
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_true(virtq_empty(&vq));
	assert_int_equal(chain.id, 0x1234);
	assert_int_equal(chain.ndescs, 1);
	assert_int_equal(chain.readable, 64);
	assert_int_equal(virtq_pop(&vq, &chain), 0);
	assert_int_equal(virtq_push(&vq, &chain, 0), 0);
	check_used(0, 0x1234, 0, true, false);
	assert_int_equal(vq.used_idx, 1);
}

static void test_packed_multi(void **state)
{
	const struct pseg s[] = {
		{ BUF_GPA, 10, 0 },
		{ BUF_GPA + 0x100, 20, 0 },
		{ BUF_GPA + 0x200, 30, VIRTQ_DESC_F_WRITE },
	};
	uint8_t out[30];

	(void)state;
	setup_packed(0, PSIZE);
	pdrv_add(s, 3, 7);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.id, 7);
	assert_int_equal(chain.ndescs, 3);
	assert_int_equal(chain.nsegs, 3);
	assert_int_equal(chain.readable, 30);
	assert_int_equal(chain.writable, 30);
	memset(out, 0x5a, sizeof(out));
	assert_int_equal(virtq_chain_write(&dma, &chain, 0, out, 30), 0);
	assert_memory_equal(hva(BUF_GPA + 0x200, 30), out, 30);
	assert_int_equal(virtq_push(&vq, &chain, 30), 0);
	/* One used descriptor for the list, then skip the rest. */
	check_used(0, 7, 30, true, true);
	assert_int_equal(vq.used_idx, 3);
	assert_int_equal(vq.last_avail_idx, 3);
}

static void test_packed_id_from_last(void **state)
{
	(void)state;
	setup_packed(0, PSIZE);
	/* Spec: the buffer id is in the last descriptor of the list. */
	wr_packed_desc(DESC_GPA, 1, BUF_GPA, 1, 99, avail_bits(true));
	wr_packed_desc(DESC_GPA, 0, BUF_GPA, 1, 11,
		       avail_bits(true) | VIRTQ_DESC_F_NEXT);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.id, 99);
}

static void test_packed_indirect(void **state)
{
	struct pseg s = { IND_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT };

	(void)state;
	setup_packed(FEAT_INDIRECT, PSIZE);
	wr_packed_desc(IND_GPA, 0, BUF_GPA, 5, 0, 0);
	/* NEXT inside a packed table is reserved and ignored. */
	wr_packed_desc(IND_GPA, 1, BUF_GPA + 0x100, 6, 0,
		       VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT);
	wr_packed_desc(IND_GPA, 2, BUF_GPA + 0x200, 7, 0, VIRTQ_DESC_F_WRITE);
	pdrv_add(&s, 1, 3);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(chain.id, 3);
	assert_int_equal(chain.ndescs, 1);
	assert_int_equal(chain.nsegs, 3);
	assert_int_equal(chain.readable, 5);
	assert_int_equal(chain.writable, 13);
	assert_int_equal(virtq_push(&vq, &chain, 13), 0);
	check_used(0, 3, 13, true, true);
	assert_int_equal(vq.used_idx, 1);
}

static void test_packed_wrap(void **state)
{
	const struct pseg s[] = {
		{ BUF_GPA, 1, 0 },
		{ BUF_GPA + 0x100, 1, VIRTQ_DESC_F_WRITE },
	};
	uint16_t used = 0;
	bool used_wrap = true;

	(void)state;
	/* Size 5: two-descriptor lists straddle the end of the ring. */
	setup_packed(0, 5);
	for (uint16_t n = 0; n < 40; n++) {
		uint16_t head = pdrv_add(s, 2, n);

		assert_int_equal(head, used);
		assert_int_equal(virtq_pop(&vq, &chain), 1);
		assert_int_equal(chain.id, n);
		assert_int_equal(chain.ndescs, 2);
		assert_int_equal(virtq_pop(&vq, &chain), 0);
		assert_int_equal(virtq_push(&vq, &chain, n & 1), 0);
		check_used(used, n, n & 1, used_wrap, n & 1);
		used += 2;
		if (used >= 5) {
			used -= 5;
			used_wrap = !used_wrap;
		}
		assert_int_equal(vq.used_idx, used);
		assert_int_equal(vq.used_wrap, used_wrap);
		assert_int_equal(vq.avail_wrap, drv.wrap);
		assert_int_equal(vq.last_avail_idx, drv.next);
	}
}

/* Given back across the end of the ring: position and wrap restored. */
static void test_packed_unpop_wrap(void **state)
{
	const struct pseg s[] = {
		{ BUF_GPA, 1, 0 },
		{ BUF_GPA + 0x100, 1, VIRTQ_DESC_F_WRITE },
	};

	(void)state;
	setup_packed(0, 5);
	for (uint16_t n = 0; n < 12; n++) {
		uint16_t idx, wrap;

		pdrv_add(s, 2, n);
		idx = vq.last_avail_idx;
		wrap = vq.avail_wrap;
		assert_int_equal(virtq_pop(&vq, &chain), 1);
		virtq_unpop(&vq, &chain);
		assert_int_equal(vq.last_avail_idx, idx);
		assert_int_equal(vq.avail_wrap, wrap);
		assert_int_equal(vq.inflight, 0);
		assert_int_equal(virtq_pop(&vq, &chain), 1);
		assert_int_equal(chain.id, n);
		assert_int_equal(virtq_push(&vq, &chain, 0), 0);
	}
}

static void test_packed_out_of_order_push(void **state)
{
	struct pseg s = { BUF_GPA, 1, 0 };
	struct virtq_seg s2[4];
	struct virtq_chain a = VIRTQ_CHAIN_INIT(segs), b = VIRTQ_CHAIN_INIT(s2);

	(void)state;
	setup_packed(0, PSIZE);
	pdrv_add(&s, 1, 1);
	pdrv_add(&s, 1, 2);
	assert_int_equal(virtq_pop(&vq, &a), 1);
	assert_int_equal(virtq_pop(&vq, &b), 1);
	/* Used descriptors go in completion order. */
	assert_int_equal(virtq_push(&vq, &b, 0), 0);
	assert_int_equal(virtq_push(&vq, &a, 0), 0);
	check_used(0, 2, 0, true, false);
	check_used(1, 1, 0, true, false);
}

static void test_packed_event_suppression(void **state)
{
	struct pseg s = { BUF_GPA, 1, 0 };

	(void)state;
	/* Driver event suppression: device->driver interrupts. */
	setup_packed(0, PSIZE);
	pdrv_add(&s, 1, 0);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(virtq_push(&vq, &chain, 0), 0);
	wr16(AVAIL_GPA + 2, VIRTQ_RING_EVENT_FLAGS_DISABLE);
	assert_false(virtq_should_notify(&vq));
	pdrv_add(&s, 1, 1);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(virtq_push(&vq, &chain, 0), 0);
	wr16(AVAIL_GPA + 2, VIRTQ_RING_EVENT_FLAGS_ENABLE);
	assert_true(virtq_should_notify(&vq));
	assert_false(virtq_should_notify(&vq));
	/* DESC without EVENT_IDX is meaningless: interrupt anyway. */
	pdrv_add(&s, 1, 2);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(virtq_push(&vq, &chain, 0), 0);
	wr16(AVAIL_GPA + 2, VIRTQ_RING_EVENT_FLAGS_DESC);
	wr16(AVAIL_GPA, 7 | 0x8000);
	assert_true(virtq_should_notify(&vq));

	setup_packed(FEAT_EVENT_IDX, PSIZE);
	wr16(AVAIL_GPA + 2, VIRTQ_RING_EVENT_FLAGS_DESC);
	wr16(AVAIL_GPA, 2 | 0x8000); /* at slot 2, wrap 1 */
	for (uint16_t i = 0; i < 2; i++) {
		pdrv_add(&s, 1, i);
		assert_int_equal(virtq_pop(&vq, &chain), 1);
		assert_int_equal(virtq_push(&vq, &chain, 0), 0);
		/* First decision has no history: always notify. */
		assert_int_equal(virtq_should_notify(&vq), i == 0);
	}
	pdrv_add(&s, 1, 2);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(virtq_push(&vq, &chain, 0), 0); /* slot 2 used */
	assert_true(virtq_should_notify(&vq));
	/* An event in the wrong lap does not fire. */
	wr16(AVAIL_GPA, 4);
	pdrv_add(&s, 1, 3);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(virtq_push(&vq, &chain, 0), 0);
	pdrv_add(&s, 1, 4);
	assert_int_equal(virtq_pop(&vq, &chain), 1);
	assert_int_equal(virtq_push(&vq, &chain, 0), 0);
	assert_false(virtq_should_notify(&vq));
}

static void test_packed_set_notification(void **state)
{
	struct pseg s = { BUF_GPA, 1, 0 };

	(void)state;
	/* Device event suppression: driver->device kicks. */
	setup_packed(0, PSIZE);
	virtq_set_notification(&vq, false);
	assert_int_equal(rd16(USED_GPA + 2), VIRTQ_RING_EVENT_FLAGS_DISABLE);
	virtq_set_notification(&vq, true);
	assert_int_equal(rd16(USED_GPA + 2), VIRTQ_RING_EVENT_FLAGS_ENABLE);

	setup_packed(FEAT_EVENT_IDX, PSIZE);
	for (int i = 0; i < PSIZE + 1; i++) {
		pdrv_add(&s, 1, 0);
		assert_int_equal(virtq_pop(&vq, &chain), 1);
		assert_int_equal(virtq_push(&vq, &chain, 0), 0);
	}
	virtq_set_notification(&vq, false);
	assert_int_equal(rd16(USED_GPA + 2), VIRTQ_RING_EVENT_FLAGS_DISABLE);
	virtq_set_notification(&vq, true);
	assert_int_equal(rd16(USED_GPA + 2), VIRTQ_RING_EVENT_FLAGS_DESC);
	/* Next slot 1, second lap: wrap counter 0. */
	assert_int_equal(rd16(USED_GPA), 1);
}

/* ---- packed: hostile cases ---- */

struct packed_case {
	const char *name;
	int expect;
	uint64_t features;
	/* Ring descriptors from slot 0; NEXT is explicit here. */
	struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		bool bad_avail;
	} d[10];
	unsigned int n;
	struct wdesc ind[4]; /* in IND_GPA, packed layout; i, addr, len, flags */
	uint32_t cap; /* 0: the full segment array */
};

#define PIND(i_, a, l, f)                                              \
	{                                                              \
		.table = IND, .i = i_, .addr = a, .len = l, .flags = f \
	}

#define PD(a, l, f)                             \
	{                                       \
		.addr = a, .len = l, .flags = f \
	}
#define PBAD(a, l, f)                                              \
	{                                                          \
		.addr = a, .len = l, .flags = f, .bad_avail = true \
	}
static const struct packed_case packed_cases[] = {
	{ .name = "chain longer than ring",
	  .expect = -VIRTQ_E_CHAIN_LEN,
	  .d = { PD(BUF_GPA, 1, N), PD(BUF_GPA, 1, N), PD(BUF_GPA, 1, N),
		 PD(BUF_GPA, 1, N), PD(BUF_GPA, 1, N), PD(BUF_GPA, 1, N),
		 PD(BUF_GPA, 1, N), PD(BUF_GPA, 1, N) },
	  .n = 8,
	  .ind = { ENDD } },
	{ .name = "list runs into unavailable slot",
	  .expect = -VIRTQ_E_PACKED_AVAIL,
	  .d = { PD(BUF_GPA, 1, N), PBAD(BUF_GPA, 1, 0) },
	  .n = 2,
	  .ind = { ENDD } },
	{ .name = "indirect + next",
	  .expect = -VIRTQ_E_INDIRECT_NEXT,
	  .features = FEAT_INDIRECT,
	  .d = { PD(IND_GPA, 16, INDF | N), PD(BUF_GPA, 1, 0) },
	  .n = 2,
	  .ind = { PIND(0, BUF_GPA, 1, 0), ENDD } },
	{ .name = "indirect inside a list",
	  .expect = -VIRTQ_E_INDIRECT_NEXT,
	  .features = FEAT_INDIRECT,
	  .d = { PD(BUF_GPA, 1, N), PD(IND_GPA, 16, INDF) },
	  .n = 2,
	  .ind = { PIND(0, BUF_GPA, 1, 0), ENDD } },
	{ .name = "indirect without feature",
	  .expect = -VIRTQ_E_INDIRECT_FEATURE,
	  .d = { PD(IND_GPA, 16, INDF) },
	  .n = 1,
	  .ind = { PIND(0, BUF_GPA, 1, 0), ENDD } },
	{ .name = "indirect len 0",
	  .expect = -VIRTQ_E_INDIRECT_LEN,
	  .features = FEAT_INDIRECT,
	  .d = { PD(IND_GPA, 0, INDF) },
	  .n = 1,
	  .ind = { ENDD } },
	{ .name = "indirect len not n*16",
	  .expect = -VIRTQ_E_INDIRECT_LEN,
	  .features = FEAT_INDIRECT,
	  .d = { PD(IND_GPA, 20, INDF) },
	  .n = 1,
	  .ind = { PIND(0, BUF_GPA, 1, 0), ENDD } },
	{ .name = "indirect table > queue size",
	  .expect = -VIRTQ_E_INDIRECT_LEN,
	  .features = FEAT_INDIRECT,
	  .d = { PD(IND_GPA, (PSIZE + 1) * 16, INDF) },
	  .n = 1,
	  .ind = { ENDD } },
	{ .name = "indirect len huge",
	  .expect = -VIRTQ_E_INDIRECT_LEN,
	  .features = FEAT_INDIRECT,
	  .d = { PD(IND_GPA, 0xfffffff0u, INDF) },
	  .n = 1,
	  .ind = { ENDD } },
	{ .name = "nested indirect",
	  .expect = -VIRTQ_E_INDIRECT_NESTED,
	  .features = FEAT_INDIRECT,
	  .d = { PD(IND_GPA, 32, INDF) },
	  .n = 1,
	  .ind = { PIND(0, BUF_GPA, 1, 0), PIND(1, IND2_GPA, 16, INDF),
		   ENDD } },
	{ .name = "indirect table outside RAM",
	  .expect = -VIRTQ_E_INDIRECT_RANGE,
	  .features = FEAT_INDIRECT,
	  .d = { PD(RAM_SIZE, 16, INDF) },
	  .n = 1,
	  .ind = { ENDD } },
	{ .name = "indirect table wraps 2^64",
	  .expect = -VIRTQ_E_INDIRECT_RANGE,
	  .features = FEAT_INDIRECT,
	  .d = { PD(UINT64_MAX - 15, 32, INDF) },
	  .n = 1,
	  .ind = { ENDD } },
	{ .name = "segment outside RAM",
	  .expect = -VIRTQ_E_SEG_RANGE,
	  .d = { PD(0x100000000ull, 16, 0) },
	  .n = 1,
	  .ind = { ENDD } },
	{ .name = "segment wraps 2^64",
	  .expect = -VIRTQ_E_SEG_RANGE,
	  .d = { PD(UINT64_MAX - 1, 4, W) },
	  .n = 1,
	  .ind = { ENDD } },
	{ .name = "indirect segment outside RAM",
	  .expect = -VIRTQ_E_SEG_RANGE,
	  .features = FEAT_INDIRECT,
	  .d = { PD(IND_GPA, 16, INDF) },
	  .n = 1,
	  .ind = { PIND(0, 0xC0000000, 1, 0), ENDD } },
	{ .name = "read after write",
	  .expect = -VIRTQ_E_ORDER,
	  .d = { PD(BUF_GPA, 1, W | N), PD(BUF_GPA, 1, 0) },
	  .n = 2,
	  .ind = { ENDD } },
	{ .name = "read after write in indirect",
	  .expect = -VIRTQ_E_ORDER,
	  .features = FEAT_INDIRECT,
	  .d = { PD(IND_GPA, 32, INDF) },
	  .n = 1,
	  .ind = { PIND(0, BUF_GPA, 1, W), PIND(1, BUF_GPA, 1, 0), ENDD } },
	{ .name = "len sum overflow",
	  .expect = -VIRTQ_E_LEN_OVERFLOW,
	  .d = { PD(BUF_GPA, 2, N), PD(BUF_GPA, 0xffffffffu, W) },
	  .n = 2,
	  .ind = { ENDD } },
	{ .name = "more segments than the device takes",
	  .expect = -VIRTQ_E_CHAIN_CAP,
	  .features = FEAT_INDIRECT,
	  .d = { PD(IND_GPA, 48, INDF) },
	  .n = 1,
	  .ind = { PIND(0, BUF_GPA, 1, 0), PIND(1, BUF_GPA, 1, 0),
		   PIND(2, BUF_GPA, 1, 0), ENDD },
	  .cap = 2 },
};

static void test_packed_hostile(void **state)
{
	(void)state;
	for (unsigned int c = 0;
	     c < sizeof(packed_cases) / sizeof(*packed_cases); c++) {
		const struct packed_case *pc = &packed_cases[c];
		struct virtq_seg *heap = NULL;
		int r;

		print_message("  packed hostile: %s\n", pc->name);
		setup_packed(pc->features, PSIZE);
		for (const struct wdesc *d = pc->ind; d->table != END; d++)
			wr_packed_desc(IND_GPA, d->i, d->addr, d->len, 0,
				       d->flags);
		/* Tail first, head last, all with the first lap's bits. */
		for (unsigned int i = pc->n; i-- > 0;)
			wr_packed_desc(DESC_GPA, (uint16_t)i, pc->d[i].addr,
				       pc->d[i].len, (uint16_t)i,
				       pc->d[i].flags |
					       avail_bits(!pc->d[i].bad_avail));
		if (pc->cap)
			heap = heap_segs(pc->cap);

		r = virtq_pop(&vq, &chain);
		if (r != pc->expect)
			fail_msg("%s: got %d (%s), want %d (%s)", pc->name, r,
				 virtq_strerror(r), pc->expect,
				 virtq_strerror(pc->expect));
		assert_int_equal(chain.nsegs, 0);
		assert_int_equal(virtq_pop(&vq, &chain), pc->expect);
		assert_int_equal(vq.last_avail_idx, 0);
		assert_true(vq.avail_wrap);
		assert_int_equal(vq.inflight, 0);
		if (heap)
			test_free(heap);
	}
}

static void test_packed_inflight_overflow(void **state)
{
	struct pseg s = { BUF_GPA, 1, 0 };

	(void)state;
	setup_packed(0, 4);
	for (int i = 0; i < 4; i++) {
		pdrv_add(&s, 1, (uint16_t)i);
		assert_int_equal(virtq_pop(&vq, &chain), 1);
	}
	/* The driver reuses slot 0 while the device still owns it. */
	pdrv_add(&s, 1, 9);
	assert_int_equal(virtq_pop(&vq, &chain), -VIRTQ_E_INFLIGHT);
}

static void test_packed_zero_initialised_ring(void **state)
{
	(void)state;
	/* A fresh, all-zero ring has nothing available (wrap counter 1). */
	setup_packed(0, PSIZE);
	assert_int_equal(virtq_pop(&vq, &chain), 0);
	/* Both bits equal: used, not available. */
	wr16(DESC_GPA + 14, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED);
	assert_int_equal(virtq_pop(&vq, &chain), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_empty),
		cmocka_unit_test(test_split_single),
		cmocka_unit_test(test_split_unpop),
		cmocka_unit_test(test_split_multi_and_copy),
		cmocka_unit_test(test_split_push_clamps_len),
		cmocka_unit_test(test_split_iov),
		cmocka_unit_test(test_split_zero_len_desc),
		cmocka_unit_test(test_split_indirect),
		cmocka_unit_test(test_split_direct_then_indirect),
		cmocka_unit_test(test_split_full_size_chain),
		cmocka_unit_test(test_split_avail_idx_wrap),
		cmocka_unit_test(test_split_avail_idx_wrap_from_state),
		cmocka_unit_test(test_need_event),
		cmocka_unit_test(test_split_no_interrupt),
		cmocka_unit_test(test_split_event_idx_notify),
		cmocka_unit_test(test_split_driver_taken),
		cmocka_unit_test(test_split_set_notification),
		cmocka_unit_test(test_split_hostile),
		cmocka_unit_test(test_split_inflight_overflow),
		cmocka_unit_test(test_split_ring_moved),
		cmocka_unit_test(test_push_misuse),
		cmocka_unit_test(test_split_push_batch),
		cmocka_unit_test(test_packed_push_batch),
		cmocka_unit_test(test_enable_validation),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_packed_single),
		cmocka_unit_test(test_packed_multi),
		cmocka_unit_test(test_packed_id_from_last),
		cmocka_unit_test(test_packed_indirect),
		cmocka_unit_test(test_packed_wrap),
		cmocka_unit_test(test_packed_unpop_wrap),
		cmocka_unit_test(test_packed_out_of_order_push),
		cmocka_unit_test(test_packed_event_suppression),
		cmocka_unit_test(test_packed_set_notification),
		cmocka_unit_test(test_packed_hostile),
		cmocka_unit_test(test_packed_inflight_overflow),
		cmocka_unit_test(test_packed_zero_initialised_ring),
	};

	return cmocka_run_group_tests_name("virtqueue", tests, group_setup,
					   group_teardown);
}
