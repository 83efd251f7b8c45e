/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_VSOCK_H
#define DEVISOR_VIRTIO_VSOCK_H

/*
 * virtio-vsock (socket device, spec 5.10), stream sockets only, served in
 * devisor over UNIX sockets (backend/vsock_unix.h: the protocol of
 * Firecracker and Cloud Hypervisor). rxq 0 carries packets to the guest,
 * txq 1 packets from it, eventq 2 the TRANSPORT_RESET event. The guest is
 * @cid, the host CID 2. docs/vsock.md has the state machine and the rules
 * for hostile packets.
 */
#include <stdbool.h>
#include <stdint.h>

struct evloop;
struct virtio_dev;
struct virtqueue;
struct vm;

#define VSOCK_HOST_CID 2
/* Guest CIDs: 0-2 are reserved, 2^32-1 is VMADDR_CID_ANY. */
#define VSOCK_CID_MIN 3
#define VSOCK_CID_MAX 0xfffffffeu

/*
 * Unbound device for guest @cid, listening on @path (which it removes when
 * destroyed); its sockets run on @loop. NULL on error (logged).
 */
struct virtio_dev *virtio_vsock_create(struct vm *vm, uint64_t cid,
				       const char *path, struct evloop *loop);

/*
 * The same device on the kernel's vhost-vsock (`--vsock cid=N`): rx and
 * tx served by the host kernel (virtio/vhost_vsock.c), the host's side is
 * AF_VSOCK to @cid. @dev_path NULL is /dev/vhost-vsock. NULL on error
 * (logged: a missing module is named).
 */
struct virtio_dev *virtio_vhost_vsock_create(struct vm *vm, uint64_t cid,
					     const char *dev_path,
					     struct evloop *loop);

/*
 * Puts one VIRTIO_VSOCK_EVENT_TRANSPORT_RESET in the driver's next buffer
 * of event queue @vq and notifies it. True once delivered; false with no
 * buffer posted yet (try again on the driver's next notify) or after
 * marking @vdev broken for a bad buffer. Under vdev->lock.
 */
bool vsock_deliver_transport_reset(struct virtio_dev *vdev,
				   struct virtqueue *vq);

struct virtio_vsock_stats {
	uint64_t conns; /* connections open now, handshakes included */
	uint64_t rx_packets; /* packets given to the guest */
	uint64_t tx_packets; /* packets taken from the guest */
	uint64_t rst_sent; /* RSTs given to the guest */
	uint64_t dropped; /* guest packets dropped: wrong source CID */
	uint64_t tx_bytes; /* guest payload written to host sockets */
	uint64_t rx_bytes; /* host bytes given to the guest */
};

/* A snapshot of the counters; any thread. */
void virtio_vsock_get_stats(struct virtio_dev *vdev,
			    struct virtio_vsock_stats *st);

#endif
