# shellcheck shell=bash
# vsock-mmio: the vsock case with the device on virtio-mmio.
# shellcheck source=SCRIPTDIR/vsock.sh
. "$NESTED_DIR/checks/vsock.sh"
