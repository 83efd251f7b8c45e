# shellcheck shell=bash
# virtio-mmio: the disk on virtio-mmio, found through the DSDT (LNRO0005),
# next to an rng on PCI.
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
vc_mmio
vc_virtio_device blk mmio
vc_hwrng
vc_disk
