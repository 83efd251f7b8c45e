// SPDX-License-Identifier: GPL-2.0
#include "virtio/console.h"

#include <errno.h>
#include <linux/virtio_console.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend/console.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"
#include "virtio/virtio.h"

#define CONSOLE_QUEUE_SIZE 256
#define RXQ 0
#define TXQ 1

/* struct virtio_console_config, little-endian bytes. */
#define CFG_COLS 0
#define CFG_ROWS 2
#define CFG_MAX_NR_PORTS 4
#define CFG_EMERG_WR 8
#define CFG_LEN 12

/*
 * Output buffer: a guest's burst is held here while the terminal catches
 * up; past it, transmit buffers wait in the ring. EMERG_RESERVE of it is
 * kept for emergency writes, which cannot wait.
 */
#define CONSOLE_OUT_SIZE (64u << 10)
#define EMERG_RESERVE 256
/* At stop, what a terminal has not taken in this long is dropped. */
#define CONSOLE_STOP_MS 500
/*
 * Transmit chains per notification: empty chains cost the output buffer
 * nothing, so a guest that keeps refilling the ring would otherwise hold
 * the I/O thread its other devices share. The rest waits for a kick we
 * send ourselves.
 */
#define TX_BUDGET (CONSOLE_QUEUE_SIZE / 2)

struct virtio_console {
	struct virtio_dev vdev;
	struct virtqueue vqs[2];
	struct virtq_seg segs[CONSOLE_QUEUE_SIZE];
	struct iovec iov[CONSOLE_QUEUE_SIZE];
	uint8_t config[CFG_LEN];
	struct console_out *out;
	/*
	 * The TX chain popped but not yet all in @out (tx_busy), and how
	 * much of it is; its own segments, as receive uses @segs.
	 */
	struct virtq_seg tx_segs[CONSOLE_QUEUE_SIZE];
	struct virtq_chain tx_chain;
	size_t tx_done;
	bool tx_busy;
	bool stopping; /* teardown: the queue is no longer served */
	int rx_efd;
	/*
	 * A receive came up short: signal on the next RX kick. It survives
	 * a device reset, as the input side still waits for buffers.
	 */
	bool rx_wanted;
};

static struct virtio_console *to_con(struct virtio_dev *vdev)
{
	return (struct virtio_console *)vdev;
}

/*
 * The TX chain in hand: copied into the output buffer from byte
 * @tx_done on. False when the buffer filled first.
 */
static bool tx_copy(struct virtio_console *con)
{
	size_t skip = con->tx_done;
	int n = virtq_chain_iov(&con->vdev.dma, &con->tx_chain, false, con->iov,
				CONSOLE_QUEUE_SIZE);
	bool all = true;

	for (int i = 0; i < n && all; i++) {
		const uint8_t *p = con->iov[i].iov_base;
		size_t len = con->iov[i].iov_len, put;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		put = console_out_write(con->out, p + skip, len - skip,
					EMERG_RESERVE);
		con->tx_done += put;
		all = put == len - skip;
		skip = 0;
	}
	if (n > 0)
		virtq_chain_unmap(&con->vdev.dma, &con->tx_chain, false,
				  con->iov, n, 0);
	return all;
}

/*
 * A chain is used only once all of it is in the output buffer. When the
 * buffer is full the queue is left as it is, kicks off: the guest sees
 * its buffers not yet used, and tx_room() carries on.
 */
static void transmit(struct virtio_console *con)
{
	struct virtqueue *vq = &con->vqs[TXQ];
	unsigned int budget = TX_BUDGET;
	int r;

	do {
		virtq_set_notification(vq, false);
		for (;;) {
			if (!con->tx_busy) {
				r = virtq_pop(vq, &con->tx_chain);
				if (r < 0) {
					virtio_dev_fail(&con->vdev, r,
							"transmitq");
					return;
				}
				if (!r)
					break;
				con->tx_busy = true;
				con->tx_done = 0;
			}
			if (!tx_copy(con))
				goto out;
			virtq_push(vq, &con->tx_chain, 0);
			con->tx_busy = false;
			if (!--budget) {
				/* Come back through the eventfd. */
				virtio_dev_kick(&con->vdev, TXQ);
				goto out;
			}
		}
		virtq_set_notification(vq, true);
	} while (!virtq_empty(vq));
out:
	virtio_dev_notify_queue(&con->vdev, TXQ);
}

/* The writer thread freed space: the chain in hand goes on. */
static void tx_room(void *opaque)
{
	struct virtio_console *con = opaque;
	struct virtio_dev *vdev = &con->vdev;

	pthread_mutex_lock(&vdev->lock);
	if (con->tx_busy && !con->stopping && virtio_dev_running(vdev) &&
	    con->vqs[TXQ].ready)
		transmit(con);
	pthread_mutex_unlock(&vdev->lock);
}

static void wake_input(struct virtio_console *con)
{
	uint64_t one = 1;

	if (!con->rx_wanted)
		return;
	con->rx_wanted = false;
	if (write(con->rx_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("%s: rx eventfd: %s", con->vdev.name,
				    strerror(errno));
}

static void con_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_console *con = to_con(vdev);

	if (q == TXQ)
		transmit(con);
	else
		wake_input(con); /* new receive buffers */
}

static void con_config_read(struct virtio_dev *vdev, uint32_t off, void *data,
			    unsigned int len)
{
	uint8_t b[CFG_LEN];

	memcpy(b, to_con(vdev)->config, CFG_LEN);
	/* emerg_wr is write-only. */
	memset(b + CFG_EMERG_WR, 0, 4);
	memcpy(data, b + off, len);
}

static void con_config_write(struct virtio_dev *vdev, uint32_t off,
			     const void *data, unsigned int len)
{
	struct virtio_console *con = to_con(vdev);
	uint8_t ch;

	/* Emergency write: one character, even before DRIVER_OK. */
	if (off != CFG_EMERG_WR || len != 4 ||
	    !virtio_dev_has_feature(vdev, VIRTIO_CONSOLE_F_EMERG_WRITE))
		return;
	ch = *(const uint8_t *)data;
	/* A register write cannot be held back: only a full reserve drops. */
	if (!console_out_write(con->out, &ch, 1, 0))
		pr_warn_ratelimited(
			"%s: output stalled; emergency write dropped",
			vdev->name);
}

static void con_reset(struct virtio_dev *vdev)
{
	/* Its bytes so far stay queued for output: the guest sent them. */
	to_con(vdev)->tx_busy = false;
}

/* The writer calls transmit(): it ends before the core's lock does. */
static void con_stop(struct virtio_dev *vdev)
{
	struct virtio_console *con = to_con(vdev);

	pthread_mutex_lock(&vdev->lock);
	con->stopping = true;
	pthread_mutex_unlock(&vdev->lock);
	console_out_destroy(con->out, CONSOLE_STOP_MS);
	con->out = NULL;
}

static void con_destroy(struct virtio_dev *vdev)
{
	struct virtio_console *con = to_con(vdev);

	console_out_destroy(con->out, CONSOLE_STOP_MS);
	close(con->rx_efd);
	free(con);
}

static const struct virtio_dev_ops con_ops = {
	.config_read = con_config_read,
	.config_write = con_config_write,
	.reset = con_reset,
	.queue_notify = con_queue_notify,
	.stop = con_stop,
	.destroy = con_destroy,
};

struct virtio_dev *virtio_console_create(struct vm *vm, int out_fd)
{
	struct virtio_console *con = calloc(1, sizeof(*con));

	if (!con)
		return NULL;
	if (virtio_dev_init(&con->vdev, "virtio-console", VIRTIO_ID_CONSOLE,
			    &con_ops, con->vqs, 2, CONSOLE_QUEUE_SIZE,
			    &vm->mem)) {
		free(con);
		return NULL;
	}
	con->rx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (con->rx_efd < 0) {
		pthread_mutex_destroy(&con->vdev.lock);
		free(con);
		return NULL;
	}
	con->out = console_out_create(out_fd, CONSOLE_OUT_SIZE, tx_room, con);
	if (!con->out) {
		close(con->rx_efd);
		pthread_mutex_destroy(&con->vdev.lock);
		free(con);
		return NULL;
	}
	con->tx_chain = VIRTQ_CHAIN_INIT(con->tx_segs);
	con->vdev.device_features = 1ull << VIRTIO_CONSOLE_F_EMERG_WRITE;
	con->vdev.config_len = CFG_LEN;
	put_le(con->config + CFG_MAX_NR_PORTS, 1, 4);
	return &con->vdev;
}

size_t virtio_console_receive(struct virtio_dev *vdev, const uint8_t *buf,
			      size_t len)
{
	struct virtio_console *con = to_con(vdev);
	struct virtqueue *vq = &con->vqs[RXQ];
	struct virtq_chain c = VIRTQ_CHAIN_INIT(con->segs);
	size_t done = 0;
	bool pushed = false;
	int r;

	pthread_mutex_lock(&vdev->lock);
	if (!virtio_dev_running(vdev) || !vq->ready) {
		/* activate() kicks every queue, which wakes the input. */
		con->rx_wanted = len > 0;
		pthread_mutex_unlock(&vdev->lock);
		return 0;
	}
	while (done < len) {
		uint32_t n;

		r = virtq_pop(vq, &c);
		if (r < 0) {
			virtio_dev_fail(vdev, r, "receiveq");
			break;
		}
		if (r == 0) {
			/* Kicks are never disabled here; just wait for one. */
			con->rx_wanted = true;
			break;
		}
		n = len - done < c.writable ? len - done : c.writable;
		if (virtq_chain_write(&vdev->dma, &c, 0, buf + done, n))
			n = 0;
		virtq_push(vq, &c, n);
		pushed = true;
		done += n;
	}
	if (pushed)
		virtio_dev_notify_queue(vdev, RXQ);
	pthread_mutex_unlock(&vdev->lock);
	return done;
}

int virtio_console_rx_eventfd(struct virtio_dev *vdev)
{
	return to_con(vdev)->rx_efd;
}

void virtio_console_set_size(struct virtio_dev *vdev, uint16_t cols,
			     uint16_t rows)
{
	struct virtio_console *con = to_con(vdev);

	pthread_mutex_lock(&vdev->lock);
	put_le(con->config + CFG_COLS, cols, 2);
	put_le(con->config + CFG_ROWS, rows, 2);
	if (!vdev->tops)
		vdev->device_features |= 1ull << VIRTIO_CONSOLE_F_SIZE;
	else if (virtio_dev_has_feature(vdev, VIRTIO_CONSOLE_F_SIZE))
		virtio_dev_config_changed(vdev);
	else
		virtio_dev_state_changed(vdev);
	pthread_mutex_unlock(&vdev->lock);
}
