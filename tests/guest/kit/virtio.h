/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GUEST_KIT_VIRTIO_H
#define GUEST_KIT_VIRTIO_H

/*
 * A small polled virtio driver for test guests: modern virtio-pci (the
 * vendor capabilities) or virtio-mmio version 2, split rings, no
 * interrupts. Ring memory comes from a pool the guest hands in with
 * dma_pool_init(); the guest's memory is identity-mapped, so a pointer is
 * also the physical address the device is given.
 *
 * Every register access is a VM exit (~31 us on PVM hosts); the data path
 * (vq_add, vq_get) touches only guest RAM, and vq_kick() writes the notify
 * register only when the device asked for it (EVENT_IDX or NO_NOTIFY).
 */

#include "guest.h"

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

/* Device status (spec 2.1). */
#define VIRTIO_S_ACKNOWLEDGE 0x01
#define VIRTIO_S_DRIVER 0x02
#define VIRTIO_S_DRIVER_OK 0x04
#define VIRTIO_S_FEATURES_OK 0x08
#define VIRTIO_S_NEEDS_RESET 0x40
#define VIRTIO_S_FAILED 0x80

/* Feature bits. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_BIT(b) (1ull << (b))

/* Split ring layout (spec 2.7). */
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* size entries, then used_event */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[]; /* size entries, then avail_event */
};

enum virtio_transport { VIRTIO_PCI, VIRTIO_MMIO };

struct vdev {
	enum virtio_transport transport;
	uint32_t device_id;
	/* virtio-pci */
	uint16_t bdf;
	uintptr_t common, isr, device, notify;
	uint32_t notify_mult;
	/* virtio-mmio */
	uintptr_t mmio;
	unsigned int irq;

	uint64_t offered; /* device features */
	uint64_t features; /* negotiated */
};

struct vq {
	struct vdev *dev;
	uint16_t index, size;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	volatile uint16_t *used_event; /* &avail->ring[size] */
	volatile uint16_t *avail_event; /* after used->ring[size] */
	uintptr_t notify_addr;
	bool event_idx;

	/* Driver state. */
	uint16_t free_head, num_free;
	uint16_t avail_idx; /* next avail->idx */
	uint16_t kicked_idx; /* avail->idx at the last kick decision */
	uint16_t last_used;
	void **token; /* per head */
	uint16_t *chain_len; /* per head */

	/* Counters. */
	unsigned long kicks, kicks_skipped, completions;
};

/* A buffer in a chain. */
struct vbuf {
	const void *addr;
	uint32_t len;
	bool write; /* device-writable */
};

/* DMA pool ----------------------------------------------------------------- */

void dma_pool_init(void *buf, size_t size);
/* Zeroed, aligned (power of two); stops the guest (FAIL) when exhausted. */
void *dma_alloc(size_t size, size_t align);
/* Everything allocated after @mark is freed. */
size_t dma_mark(void);
void dma_release(size_t mark);

/* Device discovery and setup ------------------------------------------------ */

/*
 * Finds the first device of @device_id on the transport named by
 * `transport=pci|mmio` on the command line (default pci): a modern
 * virtio-pci function on bus 0 (BARs placed and MEM/MASTER on, see
 * pci_enable_device()), or a `virtio_mmio.device=SIZE@BASE:IRQ` window.
 * Calls pci_init() as needed. Prints what it found; false if none.
 */
bool virtio_find(struct vdev *d, uint32_t device_id);
/* The same for a given transport. */
bool virtio_find_pci(struct vdev *d, uint32_t device_id);
bool virtio_find_mmio(struct vdev *d, uint32_t device_id);

uint8_t vdev_status(struct vdev *d);
void vdev_set_status(struct vdev *d, uint8_t s);
/* Writes 0 and waits until the status reads 0; false on a timeout. */
bool vdev_reset(struct vdev *d);
uint64_t vdev_device_features(struct vdev *d);
void vdev_set_driver_features(struct vdev *d, uint64_t f);
/*
 * Reset, ACKNOWLEDGE, DRIVER, then accept (offered & @want) and require
 * VERSION_1 and everything in @need; FEATURES_OK and read it back. On
 * success d->features holds the set; on failure FAILED is set.
 */
bool vdev_negotiate(struct vdev *d, uint64_t want, uint64_t need);
/* Sets DRIVER_OK; false if the device then shows NEEDS_RESET or FAILED. */
bool vdev_driver_ok(struct vdev *d);
bool vdev_has(const struct vdev *d, unsigned int bit);

/* Device configuration space, @size 1, 2, 4 or 8 (8 via the generation). */
uint64_t vdev_cfg_read(struct vdev *d, unsigned int off, unsigned int size);
uint16_t vdev_num_queues(struct vdev *d); /* 0 on MMIO: not reported */
/* Largest size of queue @q the device takes (0: no such queue). */
uint16_t vdev_queue_max(struct vdev *d, uint16_t q);

/* Queues --------------------------------------------------------------------- */

/*
 * Allocates a split ring of min(@size, device maximum) entries (@size a
 * power of two) and programs and enables queue @q. Call between
 * FEATURES_OK and DRIVER_OK. Device interrupts are suppressed (NO_INTERRUPT,
 * or used_event kept far ahead). False on failure.
 */
bool vq_setup(struct vq *vq, struct vdev *d, uint16_t q, uint16_t size);
/* Re-arms the ring state for a vq whose memory is kept (after a reset). */
void vq_init_state(struct vq *vq);
/* Programs and enables the queue with the memory it already has. */
bool vq_program(struct vq *vq);

/*
 * Puts @n buffers in a chain (device-readable ones first) and makes it
 * available; @token comes back from vq_get(). Returns the head, or -1 if
 * fewer than @n descriptors are free.
 */
int vq_add(struct vq *vq, const struct vbuf *b, unsigned int n, void *token);
/* Makes descriptor chain @head available as it is (for hand-made chains). */
void vq_publish(struct vq *vq, uint16_t head);
/* Notifies the device if it wants it (EVENT_IDX, NO_NOTIFY). */
void vq_kick(struct vq *vq);
/* Notifies the device unconditionally. */
void vq_notify(struct vq *vq);
/* A completed chain's token (and the bytes written in @len), or NULL. */
void *vq_get(struct vq *vq, uint32_t *len);
/* Raw used ring index as the device last wrote it. */
uint16_t vq_used_idx(struct vq *vq);

static inline void mb(void)
{
	asm volatile("mfence" ::: "memory");
}

static inline void barrier(void)
{
	asm volatile("" ::: "memory");
}

#endif
