# shellcheck shell=bash
# QEMU's peer of virtio-mmio (microvm): the same checks, except that the
# rng is on virtio-mmio too (microvm has no PCI here).
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
vc_mmio
vc_virtio_device blk mmio
vc_hwrng
vc_disk
