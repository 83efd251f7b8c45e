// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock over UNIX sockets: the packet protocol (spec 5.10.6), one
 * connection per host socket, credit-based flow control both ways. After
 * Firecracker's muxer and connection state machine, written anew.
 *
 * Everything runs under vdev->lock: queue kicks and the device's own epoll
 * set (the listener and every connection's socket), which sits in the I/O
 * loop as one fd, so connections come and go with epoll_ctl() on our set,
 * never evloop_add()/evloop_del() under the lock. docs/vsock.md.
 */
#include "virtio/vsock.h"

#include <errno.h>
#include <linux/virtio_vsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend/vsock_unix.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/evloop.h"
#include "util/log.h"
#include "virtio/virtio.h"

#define VSOCK_QUEUE_SIZE 256
#define RXQ 0
#define TXQ 1
#define EVQ 2
#define NR_QUEUES 3

#define HDR_LEN 44 /* struct virtio_vsock_hdr */
/* Payload of one packet at most, either way (Linux: 64 KiB). */
#define PKT_MAX (64u << 10)
/*
 * Per connection: what the guest may send before the host socket takes
 * it (our buf_alloc), held in a ring allocated when the socket first
 * pushes back.
 */
#define CONN_BUF (256u << 10)
/* Connections at most, handshakes included: bounds memory and scans. */
#define CONN_MAX 256
/* RSTs for packets of no connection, waiting for receive buffers. */
#define RST_QUEUE 64
/* Packets per run of a queue before the I/O thread serves others. */
#define TX_BUDGET (VSOCK_QUEUE_SIZE / 2)
#define RX_BUDGET (VSOCK_QUEUE_SIZE / 2)
/* Host ports for host-initiated connections, as Firecracker's. */
#define LOCAL_PORT_BASE (1u << 30)
/* The epoll ids of the listener and the timer; connections count from 1. */
#define LISTEN_ID 0
#define TIMER_ID UINT64_MAX
/*
 * A guest that does not answer a host's REQUEST in this long gets an RST
 * and the host's connection is closed (Firecracker's 2 s); the timer
 * checks every TIMER_MS while any REQUEST waits.
 */
#define CONNECT_TIMEOUT_NS 2000000000ull
#define TIMER_MS 250

/* Header field offsets (little-endian). */
#define H_SRC_CID 0
#define H_DST_CID 8
#define H_SRC_PORT 16
#define H_DST_PORT 20
#define H_LEN 24
#define H_TYPE 28
#define H_OP 30
#define H_FLAGS 32
#define H_BUF_ALLOC 36
#define H_FWD_CNT 40

enum conn_state {
	C_HANDSHAKE, /* host connected, "CONNECT <port>\n" not read yet */
	C_CONNECTING, /* REQUEST to the guest, waiting for its RESPONSE */
	C_ESTABLISHED,
	C_CLOSED, /* host socket gone; an RST to the guest is pending */
};

/* Control packets a connection owes the guest. */
#define P_REQUEST 1u
#define P_RESPONSE 2u
#define P_SHUTDOWN 4u
#define P_CREDIT_UPDATE 8u
#define P_CREDIT_REQUEST 16u
#define P_RST 32u

struct conn {
	struct conn *next;
	uint64_t id; /* epoll data */
	int fd; /* -1 once closed */
	enum conn_state state;
	uint32_t host_port, guest_port;
	uint32_t ev; /* epoll events asked for */
	uint64_t deadline; /* connecting: REQUEST sent, RESPONSE due (ns) */
	bool hup; /* HUP/ERR seen: out of the epoll set */
	unsigned int pend; /* P_* */
	uint32_t shut_flags; /* of the pending SHUTDOWN */
	bool rx_ready; /* the host socket may have data or EOF */
	bool host_eof; /* the host sends no more */
	bool guest_shut_rcv, guest_shut_send;
	bool shut_wr_pending; /* shutdown(SHUT_WR) once the ring drains */
	bool close_pending; /* close and RST once the ring drains */
	/* Credit: ours (guest to host) and the guest's (host to guest). */
	uint32_t rx_cnt; /* guest payload bytes taken */
	uint32_t fwd_cnt; /* of them, written to the host socket */
	uint32_t last_fwd_sent; /* fwd_cnt as the guest last heard it */
	uint32_t tx_cnt; /* bytes given to the guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	bool credit_requested;
	/* Guest bytes the host socket has not taken: a ring of CONN_BUF. */
	uint8_t *buf;
	uint32_t head, len;
	/* Handshake line so far (no newline in it yet). */
	char line[VSOCK_UNIX_LINE_MAX];
	size_t line_len;
};

struct rst_entry {
	uint64_t src_cid; /* the CID the guest addressed */
	uint32_t src_port, dst_port;
};

struct virtio_vsock {
	struct virtio_dev vdev;
	struct virtqueue vqs[NR_QUEUES];
	struct virtq_seg segs[VSOCK_QUEUE_SIZE];
	uint8_t config[8];
	uint64_t cid;
	struct evloop *loop;
	struct vsock_unix *unix_be;
	int epfd;
	int timerfd;
	bool timer_on;
	bool in_loop;

	struct conn *conns;
	unsigned int nr_conns;
	uint64_t next_id;
	uint32_t next_local_port;

	struct rst_entry rsts[RST_QUEUE];
	unsigned int rst_head, rst_len;

	/* A receive buffer popped and not yet filled. */
	struct virtq_seg rx_segs[VSOCK_QUEUE_SIZE];
	struct virtq_chain rx_chain;
	bool rx_held;

	bool was_active; /* DRIVER_OK seen since creation */
	bool event_reset; /* TRANSPORT_RESET owed to the driver */

	struct virtio_vsock_stats stats;
	uint8_t bounce[PKT_MAX];
};

static struct virtio_vsock *to_vs(struct virtio_dev *vdev)
{
	return (struct virtio_vsock *)vdev;
}

/* Connections ---------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void timer_set(struct virtio_vsock *vs, bool on)
{
	struct itimerspec its = { 0 };

	if (on == vs->timer_on)
		return;
	if (on) {
		its.it_value.tv_nsec = TIMER_MS * 1000000l;
		its.it_interval = its.it_value;
	}
	if (timerfd_settime(vs->timerfd, 0, &its, NULL) == 0)
		vs->timer_on = on;
}

static struct conn *conn_find(struct virtio_vsock *vs, uint32_t host_port,
			      uint32_t guest_port)
{
	for (struct conn *c = vs->conns; c; c = c->next)
		if (c->state != C_HANDSHAKE && c->host_port == host_port &&
		    c->guest_port == guest_port)
			return c;
	return NULL;
}

static struct conn *conn_by_id(struct virtio_vsock *vs, uint64_t id)
{
	for (struct conn *c = vs->conns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void conn_close_fd(struct virtio_vsock *vs, struct conn *c)
{
	if (c->fd < 0)
		return;
	if (!c->hup)
		epoll_ctl(vs->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->hup = true;
}

static void conn_free(struct virtio_vsock *vs, struct conn *c)
{
	struct conn **pp;

	for (pp = &vs->conns; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = c->next;
	conn_close_fd(vs, c);
	free(c->buf);
	free(c);
	vs->nr_conns--;
}

/* Bytes the guest may still send us, as it last heard. */
static uint32_t peer_credit(const struct conn *c)
{
	uint32_t used = c->tx_cnt - c->peer_fwd_cnt;

	return used > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

/* Keep the epoll set in line with what the connection can take. */
static void conn_arm(struct virtio_vsock *vs, struct conn *c)
{
	struct epoll_event ev = { .data.u64 = c->id };
	uint32_t want = 0;

	if (c->fd < 0 || c->hup)
		return;
	if (c->state == C_HANDSHAKE)
		want |= EPOLLIN;
	else if (c->state == C_ESTABLISHED && !c->rx_ready && !c->host_eof &&
		 !c->guest_shut_rcv)
		want |= EPOLLIN;
	if (c->len)
		want |= EPOLLOUT;
	if (want == c->ev)
		return;
	ev.events = want;
	if (epoll_ctl(vs->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->ev = want;
}

static struct conn *conn_new(struct virtio_vsock *vs, int fd,
			     enum conn_state state)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = 0 };

	if (!c)
		return NULL;
	c->id = ++vs->next_id;
	c->fd = fd;
	c->state = state;
	ev.data.u64 = c->id;
	if (state == C_HANDSHAKE)
		ev.events = EPOLLIN;
	if (epoll_ctl(vs->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return NULL;
	}
	c->ev = ev.events;
	c->next = vs->conns;
	vs->conns = c;
	vs->nr_conns++;
	return c;
}

/* Drop the host side and owe the guest an RST. */
static void conn_reset(struct virtio_vsock *vs, struct conn *c)
{
	conn_close_fd(vs, c);
	c->state = C_CLOSED;
	c->len = 0;
	c->pend = P_RST;
}

/* A packet that names no connection gets an RST of its own. */
static void rst_queue(struct virtio_vsock *vs, uint64_t src_cid,
		      uint32_t src_port, uint32_t dst_port)
{
	struct rst_entry *e;

	if (vs->rst_len == RST_QUEUE) {
		pr_debug_ratelimited("%s: RST queue full, one dropped",
				     vs->vdev.name);
		return;
	}
	e = &vs->rsts[(vs->rst_head + vs->rst_len++) % RST_QUEUE];
	*e = (struct rst_entry){ .src_cid = src_cid,
				 .src_port = src_port,
				 .dst_port = dst_port };
}

/* Tell the guest of room we made, once it believes less than half free. */
static void maybe_credit_update(struct conn *c)
{
	uint32_t believed = CONN_BUF - (c->rx_cnt - c->last_fwd_sent);

	if (c->fwd_cnt != c->last_fwd_sent && believed < CONN_BUF / 2)
		c->pend |= P_CREDIT_UPDATE;
}

/* The ring is empty now: carry out what waited for it. */
static void conn_drained(struct virtio_vsock *vs, struct conn *c)
{
	if (c->close_pending) {
		conn_reset(vs, c);
		return;
	}
	if (c->shut_wr_pending) {
		c->shut_wr_pending = false;
		shutdown(c->fd, SHUT_WR);
	}
}

/* Write what the ring holds; false when the host socket failed. */
static bool conn_flush(struct virtio_vsock *vs, struct conn *c)
{
	while (c->len) {
		uint32_t first = CONN_BUF - c->head;
		struct iovec iov[2] = {
			{ .iov_base = c->buf + c->head,
			  .iov_len = first < c->len ? first : c->len },
			{ .iov_base = c->buf, .iov_len = 0 },
		};
		ssize_t n;
		struct msghdr mh = { .msg_iov = iov };

		if (first < c->len)
			iov[1].iov_len = c->len - first;
		mh.msg_iovlen = iov[1].iov_len ? 2 : 1;
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return false;
		c->head = (c->head + (uint32_t)n) % CONN_BUF;
		c->len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
		vs->stats.tx_bytes += (uint64_t)n;
	}
	maybe_credit_update(c);
	if (!c->len)
		conn_drained(vs, c);
	return true;
}

/*
 * Guest payload @data[0..@n) for the host socket: straight to it while
 * nothing waits, the rest into the ring. False when the socket failed.
 */
static bool conn_send(struct virtio_vsock *vs, struct conn *c,
		      const uint8_t *data, uint32_t n)
{
	uint32_t tail, first;

	c->rx_cnt += n;
	while (!c->len && n) {
		ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w <= 0)
			return false;
		data += w;
		n -= (uint32_t)w;
		c->fwd_cnt += (uint32_t)w;
		vs->stats.tx_bytes += (uint64_t)w;
	}
	if (n) {
		if (!c->buf && !(c->buf = malloc(CONN_BUF)))
			return false;
		/* The credit check made room: len + n <= CONN_BUF. */
		tail = (c->head + c->len) % CONN_BUF;
		first = CONN_BUF - tail < n ? CONN_BUF - tail : n;
		memcpy(c->buf + tail, data, first);
		memcpy(c->buf, data + first, n - first);
		c->len += n;
	}
	maybe_credit_update(c);
	return true;
}

/* Host side ------------------------------------------------------------- */

static uint32_t alloc_local_port(struct virtio_vsock *vs)
{
	for (;;) {
		uint32_t p = vs->next_local_port++;
		bool used = false;

		if (vs->next_local_port == UINT32_MAX ||
		    vs->next_local_port < LOCAL_PORT_BASE)
			vs->next_local_port = LOCAL_PORT_BASE;
		/* At most CONN_MAX ports are taken: this ends. */
		for (struct conn *c = vs->conns; c && !used; c = c->next)
			used = c->state != C_HANDSHAKE && c->host_port == p;
		if (!used)
			return p;
	}
}

/* Read the "CONNECT <port>\n" line without reading past it. */
static void handshake_read(struct virtio_vsock *vs, struct conn *c)
{
	size_t room = sizeof(c->line) - c->line_len, used;
	char *p = c->line + c->line_len;
	ssize_t n = recv(c->fd, p, room, MSG_PEEK);
	const char *nl;
	uint32_t port;
	int r;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_free(vs, c);
		return;
	}
	nl = memchr(p, '\n', (size_t)n);
	if (nl)
		n = nl - p + 1;
	if (recv(c->fd, p, (size_t)n, 0) != n) {
		conn_free(vs, c);
		return;
	}
	c->line_len += (size_t)n;
	r = vsock_unix_parse_connect(c->line, c->line_len, &port, &used);
	if (r == -EAGAIN)
		return;
	if (r) {
		pr_debug_ratelimited("%s: bad handshake from a host socket",
				     vs->vdev.name);
		conn_free(vs, c);
		return;
	}
	c->state = C_CONNECTING;
	c->guest_port = port;
	c->host_port = alloc_local_port(vs);
	c->pend |= P_REQUEST;
	conn_arm(vs, c);
}

static void accept_all(struct virtio_vsock *vs)
{
	for (unsigned int i = 0; i < CONN_MAX; i++) {
		int fd = vsock_unix_accept(vs->unix_be);

		if (fd < 0)
			return;
		if (vs->nr_conns >= CONN_MAX ||
		    !conn_new(vs, fd, C_HANDSHAKE)) {
			pr_warn_ratelimited("%s: too many connections; a host "
					    "connection refused",
					    vs->vdev.name);
			close(fd);
		}
	}
}

/* REQUESTs the guest left unanswered too long: RST, host side closed. */
static void timer_expired(struct virtio_vsock *vs)
{
	uint64_t n, t = now_ns();
	bool waiting = false;

	if (read(vs->timerfd, &n, sizeof(n)) != sizeof(n))
		return;
	for (struct conn *c = vs->conns; c; c = c->next) {
		if (c->state != C_CONNECTING || !c->deadline)
			continue;
		if (t >= c->deadline) {
			pr_debug_ratelimited("%s: guest port %u did not answer "
					     "a host connection",
					     vs->vdev.name, c->guest_port);
			conn_reset(vs, c);
		} else {
			waiting = true;
		}
	}
	if (!waiting)
		timer_set(vs, false);
}

static void conn_event(struct virtio_vsock *vs, struct conn *c, uint32_t events)
{
	if (events & (EPOLLHUP | EPOLLERR)) {
		/* Level-triggered HUP cannot be masked: leave the set. */
		epoll_ctl(vs->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		c->hup = true;
	}
	if (c->state == C_HANDSHAKE) {
		if (c->hup)
			conn_free(vs, c);
		else
			handshake_read(vs, c);
		return;
	}
	if (c->state == C_CLOSED)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		c->rx_ready = true;
	if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && c->len &&
	    !conn_flush(vs, c)) {
		conn_reset(vs, c);
		return;
	}
	conn_arm(vs, c);
}

/* To the guest -------------------------------------------------------- */

static void hdr_fill(struct virtio_vsock *vs, uint8_t *h, uint64_t src_cid,
		     uint32_t src_port, uint32_t dst_port, uint16_t op,
		     uint32_t len)
{
	memset(h, 0, HDR_LEN);
	put_le(h + H_SRC_CID, src_cid, 8);
	put_le(h + H_DST_CID, vs->cid, 8);
	put_le(h + H_SRC_PORT, src_port, 4);
	put_le(h + H_DST_PORT, dst_port, 4);
	put_le(h + H_LEN, len, 4);
	put_le(h + H_TYPE, VIRTIO_VSOCK_TYPE_STREAM, 2);
	put_le(h + H_OP, op, 2);
}

static void conn_hdr(struct virtio_vsock *vs, struct conn *c, uint8_t *h,
		     uint16_t op, uint32_t len, uint32_t flags)
{
	hdr_fill(vs, h, VSOCK_HOST_CID, c->host_port, c->guest_port, op, len);
	put_le(h + H_FLAGS, flags, 4);
	put_le(h + H_BUF_ALLOC, CONN_BUF, 4);
	put_le(h + H_FWD_CNT, c->fwd_cnt, 4);
	/* Every packet tells the guest our credit. */
	c->last_fwd_sent = c->fwd_cnt;
	c->pend &= ~P_CREDIT_UPDATE;
}

static bool conn_has_rx(const struct conn *c)
{
	return c->pend ||
	       (c->state == C_ESTABLISHED && c->rx_ready && !c->host_eof &&
		!c->guest_shut_rcv && peer_credit(c)) ||
	       (c->state == C_ESTABLISHED && c->rx_ready && !c->host_eof &&
		!c->guest_shut_rcv && !c->credit_requested);
}

/*
 * The next packet of @c into @h (and the payload into the bounce buffer),
 * @room payload bytes at most: its payload length, or -1 if @c had none
 * after all. May free @c (*@freed).
 */
static int conn_next_packet(struct virtio_vsock *vs, struct conn *c, uint8_t *h,
			    uint32_t room, bool *freed)
{
	*freed = false;
	if (c->pend & P_RST) {
		conn_hdr(vs, c, h, VIRTIO_VSOCK_OP_RST, 0, 0);
		vs->stats.rst_sent++;
		conn_free(vs, c);
		*freed = true;
		return 0;
	}
	if (c->pend & P_REQUEST) {
		c->pend &= ~P_REQUEST;
		conn_hdr(vs, c, h, VIRTIO_VSOCK_OP_REQUEST, 0, 0);
		c->deadline = now_ns() + CONNECT_TIMEOUT_NS;
		timer_set(vs, true);
		return 0;
	}
	if (c->pend & P_RESPONSE) {
		c->pend &= ~P_RESPONSE;
		conn_hdr(vs, c, h, VIRTIO_VSOCK_OP_RESPONSE, 0, 0);
		return 0;
	}
	if (c->state == C_ESTABLISHED && c->rx_ready && !c->host_eof &&
	    !c->guest_shut_rcv) {
		uint32_t credit = peer_credit(c), n = room;
		ssize_t r;

		if (!credit) {
			if (c->credit_requested)
				goto control;
			/* Stalled on the guest's credit: ask it once. */
			c->credit_requested = true;
			conn_hdr(vs, c, h, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0,
				 0);
			return 0;
		}
		if (n > credit)
			n = credit;
		if (n > PKT_MAX)
			n = PKT_MAX;
		if (!n)
			goto control; /* a buffer with room for a header only */
		r = recv(c->fd, vs->bounce, n, MSG_DONTWAIT);
		if (r > 0) {
			conn_hdr(vs, c, h, VIRTIO_VSOCK_OP_RW, (uint32_t)r, 0);
			c->tx_cnt += (uint32_t)r;
			vs->stats.rx_bytes += (uint64_t)r;
			return (int)r;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			c->rx_ready = false;
			conn_arm(vs, c);
		} else if (r == 0) {
			/* EOF: the host sends no more. */
			c->rx_ready = false;
			c->host_eof = true;
			c->pend |= P_SHUTDOWN;
			c->shut_flags |= VIRTIO_VSOCK_SHUTDOWN_SEND;
			if (c->guest_shut_send)
				c->shut_flags |= VIRTIO_VSOCK_SHUTDOWN_RCV;
		} else {
			conn_reset(vs, c);
			return conn_next_packet(vs, c, h, room, freed);
		}
	}
control:
	if (c->pend & P_SHUTDOWN) {
		c->pend &= ~P_SHUTDOWN;
		conn_hdr(vs, c, h, VIRTIO_VSOCK_OP_SHUTDOWN, 0, c->shut_flags);
		return 0;
	}
	if (c->pend & P_CREDIT_UPDATE) {
		conn_hdr(vs, c, h, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0);
		return 0;
	}
	if (c->pend & P_CREDIT_REQUEST) {
		c->pend &= ~P_CREDIT_REQUEST;
		conn_hdr(vs, c, h, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 0);
		return 0;
	}
	return -1;
}

/* Move @c to the end of the list: connections take turns. */
static void conn_to_tail(struct virtio_vsock *vs, struct conn *c)
{
	struct conn **pp;

	for (pp = &vs->conns; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	c->next = NULL;
	while (*pp)
		pp = &(*pp)->next;
	*pp = c;
}

/*
 * Fill receive buffers while anything is owed to the guest: queued RSTs,
 * then the connections in turn.
 */
static void rx_process(struct virtio_vsock *vs)
{
	struct virtio_dev *vdev = &vs->vdev;
	struct virtqueue *vq = &vs->vqs[RXQ];
	unsigned int budget = RX_BUDGET, idle = 0;
	bool pushed = false;

	if (!virtio_dev_running(vdev) || !vq->ready)
		return;
	/* A connection that had nothing after all is passed over. */
	while (budget && idle <= vs->nr_conns) {
		uint8_t h[HDR_LEN];
		struct conn *c = NULL;
		uint32_t room;
		int len = 0;

		if (!vs->rst_len) {
			for (c = vs->conns; c && !conn_has_rx(c); c = c->next)
				;
			if (!c)
				break;
		}
		if (!vs->rx_held) {
			int r = virtq_pop(vq, &vs->rx_chain);

			if (r < 0) {
				virtio_dev_fail(vdev, r, "rx queue");
				return;
			}
			if (!r)
				break; /* the guest's next RX kick resumes */
			if (vs->rx_chain.readable ||
			    vs->rx_chain.writable < HDR_LEN) {
				virtio_dev_fail(vdev, -EINVAL,
						"rx buffer not a writable "
						"header");
				return;
			}
			vs->rx_held = true;
		}
		room = vs->rx_chain.writable - HDR_LEN;
		if (!c) {
			struct rst_entry *e = &vs->rsts[vs->rst_head];

			hdr_fill(vs, h, e->src_cid, e->src_port, e->dst_port,
				 VIRTIO_VSOCK_OP_RST, 0);
			vs->rst_head = (vs->rst_head + 1) % RST_QUEUE;
			vs->rst_len--;
			vs->stats.rst_sent++;
		} else {
			bool freed;

			len = conn_next_packet(vs, c, h, room, &freed);
			if (!freed)
				conn_to_tail(vs, c);
			if (len < 0) {
				idle++;
				continue; /* nothing after all; buffer kept */
			}
		}
		if (virtq_chain_write(&vdev->dma, &vs->rx_chain, 0, h,
				      HDR_LEN) ||
		    (len &&
		     virtq_chain_write(&vdev->dma, &vs->rx_chain, HDR_LEN,
				       vs->bounce, (size_t)len))) {
			virtio_dev_fail(vdev, -EFAULT, "rx buffer");
			return;
		}
		virtq_push(vq, &vs->rx_chain, HDR_LEN + (uint32_t)len);
		vs->rx_held = false;
		vs->stats.rx_packets++;
		pushed = true;
		idle = 0;
		budget--;
	}
	if (pushed)
		virtio_dev_notify_queue(vdev, RXQ);
	if (!budget)
		virtio_dev_kick(vdev, RXQ); /* the rest after other work */
}

/* From the guest ------------------------------------------------------ */

/* A packet of a connection we know. */
static void conn_packet(struct virtio_vsock *vs, struct conn *c,
			const uint8_t *h, const struct virtq_chain *chain)
{
	uint16_t op = (uint16_t)get_le(h + H_OP, 2);
	uint32_t len = (uint32_t)get_le(h + H_LEN, 4);
	uint32_t flags = (uint32_t)get_le(h + H_FLAGS, 4);
	char ok[24];
	int n;

	if (c->state == C_CLOSED) {
		/* The host side is gone; the RST on its way says so. */
		if (op == VIRTIO_VSOCK_OP_RST)
			conn_free(vs, c);
		return;
	}
	c->peer_buf_alloc = (uint32_t)get_le(h + H_BUF_ALLOC, 4);
	c->peer_fwd_cnt = (uint32_t)get_le(h + H_FWD_CNT, 4);
	c->credit_requested = false;
	switch (op) {
	case VIRTIO_VSOCK_OP_RST:
		conn_free(vs, c);
		return;
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state != C_CONNECTING)
			goto reset;
		n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
		if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) !=
		    n)
			goto reset;
		c->state = C_ESTABLISHED;
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state != C_ESTABLISHED || c->guest_shut_send)
			goto reset;
		/* More than the credit we gave: the guest broke the rules. */
		if (len > CONN_BUF - (c->rx_cnt - c->fwd_cnt)) {
			pr_debug_ratelimited("%s: guest port %u overran its "
					     "credit",
					     vs->vdev.name, c->guest_port);
			goto reset;
		}
		if (virtq_chain_read(&vs->vdev.dma, chain, HDR_LEN, vs->bounce,
				     len) ||
		    !conn_send(vs, c, vs->bounce, len))
			goto reset;
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (c->state != C_ESTABLISHED)
			goto reset;
		if (flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
			c->guest_shut_rcv = true;
		if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
			c->guest_shut_send = true;
		if (c->guest_shut_rcv && c->guest_shut_send) {
			/* A close: the guest waits for our RST. */
			c->close_pending = true;
			if (!c->len)
				conn_drained(vs, c);
			return;
		}
		if (c->guest_shut_send) {
			c->shut_wr_pending = true;
			if (!c->len)
				conn_drained(vs, c);
		}
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->pend |= P_CREDIT_UPDATE;
		break;
	default: /* REQUEST on a live connection, unknown ops */
		goto reset;
	}
	conn_arm(vs, c);
	return;
reset:
	conn_reset(vs, c);
}

/* A guest REQUEST: a connection to PATH_<dst_port>. */
static void guest_connect(struct virtio_vsock *vs, const uint8_t *h)
{
	uint32_t src_port = (uint32_t)get_le(h + H_SRC_PORT, 4);
	uint32_t dst_port = (uint32_t)get_le(h + H_DST_PORT, 4);
	struct conn *c;
	int fd = -1;

	if (vs->nr_conns < CONN_MAX)
		fd = vsock_unix_connect(vs->unix_be, dst_port);
	if (fd < 0 || !(c = conn_new(vs, fd, C_ESTABLISHED))) {
		if (fd >= 0)
			close(fd);
		rst_queue(vs, VSOCK_HOST_CID, dst_port, src_port);
		return;
	}
	c->host_port = dst_port;
	c->guest_port = src_port;
	c->peer_buf_alloc = (uint32_t)get_le(h + H_BUF_ALLOC, 4);
	c->peer_fwd_cnt = (uint32_t)get_le(h + H_FWD_CNT, 4);
	c->pend |= P_RESPONSE;
	conn_arm(vs, c);
}

/*
 * One packet from the transmit queue. A chain that cannot be a packet
 * (short, writable, a length past its end or over PKT_MAX) is the
 * driver's bug: -EINVAL, and the device needs a reset. A well-formed
 * packet the host cannot take gets an RST.
 */
static int tx_packet(struct virtio_vsock *vs, const struct virtq_chain *chain)
{
	uint8_t h[HDR_LEN];
	uint64_t src_cid, dst_cid;
	uint32_t len, src_port, dst_port;
	uint16_t type, op;
	struct conn *c;

	if (chain->writable || chain->readable < HDR_LEN)
		return -EINVAL;
	if (virtq_chain_read(&vs->vdev.dma, chain, 0, h, HDR_LEN))
		return -EFAULT;
	len = (uint32_t)get_le(h + H_LEN, 4);
	if (len > PKT_MAX || len > chain->readable - HDR_LEN)
		return -EMSGSIZE;
	vs->stats.tx_packets++;
	src_cid = get_le(h + H_SRC_CID, 8);
	dst_cid = get_le(h + H_DST_CID, 8);
	src_port = (uint32_t)get_le(h + H_SRC_PORT, 4);
	dst_port = (uint32_t)get_le(h + H_DST_PORT, 4);
	type = (uint16_t)get_le(h + H_TYPE, 2);
	op = (uint16_t)get_le(h + H_OP, 2);
	if (src_cid != vs->cid) {
		/* Not the guest's address: nobody to answer. */
		vs->stats.dropped++;
		return 0;
	}
	if (dst_cid != VSOCK_HOST_CID || type != VIRTIO_VSOCK_TYPE_STREAM) {
		if (op != VIRTIO_VSOCK_OP_RST)
			rst_queue(vs, dst_cid, dst_port, src_port);
		return 0;
	}
	c = conn_find(vs, dst_port, src_port);
	if (c)
		conn_packet(vs, c, h, chain);
	else if (op == VIRTIO_VSOCK_OP_REQUEST)
		guest_connect(vs, h);
	else if (op != VIRTIO_VSOCK_OP_RST)
		rst_queue(vs, dst_cid, dst_port, src_port);
	return 0;
}

static int64_t tx_one(struct virtio_dev *vdev, struct virtq_chain *c)
{
	return tx_packet((struct virtio_vsock *)vdev, c);
}

static void tx_process(struct virtio_vsock *vs)
{
	struct virtq_chain c = VIRTQ_CHAIN_INIT(vs->segs);

	virtio_dev_serve_queue(&vs->vdev, TXQ, &c, TX_BUDGET, tx_one,
			       "tx queue");
}

/*
 * One TRANSPORT_RESET event into the driver's next event buffer: true once
 * delivered, false with no buffer posted yet or after marking the device
 * broken. Shared with the vhost back-end (virtio/vhost_vsock.c).
 */
bool vsock_deliver_transport_reset(struct virtio_dev *vdev,
				   struct virtqueue *vq)
{
	struct virtq_seg segs[4];
	struct virtq_chain c = VIRTQ_CHAIN_INIT(segs);
	uint8_t ev[4] = { VIRTIO_VSOCK_EVENT_TRANSPORT_RESET };
	int r;

	if (!virtio_dev_running(vdev) || !vq->ready)
		return false;
	r = virtq_pop(vq, &c);
	if (r < 0) {
		virtio_dev_fail(vdev, r, "event queue");
		return false;
	}
	if (!r)
		return false;
	if (c.readable || c.writable < sizeof(ev)) {
		virtio_dev_fail(vdev, -EINVAL, "event buffer too short");
		return false;
	}
	if (virtq_chain_write(&vdev->dma, &c, 0, ev, sizeof(ev))) {
		virtio_dev_fail(vdev, -EFAULT, "event buffer");
		return false;
	}
	virtq_push(vq, &c, sizeof(ev));
	virtio_dev_notify_queue(vdev, vq - vdev->vqs);
	return true;
}

/* TRANSPORT_RESET, if owed and the driver gave a buffer for it. */
static void ev_process(struct virtio_vsock *vs)
{
	if (vs->event_reset &&
	    vsock_deliver_transport_reset(&vs->vdev, &vs->vqs[EVQ]))
		vs->event_reset = false;
}

/* Device ops ----------------------------------------------------------- */

static void vsock_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_vsock *vs = to_vs(vdev);

	if (q == TXQ)
		tx_process(vs);
	else if (q == EVQ)
		ev_process(vs);
	rx_process(vs);
}

static void epoll_cb(void *opaque, uint32_t events)
{
	struct virtio_vsock *vs = opaque;
	struct epoll_event evs[32];
	int n;

	pthread_mutex_lock(&vs->vdev.lock);
	n = epoll_wait(vs->epfd, evs, 32, 0);
	for (int i = 0; i < n; i++) {
		struct conn *c;

		if (evs[i].data.u64 == LISTEN_ID) {
			accept_all(vs);
			continue;
		}
		if (evs[i].data.u64 == TIMER_ID) {
			timer_expired(vs);
			continue;
		}
		/* One an earlier event freed is gone. */
		c = conn_by_id(vs, evs[i].data.u64);
		if (c)
			conn_event(vs, c, evs[i].events);
	}
	rx_process(vs);
	pthread_mutex_unlock(&vs->vdev.lock);
}

static int vsock_activate(struct virtio_dev *vdev)
{
	to_vs(vdev)->was_active = true;
	return 0;
}

/*
 * Device reset: every connection ends (the host sockets close), and a
 * driver that comes back (a reboot in place, a kexec) first hears
 * TRANSPORT_RESET, so it forgets any connection of before.
 */
static void vsock_reset(struct virtio_dev *vdev)
{
	struct virtio_vsock *vs = to_vs(vdev);

	while (vs->conns)
		conn_free(vs, vs->conns);
	vs->rst_head = vs->rst_len = 0;
	vs->rx_held = false;
	timer_set(vs, false);
	if (vs->was_active)
		vs->event_reset = true;
}

static void vsock_stop(struct virtio_dev *vdev)
{
	struct virtio_vsock *vs = to_vs(vdev);

	if (vs->in_loop)
		evloop_del(vs->loop, vs->epfd);
	vs->in_loop = false;
}

static void vsock_destroy(struct virtio_dev *vdev)
{
	struct virtio_vsock *vs = to_vs(vdev);

	vsock_stop(vdev);
	while (vs->conns)
		conn_free(vs, vs->conns);
	vsock_unix_close(vs->unix_be);
	if (vs->epfd >= 0)
		close(vs->epfd);
	if (vs->timerfd >= 0)
		close(vs->timerfd);
	free(vs);
}

static const struct virtio_dev_ops vsock_ops = {
	.activate = vsock_activate,
	.reset = vsock_reset,
	.queue_notify = vsock_queue_notify,
	.stop = vsock_stop,
	.destroy = vsock_destroy,
};

struct virtio_dev *virtio_vsock_create(struct vm *vm, uint64_t cid,
				       const char *path, struct evloop *loop)
{
	struct virtio_vsock *vs;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = LISTEN_ID };
	struct epoll_event tev = { .events = EPOLLIN, .data.u64 = TIMER_ID };

	if (cid < VSOCK_CID_MIN || cid > VSOCK_CID_MAX) {
		pr_err("virtio-vsock: guest CID %llu is reserved",
		       (unsigned long long)cid);
		return NULL;
	}
	vs = calloc(1, sizeof(*vs));
	if (!vs)
		return NULL;
	vs->epfd = -1;
	vs->timerfd = -1;
	if (virtio_dev_init(&vs->vdev, "virtio-vsock", VIRTIO_ID_VSOCK,
			    &vsock_ops, vs->vqs, NR_QUEUES, VSOCK_QUEUE_SIZE,
			    &vm->mem)) {
		free(vs);
		return NULL;
	}
	vs->cid = cid;
	vs->loop = loop;
	vs->next_local_port = LOCAL_PORT_BASE;
	vs->rx_chain = VIRTQ_CHAIN_INIT(vs->rx_segs);
	put_le(vs->config, cid, 8);
	vs->vdev.config = vs->config;
	vs->vdev.config_len = sizeof(vs->config);
	vs->unix_be = vsock_unix_open(path);
	if (!vs->unix_be)
		goto fail;
	vs->epfd = epoll_create1(EPOLL_CLOEXEC);
	vs->timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (vs->epfd < 0 || vs->timerfd < 0 ||
	    epoll_ctl(vs->epfd, EPOLL_CTL_ADD,
		      vsock_unix_listen_fd(vs->unix_be), &ev) < 0 ||
	    epoll_ctl(vs->epfd, EPOLL_CTL_ADD, vs->timerfd, &tev) < 0 ||
	    evloop_add(loop, vs->epfd, EPOLLIN, epoll_cb, vs) < 0) {
		pr_err("virtio-vsock: cannot poll its sockets: %s",
		       strerror(errno));
		goto fail;
	}
	vs->in_loop = true;
	return &vs->vdev;
fail:
	vsock_unix_close(vs->unix_be);
	if (vs->epfd >= 0)
		close(vs->epfd);
	if (vs->timerfd >= 0)
		close(vs->timerfd);
	pthread_mutex_destroy(&vs->vdev.lock);
	free(vs);
	return NULL;
}

void virtio_vsock_get_stats(struct virtio_dev *vdev,
			    struct virtio_vsock_stats *st)
{
	struct virtio_vsock *vs = to_vs(vdev);

	pthread_mutex_lock(&vdev->lock);
	*st = vs->stats;
	st->conns = vs->nr_conns;
	pthread_mutex_unlock(&vdev->lock);
}
