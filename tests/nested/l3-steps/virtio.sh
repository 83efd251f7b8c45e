# shellcheck shell=sh disable=SC2154 # l3_out: set by l3_run (l3-init)
# L3 step (sourced by l3-init): virtio devices. Does nothing unless the
# kernel command line has "devisor.virtio"; then reports facts as
# DEVISOR-L3 markers that tests/nested/checks/virtio-*.sh judge. Flags:
#   devisor.pci        pci-ids=, pci-virtio-bound=, msix-vectors=,
#                      msix-irq-lines=, msix-interrupts=
#   devisor.mmio       mmio-acpi=, mmio-bound=, mmio-cmdline= (the
#                      virtio_mmio.device= values), mmio-cmdline-param=
#   devisor.rng        rng-current=, hwrng-bytes=, hwrng-nonzero-bytes=
#   devisor.hvc        console-active= (the console= marker is standard)
#   devisor.blk=TOKEN  one virtio disk: disk=, disk-sectors=, disk-seed=
#                      (reads the 1 MiB of lines "DEVISOR-DISK-SEED TOKEN"
#                      that L2's nested-vm put at 8 MiB), disk-write=
#                      (writes lines "DEVISOR-DISK-WRITE TOKEN" at 4 MiB,
#                      fsync, sync), disk-readback= (after drop_caches)
#   devisor.net        net=, net-mac=, net-dhcp=, net-ip=, net-gw=, net-dns=,
#                      net-bytes=, net-md5=, net-seconds= (udhcpc, then
#                      wget of http://10.0.2.2:8080/blob served by L2)
#   devisor.pmem=TOKEN as devisor.blk, on /dev/pmem0 (virtio-pmem)
#   devisor.blk-gone   blk-gone=now (L2 then kills the disk's vhost-user
#                      back-end), disk-after-gone= (a read after that)
#   devisor.net=A/L@P  the same with a static address A/L (net-static=)
#                      and the blob from http://P:8080/blob (L2's tap);
#                      a NIC with several queue pairs: net-queues=, and
#                      net-rx-irqs=input.0:N,input.1:M,... after the fetch
#   devisor.netblob=B  fetch http://...:8080/B instead of /blob
# Always (with devisor.virtio): virtio-devices=TYPE@TRANSPORT:DRIVER,...
# Every step that can block on a device runs under l3_run, with a time
# limit, so a missing or stuck device gives a marker instead of a hang.

vt_cmdline=$(cat /proc/cmdline)

# Value of flag $1 on the kernel command line: "VALUE" for $1=VALUE, "1"
# for a bare $1; status 1 if absent.
vt_flag() {
	for vt_w in $vt_cmdline; do
		case $vt_w in
		"$1") echo 1; return 0 ;;
		"$1"=*) echo "${vt_w#*=}"; return 0 ;;
		esac
	done
	return 1
}


# The first match of glob $1. The drivers probe while init insmods them,
# so the device is there at once or never; allow 2 s for a late one.
vt_find() {
	for vt_i in 1 2 3 4 5; do
		for vt_g in $1; do
			if [ -e "$vt_g" ]; then
				echo "$vt_g"
				return 0
			fi
		done
		[ "$vt_i" = 5 ] || sleep 0.5
	done
	return 1
}

vt_md5() { md5sum | cut -d' ' -f1; }

# 1 MiB of the line "$1" repeated (the same in L2's nested-vm).
vt_pattern() { yes "$1" | head -c 1048576; }

vt_uptime() { cut -d' ' -f1 /proc/uptime; }

vt_virtio_devices() {
	vt_list=
	for vt_d in /sys/bus/virtio/devices/virtio*; do
		[ -e "$vt_d/device" ] || continue
		case $(cat "$vt_d/device") in
		0x0001) vt_type=net ;;
		0x0002) vt_type=blk ;;
		0x0003) vt_type=console ;;
		0x0004) vt_type=rng ;;
		0x001b) vt_type=pmem ;;
		*) vt_type=$(cat "$vt_d/device") ;;
		esac
		vt_parent=$(readlink -f "$vt_d/..")
		case $vt_parent in
		*/LNRO0005:* | */virtio-mmio*) vt_tr=mmio ;;
		*/pci[0-9]*) vt_tr=pci ;;
		*) vt_tr=other ;;
		esac
		vt_drv=
		[ -e "$vt_d/driver" ] && vt_drv=$(basename "$(readlink "$vt_d/driver")")
		vt_list="$vt_list${vt_list:+,}$vt_type@$vt_tr:${vt_drv:-none}"
	done
	echo "${vt_list:-none}"
}

vt_pci() {
	vt_ids=
	vt_virtio=0
	vt_bound=0
	vt_msix=0
	vt_ext=0
	for vt_d in /sys/bus/pci/devices/*; do
		[ -e "$vt_d/vendor" ] || continue
		vt_v=$(cat "$vt_d/vendor")
		vt_ids="$vt_ids ${vt_v#0x}:$(sed 's/^0x//' "$vt_d/device")"
		[ "$vt_v" = 0x1af4 ] || continue
		vt_virtio=$((vt_virtio + 1))
		# PCIe functions expose 4 KiB of config space, PCI ones 256 bytes.
		[ "$(wc -c < "$vt_d/config")" = 4096 ] && vt_ext=$((vt_ext + 1))
		if [ -e "$vt_d/driver" ] &&
			[ "$(basename "$(readlink "$vt_d/driver")")" = virtio-pci ]; then
			vt_bound=$((vt_bound + 1))
		fi
		for vt_f in "$vt_d"/msi_irqs/*; do
			[ -f "$vt_f" ] && [ "$(cat "$vt_f")" = msix ] && vt_msix=$((vt_msix + 1))
		done
	done
	m "pci-ids=$(echo "$vt_ids" | tr ' ' '\n' | grep . | sort | tr '\n' ',' | sed 's/,$//')"
	m "pci-virtio-bound=$vt_bound/$vt_virtio"
	m "pci-virtio-extcfg=$vt_ext/$vt_virtio"
	m "msix-vectors=$vt_msix"
	# 6.1 names the chip "PCI-MSI" for MSI and MSI-X alike (later kernels
	# "PCI-MSIX-<bdf>"); virtio-pci only ever uses MSI-X (or INTx).
	m "msix-irq-lines=$(grep -c 'PCI-MSI.*virtio' /proc/interrupts)"
	m "msix-interrupts=$(awk '/PCI-MSI/ && /virtio/ {
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts)"
}

vt_mmio() {
	vt_acpi=
	vt_bound=0
	for vt_d in /sys/bus/platform/devices/LNRO0005:* /sys/bus/platform/devices/virtio-mmio.*; do
		[ -e "$vt_d" ] || continue
		vt_acpi="$vt_acpi${vt_acpi:+,}${vt_d##*/}"
		if [ -e "$vt_d/driver" ] &&
			[ "$(basename "$(readlink "$vt_d/driver")")" = virtio-mmio ]; then
			vt_bound=$((vt_bound + 1))
		fi
	done
	m "mmio-acpi=${vt_acpi:-none}"
	m "mmio-bound=$vt_bound"
	# With acpi=off the VMM announces its windows on the command line
	# instead; the driver takes them only if the kernel was built with
	# VIRTIO_MMIO_CMDLINE_DEVICES (then the module has a "device" parameter).
	vt_list=
	for vt_w in $vt_cmdline; do
		case $vt_w in
		virtio_mmio.device=*) vt_list="$vt_list${vt_list:+,}${vt_w#*=}" ;;
		esac
	done
	m "mmio-cmdline=${vt_list:-none}"
	if [ -e /sys/module/virtio_mmio/parameters/device ]; then
		m "mmio-cmdline-param=yes"
	else
		m "mmio-cmdline-param=no"
	fi
}

vt_rng() {
	m "rng-current=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null || echo none)"
	if [ ! -c /dev/hwrng ]; then
		m "hwrng-bytes=0 (no /dev/hwrng)"
		return
	fi
	if l3_run 20 dd if=/dev/hwrng of=/tmp/hwrng bs=4096 count=1 iflag=fullblock; then
		m "hwrng-bytes=$(wc -c < /tmp/hwrng)"
		m "hwrng-nonzero-bytes=$(tr -d '\000' < /tmp/hwrng | wc -c)"
	else
		m "hwrng-bytes=0 (dd status $?: $(l3_err))"
	fi
}

# vt_blk TOKEN [GLOB]: the disk GLOB finds (a virtio disk by default).
vt_blk() {
	vt_tok=$1
	if ! vt_dev=$(vt_find "${2:-/sys/block/vd*}"); then
		m "disk=missing"
		return
	fi
	vt_dev=${vt_dev##*/}
	m "disk=$vt_dev"
	m "disk-sectors=$(cat "/sys/block/$vt_dev/size")"
	vt_want=$(vt_pattern "DEVISOR-DISK-SEED $vt_tok" | vt_md5)
	if l3_run 20 sh -c "dd if=/dev/$vt_dev bs=1048576 skip=8 count=1 2>/dev/null | md5sum"; then
		if [ "${l3_out%% *}" = "$vt_want" ]; then
			m "disk-seed=ok"
		else
			m "disk-seed=bad (md5 ${l3_out%% *}, want $vt_want)"
		fi
	else
		m "disk-seed=failed (status $?)"
	fi
	vt_pattern "DEVISOR-DISK-WRITE $vt_tok" > /tmp/pattern
	vt_want=$(vt_md5 < /tmp/pattern)
	if l3_run 20 dd if=/tmp/pattern of="/dev/$vt_dev" bs=1048576 seek=4 count=1 conv=fsync &&
		l3_run 20 sync; then
		m "disk-write=ok"
	else
		m "disk-write=failed (status $?: $(l3_err))"
		return
	fi
	echo 3 > /proc/sys/vm/drop_caches
	if l3_run 20 sh -c "dd if=/dev/$vt_dev bs=1048576 skip=4 count=1 2>/dev/null | md5sum"; then
		if [ "${l3_out%% *}" = "$vt_want" ]; then
			m "disk-readback=ok"
		else
			m "disk-readback=bad (md5 ${l3_out%% *}, want $vt_want)"
		fi
	else
		m "disk-readback=failed (status $?)"
	fi
	rm -f /tmp/pattern
}

# devisor.blk-gone (after devisor.blk): the back-end of the disk is made
# to go away (L2 kills qemu-storage-daemon on the blk-gone=now marker);
# a read that must reach the device then fails or times out, never "ok".
vt_blk_gone() {
	m "blk-gone=now"
	sleep 3
	echo 3 > /proc/sys/vm/drop_caches
	if l3_run 10 dd if="/dev/$vt_dev" of=/dev/null bs=4096 count=1 skip=3000; then
		m "disk-after-gone=ok"
	else
		m "disk-after-gone=failed (status $?)"
	fi
}

vt_net() {
	if ! vt_ifc=$(vt_find '/sys/class/net/e*'); then
		m "net=missing (interfaces: $(cd /sys/class/net && echo *))"
		return
	fi
	vt_ifc=${vt_ifc##*/}
	m "net=$vt_ifc"
	m "net-mac=$(cat "/sys/class/net/$vt_ifc/address")"
	mkdir -p /etc/udhcpc
	cat > /etc/udhcpc/default.script <<'EOF'
#!/bin/sh
case $1 in
deconfig)
	ip link set "$interface" up
	ip -4 addr flush dev "$interface"
	;;
bound | renew)
	ip -4 addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	for r in $router; do
		ip route add default via "$r" dev "$interface"
		break
	done
	: > /etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
	;;
esac
exit 0
EOF
	chmod 0755 /etc/udhcpc/default.script
	ip link set "$vt_ifc" up
	vt_srv=10.0.2.2
	if [ "${1:-1}" != 1 ]; then
		# devisor.net=ADDR/LEN@PEER: a static address on L2's tap.
		vt_srv=${1#*@}
		if ip addr add "${1%@*}" dev "$vt_ifc"; then
			m "net-static=ok"
		else
			m "net-static=failed"
			return
		fi
	elif l3_run 20 udhcpc -i "$vt_ifc" -q -n -t 5 -T 2; then
		m "net-dhcp=ok"
	else
		m "net-dhcp=failed (status $?: $(l3_err))"
		return
	fi
	m "net-ip=$(ip -4 -o addr show dev "$vt_ifc" | awk '{ print $4; exit }')"
	m "net-gw=$(ip route | awk '$1 == "default" { print $3; exit }')"
	m "net-dns=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)"
	# Several queue pairs (the driver uses one per CPU): the fetch runs
	# on the last CPU, whose transmit queue is the last pair's (XPS),
	# and the tap steers the flow's frames back to that pair.
	vt_nq=$(ls -d "/sys/class/net/$vt_ifc/queues/rx-"* 2>/dev/null | wc -l)
	vt_pin=
	if [ "$vt_nq" -gt 1 ]; then
		m "net-queues=$vt_nq"
		vt_pin="taskset -c $(($(nproc) - 1))"
	fi
	vt_t0=$(vt_uptime)
	vt_blob=$(vt_flag devisor.netblob) || vt_blob=blob
	# shellcheck disable=SC2086 # empty or a command and its arguments
	if l3_run 90 $vt_pin wget -q -O /tmp/blob "http://$vt_srv:8080/$vt_blob"; then
		m "net-bytes=$(wc -c < /tmp/blob)"
		m "net-md5=$(vt_md5 < /tmp/blob)"
		m "net-seconds=$(awk -v a="$vt_t0" -v b="$(vt_uptime)" 'BEGIN { printf "%.2f", b - a }')"
		# Each receive queue's interrupts (every CPU's column summed).
		[ "$vt_nq" -gt 1 ] && m "net-rx-irqs=$(awk -v n="$(nproc)" '
			/virtio[0-9]+-input\.[0-9]+/ {
				s = 0
				for (i = 2; i <= n + 1; i++) s += $i
				q = $NF; sub(/.*-/, "", q); printf "%s%s:%d", sep, q, s; sep = ","
			}' /proc/interrupts)"
	else
		vt_s=$?
		m "net-bytes=$(wc -c < /tmp/blob 2>/dev/null || echo 0) (wget status $vt_s: $(l3_err))"
	fi
	rm -f /tmp/blob
}

if vt_flag devisor.virtio > /dev/null; then
	m "virtio-devices=$(vt_virtio_devices)"
	vt_flag devisor.pci > /dev/null && vt_pci
	vt_flag devisor.mmio > /dev/null && vt_mmio
	vt_flag devisor.hvc > /dev/null &&
		m "console-active=$(cat /sys/class/tty/console/active 2>/dev/null || echo none)"
	vt_flag devisor.rng > /dev/null && vt_rng
	if vt_tok=$(vt_flag devisor.blk); then vt_blk "$vt_tok"; fi
	if vt_tok=$(vt_flag devisor.pmem); then vt_blk "$vt_tok" '/sys/block/pmem*'; fi
	vt_flag devisor.blk-gone > /dev/null && [ -n "${vt_dev:-}" ] && vt_blk_gone
	if vt_arg=$(vt_flag devisor.net); then vt_net "$vt_arg"; fi
	m "virtio-uptime=$(vt_uptime)"
fi
