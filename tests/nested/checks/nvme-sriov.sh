# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# nvme-sriov: SR-IOV VFs of devisor's NVMe PF (--nvme ...,vfs=2) enabled
# and disabled through sysfs (l3-steps/nvme-sriov.sh). The 16 MiB image is
# cut in 3 slices of 5 MiB (docs/nvme.md): VF K's namespace starts at
# K * 5 MiB, so what L3 wrote at 1 MiB of VF K is at K * 5 + 1 MiB of the
# image, which L2 sums after the VM exits (nested-vm --sum).
sr_checks() {
	local v k want got
	v=$(marker "$clog" sriov-pf)
	if [[ $v == *" total=2" ]]; then pass "$name/sriov-cap"; else fail "$name/sriov-cap" "sriov-pf=${v:-none}, want total=2"; fi
	v=$(marker "$clog" sriov-vm)
	if [[ $v == online,online/online,offline/online,online ]]; then
		pass "$name/sriov-virt-mgmt"
	else
		fail "$name/sriov-virt-mgmt" "sriov-vm=${v:-none}, want online,online/online,offline/online,online (nvme-virt-mgmt list; 2 offline; 2 online)"
	fi
	v=$(marker "$clog" sriov-enable)
	if [[ $v == ok ]]; then pass "$name/sriov-enable"; else fail "$name/sriov-enable" "sriov-enable=${v:-none}"; fi
	for k in 1 2; do
		v=$(marker "$clog" sriov-vf$k)
		# 5 MiB namespace: 10240 sectors.
		if [[ $v == nvme[0-9]*" pci=1af4:10d1 driver=nvme sectors=10240" ]]; then
			pass "$name/sriov-vf$k-bound"
		else
			fail "$name/sriov-vf$k-bound" "sriov-vf$k=${v:-none}, want an nvme controller on 1af4:10d1 with 10240 sectors"
		fi
		v=$(marker "$clog" sriov-vf$k-write)
		if [[ $v == ok ]]; then pass "$name/sriov-vf$k-write"; else fail "$name/sriov-vf$k-write" "sriov-vf$k-write=${v:-none}"; fi
		want=$(marker "$clog" sriov-vf$k-md5)
		got=$(sed -n "s|.*DEVISOR-L2 sum=/tmp/$name.img:$((k * 5 + 1)):1 md5=||p" "$clog" | tail -n1)
		if [[ -n $want && $got == "$want" ]]; then
			pass "$name/sriov-vf$k-persist"
		else
			fail "$name/sriov-vf$k-persist" "image at $((k * 5 + 1)) MiB: md5 ${got:-none}, want ${want:-none}"
		fi
	done
	for k in sriov-vf1-seed sriov-disable sriov-cycle; do
		v=$(marker "$clog" "$k")
		if [[ $v == ok ]]; then pass "$name/$k"; else fail "$name/$k" "$k=${v:-none}"; fi
	done
	v=$(marker "$clog" sriov-pf-live)
	if [[ $v == live ]]; then pass "$name/sriov-pf-live"; else fail "$name/sriov-pf-live" "nvme0 state=${v:-none}"; fi
}
sr_checks
