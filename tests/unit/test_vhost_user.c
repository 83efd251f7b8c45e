// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user front-end (vhost/vhost_user.c) against a fake back-end on the
 * other end of a socketpair, run by a thread: every request's encoding
 * (type, flags, size, payload, fds) is checked there, and its scripted
 * replies, good and hostile, are what the front-end must parse or refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <sys/un.h>

#include "kvm/memory.h"
#include "kvm/vm.h"
#include "util/evloop.h"
#include "vhost/vhost_user.h"
#include "backend/net.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/virtio.h"

#include "helpers/virtio_driver.h"

#define MAXMSG 64

/* One request as the fake back-end saw it. */
struct seen {
	uint32_t req, flags, size;
	uint8_t payload[VHOST_USER_MAX_PAYLOAD];
	int nfds;
	int fds[8];
};

/* What the fake back-end does: its features, and an optional bad reply. */
struct fake {
	int fd;
	uint64_t features, protocol_features;
	uint8_t config[256];
	/* reply to this request type with @bad (len bytes) instead */
	uint32_t bad_req;
	uint8_t bad[64];
	size_t bad_len;
	bool hang_up_on_bad; /* close instead of any reply to bad_req */
	struct seen seen[MAXMSG];
	int nseen;
	pthread_t thread;
};

static void reply(struct fake *f, uint32_t req, const void *p, uint32_t size)
{
	uint8_t buf[12 + VHOST_USER_MAX_PAYLOAD];
	uint32_t flags = VHOST_USER_VERSION | VHOST_USER_REPLY;

	memcpy(buf, &req, 4);
	memcpy(buf + 4, &flags, 4);
	memcpy(buf + 8, &size, 4);
	memcpy(buf + 12, p, size);
	assert_int_equal(write(f->fd, buf, 12 + size), 12 + size);
}

static void *fake_run(void *arg)
{
	struct fake *f = arg;

	for (;;) {
		uint8_t buf[12 + VHOST_USER_MAX_PAYLOAD];
		union {
			char b[CMSG_SPACE(8 * sizeof(int))];
			struct cmsghdr a;
		} ctl;
		/* The header first: the fds come with its first byte. */
		struct iovec iov = { .iov_base = buf, .iov_len = 12 };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.b,
				     .msg_controllen = sizeof(ctl.b) };
		struct cmsghdr *c;
		struct seen *s;
		uint64_t v = 0;
		ssize_t n = recvmsg(f->fd, &mh, MSG_WAITALL);

		if (n != 12 || f->nseen == MAXMSG)
			break;
		s = &f->seen[f->nseen++];
		memset(s, 0, sizeof(*s));
		memcpy(&s->req, buf, 4);
		memcpy(&s->flags, buf + 4, 4);
		memcpy(&s->size, buf + 8, 4);
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_type == SCM_RIGHTS) {
				s->nfds = (c->cmsg_len - CMSG_LEN(0)) /
					  sizeof(int);
				memcpy(s->fds, CMSG_DATA(c),
				       s->nfds * sizeof(int));
			}
		if (s->size > VHOST_USER_MAX_PAYLOAD ||
		    (s->size &&
		     recv(f->fd, s->payload, s->size, MSG_WAITALL) != s->size))
			break;
		if (s->req == f->bad_req) {
			if (f->hang_up_on_bad)
				break;
			assert_int_equal(write(f->fd, f->bad, f->bad_len),
					 f->bad_len);
			break;
		}
		switch (s->req) {
		case VHOST_USER_GET_FEATURES:
			reply(f, s->req, &f->features, 8);
			break;
		case VHOST_USER_GET_PROTOCOL_FEATURES:
			reply(f, s->req, &f->protocol_features, 8);
			break;
		case VHOST_USER_GET_QUEUE_NUM:
			v = 1;
			reply(f, s->req, &v, 8);
			break;
		case VHOST_USER_GET_VRING_BASE: {
			uint32_t st[2] = { 0, 7 };

			memcpy(st, s->payload, 4);
			reply(f, s->req, st, 8);
			break;
		}
		case VHOST_USER_GET_CONFIG: {
			uint8_t p[12 + 256];
			uint32_t off, len;

			memcpy(&off, s->payload, 4);
			memcpy(&len, s->payload + 4, 4);
			memcpy(p, s->payload, 12);
			memcpy(p + 12, f->config + off, len);
			reply(f, s->req, p, 12 + len);
			break;
		}
		default:
			if (s->flags & VHOST_USER_NEED_REPLY)
				reply(f, s->req, &v, 8);
			break;
		}
	}
	close(f->fd);
	return NULL;
}

/* A connected front-end @u over a fresh fake back-end @f. */
static int start(struct fake *f, struct vhost_user *u)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f->fd = sv[1];
	assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
	return vhost_user_init_fd(u, sv[0], "test");
}

static void finish(struct fake *f, struct vhost_user *u)
{
	vhost_user_close(u);
	pthread_join(f->thread, NULL);
}

/* With the fds the back-end received. */
static void free_fake(struct fake *f)
{
	for (int i = 0; i < f->nseen; i++)
		for (int k = 0; k < f->seen[i].nfds; k++)
			close(f->seen[i].fds[k]);
	free(f);
}

static uint64_t payload64(const struct seen *s)
{
	uint64_t v;

	memcpy(&v, s->payload, 8);
	return v;
}

static struct fake *new_fake(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	f->features = 1ull << 32 | 1ull << VHOST_USER_F_PROTOCOL_FEATURES |
		      1ull << 29;
	/* REPLY_ACK, CONFIG, and one we do not use (LOG_SHMFD). */
	f->protocol_features = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK |
			       1ull << VHOST_USER_PROTOCOL_F_CONFIG | 1ull << 1;
	for (int i = 0; i < 256; i++)
		f->config[i] = (uint8_t)i;
	return f;
}

/* The handshake: features, protocol features (ours only), SET_OWNER. */
static void test_handshake(void **state)
{
	struct fake *f = new_fake();
	struct vhost_user u;

	assert_int_equal(start(f, &u), 0);
	assert_int_equal(u.features, f->features);
	assert_true(
		vhost_user_has_protocol(&u, VHOST_USER_PROTOCOL_F_REPLY_ACK));
	assert_false(vhost_user_has_protocol(&u, 1));
	finish(f, &u);
	assert_int_equal(f->nseen, 4);
	assert_int_equal(f->seen[0].req, VHOST_USER_GET_FEATURES);
	assert_int_equal(f->seen[0].flags, VHOST_USER_VERSION);
	assert_int_equal(f->seen[0].size, 0);
	assert_int_equal(f->seen[1].req, VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_int_equal(f->seen[2].req, VHOST_USER_SET_PROTOCOL_FEATURES);
	assert_int_equal(f->seen[2].size, 8);
	assert_int_equal(payload64(&f->seen[2]),
			 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK |
				 1ull << VHOST_USER_PROTOCOL_F_CONFIG);
	/* Acked from then on. */
	assert_int_equal(f->seen[3].req, VHOST_USER_SET_OWNER);
	assert_int_equal(f->seen[3].flags,
			 VHOST_USER_VERSION | VHOST_USER_NEED_REPLY);
	free_fake(f);
}

/* Without F_PROTOCOL_FEATURES: no protocol messages, no acks. */
static void test_no_protocol_features(void **state)
{
	struct fake *f = new_fake();
	struct vhost_user u;

	f->features = 1ull << 32;
	assert_int_equal(start(f, &u), 0);
	assert_int_equal(vhost_user_set_features(&u, 1ull << 32), 0);
	assert_int_equal(vhost_user_get_config(&u, 0, (uint8_t[8]){ 0 }, 8),
			 -EOPNOTSUPP);
	finish(f, &u);
	assert_int_equal(f->nseen, 3);
	assert_int_equal(f->seen[1].req, VHOST_USER_SET_OWNER);
	assert_int_equal(f->seen[1].flags, VHOST_USER_VERSION);
	assert_int_equal(f->seen[2].req, VHOST_USER_SET_FEATURES);
	assert_int_equal(payload64(&f->seen[2]), 1ull << 32);
	free_fake(f);
}

/* The memory table carries one fd per region and our mapping offsets. */
static void test_mem_table_and_ring(void **state)
{
	struct mem_region map[2] = { { .gpa = 0, .size = 1 << 20 },
				     { .gpa = 4 << 20, .size = 2 << 20 } };
	struct fake *f = new_fake();
	struct guest_mem mem;
	struct vhost_user u;
	struct vhost_ring r;
	uint16_t base = 0;
	struct stat st;
	int nreq;

	assert_int_equal(guest_mem_init_map(&mem, map, 2), 0);
	assert_int_equal(start(f, &u), 0);
	/* Private RAM cannot be shared. */
	assert_int_equal(vhost_user_set_mem_table(&u, &mem), -EINVAL);
	guest_mem_destroy(&mem);
	assert_int_equal(guest_mem_init(&mem, 64 << 20, true), 0);
	assert_true(mem.fd >= 0);

	assert_int_equal(vhost_user_set_features(&u, 1ull << 32), 0);
	assert_int_equal(vhost_user_set_mem_table(&u, &mem), 0);
	r = (struct vhost_ring){ .index = 0,
				 .num = 128,
				 .desc = mem.regions[0].hva + 0x1000,
				 .avail = mem.regions[0].hva + 0x2000,
				 .used = mem.regions[0].hva + 0x3000,
				 .kick_fd = 0,
				 .call_fd = -1 };
	assert_int_equal(vhost_user_set_ring(&u, &r), 0);
	assert_int_equal(vhost_user_get_ring_base(&u, 0, &base), 0);
	assert_int_equal(base, 7);
	finish(f, &u);

	nreq = f->nseen;
	assert_int_equal(nreq, 4 + 2 + 6 + 1);
	/* SET_FEATURES keeps F_PROTOCOL_FEATURES. */
	assert_int_equal(payload64(&f->seen[4]),
			 1ull << 32 | 1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	{
		const struct seen *s = &f->seen[5];
		uint32_t n;
		uint64_t e[4];

		assert_int_equal(s->req, VHOST_USER_SET_MEM_TABLE);
		memcpy(&n, s->payload, 4);
		assert_int_equal(n, mem.nr);
		assert_int_equal(s->size, 8 + 32 * mem.nr);
		assert_int_equal(s->nfds, (int)mem.nr);
		for (unsigned int i = 0; i < mem.nr; i++) {
			memcpy(e, s->payload + 8 + 32 * i, 32);
			assert_int_equal(e[0], mem.regions[i].gpa);
			assert_int_equal(e[1], mem.regions[i].size);
			assert_int_equal(e[2], (uintptr_t)mem.regions[i].hva);
			assert_int_equal(e[3], mem.regions[i].hva - mem.base);
			/* The memfd, of the whole RAM. */
			assert_int_equal(fstat(s->fds[i], &st), 0);
			assert_int_equal(st.st_size, mem.map_size);
		}
	}
	assert_int_equal(f->seen[6].req, VHOST_USER_SET_VRING_NUM);
	assert_int_equal(f->seen[7].req, VHOST_USER_SET_VRING_BASE);
	{
		const struct seen *s = &f->seen[8];
		uint64_t a[5];

		assert_int_equal(s->req, VHOST_USER_SET_VRING_ADDR);
		assert_int_equal(s->size, 40);
		memcpy(a, s->payload, 40);
		assert_int_equal(a[1], (uintptr_t)r.desc);
		assert_int_equal(a[2], (uintptr_t)r.used);
		assert_int_equal(a[3], (uintptr_t)r.avail);
	}
	assert_int_equal(f->seen[9].req, VHOST_USER_SET_VRING_KICK);
	assert_int_equal(f->seen[9].nfds, 1);
	assert_int_equal(payload64(&f->seen[9]), 0);
	/* No call fd: the flag, no fd. */
	assert_int_equal(f->seen[10].req, VHOST_USER_SET_VRING_CALL);
	assert_int_equal(f->seen[10].nfds, 0);
	assert_int_equal(payload64(&f->seen[10]), VHOST_USER_VRING_NOFD);
	assert_int_equal(f->seen[11].req, VHOST_USER_SET_VRING_ENABLE);
	assert_int_equal(f->seen[12].req, VHOST_USER_GET_VRING_BASE);
	guest_mem_destroy(&mem);
	free_fake(f);
}

static void test_get_config(void **state)
{
	struct fake *f = new_fake();
	struct vhost_user u;
	uint8_t buf[60];

	assert_int_equal(start(f, &u), 0);
	assert_int_equal(vhost_user_get_config(&u, 0, buf, 60), 0);
	assert_memory_equal(buf, f->config, 60);
	assert_int_equal(vhost_user_get_config(&u, 0, buf, 300), -EINVAL);
	finish(f, &u);
	assert_int_equal(f->seen[4].req, VHOST_USER_GET_CONFIG);
	assert_int_equal(f->seen[4].size, 12 + 60);
	free_fake(f);
}

/* A hostile reply: every kind is refused and the connection is dead. */
static void bad_reply(uint32_t req, const void *msg, size_t len)
{
	struct fake *f = new_fake();
	struct vhost_user u;
	uint8_t buf[60];
	uint16_t base;
	int ret;

	f->bad_req = req;
	memcpy(f->bad, msg, len);
	f->bad_len = len;
	if (req == VHOST_USER_GET_FEATURES) {
		assert_int_equal(start(f, &u), -EPIPE);
	} else {
		assert_int_equal(start(f, &u), 0);
		if (req == VHOST_USER_GET_CONFIG)
			ret = vhost_user_get_config(&u, 0, buf, 60);
		else
			ret = vhost_user_get_ring_base(&u, 0, &base);
		assert_int_equal(ret, -EPIPE);
		assert_true(u.dead);
		assert_int_equal(vhost_user_set_features(&u, 0), -EPIPE);
	}
	finish(f, &u);
	free_fake(f);
}

#define HDR(req, flags, size) \
	(uint8_t)(req), 0, 0, 0, (uint8_t)(flags), 0, 0, 0, (size), 0, 0, 0

static void test_hostile_replies(void **state)
{
	/* Not a reply, another request's reply, wrong version. */
	bad_reply(VHOST_USER_GET_FEATURES,
		  (uint8_t[]){ HDR(1, 1, 8), 0, 0, 0, 0, 0, 0, 0, 0 }, 20);
	bad_reply(VHOST_USER_GET_FEATURES,
		  (uint8_t[]){ HDR(2, 5, 8), 0, 0, 0, 0, 0, 0, 0, 0 }, 20);
	bad_reply(VHOST_USER_GET_FEATURES,
		  (uint8_t[]){ HDR(1, 6, 8), 0, 0, 0, 0, 0, 0, 0, 0 }, 20);
	/* A short payload, a huge size, a truncated header. */
	bad_reply(VHOST_USER_GET_FEATURES,
		  (uint8_t[]){ HDR(1, 5, 4), 0, 0, 0, 0 }, 16);
	bad_reply(VHOST_USER_GET_FEATURES,
		  (uint8_t[]){ 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0x80 }, 12);
	bad_reply(VHOST_USER_GET_FEATURES, (uint8_t[]){ 1, 0, 0, 0, 5 }, 5);
	/* GET_VRING_BASE of another ring; GET_CONFIG of another range. */
	bad_reply(VHOST_USER_GET_VRING_BASE,
		  (uint8_t[]){ HDR(11, 5, 8), 3, 0, 0, 0, 1, 0, 0, 0 }, 20);
	bad_reply(VHOST_USER_GET_CONFIG,
		  (uint8_t[]){ HDR(24, 5, 12), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			       0 },
		  24);
}

/* A back-end that dies answers nothing: -EPIPE, then fast failures. */
static void test_backend_dies(void **state)
{
	struct fake *f = new_fake();
	struct vhost_user u;
	uint16_t base;

	f->bad_req = VHOST_USER_GET_VRING_BASE;
	f->hang_up_on_bad = true;
	assert_int_equal(start(f, &u), 0);
	assert_int_equal(vhost_user_get_ring_base(&u, 0, &base), -EPIPE);
	assert_true(u.dead);
	assert_int_equal(vhost_user_set_vring_enable(&u, 0, false), -EPIPE);
	finish(f, &u);
	free_fake(f);
}

/* The listening end: accepts one front-end, then is the fake on it. */
struct listener {
	struct fake *f;
	int lfd;
};

static void *accept_run(void *arg)
{
	struct listener *l = arg;

	l->f->fd = accept(l->lfd, NULL, NULL);
	if (l->f->fd >= 0)
		fake_run(l->f);
	return NULL;
}

#define RAM (64ull << 20)
#define BASE 0xd0000000ull
#define GSI 5

/*
 * virtio-blk on the fake back-end behind virtio-mmio: the configuration
 * space and features come from the back-end, DRIVER_OK hands it the
 * ring, and a back-end that hangs up marks the device NEEDS_RESET.
 */
static void test_blk_device(void **state)
{
	struct fake *f = new_fake();
	struct listener l = { .f = f };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/devisor-vu-XXXXXX";
	struct virtio_dev *vdev;
	struct evloop *loop;
	struct vm vm;
	uint64_t offered;
	int nseen, i;

	f->features |= 1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_MQ;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
	l.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(l.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l.lfd, 1), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, accept_run, &l), 0);

	memset(&vm, 0, sizeof(vm));
	loop = vd_vm_init(&vm, RAM);
	/* Private RAM: refused, naming why. */
	assert_null(virtio_vhost_user_blk_create(&vm, sa.sun_path, loop));
	guest_mem_destroy(&vm.mem);
	assert_int_equal(guest_mem_init(&vm.mem, RAM, true), 0);
	vdev = virtio_vhost_user_blk_create(&vm, sa.sun_path, loop);
	assert_non_null(vdev);
	assert_non_null(virtio_mmio_create(&vm, BASE, GSI, vdev, loop));

	/* capacity: the back-end's config bytes 0..7 */
	assert_int_equal(vd_reg(&vm, BASE, VIRTIO_MMIO_CONFIG), 0x03020100);
	offered = vd_mmio_offered(&vm, BASE);
	assert_true(offered & F_VERSION_1);
	assert_true(offered & (1ull << VIRTIO_BLK_F_FLUSH));
	/* Not ours to offer: MQ, packed rings, F_PROTOCOL_FEATURES. */
	assert_false(offered & (1ull << VIRTIO_BLK_F_MQ));
	assert_false(offered & F_PACKED);
	assert_false(offered & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));

	vd_mmio_ack(&vm, BASE);
	assert_true(vd_mmio_features_ok(
		&vm, BASE, F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH));
	vd_mmio_setup_queue(&vm, BASE, 0, 256, 64, 0x10000, 0x11000, 0x12000);
	vd_set_reg(&vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(vd_reg(&vm, BASE, VIRTIO_MMIO_STATUS), S_ALL);

	/* Handshake 4, GET_CONFIG, then the start: 2 + 6. */
	nseen = f->nseen;
	assert_int_equal(nseen, 5 + 2 + 6);
	assert_int_equal(f->seen[5].req, VHOST_USER_SET_FEATURES);
	assert_int_equal(payload64(&f->seen[5]),
			 F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH |
				 1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	assert_int_equal(f->seen[6].req, VHOST_USER_SET_MEM_TABLE);
	assert_int_equal(f->seen[6].nfds, (int)vm.mem.nr);
	{
		uint64_t a[5];

		assert_int_equal(f->seen[9].req, VHOST_USER_SET_VRING_ADDR);
		memcpy(a, f->seen[9].payload, 40);
		assert_int_equal(a[1], (uintptr_t)vd_hva(&vm, 0x10000, 1));
		assert_int_equal(a[2], (uintptr_t)vd_hva(&vm, 0x12000, 1));
		assert_int_equal(a[3], (uintptr_t)vd_hva(&vm, 0x11000, 1));
	}
	/* virtio-mmio has no irqfd: the call fd is devisor's eventfd. */
	assert_int_equal(f->seen[11].req, VHOST_USER_SET_VRING_CALL);
	assert_int_equal(f->seen[11].nfds, 1);
	assert_int_equal(f->seen[12].req, VHOST_USER_SET_VRING_ENABLE);

	/* The back-end signals the call fd: the device interrupts. */
	{
		uint64_t one = 1;

		assert_int_equal(write(f->seen[11].fds[0], &one, 8), 8);
		assert_true(vd_wait_edges(GSI, 1));
	}

	/* A reset takes the ring back. */
	vd_mmio_reset(&vm, BASE);
	assert_int_equal(f->nseen, nseen + 1);
	assert_int_equal(f->seen[nseen].req, VHOST_USER_GET_VRING_BASE);

	/* Up again, then the back-end dies: NEEDS_RESET. */
	vd_mmio_ack(&vm, BASE);
	assert_true(vd_mmio_features_ok(&vm, BASE, F_VERSION_1));
	vd_mmio_setup_queue(&vm, BASE, 0, 256, 64, 0x10000, 0x11000, 0x12000);
	vd_set_reg(&vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(vd_reg(&vm, BASE, VIRTIO_MMIO_STATUS), S_ALL);
	shutdown(f->fd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	assert_true(vd_mmio_wait_status(&vm, BASE, S_NEEDS_RESET));
	/* A reset then asks nothing of the dead back-end. */
	vd_mmio_reset(&vm, BASE);

	vd_vm_destroy(&vm, loop);
	close(l.lfd);
	unlink(sa.sun_path);
	rmdir(dir);
	for (i = 0; i < f->nseen; i++)
		for (int k = 0; k < f->seen[i].nfds; k++)
			close(f->seen[i].fds[k]);
	free(f);
}

/*
 * virtio-net on the fake back-end (--net vhost-user=SOCKET): MAC and
 * STATUS are devisor's, offloads and MRG_RXBUF the back-end's, and
 * DRIVER_OK hands it both rings.
 */
static void test_net_device(void **state)
{
	struct fake *f = new_fake();
	struct listener l = { .f = f };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/devisor-vu-XXXXXX";
	struct net_options o;
	struct net_backend *be;
	struct virtio_dev *vdev;
	struct evloop *loop;
	struct vm vm;
	uint64_t offered;
	char err[128], spec[160];
	int i;

	f->features |=
		1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_CSUM |
		1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_CTRL_VQ;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
	l.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(l.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l.lfd, 1), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, accept_run, &l), 0);

	memset(&vm, 0, sizeof(vm));
	loop = vd_vm_init(&vm, RAM);
	guest_mem_destroy(&vm.mem);
	assert_int_equal(guest_mem_init(&vm.mem, RAM, true), 0);
	snprintf(spec, sizeof(spec), "vhost-user=%s,mac=52:54:00:00:00:07",
		 sa.sun_path);
	assert_int_equal(net_backend_parse(spec, &o, err, sizeof(err)), 0);
	be = net_backend_open(&o, loop);
	assert_non_null(be);
	vdev = virtio_net_create(&vm, be, NET_VHOST_OFF, 0);
	assert_non_null(vdev);
	assert_non_null(virtio_mmio_create(&vm, BASE, GSI, vdev, loop));

	assert_int_equal(vd_reg(&vm, BASE, VIRTIO_MMIO_CONFIG), 0x00005452);
	offered = vd_mmio_offered(&vm, BASE);
	assert_true(offered & (1ull << VIRTIO_NET_F_MAC));
	assert_true(offered & (1ull << VIRTIO_NET_F_MRG_RXBUF));
	assert_true(offered & (1ull << VIRTIO_NET_F_HOST_TSO4));
	/* No control queue here, and no offload the back-end lacks. */
	assert_false(offered & (1ull << VIRTIO_NET_F_CTRL_VQ));
	assert_false(offered & (1ull << VIRTIO_NET_F_GUEST_CSUM));

	vd_mmio_ack(&vm, BASE);
	assert_true(
		vd_mmio_features_ok(&vm, BASE,
				    F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC |
					    1ull << VIRTIO_NET_F_MRG_RXBUF));
	for (unsigned int q = 0; q < 2; q++)
		vd_mmio_setup_queue(&vm, BASE, q, 256, 64, 0x10000 + q * 0x4000,
				    0x11000 + q * 0x4000, 0x12000 + q * 0x4000);
	vd_set_reg(&vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(vd_reg(&vm, BASE, VIRTIO_MMIO_STATUS), S_ALL);
	/* Handshake 4, then features, table and two rings of 6. */
	assert_int_equal(f->nseen, 4 + 2 + 12);
	/* MAC is not the back-end's: it does not hear of it. */
	assert_int_equal(payload64(&f->seen[4]),
			 F_VERSION_1 | 1ull << VIRTIO_NET_F_MRG_RXBUF |
				 1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	assert_int_equal(f->seen[12].req, VHOST_USER_SET_VRING_NUM);
	{
		uint32_t idx;

		memcpy(&idx, f->seen[12].payload, 4);
		assert_int_equal(idx, 1);
	}
	assert_int_equal(f->seen[17].req, VHOST_USER_SET_VRING_ENABLE);

	vd_mmio_reset(&vm, BASE);
	assert_int_equal(f->nseen, 18 + 2);
	assert_int_equal(f->seen[18].req, VHOST_USER_GET_VRING_BASE);
	assert_int_equal(f->seen[19].req, VHOST_USER_GET_VRING_BASE);

	vd_vm_destroy(&vm, loop);
	pthread_join(f->thread, NULL);
	close(l.lfd);
	unlink(sa.sun_path);
	rmdir(dir);
	for (i = 0; i < f->nseen; i++)
		for (int k = 0; k < f->seen[i].nfds; k++)
			close(f->seen[i].fds[k]);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_no_protocol_features),
		cmocka_unit_test(test_mem_table_and_ring),
		cmocka_unit_test(test_get_config),
		cmocka_unit_test(test_hostile_replies),
		cmocka_unit_test(test_backend_dies),
		cmocka_unit_test(test_blk_device),
		cmocka_unit_test(test_net_device),
	};

	return cmocka_run_group_tests_name("vhost_user", tests, NULL, NULL);
}
