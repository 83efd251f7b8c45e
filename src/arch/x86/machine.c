// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "arch/x86/smbios.h"
#include "config.h"
#include "hw/acpi_pm.h"
#include "hw/cpuhp.h"
#include "hw/memhp.h"
#include "hw/pcihp.h"
#include "hw/debug_exit.h"
#include "hw/i8042.h"
#include "hw/nvme/devices.h"
#include "hw/rtc.h"
#include "hw/serial.h"
#include "hw/ioapic.h"
#include "iommu/vtd.h"
#include "iommu/viommu.h"
#include "iommu/vtd_vm.h"
#include "kvm/irq.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "pci/pci.h"
#include "virtio/blk.h"
#include "virtio/devices.h"
#include "virtio/iommu.h"
#include "virtio/net.h"
#include "virtio/mmio.h"
#include "virtio/pci.h"
#include "virtio/virtio.h"
#include "util/common.h"
#include "util/evloop.h"
#include "util/file.h"
#include "util/log.h"
#include "vfio/pci.h"
#include "version.h"

#define COM1_PORT 0x3f8
#define COM1_IRQ 4
#define DEBUG_EXIT_PORT 0xf4

/*
 * Split irqchip's IOAPIC (hw/ioapic.c) as a device of the VM: its pins are
 * GSIs 0-23, each an MSI route from the IOAPIC's requester id, so an
 * interrupt remapper sees its remappable-format entries and KVM knows
 * which level-triggered vectors to report the EOI of.
 */
struct pc_ioapic {
	struct device dev;
	struct vm *vm;
	struct ioapic *io;
};

#define IOAPIC_SID (IOAPIC_PCI_BUS << 8 | IOAPIC_PCI_DEVFN)

static void pc_ioapic_route(void *opaque, unsigned int pin, uint64_t addr,
			    uint32_t data)
{
	vm_msi_route_set(opaque, pin, IOAPIC_SID, addr, data);
}

static void pc_ioapic_fire(void *opaque, unsigned int pin)
{
	vm_msi_route_fire(opaque, pin);
}

static const struct ioapic_ops pc_ioapic_ops = {
	.route = pc_ioapic_route,
	.fire = pc_ioapic_fire,
};

static void pc_ioapic_irq_set(struct vm *vm, unsigned int gsi, int level)
{
	ioapic_set_irq(vm->irqchip, gsi, level);
}

static void pc_ioapic_eoi(struct vm *vm, unsigned int vector)
{
	ioapic_eoi(vm->irqchip, vector);
}

static uint64_t pc_ioapic_read(void *opaque, uint64_t off, unsigned int size)
{
	return ioapic_mmio_read(opaque, off, size);
}

static void pc_ioapic_write(void *opaque, uint64_t off, uint64_t val,
			    unsigned int size)
{
	ioapic_mmio_write(opaque, off, val, size);
}

static const struct bus_ops pc_ioapic_bus_ops = {
	.read = pc_ioapic_read,
	.write = pc_ioapic_write,
};

static void pc_ioapic_reset(struct device *dev)
{
	ioapic_reset(container_of(dev, struct pc_ioapic, dev)->io);
}

static void pc_ioapic_destroy(struct device *dev)
{
	struct pc_ioapic *p = container_of(dev, struct pc_ioapic, dev);

	bus_unregister(&p->vm->mmio, IOAPIC_ADDR, p->io);
	p->vm->ioapic_eoi = NULL;
	p->vm->irqchip = NULL;
	p->vm->irq_set = NULL;
	ioapic_destroy(p->io);
	free(p);
}

static int create_ioapic(struct vm *vm, struct machine *m)
{
	struct pc_ioapic *p;
	int ret;

	if (!vm->split_irqchip)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->vm = vm;
	p->io = ioapic_create(IOAPIC_ID, &pc_ioapic_ops, vm);
	if (!p->io) {
		free(p);
		return -ENOMEM;
	}
	ret = bus_register(&vm->mmio, IOAPIC_ADDR, IOAPIC_REG_SIZE,
			   &pc_ioapic_bus_ops, p->io, "ioapic");
	if (ret) {
		ioapic_destroy(p->io);
		free(p);
		return ret;
	}
	vm->irqchip = p->io;
	vm->irq_set = pc_ioapic_irq_set;
	vm->ioapic_eoi = pc_ioapic_eoi;
	p->dev = (struct device){ .name = "ioapic",
				  .kind = DEV_PLATFORM,
				  .reset = pc_ioapic_reset,
				  .destroy = pc_ioapic_destroy };
	device_register(vm, &p->dev);
	m->ioapic = p->io;
	return 0;
}

/* GPE ACPI_GPE_CPUHP's _E02 calls hw/cpuhp's CSCN. */
static const struct cpuhp_ops pc_cpuhp_ops = {
	.event = acpi_gpe_event,
	.listening = acpi_gpe_listening,
	.mat = x86_acpi_cpu_mat,
};

/* GPE ACPI_GPE_MEMHP's _E03 calls hw/memhp's MSCN. */
static const struct memhp_ops pc_memhp_ops = {
	.event = acpi_gpe_event,
	.listening = acpi_gpe_listening,
};

static int create_legacy_devices(struct vm *vm, const struct vm_config *cfg,
				 struct machine *m)
{
	struct rtc *rtc;

	m->uart = serial_create(vm, COM1_PORT, COM1_IRQ,
				cfg->serial_null ? -1 : STDOUT_FILENO);
	rtc = rtc_create(vm);
	if (!m->uart || !rtc || !i8042_create(vm) ||
	    !debug_exit_create(vm, DEBUG_EXIT_PORT))
		return -ENOMEM;
	m->board.power_button = acpi_pm_create(vm);
	if (!m->board.power_button)
		return -ENOMEM;
	/* vCPUs beyond the boot ones are for ACPI CPU hotplug (vm.resize). */
	if (vm->nr_cpus > cfg->nr_cpus) {
		m->cpuhp_gpe = (struct acpi_gpe_line){ m->board.power_button,
						       ACPI_GPE_CPUHP };
		m->board.cpu_hotplug = cpuhp_create(vm, vm->nr_cpus,
						    cfg->nr_cpus, &pc_cpuhp_ops,
						    &m->cpuhp_gpe);
		if (!m->board.cpu_hotplug)
			return -ENOMEM;
	}
	/* The hotplug area after RAM is for vm.resize's desired_ram. */
	if (vm->mem.hotplug_max && !cfg->hotplug_virtio_mem) {
		m->memhp_gpe = (struct acpi_gpe_line){ m->board.power_button,
						       ACPI_GPE_MEMHP };
		m->board.mem_hotplug =
			memhp_create(vm, &pc_memhp_ops, &m->memhp_gpe);
		if (!m->board.mem_hotplug)
			return -ENOMEM;
	}
	rtc_set_memory_size(rtc, x86_low_ram_end(&vm->mem),
			    vm->mem.ram_size - x86_low_ram_end(&vm->mem));
	return 0;
}

static void pci_msi_to_kvm(void *opaque, uint64_t addr, uint32_t data)
{
	/* Every function on a VM has msi_vectors; this is the fallback. */
	vm_signal_msi(opaque, IRQ_SID_NONE, addr, data);
}

void pc_pci_host_config(struct pci_host_config *cfg)
{
	*cfg = (struct pci_host_config){
		.ecam_base = PCI_ECAM_BASE,
		.ecam_size = PCI_ECAM_SIZE,
		.mmio32_base = PCI_MMIO32_BASE,
		.mmio32_size = PCI_MMIO32_SIZE,
		.io_base = PCI_IO_BASE,
		.io_size = PCI_IO_SIZE,
		.intx_gsi_base = PCI_INTX_GSI_BASE,
		/* The q35 MCH's IDs, which guests know as benign. */
		.vendor_id = 0x8086,
		.device_id = 0x29c0,
		.subsys_vendor_id = 0x1af4,
		.subsys_id = 0x1100,
	};
}

/*
 * The ICH's reset control register, inside CONFIG_ADDRESS at 0xCF9: a byte
 * that reads back. devisor's reset register is acpi_pm's (hw/acpi_pm.h).
 */
static uint64_t rcr_read(void *opaque, uint64_t off, unsigned int size)
{
	uint8_t *rcr = opaque;

	return off == 1 && size == 1 ? __atomic_load_n(rcr, __ATOMIC_RELAXED) :
				       ~0ull;
}

static void rcr_write(void *opaque, uint64_t off, uint64_t val,
		      unsigned int size)
{
	if (off == 1 && size == 1)
		__atomic_store_n((uint8_t *)opaque, (uint8_t)val,
				 __ATOMIC_RELAXED);
}

static const struct bus_ops rcr_ops = {
	.read = rcr_read,
	.write = rcr_write,
};

/* Before the PCI host: the functions' DMA spaces are made through it. */
static int create_iommu(struct vm *vm, const struct vm_config *cfg,
			struct machine *m)
{
	if (cfg->iommu.kind == IOMMU_VIRTIO) {
		const struct viommu_params p = {
			.input_end = (1ull << 48) - 1,
			.domain_end = 0xffff,
			.msi_start = MSI_WINDOW_START,
			.msi_end = MSI_WINDOW_END,
		};

		m->viommu = virtio_iommu_model_create(vm, &p);
		return m->viommu ? 0 : -ENOMEM;
	}
	if (cfg->iommu.kind != IOMMU_VTD)
		return 0;
	m->vtd = vtd_vm_create(vm, VTD_REG_BASE);
	if (!m->vtd)
		return -ENOMEM;
	/* Remappable IOAPIC entries need our IOAPIC: split irqchip only. */
	if (cfg->iommu.intremap && vm->split_irqchip) {
		vtd_vm_set_intremap(vm, m->vtd);
		m->intremap = true;
	}
	/*
	 * VFIO mirrors the guest's tables: it must hear of every new entry.
	 * The guest reads CM once, so a function added later needs it now.
	 */
	if (cfg->nr_vfio || cfg->iommu.caching_mode)
		vtd_set_caching_mode(m->vtd, true);
	return 0;
}

static int create_pci(struct vm *vm, struct machine *m)
{
	struct pci_host_config cfg;
	uint64_t top = guest_mem_reserved_end(&vm->mem);
	int ret;

	m->pci = calloc(1, sizeof(*m->pci));
	if (!m->pci)
		return -ENOMEM;
	m->board.pci = m->pci;
	pc_pci_host_config(&cfg);
	/* 64-bit BARs go above RAM, 1 GiB aligned, below 2^40. */
	if (top < PCI_HOLE_END)
		top = PCI_HOLE_END;
	cfg.mmio64_base = (top + (1ull << 30) - 1) & ~((1ull << 30) - 1);
	cfg.mmio64_size = PCI_MMIO64_SIZE;
	cfg.msi_deliver = pci_msi_to_kvm;
	cfg.msi_opaque = vm;
	cfg.conf1_other = &rcr_ops;
	cfg.conf1_other_opaque = &m->rcr;
	if (m->vtd) {
		cfg.dma_init = vtd_vm_pci_dma_init;
		cfg.dma_opaque = m->vtd;
	} else if (m->viommu) {
		cfg.dma_init = virtio_iommu_pci_dma_init;
		cfg.dma_opaque = m->viommu;
	}
	ret = pci_host_init(m->pci, vm, &cfg);
	if (ret) {
		pr_err("cannot create the PCI host: %s", strerror(-ret));
		return ret;
	}
	/* After the host: its AML adds to \_SB.PCI0. */
	/* GPE ACPI_GPE_PCIHP's _E01 calls hw/pcihp's PCNT. */
	m->pcihp_gpe =
		(struct acpi_gpe_line){ m->board.power_button, ACPI_GPE_PCIHP };
	m->board.hotplug = pcihp_create(vm, acpi_gpe_event, acpi_gpe_listening,
					&m->pcihp_gpe);
	return m->board.hotplug ? 0 : -ENOMEM;
}

static size_t uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
	return serial_receive(opaque, buf, len);
}

/* ISA IRQs no legacy device of ours uses: edge, active high, no override. */
static const unsigned int mmio_gsis[VIRTIO_MMIO_MAX] = { 5,  6,	 7,  10, 11,
							 12, 13, 14, 15 };

/*
 * Puts @vdev on PCI at @devfn (planned by config_plan_pci()) or on the
 * next virtio-mmio window. Takes ownership: on failure @vdev is destroyed
 * here.
 */
static int attach_virtio(struct vm *vm, struct machine *m,
			 struct virtio_dev *vdev,
			 enum virtio_transport_kind transport, int devfn)
{
	unsigned int i = m->nr_mmio;

	if (transport == TRANSPORT_PCI) {
		pci_host_set_next_devfn(m->pci, devfn);
		if (virtio_pci_create(vm, m->pci, vdev, m->io))
			return 0;
	} else if (i == VIRTIO_MMIO_MAX) {
		pr_err("%s: at most %d virtio-mmio devices", vdev->name,
		       VIRTIO_MMIO_MAX);
	} else {
		m->mmio[i] = virtio_mmio_create(
			vm, VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE,
			mmio_gsis[i], vdev, m->io);
		if (m->mmio[i]) {
			m->nr_mmio++;
			return 0;
		}
	}
	virtio_dev_destroy(vdev);
	return -ENODEV;
}

struct pc_attach {
	struct vm *vm;
	struct machine *m;
};

/*
 * virtio-pmem ranges go after the 64-bit PCI window, 1 GiB aligned (a
 * DAX file system's huge pages line up), below 2^40 (a 40-bit MAXPHYADDR,
 * what KVM reports at least on the hosts devisor runs on): the lowest such
 * range no device RAM holds now, so a removed device's is taken again.
 */
static uint64_t pc_place_pmem(void *opaque, uint64_t size)
{
	struct pc_attach *pa = opaque;
	struct pci_host_config *c = &pa->m->pci->cfg;
	uint64_t from = pc_high_range(c->mmio64_base + c->mmio64_size, 0);

	return from ? virtio_pmem_lowest_free(&pa->vm->mem, from, size,
					      PC_HIGH_ALIGN, PC_HIGH_LIMIT) :
		      0;
}

static int pc_attach(void *opaque, struct virtio_dev *vdev,
		     enum virtio_transport_kind transport, int devfn)
{
	struct pc_attach *pa = opaque;

	return attach_virtio(pa->vm, pa->m, vdev, transport, devfn);
}

static int create_virtio_devices(struct vm *vm, const struct vm_config *cfg,
				 struct machine *m)
{
	struct pc_attach pa = { vm, m };
	struct virtio_dev *vdev;
	int ret;
	struct virtio_board vb = { .attach = pc_attach,
				   .place_pmem = pc_place_pmem,
				   .opaque = &pa,
				   .console = &m->board.console,
				   .balloon = &m->board.balloon,
				   .virtio_mem = &m->board.virtio_mem,
				   .mmio_disks = m->board.mmio_disks,
				   .mmio_nets = m->board.mmio_nets };

	m->io = evloop_create_sched("io0", cfg->io_sched);
	if (!m->io)
		return -ENOMEM;
	vb.io = m->io;
	ret = virtio_create_devices(vm, cfg, &vb);
	if (ret)
		return ret;
	if (m->viommu) {
		m->iommu_io = evloop_create_kind("iommu", cfg->io_sched,
						 SANDBOX_IOMMU);
		if (!m->iommu_io)
			return -ENOMEM;
		vdev = virtio_iommu_create(vm, m->viommu);
		if (!vdev)
			return -ENOMEM;
		pci_host_set_next_devfn(m->pci, cfg->iommu_addr);
		if (!virtio_pci_create(vm, m->pci, vdev, m->iommu_io)) {
			virtio_dev_destroy(vdev);
			return -ENODEV;
		}
		m->viommu_devfn = cfg->iommu_addr;
	}
	return 0;
}

/* The DMAR table of --iommu vtd (docs/iommu.md); 0 bytes without. */
static size_t dmar_body(const struct machine *m, void *buf, size_t size)
{
	const struct vtd_dmar_config dc = {
		.reg_base = VTD_REG_BASE,
		.segment = 0,
		.ioapic_id = IOAPIC_ID,
		.ioapic_bus = IOAPIC_PCI_BUS,
		.ioapic_devfn = IOAPIC_PCI_DEVFN,
		.intremap = m->intremap,
	};

	return m->vtd ? vtd_dmar_build(buf, size, &dc) : 0;
}

/* The VIOT table of --iommu virtio; 0 bytes without. */
static size_t viot_body(const struct machine *m, void *buf, size_t size)
{
	return m->viommu ? viommu_viot_build(buf, size, 0, m->viommu_devfn) : 0;
}

int machine_install_acpi(struct vm *vm, struct machine *m, uint64_t *rsdp)
{
	uint8_t mcfg[64], iommu[96];
	struct acpi_extra_table extra[2] = {
		{
			.signature = { 'M', 'C', 'F', 'G' },
			.revision = 1,
			.body = mcfg,
			.body_len = pci_host_mcfg(m->pci, mcfg, sizeof(mcfg)),
		},
		m->viommu ?
			(struct acpi_extra_table){
				.signature = { 'V', 'I', 'O', 'T' },
				.revision = 0,
				.body = iommu,
				.body_len = viot_body(m, iommu, sizeof(iommu)),
			} :
			(struct acpi_extra_table){
				.signature = { 'D', 'M', 'A', 'R' },
				.revision = 1,
				.body = iommu,
				.body_len = dmar_body(m, iommu, sizeof(iommu)),
			},
	};
	struct x86_acpi_config cfg = {
		.nr_cpus = vm->nr_cpus,
		/* 0 without CPU hotplug: all of them. */
		.nr_present = m->board.cpu_hotplug ?
				      cpuhp_nr_present(m->board.cpu_hotplug) :
				      0,
		.mem_hotplug = m->board.mem_hotplug != NULL,
		.vm = vm,
		.pci_hotplug = m->board.hotplug != NULL,
		.extra_tables = extra,
		.nr_extra_tables = extra[1].body_len ? 2 : 1,
		.no_pic = vm->split_irqchip,
	};
	struct acpi_tables t = {
		.buf = gpa_to_hva(&vm->mem, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE),
		.size = ACPI_TABLES_SIZE,
		.base_gpa = ACPI_TABLES_ADDR,
	};
	int ret;

	if (!t.buf)
		return -ENOSPC;
	ret = x86_acpi_build(&t, &cfg);
	if (ret) {
		pr_err("cannot build ACPI tables: %s", strerror(-ret));
		return ret;
	}
	*rsdp = t.rsdp_gpa;
	return 0;
}

static int install_smbios(struct vm *vm, const struct vm_config *cfg,
			  const struct kvm_cpuid2 *cpuid)
{
	void *buf = gpa_to_hva(&vm->mem, SMBIOS_ADDR, SMBIOS_SIZE);
	uint64_t low = x86_low_ram_end(&vm->mem);
	char vendor[13];
	struct smbios_config sc = {
		.version = devisor_version,
		.serial = cfg->platform.serial,
		.nr_cpus = vm->nr_cpus,
		/* The rest are for CPU hotplug (hw/cpuhp.h). */
		.nr_enabled = cfg->nr_cpus,
		.ram_low = low,
		.ram_high = vm->mem.ram_size - low,
	};
	ssize_t ret;

	if (!buf)
		return -ENOSPC;
	memcpy(sc.uuid, cfg->platform.uuid, sizeof(sc.uuid));
	x86_cpu_ident(cpuid, vendor, &sc.cpu_id);
	sc.cpu_vendor = vendor;
	ret = smbios_build(buf, SMBIOS_SIZE, SMBIOS_ADDR, &sc);
	if (ret < 0) {
		pr_err("cannot build SMBIOS tables: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

/*
 * virtio-mmio devices are described in the DSDT; a guest booted with
 * acpi=off learns of them from the command line instead (never both: Linux
 * would probe each twice).
 */
static char *kernel_cmdline(const struct vm_config *cfg,
			    const struct machine *m)
{
	size_t len = strlen(cfg->cmdline) + 1;
	char *s;

	if (!strstr(cfg->cmdline, "acpi=off"))
		return strdup(cfg->cmdline);
	for (unsigned int i = 0; i < m->nr_mmio; i++)
		len += strlen(virtio_mmio_cmdline(m->mmio[i])) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	strcpy(s, cfg->cmdline);
	for (unsigned int i = 0; i < m->nr_mmio; i++) {
		strcat(s, " ");
		strcat(s, virtio_mmio_cmdline(m->mmio[i]));
	}
	return s;
}

static int load_kernel(struct vm *vm, const struct vm_config *cfg,
		       const struct machine *m, uint64_t rsdp,
		       struct boot_entry *entry)
{
	struct mapped_file kernel = { 0 }, initrd = { 0 };
	char *cmdline = kernel_cmdline(cfg, m);
	struct boot_request req = {
		.cmdline = cmdline,
		.rsdp_addr = rsdp,
		.protocol = !cfg->boot_protocol		       ? BOOT_AUTO :
			    !strcmp(cfg->boot_protocol, "pvh") ? BOOT_PVH :
								 BOOT_LINUX64,
	};
	int ret;

	if (!cmdline)
		return -ENOMEM;
	ret = map_file(cfg->kernel, "kernel", &kernel);
	if (ret)
		goto out;
	if (cfg->initrd) {
		ret = map_file(cfg->initrd, "initrd", &initrd);
		if (ret)
			goto out;
	}
	req.kernel = kernel.data;
	req.kernel_size = kernel.size;
	req.initrd = initrd.data;
	req.initrd_size = initrd.size;
	ret = x86_boot_load(&vm->mem, &req, entry);
	if (ret)
		pr_err("cannot boot %s", cfg->kernel);
	else
		pr_info("%s: %s kernel, %s boot, entry %#llx", cfg->kernel,
			entry->format == KERNEL_ELF ? "ELF" : "bzImage",
			boot_protocol_name(entry->protocol),
			(unsigned long long)entry->entry);
out:
	unmap_file(&initrd);
	unmap_file(&kernel);
	free(cmdline);
	return ret;
}

int machine_create_devices(struct vm *vm, const struct vm_config *cfg,
			   struct machine *m)
{
	int ret;

	ret = create_ioapic(vm, m);
	if (ret)
		return ret;
	ret = create_legacy_devices(vm, cfg, m);
	if (ret)
		return ret;
	ret = create_iommu(vm, cfg, m);
	if (ret)
		return ret;
	ret = create_pci(vm, m);
	if (ret)
		return ret;
	m->board.console = (struct console_port){
		.receive = uart_receive,
		.rx_eventfd = serial_rx_eventfd(m->uart),
		.opaque = m->uart,
	};
	ret = create_virtio_devices(vm, cfg, m);
	if (ret)
		return ret;
	ret = nvme_create_devices(vm, cfg, m->pci, m->io);
	if (ret)
		return ret;
	return vfio_pci_create_devices(vm, cfg, m->pci);
}

/*
 * Builds the PC board on a created VM: legacy devices, ACPI tables, the
 * kernel and initrd in RAM, CPUID and boot registers on every vCPU.
 */
static int machine_setup(struct vm *vm, const struct vm_config *cfg,
			 struct machine *m)
{
	struct kvm_cpuid2 *cpuid;
	struct boot_entry entry;
	uint64_t rsdp = 0;
	bool tsc_deadline;
	int ret;

	ret = machine_create_devices(vm, cfg, m);
	if (ret)
		return ret;
	ret = machine_install_acpi(vm, m, &rsdp);
	if (ret)
		return ret;
	ret = load_kernel(vm, cfg, m, rsdp, &entry);
	if (ret)
		return ret;

	cpuid = x86_supported_cpuid(vm->kvm_fd);
	if (!cpuid)
		return -ENODEV;
	ret = install_smbios(vm, cfg, cpuid);
	if (ret) {
		free(cpuid);
		return ret;
	}
	tsc_deadline = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
			     KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	for (unsigned int i = 0; i < vm->nr_cpus && !ret; i++)
		ret = x86_vcpu_init(vm->vcpus[i], cpuid, vm->nr_cpus,
				    tsc_deadline);
	free(cpuid);
	if (ret)
		return ret;
	/* APs wait for INIT/SIPI from the guest, as on real hardware. */
	return x86_vcpu_boot_state(vm->vcpus[0], &entry);
}

void machine_destroy(struct machine *m)
{
	/* After vm_destroy(): the devices on the loop are gone. */
	evloop_destroy(m->io);
	m->io = NULL;
	evloop_destroy(m->iommu_io);
	m->iommu_io = NULL;
	free(m->pci);
	m->pci = m->board.pci = NULL;
	m->vtd = NULL; /* freed by vm_destroy() with the other devices */
}

static int pc_setup(struct vm *vm, const struct vm_config *cfg,
		    struct board **out)
{
	struct machine *m = calloc(1, sizeof(*m));

	*out = m ? &m->board : NULL;
	return m ? machine_setup(vm, cfg, m) : -ENOMEM;
}

static void pc_destroy(struct board *b)
{
	struct machine *m = b ? container_of(b, struct machine, board) : NULL;

	if (m) {
		machine_destroy(m);
		free(m);
	}
}

static int pc_add_virtio(struct vm *vm, struct board *b,
			 const struct virtio_hotplug *h)
{
	struct machine *m = container_of(b, struct machine, board);
	struct pc_attach pa = { vm, m };
	struct virtio_board vb = { .io = m->io,
				   .place_pmem = pc_place_pmem,
				   .opaque = &pa };

	return virtio_pci_hotplug(vm, m->pci, h, &vb);
}

static int pc_add_vfio(struct vm *vm, struct board *b, const char *path,
		       char *err, size_t errlen)
{
	struct machine *m = container_of(b, struct machine, board);
	struct vfio_pci *vp;

	/*
	 * Behind the emulated VT-d a function needs caching mode, which the
	 * guest read at boot (the DRHD's INCLUDE_PCI_ALL covers any slot).
	 * virtio-iommu's VIOT covers every slot, and its MAPs reach a new
	 * function's shadow as any other's.
	 */
	if (m->vtd && !vtd_caching_mode(m->vtd)) {
		snprintf(err, errlen,
			 "behind --iommu vtd a passed-through function needs "
			 "caching mode from boot on: --iommu "
			 "vtd,caching_mode=on, or a --device at boot");
		return -EOPNOTSUPP;
	}
	vp = vfio_pci_create(vm, m->pci, path, CONFIG_PCI_AUTO, 0, err, errlen);
	if (!vp)
		return -ENODEV;
	return vfio_pci_pdev(vp)->devfn;
}

static int pc_remove_pci(struct vm *vm, struct board *b, int devfn)
{
	struct machine *m = container_of(b, struct machine, board);
	struct pci_dev *pdev = pci_host_find(m->pci, 0, devfn);
	struct virtio_pci *vp = virtio_pci_from_pdev(pdev);
	struct vfio_pci *fp = vfio_pci_from_pdev(pdev);

	/* Every other function's DMA goes through it. */
	if (vp && m->viommu && devfn == m->viommu_devfn)
		return -EBUSY;
	if (vp)
		virtio_pci_destroy(vp);
	else if (fp)
		vfio_pci_destroy(fp);
	else
		return -ENODEV;
	return 0;
}

/* Interrupt remapping needs the IOAPIC in user space (docs/iommu.md). */
static unsigned int pc_vm_flags(const struct vm_config *cfg)
{
	return cfg->iommu.kind == IOMMU_VTD && cfg->iommu.intremap ?
		       VM_SPLIT_IRQCHIP :
		       0;
}

const struct board_ops pc_board = {
	.vm_flags = pc_vm_flags,
	.setup = pc_setup,
	.destroy = pc_destroy,
	.add_virtio = pc_add_virtio,
	.add_vfio = pc_add_vfio,
	.remove_pci = pc_remove_pci,
};

const struct board_ops *arch_board(void)
{
	return &pc_board;
}
