#!/usr/bin/env bash
# Benchmarks with the unmodified Debian kernel as the guest (the nested
# tier's L3 kernels), 2 vCPUs and 512 MiB, one VM after the other, devisor
# beside QEMU (q35, KVM) with the same back-ends. Sections:
#   net    TCP throughput with iperf3 between L3 and the host (tx: L3 sends,
#          rx: L3 receives) over a tap: devisor's userspace virtio-net
#          (vhost=off), devisor with vhost-net, QEMU with and without
#          vhost-net
#   vsock  an echoed stream (tests/nested/vsock-test) between L3 and the
#          host: devisor on the kernel's vhost-vsock, devisor's own
#          UNIX-socket back-end, QEMU's vhost-vsock-pci
#   vhost-user  fio 4 KiB random reads, QD1 and QD32, on the same image:
#          served by qemu-storage-daemon over vhost-user to devisor and to
#          QEMU, and by devisor's own virtio-blk
#   iommu  the same fio on virtio-blk with no IOMMU, behind VT-d (L3's
#          intel_iommu=on, lazy and strict invalidation) and, with the
#          6.12 kernel (the 6.1 one has no virtio-iommu driver), behind
#          virtio-iommu; QEMU with -device intel-iommu and virtio-iommu-pci
# Medians over BENCH_REPS runs (default 1) and ratios. Figures, never
# pass/fail; on a host without a usable KVM bench/run runs it in L2.
#
#   bench/l3.sh prepare OUTDIR          (the build host: L3's initramfs for
#                                        both kernels, a tools disk with
#                                        iperf3 and fio)
#   bench/l3.sh [BUILD_DIR] [SECONDS] [SECTION...]  (where the VMMs run;
#                                        root, with tun, vhost_net and
#                                        vhost_vsock; default: all)
# Environment: BENCH_L3_DIR (what prepare made, default BUILD_DIR/bench/l3),
# BENCH_KERNEL (default /l3/vmlinuz, the nested tier's 6.1), BENCH_REPS,
# BENCH_NO_BUILD=1.
set -Eeuo pipefail
trap 'echo "bench/l3: stopped at line $LINENO (status $?)" >&2' ERR
cd "$(dirname "$0")/.."

if [ "${1:-}" = prepare ]; then
	out=${2:?prepare wants OUTDIR}
	. tests/nested/lib.sh
	load_fetched
	. bench/prep.sh
	bench_install fio iperf3
	mkdir -p "$out"
	if bench_up_to_date "$out/l3.cpio $out/l3-6.12.cpio $out/vmlinuz-6.12 $out/tools.img $out/iperf3 $out/vsock-test" \
		bench/l3-init bench/l3.sh bench/prep.sh "$NESTED_DIR/mk-l3-initramfs" \
		tests/nested/vsock-test.c "$K612_VMLINUZ" "$(command -v fio)" "$(command -v iperf3)"; then
		echo "bench/l3: $out is up to date" >&2
		exit 0
	fi
	gcc -static -O2 -Wall -Wextra -Werror -o "$out/vsock-test" tests/nested/vsock-test.c
	"$NESTED_DIR/mk-l3-initramfs" -o "$out/l3.cpio" --module virtio_pci \
		--module virtio_blk --module virtio_net --module vmw_vsock_virtio_transport \
		--file bench/l3-init:/init --file "$out/vsock-test:/bin/vsock-test"
	# The 6.12 kernel and its modules for the virtio-iommu rows.
	cp "$K612_VMLINUZ" "$out/vmlinuz-6.12"
	"$NESTED_DIR/mk-l3-initramfs" -o "$out/l3-6.12.cpio" --kernel 6.12 \
		--module virtio_blk --module virtio_iommu --file bench/l3-init:/init
	# The host's iperf3 server (bench/run copies it into L2 with its
	# libraries), and L3's tools on a disk of their own.
	cp "$(command -v iperf3)" "$out/iperf3"
	bench_tools_disk "$out/tools.img" fio iperf3
	echo "bench/l3: prepared $out (l3.cpio, l3-6.12.cpio, vmlinuz-6.12, tools.img, iperf3, vsock-test)" >&2
	exit 0
fi

. bench/lib.sh
trace_setup
shift $(($# < 2 ? $# : 2))
sections=("$@")
((${#sections[@]})) || sections=(net vsock vhost-user iommu)
want() { [[ " ${sections[*]} " == *" $1 "* ]]; }
dir=${BENCH_L3_DIR:-$build/bench/l3}
reps=${BENCH_REPS:-1}
kernel=${BENCH_KERNEL:-/l3/vmlinuz}
cpio=$dir/l3.cpio
tools=$dir/tools.img
k612=$dir/vmlinuz-6.12
cpio612=$dir/l3-6.12.cpio
for f in "$kernel" "$cpio" "$tools" "$dir/iperf3" "$dir/vsock-test" "$k612" "$cpio612"; do
	[ -r "$f" ] || { echo "bench/l3: no $f (bench/l3.sh prepare)" >&2; exit 1; }
done
cmdline="console=ttyS0 nokaslr tsc=reliable no_timer_check panic=-1 quiet bench.secs=$secs"
export PATH=$PATH:/sbin:/usr/sbin

for m in tun vhost_net vhost_vsock; do modprobe -q $m 2> /dev/null || true; done
tap=vtap9
netargs="bench.net=10.0.9.2/24@10.0.9.1"
if want net; then
	if ! ip link show $tap > /dev/null 2>&1; then
		ip tuntap add dev $tap mode tap 2> /dev/null || tunctl -t $tap > /dev/null
	fi
	ip addr add 10.0.9.1/24 dev $tap 2> /dev/null || true
	ip link set $tap up
	"$dir/iperf3" -s -D -B 10.0.9.1 > /dev/null
fi

declare -A V
# l3 LABEL VMM-COMMAND...: one boot; BENCH-* lines into V[LABEL/metric]
# (a list, one figure per rep), errors and devisor's vhost-net line shown.
# KVM's exits in L2 while iperf3 runs (BENCH-NET-BEGIN to BENCH-NET), per
# MB received: all of them, nested page faults (the queues' notify
# writes, MMIO) and exits to user space.
l3() {
	local label=$1 out= line t0=$SECONDS
	local -A begin=()
	shift
	while IFS= read -r line; do
		line=${line%$'\r'}
		out+=$line$'\n'
		local kind name val dir mb e np u
		kind=${line%% *}
		case $kind in
		BENCH-NET-BEGIN)
			begin[${line#* }]=$(snap)
			continue
			;;
		BENCH-NET)
			read -r _ dir _ _ mb <<< "$line"
			mb=${mb#mbytes=}
			name=net_${dir}_mbits
			if [ -n "${begin[$dir]:-}" ] && awk -v m="${mb:-0}" 'BEGIN { exit !(m > 0) }'; then
				read -r e np _ _ _ _ u _ <<< "$(diffsnap "${begin[$dir]}" "$(snap)")"
				V[$label/net_${dir}_exits_per_mb]+="$(awk -v e="$e" -v m="$mb" 'BEGIN { printf "%.0f", e / m }') "
				V[$label/net_${dir}_npf_per_mb]+="$(awk -v e="$np" -v m="$mb" 'BEGIN { printf "%.0f", e / m }') "
				V[$label/net_${dir}_uexits_per_mb]+="$(awk -v e="$u" -v m="$mb" 'BEGIN { printf "%.1f", e / m }') "
			fi
			;;
		BENCH-VSOCK) name=vsock_mibs ;;
		BENCH-FIO) name=${line#* }; name=${name%% *}_iops ;;
		*) continue ;;
		esac
		val=${line#*value=}
		V[$label/$name]+="${val%% *} "
	done < <(timeout 300 "$@" 2>&1 < /dev/null || true)
	# DEVISOR-: progress for the nested harness's stall watch, which
	# counts only such lines (before, a run of three reps tripped it).
	echo "DEVISOR-BENCH $label: $((SECONDS - t0)) s, $(printf '%s' "$out" | grep -c '^BENCH-' || true) figures"
	printf '%s' "$out" | grep -q '^BENCH-L3 done' ||
		printf '%s: L3 did not finish\n%s\n' "$label" "$(printf '%s' "$out" | tail -n 5)" >&2
	printf '%s' "$out" | grep '^BENCH-L3 error=' | sed "s/^/$label: /" >&2 || true
	printf '%s' "$out" | grep -o "vhost-net served .*frames" | sed "s/^/$label: /" || true
}

# The VMMs with the tools disk; each run adds its own options. dv612 and
# qm612 boot the 6.12 kernel; qmi is QEMU without its devices, for the
# IOMMU rows (an IOMMU must come before the functions behind it).
dv=("$build/devisor" run --kernel "$kernel" --initrd "$cpio" --cpus 2 --memory 512M
	--disk "path=$tools,readonly=on")
dv612=("$build/devisor" run --kernel "$k612" --initrd "$cpio612" --cpus 2 --memory 512M
	--disk "path=$tools,readonly=on")
qbase=("$qemu" -accel kvm -cpu host -smp 2 -m 512 -nodefaults -display none
	-serial stdio -no-reboot -drive "file=$tools,if=none,id=tools,format=raw,readonly=on")
qm=("${qbase[@]}" -M q35 -kernel "$kernel" -initrd "$cpio" -device virtio-blk-pci,drive=tools)
qdisk=(-drive "file=$img,if=none,id=d0,format=raw,cache=$qcache")
qnet() { echo "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=$1"; }
vport=5000
vserve() { # PATH: one echo server for one stream, in the background
	"$dir/vsock-test" h-serve "$1" 120 > /dev/null &
	vs_pid=$!
	sleep 0.3
}
vdone() { kill "$vs_pid" 2> /dev/null || true; wait "$vs_pid" 2> /dev/null || true; }
qsd_start() { # image, socket
	qemu-storage-daemon \
		--blockdev "driver=file,node-name=f0,filename=$1,cache.direct=off" \
		--export "type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=$2,writable=on,num-queues=1" &
	qsd_pid=$!
	local i=0
	while [ ! -S "$2" ] && ((i++ < 50)); do sleep 0.2; done
}
qsd_stop() { kill "$qsd_pid" 2> /dev/null || true; wait "$qsd_pid" 2> /dev/null || true; rm -f "$1"; }

sec_net() {
	l3 devisor-user "${dv[@]}" --cmdline "$cmdline $netargs" --net "tap=$tap,vhost=off"
	l3 devisor-vhost "${dv[@]}" -v --cmdline "$cmdline $netargs" --net "tap=$tap,vhost=on"
	[ -n "$qemu" ] || return 0
	l3 qemu-user "${qm[@]}" -append "$cmdline $netargs" -netdev "$(qnet off)" -device virtio-net-pci,netdev=n0,romfile=
	l3 qemu-vhost "${qm[@]}" -append "$cmdline $netargs" -netdev "$(qnet on)" -device virtio-net-pci,netdev=n0,romfile=
}

sec_vsock() {
	local vs="bench.vsock=$vport:33554432"
	vserve "vsock:$vport"
	l3 devisor-vhost "${dv[@]}" --cmdline "$cmdline $vs" --vsock cid=5
	vdone
	vserve "$tmp/vsock.sock_$vport"
	l3 devisor-socket "${dv[@]}" --cmdline "$cmdline $vs" --vsock "cid=5,socket=$tmp/vsock.sock"
	vdone
	[ -n "$qemu" ] || return 0
	vserve "vsock:$vport"
	l3 qemu-vhost "${qm[@]}" -append "$cmdline $vs" -device vhost-vsock-pci,guest-cid=5
	vdone
}

sec_vhost_user() {
	local sock=$tmp/vub.sock
	l3 devisor-virtio-blk "${dv[@]}" --cmdline "$cmdline bench.fio=1" --disk "path=$img"
	command -v qemu-storage-daemon > /dev/null || return 0
	qsd_start "$img" "$sock"
	l3 devisor-vhost-user "${dv[@]}" --cmdline "$cmdline bench.fio=1" --disk "vhost-user=$sock"
	qsd_stop "$sock"
	[ -n "$qemu" ] || return 0
	qsd_start "$img" "$sock"
	l3 qemu-vhost-user "${qm[@]}" -append "$cmdline bench.fio=1" \
		-object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem \
		-chardev "socket,id=c0,path=$sock" -device vhost-user-blk-pci,chardev=c0,num-queues=1
	qsd_stop "$sock"
}

# qi: QEMU on MACHINE with KERNEL and INITRD, the tools disk and the
# measured one behind IOMMU (a -device, or empty for none).
qi_args() { # MACHINE KERNEL INITRD IOMMU
	local opt=
	[ -n "$4" ] && opt=,iommu_platform=on,disable-legacy=on
	qi=("${qbase[@]}" -M "$1" -kernel "$2" -initrd "$3")
	[ -n "$4" ] && qi+=(-device "$4")
	qi+=(-device "virtio-blk-pci,drive=tools$opt" "${qdisk[@]}"
		-device "virtio-blk-pci,drive=d0$opt")
}

sec_iommu() {
	local f="$cmdline bench.fio=1" vtd="intel_iommu=on"
	l3 devisor-none "${dv[@]}" --cmdline "$f" --disk "path=$img"
	l3 devisor-vtd-lazy "${dv[@]}" --cmdline "$f $vtd iommu.strict=0" --disk "path=$img" --iommu vtd
	l3 devisor-vtd-strict "${dv[@]}" --cmdline "$f $vtd iommu.strict=1" --disk "path=$img" --iommu vtd
	l3 devisor-612-none "${dv612[@]}" --cmdline "$f" --disk "path=$img"
	l3 devisor-viommu "${dv612[@]}" --cmdline "$f" --disk "path=$img" --iommu virtio
	[ -n "$qemu" ] || return 0
	qi_args q35 "$kernel" "$cpio" ""
	l3 qemu-none "${qi[@]}" -append "$f"
	qi_args q35,kernel-irqchip=split "$kernel" "$cpio" intel-iommu,intremap=on
	l3 qemu-vtd-lazy "${qi[@]}" -append "$f $vtd iommu.strict=0"
	l3 qemu-vtd-strict "${qi[@]}" -append "$f $vtd iommu.strict=1"
	qi_args q35 "$k612" "$cpio612" ""
	l3 qemu-612-none "${qi[@]}" -append "$f"
	qi_args q35 "$k612" "$cpio612" virtio-iommu-pci
	l3 qemu-viommu "${qi[@]}" -append "$f"
}

for ((r = 0; r < reps; r++)); do
	for sec in "${sections[@]}"; do
		"sec_${sec//-/_}"
	done
done
want net && { pkill -f "$dir/iperf3 -s" 2> /dev/null || true; }

# R[label/metric]: the median of the reps, for lib.sh's row().
for k in "${!V[@]}"; do
	R[$k]=$(printf '%s\n' ${V[$k]} | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
done
echo "l3 bench: Debian's kernels as the guest, 2 vCPUs, $secs s per test, median of $reps run(s)"
echo "(net: Mbit/s by iperf3; vsock: MiB/s echoed; blk: IOPS by fio; ratio > 1: the first is better)"
printf '%-24s %-40s %12s %12s   %s\n' metric pair first second ratio
if want net; then
	for m in net_tx_mbits net_rx_mbits; do
		row $m devisor-vhost devisor-user
		row $m devisor-vhost qemu-vhost
		row $m devisor-user qemu-user
	done
	# KVM's exits per MB (fewer is better: a ratio below 1 favours the first).
	for d in tx rx; do
		for k in exits npf uexits; do
			row net_${d}_${k}_per_mb devisor-user qemu-user
			row net_${d}_${k}_per_mb devisor-vhost qemu-vhost
		done
	done
fi
if want vsock; then
	row vsock_mibs devisor-vhost devisor-socket
	row vsock_mibs devisor-vhost qemu-vhost
fi
for m in randread_4k_qd1_iops randread_4k_qd32_iops; do
	if want vhost-user; then
		row $m devisor-vhost-user devisor-virtio-blk
		row $m devisor-vhost-user qemu-vhost-user
	fi
	if want iommu; then
		for x in vtd-lazy vtd-strict; do
			row $m devisor-$x devisor-none
			row $m qemu-$x qemu-none
			row $m devisor-$x qemu-$x
		done
		row $m devisor-viommu devisor-612-none
		row $m qemu-viommu qemu-612-none
		row $m devisor-viommu qemu-viommu
	fi
done
