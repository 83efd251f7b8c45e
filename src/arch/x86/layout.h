/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_X86_LAYOUT_H
#define DEVISOR_ARCH_X86_LAYOUT_H

#include <stdint.h>

/*
 * Guest-physical memory map of an x86 devisor VM.
 *
 *   0x0000_0500  boot GDT (64-bit boot protocol selectors 0x10/0x18)
 *   0x0000_6000  PVH hvm_start_info, module list, memory map
 *   0x0000_7000  zero page (struct boot_params)
 *   0x0000_8ff0  boot stack top
 *   0x0000_9000  boot page tables: PML4, PDPT, 4 PDs (identity 0..4 GiB)
 *   0x0002_0000  kernel command line
 *   0x0009_fc00  end of low RAM (EBDA-sized gap kept reserved)
 *   0x000e_0000  ACPI tables, RSDP first (the legacy RSDP scan window)
 *   0x000f_0000  SMBIOS 3.0 entry point, then its structure table
 *   0x0010_0000  kernel (bzImage protected-mode part; vmlinux uses p_paddr)
 *   ...          RAM up to min(size, 3 GiB), initrd at its top
 *   0xc000_0000  32-bit PCI hole: MMIO window for BARs
 *   0xe000_0000  PCIe ECAM
 *   0xfeb0_0000  virtio-mmio windows
 *   0xfec0_0000  IOAPIC, 0xfee0_0000 LAPIC (in-kernel)
 *   0xfed9_0000  VT-d register page (--iommu vtd), where q35 has it
 *   0x1_0000_0000 RAM above 4 GiB, then the 64-bit MMIO window
 */
#define BOOT_GDT_ADDR 0x500ull
#define PVH_INFO_ADDR 0x6000ull
#define ZERO_PAGE_ADDR 0x7000ull
#define BOOT_STACK_TOP 0x8ff0ull
#define BOOT_PML4_ADDR 0x9000ull
#define BOOT_PDPT_ADDR 0xa000ull
#define BOOT_PD_ADDR 0xb000ull /* four pages */
#define CMDLINE_ADDR 0x20000ull
#define CMDLINE_MAX 4096u
#define LOW_RAM_END 0x9fc00ull
#define ACPI_TABLES_ADDR 0xe0000ull
#define ACPI_TABLES_SIZE 0x10000ull
/* Linux scans 0xf0000-0xfffff for the entry point. */
#define SMBIOS_ADDR 0xf0000ull
#define SMBIOS_SIZE 0x10000ull
#define KERNEL_LOAD_ADDR 0x100000ull

#define PCI_HOLE_START 0xc0000000ull
#define PCI_HOLE_END 0x100000000ull
#define PCI_MMIO32_BASE 0xc0000000ull
#define PCI_MMIO32_SIZE 0x20000000ull
#define PCI_ECAM_BASE 0xe0000000ull
/*
 * ECAM for bus 0 only, the one bus there is (SR-IOV VFs stay on it): x86
 * Linux probes every bus the MCFG covers for peer root buses
 * (pcibios_fixup_peer_bridges(): 32 slots of each through CF8/CFC), which
 * with 256 buses was 16,320 port exits, 0.7 s of a nested boot.
 */
#define PCI_ECAM_SIZE 0x00100000ull
#define PCI_IO_BASE 0xc000ull
#define PCI_IO_SIZE 0x4000ull
#define PCI_MMIO64_SIZE (64ull << 30)
/* IOAPIC pins 16-19 take the PCI INTx lines (the _PRT swizzle). */
#define PCI_INTX_GSI_BASE 16
/* virtio-mmio windows, 4 KiB each, below the IOAPIC as on QEMU microvm. */
#define VIRTIO_MMIO_BASE 0xfeb00000ull
#define VIRTIO_MMIO_STRIDE 0x1000ull
#define VIRTIO_MMIO_MAX 9
#define IOAPIC_ADDR 0xfec00000ull
#define X86_IOAPIC_PINS 24 /* GSIs 0-23 */
#define LAPIC_ADDR 0xfee00000ull
/* Where a device's write is an MSI: virtio-iommu's PROBE reserves it. */
#define MSI_WINDOW_START 0xfee00000ull
#define MSI_WINDOW_END 0xfeefffffull
/* The VT-d unit's 4 KiB register page (DMAR DRHD), as on QEMU's q35. */
#define VTD_REG_BASE 0xfed90000ull

/*
 * The IOAPIC's id, in the MADT and the DMAR's device scope. KVM's
 * in-kernel IOAPIC resets its ID register to 0 and implements only 4 bits
 * of it, so an id of nr_cpus could not even be read back past 15 vCPUs.
 * xAPIC systems keep IOAPIC and local APIC ids apart, so 0 does not clash
 * with the boot CPU.
 */
#define IOAPIC_ID 0
/*
 * The IOAPIC's requester id, for the DMAR device scope (what interrupt
 * remapping would check its messages against): a bus no function is on,
 * ff:00.0, as QEMU's q35 picks, so it can never clash with a --*
 * addr=DD.F function on bus 0.
 */
#define IOAPIC_PCI_BUS 0xff
#define IOAPIC_PCI_DEVFN 0x00

/*
 * RAM-like ranges above 4 GiB (memory hotplug's area, virtio-pmem) start
 * at a 1 GiB boundary, which lets the guest map them with its largest
 * pages, and end below 1 TiB, inside the physical address width of every
 * x86-64 CPU: pc_high_range() gives the start or 0.
 */
#define PC_HIGH_ALIGN (1ull << 30)
#define PC_HIGH_LIMIT (1ull << 40)

static inline uint64_t pc_high_range(uint64_t from, uint64_t size)
{
	uint64_t gpa = (from + PC_HIGH_ALIGN - 1) & ~(PC_HIGH_ALIGN - 1);

	if (gpa < PCI_HOLE_END)
		gpa = PCI_HOLE_END;
	if (size > PC_HIGH_LIMIT || gpa > PC_HIGH_LIMIT - size)
		return 0;
	return gpa;
}

/* KVM needs three private pages for its real-mode TSS and identity map. */
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ull
#define KVM_TSS_ADDR 0xfeffd000ull

#endif
