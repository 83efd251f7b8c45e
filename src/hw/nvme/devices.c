// SPDX-License-Identifier: GPL-2.0
/*
 * The NVMe controllers of a vm_config, for any board (hw/nvme/devices.h):
 * each image opened, its controller made on the board's PCI host, and
 * with vfs=N its SR-IOV virtual functions, each with a slice of it.
 */
#include "hw/nvme/devices.h"

#include <errno.h>
#include <stdio.h>

#include "backend/block.h"
#include "config.h"
#include "hw/nvme/pci.h"
#include "util/evloop.h"
#include "util/log.h"

/*
 * vfs=N: the image is cut into N + 1 equal slices, each a whole number of
 * NVME_SLICE_ALIGN; the PF's namespace is slice 0 and VF i's (1-based) is
 * slice i, at byte i * slice. What is left past the last slice is unused.
 * docs/nvme.md.
 */
#define NVME_SLICE_ALIGN (1ull << 20)

/* The PF and its VFs over @be: the PF, or NULL with errno set (@be closed). */
static struct nvme_pci *create_pf(struct vm *vm, struct pci_host *pci,
				  struct evloop *io,
				  const struct disk_config *dc,
				  unsigned int idx, struct blk_backend *be,
				  struct nvme_config *nc)
{
	struct nvme_pci *np;
	struct blk_backend *vbe[CONFIG_NVME_MAX_VFS] = { NULL };
	struct nvme_config vc[CONFIG_NVME_MAX_VFS];
	char vname[CONFIG_NVME_MAX_VFS][32], vserial[CONFIG_NVME_MAX_VFS][21];
	struct blk_options bo = config_blk_options(dc);
	const char *serial = nc->serial ? nc->serial : blk_info(be)->serial;
	uint64_t slice = blk_info(be)->size / (dc->vfs + 1) &
			 ~(NVME_SLICE_ALIGN - 1);
	unsigned int i;

	if (!slice) {
		pr_err("--nvme %s: vfs=%u needs at least %u MiB of image (a "
		       "MiB for the PF and each VF)",
		       dc->path, dc->vfs, dc->vfs + 1);
		blk_close(be);
		errno = EINVAL;
		return NULL;
	}
	nc->ns_size = slice;
	/* This process holds the image already, through the PF's back-end. */
	bo.shared = true;
	for (i = 0; i < dc->vfs; i++) {
		vbe[i] = blk_open(dc->path, &bo);
		if (!vbe[i]) {
			int err = -errno;

			while (i--)
				blk_close(vbe[i]);
			blk_close(be);
			errno = -err;
			return NULL;
		}
		snprintf(vname[i], sizeof(vname[i]), "nvme%uv%u", idx, i + 1);
		/* Distinct serials, so distinct NQNs: Linux wants that. */
		snprintf(vserial[i], sizeof(vserial[i]), "%.17s-v%c", serial,
			 '1' + (int)i);
		vc[i] = (struct nvme_config){
			.name = vname[i],
			.serial = vserial[i],
			.ns_offset = (i + 1) * slice,
			.ns_size = slice,
			.cntlid = (uint16_t)(i + 1),
		};
	}
	np = nvme_pci_create_pf(vm, pci, be, nc, io, dc->addr, vbe, vc,
				dc->vfs);
	if (!np) {
		blk_close(be);
		errno = ENODEV;
		return NULL;
	}
	pr_info("%s: %u SR-IOV VFs, namespaces of %llu MiB each (PF at byte "
		"0, VF i at i * %llu)",
		nc->name, dc->vfs, (unsigned long long)(slice >> 20),
		(unsigned long long)slice);
	return np;
}

int nvme_create_devices(struct vm *vm, const struct vm_config *cfg,
			struct pci_host *pci, struct evloop *io)
{
	for (unsigned int i = 0; i < cfg->nr_nvmes; i++) {
		const struct disk_config *dc = &cfg->nvmes[i];
		struct blk_options bo = config_blk_options(dc);
		struct blk_backend *be = blk_open(dc->path, &bo);
		char name[16];
		struct nvme_config nc = { .name = name };
		struct evloop *loop = io, *own = NULL;
		struct nvme_pci *np;

		if (!be)
			return -errno;
		snprintf(name, sizeof(name), "nvme%u", i);
		/* iothread=on: its own loop, which its VFs share. */
		if (dc->iothread &&
		    !(loop = own = evloop_create_own(name, io, name))) {
			blk_close(be);
			return -ENOMEM;
		}
		if (dc->vfs) {
			np = create_pf(vm, pci, loop, dc, i, be, &nc);
		} else if (!(np = nvme_pci_create(vm, pci, be, &nc, loop,
						  dc->addr))) {
			blk_close(be);
			errno = ENODEV;
		}
		if (!np) {
			int err = -errno;

			if (own)
				evloop_destroy(own);
			return err;
		}
		if (own)
			nvme_pci_own_loop(np);
	}
	return 0;
}
