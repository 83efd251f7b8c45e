// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user-net: a vhost-user-net back-end on DPDK's vhost library (the
 * one OVS-DPDK and SPDK serve guests with), bridging the guest's NIC to
 * a tap, for the nested vhost-user-net case: devisor's --net vhost-user=
 * front-end against a back-end it did not write. Built in
 * tests/nested/run when libdpdk-dev is there; runs in L2.
 *
 *   vhost-user-net SOCKET TAP
 *
 * Listens on SOCKET (the vhost-user server; devisor connects), attaches
 * to the tap TAP, and moves frames both ways until SIGTERM. Offloads are
 * turned off, so every frame is one Ethernet frame. Prints
 *   vunet: ready
 *   vunet: device N ready (features F)
 *   vunet: done tx=N rx=M (frames from and to the guest)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_vhost.h>

#define BURST 32
#define RXQ 0 /* the guest's receive queue: we enqueue */
#define TXQ 1 /* its transmit queue: we dequeue */

static volatile sig_atomic_t stop;
static volatile int vid = -1;
static volatile int ready;

static int new_device(int v)
{
	uint64_t f = 0;

	rte_vhost_get_negotiated_features(v, &f);
	printf("vunet: device %d ready (features %#llx)\n", v,
	       (unsigned long long)f);
	fflush(stdout);
	vid = v;
	ready = 1;
	return 0;
}

static void destroy_device(int v)
{
	ready = 0;
	vid = -1;
	printf("vunet: device %d gone\n", v);
	fflush(stdout);
}

static const struct rte_vhost_device_ops ops = {
	.new_device = new_device,
	.destroy_device = destroy_device,
};

static void on_term(int sig __attribute__((unused)))
{
	stop = 1;
}

static int tap_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	char *eal[] = { "vhost-user-net",
			"--no-huge",
			"--no-pci",
			"--no-shconf",
			"-m",
			"64",
			"-l",
			"0",
			"--no-telemetry",
			"--log-level",
			"lib.*:error" };
	uint64_t off =
		1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
		1ull << VIRTIO_NET_F_HOST_TSO4 |
		1ull << VIRTIO_NET_F_HOST_TSO6 | 1ull << VIRTIO_NET_F_HOST_ECN |
		1ull << VIRTIO_NET_F_HOST_UFO |
		1ull << VIRTIO_NET_F_GUEST_TSO4 |
		1ull << VIRTIO_NET_F_GUEST_TSO6 |
		1ull << VIRTIO_NET_F_GUEST_ECN | 1ull << VIRTIO_NET_F_GUEST_UFO;
	unsigned long long tx = 0, rx = 0;
	struct rte_mempool *pool;
	struct rte_mbuf *pkts[BURST];
	static char frame[65536];
	int tap;

	if (argc != 3) {
		fprintf(stderr, "usage: vhost-user-net SOCKET TAP\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), eal) < 0) {
		fprintf(stderr, "vunet: rte_eal_init: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	pool = rte_pktmbuf_pool_create("vunet", 2047, 64, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
	tap = tap_open(argv[2]);
	if (!pool || tap < 0) {
		fprintf(stderr, "vunet: %s\n",
			!pool ? "no mbuf pool" : "cannot attach to the tap");
		return 1;
	}
	unlink(argv[1]);
	if (rte_vhost_driver_register(argv[1], 0) ||
	    rte_vhost_driver_disable_features(argv[1], off) ||
	    rte_vhost_driver_callback_register(argv[1], &ops) ||
	    rte_vhost_driver_start(argv[1])) {
		fprintf(stderr, "vunet: cannot serve %s\n", argv[1]);
		return 1;
	}
	printf("vunet: ready\n");
	fflush(stdout);

	while (!stop) {
		struct pollfd p = { .fd = tap, .events = POLLIN };
		unsigned int moved = 0;
		int v = vid;

		if (ready && v >= 0) {
			uint16_t n = rte_vhost_dequeue_burst(v, TXQ, pool, pkts,
							     BURST);

			for (uint16_t i = 0; i < n; i++) {
				uint32_t len = rte_pktmbuf_pkt_len(pkts[i]);
				const void *d = rte_pktmbuf_read(
					pkts[i], 0,
					len > sizeof(frame) ? 0 : len, frame);

				if (d && len <= sizeof(frame) &&
				    write(tap, d, len) == (ssize_t)len)
					tx++;
				rte_pktmbuf_free(pkts[i]);
			}
			moved += n;
		}
		/* The tap: read while the guest can take frames. */
		for (unsigned int i = 0; i < BURST; i++) {
			ssize_t len = read(tap, frame, sizeof(frame));
			struct rte_mbuf *m;

			if (len <= 0)
				break;
			moved++;
			if (!ready || v < 0 ||
			    len > RTE_MBUF_DEFAULT_DATAROOM ||
			    !(m = rte_pktmbuf_alloc(pool)))
				continue;
			memcpy(rte_pktmbuf_append(m, len), frame, len);
			if (rte_vhost_enqueue_burst(v, RXQ, &m, 1))
				rx++;
			rte_pktmbuf_free(m);
		}
		/* Idle: wait for the tap or the guest, a millisecond at most. */
		if (!moved)
			poll(&p, 1, 1);
	}
	rte_vhost_driver_unregister(argv[1]);
	printf("vunet: done tx=%llu rx=%llu\n", tx, rx);
	return 0;
}
