# shellcheck shell=bash
# vhost-user-blk-mmio: the same on virtio-mmio (the back-end signals
# devisor's call eventfd, which raises the interrupt).
vu_transport=mmio
# shellcheck source=SCRIPTDIR/vhost-user-blk.sh
. "$NESTED_DIR/checks/vhost-user-blk.sh"
