// SPDX-License-Identifier: GPL-2.0
#include "virtio/pci.h"

#include <errno.h>
#include <linux/virtio_pci.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/irq.h"
#include "kvm/vm.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "util/common.h"
#include "util/log.h"
#include "virtio/virtio.h"

/*
 * Locking, outermost first:
 *   pdev.lock (config hooks: BAR moves, the PCI_CFG window)
 *   vdev->lock (every BAR 4 register but ISR and notify)
 *   msix.lock (MSI-X table and notify; calls into vectors)
 *   vectors.lock (kvm/msi_vectors.c), isr_lock, host->intx_lock
 *   vm->irq_lock (leaf)
 * The window makes config accesses reach BAR 4 with pdev.lock held; nothing
 * under vdev->lock ever takes pdev.lock (pci_cfg_get() included), so the
 * order has no cycle.
 */

#define ISR_QUEUE 0x1
#define ISR_CONFIG VIRTIO_PCI_ISR_CONFIG

/* The 1.2/1.3 common config fields past queue_device. */
#define COMMON_Q_NDATA 56
#define COMMON_Q_RESET 58

#define CAP_PCI_CFG_DATA 16
#define CAP_PCI_CFG_SIZE 20

struct virtio_pci {
	struct pci_dev pdev;
	struct msix msix;
	struct vm *vm;
	struct virtio_dev *vdev;
	unsigned int nr_vectors;
	unsigned int cfg_cap; /* the VIRTIO_PCI_CAP_PCI_CFG capability */
	uint32_t msix_bar_size;

	/* Common configuration, under vdev->lock. */
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	uint16_t config_vector;
	uint16_t *queue_vector;

	/* ISR status; the INTx level is always (isr != 0). */
	pthread_mutex_t isr_lock;
	uint8_t isr;

	/* The MSI-X vectors' routes, irqfds and pending bits. */
	struct msi_vectors vectors;

	/* Notify ioeventfds, under pdev.lock. */
	uint64_t ioev_addr;
	bool ioev_on;
	bool ioev_broken;
};

static struct virtio_pci *to_vp(struct pci_dev *pdev)
{
	return container_of(pdev, struct virtio_pci, pdev);
}

static struct virtio_pci *dev_to_vp(struct device *dev)
{
	return to_vp(container_of(dev, struct pci_dev, dev));
}

static bool overlaps(unsigned int off, unsigned int size, unsigned int reg,
		     unsigned int reg_size)
{
	return off < reg + reg_size && reg < off + size;
}

/* Interrupts ------------------------------------------------------------ */

static void isr_raise(struct virtio_pci *vp, uint8_t bits)
{
	pthread_mutex_lock(&vp->isr_lock);
	vp->isr |= bits;
	/* PCI blocks the pin itself while MSI-X is on. */
	pci_dev_set_intx(&vp->pdev, 1);
	pthread_mutex_unlock(&vp->isr_lock);
}

static uint8_t isr_take(struct virtio_pci *vp)
{
	uint8_t v;

	pthread_mutex_lock(&vp->isr_lock);
	v = vp->isr;
	vp->isr = 0;
	pci_dev_set_intx(&vp->pdev, 0);
	pthread_mutex_unlock(&vp->isr_lock);
	return v;
}

/* VIRTIO_MSI_NO_VECTOR is past the table: msix_notify() drops it. */
static void vp_notify_queue(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_pci *vp = vdev->transport;

	if (msix_enabled(&vp->msix))
		msix_notify(&vp->msix, vp->queue_vector[q]);
	else
		isr_raise(vp, ISR_QUEUE);
}

/*
 * With MSI-X on and a vector for @q, the vector's own irqfd: KVM injects
 * it, masked or not (a masked vector's irqfd is unbound and its writes
 * wait in the eventfd until the unmask). Without MSI-X the ISR must be
 * set: no irqfd.
 */
static int vp_queue_irqfd(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_pci *vp = vdev->transport;
	uint16_t v = vp->queue_vector[q];

	if (!msix_enabled(&vp->msix) || v >= vp->nr_vectors)
		return -1;
	return msi_vectors_eventfd(&vp->vectors, v);
}

static void vp_notify_config(struct virtio_dev *vdev)
{
	struct virtio_pci *vp = vdev->transport;

	/* The spec wants the ISR bit even when the message goes by MSI-X. */
	isr_raise(vp, ISR_CONFIG);
	if (msix_enabled(&vp->msix))
		msix_notify(&vp->msix, vp->config_vector);
}

static void vp_transport_reset(struct virtio_dev *vdev)
{
	struct virtio_pci *vp = vdev->transport;

	vp->dfselect = 0;
	vp->gfselect = 0;
	vp->queue_select = 0;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		vp->queue_vector[i] = VIRTIO_MSI_NO_VECTOR;
	isr_take(vp);
}

static const struct virtio_transport_ops vp_tops = {
	.notify_queue = vp_notify_queue,
	.queue_irqfd = vp_queue_irqfd,
	.notify_config = vp_notify_config,
	.reset = vp_transport_reset,
};

/* Common configuration ------------------------------------------------- */

static uint16_t vector_or_none(struct virtio_pci *vp, uint64_t val)
{
	/* Spec 4.1.4.3: a vector the device cannot use reads back NO_VECTOR. */
	return val < vp->nr_vectors ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
}

/* A 64-bit queue address: one qword, or either dword on its own. */
static bool addr_reg(uint64_t off, unsigned int size, unsigned int *which,
		     unsigned int *half)
{
	static const unsigned int base[] = { VIRTIO_PCI_COMMON_Q_DESCLO,
					     VIRTIO_PCI_COMMON_Q_AVAILLO,
					     VIRTIO_PCI_COMMON_Q_USEDLO };

	for (unsigned int i = 0; i < 3; i++) {
		if (off == base[i] && (size == 4 || size == 8)) {
			*which = i;
			*half = size == 8 ? 2 : 0;
			return true;
		}
		if (off == base[i] + 4 && size == 4) {
			*which = i;
			*half = 1;
			return true;
		}
	}
	return false;
}

/* vdev->lock held. Natural widths only; anything else reads 0. */
static uint64_t common_read(struct virtio_pci *vp, uint64_t off,
			    unsigned int size)
{
	struct virtio_dev *vdev = vp->vdev;
	unsigned int q = vp->queue_select, which, half;
	struct virtqueue *vq = virtio_dev_queue(vdev, q);
	uint64_t a;

	if (addr_reg(off, size, &which, &half)) {
		a = vq ? virtio_dev_queue_addr(vdev, q, which) : 0;
		return half == 2 ? a : (uint32_t)(a >> (32 * half));
	}
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return size == 4 ? vp->dfselect : 0;
	case VIRTIO_PCI_COMMON_DF:
		return size == 4 ?
			       virtio_dev_device_features(vdev, vp->dfselect) :
			       0;
	case VIRTIO_PCI_COMMON_GFSELECT:
		return size == 4 ? vp->gfselect : 0;
	case VIRTIO_PCI_COMMON_GF:
		return size == 4 ?
			       virtio_dev_driver_features(vdev, vp->gfselect) :
			       0;
	case VIRTIO_PCI_COMMON_MSIX:
		return size == 2 ? vp->config_vector : 0;
	case VIRTIO_PCI_COMMON_NUMQ:
		return size == 2 ? vdev->nr_queues : 0;
	case VIRTIO_PCI_COMMON_STATUS:
		return size == 1 ? virtio_dev_status(vdev) : 0;
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return size == 1 ? (uint8_t)vdev->config_generation : 0;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return size == 2 ? vp->queue_select : 0;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		/* 0 tells the driver the queue does not exist. */
		return size == 2 && vq ? vq->size : 0;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (size != 2)
			return 0;
		return vq ? vp->queue_vector[q] : VIRTIO_MSI_NO_VECTOR;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return size == 2 && vq ? vq->ready : 0;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return size == 2 && vq ? q : 0;
	case COMMON_Q_NDATA:
	case COMMON_Q_RESET:
		/* NOTIF_CONFIG_DATA and RING_RESET are not offered. */
		return 0;
	}
	return 0;
}

/* vdev->lock held. */
static void common_write(struct virtio_pci *vp, uint64_t off, uint64_t val,
			 unsigned int size)
{
	struct virtio_dev *vdev = vp->vdev;
	unsigned int q = vp->queue_select, which, half;
	struct virtqueue *vq = virtio_dev_queue(vdev, q);
	uint64_t a;

	if (addr_reg(off, size, &which, &half)) {
		if (!vq)
			return;
		a = virtio_dev_queue_addr(vdev, q, which);
		if (half == 2)
			a = val;
		else if (half == 1)
			a = (a & 0xffffffffull) | (val << 32);
		else
			a = (a & ~0xffffffffull) | (uint32_t)val;
		virtio_dev_queue_set_addr(vdev, q, which, a);
		return;
	}
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		if (size == 4)
			vp->dfselect = val;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		if (size == 4)
			vp->gfselect = val;
		break;
	case VIRTIO_PCI_COMMON_GF:
		if (size == 4)
			virtio_dev_set_driver_features(vdev, vp->gfselect, val);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		if (size == 2)
			vp->config_vector = vector_or_none(vp, val);
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		if (size == 1)
			virtio_dev_set_status(vdev, val);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		if (size == 2)
			vp->queue_select = val;
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (size == 2 && vq)
			virtio_dev_queue_set_size(vdev, q, val);
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (size == 2 && vq)
			vp->queue_vector[q] = vector_or_none(vp, val);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		/* Writing 0 is forbidden to the driver; only reset disables. */
		if (size == 2 && vq && val == 1)
			virtio_dev_queue_enable(vdev, q);
		break;
	}
}

/* BAR 4 ------------------------------------------------------------------ */

static uint64_t vp_bar_read(void *opaque, uint64_t off, unsigned int size)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *vdev = vp->vdev;
	uint64_t v = 0;

	if (off < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) {
		pthread_mutex_lock(&vdev->lock);
		v = common_read(vp, off - VIRTIO_PCI_COMMON_OFF, size);
		pthread_mutex_unlock(&vdev->lock);
	} else if (off == VIRTIO_PCI_ISR_OFF && size == 1) {
		v = isr_take(vp);
	} else if (off >= VIRTIO_PCI_DEVICE_OFF &&
		   off < VIRTIO_PCI_DEVICE_OFF + VIRTIO_PCI_REGION_SIZE) {
		pthread_mutex_lock(&vdev->lock);
		v = virtio_dev_config_read(vdev, off - VIRTIO_PCI_DEVICE_OFF,
					   size);
		pthread_mutex_unlock(&vdev->lock);
	}
	return v;
}

static void vp_bar_write(void *opaque, uint64_t off, uint64_t val,
			 unsigned int size)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *vdev = vp->vdev;
	uint64_t rel;

	if (off < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) {
		pthread_mutex_lock(&vdev->lock);
		common_write(vp, off - VIRTIO_PCI_COMMON_OFF, val, size);
		pthread_mutex_unlock(&vdev->lock);
	} else if (off >= VIRTIO_PCI_DEVICE_OFF &&
		   off < VIRTIO_PCI_DEVICE_OFF + VIRTIO_PCI_REGION_SIZE) {
		pthread_mutex_lock(&vdev->lock);
		virtio_dev_config_write(vdev, off - VIRTIO_PCI_DEVICE_OFF, val,
					size);
		pthread_mutex_unlock(&vdev->lock);
	} else if (off >= VIRTIO_PCI_NOTIFY_OFF &&
		   off < VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_REGION_SIZE) {
		/*
		 * Without an ioeventfd (or for a width it does not match)
		 * the kick lands here; the queue is the address, the value
		 * is not trusted.
		 */
		rel = off - VIRTIO_PCI_NOTIFY_OFF;
		if (rel % VIRTIO_PCI_NOTIFY_MULT == 0 &&
		    (size == 2 || size == 4) &&
		    rel / VIRTIO_PCI_NOTIFY_MULT < vdev->nr_queues)
			virtio_dev_kick(vdev, rel / VIRTIO_PCI_NOTIFY_MULT);
	}
}

static const struct bus_ops vp_bar_ops = {
	.read = vp_bar_read,
	.write = vp_bar_write,
};

/* Notify ioeventfds ---------------------------------------------------- */

static void ioev_set(struct virtio_pci *vp, uint64_t base, unsigned int n,
		     bool assign)
{
	for (unsigned int q = 0; q < n; q++)
		vm_ioeventfd(vp->vm, base + q * VIRTIO_PCI_NOTIFY_MULT, 0,
			     false, virtio_dev_kick_fd(vp->vdev, q), assign);
}

/*
 * pdev.lock held. Follow BAR 4: length 0 matches any write width, so a
 * 16-bit kick stays in the kernel; if KVM refuses, kicks take the exit.
 */
static void ioev_sync(struct virtio_pci *vp)
{
	struct pci_bar *bar = &vp->pdev.bars[VIRTIO_PCI_BAR];
	unsigned int n = vp->vdev->nr_queues;
	uint64_t base = bar->addr + VIRTIO_PCI_NOTIFY_OFF;
	bool want = bar->mapped && !vp->ioev_broken;
	unsigned int q;
	int err = 0;

	if (vp->ioev_on && (!want || base != vp->ioev_addr)) {
		ioev_set(vp, vp->ioev_addr, n, false);
		vp->ioev_on = false;
	}
	if (!want || vp->ioev_on)
		return;
	for (q = 0; q < n; q++) {
		err = vm_ioeventfd(vp->vm, base + q * VIRTIO_PCI_NOTIFY_MULT, 0,
				   false, virtio_dev_kick_fd(vp->vdev, q),
				   true);
		if (err)
			break;
	}
	if (q < n) {
		ioev_set(vp, base, q, false);
		vp->ioev_broken = true;
		virtio_dev_no_ioeventfd(vp->vdev, err);
		return;
	}
	vp->ioev_on = true;
	vp->ioev_addr = base;
}

/* Config space hooks ------------------------------------------------------- */

/*
 * pdev.lock held. VIRTIO_PCI_CAP_PCI_CFG (spec 4.1.4.9): an access to
 * pci_cfg_data becomes an access of cap.length bytes at cap.offset in
 * cap.bar; lengths other than 1, 2, 4, misaligned offsets and ranges past
 * the BAR do nothing.
 */
static void cfg_window(struct virtio_pci *vp, bool write)
{
	struct pci_dev *pdev = &vp->pdev;
	unsigned int c = vp->cfg_cap;
	unsigned int bar = pci_cfg_get(pdev, c + VIRTIO_PCI_CAP_BAR, 1);
	uint32_t off = pci_cfg_get(pdev, c + VIRTIO_PCI_CAP_OFFSET, 4);
	uint32_t len = pci_cfg_get(pdev, c + VIRTIO_PCI_CAP_LENGTH, 4);
	unsigned int data = c + CAP_PCI_CFG_DATA;
	uint64_t v;

	if ((len != 1 && len != 2 && len != 4) || off % len)
		return;
	if (bar == VIRTIO_PCI_BAR && off < VIRTIO_PCI_BAR_SIZE) {
		if (write)
			vp_bar_write(vp, off, pci_cfg_get(pdev, data, len),
				     len);
		else
			pci_cfg_set(pdev, data, vp_bar_read(vp, off, len), len);
	} else if (bar == VIRTIO_PCI_MSIX_BAR && off < vp->msix_bar_size &&
		   msix_bar_claims(&vp->msix, bar, off)) {
		if (write) {
			msix_bar_write(&vp->msix, bar, off,
				       pci_cfg_get(pdev, data, len), len);
		} else {
			v = msix_bar_read(&vp->msix, bar, off, len);
			pci_cfg_set(pdev, data, v, len);
		}
	}
}

static void vp_cfg_read(struct pci_dev *pdev, unsigned int off,
			unsigned int size, uint32_t *val)
{
	struct virtio_pci *vp = to_vp(pdev);

	if (!overlaps(off, size, vp->cfg_cap + CAP_PCI_CFG_DATA, 4))
		return;
	cfg_window(vp, false);
	*val = pci_cfg_get(pdev, off, size);
}

static bool vp_cfg_write(struct pci_dev *pdev, unsigned int off, uint32_t val,
			 unsigned int size)
{
	struct virtio_pci *vp = to_vp(pdev);

	pci_cfg_write_generic(pdev, off, val, size);
	if (overlaps(off, size, PCI_COMMAND, 2) ||
	    overlaps(off, size, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR, 8))
		ioev_sync(vp);
	if (overlaps(off, size, vp->cfg_cap + CAP_PCI_CFG_DATA, 4))
		cfg_window(vp, true);
	return true;
}

/* Setup ------------------------------------------------------------------- */

static int add_cap(struct pci_dev *pdev, uint8_t type, uint32_t off,
		   uint32_t len, unsigned int size)
{
	int cap = pci_add_capability(pdev, PCI_CAP_ID_VNDR, size);

	if (cap < 0)
		return cap;
	pci_cfg_set(pdev, cap + VIRTIO_PCI_CAP_LEN, size, 1);
	pci_cfg_set(pdev, cap + VIRTIO_PCI_CAP_CFG_TYPE, type, 1);
	pci_cfg_set(pdev, cap + VIRTIO_PCI_CAP_BAR, VIRTIO_PCI_BAR, 1);
	pci_cfg_set(pdev, cap + VIRTIO_PCI_CAP_OFFSET, off, 4);
	pci_cfg_set(pdev, cap + VIRTIO_PCI_CAP_LENGTH, len, 4);
	return cap;
}

static int add_caps(struct virtio_pci *vp)
{
	struct pci_dev *pdev = &vp->pdev;
	unsigned int nq = vp->vdev->nr_queues;
	int cap;

	if (add_cap(pdev, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
		    VIRTIO_PCI_COMMON_LEN, sizeof(struct virtio_pci_cap)) < 0 ||
	    add_cap(pdev, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1,
		    sizeof(struct virtio_pci_cap)) < 0)
		return -ENOSPC;
	cap = add_cap(pdev, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
		      (nq ? nq : 1) * VIRTIO_PCI_NOTIFY_MULT,
		      sizeof(struct virtio_pci_notify_cap));
	if (cap < 0)
		return cap;
	pci_cfg_set(pdev, cap + VIRTIO_PCI_NOTIFY_CAP_MULT,
		    VIRTIO_PCI_NOTIFY_MULT, 4);
	/* Optional in the spec; drivers take its absence as "no config". */
	if (vp->vdev->config_len &&
	    add_cap(pdev, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
		    vp->vdev->config_len, sizeof(struct virtio_pci_cap)) < 0)
		return -ENOSPC;
	cap = add_cap(pdev, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, CAP_PCI_CFG_SIZE);
	if (cap < 0)
		return cap;
	pci_cfg_set(pdev, cap + VIRTIO_PCI_CAP_BAR, 0, 1);
	pci_cfg_set_wmask(pdev, cap + VIRTIO_PCI_CAP_BAR, 0xff, 1);
	pci_cfg_set_wmask(pdev, cap + VIRTIO_PCI_CAP_OFFSET, 0xffffffff, 4);
	pci_cfg_set_wmask(pdev, cap + VIRTIO_PCI_CAP_LENGTH, 0xffffffff, 4);
	pci_cfg_set_wmask(pdev, cap + CAP_PCI_CFG_DATA, 0xffffffff, 4);
	vp->cfg_cap = cap;
	return 0;
}

static uint32_t vp_class(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return 0x020000; /* network, ethernet */
	case VIRTIO_ID_BLOCK:
		return 0x010000; /* mass storage, SCSI: what guests expect */
	case VIRTIO_ID_CONSOLE:
		return 0x078000; /* communication, other */
	default:
		return 0xff0000; /* unassigned class */
	}
}

static uint32_t pow2_at_least(uint32_t n, uint32_t min)
{
	uint32_t p = min;

	while (p < n)
		p <<= 1;
	return p;
}

static void vp_dev_reset(struct device *dev)
{
	struct virtio_pci *vp = dev_to_vp(dev);

	pci_dev_reset(&vp->pdev);
	pthread_mutex_lock(&vp->vdev->lock);
	virtio_dev_reset(vp->vdev);
	pthread_mutex_unlock(&vp->vdev->lock);
	pthread_mutex_lock(&vp->pdev.lock);
	ioev_sync(vp);
	pthread_mutex_unlock(&vp->pdev.lock);
}

static void vp_free(struct virtio_pci *vp)
{
	msi_vectors_destroy(&vp->vectors);
	pthread_mutex_destroy(&vp->isr_lock);
	free(vp->queue_vector);
	free(vp);
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (!vp)
		return;
	/* Called directly, not from devices_destroy(): leave the list. */
	device_unregister(vp->vm, &vp->pdev.dev);
	pthread_mutex_lock(&vp->pdev.lock);
	vp->ioev_broken = true;
	ioev_sync(vp);
	pthread_mutex_unlock(&vp->pdev.lock);
	virtio_dev_unbind(vp->vdev);
	pci_dev_exit(&vp->pdev);
	msix_destroy(&vp->msix);
	virtio_dev_destroy(vp->vdev);
	vp_free(vp);
}

static void vp_dev_destroy(struct device *dev)
{
	virtio_pci_destroy(dev_to_vp(dev));
}

struct pci_dev *virtio_pci_pdev(struct virtio_pci *vp)
{
	return &vp->pdev;
}

struct virtio_pci *virtio_pci_from_pdev(struct pci_dev *pdev)
{
	if (!pdev || pdev->dev.destroy != vp_dev_destroy)
		return NULL;
	return container_of(pdev, struct virtio_pci, pdev);
}

struct virtio_dev *virtio_pci_dev_at(struct pci_host *host, int devfn)
{
	struct virtio_pci *vp;

	if (!host || devfn < 0)
		return NULL;
	vp = virtio_pci_from_pdev(pci_host_find(host, 0, devfn));
	return vp ? vp->vdev : NULL;
}

static int vp_dma_init(void *arg, struct dma_space *as)
{
	return pci_dev_dma_init(arg, as);
}

struct virtio_pci *virtio_pci_create(struct vm *vm, struct pci_host *host,
				     struct virtio_dev *vdev,
				     struct evloop *loop)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	unsigned int nv = vdev->nr_queues + 1;
	uint32_t pba_off = msix_table_size(nv);
	struct pci_dev *pdev;
	bool bound = false;
	int ret = -ENOMEM;

	if (!vp)
		goto fail_alloc;
	pdev = &vp->pdev;
	vp->vm = vm;
	vp->vdev = vdev;
	vp->nr_vectors = nv;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	pthread_mutex_init(&vp->isr_lock, NULL);
	vp->queue_vector = calloc(nv, sizeof(*vp->queue_vector));
	if (!vp->queue_vector ||
	    msi_vectors_init(&vp->vectors, vdev->name, nv, vm_irq_ops(vm), vm))
		goto fail;
	for (unsigned int i = 0; i < nv; i++)
		vp->queue_vector[i] = VIRTIO_MSI_NO_VECTOR;
	vp->msix_bar_size = pow2_at_least(pba_off + msix_pba_size(nv), 4096);

	pci_dev_init(pdev, vdev->name, VIRTIO_PCI_VENDOR,
		     VIRTIO_PCI_DEVICE_BASE + vdev->device_id,
		     vp_class(vdev->device_id), VIRTIO_PCI_REVISION);
	pci_dev_set_subsystem(pdev, VIRTIO_PCI_VENDOR, VIRTIO_PCI_SUBSYS_ID);
	if ((ret = pci_dev_set_intx_pin(pdev, 1)) ||
	    (ret = pci_dev_set_bar(pdev, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE,
				   PCI_BAR_MEM64, &vp_bar_ops, vp)) ||
	    (ret = pci_dev_set_bar(pdev, VIRTIO_PCI_MSIX_BAR, vp->msix_bar_size,
				   PCI_BAR_MEM32, NULL, NULL)))
		goto fail_pdev;
	ret = msix_init(&vp->msix, pdev, nv, VIRTIO_PCI_MSIX_BAR, 0,
			VIRTIO_PCI_MSIX_BAR, pba_off);
	if (ret < 0)
		goto fail_pdev;
	msix_set_vectors(&vp->msix, &vp->vectors);
	ret = add_caps(vp);
	if (ret)
		goto fail_msix;
	/* On the root bus of a PCIe host: an integrated endpoint, as on q35. */
	ret = pci_add_pcie_capability(pdev, PCI_EXP_TYPE_RC_END);
	if (ret < 0)
		goto fail_msix;
	pdev->cfg_read = vp_cfg_read;
	pdev->cfg_write = vp_cfg_write;
	pdev->dev.kind = DEV_PCI;
	pdev->dev.reset = vp_dev_reset;
	pdev->dev.destroy = vp_dev_destroy;

	ret = virtio_dev_bind(vdev, &vp_tops, vp, virtio_dev_io(vdev, loop));
	if (ret)
		goto fail_msix;
	bound = true;
	ret = pci_dev_register(host, pdev, -1);
	if (ret < 0)
		goto fail_msix;
	msi_vectors_set_requester(&vp->vectors, pdev->bus << 8 | ret);
	/* Its requester id is known now; the guest has not run yet. */
	if (pci_host_has_iommu(host) && !vdev->is_iommu) {
		ret = virtio_dev_translate_dma(vdev, vp_dma_init, pdev);
		if (ret) {
			pci_dev_unregister(pdev);
			goto fail_msix;
		}
	}
	return vp;

fail_msix:
	if (bound)
		virtio_dev_unbind(vdev);
	msix_destroy(&vp->msix);
fail_pdev:
	pthread_mutex_destroy(&pdev->lock);
fail:
	vp_free(vp);
fail_alloc:
	pr_err("%s: cannot create virtio-pci function: %s", vdev->name,
	       strerror(-ret));
	return NULL;
}
