# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# pmem: virtio-pmem on PCI bound to virtio_pmem, /dev/pmem0 over L2's
# image: the seed read, the token written and read back in L3 and found in
# the file by L2 after exit (vc_disk, with pmem0 for vdX), and the flush
# L3's fsync sent reached devisor (its log at -v).
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
vc_virtio_device pmem pci
v=$(marker "$clog" disk)
if [[ $v == pmem0 ]]; then pass "$name/pmem0"; else fail "$name/pmem0" "disk=${v:-none}, want pmem0"; fi
vc_disk pmem
if grep -q "virtio-pmem: .*flushed" "$clog"; then
	pass "$name/flush"
else
	fail "$name/flush" "no flush request reached devisor (virtio-pmem: ... flushed)"
fi
