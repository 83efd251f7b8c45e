// SPDX-License-Identifier: GPL-2.0
/*
 * Polled virtio-blk benchmark: 4 KiB random reads at queue depth 1 and 32
 * (depth = requests kept in flight, refilled as they complete) and 1 MiB
 * sequential reads, each for `seconds=N` (default 3). Prints
 *
 *   RESULT <name> <value> <unit>
 *
 * lines for bench/. Time is rdtsc against `tsc_khz=` or CPUID, else an
 * RTC calibration. VIRTIO_F_EVENT_IDX is used when offered (`event_idx=0`
 * turns it off), so the device is only kicked when it asked to be; the
 * kicks per 1000 requests are reported too.
 *
 * Other options: transport=pci|mmio, depth=N (the high depth, default 32),
 * seq_depth=N (default 4), tests=qd1,qdN,seq (a subset), viommu=1 (the
 * disk behind devisor's --iommu virtio: the guest attaches it to a
 * domain that maps guest memory one to one, so every access the device
 * makes is looked up in the domain's map; no map or unmap per request).
 */
#include "bench.h"
#include "blk.h"
#include "tsc.h"

#define MAX_DEPTH 64
#define SMALL BENCH_SMALL
#define BIG BENCH_BIG
#define MAX_SEQ_DEPTH 4

static uint8_t pool[1 << 20] __attribute__((aligned(4096)));
static uint8_t small_bufs[MAX_DEPTH][SMALL] __attribute__((aligned(4096)));
static uint8_t big_bufs[MAX_SEQ_DEPTH][BIG] __attribute__((aligned(4096)));

static struct blk b;

#define VIRTIO_ID_IOMMU 23
#define VIOMMU_F_MAP_UNMAP 2

/* One virtio-iommu request, polled: its status (0 OK), or -1. */
static int viommu_req(struct vq *vq, const void *req, uint32_t len)
{
	uint8_t *tail = dma_alloc(4, 4);
	struct vbuf v[2] = { { req, len, false }, { tail, 4, true } };
	uint64_t deadline = tsc_deadline_ms(5000);
	uint32_t got;

	tail[0] = 0xff;
	if (vq_add(vq, v, 2, (void *)req) < 0)
		return -1;
	vq_notify(vq);
	while (!vq_get(vq, &got)) {
		if (rdtsc() > deadline)
			return -1;
		cpu_relax();
	}
	return tail[0];
}

/*
 * Endpoint @bdf attached to domain 1, which maps [0, 3 GiB) to itself:
 * the device then reaches guest memory only through the domain's map.
 */
static bool viommu_identity(uint16_t bdf)
{
	static struct vdev d;
	static struct vq q;
	struct {
		uint8_t type, reserved[3];
		uint32_t domain, endpoint, flags;
		uint8_t reserved2[4];
	} __attribute__((packed)) *a = dma_alloc(sizeof(*a), 8);
	struct {
		uint8_t type, reserved[3];
		uint32_t domain;
		uint64_t virt_start, virt_end, phys_start;
		uint32_t flags;
	} __attribute__((packed)) *m = dma_alloc(sizeof(*m), 8);
	int st;

	if (!virtio_find_pci(&d, VIRTIO_ID_IOMMU)) {
		puts("blk_bench: viommu=1 but no virtio-iommu function");
		return false;
	}
	if (!vdev_negotiate(&d, 0, VIRTIO_BIT(VIOMMU_F_MAP_UNMAP)) ||
	    !vq_setup(&q, &d, 0, 16) || !vdev_driver_ok(&d))
		return false;
	memset(a, 0, sizeof(*a));
	a->type = 1; /* ATTACH */
	a->domain = 1;
	a->endpoint = bdf;
	st = viommu_req(&q, a, sizeof(*a));
	if (st) {
		printf("blk_bench: virtio-iommu ATTACH: status %d\n", st);
		return false;
	}
	memset(m, 0, sizeof(*m));
	m->type = 3; /* MAP */
	m->domain = 1;
	m->virt_end = 0xbfffffffull;
	m->flags = 3; /* READ | WRITE */
	st = viommu_req(&q, m, sizeof(*m));
	if (st) {
		printf("blk_bench: virtio-iommu MAP: status %d\n", st);
		return false;
	}
	printf("blk_bench: disk %02x:%02x.%x behind virtio-iommu, domain 1 "
	       "maps [0, 3 GiB) one to one\n",
	       bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7);
	return true;
}

static uint64_t next_sector(uint32_t len, bool random)
{
	return bench_next_sector(b.capacity, len, random);
}

/* Keeps @depth reads of @len in flight for @secs seconds. */
static bool run(unsigned int depth, uint32_t len, bool random,
		unsigned long secs, struct bench_result *res)
{
	uint64_t submitted_at[MAX_DEPTH];
	uint64_t start, end, now, kicks0 = b.vq.kicks;
	unsigned int i, inflight = 0;

	memset(res, 0, sizeof(*res));
	start = rdtsc();
	end = start + secs * 1000 * tsc_khz();
	for (i = 0; i < depth; i++) {
		void *buf = len == SMALL ? small_bufs[i] : big_bufs[i];
		struct blk_req *r = blk_submit(&b, VIRTIO_BLK_T_IN,
					       next_sector(len, random), buf,
					       len, buf);

		if (!r) {
			printf("blk_bench: cannot queue %u requests of %u bytes\n",
			       depth, len);
			return false;
		}
		submitted_at[r - b.reqs] = rdtsc();
		inflight++;
	}
	vq_kick(&b.vq);
	while (inflight) {
		struct blk_req *r = blk_poll(&b);
		bool refilled = false;

		if (!r) {
			cpu_relax();
			continue;
		}
		do {
			now = rdtsc();
			inflight--;
			if (r->status != VIRTIO_BLK_S_OK) {
				printf("blk_bench: read failed: %s\n",
				       blk_status_str(r->status));
				return false;
			}
			res->reqs++;
			res->bytes += len;
			res->lat_ticks += now - submitted_at[r - b.reqs];
			if (now < end) {
				void *buf = r->priv;
				struct blk_req *n =
					blk_submit(&b, VIRTIO_BLK_T_IN,
						   next_sector(len, random),
						   buf, len, buf);

				if (!n) {
					puts("blk_bench: resubmit failed");
					return false;
				}
				submitted_at[n - b.reqs] = now;
				inflight++;
				refilled = true;
			}
		} while ((r = blk_poll(&b)));
		if (refilled)
			vq_kick(&b.vq);
	}
	res->ticks = rdtsc() - start;
	res->notifies = b.vq.kicks - kicks0;
	if (vdev_status(&b.dev) & VIRTIO_S_NEEDS_RESET) {
		puts("blk_bench: device needs a reset");
		return false;
	}
	return true;
}

int guest_main(void)
{
	uint64_t want = VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) |
			VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX);
	static const struct bench bench = { .name = "blk_bench",
					    .notifies = "kicks",
					    .run = run };
	unsigned long secs = bench_arg("seconds", 3, ~0ul);
	unsigned long depth = bench_arg("depth", 32, MAX_DEPTH);
	unsigned long seq_depth = bench_arg("seq_depth", 4, MAX_SEQ_DEPTH);
	char buf[48];

	if (cmdline_arg("event_idx", buf, sizeof(buf)) >= 0 &&
	    !strcmp(buf, "0"))
		want &= ~VIRTIO_BIT(VIRTIO_F_EVENT_IDX);

	dma_pool_init(pool, sizeof(pool));
	if (bench_arg("viommu", 0, 1)) {
		struct vdev d;

		/* Before the disk's queue is enabled: it is checked then. */
		if (!virtio_find_pci(&d, VIRTIO_ID_BLOCK) ||
		    !viommu_identity(d.bdf))
			return GUEST_FAIL;
		want |= VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM);
	}
	if (!blk_open(&b, want, 256, MAX_DEPTH))
		return GUEST_FAIL;
	if (b.capacity < 2 * BIG / SECTOR_SIZE) {
		printf("blk_bench: disk of %lu sectors is too small\n",
		       (unsigned long)b.capacity);
		return GUEST_FAIL;
	}
	if (3 * depth > b.vq.size) {
		depth = b.vq.size / 3;
		printf("blk_bench: queue size %u: depth limited to %lu\n",
		       b.vq.size, depth);
	}
	printf("RESULT tsc_khz %lu kHz\n", (unsigned long)tsc_khz());
	printf("RESULT event_idx %d bool\n",
	       vdev_has(&b.dev, VIRTIO_F_EVENT_IDX));

	if (!bench_tests(&bench, secs, depth, seq_depth))
		return GUEST_FAIL;
	printf("blk_bench: kicks %lu, skipped %lu, completions %lu\n",
	       b.vq.kicks, b.vq.kicks_skipped, b.vq.completions);
	return GUEST_PASS;
}
