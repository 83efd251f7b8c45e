// SPDX-License-Identifier: GPL-2.0
/*
 * A tap device with IFF_VNET_HDR, so offloaded (GSO, partial checksum)
 * frames pass between the guest and the host stack untouched. One back-end
 * per queue: a NIC with several queue pairs attaches the interface with
 * IFF_MULTI_QUEUE once per pair (or adopts one descriptor per pair), and
 * detaches the queues the guest turned off (TUNSETQUEUE) so that the
 * kernel steers no frame there. A tap someone else attached (fd=) may
 * lack the header.
 */
#include "backend/net.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/evloop.h"
#include "util/log.h"

/* A 64 KiB GSO frame with its vnet header, and room to spare. */
#define TAP_BUFSZ (65536 + 4096)
/* Frames per wakeup, so the loop's other handlers get their turn. */
#define TAP_RX_BUDGET 64

struct tap {
	struct net_backend be;
	int fd;
	/* one queue of several (IFF_MULTI_QUEUE) */
	bool multi;
	/* set_active()'s wish, applied on the I/O thread: attached or not */
	atomic_bool want_active;
	bool active; /* I/O thread only, once started */
	/*
	 * A dup of fd, watched edge-triggered for EPOLLOUT: a second epoll
	 * registration of the same file, so send() never has to change the
	 * loop's registrations from a foreign thread.
	 */
	int txfd;
	/* net_backend_rx_ready() and blocked sends -> the I/O thread */
	int kickfd;
	bool started;
	atomic_bool tx_waiting;
	/* I/O thread only, once started: */
	bool reading;
	bool broken;
	/* length of a read frame the guest could not take yet */
	size_t held;
	uint8_t *buf;
};

static void tap_readable(void *opaque, uint32_t events);

static void tap_kick(struct tap *t)
{
	uint64_t one = 1;

	if (write(t->kickfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("net %s: cannot wake the I/O thread: %s",
				    t->be.name, strerror(errno));
}

static void tap_pause(struct tap *t)
{
	if (t->reading) {
		evloop_del(t->be.loop, t->fd);
		t->reading = false;
	}
}

static void tap_resume(struct tap *t)
{
	int ret;

	if (t->reading || t->broken || !t->active)
		return;
	ret = evloop_add(t->be.loop, t->fd, EPOLLIN, tap_readable, t);
	if (ret) {
		pr_err("net %s: cannot watch the tap: %s; receiving stops",
		       t->be.name, strerror(-ret));
		t->broken = true;
		return;
	}
	t->reading = true;
}

/* False when the guest has no room: the frame stays held. */
static bool tap_deliver(struct tap *t)
{
	struct iovec iov = { .iov_base = t->buf, .iov_len = t->held };

	if (t->be.rx(t->be.opaque, &iov, 1) == -EAGAIN)
		return false;
	t->held = 0;
	return true;
}

static void tap_readable(void *opaque, uint32_t events)
{
	struct tap *t = opaque;

	for (int i = 0; i < TAP_RX_BUDGET; i++) {
		if (!t->held) {
			ssize_t n;

			/* tun skips num_buffers without writing it. */
			memset(t->buf, 0, NET_VNET_HDR_LEN);
			n = read(t->fd, t->buf, TAP_BUFSZ);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return;
			if (n < 0) {
				/* e.g. EBADFD: the interface was deleted */
				pr_err("net %s: read: %s; receiving stops",
				       t->be.name, strerror(errno));
				t->broken = true;
				tap_pause(t);
				return;
			}
			if ((size_t)n <= NET_VNET_HDR_LEN)
				continue;
			t->held = (size_t)n;
		}
		if (!tap_deliver(t)) {
			/* Level-triggered: reading on would spin. */
			tap_pause(t);
			return;
		}
	}
}

/* Attaches or detaches the queue (TUNSETQUEUE); 0 or -errno, logged. */
static int tap_attach(struct tap *t, bool on)
{
	struct ifreq ifr = { .ifr_flags = on ? IFF_ATTACH_QUEUE :
					       IFF_DETACH_QUEUE };

	int err;

	if (!ioctl(t->fd, TUNSETQUEUE, &ifr))
		return 0;
	err = errno;
	pr_err("net %s: cannot %s a queue: %s", t->be.name,
	       on ? "attach" : "detach", strerror(err));
	return -err;
}

/* I/O thread: the guest's wish (set_active()) made true. */
static void tap_apply_active(struct tap *t)
{
	bool want = atomic_load(&t->want_active);

	if (want == t->active)
		return;
	if (!want) {
		/* The frame held was for a pair the guest turned off. */
		tap_pause(t);
		t->held = 0;
	}
	if (tap_attach(t, want) && want)
		return;
	t->active = want;
}

static void tap_kicked(void *opaque, uint32_t events)
{
	struct tap *t = opaque;
	struct pollfd pfd = { .fd = t->fd, .events = POLLOUT };
	uint64_t v;

	if (read(t->kickfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("net %s: kick: %s", t->be.name,
				    strerror(errno));
	if (t->multi)
		tap_apply_active(t);
	if (t->held && t->active && !tap_deliver(t))
		return;
	tap_resume(t);

	/*
	 * Room may have come back before the edge was armed: poll() also
	 * arms tun's write-space wakeup for the edge-triggered txfd.
	 */
	if (atomic_load(&t->tx_waiting) && poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & POLLOUT) && atomic_exchange(&t->tx_waiting, false))
		t->be.tx_ready(t->be.opaque);
}

static void tap_writable(void *opaque, uint32_t events)
{
	struct tap *t = opaque;

	if (atomic_exchange(&t->tx_waiting, false))
		t->be.tx_ready(t->be.opaque);
}

static int tap_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct tap *t = (struct tap *)be;
	ssize_t n;

	do {
		n = writev(t->fd, iov, iovcnt);
	} while (n < 0 && errno == EINTR);
	if (n >= 0)
		return (int)n;
	if (errno != EAGAIN)
		return -errno;
	if (be->tx_ready && t->started &&
	    !atomic_exchange(&t->tx_waiting, true))
		tap_kick(t);
	return -EAGAIN;
}

static void tap_rx_ready(struct net_backend *be)
{
	struct tap *t = (struct tap *)be;

	if (t->started)
		tap_kick(t);
}

static void tap_set_active(struct net_backend *be, bool active)
{
	struct tap *t = (struct tap *)be;

	if (!t->multi || atomic_exchange(&t->want_active, active) == active)
		return;
	if (t->started)
		tap_kick(t);
	else if (!tap_attach(t, active))
		t->active = active;
}

static int tap_set_offloads(struct net_backend *be, unsigned int flags)
{
	struct tap *t = (struct tap *)be;

	if (!ioctl(t->fd, TUNSETOFFLOAD, flags))
		return 0;
	/* UFO went away in Linux 4.14 and came back in 4.19. */
	if ((flags & TUN_F_UFO) &&
	    !ioctl(t->fd, TUNSETOFFLOAD, flags & ~TUN_F_UFO)) {
		pr_warn("net %s: the kernel refused UFO; the guest's UDP "
			"fragmentation offload stays off on the host side",
			be->name);
		return 0;
	}
	return -errno;
}

static int tap_start(struct net_backend *be)
{
	struct tap *t = (struct tap *)be;
	int ret;

	ret = evloop_add(be->loop, t->kickfd, EPOLLIN, tap_kicked, t);
	if (ret)
		return ret;
	ret = evloop_add(be->loop, t->txfd, EPOLLOUT | EPOLLET, tap_writable,
			 t);
	if (ret) {
		evloop_del(be->loop, t->kickfd);
		return ret;
	}
	if (!t->active) {
		/* Detached: tap_kicked() reads once it is attached. */
		t->started = true;
		return 0;
	}
	t->reading = true;
	ret = evloop_add(be->loop, t->fd, EPOLLIN, tap_readable, t);
	if (ret) {
		t->reading = false;
		evloop_del(be->loop, t->txfd);
		evloop_del(be->loop, t->kickfd);
		return ret;
	}
	t->started = true;
	return 0;
}

static void tap_close(struct net_backend *be)
{
	struct tap *t = (struct tap *)be;

	if (t->started) {
		/* The loop's lock orders this after its last callback. */
		evloop_del(be->loop, t->kickfd);
		evloop_del(be->loop, t->txfd);
		if (t->reading)
			evloop_del(be->loop, t->fd);
	}
	/*
	 * An adopted descriptor outlives us (the config's, for the next
	 * VM built): leave its queue attached, as it came.
	 */
	if (t->multi && !t->active)
		tap_attach(t, true);
	close(t->kickfd);
	close(t->txfd);
	close(t->fd);
	free(t->buf);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.start = tap_start,
	.send = tap_send,
	.rx_ready = tap_rx_ready,
	.set_offloads = tap_set_offloads,
	.set_active = tap_set_active,
	.close = tap_close,
};

int net_backend_tap_fd(struct net_backend *be)
{
	struct tap *t = (struct tap *)be;

	return be->ops == &tap_ops && !t->started ? t->fd : -1;
}

static void tap_setiff_error(const char *name, int err, bool multi)
{
	switch (err) {
	case EPERM:
	case EACCES:
		pr_err("net tap %s: not permitted: creating or attaching a tap "
		       "needs CAP_NET_ADMIN, unless the tap already exists "
		       "and belongs to this user (ip tuntap add dev %s mode "
		       "tap user %u)",
		       name, name, (unsigned int)getuid());
		break;
	case EBUSY:
		pr_err("net tap %s: already attached to another process", name);
		break;
	case EINVAL:
		pr_err("net tap %s: the interface exists but is not a "
		       "%s tap (a tun, a %s tap, or not a tun/tap interface "
		       "at all)",
		       name, multi ? "multi_queue" : "single-queue",
		       multi ? "single-queue" : "multi_queue");
		break;
	default:
		pr_err("net tap %s: TUNSETIFF: %s", name, strerror(err));
		break;
	}
}

static int tap_vnet_setup(int fd, const char *name)
{
	int hdrsz = NET_VNET_HDR_LEN, err;

	/*
	 * A persistent tap keeps the offloads of its last user: start from
	 * none, the guest's features turn them on.
	 */
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdrsz) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
		err = errno;
		pr_err("net tap %s: cannot set up the vnet header: %s", name,
		       strerror(err));
		return -err;
	}
	return 0;
}

static int tap_open_fd(const char *name, bool multi, char *actual)
{
	struct ifreq ifr = { 0 };
	unsigned int features = 0;
	int fd, err;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT || err == ENODEV || err == ENXIO)
			pr_err("net tap %s: /dev/net/tun is missing: load the "
			       "tun module (modprobe tun) or create the node "
			       "(mknod /dev/net/tun c 10 200)",
			       name);
		else
			pr_err("net tap %s: cannot open /dev/net/tun: %s", name,
			       strerror(err));
		return -err;
	}
	if (!ioctl(fd, TUNGETFEATURES, &features) &&
	    !(features & IFF_VNET_HDR)) {
		pr_err("net tap %s: the kernel's tun has no IFF_VNET_HDR",
		       name);
		close(fd);
		return -EOPNOTSUPP;
	}

	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
			(multi ? IFF_MULTI_QUEUE : 0);
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		tap_setiff_error(name, err, multi);
		close(fd);
		return -err;
	}
	memcpy(actual, ifr.ifr_name, IFNAMSIZ);
	actual[IFNAMSIZ - 1] = '\0';
	err = tap_vnet_setup(fd, actual);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* One descriptor: its name, TUNGETIFF flags; -errno with @err filled. */
static int tap_fd_flags(int fd, const char *what, char *ifname, short *flags,
			char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int e;

	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		e = errno;
		if (e == EBADF)
			snprintf(err, errlen, "%s is not open", what);
		else
			snprintf(err, errlen,
				 "%s is not an attached tap (TUNGETIFF: %s)",
				 what, strerror(e));
		return -(e == EBADF ? EBADF : EINVAL);
	}
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP) {
		snprintf(err, errlen, "%s is a tun (IP frames), not a tap",
			 what);
		return -EINVAL;
	}
	/*
	 * IFF_NO_PI cannot be checked: TUNGETIFF reports IFF_NOFILTER in
	 * the same bit. A tap must be attached with it (everyone does).
	 */
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	*flags = ifr.ifr_flags;
	return 0;
}

static void fd_what(char *buf, size_t len, const int *fds, unsigned int n,
		    unsigned int i, bool sent)
{
	static const char *const nth[NET_MAX_QUEUE_PAIRS] = {
		"first", "second", "third",   "fourth",
		"fifth", "sixth",  "seventh", "eighth",
	};

	if (!sent)
		snprintf(buf, len, "fd %d", fds[i]);
	else if (n == 1)
		snprintf(buf, len, "the descriptor sent with the request");
	else
		snprintf(buf, len, "the %s descriptor sent with the request",
			 i < NET_MAX_QUEUE_PAIRS ? nth[i] : "last");
}

int net_tap_fds_check(const int *fds, unsigned int n, bool sent,
		      char ifname[NET_IFNAME_MAX + 1], bool *vnet_hdr,
		      char *err, size_t errlen)
{
	char what[48], name[IFNAMSIZ];
	short flags, first = 0;
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		fd_what(what, sizeof(what), fds, n, i, sent);
		ret = tap_fd_flags(fds[i], what, i ? name : ifname, &flags, err,
				   errlen);
		if (ret)
			return ret;
		if (n > 1 && !(flags & IFF_MULTI_QUEUE)) {
			snprintf(err, errlen,
				 "%s is a single-queue tap: several "
				 "descriptors are the queues of one "
				 "multi_queue tap",
				 what);
			return -EINVAL;
		}
		if (i && strcmp(name, ifname)) {
			snprintf(err, errlen,
				 "%s is a queue of tap %s, the first of %s: "
				 "one NIC's descriptors are queues of one tap",
				 what, name, ifname);
			return -EINVAL;
		}
		if (i && (flags ^ first) & IFF_VNET_HDR) {
			snprintf(err, errlen,
				 "%s differs from the first in the vnet "
				 "header (IFF_VNET_HDR)",
				 what);
			return -EINVAL;
		}
		if (!i)
			first = flags;
	}
	if (vnet_hdr)
		*vnet_hdr = first & IFF_VNET_HDR;
	return 0;
}

/*
 * A tap another process attached (an orchestrator's, multi-queue or not),
 * descriptor @q of @opts: a dup of it, non-blocking; *@vnet_hdr says
 * whether it carries the virtio-net header (IFF_VNET_HDR, which only its
 * opener could ask for). The descriptors were checked together
 * (net_tap_fds_check()) when the config took them.
 */
static int tap_adopt_fd(const struct net_options *opts, unsigned int q,
			char *actual, bool *vnet_hdr)
{
	int src = opts->fds[q], fd, ret, fl;
	char err[200], what[24];
	short flags;

	snprintf(what, sizeof(what), "fd %d", src);
	ret = tap_fd_flags(src, what, actual, &flags, err, sizeof(err));
	if (ret) {
		pr_err("net: %s", err);
		return ret;
	}
	*vnet_hdr = flags & IFF_VNET_HDR;
	fd = fcntl(src, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		ret = -errno;
		pr_err("net tap %s (fd %d): %s", actual, src, strerror(-ret));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (*vnet_hdr) {
		ret = tap_vnet_setup(fd, actual);
		if (ret) {
			close(fd);
			return ret;
		}
	} else if (!q) {
		pr_warn("net tap %s (fd %d) has no vnet header (IFF_VNET_HDR): "
			"the guest gets no checksum or segmentation offload",
			actual, src);
	}
	return fd;
}

struct net_backend *net_tap_open(const struct net_options *opts,
				 struct evloop *loop, unsigned int q,
				 const char *name)
{
	bool multi = net_options_pairs(opts) > 1;
	char actual[IFNAMSIZ];
	bool vnet_hdr = true;
	struct tap *t;
	int fd, err;

	if (opts->nr_fds) {
		fd = tap_adopt_fd(opts, q, actual, &vnet_hdr);
		if (fd >= 0 && q && strcmp(actual, name)) {
			pr_err("net: fd %d is a queue of tap %s, not of %s",
			       opts->fds[q], actual, name);
			close(fd);
			fd = -EINVAL;
		}
	} else if (strnlen(opts->ifname, sizeof(opts->ifname)) >= IFNAMSIZ ||
		   !opts->ifname[0]) {
		pr_err("net tap: the name must be 1 to %d characters",
		       NET_IFNAME_MAX);
		errno = EINVAL;
		return NULL;
	} else {
		/* Later queues join the interface the first one made. */
		fd = tap_open_fd(q ? name : opts->ifname, multi, actual);
	}
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	t->fd = fd;
	t->buf = malloc(TAP_BUFSZ);
	t->txfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	t->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!t->buf || t->txfd < 0 || t->kickfd < 0) {
		err = t->buf ? errno : ENOMEM;
		pr_err("net tap %s: %s", actual, strerror(err));
		if (t->kickfd >= 0)
			close(t->kickfd);
		if (t->txfd >= 0)
			close(t->txfd);
		close(fd);
		free(t->buf);
		free(t);
		errno = err;
		return NULL;
	}
	t->be.ops = &tap_ops;
	t->be.has_vnet_hdr = vnet_hdr;
	t->multi = multi;
	t->active = true;
	atomic_init(&t->want_active, true);
	snprintf(t->be.name, sizeof(t->be.name), "%s", actual);
	return &t->be;
}
