// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory as every DMA reaches it: RAM, memory plugged at run time
 * (vm.resize) and device RAM (virtio-pmem's file), through gpa_to_hva(),
 * guest_mem_lookup(), guest_mem_for_each(), guest_mem_overlaps() and the
 * identity DMA space. Input: ops that plug or take back memory, add or
 * remove device RAM, and ask for addresses a hostile guest would pick:
 * near every range's edges, with lengths up to 2^64 - 1. Every answer
 * must lie inside what the guest was given, or the target aborts.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "kvm/dma.h"
#include "kvm/memory.h"
#include "util/log.h"

#include "fuzz.h"

#define RAM (8ull << 20)
#define AREA (1ull << 30)
#define STEP (2ull << 20)
#define DEV_SIZE (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem mem;
static struct dma_space dma;
static uint8_t dev[DEV_SIZE];
static uint64_t dev_gpa; /* 0: not added */

/* Whether [p, p + n) is memory the guest has now. */
static bool inside(const uint8_t *p, uint64_t n)
{
	uint64_t have = mem.ram_size + guest_mem_plugged(&mem);

	if (p >= mem.base && (uint64_t)(p - mem.base) <= have &&
	    n <= have - (uint64_t)(p - mem.base))
		return true;
	return dev_gpa && p >= dev && (uint64_t)(p - dev) <= DEV_SIZE &&
	       n <= DEV_SIZE - (uint64_t)(p - dev);
}

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* An address a guest would try: an edge of some range, give or take. */
static uint64_t pick(struct fz *in)
{
	uint64_t plugged = guest_mem_plugged(&mem);
	const uint64_t anchors[] = {
		0,
		RAM,
		mem.hotplug.gpa,
		mem.hotplug.gpa + plugged,
		mem.hotplug.gpa + AREA,
		dev_gpa,
		dev_gpa + DEV_SIZE,
		UINT64_MAX,
		fz_u64(in),
	};
	uint8_t a = fz_u8(in);

	return anchors[a % (sizeof(anchors) / sizeof(anchors[0]))] +
	       (uint64_t)(int64_t)(int16_t)fz_u16(in);
}

static uint64_t length(struct fz *in)
{
	uint8_t k = fz_u8(in);

	switch (k % 4) {
	case 0:
		return fz_u8(in);
	case 1:
		return fz_u32(in);
	case 2:
		return UINT64_MAX - fz_u8(in);
	default:
		return fz_u64(in);
	}
}

static uint64_t last_piece_end;

static int piece(void *arg, uint64_t gpa, uint64_t len, uint8_t *hva)
{
	uint64_t *budget = arg;

	check(len && inside(hva, len));
	/* Ascending and apart. */
	check(!last_piece_end || gpa >= last_piece_end);
	last_piece_end = gpa + len;
	/* Stop a walk the fuzzer made huge (the lookups are the point). */
	return --*budget ? 0 : 1;
}

static void query(struct fz *in)
{
	uint64_t gpa = pick(in), len = length(in), avail, budget = 64;
	struct iovec iov[8];
	uint8_t *p;
	int n;

	p = gpa_to_hva(&mem, gpa, len);
	if (p) {
		check(inside(p, len));
		check(guest_mem_overlaps(&mem, gpa, len ? len : 1));
		/* ASan reads the ends: inside the mapping, not past it. */
		if (len) {
			volatile uint8_t first = p[0], end = p[len - 1];

			(void)first;
			(void)end;
		}
	}
	if (!guest_mem_lookup(&mem, gpa, &p, &avail)) {
		check(avail && inside(p, avail));
		check(gpa_to_hva(&mem, gpa, avail) == p);
		check(!gpa_to_hva(&mem, gpa, avail + 1) || avail == UINT64_MAX);
	}
	n = dma_map_iov(&dma, gpa, len, fz_u8(in) & 1 ? DMA_READ : DMA_WRITE,
			iov, 8);
	if (n > 0) {
		uint64_t total = 0;

		for (int i = 0; i < n; i++) {
			check(inside(iov[i].iov_base, iov[i].iov_len));
			total += iov[i].iov_len;
		}
		check(total == len);
	}
	last_piece_end = 0;
	(void)guest_mem_for_each(&mem, gpa, dma_last_byte(gpa, len), piece,
				 &budget);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };

	if (!mem.base) {
		log_level = getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_QUIET;
		if (guest_mem_init_hotplug(&mem, RAM, AREA, false))
			abort();
		dma_space_init_identity(&dma, &mem);
	}
	/* Each input starts from boot: nothing plugged, no device RAM. */
	guest_mem_retract(&mem, guest_mem_plugged(&mem));
	if (dev_gpa)
		guest_mem_remove_device_ram(&mem, dev_gpa);
	dev_gpa = 0;

	while (!fz_done(&in)) {
		uint8_t op = fz_u8(&in);
		uint64_t gpa, hpa;
		uint8_t *hva;

		switch (op % 6) {
		case 0: /* plug: whole steps, as memhp's slots */
			hpa = (1 + fz_u8(&in) % 8) * STEP;
			if (!guest_mem_grow(&mem, hpa, &gpa, &hva)) {
				check(gpa == mem.hotplug.gpa +
						     guest_mem_plugged(&mem));
				check(hva == mem.hotplug.hva +
						     guest_mem_plugged(&mem));
				guest_mem_publish(&mem, hpa);
			}
			break;
		case 1: /* a failed plug taken back */
			hpa = guest_mem_plugged(&mem);
			if (hpa)
				guest_mem_retract(
					&mem,
					STEP * (1 + fz_u8(&in) % (hpa / STEP)));
			break;
		case 2: /* device RAM where the board would put it */
			if (!dev_gpa) {
				gpa = (mem.hotplug.gpa + AREA +
				       (uint64_t)fz_u8(&in) * STEP);
				if (!guest_mem_add_device_ram(&mem, gpa,
							      DEV_SIZE, dev))
					dev_gpa = gpa;
			}
			break;
		case 3:
			if (dev_gpa)
				guest_mem_remove_device_ram(&mem, dev_gpa);
			dev_gpa = 0;
			break;
		default:
			query(&in);
			break;
		}
	}
	return 0;
}
