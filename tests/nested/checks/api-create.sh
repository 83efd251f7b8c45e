# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# api-create: devisor started with only --api-socket takes its whole VM
# from vm.create (l2-bin/api-vm --create): the disk of the VmConfig in L3
# (vc_disk), three boots of that one VM, each ended through the API
# (vm.shutdown, then vm.delete and a new vm.create, then vmm.shutdown),
# and devisor's exit status 0; on the first boot vm.resize plugs a third
# vCPU (L3 runs a task on it) and takes it back, and plugs 256 MiB of RAM
# (L3 onlines it; the next boot of that VM has it from the start). A NIC
# whose tap came as two queues' descriptors with vm.add-net before the
# first and third boots is in L3 on all three (net-every-boot) with both
# queue pairs in use (net-queue-pairs), and L3 fetches L2's blob through
# it over the second pair (net-second-pair, vc_net_static), held back
# by its rate limit (net-rate-limited). The run's generic checks judge the vCPUs,
# memory and SMBIOS identity the VmConfig gave.
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
# shellcheck source=SCRIPTDIR/_api.sh
. "$NESTED_DIR/checks/_api.sh"
ac_want() { ap_want "$1" "api-c-$1" "$2" "$3"; } # STEP GLOB WHY

ac_checks() {
	local v ids
	v=$(ap_l2 api-gave-up)
	v=${v:-$(ap_l2 api-c-gave-up)}
	if [[ -z $v ]]; then pass "$name/in-time"; else fail "$name/in-time" "gave up at $v"; fi
	ac_want info-none '404 *vm.create first*' "404 before vm.create"
	ac_want create-bad '400 *cannot open kernel /l3/nonexistent*' "400 naming the missing kernel"
	ac_want create '204*' "204"
	ac_want add-net-fd 'rc=0' "204: the tap's descriptor taken before vm.boot"
	ac_want info-net '"net":\[{"tap":"ctap0","mac":"52:54:00:c0:ff:01","id":"_net0","pci_segment":0,"num_queues":4,"rate_limiter_config":{"bandwidth":{"size":1048576,"one_time_burst":0,"refill_time":125}}}*' \
		"vm.info: the NIC on ctap0 with the MAC given, two queue pairs, its rate limit"
	ac_want info '200 "state":"Created"' "200 and Created"
	ac_want boot '204*' "204 once the vCPUs run"
	ac_want info-running '200 "state":"Running"' "200 and Running"
	# vm.resize on the first boot (--cpus 2 --max-cpus 3).
	ap_resize_checks 2 3 256
	ac_want shutdown '204*' "204 once the VM is down"
	ac_want info-down '200 "state":"Created"' "200 and Created again"
	ac_want boot2 '204*' "204: the same VM boots again"
	ac_want delete '204*' "204"
	ac_want info-deleted '404 *' "404 once deleted"
	ac_want create2 '204*' "204"
	ac_want add-net-fd2 'rc=0' "204: the tap free again after vm.delete"
	ac_want boot3 '204*' "204"
	ac_want vmm-shutdown '204*' "204"
	# Three boots of L3, each its own (a boot id per boot).
	ids=$(sed -n 's/.*DEVISOR-L3 holding id=\([0-9a-f-]*\).*/\1/p' "$clog" | sort -u | wc -l)
	if ((ids == 3)); then
		pass "$name/three-boots"
	else
		fail "$name/three-boots" "$ids distinct L3 boot ids, want 3"
	fi
	# The NIC on every boot: the config's descriptor survives a reboot.
	v=$(grep -c 'DEVISOR-L3 net-mac=52:54:00:c0:ff:01' "$clog" || true)
	if ((v == 3)); then
		pass "$name/net-every-boot"
	else
		fail "$name/net-every-boot" "$v boots of L3 had the NIC with MAC 52:54:00:c0:ff:01, want 3"
	fi
	# Both queue pairs in use on every boot (L3 has 2 CPUs), and the
	# fetch pinned to the second CPU came in over the second pair.
	v=$(grep -c 'DEVISOR-L3 net-queues=2' "$clog" || true)
	if ((v == 3)); then
		pass "$name/net-queue-pairs"
	else
		fail "$name/net-queue-pairs" "$v boots of L3 used 2 queue pairs, want 3 ($(marker "$clog" net-queues || echo none))"
	fi
	v=$(marker "$clog" net-rx-irqs)
	if [[ $v =~ input\.1:([0-9]+) ]] && ((BASH_REMATCH[1] >= 10)); then
		pass "$name/net-second-pair"
	else
		fail "$name/net-second-pair" "net-rx-irqs=${v:-none}, want 10 or more interrupts of receive queue 1"
	fi
	vc_net_static 10.0.5.2/24
	# vm.counters of the NIC once L3 fetched the blob through it.
	v=$(ap_l2 api-c-counters)
	if [[ $v =~ \"rx_bytes\":([0-9]+) ]] && ((BASH_REMATCH[1] >= 16777216)); then
		pass "$name/net-counters"
	else
		fail "$name/net-counters" "api-c-counters=${v:-none}, want _net0's rx_bytes >= 16 MiB"
	fi
	# Its rate_limiter_config (8 MiB/s, a 1 MiB bucket) held the 16 MiB
	# fetch back: frames waited in the tap, the fetch took 1.8 s or more.
	s=$(marker "$clog" net-seconds)
	if [[ $v =~ \"rx_rate_limited\":([0-9]+) ]] && ((BASH_REMATCH[1] >= 1)) &&
		awk -v s="${s:-0}" 'BEGIN { exit !(s >= 1.8) }'; then
		pass "$name/net-rate-limited"
	else
		fail "$name/net-rate-limited" "api-c-counters=${v:-none} net-seconds=${s:-none}, want _net0's rx_rate_limited >= 1 and 1.8 s or more for 16 MiB"
	fi
	ap_want exit-0 api-exit 0 "0 after vmm.shutdown"
	ap_want socket-removed api-socket-left no "the socket gone after exit"
	vc_disk
}
ac_checks
