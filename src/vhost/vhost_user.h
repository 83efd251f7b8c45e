/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VHOST_VHOST_USER_H
#define DEVISOR_VHOST_VHOST_USER_H

/*
 * The front-end side of the vhost-user protocol (QEMU's
 * docs/interop/vhost-user.rst): an external back-end process (e.g.
 * qemu-storage-daemon) serves a device's queues from guest memory it maps
 * with the file descriptors we pass (guest RAM must be a memfd:
 * guest_mem_init(shared)), kicked by our ioeventfds' eventfds and
 * signalling call eventfds. Messages go over a UNIX stream socket; every
 * reply is checked (type, reply flag, size) before use, so a hostile or
 * broken back-end gets an error, never a crash. Every function returns 0
 * or -errno and logs what failed, naming the device; once the back-end
 * is gone every call fails with -EPIPE.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost/vhost.h"

struct evloop;
struct guest_mem;
struct virtio_dev;

enum vhost_user_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_GET_CONFIG = 24,
};

/* Feature bit: the back-end speaks protocol features (rings start off). */
#define VHOST_USER_F_PROTOCOL_FEATURES 30
/* Protocol feature bits we use. */
#define VHOST_USER_PROTOCOL_F_MQ 0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_CONFIG 9

#define VHOST_USER_VERSION 0x1
#define VHOST_USER_REPLY 0x4
#define VHOST_USER_NEED_REPLY 0x8
/* In SET_VRING_KICK/CALL's u64: no fd comes with it. */
#define VHOST_USER_VRING_NOFD (1ull << 8)
#define VHOST_USER_MAX_REGIONS 8
#define VHOST_USER_HDR_SIZE 12
/* The largest config read we make. */
#define VHOST_USER_MAX_CONFIG 256
/*
 * The largest payload we send or accept: a config read (12 + 256), more
 * than a memory table (8 + 8 * 32).
 */
#define VHOST_USER_MAX_PAYLOAD (12 + VHOST_USER_MAX_CONFIG)
/* A back-end that takes longer than this to answer is taken for dead. */
#define VHOST_USER_TIMEOUT_MS 5000

struct vhost_user {
	int fd;
	const char *name; /* for messages */
	uint64_t features; /* the back-end's (GET_FEATURES) */
	uint64_t protocol_features; /* negotiated */
	bool dead; /* the connection is gone: -EPIPE from now on */
	/* vhost_user_watch(): the device whose back-end this is */
	struct virtio_dev *vdev;
	struct evloop *loop;
	bool running; /* vhost_user_start() handed it the rings */
};

/*
 * Connects to the back-end listening on @path and does the handshake:
 * GET_FEATURES, protocol features (ours: REPLY_ACK, CONFIG, MQ, as the
 * back-end offers them), SET_OWNER.
 */
int vhost_user_connect(struct vhost_user *u, const char *path,
		       const char *name);
/* The same handshake over a connected socket @fd (taken over). */
int vhost_user_init_fd(struct vhost_user *u, int fd, const char *name);
void vhost_user_close(struct vhost_user *u);

bool vhost_user_has_protocol(const struct vhost_user *u, unsigned int bit);

int vhost_user_get_queue_num(struct vhost_user *u, uint64_t *n);
/* @features gets F_PROTOCOL_FEATURES added if the back-end offered it. */
int vhost_user_set_features(struct vhost_user *u, uint64_t features);
/* Every RAM region of @mem with the memfd behind it (mem->fd >= 0). */
int vhost_user_set_mem_table(struct vhost_user *u, const struct guest_mem *mem);
/* Num, base, addresses, kick and call of one ring, then enables it. */
int vhost_user_set_ring(struct vhost_user *u, const struct vhost_ring *r);
int vhost_user_set_vring_enable(struct vhost_user *u, unsigned int index,
				bool on);
/* Stops ring @index and gives the next avail index it would serve. */
int vhost_user_get_ring_base(struct vhost_user *u, unsigned int index,
			     uint16_t *base);
/* @len bytes of the device's configuration space from @off (CONFIG). */
int vhost_user_get_config(struct vhost_user *u, uint32_t off, void *buf,
			  uint32_t len);

/*
 * For a device @vdev served by @u: watch the socket on @loop for a
 * hang-up only (replies are read by whoever asked), which logs one error
 * and marks @vdev DEVICE_NEEDS_RESET. vhost_user_unwatch() before the
 * device's lock goes (no lock held).
 */
int vhost_user_watch(struct vhost_user *u, struct virtio_dev *vdev,
		     struct evloop *loop);
void vhost_user_unwatch(struct vhost_user *u);

/*
 * DRIVER_OK of @vdev: the negotiated features the back-end knows, the
 * memory table, then rings 0..@nr-1 (vhost_ring_of(), @calls[q] where the
 * transport has no irqfd). Stop: GET_VRING_BASE of each; a no-op when
 * not started or the back-end is gone. Under the device lock.
 */
int vhost_user_start(struct vhost_user *u, struct virtio_dev *vdev,
		     const struct guest_mem *mem,
		     const struct vhost_call *calls, unsigned int nr);
void vhost_user_stop(struct vhost_user *u, unsigned int nr);

/*
 * Checks one reply of @len bytes (header and payload) to @request that
 * must carry @want bytes of payload: 0, or -EPROTO after logging why.
 * Exposed for the fuzz target.
 */
int vhost_user_check_reply(struct vhost_user *u, uint32_t request,
			   const uint8_t *msg, size_t len, uint32_t want);

#endif
