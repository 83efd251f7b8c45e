// SPDX-License-Identifier: GPL-2.0
#include "virtio/mmio.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_mmio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "acpi/aml.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/evloop.h"
#include "util/log.h"
#include "virtio/virtio.h"

#ifndef VIRTIO_MMIO_QUEUE_RESET
#define VIRTIO_MMIO_QUEUE_RESET 0x0c0
#endif

/* InterruptACK values 1, 2 and 3: VRING, CONFIG, both. */
#define NR_ACK_FDS 3
/* The first the I/O thread watches: 2 (CONFIG); 1 (VRING) it does not. */
#define FIRST_WATCHED_ACK 1

struct virtio_mmio {
	struct device dev;
	struct vm *vm;
	struct virtio_dev *vdev;
	struct evloop *loop;
	uint64_t base;
	unsigned int gsi;
	unsigned int uid; /* ACPI _UID and name */

	/* Selectors, under vdev->lock. */
	uint32_t dfsel, gfsel, queue_sel;

	/*
	 * What every register and configuration byte reads, kept current as
	 * the state changes (sync_page()): reads are answered from here.
	 * Mapped into the guest as a read-only slot where KVM allows
	 * (@slot >= 0), the guest reads it with no exit at all; writes still
	 * exit. Words are little-endian; stores are atomic per word.
	 */
	uint8_t *page;
	int slot;
	uint32_t page_gen; /* config_generation the page shows */

	/*
	 * InterruptStatus and its acknowledgement. Linux reads the status
	 * and writes it straight back to InterruptACK on every interrupt;
	 * the write needs no answer, so KVM completes it without an exit
	 * into an eventfd per value (ack_fd[v - 1] for 1, 2 and 3). An
	 * acknowledgement is applied before any later event is raised, so
	 * it never clears one it could not have seen, and before a status
	 * read that exits. With the page mapped, the I/O thread also applies
	 * those that name CONFIG (2, 3) as they arrive; VRING's (1, nearly
	 * every interrupt) waits for the next event: waking the thread for
	 * it cost a thread switch per interrupt, and a VRING bit read between
	 * its ACK and the next event only sends a driver to its used rings
	 * once more. Under int_lock.
	 */
	pthread_mutex_t int_lock;
	uint32_t int_status;
	int ack_fd[NR_ACK_FDS];
	bool ack_watched; /* ack_fd on @loop */
	struct irq_line line; /* edge-triggered (irq_line_pulse()) */
	/*
	 * Raised on the I/O thread, the edge waits for the end of its pass:
	 * one edge for every completion the pass pushed, and the driver's
	 * handler finds them all (the irqfd this replaced gave that by
	 * accident, injecting from a kworker once the thread slept).
	 */
	struct evloop_deferred edge;
	bool ioev_on, ack_ioev_on;
	char cmdline[64];
};

/* The page ------------------------------------------------------------- */

static void put_word(struct virtio_mmio *m, uint32_t off, uint32_t v)
{
	__atomic_store_n((uint32_t *)(m->page + off), htole32(v),
			 __ATOMIC_RELEASE);
}

static void sync_page(struct virtio_mmio *m);

/* Interrupts ------------------------------------------------------------ */

/*
 * The acknowledged bits waiting in the eventfds; int_lock held. Before an
 * event is raised, only while CONFIG is set: a driver writes back what it
 * read, so 2 and 3 can be waiting only then, and the raise, on nearly
 * every completion, reads one eventfd instead of three. Anything else
 * (the I/O thread's ACK callback, an exit, a reset) drains all three; a
 * guest that writes 2 or 3 unasked can only clear its own events.
 */
static uint32_t take_acks(struct virtio_mmio *m, bool raising)
{
	unsigned int nr = NR_ACK_FDS;
	uint32_t acked = 0;
	uint64_t n;

	if (raising && !(m->int_status & VIRTIO_MMIO_INT_CONFIG))
		nr = 1;
	for (unsigned int i = 0; i < nr; i++)
		if (m->ack_fd[i] >= 0 &&
		    read(m->ack_fd[i], &n, sizeof(n)) == sizeof(n))
			acked |= i + 1;
	return acked;
}

/* int_lock held. */
static void set_int_status(struct virtio_mmio *m, uint32_t clear, uint32_t set)
{
	uint32_t acked = take_acks(m, set != 0);

	m->int_status = (m->int_status & ~(acked | clear)) | set;
	put_word(m, VIRTIO_MMIO_INTERRUPT_STATUS, m->int_status);
}

static void edge_cb(void *opaque)
{
	struct virtio_mmio *m = opaque;

	irq_line_pulse(&m->line);
}

/* The line is edge-triggered: each notification is one edge. */
static void raise_irq(struct virtio_mmio *m, uint32_t bits)
{
	pthread_mutex_lock(&m->int_lock);
	set_int_status(m, 0, bits);
	pthread_mutex_unlock(&m->int_lock);
	if (!evloop_defer(m->loop, &m->edge))
		irq_line_pulse(&m->line);
}

static void apply_acks(struct virtio_mmio *m, uint32_t bits)
{
	pthread_mutex_lock(&m->int_lock);
	set_int_status(m, bits, 0);
	pthread_mutex_unlock(&m->int_lock);
}

/* An acknowledgement in an eventfd, on the I/O thread. */
static void ack_cb(void *opaque, uint32_t events)
{
	apply_acks(opaque, 0);
}

/* An acknowledgement that reached us as an exit (no ioeventfd matched). */
static void ack_int(struct virtio_mmio *m, uint32_t val)
{
	apply_acks(m, val & (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG));
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
	pthread_mutex_lock(&m->int_lock);
	set_int_status(m, ~0u, 0);
	pthread_mutex_unlock(&m->int_lock);
	sync_page(m);
}

static void vmmio_sync(struct virtio_dev *vdev)
{
	sync_page(vdev->transport);
}

static const struct virtio_transport_ops vmmio_tops = {
	.notify_queue = vmmio_notify_queue,
	.notify_config = vmmio_notify_config,
	.reset = vmmio_transport_reset,
	.sync = vmmio_sync,
};

/* Registers ---------------------------------------------------------------- */

/* What register @off reads; vdev->lock held. */
static uint32_t reg_value(struct virtio_mmio *m, uint32_t off)
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
	case VIRTIO_MMIO_STATUS:
		return virtio_dev_status(vdev);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		/* Length -1: no shared memory region under any id. */
		return 0xffffffffu;
	}
	/*
	 * Write-only, legacy-only (QueuePFN...), QueueReset, reserved;
	 * InterruptStatus and ConfigGeneration have their own paths.
	 */
	return 0;
}

/*
 * Brings the page up to date with the device; vdev->lock held. Called
 * after every register write that exits and whenever the device changes
 * on its own (transport ops' sync), so no read can see a stale value.
 */
static void sync_page(struct virtio_mmio *m)
{
	struct virtio_dev *vdev = m->vdev;
	uint32_t gen = vdev->config_generation;
	uint32_t len = vdev->config_len;

	for (uint32_t off = 0; off < VIRTIO_MMIO_CONFIG; off += 4)
		if (off != VIRTIO_MMIO_INTERRUPT_STATUS &&
		    off != VIRTIO_MMIO_CONFIG_GENERATION)
			put_word(m, off, reg_value(m, off));
	if (len > VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG)
		len = VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG;
	/*
	 * A driver reads the generation before and after the fields it
	 * wants and retries when it moved (spec 2.5.1). It moves to a value
	 * of its own while the words change, then to the new one, so a read
	 * that spans either store sees it move; one that falls wholly
	 * between them (a few stores long) could mix words. Each word
	 * changes atomically, and every field devisor changes at run time
	 * (the console's size) is one word.
	 */
	if (gen != m->page_gen)
		put_word(m, VIRTIO_MMIO_CONFIG_GENERATION, gen ^ 0x80000000u);
	for (uint32_t off = 0; off < len; off += 4) {
		uint32_t n = len - off < 4 ? len - off : 4;
		uint32_t v = (uint32_t)virtio_dev_config_read(vdev, off, n);
		uint32_t *w = (uint32_t *)(m->page + VIRTIO_MMIO_CONFIG + off);

		if (__atomic_load_n(w, __ATOMIC_RELAXED) != htole32(v))
			put_word(m, VIRTIO_MMIO_CONFIG + off, v);
	}
	put_word(m, VIRTIO_MMIO_CONFIG_GENERATION, gen);
	m->page_gen = gen;
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
		ack_int(m, val);
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

/*
 * A read that exits (the page is not mapped, or the guest's KVM cannot
 * map it): the page answers it as it would the guest directly, at any
 * width. Registers are only defined for aligned 32-bit reads.
 */
static uint64_t vmmio_read(void *opaque, uint64_t off, unsigned int size)
{
	struct virtio_mmio *m = opaque;
	uint64_t v = 0;

	if (size > sizeof(v) || off + size > VIRTIO_MMIO_SIZE)
		return 0;
	/* Acknowledgements not yet applied are due before the status. */
	if (off < VIRTIO_MMIO_INTERRUPT_STATUS + 4 &&
	    off + size > VIRTIO_MMIO_INTERRUPT_STATUS)
		apply_acks(m, 0);
	/* Whole words, as the guest's own reads see them: never torn. */
	for (uint64_t w = off & ~3ull; w < off + size; w += 4) {
		uint32_t x = le32toh(__atomic_load_n((uint32_t *)(m->page + w),
						     __ATOMIC_ACQUIRE));

		for (unsigned int b = 0; b < 4; b++)
			if (w + b >= off && w + b < off + size)
				v |= (uint64_t)((x >> (8 * b)) & 0xff)
				     << (8 * (w + b - off));
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
		sync_page(m);
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
		sync_page(m);
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

static void ack_ioev_set(struct virtio_mmio *m, bool assign)
{
	unsigned int i;

	if (assign == m->ack_ioev_on)
		return;
	for (i = 0; i < NR_ACK_FDS; i++)
		if (m->ack_fd[i] < 0 ||
		    vm_ioeventfd_datamatch(
			    m->vm, m->base + VIRTIO_MMIO_INTERRUPT_ACK, 4,
			    false, m->ack_fd[i], i + 1, assign))
			break;
	if (assign && i < NR_ACK_FDS)
		while (i--)
			vm_ioeventfd_datamatch(
				m->vm, m->base + VIRTIO_MMIO_INTERRUPT_ACK, 4,
				false, m->ack_fd[i], i + 1, false);
	else
		m->ack_ioev_on = assign;
}

static void ioev_setup(struct virtio_mmio *m)
{
	unsigned int n = m->vdev->nr_queues, q;
	int err = 0;

	for (q = 0; q < n; q++) {
		err = vm_ioeventfd_datamatch(
			m->vm, m->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, false,
			virtio_dev_kick_fd(m->vdev, q), q, true);
		if (err)
			break;
	}
	if (q < n) {
		ioev_set(m, q, false);
		virtio_dev_no_ioeventfd(m->vdev, err);
		return;
	}
	m->ioev_on = true;
	/* Without these an acknowledgement is an exit, nothing worse. */
	ack_ioev_set(m, true);
}

/*
 * With the page in a read-only slot the guest reads InterruptStatus
 * without an exit, so CONFIG acknowledgements are applied as they arrive
 * rather than at the next status read (VRING's: struct virtio_mmio);
 * without the loop the page stays unmapped.
 */
static void page_map(struct virtio_mmio *m)
{
	unsigned int i;

	if (!m->ack_ioev_on || !m->loop)
		return;
	m->slot = vm_map_device_rom(m->vm, m->base, VIRTIO_MMIO_SIZE, m->page);
	if (m->slot < 0) {
		pr_debug("%s: registers not mapped: %s; reads exit",
			 m->vdev->name, strerror(-m->slot));
		return;
	}
	for (i = FIRST_WATCHED_ACK; i < NR_ACK_FDS; i++)
		if (evloop_add(m->loop, m->ack_fd[i], EPOLLIN, ack_cb, m))
			break;
	if (i == NR_ACK_FDS) {
		m->ack_watched = true;
		return;
	}
	while (i-- > FIRST_WATCHED_ACK)
		evloop_del(m->loop, m->ack_fd[i]);
	vm_unmap_device_memory(m->vm, m->slot);
	m->slot = -1;
}

static void page_unmap(struct virtio_mmio *m)
{
	if (m->ack_watched)
		for (unsigned int i = FIRST_WATCHED_ACK; i < NR_ACK_FDS; i++)
			evloop_del(m->loop, m->ack_fd[i]);
	m->ack_watched = false;
	if (m->slot >= 0)
		vm_unmap_device_memory(m->vm, m->slot);
	m->slot = -1;
}

static void free_m(struct virtio_mmio *m)
{
	for (unsigned int i = 0; i < NR_ACK_FDS; i++)
		if (m->ack_fd[i] >= 0)
			close(m->ack_fd[i]);
	if (m->page)
		munmap(m->page, VIRTIO_MMIO_SIZE);
	pthread_mutex_destroy(&m->int_lock);
	free(m);
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
	page_unmap(m);
	if (m->ioev_on)
		ioev_set(m, m->vdev->nr_queues, false);
	ack_ioev_set(m, false);
	bus_unregister(&m->vm->mmio, m->base, m);
	virtio_dev_unbind(m->vdev);
	virtio_dev_destroy(m->vdev);
	free_m(m);
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
	loop = virtio_dev_io(vdev, loop);
	m->vm = vm;
	m->vdev = vdev;
	m->base = base;
	m->gsi = gsi;
	m->loop = loop;
	m->slot = -1;
	pthread_mutex_init(&m->int_lock, NULL);
	for (unsigned int i = 0; i < NR_ACK_FDS; i++)
		m->ack_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	m->page = mmap(NULL, VIRTIO_MMIO_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->page == MAP_FAILED) {
		m->page = NULL;
		goto fail;
	}
	vm_irq_line_init(vm, &m->line, gsi);
	m->edge = (struct evloop_deferred){ .fn = edge_cb, .opaque = m };
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
	pthread_mutex_lock(&vdev->lock);
	sync_page(m);
	pthread_mutex_unlock(&vdev->lock);
	ret = bus_register(&vm->mmio, base, VIRTIO_MMIO_SIZE, &vmmio_ops, m,
			   vdev->name);
	if (ret) {
		virtio_dev_unbind(vdev);
		goto fail;
	}
	ioev_setup(m);
	page_map(m);
	device_register(vm, &m->dev);
	return m;
fail:
	pr_err("%s: cannot create virtio-mmio device at %#llx: %s", vdev->name,
	       (unsigned long long)base, strerror(-ret));
	if (m)
		free_m(m);
	return NULL;
}

const char *virtio_mmio_cmdline(const struct virtio_mmio *m)
{
	return m->cmdline;
}
