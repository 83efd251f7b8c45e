# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# pmem-discard: virtio-pmem with discard_writes=on: /dev/pmem0 reads L2's
# seed and reads back L3's own writes, the flush does nothing, and after
# exit the file holds no trace of them (nested-vm finds no token).
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
vc_virtio_device pmem pci
vc_markers_ok disk-seed disk-write disk-readback
v=$(vc_l2 disk-verified)
if [[ $v == no* ]]; then
	pass "$name/file-untouched"
else
	fail "$name/file-untouched" "L2 after the VM exited: disk-verified=${v:-none}, want no (writes discarded)"
fi
if grep -q "virtio-pmem: .*flushed (writes discarded)" "$clog"; then
	pass "$name/flush"
else
	fail "$name/flush" "no flush reached devisor (virtio-pmem: ... flushed (writes discarded))"
fi
