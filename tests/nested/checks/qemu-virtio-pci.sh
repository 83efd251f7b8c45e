# shellcheck shell=bash
# QEMU's peer of virtio-pci: the same checks.
# shellcheck source=SCRIPTDIR/virtio-pci.sh
. "$NESTED_DIR/checks/virtio-pci.sh"
