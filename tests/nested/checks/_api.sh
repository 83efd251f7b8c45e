# shellcheck shell=bash disable=SC2154 # clog, name, pass and fail are the run's
# Helpers of the control API's cases (api.sh, api-create.sh, cpuhp-612.sh): the markers
# l2-bin/api-vm prints in L2, "DEVISOR-L2 KEY=VALUE".
ap_l2() { sed -n "s/.*DEVISOR-L2 $1=//p" "$clog" | tail -n1; }
ap_want() { # NAME L2-MARKER GLOB WHY
	local v
	v=$(ap_l2 "$2")
	# shellcheck disable=SC2053 # $3 is a glob
	if [[ $v == $3 ]]; then
		pass "$name/$1"
	else
		fail "$name/$1" "$2=${v:-none}, want $4"
	fi
}

# The vm.resize steps of l2-bin/api-vm (resize_drive) from BOOT vCPUs to
# MAX and back, and what L3 said of the CPU that came and went.
ap_resize_checks() { # BOOT MAX
	local boot=$1 max=$2 last=$(($2 - 1)) before after
	before=0-$((boot - 1)) after=0-$last
	((boot == 1)) && before=0
	ap_want resize-up api-c-resize-up '204*' "204 once the guest is told"
	ap_want cpu-added api-c-cpu-added yes "L3 onlined CPU $last"
	if grep -q "DEVISOR-L3 cpu-added cpu=$last online=$after ran-on=$last" "$clog"; then
		pass "$name/cpu-runs"
	else
		fail "$name/cpu-runs" "$(grep -o 'DEVISOR-L3 cpu-added.*' "$clog" | head -n1 || echo 'no cpu-added'), want cpu=$last online=$after ran-on=$last"
	fi
	ap_want info-resized api-c-info-resized "\"boot_vcpus\":$max,\"max_vcpus\":$max" "vm.info: $max of $max vCPUs"
	ap_want resize-above api-c-resize-above "400 *above the VM*max_vcpus $max*" "400: above max_vcpus"
	ap_want resize-ram api-c-resize-ram '400 *no memory hotplug*' "400: no memory hotplug"
	ap_want resize-down api-c-resize-down '204*' "204 once the guest ejected CPU $last"
	ap_want cpu-removed api-c-cpu-removed yes "L3 lost CPU $last"
	if grep -q "DEVISOR-L3 cpu-removed cpu=$last online=$before\$" <(tr -d '\r' < "$clog"); then
		pass "$name/cpu-gone"
	else
		fail "$name/cpu-gone" "$(grep -o 'DEVISOR-L3 cpu-removed.*' "$clog" | head -n1 || echo 'no cpu-removed'), want cpu=$last online=$before"
	fi
	ap_want info-shrunk api-c-info-shrunk "\"boot_vcpus\":$boot,\"max_vcpus\":$max" "vm.info: $boot of $max vCPUs"
}
