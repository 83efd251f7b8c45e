// SPDX-License-Identifier: GPL-2.0
#include "virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "kvm/vm.h"
#include "virtio/virtio.h"

#define RNG_QUEUE_SIZE 256
/*
 * Bytes per buffer at most: Linux asks for a few dozen; a bound keeps one
 * huge buffer from holding the I/O thread (the spec lets us write less).
 */
#define RNG_MAX_FILL (64u << 10)
/*
 * Buffers per notification: a guest that keeps refilling the ring would
 * otherwise hold the I/O thread its other devices share. The rest waits
 * for a kick we send ourselves, behind what else is ready.
 */
#define RNG_BUDGET (RNG_QUEUE_SIZE / 2)

struct virtio_rng {
	struct virtio_dev vdev;
	struct virtqueue vq;
	struct virtq_seg segs[RNG_QUEUE_SIZE];
	struct iovec iov[RNG_QUEUE_SIZE];
};

/* Fill the writable segments; returns the bytes written. */
static int64_t fill(struct virtio_dev *vdev, struct virtq_chain *c)
{
	struct virtio_rng *rng = (struct virtio_rng *)vdev;
	struct dma_space *dma = &rng->vdev.dma;
	uint32_t done = 0;
	int n = virtq_chain_iov(dma, c, true, rng->iov, RNG_QUEUE_SIZE);

	for (int i = 0; i < n && done < RNG_MAX_FILL; i++) {
		uint8_t *p = rng->iov[i].iov_base;
		size_t len = rng->iov[i].iov_len, got = 0;

		if (len > RNG_MAX_FILL - done)
			len = RNG_MAX_FILL - done;
		while (got < len) {
			ssize_t r = getrandom(p + got, len - got, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += r;
		}
		done += got;
		if (got < len)
			break;
	}
	if (n > 0)
		virtq_chain_unmap(dma, c, true, rng->iov, n, done);
	return done;
}

static void rng_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_rng *rng = (struct virtio_rng *)vdev;
	struct virtq_chain c = VIRTQ_CHAIN_INIT(rng->segs);

	virtio_dev_serve_queue(vdev, q, &c, RNG_BUDGET, fill, "request queue");
}

static void rng_destroy(struct virtio_dev *vdev)
{
	free(vdev);
}

static const struct virtio_dev_ops rng_ops = {
	.queue_notify = rng_queue_notify,
	.destroy = rng_destroy,
};

struct virtio_dev *virtio_rng_create(struct vm *vm)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));

	if (!rng)
		return NULL;
	/* vdev first: the ops cast back to the device. */
	if (virtio_dev_init(&rng->vdev, "virtio-rng", VIRTIO_ID_RNG, &rng_ops,
			    &rng->vq, 1, RNG_QUEUE_SIZE, &vm->mem)) {
		free(rng);
		return NULL;
	}
	return &rng->vdev;
}
