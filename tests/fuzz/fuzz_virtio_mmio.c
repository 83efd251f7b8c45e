// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-mmio register sequences in front of virtio-rng, virtio-console
 * and a two-queue virtio-blk (over a 1 MiB image, synchronous engine):
 * feature negotiation, queue setup and QueueReady on and off, status
 * writes and resets, config space, interrupt acks, notifications. Hook
 * ops write guest memory (rings, requests), run a queue's handler on this
 * thread under the device lock (as the I/O thread would, so the request
 * parsing runs deterministically), wait for the I/O thread or reset the
 * machine. Built once; each input starts from a machine reset.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/block.h"
#include "bus/device.h"
#include "kvm/vm.h"
#include "util/evloop.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"

#include "fuzz.h"

#define RAM (1ull << 20)
#define DISK (1ull << 20)
#define BASE 0xd0000000ull
#define NDEV 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;
static struct evloop *loop;
static struct virtio_dev *vdevs[NDEV];
static const struct fz_window w[NDEV] = {
	{ true, BASE, 0x1000 },
	{ true, BASE + 0x1000, 0x1000 },
	{ true, BASE + 0x2000, 0x1000 },
};

static void build(void)
{
	struct blk_options bo = { .engine = BLK_ENGINE_SYNC };
	char path[] = "/tmp/devisor-fuzz-XXXXXX";
	struct blk_backend *be;
	int fd, null_fd;

	fz_vm_init(&vm, RAM);
	loop = evloop_create("fuzz-io");
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	fd = mkstemp(path);
	if (!loop || null_fd < 0 || fd < 0 || ftruncate(fd, DISK))
		abort();
	close(fd);
	be = blk_open(path, &bo);
	unlink(path);
	if (!be)
		abort();
	vdevs[0] = virtio_rng_create(&vm);
	vdevs[1] = virtio_console_create(&vm, null_fd);
	vdevs[2] = virtio_blk_create(&vm, be, loop, 2);
	for (unsigned int i = 0; i < NDEV; i++)
		if (!vdevs[i] ||
		    !virtio_mmio_create(&vm, w[i].base, 5 + i, vdevs[i], loop))
			abort();
}

static void hook(void *arg, uint8_t op)
{
	struct fz *in = arg;
	struct virtio_dev *vdev;
	uint8_t buf[64];
	uint64_t gpa;
	unsigned int q;
	size_t n;

	switch (op % 4) {
	case 0:
		/* The guest writes memory: rings, headers, buffers. */
		gpa = fz_u32(in) % RAM;
		n = fz_bytes(in, buf, 1 + (op >> 2) % 64);
		if (gpa + n <= RAM)
			memcpy(gpa_to_hva(&vm.mem, gpa, n), buf, n);
		break;
	case 1:
		/* A queue's handler, here, as a kick would run it. */
		vdev = vdevs[((op >> 2) & 3) % NDEV];
		q = (op >> 4) % vdev->nr_queues;
		virtio_dev_lock(vdev);
		if (virtio_dev_running(vdev) && vdev->vqs[q].ready)
			vdev->ops->queue_notify(vdev, q);
		virtio_dev_unlock(vdev);
		break;
	case 2:
		usleep(op >> 2);
		break;
	default:
		devices_reset(&vm);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };

	if (!loop)
		build();
	devices_reset(&vm);
	memset(gpa_to_hva(&vm.mem, 0, RAM), 0, RAM);
	fz_run_io(&vm, w, NDEV, &in, hook, &in);
	return 0;
}
