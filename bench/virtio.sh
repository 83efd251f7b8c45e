#!/usr/bin/env bash
# virtio-blk and exit-cost benchmark: the same polled CPL3 test guests
# (tests/guest/blk_bench.c, exit_cost.c) under devisor and under QEMU with
# KVM in one run, on a tmpfs-backed raw image, printed side by side with
# the ratio. Figures, never pass/fail.
#   bench/virtio.sh [BUILD_DIR] [SECONDS]
# Needs a KVM that runs the test guests; bench/run picks where (here or
# nested). BENCH_NO_BUILD=1 skips the make (there is no compiler in L2).
set -euo pipefail
cd "$(dirname "$0")/.."
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

g=$build/guests
bargs="seconds=$secs"
run devisor-pci "$build/devisor" run --memory 256M --kernel "$g/blk_bench.bin" \
	--cmdline "$bargs transport=pci" --disk "path=$img"
run devisor-mmio "$build/devisor" run --memory 256M --kernel "$g/blk_bench.bin" \
	--cmdline "$bargs transport=mmio" --disk "path=$img,transport=mmio"
run devisor-pci "$build/devisor" run --memory 256M --kernel "$g/exit_cost.bin" \
	--disk "path=$img"
if [ -n "$qemu" ]; then
	# microvm: QEMU's leanest machine; virtio-mmio like devisor's mmio.
	qm=("$qemu" -accel kvm -M microvm,x-option-roms=off,rtc=on,isa-serial=on
		-m 256 -nodefaults -display none -serial stdio -no-reboot
		-global virtio-mmio.force-legacy=false
		-device isa-debug-exit,iobase=0xf4,iosize=0x04
		-drive "file=$img,if=none,id=d0,format=raw,cache=$qcache,aio=io_uring"
		-device virtio-blk-device,drive=d0)
	run qemu-mmio "${qm[@]}" -kernel "$g/blk_bench.bin" -append "$bargs transport=mmio"
	run qemu-mmio "${qm[@]}" -kernel "$g/exit_cost.bin" -append "transport=mmio"
	qp=("$qemu" -accel kvm -M q35 -m 256 -nodefaults -display none
		-serial stdio -no-reboot
		-device isa-debug-exit,iobase=0xf4,iosize=0x04
		-drive "file=$img,if=none,id=d0,format=raw,cache=$qcache,aio=io_uring"
		-device virtio-blk-pci,drive=d0,disable-legacy=on)
	run qemu-pci timeout 300 "${qp[@]}" -kernel "$g/blk_bench.bin" -append "$bargs transport=pci"
fi

row() { # metric, unit, higher-is-better (1) or lower (0), pair of labels
	local m=$1 unit=$2 hib=$3 a=$4 b=$5 va vb ratio="-"
	va=${R[$a/$m]:-} vb=${R[$b/$m]:-}
	if [ -n "$va" ] && [ -n "$vb" ]; then
		if ((hib)); then
			ratio=$(awk -v x="$va" -v y="$vb" 'BEGIN { if (y > 0) printf "%.2fx", x / y }')
		else
			ratio=$(awk -v x="$va" -v y="$vb" 'BEGIN { if (x > 0) printf "%.2fx", y / x }')
		fi
	fi
	printf '%-32s %-14s %12s %12s   %s\n' "$m" "$a vs $b" "${va:--}" "${vb:--}" "$ratio"
}

echo "virtio-blk and exit costs, $secs s per test, image on tmpfs (devisor/peer; ratio > 1: devisor better)"
printf '%-32s %-14s %12s %12s   %s\n' metric pair devisor peer ratio
for t in mmio pci; do
	row randread_4k_qd1_iops IOPS 1 devisor-$t qemu-$t
	row randread_4k_qd32_iops IOPS 1 devisor-$t qemu-$t
	row seqread_1m_qd4 MB/s 1 devisor-$t qemu-$t
done
row pio_exit_ns ns 0 devisor-pci qemu-mmio
row mmio_exit_ns ns 0 devisor-pci qemu-mmio
row ioeventfd_ns ns 0 devisor-pci qemu-mmio
