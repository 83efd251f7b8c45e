# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# nvme: Linux's nvme driver binds devisor's NVMe function (--nvme) and
# uses it (l3-steps/nvme.sh); L2 finds in the image what L3 wrote
# (nested-vm --disk and --sum).
nv_l2() { sed -n "s/.*DEVISOR-L2 $1=//p" "$clog" | tail -n1; }

# The case's --nvme serial.
nv_want_serial=DVSNVME01

nv_checks() {
	local v m s f k want
	v=$(marker "$clog" nvme-ctrl)
	if [[ $v == nvme0* ]]; then
		pass "$name/nvme-bound"
	else
		fail "$name/nvme-bound" "nvme-ctrl=${v:-none}"
	fi
	v=$(marker "$clog" nvme-pci)
	if [[ $v == "1af4:10d0 class=0x010802 driver=nvme msix="* && $v =~ msix=([0-9]+) ]] &&
		((BASH_REMATCH[1] >= 2)) && [[ $v == *extcfg=4096* ]]; then
		pass "$name/nvme-pci"
	else
		fail "$name/nvme-pci" "nvme-pci=${v:-none}, want 1af4:10d0 class=0x010802 driver=nvme, >= 2 MSI-X vectors, 4 KiB config space"
	fi
	m=$(marker "$clog" nvme-model)
	s=$(marker "$clog" nvme-serial)
	f=$(marker "$clog" nvme-fw)
	if [[ $m == "devisor NVMe" && $s == "$nv_want_serial" && -n $f ]]; then
		pass "$name/nvme-identify"
	else
		fail "$name/nvme-identify" "model=${m:-none} serial=${s:-none} firmware_rev=${f:-none}, want 'devisor NVMe', $nv_want_serial, a version"
	fi
	v=$(marker "$clog" nvme-sectors)
	if [[ $v == 32768 ]]; then pass "$name/nvme-size"; else fail "$name/nvme-size" "nvme-sectors=${v:-none}, want 32768 (16 MiB)"; fi
	for k in nvme-seed nvme-write nvme-random-write nvme-readback nvme-random-readback nvme-flr; do
		v=$(marker "$clog" "$k")
		if [[ $v == ok ]]; then pass "$name/$k"; else fail "$name/$k" "$k=${v:-none}"; fi
	done
	v=$(marker "$clog" nvme-irqs)
	if [[ $v =~ ^([0-9]+)/([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 2 && BASH_REMATCH[2] > 0)); then
		pass "$name/nvme-msix-irqs"
	else
		fail "$name/nvme-msix-irqs" "nvme-irqs=${v:-none}, want >= 2 nvme0q lines with interrupts"
	fi
	# After the VM exited: the token pattern at 4 MiB, the random 4 MiB at 12.
	v=$(nv_l2 disk-verified)
	if [[ $v == yes* ]]; then
		pass "$name/nvme-persist"
	else
		fail "$name/nvme-persist" "L2 after the VM exited: disk-verified=${v:-none}"
	fi
	want=$(marker "$clog" nvme-random-md5)
	v=$(nv_l2 sum)
	if [[ -n $want && $v == *" md5=$want" ]]; then
		pass "$name/nvme-random-persist"
	else
		fail "$name/nvme-random-persist" "L2's sum of the image at 12 MiB: ${v:-none}, want md5 ${want:-none}"
	fi
}
nv_checks
