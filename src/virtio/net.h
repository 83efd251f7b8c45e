/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_NET_H
#define DEVISOR_VIRTIO_NET_H

/*
 * virtio-net (network device, spec 5.1): receiveq 0 and transmitq 1 over a
 * host network back-end (backend/net.h). Mergeable receive buffers always;
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
 * that arrive before the driver is up wait in the back-end. On success the
 * device owns @be and closes it when destroyed; NULL on error (logged), and
 * @be then stays the caller's. @vhost (a tap only) hands the queues to the
 * kernel's vhost-net: NET_VHOST_ON fails without it, NET_VHOST_AUTO falls
 * back to serving them here and says so. When devisor serves the queues,
 * its I/O thread polls the transmit ring for up to @poll_ns after each
 * pass (evloop.h; 0: never).
 */
struct virtio_dev *virtio_net_create(struct vm *vm, struct net_backend *be,
				     enum net_vhost vhost, uint64_t poll_ns);

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
