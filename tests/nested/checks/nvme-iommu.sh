# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# nvme-iommu: the nvme case behind --iommu vtd, L3 booted with
# intel_iommu=on: the controller's queues, PRPs and PRP lists all go
# through the DMA-remapping unit, and the same I/O lands in the image.
# shellcheck source=SCRIPTDIR/nvme.sh
. "$NESTED_DIR/checks/nvme.sh"
# shellcheck source=SCRIPTDIR/_vtd.sh
. "$NESTED_DIR/checks/_vtd.sh"
v=$(marker "$clog" nvme-iommu-group)
if [[ $v == yes ]]; then pass "$name/nvme-iommu-group"; else fail "$name/nvme-iommu-group" "nvme-iommu-group=${v:-none}, want yes"; fi
seen=$(grep -o 'vtd: DMA remapping on, [a-z-]* tables' "$clog" | tail -n1 || true)
if [[ -n $seen ]]; then pass "$name/vtd-on"; else fail "$name/vtd-on" "devisor never said the guest turned DMA remapping on"; fi
v="$(marker "$clog" vtd-enabled) $(marker "$clog" vtd-faults)"
if [[ $v == "yes 0" ]]; then pass "$name/vtd-driver"; else fail "$name/vtd-driver" "vtd-enabled, vtd-faults = $v, want yes 0"; fi
# --iommu vtd remaps interrupts: the controller's MSI-X through IRTEs.
v="$(marker "$clog" vtd-ir-x2apic) $(marker "$clog" vtd-ir-kinds)"
if [[ $v == "yes "*IR-PCI-MSI* ]]; then pass "$name/vtd-ir"; else fail "$name/vtd-ir" "vtd-ir-x2apic, vtd-ir-kinds = ${v:-none}, want yes and IR-PCI-MSI"; fi
