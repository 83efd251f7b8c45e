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
# MAX and back, and what L3 said of the CPU that came and went; with
# HP_MIB, the memory steps (ap_mem_checks).
ap_resize_checks() { # BOOT MAX [HP_MIB]
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
	if [[ -z ${3:-} ]]; then
		ap_want resize-ram api-c-resize-ram '400 *no hotplug area*' "400: no hotplug area"
	else
		ap_mem_checks "$3"
	fi
	ap_want resize-down api-c-resize-down '204*' "204 once the guest ejected CPU $last"
	ap_want cpu-removed api-c-cpu-removed yes "L3 lost CPU $last"
	if grep -q "DEVISOR-L3 cpu-removed cpu=$last online=$before\$" <(tr -d '\r' < "$clog"); then
		pass "$name/cpu-gone"
	else
		fail "$name/cpu-gone" "$(grep -o 'DEVISOR-L3 cpu-removed.*' "$clog" | head -n1 || echo 'no cpu-removed'), want cpu=$last online=$before"
	fi
	ap_want info-shrunk api-c-info-shrunk "\"boot_vcpus\":$boot,\"max_vcpus\":$max" "vm.info: $boot of $max vCPUs"
}

# L3 onlined HP_MIB plugged on 512 MiB: MemTotal up by most of it.
ap_mem_online() { # HP_MIB
	local hp=$1 before after blocks
	before=$(sed -n 's/.*DEVISOR-L3 memtotal_kb=\([0-9]*\).*/\1/p' "$clog" | head -n1)
	read -r blocks after < <(sed -n 's/.*DEVISOR-L3 mem-added blocks=\([0-9]*\) memtotal_kb=\([0-9]*\).*/\1 \2/p' "$clog" | head -n1) || true
	if [[ -n $after && -n $before ]] && ((after - before > hp * 1024 * 9 / 10 && blocks == (512 + hp) / 128)); then
		pass "$name/mem-online"
	else
		fail "$name/mem-online" "MemTotal ${before:-?} -> ${after:-?} kB over ${blocks:-?} blocks, want $hp MiB more over $(((512 + hp) / 128))"
	fi
}

# Disk DEV's DMA reaches the plugged memory: L3 read 16 MiB of it with
# O_DIRECT into a buffer it took from zone Normal (all of it plugged
# memory), at least half of which the sampler saw taken.
ap_mem_dma() { # DEV
	local v used
	read -r v used < <(sed -n "s/.*DEVISOR-L3 mem-dma disk=$1 read=\([a-z]*\) normal-used=\(-*[0-9]*\).*/\1 \2/p" "$clog" | head -n1) || true
	if [[ $v == ok && ${used:-0} -ge 2048 ]]; then
		pass "$name/mem-dma"
	else
		fail "$name/mem-dma" "$(grep -o 'DEVISOR-L3 mem-dma.*' "$clog" | head -n1 || echo 'no mem-dma'), want disk=$1 read=ok and >= 2048 pages of zone Normal used"
	fi
}

# l2-bin/api-vm --plug-mem HP_MIB: plugged on L3's hold, onlined, the
# first disk (DEV, if any) read into it by DMA, vm.shutdown, exit 0.
ap_plug_checks() { # HP_MIB [DEV]
	ap_want resize-ram api-p-resize-ram '204*' "204 once the guest is told"
	ap_want mem-done api-p-mem-done yes "L3 onlined the memory and did its I/O"
	ap_mem_online "$1"
	[[ -n ${2:-} ]] && ap_mem_dma "$2"
	ap_want coredump api-p-coredump '204*' "204 (paused)"
	ap_want core-plugged api-p-core-check "core: vCPU ? RIP 0xffffffff8* Linux version * core: 2 vCPUs, *, 2 RAM ranges, *" \
		"the core's RAM and plugged memory as two PT_LOADs, the banner read through CR3"
	ap_want shutdown api-p-shutdown '204*' "204"
	ap_want exit-0 api-exit 0 "0 after vm.shutdown"
}

# desired_ram up by HP_MIB on 512 MiB: plugged, onlined by L3 (MemTotal up
# by most of it), reported by vm.info, a no-op downwards; the next boot of
# the same VM has the memory from the start (two 128 MiB blocks more).
ap_mem_checks() { # HP_MIB
	local hp=$1 b1 b2
	ap_want resize-ram-up api-c-resize-ram-up '204*' "204 once the guest is told"
	ap_want mem-added api-c-mem-added yes "L3 onlined the new memory"
	ap_mem_online "$hp"
	ap_mem_dma vda
	ap_want info-mem api-c-info-mem "\"hotplug_size\":$((hp << 20)),\"hotplugged_size\":$((hp << 20)) \"memory_actual_size\":$(((512 + hp) << 20))" "vm.info: $hp MiB hotplugged"
	ap_want resize-ram-down api-c-resize-ram-down '204*' "204, nothing done (memory only grows)"
	ap_want info-mem-after api-c-info-mem-after "\"hotplug_size\":$((hp << 20)),\"hotplugged_size\":$((hp << 20)) \"memory_actual_size\":$(((512 + hp) << 20))" "vm.info: still $hp MiB hotplugged"
	b1=$(sed -n 's/.*DEVISOR-L3 holding id=[0-9a-f-]* mem-blocks=\([0-9]*\).*/\1/p' "$clog" | sed -n 1p)
	b2=$(sed -n 's/.*DEVISOR-L3 holding id=[0-9a-f-]* mem-blocks=\([0-9]*\).*/\1/p' "$clog" | sed -n 2p)
	if [[ $b1 == 4 && $b2 == $(((512 + hp) / 128)) ]]; then
		pass "$name/mem-after-reboot"
	else
		fail "$name/mem-after-reboot" "memory blocks at the holds: ${b1:-?}, ${b2:-?}; want 4, then $(((512 + hp) / 128))"
	fi
}
