// SPDX-License-Identifier: GPL-2.0
#include "virtio/mmio.h"

#include <errno.h>
#include <linux/virtio_mmio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"
#include "virtio/virtio.h"

#ifndef VIRTIO_MMIO_QUEUE_RESET
#define VIRTIO_MMIO_QUEUE_RESET 0x0c0
#endif

struct virtio_mmio {
	struct device dev;
	struct vm *vm;
	struct virtio_dev *vdev;
	uint64_t base;
	unsigned int gsi;
	unsigned int uid; /* ACPI _UID and name */

	/* Selectors, under vdev->lock. */
	uint32_t dfsel, gfsel, queue_sel;

	uint32_t int_status; /* atomic */
	struct irq_line line; /* edge-triggered, with an irqfd if KVM gives one */
	bool ioev_on;
	char cmdline[64];
};

/* Interrupts ------------------------------------------------------------ */

/* The line is edge-triggered: each notification is one edge. */
static void raise_irq(struct virtio_mmio *m, uint32_t bits)
{
	__atomic_fetch_or(&m->int_status, bits, __ATOMIC_SEQ_CST);
	irq_line_pulse(&m->line);
}

static void vmmio_notify_queue(struct virtio_dev *vdev, unsigned int q)
{
	raise_irq(vdev->transport, VIRTIO_MMIO_INT_VRING);
}

static void vmmio_notify_config(struct virtio_dev *vdev)
{
	raise_irq(vdev->transport, VIRTIO_MMIO_INT_CONFIG);
}

static void vmmio_transport_reset(struct virtio_dev *vdev)
{
	struct virtio_mmio *m = vdev->transport;

	m->dfsel = 0;
	m->gfsel = 0;
	m->queue_sel = 0;
	__atomic_store_n(&m->int_status, 0, __ATOMIC_SEQ_CST);
}

static const struct virtio_transport_ops vmmio_tops = {
	.notify_queue = vmmio_notify_queue,
	.notify_config = vmmio_notify_config,
	.reset = vmmio_transport_reset,
};

/* Registers ---------------------------------------------------------------- */

/* vdev->lock held. */
static uint32_t reg_read(struct virtio_mmio *m, uint64_t off)
{
	struct virtio_dev *vdev = m->vdev;
	struct virtqueue *vq = virtio_dev_queue(vdev, m->queue_sel);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return vdev->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return virtio_dev_device_features(vdev, m->dfsel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		/* 0: no such queue. */
		return vq ? vq->max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return virtio_dev_queue_ready(vdev, m->queue_sel);
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&m->int_status, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS:
		return virtio_dev_status(vdev);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		/* Length -1: no shared memory region under any id. */
		return 0xffffffffu;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return vdev->config_generation;
	}
	/* Write-only, legacy-only (QueuePFN...), QueueReset, reserved. */
	return 0;
}

static void set_addr_half(struct virtio_dev *vdev, unsigned int q,
			  unsigned int which, bool high, uint32_t val)
{
	uint64_t a = virtio_dev_queue_addr(vdev, q, which);

	if (high)
		a = (a & 0xffffffffull) | (uint64_t)val << 32;
	else
		a = (a & ~0xffffffffull) | val;
	virtio_dev_queue_set_addr(vdev, q, which, a);
}

/* vdev->lock held. */
static void reg_write(struct virtio_mmio *m, uint64_t off, uint32_t val)
{
	struct virtio_dev *vdev = m->vdev;
	unsigned int q = m->queue_sel;
	bool have_q = virtio_dev_queue(vdev, q) != NULL;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		m->dfsel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_dev_set_driver_features(vdev, m->gfsel, val);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		m->gfsel = val;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		virtio_dev_queue_set_size(vdev, q, val);
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		/* Unlike PCI, the driver may stop a queue with 0. */
		if (val == 1)
			virtio_dev_queue_enable(vdev, q);
		else if (val == 0 && have_q)
			virtio_dev_queue_disable(vdev, q);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&m->int_status, ~val, __ATOMIC_SEQ_CST);
		break;
	case VIRTIO_MMIO_STATUS:
		virtio_dev_set_status(vdev, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_addr_half(vdev, q, VIRTIO_QUEUE_DESC,
			      off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_addr_half(vdev, q, VIRTIO_QUEUE_DRIVER,
			      off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_addr_half(vdev, q, VIRTIO_QUEUE_DEVICE,
			      off == VIRTIO_MMIO_QUEUE_USED_HIGH, val);
		break;
	}
	/* SHMSel needs no state: every region reads as absent. */
}

static uint64_t vmmio_read(void *opaque, uint64_t off, unsigned int size)
{
	struct virtio_mmio *m = opaque;
	uint64_t v = 0;

	if (off >= VIRTIO_MMIO_CONFIG) {
		pthread_mutex_lock(&m->vdev->lock);
		v = virtio_dev_config_read(m->vdev, off - VIRTIO_MMIO_CONFIG,
					   size);
		pthread_mutex_unlock(&m->vdev->lock);
	} else if (size == 4 && off % 4 == 0) {
		pthread_mutex_lock(&m->vdev->lock);
		v = reg_read(m, off);
		pthread_mutex_unlock(&m->vdev->lock);
	}
	return v;
}

static void vmmio_write(void *opaque, uint64_t off, uint64_t val,
			unsigned int size)
{
	struct virtio_mmio *m = opaque;

	if (off >= VIRTIO_MMIO_CONFIG) {
		pthread_mutex_lock(&m->vdev->lock);
		virtio_dev_config_write(m->vdev, off - VIRTIO_MMIO_CONFIG, val,
					size);
		pthread_mutex_unlock(&m->vdev->lock);
	} else if (size != 4 || off % 4) {
		pr_debug_ratelimited("%s: %u-byte write at %#llx ignored",
				     m->vdev->name, size,
				     (unsigned long long)off);
	} else if (off == VIRTIO_MMIO_QUEUE_NOTIFY) {
		/* No ioeventfd matched: kick through the same eventfd. */
		if (val < m->vdev->nr_queues)
			virtio_dev_kick(m->vdev, val);
	} else {
		pthread_mutex_lock(&m->vdev->lock);
		reg_write(m, off, val);
		pthread_mutex_unlock(&m->vdev->lock);
	}
}

static const struct bus_ops vmmio_ops = {
	.read = vmmio_read,
	.write = vmmio_write,
};

/* Setup -------------------------------------------------------------------- */

/* All queues share QueueNotify; the written index picks the eventfd. */
static void ioev_set(struct virtio_mmio *m, unsigned int n, bool assign)
{
	for (unsigned int q = 0; q < n; q++)
		vm_ioeventfd_datamatch(m->vm,
				       m->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
				       false, virtio_dev_kick_fd(m->vdev, q), q,
				       assign);
}

static void ioev_setup(struct virtio_mmio *m)
{
	unsigned int n = m->vdev->nr_queues, q;

	for (q = 0; q < n; q++)
		if (vm_ioeventfd_datamatch(
			    m->vm, m->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, false,
			    virtio_dev_kick_fd(m->vdev, q), q, true))
			break;
	if (q < n) {
		ioev_set(m, q, false);
		pr_warn("%s: no ioeventfd, queue kicks take the slow path",
			m->vdev->name);
		return;
	}
	m->ioev_on = true;
}

static struct virtio_mmio *to_vmmio(struct device *dev)
{
	return container_of(dev, struct virtio_mmio, dev);
}

static void vmmio_dev_reset(struct device *dev)
{
	struct virtio_mmio *m = to_vmmio(dev);

	pthread_mutex_lock(&m->vdev->lock);
	virtio_dev_reset(m->vdev);
	pthread_mutex_unlock(&m->vdev->lock);
}

void virtio_mmio_destroy(struct virtio_mmio *m)
{
	if (!m)
		return;
	device_unregister(m->vm, &m->dev);
	if (m->ioev_on)
		ioev_set(m, m->vdev->nr_queues, false);
	bus_unregister(&m->vm->mmio, m->base, m);
	virtio_dev_unbind(m->vdev);
	vm_irq_line_release(m->vm, &m->line);
	virtio_dev_destroy(m->vdev);
	free(m);
}

static void vmmio_dev_destroy(struct device *dev)
{
	virtio_mmio_destroy(to_vmmio(dev));
}

/*
 * Past the VM's other windows: _UIDs count from 0 in each VM, so a reboot
 * describes the same devices as the first boot did.
 */
static void uid_after(struct device *dev, void *arg)
{
	unsigned int *uid = arg;

	if (dev->kind == DEV_VIRTIO_MMIO && to_vmmio(dev)->uid >= *uid)
		*uid = to_vmmio(dev)->uid + 1;
}

/* Memory32Fixed: the window must lie below 4 GiB (-EINVAL). */
static int vmmio_describe(struct device *dev, struct device_desc *d)
{
	struct virtio_mmio *m = to_vmmio(dev);
	struct aml *a = d->aml;
	char name[5];

	if (d->fdt) {
		static const char compat[] = "virtio,mmio";
		/* The line pulses (irq_line_pulse()): an edge. */
		int off = device_fdt_node(d, "virtio_mmio", m->base,
					  VIRTIO_MMIO_SIZE, compat,
					  sizeof(compat), (int)m->gsi, 0, NULL,
					  0);

		if (off < 0)
			return off;
	}
	if (!a)
		return 0;
	if (m->base > UINT32_MAX - VIRTIO_MMIO_SIZE + 1)
		return -EINVAL;
	snprintf(name, sizeof(name), "VR%02X", m->uid & 0xff);
	aml_device_begin(a, name);
	/* Linux's virtio_mmio binds this id; not an EISA id. */
	aml_name_string(a, "_HID", "LNRO0005");
	aml_name_integer(a, "_UID", m->uid);
	aml_name(a, "_CRS");
	aml_restemp_begin(a);
	aml_res_memory32_fixed(a, true, (uint32_t)m->base, VIRTIO_MMIO_SIZE);
	aml_res_irq(a, m->gsi);
	aml_restemp_end(a);
	aml_end(a);
	return 0;
}

struct virtio_mmio *virtio_mmio_create(struct vm *vm, uint64_t base,
				       unsigned int gsi,
				       struct virtio_dev *vdev,
				       struct evloop *loop)
{
	struct virtio_mmio *m = calloc(1, sizeof(*m));
	int ret = -ENOMEM;

	if (!m)
		goto fail;
	m->vm = vm;
	m->vdev = vdev;
	m->base = base;
	m->gsi = gsi;
	vm_irq_line_init(vm, &m->line, gsi);
	devices_for_each(vm, uid_after, &m->uid);
	snprintf(m->cmdline, sizeof(m->cmdline),
		 "virtio_mmio.device=4K@%#llx:%u", (unsigned long long)base,
		 gsi);
	m->dev = (struct device){ .name = vdev->name,
				  .kind = DEV_VIRTIO_MMIO,
				  .reset = vmmio_dev_reset,
				  .destroy = vmmio_dev_destroy,
				  .describe = vmmio_describe };

	ret = virtio_dev_bind(vdev, &vmmio_tops, m, loop);
	if (ret)
		goto fail;
	/* Without an irqfd the line pulses with KVM_IRQ_LINE. */
	vm_irq_line_irqfd(vm, &m->line);
	ret = bus_register(&vm->mmio, base, VIRTIO_MMIO_SIZE, &vmmio_ops, m,
			   vdev->name);
	if (ret) {
		vm_irq_line_release(vm, &m->line);
		virtio_dev_unbind(vdev);
		goto fail;
	}
	ioev_setup(m);
	device_register(vm, &m->dev);
	return m;
fail:
	pr_err("%s: cannot create virtio-mmio device at %#llx: %s", vdev->name,
	       (unsigned long long)base, strerror(-ret));
	free(m);
	return NULL;
}

const char *virtio_mmio_cmdline(const struct virtio_mmio *m)
{
	return m->cmdline;
}
