# shellcheck shell=sh disable=SC2154 # l3_out: set by l3_run (l3-init)
# L3 step (sourced by l3-init): an NVMe controller, driven by the kernel's
# own (built-in) nvme driver. Does nothing unless the kernel command line
# has "devisor.nvme=TOKEN"; then reports, for tests/nested/checks/nvme.sh:
#   nvme-ctrl=        the first controller (nvme0) or missing
#   nvme-ctrls=       how many controllers the driver bound
#   nvme-model= nvme-serial= nvme-fw=   /sys/class/nvme/nvme0/{model,...}
#   nvme-pci=VVVV:DDDD class=C driver=D msix=N   its PCI function
#   nvme-iommu-group=yes|no   whether an IOMMU translates its DMA
#   nvme-rom=MD5|none   md5 of its expansion ROM as sysfs reads it
#   nvme-irqs=LINES/COUNT   nvme0q* lines in /proc/interrupts, interrupts
#   nvme-ns= nvme-sectors=  the namespace block device and its size
#   nvme-seed=        reads the 1 MiB of "DEVISOR-DISK-SEED TOKEN" lines
#                     that L2's nested-vm put at 8 MiB
#   nvme-write=       writes 1 MiB of "DEVISOR-DISK-WRITE TOKEN" lines at
#                     4 MiB (checked by nested-vm in L2 after the exit)
#   nvme-random-md5=  md5 of 4 MiB from /dev/urandom written at 12 MiB with
#                     fsync (L2 sums the image there after the exit)
#   nvme-readback=, nvme-random-readback=   both read back after drop_caches
# Every step that can block on the device has a time limit.

nv_tok=
# shellcheck disable=SC2013 # words, not lines
for nv_w in $(cat /proc/cmdline); do
	case $nv_w in
	devisor.nvme=*) nv_tok=${nv_w#*=} ;;
	esac
done

nv_md5() { md5sum | cut -d' ' -f1; }
nv_pattern() { yes "$1" | head -c 1048576; }

# md5 of COUNT MiB of the namespace from SKIP MiB, into $l3_out.
nv_sum() {
	l3_run 30 sh -c "dd if=/dev/$nv_ns bs=1048576 skip=$1 count=$2 2>/dev/null | md5sum"
}

nv_check() {
	# The driver probes asynchronously (reset work, then a namespace
	# scan): the controller and its namespace may come a moment later.
	# With two controllers of one subsystem (vfio-2vf) the namespace is
	# one multipath device, named after the subsystem: any nvme*n1.
	nv_i=0
	nv_ns=
	while [ "$nv_i" -lt 80 ]; do
		# Not nvmeXcYnZ: multipath's hidden per-path nodes.
		for nv_b in /sys/block/nvme*n1; do
			case ${nv_b##*/} in *c*) continue ;; esac
			[ -e "$nv_b" ] && nv_ns=${nv_b##*/} && break
		done
		[ -n "$nv_ns" ] && break
		sleep 0.5
		nv_i=$((nv_i + 1))
	done
	if [ ! -e /sys/class/nvme/nvme0 ]; then
		m "nvme-ctrl=missing (pci: $(cat /sys/bus/pci/devices/*/class 2>/dev/null | tr '\n' ' '))"
		return
	fi
	nv_c=/sys/class/nvme/nvme0
	m "nvme-ctrl=nvme0 state=$(cat $nv_c/state 2>/dev/null)"
	m "nvme-ctrls=$(ls /sys/class/nvme | wc -l)"
	# Identify pads with spaces; sysfs shows them.
	m "nvme-model=$(sed "s/ *$//" $nv_c/model)"
	m "nvme-serial=$(sed "s/ *$//" $nv_c/serial)"
	m "nvme-fw=$(sed "s/ *$//" $nv_c/firmware_rev)"
	nv_d=$(readlink -f $nv_c/device)
	nv_msix=0
	for nv_f in "$nv_d"/msi_irqs/*; do
		[ -f "$nv_f" ] && [ "$(cat "$nv_f")" = msix ] && nv_msix=$((nv_msix + 1))
	done
	nv_drv=none
	[ -e "$nv_d/driver" ] && nv_drv=$(basename "$(readlink "$nv_d/driver")")
	m "nvme-pci=$(sed 's/^0x//' "$nv_d/vendor"):$(sed 's/^0x//' "$nv_d/device") class=$(cat "$nv_d/class") driver=$nv_drv msix=$nv_msix extcfg=$(wc -c < "$nv_d/config")"
	# A passed-through device's expansion ROM, read through its ROM BAR.
	if [ ! -e "$nv_d/rom" ]; then
		m "nvme-rom=none"
	elif l3_run 20 sh -c "echo 1 > $nv_d/rom; cat $nv_d/rom | md5sum; echo 0 > $nv_d/rom"; then
		m "nvme-rom=${l3_out%% *}"
	else
		m "nvme-rom=failed (status $?: $(l3_err))"
	fi
	# Behind an IOMMU (--iommu vtd with intel_iommu=on) it has a group.
	if [ -e "$nv_d/iommu_group" ]; then m "nvme-iommu-group=yes"; else m "nvme-iommu-group=no"; fi
	if [ -z "$nv_ns" ]; then
		m "nvme-ns=missing ($(dmesg | grep -i nvme | tail -n 4 | tr '\n' '|'))"
		return
	fi
	m "nvme-ns=$nv_ns"
	m "nvme-sectors=$(cat /sys/block/$nv_ns/size)"

	nv_want=$(nv_pattern "DEVISOR-DISK-SEED $nv_tok" | nv_md5)
	if nv_sum 8 1; then
		if [ "${l3_out%% *}" = "$nv_want" ]; then
			m "nvme-seed=ok"
		else
			m "nvme-seed=bad (md5 ${l3_out%% *}, want $nv_want)"
		fi
	else
		m "nvme-seed=failed (status $?: $(l3_err))"
	fi

	nv_pattern "DEVISOR-DISK-WRITE $nv_tok" > /tmp/nv.pat
	nv_pat_md5=$(nv_md5 < /tmp/nv.pat)
	head -c 4194304 /dev/urandom > /tmp/nv.rnd
	nv_rnd_md5=$(nv_md5 < /tmp/nv.rnd)
	m "nvme-random-md5=$nv_rnd_md5"
	if l3_run 30 dd if=/tmp/nv.pat of=/dev/$nv_ns bs=1048576 seek=4 count=1 conv=fsync; then
		m "nvme-write=ok"
	else
		m "nvme-write=failed (status $?: $(l3_err))"
	fi
	if l3_run 30 dd if=/tmp/nv.rnd of=/dev/$nv_ns bs=1048576 seek=12 count=4 conv=fsync; then
		m "nvme-random-write=ok"
	else
		m "nvme-random-write=failed (status $?: $(l3_err))"
	fi
	rm -f /tmp/nv.pat /tmp/nv.rnd
	echo 3 > /proc/sys/vm/drop_caches
	for nv_k in readback:4:1:$nv_pat_md5 random-readback:12:4:$nv_rnd_md5; do
		nv_name=${nv_k%%:*}
		nv_want=${nv_k##*:}
		nv_k=${nv_k#*:}
		if nv_sum "${nv_k%%:*}" "$(echo "$nv_k" | cut -d: -f2)"; then
			if [ "${l3_out%% *}" = "$nv_want" ]; then
				m "nvme-$nv_name=ok"
			else
				m "nvme-$nv_name=bad (md5 ${l3_out%% *}, want $nv_want)"
			fi
		else
			m "nvme-$nv_name=failed (status $?: $(l3_err))"
		fi
	done
	m "nvme-irqs=$(grep -c 'nvme0q' /proc/interrupts)/$(awk '/nvme0q/ {
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts)"

	# A Function Level Reset through sysfs (the driver quiesces, the
	# function resets, the driver brings the controller back): the data
	# must still read back.
	m "nvme-reset-method=$(cat "$nv_d/reset_method" 2>/dev/null || echo none)"
	if l3_run 30 sh -c "echo 1 > $nv_d/reset"; then
		nv_i=0
		while [ "$(cat $nv_c/state 2>/dev/null)" != live ] && [ "$nv_i" -lt 40 ]; do
			sleep 0.5
			nv_i=$((nv_i + 1))
		done
		echo 3 > /proc/sys/vm/drop_caches
		if [ "$(cat $nv_c/state 2>/dev/null)" != live ]; then
			m "nvme-flr=failed (state $(cat $nv_c/state 2>/dev/null))"
		elif nv_sum 12 4 && [ "${l3_out%% *}" = "$nv_rnd_md5" ]; then
			m "nvme-flr=ok"
		else
			m "nvme-flr=failed (readback after reset: ${l3_out%% *} $(l3_err))"
		fi
	else
		m "nvme-flr=failed (reset status $?: $(l3_err))"
	fi
}

if [ -n "$nv_tok" ]; then
	nv_check
fi
