/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_BLK_H
#define DEVISOR_VIRTIO_BLK_H

/*
 * virtio-blk (block device, spec 5.2) over a block backend
 * (backend/block.h): one to VIRTIO_BLK_MAX_QUEUES request queues of up to
 * 256 entries, requests submitted asynchronously from the I/O thread and
 * completed from the backend's completion eventfd on the same thread.
 * docs/virtio.md ("virtio-blk") describes the request path.
 */
#include <stdint.h>

struct blk_backend;
struct evloop;
struct virtio_dev;
struct vm;

#define VIRTIO_BLK_MAX_QUEUES 64u

/*
 * An unbound device with @nr_queues request queues (1..64; more than one
 * offers VIRTIO_BLK_F_MQ) over @be. The backend's completion eventfd is
 * added to @loop now: hand the same loop to virtio_pci_create() or
 * virtio_mmio_create(), so kicks and completions share one thread.
 * On success the device owns @be and closes it when destroyed; on failure
 * (NULL, errno set, logged) @be stays the caller's. An unbound device is
 * freed with virtio_dev_destroy().
 */
struct virtio_dev *virtio_blk_create(struct vm *vm, struct blk_backend *be,
				     struct evloop *loop,
				     unsigned int nr_queues);

/*
 * Lets the I/O thread poll the device's rings and its back-end's
 * completions for up to @max_ns after each pass before it sleeps
 * (evloop.h; --disk poll=). 0 leaves it off. Once, before the guest runs.
 */
void virtio_blk_set_poll(struct virtio_dev *vdev, uint64_t max_ns);

/*
 * Bandwidth and request rate limits (Cloud Hypervisor's
 * rate_limiter_config): a request over them goes back to its ring and
 * the queue waits, kicks off, until the buckets can pay for it. Before
 * the device runs.
 */
struct rate_limit_config;
void virtio_blk_set_rate_limit(struct virtio_dev *vdev,
			       const struct rate_limit_config *c);

/*
 * Grows the disk to @bytes while the device runs (the API's
 * vm.resize-disk): the image first (blk_resize()), then the capacity the
 * driver reads, with a configuration change interrupt (Linux revalidates
 * the disk's size). 0 or -errno: -ENODEV if @vdev is no virtio-blk disk
 * of devisor's own (vhost-user-blk's image is its back-end's), or
 * blk_resize()'s.
 */
int virtio_blk_resize(struct virtio_dev *vdev, uint64_t bytes);

/*
 * A virtio-blk device whose queue a vhost-user back-end listening on
 * @socket serves (virtio/vhost_user_blk.c): connects, negotiates and reads
 * the configuration space (the disk's size) now. Guest RAM must be shared
 * (vm->mem.fd). Its call eventfd and the socket's hang-up watch go on
 * @loop. NULL on error (logged).
 */
struct virtio_dev *virtio_vhost_user_blk_create(struct vm *vm,
						const char *socket,
						struct evloop *loop);

#endif
