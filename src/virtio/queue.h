/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_QUEUE_H
#define DEVISOR_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "kvm/dma.h"

/*
 * The virtqueue layer (virtio 1.2, split and packed rings), independent of
 * transport and device. Everything in the rings is guest-controlled: every
 * index, length and address is validated here, and guest memory is reached
 * only through kvm/memory.h. See docs/virtqueue.md for the rules.
 *
 * A virtqueue is not locked: one thread owns it at a time.
 *
 * Names follow the spec (VIRTQ_*), not <linux/virtio_ring.h> (VRING_*), so
 * both headers can be included together.
 */

#define VIRTQ_MAX_SIZE 32768u

/* Descriptor flags (both layouts). */
#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
/* Packed layout only. */
#define VIRTQ_DESC_F_AVAIL (1u << 7)
#define VIRTQ_DESC_F_USED (1u << 15)

/* Split ring suppression flags. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY 1u

/* Packed ring event suppression flags. */
#define VIRTQ_RING_EVENT_FLAGS_ENABLE 0u
#define VIRTQ_RING_EVENT_FLAGS_DISABLE 1u
#define VIRTQ_RING_EVENT_FLAGS_DESC 2u

/* Feature bits this layer cares about (bit numbers). */
#define VIRTQ_F_INDIRECT_DESC 28
#define VIRTQ_F_EVENT_IDX 29
#define VIRTQ_F_RING_PACKED 34

/*
 * Error codes, returned negated. They sit above the errno range so each
 * guest violation is distinct; virtq_strerror() describes any of them (and
 * plain -errno values too).
 */
enum virtq_error {
	VIRTQ_E_BASE = 4096,
	/* Guest protocol violations found by virtq_pop(). */
	VIRTQ_E_AVAIL_IDX = VIRTQ_E_BASE, /* avail idx moved > queue size */
	VIRTQ_E_HEAD_RANGE, /* head index >= queue size */
	VIRTQ_E_NEXT_RANGE, /* next index >= queue/table size */
	VIRTQ_E_CHAIN_LEN, /* chain longer than queue size (loop) */
	VIRTQ_E_CHAIN_CAP, /* more segments than the device accepts */
	VIRTQ_E_INDIRECT_FEATURE, /* INDIRECT without VIRTIO_F_INDIRECT_DESC */
	VIRTQ_E_INDIRECT_NEXT, /* INDIRECT with NEXT / inside a packed list */
	VIRTQ_E_INDIRECT_NESTED, /* INDIRECT inside an indirect table */
	VIRTQ_E_INDIRECT_LEN, /* table len 0, not n*16, or > queue size */
	VIRTQ_E_INDIRECT_RANGE, /* table not all mapped for the device */
	VIRTQ_E_SEG_RANGE, /* buffer not all mapped for the device */
	VIRTQ_E_LEN_OVERFLOW, /* chain carries more than 4 GiB - 1 */
	VIRTQ_E_ORDER, /* device-readable after device-writable */
	VIRTQ_E_PACKED_AVAIL, /* packed: non-head descriptor not available */
	VIRTQ_E_INFLIGHT, /* more buffers in flight than the ring holds */
	VIRTQ_E_RING_RANGE, /* a ring is (no longer) mapped for it */
	/* Configuration errors from the setters and virtq_enable(). */
	VIRTQ_E_SIZE, /* bad queue size */
	VIRTQ_E_ALIGN, /* ring address misaligned */
	VIRTQ_E_BUSY, /* changed while the queue is enabled */
	/* Device-side misuse. */
	VIRTQ_E_NOT_READY, /* queue not enabled */
	VIRTQ_E_BAD_CHAIN, /* virtq_push() of a chain we did not pop */
	VIRTQ_E_END
};

struct virtq_seg {
	uint64_t gpa;
	uint32_t len; /* never 0: empty descriptors are not recorded */
	bool write; /* device-writable */
};

/*
 * One buffer popped from the ring. The caller provides @segs/@cap; the guest
 * can never make virtq_pop() write past them. Readable segments come first.
 */
struct virtq_chain {
	struct virtq_seg *segs;
	uint32_t cap;
	uint32_t nsegs;
	uint32_t readable; /* total device-readable bytes */
	uint32_t writable; /* total device-writable bytes */
	uint16_t id; /* split: head index; packed: buffer id */
	uint16_t ndescs; /* ring slots consumed (packed push skips them) */
};

#define VIRTQ_CHAIN_INIT(array)                 \
	((struct virtq_chain){ .segs = (array), \
			       .cap = sizeof(array) / sizeof((array)[0]) })

struct virtqueue {
	struct dma_space *dma; /* the device's: every ring access goes here */
	uint16_t max_size; /* what the device offers */
	uint16_t size; /* what the driver chose; 0 if it chose nonsense */
	bool ready;
	bool packed;
	bool event_idx;
	bool indirect;

	/* split: descriptor table, avail ring, used ring;
	 * packed: descriptor ring, driver and device event suppression. */
	uint64_t desc_gpa;
	uint64_t driver_gpa;
	uint64_t device_gpa;

	/*
	 * Split: free-running 16-bit indices. Packed: ring positions in
	 * [0, size) plus the wrap counters.
	 */
	uint16_t last_avail_idx;
	uint16_t avail_idx_shadow; /* split: last avail->idx read */
	uint16_t used_idx;
	bool avail_wrap;
	bool used_wrap;

	uint32_t inflight; /* popped, not pushed: chains (split), slots (packed) */

	bool notify_enabled; /* driver->device kicks wanted */
	bool signalled_valid; /* signalled_used means something */
	bool used_since_signal; /* pushed since the last should_notify */
	uint16_t signalled_used;

	int broken; /* first error; sticks until virtq_reset() */
};

/* @max_size: largest size the device offers (0 means VIRTQ_MAX_SIZE). */
void virtq_init(struct virtqueue *vq, struct dma_space *dma, uint16_t max_size);
/* Back to the post-init state (device reset); keeps dma and max_size. */
void virtq_reset(struct virtqueue *vq);

/*
 * Driver-written configuration, refused (-VIRTQ_E_BUSY) while enabled. An
 * address is recorded even when misaligned and a bad size is recorded as 0;
 * virtq_enable() checks everything again, so call order does not matter.
 */
int virtq_set_size(struct virtqueue *vq, uint32_t size);
int virtq_set_desc_addr(struct virtqueue *vq, uint64_t gpa);
int virtq_set_driver_addr(struct virtqueue *vq, uint64_t gpa);
int virtq_set_device_addr(struct virtqueue *vq, uint64_t gpa);
/* @features: the negotiated feature bits. */
int virtq_set_features(struct virtqueue *vq, uint64_t features);

/* Validate size, alignment and that the rings are RAM; then go live. */
int virtq_enable(struct virtqueue *vq);

/*
 * Take the next available buffer: 1 with @chain filled, 0 if none, or a
 * negative VIRTQ_E_* on a guest protocol violation (the queue then stays
 * broken until reset; the transport should set NEEDS_RESET).
 */
int virtq_pop(struct virtqueue *vq, struct virtq_chain *chain);

/*
 * Gives back the chain the last virtq_pop() returned, as if it had not
 * been popped: the next pop reads it again from guest memory (a device
 * that may not take it yet, e.g. a rate limit). Nothing may have been
 * popped or pushed since.
 */
void virtq_unpop(struct virtqueue *vq, const struct virtq_chain *chain);

/* Buffers posted and not yet popped (packed: descriptor slots). */
uint16_t virtq_avail_count(const struct virtqueue *vq);
/*
 * Buffers popped and not yet taken back by the driver, by its used-event
 * index; -1 when that index says nothing (no EVENT_IDX, or Linux parked
 * it while it reaps). Add virtq_avail_count() for the driver's depth.
 * Packed rings count descriptor slots.
 */
int virtq_driver_taken(const struct virtqueue *vq);

/*
 * True when pop would find nothing; no side effects. False on a ring it
 * cannot read, so that the caller's next pop reports the error.
 */
bool virtq_empty(const struct virtqueue *vq);

/* Return a popped buffer (a batch of one); @written is clamped to writable. */
int virtq_push(struct virtqueue *vq, const struct virtq_chain *chain,
	       uint32_t written);

/*
 * Return @n popped buffers in this order, all published at once: the driver
 * sees every one or none (virtio-net's merged receive buffers, whose first
 * buffer says how many follow). @written[i] as for virtq_push(). Nothing is
 * published on an error.
 */
int virtq_push_batch(struct virtqueue *vq, const struct virtq_chain *chains,
		     const uint32_t *written, unsigned int n);

/* After pushing: does the driver want a used buffer notification? */
bool virtq_should_notify(struct virtqueue *vq);

/*
 * Ask the driver for (or to stop sending) available buffer notifications.
 * After enabling, pop again: a buffer added meanwhile sends no kick.
 */
void virtq_set_notification(struct virtqueue *vq, bool enable);

/*
 * Copy @len bytes at @offset within the chain's readable (resp. writable)
 * bytes. 0, -ERANGE if the chain is too short, -EFAULT if memory moved.
 */
int virtq_chain_read(struct dma_space *dma, const struct virtq_chain *chain,
		     uint64_t offset, void *dst, size_t len);
int virtq_chain_write(struct dma_space *dma, const struct virtq_chain *chain,
		      uint64_t offset, const void *src, size_t len);

/*
 * Host iovecs for the readable (@write false) or writable segments, for
 * readv/writev: a segment takes as many as its translation has pieces.
 * Returns the count, -ENOSPC if @max is too small, -EFAULT. Release them
 * with virtq_chain_unmap() once the I/O on them is done.
 */
int virtq_chain_iov(struct dma_space *dma, const struct virtq_chain *chain,
		    bool write, struct iovec *iov, unsigned int max);
/* @written: bytes the device put into a writable mapping. */
void virtq_chain_unmap(struct dma_space *dma, const struct virtq_chain *chain,
		       bool write, const struct iovec *iov, unsigned int n,
		       size_t written);

/* A static description of any VIRTQ_E_* or errno value (either sign). */
const char *virtq_strerror(int err);

/* True when @event_idx lies in [old, new_idx): the EVENT_IDX rule. */
static inline bool virtq_need_event(uint16_t event_idx, uint16_t new_idx,
				    uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

#endif
