# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# Checks of the VT-d cases (checks/iommu-*.sh), sourced by tests/nested/run
# inside its case loop: $name, $clog, pass, fail, marker and log are the
# run's. What L3 reports is described in tests/nested/l3-steps/vtd.sh;
# devisor runs with -v and says which tables the guest turned DMA
# remapping on with ("vtd: DMA remapping on, MODE tables at ...").

# vtd_checks MODE DOMAIN [MIN [IR]]: MODE is the tables the driver must
# use (scalable-mode or legacy), DOMAIN the type every virtio function's
# group must have (DMA-FQ for lazy invalidation, DMA for strict), MIN
# how many virtio functions the case has at least (default 3), IR "ir"
# when interrupt remapping is on (--iommu vtd), "no-ir" when it is off
# (vtd,intremap=off; the default).
vtd_checks() {
	local mode=$1 domain=$2 min=${3:-3} ir=${4:-no-ir} v faults t bad='' seen

	v=$(marker "$clog" vtd-dmar-table)
	if [[ $v == yes ]]; then pass "$name/vtd-dmar"; else fail "$name/vtd-dmar" "no DMAR table in L3's ACPI: vtd-dmar-table=${v:-none}"; fi

	v="$(marker "$clog" vtd-enabled) $(marker "$clog" vtd-vtd) $(marker "$clog" vtd-qi) $(marker "$clog" vtd-units)"
	if [[ $v == "yes yes yes dmar0" ]]; then
		pass "$name/vtd-driver"
	else
		fail "$name/vtd-driver" "enabled/initialised/queued-invalidation/units = $v, want yes yes yes dmar0"
	fi

	if [[ $ir == ir ]]; then
		vtd_ir_checks
	else
		# No interrupt remapping: no INTR_REMAP flag in the DMAR table.
		v=$(marker "$clog" vtd-ir-lines)
		if [[ $v == 0 ]]; then pass "$name/vtd-no-ir"; else fail "$name/vtd-no-ir" "vtd-ir-lines=${v:-none}, want 0"; fi
	fi

	seen=$(grep -o 'vtd: DMA remapping on, [a-z-]* tables' "$clog" | tail -n1 || true)
	if [[ $seen == "vtd: DMA remapping on, $mode tables" ]]; then
		pass "$name/vtd-mode"
	else
		fail "$name/vtd-mode" "devisor said '${seen:-nothing}', want '$mode' tables"
	fi

	v=$(marker "$clog" vtd-groups)
	if [[ $v =~ ^([0-9]+)/([0-9]+)$ ]] && ((BASH_REMATCH[1] >= min && BASH_REMATCH[1] == BASH_REMATCH[2])); then
		pass "$name/vtd-groups"
	else
		fail "$name/vtd-groups" "vtd-groups=${v:-none}, want every virtio function (>= $min) in an IOMMU group"
	fi

	v=$(marker "$clog" vtd-group-types)
	for t in ${v//,/ }; do
		[[ ${t##*:} == "$domain" ]] || bad+=" $t"
	done
	if [[ -n $v && $v != none && -z $bad ]]; then
		pass "$name/vtd-domain"
	else
		fail "$name/vtd-domain" "vtd-group-types=${v:-none}, want $domain for all"
	fi

	faults=$(marker "$clog" vtd-faults)
	if [[ $faults == 0 ]]; then
		pass "$name/vtd-no-faults"
	else
		fail "$name/vtd-no-faults" "vtd-faults=${faults:-none}: $(grep -m3 -e 'DMAR: \[' "$clog" | tr '\n' ' ' || true)"
	fi
	log "case $name: cap=$(marker "$clog" vtd-cap) ecap=$(marker "$clog" vtd-ecap)"
}

# Interrupt remapping on: Linux took it in x2APIC mode, and MSI(-X) and
# IOAPIC interrupts arrive through IRTEs (IR-* chips) and count up.
vtd_ir_checks() {
	local v

	v=$(marker "$clog" vtd-ir-x2apic)
	if [[ $v == yes ]]; then pass "$name/vtd-ir-x2apic"; else fail "$name/vtd-ir-x2apic" "no 'Enabled IRQ remapping in x2apic mode' in L3's dmesg: $(grep -m3 -e 'DMAR-IR' -e 'x2apic' "$clog" | tr '\n' ' ' || true)"; fi
	v=$(marker "$clog" vtd-ir-kinds)
	if [[ $v == *IR-PCI-MSI* && $v == *IR-IO-APIC* ]]; then pass "$name/vtd-ir-chips"; else fail "$name/vtd-ir-chips" "vtd-ir-kinds=${v:-none}, want IR-PCI-MSI(X) and IR-IO-APIC"; fi
	v=$(marker "$clog" vtd-ir-msi)
	if [[ $v =~ ^([0-9]+),([0-9]+)$ ]] && ((BASH_REMATCH[1] > 0 && BASH_REMATCH[2] > BASH_REMATCH[1])); then pass "$name/vtd-ir-msi-count"; else fail "$name/vtd-ir-msi-count" "vtd-ir-msi=${v:-none}, want A,B with 0 < A < B"; fi
	# Moving the serial port's interrupt rewrites its IRTE only: KVM's
	# route for the IOAPIC pin must follow (IEC invalidation), so the
	# interrupts go where it was moved.
	v=$(marker "$clog" vtd-ir-affinity-ioapic)
	if [[ $v =~ ^[0-9]+:([0-9]+)/([0-9]+):([0-9]+)/([0-9]+)$ ]] &&
		((BASH_REMATCH[1] > 0 && BASH_REMATCH[2] == 0 && BASH_REMATCH[3] == 0 && BASH_REMATCH[4] > 0)); then
		pass "$name/vtd-ir-affinity"
	else
		fail "$name/vtd-ir-affinity" "vtd-ir-affinity-ioapic=${v:-none}, want IRQ:N/0:0/M with N, M > 0 (CPU 0 only, then CPU 1 only)"
	fi
	# The same for the NIC's MSI-X vector: its message stays, the IRTE
	# changes.
	v=$(marker "$clog" vtd-ir-affinity-net)
	if [[ $v =~ ^[0-9]+:([0-9]+)/([0-9]+):([0-9]+)/([0-9]+)$ ]] &&
		((BASH_REMATCH[1] > 0 && BASH_REMATCH[2] == 0 && BASH_REMATCH[3] == 0 && BASH_REMATCH[4] > 0)); then
		pass "$name/vtd-ir-affinity-msi"
	else
		fail "$name/vtd-ir-affinity-msi" "vtd-ir-affinity-net=${v:-none}, want IRQ:N/0:0/M with N, M > 0 (CPU 0 only, then CPU 1 only)"
	fi
	log "case $name: vtd-ir-affinity-msi (disk)=$(marker "$clog" vtd-ir-affinity-msi)"
	v=$(marker "$clog" vtd-ir-ioapic)
	if [[ $v =~ ^([0-9]+),([0-9]+)$ ]] && ((BASH_REMATCH[1] > 0 && BASH_REMATCH[2] > BASH_REMATCH[1])); then pass "$name/vtd-ir-ioapic-count"; else fail "$name/vtd-ir-ioapic-count" "vtd-ir-ioapic=${v:-none}, want A,B with 0 < A < B"; fi
}

# vtd_nvme_checks GROUP [cm]: an NVMe controller behind the unit (an
# emulated one in nvme-iommu; a VFIO function in vfio-iommu and
# vfio-hotplug-vtd, which need caching mode (CAP bit 7) for their shadow:
# "cm"): in an IOMMU group (the check named GROUP), DMA remapping on
# without faults, its MSI-X through IRTEs (interrupt remapping on).
vtd_nvme_checks() {
	local group=$1 cm=${2:-} v seen

	v=$(marker "$clog" nvme-iommu-group)
	if [[ $v == yes ]]; then pass "$name/$group"; else fail "$name/$group" "nvme-iommu-group=${v:-none}, want yes"; fi
	seen=$(grep -o 'vtd: DMA remapping on, [a-z-]* tables' "$clog" | tail -n1 || true)
	if [[ -n $seen ]]; then pass "$name/vtd-on"; else fail "$name/vtd-on" "devisor never said the guest turned DMA remapping on"; fi
	v="$(marker "$clog" vtd-enabled) $(marker "$clog" vtd-faults)"
	if [[ $v == "yes 0" ]]; then pass "$name/vtd-driver"; else fail "$name/vtd-driver" "vtd-enabled, vtd-faults = $v, want yes 0"; fi
	if [[ $cm == cm ]]; then
		v=$(marker "$clog" vtd-cap)
		if [[ $v =~ ^[0-9a-f]+$ ]] && (((0x$v >> 7) & 1)); then pass "$name/vtd-caching-mode"; else fail "$name/vtd-caching-mode" "vtd-cap=${v:-none}, want CM (bit 7) set"; fi
	fi
	v="$(marker "$clog" vtd-ir-x2apic) $(marker "$clog" vtd-ir-kinds)"
	if [[ $v == "yes "*IR-PCI-MSI* ]]; then pass "$name/vtd-ir"; else fail "$name/vtd-ir" "vtd-ir-x2apic, vtd-ir-kinds = ${v:-none}, want yes and IR-PCI-MSI"; fi
}
