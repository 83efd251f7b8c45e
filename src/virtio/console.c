// SPDX-License-Identifier: GPL-2.0
#include "virtio/console.h"

#include <errno.h>
#include <linux/virtio_console.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kvm/vm.h"
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

struct virtio_console {
	struct virtio_dev vdev;
	struct virtqueue vqs[2];
	struct virtq_seg segs[CONSOLE_QUEUE_SIZE];
	struct iovec iov[CONSOLE_QUEUE_SIZE];
	uint8_t config[CFG_LEN];
	int out_fd;
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

static void put_le(uint8_t *p, uint32_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = v >> (8 * i);
}

/* Output is best effort: the guest must never wedge on a broken fd. */
static void output(struct virtio_console *con, struct iovec *iov, int n)
{
	while (n > 0 && con->out_fd >= 0) {
		ssize_t w = writev(con->out_fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			pr_warn_ratelimited("%s: output: %s", con->vdev.name,
					    w < 0 ? strerror(errno) : "EOF");
			return;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
}

static void transmit(struct virtio_console *con)
{
	struct virtqueue *vq = &con->vqs[TXQ];
	struct virtq_chain c = VIRTQ_CHAIN_INIT(con->segs);
	int r, n;

	do {
		virtq_set_notification(vq, false);
		while ((r = virtq_pop(vq, &c)) > 0) {
			n = virtq_chain_iov(&con->vdev.dma, &c, false, con->iov,
					    CONSOLE_QUEUE_SIZE);
			if (n > 0) {
				output(con, con->iov, n);
				virtq_chain_unmap(&con->vdev.dma, &c, false,
						  con->iov, n, 0);
			}
			virtq_push(vq, &c, 0);
		}
		if (r < 0) {
			virtio_dev_fail(&con->vdev, r, "transmitq");
			return;
		}
		virtq_set_notification(vq, true);
	} while (!virtq_empty(vq));
	virtio_dev_notify_queue(&con->vdev, TXQ);
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
	struct iovec iov;
	uint8_t ch;

	/* Emergency write: one character, even before DRIVER_OK. */
	if (off != CFG_EMERG_WR || len != 4 ||
	    !virtio_dev_has_feature(vdev, VIRTIO_CONSOLE_F_EMERG_WRITE))
		return;
	ch = *(const uint8_t *)data;
	iov = (struct iovec){ .iov_base = &ch, .iov_len = 1 };
	output(con, &iov, 1);
}

static void con_destroy(struct virtio_dev *vdev)
{
	struct virtio_console *con = to_con(vdev);

	close(con->rx_efd);
	free(con);
}

static const struct virtio_dev_ops con_ops = {
	.config_read = con_config_read,
	.config_write = con_config_write,
	.queue_notify = con_queue_notify,
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
	con->out_fd = out_fd;
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
	pthread_mutex_unlock(&vdev->lock);
}
