# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Shared by bench/virtio.sh, bench/nvme.sh and bench/vfio.sh (sourced, after `cd` to the
# repository): the arguments, the build, a tmpfs-backed 256 MiB raw image
# of random bytes, QEMU's cache mode for it and run(), which keeps each
# guest's RESULT lines.
#   build (BUILD_DIR, default build), secs (SECONDS, default 3), qemu
#   (qemu-system-x86_64 or empty), tmp (removed at exit), img, qcache, g
#   (the test guests), bargs (their seconds= argument), R[label/metric],
#   and row() (a table line with the ratio of two runs).
# BENCH_NO_BUILD=1 skips the make (there is no compiler in L2).
build=${1:-build}
secs=${2:-3}
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "${BENCH_NO_BUILD:-}" ] || make -s -j"$(nproc)" BUILD="$build" all guests >/dev/null
tmp=$(mktemp -d /dev/shm/devisor-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
img=$tmp/disk.img
truncate -s 256M "$img"
# A written image, so reads are not of holes.
dd if=/dev/urandom of="$img" bs=1M count=256 conv=notrunc status=none

# QEMU opens the image with O_DIRECT (cache=none) where the file system
# allows; tmpfs does only from Linux 6.6 on (not in a 6.1 L2), and there
# the page cache it would bypass is the file itself anyway.
qcache=none
if ! dd if="$img" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; then
	qcache=writeback
	echo "note: no O_DIRECT on $(dirname "$img") here: QEMU uses cache=writeback"
fi

declare -A R
run() { # label, then the command
	local label=$1 out
	shift
	out=$("$@" 2>&1 </dev/null) || true
	while read -r _ name value _; do
		R[$label/$name]=$value
	done < <(printf '%s\n' "$out" | grep '^RESULT ')
	printf '%s\n' "$out" | grep -q '^RESULT ' ||
		printf '%s: no results\n%s\n' "$label" "$(printf '%s\n' "$out" | tail -5)" >&2
}

# row METRIC A B: one line of a table, A's figure, B's and A / B.
row() { # metric, pair of labels
	local m=$1 a=$2 b=$3 va vb ratio="-"
	va=${R[$a/$m]:-} vb=${R[$b/$m]:-}
	if [ -n "$va" ] && [ -n "$vb" ]; then
		ratio=$(awk -v x="$va" -v y="$vb" 'BEGIN { if (y > 0) printf "%.2fx", x / y }')
	fi
	printf '%-24s %-30s %12s %12s   %s\n' "$m" "$a vs $b" "${va:--}" "${vb:--}" "$ratio"
}

# KVM's exits in L2, per exit reason, by hist triggers (no trace buffer):
# trace_setup once, then snap for "total npf ioio msr hlt intr user" so
# far (SVM exit codes), then "loc res cal other", L2's own interrupts
# over its CPUs (timer, rescheduling IPIs, which carry KVM's vCPU kicks,
# function calls, the rest: what the "intr" exits were), and diffsnap
# A B for B - A, field by field. The exits need root and tracefs;
# without them have_trace=0 and those counts are 0. A trigger set by an
# earlier script in the same L2 is used as it is.
trc=/sys/kernel/tracing
have_trace=0
trace_hist() { # EVENT KEYS
	local t=$trc/events/kvm/$1/trigger
	[ -w "$t" ] || return 1
	grep -q "^hist:keys=$2" "$t" 2> /dev/null ||
		echo "hist:keys=$2:size=256" 2> /dev/null > "$t"
}
trace_setup() {
	[ -d $trc/events ] || mount -t tracefs nodev $trc 2> /dev/null || true
	trace_hist kvm_exit exit_reason && trace_hist kvm_userspace_exit reason &&
		have_trace=1
}
snap() {
	local irqs
	irqs=$(awk 'NR > 1 { n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i
		if ($1 == "LOC:") l += n; else if ($1 == "RES:") r += n
		else if ($1 == "CAL:") c += n; else o += n }
		END { printf "%d %d %d %d", l, r, c, o }' /proc/interrupts 2> /dev/null || echo "0 0 0 0")
	((have_trace)) || { echo "0 0 0 0 0 0 0 $irqs"; return; }
	{
		cat $trc/events/kvm/kvm_exit/hist
		echo USER
		cat $trc/events/kvm/kvm_userspace_exit/hist
	} | awk '
		/^#/ { next }
		/^USER/ { u = 1 }
		/hitcount:/ {
			c = $NF; if (u) { user += c; next }
			t += c
			if ($3 == 1024) npf += c; else if ($3 == 123) io += c
			else if ($3 == 124) msr += c; else if ($3 == 120) hlt += c
			else if ($3 == 96) intr += c
		}
		END { printf "%d %d %d %d %d %d %d ", t, npf, io, msr, hlt, intr, user }'
	echo "$irqs"
}
diffsnap() { awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x); split(b, y); for (i = 1; i <= n; i++) printf "%d ", y[i] - x[i]; print "" }'; }

g=$build/guests
bargs="seconds=$secs"
