// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-mmio register sequences in front of virtio-rng, virtio-console,
 * a two-queue virtio-blk (over a 1 MiB image, synchronous engine) and
 * virtio-net (over a back-end with vnet headers that takes every frame)
 * and virtio-balloon (with free page reporting, freeing the fuzzer's RAM)
 * and virtio-mem (a 128 MiB region at 4 GiB, half of it requested):
 * feature negotiation, queue setup and QueueReady on and off, status
 * writes and resets, config space, interrupt acks, notifications. Hook
 * ops write guest memory (rings, requests), run a queue's handler on this
 * thread under the device lock (as the I/O thread would, so the request
 * parsing runs deterministically), give virtio-net a frame from the host,
 * wait for the I/O thread or reset the machine. Built once; each input starts from a machine reset.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/net.h"
#include "bus/device.h"
#include "kvm/vm.h"
#include "util/evloop.h"
#include "virtio/balloon.h"
#include "virtio/mem.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"

#include "fuzz.h"

#define RAM (1ull << 20)
#define DISK (1ull << 20)
#define BASE 0xd0000000ull
#define NDEV 6
/* virtio-mem's region: its requests name blocks of it (2 MiB each). */
#define MEM_REGION (128ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;
static struct evloop *loop;
static struct virtio_dev *vdevs[NDEV];
static const struct fz_window w[NDEV] = {
	{ true, BASE, 0x1000 },		 { true, BASE + 0x1000, 0x1000 },
	{ true, BASE + 0x2000, 0x1000 }, { true, BASE + 0x3000, 0x1000 },
	{ true, BASE + 0x4000, 0x1000 }, { true, BASE + 0x5000, 0x1000 },
};

/* A back-end that takes every frame and has vnet headers (offloads). */
static int nb_start(struct net_backend *be)
{
	return 0;
}

static int nb_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	return (int)len;
}

static void nb_rx_ready(struct net_backend *be)
{
}

static int nb_set_offloads(struct net_backend *be, unsigned int flags)
{
	return 0;
}

static void nb_close(struct net_backend *be)
{
}

static const struct net_backend_ops nb_ops = {
	.start = nb_start,
	.send = nb_send,
	.rx_ready = nb_rx_ready,
	.set_offloads = nb_set_offloads,
	.close = nb_close,
};

/* Two queue pairs: the control queue and pairs turned on and off too. */
static struct net_backend nbe[2] = {
	{
		.ops = &nb_ops,
		.has_vnet_hdr = true,
		.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
		.name = "fuzz",
	},
	{
		.ops = &nb_ops,
		.has_vnet_hdr = true,
		.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
		.name = "fuzz",
	},
};

static void build(void)
{
	struct blk_backend *be;
	int null_fd;

	fz_vm_init_hotplug(&vm, RAM, MEM_REGION);
	loop = fz_loop();
	null_fd = fz_null_fd();
	be = fz_disk(DISK);
	vdevs[0] = virtio_rng_create(&vm);
	vdevs[1] = virtio_console_create(&vm, null_fd);
	vdevs[2] = virtio_blk_create(&vm, be, loop, 2);
	nbe[0].loop = nbe[1].loop = loop;
	vdevs[3] = virtio_net_create_mq(
		&vm, (struct net_backend *[]){ &nbe[0], &nbe[1] }, 2,
		NET_VHOST_OFF, 0);
	vdevs[4] = virtio_balloon_create(
		&vm, &(struct balloon_config){ .enabled = true,
					       .deflate_on_oom = true,
					       .free_page_reporting = true });
	vdevs[5] = virtio_mem_create(&vm, MEM_REGION, MEM_REGION / 2);
	for (unsigned int i = 0; i < NDEV; i++)
		if (!vdevs[i] ||
		    !virtio_mmio_create(&vm, w[i].base, 5 + i, vdevs[i], loop))
			abort();
}

static void hook(void *arg, uint8_t op)
{
	struct fz *in = arg;
	struct virtio_dev *vdev;
	unsigned int q;

	switch (op % 4) {
	case 0:
		/* The guest writes memory: rings, headers, buffers. */
		fz_mem_write(&vm.mem, RAM, in, 1 + (op >> 2) % 64);
		break;
	case 1:
		/* A queue's handler, here, as a kick would run it. */
		vdev = vdevs[((op >> 2) & 7) % NDEV];
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
		if (op == 3) {
			devices_reset(&vm);
			break;
		}
		/* A frame from the host for either pair, once started. */
		if (nbe[op >> 7].rx) {
			static uint8_t frame[2048];
			struct iovec iov = { frame, 0 };
			struct net_backend *b = &nbe[op >> 7];

			iov.iov_len = fz_bytes(in, frame, fz_u16(in) % 2048);
			(void)b->rx(b->opaque, &iov, 1);
		}
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
