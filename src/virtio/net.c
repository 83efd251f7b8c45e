// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net: receive/transmit queue pairs over one back-end each; with
 * more than one (a multi-queue tap) a control queue too, on which the
 * guest says how many pairs it uses (VIRTIO_NET_CTRL_MQ): the others'
 * tap queues are detached, so the kernel steers nothing to them.
 *
 * Every frame on a queue starts with a 12-byte struct virtio_net_hdr_v1
 * (modern devices always have num_buffers). A back-end with a vnet header
 * (tap) speaks the same header, so it passes through both ways and the
 * guest may negotiate offloads; for one without (user networking) the
 * header is stripped on transmit and a zeroed one is made up on receive.
 *
 * With vhost (tap only, `vhost=on|auto`) both queues are served by the host
 * kernel's vhost-net worker, which reads and writes the tap itself: the
 * guest's notify goes from KVM's ioeventfd to the worker, its interrupt
 * back through KVM's irqfd (or our call eventfd on virtio-mmio and INTx),
 * and no frame passes through devisor. The device model keeps the
 * configuration space, feature negotiation and the tap's offloads.
 * docs/virtio.md.
 *
 * Threads: kicks run on the transport's I/O thread, the back-end's rx and
 * tx_ready callbacks on the back-end's, register writes (reset, features)
 * on vCPUs. All of it under vdev->lock.
 */
#include "virtio/net.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backend/net.h"
#include "kvm/vm.h"
#include "util/evloop.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/rate_limit.h"
#include "vhost/vhost.h"
#include "vhost/vhost_user.h"
#include "virtio/virtio.h"

#define NET_QUEUE_SIZE VIRTIO_NET_QUEUE_SIZE
#define MAX_PAIRS NET_MAX_QUEUE_PAIRS
#define RXQ(pair) (2 * (pair))
#define TXQ(pair) (2 * (pair) + 1)
/* A control command: header, data, ack (MAC tables take more). */
#define CTRL_SEGS 16

#define HDR_LEN NET_VNET_HDR_LEN
#define ETH_HLEN 14
/* A GSO frame at most: 64 KiB of IP plus the Ethernet header. */
#define TX_MAX_FRAME (65536 + ETH_HLEN)
/* Frames per transmit run before the I/O thread serves others. */
#define TX_BUDGET NET_QUEUE_SIZE
/*
 * Segments of the receive buffers held at once. A pop needs room for a
 * whole chain (up to the queue size); drivers use one or two segments per
 * buffer, so this only ever runs out on buffers of a few bytes each.
 */
#define RX_POOL_SEGS (8 * NET_QUEUE_SIZE)
/* libslirp's default if_mtu */
#define USER_MTU 1500
/* struct virtio_net_config up to mtu */
#define CFG_LEN 12

_Static_assert(sizeof(struct virtio_net_hdr_v1) == HDR_LEN, "vnet header");

#define F(bit) (1ull << (bit))
#define OFFLOAD_FEATURES                                           \
	(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |       \
	 F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) | \
	 F(VIRTIO_NET_F_GUEST_ECN) | F(VIRTIO_NET_F_GUEST_UFO) |   \
	 F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |   \
	 F(VIRTIO_NET_F_HOST_ECN) | F(VIRTIO_NET_F_HOST_UFO))

struct virtio_net;

/* One receive/transmit queue pair and its back-end (a tap queue). */
struct vnet_pair {
	struct virtio_net *n;
	unsigned int idx;
	struct net_backend *be;
	struct virtqueue *rxq, *txq;

	/*
	 * Transmit: the chain being sent. It stays popped across -EAGAIN
	 * until the back-end's tx_ready; kicks are off meanwhile.
	 */
	struct virtq_seg tx_segs[NET_QUEUE_SIZE];
	struct virtq_chain tx_chain;
	struct iovec tx_iov[NET_QUEUE_SIZE];
	bool tx_have;
	bool tx_blocked;
	/* Over the rate limit: the chain waits, kicks off, for rl_timer. */
	bool tx_throttled;

	/*
	 * Receive buffers popped but not yet used, oldest first, their
	 * segments packed into rx_pool in the same order. There is no way
	 * to give a buffer back to the ring, so a frame that does not fit
	 * yet keeps what it gathered for the next try.
	 */
	struct virtq_chain rx_held[NET_QUEUE_SIZE];
	uint32_t rx_lens[NET_QUEUE_SIZE];
	unsigned int rx_nheld;
	uint32_t rx_slots; /* their ring slots: mirrors vq->inflight */
	struct virtq_seg rx_pool[RX_POOL_SEGS];
	unsigned int rx_pool_used;
	/* The back-end holds a frame for us: rx_ready once buffers come. */
	bool rx_waiting;
	/* ... or once rl_timer says the rate limit lets it in. */
	bool rx_throttled;
	/* One interrupt per back-end batch: raised from irq_efd. */
	int irq_efd;
	bool irq_pending;

	struct virtio_net_stats stats;
};

struct virtio_net {
	struct virtio_dev vdev;
	struct virtqueue vqs[2 * MAX_PAIRS + 1];
	unsigned int nr_pairs;
	/* What the guest uses (VQ_PAIRS_SET); 1 until it says. */
	unsigned int active_pairs;
	struct vnet_pair *pairs;
	struct net_backend *be; /* pair 0's: name, MAC, vnet header */
	struct evloop *loop; /* the back-ends' */
	uint8_t config[CFG_LEN];
	struct virtq_seg ctrl_segs[CTRL_SEGS];

	/* Rate limits, each direction all pairs together; device lock. */
	bool limited;
	struct rate_limiter rx_rl, tx_rl;
	struct evloop_timer rl_timer; /* the back-ends' loop */
	uint64_t rl_due; /* when it is armed for; 0: not armed */
	uint64_t rx_limited, tx_limited; /* times a frame waited */

	/* vhost-net: the queues are the kernel's (vhost.fd >= 0). */
	struct vm *vm;
	struct vhost vhost;
	uint64_t vhost_features; /* what the kernel can do */
	struct vhost_call calls[2];
	bool vhost_running; /* rings and tap handed over */
	/* vhost-user: the queues are an external process's (vu.fd >= 0). */
	struct vhost_user vu;
	struct vhost_ram vhost_ram; /* either back-end's table follows RAM */
};

static struct virtio_net *to_net(struct virtio_dev *vdev)
{
	return (struct virtio_net *)vdev;
}

/*
 * The control queue follows the pairs the device offers, or pair 1's
 * receive queue without MQ (spec 5.1.2: N is 1 then).
 */
static bool is_ctrl(struct virtio_net *n, unsigned int q)
{
	struct virtio_dev *vdev = &n->vdev;

	if (!virtio_dev_has_feature(vdev, VIRTIO_NET_F_CTRL_VQ))
		return false;
	return q == (virtio_dev_has_feature(vdev, VIRTIO_NET_F_MQ) ?
			     2 * n->nr_pairs :
			     2);
}

/* Rate limits ------------------------------------------------------------- */

/*
 * 0 if @rl lets @bytes through now; else arms the timer for when it will
 * (the earliest of what waits) and returns nonzero. Loop thread.
 */
static bool over_limit(struct virtio_net *n, struct rate_limiter *rl,
		       uint64_t bytes)
{
	uint64_t now = monotonic_ns(), wait;

	if (!n->limited)
		return false;
	wait = rate_limiter_take(rl, bytes, now);
	if (!wait)
		return false;
	if (!n->rl_due || now + wait < n->rl_due) {
		n->rl_due = now + wait;
		if (!evloop_timer_arm(n->loop, &n->rl_timer, wait))
			n->rl_due = 0;
	}
	return true;
}

/* Transmit ---------------------------------------------------------------- */

/* Sends tx_chain; 0 when it is done with (sent or dropped), or -EAGAIN. */
static int tx_send(struct vnet_pair *p)
{
	const struct virtq_chain *c = &p->tx_chain;
	struct iovec *iov = p->tx_iov;
	size_t frame;
	int cnt, mapped, r;

	/* The vnet header may be split anywhere; the frame must follow. */
	if (c->readable < HDR_LEN + ETH_HLEN ||
	    c->readable > HDR_LEN + TX_MAX_FRAME) {
		pr_warn_ratelimited("%s: dropped a %u-byte transmit buffer",
				    p->n->vdev.name, c->readable);
		p->stats.tx_dropped++;
		return 0;
	}
	frame = c->readable - HDR_LEN;
	/* Translated now, not at pop: a retry after -EAGAIN comes later. */
	cnt = virtq_chain_iov(&p->n->vdev.dma, c, false, iov, NET_QUEUE_SIZE);
	if (cnt < 0) {
		p->stats.tx_dropped++;
		return 0;
	}
	mapped = cnt;
	if (!p->be->has_vnet_hdr)
		cnt = iov_skip(&iov, cnt, HDR_LEN);
	r = net_backend_send(p->be, iov, cnt);
	/* The back-end copied or sent the frame; nothing holds the iovecs. */
	virtq_chain_unmap(&p->n->vdev.dma, c, false, p->tx_iov, mapped, 0);
	if (r == -EAGAIN)
		return -EAGAIN;
	if (r < 0) {
		pr_debug_ratelimited("%s: %s refused a frame: %s",
				     p->n->vdev.name, p->be->name,
				     strerror(-r));
		p->stats.tx_dropped++;
		return 0;
	}
	p->stats.tx_packets++;
	p->stats.tx_bytes += frame;
	return 0;
}

/*
 * A transport queue disable (virtio-mmio QueueReady = 0) resets a ring
 * with no device op: the ring then holds fewer buffers than we do, and
 * what we hold belongs to the old ring. Forget it.
 */
static void tx_sync(struct vnet_pair *p)
{
	if (p->tx_have && p->txq->inflight != p->tx_chain.ndescs)
		p->tx_have = false;
}

static void tx_process(struct vnet_pair *p)
{
	struct virtio_dev *vdev = &p->n->vdev;
	struct virtqueue *vq = p->txq;
	unsigned int budget = TX_BUDGET;
	int r;

	tx_sync(p);
	/* Blocked: kicks are off, tx_ready (or the limit's timer) resumes. */
	if (p->tx_blocked || p->tx_throttled)
		return;
	do {
		virtq_set_notification(vq, false);
		for (;;) {
			if (!p->tx_have) {
				p->tx_chain = VIRTQ_CHAIN_INIT(p->tx_segs);
				r = virtq_pop(vq, &p->tx_chain);
				if (r < 0) {
					virtio_dev_fail(vdev, r, "transmitq");
					return;
				}
				if (!r)
					break;
				p->tx_have = true;
			}
			/* The chain stays popped while it waits. */
			if (over_limit(p->n, &p->n->tx_rl,
				       p->tx_chain.readable > HDR_LEN ?
					       p->tx_chain.readable - HDR_LEN :
					       0)) {
				p->tx_throttled = true;
				p->n->tx_limited++;
				goto out;
			}
			if (tx_send(p) == -EAGAIN) {
				p->tx_blocked = true;
				goto out;
			}
			p->tx_have = false;
			r = virtq_push(vq, &p->tx_chain, 0);
			if (r) {
				virtio_dev_fail(vdev, r, "transmitq");
				return;
			}
			if (!--budget) {
				/* Come back through the eventfd. */
				virtio_dev_kick(vdev, TXQ(p->idx));
				goto out;
			}
		}
		/* The I/O thread's poll watches the ring; its end turns kicks on. */
		if (virtio_dev_polling(vdev))
			break;
		virtq_set_notification(vq, true);
	} while (!virtq_empty(vq));
out:
	virtio_dev_notify_queue(vdev, TXQ(p->idx));
}

static void vnet_tx_ready(void *opaque)
{
	struct vnet_pair *p = opaque;

	virtio_dev_lock(&p->n->vdev);
	p->tx_blocked = false;
	if (virtio_dev_running(&p->n->vdev) && p->txq->ready)
		tx_process(p);
	virtio_dev_unlock(&p->n->vdev);
}

/*
 * Polling (virtio_dev_set_poll()): a guest that sends while it lasts (the
 * ACKs of a download, a request/response) needs no kick. Only the transmit
 * ring: a blocked one waits for tx_ready with its kicks off.
 */
static bool vnet_queue_pollable(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_net *n = to_net(vdev);
	unsigned int i = q / 2;

	return q % 2 && i < n->active_pairs && !is_ctrl(n, q) &&
	       !n->pairs[i].tx_blocked && !n->pairs[i].tx_throttled;
}

/* Receive ----------------------------------------------------------------- */

/* A frame being copied out of the back-end's iovec. */
struct src {
	const struct iovec *iov;
	int cnt;
	size_t off; /* into iov[0] */
};

/* The next contiguous piece, at most @max bytes; advances past it. */
static size_t src_next(struct src *s, size_t max, const uint8_t **p)
{
	size_t n;

	while (s->cnt && s->off == s->iov->iov_len) {
		s->iov++;
		s->cnt--;
		s->off = 0;
	}
	if (!s->cnt)
		return 0;
	n = s->iov->iov_len - s->off;
	if (n > max)
		n = max;
	*p = (const uint8_t *)s->iov->iov_base + s->off;
	s->off += n;
	return n;
}

static void src_read(struct src *s, void *dst, size_t len)
{
	uint8_t *d = dst;
	const uint8_t *p;
	size_t n;

	while (len && (n = src_next(s, len, &p))) {
		memcpy(d, p, n);
		d += n;
		len -= n;
	}
}

/* Asks for the interrupt of what was pushed; raised after the batch. */
static void rx_irq(struct vnet_pair *p)
{
	uint64_t one = 1;

	if (p->irq_pending)
		return;
	p->irq_pending = true;
	if (write(p->irq_efd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
		p->irq_pending = false;
		virtio_dev_notify_queue(&p->n->vdev, RXQ(p->idx));
	}
}

static void irq_cb(void *opaque, uint32_t events)
{
	struct vnet_pair *p = opaque;
	uint64_t cnt;

	/* Drained first: a push after this writes it again. */
	if (read(p->irq_efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("%s: irq eventfd: %s", p->n->vdev.name,
				    strerror(errno));
	virtio_dev_lock(&p->n->vdev);
	p->irq_pending = false;
	if (virtio_dev_running(&p->n->vdev))
		virtio_dev_notify_queue(&p->n->vdev, RXQ(p->idx));
	virtio_dev_unlock(&p->n->vdev);
}

/* Forgets the @k oldest held buffers (pushed or not) and packs the rest. */
static void rx_forget(struct vnet_pair *p, unsigned int k)
{
	unsigned int rest = p->rx_nheld - k, shift;

	for (unsigned int i = 0; i < k; i++)
		p->rx_slots -= p->rx_held[i].ndescs;
	if (!rest) {
		p->rx_nheld = 0;
		p->rx_pool_used = 0;
		return;
	}
	shift = p->rx_held[k].segs - p->rx_pool;
	memmove(p->rx_pool, p->rx_pool + shift,
		(p->rx_pool_used - shift) * sizeof(*p->rx_pool));
	memmove(p->rx_held, p->rx_held + k, rest * sizeof(*p->rx_held));
	for (unsigned int i = 0; i < rest; i++)
		p->rx_held[i].segs -= shift;
	p->rx_nheld = rest;
	p->rx_pool_used -= shift;
}

/*
 * Holds one more receive buffer: 1, 0 when the ring is empty (kicks are
 * then on), -ENOSPC when no more can be held, or a ring violation.
 */
static int rx_pop(struct vnet_pair *p)
{
	struct virtqueue *vq = p->rxq;
	struct virtq_chain *c;
	int r;

	if (p->rx_nheld == NET_QUEUE_SIZE ||
	    RX_POOL_SEGS - p->rx_pool_used < vq->size)
		return -ENOSPC;
	c = &p->rx_held[p->rx_nheld];
	/* A chain has at most vq->size segments: the cap never trips. */
	*c = (struct virtq_chain){ .segs = p->rx_pool + p->rx_pool_used,
				   .cap = vq->size };
	r = virtq_pop(vq, c);
	if (!r && !vq->notify_enabled) {
		/* Kicks on, then look again: a buffer posted in between
		 * sent none. */
		virtq_set_notification(vq, true);
		r = virtq_pop(vq, c);
	}
	if (r <= 0)
		return r;
	/* While buffers last the guest need not kick. */
	if (vq->notify_enabled)
		virtq_set_notification(vq, false);
	p->rx_nheld++;
	p->rx_slots += c->ndescs;
	p->rx_pool_used += c->nsegs;
	return 1;
}

/* As tx_sync(): buffers held from a ring reset behind our back. */
static void rx_sync(struct vnet_pair *p)
{
	if (p->rx_nheld && p->rxq->inflight != p->rx_slots)
		rx_forget(p, p->rx_nheld);
}

/*
 * A header from a vnet back-end, fixed up for what the guest negotiated:
 * false for a frame it cannot take (offloads set up for an earlier driver).
 */
static bool rx_hdr_ok(struct vnet_pair *p, struct virtio_net_hdr_v1 *h)
{
	struct virtio_dev *vdev = &p->n->vdev;
	unsigned int bit;

	h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	if (!virtio_dev_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM)) {
		if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return false;
		/* Spec 5.1.6.4.1: flags are zero without GUEST_CSUM. */
		h->flags = 0;
	}
	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
	case VIRTIO_NET_HDR_GSO_TCPV4:
		bit = VIRTIO_NET_F_GUEST_TSO4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		bit = VIRTIO_NET_F_GUEST_TSO6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		bit = VIRTIO_NET_F_GUEST_UFO;
		break;
	default:
		return false;
	}
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	    !virtio_dev_has_feature(vdev, VIRTIO_NET_F_GUEST_ECN))
		return false;
	return virtio_dev_has_feature(vdev, bit);
}

/* Copies bytes [@off, @off + @len) of header + frame into @c from 0. */
static int rx_fill(struct vnet_pair *p, const struct virtq_chain *c,
		   const struct virtio_net_hdr_v1 *hdr, struct src *s,
		   size_t off, size_t len)
{
	struct dma_space *dma = &p->n->vdev.dma;
	uint32_t coff = 0;
	const uint8_t *d;
	size_t k;
	int r;

	if (off < HDR_LEN) {
		k = HDR_LEN - off < len ? HDR_LEN - off : len;
		r = virtq_chain_write(dma, c, 0, (const uint8_t *)hdr + off, k);
		if (r)
			return r;
		coff = k;
		len -= k;
	}
	while (len && (k = src_next(s, len, &d))) {
		r = virtq_chain_write(dma, c, coff, d, k);
		if (r)
			return r;
		coff += k;
		len -= k;
	}
	return 0;
}

static ssize_t rx_drop(struct vnet_pair *p, const char *why)
{
	pr_debug_ratelimited("%s: dropped a frame for the guest: %s",
			     p->n->vdev.name, why);
	p->stats.rx_dropped++;
	return -EMSGSIZE;
}

/*
 * Gathers buffers for @total bytes: the count, 0 to wait for more, or
 * negative for a frame that cannot be taken.
 */
static int rx_gather(struct vnet_pair *p, size_t total, ssize_t *err)
{
	struct virtqueue *vq = p->rxq;
	bool mrg = virtio_dev_has_feature(&p->n->vdev, VIRTIO_NET_F_MRG_RXBUF);
	unsigned int nbuf = 0;
	size_t room = 0;
	int r;

	while (room < total) {
		struct virtq_chain *c;

		if (nbuf == p->rx_nheld) {
			r = rx_pop(p);
			if (r == -ENOSPC) {
				*err = rx_drop(p, "too many receive buffers");
				return -1;
			}
			if (r < 0) {
				virtio_dev_fail(&p->n->vdev, r, "receiveq");
				*err = -EIO;
				return -1;
			}
			/* The whole ring cannot hold it: never will. */
			if (!r && p->rx_slots >= vq->size) {
				*err = rx_drop(p, "larger than the receive "
						  "ring");
				return -1;
			}
			if (!r)
				return 0;
		}
		c = &p->rx_held[nbuf];
		if (!nbuf && c->writable < HDR_LEN) {
			/* Spec 5.1.6.3.1: every buffer holds a header. */
			pr_warn_ratelimited("%s: receive buffer of %u bytes "
					    "returned unused",
					    p->n->vdev.name, c->writable);
			p->stats.rx_bad_buffers++;
			r = virtq_push(vq, c, 0);
			if (r) {
				virtio_dev_fail(&p->n->vdev, r, "receiveq");
				*err = -EIO;
				return -1;
			}
			rx_forget(p, 1);
			rx_irq(p);
			continue;
		}
		/* Kept for a frame that fits, as QEMU does. */
		if (!mrg && c->writable < total) {
			*err = rx_drop(p, "larger than the receive buffer");
			return -1;
		}
		room += c->writable;
		nbuf++;
	}
	return (int)nbuf;
}

static ssize_t rx_frame(struct vnet_pair *p, const struct iovec *iov,
			int iovcnt)
{
	struct virtio_dev *vdev = &p->n->vdev;
	struct virtqueue *vq = p->rxq;
	struct virtio_net_hdr_v1 hdr = { 0 };
	size_t len = iov_length(iov, iovcnt), total, off = 0;
	struct src s = { .iov = iov, .cnt = iovcnt };
	ssize_t err = 0;
	int nbuf, r;

	/* Held in the back-end until the driver is (back) up. */
	if (!virtio_dev_running(vdev) || !vq->ready) {
		p->rx_waiting = true;
		return -EAGAIN;
	}
	/* Spec 5.1.6.5.5: nothing on a pair the guest turned off. */
	if (p->idx >= p->n->active_pairs)
		return rx_drop(p, "its queue pair is off");
	rx_sync(p);
	if (p->be->has_vnet_hdr) {
		if (len < HDR_LEN)
			return rx_drop(p, "runt");
		src_read(&s, &hdr, HDR_LEN);
		len -= HDR_LEN;
		if (!rx_hdr_ok(p, &hdr))
			return rx_drop(p, "offload not negotiated");
	}
	if (len < ETH_HLEN)
		return rx_drop(p, "runt");
	total = HDR_LEN + len;

	nbuf = rx_gather(p, total, &err);
	if (nbuf < 0)
		return err;
	if (!nbuf) {
		p->rx_waiting = true;
		return -EAGAIN;
	}
	/* The buffers gathered stay held for the frame's next offer. */
	if (over_limit(p->n, &p->n->rx_rl, len)) {
		p->rx_throttled = true;
		p->n->rx_limited++;
		return -EAGAIN;
	}
	hdr.num_buffers = htole16(nbuf);
	for (int i = 0; i < nbuf; i++) {
		const struct virtq_chain *c = &p->rx_held[i];
		size_t k = total - off < c->writable ? total - off :
						       c->writable;

		r = rx_fill(p, c, &hdr, &s, off, k);
		if (r) {
			virtio_dev_fail(vdev, r, "receiveq buffer");
			return -EIO;
		}
		p->rx_lens[i] = k;
		off += k;
	}
	/* At once: the driver reads num_buffers and takes them all. */
	r = virtq_push_batch(vq, p->rx_held, p->rx_lens, nbuf);
	if (r) {
		virtio_dev_fail(vdev, r, "receiveq");
		return -EIO;
	}
	rx_forget(p, nbuf);
	p->stats.rx_packets++;
	p->stats.rx_bytes += len;
	rx_irq(p);
	return (ssize_t)(len + (p->be->has_vnet_hdr ? HDR_LEN : 0));
}

static ssize_t vnet_rx(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct vnet_pair *p = opaque;
	ssize_t ret;

	virtio_dev_lock(&p->n->vdev);
	ret = rx_frame(p, iov, iovcnt);
	virtio_dev_unlock(&p->n->vdev);
	return ret;
}

/* Control queue ----------------------------------------------------------- */

/* The guest uses @k pairs from now on; device lock held. */
static void set_active_pairs(struct virtio_net *n, unsigned int k)
{
	n->active_pairs = k;
	for (unsigned int i = 0; i < n->nr_pairs; i++)
		net_backend_set_active(n->pairs[i].be, i < k);
}

/* One command: VIRTIO_NET_OK or VIRTIO_NET_ERR. */
static uint8_t ctrl_command(struct virtio_net *n, const struct virtq_chain *c)
{
	struct virtio_net_ctrl_hdr h;
	uint16_t pairs;

	if (virtq_chain_read(&n->vdev.dma, c, 0, &h, sizeof(h)))
		return VIRTIO_NET_ERR;
	/* Only MQ is offered: RX mode, MAC, VLAN and the rest are not. */
	if (h.class != VIRTIO_NET_CTRL_MQ ||
	    h.cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
	    !virtio_dev_has_feature(&n->vdev, VIRTIO_NET_F_MQ) ||
	    virtq_chain_read(&n->vdev.dma, c, sizeof(h), &pairs,
			     sizeof(pairs))) {
		pr_debug_ratelimited("%s: control command %u.%u refused",
				     n->vdev.name, h.class, h.cmd);
		return VIRTIO_NET_ERR;
	}
	pairs = le16toh(pairs);
	if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > n->nr_pairs) {
		pr_warn_ratelimited("%s: the guest asked for %u queue pairs "
				    "of %u",
				    n->vdev.name, pairs, n->nr_pairs);
		return VIRTIO_NET_ERR;
	}
	if (pairs != n->active_pairs)
		pr_debug("%s: %u queue pairs in use", n->vdev.name, pairs);
	set_active_pairs(n, pairs);
	return VIRTIO_NET_OK;
}

static void ctrl_process(struct virtio_net *n, unsigned int q)
{
	struct virtqueue *vq = &n->vqs[q];
	unsigned int budget = NET_QUEUE_SIZE;
	struct virtq_chain c;
	uint8_t ack;
	int r;

	for (;;) {
		if (!budget--) {
			/* A guest that keeps posting: others' turn first. */
			virtio_dev_kick(&n->vdev, q);
			break;
		}
		c = VIRTQ_CHAIN_INIT(n->ctrl_segs);
		r = virtq_pop(vq, &c);
		if (!r)
			break;
		if (r < 0) {
			virtio_dev_fail(&n->vdev, r, "controlq");
			return;
		}
		/* Spec 5.1.6.5: the ack is the last byte the device writes. */
		ack = ctrl_command(n, &c);
		if (!c.writable || virtq_chain_write(&n->vdev.dma, &c,
						     c.writable - 1, &ack, 1)) {
			virtio_dev_fail(&n->vdev, -EINVAL,
					"controlq: no room for the ack");
			return;
		}
		r = virtq_push(vq, &c, c.writable);
		if (r) {
			virtio_dev_fail(&n->vdev, r, "controlq");
			return;
		}
	}
	virtio_dev_notify_queue(&n->vdev, q);
}

/* Device ops -------------------------------------------------------------- */

static void vnet_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_net *n = to_net(vdev);
	struct vnet_pair *p;

	if (is_ctrl(n, q)) {
		ctrl_process(n, q);
		return;
	}
	if (q >= 2 * n->nr_pairs)
		return;
	p = &n->pairs[q / 2];
	if (q % 2) {
		tx_process(p);
	} else if (p->rx_waiting) {
		/* New receive buffers, or the driver is up. */
		p->rx_waiting = false;
		net_backend_rx_ready(p->be);
	}
}

/* Spec 5.1.3.1: an offload needs the one it builds on. */
static bool offloads_consistent(uint64_t f)
{
	static const struct {
		uint64_t what, needs;
	} deps[] = {
		{ F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
			  F(VIRTIO_NET_F_GUEST_UFO),
		  F(VIRTIO_NET_F_GUEST_CSUM) },
		{ F(VIRTIO_NET_F_GUEST_ECN),
		  F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) },
		{ F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |
			  F(VIRTIO_NET_F_HOST_UFO),
		  F(VIRTIO_NET_F_CSUM) },
		{ F(VIRTIO_NET_F_HOST_ECN),
		  F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) },
	};

	for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++)
		if ((f & deps[i].what) && !(f & deps[i].needs))
			return false;
	return true;
}

static bool vnet_features_ok(struct virtio_dev *vdev, uint64_t f)
{
	struct virtio_net *n = to_net(vdev);
	int r;

	if (!offloads_consistent(f)) {
		pr_debug_ratelimited("%s: inconsistent offloads %#llx",
				     vdev->name, (unsigned long long)f);
		return false;
	}
	/* Spec 5.1.3.1: MQ needs CTRL_VQ. */
	if ((f & F(VIRTIO_NET_F_MQ)) && !(f & F(VIRTIO_NET_F_CTRL_VQ)))
		return false;
	if (!n->be->has_vnet_hdr)
		return true;
	/* What the tap may hand us is what the guest takes. */
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		r = net_backend_set_offloads(n->pairs[i].be,
					     f & F(VIRTIO_NET_F_GUEST_CSUM),
					     f & F(VIRTIO_NET_F_GUEST_TSO4),
					     f & F(VIRTIO_NET_F_GUEST_TSO6),
					     f & F(VIRTIO_NET_F_GUEST_ECN),
					     f & F(VIRTIO_NET_F_GUEST_UFO));
		if (r) {
			pr_warn("%s: %s refused the guest's offloads: %s",
				vdev->name, n->be->name, strerror(-r));
			return false;
		}
	}
	return true;
}

/* Takes the rings back from the kernel: it stops touching guest memory. */
static void vhost_net_stop(struct virtio_net *n)
{
	uint16_t base;

	if (!n->vhost_running)
		return;
	for (unsigned int q = 0; q < 2; q++) {
		vhost_net_set_backend(&n->vhost, q, -1);
		vhost_get_ring_base(&n->vhost, q, &base);
	}
	n->vhost_running = false;
}

/* Plugged RAM: the running back-end's table again; device lock held. */
static int vnet_set_table(struct virtio_dev *vdev)
{
	struct virtio_net *n = to_net(vdev);

	if (n->vu.fd >= 0)
		return n->vu.running ?
			       vhost_user_set_mem_table(&n->vu, &n->vm->mem) :
			       0;
	return n->vhost_running ? vhost_set_mem_table(&n->vhost, &n->vm->mem) :
				  0;
}

/* DRIVER_OK with vhost: the rings and the tap go to the kernel. */
static int vnet_activate(struct virtio_dev *vdev)
{
	struct virtio_net *n = to_net(vdev);
	int tapfd = net_backend_tap_fd(n->be);
	int ret;

	if (n->vu.fd >= 0)
		return vhost_user_start(&n->vu, vdev, &n->vm->mem, n->calls, 2);
	if (n->vhost.fd < 0)
		return 0;
	/* Offloads are the tap's business, not the worker's. */
	ret = vhost_set_features(&n->vhost, vdev->features & n->vhost_features);
	if (!ret)
		ret = vhost_set_mem_table(&n->vhost, &n->vm->mem);
	for (unsigned int q = 0; q < 2 && !ret; q++) {
		struct vhost_ring r;

		ret = vhost_ring_of(vdev, &n->vm->mem, q, &n->calls[q], &r);
		if (!ret)
			ret = vhost_set_ring(&n->vhost, &r);
	}
	n->vhost_running = true;
	for (unsigned int q = 0; q < 2 && !ret; q++)
		ret = vhost_net_set_backend(&n->vhost, q, tapfd);
	if (ret)
		vhost_net_stop(n);
	return ret;
}

static void vnet_reset(struct virtio_dev *vdev)
{
	struct virtio_net *n = to_net(vdev);

	vhost_net_stop(n);
	if (n->vu.fd >= 0)
		vhost_user_stop(&n->vu, 2);

	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		struct vnet_pair *p = &n->pairs[i];

		p->tx_have = false;
		p->tx_blocked = false;
		p->tx_throttled = false;
		p->rx_nheld = 0;
		p->rx_slots = 0;
		p->rx_pool_used = 0;
		/*
		 * rx_waiting stays: the back-end still holds its frame, and
		 * the kick that follows the next DRIVER_OK tells it to
		 * offer it again (a frame held by the limit too).
		 */
		if (p->rx_throttled) {
			p->rx_throttled = false;
			p->rx_waiting = true;
		}
		if (p->be->has_vnet_hdr)
			net_backend_set_offloads(p->be, false, false, false,
						 false, false);
	}
	set_active_pairs(n, 1);
}

static void vnet_stop(struct virtio_dev *vdev)
{
	struct virtio_net *n = to_net(vdev);

	if (n->vu.fd >= 0) {
		virtio_dev_lock(vdev);
		vhost_user_stop(&n->vu, 2);
		virtio_dev_unlock(vdev);
		vhost_user_unwatch(&n->vu);
		for (unsigned int q = 0; q < 2; q++)
			vhost_call_stop(&n->calls[q]);
	}
	if (n->vhost.fd >= 0) {
		virtio_dev_lock(vdev);
		vhost_net_stop(n);
		virtio_dev_unlock(vdev);
		/* The proof that the data plane bypassed us. */
		pr_info("%s: vhost-net served %s; devisor's I/O thread "
			"handled %llu rx and %llu tx frames",
			vdev->name, n->be->name,
			(unsigned long long)n->pairs[0].stats.rx_packets,
			(unsigned long long)n->pairs[0].stats.tx_packets);
		for (unsigned int q = 0; q < 2; q++)
			vhost_call_stop(&n->calls[q]);
	}
	/* These wait out a running callback; no lock held here. */
	evloop_timer_cancel(n->loop, &n->rl_timer);
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		net_backend_close(n->pairs[i].be);
		evloop_del(n->loop, n->pairs[i].irq_efd);
	}
}

static void vnet_destroy(struct virtio_dev *vdev)
{
	struct virtio_net *n = to_net(vdev);

	vhost_ram_unfollow(&n->vhost_ram);
	for (unsigned int q = 0; q < 2; q++)
		vhost_call_close(&n->calls[q]);
	vhost_close(&n->vhost);
	vhost_user_close(&n->vu);
	for (unsigned int i = 0; i < n->nr_pairs; i++)
		close(n->pairs[i].irq_efd);
	free(n->pairs);
	free(n);
}

/* All pairs' counts; device lock held. */
static void sum_stats(const struct virtio_net *n, struct virtio_net_stats *st)
{
	*st = (struct virtio_net_stats){ 0 };
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		const struct virtio_net_stats *q = &n->pairs[i].stats;

		st->rx_packets += q->rx_packets;
		st->rx_bytes += q->rx_bytes;
		st->rx_dropped += q->rx_dropped;
		st->rx_bad_buffers += q->rx_bad_buffers;
		st->tx_packets += q->tx_packets;
		st->tx_bytes += q->tx_bytes;
		st->tx_dropped += q->tx_dropped;
	}
}

/* What devisor's I/O thread moved (nothing when vhost serves the queues). */
static void vnet_counters(struct virtio_dev *vdev,
			  void (*fn)(void *arg, const char *name,
				     uint64_t value),
			  void *arg)
{
	struct virtio_net_stats st;

	sum_stats(to_net(vdev), &st);
	fn(arg, "rx_bytes", st.rx_bytes);
	fn(arg, "rx_frames", st.rx_packets);
	fn(arg, "rx_dropped", st.rx_dropped);
	fn(arg, "tx_bytes", st.tx_bytes);
	fn(arg, "tx_frames", st.tx_packets);
	fn(arg, "tx_dropped", st.tx_dropped);
	if (to_net(vdev)->limited) {
		fn(arg, "rx_rate_limited", to_net(vdev)->rx_limited);
		fn(arg, "tx_rate_limited", to_net(vdev)->tx_limited);
	}
}

static const struct virtio_dev_ops vnet_ops = {
	.counters = vnet_counters,
	.features_ok = vnet_features_ok,
	.activate = vnet_activate,
	.reset = vnet_reset,
	.queue_notify = vnet_queue_notify,
	.queue_pollable = vnet_queue_pollable,
	.stop = vnet_stop,
	.destroy = vnet_destroy,
};

/*
 * vhost=on|auto: opens /dev/vhost-net. 0 with the kernel's queues, 1 when
 * auto falls back to serving them here, -errno for vhost=on without it.
 */
static int vhost_net_open(struct virtio_net *n, enum net_vhost mode)
{
	int ret;

	if (mode == NET_VHOST_OFF)
		return 1;
	if (n->nr_pairs > 1) {
		/* --net refuses vhost=on with several. */
		pr_info("virtio-net: vhost=auto: %s has %u queue pairs, which "
			"devisor serves itself",
			n->be->name, n->nr_pairs);
		return 1;
	}
	if (net_backend_tap_fd(n->be) < 0) {
		pr_err("virtio-net: vhost needs a tap back-end");
		return -EINVAL;
	}
	if (!n->be->has_vnet_hdr && mode == NET_VHOST_AUTO)
		return 1;
	if (!n->be->has_vnet_hdr) {
		pr_err("virtio-net: vhost=on needs a tap with a vnet header "
		       "(%s was attached without IFF_VNET_HDR)",
		       n->be->name);
		return -EINVAL;
	}
	ret = vhost_open(&n->vhost, "/dev/vhost-net", "vhost_net",
			 "virtio-net");
	if (!ret)
		ret = vhost_get_features(&n->vhost, &n->vhost_features);
	if (ret && mode == NET_VHOST_AUTO) {
		vhost_close(&n->vhost);
		pr_info("virtio-net: vhost=auto: no vhost-net (%s); devisor "
			"serves %s's queues itself",
			strerror(-ret), n->be->name);
		return 1;
	}
	if (ret)
		return ret;
	for (unsigned int q = 0; q < 2; q++) {
		ret = vhost_call_init(&n->calls[q], &n->vdev, q, n->loop);
		if (ret)
			return ret;
	}
	/* The kernel serves split rings only, with what it reports. */
	n->vdev.core_features_off =
		(VIRTIO_CORE_FEATURES & ~n->vhost_features) |
		F(VIRTQ_F_RING_PACKED);
	n->vdev.kernel_queues = 3;
	pr_info("virtio-net: %s's queues are served by vhost-net", n->be->name);
	return 0;
}

/*
 * vhost-user=SOCKET: connects and negotiates; the device then offers the
 * back-end's offloads and MRG_RXBUF, and MAC and STATUS of its own.
 */
static int vhost_user_net_open(struct virtio_net *n, const char *path,
			       uint64_t *features)
{
	int ret = vhost_user_connect(&n->vu, path, "virtio-net");

	for (unsigned int q = 0; q < 2 && !ret; q++)
		ret = vhost_call_init(&n->calls[q], &n->vdev, q, n->loop);
	if (!ret)
		ret = vhost_user_watch(&n->vu, &n->vdev, n->loop);
	if (ret)
		return ret;
	*features = F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |
		    (n->vu.features &
		     (F(VIRTIO_NET_F_MRG_RXBUF) | OFFLOAD_FEATURES));
	if (!offloads_consistent(*features))
		*features &= ~OFFLOAD_FEATURES;
	n->vdev.core_features_off = (VIRTIO_CORE_FEATURES & ~n->vu.features) |
				    F(VIRTQ_F_RING_PACKED);
	n->vdev.kernel_queues = 3;
	pr_info("virtio-net: its queues are served by the vhost-user "
		"back-end at %s",
		path);
	return 0;
}

/* The rate limits' timer: what waited goes on (loop thread). */
static void rl_timer_cb(void *opaque)
{
	struct virtio_net *n = opaque;

	virtio_dev_lock(&n->vdev);
	n->rl_due = 0;
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		struct vnet_pair *p = &n->pairs[i];

		if (p->tx_throttled) {
			p->tx_throttled = false;
			if (virtio_dev_running(&n->vdev) && p->txq->ready)
				tx_process(p);
		}
		if (p->rx_throttled) {
			/* The back-end offers its frame again. */
			p->rx_throttled = false;
			net_backend_rx_ready(p->be);
		}
	}
	virtio_dev_unlock(&n->vdev);
}

void virtio_net_set_rate_limit(struct virtio_dev *vdev,
			       const struct rate_limit_config *c)
{
	struct virtio_net *n = to_net(vdev);
	uint64_t now = monotonic_ns();

	virtio_dev_lock(vdev);
	n->limited = rate_limit_config_active(c);
	rate_limiter_init(&n->rx_rl, c, now);
	rate_limiter_init(&n->tx_rl, c, now);
	virtio_dev_unlock(vdev);
}

/* Closes the back-ends and what create made of the pairs. */
static void pairs_undo(struct virtio_net *n)
{
	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		struct vnet_pair *p = &n->pairs[i];

		/* Waits out a callback of a started one. */
		net_backend_close(p->be);
		if (p->irq_efd >= 0) {
			evloop_del(n->loop, p->irq_efd);
			close(p->irq_efd);
		}
	}
}

/* Each pair's interrupt eventfd, then its back-end started. */
static int pairs_start(struct virtio_net *n)
{
	bool served = n->vhost.fd < 0 && n->vu.fd < 0;
	int ret;

	for (unsigned int i = 0; i < n->nr_pairs; i++) {
		struct vnet_pair *p = &n->pairs[i];

		p->irq_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->irq_efd < 0)
			return -errno;
		ret = evloop_add(n->loop, p->irq_efd, EPOLLIN, irq_cb, p);
		if (ret) {
			close(p->irq_efd);
			p->irq_efd = -1;
			return ret;
		}
	}
	for (unsigned int i = 0; i < n->nr_pairs && served; i++) {
		/* Pair 0 alone until the guest asks for more. */
		net_backend_set_active(n->pairs[i].be, !i);
		/* With vhost the kernel reads the tap, never we. */
		ret = net_backend_start(n->pairs[i].be, vnet_rx, vnet_tx_ready,
					&n->pairs[i]);
		if (ret)
			return ret;
	}
	return 0;
}

struct virtio_dev *virtio_net_create_mq(struct vm *vm,
					struct net_backend *const *bes,
					unsigned int nr_pairs,
					enum net_vhost vhost, uint64_t poll_ns)
{
	struct net_backend *be = bes[0];
	struct virtio_net *n = calloc(1, sizeof(*n));
	uint64_t features = 0;
	int ret;

	if (!nr_pairs || nr_pairs > MAX_PAIRS) {
		pr_err("virtio-net: %u queue pairs (1 to %d)", nr_pairs,
		       MAX_PAIRS);
		free(n);
		return NULL;
	}
	if (n)
		n->pairs = calloc(nr_pairs, sizeof(*n->pairs));
	if (!n || !n->pairs) {
		pr_err("virtio-net: out of memory");
		free(n);
		for (unsigned int i = 0; i < nr_pairs; i++)
			net_backend_close(bes[i]);
		return NULL;
	}
	/* One pair has no control queue: as before MQ, and as vhost's. */
	if (virtio_dev_init(&n->vdev, "virtio-net", VIRTIO_ID_NET, &vnet_ops,
			    n->vqs, nr_pairs > 1 ? 2 * nr_pairs + 1 : 2,
			    NET_QUEUE_SIZE, &vm->mem)) {
		free(n->pairs);
		free(n);
		for (unsigned int i = 0; i < nr_pairs; i++)
			net_backend_close(bes[i]);
		return NULL;
	}
	n->nr_pairs = nr_pairs;
	n->active_pairs = 1;
	for (unsigned int i = 0; i < nr_pairs; i++) {
		n->pairs[i] = (struct vnet_pair){
			.n = n,
			.idx = i,
			.be = bes[i],
			.rxq = &n->vqs[RXQ(i)],
			.txq = &n->vqs[TXQ(i)],
			.irq_efd = -1,
		};
	}
	n->be = be;
	n->loop = be->loop;
	n->rl_timer = (struct evloop_timer){ .fn = rl_timer_cb, .opaque = n };
	n->vm = vm;
	n->vhost.fd = -1;
	n->vu.fd = -1;
	n->calls[0].fd = n->calls[1].fd = -1;

	if (net_backend_vhost_user(be)) {
		ret = vhost_user_net_open(n, net_backend_vhost_user(be),
					  &features);
		if (ret < 0)
			goto fail_vhost;
	} else {
		ret = vhost_net_open(n, vhost);
		if (ret < 0)
			goto fail_vhost;
		features = F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |
			   F(VIRTIO_NET_F_MRG_RXBUF);
		if (n->vhost.fd >= 0 &&
		    !(n->vhost_features & F(VIRTIO_NET_F_MRG_RXBUF)))
			features &= ~F(VIRTIO_NET_F_MRG_RXBUF);
		if (be->has_vnet_hdr)
			features |= OFFLOAD_FEATURES;
		if (nr_pairs > 1)
			features |= F(VIRTIO_NET_F_CTRL_VQ) |
				    F(VIRTIO_NET_F_MQ);
	}
	if (!be->has_vnet_hdr)
		/* User networking's fixed MTU; a tap's is the host's call. */
		features |= F(VIRTIO_NET_F_MTU);
	n->vdev.device_features = features;
	memcpy(n->config, be->mac, NET_MAC_LEN);
	n->config[6] = VIRTIO_NET_S_LINK_UP;
	/* max_virtqueue_pairs, little-endian */
	n->config[8] = nr_pairs & 0xff;
	n->config[9] = nr_pairs >> 8;
	if (!be->has_vnet_hdr) {
		n->config[10] = USER_MTU & 0xff;
		n->config[11] = USER_MTU >> 8;
	}
	n->vdev.config = n->config;
	n->vdev.config_len = CFG_LEN;

	ret = pairs_start(n);
	if (ret)
		goto fail;
	if (n->vhost.fd < 0 && n->vu.fd < 0)
		virtio_dev_set_poll(&n->vdev, n->loop, poll_ns);
	else
		vhost_ram_follow(&n->vhost_ram, n->vm, &n->vdev,
				 vnet_set_table);
	return &n->vdev;

fail:
	pr_err("virtio-net: cannot start %s: %s", be->name, strerror(-ret));
fail_vhost:
	pairs_undo(n);
	vhost_user_unwatch(&n->vu);
	for (unsigned int q = 0; q < 2; q++)
		vhost_call_close(&n->calls[q]);
	vhost_close(&n->vhost);
	vhost_user_close(&n->vu);
	pthread_mutex_destroy(&n->vdev.lock);
	free(n->pairs);
	free(n);
	return NULL;
}

struct virtio_dev *virtio_net_create(struct vm *vm, struct net_backend *be,
				     enum net_vhost vhost, uint64_t poll_ns)
{
	return virtio_net_create_mq(vm, &be, 1, vhost, poll_ns);
}

void virtio_net_get_stats(struct virtio_dev *vdev, struct virtio_net_stats *st)
{
	virtio_dev_lock(vdev);
	sum_stats(to_net(vdev), st);
	virtio_dev_unlock(vdev);
}
