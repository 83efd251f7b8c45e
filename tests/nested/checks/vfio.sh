# shellcheck shell=bash disable=SC2154 # clog, name, VFIO_IMG, VFIO_ROM: the run's
# vfio: L2's NVMe controller (QEMU's, behind L2's IOMMU, bound to
# vfio-pci) passed through to L3 with --device; L3's nvme driver uses it
# (l3-steps/nvme.sh); this host finds in the controller's image what L3
# wrote. vfio-intx.sh sets vf_irq=intx first (and vf_rom=none: its ROM
# hidden).
vf_irq=${vf_irq:-msix} vf_last=${vf_last:-none} vf_msix_min=${vf_msix_min:-2}
vf_rom=${vf_rom:-}

vf_checks() {
	local v m s want sum
	v=$(marker "$clog" nvme-ctrl)
	if [[ $v == "nvme0 state=live" ]]; then
		pass "$name/vfio-bound"
	else
		fail "$name/vfio-bound" "nvme-ctrl=${v:-none}, want nvme0 live"
	fi
	v=$(marker "$clog" nvme-pci)
	if [[ $v =~ ^1b36:0010\ class=0x010802\ driver=nvme\ msix=([0-9]+) ]] &&
		if [[ $vf_irq == msix ]]; then ((BASH_REMATCH[1] >= vf_msix_min)); else ((BASH_REMATCH[1] == 0)); fi; then
		pass "$name/vfio-pci"
	else
		fail "$name/vfio-pci" "nvme-pci=${v:-none}, want QEMU's 1b36:0010 class 0x010802 on L3's nvme driver, $([[ $vf_irq == msix ]] && echo ">= $vf_msix_min MSI-X vectors" || echo 'no MSI-X (pci=nomsi)')"
	fi
	m=$(marker "$clog" nvme-model)
	s=$(marker "$clog" nvme-serial)
	if [[ $m == "QEMU NVMe Ctrl" && $s == DVSVFIO01 ]]; then
		pass "$name/vfio-identify"
	else
		fail "$name/vfio-identify" "model=${m:-none} serial=${s:-none}, want the real controller's: 'QEMU NVMe Ctrl', DVSVFIO01"
	fi
	v=$(marker "$clog" nvme-sectors)
	if [[ $v == 131072 ]]; then pass "$name/vfio-size"; else fail "$name/vfio-size" "nvme-sectors=${v:-none}, want 131072 (64 MiB)"; fi
	# The PF's expansion ROM (tests/nested/run made it): as the file
	# through devisor's ROM BAR, or absent with rom=off.
	if [[ $name == vfio || -n $vf_rom ]]; then
		want=${vf_rom:-$(md5sum < "$VFIO_ROM" | cut -d' ' -f1)}
		v=$(marker "$clog" nvme-rom)
		if [[ $v == "$want" ]]; then
			pass "$name/vfio-rom"
		else
			fail "$name/vfio-rom" "nvme-rom=${v:-none}, want $want ($([[ $want == none ]] && echo 'hidden by rom=off' || echo "md5 of $VFIO_ROM"))"
		fi
	fi
	for k in nvme-seed nvme-write nvme-random-write nvme-readback nvme-random-readback nvme-flr; do
		v=$(marker "$clog" "$k")
		if [[ $v == ok ]]; then pass "$name/vfio-${k#nvme-}"; else fail "$name/vfio-${k#nvme-}" "$k=${v:-none}"; fi
	done
	v=$(marker "$clog" nvme-irqs)
	if [[ $v =~ ^([0-9]+)/([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 1 && BASH_REMATCH[2] > 0)); then
		pass "$name/vfio-irqs"
	else
		fail "$name/vfio-irqs" "nvme-irqs=${v:-none}, want nvme0q interrupts counted in L3"
	fi
	# What L3 wrote is in the real controller's backing image on this
	# host: the token pattern at 4 MiB, the random 4 MiB at 12 MiB (the
	# case that ran last leaves its random data there).
	want=$({ yes "DEVISOR-DISK-WRITE $VFIO_TOKEN" || :; } | head -c 1048576 | md5sum | cut -d' ' -f1)
	sum=$(dd if="$VFIO_IMG" bs=1048576 skip=4 count=1 status=none | md5sum | cut -d' ' -f1)
	if [[ $sum == "$want" ]]; then
		pass "$name/vfio-persist"
	else
		fail "$name/vfio-persist" "the image's MiB at 4: md5 $sum, want $want"
	fi
	if [[ $name == "$vf_last" ]]; then
		want=$(marker "$clog" nvme-random-md5)
		sum=$(dd if="$VFIO_IMG" bs=1048576 skip=12 count=4 status=none | md5sum | cut -d' ' -f1)
		if [[ -n $want && $sum == "$want" ]]; then
			pass "$name/vfio-random-persist"
		else
			fail "$name/vfio-random-persist" "the image at 12 MiB: md5 $sum, want ${want:-none}"
		fi
	fi
}
vf_checks

# The errors a user can make (l2-steps/vfio.sh ran them in L2 before the
# cases): each refused with its own message and a failure status.
vf_errors() {
	local k v want
	for k in "nodev:no such PCI device" \
		"bound:0000:00:06.0 is bound to virtio-pci, not to vfio-pci: modprobe vfio-pci; echo vfio-pci > /sys/bus/pci/devices/0000:00:06.0/driver_override" \
		"group:IOMMU group [0-9]+ of 0000:00:06.1 is not viable: 0000:00:06.0 \(virtio-pci\) is still bound to a host driver"; do
		want=${k#*:}
		v=$(sed -n "s/.*DEVISOR-L2 vfio-error-${k%%:*}=//p" "$console.txt" | tail -n1)
		if [[ $v =~ ^status=[1-9] && $v =~ $want ]]; then
			pass "$name/vfio-error-${k%%:*}"
		else
			fail "$name/vfio-error-${k%%:*}" "${v:-no result}; want a failure status and /$want/ ($(sed -n 's/.*DEVISOR-L2 vfio-group-drivers=//p' "$console.txt" | tail -n1))"
		fi
	done
}
if [[ $name == vfio ]]; then
	vf_errors
	# shellcheck source=SCRIPTDIR/_api.sh
	. "$NESTED_DIR/checks/_api.sh"
	ap_plug_checks 256 nvme0n1
fi
