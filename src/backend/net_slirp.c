// SPDX-License-Identifier: GPL-2.0
/*
 * User-mode networking with libslirp, on QEMU's -netdev user plan: network
 * 10.0.2.0/24, the guest gets 10.0.2.15 from the built-in DHCP server, the
 * gateway 10.0.2.2 is the host (connections to it reach the host's
 * 127.0.0.1: libslirp does that for the host address unless
 * disable_host_loopback), 10.0.2.3 forwards DNS to the host's resolver.
 * hostfwd binds 127.0.0.1 unless told otherwise (QEMU binds every address).
 * IPv6 is off unless ipv6=on: then fec0::/64, the host fec0::2, DNS fec0::3,
 * router advertisements from libslirp.
 *
 * Frames carry no vnet header (has_vnet_hdr is false) and TCP/UDP
 * checksums must be complete both ways.
 *
 * Locking: libslirp is not thread-safe and keeps process-wide state (its
 * clock, the DNS server cache), so every slirp_* call, for every instance,
 * is made under slirp_lock. net_backend_send() calls slirp_input() on the
 * caller's thread and then kicks the I/O thread; the I/O thread does the
 * rest and is the only one that calls the device's rx callback.
 *
 * Polling: libslirp picks its sockets' events anew before every poll
 * (slirp_pollfds_fill), which does not map onto long-lived evloop
 * registrations. So each instance keeps a private epoll set mirroring the
 * last fill and hands only that epoll fd to the loop: it turns readable
 * when any socket libslirp cares about is ready. Servicing is then fill,
 * poll(0), slirp_pollfds_poll, and the mirror is refreshed. libslirp's
 * TCP timers (the fill's timeout) and its opaque timers share one timerfd.
 */
#ifdef HAVE_SLIRP

#include "backend/net.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <libslirp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "util/evloop.h"
#include "util/log.h"

/* Guest frames are linearised for slirp_input(). */
#define UNET_MAX_FRAME 65536
/*
 * Frames for a guest that has no RX buffers. Past this they are dropped,
 * counted and reported: TCP retransmits, and slirp reads no more host
 * sockets meanwhile, so only its own replies and timers add to this.
 */
#define UNET_RXQ_MAX 1024

struct unet_frame {
	struct unet_frame *next;
	size_t len;
	uint8_t data[];
};

struct unet_timer {
	struct unet_timer *next;
	SlirpTimerId id;
	void *cb_opaque;
	/* ms on the clock_get_ns clock; -1 when not armed */
	int64_t expire_ms;
};

struct unet {
	struct net_backend be;
	Slirp *slirp;
	/* the private epoll set, a timerfd and the kick eventfd */
	int epfd;
	int timerfd;
	int kickfd;
	bool started;
	atomic_bool kick_pending;
	atomic_bool rx_kicked;

	/* Under slirp_lock: */
	struct unet_frame *rxq;
	struct unet_frame **rxq_tail;
	unsigned int rxq_len;
	unsigned long long rx_dropped;
	struct unet_timer *timers;
	struct pollfd *pfds;
	unsigned int npfds;
	unsigned int pfds_cap;
	/* the fds in epfd, sorted */
	int *watched;
	unsigned int nwatched;
	uint8_t txbuf[UNET_MAX_FRAME];

	/* I/O thread only: the guest refused a frame, nothing is read */
	bool rx_blocked;
};

static pthread_mutex_t slirp_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * libslirp, and glib under it, are loaded only when a user-mode backend is
 * opened: linked in, they cost every VM about 1.4 MiB of resident memory
 * and the start-up time of loading them.
 * The calls below go through these pointers (the macros keep the calls
 * spelled as libslirp's API).
 */
#define SLIRP_FNS(X)          \
	X(slirp_new)          \
	X(slirp_cleanup)      \
	X(slirp_input)        \
	X(slirp_pollfds_fill) \
	X(slirp_pollfds_poll) \
	X(slirp_handle_timer) \
	X(slirp_add_hostfwd)  \
	X(slirp_version_string)
static struct {
#define X(f) __typeof__(f) *f;
	SLIRP_FNS(X)
#undef X
	bool loaded;
} lib;
#define slirp_new(...) lib.slirp_new(__VA_ARGS__)
#define slirp_cleanup(...) lib.slirp_cleanup(__VA_ARGS__)
#define slirp_input(...) lib.slirp_input(__VA_ARGS__)
#define slirp_pollfds_fill(...) lib.slirp_pollfds_fill(__VA_ARGS__)
#define slirp_pollfds_poll(...) lib.slirp_pollfds_poll(__VA_ARGS__)
#define slirp_handle_timer(...) lib.slirp_handle_timer(__VA_ARGS__)
#define slirp_add_hostfwd(...) lib.slirp_add_hostfwd(__VA_ARGS__)
#define slirp_version_string(...) lib.slirp_version_string(__VA_ARGS__)

/* Under slirp_lock. The library stays loaded until exit. */
static int slirp_load(void)
{
	void *h;

	if (lib.loaded)
		return 0;
	h = dlopen("libslirp.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		pr_err("net user: cannot load libslirp.so.0 (Debian: apt-get install libslirp0): %s",
		       dlerror());
		return -ENOENT;
	}
#define X(f)                                                     \
	lib.f = (__typeof__(lib.f))dlsym(h, #f);                 \
	if (!lib.f) {                                            \
		pr_err("net user: libslirp.so.0 has no %s", #f); \
		dlclose(h);                                      \
		return -ENOENT;                                  \
	}
	SLIRP_FNS(X)
#undef X
	lib.loaded = true;
	return 0;
}

/* main() loads it before the sandbox: dlopen() maps code, opens files. */
int net_slirp_load(void)
{
	int ret;

	pthread_mutex_lock(&slirp_lock);
	ret = slirp_load();
	pthread_mutex_unlock(&slirp_lock);
	return ret;
}

static int64_t unet_now_ms(void)
{
	return (int64_t)(monotonic_ns() / 1000000);
}

static void unet_kick(struct unet *u)
{
	uint64_t one = 1;

	if (atomic_exchange(&u->kick_pending, true))
		return;
	if (write(u->kickfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("net user: cannot wake the I/O thread: %s",
				    strerror(errno));
}

/* libslirp callbacks: all run under slirp_lock. */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct unet *u = opaque;
	struct unet_frame *f;

	if (u->rxq_len >= UNET_RXQ_MAX) {
		u->rx_dropped++;
		pr_warn_ratelimited("net user: the guest takes no frames; "
				    "%llu dropped so far",
				    u->rx_dropped);
		return (ssize_t)len;
	}
	f = malloc(sizeof(*f) + len);
	if (!f) {
		u->rx_dropped++;
		return -ENOMEM;
	}
	f->next = NULL;
	f->len = len;
	memcpy(f->data, buf, len);
	*u->rxq_tail = f;
	u->rxq_tail = &f->next;
	u->rxq_len++;
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	pr_warn_ratelimited("net user: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	return (int64_t)monotonic_ns();
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct unet *u = opaque;
	struct unet_timer *t = calloc(1, sizeof(*t));

	if (!t) {
		pr_err("net user: out of memory for a timer");
		return NULL;
	}
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = u->timers;
	u->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct unet *u = opaque;

	for (struct unet_timer **p = &u->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
	}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct unet_timer *t = timer;

	if (!t)
		return;
	t->expire_ms = expire_ms < 0 ? 0 : expire_ms;
	/* The I/O thread re-arms the timerfd. */
	unet_kick(opaque);
}

/* Every service refills the poll set: fd lifetimes need no tracking. */
static void cb_register_poll_fd(int fd, void *opaque)
{
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
}

static void cb_notify(void *opaque)
{
	unet_kick(opaque);
}

static const SlirpCb unet_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct unet *u = opaque;
	short ev = 0;

	if (u->npfds == u->pfds_cap) {
		unsigned int cap = u->pfds_cap ? 2 * u->pfds_cap : 16;
		struct pollfd *p = realloc(u->pfds, cap * sizeof(*p));

		if (!p)
			return -1;
		u->pfds = p;
		u->pfds_cap = cap;
	}
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	u->pfds[u->npfds] = (struct pollfd){ .fd = fd, .events = ev };
	return (int)u->npfds++;
}

static int cb_get_revents(int idx, void *opaque)
{
	struct unet *u = opaque;
	short rev;
	int ev = 0;

	if (idx < 0 || (unsigned int)idx >= u->npfds)
		return 0;
	rev = u->pfds[idx].revents;
	if (rev & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (rev & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (rev & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (rev & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (rev & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

static int cmp_pollfd(const void *a, const void *b)
{
	const struct pollfd *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

static void unet_watch(struct unet *u, bool had, int fd, short events)
{
	struct epoll_event ev = { .data.fd = fd };
	int op = had ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (events & POLLIN)
		ev.events |= EPOLLIN;
	if (events & POLLOUT)
		ev.events |= EPOLLOUT;
	if (events & POLLPRI)
		ev.events |= EPOLLPRI;
	if (!epoll_ctl(u->epfd, op, fd, &ev))
		return;
	/* Closed by libslirp and the number reused since: start afresh. */
	if (had && errno == ENOENT)
		op = EPOLL_CTL_ADD;
	else if (!had && errno == EEXIST)
		op = EPOLL_CTL_MOD;
	else
		op = -1;
	if (op >= 0 && !epoll_ctl(u->epfd, op, fd, &ev))
		return;
	pr_warn_ratelimited("net user: cannot watch socket %d: %s", fd,
			    strerror(errno));
}

/*
 * Makes epfd mirror pfds. Always MOD, never skip an unchanged entry: a
 * socket closed and replaced under the same number would go unwatched.
 */
static void unet_sync_watch(struct unet *u)
{
	unsigned int i = 0, j = 0;
	int *w;

	if (u->npfds > 1)
		qsort(u->pfds, u->npfds, sizeof(*u->pfds), cmp_pollfd);
	while (i < u->nwatched || j < u->npfds) {
		if (j == u->npfds ||
		    (i < u->nwatched && u->watched[i] < u->pfds[j].fd)) {
			/* Fails harmlessly if libslirp closed it. */
			epoll_ctl(u->epfd, EPOLL_CTL_DEL, u->watched[i], NULL);
			i++;
			continue;
		}
		if (i < u->nwatched && u->watched[i] == u->pfds[j].fd) {
			unet_watch(u, true, u->pfds[j].fd, u->pfds[j].events);
			i++;
		} else {
			unet_watch(u, false, u->pfds[j].fd, u->pfds[j].events);
		}
		j++;
	}

	w = u->npfds ? realloc(u->watched, u->npfds * sizeof(*w)) : NULL;
	if (u->npfds && !w) {
		/* Keep the old array: at worst a stale DEL later. */
		pr_warn_ratelimited("net user: out of memory");
		return;
	}
	if (!u->npfds)
		free(u->watched);
	u->watched = w;
	for (unsigned int k = 0; k < u->npfds; k++)
		w[k] = u->pfds[k].fd;
	u->nwatched = u->npfds;
}

/* Services libslirp's sockets and TCP timers. */
static void unet_poll_sockets(struct unet *u)
{
	uint32_t timeout = UINT32_MAX;
	int n;

	u->npfds = 0;
	slirp_pollfds_fill(u->slirp, &timeout, cb_add_poll, u);
	n = poll(u->pfds, u->npfds, 0);
	slirp_pollfds_poll(u->slirp, n < 0, cb_get_revents, u);
}

static void unet_run_timers(struct unet *u)
{
	int64_t now = unet_now_ms();

	/* Bounded: a handler may free timers or re-arm them in the past. */
	for (int round = 0; round < 16; round++) {
		struct unet_timer *t;

		for (t = u->timers; t; t = t->next)
			if (t->expire_ms >= 0 && t->expire_ms <= now)
				break;
		if (!t)
			return;
		t->expire_ms = -1;
		slirp_handle_timer(u->slirp, t->id, t->cb_opaque);
	}
}

/* Refreshes the epoll mirror and the timerfd for the next wait. */
static void unet_rearm(struct unet *u)
{
	struct itimerspec its = { 0 };
	uint32_t timeout = UINT32_MAX;
	int64_t deadline = INT64_MAX;

	u->npfds = 0;
	/* Blocked: read nothing, let libslirp's TCP timers rest too. */
	if (!u->rx_blocked) {
		slirp_pollfds_fill(u->slirp, &timeout, cb_add_poll, u);
		if (timeout != UINT32_MAX)
			deadline = unet_now_ms() + timeout;
	}
	unet_sync_watch(u);

	for (struct unet_timer *t = u->timers; t; t = t->next)
		if (t->expire_ms >= 0 && t->expire_ms < deadline)
			deadline = t->expire_ms;
	if (deadline != INT64_MAX) {
		/* An all-zero it_value would disarm. */
		if (deadline <= 0)
			deadline = 1;
		its.it_value.tv_sec = deadline / 1000;
		its.it_value.tv_nsec = (deadline % 1000) * 1000000;
	}
	if (timerfd_settime(u->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		pr_warn_ratelimited("net user: timerfd: %s", strerror(errno));
}

/* Offers queued frames to the guest, in order. I/O thread only. */
static void unet_flush(struct unet *u)
{
	if (u->rx_blocked && !atomic_exchange(&u->rx_kicked, false))
		return;
	u->rx_blocked = false;
	for (;;) {
		struct unet_frame *f;
		struct iovec iov;

		/* Only this thread unlinks, so the head stays valid. */
		pthread_mutex_lock(&slirp_lock);
		f = u->rxq;
		pthread_mutex_unlock(&slirp_lock);
		if (!f)
			return;
		iov = (struct iovec){ .iov_base = f->data, .iov_len = f->len };
		if (u->be.rx(u->be.opaque, &iov, 1) == -EAGAIN) {
			u->rx_blocked = true;
			return;
		}
		pthread_mutex_lock(&slirp_lock);
		u->rxq = f->next;
		if (!u->rxq)
			u->rxq_tail = &u->rxq;
		u->rxq_len--;
		pthread_mutex_unlock(&slirp_lock);
		free(f);
	}
}

static void unet_service(struct unet *u)
{
	unet_flush(u);
	pthread_mutex_lock(&slirp_lock);
	if (!u->rx_blocked)
		unet_poll_sockets(u);
	unet_run_timers(u);
	pthread_mutex_unlock(&slirp_lock);
	/* Not under the lock: the device may call send() from rx. */
	unet_flush(u);
	pthread_mutex_lock(&slirp_lock);
	unet_rearm(u);
	pthread_mutex_unlock(&slirp_lock);
}

static void unet_kicked(void *opaque, uint32_t events)
{
	struct unet *u = opaque;
	uint64_t v;

	atomic_store(&u->kick_pending, false);
	if (read(u->kickfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("net user: kick: %s", strerror(errno));
	unet_service(u);
}

static void unet_timer_fired(void *opaque, uint32_t events)
{
	struct unet *u = opaque;
	uint64_t v;

	if (read(u->timerfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("net user: timerfd: %s", strerror(errno));
	unet_service(u);
}

static void unet_sockets_ready(void *opaque, uint32_t events)
{
	unet_service(opaque);
}

static int unet_send(struct net_backend *be, const struct iovec *iov,
		     int iovcnt)
{
	struct unet *u = (struct unet *)be;
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > UNET_MAX_FRAME - len)
			return -EMSGSIZE;
		len += iov[i].iov_len;
	}
	/* An Ethernet header at least */
	if (len < 14)
		return -EINVAL;

	pthread_mutex_lock(&slirp_lock);
	len = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(u->txbuf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	slirp_input(u->slirp, u->txbuf, (int)len);
	pthread_mutex_unlock(&slirp_lock);
	/* Replies, new sockets and timers are the I/O thread's business. */
	unet_kick(u);
	return (int)len;
}

static void unet_rx_ready(struct net_backend *be)
{
	struct unet *u = (struct unet *)be;

	atomic_store(&u->rx_kicked, true);
	unet_kick(u);
}

static int unet_set_offloads(struct net_backend *be, unsigned int flags)
{
	return flags ? -EOPNOTSUPP : 0;
}

static int unet_start(struct net_backend *be)
{
	struct unet *u = (struct unet *)be;
	const struct {
		int fd;
		evloop_cb cb;
	} fds[] = {
		{ u->kickfd, unet_kicked },
		{ u->timerfd, unet_timer_fired },
		{ u->epfd, unet_sockets_ready },
	};
	int ret;

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		ret = evloop_add(be->loop, fds[i].fd, EPOLLIN, fds[i].cb, u);
		if (ret) {
			while (i--)
				evloop_del(be->loop, fds[i].fd);
			return ret;
		}
	}
	u->started = true;
	/* The first service arms the timers and the socket mirror. */
	atomic_store(&u->kick_pending, false);
	unet_kick(u);
	return 0;
}

static void unet_free(struct unet *u)
{
	if (u->slirp) {
		pthread_mutex_lock(&slirp_lock);
		slirp_cleanup(u->slirp);
		pthread_mutex_unlock(&slirp_lock);
	}
	while (u->timers) {
		struct unet_timer *t = u->timers;

		u->timers = t->next;
		free(t);
	}
	while (u->rxq) {
		struct unet_frame *f = u->rxq;

		u->rxq = f->next;
		free(f);
	}
	if (u->epfd >= 0)
		close(u->epfd);
	if (u->timerfd >= 0)
		close(u->timerfd);
	if (u->kickfd >= 0)
		close(u->kickfd);
	free(u->pfds);
	free(u->watched);
	free(u);
}

static void unet_close(struct net_backend *be)
{
	struct unet *u = (struct unet *)be;

	if (u->started) {
		evloop_del(be->loop, u->kickfd);
		evloop_del(be->loop, u->timerfd);
		evloop_del(be->loop, u->epfd);
	}
	if (u->rx_dropped)
		pr_info("net user: %llu frames for the guest were dropped",
			u->rx_dropped);
	unet_free(u);
}

static const struct net_backend_ops unet_ops = {
	.start = unet_start,
	.send = unet_send,
	.rx_ready = unet_rx_ready,
	.set_offloads = unet_set_offloads,
	.close = unet_close,
};

static int unet_add_hostfwds(struct unet *u, const struct net_options *opts)
{
	for (unsigned int i = 0; i < opts->nr_hostfwd; i++) {
		const struct net_hostfwd *f = &opts->hostfwd[i];
		struct in_addr h = { f->host_addr }, g = { f->guest_addr };
		char hs[INET_ADDRSTRLEN], gs[INET_ADDRSTRLEN];
		int ret, err;

		pthread_mutex_lock(&slirp_lock);
		errno = 0;
		ret = slirp_add_hostfwd(u->slirp, f->udp, h, f->host_port, g,
					f->guest_port);
		err = errno ? errno : EADDRINUSE;
		pthread_mutex_unlock(&slirp_lock);
		if (ret < 0) {
			inet_ntop(AF_INET, &h, hs, sizeof(hs));
			inet_ntop(AF_INET, &g, gs, sizeof(gs));
			pr_err("net user: hostfwd %s %s:%u -> %s:%u: cannot "
			       "listen on the host: %s",
			       f->udp ? "udp" : "tcp", hs, f->host_port, gs,
			       f->guest_port, strerror(err));
			return -err;
		}
	}
	return 0;
}

struct net_backend *net_slirp_open(const struct net_options *opts,
				   struct evloop *loop)
{
	SlirpConfig cfg = {
		.version = 4,
		.restricted = 0,
		.in_enabled = true,
		.vnetmask.s_addr = htonl(0xffffff00),
		.in6_enabled = opts->ipv6,
		.vprefix_len = 64,
		.disable_host_loopback = false,
		.enable_emu = false,
	};
	struct unet *u;
	int err;

	inet_pton(AF_INET, NET_USER_NET, &cfg.vnetwork);
	inet_pton(AF_INET, NET_USER_HOST, &cfg.vhost);
	inet_pton(AF_INET, NET_USER_GUEST, &cfg.vdhcp_start);
	inet_pton(AF_INET, NET_USER_DNS, &cfg.vnameserver);
	inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
	inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
	inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);

	u = calloc(1, sizeof(*u));
	if (!u) {
		errno = ENOMEM;
		return NULL;
	}
	u->rxq_tail = &u->rxq;
	u->be.ops = &unet_ops;
	u->be.has_vnet_hdr = false;
	snprintf(u->be.name, sizeof(u->be.name), "user");
	u->epfd = epoll_create1(EPOLL_CLOEXEC);
	u->timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	u->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->epfd < 0 || u->timerfd < 0 || u->kickfd < 0) {
		err = errno;
		pr_err("net user: %s", strerror(err));
		goto fail;
	}

	pthread_mutex_lock(&slirp_lock);
	err = -slirp_load();
	if (!err)
		u->slirp = slirp_new(&cfg, &unet_callbacks, u);
	pthread_mutex_unlock(&slirp_lock);
	if (err)
		goto fail;
	if (!u->slirp) {
		pr_err("net user: libslirp %s refused its configuration",
		       slirp_version_string());
		err = EINVAL;
		goto fail;
	}
	err = -unet_add_hostfwds(u, opts);
	if (err)
		goto fail;
	pr_debug("net user: libslirp %s, %u hostfwd", slirp_version_string(),
		 opts->nr_hostfwd);
	return &u->be;

fail:
	unet_free(u);
	errno = err;
	return NULL;
}

#endif /* HAVE_SLIRP */
