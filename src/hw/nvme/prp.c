// SPDX-License-Identifier: GPL-2.0
/*
 * PRP data pointers (NVMe Base 4.3): PRP1 with a dword-aligned offset into
 * its page; PRP2 either the second page or a PRP list, whose last entry on
 * each list page chains to the next list page when more entries remain.
 * Every entry is read once, checked (page-aligned, mapped), and the walk
 * reads only as many entries as the transfer length needs, so neither a
 * list that loops nor one that never ends can hold us.
 */
#include <endian.h>
#include <string.h>

#include "hw/nvme/nvme_int.h"

struct seg {
	uint64_t iova, len;
};

struct segs {
	struct seg s[NVME_PRP_MAX];
	unsigned int n;
};

static uint16_t map_segs(struct nvme_ctrl *n, struct nvme_req *req,
			 const struct segs *segs);

/* Adjacent pages merge: fewer iovecs for the back-end. */
static bool seg_add(struct segs *segs, uint64_t iova, uint64_t len)
{
	struct seg *last = segs->n ? &segs->s[segs->n - 1] : NULL;

	if (last && last->iova + last->len == iova && iova > last->iova) {
		last->len += len;
		return true;
	}
	if (segs->n == NVME_PRP_MAX)
		return false;
	segs->s[segs->n++] = (struct seg){ iova, len };
	return true;
}

/* The PRP list from @list for @rem more bytes, into @segs. */
static uint16_t walk_list(struct nvme_ctrl *n, uint64_t list, uint64_t rem,
			  struct segs *segs)
{
	uint64_t ps = n->page_size, visited[NVME_PRP_LIST_PAGES_MAX];
	uint64_t ent[NVME_PRP_MAX];
	unsigned int pages = 0;

	/* A list pointer may start inside its page, on a qword. */
	if (list & 7)
		return ST_PRP_OFFSET_INVALID;
	while (rem) {
		uint64_t room = (ps - (list & (ps - 1))) / 8;
		uint64_t need = (rem + ps - 1) / ps;
		bool chain = need > room;
		uint64_t nread = chain ? room : need;
		uint64_t ndata = chain ? nread - 1 : nread;

		for (unsigned int i = 0; i < pages; i++)
			if (visited[i] == (list & ~(ps - 1)))
				return ST_DATA_XFER_ERROR; /* a loop */
		if (pages == NVME_PRP_LIST_PAGES_MAX || nread > NVME_PRP_MAX)
			return ST_DATA_XFER_ERROR;
		visited[pages++] = list & ~(ps - 1);
		/* Copied once; the guest may rewrite the list under us. */
		if (dma_read(n->dma, list, ent, nread * 8))
			return ST_DATA_XFER_ERROR;
		for (uint64_t i = 0; i < ndata; i++) {
			uint64_t e = le64toh(ent[i]);
			uint64_t len = rem < ps ? rem : ps;

			if (e & (ps - 1))
				return ST_PRP_OFFSET_INVALID;
			if (!seg_add(segs, e, len))
				return ST_DATA_XFER_ERROR;
			rem -= len;
		}
		if (chain) {
			list = le64toh(ent[nread - 1]);
			/* Later list pages start at their beginning. */
			if (list & (ps - 1))
				return ST_PRP_OFFSET_INVALID;
		}
	}
	return ST_OK;
}

uint16_t nvme_map_prp(struct nvme_ctrl *n, struct nvme_req *req, uint64_t prp1,
		      uint64_t prp2, uint64_t len, enum dma_dir dir)
{
	uint64_t ps = n->page_size, first, rem;
	struct segs segs = { .n = 0 };
	uint16_t st = ST_OK;

	req->niov = 0;
	req->dir = dir;
	if (!len)
		return ST_OK;
	if (len > NVME_MDTS_BYTES)
		return ST_INVALID_FIELD;
	if (prp1 & 3)
		return ST_PRP_OFFSET_INVALID;
	first = ps - (prp1 & (ps - 1));
	if (first > len)
		first = len;
	seg_add(&segs, prp1, first);
	rem = len - first;
	if (rem && rem <= ps) {
		if (prp2 & (ps - 1))
			return ST_PRP_OFFSET_INVALID;
		seg_add(&segs, prp2, rem);
	} else if (rem) {
		st = walk_list(n, prp2, rem, &segs);
		if (st)
			return st;
	}
	return map_segs(n, req, &segs);
}

/* Host iovecs for the IOVA segments; Data Transfer Error if unmapped. */
static uint16_t map_segs(struct nvme_ctrl *n, struct nvme_req *req,
			 const struct segs *segs)
{
	for (unsigned int i = 0; i < segs->n; i++) {
		int r = dma_map_iov(n->dma, segs->s[i].iova, segs->s[i].len,
				    req->dir, req->iov + req->niov,
				    NVME_IOV_MAX - req->niov);

		if (r < 0) {
			nvme_unmap(n, req, 0);
			return ST_DATA_XFER_ERROR;
		}
		req->niov += (unsigned int)r;
	}
	return ST_OK;
}

/* ---- SGLs (NVMe Base 4.4) ---- */

#define SGL_DATA_BLOCK 0x0
#define SGL_SEGMENT 0x2
#define SGL_LAST_SEGMENT 0x3
#define SGL_DESC_SIZE 16

struct sgl_desc {
	uint64_t addr;
	uint32_t len;
	uint8_t type, subtype;
};

static struct sgl_desc sgl_decode(const uint8_t *p)
{
	struct sgl_desc d;

	memcpy(&d.addr, p, 8);
	memcpy(&d.len, p + 8, 4);
	d.addr = le64toh(d.addr);
	d.len = le32toh(d.len);
	d.type = p[15] >> 4;
	d.subtype = p[15] & 0xf;
	return d;
}

/* A data block, into @segs; it may not run past the transfer. */
static uint16_t sgl_data(const struct sgl_desc *d, uint64_t *rem,
			 struct segs *segs)
{
	if (d->len > *rem)
		return ST_SGL_DATA_LEN_INVALID;
	if (d->len && !seg_add(segs, d->addr, d->len))
		return ST_SGL_NUM_INVALID;
	*rem -= d->len;
	return ST_OK;
}

uint16_t nvme_map_sgl(struct nvme_ctrl *n, struct nvme_req *req, uint64_t len,
		      enum dma_dir dir)
{
	uint8_t raw[SGL_DESC_SIZE], buf[NVME_SGL_DESC_MAX * SGL_DESC_SIZE];
	struct segs segs = { .n = 0 };
	unsigned int budget = NVME_SGL_DESC_MAX;
	struct sgl_desc d;
	uint64_t rem = len;
	uint16_t st;

	req->niov = 0;
	req->dir = dir;
	if (len > NVME_MDTS_BYTES)
		return ST_INVALID_FIELD;
	nvme_put_le(raw, req->cmd.prp1, 8);
	nvme_put_le(raw + 8, req->cmd.prp2, 8);
	d = sgl_decode(raw);
	for (;;) {
		bool last;
		unsigned int cnt;

		if (d.subtype != 0) /* addresses only, no offsets or keys */
			return ST_SGL_TYPE_INVALID;
		if (d.type == SGL_DATA_BLOCK) {
			/* Only as the first descriptor: the whole SGL. */
			st = sgl_data(&d, &rem, &segs);
			break;
		}
		if (d.type != SGL_SEGMENT && d.type != SGL_LAST_SEGMENT)
			return ST_SGL_TYPE_INVALID;
		last = d.type == SGL_LAST_SEGMENT;
		cnt = d.len / SGL_DESC_SIZE;
		if (!cnt || d.len % SGL_DESC_SIZE)
			return ST_SGL_SEG_INVALID;
		/* Loops and endless chains run out of this. */
		if (cnt > budget)
			return ST_SGL_NUM_INVALID;
		budget -= cnt;
		/* Copied once: the guest may rewrite the segment under us. */
		if (dma_read(n->dma, d.addr, buf, d.len))
			return ST_DATA_XFER_ERROR;
		st = ST_OK;
		for (unsigned int i = 0; i < cnt && !st; i++) {
			d = sgl_decode(buf + i * SGL_DESC_SIZE);
			if (d.subtype != 0)
				return ST_SGL_TYPE_INVALID;
			if (d.type == SGL_DATA_BLOCK) {
				st = sgl_data(&d, &rem, &segs);
				continue;
			}
			/* A segment pointer ends a (non-last) segment. */
			if ((d.type == SGL_SEGMENT ||
			     d.type == SGL_LAST_SEGMENT) &&
			    !last && i == cnt - 1)
				break;
			return d.type == SGL_SEGMENT ||
					       d.type == SGL_LAST_SEGMENT ?
				       ST_SGL_SEG_INVALID :
				       ST_SGL_TYPE_INVALID;
		}
		if (st)
			return st;
		if (last || d.type == SGL_DATA_BLOCK)
			break;
	}
	if (st)
		return st;
	/* Shorter or longer than the command's data: SGLS bit 18 is 0. */
	if (rem)
		return ST_SGL_DATA_LEN_INVALID;
	return map_segs(n, req, &segs);
}

uint16_t nvme_map_data(struct nvme_ctrl *n, struct nvme_req *req, uint64_t len,
		       enum dma_dir dir)
{
	switch (nvme_cmd_psdt(&req->cmd)) {
	case 0:
		return nvme_map_prp(n, req, req->cmd.prp1, req->cmd.prp2, len,
				    dir);
	case 1:
		return nvme_map_sgl(n, req, len, dir);
	}
	/* Metadata SGLs: no metadata here. */
	return ST_INVALID_FIELD;
}

void nvme_unmap(struct nvme_ctrl *n, struct nvme_req *req, size_t written)
{
	if (req->niov)
		dma_unmap_iov(n->dma, req->iov, req->niov, req->dir,
			      req->dir == DMA_WRITE ? written : 0);
	req->niov = 0;
}

static uint16_t copy(struct nvme_ctrl *n, struct nvme_req *req, void *buf,
		     uint64_t len, enum dma_dir dir)
{
	uint8_t *p = buf;
	uint16_t st;

	st = nvme_map_data(n, req, len, dir);
	if (st)
		return st;
	for (unsigned int i = 0; i < req->niov; i++) {
		if (dir == DMA_WRITE)
			memcpy(req->iov[i].iov_base, p, req->iov[i].iov_len);
		else
			memcpy(p, req->iov[i].iov_base, req->iov[i].iov_len);
		p += req->iov[i].iov_len;
	}
	nvme_unmap(n, req, len);
	return ST_OK;
}

uint16_t nvme_data_out(struct nvme_ctrl *n, struct nvme_req *req,
		       const void *buf, uint64_t len)
{
	return copy(n, req, (void *)buf, len, DMA_WRITE);
}

uint16_t nvme_data_in(struct nvme_ctrl *n, struct nvme_req *req, void *buf,
		      uint64_t len)
{
	return copy(n, req, buf, len, DMA_READ);
}
