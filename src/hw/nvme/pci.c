// SPDX-License-Identifier: GPL-2.0
/*
 * The NVMe controller as a PCI Express function: config space, BAR0 on the
 * MMIO bus, MSI-X through an MSI vector group, INTx, power management,
 * FLR, and the back-end's completions on the I/O thread. The controller
 * itself (registers, queues, commands) is regs.c, admin.c, io.c, prp.c.
 */
#include "hw/nvme/pci.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backend/block.h"
#include "kvm/dma.h"
#include "kvm/irq.h"
#include "kvm/msi_vectors.h"
#include "kvm/vm.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "pci/sriov.h"
#include "util/evloop.h"
#include "util/log.h"

/*
 * Locking, outermost first:
 *   pdev.lock (config hooks: MSI-X enable, FLR, power state; BAR remaps)
 *   ctrl lock (nvme_ctrl.lock: BAR0, completions, doorbells, nvme_reset())
 *   msix.lock (table, notify), host->intx_lock, ioev_lock
 *   vectors.lock, vm->irq_lock
 * The controller calls notify/set_level/sq_kick/sq_ioeventfd with its lock
 * held; they take only the MSI-X, INTx or ioeventfd lock, never pdev.lock,
 * and never wait for the I/O thread (which may be waiting for the ctrl
 * lock): so nothing here adds or removes loop fds under the ctrl lock.
 *
 * Threads: vCPUs write registers, CC, the admin queue's and CQ head
 * doorbells; the I/O thread (one doorbell eventfd and the back-end's
 * completion fd per function) fetches the I/O SQs, submits, completes
 * and interrupts. Both under the ctrl lock, so they never race; a reset
 * (CC.EN = 0, FLR) drains the back-end under it and leaves a kick that
 * is still pending nothing to find.
 */

struct nvme_pci {
	struct pci_dev pdev;
	struct msix msix;
	struct msi_vectors vectors;
	struct vm *vm;
	struct evloop *loop;
	struct evloop *own_loop; /* @loop, the controller's own (iothread=on) */
	struct blk_backend *be;
	struct dma_space dma;
	struct nvme_ctrl *n;
	char name[16];
	unsigned int nr_vectors;
	unsigned int pm_cap;
	/* Under pdev.lock: the mode last given to the controller. */
	bool msix_on;
	/*
	 * I/O SQ doorbells: the eventfd the I/O thread polls (kicked by
	 * the controller, or by KVM on an SQ tail doorbell ioeventfd), and
	 * the ioeventfds, under ioev_lock: the controller's wish per queue,
	 * the address each is registered at (0: none), BAR0's address (0:
	 * not decoding). Registered = wanted and BAR0 decoding.
	 */
	int db_fd;
	pthread_mutex_t ioev_lock;
	uint64_t ioev_base;
	bool ioev_want[NVME_MAX_IOQ + 1];
	uint64_t ioev_addr[NVME_MAX_IOQ + 1];
	bool ioev_dead, ioev_warned;
	/* A PF with VFs: the capability and the VFs' functions (all built). */
	struct pci_sriov sriov;
	struct nvme_pci **vfs;
	unsigned int nr_vfs;
	bool is_vf;
};

static struct nvme_pci *to_np(struct pci_dev *pdev)
{
	return (struct nvme_pci *)((char *)pdev -
				   offsetof(struct nvme_pci, pdev));
}

static struct nvme_pci *dev_to_np(struct device *dev)
{
	return to_np((struct pci_dev *)((char *)dev -
					offsetof(struct pci_dev, dev)));
}

/* Interrupts (controller lock held) ------------------------------------ */

static void np_notify(void *opaque, unsigned int vector)
{
	struct nvme_pci *np = opaque;

	/* Disabled or out of range: msix_notify() drops it. */
	msix_notify(&np->msix, vector);
}

static void np_set_level(void *opaque, bool asserted)
{
	struct nvme_pci *np = opaque;

	/* PCI keeps the pin quiet while INTX_DISABLE or MSI-X is on. */
	pci_dev_set_intx(&np->pdev, asserted);
}

/* SQ doorbells (controller lock held) --------------------------------- */

static void np_sq_kick(void *opaque, uint16_t qid)
{
	struct nvme_pci *np = opaque;
	uint64_t one = 1;

	if (write(np->db_fd, &one, sizeof(one)) < 0)
		pr_warn_ratelimited("%s: doorbell kick: %s", np->name,
				    strerror(errno));
}

/* ioev_lock held: make queue @qid's registration what is wanted. */
static void ioev_apply(struct nvme_pci *np, unsigned int qid)
{
	const struct irq_ops *ops = vm_irq_ops(np->vm);
	uint64_t want = np->ioev_want[qid] && np->ioev_base && !np->ioev_dead ?
				np->ioev_base + NVME_DB_BASE + 8ull * qid :
				0;
	uint64_t *at = &np->ioev_addr[qid];
	int ret = -ENOSYS;

	if (*at == want)
		return;
	if (*at)
		ops->ioeventfd(np->vm, *at, 4, np->db_fd, false);
	*at = 0;
	if (!want)
		return;
	/* Any value, 4 bytes: other widths still exit and are refused. */
	if (ops->ioeventfd)
		ret = ops->ioeventfd(np->vm, want, 4, np->db_fd, true);
	if (!ret) {
		*at = want;
	} else if (!np->ioev_warned) {
		np->ioev_warned = true;
		pr_debug("%s: no doorbell ioeventfd (%s): doorbells exit",
			 np->name, strerror(-ret));
	}
}

static void np_sq_ioeventfd(void *opaque, uint16_t qid, bool on)
{
	struct nvme_pci *np = opaque;

	if (qid > NVME_MAX_IOQ)
		return;
	pthread_mutex_lock(&np->ioev_lock);
	np->ioev_want[qid] = on;
	ioev_apply(np, qid);
	pthread_mutex_unlock(&np->ioev_lock);
}

/* pdev.lock held, after every remap: the ioeventfds follow BAR0. */
static void np_bars_changed(struct pci_dev *pdev)
{
	struct nvme_pci *np = to_np(pdev);
	struct pci_bar *bar = &pdev->bars[NVME_PCI_BAR];
	uint64_t base = bar->mapped ? bar->addr : 0;

	pthread_mutex_lock(&np->ioev_lock);
	if (base != np->ioev_base) {
		np->ioev_base = base;
		for (unsigned int q = 1; q <= NVME_MAX_IOQ; q++)
			ioev_apply(np, q);
	}
	pthread_mutex_unlock(&np->ioev_lock);
}

/* Teardown: every ioeventfd off, none again. */
static void ioev_kill(struct nvme_pci *np)
{
	pthread_mutex_lock(&np->ioev_lock);
	np->ioev_dead = true;
	for (unsigned int q = 1; q <= NVME_MAX_IOQ; q++)
		ioev_apply(np, q);
	pthread_mutex_unlock(&np->ioev_lock);
}

static const struct nvme_irq_ops np_irq_ops = {
	.notify = np_notify,
	.set_level = np_set_level,
	.sq_kick = np_sq_kick,
	.sq_ioeventfd = np_sq_ioeventfd,
};

/* BAR0 ------------------------------------------------------------------ */

/* The MSI-X table and PBA never get here: pci.c sends them to msix.c. */
static uint64_t np_bar_read(void *opaque, uint64_t off, unsigned int size)
{
	struct nvme_pci *np = opaque;

	return nvme_mmio_read(np->n, off, size);
}

static void np_bar_write(void *opaque, uint64_t off, uint64_t val,
			 unsigned int size)
{
	struct nvme_pci *np = opaque;

	nvme_mmio_write(np->n, off, val, size);
}

static const struct bus_ops np_bar_ops = {
	.read = np_bar_read,
	.write = np_bar_write,
};

/* Completions, on the I/O thread ------------------------------------------ */

static void np_completion_cb(void *opaque, uint32_t events)
{
	struct nvme_pci *np = opaque;

	nvme_process_completions(np->n);
}

static void np_doorbell_cb(void *opaque, uint32_t events)
{
	struct nvme_pci *np = opaque;
	uint64_t v;

	/* Kicks coalesce: one pass looks at every SQ. */
	if (read(np->db_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn_ratelimited("%s: doorbell eventfd: %s", np->name,
				    strerror(errno));
	nvme_process_doorbells(np->n);
}

/* Both I/O thread fds off the loop (waits for a running callback). */
static void loop_del(struct nvme_pci *np)
{
	evloop_del(np->loop, nvme_completion_fd(np->n));
	evloop_del(np->loop, np->db_fd);
}

/* Config space (pdev.lock held) ------------------------------------------ */

/* Tell the controller how to interrupt: MSI-X when enabled, else INTx. */
static void sync_irq_mode(struct nvme_pci *np, bool force)
{
	bool on = msix_enabled(&np->msix);

	if (on == np->msix_on && !force)
		return;
	np->msix_on = on;
	nvme_set_irq_mode(np->n, on ? NVME_IRQ_MSIX : NVME_IRQ_PIN);
}

/*
 * Function Level Reset, and the VM's reset: the controller first (it
 * waits for the back-end and drops what was in flight, so nothing lands
 * in guest memory or raises an interrupt afterwards), then config space
 * (Command, BARs back where they were placed, MSI-X disabled and masked).
 */
static void function_reset(struct nvme_pci *np)
{
	nvme_reset(np->n);
	pci_dev_reset(&np->pdev);
	sync_irq_mode(np, true);
}

static bool np_cfg_write(struct pci_dev *pdev, unsigned int off, uint32_t val,
			 unsigned int size)
{
	struct nvme_pci *np = to_np(pdev);
	unsigned int pmcsr = np->pm_cap + PCI_PM_CTRL;
	uint32_t old_state = pci_cfg_get(pdev, pmcsr, 2) &
			     PCI_PM_CTRL_STATE_MASK;
	uint32_t state;
	bool flr = pci_cfg_write_is_flr(pdev, off, val, size);

	pci_cfg_write_generic(pdev, off, val, size);
	if (flr) {
		pr_debug("%s: function level reset", np->name);
		function_reset(np);
		return true;
	}
	/* D0 (0) and D3hot (3) only: D1 and D2 are not offered, so do not stick. */
	state = pci_cfg_get(pdev, pmcsr, 2) & PCI_PM_CTRL_STATE_MASK;
	if (state != old_state && state != 0 && state != 3)
		pci_cfg_set(pdev, pmcsr,
			    (pci_cfg_get(pdev, pmcsr, 2) &
			     ~PCI_PM_CTRL_STATE_MASK) |
				    old_state,
			    2);
	sync_irq_mode(np, false);
	return true;
}

/* Setup ------------------------------------------------------------------- */

static int add_pm_cap(struct nvme_pci *np)
{
	int cap = pci_add_pm_capability(&np->pdev);

	if (cap < 0)
		return cap;
	np->pm_cap = cap;
	return 0;
}

static int add_pcie_cap(struct nvme_pci *np)
{
	struct pci_dev *pdev = &np->pdev;
	/* On the root bus of a PCIe host: an integrated endpoint, as on q35. */
	int cap = pci_add_pcie_capability(pdev, PCI_EXP_TYPE_RC_END);

	if (cap < 0)
		return cap;
	pci_cfg_set(pdev, cap + PCI_EXP_DEVCAP,
		    pci_cfg_get(pdev, cap + PCI_EXP_DEVCAP, 4) |
			    PCI_EXP_DEVCAP_FLR,
		    4);
	return 0;
}

static void np_dev_reset(struct device *dev)
{
	struct nvme_pci *np = dev_to_np(dev);

	/* Counted: a PF's reset removes its VFs, deferred past the lock. */
	pci_dev_lock(&np->pdev);
	function_reset(np);
	pci_dev_unlock(&np->pdev);
}

/* SR-IOV (PF's lock held) ------------------------------------------------ */

/* VF @i comes back as it was built: controller and config reset. */
static struct pci_dev *np_vf_get(void *opaque, unsigned int i)
{
	struct nvme_pci *pf = opaque;
	struct nvme_pci *vf = pf->vfs[i];

	function_reset(vf);
	return &vf->pdev;
}

/*
 * Disabled: the controller stops (in-flight commands drained and
 * dropped, nothing more reaches guest memory or raises an interrupt),
 * then sriov.c unpublishes the function. The memory stays for the next
 * enable, so a vCPU still inside a BAR callback never sees it freed.
 */
static void np_vf_put(void *opaque, unsigned int i, struct pci_dev *pdev)
{
	function_reset(to_np(pdev));
}

static const struct pci_sriov_ops np_sriov_ops = {
	.vf_get = np_vf_get,
	.vf_put = np_vf_put,
};

void nvme_pci_destroy(struct nvme_pci *np)
{
	struct blk_backend *be;

	if (!np)
		return;
	be = np->be;
	/* Called directly, not from devices_destroy(): leave the list. */
	device_unregister(np->vm, &np->pdev.dev);
	loop_del(np);
	if (np->vfs) {
		/* The VFs go first: removed now, then freed. */
		pci_sriov_exit(&np->sriov);
		for (unsigned int i = 0; i < np->nr_vfs; i++)
			nvme_pci_destroy(np->vfs[i]);
		free(np->vfs);
	}
	/* No doorbell reaches the (closed) eventfd any more. */
	ioev_kill(np);
	/* Unpublished, BARs unmapped, INTx released. */
	pci_dev_exit(&np->pdev);
	/* Waits for the back-end; nothing reaches the guest any more. */
	nvme_destroy(np->n);
	msix_destroy(&np->msix);
	msi_vectors_destroy(&np->vectors);
	dma_space_destroy(&np->dma);
	close(np->db_fd);
	pthread_mutex_destroy(&np->ioev_lock);
	/* Its VFs' too: nothing of theirs is on it any more. */
	if (np->own_loop)
		evloop_destroy(np->own_loop);
	free(np);
	blk_close(be);
}

void nvme_pci_own_loop(struct nvme_pci *np)
{
	np->own_loop = np->loop;
}

static void np_dev_destroy(struct device *dev)
{
	nvme_pci_destroy(dev_to_np(dev));
}

struct pci_dev *nvme_pci_pdev(struct nvme_pci *np)
{
	return &np->pdev;
}

struct nvme_ctrl *nvme_pci_ctrl(struct nvme_pci *np)
{
	return np->n;
}

/*
 * The VFs of a PF, built now (not registered) so that enabling them at run
 * time allocates nothing: VF i is an NVMe controller over @vf_be[i] with
 * @vf_cfg[i]. They own their back-ends once built.
 */
static struct nvme_pci *
create(struct vm *vm, struct pci_host *host, struct blk_backend *be,
       const struct nvme_config *cfg, struct evloop *loop, int devfn,
       struct blk_backend **vf_be, const struct nvme_config *vf_cfg,
       unsigned int nr_vfs, bool is_vf);

/* Secondary controller K of a PF is VF K - 1 (none while setting up). */
static struct nvme_ctrl *np_secondary(void *opaque, unsigned int k)
{
	struct nvme_pci *np = opaque;

	return np->vfs && k >= 1 && k <= np->nr_vfs && np->vfs[k - 1] ?
		       np->vfs[k - 1]->n :
		       NULL;
}

static void drop_vfs(struct nvme_pci *np)
{
	if (!np->vfs)
		return;
	pci_sriov_exit(&np->sriov);
	for (unsigned int i = 0; i < np->nr_vfs; i++)
		if (np->vfs[i])
			nvme_pci_destroy(np->vfs[i]);
	free(np->vfs);
	np->vfs = NULL;
	np->nr_vfs = 0;
}

static int add_sriov(struct nvme_pci *np, struct vm *vm, struct pci_host *host,
		     struct blk_backend **vf_be,
		     const struct nvme_config *vf_cfg, unsigned int nr_vfs,
		     struct evloop *loop)
{
	/* VF i at PF + 1 + i: functions 1-7 of the PF's slot at most. */
	const struct pci_sriov_config sc = {
		.total_vfs = nr_vfs,
		.offset = 1,
		.stride = 1,
		.vf_device = NVME_PCI_VF_DEVICE,
		.bar_size = { NVME_BAR0_SIZE },
		.bar_type = { PCI_BAR_MEM64 },
	};
	int ret;

	np->vfs = calloc(nr_vfs, sizeof(*np->vfs));
	if (!np->vfs)
		return -ENOMEM;
	for (unsigned int i = 0; i < nr_vfs; i++) {
		np->vfs[i] = create(vm, host, vf_be[i], &vf_cfg[i], loop, -1,
				    NULL, NULL, 0, true);
		if (!np->vfs[i]) {
			np->nr_vfs = i;
			drop_vfs(np);
			return -ENODEV;
		}
		/* The VF owns it now. */
		vf_be[i] = NULL;
		np->nr_vfs = i + 1;
	}
	ret = pci_sriov_init(&np->sriov, &np->pdev, &sc, &np_sriov_ops, np);
	if (ret) {
		/* drop_vfs() would exit an sriov never set up. */
		for (unsigned int i = 0; i < nr_vfs; i++)
			nvme_pci_destroy(np->vfs[i]);
		free(np->vfs);
		np->vfs = NULL;
		np->nr_vfs = 0;
		return ret;
	}
	return 0;
}

static struct nvme_pci *
create(struct vm *vm, struct pci_host *host, struct blk_backend *be,
       const struct nvme_config *cfg, struct evloop *loop, int devfn,
       struct blk_backend **vf_be, const struct nvme_config *vf_cfg,
       unsigned int nr_vfs, bool is_vf)
{
	struct nvme_pci *np = calloc(1, sizeof(*np));
	struct nvme_config c = cfg ? *cfg : (struct nvme_config){ 0 };
	unsigned int nv;
	struct pci_dev *pdev;
	int ret = -ENOMEM;

	if (!np)
		goto fail_alloc;
	pdev = &np->pdev;
	np->vm = vm;
	np->loop = loop;
	np->be = be;
	snprintf(np->name, sizeof(np->name), "%s", c.name ? c.name : "nvme");
	c.name = np->name;
	/* One vector per completion queue: the admin queue's and the I/O's. */
	nv = (c.max_ioq ? c.max_ioq : NVME_MAX_IOQ) + 1;
	c.nr_vectors = nv;
	/* A PF lists its VFs and takes them offline and online. */
	if (!is_vf && nr_vfs) {
		c.nr_secondary = nr_vfs;
		c.secondary = np_secondary;
		c.secondary_opaque = np;
	}
	np->nr_vectors = nv;
	pthread_mutex_init(&np->ioev_lock, NULL);
	np->db_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (np->db_fd < 0) {
		ret = -errno;
		pthread_mutex_destroy(&np->ioev_lock);
		free(np);
		goto fail_alloc;
	}
	dma_space_init_identity(&np->dma, &vm->mem);
	ret = msi_vectors_init(&np->vectors, np->name, nv, vm_irq_ops(vm), vm);
	if (ret)
		goto fail_dma;
	np->n = nvme_create(&np->dma, be, &c, &np_irq_ops, np);
	if (!np->n) {
		ret = -errno;
		goto fail_vectors;
	}

	np->is_vf = is_vf;

	pci_dev_init(pdev, np->name, NVME_PCI_VENDOR,
		     is_vf ? NVME_PCI_VF_DEVICE : NVME_PCI_DEVICE,
		     NVME_PCI_CLASS, NVME_PCI_REVISION);
	pci_dev_set_subsystem(pdev, NVME_PCI_SUBSYS_VENDOR, NVME_PCI_SUBSYS_ID);
	/* VFs have no INTx (Interrupt Pin 0): MSI-X only. */
	if ((ret = pci_dev_set_intx_pin(pdev, is_vf ? 0 : 1)) ||
	    (ret = pci_dev_set_bar(pdev, NVME_PCI_BAR, NVME_BAR0_SIZE,
				   PCI_BAR_MEM64, &np_bar_ops, np)))
		goto fail_pdev;
	ret = msix_init(&np->msix, pdev, nv, NVME_PCI_BAR, NVME_PCI_MSIX_TABLE,
			NVME_PCI_BAR, NVME_PCI_MSIX_PBA);
	if (ret < 0)
		goto fail_pdev;
	msix_set_vectors(&np->msix, &np->vectors);
	if ((ret = add_pm_cap(np)) || (ret = add_pcie_cap(np)))
		goto fail_msix;
	pdev->cfg_write = np_cfg_write;
	pdev->bars_changed = np_bars_changed;
	pdev->dev.kind = DEV_PCI;
	/* A VF is reset and freed by its PF, never on its own. */
	pdev->dev.reset = is_vf ? NULL : np_dev_reset;
	pdev->dev.destroy = is_vf ? NULL : np_dev_destroy;

	ret = evloop_add(loop, nvme_completion_fd(np->n), EPOLLIN,
			 np_completion_cb, np);
	if (ret)
		goto fail_msix;
	ret = evloop_add(loop, np->db_fd, EPOLLIN, np_doorbell_cb, np);
	if (ret) {
		evloop_del(loop, nvme_completion_fd(np->n));
		goto fail_msix;
	}
	if (is_vf)
		return np; /* registered by sriov.c at VF Enable */
	if (nr_vfs) {
		ret = add_sriov(np, vm, host, vf_be, vf_cfg, nr_vfs, loop);
		if (ret) {
			loop_del(np);
			goto fail_msix;
		}
	}
	ret = pci_dev_register(host, pdev, devfn);
	if (ret < 0) {
		loop_del(np);
		drop_vfs(np);
		goto fail_msix;
	}
	msi_vectors_set_requester(&np->vectors, pdev->bus << 8 | ret);
	/* The VFs' messages come from the routing IDs they will have. */
	for (unsigned int i = 0; i < np->nr_vfs; i++) {
		int vf_devfn = pci_sriov_vf_devfn(&np->sriov, ret, i);

		if (vf_devfn >= 0)
			msi_vectors_set_requester(&np->vfs[i]->vectors,
						  pdev->bus << 8 | vf_devfn);
	}
	/*
	 * Behind an IOMMU, DMA goes through it with the requester id known
	 * only now; in place, as the controller points at np->dma, and before
	 * the guest has run. The VFs' too, at the routing IDs they will have.
	 */
	if (pci_host_has_iommu(host)) {
		int err;

		dma_space_destroy(&np->dma);
		err = pci_dev_dma_init(pdev, &np->dma);
		if (err)
			dma_space_init_identity(&np->dma, &vm->mem);
		for (unsigned int i = 0; !err && i < np->nr_vfs; i++) {
			struct nvme_pci *vf = np->vfs[i];
			int vf_devfn = pci_sriov_vf_devfn(&np->sriov, ret, i);

			if (vf_devfn < 0) {
				err = -ERANGE;
				break;
			}
			dma_space_destroy(&vf->dma);
			err = pci_host_dma_init(host, &vf->dma, pdev->bus,
						vf_devfn);
			if (err)
				dma_space_init_identity(&vf->dma, &vm->mem);
		}
		if (err) {
			pci_dev_unregister(pdev);
			loop_del(np);
			drop_vfs(np);
			ret = err;
			goto fail_msix;
		}
	}
	pr_debug("%s: NVMe at %02x.%x, %u MSI-X vectors, %u VFs", np->name,
		 PCI_SLOT(ret), PCI_FUNC(ret), nv, nr_vfs);
	return np;

fail_msix:
	msix_destroy(&np->msix);
fail_pdev:
	pthread_mutex_destroy(&pdev->lock);
	nvme_destroy(np->n);
fail_vectors:
	msi_vectors_destroy(&np->vectors);
fail_dma:
	dma_space_destroy(&np->dma);
	close(np->db_fd);
	pthread_mutex_destroy(&np->ioev_lock);
	free(np);
fail_alloc:
	pr_err("%s: cannot create the NVMe function: %s",
	       cfg && cfg->name ? cfg->name : "nvme", strerror(-ret));
	return NULL;
}

struct nvme_pci *nvme_pci_create(struct vm *vm, struct pci_host *host,
				 struct blk_backend *be,
				 const struct nvme_config *cfg,
				 struct evloop *loop, int devfn)
{
	return create(vm, host, be, cfg, loop, devfn, NULL, NULL, 0, false);
}

struct nvme_pci *
nvme_pci_create_pf(struct vm *vm, struct pci_host *host, struct blk_backend *be,
		   const struct nvme_config *cfg, struct evloop *loop,
		   int devfn, struct blk_backend **vf_be,
		   const struct nvme_config *vf_cfg, unsigned int nr_vfs)
{
	struct nvme_pci *np = NULL;

	if (nr_vfs > NVME_PCI_MAX_VFS)
		pr_err("nvme: at most %d VFs", NVME_PCI_MAX_VFS);
	else
		np = create(vm, host, be, cfg, loop, devfn, vf_be, vf_cfg,
			    nr_vfs, false);
	/* Whatever no VF took is closed here: the VFs' are never left. */
	for (unsigned int i = 0; !np && i < nr_vfs; i++) {
		blk_close(vf_be[i]);
		vf_be[i] = NULL;
	}
	return np;
}

unsigned int nvme_pci_nr_vfs(struct nvme_pci *np)
{
	return np->nr_vfs;
}

struct nvme_pci *nvme_pci_vf(struct nvme_pci *np, unsigned int i)
{
	return i < np->nr_vfs ? np->vfs[i] : NULL;
}
