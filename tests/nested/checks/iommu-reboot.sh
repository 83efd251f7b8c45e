# shellcheck shell=bash
# iommu-reboot: the reboot case (l3-steps/reboot.sh) with --iommu vtd and
# intel_iommu=on: L3 writes its marker to the virtio disk through the unit,
# resets, and devisor's new VM has a new unit, which L3 turns on again and
# reads the marker through.
# shellcheck source=SCRIPTDIR/reboot.sh
. "$NESTED_DIR/checks/reboot.sh"
# shellcheck source=SCRIPTDIR/_vtd.sh
. "$NESTED_DIR/checks/_vtd.sh"
# The last boot's driver, over the one disk.
vtd_checks scalable-mode DMA-FQ 1
n_on=$(grep -c 'vtd: DMA remapping on, ' "$clog" || true)
if [[ $n_on == 2 ]]; then
	pass "$name/vtd-both-boots"
else
	fail "$name/vtd-both-boots" "devisor said 'DMA remapping on' ${n_on:-0} times, want 2 (one per VM)"
fi
