// SPDX-License-Identifier: GPL-2.0
#include "virtio/blk.h"

#include <errno.h>
#include <linux/virtio_blk.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>

#include "backend/block.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/evloop.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/rate_limit.h"
#include "util/stats.h"
#include "virtio/virtio.h"

#define BLK_QUEUE_SIZE 256
/*
 * A chain holds at most queue-size descriptors, indirect ones included
 * (docs/virtqueue.md); the header and the status byte take two.
 */
#define BLK_SEG_MAX (BLK_QUEUE_SIZE - 2)
#define BLK_HDR_LEN 16 /* struct virtio_blk_outhdr */
#define BLK_DWZ_LEN 16 /* struct virtio_blk_discard_write_zeroes */
#define SECTOR_SHIFT 9
#define MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB */
/* Without ZERO_RANGE or PUNCH_HOLE the backend writes zeroes inline. */
#define MAX_WRITE_ZEROES_SECTORS (1u << 16) /* 32 MiB */
#define NO_SLOT 0xffffu
/*
 * Requests popped per notification: ones that complete at once (errors,
 * GET_ID) free their slot, so a guest that keeps refilling the ring would
 * otherwise hold the I/O thread its other devices share. The rest waits
 * for a kick we send ourselves, behind what else is ready.
 */
#define BLK_BUDGET (BLK_QUEUE_SIZE / 2)
/*
 * With this many requests of a queue in the backend, the guest's kicks
 * stay off: the next completion brings us back to the ring anyway, and a
 * request waiting for it costs a disk this busy little, where a kick
 * costs an exit per request. Below it a waiting request would leave the
 * disk idle, so the guest kicks as before.
 */
#define BLK_QUIET_DEPTH 8
#define IOV_ARENA_SIZE \
	((size_t)BLK_QUEUE_SIZE * BLK_QUEUE_SIZE * sizeof(struct iovec))
/* start_request(): the backend took it; done() completes it. */
#define BLK_PENDING 0x100

/* struct virtio_blk_config, little-endian, up to write_zeroes_may_unmap. */
#define CFG_CAPACITY 0
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_PHYS_BLOCK_EXP 24
#define CFG_MIN_IO_SIZE 26
#define CFG_NUM_QUEUES 34
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_ALIGN 44
#define CFG_MAX_WZ_SECTORS 48
#define CFG_MAX_WZ_SEG 52
#define CFG_WZ_MAY_UNMAP 56
#define CFG_LEN 60

struct virtio_blk;
struct vblk_queue;

/* One request popped from a queue, until it is pushed back. */
struct vblk_req {
	struct blk_req req;
	struct vblk_queue *bq;
	struct iovec *iov; /* BLK_QUEUE_SIZE entries of the queue's arena */
	struct virtq_chain chain; /* what virtq_push needs; no segments */
	uint64_t status_gpa;
	uint16_t nr_mapped; /* vr->iov entries held from virtq_chain_iov() */
	bool mapped_write; /* ... of the writable segments (a read) */
	uint32_t used_len;
	uint32_t gen;
	uint16_t next_free;
};

struct vblk_queue {
	struct virtio_blk *blk;
	struct virtqueue *vq;
	unsigned int index;
	/*
	 * Requests of an older generation belong to a ring the driver has
	 * reset: they complete without touching it.
	 */
	uint32_t gen;
	/* Ring slots held by this generation: mirrors vq->inflight. */
	uint32_t slots;
	uint16_t free_head;
	bool stalled; /* out of slots, kicks off: a completion resumes us */
	bool quiet; /* BLK_QUIET_DEPTH in flight, kicks off: likewise */
	bool throttled; /* over the rate limit, kicks off: its timer resumes */
	/* Requests of this queue in the backend; a queue disable waits. */
	unsigned int inflight;
	bool draining;
	struct vblk_req *reqs; /* BLK_QUEUE_SIZE */
	struct iovec *iovs; /* BLK_QUEUE_SIZE per request */
};

struct virtio_blk {
	struct virtio_dev vdev;
	struct blk_backend *be;
	struct evloop *loop;
	uint64_t sectors;
	bool readonly;
	bool discard;
	bool write_zeroes;
	bool closing; /* blk_close() from destroy: done() only frees */
	/* Requests in the backend, and whether a reset waits for them. */
	unsigned int inflight;
	bool draining;
	char serial[VIRTIO_BLK_ID_BYTES];
	uint8_t config[CFG_LEN];
	struct virtqueue *vqs;
	struct vblk_queue *queues;
	/* Scratch for virtq_pop(); the device lock serialises its users. */
	struct virtq_seg segs[BLK_QUEUE_SIZE];
	/* Done reads and writes, for vm.counters; device lock. */
	uint64_t read_ops, read_bytes, write_ops, write_bytes;
	/* bw_/ops_ limits (virtio_blk_set_rate_limit()); device lock. */
	bool limited;
	struct rate_limiter rl;
	struct evloop_timer rl_timer; /* the I/O thread's */
	uint64_t throttled; /* times a request waited for the limit */
};

static struct virtio_blk *to_blk(struct virtio_dev *vdev)
{
	return (struct virtio_blk *)vdev;
}

/* Request slots ------------------------------------------------------------ */

static struct vblk_req *slot_get(struct vblk_queue *bq)
{
	struct vblk_req *vr = &bq->reqs[bq->free_head];

	bq->free_head = vr->next_free;
	return vr;
}

/* Every request ends here: what it mapped for the back-end is released. */
static void slot_put(struct vblk_queue *bq, struct vblk_req *vr)
{
	if (vr->nr_mapped)
		virtq_chain_unmap(&bq->blk->vdev.dma, NULL, vr->mapped_write,
				  vr->iov, vr->nr_mapped,
				  vr->mapped_write ? vr->used_len : 0);
	vr->nr_mapped = 0;
	vr->next_free = bq->free_head;
	bq->free_head = (uint16_t)(vr - bq->reqs);
}

/*
 * The core resets a ring behind our back on a transport queue disable
 * (virtio-mmio QueueReady = 0); the ring then holds fewer buffers than we
 * do. What we still hold belongs to the old ring: retire it.
 */
static void sync_gen(struct vblk_queue *bq)
{
	if (bq->vq->inflight != bq->slots) {
		bq->gen++;
		bq->slots = 0;
	}
}

/* Status byte, used buffer, slot back. */
static void complete(struct virtio_blk *blk, struct vblk_req *vr,
		     uint8_t status, uint32_t used_len)
{
	struct vblk_queue *bq = vr->bq;

	/*
	 * Checked at pop; a translation the guest has revoked since then
	 * loses the status, as on hardware behind an IOMMU.
	 */
	(void)dma_write(&blk->vdev.dma, vr->status_gpa, &status, 1);
	/* A broken ring keeps the buffer, and so vq->inflight, until reset. */
	if (!virtq_push(bq->vq, &vr->chain, used_len))
		bq->slots -= vr->chain.ndescs;
	slot_put(bq, vr);
}

static uint8_t errno_status(int err)
{
	return err == -EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

static const char *op_name(enum blk_op op)
{
	switch (op) {
	case BLK_OP_READ:
		return "read";
	case BLK_OP_WRITE:
		return "write";
	case BLK_OP_FLUSH:
		return "flush";
	case BLK_OP_DISCARD:
		return "discard";
	case BLK_OP_WRITE_ZEROES:
		return "write-zeroes";
	}
	return "request";
}

/* Backend completion; device lock held (or nothing runs: closing). */
static void req_done(struct blk_req *req, int result)
{
	struct vblk_req *vr = req->opaque;
	struct vblk_queue *bq = vr->bq;
	struct virtio_blk *blk = bq->blk;

	blk->inflight--;
	bq->inflight--;
	/* The last request of a disabled queue: QueueReady may read 0. */
	if (!blk->closing && bq->draining && !bq->inflight) {
		bq->draining = false;
		virtio_dev_queue_disable_done(&blk->vdev, bq->index);
	}
	if (!blk->closing && vr->gen == bq->gen)
		sync_gen(bq);
	if (blk->closing || vr->gen != bq->gen) {
		slot_put(bq, vr);
		return;
	}
	if (result >= 0 && req->op == BLK_OP_READ) {
		blk->read_ops++;
		blk->read_bytes += result;
	} else if (result >= 0 && req->op == BLK_OP_WRITE) {
		blk->write_ops++;
		blk->write_bytes += result;
	}
	/* Guest mistakes were refused at submission; this is the host's. */
	if (result < 0 && result != -EOPNOTSUPP)
		pr_warn_ratelimited("%s: %s at byte %llu: %s", blk->vdev.name,
				    op_name(req->op),
				    (unsigned long long)req->offset,
				    strerror(-result));
	complete(blk, vr, result < 0 ? errno_status(result) : VIRTIO_BLK_S_OK,
		 vr->used_len);
}

/* Requests ----------------------------------------------------------------- */

static bool range_ok(const struct virtio_blk *blk, uint64_t sector, uint64_t nr)
{
	return sector <= blk->sectors && nr <= blk->sectors - sector;
}

static int submit(struct virtio_blk *blk, struct vblk_req *vr)
{
	int r;

	vr->req.done = req_done;
	vr->req.opaque = vr;
	r = blk_submit(blk->be, &vr->req);
	if (!r) {
		blk->inflight++;
		vr->bq->inflight++;
		return BLK_PENDING;
	}
	pr_debug_ratelimited("%s: backend refused a request: %s",
			     blk->vdev.name, strerror(-r));
	return errno_status(r);
}

static int start_rw(struct virtio_blk *blk, struct vblk_req *vr,
		    const struct virtq_chain *c, bool write, uint64_t sector)
{
	uint64_t len = write ? c->readable - BLK_HDR_LEN : c->writable - 1;
	struct iovec *iov;
	int n;

	/* RO binds whether or not the driver accepted the feature. */
	if (write && blk->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (len % BLK_SECTOR_SIZE ||
	    !range_ok(blk, sector, len >> SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	n = virtq_chain_iov(&blk->vdev.dma, c, !write, vr->iov, BLK_QUEUE_SIZE);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	vr->nr_mapped = (uint16_t)n;
	vr->mapped_write = !write;
	if (write) {
		iov = vr->iov;
		n = iov_skip(&iov, n, BLK_HDR_LEN);
	} else {
		/* The status byte ends the last writable segment. */
		iov = vr->iov;
		if (!--iov[n - 1].iov_len)
			n--;
		vr->used_len = (uint32_t)len + 1;
	}
	vr->req.op = write ? BLK_OP_WRITE : BLK_OP_READ;
	vr->req.offset = sector << SECTOR_SHIFT;
	vr->req.iov = iov;
	vr->req.iovcnt = (unsigned int)n;
	return submit(blk, vr);
}

static int get_id(struct virtio_blk *blk, struct vblk_req *vr,
		  const struct virtq_chain *c)
{
	uint32_t n = c->writable - 1;

	/* NUL-padded; no terminator at the full 20 bytes. */
	if (n > VIRTIO_BLK_ID_BYTES)
		n = VIRTIO_BLK_ID_BYTES;
	if (virtq_chain_write(&blk->vdev.dma, c, 0, blk->serial, n))
		return VIRTIO_BLK_S_IOERR;
	vr->used_len = n + 1;
	return VIRTIO_BLK_S_OK;
}

static int start_discard_wz(struct virtio_blk *blk, struct vblk_req *vr,
			    const struct virtq_chain *c, bool wz)
{
	uint32_t bytes = c->readable - BLK_HDR_LEN, nr, flags;
	uint8_t seg[BLK_DWZ_LEN];
	uint64_t sector;

	if (blk->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (wz ? !blk->write_zeroes : !blk->discard)
		return VIRTIO_BLK_S_UNSUPP;
	/* Whole segments beyond max_discard_seg/max_write_zeroes_seg = 1. */
	if (bytes > BLK_DWZ_LEN && !(bytes % BLK_DWZ_LEN))
		return VIRTIO_BLK_S_UNSUPP;
	if (bytes != BLK_DWZ_LEN ||
	    virtq_chain_read(&blk->vdev.dma, c, BLK_HDR_LEN, seg, sizeof(seg)))
		return VIRTIO_BLK_S_IOERR;
	sector = get_le(seg, 8);
	nr = (uint32_t)get_le(seg + 8, 4);
	flags = (uint32_t)get_le(seg + 12, 4);
	/* Spec 5.2.6.2: unknown flags, and UNMAP on a discard. */
	if (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP ||
	    (!wz && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)))
		return VIRTIO_BLK_S_UNSUPP;
	if (nr > (wz ? MAX_WRITE_ZEROES_SECTORS : MAX_DISCARD_SECTORS) ||
	    !range_ok(blk, sector, nr))
		return VIRTIO_BLK_S_IOERR;
	vr->req.op = wz ? BLK_OP_WRITE_ZEROES : BLK_OP_DISCARD;
	vr->req.flags =
		flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP ? BLK_REQ_UNMAP : 0;
	vr->req.offset = sector << SECTOR_SHIFT;
	vr->req.len = (uint64_t)nr << SECTOR_SHIFT;
	return submit(blk, vr);
}

/* A status, or BLK_PENDING. */
static int start_request(struct virtio_blk *blk, struct vblk_req *vr,
			 const struct virtq_chain *c)
{
	uint8_t hdr[BLK_HDR_LEN];
	uint64_t sector;
	uint32_t type;

	/* Copied once: the guest may rewrite it under us. */
	if (c->readable < BLK_HDR_LEN ||
	    virtq_chain_read(&blk->vdev.dma, c, 0, hdr, sizeof(hdr)))
		return VIRTIO_BLK_S_IOERR;
	type = (uint32_t)get_le(hdr, 4);
	sector = get_le(hdr + 8, 8);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return start_rw(blk, vr, c, type == VIRTIO_BLK_T_OUT, sector);
	case VIRTIO_BLK_T_FLUSH:
		vr->req.op = BLK_OP_FLUSH;
		return submit(blk, vr);
	case VIRTIO_BLK_T_GET_ID:
		return get_id(blk, vr, c);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return start_discard_wz(blk, vr, c,
					type == VIRTIO_BLK_T_WRITE_ZEROES);
	}
	return VIRTIO_BLK_S_UNSUPP;
}

/* 0, or -errno after failing the device. */
static int handle_request(struct virtio_blk *blk, struct vblk_queue *bq,
			  const struct virtq_chain *c)
{
	const struct virtq_seg *last;
	struct vblk_req *vr;
	int st;

	/*
	 * Nowhere to put a status, so nothing to complete: the driver broke
	 * the protocol (QEMU does the same). Readable segments come first,
	 * so a writable byte means the last segment is writable.
	 */
	last = c->writable ? &c->segs[c->nsegs - 1] : NULL;
	if (!last || !last->write) {
		/* Held until reset, as the ring holds it: sync_gen() agrees. */
		bq->slots += c->ndescs;
		virtio_dev_fail(&blk->vdev, -EINVAL,
				"request without a status byte");
		return -EINVAL;
	}
	vr = slot_get(bq);
	vr->req = (struct blk_req){ 0 };
	vr->chain = *c;
	vr->chain.segs = NULL;
	vr->chain.cap = vr->chain.nsegs = 0;
	vr->status_gpa = last->gpa + last->len - 1;
	vr->used_len = 1;
	vr->gen = bq->gen;
	bq->slots += c->ndescs;

	st = start_request(blk, vr, c);
	if (st != BLK_PENDING)
		complete(blk, vr, (uint8_t)st, vr->used_len);
	return 0;
}

/*
 * Over the rate limit: the request goes back to the ring and the queue
 * waits, kicks off, for the limiter's timer. True if it must wait.
 */
static bool throttle(struct virtio_blk *blk, struct vblk_queue *bq,
		     const struct virtq_chain *c)
{
	/* Data bytes: less the 16-byte header and the status byte. */
	uint64_t all = (uint64_t)c->readable + c->writable;
	uint64_t wait = rate_limiter_take(&blk->rl, all > 17 ? all - 17 : 0,
					  monotonic_ns());

	if (!wait)
		return false;
	virtq_unpop(bq->vq, c);
	blk->throttled++;
	/* Off the I/O thread (never in devisor) a kick retries instead. */
	if (evloop_timer_arm(blk->loop, &blk->rl_timer, wait))
		bq->throttled = true;
	else
		virtio_dev_kick(&blk->vdev, bq->index);
	return true;
}

/*
 * 0: ring empty; 1: out of slots; 2: out of budget; 3: over the rate
 * limit; -errno: device failed.
 */
static int pop_requests(struct virtio_blk *blk, struct vblk_queue *bq,
			unsigned int *budget)
{
	struct virtq_chain c = VIRTQ_CHAIN_INIT(blk->segs);
	int r;

	while (bq->free_head != NO_SLOT) {
		if (!*budget)
			return 2;
		--*budget;
		r = virtq_pop(bq->vq, &c);
		if (r < 0)
			virtio_dev_fail(&blk->vdev, r, "request queue");
		if (r <= 0)
			return r;
		if (blk->limited && throttle(blk, bq, &c))
			return 3;
		stats_add(STATS_BLK_REQS, 1);
		r = handle_request(blk, bq, &c);
		if (r)
			return r;
	}
	return 1;
}

static void process_queue(struct virtio_blk *blk, struct vblk_queue *bq)
{
	struct virtqueue *vq = bq->vq;
	unsigned int budget = BLK_BUDGET;
	int r;

	stats_add(STATS_BLK_PASSES, 1);
	sync_gen(bq);
	/* Over the limit: its timer comes back, not a kick. */
	if (bq->throttled)
		return;
	do {
		virtq_set_notification(vq, false);
		r = pop_requests(blk, bq, &budget);
		if (r)
			break;
		bq->quiet = bq->inflight >= BLK_QUIET_DEPTH;
		if (bq->quiet) {
			stats_add(STATS_BLK_QUIET, 1);
			break;
		}
		/* The I/O thread's poll watches the ring; its end turns kicks on. */
		if (virtio_dev_polling(&blk->vdev))
			break;
		virtq_set_notification(vq, true);
	} while (!virtq_empty(vq));
	/* Only with requests of a reset ring still in the backend. */
	if (r == 1)
		bq->stalled = true;
	/* The rest waits behind the I/O thread's other work. */
	if (r == 2)
		virtio_dev_kick(&blk->vdev, bq->index);
	/* What was accepted before a failure still runs and completes. */
	blk_flush_submissions(blk->be);
	virtio_dev_notify_queue(&blk->vdev, bq->index);
}

/* Device ops --------------------------------------------------------------- */

static void vblk_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_blk *blk = to_blk(vdev);

	process_queue(blk, &blk->queues[q]);
}

/* The rate limiter's timer: the queues that waited go on. */
static void rl_timer_cb(void *opaque)
{
	struct virtio_blk *blk = opaque;
	struct virtio_dev *vdev = &blk->vdev;

	virtio_dev_lock(vdev);
	for (unsigned int q = 0; q < vdev->nr_queues; q++) {
		struct vblk_queue *bq = &blk->queues[q];

		if (!bq->throttled)
			continue;
		bq->throttled = false;
		if (virtio_dev_running(vdev) && bq->vq->ready)
			process_queue(blk, bq);
	}
	virtio_dev_unlock(vdev);
}

/* Completions to hand back, on the I/O thread; the device lock held. */
static void completions(struct virtio_blk *blk)
{
	struct virtio_dev *vdev = &blk->vdev;

	blk_process_completions(blk->be);
	if (blk->draining && !blk->inflight) {
		blk->draining = false;
		virtio_dev_reset_done(vdev);
	}
	for (unsigned int q = 0; q < vdev->nr_queues; q++) {
		struct vblk_queue *bq = &blk->queues[q];

		if (bq->draining && !bq->inflight) {
			bq->draining = false;
			virtio_dev_queue_disable_done(vdev, q);
		}
		/* One interrupt per batch, if the driver wants it. */
		virtio_dev_notify_queue(vdev, q);
		if ((bq->stalled && bq->free_head != NO_SLOT) || bq->quiet) {
			bq->stalled = false;
			bq->quiet = false;
			if (virtio_dev_running(vdev) && bq->vq->ready)
				process_queue(blk, bq);
		}
	}
}

/* The completion eventfd, on the I/O thread. */
static void vblk_completion_cb(void *opaque, uint32_t events)
{
	struct virtio_blk *blk = opaque;

	virtio_dev_lock(&blk->vdev);
	completions(blk);
	virtio_dev_unlock(&blk->vdev);
}

/* Polling (virtio_dev_set_poll()): a stalled or quiet queue waits for a
 * completion instead. */
static bool vblk_queue_pollable(struct virtio_dev *vdev, unsigned int q)
{
	struct vblk_queue *bq = &to_blk(vdev)->queues[q];

	return !bq->stalled && !bq->quiet && !bq->throttled;
}

static bool vblk_poll(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = to_blk(vdev);

	if (!blk_completions_pending(blk->be))
		return false;
	completions(blk);
	return true;
}

static void vblk_reset(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = to_blk(vdev);

	for (unsigned int q = 0; q < vdev->nr_queues; q++) {
		blk->queues[q].gen++;
		blk->queues[q].slots = 0;
		blk->queues[q].stalled = false;
		blk->queues[q].quiet = false;
		blk->queues[q].draining = false;
		/* An armed timer then finds nothing to resume. */
		blk->queues[q].throttled = false;
	}
	/*
	 * Reads in flight may still land in buffers the driver reclaims once
	 * it reads status 0, so 0 waits for the last of them: the I/O thread
	 * completes the reset (vblk_completion_cb()), and this vCPU never
	 * waits for the disk under the device lock. The completions of the
	 * old generation touch nothing of the guest's.
	 */
	if (blk->inflight) {
		blk->draining = true;
		virtio_dev_reset_later(vdev);
	}
}

/*
 * virtio-mmio QueueReady = 0: the ring's requests become an old
 * generation; reads among them may still land in the driver's buffers, so
 * the queue reads as ready until the last one is done.
 */
static bool vblk_queue_disable(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_blk *blk = to_blk(vdev);
	struct vblk_queue *bq = &blk->queues[q];

	bq->gen++;
	bq->slots = 0;
	bq->stalled = false;
	bq->quiet = false;
	bq->throttled = false;
	bq->draining = bq->inflight > 0;
	return bq->draining;
}

static void free_queues(struct virtio_blk *blk, unsigned int n)
{
	for (unsigned int q = 0; q < n; q++) {
		struct vblk_queue *bq = &blk->queues[q];

		if (bq->iovs)
			munmap(bq->iovs, IOV_ARENA_SIZE);
		free(bq->reqs);
	}
	free(blk->queues);
	free(blk->vqs);
}

static void vblk_stop(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = to_blk(vdev);

	evloop_del(blk->loop, blk_completion_fd(blk->be));
	/* Waits out a run of it; no lock held here. */
	evloop_timer_cancel(blk->loop, &blk->rl_timer);
}

static void vblk_destroy(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = to_blk(vdev);

	blk->closing = true;
	blk_close(blk->be);
	free_queues(blk, vdev->nr_queues);
	free(blk);
}

static void vblk_counters(struct virtio_dev *vdev,
			  void (*fn)(void *arg, const char *name,
				     uint64_t value),
			  void *arg)
{
	struct virtio_blk *blk = to_blk(vdev);

	fn(arg, "read_bytes", blk->read_bytes);
	fn(arg, "read_ops", blk->read_ops);
	fn(arg, "write_bytes", blk->write_bytes);
	fn(arg, "write_ops", blk->write_ops);
	if (blk->limited)
		fn(arg, "rate_limited", blk->throttled);
}

static const struct virtio_dev_ops vblk_ops = {
	.counters = vblk_counters,
	.reset = vblk_reset,
	.queue_disable = vblk_queue_disable,
	.queue_notify = vblk_queue_notify,
	.queue_pollable = vblk_queue_pollable,
	.poll = vblk_poll,
	.stop = vblk_stop,
	.destroy = vblk_destroy,
};

/* Creation ----------------------------------------------------------------- */

static int queue_init(struct virtio_blk *blk, unsigned int q)
{
	struct vblk_queue *bq = &blk->queues[q];

	bq->blk = blk;
	bq->vq = &blk->vqs[q];
	bq->index = q;
	bq->reqs = calloc(BLK_QUEUE_SIZE, sizeof(*bq->reqs));
	if (!bq->reqs)
		return -ENOMEM;
	/*
	 * 1 MiB of address space per queue, but only the slots a guest
	 * keeps busy get pages: the free list is LIFO.
	 */
	bq->iovs = mmap(NULL, IOV_ARENA_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bq->iovs == MAP_FAILED) {
		bq->iovs = NULL;
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < BLK_QUEUE_SIZE; i++) {
		struct vblk_req *vr = &bq->reqs[i];

		vr->bq = bq;
		vr->iov = &bq->iovs[(size_t)i * BLK_QUEUE_SIZE];
		vr->next_free = i + 1 < BLK_QUEUE_SIZE ? i + 1 : NO_SLOT;
	}
	bq->free_head = 0;
	return 0;
}

static void setup_config(struct virtio_blk *blk, const struct blk_info *info,
			 unsigned int nr_queues)
{
	uint32_t lbs = info->logical_block_size;
	uint32_t pbs = info->physical_block_size;
	uint8_t *cfg = blk->config;
	uint64_t f;

	f = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
	    1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_TOPOLOGY;
	if (blk->readonly)
		f |= 1ull << VIRTIO_BLK_F_RO;
	if (blk->discard)
		f |= 1ull << VIRTIO_BLK_F_DISCARD;
	if (blk->write_zeroes)
		f |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	if (nr_queues > 1)
		f |= 1ull << VIRTIO_BLK_F_MQ;
	blk->vdev.device_features = f;

	put_le(cfg + CFG_CAPACITY, info->sectors, 8);
	put_le(cfg + CFG_SEG_MAX, BLK_SEG_MAX, 4);
	put_le(cfg + CFG_BLK_SIZE, lbs, 4);
	/* Physical blocks in logical ones: min_io_size counts those too. */
	cfg[CFG_PHYS_BLOCK_EXP] = (uint8_t)ilog2(pbs / lbs);
	put_le(cfg + CFG_MIN_IO_SIZE, pbs / lbs, 2);
	put_le(cfg + CFG_NUM_QUEUES, nr_queues, 2);
	if (blk->discard) {
		put_le(cfg + CFG_MAX_DISCARD_SECTORS, MAX_DISCARD_SECTORS, 4);
		put_le(cfg + CFG_MAX_DISCARD_SEG, 1, 4);
		put_le(cfg + CFG_DISCARD_ALIGN, lbs / BLK_SECTOR_SIZE, 4);
	}
	if (blk->write_zeroes) {
		put_le(cfg + CFG_MAX_WZ_SECTORS, MAX_WRITE_ZEROES_SECTORS, 4);
		put_le(cfg + CFG_MAX_WZ_SEG, 1, 4);
		/* The backend punches a hole for UNMAP when it can discard. */
		cfg[CFG_WZ_MAY_UNMAP] = blk->discard;
	}
	blk->vdev.config = cfg;
	blk->vdev.config_len = CFG_LEN;
}

struct virtio_dev *virtio_blk_create(struct vm *vm, struct blk_backend *be,
				     struct evloop *loop,
				     unsigned int nr_queues)
{
	const struct blk_info *info;
	struct virtio_blk *blk;
	unsigned int q = 0;
	int err = -ENOMEM;

	if (!be || !loop || !nr_queues || nr_queues > VIRTIO_BLK_MAX_QUEUES) {
		pr_err("virtio-blk: %u queues asked for, 1 to %u possible",
		       nr_queues, VIRTIO_BLK_MAX_QUEUES);
		errno = EINVAL;
		return NULL;
	}
	info = blk_info(be);
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		goto fail;
	blk->vqs = calloc(nr_queues, sizeof(*blk->vqs));
	blk->queues = calloc(nr_queues, sizeof(*blk->queues));
	if (!blk->vqs || !blk->queues)
		goto fail;
	/* vdev first: the ops cast back to the device. */
	err = virtio_dev_init(&blk->vdev, "virtio-blk", VIRTIO_ID_BLOCK,
			      &vblk_ops, blk->vqs, nr_queues, BLK_QUEUE_SIZE,
			      &vm->mem);
	if (err)
		goto fail;
	for (; q < nr_queues; q++) {
		err = queue_init(blk, q);
		if (err) {
			q++; /* free the partial one too */
			goto fail_lock;
		}
	}
	blk->be = be;
	blk->loop = loop;
	blk->rl_timer =
		(struct evloop_timer){ .fn = rl_timer_cb, .opaque = blk };
	blk->sectors = info->sectors;
	blk->readonly = info->readonly;
	blk->discard = info->discard;
	blk->write_zeroes = info->write_zeroes;
	/* blk_info's serial is only NUL-terminated: pad it ourselves. */
	memcpy(blk->serial, info->serial,
	       strnlen(info->serial, VIRTIO_BLK_ID_BYTES));
	setup_config(blk, info, nr_queues);

	/* Here, not in a device op: see the locking note in virtio.h. */
	err = evloop_add(loop, blk_completion_fd(be), EPOLLIN,
			 vblk_completion_cb, blk);
	if (err)
		goto fail_lock;
	return &blk->vdev;

fail_lock:
	pthread_mutex_destroy(&blk->vdev.lock);
fail:
	pr_err("virtio-blk: cannot create the device: %s", strerror(-err));
	if (blk) {
		if (blk->queues)
			free_queues(blk, q);
		else
			free(blk->vqs);
		free(blk);
	}
	errno = -err;
	return NULL;
}

void virtio_blk_set_poll(struct virtio_dev *vdev, uint64_t max_ns)
{
	virtio_dev_set_poll(vdev, to_blk(vdev)->loop, max_ns);
}

int virtio_blk_resize(struct virtio_dev *vdev, uint64_t bytes)
{
	struct virtio_blk *blk;
	int err;

	if (vdev->ops != &vblk_ops)
		return -ENODEV;
	blk = to_blk(vdev);
	virtio_dev_lock(vdev);
	err = blk_resize(blk->be, bytes);
	if (!err && blk_info(blk->be)->sectors != blk->sectors) {
		blk->sectors = blk_info(blk->be)->sectors;
		put_le(blk->config + CFG_CAPACITY, blk->sectors, 8);
		virtio_dev_config_changed(vdev);
	}
	virtio_dev_unlock(vdev);
	return err;
}

void virtio_blk_set_rate_limit(struct virtio_dev *vdev,
			       const struct rate_limit_config *c)
{
	struct virtio_blk *blk = to_blk(vdev);

	virtio_dev_lock(vdev);
	blk->limited = rate_limit_config_active(c);
	rate_limiter_init(&blk->rl, c, monotonic_ns());
	virtio_dev_unlock(vdev);
}
