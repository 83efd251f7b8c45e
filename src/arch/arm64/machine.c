// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 board (docs/architecture.md, "The arm64 board"): PL011,
 * PL031, an ECAM PCIe host and virtio-mmio windows around the in-kernel
 * GICv3 and ITS, described to the guest by a device tree, and the kernel
 * booted by the Image protocol.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arm64/cpu.h"
#include "arch/arm64/fdt.h"
#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "board.h"
#include "config.h"
#include "hw/nvme/devices.h"
#include "hw/pl011.h"
#include "hw/pl031.h"
#include "kvm/irq.h"
#include "kvm/memory.h"
#include "kvm/vm.h"
#include "pci/pci.h"
#include "util/common.h"
#include "util/evloop.h"
#include "util/file.h"
#include "util/log.h"
#include "vfio/pci.h"
#include "virtio/blk.h"
#include "virtio/devices.h"
#include "virtio/mmio.h"
#include "virtio/pci.h"
#include "virtio/pmem.h"
#include "virtio/virtio.h"

struct arm64_machine {
	struct board board;
	struct pl011 *uart;
	struct pci_host *pci;
	struct evloop *io;
	unsigned int nr_mmio;
	int gic_fds[2];
};

static size_t uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
	return pl011_receive(opaque, buf, len);
}

/*
 * Every PCI function's MSIs go through its msi_vectors, with its requester
 * id as the ITS's device id (vm_msi_require_devid()); a message without
 * one is refused by KVM, so this fallback only logs.
 */
static void pci_msi_to_kvm(void *opaque, uint64_t addr, uint32_t data)
{
	vm_signal_msi(opaque, IRQ_SID_NONE, addr, data);
}

static int create_pci(struct vm *vm, struct arm64_machine *m)
{
	/* After RAM and the hotplug area. */
	uint64_t top = guest_mem_reserved_end(&vm->mem);
	struct pci_host_config cfg = {
		.ecam_base = ARM64_PCI_ECAM_BASE,
		.ecam_size = ARM64_PCI_ECAM_SIZE,
		.mmio32_base = ARM64_PCI_MMIO32_BASE,
		.mmio32_size = ARM64_PCI_MMIO32_SIZE,
		.mmio64_base = (top + (1ull << 30) - 1) & ~((1ull << 30) - 1),
		.mmio64_size = ARM64_PCI_MMIO64_SIZE,
		.intx_gsi_base = ARM64_PCI_INTX_SPI,
		/* QEMU's gpex host bridge IDs, which Linux knows. */
		.vendor_id = 0x1b36,
		.device_id = 0x0008,
		.subsys_vendor_id = 0x1af4,
		.subsys_id = 0x1100,
		.msi_deliver = pci_msi_to_kvm,
		.msi_opaque = vm,
	};
	int ret;

	m->pci = calloc(1, sizeof(*m->pci));
	if (!m->pci)
		return -ENOMEM;
	m->board.pci = m->pci;
	ret = pci_host_init(m->pci, vm, &cfg);
	if (ret)
		pr_err("cannot create the PCI host: %s", strerror(-ret));
	return ret;
}

/* Takes @vdev: on failure it is destroyed here. */
static int attach_virtio(struct vm *vm, struct arm64_machine *m,
			 struct virtio_dev *vdev,
			 enum virtio_transport_kind transport, int devfn)
{
	unsigned int i = m->nr_mmio;

	if (transport == TRANSPORT_PCI) {
		pci_host_set_next_devfn(m->pci, devfn);
		if (virtio_pci_create(vm, m->pci, vdev, m->io))
			return 0;
	} else if (i == ARM64_VIRTIO_MMIO_MAX) {
		pr_err("%s: at most %d virtio-mmio devices", vdev->name,
		       ARM64_VIRTIO_MMIO_MAX);
	} else if (virtio_mmio_create(vm,
				      ARM64_VIRTIO_MMIO_BASE +
					      i * ARM64_VIRTIO_MMIO_STRIDE,
				      ARM64_VIRTIO_MMIO_SPI + i, vdev, m->io)) {
		m->nr_mmio++;
		return 0;
	}
	virtio_dev_destroy(vdev);
	return -ENODEV;
}

struct arm64_attach {
	struct vm *vm;
	struct arm64_machine *m;
};

/*
 * virtio-pmem ranges go after the PCIe 64-bit window, 1 GiB aligned as
 * the window is (a DAX file system's huge pages line up), below the
 * 40-bit IPA space RAM keeps to too.
 */
static uint64_t arm64_place_pmem(void *opaque, uint64_t size)
{
	struct arm64_attach *aa = opaque;
	const struct pci_host_config *c = &aa->m->pci->cfg;

	return virtio_pmem_lowest_free(&aa->vm->mem,
				       c->mmio64_base + c->mmio64_size, size,
				       ARM64_PMEM_ALIGN, ARM64_IPA_LIMIT);
}

static int arm64_attach(void *opaque, struct virtio_dev *vdev,
			enum virtio_transport_kind transport, int devfn)
{
	struct arm64_attach *aa = opaque;

	return attach_virtio(aa->vm, aa->m, vdev, transport, devfn);
}

static int create_devices(struct vm *vm, const struct vm_config *cfg,
			  struct arm64_machine *m)
{
	struct arm64_attach aa = { vm, m };
	struct virtio_board vb = { .attach = arm64_attach,
				   .place_pmem = arm64_place_pmem,
				   .opaque = &aa,
				   .console = &m->board.console,
				   .balloon = &m->board.balloon,
				   .virtio_mem = &m->board.virtio_mem,
				   .mmio_disks = m->board.mmio_disks,
				   .mmio_nets = m->board.mmio_nets };
	int ret;

	if (cfg->iommu.kind != IOMMU_NONE) {
		pr_err("--iommu is not on the arm64 board yet");
		return -EINVAL;
	}
	if (cfg->hotplug_size && !cfg->hotplug_virtio_mem) {
		pr_err("memory hotplug on the arm64 board is virtio-mem's (no "
		       "ACPI): --memory SIZE,hotplug_method=virtio-mem,"
		       "hotplug_size=SIZE");
		return -EINVAL;
	}
	if (vm->nr_cpus > cfg->nr_cpus) {
		pr_err("CPU hotplug (max above boot) is not on the arm64 "
		       "board yet");
		return -EINVAL;
	}
	m->uart = pl011_create(vm, ARM64_UART_BASE, ARM64_UART_SPI,
			       cfg->serial_null ? -1 : STDOUT_FILENO);
	if (!m->uart || !pl031_create(vm, ARM64_RTC_BASE, ARM64_RTC_SPI))
		return -ENOMEM;
	m->board.console = (struct console_port){
		.receive = uart_receive,
		.rx_eventfd = pl011_rx_eventfd(m->uart),
		.opaque = m->uart,
	};
	ret = create_pci(vm, m);
	if (ret)
		return ret;
	m->io = evloop_create_sched("io0", cfg->io_sched);
	if (!m->io)
		return -ENOMEM;
	vb.io = m->io;
	ret = virtio_create_devices(vm, cfg, &vb);
	if (ret)
		return ret;
	ret = nvme_create_devices(vm, cfg, m->pci, m->io);
	if (ret)
		return ret;
	return vfio_pci_create_devices(vm, cfg, m->pci);
}

/* Copies @len bytes to guest RAM at @gpa, which layout placed in RAM. */
static int copy_in(struct vm *vm, uint64_t gpa, const void *src, size_t len)
{
	void *dst = gpa_to_hva(&vm->mem, gpa, len);

	if (!dst)
		return -ENOSPC;
	memcpy(dst, src, len);
	return 0;
}

static int boot(struct vm *vm, const struct vm_config *cfg,
		struct arm64_machine *m)
{
	struct mapped_file kernel = { 0 }, initrd = { 0 };
	const struct mem_region *ram = &vm->mem.regions[0];
	struct arm64_boot_layout lay;
	struct arm64_image img;
	struct arm64_fdt_config fc;
	char err[160];
	void *fdt;
	int ret;

	ret = map_file(cfg->kernel, "kernel", &kernel);
	if (ret)
		return ret;
	if (cfg->initrd) {
		ret = map_file(cfg->initrd, "initrd", &initrd);
		if (ret)
			goto out;
	}
	ret = arm64_image_parse(kernel.data, kernel.size, &img, err,
				sizeof(err));
	if (ret) {
		pr_err("%s: %s", cfg->kernel, err);
		goto out;
	}
	ret = arm64_boot_layout(ram->gpa, ram->size, &img, kernel.size,
				initrd.size, ARM64_FDT_MAX_SIZE, &lay);
	if (ret) {
		pr_err("%s: the kernel (%llu MiB with its BSS), initrd and "
		       "device tree do not fit in %llu MiB of RAM",
		       cfg->kernel, (unsigned long long)(img.image_size >> 20),
		       (unsigned long long)(ram->size >> 20));
		goto out;
	}
	ret = copy_in(vm, lay.kernel, kernel.data, kernel.size);
	if (!ret && initrd.size)
		ret = copy_in(vm, lay.initrd, initrd.data, initrd.size);
	if (ret)
		goto out;
	fc = (struct arm64_fdt_config){
		.nr_cpus = vm->nr_cpus,
		.ram_base = ram->gpa,
		.ram_size = ram->size,
		.gic_dist_base = ARM64_GIC_DIST_BASE,
		.gic_dist_size = ARM64_GIC_DIST_SIZE,
		.gic_redist_base = ARM64_GIC_REDIST_BASE,
		.gic_redist_size = vm->nr_cpus * ARM64_GIC_REDIST_SIZE_PER_CPU,
		.its_base = ARM64_GIC_ITS_BASE,
		.its_size = ARM64_GIC_ITS_SIZE,
		.uart_base = ARM64_UART_BASE,
		.bootargs = cfg->cmdline,
		.initrd_start = lay.initrd,
		.initrd_size = initrd.size,
		.ecam_base = ARM64_PCI_ECAM_BASE,
		.ecam_size = ARM64_PCI_ECAM_SIZE,
		.mmio32_base = ARM64_PCI_MMIO32_BASE,
		.mmio32_size = ARM64_PCI_MMIO32_SIZE,
		.mmio64_base = m->pci->cfg.mmio64_base,
		.mmio64_size = ARM64_PCI_MMIO64_SIZE,
		.intx_spi_base = ARM64_PCI_INTX_SPI,
		.msi_map = 1, /* requester id = ITS device id */
	};
	fdt = gpa_to_hva(&vm->mem, lay.fdt, ARM64_FDT_MAX_SIZE);
	ret = fdt ? arm64_fdt_build(fdt, ARM64_FDT_MAX_SIZE, &fc, vm) : -ENOSPC;
	if (ret) {
		pr_err("cannot build the device tree: %s", strerror(-ret));
		goto out;
	}
	pr_info("%s: arm64 Image at %#llx, device tree at %#llx", cfg->kernel,
		(unsigned long long)lay.kernel, (unsigned long long)lay.fdt);
	ret = arm64_vcpu_boot(vm, lay.kernel, lay.fdt);
out:
	unmap_file(&initrd);
	unmap_file(&kernel);
	return ret;
}

static int machine_setup(struct vm *vm, const struct vm_config *cfg,
			 struct arm64_machine *m)
{
	int ret = arm64_vcpus_init(vm);

	if (!ret)
		ret = arm64_gic_create(vm, 1, m->gic_fds);
	if (!ret)
		ret = vm_msi_require_devid(vm);
	if (!ret)
		ret = create_devices(vm, cfg, m);
	if (!ret)
		ret = boot(vm, cfg, m);
	return ret;
}

static int arm64_setup(struct vm *vm, const struct vm_config *cfg,
		       struct board **out)
{
	struct arm64_machine *m = calloc(1, sizeof(*m));

	*out = m ? &m->board : NULL;
	if (!m)
		return -ENOMEM;
	m->gic_fds[0] = m->gic_fds[1] = -1;
	return machine_setup(vm, cfg, m);
}

static void arm64_destroy(struct board *b)
{
	struct arm64_machine *m =
		b ? container_of(b, struct arm64_machine, board) : NULL;

	if (!m)
		return;
	/* After vm_destroy(): the devices on the loop are gone. */
	evloop_destroy(m->io);
	free(m->pci);
	arm64_gic_close(m->gic_fds);
	free(m);
}

static int arm64_add_virtio(struct vm *vm, struct board *b,
			    const struct virtio_hotplug *h)
{
	struct arm64_machine *m = container_of(b, struct arm64_machine, board);
	struct arm64_attach aa = { vm, m };
	struct virtio_board vb = { .io = m->io,
				   .place_pmem = arm64_place_pmem,
				   .opaque = &aa };

	return virtio_pci_hotplug(vm, m->pci, h, &vb);
}

static int arm64_remove_virtio(struct vm *vm, struct board *b, int devfn)
{
	struct arm64_machine *m = container_of(b, struct arm64_machine, board);
	struct virtio_pci *vp =
		virtio_pci_from_pdev(pci_host_find(m->pci, 0, devfn));

	if (!vp)
		return -ENODEV;
	virtio_pci_destroy(vp);
	return 0;
}

static const struct board_ops arm64_board = {
	.setup = arm64_setup,
	.destroy = arm64_destroy,
	.add_virtio = arm64_add_virtio,
	.remove_pci = arm64_remove_virtio,
};

const struct board_ops *arch_board(void)
{
	return &arm64_board;
}
