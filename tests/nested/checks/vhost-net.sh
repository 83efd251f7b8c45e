# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# vhost-net: the NIC on a tap in L2 (nested-vm --tap vtap0=10.0.3.1/24)
# with vhost=on, so L2's kernel moves every frame: L3 takes a static
# address, fetches L2's 16 MiB blob from 10.0.3.1:8080 with the right md5,
# and devisor's own counters show that its I/O thread handled no frame.
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
vc_virtio_device net "${vn_transport:-pci}"
vc_net_static 10.0.3.2/24
vc_vhost_bypass vtap0
