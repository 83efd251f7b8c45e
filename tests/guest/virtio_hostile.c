// SPDX-License-Identifier: GPL-2.0
/*
 * Feeds a virtio-blk device one malformed ring after a correct setup and a
 * good read, then waits for DEVICE_NEEDS_RESET, resets the device, sets it
 * up again and shows that it works. `case=NAME` picks the malformation:
 *
 *   loop            a descriptor chain that loops (2 -> 1)
 *   oob             a data buffer at 0xFFFF0000000, outside guest RAM
 *   bigchain        an indirect table of max(2 * queue size, 2048) entries
 *   mixed_long      queue size - 1 direct descriptors, then an indirect
 *                   table of queue size entries: longer than the queue
 *   indirect_loop   an indirect table whose chain loops
 *   indirect_nested an INDIRECT descriptor inside an indirect table
 *   indirect_next   INDIRECT together with NEXT
 *   indirect_len    an indirect table 17 bytes long
 *   indirect_oob    an indirect table at 0xFFFF0000000
 *   wrongdir        a device-readable descriptor after a device-writable one
 *   biglen          a data buffer of length 0xFFFFFFFF
 *   headoob         an avail ring entry >= the queue size
 *   nextoob         a next index >= the queue size
 *   availidx        avail->idx moved by more than the queue size
 *   ring_oob        the descriptor table placed at 0xFFFF0000000
 *
 * Prints `NEEDS_RESET seen` and exits PASS when the device flagged it and
 * works again after the reset. `expect_reset=0`: a device that completes
 * the request or ignores it instead (QEMU does for some cases) still
 * passes, as long as it works after the reset.
 *
 * `dev=rng` runs the same cases against a virtio-rng device instead (the
 * ring checks are the transport's, not the device's): its requests are
 * the same chains, whose readable parts it ignores. `transport=pci|mmio`
 * as for every virtio guest.
 */
#include "blk.h"
#include "tsc.h"

#define BAD_ADDR 0xffff0000000ull
#define QSIZE 128
#define BIG_TABLE 2048

static uint8_t pool[1 << 20] __attribute__((aligned(4096)));
static struct vdev dev;
static struct vq vq_;
static bool is_rng;
static uint8_t data[4096] __attribute__((aligned(4096)));
static uint8_t extra[512] __attribute__((aligned(512)));
static struct vring_desc table[BIG_TABLE] __attribute__((aligned(16)));
static struct vring_desc table2[4] __attribute__((aligned(16)));
static struct virtio_blk_outhdr hdr __attribute__((aligned(16)));
static uint8_t status;

static void set(struct vring_desc *d, uint64_t addr, uint32_t len,
		uint16_t flags, uint16_t next)
{
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

static uint64_t pa(const void *p)
{
	return (uintptr_t)p;
}

/* Descriptors @d[0..2]: header, one data buffer, status; 0 -> 1 -> 2. */
static void simple_chain(struct vring_desc *d, uint16_t base, uint64_t daddr,
			 uint32_t dlen)
{
	set(&d[0], pa(&hdr), sizeof(hdr), VRING_DESC_F_NEXT,
	    (uint16_t)(base + 1));
	set(&d[1], daddr, dlen, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
	    (uint16_t)(base + 2));
	set(&d[2], pa(&status), 1, VRING_DESC_F_WRITE, 0);
}

/*
 * Builds the malformed request of @name in the ring and makes it
 * available. False for an unknown name.
 */
static bool build(const char *name)
{
	struct vq *vq = &vq_;
	struct vring_desc *d = vq->desc;
	uint16_t n = vq->size, i;

	hdr.type = VIRTIO_BLK_T_IN;
	hdr.ioprio = 0;
	hdr.sector = 0;
	status = 0xff;
	if (!strcmp(name, "loop")) {
		/* 2 -> 1: the directions stay in order, only the loop is wrong */
		simple_chain(d, 0, pa(data), 512);
		d[2].flags |= VRING_DESC_F_NEXT;
		d[2].next = 1;
	} else if (!strcmp(name, "oob")) {
		simple_chain(d, 0, BAD_ADDR, 512);
	} else if (!strcmp(name, "biglen")) {
		simple_chain(d, 0, pa(data), 0xffffffffu);
	} else if (!strcmp(name, "nextoob")) {
		simple_chain(d, 0, pa(data), 512);
		d[1].next = (uint16_t)(n + 3);
	} else if (!strcmp(name, "wrongdir")) {
		simple_chain(d, 0, pa(data), 512);
		/* header R, data W, extra R, status W */
		d[1].next = 3;
		set(&d[3], pa(extra), sizeof(extra), VRING_DESC_F_NEXT, 2);
	} else if (!strcmp(name, "headoob")) {
		simple_chain(d, 0, pa(data), 512);
		vq_publish(vq, (uint16_t)(n + 5));
		return true;
	} else if (!strcmp(name, "availidx")) {
		simple_chain(d, 0, pa(data), 512);
		for (i = 0; i < n; i++)
			vq->avail->ring[i] = 0;
		vq->avail_idx = (uint16_t)(vq->avail_idx + n + 10);
		*(volatile uint16_t *)&vq->avail->idx = vq->avail_idx;
		return true;
	} else if (!strcmp(name, "bigchain")) {
		unsigned int t = 2u * n > BIG_TABLE ? 2u * n : BIG_TABLE;

		if (t > BIG_TABLE)
			t = BIG_TABLE;
		set(&table[0], pa(&hdr), sizeof(hdr), VRING_DESC_F_NEXT, 1);
		for (i = 1; i < t - 1; i++)
			set(&table[i], pa(data), 512,
			    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
			    (uint16_t)(i + 1));
		set(&table[t - 1], pa(&status), 1, VRING_DESC_F_WRITE, 0);
		set(&d[0], pa(table), t * 16u, VRING_DESC_F_INDIRECT, 0);
	} else if (!strcmp(name, "mixed_long")) {
		/* header, n - 2 data buffers, then a table: data..., status */
		set(&d[0], pa(&hdr), sizeof(hdr), VRING_DESC_F_NEXT, 1);
		for (i = 1; i < n - 1; i++)
			set(&d[i], pa(data), 512,
			    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
			    (uint16_t)(i + 1));
		for (i = 0; i < n - 1; i++)
			set(&table[i], pa(data), 512,
			    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
			    (uint16_t)(i + 1));
		set(&table[n - 1], pa(&status), 1, VRING_DESC_F_WRITE, 0);
		set(&d[n - 1], pa(table), n * 16u, VRING_DESC_F_INDIRECT, 0);
	} else if (!strcmp(name, "indirect_loop")) {
		simple_chain(table, 0, pa(data), 512);
		table[2].flags |= VRING_DESC_F_NEXT;
		table[2].next = 1;
		set(&d[0], pa(table), 3 * 16, VRING_DESC_F_INDIRECT, 0);
	} else if (!strcmp(name, "indirect_nested")) {
		simple_chain(table2, 0, pa(data), 512);
		set(&table[0], pa(table2), 3 * 16, VRING_DESC_F_INDIRECT, 0);
		set(&d[0], pa(table), 16, VRING_DESC_F_INDIRECT, 0);
	} else if (!strcmp(name, "indirect_next")) {
		simple_chain(table, 0, pa(data), 512);
		set(&d[0], pa(table), 3 * 16,
		    VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
		set(&d[1], pa(extra), sizeof(extra), VRING_DESC_F_WRITE, 0);
	} else if (!strcmp(name, "indirect_len")) {
		simple_chain(table, 0, pa(data), 512);
		set(&d[0], pa(table), 17, VRING_DESC_F_INDIRECT, 0);
	} else if (!strcmp(name, "indirect_oob")) {
		set(&d[0], BAD_ADDR, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	} else {
		return false;
	}
	vq_publish(vq, 0);
	return true;
}

static bool needs_indirect(const char *name)
{
	return !strncmp(name, "indirect", 8) || !strcmp(name, "bigchain") ||
	       !strcmp(name, "mixed_long");
}

/*
 * The init sequence: find and set up the device the first time, redo it
 * on the same ring memory afterwards. @desc: the descriptor table address
 * to program (0: the real one).
 */
static bool init(bool first, uint64_t desc)
{
	uint64_t want = VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	struct vring_desc *good = vq_.desc;
	bool ok;

	if (first) {
		if (!virtio_find(&dev,
				 is_rng ? VIRTIO_ID_RNG : VIRTIO_ID_BLOCK) ||
		    !vdev_negotiate(&dev, want, 0) ||
		    !vq_setup(&vq_, &dev, 0, QSIZE))
			return false;
		printf("virtio_hostile: %s, offered %#lx, negotiated %#lx, queue size %u\n",
		       is_rng ? "virtio-rng" : "virtio-blk",
		       (unsigned long)dev.offered, (unsigned long)dev.features,
		       vq_.size);
	} else {
		if (!vdev_negotiate(&dev, want, 0))
			return false;
		vq_.event_idx = false;
		vq_init_state(&vq_);
		if (desc)
			vq_.desc = (struct vring_desc *)(uintptr_t)desc;
		ok = vq_program(&vq_);
		vq_.desc = good;
		if (!ok)
			return false;
	}
	if (desc)
		return true; /* the caller sets DRIVER_OK */
	return vdev_driver_ok(&dev);
}

/* One well-formed request, polled to completion. */
static bool good_request(void)
{
	struct vbuf blk[3] = {
		{ &hdr, sizeof(hdr), false },
		{ data, 512, true },
		{ &status, 1, true },
	};
	struct vbuf rng[1] = { { data, 64, true } };
	uint64_t deadline;
	uint32_t len = 0;
	void *tok;

	hdr.type = VIRTIO_BLK_T_IN;
	hdr.ioprio = 0;
	hdr.sector = 0;
	status = 0xff;
	if (is_rng ? vq_add(&vq_, rng, 1, data) < 0 :
		     vq_add(&vq_, blk, 3, data) < 0) {
		puts("virtio_hostile: cannot queue a request");
		return false;
	}
	vq_kick(&vq_);
	deadline = tsc_deadline_ms(10000);
	while (!(tok = vq_get(&vq_, &len))) {
		if (tsc_passed(deadline)) {
			printf("virtio_hostile: no completion (device status %#x)\n",
			       vdev_status(&dev));
			return false;
		}
		cpu_relax();
	}
	if (is_rng ? len == 0 || len > 64 : status != VIRTIO_BLK_S_OK) {
		printf("virtio_hostile: request failed: used len %u, status %#x\n",
		       len, status);
		return false;
	}
	return true;
}

int guest_main(void)
{
	char name[24], v[8];
	uint64_t deadline;
	bool expect = true, seen = false, completed = false;
	uint8_t s = 0;

	if (cmdline_arg("case", name, sizeof(name)) < 0) {
		puts("virtio_hostile: need case=NAME");
		return GUEST_FAIL;
	}
	if (cmdline_arg("expect_reset", v, sizeof(v)) >= 0 && !strcmp(v, "0"))
		expect = false;
	is_rng = cmdline_arg("dev", v, sizeof(v)) >= 0 && !strcmp(v, "rng");
	dma_pool_init(pool, sizeof(pool));
	if (!init(true, 0))
		return GUEST_FAIL;
	if (needs_indirect(name) && !vdev_has(&dev, VIRTIO_F_INDIRECT_DESC)) {
		printf("virtio_hostile: %s needs VIRTIO_F_INDIRECT_DESC, not offered\n",
		       name);
		return GUEST_FAIL;
	}
	if (!good_request())
		return GUEST_FAIL;
	puts("virtio_hostile: device works");

	if (!strcmp(name, "ring_oob")) {
		/* The malformation is in the queue setup itself. */
		if (!init(false, BAD_ADDR))
			return GUEST_FAIL;
		vdev_set_status(&dev, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER |
					      VIRTIO_S_FEATURES_OK |
					      VIRTIO_S_DRIVER_OK);
		simple_chain(table, 0, pa(data), 512); /* not where it looks */
		vq_publish(&vq_, 0);
	} else {
		/* Start from a clean ring: avail/used at 0, no requests. */
		if (!init(false, 0))
			return GUEST_FAIL;
		if (!build(name)) {
			printf("virtio_hostile: unknown case '%s'\n", name);
			return GUEST_FAIL;
		}
	}
	printf("virtio_hostile: case %s posted, kicking\n", name);
	vq_notify(&vq_);

	deadline = tsc_deadline_ms(5000);
	while (!tsc_passed(deadline)) {
		s = vdev_status(&dev);
		if (s & VIRTIO_S_NEEDS_RESET) {
			seen = true;
			break;
		}
		if (vq_used_idx(&vq_) != vq_.last_used)
			completed = true;
		cpu_relax();
	}
	if (seen) {
		printf("NEEDS_RESET seen (status %#x)\n", s);
	} else {
		printf("virtio_hostile: no NEEDS_RESET after 5 s (status %#x); the device %s the request (status byte %#x)\n",
		       s, completed ? "completed" : "did not complete", status);
	}

	/* Reset, set up again, and one good request. */
	if (!init(false, 0))
		return GUEST_FAIL;
	memset(data, 0xee, 512);
	if (!good_request())
		return GUEST_FAIL;
	puts("virtio_hostile: device works again after the reset");
	if (!seen && expect)
		return GUEST_FAIL;
	return GUEST_PASS;
}
