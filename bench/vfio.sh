#!/usr/bin/env bash
# Passthrough benchmark: the polled CPL3 NVMe guest (tests/guest/nvme_bench.c)
# driving a real NVMe controller passed through with VFIO, under devisor
# (--device) and under QEMU (-device vfio-pci, q35, KVM), one after the
# other on the same device; the ideal: the same three tests run on the
# device by the host's own nvme driver (bench/nvme_direct, O_DIRECT and
# AIO), in L2 or with BENCH_VFIO_IDEAL=1 (the device is unbound from
# vfio-pci for it and bound back after); and, for scale, the same guest on
# devisor's emulated NVMe (--nvme) over a tmpfs image. Figures, never
# pass/fail.
#   bench/vfio.sh [BUILD_DIR] [SECONDS]
# The device: BENCH_VFIO_DEVICE=DDDD:BB:DD.F (bound to vfio-pci), or in
# L2 the nested harness's passthrough fixture (VFIO_ADDR: QEMU's NVMe
# behind QEMU's VT-d). Its namespace is read, never written.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=${BENCH_VFIO_DEVICE:-${VFIO_ADDR:-}}
if [ -z "$dev" ]; then
	echo "vfio bench: not measured: no device given (BENCH_VFIO_DEVICE=DDDD:BB:DD.F, bound to vfio-pci)"
	exit 0
fi
# The emulated controller's image: lib.sh's (256 MiB, random).
. bench/lib.sh
run devisor-vfio "$build/devisor" run --memory 256M --kernel "$g/nvme_bench.bin" \
	--cmdline "$bargs" --device "path=/sys/bus/pci/devices/$dev"
if [ -n "$qemu" ]; then
	run qemu-vfio timeout 300 "$qemu" -accel kvm -M q35 -m 256 -nodefaults \
		-display none -serial stdio -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-device "vfio-pci,host=$dev" -kernel "$g/nvme_bench.bin" -append "$bargs"
fi
run devisor-nvme "$build/devisor" run --memory 256M --kernel "$g/nvme_bench.bin" \
	--cmdline "$bargs" --nvme "path=$img,serial=BENCH"

# The ideal: the host's nvme driver on the device, then back to vfio-pci.
wait_for() { # seconds, then a test
	local i=0 n=$(($1 * 10))
	shift
	until "$@"; do
		((i++ < n)) || return 1
		sleep 0.1
	done
}
ns_of() { # the namespace's block device of the controller on $dev
	local b
	for b in /sys/block/nvme*n1; do
		[[ -e $b && ${b##*/} != *c* ]] && { echo "/dev/${b##*/}"; return 0; }
	done
	return 1
}
sysdev=/sys/bus/pci/devices/$dev
if [[ -n ${VFIO_ADDR:-} || -n ${BENCH_VFIO_IDEAL:-} ]] && [ -x "$build/bench/nvme_direct" ] &&
	[[ $(basename "$(readlink "$sysdev/driver")") == vfio-pci ]]; then
	echo "$dev" > "$sysdev/driver/unbind"
	echo > "$sysdev/driver_override"
	echo "$dev" > /sys/bus/pci/drivers_probe
	if wait_for 20 ns_of > /dev/null; then
		run host-direct "$build/bench/nvme_direct" "$(ns_of)" "$secs"
	else
		echo "vfio bench: the host's nvme driver did not bring up $dev's namespace: no ideal" >&2
	fi
	[ -e "$sysdev/driver" ] && echo "$dev" > "$sysdev/driver/unbind"
	echo vfio-pci > "$sysdev/driver_override"
	echo "$dev" > /sys/bus/pci/drivers_probe
	grp=$(basename "$(readlink "$sysdev/iommu_group")")
	wait_for 10 test -c "/dev/vfio/$grp" || echo "vfio bench: $dev not back on vfio-pci" >&2
fi

echo "VFIO passthrough of $dev, $secs s per test (IOPS and MB/s; ratio > 1: devisor-vfio better)"
echo "(host-direct: the host's nvme driver, interrupt-driven, through AIO system calls; the guests poll)"
printf '%-24s %-30s %12s %12s   %s\n' metric pair devisor-vfio peer ratio
for m in randread_4k_qd1_iops randread_4k_qd32_iops seqread_1m_qd4; do
	row $m devisor-vfio qemu-vfio
	row $m devisor-vfio host-direct
	row $m devisor-vfio devisor-nvme
done
