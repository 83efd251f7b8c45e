/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_ARM64_LAYOUT_H
#define DEVISOR_ARCH_ARM64_LAYOUT_H

/*
 * Guest-physical memory map of an arm64 devisor VM, after QEMU's virt
 * board, whose addresses Linux and its users know:
 *
 *   0x0800_0000  GICv3 distributor (64 KiB)
 *   0x0808_0000  GICv3 ITS (128 KiB: control and translation frames)
 *   0x080a_0000  GICv3 redistributors, 128 KiB per vCPU (up to 123)
 *   0x0900_0000  PL011 UART (ttyAMA0)
 *   0x0901_0000  PL031 RTC
 *   0x0a00_0000  virtio-mmio windows, 4 KiB each
 *   0x1000_0000  PCIe 32-bit MMIO window
 *   0x3eff_0000  PCIe I/O window (64 KiB)
 *   0x3f00_0000  PCIe ECAM (16 buses)
 *   0x4000_0000  RAM: the kernel Image at a 2 MiB-aligned offset plus its
 *                text_offset, the DTB and the initrd at the top
 *   above RAM    the PCIe 64-bit MMIO window, 1 GiB aligned, then the
 *                virtio-pmem ranges, 1 GiB aligned, below 2^40
 *
 * Interrupts are GIC SPIs; a device's "gsi" is its SPI number (INTID - 32),
 * which is also the pin of KVM's irqchip routes and the second cell of
 * its "interrupts" in the device tree.
 */
#define ARM64_GIC_DIST_BASE 0x08000000ull
#define ARM64_GIC_DIST_SIZE 0x10000ull
#define ARM64_GIC_ITS_BASE 0x08080000ull
#define ARM64_GIC_ITS_SIZE 0x20000ull
#define ARM64_GIC_REDIST_BASE 0x080a0000ull
#define ARM64_GIC_REDIST_SIZE_PER_CPU 0x20000ull
#define ARM64_UART_BASE 0x09000000ull
#define ARM64_RTC_BASE 0x09010000ull
#define ARM64_MAX_CPUS                               \
	((ARM64_UART_BASE - ARM64_GIC_REDIST_BASE) / \
	 ARM64_GIC_REDIST_SIZE_PER_CPU)
#define ARM64_VIRTIO_MMIO_BASE 0x0a000000ull
#define ARM64_VIRTIO_MMIO_STRIDE 0x1000ull
#define ARM64_VIRTIO_MMIO_MAX 32
#define ARM64_PCI_MMIO32_BASE 0x10000000ull
#define ARM64_PCI_MMIO32_SIZE 0x2eff0000ull
#define ARM64_PCI_IO_BASE 0x3eff0000ull
#define ARM64_PCI_IO_SIZE 0x10000ull
#define ARM64_PCI_ECAM_BASE 0x3f000000ull
#define ARM64_PCI_ECAM_SIZE 0x01000000ull
#define ARM64_PCI_MMIO64_SIZE (64ull << 30)
#define ARM64_RAM_BASE 0x40000000ull
/* RAM ends below 2^40 (IPA size 40 bits, KVM's default). */
#define ARM64_IPA_LIMIT (1ull << 40)
#define ARM64_RAM_MAX                                               \
	(ARM64_IPA_LIMIT - ARM64_RAM_BASE - ARM64_PCI_MMIO64_SIZE - \
	 (1ull << 30))
/* virtio-pmem ranges: after the 64-bit window, 1 GiB aligned. */
#define ARM64_PMEM_ALIGN (1ull << 30)

/* SPIs. */
#define ARM64_UART_SPI 1
#define ARM64_RTC_SPI 2
#define ARM64_PCI_INTX_SPI 3 /* INTA-INTD: 3-6 */
#define ARM64_VIRTIO_MMIO_SPI 16 /* one each: 16-47 */
#define ARM64_NR_SPIS 64

/* PPIs (INTID - 16) of the generic timer, as Linux's arm,armv8-timer. */
#define ARM64_TIMER_PPI_SEC 13
#define ARM64_TIMER_PPI_PHYS 14
#define ARM64_TIMER_PPI_VIRT 11
#define ARM64_TIMER_PPI_HYP 10

/* The Image's place: 2 MiB aligned from RAM's start (Documentation/arm64/booting). */
#define ARM64_KERNEL_ALIGN (2ull << 20)
#define ARM64_FDT_MAX_SIZE (2ull << 20)

#endif
