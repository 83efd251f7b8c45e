// SPDX-License-Identifier: GPL-2.0
/*
 * Polled virtio driver core for test guests: transports (modern
 * virtio-pci, virtio-mmio v2), the init sequence of spec 3.1.1, and split
 * virtqueues. See virtio.h.
 */
#include "virtio.h"
#include "pci.h"

/* virtio-pci vendor capability (spec 4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

#define CAP_CFG_TYPE 3
#define CAP_BAR 4
#define CAP_OFFSET 8
#define CAP_LENGTH 12
#define CAP_NOTIFY_MULT 16

/* Common configuration structure. */
#define COMMON_DFSELECT 0x00
#define COMMON_DF 0x04
#define COMMON_GFSELECT 0x08
#define COMMON_GF 0x0c
#define COMMON_MSIX 0x10
#define COMMON_NUMQ 0x12
#define COMMON_STATUS 0x14
#define COMMON_CFGGEN 0x15
#define COMMON_Q_SELECT 0x16
#define COMMON_Q_SIZE 0x18
#define COMMON_Q_MSIX 0x1a
#define COMMON_Q_ENABLE 0x1c
#define COMMON_Q_NOFF 0x1e
#define COMMON_Q_DESCLO 0x20
#define COMMON_Q_DESCHI 0x24
#define COMMON_Q_AVAILLO 0x28
#define COMMON_Q_AVAILHI 0x2c
#define COMMON_Q_USEDLO 0x30
#define COMMON_Q_USEDHI 0x34

#define VIRTIO_MSI_NO_VECTOR 0xffff

/* virtio-mmio version 2 registers. */
#define MMIO_MAGIC 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_VENDOR_ID 0x00c
#define MMIO_DEVICE_FEATURES 0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES 0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INTERRUPT_STATUS 0x060
#define MMIO_INTERRUPT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC_LOW 0x080
#define MMIO_QUEUE_DESC_HIGH 0x084
#define MMIO_QUEUE_AVAIL_LOW 0x090
#define MMIO_QUEUE_AVAIL_HIGH 0x094
#define MMIO_QUEUE_USED_LOW 0x0a0
#define MMIO_QUEUE_USED_HIGH 0x0a4
#define MMIO_CONFIG_GENERATION 0x0fc
#define MMIO_CONFIG 0x100

#define MMIO_MAGIC_VALUE 0x74726976u

/* DMA pool ---------------------------------------------------------------- */

static uint8_t *pool;
static size_t pool_size, pool_used;

void dma_pool_init(void *buf, size_t size)
{
	pool = buf;
	pool_size = size;
	pool_used = 0;
}

void *dma_alloc(size_t size, size_t align)
{
	uintptr_t base = (uintptr_t)pool, p;

	if (!align)
		align = 1;
	p = (base + pool_used + align - 1) & ~(uintptr_t)(align - 1);
	if (!pool || p + size > base + pool_size) {
		printf("dma_alloc: pool exhausted (%zu of %zu used, want %zu)\n",
		       pool_used, pool_size, size);
		guest_exit(GUEST_FAIL);
	}
	pool_used = p + size - base;
	memset((void *)p, 0, size);
	return (void *)p;
}

size_t dma_mark(void)
{
	return pool_used;
}

void dma_release(size_t mark)
{
	if (mark <= pool_used)
		pool_used = mark;
}

/* Discovery ------------------------------------------------------------------ */

static bool pci_caps(struct vdev *d)
{
	uint16_t bdf = d->bdf;
	unsigned int pos = 0;
	bool have_notify = false;

	d->common = d->isr = d->device = d->notify = 0;
	while ((pos = pci_find_cap(bdf, PCI_CAP_ID_VNDR, pos))) {
		uint8_t type = pci_cfg_read8(bdf, pos + CAP_CFG_TYPE);
		uint8_t bar = pci_cfg_read8(bdf, pos + CAP_BAR);
		uint32_t off = pci_cfg_read32(bdf, pos + CAP_OFFSET);
		uint32_t len = pci_cfg_read32(bdf, pos + CAP_LENGTH);
		uintptr_t a;

		if (type < VIRTIO_PCI_CAP_COMMON_CFG ||
		    type > VIRTIO_PCI_CAP_DEVICE_CFG)
			continue;
		if (bar > 5) {
			printf("virtio-pci: cap type %u names BAR %u\n", type,
			       bar);
			continue;
		}
		a = (uintptr_t)pci_bar_addr(bdf, bar) + off;
		/* The spec: use the first capability of each type. */
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			if (!d->common)
				d->common = a;
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			if (!have_notify) {
				d->notify = a;
				d->notify_mult = pci_cfg_read32(
					bdf, pos + CAP_NOTIFY_MULT);
				have_notify = true;
			}
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			if (!d->isr)
				d->isr = a;
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			if (!d->device)
				d->device = a;
			break;
		}
		(void)len;
	}
	if (!d->common || !have_notify || !d->isr) {
		printf("virtio-pci: %02x:%02x.%x lacks common/notify/ISR caps\n",
		       PCI_BUS(bdf), PCI_DEV(bdf), PCI_FN(bdf));
		return false;
	}
	return true;
}

/*
 * `pci_unassign=1`: forget what firmware programmed (QEMU's SeaBIOS
 * assigns every BAR), so pci_enable_device() has to place the BARs itself.
 */
static void pci_maybe_unassign(uint16_t bdf)
{
	char v[4];
	unsigned int i;

	if (cmdline_arg("pci_unassign", v, sizeof(v)) < 0 || !strcmp(v, "0"))
		return;
	pci_cfg_write16(bdf, PCI_COMMAND, 0);
	for (i = 0; i < 6; i++)
		pci_cfg_write32(bdf, PCI_BAR0 + 4 * i, 0);
	printf("pci: %02x:%02x.%x: BARs cleared (pci_unassign=1)\n",
	       PCI_BUS(bdf), PCI_DEV(bdf), PCI_FN(bdf));
}

bool virtio_find_pci(struct vdev *d, uint32_t device_id)
{
	unsigned int dev, fn;

	pci_init();
	for (dev = 0; dev < 32; dev++) {
		for (fn = 0; fn < 8; fn++) {
			uint16_t bdf = PCI_BDF(0, dev, fn);
			uint16_t vid = pci_cfg_read16(bdf, PCI_VENDOR_ID);
			uint16_t did;

			if (vid == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			did = pci_cfg_read16(bdf, PCI_DEVICE_ID);
			if (vid == 0x1af4 && did == 0x1040 + device_id) {
				memset(d, 0, sizeof(*d));
				d->transport = VIRTIO_PCI;
				d->device_id = device_id;
				d->bdf = bdf;
				kit_mask_pic();
				pci_maybe_unassign(bdf);
				if (!pci_enable_device(bdf) || !pci_caps(d))
					return false;
				printf("virtio-pci: device %u at %02x:%02x.%x, common %#lx notify %#lx (x%u) isr %#lx device %#lx\n",
				       device_id, 0, dev, fn,
				       (unsigned long)d->common,
				       (unsigned long)d->notify, d->notify_mult,
				       (unsigned long)d->isr,
				       (unsigned long)d->device);
				return true;
			}
			if (fn == 0 &&
			    !(pci_cfg_read8(bdf, PCI_HEADER_TYPE) & 0x80))
				break;
		}
	}
	printf("virtio-pci: no device %u (%04x:%04x) on bus 0\n", device_id,
	       0x1af4, 0x1040 + device_id);
	return false;
}

/* "512@0xfeb00000:12" or "4K@0xd0000000:5[:id]"; false on junk. */
static bool parse_mmio_spec(const char *s, size_t n, uint64_t *base,
			    unsigned int *irq)
{
	char buf[64], *at, *colon, *p;
	unsigned long v;

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	for (at = buf; *at && *at != '@'; at++)
		;
	if (!*at)
		return false;
	for (colon = at; *colon && *colon != ':'; colon++)
		;
	if (!*colon)
		return false;
	*colon = '\0';
	if (!parse_ulong(at + 1, &v))
		return false;
	*base = v;
	for (p = colon + 1; *p && *p != ':'; p++)
		;
	*p = '\0';
	if (!parse_ulong(colon + 1, &v))
		return false;
	*irq = (unsigned int)v;
	return true;
}

/* Probes the window at @base for @device_id; fills @d if it is the one. */
static bool mmio_probe(struct vdev *d, uint64_t base, unsigned int irq,
		       uint32_t device_id)
{
	uintptr_t m = (uintptr_t)base;
	uint32_t magic, ver, id;

	if (base >= 0x100000000ull) {
		printf("virtio-mmio: %#lx is above 4 GiB\n",
		       (unsigned long)base);
		return false;
	}
	magic = readl(m + MMIO_MAGIC);
	ver = readl(m + MMIO_VERSION);
	id = readl(m + MMIO_DEVICE_ID);
	if (magic != MMIO_MAGIC_VALUE) {
		printf("virtio-mmio: %#lx: bad magic %#x\n",
		       (unsigned long)base, magic);
		return false;
	}
	if (id != device_id)
		return false;
	if (ver != 2) {
		printf("virtio-mmio: %#lx: version %u, want 2 (QEMU: -global virtio-mmio.force-legacy=false)\n",
		       (unsigned long)base, ver);
		return false;
	}
	memset(d, 0, sizeof(*d));
	d->transport = VIRTIO_MMIO;
	d->device_id = device_id;
	d->mmio = m;
	d->irq = irq;
	kit_mask_pic();
	printf("virtio-mmio: device %u at %#lx irq %u\n", device_id,
	       (unsigned long)base, irq);
	return true;
}

/*
 * The DSDT's LNRO0005 devices (as devisor and QEMU microvm describe them):
 * after each _HID string, the first Memory32Fixed descriptor (tag 0x86,
 * length 9) is the window and the first Extended Interrupt (0x89) its
 * GSI. A byte scan, not an AML interpreter: good enough for test guests.
 */
static bool find_mmio_dsdt(struct vdev *d, uint32_t device_id, bool *any)
{
	const uint8_t *fadt = acpi_find_table("FACP"), *dsdt;
	uint32_t flen, len, i, j;
	uint64_t a = 0;

	if (!fadt)
		return false;
	memcpy(&flen, fadt + 4, 4);
	if (flen >= 148)
		memcpy(&a, fadt + 140, 8);
	if (!a && flen >= 44) {
		uint32_t a32;

		memcpy(&a32, fadt + 40, 4);
		a = a32;
	}
	if (!a || a >= 0x100000000ull)
		return false;
	dsdt = (const uint8_t *)(uintptr_t)a;
	if (memcmp(dsdt, "DSDT", 4))
		return false;
	memcpy(&len, dsdt + 4, 4);
	for (i = 36; i + 9 <= len; i++) {
		uint64_t base = 0;
		unsigned int irq = 0;
		uint32_t v;

		if (memcmp(dsdt + i, "LNRO0005", 8))
			continue;
		for (j = i + 8; j + 12 <= len && j < i + 512; j++) {
			if (!memcmp(dsdt + j, "LNRO0005", 8))
				break;
			if (!base && dsdt[j] == 0x86 && dsdt[j + 1] == 9 &&
			    dsdt[j + 2] == 0) {
				memcpy(&v, dsdt + j + 4, 4);
				base = v;
			}
			if (!irq && dsdt[j] == 0x89 && dsdt[j + 2] == 0 &&
			    dsdt[j + 4] >= 1) {
				memcpy(&v, dsdt + j + 5, 4);
				irq = v;
			}
		}
		if (!base)
			continue;
		*any = true;
		if (mmio_probe(d, base, irq, device_id)) {
			puts("virtio-mmio: (found in the DSDT)");
			return true;
		}
	}
	return false;
}

bool virtio_find_mmio(struct vdev *d, uint32_t device_id)
{
	static const char key[] = "virtio_mmio.device=";
	const char *p = cmdline();
	bool any = false;

	while (*p) {
		const char *w = p;
		uint64_t base;
		unsigned int irq;

		while (*p && *p != ' ')
			p++;
		if (!strncmp(w, key, sizeof(key) - 1) &&
		    parse_mmio_spec(w + sizeof(key) - 1,
				    (size_t)(p - w) - (sizeof(key) - 1), &base,
				    &irq)) {
			any = true;
			if (mmio_probe(d, base, irq, device_id))
				return true;
		}
		while (*p == ' ')
			p++;
	}
	/*
	 * Linux takes one or the other: devisor and QEMU microvm put the
	 * windows on the command line only when ACPI is off.
	 */
	if (!any && find_mmio_dsdt(d, device_id, &any))
		return true;
	printf("virtio-mmio: no device %u%s\n", device_id,
	       any ? "" :
		     " (no virtio_mmio.device= on the command line, no LNRO0005 in the DSDT)");
	return false;
}

bool virtio_find(struct vdev *d, uint32_t device_id)
{
	char t[8];

	if (cmdline_arg("transport", t, sizeof(t)) >= 0) {
		if (!strcmp(t, "mmio"))
			return virtio_find_mmio(d, device_id);
		if (strcmp(t, "pci")) {
			printf("virtio: transport=%s: want pci or mmio\n", t);
			return false;
		}
	}
	return virtio_find_pci(d, device_id);
}

/* Registers -------------------------------------------------------------- */

static uint32_t mmio_rd(struct vdev *d, unsigned int off)
{
	return readl(d->mmio + off);
}

static void mmio_wr(struct vdev *d, unsigned int off, uint32_t v)
{
	writel(v, d->mmio + off);
}

uint8_t vdev_status(struct vdev *d)
{
	if (d->transport == VIRTIO_MMIO)
		return (uint8_t)mmio_rd(d, MMIO_STATUS);
	return readb(d->common + COMMON_STATUS);
}

void vdev_set_status(struct vdev *d, uint8_t s)
{
	if (d->transport == VIRTIO_MMIO)
		mmio_wr(d, MMIO_STATUS, s);
	else
		writeb(s, d->common + COMMON_STATUS);
}

bool vdev_reset(struct vdev *d)
{
	int i;

	vdev_set_status(d, 0);
	for (i = 0; i < 100000; i++) {
		if (vdev_status(d) == 0)
			return true;
		cpu_relax();
	}
	printf("virtio: reset did not complete (status %#x)\n", vdev_status(d));
	return false;
}

uint64_t vdev_device_features(struct vdev *d)
{
	uint64_t lo, hi;

	if (d->transport == VIRTIO_MMIO) {
		mmio_wr(d, MMIO_DEVICE_FEATURES_SEL, 0);
		lo = mmio_rd(d, MMIO_DEVICE_FEATURES);
		mmio_wr(d, MMIO_DEVICE_FEATURES_SEL, 1);
		hi = mmio_rd(d, MMIO_DEVICE_FEATURES);
	} else {
		writel(0, d->common + COMMON_DFSELECT);
		lo = readl(d->common + COMMON_DF);
		writel(1, d->common + COMMON_DFSELECT);
		hi = readl(d->common + COMMON_DF);
	}
	return (hi << 32) | lo;
}

void vdev_set_driver_features(struct vdev *d, uint64_t f)
{
	if (d->transport == VIRTIO_MMIO) {
		mmio_wr(d, MMIO_DRIVER_FEATURES_SEL, 0);
		mmio_wr(d, MMIO_DRIVER_FEATURES, (uint32_t)f);
		mmio_wr(d, MMIO_DRIVER_FEATURES_SEL, 1);
		mmio_wr(d, MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	} else {
		writel(0, d->common + COMMON_GFSELECT);
		writel((uint32_t)f, d->common + COMMON_GF);
		writel(1, d->common + COMMON_GFSELECT);
		writel((uint32_t)(f >> 32), d->common + COMMON_GF);
	}
}

bool vdev_has(const struct vdev *d, unsigned int bit)
{
	return d->features & VIRTIO_BIT(bit);
}

bool vdev_negotiate(struct vdev *d, uint64_t want, uint64_t need)
{
	uint64_t f;
	uint8_t s;

	need |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
	if (!vdev_reset(d))
		return false;
	vdev_set_status(d, VIRTIO_S_ACKNOWLEDGE);
	vdev_set_status(d, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER);
	d->offered = vdev_device_features(d);
	if ((d->offered & need) != need) {
		printf("virtio: device offers %#lx, lacks required %#lx\n",
		       (unsigned long)d->offered,
		       (unsigned long)(need & ~d->offered));
		vdev_set_status(d, VIRTIO_S_FAILED);
		return false;
	}
	f = d->offered & (want | need);
	vdev_set_driver_features(d, f);
	vdev_set_status(d, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER |
				   VIRTIO_S_FEATURES_OK);
	s = vdev_status(d);
	if (!(s & VIRTIO_S_FEATURES_OK)) {
		printf("virtio: FEATURES_OK not accepted (status %#x, features %#lx)\n",
		       s, (unsigned long)f);
		vdev_set_status(d, s | VIRTIO_S_FAILED);
		return false;
	}
	d->features = f;
	return true;
}

bool vdev_driver_ok(struct vdev *d)
{
	uint8_t s;

	vdev_set_status(d, VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER |
				   VIRTIO_S_FEATURES_OK | VIRTIO_S_DRIVER_OK);
	s = vdev_status(d);
	if ((s & (VIRTIO_S_NEEDS_RESET | VIRTIO_S_FAILED)) ||
	    !(s & VIRTIO_S_DRIVER_OK)) {
		printf("virtio: DRIVER_OK: status reads %#x\n", s);
		return false;
	}
	return true;
}

static uint8_t cfg_generation(struct vdev *d)
{
	if (d->transport == VIRTIO_MMIO)
		return (uint8_t)mmio_rd(d, MMIO_CONFIG_GENERATION);
	return readb(d->common + COMMON_CFGGEN);
}

static uint32_t cfg_read1(struct vdev *d, unsigned int off, unsigned int size)
{
	uintptr_t a = d->transport == VIRTIO_MMIO ?
			      d->mmio + MMIO_CONFIG + off :
			      d->device + off;

	if (d->transport == VIRTIO_PCI && !d->device)
		return 0;
	if (size == 1)
		return readb(a);
	if (size == 2)
		return readw(a);
	return readl(a);
}

uint64_t vdev_cfg_read(struct vdev *d, unsigned int off, unsigned int size)
{
	uint8_t g0, g1;
	uint64_t v;

	if (size != 8)
		return cfg_read1(d, off, size);
	do {
		g0 = cfg_generation(d);
		v = cfg_read1(d, off, 4) |
		    ((uint64_t)cfg_read1(d, off + 4, 4) << 32);
		g1 = cfg_generation(d);
	} while (g0 != g1);
	return v;
}

uint16_t vdev_num_queues(struct vdev *d)
{
	if (d->transport == VIRTIO_MMIO)
		return 0;
	return readw(d->common + COMMON_NUMQ);
}

uint16_t vdev_queue_max(struct vdev *d, uint16_t q)
{
	if (d->transport == VIRTIO_MMIO) {
		mmio_wr(d, MMIO_QUEUE_SEL, q);
		return (uint16_t)mmio_rd(d, MMIO_QUEUE_NUM_MAX);
	}
	writew(q, d->common + COMMON_Q_SELECT);
	return readw(d->common + COMMON_Q_SIZE);
}

/* Queues ---------------------------------------------------------------------- */

void vq_init_state(struct vq *vq)
{
	uint16_t i;

	memset(vq->desc, 0, 16u * vq->size);
	memset(vq->avail, 0, 6u + 2u * vq->size);
	memset(vq->used, 0, 6u + 8u * vq->size);
	for (i = 0; i < vq->size; i++) {
		vq->desc[i].next = (uint16_t)(i + 1);
		vq->token[i] = NULL;
		vq->chain_len[i] = 0;
	}
	vq->free_head = 0;
	vq->num_free = vq->size;
	vq->avail_idx = vq->kicked_idx = vq->last_used = 0;
	/* No interrupts: we poll. With EVENT_IDX, keep used_event far away. */
	if (vq->event_idx)
		*vq->used_event = 0x8000;
	else
		vq->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	vq->kicks = vq->kicks_skipped = vq->completions = 0;
}

bool vq_program(struct vq *vq)
{
	struct vdev *d = vq->dev;
	uint64_t desc = (uintptr_t)vq->desc, avail = (uintptr_t)vq->avail,
		 used = (uintptr_t)vq->used;

	vq->event_idx = vdev_has(d, VIRTIO_F_EVENT_IDX);
	if (d->transport == VIRTIO_MMIO) {
		mmio_wr(d, MMIO_QUEUE_SEL, vq->index);
		if (mmio_rd(d, MMIO_QUEUE_READY)) {
			printf("virtio-mmio: queue %u already ready\n",
			       vq->index);
			return false;
		}
		mmio_wr(d, MMIO_QUEUE_NUM, vq->size);
		mmio_wr(d, MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
		mmio_wr(d, MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
		mmio_wr(d, MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
		mmio_wr(d, MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
		mmio_wr(d, MMIO_QUEUE_USED_LOW, (uint32_t)used);
		mmio_wr(d, MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
		mmio_wr(d, MMIO_QUEUE_READY, 1);
		vq->notify_addr = d->mmio + MMIO_QUEUE_NOTIFY;
		return true;
	}
	writew(vq->index, d->common + COMMON_Q_SELECT);
	writew(vq->size, d->common + COMMON_Q_SIZE);
	writew(VIRTIO_MSI_NO_VECTOR, d->common + COMMON_Q_MSIX);
	writel((uint32_t)desc, d->common + COMMON_Q_DESCLO);
	writel((uint32_t)(desc >> 32), d->common + COMMON_Q_DESCHI);
	writel((uint32_t)avail, d->common + COMMON_Q_AVAILLO);
	writel((uint32_t)(avail >> 32), d->common + COMMON_Q_AVAILHI);
	writel((uint32_t)used, d->common + COMMON_Q_USEDLO);
	writel((uint32_t)(used >> 32), d->common + COMMON_Q_USEDHI);
	vq->notify_addr =
		d->notify +
		(uintptr_t)readw(d->common + COMMON_Q_NOFF) * d->notify_mult;
	writew(1, d->common + COMMON_Q_ENABLE);
	return true;
}

bool vq_setup(struct vq *vq, struct vdev *d, uint16_t q, uint16_t size)
{
	uint16_t max = vdev_queue_max(d, q);

	if (!max) {
		printf("virtio: queue %u does not exist\n", q);
		return false;
	}
	if (size > max)
		size = max;
	/* A split ring's size is a power of two. */
	while (size & (size - 1))
		size &= (uint16_t)(size - 1);
	memset(vq, 0, sizeof(*vq));
	vq->dev = d;
	vq->index = q;
	vq->size = size;
	vq->desc = dma_alloc(16u * size, 16);
	vq->avail = dma_alloc(6u + 2u * size, 2);
	vq->used = dma_alloc(6u + 8u * size, 4);
	vq->used_event = &vq->avail->ring[size];
	vq->avail_event = (volatile uint16_t *)&vq->used->ring[size];
	vq->token = dma_alloc(sizeof(void *) * size, 8);
	vq->chain_len = dma_alloc(2u * size, 2);
	vq->event_idx = vdev_has(d, VIRTIO_F_EVENT_IDX);
	vq_init_state(vq);
	return vq_program(vq);
}

int vq_add(struct vq *vq, const struct vbuf *b, unsigned int n, void *token)
{
	uint16_t head, i, last = 0;
	unsigned int k;

	if (!n || n > vq->num_free)
		return -1;
	head = i = vq->free_head;
	for (k = 0; k < n; k++) {
		struct vring_desc *dsc = &vq->desc[i];

		dsc->addr = (uintptr_t)b[k].addr;
		dsc->len = b[k].len;
		dsc->flags = (uint16_t)((b[k].write ? VRING_DESC_F_WRITE : 0) |
					(k + 1 < n ? VRING_DESC_F_NEXT : 0));
		last = i;
		i = dsc->next;
	}
	vq->free_head = vq->desc[last].next;
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->token[head] = token;
	vq->chain_len[head] = (uint16_t)n;
	vq_publish(vq, head);
	return head;
}

void vq_publish(struct vq *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
	barrier(); /* x86 keeps stores in order; the compiler must too */
	vq->avail_idx++;
	*(volatile uint16_t *)&vq->avail->idx = vq->avail_idx;
}

void vq_notify(struct vq *vq)
{
	vq->kicks++;
	if (vq->dev->transport == VIRTIO_MMIO)
		writel(vq->index, vq->notify_addr);
	else
		writew(vq->index, vq->notify_addr);
}

void vq_kick(struct vq *vq)
{
	uint16_t old = vq->kicked_idx, new = vq->avail_idx;
	bool need;

	if (old == new)
		return;
	vq->kicked_idx = new;
	/* The idx store must be seen before we read the device's wish. */
	mb();
	if (vq->event_idx) {
		uint16_t ev = *vq->avail_event;

		need = (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
	} else {
		need = !(*(volatile uint16_t *)&vq->used->flags &
			 VRING_USED_F_NO_NOTIFY);
	}
	if (need)
		vq_notify(vq);
	else
		vq->kicks_skipped++;
}

uint16_t vq_used_idx(struct vq *vq)
{
	return *(volatile uint16_t *)&vq->used->idx;
}

void *vq_get(struct vq *vq, uint32_t *len)
{
	struct vring_used_elem e;
	uint16_t head, i, n;
	void *token;

	if (vq->last_used == vq_used_idx(vq))
		return NULL;
	barrier(); /* loads stay in order on x86 */
	e = *(volatile struct vring_used_elem *)&vq->used
		     ->ring[vq->last_used & (vq->size - 1)];
	vq->last_used++;
	if (vq->event_idx)
		*vq->used_event = (uint16_t)(vq->last_used + 0x8000);
	if (e.id >= vq->size || !vq->chain_len[e.id]) {
		printf("virtio: queue %u: device returned bad id %u\n",
		       vq->index, e.id);
		guest_exit(GUEST_FAIL);
	}
	head = (uint16_t)e.id;
	token = vq->token[head];
	n = vq->chain_len[head];
	/* Give the chain back to the free list. */
	for (i = head; --n; i = vq->desc[i].next)
		;
	vq->desc[i].next = vq->free_head;
	vq->free_head = head;
	vq->num_free = (uint16_t)(vq->num_free + vq->chain_len[head]);
	vq->chain_len[head] = 0;
	vq->token[head] = NULL;
	vq->completions++;
	if (len)
		*len = e.len;
	return token;
}
