# shellcheck shell=bash
# iommu-strict: --iommu vtd with virtio-blk, virtio-net and virtio-rng
# on PCI, L3 booted with intel_iommu=on iommu.strict=1: the kernel's
# default mode (scalable: CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON=y
# in Debian's 6.1) and strict invalidation (DMA domains: every unmap is
# invalidated at once).
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
vtd_checks scalable-mode DMA
