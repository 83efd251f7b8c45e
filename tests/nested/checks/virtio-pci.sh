# shellcheck shell=bash
# virtio-pci: rng, console (hvc0), disk and NIC on PCI with MSI-X.
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
vc_pci_ids
vc_pcie_extcfg
vc_msix
vc_virtio_device rng pci
vc_virtio_device console pci
vc_virtio_device blk pci
vc_virtio_device net pci
vc_hwrng
vc_hvc
vc_disk
vc_net
