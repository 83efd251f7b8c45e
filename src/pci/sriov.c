// SPDX-License-Identifier: GPL-2.0
/*
 * SR-IOV: the PF's capability and the life of its VFs. See sriov.h and
 * docs/pci.md ("SR-IOV").
 */
#include "pci/sriov.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci/pci.h"
#include "util/log.h"

/* Only 4 KiB system pages are offered, so VF BARs are 4 KiB aligned. */
#define SRIOV_PGSIZE_4K 0x1u

static unsigned int reg(const struct pci_sriov *sr, unsigned int off)
{
	return sr->cap + off;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int pci_sriov_vf_devfn(const struct pci_sriov *sr, unsigned int pf_devfn,
		       unsigned int i)
{
	unsigned int rid = pf_devfn + sr->cfg.offset + i * sr->cfg.stride;

	/* One bus: a routing ID past 00:1f.7 would be on bus 1. */
	return rid > 0xff ? -1 : (int)rid;
}

/* The VFs' BAR source: VF BAR n + i * size, while VF MSE is set. */
static bool vf_bar_addr(void *opaque, struct pci_dev *pdev, unsigned int idx,
			uint64_t *addr)
{
	struct pci_sriov_vf *vf = opaque;
	struct pci_sriov *sr = vf->sr;
	bool ok;

	if (idx >= PCI_SRIOV_NUM_BARS)
		return false;
	pthread_mutex_lock(&sr->bar_lock);
	ok = sr->mse && sr->base[idx];
	if (ok)
		*addr = sr->base[idx] + vf->idx * sr->cfg.bar_size[idx];
	pthread_mutex_unlock(&sr->bar_lock);
	return ok;
}

static const struct pci_bar_source vf_bar_source = {
	.addr = vf_bar_addr,
};

static unsigned int bar_type(const struct pci_sriov *sr, unsigned int i)
{
	return sr->cfg.bar_type[i] & ~PCI_BAR_PREFETCH;
}

/* The VF BAR registers as the PF's config holds them (PF's lock held). */
static uint64_t read_base(struct pci_sriov *sr, unsigned int i)
{
	uint32_t lo = pci_cfg_get(sr->pf, reg(sr, PCI_SRIOV_BAR + 4 * i), 4);

	switch (bar_type(sr, i)) {
	case PCI_BAR_MEM32:
		return lo & 0xfffffff0u;
	case PCI_BAR_MEM64:
		return (lo & 0xfffffff0u) |
		       (uint64_t)pci_cfg_get(
			       sr->pf, reg(sr, PCI_SRIOV_BAR + 4 * i + 4), 4)
			       << 32;
	default:
		return 0;
	}
}

/* Refreshes the cache; true when a VF's BARs may have moved. */
static bool update_cache(struct pci_sriov *sr)
{
	uint16_t ctrl = pci_cfg_get(sr->pf, reg(sr, PCI_SRIOV_CTRL), 2);
	bool changed = false, mse = ctrl & PCI_SRIOV_CTRL_MSE;
	uint64_t base[PCI_SRIOV_NUM_BARS];

	for (unsigned int i = 0; i < PCI_SRIOV_NUM_BARS; i++)
		base[i] = read_base(sr, i);
	pthread_mutex_lock(&sr->bar_lock);
	if (mse != sr->mse)
		changed = true;
	sr->mse = mse;
	for (unsigned int i = 0; i < PCI_SRIOV_NUM_BARS; i++) {
		if (base[i] != sr->base[i])
			changed = true;
		sr->base[i] = base[i];
	}
	pthread_mutex_unlock(&sr->bar_lock);
	return changed;
}

/* A VF's config as the spec has it, before it is registered. */
static void setup_vf(struct pci_sriov *sr, struct pci_sriov_vf *vf)
{
	struct pci_dev *pdev = vf->pdev;

	/* Vendor and Device ID read 0xffff: software takes them from the PF. */
	pci_cfg_set(pdev, PCI_VENDOR_ID, 0xffff, 2);
	pci_cfg_set(pdev, PCI_DEVICE_ID, 0xffff, 2);
	/* Memory and I/O Space Enable are RO zero: VF MSE decides. */
	pci_cfg_set(pdev, PCI_COMMAND,
		    pci_cfg_get(pdev, PCI_COMMAND, 2) &
			    ~(PCI_COMMAND_MEMORY | PCI_COMMAND_IO),
		    2);
	pci_cfg_set_wmask(pdev, PCI_COMMAND,
			  PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
				  PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE,
			  2);
	pdev->virtfn = true;
	if (!pdev->bar_source)
		pci_dev_set_bar_source(pdev, &vf_bar_source, vf);
}

static void enable(struct pci_sriov *sr)
{
	struct pci_dev *pf = sr->pf;
	unsigned int n = sr->num_vfs;

	sr->enabled = true;
	sr->nr_vfs = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct pci_sriov_vf *vf = &sr->vfs[i];
		int devfn = pci_sriov_vf_devfn(sr, pf->devfn, i);
		int ret;

		sr->nr_vfs = i + 1;
		if (devfn < 0) {
			pr_err("%s: VF %u would be off bus 0; not enabled",
			       pf->dev.name, i);
			break;
		}
		vf->pdev = sr->ops->vf_get(sr->opaque, i);
		if (!vf->pdev) {
			pr_err("%s: no VF %u", pf->dev.name, i);
			continue;
		}
		setup_vf(sr, vf);
		/* Deferred until the PF's lock is released (docs/pci.md). */
		ret = pci_dev_register(pf->host, vf->pdev, devfn);
		if (ret < 0) {
			pr_err("%s: cannot add VF %u: %s", pf->dev.name, i,
			       strerror(-ret));
			sr->ops->vf_put(sr->opaque, i, vf->pdev);
			vf->pdev = NULL;
		}
	}
	pr_debug("%s: %u VFs enabled", pf->dev.name, n);
}

static void disable(struct pci_sriov *sr)
{
	for (unsigned int i = 0; i < sr->nr_vfs; i++) {
		struct pci_sriov_vf *vf = &sr->vfs[i];

		if (!vf->pdev)
			continue;
		sr->ops->vf_put(sr->opaque, i, vf->pdev);
		pci_dev_unregister(vf->pdev);
		vf->pdev = NULL;
	}
	sr->enabled = false;
	sr->nr_vfs = 0;
}

static void update_vfs(struct pci_sriov *sr)
{
	for (unsigned int i = 0; i < sr->nr_vfs; i++)
		if (sr->vfs[i].pdev)
			pci_dev_update_bars(sr->vfs[i].pdev);
}

void pci_sriov_cfg_written(struct pci_sriov *sr)
{
	uint16_t ctrl = pci_cfg_get(sr->pf, reg(sr, PCI_SRIOV_CTRL), 2);
	uint16_t num = pci_cfg_get(sr->pf, reg(sr, PCI_SRIOV_NUM_VF), 2);
	bool moved;

	/* NumVFs is frozen while VFs exist; past TotalVFs it is ignored. */
	if (sr->enabled || num > sr->cfg.total_vfs)
		pci_cfg_set(sr->pf, reg(sr, PCI_SRIOV_NUM_VF), sr->num_vfs, 2);
	else
		sr->num_vfs = num;
	moved = update_cache(sr);
	if ((ctrl & PCI_SRIOV_CTRL_VFE) && !sr->enabled)
		enable(sr);
	else if (!(ctrl & PCI_SRIOV_CTRL_VFE) && sr->enabled)
		disable(sr);
	else if (moved)
		update_vfs(sr);
}

void pci_sriov_reset(struct pci_sriov *sr)
{
	if (sr->enabled)
		disable(sr);
	sr->num_vfs = pci_cfg_get(sr->pf, reg(sr, PCI_SRIOV_NUM_VF), 2);
	update_cache(sr);
}

int pci_sriov_place(struct pci_sriov *sr, struct pci_host *host)
{
	for (unsigned int i = 0; i < PCI_SRIOV_NUM_BARS; i++) {
		unsigned int t = bar_type(sr, i);
		uint64_t size = sr->cfg.bar_size[i] * sr->cfg.total_vfs;
		uint64_t align = sr->cfg.bar_size[i];
		unsigned int r = reg(sr, PCI_SRIOV_BAR + 4 * i);
		int ret = -ENOSPC;

		if (t != PCI_BAR_MEM32 && t != PCI_BAR_MEM64)
			continue;
		/* Natural alignment of the whole range keeps Linux happy. */
		while (align < size)
			align <<= 1;
		if (t == PCI_BAR_MEM64) {
			sr->win[i] = &host->mmio64;
			ret = pci_window_alloc(&host->mmio64, size, align,
					       &sr->placed[i]);
		}
		if (ret) {
			sr->win[i] = &host->mmio32;
			ret = pci_window_alloc(&host->mmio32, size, align,
					       &sr->placed[i]);
		}
		if (ret) {
			sr->win[i] = NULL;
			pci_sriov_release(sr);
			pr_err("%s: no room for VF BAR%u (%#llx bytes)",
			       sr->pf->dev.name, i, (unsigned long long)size);
			return ret;
		}
		pci_cfg_set(sr->pf, r,
			    (pci_cfg_get(sr->pf, r, 4) & 0xf) |
				    (uint32_t)sr->placed[i],
			    4);
		if (t == PCI_BAR_MEM64)
			pci_cfg_set(sr->pf, r + 4, sr->placed[i] >> 32, 4);
	}
	update_cache(sr);
	return 0;
}

void pci_sriov_registered(struct pci_sriov *sr)
{
	/* No dependencies between PFs: the link is the PF itself. */
	pci_cfg_set(sr->pf, reg(sr, PCI_SRIOV_FUNC_LINK),
		    PCI_FUNC(sr->pf->devfn), 1);
}

void pci_sriov_release(struct pci_sriov *sr)
{
	for (unsigned int i = 0; i < PCI_SRIOV_NUM_BARS; i++) {
		if (sr->win[i])
			pci_window_free(sr->win[i], sr->placed[i],
					sr->cfg.bar_size[i] *
						sr->cfg.total_vfs);
		sr->win[i] = NULL;
		sr->placed[i] = 0;
	}
}

static int check_config(const struct pci_sriov_config *c)
{
	if (!c->total_vfs || !c->offset || (c->total_vfs > 1 && !c->stride))
		return -EINVAL;
	for (unsigned int i = 0; i < PCI_SRIOV_NUM_BARS; i++) {
		unsigned int t = c->bar_type[i] & ~PCI_BAR_PREFETCH;

		if (t == PCI_BAR_NONE)
			continue;
		/* Memory only (VFs have no I/O space); 4 KiB pages. */
		if ((t != PCI_BAR_MEM32 && t != PCI_BAR_MEM64) ||
		    !is_pow2(c->bar_size[i]) || c->bar_size[i] < 4096)
			return -EINVAL;
		if (t == PCI_BAR_MEM64) {
			if (i == PCI_SRIOV_NUM_BARS - 1 ||
			    c->bar_type[i + 1] != PCI_BAR_NONE)
				return -EINVAL;
			i++;
		}
	}
	/* Every VF on bus 0 even for a PF at devfn 0. */
	if (c->offset + (uint32_t)(c->total_vfs - 1) * c->stride > 0xff)
		return -ERANGE;
	return 0;
}

int pci_sriov_init(struct pci_sriov *sr, struct pci_dev *pf,
		   const struct pci_sriov_config *cfg,
		   const struct pci_sriov_ops *ops, void *opaque)
{
	int cap, ret;

	memset(sr, 0, sizeof(*sr));
	if (!ops || !ops->vf_get || !ops->vf_put)
		return -EINVAL;
	ret = check_config(cfg);
	if (ret)
		return ret;
	sr->vfs = calloc(cfg->total_vfs, sizeof(*sr->vfs));
	if (!sr->vfs)
		return -ENOMEM;
	cap = pci_add_ext_capability(pf, PCI_EXT_CAP_ID_SRIOV, 1,
				     PCI_EXT_CAP_SRIOV_SIZEOF);
	if (cap < 0) {
		free(sr->vfs);
		sr->vfs = NULL;
		return cap;
	}
	sr->pf = pf;
	sr->cap = cap;
	sr->cfg = *cfg;
	sr->ops = ops;
	sr->opaque = opaque;
	pthread_mutex_init(&sr->bar_lock, NULL);
	for (unsigned int i = 0; i < cfg->total_vfs; i++) {
		sr->vfs[i].sr = sr;
		sr->vfs[i].idx = i;
	}

	pci_cfg_set(pf, reg(sr, PCI_SRIOV_CAP), 0, 4);
	pci_cfg_set(pf, reg(sr, PCI_SRIOV_INITIAL_VF), cfg->total_vfs, 2);
	pci_cfg_set(pf, reg(sr, PCI_SRIOV_TOTAL_VF), cfg->total_vfs, 2);
	pci_cfg_set(pf, reg(sr, PCI_SRIOV_VF_OFFSET), cfg->offset, 2);
	pci_cfg_set(pf, reg(sr, PCI_SRIOV_VF_STRIDE), cfg->stride, 2);
	pci_cfg_set(pf, reg(sr, PCI_SRIOV_VF_DID), cfg->vf_device, 2);
	pci_cfg_set(pf, reg(sr, PCI_SRIOV_SUP_PGSIZE), SRIOV_PGSIZE_4K, 4);
	/* Read-only: 4 KiB is the only size offered. */
	pci_cfg_set(pf, reg(sr, PCI_SRIOV_SYS_PGSIZE), SRIOV_PGSIZE_4K, 4);
	/* ARI Capable Hierarchy is kept but changes nothing here. */
	pci_cfg_set_wmask(pf, reg(sr, PCI_SRIOV_CTRL),
			  PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE |
				  PCI_SRIOV_CTRL_ARI,
			  2);
	pci_cfg_set_wmask(pf, reg(sr, PCI_SRIOV_NUM_VF), 0xffff, 2);
	for (unsigned int i = 0; i < PCI_SRIOV_NUM_BARS; i++) {
		unsigned int t = bar_type(sr, i);
		unsigned int r = reg(sr, PCI_SRIOV_BAR + 4 * i);
		uint32_t bits = cfg->bar_type[i] & PCI_BAR_PREFETCH ?
					PCI_BASE_ADDRESS_MEM_PREFETCH :
					0;
		uint64_t mask = ~(cfg->bar_size[i] - 1);

		if (t == PCI_BAR_MEM32) {
			pci_cfg_set(pf, r, bits, 4);
			pci_cfg_set_wmask(pf, r, (uint32_t)mask & ~0xfu, 4);
		} else if (t == PCI_BAR_MEM64) {
			pci_cfg_set(pf, r, bits | PCI_BASE_ADDRESS_MEM_TYPE_64,
				    4);
			pci_cfg_set_wmask(pf, r, (uint32_t)mask & ~0xfu, 4);
			pci_cfg_set_wmask(pf, r + 4, mask >> 32, 4);
		}
	}
	pf->sriov = sr;
	return 0;
}

void pci_sriov_exit(struct pci_sriov *sr)
{
	if (!sr->pf)
		return;
	if (sr->enabled)
		disable(sr);
	sr->pf->sriov = NULL;
	pthread_mutex_destroy(&sr->bar_lock);
	free(sr->vfs);
	sr->vfs = NULL;
	sr->pf = NULL;
}
