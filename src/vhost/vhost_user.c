// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user front-end: messages to an external back-end over a UNIX
 * socket (QEMU's docs/interop/vhost-user.rst). Requests are sent whole
 * with their file descriptors in one sendmsg(); replies are read with a
 * time limit and checked before any field is used.
 */
#include "vhost/vhost_user.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kvm/memory.h"
#include "util/common.h"
#include "util/evloop.h"
#include "util/log.h"
#include "virtio/virtio.h"

#define HDR VHOST_USER_HDR_SIZE

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Once: every later call fails quietly with -EPIPE. */
static int gone(struct vhost_user *u, const char *why)
{
	if (!u->dead)
		pr_err("%s: the vhost-user back-end is gone (%s); the device "
		       "stops working",
		       u->name, why);
	u->dead = true;
	return -EPIPE;
}

static int send_msg(struct vhost_user *u, uint32_t request, uint32_t flags,
		    const void *payload, uint32_t size, const int *fds,
		    unsigned int nfds)
{
	uint8_t buf[HDR + VHOST_USER_MAX_PAYLOAD];
	union {
		char buf[CMSG_SPACE(VHOST_USER_MAX_REGIONS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = HDR + size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (u->dead)
		return -EPIPE;
	if (size > VHOST_USER_MAX_PAYLOAD || nfds > VHOST_USER_MAX_REGIONS)
		return -EINVAL;
	put32(buf, request);
	put32(buf + 4, VHOST_USER_VERSION | flags);
	put32(buf + 8, size);
	if (size)
		memcpy(buf + HDR, payload, size);
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(u->fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return gone(u, strerror(errno));
	if ((size_t)n != HDR + size)
		return gone(u, "short write");
	return 0;
}

/* Exactly @len bytes, within the time limit. */
static int recv_all(struct vhost_user *u, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = { .fd = u->fd, .events = POLLIN };
		int r = poll(&pfd, 1, VHOST_USER_TIMEOUT_MS);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return gone(u, "no answer in time");
		if (r < 0)
			return gone(u, strerror(errno));
		n = recv(u->fd, buf + got, len - got, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return gone(u, strerror(errno));
		if (n == 0)
			return gone(u, "connection closed");
		got += (size_t)n;
	}
	return 0;
}

int vhost_user_check_reply(struct vhost_user *u, uint32_t request,
			   const uint8_t *msg, size_t len, uint32_t want)
{
	uint32_t req, flags, size;

	if (len < HDR) {
		pr_err("%s: vhost-user reply of %zu bytes", u->name, len);
		return -EPROTO;
	}
	req = get32(msg);
	flags = get32(msg + 4);
	size = get32(msg + 8);
	if (req != request || (flags & 0x3) != VHOST_USER_VERSION ||
	    !(flags & VHOST_USER_REPLY)) {
		pr_err("%s: vhost-user: request %u got a reply to %u (flags "
		       "%#x)",
		       u->name, request, req, flags);
		return -EPROTO;
	}
	if (size != want || len != HDR + (size_t)size) {
		pr_err("%s: vhost-user: reply to request %u has %u bytes, "
		       "want %u",
		       u->name, request, size, want);
		return -EPROTO;
	}
	return 0;
}

/* A reply with @want bytes of payload into @payload. */
static int recv_reply(struct vhost_user *u, uint32_t request, void *payload,
		      uint32_t want)
{
	uint8_t buf[HDR + VHOST_USER_MAX_PAYLOAD];
	uint32_t size;
	int ret;

	ret = recv_all(u, buf, HDR);
	if (ret)
		return ret;
	size = get32(buf + 8);
	/* Read what it says it sent, if sane, so the check sees it all. */
	if (size > VHOST_USER_MAX_PAYLOAD) {
		pr_err("%s: vhost-user: reply of %u bytes", u->name, size);
		return gone(u, "protocol error");
	}
	ret = recv_all(u, buf + HDR, size);
	if (ret)
		return ret;
	if (vhost_user_check_reply(u, request, buf, HDR + size, want))
		return gone(u, "protocol error");
	memcpy(payload, buf + HDR, want);
	return 0;
}

/*
 * A request with no answer of its own: with REPLY_ACK we ask for one and
 * a non-zero status is the back-end refusing.
 */
static int request(struct vhost_user *u, uint32_t req, const void *payload,
		   uint32_t size, const int *fds, unsigned int nfds,
		   const char *what)
{
	bool ack = vhost_user_has_protocol(u, VHOST_USER_PROTOCOL_F_REPLY_ACK);
	uint8_t status[8];
	int ret;

	ret = send_msg(u, req, ack ? VHOST_USER_NEED_REPLY : 0, payload, size,
		       fds, nfds);
	if (ret || !ack)
		return ret;
	ret = recv_reply(u, req, status, 8);
	if (ret)
		return ret;
	if (get64(status)) {
		pr_err("%s: vhost-user back-end refused %s (status %llu)",
		       u->name, what, (unsigned long long)get64(status));
		return -EIO;
	}
	return 0;
}

static int get_u64(struct vhost_user *u, uint32_t req, uint64_t *v)
{
	uint8_t p[8];
	int ret = send_msg(u, req, 0, NULL, 0, NULL, 0);

	if (!ret)
		ret = recv_reply(u, req, p, 8);
	if (!ret)
		*v = get64(p);
	return ret;
}

static int set_u64(struct vhost_user *u, uint32_t req, uint64_t v,
		   const char *what)
{
	uint8_t p[8];

	put64(p, v);
	return request(u, req, p, 8, NULL, 0, what);
}

static int set_state(struct vhost_user *u, uint32_t req, unsigned int index,
		     unsigned int num, const char *what)
{
	uint8_t p[8];

	put32(p, index);
	put32(p + 4, num);
	return request(u, req, p, 8, NULL, 0, what);
}

bool vhost_user_has_protocol(const struct vhost_user *u, unsigned int bit)
{
	return u->protocol_features & (1ull << bit);
}

int vhost_user_init_fd(struct vhost_user *u, int fd, const char *name)
{
	const uint64_t ours = (1ull << VHOST_USER_PROTOCOL_F_MQ) |
			      (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			      (1ull << VHOST_USER_PROTOCOL_F_CONFIG);
	uint64_t pf;
	int ret;

	*u = (struct vhost_user){ .fd = fd, .name = name };
	ret = get_u64(u, VHOST_USER_GET_FEATURES, &u->features);
	if (!ret && (u->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))) {
		ret = get_u64(u, VHOST_USER_GET_PROTOCOL_FEATURES, &pf);
		/* Not acked yet: this one goes without REPLY_ACK. */
		if (!ret)
			ret = set_u64(u, VHOST_USER_SET_PROTOCOL_FEATURES,
				      pf & ours, "SET_PROTOCOL_FEATURES");
		if (!ret)
			u->protocol_features = pf & ours;
	}
	if (!ret)
		ret = request(u, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0,
			      "SET_OWNER");
	return ret;
}

int vhost_user_connect(struct vhost_user *u, const char *path, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	*u = (struct vhost_user){ .fd = -1, .name = name };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("%s: vhost-user socket path too long: %s", name, path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		pr_err("%s: cannot connect to the vhost-user back-end at %s: "
		       "%s",
		       name, path, strerror(errno));
		close(fd);
		return ret;
	}
	ret = vhost_user_init_fd(u, fd, name);
	if (ret)
		vhost_user_close(u);
	return ret;
}

void vhost_user_close(struct vhost_user *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

int vhost_user_get_queue_num(struct vhost_user *u, uint64_t *n)
{
	return get_u64(u, VHOST_USER_GET_QUEUE_NUM, n);
}

int vhost_user_set_features(struct vhost_user *u, uint64_t features)
{
	features |= u->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	return set_u64(u, VHOST_USER_SET_FEATURES, features, "SET_FEATURES");
}

int vhost_user_set_mem_table(struct vhost_user *u, const struct guest_mem *mem)
{
	uint8_t p[VHOST_USER_MAX_PAYLOAD] = { 0 };
	int fds[VHOST_USER_MAX_REGIONS];
	struct mem_region r[GUEST_MEM_MAX_RANGES];
	unsigned int n = guest_mem_ranges(mem, r), nr = 0;

	if (mem->fd < 0) {
		pr_err("%s: vhost-user needs shared guest RAM", u->name);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *e = p + 8 + nr * 32;

		/*
		 * RAM and plugged memory are in the memfd; device RAM (a
		 * pmem file) is not, and the back-end cannot reach it.
		 */
		if (guest_mem_is_device_ram(mem, &r[i]))
			continue;
		if (nr == VHOST_USER_MAX_REGIONS)
			return -E2BIG;
		put64(e, r[i].gpa);
		put64(e + 8, r[i].size);
		put64(e + 16, (uintptr_t)r[i].hva);
		put64(e + 24, (uint64_t)(r[i].hva - mem->base));
		fds[nr++] = mem->fd;
	}
	put32(p, nr);
	return request(u, VHOST_USER_SET_MEM_TABLE, p, 8 + nr * 32, fds, nr,
		       "SET_MEM_TABLE");
}

static int set_fd(struct vhost_user *u, uint32_t req, unsigned int index,
		  int fd, const char *what)
{
	uint8_t p[8];

	put64(p, index | (fd < 0 ? VHOST_USER_VRING_NOFD : 0));
	return request(u, req, p, 8, &fd, fd < 0 ? 0 : 1, what);
}

int vhost_user_set_ring(struct vhost_user *u, const struct vhost_ring *r)
{
	uint8_t a[40] = { 0 };
	int ret;

	ret = set_state(u, VHOST_USER_SET_VRING_NUM, r->index, r->num,
			"SET_VRING_NUM");
	if (!ret)
		ret = set_state(u, VHOST_USER_SET_VRING_BASE, r->index, r->base,
				"SET_VRING_BASE");
	if (!ret) {
		put32(a, r->index);
		put64(a + 8, (uintptr_t)r->desc);
		put64(a + 16, (uintptr_t)r->used);
		put64(a + 24, (uintptr_t)r->avail);
		ret = request(u, VHOST_USER_SET_VRING_ADDR, a, sizeof(a), NULL,
			      0, "SET_VRING_ADDR");
	}
	if (!ret)
		ret = set_fd(u, VHOST_USER_SET_VRING_KICK, r->index, r->kick_fd,
			     "SET_VRING_KICK");
	if (!ret)
		ret = set_fd(u, VHOST_USER_SET_VRING_CALL, r->index, r->call_fd,
			     "SET_VRING_CALL");
	if (!ret && (u->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		ret = vhost_user_set_vring_enable(u, r->index, true);
	return ret;
}

int vhost_user_set_vring_enable(struct vhost_user *u, unsigned int index,
				bool on)
{
	return set_state(u, VHOST_USER_SET_VRING_ENABLE, index, on,
			 "SET_VRING_ENABLE");
}

int vhost_user_get_ring_base(struct vhost_user *u, unsigned int index,
			     uint16_t *base)
{
	uint8_t p[8];
	int ret;

	put32(p, index);
	put32(p + 4, 0);
	ret = send_msg(u, VHOST_USER_GET_VRING_BASE, 0, p, 8, NULL, 0);
	if (!ret)
		ret = recv_reply(u, VHOST_USER_GET_VRING_BASE, p, 8);
	if (ret)
		return ret;
	if (get32(p) != index) {
		pr_err("%s: vhost-user: GET_VRING_BASE of ring %u answered for "
		       "ring %u",
		       u->name, index, get32(p));
		return gone(u, "protocol error");
	}
	*base = (uint16_t)get32(p + 4);
	return 0;
}

int vhost_user_get_config(struct vhost_user *u, uint32_t off, void *buf,
			  uint32_t len)
{
	uint8_t p[12 + VHOST_USER_MAX_CONFIG] = { 0 };
	int ret;

	if (!vhost_user_has_protocol(u, VHOST_USER_PROTOCOL_F_CONFIG)) {
		pr_err("%s: the vhost-user back-end offers no GET_CONFIG",
		       u->name);
		return -EOPNOTSUPP;
	}
	if (len > VHOST_USER_MAX_CONFIG)
		return -EINVAL;
	put32(p, off);
	put32(p + 4, len);
	ret = send_msg(u, VHOST_USER_GET_CONFIG, 0, p, 12 + len, NULL, 0);
	if (!ret)
		ret = recv_reply(u, VHOST_USER_GET_CONFIG, p, 12 + len);
	if (ret)
		return ret;
	if (get32(p) != off || get32(p + 4) != len) {
		pr_err("%s: vhost-user: GET_CONFIG answered %u bytes at %u, "
		       "want %u at %u",
		       u->name, get32(p + 4), get32(p), len, off);
		return gone(u, "protocol error");
	}
	memcpy(buf, p + 12, len);
	return 0;
}

/* The back-end closed its end: the device cannot work any more. */
static void hangup_cb(void *opaque, uint32_t events)
{
	struct vhost_user *u = opaque;
	struct virtio_dev *vdev = u->vdev;

	pthread_mutex_lock(&vdev->lock);
	if (!u->dead)
		pr_err("%s: the vhost-user back-end closed the connection; the "
		       "device stops working",
		       u->name);
	u->dead = true;
	u->running = false;
	virtio_dev_fail(vdev, -EPIPE, "vhost-user back-end gone");
	pthread_mutex_unlock(&vdev->lock);
}

int vhost_user_watch(struct vhost_user *u, struct virtio_dev *vdev,
		     struct evloop *loop)
{
	int ret;

	u->vdev = vdev;
	ret = evloop_add(loop, u->fd, EPOLLRDHUP | EPOLLET, hangup_cb, u);
	if (ret)
		pr_err("%s: cannot watch the vhost-user socket: %s", u->name,
		       strerror(-ret));
	else
		u->loop = loop;
	return ret;
}

void vhost_user_unwatch(struct vhost_user *u)
{
	if (u->loop)
		evloop_del(u->loop, u->fd);
	u->loop = NULL;
}

int vhost_user_start(struct vhost_user *u, struct virtio_dev *vdev,
		     const struct guest_mem *mem,
		     const struct vhost_call *calls, unsigned int nr)
{
	int ret;

	/* Bits the back-end never offered (MAC, STATUS) are ours. */
	ret = vhost_user_set_features(u, vdev->features & u->features);
	if (!ret)
		ret = vhost_user_set_mem_table(u, mem);
	for (unsigned int q = 0; q < nr && !ret; q++) {
		struct vhost_ring r;

		ret = vhost_ring_of(vdev, mem, q, &calls[q], &r);
		if (!ret)
			ret = vhost_user_set_ring(u, &r);
		if (!ret)
			u->running = true;
	}
	return ret;
}

void vhost_user_stop(struct vhost_user *u, unsigned int nr)
{
	uint16_t base;

	if (!u->running)
		return;
	u->running = false;
	for (unsigned int q = 0; q < nr; q++)
		vhost_user_get_ring_base(u, q, &base);
}
