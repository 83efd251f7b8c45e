// SPDX-License-Identifier: GPL-2.0
/*
 * The virtqueue layer, split and packed, direct and indirect, with and
 * without EVENT_IDX, as a device drives it over rings the guest wrote.
 * Input: a header (features, queue size, where the rings sit), up to 16 KiB
 * of guest memory (rings, indirect tables, buffers), then ops: pop, push
 * (in or out of order), set_notification, should_notify, chain
 * read/write/iov, a guest store into RAM (the driver running alongside),
 * reset and re-enable.
 */
#include <stdlib.h>
#include <string.h>

#include "kvm/dma.h"
#include "kvm/memory.h"
#include "util/log.h"
#include "virtio/queue.h"

#include "fuzz.h"

#define RAM (1ull << 20)
#define IMAGE 0x4000u
#define MAXQ 256u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem mem;
static struct dma_space dma;
static struct virtqueue vq;
static struct virtq_seg segs[MAXQ + 8];
static struct virtq_chain held[MAXQ];
static struct iovec iov[2 * MAXQ];

static void setup(struct fz *in)
{
	uint8_t f = fz_u8(in);
	uint64_t feat = 1ull << 32; /* VERSION_1 */
	uint16_t qsize = fz_u16(in);
	uint64_t off = fz_u16(in);

	virtq_reset(&vq);
	if (f & 1)
		feat |= 1ull << VIRTQ_F_RING_PACKED;
	if (f & 2)
		feat |= 1ull << VIRTQ_F_EVENT_IDX;
	if (f & 4)
		feat |= 1ull << VIRTQ_F_INDIRECT_DESC;
	virtq_set_features(&vq, feat);
	/* Mostly powers of two that fit the image; sometimes anything. */
	if (!(f & 8))
		qsize = 1u << (qsize % 9);
	virtq_set_size(&vq, qsize);
	/* Rings in the image, or (rarely) anywhere. */
	if (!(f & 16))
		off &= 0x3ff0;
	virtq_set_desc_addr(&vq, off);
	virtq_set_driver_addr(&vq, (f & 32) ? fz_u16(in) : off + 0x1000);
	virtq_set_device_addr(&vq, (f & 64) ? fz_u16(in) : off + 0x2000);
	(void)virtq_enable(&vq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };
	unsigned int nheld = 0;
	uint8_t *ram;

	if (!mem.nr) {
		log_level = getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_QUIET;
		if (guest_mem_init(&mem, RAM, false))
			abort();
		dma_space_init_identity(&dma, &mem);
		virtq_init(&vq, &dma, MAXQ);
	}
	ram = gpa_to_hva(&mem, 0, IMAGE);
	memset(ram, 0, IMAGE);
	setup(&in);
	fz_bytes(&in, ram, fz_u16(&in) % (IMAGE + 1));

	while (!fz_done(&in)) {
		uint8_t op = fz_u8(&in);
		struct virtq_chain c = VIRTQ_CHAIN_INIT(segs);
		uint8_t buf[64];
		unsigned int i;
		int r;

		switch (op % 9) {
		case 0:
		case 1:
			r = virtq_pop(&vq, &c);
			if (r > 0 && (op & 0x80)) {
				/* Use it at once, as a device would. */
				(void)virtq_chain_read(&dma, &c, fz_u8(&in),
						       buf, fz_u8(&in) % 64);
			}
			/* Held for a later push, which needs no segments. */
			if (r > 0 && nheld < MAXQ) {
				c.segs = NULL;
				c.cap = c.nsegs = 0;
				held[nheld++] = c;
			}
			break;
		case 2:
			if (!nheld)
				break;
			/* Out of order: any of the held ones. */
			i = fz_u8(&in) % nheld;
			(void)virtq_push(&vq, &held[i], fz_u32(&in));
			held[i] = held[--nheld];
			break;
		case 3:
			if (nheld >= 2) {
				uint32_t w[2] = { fz_u32(&in), fz_u32(&in) };

				if (!virtq_push_batch(&vq, held + nheld - 2, w,
						      2))
					nheld -= 2;
			}
			break;
		case 4:
			virtq_set_notification(&vq, op & 0x10);
			(void)virtq_empty(&vq);
			break;
		case 5:
			(void)virtq_should_notify(&vq);
			break;
		case 6:
			/* A chain and its data, as the devices use them. */
			r = virtq_pop(&vq, &c);
			if (r <= 0)
				break;
			memset(buf, 0xa5, sizeof(buf));
			(void)virtq_chain_write(&dma, &c, fz_u8(&in), buf,
						fz_u8(&in) % 64);
			r = virtq_chain_iov(&dma, &c, op & 0x10, iov,
					    op & 0x20 ? 2 : 2 * MAXQ);
			if (r > 0)
				virtq_chain_unmap(&dma, &c, op & 0x10, iov, r,
						  0);
			(void)virtq_push(&vq, &c, c.writable);
			break;
		case 7: {
			/* The driver stores into the image meanwhile. */
			uint16_t at = fz_u16(&in) % (IMAGE - 1);
			uint16_t v = fz_u16(&in);

			memcpy(ram + at, &v, 2);
			break;
		}
		default:
			nheld = 0;
			setup(&in);
			break;
		}
	}
	nheld = 0;
	return 0;
}
