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
# On L3's hold, 256 MiB plugged (api-vm --plug-mem), then a 16 MiB fetch
# whose receive buffers L3 refills from it: the kernel's table has it.
if [[ $name == vhost-net ]]; then
	# shellcheck source=SCRIPTDIR/_api.sh
	. "$NESTED_DIR/checks/_api.sh"
	ap_plug_checks 256
	v=$(sed -n 's/.*DEVISOR-L3 mem-net //p' "$clog" | tr -d '\r' | head -n1)
	want=$(vc_l2 http-blob-md5)
	if [[ $v == "bytes=16777216 md5=$want" && -n $want ]]; then
		pass "$name/mem-net"
	else
		fail "$name/mem-net" "mem-net ${v:-none}, want bytes=16777216 md5=${want:-?}"
	fi
fi
