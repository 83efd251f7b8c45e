# shellcheck shell=bash disable=SC2154 # clog, name, pass, fail, log: the run's
# virtio-mem: devisor's virtio-mem under Linux's virtio_mem
# (l2-bin/api-vm --virtio-mem 256): vm.resize's desired_ram 768 MiB has
# the driver plug 256 MiB (MemTotal up by it; L3 reads its disk into the
# plugged memory), 512 MiB has it unplug them all (MemTotal back, the
# memory blocks gone, devisor counting none plugged) and devisor gives
# them back to the host (256 MiB discarded).
# shellcheck source=SCRIPTDIR/_api.sh
. "$NESTED_DIR/checks/_api.sh"
vm_checks() {
	local boot added grown shrunk a b
	ap_want grow api-v-grow '204*' "204: the guest is asked for 256 MiB"
	ap_want grown api-v-grown yes "L3's mem-done after the plug"
	ap_want shrink api-v-shrink '204*' "204: the guest is asked for none"
	ap_want shrunk api-v-shrunk yes "L3's second mem-done, after the unplug"
	ap_want unplugged-all api-v-unplugged '0 after*' "devisor counts no block plugged"
	boot=$(marker "$clog" memtotal_kb)
	added=$(grep -a -o 'DEVISOR-L3 mem-added blocks=[0-9]* memtotal_kb=[0-9]*' "$clog") || true
	grown=$(sed -n '1s/.*memtotal_kb=//p' <<<"$added")
	shrunk=$(sed -n '$s/.*memtotal_kb=//p' <<<"$added")
	log "case $name: MemTotal ${boot:-?} kB at boot, ${grown:-?} plugged, ${shrunk:-?} unplugged"
	if [[ $boot =~ ^[0-9]+$ && $grown =~ ^[0-9]+$ ]] && ((grown - boot == 256 * 1024)); then
		pass "$name/memtotal-grown"
	else
		fail "$name/memtotal-grown" "MemTotal ${boot:-none} -> ${grown:-none} kB, want +262144"
	fi
	if [[ $boot =~ ^[0-9]+$ && $shrunk =~ ^[0-9]+$ ]] && ((shrunk == boot)); then
		pass "$name/memtotal-shrunk"
	else
		fail "$name/memtotal-shrunk" "MemTotal ${shrunk:-none} kB after the unplug, want the boot's ${boot:-none}"
	fi
	if grep -aq 'DEVISOR-L3 mem-dma disk=vda read=ok normal-used=[1-9]' "$clog"; then
		pass "$name/dma-into-plugged"
	else
		fail "$name/dma-into-plugged" "$(grep -a -o 'DEVISOR-L3 mem-dma.*' "$clog" | head -n1 || echo 'no mem-dma'), want vda read=ok with zone Normal (plugged memory) used"
	fi
	# Given back: every unplugged block discarded (test_virtio_mem shows
	# that it leaves host memory). devisor's RSS only says so much: the
	# guest migrates what it used there into RAM it had not touched.
	ap_want given-back api-v-discarded "$((256 * 1024 * 1024))" "256 MiB discarded"
	log "case $name: devisor's RSS $(ap_l2 api-v-rss-plugged) KiB plugged, $(ap_l2 api-v-rss-unplugged) KiB unplugged"
	ap_want shutdown api-v-shutdown '204*' "204"
}
vm_checks
