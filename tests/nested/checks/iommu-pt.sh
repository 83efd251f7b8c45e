# shellcheck shell=bash
# iommu-pt: --iommu vtd,intremap=off with virtio-blk and virtio-net on PCI,
# L3 booted with intel_iommu=on iommu=pt: the driver turns DMA remapping on
# with pass-through entries, every virtio function's group is an identity
# domain, and the devices work with untranslated addresses.
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
# shellcheck source=SCRIPTDIR/_vtd.sh
. "$NESTED_DIR/checks/_vtd.sh"
vc_virtio_device blk pci
vc_virtio_device net pci
vc_msix
vc_disk
vc_net
vtd_checks scalable-mode identity 2
