# shellcheck shell=sh
# L3 step (sourced by l3-init): SR-IOV on devisor's NVMe PF (--nvme
# ...,vfs=2), driven through sysfs as an administrator would. Does nothing
# unless the kernel command line has "devisor.nvme-sriov=TOKEN"; then
# reports, for tests/nested/checks/nvme-sriov.sh:
#   sriov-pf=BDF total=N   the PF (nvme0's function) and sriov_totalvfs
#   sriov-vm=S1,S2/S1,S2/S1,S2   the secondary controllers' states
#                          (nvme-virt-mgmt list) as they start, after
#                          Virtualization Management took 2 offline,
#                          and after it brought 2 back online
#   sriov-enable=ok|...    echo 2 > sriov_numvfs
#   sriov-vfK=CTRL pci=VVVV:DDDD driver=D sectors=S   VF K's controller
#   sriov-vf1-seed=        VF 1's namespace at 3 MiB is the image's 8 MiB,
#                          where L2 put "DEVISOR-DISK-SEED TOKEN" lines
#   sriov-vfK-md5=         md5 of the 1 MiB of "DEVISOR-VFK TOKEN" lines
#                          written at 1 MiB of VF K's namespace with fsync
#   sriov-vfK-write=ok|... (L2 sums the image at K * 5 + 1 MiB afterwards)
#   sriov-disable=ok|...   echo 0 > sriov_numvfs: the VFs and their
#                          controllers are gone
#   sriov-cycle=ok|...     enable and disable again
#   sriov-pf-live=         nvme0's state afterwards

sr_tok=
# shellcheck disable=SC2013 # words, not lines
for sr_w in $(cat /proc/cmdline); do
	case $sr_w in
	devisor.nvme-sriov=*) sr_tok=${sr_w#*=} ;;
	esac
done

# sr_run SECS COMMAND...: at most SECS seconds.
sr_run() {
	sr_t=$1
	shift
	rm -f /tmp/sr.rc
	(
		"$@" > /tmp/sr.out 2> /tmp/sr.err
		echo "$?" > /tmp/sr.rc
	) &
	sr_p=$!
	(
		sleep "$sr_t"
		kill -9 "$sr_p" 2>/dev/null
	) &
	sr_k=$!
	wait "$sr_p"
	kill "$sr_k" 2>/dev/null
	if [ ! -s /tmp/sr.rc ]; then
		# shellcheck disable=SC2034 # read by l3-init
		L3_NOSYNC=1
		return 124
	fi
	return "$(cat /tmp/sr.rc)"
}

sr_err() { head -c 200 /tmp/sr.err | tr '\n' ' '; }
sr_md5() { md5sum | cut -d' ' -f1; }

# sr_wait SECS COND: poll COND (a shell expression) every 0.5 s.
sr_wait() {
	sr_i=0
	while ! eval "$2" && [ "$sr_i" -lt $(($1 * 2)) ]; do
		sleep 0.5
		sr_i=$((sr_i + 1))
	done
	eval "$2"
}

# The controller (nvmeN) of VF K (0-based), or nothing.
sr_vf_ctrl() {
	for sr_c in /sys/bus/pci/devices/$sr_pf/virtfn$1/nvme/nvme*; do
		[ -e "$sr_c" ] && basename "$sr_c"
	done
}

sr_vfs_bound() {
	for sr_k in 0 1; do
		sr_n=$(sr_vf_ctrl $sr_k)
		[ -n "$sr_n" ] && [ -e /sys/block/${sr_n}n1 ] || return 1
	done
}

sr_vfs_gone() {
	[ ! -e /sys/bus/pci/devices/$sr_pf/virtfn0 ] &&
		[ ! -e /sys/bus/pci/devices/$sr_pf/virtfn1 ] &&
		[ "$(ls /sys/class/nvme | wc -l)" = 1 ]
}

sr_check() {
	sr_wait 20 '[ -e /sys/block/nvme0n1 ]'
	if [ ! -e /sys/class/nvme/nvme0 ]; then
		m "sriov-pf=missing"
		return
	fi
	sr_pf=$(basename "$(readlink -f /sys/class/nvme/nvme0/device)")
	m "sriov-pf=$sr_pf total=$(cat /sys/bus/pci/devices/$sr_pf/sriov_totalvfs 2>/dev/null)"
	# The PF's Virtualization Management, before the VFs exist.
	sr_states() { nvme-virt-mgmt /dev/nvme0 list 2>&1 | sed -n 's/.*state=\([a-z]*\).*/\1/p' | tr '\n' ',' | sed 's/,$//'; }
	sr_vm=$(sr_states)
	nvme-virt-mgmt /dev/nvme0 2 7 > /dev/null 2>&1 || sr_vm="$sr_vm (offline: status $?)"
	sr_vm="$sr_vm/$(sr_states)"
	nvme-virt-mgmt /dev/nvme0 2 9 > /dev/null 2>&1 || sr_vm="$sr_vm (online: status $?)"
	m "sriov-vm=$sr_vm/$(sr_states)"
	if sr_run 30 sh -c "echo 2 > /sys/bus/pci/devices/$sr_pf/sriov_numvfs"; then
		m "sriov-enable=ok"
	else
		m "sriov-enable=failed (status $?: $(sr_err))"
		dmesg | grep -i -e iov -e nvme | tail -n 20
		return
	fi
	if ! sr_wait 30 sr_vfs_bound; then
		m "sriov-vfs=missing ($(ls /sys/class/nvme | tr '\n' ' '))"
		dmesg | grep -i -e iov -e nvme | tail -n 20
	fi
	for sr_k in 0 1; do
		sr_n=$(sr_vf_ctrl $sr_k)
		sr_d=/sys/bus/pci/devices/$sr_pf/virtfn$sr_k
		sr_v=$((sr_k + 1))
		sr_drv=none
		[ -e "$sr_d/driver" ] && sr_drv=$(basename "$(readlink "$sr_d/driver")")
		m "sriov-vf$sr_v=${sr_n:-none} pci=$(sed 's/^0x//' "$sr_d/vendor" 2>/dev/null):$(sed 's/^0x//' "$sr_d/device" 2>/dev/null) driver=$sr_drv sectors=$(cat /sys/block/${sr_n}n1/size 2>/dev/null)"
		# Behind an IOMMU each VF is a requester of its own: a group.
		if [ -e "$sr_d/iommu_group" ]; then m "sriov-vf$sr_v-iommu-group=$(basename "$(readlink "$sr_d/iommu_group")")"; else m "sriov-vf$sr_v-iommu-group=none"; fi
		[ -n "$sr_n" ] && [ -e /dev/${sr_n}n1 ] || continue
		if [ $sr_v = 1 ]; then
			sr_want=$(yes "DEVISOR-DISK-SEED $sr_tok" | head -c 1048576 | sr_md5)
			if sr_run 30 sh -c "dd if=/dev/${sr_n}n1 bs=1048576 skip=3 count=1 2>/dev/null | md5sum" &&
				[ "$(cut -d' ' -f1 < /tmp/sr.out)" = "$sr_want" ]; then
				m "sriov-vf1-seed=ok"
			else
				m "sriov-vf1-seed=bad ($(cut -d' ' -f1 < /tmp/sr.out) $(sr_err))"
			fi
		fi
		yes "DEVISOR-VF$sr_v $sr_tok" | head -c 1048576 > /tmp/sr.pat
		m "sriov-vf$sr_v-md5=$(sr_md5 < /tmp/sr.pat)"
		if sr_run 30 dd if=/tmp/sr.pat of=/dev/${sr_n}n1 bs=1048576 seek=1 count=1 conv=fsync; then
			m "sriov-vf$sr_v-write=ok"
		else
			m "sriov-vf$sr_v-write=failed (status $?: $(sr_err))"
		fi
	done
	rm -f /tmp/sr.pat
	if sr_run 30 sh -c "echo 0 > /sys/bus/pci/devices/$sr_pf/sriov_numvfs" &&
		sr_wait 20 sr_vfs_gone; then
		m "sriov-disable=ok"
	else
		m "sriov-disable=failed ($(ls /sys/class/nvme | tr '\n' ' ') $(sr_err))"
	fi
	if sr_run 30 sh -c "echo 2 > /sys/bus/pci/devices/$sr_pf/sriov_numvfs" &&
		sr_wait 30 sr_vfs_bound &&
		sr_run 30 sh -c "echo 0 > /sys/bus/pci/devices/$sr_pf/sriov_numvfs" &&
		sr_wait 20 sr_vfs_gone; then
		m "sriov-cycle=ok"
	else
		m "sriov-cycle=failed ($(ls /sys/class/nvme | tr '\n' ' ') $(sr_err))"
	fi
	m "sriov-pf-live=$(cat /sys/class/nvme/nvme0/state 2>/dev/null)"
}

if [ -n "$sr_tok" ]; then
	sr_check
fi
