// SPDX-License-Identifier: GPL-2.0
/*
 * A passed-through function as the guest and the device reach it: the
 * input's first 256 bytes are the device's config space (any capability
 * list, loops, odd MSI-X table BIRs and offsets), then guest accesses to
 * the function's ECAM page and BAR0 (sizing, moves, Command, the MSI-X
 * table and PBA, FLR, device-specific bytes). The device is a memfd laid
 * out as vfio-pci's device file (tests/unit/test_vfio_pci.c); KVM is a
 * recorder that takes routes and refuses memory slots, so BAR0 traps.
 */
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bus/device.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "pci/pci.h"
#include "vfio/pci.h"
#include "vfio/vfio.h"

#include "../unit/helpers/vfio_fake.h"
#include "fuzz.h"

#define RAM (1ull << 20)
#define BAR0_OFF 0x10000
#define BAR0_SIZE 0x4000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* arch/x86/machine.h's; its layout.h clashes with <linux/pci_regs.h>. */
void pc_pci_host_config(struct pci_host_config *cfg);

static struct vm vm;
static struct pci_host host;
static struct pci_host_config hcfg;

static void init(void)
{
	fz_vm_init(&vm, RAM);
	vm.irq_ops = &fz_nop_irq_ops;
	pc_pci_host_config(&hcfg);
	if (pci_host_init(&host, &vm, &hcfg))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct fz in = { data, size };
	uint8_t cfg[PCI_CFG_SPACE_SIZE];
	struct vfio_device vd;
	struct vfio_pci *vp;
	struct pci_dev *pdev;
	struct fz_window w[3];
	char err[256];
	int fd;

	if (!ready) {
		init();
		ready = true;
	}
	fz_bytes(&in, cfg, sizeof(cfg));
	/* BAR0 as the regions say: 64-bit memory (the rest is the input's). */
	cfg[PCI_BASE_ADDRESS_0] = PCI_BASE_ADDRESS_MEM_TYPE_64;
	fd = memfd_create("fuzz-vfio", 0);
	if (fd < 0 || ftruncate(fd, BAR0_OFF + BAR0_SIZE + 4096) ||
	    pwrite(fd, cfg, sizeof(cfg), 0) != sizeof(cfg))
		abort();
	vd = vfio_fake_device(fd, BAR0_OFF, BAR0_SIZE, 8, 64);
	/* An expansion ROM after BAR0, behind the emulated ROM BAR. */
	vd.regions[VFIO_PCI_ROM_REGION_INDEX] = (struct vfio_region){
		.flags = VFIO_REGION_INFO_FLAG_READ,
		.size = 4096,
		.offset = BAR0_OFF + BAR0_SIZE,
	};
	vp = vfio_pci_create_dev(&vm, &host, &vd, PCI_DEVFN(5, 0), 0, err,
				 sizeof(err));
	if (!vp)
		return 0; /* a config space devisor refuses; fd closed */
	pdev = pci_host_find(&host, 0, PCI_DEVFN(5, 0));
	if (!pdev)
		abort();
	w[0] = (struct fz_window){ true,
				   hcfg.ecam_base + (PCI_DEVFN(5, 0) << 12),
				   PCI_CFG_SPACE_EXP_SIZE };
	w[1] = (struct fz_window){ true, pci_bar_addr(pdev, 0, NULL),
				   BAR0_SIZE };
	w[2] = (struct fz_window){ true, pci_bar_addr(pdev, PCI_ROM_SLOT, NULL),
				   4096 };
	fz_run_io(&vm, w, 3, &in, NULL, NULL);
	vfio_pci_destroy(vp);
	return 0;
}
