# shellcheck shell=bash
# vhost-net-mmio: vhost-net with the NIC on virtio-mmio, where the
# worker's interrupt goes through devisor's call eventfd.
vn_transport=mmio
# shellcheck source=SCRIPTDIR/vhost-net.sh
. "$NESTED_DIR/checks/vhost-net.sh"
