// SPDX-License-Identifier: GPL-2.0
#include "virtio/virtio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/common.h"
#include "util/evloop.h"
#include "util/log.h"
#include "util/stats.h"

#define DRIVER_STATUS_BITS                                         \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |    \
	 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK | \
	 VIRTIO_CONFIG_S_FAILED)

int virtio_dev_init(struct virtio_dev *vdev, const char *name,
		    uint32_t device_id, const struct virtio_dev_ops *ops,
		    struct virtqueue *vqs, unsigned int nr_queues,
		    uint16_t queue_max_size, const struct guest_mem *mem)
{
	if (!ops || (nr_queues && !vqs) || nr_queues > VIRTIO_MAX_QUEUES ||
	    !queue_max_size || queue_max_size > VIRTQ_MAX_SIZE)
		return -EINVAL;
	memset(vdev, 0, sizeof(*vdev));
	vdev->name = name;
	vdev->device_id = device_id;
	vdev->ops = ops;
	vdev->vqs = vqs;
	vdev->nr_queues = nr_queues;
	vdev->queue_max_size = queue_max_size;
	dma_space_init_identity(&vdev->dma, mem);
	pthread_mutex_init(&vdev->lock, NULL);
	for (unsigned int i = 0; i < nr_queues; i++)
		virtq_init(&vqs[i], &vdev->dma, queue_max_size);
	return 0;
}

int virtio_dev_translate_dma(struct virtio_dev *vdev,
			     int (*init)(void *arg, struct dma_space *as),
			     void *arg)
{
	const struct guest_mem *mem = vdev->dma.mem;
	int ret;

	/* In place: the queues point at vdev->dma. */
	dma_space_destroy(&vdev->dma);
	ret = init(arg, &vdev->dma);
	if (ret) {
		dma_space_init_identity(&vdev->dma, mem);
		return ret;
	}
	vdev->access_platform = true;
	return 0;
}

void virtio_dev_counters(struct virtio_dev *vdev,
			 void (*fn)(void *arg, const char *name,
				    uint64_t value),
			 void *arg)
{
	if (!vdev->ops->counters)
		return;
	pthread_mutex_lock(&vdev->lock);
	vdev->ops->counters(vdev, fn, arg);
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_dev_lock(struct virtio_dev *vdev)
{
	pthread_mutex_lock(&vdev->lock);
}

void virtio_dev_unlock(struct virtio_dev *vdev)
{
	pthread_mutex_unlock(&vdev->lock);
}

bool virtio_dev_running(const struct virtio_dev *vdev)
{
	return (vdev->status &
		(VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET |
		 VIRTIO_CONFIG_S_FAILED)) == VIRTIO_CONFIG_S_DRIVER_OK;
}

bool virtio_dev_has_feature(const struct virtio_dev *vdev, unsigned int bit)
{
	return bit < 64 && (vdev->features >> bit & 1);
}

void virtio_dev_notify_queue(struct virtio_dev *vdev, unsigned int q)
{
	if (q >= vdev->nr_queues || !vdev->tops)
		return;
	if (virtq_should_notify(&vdev->vqs[q])) {
		stats_add(STATS_VIRTIO_IRQS, 1);
		vdev->tops->notify_queue(vdev, q);
	}
}

void virtio_dev_state_changed(struct virtio_dev *vdev)
{
	if (vdev->tops && vdev->tops->sync)
		vdev->tops->sync(vdev);
}

void virtio_dev_fail(struct virtio_dev *vdev, int err, const char *what)
{
	if (vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (!vdev->fail_warned) {
		vdev->fail_warned = true;
		pr_warn("%s: %s: %s; device needs reset", vdev->name, what,
			virtq_strerror(err));
	}
	virtio_dev_state_changed(vdev);
	/* Spec 2.1.2: notify only a driver that is up to hear it. */
	if ((vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) && vdev->tops)
		vdev->tops->notify_config(vdev);
}

void virtio_dev_config_changed(struct virtio_dev *vdev)
{
	vdev->config_generation++;
	virtio_dev_state_changed(vdev);
	if ((vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) && vdev->tops)
		vdev->tops->notify_config(vdev);
}

void virtio_dev_destroy(struct virtio_dev *vdev)
{
	struct evloop *own;

	if (!vdev)
		return;
	own = vdev->own_loop;
	virtio_dev_unbind(vdev);
	/* Waits out a running poll; the device's sources go next. */
	if (vdev->poll_loop)
		evloop_del_poller(vdev->poll_loop, &vdev->poller);
	vdev->poll_loop = NULL;
	if (vdev->ops->stop)
		vdev->ops->stop(vdev);
	pthread_mutex_destroy(&vdev->lock);
	dma_space_destroy(&vdev->dma);
	free(vdev->queue_draining);
	vdev->queue_draining = NULL;
	if (vdev->ops->destroy)
		vdev->ops->destroy(vdev);
	/* Nothing of the device is on it any more. */
	if (own)
		evloop_destroy(own);
}

/* Polling -------------------------------------------------------------- */

/* Per-queue masks are 64 bits wide: a queue beyond them is never set. */
static bool queue_bit(uint64_t mask, unsigned int q)
{
	return q < 64 && (mask >> q & 1);
}

/* Served by the host kernel (vhost): never ours to read or poll. */
static bool kernel_queue(const struct virtio_dev *vdev, unsigned int q)
{
	return queue_bit(vdev->kernel_queues, q);
}

static bool batch_holds(const struct virtio_dev *vdev, unsigned int q)
{
	return queue_bit(vdev->batch_held, q);
}

static bool pollable(struct virtio_dev *vdev, unsigned int q)
{
	/* A held queue waits for its look. */
	if (kernel_queue(vdev, q) || batch_holds(vdev, q))
		return false;
	return virtio_dev_running(vdev) && vdev->vqs[q].ready &&
	       vdev->ops->queue_pollable(vdev, q);
}

static void poll_begin(void *opaque)
{
	struct virtio_dev *vdev = opaque;

	pthread_mutex_lock(&vdev->lock);
	vdev->polling = true;
	for (unsigned int q = 0; q < vdev->nr_queues; q++)
		if (pollable(vdev, q))
			virtq_set_notification(&vdev->vqs[q], false);
	pthread_mutex_unlock(&vdev->lock);
}

static bool poll_pass(void *opaque)
{
	struct virtio_dev *vdev = opaque;
	bool found = false;

	pthread_mutex_lock(&vdev->lock);
	if (vdev->ops->poll && vdev->ops->poll(vdev))
		found = true;
	for (unsigned int q = 0; q < vdev->nr_queues; q++) {
		if (pollable(vdev, q) && !virtq_empty(&vdev->vqs[q])) {
			stats_add(STATS_VIRTIO_POLLED, 1);
			vdev->ops->queue_notify(vdev, q);
			found = true;
		}
	}
	pthread_mutex_unlock(&vdev->lock);
	return found;
}

static bool poll_end(void *opaque)
{
	struct virtio_dev *vdev = opaque;
	bool found = false;

	pthread_mutex_lock(&vdev->lock);
	vdev->polling = false;
	for (unsigned int q = 0; q < vdev->nr_queues; q++) {
		if (!pollable(vdev, q))
			continue;
		virtq_set_notification(&vdev->vqs[q], true);
		/* What came before kicks were on again. */
		if (!virtq_empty(&vdev->vqs[q])) {
			vdev->ops->queue_notify(vdev, q);
			found = true;
		}
	}
	pthread_mutex_unlock(&vdev->lock);
	return found;
}

void virtio_dev_set_poll(struct virtio_dev *vdev, struct evloop *loop,
			 uint64_t max_ns)
{
	if (!max_ns || vdev->poll_loop || !vdev->ops->queue_pollable ||
	    !vdev->ops->queue_notify)
		return;
	vdev->poller = (struct evloop_poller){
		.begin = poll_begin,
		.poll = poll_pass,
		.end = poll_end,
		.opaque = vdev,
		.max_ns = max_ns,
	};
	vdev->poll_loop = loop;
	evloop_add_poller(loop, &vdev->poller);
}

/* Batching a deep queue's kicks ---------------------------------------- */

/* Looks closer together than this cost more than they save. */
#define BATCH_MIN_GAP_NS 2000ull

/* After a hold: look next time at twice the pace the driver posted at. */
static void batch_adapt(struct virtio_dev *vdev)
{
	uint64_t gap = vdev->batch_gap_ns;

	if (vdev->batch_more) {
		uint64_t pace = (vdev->batch_last - vdev->batch_start) /
				vdev->batch_more;

		gap = (gap + 2 * pace) / 2;
	} else {
		/* Nothing came: the driver was waiting for us. */
		gap /= 2;
	}
	if (gap > vdev->batch_max_ns / 2)
		gap = vdev->batch_max_ns / 2;
	if (gap < BATCH_MIN_GAP_NS)
		gap = BATCH_MIN_GAP_NS;
	vdev->batch_gap_ns = gap;
}

/* The batch timer, on the I/O thread. */
static void batch_look(void *opaque)
{
	struct virtio_dev *vdev = opaque;
	uint64_t held, now = monotonic_ns();
	bool more = false;

	pthread_mutex_lock(&vdev->lock);
	held = vdev->batch_held;
	for (unsigned int q = 0; q < vdev->nr_queues && q < 64; q++) {
		uint16_t n;

		if (!queue_bit(held, q))
			continue;
		n = virtq_avail_count(&vdev->vqs[q]);
		if (n > vdev->batch_seen[q]) {
			vdev->batch_more += n - vdev->batch_seen[q];
			more = true;
		}
		vdev->batch_seen[q] = n;
	}
	if (more)
		vdev->batch_last = now;
	if (held && more && now - vdev->batch_start < vdev->batch_max_ns &&
	    evloop_timer_arm(vdev->loop, &vdev->batch_timer,
			     vdev->batch_gap_ns)) {
		pthread_mutex_unlock(&vdev->lock);
		return;
	}
	if (held)
		batch_adapt(vdev);
	vdev->batch_held = 0;
	for (unsigned int q = 0; q < vdev->nr_queues && q < 64; q++)
		/* As a kick: only a running device's enabled queues. */
		if (queue_bit(held, q) && virtio_dev_running(vdev) &&
		    vdev->vqs[q].ready)
			vdev->ops->queue_notify(vdev, q);
	pthread_mutex_unlock(&vdev->lock);
}

/*
 * A kick of @q, lock held: true if it waits for the batch timer. The
 * queue's kicks go off so the driver's next posts cost no exit; serving
 * it (queue_notify) turns them on again.
 */
static bool batch_hold(struct virtio_dev *vdev, unsigned int q)
{
	struct virtqueue *vq = &vdev->vqs[q];
	uint16_t avail;
	int taken;

	if (!vdev->batch_max_ns || q >= 64)
		return false;
	/* Kicked before its kicks-off store was seen: the look serves it. */
	if (batch_holds(vdev, q))
		return true;
	taken = virtq_driver_taken(vq);
	if (taken < 0)
		return false;
	avail = virtq_avail_count(vq);
	if (taken + avail < VIRTIO_BATCH_DEPTH)
		return false;
	if (!vdev->batch_held) {
		if (!evloop_timer_arm(vdev->loop, &vdev->batch_timer,
				      vdev->batch_gap_ns))
			return false;
		vdev->batch_start = monotonic_ns();
		vdev->batch_last = vdev->batch_start;
		vdev->batch_more = 0;
	}
	virtq_set_notification(vq, false);
	vdev->batch_seen[q] = avail;
	vdev->batch_held |= 1ull << q;
	stats_add(STATS_VIRTIO_BATCHED, 1);
	return true;
}

void virtio_dev_set_batch(struct virtio_dev *vdev, uint64_t max_ns)
{
	if (!max_ns || vdev->batch_max_ns || !vdev->ops->queue_notify)
		return;
	vdev->batch_timer =
		(struct evloop_timer){ .fn = batch_look, .opaque = vdev };
	/* The first hold looks at a quarter of the bound; then the pace. */
	vdev->batch_gap_ns = max_ns / 4 > BATCH_MIN_GAP_NS ? max_ns / 4 :
							     BATCH_MIN_GAP_NS;
	pthread_mutex_lock(&vdev->lock);
	vdev->batch_max_ns = max_ns;
	pthread_mutex_unlock(&vdev->lock);
}

/* Kicks --------------------------------------------------------------- */

static void kick_cb(void *opaque, uint32_t events)
{
	struct virtio_kick *k = opaque;
	struct virtio_dev *vdev = k->vdev;
	uint64_t cnt;

	/* Drain first: kicks that arrive while we run get a new callback. */
	if (read(k->fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	pthread_mutex_lock(&vdev->lock);
	/* Kicks before DRIVER_OK or after a failure are dropped. */
	if (virtio_dev_running(vdev) && vdev->vqs[k->q].ready &&
	    vdev->ops->queue_notify) {
		stats_add(STATS_VIRTIO_KICKS, 1);
		if (!batch_hold(vdev, k->q))
			vdev->ops->queue_notify(vdev, k->q);
	}
	pthread_mutex_unlock(&vdev->lock);
}

int virtio_dev_bind(struct virtio_dev *vdev,
		    const struct virtio_transport_ops *tops, void *transport,
		    struct evloop *loop)
{
	unsigned int i;
	int ret;

	if (vdev->tops || !tops || !loop)
		return -EINVAL;
	vdev->kicks = calloc(vdev->nr_queues ? vdev->nr_queues : 1,
			     sizeof(*vdev->kicks));
	if (!vdev->kicks)
		return -ENOMEM;
	for (i = 0; i < vdev->nr_queues; i++) {
		struct virtio_kick *k = &vdev->kicks[i];

		k->vdev = vdev;
		k->q = i;
		k->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (k->fd < 0) {
			ret = -errno;
			goto fail;
		}
		if (kernel_queue(vdev, i))
			continue; /* the kernel reads it */
		ret = evloop_add(loop, k->fd, EPOLLIN, kick_cb, k);
		if (ret) {
			close(k->fd);
			goto fail;
		}
	}
	pthread_mutex_lock(&vdev->lock);
	vdev->tops = tops;
	vdev->transport = transport;
	vdev->loop = loop;
	pthread_mutex_unlock(&vdev->lock);
	return 0;
fail:
	pr_err("%s: cannot set up queue kicks: %s", vdev->name, strerror(-ret));
	while (i--) {
		evloop_del(loop, vdev->kicks[i].fd);
		close(vdev->kicks[i].fd);
	}
	free(vdev->kicks);
	vdev->kicks = NULL;
	return ret;
}

void virtio_dev_unbind(struct virtio_dev *vdev)
{
	if (!vdev->kicks)
		return;
	for (unsigned int i = 0; i < vdev->nr_queues; i++) {
		evloop_del(vdev->loop, vdev->kicks[i].fd);
		close(vdev->kicks[i].fd);
	}
	/* No kick can arm it now; this waits out a look in progress. */
	evloop_timer_cancel(vdev->loop, &vdev->batch_timer);
	free(vdev->kicks);
	vdev->kicks = NULL;
	pthread_mutex_lock(&vdev->lock);
	vdev->tops = NULL;
	vdev->transport = NULL;
	vdev->loop = NULL;
	vdev->batch_held = 0;
	pthread_mutex_unlock(&vdev->lock);
}

int virtio_dev_queue_irqfd(struct virtio_dev *vdev, unsigned int q)
{
	if (!vdev->tops || !vdev->tops->queue_irqfd || q >= vdev->nr_queues)
		return -1;
	return vdev->tops->queue_irqfd(vdev, q);
}

int virtio_dev_kick_fd(const struct virtio_dev *vdev, unsigned int q)
{
	return vdev->kicks && q < vdev->nr_queues ? vdev->kicks[q].fd : -1;
}

void virtio_dev_kick(struct virtio_dev *vdev, unsigned int q)
{
	uint64_t one = 1;
	int fd = virtio_dev_kick_fd(vdev, q);

	/* EAGAIN means the counter is saturated: a kick is pending anyway. */
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("%s: queue %u kick: %s", vdev->name, q,
				    strerror(errno));
}

void virtio_dev_no_ioeventfd(const struct virtio_dev *vdev, int err)
{
	if (err != -ENODEV)
		pr_warn("%s: no ioeventfd, queue kicks take the slow path",
			vdev->name);
}

void virtio_dev_serve_queue(struct virtio_dev *vdev, unsigned int q,
			    struct virtq_chain *c, unsigned int budget,
			    int64_t (*handle)(struct virtio_dev *vdev,
					      struct virtq_chain *c),
			    const char *what)
{
	struct virtqueue *vq = &vdev->vqs[q];
	int64_t n;
	int r;

	do {
		virtq_set_notification(vq, false);
		while ((r = virtq_pop(vq, c)) > 0) {
			n = handle(vdev, c);
			if (n < 0) {
				virtio_dev_fail(vdev, (int)n, what);
				return;
			}
			virtq_push(vq, c, (uint32_t)n);
			if (!--budget) {
				virtio_dev_kick(vdev, q);
				goto out;
			}
		}
		if (r < 0) {
			virtio_dev_fail(vdev, r, what);
			return;
		}
		virtq_set_notification(vq, true);
	} while (!virtq_empty(vq));
out:
	virtio_dev_notify_queue(vdev, q);
}

/* Features and status ---------------------------------------------------- */

static uint64_t offered(const struct virtio_dev *vdev)
{
	return vdev->device_features |
	       (VIRTIO_CORE_FEATURES & ~vdev->core_features_off) |
	       (vdev->access_platform ? 1ull << VIRTIO_F_ACCESS_PLATFORM : 0);
}

uint32_t virtio_dev_device_features(const struct virtio_dev *vdev, uint32_t sel)
{
	return sel < 2 ? (uint32_t)(offered(vdev) >> (32 * sel)) : 0;
}

uint32_t virtio_dev_driver_features(const struct virtio_dev *vdev, uint32_t sel)
{
	return sel < 2 ? (uint32_t)(vdev->driver_features >> (32 * sel)) : 0;
}

void virtio_dev_set_driver_features(struct virtio_dev *vdev, uint32_t sel,
				    uint32_t val)
{
	uint64_t mask;

	if (sel > 1 || (vdev->status & VIRTIO_CONFIG_S_FEATURES_OK))
		return;
	mask = 0xffffffffull << (32 * sel);
	vdev->driver_features = (vdev->driver_features & ~mask) |
				((uint64_t)val << (32 * sel));
}

uint8_t virtio_dev_status(const struct virtio_dev *vdev)
{
	return vdev->status || !vdev->reset_status ? vdev->status :
						     vdev->reset_status;
}

void virtio_dev_reset_later(struct virtio_dev *vdev)
{
	/* A second reset meanwhile keeps the first one's value. */
	if (!vdev->reset_status)
		vdev->reset_status = vdev->status ? vdev->status :
						    VIRTIO_CONFIG_S_NEEDS_RESET;
}

void virtio_dev_reset_done(struct virtio_dev *vdev)
{
	vdev->reset_status = 0;
	virtio_dev_state_changed(vdev);
}

void virtio_dev_reset(struct virtio_dev *vdev)
{
	/* A reset waits for everything (virtio_dev_reset_later()). */
	if (vdev->queue_draining)
		memset(vdev->queue_draining, 0,
		       vdev->nr_queues * sizeof(*vdev->queue_draining));
	vdev->draining_queues = 0;
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		virtq_reset(&vdev->vqs[i]);
	/* A look still due finds nothing held. */
	vdev->batch_held = 0;
	vdev->driver_features = 0;
	vdev->features = 0;
	vdev->status = 0;
	if (vdev->tops)
		vdev->tops->reset(vdev);
}

static bool features_acceptable(struct virtio_dev *vdev, uint64_t f)
{
	if (f & ~offered(vdev)) {
		pr_debug_ratelimited(
			"%s: driver wants unoffered features %#llx", vdev->name,
			(unsigned long long)(f & ~offered(vdev)));
		return false;
	}
	/* Modern only: without VERSION_1 the driver means legacy. */
	if (!(f & (1ull << VIRTIO_F_VERSION_1))) {
		pr_debug_ratelimited("%s: driver did not accept VERSION_1",
				     vdev->name);
		return false;
	}
	/* Behind an IOMMU, a driver that gives physical addresses is wrong. */
	if (vdev->access_platform &&
	    !(f & (1ull << VIRTIO_F_ACCESS_PLATFORM))) {
		pr_warn_ratelimited("%s: the driver did not accept "
				    "ACCESS_PLATFORM, which a device behind "
				    "the IOMMU needs; FEATURES_OK refused",
				    vdev->name);
		return false;
	}
	return !vdev->ops->features_ok || vdev->ops->features_ok(vdev, f);
}

static void activate(struct virtio_dev *vdev)
{
	int ret = vdev->ops->activate ? vdev->ops->activate(vdev) : 0;

	if (ret) {
		virtio_dev_fail(vdev, ret, "activation");
		return;
	}
	/*
	 * Buffers made available before DRIVER_OK sent no usable kick. Kick
	 * every live queue once; the I/O thread, not this vCPU, runs them.
	 */
	for (unsigned int q = 0; q < vdev->nr_queues; q++)
		if (vdev->vqs[q].ready)
			virtio_dev_kick(vdev, q);
}

void virtio_dev_set_status(struct virtio_dev *vdev, uint8_t val)
{
	uint8_t old = vdev->status, add;

	if (val == 0) {
		virtio_dev_reset(vdev);
		return;
	}
	/*
	 * The driver never clears bits (spec 2.1.2) and cannot set
	 * NEEDS_RESET; bits that skip a step are ignored.
	 */
	add = val & DRIVER_STATUS_BITS & ~old;
	if ((add & VIRTIO_CONFIG_S_DRIVER) &&
	    !((old | add) & VIRTIO_CONFIG_S_ACKNOWLEDGE))
		add &= ~VIRTIO_CONFIG_S_DRIVER;
	if (add & VIRTIO_CONFIG_S_FEATURES_OK) {
		if (!((old | add) & VIRTIO_CONFIG_S_DRIVER) ||
		    !features_acceptable(vdev, vdev->driver_features)) {
			add &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		} else {
			vdev->features = vdev->driver_features;
			for (unsigned int i = 0; i < vdev->nr_queues; i++)
				virtq_set_features(&vdev->vqs[i],
						   vdev->features);
		}
	}
	if ((add & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !((old | add) & VIRTIO_CONFIG_S_FEATURES_OK))
		add &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	vdev->status = old | add;
	if (!(add & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	if (old & VIRTIO_CONFIG_S_NEEDS_RESET) {
		/* Failed during setup: tell the driver now it listens. */
		if (vdev->tops)
			vdev->tops->notify_config(vdev);
	} else if (!(old & VIRTIO_CONFIG_S_FAILED)) {
		activate(vdev);
	}
}

/* Configuration space ------------------------------------------------------ */

static bool config_range_ok(const struct virtio_dev *vdev, uint32_t off,
			    unsigned int size)
{
	return size >= 1 && size <= 8 && off < vdev->config_len &&
	       size <= vdev->config_len - off;
}

uint64_t virtio_dev_config_read(struct virtio_dev *vdev, uint32_t off,
				unsigned int size)
{
	uint8_t b[8] = { 0 };

	if (!config_range_ok(vdev, off, size))
		return 0;
	if (vdev->ops->config_read)
		vdev->ops->config_read(vdev, off, b, size);
	else if (vdev->config)
		memcpy(b, (uint8_t *)vdev->config + off, size);
	return get_le(b, size);
}

void virtio_dev_config_write(struct virtio_dev *vdev, uint32_t off,
			     uint64_t val, unsigned int size)
{
	uint8_t b[8];

	if (!config_range_ok(vdev, off, size) || !vdev->ops->config_write)
		return;
	put_le(b, val, size);
	vdev->ops->config_write(vdev, off, b, size);
}

/* Queues ------------------------------------------------------------------ */

struct virtqueue *virtio_dev_queue(struct virtio_dev *vdev, unsigned int q)
{
	return q < vdev->nr_queues ? &vdev->vqs[q] : NULL;
}

void virtio_dev_queue_set_size(struct virtio_dev *vdev, unsigned int q,
			       uint32_t size)
{
	struct virtqueue *vq = virtio_dev_queue(vdev, q);

	if (!vq || vq->ready)
		return;
	/* Packed rings may have any size; split ones need a power of 2. */
	if (!virtio_dev_has_feature(vdev, VIRTIO_F_RING_PACKED) &&
	    (size & (size - 1)))
		size = 0;
	virtq_set_size(vq, size);
}

void virtio_dev_queue_set_addr(struct virtio_dev *vdev, unsigned int q,
			       unsigned int which, uint64_t gpa)
{
	struct virtqueue *vq = virtio_dev_queue(vdev, q);

	/* Misaligned addresses are recorded; virtq_enable() refuses them. */
	if (!vq || vq->ready)
		return;
	switch (which) {
	case VIRTIO_QUEUE_DESC:
		virtq_set_desc_addr(vq, gpa);
		break;
	case VIRTIO_QUEUE_DRIVER:
		virtq_set_driver_addr(vq, gpa);
		break;
	case VIRTIO_QUEUE_DEVICE:
		virtq_set_device_addr(vq, gpa);
		break;
	}
}

uint64_t virtio_dev_queue_addr(struct virtio_dev *vdev, unsigned int q,
			       unsigned int which)
{
	struct virtqueue *vq = virtio_dev_queue(vdev, q);

	if (!vq)
		return 0;
	switch (which) {
	case VIRTIO_QUEUE_DESC:
		return vq->desc_gpa;
	case VIRTIO_QUEUE_DRIVER:
		return vq->driver_gpa;
	case VIRTIO_QUEUE_DEVICE:
		return vq->device_gpa;
	}
	return 0;
}

void virtio_dev_queue_enable(struct virtio_dev *vdev, unsigned int q)
{
	struct virtqueue *vq = virtio_dev_queue(vdev, q);
	int ret;

	if (!vq || vq->ready)
		return;
	/* The ring layout is only known once features are. */
	if (!(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		pr_debug_ratelimited("%s: queue %u enabled before FEATURES_OK",
				     vdev->name, q);
		return;
	}
	ret = virtq_enable(vq);
	if (ret)
		virtio_dev_fail(vdev, ret, "queue enable");
}

void virtio_dev_queue_disable(struct virtio_dev *vdev, unsigned int q)
{
	struct virtqueue *vq = virtio_dev_queue(vdev, q);

	if (!vq)
		return;
	if (vq->ready && vdev->ops->queue_disable &&
	    vdev->ops->queue_disable(vdev, q)) {
		if (!vdev->queue_draining)
			vdev->queue_draining = calloc(
				vdev->nr_queues, sizeof(*vdev->queue_draining));
		/* Without memory the driver may reclaim early: log it. */
		if (vdev->queue_draining && !vdev->queue_draining[q]) {
			vdev->queue_draining[q] = true;
			vdev->draining_queues++;
		} else if (!vdev->queue_draining) {
			pr_warn_ratelimited("%s: queue %u disabled with "
					    "requests in flight",
					    vdev->name, q);
		}
	}
	virtq_reset(vq);
	virtq_set_features(vq, vdev->features);
}

void virtio_dev_queue_disable_done(struct virtio_dev *vdev, unsigned int q)
{
	if (q < vdev->nr_queues && vdev->queue_draining &&
	    vdev->queue_draining[q]) {
		vdev->queue_draining[q] = false;
		vdev->draining_queues--;
		virtio_dev_state_changed(vdev);
	}
}

bool virtio_dev_queue_ready(struct virtio_dev *vdev, unsigned int q)
{
	struct virtqueue *vq = virtio_dev_queue(vdev, q);

	return vq && (vq->ready ||
		      (vdev->draining_queues && vdev->queue_draining[q]));
}
