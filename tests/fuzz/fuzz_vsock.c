// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock's packet state machine (virtio/vsock.c) behind virtio-mmio,
 * with UNIX sockets in a temporary directory behind it. Each input starts
 * from a machine reset with the driver up (three split queues of 16 at
 * fixed addresses), then is a register sequence (fz_run_io) whose hook
 * ops transmit a packet the input describes (header, payload length,
 * descriptor split, flags), post receive or event buffers, write guest
 * memory, run a queue's handler here under the device lock, and act as
 * the host: connect to the socket and write (handshakes), write to or
 * close an accepted stream, accept guest connections on PATH_1000.
 */
#include <fcntl.h>
#include <signal.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bus/bus.h"
#include "bus/device.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/evloop.h"
#include "virtio/mmio.h"
#include "virtio/queue.h"
#include "virtio/virtio.h"
#include "virtio/vsock.h"

#include "fuzz.h"

#define RAM (1ull << 20)
#define BASE 0xd0000000ull
#define QSIZE 16
#define CID 3
#define HDR 44
#define DESC(q) (0x1000ull + (q)*0x1000ull)
#define AVAIL(q) (DESC(q) + 0x400)
#define USED(q) (DESC(q) + 0x800)
#define BUF 0x10000ull /* buffers from here to the end of RAM */
#define NHOST 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;
static struct evloop *loop;
static struct virtio_dev *vdev;
static char dir[64], path[96];
static int lfd = -1; /* PATH_1000 */
static int hfd[NHOST];
static uint16_t avail_idx[3], next_desc[3];
static const struct fz_window w[1] = { { true, BASE, 0x200 } };

static void wr(uint64_t off, uint32_t v)
{
	uint8_t b[4];

	put_le(b, v, 4);
	bus_write(&vm.mmio, BASE + off, b, 4);
}

static void *hva(uint64_t gpa, uint64_t len)
{
	return gpa_to_hva(&vm.mem, gpa, len);
}

/* libFuzzer exits without tearing down: remove our sockets and folder. */
static void cleanup(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s_1000", path);
	unlink(p);
	unlink(path);
	rmdir(dir);
}

static void build(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char p[128];

	/* Our host ends write to sockets the device may have closed. */
	signal(SIGPIPE, SIG_IGN);
	fz_vm_init(&vm, RAM);
	loop = evloop_create("fuzz-io");
	strcpy(dir, "/tmp/devisor-fuzz-vsock-XXXXXX");
	if (!loop || !mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/v", dir);
	atexit(cleanup);
	vdev = virtio_vsock_create(&vm, CID, path, loop);
	if (!vdev || !virtio_mmio_create(&vm, BASE, 5, vdev, loop))
		abort();
	snprintf(p, sizeof(p), "%s_1000", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 64))
		abort();
	for (int i = 0; i < NHOST; i++)
		hfd[i] = -1;
}

static void bring_up(void)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, 3);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	wr(VIRTIO_MMIO_STATUS, 11);
	for (unsigned int q = 0; q < 3; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC(q));
		wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)AVAIL(q));
		wr(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)USED(q));
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(VIRTIO_MMIO_STATUS, 15);
	memset(avail_idx, 0, sizeof(avail_idx));
	memset(next_desc, 0, sizeof(next_desc));
}

static void run_queue(unsigned int q)
{
	virtio_dev_lock(vdev);
	if (virtio_dev_running(vdev) && vdev->vqs[q].ready)
		vdev->ops->queue_notify(vdev, q);
	virtio_dev_unlock(vdev);
}

/* Descriptor @i of queue @q, and publish @head when @head >= 0. */
static void desc(unsigned int q, uint16_t i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	uint8_t *d = hva(DESC(q) + 16 * (i % QSIZE), 16);

	put_le(d, addr, 8);
	put_le(d + 8, len, 4);
	put_le(d + 12, flags, 2);
	put_le(d + 14, next % QSIZE, 2);
}

static void publish(unsigned int q, uint16_t head)
{
	uint8_t *ring = hva(AVAIL(q), 4 + 2 * QSIZE);

	put_le(ring + 4 + 2 * (avail_idx[q] % QSIZE), head % QSIZE, 2);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	avail_idx[q]++;
	put_le(ring + 2, avail_idx[q], 2);
}

/* A packet the input describes, in 1 to 3 descriptors. */
static void tx_packet(struct fz *in, uint8_t op)
{
	uint8_t h[HDR];
	uint32_t paylen = fz_u16(in) % 4096, total;
	unsigned int nd = 1 + (op >> 3) % 3;
	uint8_t flags_x = fz_u8(in);
	uint64_t addr = BUF + (uint64_t)(fz_u8(in) % 64) * 0x2000;
	uint16_t d0 = next_desc[1];
	uint32_t off = 0;

	fz_bytes(in, h, HDR);
	/* Mostly well-addressed, so the fuzzer reaches the state machine. */
	if (!(op & 0x80)) {
		put_le(h, CID, 8);
		put_le(h + 8, VSOCK_HOST_CID, 8);
		put_le(h + 28, 1, 2);
		put_le(h + 24, paylen, 4);
		put_le(h + 30, 1 + get_le(h + 30, 2) % 7, 2);
		put_le(h + 20, 1000 + get_le(h + 20, 4) % 2, 4);
	}
	total = HDR + paylen;
	memcpy(hva(addr, HDR), h, HDR);
	fz_bytes(in, hva(addr + HDR, paylen), paylen);
	for (unsigned int i = 0; i < nd; i++) {
		uint32_t len = i + 1 == nd ? total - off : total / nd;
		uint16_t fl = i + 1 < nd ? VIRTQ_DESC_F_NEXT : 0;

		if (flags_x & (1u << i))
			fl ^= VIRTQ_DESC_F_WRITE;
		desc(1, (uint16_t)(d0 + i), addr + off, len, fl,
		     (uint16_t)(d0 + i + 1));
		off += len;
	}
	next_desc[1] = (uint16_t)((d0 + nd) % QSIZE);
	publish(1, d0);
	run_queue(1);
}

/* A receive (q 0) or event (q 2) buffer of the input's length. */
static void post(unsigned int q, struct fz *in)
{
	uint16_t d = next_desc[q];
	uint32_t len = fz_u16(in) % 8192;

	desc(q, d, BUF + 0x80000 + (uint64_t)(q * QSIZE + d) * 0x2000, len,
	     VIRTQ_DESC_F_WRITE, 0);
	next_desc[q] = (uint16_t)((d + 1) % QSIZE);
	publish(q, d);
	run_queue(q);
}

static void host(struct fz *in, uint8_t op)
{
	int i = (op >> 3) % NHOST;
	char buf[64];
	size_t n;

	switch ((op >> 6) & 3) {
	case 0: { /* connect and write a handshake (or not) */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (hfd[i] >= 0)
			close(hfd[i]);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		hfd[i] = socket(AF_UNIX,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (hfd[i] >= 0 &&
		    connect(hfd[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(hfd[i]);
			hfd[i] = -1;
		}
		if (hfd[i] < 0)
			break;
		if (fz_u8(in) & 1) {
			snprintf(buf, sizeof(buf), "CONNECT %u\n",
				 1000 + fz_u8(in) % 4);
			n = strlen(buf);
		} else {
			n = fz_bytes(in, buf, fz_u8(in) % sizeof(buf));
		}
		(void)!write(hfd[i], buf, n);
		break;
	}
	case 1: /* accept a guest connection */
		if (hfd[i] >= 0)
			close(hfd[i]);
		hfd[i] = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		break;
	case 2: /* data from the host */
		n = fz_bytes(in, buf, fz_u8(in) % sizeof(buf));
		if (hfd[i] >= 0)
			(void)!write(hfd[i], buf, n);
		break;
	default: /* the host goes away */
		if (hfd[i] >= 0)
			close(hfd[i]);
		hfd[i] = -1;
		break;
	}
}

static void hook(void *arg, uint8_t op)
{
	struct fz *in = arg;
	uint8_t buf[64];
	uint64_t gpa;
	size_t n;

	switch (op & 7) {
	case 0:
		tx_packet(in, op);
		break;
	case 1:
		post(0, in);
		break;
	case 2:
		post(2, in);
		break;
	case 3:
		host(in, op);
		break;
	case 4:
		/* The guest writes memory: rings, headers, buffers. */
		gpa = fz_u32(in) % RAM;
		n = fz_bytes(in, buf, 1 + (op >> 3) % 32);
		if (gpa + n <= RAM)
			memcpy(hva(gpa, n), buf, n);
		break;
	case 5:
		run_queue((op >> 3) % 3);
		break;
	case 6:
		usleep((op >> 3) * 10);
		break;
	default:
		if (op >> 3)
			bring_up();
		else
			devices_reset(&vm);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };

	if (!loop)
		build();
	for (int i = 0; i < NHOST; i++) {
		if (hfd[i] >= 0)
			close(hfd[i]);
		hfd[i] = -1;
	}
	/* Guest connections of the last input that were never accepted. */
	for (int fd; (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
		close(fd);
	devices_reset(&vm);
	memset(hva(0, RAM), 0, RAM);
	bring_up();
	fz_run_io(&vm, w, 1, &in, hook, &in);
	return 0;
}
