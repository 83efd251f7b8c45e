/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_CONSOLE_H
#define DEVISOR_VIRTIO_CONSOLE_H

/*
 * virtio-console (spec 5.3), one port, no MULTIPORT: receiveq 0 carries
 * input to the guest, transmitq 1 output from it. Output goes to a file
 * descriptor; input comes from whoever calls virtio_console_receive(),
 * which, like serial_receive(), takes what the guest has buffers for and
 * signals an eventfd once it posts more. EMERG_WRITE is offered, and SIZE
 * when virtio_console_set_size() runs before the device is bound.
 */
#include <stddef.h>
#include <stdint.h>

struct virtio_dev;
struct vm;

/*
 * Unbound device. @out_fd is not owned (never closed); a negative @out_fd
 * discards output. Output goes through a bounded buffer and a writer
 * thread (console_out_create()): a reader that stops reading holds up the
 * transmit queue, never the I/O thread or a vCPU, and at teardown costs at
 * most half a second.
 */
struct virtio_dev *virtio_console_create(struct vm *vm, int out_fd);

/*
 * Hand @len input bytes to the guest from any thread. Returns how many
 * went into receive buffers: 0 before the driver is up or while it has
 * posted none. When it returns less than @len, virtio_console_rx_eventfd()
 * becomes readable once the guest posts buffers; keep the rest and retry.
 */
size_t virtio_console_receive(struct virtio_dev *vdev, const uint8_t *buf,
			      size_t len);
/* Non-blocking eventfd owned by the device; read it to clear it. */
int virtio_console_rx_eventfd(struct virtio_dev *vdev);

/*
 * Console size in the config space. Before binding, this also offers
 * VIRTIO_CONSOLE_F_SIZE; later calls notify a driver that negotiated it.
 */
void virtio_console_set_size(struct virtio_dev *vdev, uint16_t cols,
			     uint16_t rows);

#endif
