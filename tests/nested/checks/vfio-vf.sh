# shellcheck shell=bash disable=SC2154 # clog, name, pass, fail: the run's
# vfio-vf: an SR-IOV VF of the fixture's controller (l2-bin/vfio-sriov)
# passed through: the vfio checks, and L2 found the VF on vfio-pci.
vf_l2_vf() {
	local v
	v=$(grep -a -m1 'DEVISOR-L2 vfio-vf=' "$clog" | sed 's/.*DEVISOR-L2 vfio-vf=//') || true
	if [[ $v == *" driver=vfio-pci" ]]; then
		pass "$name/vfio-vf-bound"
	else
		fail "$name/vfio-vf-bound" "L2: vfio-vf=${v:-none} $(grep -a -m3 'DEVISOR-L2 vfio-vf-error\|DEVISOR-L2 vfio-secondary' "$clog" | tr '\n' ' ')"
	fi
}
vf_l2_vf
# A VF has the one interrupt vfio-sriov assigned it: one MSI-X vector.
vf_msix_min=1
# shellcheck source=checks/vfio.sh
. "$NESTED_DIR/checks/vfio.sh"
vf_msix_min=2
