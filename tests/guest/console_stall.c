// SPDX-License-Identifier: GPL-2.0
/*
 * A terminal that never reads while the disk works. Fills virtio-console's
 * transmit queue with far more than devisor buffers (TX_BUFS x 4 KiB),
 * without waiting for it, then writes 1 MiB to the virtio-blk disk in
 * 4 KiB requests and reads it back. tests/guest/run starts devisor with
 * its stdout a FIFO nobody reads: the console must stall and the disk must
 * not. Nothing is printed once the console is full, as the UART writes to
 * the same stdout; the exit status is the verdict.
 */
#include "blk.h"

#define TX_BUFS 128
#define TX_LEN 4096
#define IO_LEN 4096
#define IO_COUNT 256

static uint8_t pool[1 << 20] __attribute__((aligned(4096)));
static uint8_t txbuf[TX_BUFS][TX_LEN] __attribute__((aligned(4096)));
static uint8_t wbuf[IO_LEN] __attribute__((aligned(4096)));
static uint8_t rbuf[IO_LEN] __attribute__((aligned(4096)));

static struct vdev con;
static struct vq rxq, txq;
static struct blk b;

static bool console_open(void)
{
	if (!virtio_find(&con, VIRTIO_ID_CONSOLE) ||
	    !vdev_negotiate(&con, 0, 0) || !vq_setup(&rxq, &con, 0, 16) ||
	    !vq_setup(&txq, &con, 1, TX_BUFS) || !vdev_driver_ok(&con))
		return false;
	if (txq.size < TX_BUFS) {
		printf("console_stall: transmit queue of %u, want %u\n",
		       txq.size, TX_BUFS);
		return false;
	}
	return true;
}

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 8));
}

int guest_main(void)
{
	unsigned int i;

	dma_pool_init(pool, sizeof(pool));
	if (!console_open() || !blk_open(&b, 0, 64, 4))
		return GUEST_FAIL;
	if (b.capacity < (uint64_t)IO_COUNT * IO_LEN / SECTOR_SIZE) {
		printf("console_stall: disk too small\n");
		return GUEST_FAIL;
	}
	printf("console_stall: %u KiB to hvc0, then disk I/O\n",
	       TX_BUFS * TX_LEN / 1024);

	for (i = 0; i < TX_BUFS; i++) {
		struct vbuf v = { .addr = txbuf[i], .len = TX_LEN };

		memset(txbuf[i], 'a' + i % 26, TX_LEN);
		txbuf[i][TX_LEN - 1] = '\n';
		if (vq_add(&txq, &v, 1, txbuf[i]) < 0)
			return GUEST_FAIL;
	}
	vq_notify(&txq);

	/* From here on the UART may block: silence. */
	for (i = 0; i < IO_COUNT; i++) {
		uint64_t sector = (uint64_t)i * IO_LEN / SECTOR_SIZE;

		fill(wbuf, IO_LEN, i);
		if (blk_rw(&b, VIRTIO_BLK_T_OUT, sector, wbuf, IO_LEN) !=
		    VIRTIO_BLK_S_OK)
			return GUEST_FAIL;
	}
	for (i = 0; i < IO_COUNT; i++) {
		uint64_t sector = (uint64_t)i * IO_LEN / SECTOR_SIZE;

		if (blk_rw(&b, VIRTIO_BLK_T_IN, sector, rbuf, IO_LEN) !=
		    VIRTIO_BLK_S_OK)
			return GUEST_FAIL;
		fill(wbuf, IO_LEN, i);
		if (memcmp(rbuf, wbuf, IO_LEN))
			return GUEST_FAIL;
	}
	/* All used would mean the terminal read: then this proved nothing. */
	if (vq_used_idx(&txq) == TX_BUFS)
		return GUEST_FAIL;
	return GUEST_PASS;
}
