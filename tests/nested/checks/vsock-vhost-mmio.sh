# shellcheck shell=bash
# vsock-vhost-mmio: vhost-vsock on virtio-mmio, where the kernel signals
# our call eventfd and devisor raises the interrupt.
vs_vhost=1
# shellcheck source=SCRIPTDIR/vsock.sh
. "$NESTED_DIR/checks/vsock.sh"
