# shellcheck shell=sh disable=SC2154 # m: l3-init's
# L3 step (sourced by l3-init; "zz-" so it runs after every step that
# looks at the function): the removal of a function vm.add-device added.
# Does nothing unless the kernel command line has "devisor.api-vfio" and
# an NVMe controller is there; then reports:
#   vfio-remove-ready  L2 (l2-bin/api-vm --vfio) sends vm.remove-device
#                      _vfio0; ACPI hotplug asks L3 to eject the slot
#   vfio-gone=         yes after N s once the function left L3's PCI
#                      bus (no after 60 s; l3_gone)
case " $(cat /proc/cmdline) " in
*" devisor.api-vfio "*)
	uv_d=
	for uv_c in /sys/class/nvme/nvme*; do
		[ -e "$uv_c/device" ] && uv_d=$(readlink -f "$uv_c/device") && break
	done
	if [ -n "$uv_d" ]; then
		m "vfio-remove-ready"
		l3_gone vfio-gone 60 "$uv_d"
	fi
	;;
esac
