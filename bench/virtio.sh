#!/usr/bin/env bash
# virtio-blk and exit-cost benchmark: the same polled CPL3 test guests
# (tests/guest/blk_bench.c, exit_cost.c) under devisor and under QEMU with
# KVM in one run, on a tmpfs-backed raw image, printed side by side with
# the ratio. Figures, never pass/fail.
#   bench/virtio.sh [BUILD_DIR] [SECONDS]
# Needs a KVM that runs the test guests; bench/run picks where (here or
# nested). BENCH_NO_BUILD=1 skips the make (bench/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
run devisor-pci "$build/devisor" run --memory 256M --kernel "$g/blk_bench.bin" \
	--cmdline "$bargs transport=pci" --disk "path=$img"
# The same disk behind --iommu virtio (the guest maps its RAM one to one:
# the cost of translating every access, not of map/unmap per request).
run devisor-viommu "$build/devisor" run --memory 256M --iommu virtio --kernel "$g/blk_bench.bin" \
	--cmdline "$bargs transport=pci viommu=1" --disk "path=$img"
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
# virtio-iommu against no IOMMU, both devisor (ratio < 1: its cost).
row randread_4k_qd1_iops IOPS 1 devisor-viommu devisor-pci
row randread_4k_qd32_iops IOPS 1 devisor-viommu devisor-pci
row pio_exit_ns ns 0 devisor-pci qemu-mmio
row mmio_exit_ns ns 0 devisor-pci qemu-mmio
row ioeventfd_ns ns 0 devisor-pci qemu-mmio
