#!/usr/bin/env bash
# NVMe benchmark: the polled CPL3 NVMe guest (tests/guest/nvme_bench.c)
# under devisor (--nvme) and under QEMU's nvme device (q35, KVM), and the
# virtio-blk guest (tests/guest/blk_bench.c) under devisor over virtio-pci,
# one run, one tmpfs-backed raw image. Prints devisor-nvme beside
# QEMU-nvme and beside devisor's virtio-blk, with ratios. The NVMe guest
# uses shadow doorbells where the controller offers them (both do), as
# Linux does; devisor-nvme-mmio is devisor's NVMe again with plain
# doorbells (dbbuf=0), every one an MMIO exit. Figures, never pass/fail.
#   bench/nvme.sh [BUILD_DIR] [SECONDS]
# Needs a KVM that runs the test guests; bench/run picks where (here or
# nested). BENCH_NO_BUILD=1 skips the make (bench/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
run devisor-nvme "$build/devisor" run --memory 256M --kernel "$g/nvme_bench.bin" \
	--cmdline "$bargs" --nvme "path=$img,serial=BENCH"
run devisor-nvme-mmio "$build/devisor" run --memory 256M --kernel "$g/nvme_bench.bin" \
	--cmdline "$bargs dbbuf=0" --nvme "path=$img,serial=BENCH"
run devisor-virtio "$build/devisor" run --memory 256M --kernel "$g/blk_bench.bin" \
	--cmdline "$bargs transport=pci" --disk "path=$img"
if [ -n "$qemu" ]; then
	qn=("$qemu" -accel kvm -M q35 -m 256 -nodefaults -display none
		-serial stdio -no-reboot
		-device isa-debug-exit,iobase=0xf4,iosize=0x04
		-drive "file=$img,if=none,id=n0,format=raw,cache=$qcache,aio=io_uring"
		-device nvme,drive=n0,serial=BENCH)
	run qemu-nvme timeout 300 "${qn[@]}" -kernel "$g/nvme_bench.bin" -append "$bargs"
fi

echo "NVMe, $secs s per test, image on tmpfs (IOPS and MB/s; ratio > 1: devisor-nvme better)"
printf '%-24s %-30s %12s %12s   %s\n' metric pair devisor-nvme peer ratio
for m in randread_4k_qd1_iops randread_4k_qd32_iops seqread_1m_qd4; do
	row $m devisor-nvme qemu-nvme
	row $m devisor-nvme devisor-virtio
	row $m devisor-nvme-mmio devisor-virtio
done
for m in randread_4k_qd1_doorbells_per_kreq randread_4k_qd32_doorbells_per_kreq \
	seqread_1m_qd4_doorbells_per_kreq; do
	row $m devisor-nvme qemu-nvme
	row $m devisor-nvme devisor-nvme-mmio
done
