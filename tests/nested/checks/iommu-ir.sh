# shellcheck shell=bash
# iommu-ir: --iommu vtd (interrupt remapping on: split irqchip and
# devisor's IOAPIC) with virtio-blk and virtio-net on PCI, 2 vCPUs, L3
# booted with intel_iommu=on: IRQ remapping in x2APIC mode, MSI-X and
# IOAPIC interrupts through IRTEs that count up, and the I/O of iommu-sm.
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
# shellcheck source=SCRIPTDIR/_vtd.sh
. "$NESTED_DIR/checks/_vtd.sh"
vc_virtio_device blk pci
vc_virtio_device net pci
vc_msix
vc_disk
vc_net
vtd_checks scalable-mode DMA-FQ 2 ir
