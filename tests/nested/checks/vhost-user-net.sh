# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# vhost-user-net: devisor's --net vhost-user= front-end against a back-end
# it did not write: DPDK's vhost library (tests/nested/vhost-user-net.c,
# nested-vm --vunet) bridging the NIC to a tap in L2. L3 takes a static
# address and fetches L2's blob through it with the right md5; the
# back-end says what it negotiated (VERSION_1, offloads off) and that the
# frames went through it, not through devisor.
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
v=$(vc_l2 vunet)
if [[ $v == ready* ]]; then pass "$name/backend"; else fail "$name/backend" "vunet=${v:-none}"; fi
vc_virtio_device net pci
vc_net_static 10.0.8.2/24
v=$(vc_l2 vunet-device)
if [[ $v =~ ^\(features\ 0x([0-9a-f]+)\)$ ]] && (((16#${BASH_REMATCH[1]} >> 32) & 1)); then
	pass "$name/negotiated"
else
	fail "$name/negotiated" "vunet-device=${v:-none}, want VERSION_1 negotiated"
fi
v=$(vc_l2 vunet-done)
if [[ $v =~ ^tx=([0-9]+)\ rx=([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 100 && BASH_REMATCH[2] >= 1000)); then
	pass "$name/frames-through-backend"
else
	fail "$name/frames-through-backend" "vunet-done=${v:-none}, want >= 100 frames out and >= 1000 in"
fi
