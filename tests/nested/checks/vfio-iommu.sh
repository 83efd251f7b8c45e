# shellcheck shell=bash disable=SC2154 # clog, name, pass, fail: the run's
# vfio-iommu: the vfio case behind devisor's --iommu vtd with L3's
# intel-iommu on: the real controller's DMA goes where L3's domain for it
# says, mirrored into the device's VFIO container; same I/O, same image.
# shellcheck source=SCRIPTDIR/vfio.sh
. "$NESTED_DIR/checks/vfio.sh"
v=$(marker "$clog" nvme-iommu-group)
if [[ $v == yes ]]; then pass "$name/vfio-iommu-group"; else fail "$name/vfio-iommu-group" "nvme-iommu-group=${v:-none}, want yes"; fi
seen=$(grep -o 'vtd: DMA remapping on, [a-z-]* tables' "$clog" | tail -n1 || true)
if [[ -n $seen ]]; then pass "$name/vtd-on"; else fail "$name/vtd-on" "devisor never said the guest turned DMA remapping on"; fi
v="$(marker "$clog" vtd-enabled) $(marker "$clog" vtd-faults)"
if [[ $v == "yes 0" ]]; then pass "$name/vtd-driver"; else fail "$name/vtd-driver" "vtd-enabled, vtd-faults = $v, want yes 0"; fi
# Caching mode (CAP bit 7) on, as the shadow needs.
v=$(marker "$clog" vtd-cap)
if [[ $v =~ ^[0-9a-f]+$ ]] && (((0x$v >> 7) & 1)); then pass "$name/vtd-caching-mode"; else fail "$name/vtd-caching-mode" "vtd-cap=${v:-none}, want CM (bit 7) set"; fi
# --iommu vtd remaps interrupts: the controller's MSI-X through IRTEs.
v="$(marker "$clog" vtd-ir-x2apic) $(marker "$clog" vtd-ir-kinds)"
if [[ $v == "yes "*IR-PCI-MSI* ]]; then pass "$name/vtd-ir"; else fail "$name/vtd-ir" "vtd-ir-x2apic, vtd-ir-kinds = ${v:-none}, want yes and IR-PCI-MSI"; fi
# 256 MiB plugged (api-vm --plug-mem) and read into through L3's domain.
# shellcheck source=SCRIPTDIR/_api.sh
. "$NESTED_DIR/checks/_api.sh"
ap_plug_checks 256 nvme0n1
