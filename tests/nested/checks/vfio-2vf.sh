# shellcheck shell=bash disable=SC2154 # clog, name, pass, fail: the run's
# vfio-2vf: both VFs in one guest: two controllers, one namespace (the
# subsystem's, through both), the vfio checks. The last vfio case: the
# random data in the image is its own.
v=$(marker "$clog" nvme-ctrls)
if [[ $v == 2 ]]; then pass "$name/vfio-two-controllers"; else fail "$name/vfio-two-controllers" "nvme-ctrls=${v:-none}, want 2"; fi
vf_last=vfio-2vf
# shellcheck source=checks/vfio-vf.sh
. "$NESTED_DIR/checks/vfio-vf.sh"
vf_last=none
