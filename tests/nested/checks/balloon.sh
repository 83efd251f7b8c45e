# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# balloon: devisor's virtio-balloon under Linux's virtio_balloon
# (l3-steps/balloon.sh, l2-bin/api-vm --balloon 128): bound with free
# page reporting negotiated; 256 MiB L3 wrote and freed leave devisor's
# RSS through free page reports; vm.resize desired_balloon 128 MiB is
# given by the guest (actual, MemTotal down, the pages freed, vm.info
# counting them out) and taken back (desired_balloon 0).
# shellcheck source=SCRIPTDIR/_api.sh
. "$NESTED_DIR/checks/_api.sh"
bl_checks() {
	local v f rss a b mib=$((1024 * 1024))
	v=$(marker "$clog" balloon-bound)
	f=$(marker "$clog" balloon-features)
	if [[ $v == virtio* && ${f:5:1} == 1 ]]; then
		pass "$name/bound"
	else
		fail "$name/bound" "balloon-bound=${v:-none} features=${f:-none}, want virtio_balloon bound with bit 5 (free page reporting)"
	fi
	rss=$(ap_l2 api-b-rss)
	read -r a b <<< "${rss:-0 0}"
	v=$(ap_l2 api-b-reported)
	if grep -q 'DEVISOR-L3 balloon-filled nofill' "$clog" && [[ $v =~ ^[0-9]+$ ]] &&
		((v >= 128 * mib)); then
		# nofill (balloon-612): what was free from boot on; no RSS to fall.
		pass "$name/reported"
		log "case $name: $((v / mib)) MiB reported of what L3 had free"
	elif [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ && $v =~ ^[0-9]+$ ]] &&
		((a - b >= 128 * 1024 && v >= 128 * mib)); then
		pass "$name/reported"
		log "case $name: devisor's RSS $((a / 1024)) -> $((b / 1024)) MiB after L3 freed 256 MiB; $((v / mib)) MiB reported"
	else
		fail "$name/reported" "api-b-rss=${rss:-none} (KiB before, after) api-b-reported=${v:-none}, want RSS down and 128 MiB or more reported"
	fi
	# The guest's memory statistics: its MemTotal, in bytes.
	v=$(ap_l2 api-b-stats)
	a=$(marker "$clog" memtotal_kb)
	b=$(sed -n 's/^total=\([0-9]*\) free=[1-9][0-9]*$/\1/p' <<< "$v")
	if [[ -n $b && $a =~ ^[0-9]+$ ]] &&
		((b / 1024 >= a - 4096 && b / 1024 <= a + 4096)); then
		pass "$name/stats"
	else
		fail "$name/stats" "api-b-stats=${v:-none} memtotal_kb=${a:-none}, want total_memory within 4 MiB of L3's MemTotal and some free_memory"
	fi
	ap_want inflate api-b-inflate '204*' "204"
	v=$(ap_l2 api-b-inflated)
	f=${v##*freed=}
	if [[ $v == "yes actual=134217728 freed="* && $f =~ ^[0-9]+$ ]] && ((f >= 128 * mib)); then
		pass "$name/inflated"
	else
		fail "$name/inflated" "api-b-inflated=${v:-none}, want yes, actual 128 MiB and as much freed"
	fi
	ap_want info api-b-info '"balloon":{"size":134217728,"deflate_on_oom":false,"free_page_reporting":true} "memory_actual_size":402653184' \
		"vm.info: the balloon's size and 384 MiB the guest's"
	ap_want deflate api-b-deflate '204*' "204"
	ap_want deflated api-b-deflated 'yes actual=0' "the guest took it all back"
	# L3's MemTotal went down by the 128 MiB and came back.
	v=$(grep -o 'DEVISOR-L3 balloon-memtotal=[0-9]* back (lowest [0-9]* from [0-9]*)' "$clog" | head -n1 || true)
	a=$(sed -n 's/.*lowest \([0-9]*\) from.*/\1/p' <<< "$v")
	b=$(sed -n 's/.*from \([0-9]*\))/\1/p' <<< "$v")
	if [[ -n $a && -n $b ]] && ((b - a >= 120 * 1024 && b - a <= 136 * 1024)); then
		pass "$name/memtotal"
		log "case $name: L3's MemTotal $((b / 1024)) -> $((a / 1024)) MiB and back"
	else
		fail "$name/memtotal" "${v:-no balloon-memtotal=... back from L3}, want MemTotal down by about 128 MiB and back"
	fi
	ap_want shutdown api-b-shutdown '204*' "204"
	ap_want exit-0 api-exit 0 "0 after vm.shutdown"
}
bl_checks
