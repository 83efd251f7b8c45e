# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# vhost-net: the NIC on a tap in L2 (nested-vm --tap vtap0=10.0.3.1/24)
# with vhost=on, so L2's kernel moves every frame: L3 takes a static
# address, fetches L2's blob from 10.0.3.1:8080 with the right md5 (on
# PCI the 64 MiB one, nested-vm --http64; 16 MiB on MMIO), and devisor's
# own counters show that its I/O thread handled no frame.
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
vc_virtio_device net "${vn_transport:-pci}"
if [[ ${vn_transport:-pci} == pci ]]; then
	vc_net_static 10.0.3.2/24 blob64 67108864
else
	vc_net_static 10.0.3.2/24
fi
vc_vhost_bypass vtap0
