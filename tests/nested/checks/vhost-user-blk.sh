# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# vhost-user-blk: the disk served by qemu-storage-daemon in L2 over
# vhost-user (nested-vm --qsd IMG:SOCK), guest RAM a memfd: the virtio
# disk checks (16 MiB, L2's seed, L3's pattern written with fsync and
# read back, and found in the image by L2 after the VM exited), and
# devisor's word that the back-end gave it the size.
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
v=$(vc_l2 qsd)
if [[ $v == ready* ]]; then pass "$name/qsd"; else fail "$name/qsd" "qemu-storage-daemon in L2: qsd=${v:-none}"; fi
vc_virtio_device blk "${vu_transport:-pci}"
vc_disk
if grep -q "vhost-user-blk: /tmp/[a-z-]*\.sock: 32768 sectors" "$clog"; then
	pass "$name/vhost-user-config"
else
	fail "$name/vhost-user-config" "no 'vhost-user-blk: SOCK: 32768 sectors' from devisor -v (GET_CONFIG)"
fi
# On L3's hold, 256 MiB plugged and read into (api-vm --plug-mem): the
# back-end got the new memory table.
if [[ $name == vhost-user-blk ]]; then
	# shellcheck source=SCRIPTDIR/_api.sh
	. "$NESTED_DIR/checks/_api.sh"
	ap_plug_checks 256 vda
fi
