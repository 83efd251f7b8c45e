#!/usr/bin/env bash
# vhost benchmark: the data planes that leave the VMM, with the unmodified
# Debian kernel as the guest (the nested tier's L3 kernel), 2 vCPUs and
# 512 MiB, one VM after the other:
#   net    TCP throughput with iperf3 between L3 and the host (tx: L3 sends,
#          rx: L3 receives) over a tap: devisor's userspace virtio-net
#          (vhost=off), devisor with vhost-net, QEMU with and without
#          vhost-net
#   vsock  an echoed stream (tests/nested/vsock-test) between L3 and the
#          host: devisor on the kernel's vhost-vsock, devisor's own
#          UNIX-socket back-end, QEMU's vhost-vsock-pci
#   blk    fio 4 KiB random reads, QD1 and QD32, on the same image: served
#          by qemu-storage-daemon over vhost-user to devisor and to QEMU,
#          and by devisor's own virtio-blk
# Medians over BENCH_REPS runs (default 1) and ratios. Figures, never
# pass/fail; on a host without a usable KVM bench/run runs it in L2.
#
#   bench/vhost.sh prepare OUTDIR          (the build host: L3's initramfs,
#                                           a tools disk with iperf3 and fio)
#   bench/vhost.sh [BUILD_DIR] [SECONDS]   (where the VMMs run; root, with
#                                           tun, vhost_net and vhost_vsock)
# Environment: BENCH_VHOST_DIR (what prepare made, default
# BUILD_DIR/bench/vhost), BENCH_KERNEL (default /l3/vmlinuz, the nested
# tier's), BENCH_REPS, BENCH_NO_BUILD=1.
set -Eeuo pipefail
trap 'echo "bench/vhost: stopped at line $LINENO (status $?)" >&2' ERR
cd "$(dirname "$0")/.."

if [ "${1:-}" = prepare ]; then
	out=${2:?prepare wants OUTDIR}
	. tests/nested/lib.sh
	load_fetched
	for p in fio iperf3; do
		command -v $p > /dev/null && continue
		echo "bench/vhost: installing $p" >&2
		SUDO=
		[ "$(id -u)" = 0 ] || SUDO=sudo
		$SUDO apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
			--no-install-recommends $p > /dev/null
	done
	mkdir -p "$out"
	gcc -static -O2 -Wall -Wextra -Werror -o "$out/vsock-test" tests/nested/vsock-test.c
	"$NESTED_DIR/mk-l3-initramfs" -o "$out/l3.cpio" --module virtio_pci \
		--module virtio_blk --module virtio_net --module vmw_vsock_virtio_transport \
		--file bench/vhost-init:/init --file "$out/vsock-test:/bin/vsock-test"
	# The host's iperf3 server (bench/run copies it into L2 with its
	# libraries), and L3's tools: iperf3 and fio with every library they
	# load, on an ext4 image.
	cp "$(command -v iperf3)" "$out/iperf3"
	troot=$out/tools-root
	rm -rf "$troot"
	mkdir -p "$troot/bin" "$troot/lib" "$troot/lib64"
	for p in fio iperf3; do
		cp "$(command -v $p)" "$troot/bin/$p"
		ldd "$(command -v $p)" | awk '/=> \//{ print $3 }' | while read -r l; do
			cp -L "$l" "$troot/lib/"
		done
	done
	cp -L /lib64/ld-linux-x86-64.so.2 "$troot/lib64/"
	kb=$(du -sk "$troot" | cut -f1)
	rm -f "$out/tools.img"
	mke2fs -q -t ext4 -d "$troot" -L benchtools "$out/tools.img" $((kb * 5 / 4 + 8192))k
	rm -rf "$troot"
	echo "bench/vhost: prepared $out (l3.cpio, tools.img, iperf3, vsock-test)" >&2
	exit 0
fi

. bench/lib.sh
dir=${BENCH_VHOST_DIR:-$build/bench/vhost}
reps=${BENCH_REPS:-1}
kernel=${BENCH_KERNEL:-/l3/vmlinuz}
cpio=$dir/l3.cpio
tools=$dir/tools.img
for f in "$kernel" "$cpio" "$tools" "$dir/iperf3" "$dir/vsock-test"; do
	[ -r "$f" ] || { echo "bench/vhost: no $f (bench/vhost.sh prepare)" >&2; exit 1; }
done
cmdline="console=ttyS0 nokaslr tsc=reliable no_timer_check panic=-1 quiet bench.secs=$secs"
export PATH=$PATH:/sbin:/usr/sbin

for m in tun vhost_net vhost_vsock; do modprobe -q $m 2> /dev/null || true; done
tap=vtap9
if ! ip link show $tap > /dev/null 2>&1; then
	ip tuntap add dev $tap mode tap 2> /dev/null || tunctl -t $tap > /dev/null
fi
ip addr add 10.0.9.1/24 dev $tap 2> /dev/null || true
ip link set $tap up
"$dir/iperf3" -s -D -B 10.0.9.1 > /dev/null
netargs="bench.net=10.0.9.2/24@10.0.9.1"

declare -A V
# l3 LABEL VMM-COMMAND...: one boot; BENCH-* lines into V[LABEL/metric]
# (a list, one figure per rep), errors and devisor's vhost-net line shown.
l3() {
	local label=$1 out line t0=$SECONDS
	shift
	out=$(timeout 300 "$@" 2>&1 < /dev/null) || true
	echo "($label: $((SECONDS - t0)) s, $(printf '%s\n' "$out" | grep -c '^BENCH-' || true) figures)"
	while read -r line; do
		local kind name val
		kind=${line%% *}
		case $kind in
		BENCH-NET) name=net_${line#* }; name=${name%% *}_mbits ;;
		BENCH-VSOCK) name=vsock_mibs ;;
		BENCH-FIO) name=${line#* }; name=${name%% *}_iops ;;
		*) continue ;;
		esac
		val=${line#*value=}
		V[$label/$name]+="${val%% *} "
	done < <(printf '%s\n' "$out" | tr -d '\r' | grep '^BENCH-[A-Z]* ' || true)
	printf '%s\n' "$out" | tr -d '\r' | grep -q '^BENCH-L3 done' ||
		printf '%s: L3 did not finish\n%s\n' "$label" "$(printf '%s\n' "$out" | tail -n 5)" >&2
	printf '%s\n' "$out" | tr -d '\r' | grep '^BENCH-L3 error=' | sed "s/^/$label: /" >&2 || true
	printf '%s\n' "$out" | grep -o "vhost-net served .*frames" | sed "s/^/$label: /" || true
}

# The VMMs with the tools disk; each run adds its own options.
dv=("$build/devisor" run --kernel "$kernel" --initrd "$cpio" --cpus 2 --memory 512M
	--disk "path=$tools,readonly=on")
qm=("$qemu" -accel kvm -M q35 -cpu host -smp 2 -m 512 -nodefaults -display none
	-serial stdio -no-reboot -kernel "$kernel" -initrd "$cpio"
	-drive "file=$tools,if=none,id=tools,format=raw,readonly=on"
	-device virtio-blk-pci,drive=tools)
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

for ((r = 0; r < reps; r++)); do
	l3 devisor-user "${dv[@]}" --cmdline "$cmdline $netargs" --net "tap=$tap,vhost=off"
	l3 devisor-vhost "${dv[@]}" -v --cmdline "$cmdline $netargs" --net "tap=$tap,vhost=on"
	if [ -n "$qemu" ]; then
		l3 qemu-user "${qm[@]}" -append "$cmdline $netargs" -netdev "$(qnet off)" -device virtio-net-pci,netdev=n0,romfile=
		l3 qemu-vhost "${qm[@]}" -append "$cmdline $netargs" -netdev "$(qnet on)" -device virtio-net-pci,netdev=n0,romfile=
	fi

	vs="bench.vsock=$vport:33554432"
	vserve "vsock:$vport"
	l3 devisor-vhost "${dv[@]}" --cmdline "$cmdline $vs" --vsock cid=5
	vdone
	vserve "$tmp/vsock.sock_$vport"
	l3 devisor-socket "${dv[@]}" --cmdline "$cmdline $vs" --vsock "cid=5,socket=$tmp/vsock.sock"
	vdone
	if [ -n "$qemu" ]; then
		vserve "vsock:$vport"
		l3 qemu-vhost "${qm[@]}" -append "$cmdline $vs" -device vhost-vsock-pci,guest-cid=5
		vdone
	fi

	l3 devisor-virtio-blk "${dv[@]}" --cmdline "$cmdline bench.fio=1" --disk "path=$img"
	if command -v qemu-storage-daemon > /dev/null; then
		sock=$tmp/vub.sock
		qsd_start "$img" "$sock"
		l3 devisor-vhost-user "${dv[@]}" --cmdline "$cmdline bench.fio=1" --disk "vhost-user=$sock"
		qsd_stop "$sock"
		if [ -n "$qemu" ]; then
			qsd_start "$img" "$sock"
			l3 qemu-vhost-user "${qm[@]}" -append "$cmdline bench.fio=1" \
				-object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem \
				-chardev "socket,id=c0,path=$sock" -device vhost-user-blk-pci,chardev=c0,num-queues=1
			qsd_stop "$sock"
		fi
	fi
done
pkill -f "$dir/iperf3 -s" 2> /dev/null || true

# R[label/metric]: the median of the reps, for lib.sh's row().
for k in "${!V[@]}"; do
	R[$k]=$(printf '%s\n' ${V[$k]} | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
done
echo "vhost bench: Debian $(basename "$kernel") guest, 2 vCPUs, $secs s per test, median of $reps run(s)"
echo "(net: Mbit/s by iperf3; vsock: MiB/s echoed; blk: IOPS by fio; ratio > 1: the first is better)"
printf '%-24s %-40s %12s %12s   %s\n' metric pair first second ratio
for m in net_tx_mbits net_rx_mbits; do
	row $m devisor-vhost devisor-user
	row $m devisor-vhost qemu-vhost
	row $m devisor-user qemu-user
done
row vsock_mibs devisor-vhost devisor-socket
row vsock_mibs devisor-vhost qemu-vhost
for m in randread_4k_qd1_iops randread_4k_qd32_iops; do
	row $m devisor-vhost-user devisor-virtio-blk
	row $m devisor-vhost-user qemu-vhost-user
done
