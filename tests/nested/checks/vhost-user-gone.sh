# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# vhost-user-gone: the vhost-user-blk case, then L2 kills
# qemu-storage-daemon (kill -9) while L3 runs: devisor says so once, the
# disk fails instead of answering, and the VM still powers off (the
# run's exit check). What L3 wrote before is in the image.
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
vc_disk
v=$(vc_l2 qsd)
if [[ $v == killed* ]]; then pass "$name/qsd-killed"; else fail "$name/qsd-killed" "qsd=${v:-none}, want killed (blk-gone=$(marker "$clog" blk-gone || true))"; fi
if grep -q "vhost-user-blk: the vhost-user back-end closed the connection; the device stops working" "$clog"; then
	pass "$name/gone-message"
else
	fail "$name/gone-message" "no 'the vhost-user back-end closed the connection' from devisor"
fi
v=$(marker "$clog" disk-after-gone)
if [[ -n $v && $v != ok ]]; then pass "$name/disk-after-gone"; else fail "$name/disk-after-gone" "disk-after-gone=${v:-none}, want a failure"; fi
