/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_PCI_SRIOV_H
#define DEVISOR_PCI_SRIOV_H

/*
 * Single Root I/O Virtualization for any PCI Express function (the PF):
 * the SR-IOV extended capability (id 0x0010), and virtual functions that
 * come and go with its VF Enable bit. The model supplies each VF's
 * struct pci_dev through a callback; this file registers it at routing
 * ID PF + First VF Offset + i * VF Stride (bus 0 only: TotalVFs must let
 * every VF fit there), gives it its BARs from the PF's VF BAR registers
 * (VF BAR n + i * size, decoding while VF MSE is set) and removes it
 * again when VF Enable is cleared or the PF is reset. See docs/pci.md.
 *
 * A PF that goes away at run time calls pci_sriov_exit() before it is
 * unregistered: the VF BARs' window space is the PF's.
 *
 * Locking: the capability's state is under the PF's lock (config writes
 * reach pci_sriov_cfg_written() from pci.c); the VF BAR addresses are
 * also cached under a leaf lock, which the VFs' BAR source reads under
 * their own lock. Adding and removing VFs under the PF's lock is deferred
 * by pci.c until the lock is released.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct pci_dev;
struct pci_host;
struct pci_window;

struct pci_sriov_ops {
	/*
	 * VF @i (0-based) is about to be enabled: return its function
	 * (initialized, not registered, in its reset state) or NULL. Called
	 * under the PF's lock: it must not take another function's lock
	 * nor register anything itself. The function stays the model's: it
	 * is reused when the VF is enabled again, and freed by the model
	 * after pci_sriov_exit().
	 */
	struct pci_dev *(*vf_get)(void *opaque, unsigned int i);
	/*
	 * VF @i is being disabled (under the PF's lock): stop its work.
	 * It is unpublished and its BARs unmapped right after, once the
	 * PF's lock is released.
	 */
	void (*vf_put)(void *opaque, unsigned int i, struct pci_dev *vf);
};

struct pci_sriov_config {
	uint16_t total_vfs; /* also InitialVFs */
	uint16_t offset, stride; /* First VF Offset, VF Stride (routing IDs) */
	uint16_t vf_device; /* VF Device ID */
	/* VF BARn: size per VF (power of two, >= 4 KiB) and pci_bar_type. */
	uint64_t bar_size[6];
	unsigned int bar_type[6];
};

struct pci_sriov_vf {
	struct pci_sriov *sr;
	unsigned int idx;
	struct pci_dev *pdev; /* while enabled */
};

struct pci_sriov {
	struct pci_dev *pf;
	unsigned int cap; /* offset of the capability */
	struct pci_sriov_config cfg;
	const struct pci_sriov_ops *ops;
	void *opaque;
	/* Under the PF's lock. */
	bool enabled; /* VFs exist */
	uint16_t num_vfs; /* NumVFs as last accepted */
	unsigned int nr_vfs; /* created at the last enable */
	struct pci_sriov_vf *vfs; /* total_vfs of them */
	/* Window space of the VF BARs (total_vfs * size), under host->lock. */
	struct pci_window *win[6];
	uint64_t placed[6];
	/* What the VFs' BAR source reads, under bar_lock (a leaf). */
	pthread_mutex_t bar_lock;
	bool mse;
	uint64_t base[6];
};

/*
 * Adds the capability to @pf (a PCIe function, not yet registered) after
 * its other extended capabilities. Returns 0 or -errno: -EINVAL for a
 * bad config, -ERANGE when VFs could leave bus 0 whatever the PF's devfn
 * (offset + (total - 1) * stride > 255 - 0 is checked at enable time too).
 */
int pci_sriov_init(struct pci_sriov *sr, struct pci_dev *pf,
		   const struct pci_sriov_config *cfg,
		   const struct pci_sriov_ops *ops, void *opaque);
/* Removes every VF now (no function lock held) and frees the state. */
void pci_sriov_exit(struct pci_sriov *sr);

/* Routing ID (devfn on bus 0) of VF @i of a PF at @pf_devfn; -1 off bus 0. */
int pci_sriov_vf_devfn(const struct pci_sriov *sr, unsigned int pf_devfn,
		       unsigned int i);

/* From pci.c: the capability was written (PF's lock held). */
void pci_sriov_cfg_written(struct pci_sriov *sr);
/* From pci.c: the PF was reset (PF's lock held); VFs go away. */
void pci_sriov_reset(struct pci_sriov *sr);
/* From pci.c (host->lock held): places/frees the VF BARs in the windows. */
int pci_sriov_place(struct pci_sriov *sr, struct pci_host *host);
void pci_sriov_release(struct pci_sriov *sr);
/* From pci.c: the PF has its devfn (Function Dependency Link). */
void pci_sriov_registered(struct pci_sriov *sr);

#endif
