# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# api: curl --unix-socket drives devisor's control API against a running
# L3 (l2-bin/api-vm in L2, l3-steps/api.sh in L3): info, pause/resume
# with L3's clock standing still, add-disk seen by L3 through ACPI PCI
# hotplug and written, remove-device ejected by L3, malformed requests
# answered 4xx, power-button last (L3 powers off, devisor exits 0).
# shellcheck source=SCRIPTDIR/_api.sh
. "$NESTED_DIR/checks/_api.sh"

ap_checks() {
	local v step paused
	# api-vm gave up on a step (and shut the VM down) to end by the deadline.
	v=$(ap_l2 api-gave-up)
	if [[ -z $v ]]; then
		pass "$name/in-time"
	else
		fail "$name/in-time" "api-gave-up=$v"
	fi
	ap_want ping api-ping '200 {"build_version"*' "200 with the version"
	ap_want info api-info '200 *"state":"Running"*' "200 and Running"
	ap_want pause api-pause '204*' "204"
	ap_want info-paused api-info-paused '200 "state":"Paused"' "200 and Paused"
	ap_want coredump api-coredump '204*' "204"
	ap_want core-readable api-core-check "core: vCPU ? RIP 0xffffffff8* in the kernel; 0xffffffff8* is GPA * through CR3 *: Linux version * core: 2 vCPUs, *" \
		"a vCPU's RIP in the kernel, the banner read through its CR3 from the core"
	ap_want resume api-resume '204*' "204"
	# L3's clock: no step near the 5 s the VM was paused.
	v=$(marker "$clog" api-clock)
	step=$(sed -n 's/^maxstep_cs=\([0-9]*\).*/\1/p' <<<"$v")
	paused=$(ap_l2 api-paused-cs)
	if [[ -n $step && -n $paused ]] && ((paused >= 450 && step < paused / 2)); then
		pass "$name/paused-clock-stood-still"
	else
		fail "$name/paused-clock-stood-still" "paused ${paused:-?} cs in L2; L3: api-clock=${v:-none}"
	fi
	# vm.nmi: every vCPU took one (L3's NMI counts, before and after).
	ap_want nmi api-nmi '204*' "204"
	v=$(marker "$clog" api-nmis)
	if [[ $v =~ ^([0-9]+),([0-9]+)\ -\>\ ([0-9]+),([0-9]+)$ ]] &&
		((BASH_REMATCH[3] > BASH_REMATCH[1] && BASH_REMATCH[4] > BASH_REMATCH[2])); then
		pass "$name/nmi-taken"
	else
		fail "$name/nmi-taken" "api-nmis=${v:-none}, want each of 2 CPUs' count up"
	fi
	ap_want add-disk api-add-disk '200 {"id":"_disk0","bdf":"0000:00:*' "200 with id and bdf"
	v=$(marker "$clog" api-hp-disk)
	if [[ $v == vd?" pci=0000:00:"* ]]; then
		pass "$name/hotplug-disk-appeared"
	else
		fail "$name/hotplug-disk-appeared" "api-hp-disk=${v:-none}"
	fi
	v=$(marker "$clog" api-hp-write)
	if [[ $v == "ok read-back=DEVISOR-HP-WRITE "* ]]; then
		pass "$name/hotplug-disk-written"
	else
		fail "$name/hotplug-disk-written" "api-hp-write=${v:-none}"
	fi
	# vm.counters: L3's write (and its reads: the kernel's partition scan).
	v=$(ap_l2 api-counters)
	if [[ $v =~ \"write_bytes\":([0-9]+) ]] && ((BASH_REMATCH[1] >= 512)) &&
		[[ $v =~ \"read_ops\":([0-9]+) ]] && ((BASH_REMATCH[1] >= 1)); then
		pass "$name/counters"
	else
		fail "$name/counters" "api-counters=${v:-none}, want _disk0's write_bytes >= 512 and read_ops >= 1"
	fi
	# Its rate_limiter_config (2 requests, refilled in 100 ms) held L3's
	# burst of requests back, and all of them completed.
	if [[ $v =~ \"rate_limited\":([0-9]+) ]] && ((BASH_REMATCH[1] >= 1)); then
		pass "$name/disk-rate-limited"
	else
		fail "$name/disk-rate-limited" "api-counters=${v:-none}, want _disk0's rate_limited >= 1"
	fi
	ap_want remove-device api-remove '204*' "204 once L3 ejected the slot"
	ap_want resize-disk api-resize-disk '204 *33554432' "204 and the image at 32 MiB"
	v=$(marker "$clog" api-hp-resized)
	if [[ $v == "65536 after"* ]]; then
		pass "$name/hotplug-disk-grew"
	else
		fail "$name/hotplug-disk-grew" "api-hp-resized=${v:-none}, want 65536 sectors"
	fi
	v=$(marker "$clog" api-hp-gone)
	if [[ $v == "yes after"* ]]; then
		pass "$name/hotplug-disk-left"
	else
		fail "$name/hotplug-disk-left" "api-hp-gone=${v:-none}"
	fi
	ap_want add-net api-add-net '200 {"id":"_net0","bdf":"0000:00:*' "200 with _net0"
	v=$(marker "$clog" api-hp-nic)
	if [[ $v == en* || $v == eth* ]]; then
		pass "$name/hotplug-nic-appeared"
	else
		fail "$name/hotplug-nic-appeared" "api-hp-nic=${v:-none}"
	fi
	ap_want remove-net api-remove-net '204*' "204 once L3 ejected the NIC"
	v=$(marker "$clog" api-hp-nic-gone)
	if [[ $v == "yes after"* ]]; then
		pass "$name/hotplug-nic-left"
	else
		fail "$name/hotplug-nic-left" "api-hp-nic-gone=${v:-none}"
	fi
	ap_want add-pmem api-add-pmem '200 {"id":"pm0","bdf":"0000:00:*' "200 with pm0"
	ap_want add-vsock api-add-vsock '200 {"id":"vs0","bdf":"0000:00:*' "200 with vs0"
	ap_want add-vsock-again api-add-vsock-again '409 *one at most*' "409: one vsock device"
	v=$(marker "$clog" api-hp-pmem)
	if [[ $v == "pmem"*" read=DEVISOR-PMEM "?*" after"* ]]; then
		pass "$name/hotplug-pmem-read"
	else
		fail "$name/hotplug-pmem-read" "api-hp-pmem=${v:-none}, want /dev/pmemN whose first line is L2's token"
	fi
	v=$(marker "$clog" api-hp-vsock)
	if [[ $v == "ok g-connect token="*"-hp bytes="* ]]; then
		pass "$name/hotplug-vsock-connects"
	else
		fail "$name/hotplug-vsock-connects" "api-hp-vsock=${v:-none}"
	fi
	ap_want info-pv api-info-pv '"pmem":\[{"file":"/tmp/api-pmem.img",*"id":"pm0"*"vsock":{"cid":7,"socket":"/tmp/api-vsock.sock","id":"vs0"*' "vm.info lists pm0 and vs0"
	ap_want remove-pmem api-remove-pmem '204*' "204 once L3 ejected the pmem device"
	ap_want remove-vsock api-remove-vsock '204*' "204 once L3 ejected the vsock device"
	v=$(marker "$clog" api-hp-pv-gone)
	if [[ $v == "yes after"* ]]; then
		pass "$name/hotplug-pmem-vsock-left"
	else
		fail "$name/hotplug-pmem-vsock-left" "api-hp-pv-gone=${v:-none}"
	fi
	ap_want image-token api-image-token yes "L3's token in the image after exit"
	ap_want bad-json api-bad-json '400 *not valid JSON*' "400"
	ap_want unknown-path api-unknown-path '404 *' "404"
	ap_want wrong-method api-wrong-method '405 *' "405"
	ap_want huge-body api-huge-body '413*' "413"
	ap_want still-running api-info-after '200 *"state":"Running"*' "200 and Running after the bad requests"
	ap_want power-button api-power-button '204*' "204"
	v=$(marker "$clog" api-pwrbtn)
	if [[ $v =~ ^([0-9]+)-\>([0-9]+) ]] && ((BASH_REMATCH[2] > BASH_REMATCH[1])); then
		pass "$name/power-button-seen"
	else
		fail "$name/power-button-seen" "api-pwrbtn=${v:-none}"
	fi
	ap_want exit-0 api-exit 0 "devisor's exit status 0"
	ap_want socket-removed api-socket-left no "the socket gone after exit"
}
ap_checks
