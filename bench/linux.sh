#!/usr/bin/env bash
# Linux benchmark: the unmodified Debian kernel (the nested tier's L3
# kernel) booted under devisor and under QEMU (-accel kvm, q35), the VMMs
# alternating, 2 vCPUs and 512 MiB each. Per VMM: L3's /proc/uptime when
# its /init starts, the VMM's wall and CPU time and peak RSS (busybox
# time), KVM's exits (the kvm_exit and kvm_userspace_exit tracepoints,
# counted by hist triggers: this needs root and tracefs), and fio in L3
# (Debian's fio on a read-only ext4 tools disk; libaio, direct=1) on
# virtio-blk over PCI for both and over MMIO for devisor (QEMU's q35 has
# no virtio-mmio). Medians, min and max over the runs, and ratios of
# medians. Figures, never pass/fail.
#
#   bench/linux.sh prepare OUTDIR     (on the build host: fio, the L3
#                                      initramfs and the tools disk)
#   bench/linux.sh [BUILD_DIR] [SECONDS]  (where the VMMs run; in L2)
#
# Environment: BENCH_LINUX_DIR (what prepare made, default
# BUILD_DIR/bench/linux), BENCH_REPS (boots per VMM, default 3),
# BENCH_KERNEL (default /l3/vmlinuz, the nested tier's), BENCH_BASELINE (a
# second devisor binary, run as devisor-base beside the others, with
# BENCH_BASE_DISK_OPTS appended to its fio disks' --disk: ",packed=off"),
# BENCH_KVMTOOL (an lkvm built by hand, run as kvmtool beside the others),
# BENCH_NO_QEMU=1 (no QEMU: a devisor before/after only), BENCH_NO_BUILD=1
# (no make).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = prepare ]; then
	out=${2:?prepare wants OUTDIR}
	. tests/nested/lib.sh
	load_fetched
	. bench/prep.sh
	bench_install fio
	mkdir -p "$out"
	if bench_up_to_date "$out/l3.cpio $out/tools.img" bench/linux-init \
		bench/linux.sh bench/prep.sh "$NESTED_DIR/mk-l3-initramfs" "$(command -v fio)"; then
		echo "bench/linux: $out is up to date" >&2
		exit 0
	fi
	"$NESTED_DIR/mk-l3-initramfs" -o "$out/l3.cpio" --module virtio_pci \
		--module virtio_mmio --module virtio_blk --module null_blk \
		--file bench/linux-init:/init
	bench_tools_disk "$out/tools.img" fio
	echo "bench/linux: prepared $out (l3.cpio, tools.img)" >&2
	exit 0
fi

. bench/lib.sh
[ -z "${BENCH_NO_QEMU:-}" ] || qemu=
dir=${BENCH_LINUX_DIR:-$build/bench/linux}
reps=${BENCH_REPS:-3}
kernel=${BENCH_KERNEL:-/l3/vmlinuz}
cpio=$dir/l3.cpio
tools=$dir/tools.img
for f in "$kernel" "$cpio" "$tools"; do
	[ -r "$f" ] || { echo "bench/linux: no $f (bench/linux.sh prepare)" >&2; exit 1; }
done
img2=$tmp/disk2.img
cp "$img" "$img2"
cmdline="${L3_CMDLINE:-console=ttyS0 nokaslr tsc=reliable no_timer_check lpj=10000000 panic=-1 quiet}"
cmdline="${cmdline/console=hvc0/console=ttyS0} bench.secs=$secs"
# BENCH_TESTS=rr4k_qd1,rr4k_qd32: only those fio tests (bench/linux-init).
[ -z "${BENCH_TESTS:-}" ] || cmdline+=" bench.tests=$BENCH_TESTS"
# BENCH_PIN=CPU: fio in L3 on that CPU only (bench/linux-init).
[ -z "${BENCH_PIN:-}" ] || cmdline+=" bench.pin=$BENCH_PIN"

trace_setup
# Which MSRs (x2APIC EOI 0x80b, ICR 0x830, TSC deadline 0x6e0, ...).
((have_trace)) && trace_hist kvm_msr ecx,write || true
# msrsnap: "MSR.r|w COUNT" lines so far.
msrsnap() {
	[ -r $trc/events/kvm/kvm_msr/hist ] || return 0
	awk '/hitcount:/ {
		for (i = 1; i <= NF; i++) {
			if ($i == "ecx:") e = $(i + 1)
			if ($i == "write:") w = $(i + 1)
		}
		printf "0x%x.%s %d\n", e, w + 0 ? "w" : "r", $NF
	}' $trc/events/kvm/kvm_msr/hist 2> /dev/null || true
}

declare -A V    # V[vmm/metric] = values of the runs, space-separated
declare -A apic # apic[vmm] = L3's local APIC mode (its first boot)
declare -A msrs # MSRs seen in pci.rr4k_qd32
add() { V[$1/$2]="${V[$1/$2]:-} $3"; }

# perk IOS COUNT: COUNT per 1,000 of IOS requests.
perk() { awk -v n="$1" -v e="$2" 'BEGIN { printf "%.0f", e * 1000 / n }'; }

# boot VMM COMMAND...: one L3 boot, its figures into V.
boot() {
	local vmm=$1 line s0 sb s1 t e u sy m tr name val ios up=- wall k starts=0 why
	shift
	local -A begin=() saved=()
	# A boot whose L3 starts twice (a panic, then panic=-1's reboot) is
	# two boots in one: its figures are dropped and the run says so.
	for k in "${!V[@]}"; do saved[$k]=${V[$k]}; done
	s0=$(snap) sb=$s0
	: > "$tmp/time"
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"BENCH-L3 init-uptime="*)
			starts=$((starts + 1))
			sb=$(snap) up=${line#*=}
			add "$vmm" init_s "$up"
			;;
		"BENCH-FIO-BEGIN "*)
			read -r _ tr name <<< "$line"
			begin[$tr/$name]=$(snap)
			[ "$tr.$name" != pci.rr4k_qd32 ] || msrsnap > "$tmp/msr0"
			;;
		"BENCH-FIO-END "*)
			s1=$(snap)
			read -r _ tr name val _ ios <<< "$line"
			val=${val#value=} ios=${ios#ios=}
			add "$vmm" "$tr.$name" "$val"
			read -r e np io ms hl it u lo re ca ot <<< "$(diffsnap "${begin[$tr/$name]}" "$s1")"
			if ((ios > 0)); then
				add "$vmm" "$tr.$name.exits/kio" "$(perk "$ios" "$e")"
				add "$vmm" "$tr.$name.uexits/kio" "$(perk "$ios" "$u")"
				# Which exits: nested page faults (MMIO, notifies),
				# MSRs (x2APIC EOI, timer), HLT, host interrupts.
				add "$vmm" "$tr.$name.npf/kio" "$(perk "$ios" "$np")"
				add "$vmm" "$tr.$name.msr/kio" "$(perk "$ios" "$ms")"
				add "$vmm" "$tr.$name.hlt/kio" "$(perk "$ios" "$hl")"
				add "$vmm" "$tr.$name.intr/kio" "$(perk "$ios" "$it")"
				# L2's own interrupts: timer, IPIs, the rest.
				add "$vmm" "$tr.$name.l2loc/kio" "$(perk "$ios" "$lo")"
				add "$vmm" "$tr.$name.l2res/kio" "$(perk "$ios" "$re")"
				add "$vmm" "$tr.$name.l2cal/kio" "$(perk "$ios" "$ca")"
				add "$vmm" "$tr.$name.l2other/kio" "$(perk "$ios" "$ot")"
			fi
			if [ "$tr.$name" = pci.rr4k_qd32 ] && ((ios > 0)); then
				msrsnap > "$tmp/msr1"
				while read -r k n; do
					add "$vmm" "pci.rr4k_qd32.msr.$k/kio" "$(perk "$ios" "$n")"
					msrs[$k]=1
				done < <(awk 'NR == FNR { a[$1] = $2; next }
					$2 - a[$1] > 0 { print $1, $2 - a[$1] }' "$tmp/msr0" "$tmp/msr1")
			fi
			;;
		"BENCH-IRQS "*) echo "DEVISOR-BENCH $vmm interrupts during ${line#BENCH-IRQS }" ;;
		"BENCH-L3 error="*) echo "$vmm: ${line#BENCH-L3 }" >&2 ;;
		"BENCH-L3 apic="*) [ -n "${apic[$vmm]:-}" ] || apic[$vmm]=${line#*=} ;;
		*"Kernel panic"* | *"BUG: "* | *"general protection fault"* | *"stack guard page"*)
			echo "$vmm: L3: $line" >&2
			;;
		esac
	done < <(timeout 600 busybox time -f '%e %U %S %M' -o "$tmp/time" "$@" 2> "$tmp/stderr" < /dev/null)
	s1=$(snap)
	grep -a '^devisor-stats:' "$tmp/stderr" | tail -n1 > "$tmp/stats.$vmm" || true
	if ! read -r t u sy m < "$tmp/time" || [ -z "$m" ]; then
		echo "$vmm: no time figures; its stderr:" >&2
		tail -5 "$tmp/stderr" >&2
		return 0
	fi
	add "$vmm" wall_s "$t"
	wall=$t
	add "$vmm" cpu_s "$(awk -v a="$u" -v b="$sy" 'BEGIN { printf "%.2f", a + b }')"
	add "$vmm" rss_mib "$(awk -v k="$m" 'BEGIN { printf "%.1f", k / 1024 }')"
	read -r t e io m _ _ u _ <<< "$(diffsnap "$s0" "$sb")"
	add "$vmm" boot_exits "$t"
	add "$vmm" boot_npf "$e"
	add "$vmm" boot_ioio "$io"
	add "$vmm" boot_msr "$m"
	add "$vmm" boot_uexits "$u"
	read -r e _ <<< "$(diffsnap "$s0" "$s1")"
	add "$vmm" all_exits "$e"
	if ((starts > 1)); then
		V=()
		for k in "${!saved[@]}"; do V[$k]=${saved[$k]}; done
		rm -f "$tmp/stats.$vmm"
		# devisor warns of a triple fault; a reset L3 asks for is silent.
		why=$(grep -a -m1 'triple fault' "$tmp/stderr" || true)
		echo "DEVISOR-BENCH $vmm: L3 started $starts times in one boot (it rebooted: ${why:-no triple fault reported, so L3 asked for a reset}); this boot's figures are left out"
		return 0
	fi
	# A line per boot: progress for the nested harness's stall watch too.
	echo "DEVISOR-BENCH $vmm: wall ${wall}s, init ${up}s, exits $e"
}

# devisor's own figures (util/stats.h): exits per port and MMIO page.
export DEVISOR_STATS=1
# run_args OPTS: a devisor's arguments, OPTS on its two fio disks.
run_args() {
	args=(run --kernel "$kernel" --initrd "$cpio" --cpus 2 --memory 512M
		--disk "path=$img$1" --disk "path=$img2,transport=mmio$1"
		--disk "path=$tools,readonly=on")
}
run_args ""
dv=("$build/devisor" "${args[@]}")
vmms=(devisor)
if [ -n "${BENCH_BASELINE:-}" ]; then
	vmms+=(devisor-base)
	# BENCH_BASE_DISK_OPTS (",packed=off", say) goes on its fio disks.
	run_args "${BENCH_BASE_DISK_OPTS:-}"
	base=("$BENCH_BASELINE" "${args[@]}")
fi
# kvmtool, when BENCH_KVMTOOL names an lkvm built by hand (bench/run
# --kvmtool; never built or shipped by us): its virtio-pci disks, no NIC,
# and L3 reboots at the end (reboot=k: kvmtool exits on the i8042 reset;
# without ACPI a power-off would only halt).
if [ -n "${BENCH_KVMTOOL:-}" ]; then
	vmms+=(kvmtool)
	kt=(env "HOME=$tmp" "$BENCH_KVMTOOL" run -k "$kernel" -i "$cpio" -m 512 -c 2
		--console serial --network mode=none -d "$img" -d "$tools,ro")
fi
if [ -n "$qemu" ]; then
	vmms+=(qemu)
	# shellcheck disable=SC2054 # commas are QEMU's
	qm=("$qemu" -accel kvm -cpu host -M q35 -smp 2 -m 512 -nodefaults
		-display none -vga none -monitor none -serial stdio -no-reboot
		-kernel "$kernel" -initrd "$cpio"
		-drive "file=$img,if=none,id=d0,format=raw,cache=$qcache,aio=io_uring"
		-device virtio-blk-pci,drive=d0
		-drive "file=$tools,if=none,id=t0,format=raw,readonly=on"
		-device virtio-blk-pci,drive=t0)
fi
for ((r = 1; r <= reps; r++)); do
	for v in "${vmms[@]}"; do
		case $v in
		devisor) boot devisor "${dv[@]}" --cmdline "$cmdline bench.disks=3" ;;
		devisor-base) boot devisor-base "${base[@]}" --cmdline "$cmdline bench.disks=3" ;;
		qemu) boot qemu "${qm[@]}" -append "$cmdline bench.disks=2" ;;
		kvmtool) boot kvmtool "${kt[@]}" -p "$cmdline bench.disks=2 bench.reboot" ;;
		esac
	done
done

# What each fio test's figure is followed by: its exits per 1,000
# requests, split by kind, and L2's own interrupts.
kinds=("" .exits/kio .uexits/kio .npf/kio .msr/kio .hlt/kio .intr/kio
	.l2loc/kio .l2res/kio .l2cal/kio .l2other/kio)
# stat VMM METRIC: "median min max" of the runs, or nothing.
stat() {
	local v=${V[$1/$2]:-}
	[ -n "$v" ] || return 0
	# shellcheck disable=SC2086 # one value per word
	printf "%s\n" $v | sort -g | awk '{ x[NR] = $1 } END {
		m = NR % 2 ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
		printf "%g %g %g\n", m, x[1], x[NR] }'
}
# line METRIC A B: A's and B's median [min-max] and the ratio of medians.
line() {
	local m=$1 a=$2 b=$3 sa sb ma mb r="-" ca="-" cb="-"
	sa=$(stat "$a" "$m") sb=$(stat "$b" "$m")
	[ -n "$sa" ] || [ -n "$sb" ] || return 0
	if [ -n "$sa" ]; then read -r ma x y <<< "$sa"; ca="$ma [$x-$y]"; fi
	if [ -n "$sb" ]; then read -r mb x y <<< "$sb"; cb="$mb [$x-$y]"; fi
	if [ -n "$sa" ] && [ -n "$sb" ]; then
		r=$(awk -v x="$ma" -v y="$mb" 'BEGIN { if (y > 0) printf "%.2f", x / y; else print "-" }')
	fi
	printf '%-30s %-26s %-26s %s\n' "$m" "$ca" "$cb" "$r"
}
table() { # A B [metric rename: A's metric for B's]
	local a=$1 b=$2 m
	printf '%-30s %-26s %-26s %s\n' "metric ($a vs $b)" "$a med [min-max]" "$b med [min-max]" "ratio"
	for m in init_s wall_s cpu_s rss_mib boot_exits boot_npf boot_ioio boot_msr \
		boot_uexits all_exits; do
		line $m "$a" "$b"
	done
	for t in rr4k_qd1 rr4k_qd32 sr1m_qd4 rw4k_qd32; do
		for k in "${kinds[@]}"; do
			line "pci.$t$k" "$a" "$b"
		done
	done
	# The same tests on null_blk: L3's own ceiling under each VMM.
	for t in rr4k_qd1 rr4k_qd32 sr1m_qd4 rw4k_qd32; do
		line "null.$t" "$a" "$b"
	done
	# The MSR exits of pci.rr4k_qd32 by MSR, per 1,000 requests.
	for m in $(printf '%s\n' "${!msrs[@]}" | sort); do
		line "pci.rr4k_qd32.msr.$m/kio" "$a" "$b"
	done
}

echo "Linux in L3: $reps boot(s) per VMM, alternating; 2 vCPUs, 512 MiB; fio $secs s per test"
echo "(time to /init and wall in s, RSS in MiB, fio in IOPS or MiB/s (sr1m); exits are KVM's in L2: kvm_exit (boot: to /init), user = to user space)"
for v in "${vmms[@]}"; do
	echo "$v: L3's local APIC in ${apic[$v]:-unknown} mode"
done
((have_trace)) || echo "note: no KVM hist triggers here (not root, no tracefs or no CONFIG_HIST_TRIGGERS): KVM exit counts are 0"
if [ -n "$qemu" ]; then
	table devisor qemu
elif [ -n "${BENCH_NO_QEMU:-}" ]; then
	echo "QEMU left out (--no-qemu)"
fi
echo
echo "devisor's virtio-mmio against its virtio-pci (same boots):"
for t in rr4k_qd1 rr4k_qd32 sr1m_qd4 rw4k_qd32; do
	for k in "${kinds[@]}"; do
		V[mmio/$t$k]=${V[devisor/mmio.$t$k]:-}
		V[pci/$t$k]=${V[devisor/pci.$t$k]:-}
		line "$t$k" mmio pci
	done
done
echo
echo "virtio-pci against null_blk in the same boots (null_blk: no device behind it, so no device exits: what L3's own CPU allows):"
for v in "${vmms[@]}"; do
	for t in rr4k_qd1 rr4k_qd32 sr1m_qd4 rw4k_qd32; do
		V[pci/$v.$t]=${V[$v/pci.$t]:-}
		V[null/$v.$t]=${V[$v/null.$t]:-}
		line "$v.$t" pci null
	done
done
if [ -n "${BENCH_BASELINE:-}" ]; then
	echo
	table devisor devisor-base
	# Both run the MMIO disk too: the transport's own before and after.
	for t in rr4k_qd1 rr4k_qd32 sr1m_qd4 rw4k_qd32; do
		for k in "${kinds[@]}"; do
			line "mmio.$t$k" devisor devisor-base
		done
	done
fi
if [ -n "${BENCH_KVMTOOL:-}" ]; then
	echo
	table devisor kvmtool
fi
for v in devisor devisor-base; do
	[ -s "$tmp/stats.$v" ] || continue
	echo
	echo "$v's own counts, last boot (exits to user space by port and MMIO page):"
	tr ' ' '\n' < "$tmp/stats.$v" | grep -E '^(exits_|io_top|mmio_|overhead_kb|virtio_|blk_)'
done
