# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# nvme-sriov-iommu: the nvme-sriov checks with the PF and its VFs behind
# --iommu vtd and L3's intel-iommu on: each VF has an IOMMU group of its
# own (its own requester id, its own domain) and the unit saw no fault.
# shellcheck source=SCRIPTDIR/nvme-sriov.sh
. "$NESTED_DIR/checks/nvme-sriov.sh"
# shellcheck source=SCRIPTDIR/_vtd.sh
. "$NESTED_DIR/checks/_vtd.sh"
g1=$(marker "$clog" sriov-vf1-iommu-group)
g2=$(marker "$clog" sriov-vf2-iommu-group)
if [[ $g1 =~ ^[0-9]+$ && $g2 =~ ^[0-9]+$ && $g1 != "$g2" ]]; then
	pass "$name/sriov-vf-iommu-groups"
else
	fail "$name/sriov-vf-iommu-groups" "VF IOMMU groups ${g1:-none} and ${g2:-none}, want two different groups"
fi
v="$(marker "$clog" vtd-enabled) $(marker "$clog" vtd-faults)"
if [[ $v == "yes 0" ]]; then pass "$name/vtd-driver"; else fail "$name/vtd-driver" "vtd-enabled, vtd-faults = $v, want yes 0"; fi
