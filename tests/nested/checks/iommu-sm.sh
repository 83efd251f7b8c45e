# shellcheck shell=bash
# iommu-sm: --iommu vtd with virtio-blk, virtio-net and virtio-rng on
# PCI, L3 booted with intel_iommu=on,sm_on: scalable-mode tables, lazy
# invalidation (DMA-FQ domains).
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
# shellcheck source=SCRIPTDIR/_vtd.sh
. "$NESTED_DIR/checks/_vtd.sh"
vc_virtio_device blk pci
vc_virtio_device net pci
vc_virtio_device rng pci
vc_msix
vc_hwrng
vc_disk
vc_net
vtd_checks scalable-mode DMA-FQ 3 ir
