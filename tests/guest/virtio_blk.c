// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk over modern virtio-pci or virtio-mmio (`transport=pci|mmio`),
 * with the polled kit driver: writes a pattern to sectors 100..163, 0 and
 * the last one, FLUSHes, reads them back and compares; GET_ID; then checks
 * that a read past the capacity fails with IOERR.
 *
 * Command line:
 *   pattern=N      seed of the pattern (default 1); each 16-byte line of
 *                  sector S is printf("%04x%09lx%02x\n", N & 0xffff, S, line)
 *                  so the host can regenerate it with the shell's printf
 *   check_after=1  write and flush only, then PASS: the host checks the image
 *   verify=1       no writes: read sectors 100..163 and compare them with the
 *                  pattern (put there by the host)
 *   ro=1           the disk must be read-only: RO offered, a write is IOERR
 *   id=STR         GET_ID must return STR
 *   event_idx=1    negotiate VIRTIO_F_EVENT_IDX if offered
 */
#include "blk.h"
#include "tsc.h"

#define RUN_SECTOR 100
#define RUN_SECTORS 64
#define LINES_PER_SECTOR (SECTOR_SIZE / 16)

static uint8_t pool[1 << 20] __attribute__((aligned(4096)));
static uint8_t wbuf[RUN_SECTORS * SECTOR_SIZE] __attribute__((aligned(4096)));
static uint8_t rbuf[RUN_SECTORS * SECTOR_SIZE] __attribute__((aligned(4096)));

static unsigned int seed = 1;

static void fill_sector(uint8_t *p, uint64_t s)
{
	char line[20];
	unsigned int k;

	for (k = 0; k < LINES_PER_SECTOR; k++) {
		snprintf(line, sizeof(line), "%04x%09lx%02x\n", seed & 0xffff,
			 (unsigned long)(s & 0xfffffffffull), k);
		memcpy(p + 16 * k, line, 16);
	}
}

static bool arg_on(const char *key)
{
	char v[8];

	return cmdline_arg(key, v, sizeof(v)) >= 0 && strcmp(v, "0");
}

static bool compare(const uint8_t *got, uint64_t sector, unsigned int n)
{
	uint8_t want[SECTOR_SIZE];
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		fill_sector(want, sector + i);
		if (memcmp(got + i * SECTOR_SIZE, want, SECTOR_SIZE)) {
			for (j = 0; j < SECTOR_SIZE; j++)
				if (got[i * SECTOR_SIZE + j] != want[j])
					break;
			printf("virtio-blk: sector %lu differs at byte %u: got %#x want %#x\n",
			       (unsigned long)(sector + i), j,
			       got[i * SECTOR_SIZE + j], want[j]);
			return false;
		}
	}
	return true;
}

static bool do_io(struct blk *b, uint32_t type, uint64_t sector, void *buf,
		  uint32_t len, int want)
{
	int s = blk_rw(b, type, sector, buf, len);

	if (s != want) {
		printf("virtio-blk: %s sector %lu, %u bytes: status %s (%d), want %s\n",
		       type == VIRTIO_BLK_T_IN	   ? "read" :
		       type == VIRTIO_BLK_T_OUT	   ? "write" :
		       type == VIRTIO_BLK_T_FLUSH  ? "flush" :
		       type == VIRTIO_BLK_T_GET_ID ? "get-id" :
						     "request",
		       (unsigned long)sector, len, blk_status_str(s), s,
		       blk_status_str(want));
		return false;
	}
	return true;
}

/* Reads the run back as 4 KiB requests, all in flight at once. */
static bool read_run_parallel(struct blk *b)
{
	unsigned int i, n = RUN_SECTORS * SECTOR_SIZE / 4096, done = 0;
	uint64_t deadline;

	memset(rbuf, 0, sizeof(rbuf));
	for (i = 0; i < n; i++) {
		if (!blk_submit(b, VIRTIO_BLK_T_IN, RUN_SECTOR + i * 8,
				rbuf + i * 4096, 4096, NULL)) {
			printf("virtio-blk: cannot queue %u requests\n", n);
			return false;
		}
	}
	vq_kick(&b->vq);
	deadline = tsc_deadline_ms(30000);
	while (done < n) {
		struct blk_req *r = blk_poll(b);

		if (!r) {
			if (tsc_passed(deadline)) {
				printf("virtio-blk: %u of %u reads completed\n",
				       done, n);
				return false;
			}
			cpu_relax();
			continue;
		}
		if (r->status != VIRTIO_BLK_S_OK) {
			printf("virtio-blk: parallel read: status %s\n",
			       blk_status_str(r->status));
			return false;
		}
		if (r->len != 4096 + 1)
			printf("virtio-blk: note: used len %u for a 4096-byte read\n",
			       r->len);
		done++;
	}
	return compare(rbuf, RUN_SECTOR, RUN_SECTORS);
}

int guest_main(void)
{
	static struct blk b;
	uint8_t sec[SECTOR_SIZE] __attribute__((aligned(16)));
	char id[VIRTIO_BLK_ID_BYTES + 1], want_id[VIRTIO_BLK_ID_BYTES + 1];
	uint64_t want = VIRTIO_BIT(VIRTIO_BLK_F_RO) |
			VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
			VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) |
			VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX);
	bool ro = arg_on("ro"), check_after = arg_on("check_after"),
	     verify = arg_on("verify");
	unsigned long v;
	char buf[24];
	unsigned int i, moved = 0;
	uint64_t last;
	int s;

	if (cmdline_arg("pattern", buf, sizeof(buf)) >= 0) {
		if (!parse_ulong(buf, &v)) {
			printf("virtio-blk: bad pattern=%s\n", buf);
			return GUEST_FAIL;
		}
		seed = (unsigned int)v;
	}
	if (arg_on("event_idx"))
		want |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	dma_pool_init(pool, sizeof(pool));
	if (!blk_open(&b, want, 128, 16))
		return GUEST_FAIL;
	last = b.capacity - 1;
	if (b.capacity < RUN_SECTOR + RUN_SECTORS + 1) {
		printf("virtio-blk: capacity %lu too small\n",
		       (unsigned long)b.capacity);
		return GUEST_FAIL;
	}
	if (ro != b.ro) {
		printf("virtio-blk: ro=%d on the command line, device %s VIRTIO_BLK_F_RO\n",
		       ro, b.ro ? "offers" : "does not offer");
		return GUEST_FAIL;
	}

	if (ro || verify) {
		memset(rbuf, 0, sizeof(rbuf));
		if (!do_io(&b, VIRTIO_BLK_T_IN, RUN_SECTOR, rbuf,
			   RUN_SECTORS * SECTOR_SIZE, VIRTIO_BLK_S_OK))
			return GUEST_FAIL;
		if (verify && !compare(rbuf, RUN_SECTOR, RUN_SECTORS))
			return GUEST_FAIL;
		moved += RUN_SECTORS;
		if (verify)
			puts("virtio-blk: pattern verified");
	}
	if (ro) {
		/* A write must fail and leave the data alone. */
		fill_sector(sec, RUN_SECTOR);
		for (i = 0; i < SECTOR_SIZE; i++)
			sec[i] ^= 0x5a;
		if (!do_io(&b, VIRTIO_BLK_T_OUT, RUN_SECTOR, sec, SECTOR_SIZE,
			   VIRTIO_BLK_S_IOERR))
			return GUEST_FAIL;
		if (!do_io(&b, VIRTIO_BLK_T_IN, RUN_SECTOR, wbuf, SECTOR_SIZE,
			   VIRTIO_BLK_S_OK))
			return GUEST_FAIL;
		if (memcmp(wbuf, rbuf, SECTOR_SIZE)) {
			puts("virtio-blk: a rejected write changed the disk");
			return GUEST_FAIL;
		}
		puts("virtio-blk: write to read-only disk: IOERR");
	} else if (!verify) {
		for (i = 0; i < RUN_SECTORS; i++)
			fill_sector(wbuf + i * SECTOR_SIZE, RUN_SECTOR + i);
		if (!do_io(&b, VIRTIO_BLK_T_OUT, RUN_SECTOR, wbuf,
			   RUN_SECTORS * SECTOR_SIZE, VIRTIO_BLK_S_OK))
			return GUEST_FAIL;
		fill_sector(sec, 0);
		if (!do_io(&b, VIRTIO_BLK_T_OUT, 0, sec, SECTOR_SIZE,
			   VIRTIO_BLK_S_OK))
			return GUEST_FAIL;
		fill_sector(sec, last);
		if (!do_io(&b, VIRTIO_BLK_T_OUT, last, sec, SECTOR_SIZE,
			   VIRTIO_BLK_S_OK))
			return GUEST_FAIL;
		moved = RUN_SECTORS + 2;
		if (vdev_has(&b.dev, VIRTIO_BLK_F_FLUSH)) {
			if (!do_io(&b, VIRTIO_BLK_T_FLUSH, 0, NULL, 0,
				   VIRTIO_BLK_S_OK))
				return GUEST_FAIL;
			puts("virtio-blk: flush OK");
		} else {
			puts("virtio-blk: no VIRTIO_BLK_F_FLUSH: not flushing");
		}
		if (check_after) {
			printf("virtio-blk: capacity %lu sectors, wrote %u sectors (pattern %u), host checks\n",
			       (unsigned long)b.capacity, moved, seed);
			return GUEST_PASS;
		}

		/* Read back: the run in one request, then in parallel. */
		memset(rbuf, 0, sizeof(rbuf));
		if (!do_io(&b, VIRTIO_BLK_T_IN, RUN_SECTOR, rbuf,
			   RUN_SECTORS * SECTOR_SIZE, VIRTIO_BLK_S_OK) ||
		    !compare(rbuf, RUN_SECTOR, RUN_SECTORS))
			return GUEST_FAIL;
		if (!read_run_parallel(&b))
			return GUEST_FAIL;
		memset(sec, 0, sizeof(sec));
		if (!do_io(&b, VIRTIO_BLK_T_IN, 0, sec, SECTOR_SIZE,
			   VIRTIO_BLK_S_OK) ||
		    !compare(sec, 0, 1))
			return GUEST_FAIL;
		memset(sec, 0, sizeof(sec));
		if (!do_io(&b, VIRTIO_BLK_T_IN, last, sec, SECTOR_SIZE,
			   VIRTIO_BLK_S_OK) ||
		    !compare(sec, last, 1))
			return GUEST_FAIL;
	}

	/* GET_ID: 20 bytes, NUL-padded unless the ID is 20 long. */
	memset(id, 0, sizeof(id));
	s = blk_rw(&b, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES);
	printf("virtio-blk: GET_ID: %s '%s'\n", blk_status_str(s),
	       s == VIRTIO_BLK_S_OK ? id : "");
	if (cmdline_arg("id", want_id, sizeof(want_id)) >= 0 &&
	    (s != VIRTIO_BLK_S_OK || strcmp(id, want_id))) {
		printf("virtio-blk: want id '%s'\n", want_id);
		return GUEST_FAIL;
	}
	if (s != VIRTIO_BLK_S_OK && s != VIRTIO_BLK_S_UNSUPP)
		return GUEST_FAIL;

	/* Past the end: wholly, and straddling it. */
	if (!do_io(&b, VIRTIO_BLK_T_IN, b.capacity, sec, SECTOR_SIZE,
		   VIRTIO_BLK_S_IOERR) ||
	    !do_io(&b, VIRTIO_BLK_T_IN, last, rbuf, 2 * SECTOR_SIZE,
		   VIRTIO_BLK_S_IOERR))
		return GUEST_FAIL;
	puts("virtio-blk: reads past the capacity: IOERR");
	if (!ro && !do_io(&b, VIRTIO_BLK_T_OUT, b.capacity, sec, SECTOR_SIZE,
			  VIRTIO_BLK_S_IOERR))
		return GUEST_FAIL;

	if (vdev_status(&b.dev) & VIRTIO_S_NEEDS_RESET) {
		puts("virtio-blk: device wants a reset");
		return GUEST_FAIL;
	}
	printf("virtio-blk: kicks %lu, skipped %lu, completions %lu\n",
	       b.vq.kicks, b.vq.kicks_skipped, b.vq.completions);
	printf("virtio-blk: capacity %lu sectors, wrote/read %u sectors OK\n",
	       (unsigned long)b.capacity, moved);
	return GUEST_PASS;
}
