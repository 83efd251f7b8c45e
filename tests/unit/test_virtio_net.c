// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net tests: a fake guest drives the device through virtio-mmio the
 * way Linux's virtio_net does (post receive buffers, transmit with a vnet
 * header, read num_buffers), with a real I/O thread and no KVM (kicks take
 * the register path, interrupts arrive through vm->irq_set). Behind the
 * device: user networking (libslirp) for DHCP and TCP, a fake back-end for
 * what slirp cannot produce (big frames, -EAGAIN, vnet headers), and a tap
 * when this process may create one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backend/net.h"
#include "kvm/vm.h"
#include "util/evloop.h"
#include "util/log.h"
#include "util/rate_limit.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/virtio.h"

#include "helpers/net_frames.h"
#include "helpers/virtio_driver.h"

#define RAM_SIZE (64ull << 20)
#define BASE 0xd0000000ull
#define GSI 5
#define QSIZE 64
#define RXQ 0
#define TXQ 1
/* Rings of queue q: descriptors, then avail and used a page apart. */
#define DESC(q) (0x10000ull + (q)*0x4000ull)
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q) (DESC(q) + 0x2000)
/* Receive buffer slot i (descriptor i), large enough for a GSO frame. */
#define RXBUF(i) (0x100000ull + (uint64_t)(i)*0x11000ull)
/* Transmit buffers: one per descriptor pair. */
#define TXBUF(i) (0x1800000ull + (uint64_t)(i)*0x11000ull)
#define HDR_LEN 12

#define F(bit) (1ull << (bit))
#define F_BASE                                                        \
	(F_VERSION_1 | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | \
	 F(VIRTIO_NET_F_MRG_RXBUF))

/* ---- a fake back-end ---- */

struct fake {
	struct net_backend be;
	pthread_mutex_t lock;
	bool started, closed;
	/* send() answers -EAGAIN while set */
	bool refuse;
	/* net_backend_set_active()'s last word (true until it says) */
	bool active;
	unsigned int sent, refused, rx_ready_calls, offload_calls;
	unsigned int offloads;
	size_t last_len;
	uint8_t last[HDR_LEN + 65536 + 64];
};

static struct fake *to_fake(struct net_backend *be)
{
	return (struct fake *)be;
}

static int fake_start(struct net_backend *be)
{
	to_fake(be)->started = true;
	return 0;
}

static int fake_send(struct net_backend *be, const struct iovec *iov,
		     int iovcnt)
{
	struct fake *fk = to_fake(be);
	size_t len = 0;

	pthread_mutex_lock(&fk->lock);
	if (fk->refuse) {
		fk->refused++;
		pthread_mutex_unlock(&fk->lock);
		return -EAGAIN;
	}
	for (int i = 0; i < iovcnt; i++) {
		assert_true(len + iov[i].iov_len <= sizeof(fk->last));
		memcpy(fk->last + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	fk->last_len = len;
	fk->sent++;
	pthread_mutex_unlock(&fk->lock);
	return (int)len;
}

static void fake_rx_ready(struct net_backend *be)
{
	struct fake *fk = to_fake(be);

	pthread_mutex_lock(&fk->lock);
	fk->rx_ready_calls++;
	pthread_mutex_unlock(&fk->lock);
}

static int fake_set_offloads(struct net_backend *be, unsigned int flags)
{
	struct fake *fk = to_fake(be);

	pthread_mutex_lock(&fk->lock);
	fk->offloads = flags;
	fk->offload_calls++;
	pthread_mutex_unlock(&fk->lock);
	return 0;
}

static void fake_close(struct net_backend *be)
{
	to_fake(be)->closed = true;
}

static void fake_set_active(struct net_backend *be, bool active)
{
	struct fake *fk = to_fake(be);

	pthread_mutex_lock(&fk->lock);
	fk->active = active;
	pthread_mutex_unlock(&fk->lock);
}

static const struct net_backend_ops fake_ops = {
	.start = fake_start,
	.send = fake_send,
	.rx_ready = fake_rx_ready,
	.set_offloads = fake_set_offloads,
	.set_active = fake_set_active,
	.close = fake_close,
};

/* A frame from the host side, as the back-end's I/O thread would. */
static ssize_t fake_rx(struct fake *fk, const void *data, size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)data, .iov_len = len / 2 },
		{ .iov_base = (uint8_t *)data + len / 2,
		  .iov_len = len - len / 2 },
	};

	assert_true(fk->started);
	return fk->be.rx(fk->be.opaque, iov, 2);
}

static unsigned int fake_count(struct fake *fk, unsigned int *what)
{
	unsigned int n;

	pthread_mutex_lock(&fk->lock);
	n = *what;
	pthread_mutex_unlock(&fk->lock);
	return n;
}

/* ---- fixture ---- */

struct fix {
	struct vm vm;
	struct evloop *loop;
	struct virtio_mmio *m;
	struct virtio_dev *vdev;
	struct net_backend *be;
	struct fake *fake;
	struct fake *fake2; /* pair 1's (setup_fake_mq) */
	uint16_t avail_idx[5];
	uint16_t used_seen[5];
	/* receive buffers consumed are posted again with this length */
	uint32_t repost_len;
	uint16_t tx_count;
	uint8_t gw_mac[6];
	uint64_t poll_ns; /* the I/O thread's transmit poll (setup_fake_poll) */
	unsigned int tx_unkicked; /* frames posted while kicks were off */
};

static struct fix *fix_new(void)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->loop = vd_vm_init(&f->vm, RAM_SIZE);
	return f;
}

static void fix_attach(struct fix *f, struct net_backend *be)
{
	f->be = be;
	f->vdev = virtio_net_create(&f->vm, be, NET_VHOST_OFF, f->poll_ns);
	assert_non_null(f->vdev);
	f->m = virtio_mmio_create(&f->vm, BASE, GSI, f->vdev, f->loop);
	assert_non_null(f->m);
}

static struct net_backend *open_backend(struct fix *f, const char *spec)
{
	struct net_options o;
	char err[128];

	assert_int_equal(net_backend_parse(spec, &o, err, sizeof(err)), 0);
	return net_backend_open(&o, f->loop);
}

static int setup_bare(void **state)
{
	*state = fix_new();
	return 0;
}

static int setup_user(void **state)
{
	struct fix *f = fix_new();

	*state = f;
#ifdef HAVE_SLIRP
	fix_attach(f, open_backend(f, "user,mac=52:54:00:12:34:56"));
#endif
	return 0;
}

static struct fake *fake_new(struct fix *f, bool vnet_hdr)
{
	struct fake *fk = calloc(1, sizeof(*fk));

	assert_non_null(fk);
	pthread_mutex_init(&fk->lock, NULL);
	fk->be.ops = &fake_ops;
	fk->be.loop = f->loop;
	fk->be.has_vnet_hdr = vnet_hdr;
	fk->active = true;
	memcpy(fk->be.mac, guest_mac, 6);
	snprintf(fk->be.name, sizeof(fk->be.name), "fake");
	return fk;
}

static int setup_fake(void **state)
{
	struct fix *f = fix_new();

	f->fake = fake_new(f, false);
	fix_attach(f, &f->fake->be);
	*state = f;
	return 0;
}

static int setup_fake_poll(void **state)
{
	struct fix *f = fix_new();

	f->poll_ns = 200 * 1000 * 1000ull;
	f->fake = fake_new(f, false);
	fix_attach(f, &f->fake->be);
	*state = f;
	return 0;
}

static int setup_fake_vnet(void **state)
{
	struct fix *f = fix_new();

	f->fake = fake_new(f, true);
	fix_attach(f, &f->fake->be);
	*state = f;
	return 0;
}

/* Two queue pairs, a fake back-end each: a multi-queue tap's queues. */
static int setup_fake_mq(void **state)
{
	struct fix *f = fix_new();
	struct net_backend *bes[2];

	f->fake = fake_new(f, true);
	f->fake2 = fake_new(f, true);
	bes[0] = f->be = &f->fake->be;
	bes[1] = &f->fake2->be;
	f->vdev = virtio_net_create_mq(&f->vm, bes, 2, NET_VHOST_OFF, 0);
	assert_non_null(f->vdev);
	f->m = virtio_mmio_create(&f->vm, BASE, GSI, f->vdev, f->loop);
	assert_non_null(f->m);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	devices_destroy(&f->vm);
	if (f->fake) {
		assert_true(f->fake->closed);
		pthread_mutex_destroy(&f->fake->lock);
		free(f->fake);
	}
	if (f->fake2) {
		assert_true(f->fake2->closed);
		pthread_mutex_destroy(&f->fake2->lock);
		free(f->fake2);
	}
	evloop_destroy(f->loop);
	vm_destroy(&f->vm);
	free(f);
	return 0;
}

#define NEED_DEVICE(f)          \
	do {                    \
		if (!(f)->vdev) \
			skip(); \
	} while (0)

/* ---- guest access ---- */

static uint32_t status(struct fix *f)
{
	return vd_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS);
}

static void desc(struct fix *f, unsigned int q, uint16_t i, uint64_t addr,
		 uint32_t len, uint16_t flags, uint16_t next)
{
	vd_desc(&f->vm, DESC(q), i, addr, len, flags, next);
}

static void avail(struct fix *f, unsigned int q, uint16_t head)
{
	vd_avail(&f->vm, AVAIL(q), QSIZE, &f->avail_idx[q], head);
}

static uint16_t used_idx(struct fix *f, unsigned int q)
{
	return vd_rd16(&f->vm, USED(q) + 2);
}

/* Used element @i of queue @q: the head id and length. */
static uint32_t used_id(struct fix *f, unsigned int q, uint16_t i)
{
	return vd_rd32(&f->vm, USED(q) + 4 + 8 * (i % QSIZE));
}

static uint32_t used_len(struct fix *f, unsigned int q, uint16_t i)
{
	return vd_rd32(&f->vm, USED(q) + 4 + 8 * (i % QSIZE) + 4);
}

static void kick(struct fix *f, unsigned int q)
{
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static bool tx_done(struct fix *f, uintptr_t n)
{
	return used_idx(f, TXQ) == (uint16_t)n;
}

static bool tx_kick_wanted(struct fix *f, uintptr_t unused)
{
	return !(vd_rd16(&f->vm, USED(TXQ)) & VIRTQ_USED_F_NO_NOTIFY);
}

/* A used receive buffer the guest has not looked at. */
static bool rx_ready(struct fix *f, uintptr_t unused)
{
	return used_idx(f, RXQ) != f->used_seen[RXQ];
}

/* ---- the driver (Linux virtio_net over virtio_mmio) ---- */

static void reset(struct fix *f)
{
	vd_mmio_reset(&f->vm, BASE);
	memset(f->avail_idx, 0, sizeof(f->avail_idx));
	memset(f->used_seen, 0, sizeof(f->used_seen));
	f->tx_count = 0;
	memset(vd_hva(&f->vm, DESC(0), 5 * 0x4000), 0, 5 * 0x4000);
}

static uint64_t offered(struct fix *f)
{
	return vd_mmio_offered(&f->vm, BASE);
}

static bool negotiate(struct fix *f, uint64_t want)
{
	vd_mmio_ack(&f->vm, BASE);
	return vd_mmio_features_ok(&f->vm, BASE, want);
}

static void setup_queue(struct fix *f, unsigned int q)
{
	vd_mmio_setup_queue(&f->vm, BASE, q, 256, QSIZE, DESC(q), AVAIL(q),
			    USED(q));
}

static void bring_up(struct fix *f, uint64_t features)
{
	reset(f);
	assert_true(negotiate(f, features));
	setup_queue(f, RXQ);
	setup_queue(f, TXQ);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(status(f), S_ALL);
}

/* Receive buffer @slot of @len bytes; the caller kicks. */
static void rx_post(struct fix *f, uint16_t slot, uint32_t len)
{
	desc(f, RXQ, slot, RXBUF(slot), len, VIRTQ_DESC_F_WRITE, 0);
	avail(f, RXQ, slot);
}

static void rx_post_n(struct fix *f, uint16_t first, unsigned int n,
		      uint32_t len)
{
	for (unsigned int i = 0; i < n; i++)
		rx_post(f, first + i, len);
	kick(f, RXQ);
}

/* A received frame, put back together from its buffers. */
struct frame {
	struct virtio_net_hdr_v1 hdr;
	unsigned int nbufs;
	uint32_t lens[QSIZE];
	uint16_t ids[QSIZE];
	size_t len; /* after the vnet header */
	uint8_t data[65536 + 64];
};

static bool rx_next(struct fix *f, struct frame *fr, unsigned int ms)
{
	uint16_t nb;

	if (!vd_wait_ms(rx_ready, f, 0, ms))
		return false;
	memset(&fr->hdr, 0, sizeof(fr->hdr));
	fr->len = 0;
	fr->nbufs = 0;
	nb = 1;
	while (fr->nbufs < nb) {
		uint16_t i = f->used_seen[RXQ];
		uint32_t id, len, skip = 0;
		const uint8_t *buf;

		/* The rest of a merged frame may trail its first buffer. */
		assert_true(vd_wait_ms(rx_ready, f, 0, WAIT_MS));
		id = used_id(f, RXQ, i);
		len = used_len(f, RXQ, i);
		assert_true(id < QSIZE);
		buf = vd_hva(&f->vm, RXBUF(id), len ? len : 1);
		if (!fr->nbufs) {
			assert_true(len >= HDR_LEN);
			memcpy(&fr->hdr, buf, HDR_LEN);
			nb = le16toh(fr->hdr.num_buffers);
			assert_true(nb >= 1 && nb <= QSIZE);
			skip = HDR_LEN;
		}
		assert_true(fr->len + len - skip <= sizeof(fr->data));
		memcpy(fr->data + fr->len, buf + skip, len - skip);
		fr->len += len - skip;
		fr->ids[fr->nbufs] = id;
		fr->lens[fr->nbufs++] = len;
		f->used_seen[RXQ]++;
	}
	if (f->repost_len) {
		for (unsigned int k = 0; k < fr->nbufs; k++)
			rx_post(f, fr->ids[k], f->repost_len);
		kick(f, RXQ);
	}
	return true;
}

/* Queues a frame without waiting: a header split 10 + 2 over two
 * descriptors, as the spec allows. */
static void tx_post(struct fix *f, const void *hdr, const void *frame,
		    size_t len)
{
	uint16_t pair = f->tx_count % (QSIZE / 2), d = 2 * pair;
	uint64_t gpa = TXBUF(pair);
	uint8_t *p = vd_hva(&f->vm, gpa, HDR_LEN + len);
	static const uint8_t zero[HDR_LEN];

	memcpy(p, hdr ? hdr : zero, HDR_LEN);
	memcpy(p + HDR_LEN, frame, len);
	desc(f, TXQ, d, gpa, 10, VIRTQ_DESC_F_NEXT, d + 1);
	desc(f, TXQ, d + 1, gpa + 10, 2 + len, 0, 0);
	avail(f, TXQ, d);
	f->tx_count++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* As Linux: a kick only when the device asks for one. */
	if (!(vd_rd16(&f->vm, USED(TXQ)) & VIRTQ_USED_F_NO_NOTIFY))
		kick(f, TXQ);
	else
		f->tx_unkicked++;
}

static void tx_wait(struct fix *f)
{
	assert_true(vd_wait_ms(tx_done, f, f->tx_count, WAIT_MS));
	assert_int_equal(used_len(f, TXQ, f->tx_count - 1), 0);
}

static void guest_send(struct fix *f, const uint8_t *frame, size_t len)
{
	tx_post(f, NULL, frame, len);
	tx_wait(f);
}

static struct virtio_net_stats stats(struct fix *f)
{
	struct virtio_net_stats st;

	virtio_net_get_stats(f->vdev, &st);
	return st;
}

/* ---- packets (as in test_net.c) ---- */

static void send_arp(struct fix *f, uint16_t op, const uint8_t *tha,
		     uint32_t tpa)
{
	uint8_t fr[ARP_FRAME_LEN];

	guest_send(f, fr, build_arp(fr, op, tha, tpa));
}

static void send_tcp(struct fix *f, const struct tcp_seg *s)
{
	uint8_t fr[TCP_FRAME_MAX];

	guest_send(f, fr, build_tcp(fr, f->gw_mac, s));
}

static bool decode(const struct frame *fr, struct pkt *p)
{
	return pkt_decode(fr->data, fr->len, p);
}

/* The next frame @match accepts; answers ARP for the guest meanwhile. */
static bool wait_frame(struct fix *f, pkt_match match, const void *arg,
		       struct frame *out)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pkt p;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 +
		     (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= WAIT_MS || !rx_next(f, out, WAIT_MS - ms))
			return false;
		/* Plain frames from slirp: no offload, one buffer. */
		assert_int_equal(out->hdr.flags, 0);
		assert_int_equal(out->hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		if (!decode(out, &p))
			continue;
		if (p.type == 0x0806 && p.arp_op == 1 && p.tpa == ip4(GUEST_IP))
			send_arp(f, 2, p.sha, p.spa);
		else if (match(&p, arg))
			return true;
	}
}

static void guest_arp_gateway(struct fix *f)
{
	struct frame *fr = malloc(sizeof(*fr));
	struct pkt p;

	assert_non_null(fr);
	send_arp(f, 1, (const uint8_t[6]){ 0 }, ip4(HOST_IP));
	assert_true(wait_frame(f, is_arp_reply_from, HOST_IP, fr));
	decode(fr, &p);
	assert_int_equal(p.tpa, ip4(GUEST_IP));
	assert_memory_equal(fr->data, guest_mac, 6);
	memcpy(f->gw_mac, p.sha, 6);
	free(fr);
}

static void send_dhcp_discover(struct fix *f)
{
	uint8_t fr[DHCP_DISCOVER_LEN];

	guest_send(f, fr, build_dhcp_discover(fr));
}

/* ---- user networking ---- */

static void test_identity(void **state)
{
	struct fix *f = *state;
	uint64_t feat;

	NEED_DEVICE(f);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_DEVICE_ID),
			 VIRTIO_ID_NET);
	feat = offered(f);
	assert_true(feat & F_VERSION_1);
	assert_true(feat & F(VIRTIO_NET_F_MAC));
	assert_true(feat & F(VIRTIO_NET_F_STATUS));
	assert_true(feat & F(VIRTIO_NET_F_MRG_RXBUF));
	assert_true(feat & F(VIRTIO_NET_F_MTU));
	/* No vnet header behind it: no offload either way. */
	assert_false(feat & F(VIRTIO_NET_F_CSUM));
	assert_false(feat & F(VIRTIO_NET_F_GUEST_CSUM));
	assert_false(feat & F(VIRTIO_NET_F_HOST_TSO4));
	assert_false(feat & F(VIRTIO_NET_F_GUEST_TSO4));
	assert_false(feat & F(VIRTIO_NET_F_CTRL_VQ));
	for (int i = 0; i < 6; i++)
		assert_int_equal(vd_mmio_rd(&f->vm, BASE,
					    VIRTIO_MMIO_CONFIG + i, 1),
				 guest_mac[i]);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_CONFIG + 6, 2),
			 VIRTIO_NET_S_LINK_UP);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_CONFIG + 8, 2),
			 1);
	assert_int_equal(vd_mmio_rd(&f->vm, BASE, VIRTIO_MMIO_CONFIG + 10, 2),
			 1500);
	/* Offloads the device did not offer are refused. */
	reset(f);
	assert_false(negotiate(f, F_BASE | F(VIRTIO_NET_F_CSUM)));
	reset(f);
	assert_true(negotiate(f, F_BASE));
}

static void test_dhcp(void **state)
{
	struct fix *f = *state;
	struct frame *fr = malloc(sizeof(*fr));
	struct virtio_net_stats st;
	const uint8_t *v;
	struct pkt p;

	NEED_DEVICE(f);
	assert_non_null(fr);
	bring_up(f, F_BASE);
	f->repost_len = 2048;
	rx_post_n(f, 0, 16, 2048);
	send_dhcp_discover(f);

	assert_true(wait_frame(f, is_dhcp_reply, NULL, fr));
	assert_int_equal(fr->nbufs, 1);
	assert_int_equal(le16toh(fr->hdr.num_buffers), 1);
	assert_int_equal(fr->hdr.csum_start, 0);
	assert_int_equal(fr->hdr.gso_size, 0);
	decode(fr, &p);
	/* The DISCOVER asked for a broadcast reply. */
	assert_memory_equal(fr->data, bcast_mac, 6);
	assert_int_equal(p.src, ip4(HOST_IP));
	assert_int_equal(p.payload[0], 2); /* BOOTREPLY */
	assert_int_equal(get32(p.payload + 4), 0x12345678);
	assert_int_equal(get32(p.payload + 16), ip4(GUEST_IP));
	v = dhcp_opt(&p, 53, NULL);
	assert_non_null(v);
	assert_int_equal(*v, 2); /* DHCPOFFER */
	v = dhcp_opt(&p, 3, NULL);
	assert_non_null(v);
	assert_int_equal(get32(v), ip4(HOST_IP));
	/* The edge follows the used entry at the end of the I/O pass. */
	assert_true(vd_wait_edges(GSI, 1));

	st = stats(f);
	assert_int_equal(st.tx_packets, 1);
	assert_int_equal(st.tx_bytes, 14 + 20 + 8 + 548);
	assert_int_equal(st.tx_dropped, 0);
	assert_true(st.rx_packets >= 1);
	assert_int_equal(st.rx_dropped, 0);
	free(fr);
}

/* Without MRG_RXBUF: one buffer per frame, num_buffers still 1. */
static void test_arp_no_mrg(void **state)
{
	struct fix *f = *state;

	NEED_DEVICE(f);
	bring_up(f, F_VERSION_1 | F(VIRTIO_NET_F_MAC));
	f->repost_len = 1526;
	rx_post_n(f, 0, 8, 1526);
	guest_arp_gateway(f);
	assert_memory_not_equal(f->gw_mac, (uint8_t[6]){ 0 }, 6);
}

static void test_tcp_to_host(void **state)
{
	static const char hello[] = "hello from the guest";
	static const char reply[] = "hello from the host";
	struct fix *f = *state;
	struct frame *fr = malloc(sizeof(*fr));
	uint32_t iss = 1000, their;
	struct tcp_seg s;
	struct flow fl;
	struct pkt p;
	uint16_t port;
	char buf[64];
	int ls, cs;

	NEED_DEVICE(f);
	assert_non_null(fr);
	ls = listen_loopback(&port);
	/* As Linux negotiates it. */
	bring_up(f, F_BASE | F(VIRTQ_F_EVENT_IDX) | F(VIRTQ_F_INDIRECT_DESC));
	f->repost_len = 4096;
	rx_post_n(f, 0, 32, 4096);
	guest_arp_gateway(f);

	s = (struct tcp_seg){ .src = ip4(GUEST_IP),
			      .dst = ip4(HOST_IP),
			      .sport = 40000,
			      .dport = port,
			      .seq = iss,
			      .flags = TH_SYN };
	send_tcp(f, &s);
	fl = (struct flow){ .src = ip4(HOST_IP),
			    .dst = ip4(GUEST_IP),
			    .sport = port,
			    .dport = 40000,
			    .flags = TH_SYN | TH_ACK };
	assert_true(wait_frame(f, is_tcp, &fl, fr));
	decode(fr, &p);
	assert_int_equal(p.ack, iss + 1);
	their = p.seq + 1;

	s.flags = TH_ACK;
	s.seq = iss + 1;
	s.ack = their;
	send_tcp(f, &s);
	s.flags = TH_ACK | TH_PSH;
	s.data = hello;
	s.len = strlen(hello);
	send_tcp(f, &s);

	cs = accept_timeout(ls);
	assert_true(cs >= 0);
	assert_int_equal(recv_timeout(cs, buf, sizeof(buf)), strlen(hello));
	assert_memory_equal(buf, hello, strlen(hello));

	assert_int_equal(send(cs, reply, strlen(reply), 0), strlen(reply));
	fl.flags = TH_ACK;
	fl.data = true;
	assert_true(wait_frame(f, is_tcp, &fl, fr));
	decode(fr, &p);
	assert_int_equal(p.seq, their);
	assert_int_equal(p.ack, iss + 1 + strlen(hello));
	assert_int_equal(p.paylen, strlen(reply));
	assert_memory_equal(p.payload, reply, strlen(reply));

	close(cs);
	close(ls);
	free(fr);
}

/*
 * No receive buffers: the reply waits in the back-end, and comes once the
 * guest posts some; also across a device reset.
 */
static void test_rx_held(void **state)
{
	struct fix *f = *state;
	struct frame *fr = malloc(sizeof(*fr));
	struct pkt p;

	NEED_DEVICE(f);
	assert_non_null(fr);
	bring_up(f, F_BASE);
	send_arp(f, 1, (const uint8_t[6]){ 0 }, ip4(HOST_IP));
	usleep(200 * 1000);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(stats(f).rx_packets, 0);
	assert_int_equal(stats(f).rx_dropped, 0);

	rx_post_n(f, 0, 1, 2048);
	assert_true(rx_next(f, fr, WAIT_MS));
	assert_true(decode(fr, &p));
	assert_true(is_arp_reply_from(&p, HOST_IP));
	assert_int_equal(stats(f).rx_packets, 1);

	/* Asked again, then the driver resets before posting buffers. */
	send_arp(f, 1, (const uint8_t[6]){ 0 }, ip4(DNS_IP));
	usleep(100 * 1000);
	bring_up(f, F_BASE);
	usleep(100 * 1000);
	assert_int_equal(used_idx(f, RXQ), 0);
	rx_post_n(f, 0, 4, 2048);
	assert_true(rx_next(f, fr, WAIT_MS));
	assert_true(decode(fr, &p));
	assert_true(is_arp_reply_from(&p, DNS_IP));
	free(fr);
}

/* A descriptor loop on the transmit queue breaks the device until reset. */
static void test_hostile_tx(void **state)
{
	struct fix *f = *state;

	NEED_DEVICE(f);
	bring_up(f, F_BASE);
	desc(f, TXQ, 0, TXBUF(0), 64, VIRTQ_DESC_F_NEXT, 1);
	desc(f, TXQ, 1, TXBUF(0) + 64, 64, VIRTQ_DESC_F_NEXT, 0);
	avail(f, TXQ, 0);
	kick(f, TXQ);
	assert_true(vd_mmio_wait_status(&f->vm, BASE, S_NEEDS_RESET));
	assert_int_equal(used_idx(f, TXQ), 0);
	assert_true(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_MMIO_INT_CONFIG);
	/* Kicks are ignored until the reset. */
	rx_post_n(f, 0, 4, 2048);

	bring_up(f, F_BASE);
	f->repost_len = 2048;
	rx_post_n(f, 0, 8, 2048);
	guest_arp_gateway(f);
}

/* ---- a fake back-end ---- */

static void fill_pattern(uint8_t *buf, size_t len, uint8_t seed)
{
	memcpy(buf, guest_mac, 6);
	memcpy(buf + 6, "\x02\x00\x00\x00\x00\x01", 6);
	put16(buf + 12, 0x88b5);
	for (size_t i = 14; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seed);
}

static bool rx_ready_calls_reached(struct fix *f, uintptr_t n)
{
	return fake_count(f->fake, &f->fake->rx_ready_calls) >= n;
}

/* One frame spread over small buffers, num_buffers telling how many. */
static void test_mrg_spread(void **state)
{
	struct fix *f = *state;
	struct frame *fr = malloc(sizeof(*fr));
	static uint8_t big[4000], huge[65000];
	unsigned int calls;
	uint16_t before;

	assert_non_null(fr);
	assert_false(offered(f) & F(VIRTIO_NET_F_CSUM));
	bring_up(f, F_BASE);
	fill_pattern(big, sizeof(big), 1);
	rx_post_n(f, 0, 4, 1024);
	assert_int_equal(fake_rx(f->fake, big, sizeof(big)), sizeof(big));
	assert_true(rx_next(f, fr, WAIT_MS));
	assert_int_equal(fr->nbufs, 4);
	assert_int_equal(le16toh(fr->hdr.num_buffers), 4);
	assert_int_equal(fr->hdr.flags, 0);
	assert_int_equal(fr->hdr.gso_type, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fr->ids[i], i);
		assert_int_equal(fr->lens[i], 1024);
	}
	assert_int_equal(fr->lens[3], HDR_LEN + 4000 - 3 * 1024);
	assert_int_equal(fr->len, sizeof(big));
	assert_memory_equal(fr->data, big, sizeof(big));

	/* Half the buffers it needs: held until the guest posts more. */
	fill_pattern(big, sizeof(big), 2);
	rx_post_n(f, 4, 2, 1024);
	/* Before the refusal: any rx_ready after it counts (the kick just
	 * made may come late; a real back-end would offer again). */
	calls = fake_count(f->fake, &f->fake->rx_ready_calls);
	assert_int_equal(fake_rx(f->fake, big, sizeof(big)), -EAGAIN);
	assert_int_equal(used_idx(f, RXQ), 4);
	rx_post_n(f, 6, 2, 1024);
	assert_true(vd_wait_ms(rx_ready_calls_reached, f, calls + 1, WAIT_MS));
	assert_int_equal(fake_rx(f->fake, big, sizeof(big)), sizeof(big));
	assert_true(rx_next(f, fr, WAIT_MS));
	assert_int_equal(fr->nbufs, 4);
	/* In ring order: the two left from before, then the new ones. */
	assert_int_equal(fr->ids[0], 4);
	assert_int_equal(fr->ids[1], 5);
	assert_int_equal(fr->ids[2], 6);
	assert_int_equal(fr->ids[3], 7);
	assert_memory_equal(fr->data, big, sizeof(big));

	/* The whole ring cannot hold this one: dropped, not waited for. */
	before = used_idx(f, RXQ);
	fill_pattern(huge, sizeof(huge), 3);
	for (uint16_t i = 0; i < QSIZE; i++)
		rx_post(f, (8 + i) % QSIZE, 1000);
	kick(f, RXQ);
	assert_true(fake_rx(f->fake, huge, sizeof(huge)) < 0);
	assert_int_equal(stats(f).rx_dropped, 1);
	assert_int_equal(used_idx(f, RXQ), before);
	/* The buffers it held serve the next frame. */
	assert_int_equal(fake_rx(f->fake, big, sizeof(big)), sizeof(big));
	assert_true(rx_next(f, fr, WAIT_MS));
	assert_int_equal(fr->nbufs, 5);
	assert_int_equal(fr->ids[0], 8);
	assert_memory_equal(fr->data, big, sizeof(big));
	assert_int_equal(stats(f).rx_packets, 3);
	assert_int_equal(stats(f).rx_bytes, 3 * sizeof(big));
	/* The edge follows the used entry at the end of the I/O pass. */
	assert_true(vd_wait_edges(GSI, 1));
	free(fr);
}

static void test_no_mrg(void **state)
{
	struct fix *f = *state;
	struct frame *fr = malloc(sizeof(*fr));
	uint8_t small[100], mid[2000];

	assert_non_null(fr);
	bring_up(f, F_VERSION_1 | F(VIRTIO_NET_F_MAC));
	fill_pattern(small, sizeof(small), 4);
	fill_pattern(mid, sizeof(mid), 5);

	/* Too big for the buffer: dropped, and the buffer kept. */
	rx_post_n(f, 0, 1, 1024);
	assert_true(fake_rx(f->fake, mid, sizeof(mid)) < 0);
	assert_int_not_equal(fake_rx(f->fake, mid, sizeof(mid)), -EAGAIN);
	assert_int_equal(stats(f).rx_dropped, 2);
	usleep(20 * 1000);
	assert_int_equal(used_idx(f, RXQ), 0);
	assert_int_equal(fake_rx(f->fake, small, sizeof(small)), sizeof(small));
	assert_true(rx_next(f, fr, WAIT_MS));
	assert_int_equal(fr->nbufs, 1);
	assert_int_equal(le16toh(fr->hdr.num_buffers), 1);
	assert_int_equal(fr->lens[0], HDR_LEN + sizeof(small));
	assert_memory_equal(fr->data, small, sizeof(small));

	/* A buffer too small for the header goes back unused. */
	rx_post(f, 1, 8);
	rx_post(f, 2, 4096);
	kick(f, RXQ);
	assert_int_equal(fake_rx(f->fake, mid, sizeof(mid)), sizeof(mid));
	assert_true(vd_wait_ms(rx_ready, f, 0, WAIT_MS));
	assert_int_equal(used_id(f, RXQ, 1), 1);
	assert_int_equal(used_len(f, RXQ, 1), 0);
	f->used_seen[RXQ]++;
	assert_true(rx_next(f, fr, WAIT_MS));
	assert_int_equal(fr->ids[0], 2);
	assert_memory_equal(fr->data, mid, sizeof(mid));
	assert_int_equal(stats(f).rx_bad_buffers, 1);

	/* Before DRIVER_OK and after a reset, frames wait. */
	reset(f);
	assert_int_equal(fake_rx(f->fake, small, sizeof(small)), -EAGAIN);
	free(fr);
}

static bool fake_refused_reached(struct fix *f, uintptr_t n)
{
	return fake_count(f->fake, &f->fake->refused) >= n;
}

static void test_tx_backpressure(void **state)
{
	struct fix *f = *state;
	uint8_t a[60], b[61];

	fill_pattern(a, sizeof(a), 6);
	fill_pattern(b, sizeof(b), 7);
	bring_up(f, F_BASE);
	pthread_mutex_lock(&f->fake->lock);
	f->fake->refuse = true;
	pthread_mutex_unlock(&f->fake->lock);

	tx_post(f, NULL, a, sizeof(a));
	tx_post(f, NULL, b, sizeof(b));
	assert_true(vd_wait_ms(fake_refused_reached, f, 1, WAIT_MS));
	usleep(100 * 1000);
	/* Tried once, kept, not retried until tx_ready. */
	assert_int_equal(fake_count(f->fake, &f->fake->refused), 1);
	assert_int_equal(used_idx(f, TXQ), 0);
	/* More kicks change nothing. */
	kick(f, TXQ);
	usleep(50 * 1000);
	assert_int_equal(fake_count(f->fake, &f->fake->refused), 1);

	pthread_mutex_lock(&f->fake->lock);
	f->fake->refuse = false;
	pthread_mutex_unlock(&f->fake->lock);
	f->fake->be.tx_ready(f->fake->be.opaque);
	assert_true(vd_wait_ms(tx_done, f, 2, WAIT_MS));
	assert_int_equal(fake_count(f->fake, &f->fake->sent), 2);
	/* The header stripped: the back-end has none. */
	assert_int_equal(f->fake->last_len, sizeof(b));
	assert_memory_equal(f->fake->last, b, sizeof(b));
	assert_int_equal(stats(f).tx_packets, 2);

	/* A blocked chain is forgotten by a reset. */
	pthread_mutex_lock(&f->fake->lock);
	f->fake->refuse = true;
	pthread_mutex_unlock(&f->fake->lock);
	tx_post(f, NULL, a, sizeof(a));
	assert_true(vd_wait_ms(fake_refused_reached, f, 2, WAIT_MS));
	bring_up(f, F_BASE);
	pthread_mutex_lock(&f->fake->lock);
	f->fake->refuse = false;
	pthread_mutex_unlock(&f->fake->lock);
	f->fake->be.tx_ready(f->fake->be.opaque);
	tx_post(f, NULL, b, sizeof(b));
	tx_wait(f);
	assert_int_equal(fake_count(f->fake, &f->fake->sent), 3);
	assert_memory_equal(f->fake->last, b, sizeof(b));
}

/*
 * --net poll=: after a pass the I/O thread watches the transmit ring with
 * kicks off; what the guest sends then goes out unkicked. Idle, the window
 * closes and kicks are wanted again.
 */
static void test_tx_poll(void **state)
{
	struct fix *f = *state;
	uint8_t a[60];
	unsigned int i;

	fill_pattern(a, sizeof(a), 8);
	bring_up(f, F_BASE);
	for (i = 0; i < 400 && f->tx_unkicked < 3; i++) {
		tx_post(f, NULL, a, sizeof(a));
		tx_wait(f);
	}
	if (f->tx_unkicked < 3)
		fail_msg("kicks always wanted in %u frames: no poll window", i);
	assert_int_equal(fake_count(f->fake, &f->fake->sent), i);
	assert_int_equal(stats(f).tx_packets, i);
	assert_true(vd_wait_ms(tx_kick_wanted, f, 0, WAIT_MS));
}

static void test_tx_bad_frames(void **state)
{
	struct fix *f = *state;
	static uint8_t huge[65536 + 15];
	uint8_t ok[64];

	bring_up(f, F_BASE);
	fill_pattern(ok, sizeof(ok), 8);
	fill_pattern(huge, sizeof(huge), 9);

	/* Shorter than the vnet header. */
	desc(f, TXQ, 0, TXBUF(0), 8, 0, 0);
	avail(f, TXQ, 0);
	f->tx_count++;
	kick(f, TXQ);
	tx_wait(f);
	/* A header and nothing else. */
	desc(f, TXQ, 2, TXBUF(1), HDR_LEN, 0, 0);
	avail(f, TXQ, 2);
	f->tx_count++;
	kick(f, TXQ);
	tx_wait(f);
	/* Larger than 64 KiB of IP. */
	tx_post(f, NULL, huge, sizeof(huge));
	tx_wait(f);
	assert_int_equal(fake_count(f->fake, &f->fake->sent), 0);
	assert_int_equal(stats(f).tx_dropped, 3);

	/* The largest GSO frame passes. */
	tx_post(f, NULL, huge, sizeof(huge) - 1);
	tx_wait(f);
	assert_int_equal(f->fake->last_len, sizeof(huge) - 1);
	tx_post(f, NULL, ok, sizeof(ok));
	tx_wait(f);
	assert_int_equal(fake_count(f->fake, &f->fake->sent), 2);
	assert_int_equal(f->fake->last_len, sizeof(ok));
	assert_memory_equal(f->fake->last, ok, sizeof(ok));
	assert_int_equal(stats(f).tx_packets, 2);
	/* The edge follows the used entry at the end of the I/O pass. */
	assert_true(vd_wait_edges(GSI, 1));
}

/* virtio-mmio QueueReady = 0, as Linux's vm_del_vq writes it, then anew. */
static void redo_queue(struct fix *f, unsigned int q)
{
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_SEL, q);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_READY), 0);
	memset(vd_hva(&f->vm, DESC(q), 0x4000), 0, 0x4000);
	f->avail_idx[q] = 0;
	f->used_seen[q] = 0;
	setup_queue(f, q);
}

/*
 * A queue stopped and set up again while the device holds buffers of it:
 * those belong to the old ring and must be neither written nor returned.
 */
static void test_queue_disable(void **state)
{
	struct fix *f = *state;
	struct frame *fr = malloc(sizeof(*fr));
	static uint8_t big[4000], stale[2048];
	unsigned int calls;
	uint8_t a[60], b[60];

	assert_non_null(fr);
	bring_up(f, F_BASE);
	fill_pattern(big, sizeof(big), 15);
	memset(stale, 0xaa, sizeof(stale));
	memcpy(vd_hva(&f->vm, RXBUF(0), sizeof(stale)), stale, sizeof(stale));
	memcpy(vd_hva(&f->vm, RXBUF(1), sizeof(stale)), stale, sizeof(stale));
	rx_post_n(f, 0, 2, 1024);
	calls = fake_count(f->fake, &f->fake->rx_ready_calls);
	assert_int_equal(fake_rx(f->fake, big, sizeof(big)), -EAGAIN);

	redo_queue(f, RXQ);
	rx_post_n(f, 4, 4, 1024);
	assert_true(vd_wait_ms(rx_ready_calls_reached, f, calls + 1, WAIT_MS));
	assert_int_equal(fake_rx(f->fake, big, sizeof(big)), sizeof(big));
	assert_true(rx_next(f, fr, WAIT_MS));
	assert_int_equal(fr->nbufs, 4);
	assert_int_equal(fr->ids[0], 4);
	assert_memory_equal(fr->data, big, sizeof(big));
	assert_memory_equal(vd_hva(&f->vm, RXBUF(0), sizeof(stale)), stale,
			    sizeof(stale));
	assert_memory_equal(vd_hva(&f->vm, RXBUF(1), sizeof(stale)), stale,
			    sizeof(stale));

	/* A transmit blocked on the back-end, then its queue redone. */
	fill_pattern(a, sizeof(a), 16);
	fill_pattern(b, sizeof(b), 17);
	pthread_mutex_lock(&f->fake->lock);
	f->fake->refuse = true;
	pthread_mutex_unlock(&f->fake->lock);
	tx_post(f, NULL, a, sizeof(a));
	assert_true(vd_wait_ms(fake_refused_reached, f, 1, WAIT_MS));
	redo_queue(f, TXQ);
	f->tx_count = 0;
	pthread_mutex_lock(&f->fake->lock);
	f->fake->refuse = false;
	pthread_mutex_unlock(&f->fake->lock);
	f->fake->be.tx_ready(f->fake->be.opaque);
	tx_post(f, NULL, b, sizeof(b));
	tx_wait(f);
	assert_int_equal(used_id(f, TXQ, 0), 0);
	assert_int_equal(fake_count(f->fake, &f->fake->sent), 1);
	assert_memory_equal(f->fake->last, b, sizeof(b));
	assert_int_equal(status(f), S_ALL);
	free(fr);
}

/* ---- packed rings ---- */

/* Packed descriptor at ring position @pos, made available (wrap 1). */
static void pdesc(struct fix *f, unsigned int q, uint16_t pos, uint64_t addr,
		  uint32_t len, uint16_t id, uint16_t flags)
{
	uint8_t *p = vd_hva(&f->vm, DESC(q) + 16ull * pos, 16);
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t i = htole16(id);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &i, 2);
	/* The flags hand the descriptor over: last, after a fence. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vd_wr16(&f->vm, DESC(q) + 16ull * pos + 14, flags | VIRTQ_DESC_F_AVAIL);
}

/* Used in the first lap: AVAIL and USED both set. */
static bool pused(struct fix *f, uintptr_t qpos)
{
	uint16_t fl = vd_rd16(&f->vm,
			      DESC(qpos >> 16) + 16ull * (qpos & 0xffff) + 14);

	return (fl & VIRTQ_DESC_F_USED) && (fl & VIRTQ_DESC_F_AVAIL);
}

static void test_packed(void **state)
{
	struct fix *f = *state;
	struct virtio_net_hdr_v1 h;
	static uint8_t big[3000];
	uint8_t tx[60];

	bring_up(f, F_BASE | F(VIRTQ_F_RING_PACKED) | F(VIRTQ_F_EVENT_IDX));
	fill_pattern(big, sizeof(big), 13);
	for (uint16_t i = 0; i < 4; i++)
		pdesc(f, RXQ, i, RXBUF(i), 1024, 10 + i, VIRTQ_DESC_F_WRITE);
	kick(f, RXQ);
	assert_int_equal(fake_rx(f->fake, big, sizeof(big)), sizeof(big));
	/* Three buffers used, in ring order, the first holding the header. */
	assert_true(vd_wait_ms(pused, f, (RXQ << 16) | 2, WAIT_MS));
	assert_false(pused(f, (RXQ << 16) | 3));
	for (uint16_t i = 0; i < 3; i++) {
		assert_int_equal(vd_rd16(&f->vm, DESC(RXQ) + 16 * i + 12),
				 10 + i);
		assert_int_equal(vd_rd32(&f->vm, DESC(RXQ) + 16 * i + 8),
				 i < 2 ? 1024 : HDR_LEN + 3000 - 2048);
	}
	memcpy(&h, vd_hva(&f->vm, RXBUF(0), HDR_LEN), HDR_LEN);
	assert_int_equal(le16toh(h.num_buffers), 3);
	assert_memory_equal(vd_hva(&f->vm, RXBUF(0) + HDR_LEN, 1024 - HDR_LEN),
			    big, 1024 - HDR_LEN);
	assert_memory_equal(vd_hva(&f->vm, RXBUF(2), 3000 - 2048 + HDR_LEN),
			    big + 2048 - HDR_LEN, 3000 - 2048 + HDR_LEN);

	/* Transmit: a header split over two descriptors, id on the last. */
	fill_pattern(tx, sizeof(tx), 14);
	memset(vd_hva(&f->vm, TXBUF(0), HDR_LEN), 0, HDR_LEN);
	memcpy(vd_hva(&f->vm, TXBUF(0) + HDR_LEN, sizeof(tx)), tx, sizeof(tx));
	pdesc(f, TXQ, 1, TXBUF(0) + 10, 2 + sizeof(tx), 7, 0);
	pdesc(f, TXQ, 0, TXBUF(0), 10, 0, VIRTQ_DESC_F_NEXT);
	kick(f, TXQ);
	assert_true(vd_wait_ms(pused, f, (TXQ << 16) | 0, WAIT_MS));
	assert_int_equal(vd_rd16(&f->vm, DESC(TXQ) + 12), 7);
	assert_int_equal(vd_rd32(&f->vm, DESC(TXQ) + 8), 0);
	assert_int_equal(f->fake->last_len, sizeof(tx));
	assert_memory_equal(f->fake->last, tx, sizeof(tx));
}

/* ---- a back-end with a vnet header ---- */

#define F_OFFLOADS                                                 \
	(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |       \
	 F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) | \
	 F(VIRTIO_NET_F_GUEST_ECN) | F(VIRTIO_NET_F_GUEST_UFO) |   \
	 F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |   \
	 F(VIRTIO_NET_F_HOST_ECN) | F(VIRTIO_NET_F_HOST_UFO))

static void vnet_frame(uint8_t *buf, size_t len, uint8_t flags, uint8_t gso)
{
	struct virtio_net_hdr_v1 h = { .flags = flags,
				       .gso_type = gso,
				       .hdr_len = htole16(54),
				       .gso_size = htole16(1448),
				       .csum_start = htole16(34),
				       .csum_offset = htole16(16),
				       .num_buffers = htole16(0) };

	memcpy(buf, &h, HDR_LEN);
	fill_pattern(buf + HDR_LEN, len - HDR_LEN, gso);
}

static void test_vnet_offloads(void **state)
{
	struct fix *f = *state;
	struct fake *fk = f->fake;
	struct frame *fr = malloc(sizeof(*fr));
	static uint8_t gso[HDR_LEN + 20000];
	uint8_t plain[HDR_LEN + 100], tx[60];
	struct virtio_net_hdr_v1 th = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.csum_start = htole16(34),
					.csum_offset = htole16(16) };

	assert_non_null(fr);
	assert_int_equal(offered(f) & F_OFFLOADS, F_OFFLOADS);
	assert_false(offered(f) & F(VIRTIO_NET_F_MTU));
	/* Segmentation without checksum offload is inconsistent. */
	reset(f);
	assert_false(negotiate(f, F_BASE | F(VIRTIO_NET_F_GUEST_TSO4)));
	reset(f);
	assert_false(negotiate(f, F_BASE | F(VIRTIO_NET_F_HOST_TSO4)));
	reset(f);
	assert_false(negotiate(f, F_BASE | F(VIRTIO_NET_F_CSUM) |
					  F(VIRTIO_NET_F_HOST_ECN)));

	bring_up(f, F_BASE | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) |
			    F(VIRTIO_NET_F_GUEST_CSUM) |
			    F(VIRTIO_NET_F_GUEST_TSO4));
	assert_int_equal(fake_count(fk, &fk->offloads),
			 TUN_F_CSUM | TUN_F_TSO4);

	/* Transmit: the guest's header goes to the back-end as it is. */
	fill_pattern(tx, sizeof(tx), 10);
	tx_post(f, &th, tx, sizeof(tx));
	tx_wait(f);
	assert_int_equal(fk->last_len, HDR_LEN + sizeof(tx));
	assert_memory_equal(fk->last, &th, HDR_LEN);
	assert_memory_equal(fk->last + HDR_LEN, tx, sizeof(tx));

	/* Receive: a TSO frame over merged buffers keeps its header. */
	rx_post_n(f, 0, 16, 4096);
	vnet_frame(gso, sizeof(gso),
		   VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_RSC_INFO,
		   VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(fake_rx(fk, gso, sizeof(gso)), sizeof(gso));
	assert_true(rx_next(f, fr, WAIT_MS));
	assert_int_equal(fr->nbufs, 5);
	assert_int_equal(le16toh(fr->hdr.num_buffers), 5);
	/* RSC_INFO was not negotiated: cleared. */
	assert_int_equal(fr->hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(fr->hdr.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(le16toh(fr->hdr.gso_size), 1448);
	assert_int_equal(le16toh(fr->hdr.csum_start), 34);
	assert_int_equal(le16toh(fr->hdr.csum_offset), 16);
	assert_int_equal(fr->len, sizeof(gso) - HDR_LEN);
	assert_memory_equal(fr->data, gso + HDR_LEN, fr->len);
	assert_int_equal(stats(f).rx_bytes, sizeof(gso) - HDR_LEN);

	/* TSO6 and ECN were not negotiated: such frames are dropped. */
	vnet_frame(gso, sizeof(gso), VIRTIO_NET_HDR_F_NEEDS_CSUM,
		   VIRTIO_NET_HDR_GSO_TCPV6);
	assert_true(fake_rx(fk, gso, sizeof(gso)) < 0);
	vnet_frame(gso, sizeof(gso), VIRTIO_NET_HDR_F_NEEDS_CSUM,
		   VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN);
	assert_true(fake_rx(fk, gso, sizeof(gso)) < 0);
	assert_int_equal(stats(f).rx_dropped, 2);

	/* A reset turns the tap's offloads off. */
	reset(f);
	assert_int_equal(fake_count(fk, &fk->offloads), 0);

	/* Without GUEST_CSUM: flags are zero, partial checksums dropped. */
	bring_up(f, F_BASE);
	assert_int_equal(fake_count(fk, &fk->offloads), 0);
	rx_post_n(f, 0, 4, 2048);
	vnet_frame(plain, sizeof(plain), VIRTIO_NET_HDR_F_DATA_VALID, 0);
	assert_int_equal(fake_rx(fk, plain, sizeof(plain)), sizeof(plain));
	assert_true(rx_next(f, fr, WAIT_MS));
	assert_int_equal(fr->hdr.flags, 0);
	assert_int_equal(le16toh(fr->hdr.num_buffers), 1);
	assert_memory_equal(fr->data, plain + HDR_LEN, 100);
	vnet_frame(plain, sizeof(plain), VIRTIO_NET_HDR_F_NEEDS_CSUM, 0);
	assert_true(fake_rx(fk, plain, sizeof(plain)) < 0);
	free(fr);
}

/* ---- tap ---- */

#define ETH_P_TEST 0x88b5

static bool tap_up(const char *name, int *ifindex)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.15s", name);
	ok = s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ok = ok && !ioctl(s, SIOCSIFFLAGS, &ifr);
	if (s >= 0)
		close(s);
	*ifindex = (int)if_nametoindex(name);
	return ok && *ifindex > 0;
}

static void test_tap(void **state)
{
	struct fix *f = *state;
	struct frame *fr = malloc(sizeof(*fr));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_TEST) };
	struct pollfd pfd = { .events = POLLIN };
	uint8_t out[60], in[60], buf[128];
	struct net_backend *be;
	int ps;

	assert_non_null(fr);
	if (access("/dev/net/tun", F_OK)) {
		print_message("no /dev/net/tun: tap not tested\n");
		free(fr);
		skip();
	}
	be = open_backend(f, "tap=dvn%d,mac=52:54:00:12:34:56");
	if (!be) {
		print_message("cannot create a tap here: not tested\n");
		free(fr);
		skip();
	}
	fix_attach(f, be);
	assert_int_equal(offered(f) & F_OFFLOADS, F_OFFLOADS);
	bring_up(f, F_BASE | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
			    F(VIRTIO_NET_F_GUEST_TSO4) |
			    F(VIRTIO_NET_F_GUEST_TSO6) |
			    F(VIRTIO_NET_F_HOST_TSO4));
	if (!tap_up(be->name, &sll.sll_ifindex)) {
		print_message("cannot bring %s up: no round trip\n", be->name);
		free(fr);
		return;
	}
	ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_TEST));
	assert_true(ps >= 0);
	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);

	/* host -> guest */
	f->repost_len = 2048;
	rx_post_n(f, 0, 16, 2048);
	fill_pattern(in, sizeof(in), 11);
	assert_int_equal(send(ps, in, sizeof(in), 0), sizeof(in));
	for (;;) {
		assert_true(rx_next(f, fr, WAIT_MS));
		/* The kernel sends its own (IPv6) frames on link up. */
		if (fr->len >= 14 && get16(fr->data + 12) == ETH_P_TEST)
			break;
	}
	assert_int_equal(fr->len, sizeof(in));
	assert_memory_equal(fr->data, in, sizeof(in));
	assert_int_equal(le16toh(fr->hdr.num_buffers), 1);
	assert_int_equal(fr->hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);

	/* guest -> host */
	fill_pattern(out, sizeof(out), 12);
	memcpy(out, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(out + 6, guest_mac, 6);
	guest_send(f, out, sizeof(out));
	pfd.fd = ps;
	for (;;) {
		ssize_t n;

		assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
		n = recv(ps, buf, sizeof(buf), 0);
		assert_true(n > 0);
		/* Our own frame to the tap shows up too: skip it. */
		if (n == sizeof(out) && !memcmp(buf, out, sizeof(out)))
			break;
	}
	assert_int_equal(stats(f).tx_packets, 1);
	close(ps);
	free(fr);
}

static void limited_cb(void *arg, const char *name, uint64_t v)
{
	uint64_t *c = arg;

	if (!strcmp(name, "rx_rate_limited"))
		c[0] = v;
	else if (!strcmp(name, "tx_rate_limited"))
		c[1] = v;
}

/* fake_rx() on the I/O thread, where a back-end delivers frames. */
struct loop_rx {
	struct fake *fk;
	const void *data;
	size_t len;
	int efd;
	ssize_t ret;
	bool done;
};

static void loop_rx_cb(void *opaque, uint32_t events)
{
	struct loop_rx *l = opaque;
	uint64_t v;

	if (read(l->efd, &v, sizeof(v)) != sizeof(v))
		return;
	l->ret = fake_rx(l->fk, l->data, l->len);
	__atomic_store_n(&l->done, true, __ATOMIC_RELEASE);
}

static bool loop_rx_done(struct fix *f, uintptr_t l)
{
	return __atomic_load_n(&((struct loop_rx *)l)->done, __ATOMIC_ACQUIRE);
}

static ssize_t fake_rx_on_loop(struct fix *f, const void *data, size_t len)
{
	struct loop_rx l = { .fk = f->fake,
			     .data = data,
			     .len = len,
			     .efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	uint64_t one = 1;

	assert_true(l.efd >= 0);
	assert_int_equal(evloop_add(f->loop, l.efd, EPOLLIN, loop_rx_cb, &l),
			 0);
	assert_int_equal(write(l.efd, &one, sizeof(one)), sizeof(one));
	assert_true(vd_wait_ms(loop_rx_done, f, (uintptr_t)&l, WAIT_MS));
	evloop_del(f->loop, l.efd);
	close(l.efd);
	return l.ret;
}

static unsigned int fake_rx_ready_calls(struct fake *fk)
{
	return fake_count(fk, &fk->rx_ready_calls);
}

static bool rx_ready_called(struct fix *f, uintptr_t n)
{
	return fake_rx_ready_calls(f->fake) >= n;
}

/*
 * ops_size=2, ops_refill_time=100 (20 frames a second each way): six
 * frames sent go two at a time and all go; a third frame received waits
 * in the back-end, which the limit's timer tells to offer it again.
 */
static void test_rate_limit(void **state)
{
	struct fix *f = *state;
	struct rate_limit_config c = { .ops = { .size = 2, .refill_ms = 100 } };
	uint8_t frame[60];
	uint64_t t0, ms, limited[2] = { 0 };
	unsigned int calls;
	struct frame *fr = malloc(sizeof(*fr));

	assert_non_null(fr);
	fill_pattern(frame, sizeof(frame), 9);
	virtio_net_set_rate_limit(f->vdev, &c);
	bring_up(f, F_BASE);
	t0 = monotonic_ns();
	for (int i = 0; i < 6; i++)
		tx_post(f, NULL, frame, sizeof(frame));
	tx_wait(f);
	ms = (monotonic_ns() - t0) / 1000000;
	print_message("6 frames at 20 a second: %llu ms\n",
		      (unsigned long long)ms);
	assert_true(ms >= 190);
	assert_int_equal(fake_count(f->fake, &f->fake->sent), 6);

	rx_post_n(f, 0, 8, 2048);
	usleep(100 * 1000);
	assert_int_equal(fake_rx_on_loop(f, frame, sizeof(frame)),
			 sizeof(frame));
	assert_int_equal(fake_rx_on_loop(f, frame, sizeof(frame)),
			 sizeof(frame));
	calls = fake_rx_ready_calls(f->fake);
	assert_int_equal(fake_rx_on_loop(f, frame, sizeof(frame)), -EAGAIN);
	assert_true(vd_wait_ms(rx_ready_called, f, calls + 1, WAIT_MS));
	assert_int_equal(fake_rx_on_loop(f, frame, sizeof(frame)),
			 sizeof(frame));
	for (int i = 0; i < 3; i++)
		assert_true(rx_next(f, fr, WAIT_MS));
	virtio_dev_lock(f->vdev);
	f->vdev->ops->counters(f->vdev, limited_cb, limited);
	virtio_dev_unlock(f->vdev);
	assert_int_equal(limited[0], 1);
	assert_true(limited[1] >= 2);
	free(fr);
}

#define CTRLQ 4
#define CTRLBUF 0x3000000ull

static bool ctrl_done(struct fix *f, uintptr_t n)
{
	return used_idx(f, CTRLQ) == (uint16_t)n;
}

/*
 * One control command as Linux's virtnet_send_command() lays it out:
 * header, data, and a one-byte ack; the ack, or -1 with no answer.
 */
static int ctrl_cmd(struct fix *f, uint8_t class, uint8_t cmd, const void *data,
		    uint32_t len, bool with_ack)
{
	uint8_t *b = vd_hva(&f->vm, CTRLBUF, 64);
	/* Three descriptors a command, none in use when it is posted. */
	uint16_t head = 3 * f->used_seen[CTRLQ] % (QSIZE - 2);

	b[0] = class;
	b[1] = cmd;
	memcpy(b + 2, data, len);
	b[32] = 0xee;
	desc(f, CTRLQ, head, CTRLBUF, 2, VIRTQ_DESC_F_NEXT, head + 1);
	desc(f, CTRLQ, head + 1, CTRLBUF + 2, len,
	     with_ack ? VIRTQ_DESC_F_NEXT : 0, head + 2);
	if (with_ack)
		desc(f, CTRLQ, head + 2, CTRLBUF + 32, 1, VIRTQ_DESC_F_WRITE,
		     0);
	vd_avail(&f->vm, AVAIL(CTRLQ), QSIZE, &f->avail_idx[CTRLQ], head);
	kick(f, CTRLQ);
	if (!vd_wait_ms(ctrl_done, f, ++f->used_seen[CTRLQ], WAIT_MS))
		return -1;
	return b[32];
}

static int pairs_set(struct fix *f, uint16_t n)
{
	uint16_t le = htole16(n);

	return ctrl_cmd(f, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
			&le, sizeof(le), true);
}

static bool fake_active(struct fake *fk)
{
	bool a;

	pthread_mutex_lock(&fk->lock);
	a = fk->active;
	pthread_mutex_unlock(&fk->lock);
	return a;
}

static bool used_reached(struct fix *f, uintptr_t qn)
{
	return used_idx(f, qn >> 16) == (uint16_t)qn;
}

/*
 * Two queue pairs (a multi-queue tap): the guest starts on pair 0, turns
 * pair 1 on and off over the control queue (the back-end's queue
 * attached and detached with it), and each pair's frames go through its
 * own back-end; bad commands get VIRTIO_NET_ERR, a command with no room
 * for the ack breaks the device.
 */
static void test_mq(void **state)
{
	struct fix *f = *state;
	const uint64_t mq = F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_MQ);
	uint8_t a[64], b[64];
	uint8_t frame[HDR_LEN + 60] = { 0 };

	fill_pattern(a, sizeof(a), 1);
	fill_pattern(b, sizeof(b), 2);
	fill_pattern(frame + HDR_LEN, 60, 3);
	assert_int_equal(offered(f) & mq, mq);
	/* max_virtqueue_pairs */
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_CONFIG + 8) & 0xffff,
			 2);
	/* Pair 0 alone before the guest says more. */
	assert_true(fake_active(f->fake));
	assert_false(fake_active(f->fake2));

	/* MQ needs the control queue (spec 5.1.3.1). */
	reset(f);
	assert_false(negotiate(f, F_BASE | F(VIRTIO_NET_F_MQ)));

	reset(f);
	assert_true(negotiate(f, F_BASE | mq));
	for (unsigned int q = 0; q <= CTRLQ; q++)
		setup_queue(f, q);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(status(f), S_ALL);

	/* A frame for pair 1 before it is on: dropped. */
	assert_int_equal(fake_rx(f->fake2, frame, sizeof(frame)), -EMSGSIZE);
	assert_int_equal(pairs_set(f, 2), VIRTIO_NET_OK);
	assert_true(fake_active(f->fake2));
	assert_true(fake_active(f->fake));

	/* Each pair's back-end fills its own receive queue. */
	desc(f, 2, 0, RXBUF(0), 2048, VIRTQ_DESC_F_WRITE, 0);
	vd_avail(&f->vm, AVAIL(2), QSIZE, &f->avail_idx[2], 0);
	kick(f, 2);
	assert_int_equal(fake_rx(f->fake2, frame, sizeof(frame)),
			 sizeof(frame));
	assert_true(vd_wait_ms(used_reached, f, 2u << 16 | 1, WAIT_MS));
	assert_int_equal(used_len(f, 2, 0), sizeof(frame));
	assert_memory_equal(vd_hva(&f->vm, RXBUF(0) + HDR_LEN, 60),
			    frame + HDR_LEN, 60);
	assert_int_equal(used_idx(f, RXQ), 0);

	/* And sends what its transmit queue holds. */
	memset(vd_hva(&f->vm, TXBUF(0), HDR_LEN), 0, HDR_LEN);
	memcpy(vd_hva(&f->vm, TXBUF(0) + HDR_LEN, sizeof(a)), a, sizeof(a));
	desc(f, 3, 0, TXBUF(0), HDR_LEN + sizeof(a), 0, 0);
	vd_avail(&f->vm, AVAIL(3), QSIZE, &f->avail_idx[3], 0);
	kick(f, 3);
	assert_true(vd_wait_ms(used_reached, f, 3u << 16 | 1, WAIT_MS));
	assert_int_equal(fake_count(f->fake2, &f->fake2->sent), 1);
	assert_int_equal(fake_count(f->fake, &f->fake->sent), 0);
	assert_memory_equal(f->fake2->last + HDR_LEN, a, sizeof(a));
	tx_post(f, NULL, b, sizeof(b));
	tx_wait(f);
	assert_int_equal(fake_count(f->fake, &f->fake->sent), 1);
	assert_int_equal(stats(f).tx_packets, 2);
	assert_int_equal(stats(f).rx_packets, 1);

	/* Out of range, a class not offered, short data: refused. */
	assert_int_equal(pairs_set(f, 3), VIRTIO_NET_ERR);
	assert_int_equal(pairs_set(f, 0), VIRTIO_NET_ERR);
	assert_int_equal(ctrl_cmd(f, VIRTIO_NET_CTRL_RX,
				  VIRTIO_NET_CTRL_RX_PROMISC, "\1", 1, true),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl_cmd(f, VIRTIO_NET_CTRL_MQ,
				  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, "\1", 1,
				  true),
			 VIRTIO_NET_ERR);
	assert_true(fake_active(f->fake2));

	/* Back to one: pair 1's back-end detached, its frames dropped. */
	assert_int_equal(pairs_set(f, 1), VIRTIO_NET_OK);
	assert_false(fake_active(f->fake2));
	assert_int_equal(fake_rx(f->fake2, frame, sizeof(frame)), -EMSGSIZE);
	assert_int_equal(stats(f).rx_dropped, 2);
	assert_int_equal(pairs_set(f, 2), VIRTIO_NET_OK);
	assert_true(fake_active(f->fake2));

	/* A reset goes back to pair 0 alone. */
	reset(f);
	assert_false(fake_active(f->fake2));

	/* No byte for the ack: the device needs a reset. */
	assert_true(negotiate(f, F_BASE | mq));
	for (unsigned int q = 0; q <= CTRLQ; q++)
		setup_queue(f, q);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	desc(f, CTRLQ, 0, CTRLBUF, 4, 0, 0);
	vd_avail(&f->vm, AVAIL(CTRLQ), QSIZE, &f->avail_idx[CTRLQ], 0);
	kick(f, CTRLQ);
	assert_true(vd_mmio_wait_status(&f->vm, BASE, S_NEEDS_RESET));
}

/* Without MQ the control queue is queue 2 (spec 5.1.2), pair 0 alone. */
static void test_mq_not_negotiated(void **state)
{
	struct fix *f = *state;
	uint8_t *b = vd_hva(&f->vm, CTRLBUF, 64);
	uint16_t le = htole16(2);

	reset(f);
	assert_true(negotiate(f, F_BASE | F(VIRTIO_NET_F_CTRL_VQ)));
	for (unsigned int q = 0; q <= 2; q++)
		setup_queue(f, q);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(status(f), S_ALL);
	b[0] = VIRTIO_NET_CTRL_MQ;
	b[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
	memcpy(b + 2, &le, 2);
	b[32] = 0xee;
	desc(f, 2, 0, CTRLBUF, 4, VIRTQ_DESC_F_NEXT, 1);
	desc(f, 2, 1, CTRLBUF + 32, 1, VIRTQ_DESC_F_WRITE, 0);
	vd_avail(&f->vm, AVAIL(2), QSIZE, &f->avail_idx[2], 0);
	kick(f, 2);
	assert_true(vd_wait_ms(used_reached, f, 2u << 16 | 1, WAIT_MS));
	/* MQ not negotiated: the command is refused, pair 1 stays off. */
	assert_int_equal(b[32], VIRTIO_NET_ERR);
	assert_false(fake_active(f->fake2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define U(fn) cmocka_unit_test_setup_teardown(fn, setup_user, teardown)
#define K(fn) cmocka_unit_test_setup_teardown(fn, setup_fake, teardown)
#define V(fn) cmocka_unit_test_setup_teardown(fn, setup_fake_vnet, teardown)
		U(test_identity),
		U(test_dhcp),
		U(test_arp_no_mrg),
		U(test_tcp_to_host),
		U(test_rx_held),
		U(test_hostile_tx),
		K(test_mrg_spread),
		K(test_no_mrg),
		K(test_tx_backpressure),
		cmocka_unit_test_setup_teardown(test_tx_poll, setup_fake_poll,
						teardown),
		K(test_tx_bad_frames),
		K(test_packed),
		K(test_queue_disable),
		V(test_vnet_offloads),
		cmocka_unit_test_setup_teardown(test_tap, setup_bare, teardown),
		cmocka_unit_test_setup_teardown(test_mq, setup_fake_mq,
						teardown),
		K(test_rate_limit),
		cmocka_unit_test_setup_teardown(test_mq_not_negotiated,
						setup_fake_mq, teardown),
#undef U
#undef K
#undef V
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
