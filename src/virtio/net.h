/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_NET_H
#define DEVISOR_VIRTIO_NET_H

/*
 * virtio-net (network device, spec 5.1): receive and transmit queue pairs
 * over host network back-ends (backend/net.h), a control queue with more
 * than one pair (multi-queue). Mergeable receive buffers always;
 * checksum and segmentation offloads only over a back-end with a vnet
 * header (tap). docs/virtio.md has the data paths.
 */

#include <stdint.h>

#include "backend/net.h"

struct net_backend;
struct virtio_dev;
struct vm;

/* Entries in each queue (Cloud Hypervisor's NetConfig queue_size). */
#define VIRTIO_NET_QUEUE_SIZE 256

/*
 * An unbound device offering @be's MAC address (be->mac); hand it to
 * virtio_pci_create()/virtio_mmio_create(). It starts @be at once: frames
 * that arrive before the driver is up wait in the back-end. The device
 * owns @be from here on and closes it when destroyed, or at once on error
 * (NULL, logged). @vhost (a tap only) hands the queues to the kernel's
 * vhost-net: NET_VHOST_ON fails without it, NET_VHOST_AUTO falls back to
 * serving them here and says so. When devisor serves the queues, its I/O
 * thread polls the transmit rings for up to @poll_ns after each pass
 * (evloop.h; 0: never).
 */
struct virtio_dev *virtio_net_create(struct vm *vm, struct net_backend *be,
				     enum net_vhost vhost, uint64_t poll_ns);
/*
 * The same with @nr_pairs queue pairs, one back-end each (the queues of a
 * multi-queue tap, net_backend_open_queues()) on one I/O thread, and a
 * control queue when there are several: the guest starts on pair 0 and
 * turns on more with VIRTIO_NET_CTRL_MQ; vhost=auto serves them here.
 */
struct virtio_dev *virtio_net_create_mq(struct vm *vm,
					struct net_backend *const *bes,
					unsigned int nr_pairs,
					enum net_vhost vhost, uint64_t poll_ns);

/*
 * Rate limits for each direction (Cloud Hypervisor's rate_limiter_config,
 * all queue pairs together): a frame over them waits, a transmit chain
 * popped with kicks off, a received one in the back-end (which stops
 * reading), until the buckets can pay for it. Before the device runs;
 * not with vhost or vhost-user (they move the frames).
 */
struct rate_limit_config;
void virtio_net_set_rate_limit(struct virtio_dev *vdev,
			       const struct rate_limit_config *c);

struct virtio_net_stats {
	uint64_t rx_packets; /* frames given to the guest */
	uint64_t rx_bytes; /* their Ethernet bytes, no vnet header */
	/* frames from the host the guest could not take: too big for its
	 * buffers, or offloads it did not negotiate */
	uint64_t rx_dropped;
	/* receive buffers returned unused: smaller than the vnet header */
	uint64_t rx_bad_buffers;
	uint64_t tx_packets; /* frames the back-end took */
	uint64_t tx_bytes;
	/* guest frames dropped: malformed, oversized, or refused by the
	 * back-end */
	uint64_t tx_dropped;
};

/* A snapshot of the counters; any thread. */
void virtio_net_get_stats(struct virtio_dev *vdev, struct virtio_net_stats *st);

#endif
