// SPDX-License-Identifier: GPL-2.0
/* Polled virtio-blk driver for test guests. See blk.h. */
#include "blk.h"
#include "tsc.h"

#define BLK_WANT                                                        \
	(VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | \
	 VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) |                            \
	 VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE))

#define BLK_MAX_SEGS 64

bool blk_reinit(struct blk *b, uint64_t want)
{
	struct vdev *d = &b->dev;
	unsigned int i;

	if (!vdev_negotiate(d,
			    want & (BLK_WANT | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
				    VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
				    VIRTIO_BIT(VIRTIO_F_ACCESS_PLATFORM)),
			    0))
		return false;
	b->capacity = vdev_cfg_read(d, VIRTIO_BLK_CFG_CAPACITY, 8);
	b->size_max =
		vdev_has(d, VIRTIO_BLK_F_SIZE_MAX) ?
			(uint32_t)vdev_cfg_read(d, VIRTIO_BLK_CFG_SIZE_MAX, 4) :
			0;
	b->seg_max =
		vdev_has(d, VIRTIO_BLK_F_SEG_MAX) ?
			(uint32_t)vdev_cfg_read(d, VIRTIO_BLK_CFG_SEG_MAX, 4) :
			0;
	b->ro = vdev_has(d, VIRTIO_BLK_F_RO);
	if (b->vq.desc) {
		b->vq.event_idx = vdev_has(d, VIRTIO_F_EVENT_IDX);
		vq_init_state(&b->vq);
		if (!vq_program(&b->vq))
			return false;
	}
	for (i = 0; i < b->nreqs; i++)
		b->reqs[i].busy = false;
	return true;
}

bool blk_open(struct blk *b, uint64_t want, uint16_t qsize, unsigned int nreqs)
{
	memset(b, 0, sizeof(*b));
	if (!virtio_find(&b->dev, VIRTIO_ID_BLOCK))
		return false;
	if (!blk_reinit(b, want))
		return false;
	if (!vq_setup(&b->vq, &b->dev, 0, qsize))
		return false;
	b->nreqs = nreqs;
	b->reqs = dma_alloc(sizeof(struct blk_req) * nreqs, 16);
	if (!vdev_driver_ok(&b->dev))
		return false;
	printf("virtio-blk: offered %#lx, negotiated %#lx, queue size %u, capacity %lu sectors, size_max %u, seg_max %u%s\n",
	       (unsigned long)b->dev.offered, (unsigned long)b->dev.features,
	       b->vq.size, (unsigned long)b->capacity, b->size_max, b->seg_max,
	       b->ro ? ", read-only" : "");
	return true;
}

struct blk_req *blk_submit(struct blk *b, uint32_t type, uint64_t sector,
			   void *buf, uint32_t len, void *priv)
{
	struct vbuf v[BLK_MAX_SEGS + 2];
	struct blk_req *r = NULL;
	uint32_t seg = b->size_max ? b->size_max : len;
	unsigned int i, n = 0, maxsegs = BLK_MAX_SEGS;
	bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;

	for (i = 0; i < b->nreqs; i++) {
		if (!b->reqs[i].busy) {
			r = &b->reqs[i];
			break;
		}
	}
	if (!r)
		return NULL;
	if (b->seg_max && b->seg_max < maxsegs)
		maxsegs = b->seg_max;
	r->hdr.type = type;
	r->hdr.ioprio = 0;
	r->hdr.sector = sector;
	r->status = 0xff;
	r->len = 0;
	r->priv = priv;
	v[n++] = (struct vbuf){ &r->hdr, sizeof(r->hdr), false };
	for (i = 0; i < len; i += seg) {
		uint32_t l = len - i < seg ? len - i : seg;

		if (n - 1 == maxsegs) {
			printf("blk: %u bytes need more than %u segments\n",
			       len, maxsegs);
			return NULL;
		}
		v[n++] = (struct vbuf){ (uint8_t *)buf + i, l, in };
	}
	v[n++] = (struct vbuf){ &r->status, 1, true };
	if (vq_add(&b->vq, v, n, r) < 0)
		return NULL;
	r->busy = true;
	return r;
}

struct blk_req *blk_poll(struct blk *b)
{
	uint32_t len;
	struct blk_req *r = vq_get(&b->vq, &len);

	if (!r)
		return NULL;
	r->busy = false;
	r->len = len;
	return r;
}

int blk_rw(struct blk *b, uint32_t type, uint64_t sector, void *buf,
	   uint32_t len)
{
	struct blk_req *r = blk_submit(b, type, sector, buf, len, NULL), *c;
	uint64_t deadline;

	if (!r) {
		printf("blk: cannot queue the request\n");
		return BLK_S_TIMEOUT;
	}
	vq_kick(&b->vq);
	deadline = tsc_deadline_ms(30000);
	for (;;) {
		c = blk_poll(b);
		if (c == r)
			return r->status;
		if (c) {
			printf("blk: unexpected completion\n");
			continue;
		}
		if (tsc_passed(deadline)) {
			printf("blk: request type %u sector %lu: no completion after 30 s (status %#x)\n",
			       type, (unsigned long)sector,
			       vdev_status(&b->dev));
			return BLK_S_TIMEOUT;
		}
		cpu_relax();
	}
}

const char *blk_status_str(int s)
{
	switch (s) {
	case VIRTIO_BLK_S_OK:
		return "OK";
	case VIRTIO_BLK_S_IOERR:
		return "IOERR";
	case VIRTIO_BLK_S_UNSUPP:
		return "UNSUPP";
	case BLK_S_TIMEOUT:
		return "TIMEOUT";
	default:
		return "bad status";
	}
}
