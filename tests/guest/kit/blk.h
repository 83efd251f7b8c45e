/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GUEST_KIT_BLK_H
#define GUEST_KIT_BLK_H

/*
 * A polled virtio-blk driver on top of virtio.h: one request queue, each
 * request a chain of header, data segments and status byte. Synchronous
 * helpers for tests, and submit/complete for keeping several requests in
 * flight (benchmarks).
 */

#include "virtio.h"

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_MQ 12

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define BLK_S_TIMEOUT 0x100 /* ours: no completion in time */

#define VIRTIO_BLK_ID_BYTES 20
#define SECTOR_SIZE 512

/* Config space offsets. */
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_CFG_SIZE_MAX 8
#define VIRTIO_BLK_CFG_SEG_MAX 12
#define VIRTIO_BLK_CFG_BLK_SIZE 20

struct virtio_blk_outhdr {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
};

/* One in-flight request: its header and status live in DMA memory. */
struct blk_req {
	struct virtio_blk_outhdr hdr;
	uint8_t status;
	uint8_t pad[7];
	/* Driver side. */
	uint32_t len; /* bytes the device said it wrote */
	void *priv;
	bool busy;
};

struct blk {
	struct vdev dev;
	struct vq vq;
	uint64_t capacity; /* sectors */
	uint32_t size_max; /* bytes per segment, 0: no limit */
	uint32_t seg_max; /* data segments per request, 0: no limit */
	bool ro;
	struct blk_req *reqs; /* nreqs of them */
	unsigned int nreqs;
};

/*
 * Finds a virtio-blk device (virtio_find()), negotiates VERSION_1 plus
 * @want & (RO, FLUSH, SIZE_MAX, SEG_MAX, BLK_SIZE, ...), sets up queue 0 with
 * up to @qsize entries and @nreqs request slots, and sets DRIVER_OK.
 */
bool blk_open(struct blk *b, uint64_t want, uint16_t qsize, unsigned int nreqs);
/* Redoes the init sequence on an already found device (after a reset). */
bool blk_reinit(struct blk *b, uint64_t want);

/*
 * Queues request @type at @sector over @len bytes of @buf (segmented by
 * size_max) without kicking. Returns the slot, or NULL if the ring or the
 * slots are full.
 */
struct blk_req *blk_submit(struct blk *b, uint32_t type, uint64_t sector,
			   void *buf, uint32_t len, void *priv);
/* The next completed request, or NULL; its slot is free again afterwards. */
struct blk_req *blk_poll(struct blk *b);
/* Submit, kick, wait: the status byte, or BLK_S_TIMEOUT after ~@secs. */
int blk_rw(struct blk *b, uint32_t type, uint64_t sector, void *buf,
	   uint32_t len);
const char *blk_status_str(int s);

#endif
