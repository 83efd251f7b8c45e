/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_BACKEND_NET_H
#define DEVISOR_BACKEND_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "util/rate_limit.h"

/*
 * Host-side network back-ends for a NIC model: a tap device or user-mode
 * networking (libslirp). A back-end moves whole Ethernet frames without FCS.
 *
 * Threads: every back-end is driven by the I/O thread (struct evloop) given
 * to net_backend_open(). The rx and tx_ready callbacks always run on that
 * thread, never from inside net_backend_send(). net_backend_send(),
 * net_backend_rx_ready() and net_backend_set_offloads() may be called from
 * any thread, that one included.
 */

#define NET_MAC_LEN 6
/* "52:54:00:12:34:56" plus NUL */
#define NET_MAC_STRLEN 18
/* struct virtio_net_hdr_v1, num_buffers included */
#define NET_VNET_HDR_LEN 12
/* IFNAMSIZ - 1 */
#define NET_IFNAME_MAX 15
#define NET_MAX_HOSTFWD 16
/* Queue pairs of one NIC (a multi-queue tap's queues). */
#define NET_MAX_QUEUE_PAIRS 8

/* User networking's fixed plan, as QEMU's -netdev user. */
#define NET_USER_NET "10.0.2.0"
#define NET_USER_HOST "10.0.2.2"
#define NET_USER_DNS "10.0.2.3"
#define NET_USER_GUEST "10.0.2.15"

enum net_type { NET_NONE, NET_TAP, NET_USER, NET_VHOST_USER };

/* tap's vhost=: the queues in the host kernel's vhost-net, or not. */
enum net_vhost { NET_VHOST_OFF, NET_VHOST_ON, NET_VHOST_AUTO };

struct net_hostfwd {
	bool udp;
	/* IPv4, network byte order; 127.0.0.1 and 10.0.2.15 by default */
	uint32_t host_addr;
	uint32_t guest_addr;
	uint16_t host_port;
	uint16_t guest_port;
};

/* --net poll='s default and bound, in microseconds (as --disk's). */
#define NET_POLL_US 50
#define NET_POLL_MAX_US 1000

struct net_options {
	enum net_type type;
	/* tap: the interface; may hold a "%d" pattern for the kernel */
	char ifname[NET_IFNAME_MAX + 1];
	/*
	 * tap: attached taps' descriptors instead (fd=N, fds=N:M..., or the
	 * API's SCM_RIGHTS, as Kata passes its taps), one per queue pair
	 * of one multi-queue tap; each VM built uses dups. ifname is then
	 * the tap's name, for messages and vm.info.
	 */
	unsigned int nr_fds;
	int fds[NET_MAX_QUEUE_PAIRS];
	/* tap=NAME: queue pairs (queues=N; 0 is one), a multi-queue tap */
	unsigned int queues;
	bool has_mac;
	uint8_t mac[NET_MAC_LEN];
	/* the NIC on virtio-mmio instead of PCI (transport=mmio) */
	bool mmio;
	/* tap only */
	enum net_vhost vhost;
	/* vhost-user=SOCKET: the back-end's socket (sun_path's size) */
	char vhost_user[108];
	/* microseconds the I/O thread polls the transmit ring (evloop.h) */
	unsigned int poll_us;
	/* an I/O thread of its own (iothread=on), not the board's io0 */
	bool iothread;
	/*
	 * bw_/ops_ keys (Cloud Hypervisor's): each direction of the NIC,
	 * all its queue pairs together, limited to these (virtio-net)
	 */
	struct rate_limit_config rate_limit;
	/* user only */
	bool ipv6;
	unsigned int nr_hostfwd;
	struct net_hostfwd hostfwd[NET_MAX_HOSTFWD];
};

/*
 * One frame for the guest, host -> guest. Return the bytes taken, -EAGAIN
 * when the guest has no RX buffer: the back-end then keeps this frame, stops
 * reading the host side and offers the frame again only after
 * net_backend_rx_ready(). Any other negative value drops the frame (the
 * device has logged why).
 */
typedef ssize_t (*net_rx_fn)(void *opaque, const struct iovec *iov, int iovcnt);
/* A send() that returned -EAGAIN may now be retried. */
typedef void (*net_tx_ready_fn)(void *opaque);

struct net_backend;

struct net_backend_ops {
	int (*start)(struct net_backend *be);
	int (*send)(struct net_backend *be, const struct iovec *iov,
		    int iovcnt);
	void (*rx_ready)(struct net_backend *be);
	/* TUN_F_* bits, already validated */
	int (*set_offloads)(struct net_backend *be, unsigned int flags);
	/* optional: one queue of a multi-queue back-end on or off */
	void (*set_active)(struct net_backend *be, bool active);
	void (*close)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	struct evloop *loop;
	/*
	 * Frames carry a struct virtio_net_hdr_v1 prefix both ways (tap with
	 * IFF_VNET_HDR); num_buffers is 0 in RX frames, the device fills it.
	 * With GUEST_TSO/UFO offloads on, an RX frame may be a 64 KiB GSO
	 * frame. When false (user networking, MTU 1500) frames are bare
	 * Ethernet: the device adds a zeroed header for the guest, strips
	 * the guest's, and must offer the guest no checksum or segmentation
	 * offload in either direction.
	 */
	bool has_vnet_hdr;
	/* The guest NIC's address: from mac=, else random */
	uint8_t mac[NET_MAC_LEN];
	/* "tap0", "user": for messages */
	char name[24];
	net_rx_fn rx;
	net_tx_ready_fn tx_ready;
	void *opaque;
};

/*
 * Parses "tap=NAME[,queues=N][,vhost=on|off|auto][,mac=M]",
 * "fd=N[,mac=M]", "fds=N:M...[,mac=M]", "vhost-user=SOCKET[,mac=M]"
 * or
 * "user[,hostfwd=[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT]...[,ipv6=on|off]
 * [,mac=M]", either with [,transport=pci|mmio]. Returns 0, or -EINVAL with a message in @err.
 */
int net_backend_parse(const char *spec, struct net_options *out, char *err,
		      size_t errlen);

/*
 * What a backend of this kind must load or check before the sandbox
 * closes: libslirp for NET_USER (dlopen()ed, not linked); for fd=N, that
 * N is a tap devisor can use (ifname becomes its name). 0 or a negative
 * errno, logged.
 */
int net_backend_preload(struct net_options *opts);

/* The queue pairs @opts asks for: its descriptors, queues=, else 1. */
unsigned int net_options_pairs(const struct net_options *opts);

/*
 * Creates the back-end (tap attached, hostfwd ports bound) without reading
 * anything yet: one per queue pair, @bes[0..n), all sharing bes[0]'s MAC
 * and name. Returns n (net_options_pairs()), or -errno after logging why.
 */
int net_backend_open_queues(const struct net_options *opts, struct evloop *loop,
			    struct net_backend *bes[NET_MAX_QUEUE_PAIRS]);
/* The same for one queue pair: NULL with errno set if @opts asks more. */
struct net_backend *net_backend_open(const struct net_options *opts,
				     struct evloop *loop);

/*
 * Sets the callbacks and starts delivering frames. @tx_ready may be NULL if
 * the device retries -EAGAIN sends by itself. Returns 0 or -errno.
 */
int net_backend_start(struct net_backend *be, net_rx_fn rx,
		      net_tx_ready_fn tx_ready, void *opaque);

/*
 * One frame, guest -> host, with the vnet header first when has_vnet_hdr.
 * Returns the bytes taken or -errno: -EAGAIN is back-pressure (retry after
 * tx_ready), anything else means the frame is dropped (e.g. -EIO for a tap
 * whose link is down).
 */
int net_backend_send(struct net_backend *be, const struct iovec *iov,
		     int iovcnt);

/* The guest posted RX buffers; a no-op unless the back-end was held. */
void net_backend_rx_ready(struct net_backend *be);

/*
 * A queue pair the guest turned on or off (virtio-net's VQ_PAIRS_SET): a
 * tap queue is attached to or detached from its interface, so that the
 * kernel steers no frame to a queue the guest does not read. Any thread;
 * once started it takes effect on the I/O thread, and a frame it held
 * for the guest is dropped. A no-op for a one-queue back-end.
 */
void net_backend_set_active(struct net_backend *be, bool active);

/*
 * Offloads the guest accepts on RX, from the negotiated VIRTIO_NET_F_GUEST_*
 * features. Segmentation and ECN need csum, ECN needs TSO: -EINVAL
 * otherwise; -EOPNOTSUPP for any offload on a back-end without a vnet
 * header. UFO is dropped with a warning if the kernel refuses it.
 */
int net_backend_set_offloads(struct net_backend *be, bool csum, bool tso4,
			     bool tso6, bool ecn, bool ufo);

/*
 * No callback runs once this returns: it waits for a running one, so the
 * caller must not hold a lock that the callbacks take, nor call it from
 * them. Not concurrently with send().
 */
void net_backend_close(struct net_backend *be);

/* "52:54:00:12:34:56" (either case). Returns 0 or -EINVAL. */
int net_mac_parse(const char *s, uint8_t mac[NET_MAC_LEN]);
/* Random, unicast, locally administered. */
void net_mac_random(uint8_t mac[NET_MAC_LEN]);
void net_mac_format(const uint8_t mac[NET_MAC_LEN], char buf[NET_MAC_STRLEN]);

/*
 * The tap's file descriptor, for the kernel's vhost-net to read and write
 * itself (VHOST_NET_SET_BACKEND); -1 for another back-end. Only for a
 * back-end never started: devisor must not read it too.
 */
int net_backend_tap_fd(struct net_backend *be);
/*
 * The socket of a vhost-user back-end (`vhost-user=SOCKET`), else NULL.
 * Such a back-end moves no frame itself: the device hands its queues to
 * the process on the socket.
 */
const char *net_backend_vhost_user(struct net_backend *be);

/*
 * Checks that @fds[0..@n) are attached taps (IFF_TAP; attached with
 * IFF_NO_PI, which cannot be checked), several only as queues of one
 * multi-queue tap: 0 with its name in @ifname and, unless @vnet_hdr is
 * NULL, whether they carry the vnet header (IFF_VNET_HDR, alike on all
 * queues); or -errno with a sentence in @err that calls each "fd N", or
 * with @sent "the descriptor sent with the request" (of several, "the
 * second descriptor ...").
 */
int net_tap_fds_check(const int *fds, unsigned int n, bool sent,
		      char ifname[NET_IFNAME_MAX + 1], bool *vnet_hdr,
		      char *err, size_t errlen);

/*
 * Internal: the back-ends' constructors. net_tap_open() opens queue @q;
 * the later queues join the interface queue 0 attached (@name).
 */
struct net_backend *net_tap_open(const struct net_options *opts,
				 struct evloop *loop, unsigned int q,
				 const char *name);
int net_slirp_load(void);
struct net_backend *net_slirp_open(const struct net_options *opts,
				   struct evloop *loop);

#endif
