# shellcheck shell=sh disable=SC2154 # m: l3-init's
# L3 step (sourced by l3-init): the guest's side of the api case, with
# l2-bin/api-vm driving devisor's control API in L2. With
# "devisor.api-vfio" it only says api-ready (L2 adds the VFIO function,
# the nvme step finds it). Does nothing unless the kernel command line
# has "devisor.api=TOKEN"; then:
#   api-ready         printed once; L2 sends an NMI to every vCPU
#                     (vm.nmi), pauses the VM for 5 s, resumes it and
#                     adds a disk
#   api-nmis=         each CPU's NMI count (/proc/interrupts) at
#                     api-ready -> once the disk came
#   api-clock=        /proc/uptime sampled every 0.2 s until the disk
#                     comes: the largest step between two samples (cs),
#                     and the clocksource; a VM paused 5 s shows no 5 s step
#   api-hp-disk=      the disk arrived without a rescan: its name, its PCI
#                     function, seconds waited
#   api-hp-write=     "DEVISOR-HP-WRITE TOKEN" at 1 MiB of the disk, with
#                     fsync (dd conv=fsync); then api-hp-written
#   api-hp-resized=   the disk's size in sectors once it grew to 32 MiB
#                     (vm.resize-disk; a configuration change interrupt)
#   api-hp-gone=      the disk and its PCI function left (vm.remove-device)
#   api-hp-nic=       a virtio-net interface arrived (vm.add-net tap=hp0)
#   api-hp-nic-gone=  and left (vm.remove-device _net0)
#   api-hp-pmem=      a virtio-pmem device arrived (vm.add-pmem): its block
#                     device and its first line (L2's token)
#   api-hp-vsock=     a vsock device arrived (vm.add-vsock): vsock-test
#                     g-connect to the host's port 5000 (L2 echoes);
#                     then api-hp-pv-done
#   api-hp-pv-gone=   both left (vm.remove-device pm0, vs0)
#   api-pwrbtn=       the ACPI power button was pressed (ff_pwr_btn count),
#                     after which l3-init powers off as usual
ap_tok=
# shellcheck disable=SC2013 # words, not lines
for ap_w in $(cat /proc/cmdline); do
	case $ap_w in
	devisor.api=*) ap_tok=${ap_w#*=} ;;
	devisor.api-vfio) m "api-ready" ;;
	esac
done

ap_cs() { tr -d . < /proc/uptime | cut -d' ' -f1; }
# Each CPU's NMI count, comma-separated.
ap_nmis() { awk '$1 == "NMI:" { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) printf "%s%s", (i > 2 ? "," : ""), $i }' /proc/interrupts; }
# "  N  enabled": the count of fixed power button events.
ap_pwr() {
	# shellcheck disable=SC2046 # words wanted
	set -- $(cat /sys/firmware/acpi/interrupts/ff_pwr_btn 2>/dev/null)
	echo "${1:-none}"
}

if [ -n "$ap_tok" ]; then
	ap_btn0=$(ap_pwr)
	ap_nmi0=$(ap_nmis)
	m "api-ready"
	ap_prev=$(ap_cs) ap_max=0 ap_i=0 ap_dev=
	# Up to 240 s for L2's pause, resume and add-disk.
	while [ "$ap_i" -lt 1200 ]; do
		for ap_b in /sys/block/vd*; do
			[ -e "$ap_b" ] && ap_dev=${ap_b##*/}
		done
		[ -n "$ap_dev" ] && break
		sleep 0.2
		ap_now=$(ap_cs)
		[ $((ap_now - ap_prev)) -gt "$ap_max" ] && ap_max=$((ap_now - ap_prev))
		ap_prev=$ap_now
		ap_i=$((ap_i + 1))
	done
	m "api-nmis=$ap_nmi0 -> $(ap_nmis)"
	m "api-clock=maxstep_cs=$ap_max clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
	if [ -z "$ap_dev" ]; then
		m "api-hp-disk=none after $((ap_i / 5)) s; dmesg: $(dmesg | grep -i -E 'acpiphp|pci 0000|virtio' | tail -n 3 | tr '\n' ' ')"
	else
		ap_pci=$(readlink -f "/sys/block/$ap_dev/device" | sed -n 's|.*/\(0000:00:[0-9a-f.]*\)/virtio.*|\1|p')
		ap_pci=${ap_pci:-none}
		m "api-hp-disk=$ap_dev pci=$ap_pci after $((ap_i / 5)) s"
		printf 'DEVISOR-HP-WRITE %s\n' "$ap_tok" > /tmp/ap-tok
		if l3_run 60 dd if=/tmp/ap-tok of="/dev/$ap_dev" bs=512 seek=2048 conv=fsync; then
			ap_back=$(dd if="/dev/$ap_dev" bs=512 skip=2048 count=1 2>/dev/null | head -n1)
			m "api-hp-write=ok read-back=$ap_back"
		else
			m "api-hp-write=fail $(l3_err)"
		fi
		m "api-hp-written"
		ap_i=0
		while [ "$(cat "/sys/block/$ap_dev/size")" != 65536 ] && [ "$ap_i" -lt 300 ]; do
			sleep 0.2
			ap_i=$((ap_i + 1))
		done
		m "api-hp-resized=$(cat "/sys/block/$ap_dev/size") after $((ap_i / 5)) s"
		l3_gone api-hp-gone 60 "/sys/block/$ap_dev" "/sys/bus/pci/devices/$ap_pci"
	fi
	# The NIC L2 adds next: a virtio-net interface, then gone again.
	ap_i=0 ap_nic=
	while [ -z "$ap_nic" ] && [ "$ap_i" -lt 450 ]; do
		for ap_n in /sys/class/net/*; do
			[ "$(basename "$(readlink "$ap_n/device/driver" 2>/dev/null)")" = virtio_net ] &&
				ap_nic=${ap_n##*/}
		done
		[ -n "$ap_nic" ] || sleep 0.2
		ap_i=$((ap_i + 1))
	done
	m "api-hp-nic=${ap_nic:-none} after $((ap_i / 5)) s"
	[ -n "$ap_nic" ] && l3_gone api-hp-nic-gone 60 "/sys/class/net/$ap_nic"
	# The pmem and vsock devices L2 adds next.
	ap_i=0 ap_pm= ap_vs=
	while { [ -z "$ap_pm" ] || [ -z "$ap_vs" ]; } && [ "$ap_i" -lt 450 ]; do
		for ap_b in /sys/block/pmem*; do
			[ -e "$ap_b" ] && ap_pm=${ap_b##*/}
		done
		for ap_d in /sys/bus/virtio/devices/*; do
			[ "$(cat "$ap_d/device" 2>/dev/null)" = 0x0013 ] &&
				[ -e "$ap_d/driver" ] && ap_vs=$ap_d
		done
		{ [ -n "$ap_pm" ] && [ -n "$ap_vs" ]; } || sleep 0.2
		ap_i=$((ap_i + 1))
	done
	if [ -n "$ap_pm" ]; then
		m "api-hp-pmem=$ap_pm read=$(head -n 1 "/dev/$ap_pm" 2>/dev/null | tr -cd 'A-Za-z0-9 ._-' | head -c 80) after $((ap_i / 5)) s"
	else
		m "api-hp-pmem=none after $((ap_i / 5)) s"
	fi
	if [ -z "$ap_vs" ]; then
		m "api-hp-vsock=none after $((ap_i / 5)) s"
	elif l3_run 60 /bin/vsock-test g-connect 5000 65536 "$ap_tok-hp" 30; then
		m "api-hp-vsock=$l3_out"
	else
		m "api-hp-vsock=${l3_out:-fail} $(l3_err)"
	fi
	m "api-hp-pv-done"
	ap_gone=
	[ -n "$ap_pm" ] && ap_gone="/sys/block/$ap_pm"
	[ -n "$ap_vs" ] && ap_gone="$ap_gone $ap_vs"
	# shellcheck disable=SC2086 # paths, word-split
	[ -n "$ap_gone" ] && l3_gone api-hp-pv-gone 60 $ap_gone
	ap_i=0
	while [ "$(ap_pwr)" = "$ap_btn0" ] && [ "$ap_i" -lt 600 ]; do
		sleep 0.2
		ap_i=$((ap_i + 1))
	done
	m "api-pwrbtn=$ap_btn0->$(ap_pwr) after $((ap_i / 5)) s"
fi
