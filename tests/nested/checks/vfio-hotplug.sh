# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# vfio-hotplug: the vfio case, with the function added at run time
# (vm.add-device through curl, l2-bin/api-vm --vfio) and announced by ACPI
# PCI hotplug: L3's nvme driver binds it without a rescan and does the
# nvme step's I/O (checks/vfio.sh); then vm.remove-device takes it away
# (L3 ejects the slot) and gives it back to L2's vfio-pci.
v=$(sed -n "s/.*DEVISOR-L2 api-add-device=//p" "$clog" | tail -n1)
if [[ $v == '200 {"id":"_vfio0","bdf":"0000:00:'* ]]; then
	pass "$name/add-device"
else
	fail "$name/add-device" "api-add-device=${v:-none}, want 200 with _vfio0"
fi
# shellcheck source=SCRIPTDIR/vfio.sh
. "$NESTED_DIR/checks/vfio.sh"
v=$(sed -n "s/.*DEVISOR-L2 api-remove-device=//p" "$clog" | tail -n1)
if [[ $v == 204* ]]; then pass "$name/remove-device"; else fail "$name/remove-device" "api-remove-device=${v:-none}, want 204 once L3 ejected the slot"; fi
v=$(marker "$clog" vfio-gone)
if [[ $v == yes* ]]; then pass "$name/removed-in-l3"; else fail "$name/removed-in-l3" "vfio-gone=${v:-none}, want yes"; fi
v=$(sed -n "s/.*DEVISOR-L2 api-vfio-driver=//p" "$clog" | tail -n1)
if [[ $v == vfio-pci ]]; then pass "$name/given-back"; else fail "$name/given-back" "api-vfio-driver=${v:-none}, want vfio-pci"; fi
