// SPDX-License-Identifier: GPL-2.0
/*
 * A VFIO device as a guest PCI function. Config space is ours, built from
 * the device's: identity, BARs (emulated: sized and placed by pci.c, never
 * written to the device), and the capabilities devisor emulates kept at
 * the device's own offsets (PM, MSI, MSI-X, PCIe); every other capability
 * is left out of the list, the extended list is empty. Bytes of 40h-FFh
 * that no capability covers (device-specific registers) go to the device,
 * which vfio-pci itself guards. Command's decode and bus-master bits reach
 * the device too. docs/vfio.md.
 *
 * BAR pages VFIO lets us mmap become KVM memory slots while the BAR
 * decodes, except the pages holding the MSI-X table and PBA: those trap
 * to msix.c (the guest's vectors), the rest of such a page to the device.
 *
 * Interrupts: each vector of MSI-X or MSI is a msi_vectors eventfd that
 * VFIO signals and KVM injects through an irqfd (or keeps pending while
 * the guest masks it); INTx is an irqfd with resample, so VFIO unmasks
 * the line at the guest's EOI. Only one of the three is on at a time.
 *
 * Locking: the config hooks run under pdev.lock and take the MSI-X/MSI
 * and vector locks inside it, as for emulated functions.
 */
#include "vfio/pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "kvm/dma.h"
#include "kvm/irq.h"
#include "kvm/msi_vectors.h"
#include "kvm/vm.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "util/common.h"
#include "util/log.h"
#include "vfio/shadow.h"
#include "vfio/vfio.h"

#define CFG_REGION VFIO_PCI_CONFIG_REGION_INDEX
#define MAX_PIECES (VFIO_MAX_AREAS * 3)

enum irq_mode { IRQ_NONE, IRQ_INTX, IRQ_MSI, IRQ_MSIX };

struct vbar {
	struct vfio_pci *vp;
	unsigned int idx;
	/* mmaps of the region's areas (NULL: that area is trapped). */
	void *map[VFIO_MAX_AREAS];
	/* Memory slots while the BAR decodes. */
	int slots[MAX_PIECES];
	unsigned int nr_slots;
};

struct vfio_pci {
	struct pci_dev pdev;
	struct vfio_device vd;
	struct vm *vm;
	char name[40];
	struct vbar bars[PCI_NUM_BAR_SLOTS];
	uint8_t *rom; /* the expansion ROM, read once at open */
	uint64_t rom_len;
	struct msix msix;
	struct msi msi;
	struct msi_vectors vectors;
	bool has_msix, has_msi;
	/* Config bytes devisor emulates; the others are the device's. */
	uint8_t emulated[PCI_CFG_SPACE_SIZE];
	/* Under pdev.lock. */
	enum irq_mode mode;
	unsigned int nr_msi; /* vectors given to VFIO for IRQ_MSI */
	int intx_efd, intx_resample_efd;
	bool intx_wired; /* the irqfd is assigned */
	bool broken_logged;

	/*
	 * Behind the emulated IOMMU: the device's DMA space there, and its
	 * container kept a mirror of it.
	 */
	bool has_dma;
	struct dma_space dma;
	struct shadow shadow;
};

static struct vfio_pci *to_vp(struct pci_dev *pdev)
{
	return container_of(pdev, struct vfio_pci, pdev);
}

static bool overlaps(unsigned int off, unsigned int size, unsigned int reg,
		     unsigned int reg_size)
{
	return off < reg + reg_size && reg < off + size;
}

/* Device accesses ---------------------------------------------------------- */

static uint32_t dev_cfg_read(struct vfio_pci *vp, unsigned int off,
			     unsigned int size)
{
	uint32_t v = 0;

	if (vfio_region_read(&vp->vd, CFG_REGION, off, &v, size))
		return ~0u >> (32 - 8 * size);
	return v; /* little-endian host */
}

static void dev_cfg_write(struct vfio_pci *vp, unsigned int off, uint32_t v,
			  unsigned int size)
{
	int ret = vfio_region_write(&vp->vd, CFG_REGION, off, &v, size);

	if (ret)
		pr_warn_ratelimited("%s: config write %#x: %s", vp->name, off,
				    strerror(-ret));
}

/* Trapped BAR accesses: I/O BARs, and what no memory slot covers. */
static uint64_t bar_read(void *opaque, uint64_t off, unsigned int size)
{
	struct vbar *b = opaque;
	uint64_t v = 0;

	if (vfio_region_read(&b->vp->vd, b->idx, off, &v, size))
		return ~0ull >> (64 - 8 * size);
	return v;
}

static void bar_write(void *opaque, uint64_t off, uint64_t val,
		      unsigned int size)
{
	struct vbar *b = opaque;

	vfio_region_write(&b->vp->vd, b->idx, off, &val, size);
}

static const struct bus_ops vbar_ops = {
	.read = bar_read,
	.write = bar_write,
};

/* Interrupts (pdev.lock held) ------------------------------------------ */

static void log_irq_error(struct vfio_pci *vp, const char *what, int err)
{
	if (vp->broken_logged)
		return;
	vp->broken_logged = true;
	pr_err("%s: cannot %s: %s; its interrupts will not reach the guest",
	       vp->name, what, strerror(-err));
}

static void intx_off(struct vfio_pci *vp)
{
	if (vp->mode != IRQ_INTX)
		return;
	vfio_irq_set_eventfds(&vp->vd, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, NULL);
	vp->mode = IRQ_NONE;
}

static void intx_on(struct vfio_pci *vp)
{
	int ret;

	if (!vp->intx_wired || vp->mode != IRQ_NONE)
		return;
	ret = vfio_irq_set_eventfds(&vp->vd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
				    &vp->intx_efd);
	if (!ret)
		ret = vfio_irq_set_unmask_fd(&vp->vd, VFIO_PCI_INTX_IRQ_INDEX,
					     vp->intx_resample_efd);
	if (ret) {
		log_irq_error(vp, "enable INTx", ret);
		return;
	}
	vp->mode = IRQ_INTX;
}

/* VFIO gets the group's eventfds for vectors 0..@n-1. */
static int vectors_on(struct vfio_pci *vp, unsigned int index, unsigned int n)
{
	int fds[MSIX_MAX_VECTORS];

	for (unsigned int i = 0; i < n; i++) {
		fds[i] = msi_vectors_eventfd(&vp->vectors, i);
		if (fds[i] < 0)
			return -ENOTSUP; /* KVM has no irqfd for us */
	}
	return vfio_irq_set_eventfds(&vp->vd, index, 0, n, fds);
}

/*
 * Makes the device's interrupt mode what the guest's config space says:
 * MSI-X if enabled, else MSI if enabled, else INTx. VFIO takes one mode
 * at a time, so the old one goes first.
 */
static void sync_irqs(struct vfio_pci *vp)
{
	enum irq_mode want = IRQ_INTX;
	unsigned int nr_msi = 0;
	int ret;

	if (vp->has_msix && msix_enabled(&vp->msix)) {
		want = IRQ_MSIX;
	} else if (vp->has_msi && msi_enabled(&vp->msi)) {
		want = IRQ_MSI;
		nr_msi = vp->msi.nr_enabled ? vp->msi.nr_enabled : 1;
	}
	if (want == vp->mode && (want != IRQ_MSI || nr_msi == vp->nr_msi))
		return;
	if (vp->mode == IRQ_INTX)
		intx_off(vp);
	else if (vp->mode == IRQ_MSIX || vp->mode == IRQ_MSI)
		vfio_irq_set_eventfds(&vp->vd,
				      vp->mode == IRQ_MSIX ?
					      VFIO_PCI_MSIX_IRQ_INDEX :
					      VFIO_PCI_MSI_IRQ_INDEX,
				      0, 0, NULL);
	vp->mode = IRQ_NONE;
	switch (want) {
	case IRQ_MSIX:
		ret = vectors_on(vp, VFIO_PCI_MSIX_IRQ_INDEX,
				 vp->msix.nr_vectors);
		if (ret)
			log_irq_error(vp, "enable MSI-X", ret);
		else
			vp->mode = IRQ_MSIX;
		break;
	case IRQ_MSI:
		ret = vectors_on(vp, VFIO_PCI_MSI_IRQ_INDEX, nr_msi);
		if (ret) {
			log_irq_error(vp, "enable MSI", ret);
		} else {
			vp->mode = IRQ_MSI;
			vp->nr_msi = nr_msi;
		}
		break;
	default:
		intx_on(vp);
		break;
	}
}

/* The shadow of the guest's IOMMU domain (vfio/shadow.c) ------------------ */

static int shadow_vfio_map(void *opaque, uint64_t iova, uint64_t len, void *hva,
			   enum dma_dir dir)
{
	struct vfio_pci *vp = opaque;

	return vfio_dma_map(&vp->vd, iova, len, hva, dir & DMA_READ,
			    dir & DMA_WRITE);
}

static int shadow_vfio_unmap(void *opaque, uint64_t iova, uint64_t len)
{
	struct vfio_pci *vp = opaque;

	return vfio_dma_unmap(&vp->vd, iova, len);
}

static const struct shadow_ops shadow_vfio_ops = {
	.map = shadow_vfio_map,
	.unmap = shadow_vfio_unmap,
};

static int dma_shadow_init(struct vfio_pci *vp)
{
	int ret = pci_dev_dma_init(&vp->pdev, &vp->dma);

	if (ret)
		return ret;
	vp->has_dma = true;
	shadow_init(&vp->shadow, &vp->dma, &shadow_vfio_ops, vp, vp->name,
		    SHADOW_MAX_MAPPINGS);
	pr_debug("%s: DMA through the emulated IOMMU, %u mappings now",
		 vp->name, vp->shadow.nr);
	return 0;
}

static void dma_shadow_destroy(struct vfio_pci *vp)
{
	if (!vp->has_dma)
		return;
	shadow_destroy(&vp->shadow);
	dma_space_destroy(&vp->dma);
	vp->has_dma = false;
}

/* Memory slots for the BARs (pdev.lock held) ------------------------------ */

/* A page-aligned hole of @b's BAR that must trap: MSI-X table and PBA. */
struct hole {
	uint64_t start, end;
};

static unsigned int msix_holes(struct vfio_pci *vp, unsigned int idx,
			       struct hole *h)
{
	unsigned int n = 0;

	if (!vp->has_msix)
		return 0;
	if (vp->msix.table_bar == idx) {
		h[n].start = vp->msix.table_off & ~4095ull;
		h[n++].end = (vp->msix.table_off +
			      msix_table_size(vp->msix.nr_vectors) + 4095) &
			     ~4095ull;
	}
	if (vp->msix.pba_bar == idx) {
		h[n].start = vp->msix.pba_off & ~4095ull;
		h[n++].end = (vp->msix.pba_off +
			      msix_pba_size(vp->msix.nr_vectors) + 4095) &
			     ~4095ull;
	}
	return n;
}

static void map_piece(struct vfio_pci *vp, struct vbar *b, uint64_t gpa,
		      uint64_t size, void *hva)
{
	int slot;

	if (!size || b->nr_slots == MAX_PIECES)
		return;
	slot = vm_map_device_memory(vp->vm, gpa, size, hva);
	if (slot < 0) {
		/* Still correct, only slower: the accesses trap. */
		pr_warn_ratelimited("%s: BAR%u %#llx+%#llx stays trapped: %s",
				    vp->name, b->idx, (unsigned long long)gpa,
				    (unsigned long long)size, strerror(-slot));
		return;
	}
	b->slots[b->nr_slots++] = slot;
}

static void bar_unmap_slots(struct vfio_pci *vp, struct vbar *b)
{
	while (b->nr_slots)
		vm_unmap_device_memory(vp->vm, b->slots[--b->nr_slots]);
}

static void vp_bar_mapped(struct pci_dev *pdev, unsigned int idx, uint64_t addr,
			  bool on)
{
	struct vfio_pci *vp = to_vp(pdev);
	struct vbar *b = &vp->bars[idx];
	const struct vfio_region *r = &vp->vd.regions[idx];
	struct hole holes[2];
	unsigned int nh;

	bar_unmap_slots(vp, b);
	/* The ROM is read through the device file: VFIO never mmaps it. */
	if (!on || addr & 4095 || idx == PCI_ROM_SLOT)
		return;
	nh = msix_holes(vp, idx, holes);
	for (unsigned int a = 0; a < r->nr_areas; a++) {
		uint64_t s = r->areas[a].offset, e = s + r->areas[a].size;
		uint8_t *base = b->map[a];

		if (!base)
			continue;
		/* The area minus the holes, in ascending pieces. */
		while (s < e) {
			uint64_t pe = e, next = e;

			for (unsigned int i = 0; i < nh; i++) {
				if (holes[i].end <= s || holes[i].start >= e)
					continue;
				if (holes[i].start <= s) {
					pe = s; /* s is inside a hole */
					next = holes[i].end < e ? holes[i].end :
								  e;
					break;
				}
				if (holes[i].start < pe) {
					pe = holes[i].start;
					next = pe;
				}
			}
			map_piece(vp, b, addr + s, pe - s,
				  base + (s - r->areas[a].offset));
			s = next > s ? next : e;
		}
	}
}

static int bar_mmap(struct vfio_pci *vp, unsigned int idx)
{
	const struct vfio_region *r = &vp->vd.regions[idx];
	struct vbar *b = &vp->bars[idx];

	for (unsigned int a = 0; a < r->nr_areas; a++) {
		void *p;

		/* Slots are whole pages; a smaller BAR just traps. */
		if ((r->areas[a].offset | r->areas[a].size) & 4095)
			continue;
		p = mmap(NULL, r->areas[a].size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vp->vd.fd, r->offset + r->areas[a].offset);
		if (p == MAP_FAILED) {
			pr_warn("%s: BAR%u cannot be mmapped (%s): trapped",
				vp->name, idx, strerror(errno));
			continue;
		}
		b->map[a] = p;
	}
	return 0;
}

static void bar_munmap(struct vfio_pci *vp, unsigned int idx)
{
	const struct vfio_region *r = &vp->vd.regions[idx];
	struct vbar *b = &vp->bars[idx];

	bar_unmap_slots(vp, b);
	for (unsigned int a = 0; a < r->nr_areas; a++)
		if (b->map[a]) {
			munmap(b->map[a], r->areas[a].size);
			b->map[a] = NULL;
		}
}

/* Config space (pdev.lock held) ------------------------------------------ */

static bool all_passthrough(struct vfio_pci *vp, unsigned int off,
			    unsigned int size)
{
	if (off + size > PCI_CFG_SPACE_SIZE)
		return false;
	for (unsigned int i = 0; i < size; i++)
		if (vp->emulated[off + i])
			return false;
	return true;
}

static void vp_cfg_read(struct pci_dev *pdev, unsigned int off,
			unsigned int size, uint32_t *val)
{
	struct vfio_pci *vp = to_vp(pdev);

	if (all_passthrough(vp, off, size))
		*val = dev_cfg_read(vp, off, size);
}

static void function_reset(struct vfio_pci *vp)
{
	int ret;

	/* Interrupts off first: nothing fires into a reset function. */
	if (vp->mode == IRQ_MSIX || vp->mode == IRQ_MSI)
		vfio_irq_set_eventfds(&vp->vd,
				      vp->mode == IRQ_MSIX ?
					      VFIO_PCI_MSIX_IRQ_INDEX :
					      VFIO_PCI_MSI_IRQ_INDEX,
				      0, 0, NULL);
	else
		intx_off(vp);
	vp->mode = IRQ_NONE;
	ret = vfio_device_reset(&vp->vd);
	if (ret && ret != -ENOTTY)
		pr_warn("%s: VFIO_DEVICE_RESET: %s", vp->name, strerror(-ret));
	pci_dev_reset(&vp->pdev);
	msi_vectors_reset(&vp->vectors);
	sync_irqs(vp);
}

static bool vp_cfg_write(struct pci_dev *pdev, unsigned int off, uint32_t val,
			 unsigned int size)
{
	struct vfio_pci *vp = to_vp(pdev);
	bool flr = pci_cfg_write_is_flr(pdev, off, val, size);

	if (all_passthrough(vp, off, size)) {
		dev_cfg_write(vp, off, val, size);
		return true;
	}
	pci_cfg_write_generic(pdev, off, val, size);
	if (flr) {
		pr_debug("%s: function level reset", vp->name);
		function_reset(vp);
		return true;
	}
	if (overlaps(off, size, PCI_COMMAND, 2)) {
		const uint16_t pass = PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
				      PCI_COMMAND_MASTER |
				      PCI_COMMAND_INTX_DISABLE;
		uint16_t cmd = (uint16_t)pci_cfg_get(pdev, PCI_COMMAND, 2);
		uint16_t real = (uint16_t)dev_cfg_read(vp, PCI_COMMAND, 2);

		dev_cfg_write(vp, PCI_COMMAND, (real & ~pass) | (cmd & pass),
			      2);
	}
	sync_irqs(vp);
	return true;
}

/* Setup -------------------------------------------------------------------- */

static void mark(struct vfio_pci *vp, unsigned int off, unsigned int size)
{
	if (off < PCI_CFG_SPACE_SIZE)
		memset(&vp->emulated[off], 1,
		       off + size > PCI_CFG_SPACE_SIZE ?
			       PCI_CFG_SPACE_SIZE - off :
			       size);
}

/* Bytes devisor's version of a capability takes (MSI: the largest). */
static unsigned int cap_size(uint8_t id)
{
	switch (id) {
	case PCI_CAP_ID_MSIX:
		return PCI_CAP_MSIX_SIZEOF;
	case PCI_CAP_ID_MSI:
		return 24;
	case PCI_CAP_ID_PM:
		return PCI_PM_SIZEOF;
	case PCI_CAP_ID_EXP:
		return 0x3c;
	default:
		return 2;
	}
}

struct real_cap {
	uint8_t id, off;
};

static int cap_cmp(const void *a, const void *b)
{
	return ((const struct real_cap *)a)->off -
	       ((const struct real_cap *)b)->off;
}

/* The device's capability list, bounded against loops, by offset. */
static unsigned int real_caps(const uint8_t *cfg, struct real_cap *caps)
{
	unsigned int n = 0, off;
	bool seen[PCI_CFG_SPACE_SIZE] = { false };

	if (!(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return 0;
	for (off = cfg[PCI_CAPABILITY_LIST] & ~3u;
	     off >= PCI_STD_HEADER_SIZEOF && off < PCI_CFG_SPACE_SIZE - 1 &&
	     !seen[off] && n < 48;
	     off = cfg[off + PCI_CAP_LIST_NEXT] & ~3u) {
		seen[off] = true;
		caps[n].id = cfg[off];
		caps[n++].off = (uint8_t)off;
	}
	qsort(caps, n, sizeof(*caps), cap_cmp);
	return n;
}

static int add_msix(struct vfio_pci *vp, const uint8_t *cfg, unsigned int off)
{
	uint16_t ctrl = cfg[off + PCI_MSIX_FLAGS] |
			cfg[off + PCI_MSIX_FLAGS + 1] << 8;
	uint32_t table = cfg[off + PCI_MSIX_TABLE] |
			 cfg[off + PCI_MSIX_TABLE + 1] << 8 |
			 cfg[off + PCI_MSIX_TABLE + 2] << 16 |
			 (uint32_t)cfg[off + PCI_MSIX_TABLE + 3] << 24;
	uint32_t pba = cfg[off + PCI_MSIX_PBA] |
		       cfg[off + PCI_MSIX_PBA + 1] << 8 |
		       cfg[off + PCI_MSIX_PBA + 2] << 16 |
		       (uint32_t)cfg[off + PCI_MSIX_PBA + 3] << 24;
	unsigned int nr = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
	int ret;

	if (pci_dev_set_next_cap(&vp->pdev, off))
		return -EINVAL;
	ret = msix_init(&vp->msix, &vp->pdev, nr, table & PCI_MSIX_TABLE_BIR,
			table & PCI_MSIX_TABLE_OFFSET, pba & PCI_MSIX_PBA_BIR,
			pba & PCI_MSIX_PBA_OFFSET);
	if (ret < 0)
		return ret;
	vp->has_msix = true;
	msix_set_vectors(&vp->msix, &vp->vectors);
	mark(vp, off, PCI_CAP_MSIX_SIZEOF);
	return 0;
}

static int add_msi(struct vfio_pci *vp, const uint8_t *cfg, unsigned int off)
{
	uint16_t ctrl = cfg[off + PCI_MSI_FLAGS] | cfg[off + PCI_MSI_FLAGS + 1]
							   << 8;
	unsigned int nr = 1u << ((ctrl & PCI_MSI_FLAGS_QMASK) >> 1);
	int ret;

	if (nr > 32)
		nr = 32;
	if (pci_dev_set_next_cap(&vp->pdev, off))
		return -EINVAL;
	ret = msi_init(&vp->msi, &vp->pdev, nr, ctrl & PCI_MSI_FLAGS_64BIT,
		       ctrl & PCI_MSI_FLAGS_MASKBIT);
	if (ret < 0)
		return ret;
	vp->has_msi = true;
	msi_set_vectors(&vp->msi, &vp->vectors);
	mark(vp, off, cap_size(PCI_CAP_ID_MSI));
	return 0;
}

static int add_pm(struct vfio_pci *vp, unsigned int off)
{
	struct pci_dev *pdev = &vp->pdev;
	int cap;

	if (pci_dev_set_next_cap(pdev, off))
		return -EINVAL;
	/* D0 and D3hot as states of ours; the device itself stays in D0. */
	cap = pci_add_pm_capability(pdev);
	if (cap < 0)
		return cap;
	mark(vp, off, PCI_PM_SIZEOF);
	return 0;
}

static int add_pcie(struct vfio_pci *vp, unsigned int off)
{
	struct pci_dev *pdev = &vp->pdev;
	int cap;

	if (pci_dev_set_next_cap(pdev, off))
		return -EINVAL;
	/*
	 * The host's topology (port type, link) is not the guest's: on our
	 * root bus the function is an integrated endpoint, with FLR when
	 * VFIO can reset the device.
	 */
	cap = pci_add_pcie_capability(pdev, PCI_EXP_TYPE_RC_END);
	if (cap < 0)
		return cap;
	if (vp->vd.flags & VFIO_DEVICE_FLAGS_RESET)
		pci_cfg_set(pdev, cap + PCI_EXP_DEVCAP,
			    pci_cfg_get(pdev, cap + PCI_EXP_DEVCAP, 4) |
				    PCI_EXP_DEVCAP_FLR,
			    4);
	mark(vp, off, cap_size(PCI_CAP_ID_EXP));
	return 0;
}

static int setup_caps(struct vfio_pci *vp, const uint8_t *cfg)
{
	struct real_cap caps[48];
	unsigned int n = real_caps(cfg, caps);
	int ret = 0;

	/* Every real capability's bytes are ours: hidden ones read 0. */
	for (unsigned int i = 0; i < n; i++) {
		unsigned int end = i + 1 < n ? caps[i + 1].off :
					       PCI_CFG_SPACE_SIZE;
		unsigned int len = end - caps[i].off;

		mark(vp, caps[i].off, len < 64 ? len : 64);
	}
	for (unsigned int i = 0; i < n && !ret; i++) {
		/* One that would run off the end of config space stays hidden. */
		if (caps[i].off + cap_size(caps[i].id) > PCI_CFG_SPACE_SIZE)
			continue;
		switch (caps[i].id) {
		case PCI_CAP_ID_MSIX:
			if (vp->vd.irq_count[VFIO_PCI_MSIX_IRQ_INDEX])
				ret = add_msix(vp, cfg, caps[i].off);
			break;
		case PCI_CAP_ID_MSI:
			if (vp->vd.irq_count[VFIO_PCI_MSI_IRQ_INDEX])
				ret = add_msi(vp, cfg, caps[i].off);
			break;
		case PCI_CAP_ID_PM:
			ret = add_pm(vp, caps[i].off);
			break;
		case PCI_CAP_ID_EXP:
			ret = add_pcie(vp, caps[i].off);
			break;
		default:
			pr_debug("%s: capability %#x at %#x hidden", vp->name,
				 caps[i].id, caps[i].off);
			break;
		}
	}
	return ret;
}

static int setup_bars(struct vfio_pci *vp, struct pci_host *host,
		      const uint8_t *cfg)
{
	for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++) {
		const struct vfio_region *r = &vp->vd.regions[i];
		uint32_t reg = cfg[PCI_BASE_ADDRESS_0 + 4 * i] |
			       cfg[PCI_BASE_ADDRESS_0 + 4 * i + 1] << 8;
		unsigned int type;
		int ret;

		if (i >= vp->vd.nr_regions || !r->size)
			continue;
		if (r->size & (r->size - 1)) {
			pr_err("%s: BAR%u size %#llx is not a power of two",
			       vp->name, i, (unsigned long long)r->size);
			return -EINVAL;
		}
		if ((reg & PCI_BASE_ADDRESS_SPACE_IO) &&
		    !pci_host_has_io(host)) {
			/*
			 * Usually a legacy alias of a memory BAR; the guest
			 * sees it unimplemented, as on hosts without port I/O.
			 */
			pr_warn("%s: BAR%u is I/O ports (%#llx), which this "
				"board's PCI host has none of: left out",
				vp->name, i, (unsigned long long)r->size);
			continue;
		}
		if (reg & PCI_BASE_ADDRESS_SPACE_IO) {
			type = PCI_BAR_IO;
		} else {
			type = (reg & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
					       PCI_BASE_ADDRESS_MEM_TYPE_64 ?
				       PCI_BAR_MEM64 :
				       PCI_BAR_MEM32;
			if (reg & PCI_BASE_ADDRESS_MEM_PREFETCH)
				type |= PCI_BAR_PREFETCH;
		}
		vp->bars[i].vp = vp;
		vp->bars[i].idx = i;
		ret = pci_dev_set_bar(
			&vp->pdev, i,
			r->size < 16 && type != PCI_BAR_IO ? 16 : r->size, type,
			&vbar_ops, &vp->bars[i]);
		if (ret) {
			pr_err("%s: BAR%u (%#llx bytes): %s", vp->name, i,
			       (unsigned long long)r->size, strerror(-ret));
			return ret;
		}
		if (type != PCI_BAR_IO)
			bar_mmap(vp, i);
		if ((type & ~PCI_BAR_PREFETCH) == PCI_BAR_MEM64)
			i++;
	}
	return 0;
}

/* Reads of the ROM BAR: from the copy; past its end, all ones. */
static uint64_t rom_read(void *opaque, uint64_t off, unsigned int size)
{
	struct vfio_pci *vp = opaque;
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)(off + i < vp->rom_len ? vp->rom[off + i] : 0xff)
		     << (8 * i);
	return v;
}

static const struct bus_ops rom_ops = {
	.read = rom_read,
};

/*
 * The expansion ROM, as the guest's own BAR over a copy read once from
 * VFIO's ROM region (as QEMU does): each read of that region makes the
 * host map and unmap the device's ROM, which a guest reading it a dword
 * at a time would do thousands of times.
 */
static int setup_rom(struct vfio_pci *vp)
{
	const struct vfio_region *r =
		&vp->vd.regions[VFIO_PCI_ROM_REGION_INDEX];
	uint64_t size = r->size;
	ssize_t n;
	int ret;

	if (VFIO_PCI_ROM_REGION_INDEX >= vp->vd.nr_regions || !size)
		return 0;
	if (size < 2048)
		size = 2048;
	if ((size & (size - 1)) || size > (1u << 24)) {
		pr_warn("%s: expansion ROM of %#llx bytes hidden (not a power of two up to 16 MiB)",
			vp->name, (unsigned long long)r->size);
		return 0;
	}
	vp->rom = malloc(r->size);
	if (!vp->rom)
		return -ENOMEM;
	/* vfio-pci reads no further than the ROM's images: may be short. */
	n = pread(vp->vd.fd, vp->rom, r->size, (off_t)r->offset);
	if (n <= 0) {
		pr_warn("%s: expansion ROM unreadable (%s): hidden", vp->name,
			n < 0 ? strerror(errno) : "empty");
		free(vp->rom);
		vp->rom = NULL;
		return 0;
	}
	vp->rom_len = (uint64_t)n;
	ret = pci_dev_set_rom(&vp->pdev, size, &rom_ops, vp);
	if (ret)
		pr_err("%s: expansion ROM (%#llx bytes): %s", vp->name,
		       (unsigned long long)r->size, strerror(-ret));
	return ret;
}

static int setup_intx(struct vfio_pci *vp)
{
	struct pci_dev *pdev = &vp->pdev;
	int ret;

	if (!pdev->intx_pin)
		return 0;
	vp->intx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vp->intx_resample_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vp->intx_efd < 0 || vp->intx_resample_efd < 0)
		return -errno;
	ret = vm_irqfd_assign_resample(vp->vm, vp->intx_efd,
				       vp->intx_resample_efd, pdev->intx_gsi);
	if (ret == -EOPNOTSUPP) {
		pr_info("%s: no INTx with interrupt remapping (the IOAPIC is "
			"devisor's), MSI and MSI-X only; --iommu "
			"vtd,intremap=off gives INTx",
			vp->name);
		return 0;
	}
	if (ret) {
		pr_warn("%s: no INTx (KVM resample irqfd: %s)", vp->name,
			strerror(-ret));
		return 0;
	}
	vp->intx_wired = true;
	return 0;
}

static void vp_destroy(struct vfio_pci *vp);

static void vp_dev_destroy(struct device *dev);

struct vfio_pci *vfio_pci_from_pdev(struct pci_dev *pdev)
{
	if (!pdev || pdev->dev.destroy != vp_dev_destroy)
		return NULL;
	return container_of(pdev, struct vfio_pci, pdev);
}

struct pci_dev *vfio_pci_pdev(struct vfio_pci *vp)
{
	return &vp->pdev;
}

void vfio_pci_destroy(struct vfio_pci *vp)
{
	/* Called directly, not from devices_destroy(): leave the list. */
	device_unregister(vp->vm, &vp->pdev.dev);
	vp_destroy(vp);
}

static void vp_destroy(struct vfio_pci *vp)
{
	pci_dev_exit(&vp->pdev);
	dma_shadow_destroy(vp);
	if (vp->mode == IRQ_MSIX || vp->mode == IRQ_MSI)
		vfio_irq_set_eventfds(&vp->vd,
				      vp->mode == IRQ_MSIX ?
					      VFIO_PCI_MSIX_IRQ_INDEX :
					      VFIO_PCI_MSI_IRQ_INDEX,
				      0, 0, NULL);
	intx_off(vp);
	if (vp->intx_wired)
		vm_irqfd_deassign(vp->vm, vp->intx_efd, vp->pdev.intx_gsi);
	for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++)
		if (i < vp->vd.nr_regions)
			bar_munmap(vp, i);
	/* The device goes back to the host as it came. */
	vfio_device_reset(&vp->vd);
	if (vp->has_msix)
		msix_destroy(&vp->msix);
	if (vp->has_msi)
		msi_destroy(&vp->msi);
	msi_vectors_destroy(&vp->vectors);
	free(vp->rom);
	if (vp->intx_efd >= 0)
		close(vp->intx_efd);
	if (vp->intx_resample_efd >= 0)
		close(vp->intx_resample_efd);
	vfio_device_close(&vp->vd);
	free(vp);
}

static void vp_dev_destroy(struct device *dev)
{
	vp_destroy(to_vp(container_of(dev, struct pci_dev, dev)));
}

static void vp_dev_reset(struct device *dev)
{
	struct vfio_pci *vp = to_vp(container_of(dev, struct pci_dev, dev));

	pci_dev_lock(&vp->pdev);
	function_reset(vp);
	pci_dev_unlock(&vp->pdev);
}

struct vfio_pci *vfio_pci_create(struct vm *vm, struct pci_host *host,
				 const char *path, int devfn,
				 unsigned int flags, char *err, size_t errlen)
{
	struct vfio_device vd;

	/* Behind an emulated IOMMU: a container of its own, a shadow. */
	if (vfio_device_open(vm, path, pci_host_has_iommu(host), &vd, err,
			     errlen))
		return NULL;
	return vfio_pci_create_dev(vm, host, &vd, devfn, flags, err, errlen);
}

struct vfio_pci *vfio_pci_create_dev(struct vm *vm, struct pci_host *host,
				     struct vfio_device *vd, int devfn,
				     unsigned int flags, char *err,
				     size_t errlen)
{
	struct vfio_pci *vp = calloc(1, sizeof(*vp));
	uint8_t cfg[PCI_CFG_SPACE_SIZE];
	struct pci_dev *pdev;
	unsigned int nv;
	int ret;

	if (!vp) {
		snprintf(err, errlen, "out of memory");
		vfio_device_close(vd);
		return NULL;
	}
	vp->vm = vm;
	vp->intx_efd = vp->intx_resample_efd = -1;
	vp->vd = *vd;
	snprintf(vp->name, sizeof(vp->name), "vfio-%s", vp->vd.name);
	/* The guest gets the device as after a reset, also at each VM start. */
	ret = vfio_device_reset(&vp->vd);
	if (ret && ret != -ENOTTY)
		pr_warn("%s: VFIO_DEVICE_RESET: %s", vp->name, strerror(-ret));
	if (vp->vd.nr_regions <= CFG_REGION ||
	    vfio_region_read(&vp->vd, CFG_REGION, 0, cfg, sizeof(cfg))) {
		snprintf(err, errlen, "%s: cannot read its config space",
			 vp->vd.name);
		goto fail_dev;
	}
	nv = vp->vd.irq_count[VFIO_PCI_MSIX_IRQ_INDEX];
	if (vp->vd.irq_count[VFIO_PCI_MSI_IRQ_INDEX] > nv)
		nv = vp->vd.irq_count[VFIO_PCI_MSI_IRQ_INDEX];
	if (nv > MSIX_MAX_VECTORS)
		nv = MSIX_MAX_VECTORS;
	if (msi_vectors_init(&vp->vectors, vp->name, nv ? nv : 1,
			     vm_irq_ops(vm), vm)) {
		snprintf(err, errlen, "%s: no memory for its vectors",
			 vp->vd.name);
		goto fail_dev;
	}

	pdev = &vp->pdev;
	pci_dev_init(pdev, vp->name, cfg[PCI_VENDOR_ID] | cfg[1] << 8,
		     cfg[PCI_DEVICE_ID] | cfg[3] << 8,
		     cfg[PCI_CLASS_PROG] | cfg[PCI_CLASS_DEVICE] << 8 |
			     cfg[PCI_CLASS_DEVICE + 1] << 16,
		     cfg[PCI_REVISION_ID]);
	pci_dev_set_subsystem(pdev,
			      cfg[PCI_SUBSYSTEM_VENDOR_ID] |
				      cfg[PCI_SUBSYSTEM_VENDOR_ID + 1] << 8,
			      cfg[PCI_SUBSYSTEM_ID] | cfg[PCI_SUBSYSTEM_ID + 1]
							      << 8);
	mark(vp, 0, PCI_STD_HEADER_SIZEOF);
	ret = pci_dev_set_intx_pin(pdev,
				   vp->vd.irq_count[VFIO_PCI_INTX_IRQ_INDEX] &&
						   cfg[PCI_INTERRUPT_PIN] <= 4 ?
					   cfg[PCI_INTERRUPT_PIN] :
					   0);
	if (!ret)
		ret = setup_bars(vp, host, cfg);
	if (!ret && !(flags & VFIO_PCI_NO_ROM))
		ret = setup_rom(vp);
	if (!ret)
		ret = setup_caps(vp, cfg);
	if (ret) {
		snprintf(err, errlen, "%s: cannot model its config space: %s",
			 vp->vd.name, strerror(-ret));
		goto fail_pdev;
	}
	pdev->cfg_read = vp_cfg_read;
	pdev->cfg_write = vp_cfg_write;
	pdev->bar_mapped = vp_bar_mapped;
	pdev->dev.kind = DEV_PCI;
	pdev->dev.reset = vp_dev_reset;
	pdev->dev.destroy = vp_dev_destroy;
	ret = pci_dev_register(host, pdev, devfn);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot put it on the PCI bus: %s",
			 vp->vd.name, strerror(-ret));
		goto fail_pdev;
	}
	devfn = ret;
	msi_vectors_set_requester(&vp->vectors, pdev->bus << 8 | devfn);
	if (pci_host_has_iommu(host)) {
		ret = dma_shadow_init(vp);
		if (ret) {
			snprintf(err, errlen,
				 "%s: no DMA space behind the IOMMU: %s",
				 vp->vd.name, strerror(-ret));
			/* Registered: it goes the way of any device. */
			vfio_pci_destroy(vp);
			return NULL;
		}
	}
	if (setup_intx(vp))
		pr_warn("%s: no INTx: %s", vp->name, strerror(errno));
	pci_dev_lock(pdev);
	sync_irqs(vp);
	pci_dev_unlock(pdev);
	pr_info("%s: passed through at %02x.%x (%04x:%04x, %u MSI-X, %u MSI "
		"vectors%s)",
		vp->name, PCI_SLOT(devfn), PCI_FUNC(devfn),
		pci_cfg_get(pdev, PCI_VENDOR_ID, 2),
		pci_cfg_get(pdev, PCI_DEVICE_ID, 2),
		vp->has_msix ? vp->msix.nr_vectors : 0,
		vp->has_msi ? vp->msi.max_vectors : 0,
		vp->intx_wired ? ", INTx" : "");
	return vp;

fail_pdev:
	free(vp->rom);
	for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++)
		if (i < vp->vd.nr_regions)
			bar_munmap(vp, i);
	if (vp->has_msix)
		msix_destroy(&vp->msix);
	if (vp->has_msi)
		msi_destroy(&vp->msi);
	pthread_mutex_destroy(&pdev->lock);
	msi_vectors_destroy(&vp->vectors);
fail_dev:
	vfio_device_close(&vp->vd);
	free(vp);
	return NULL;
}

int vfio_pci_create_devices(struct vm *vm, const struct vm_config *cfg,
			    struct pci_host *host)
{
	for (unsigned int i = 0; i < cfg->nr_vfio; i++) {
		char err[512];

		if (cfg->vfio[i].removed)
			continue;
		if (!vfio_pci_create(vm, host, cfg->vfio[i].path,
				     cfg->vfio[i].addr,
				     cfg->vfio[i].no_rom ? VFIO_PCI_NO_ROM : 0,
				     err, sizeof(err))) {
			pr_err("--device %s: %s", cfg->vfio[i].path, err);
			return -ENODEV;
		}
	}
	return 0;
}
