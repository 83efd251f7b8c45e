# shellcheck shell=bash disable=SC2154 # clog, name and cmd are the run's
# Platform checks for every case, called by tests/nested/run inside its case
# loop ($name, $cmd, $clog, pass, fail, log and marker are the run's). What
# L3 reports is described in tests/nested/l3-steps/platform.sh. devisor's
# cases are judged; a peer's (QEMU) facts are only logged: its machines differ
# (microvm, for one, has hardware-reduced ACPI and so no PM timer).

pc_platform() {
	local tsc apic dmi smb cs cur serial uuid want_serial want_uuid spec
	tsc=$(marker "$clog" tsc-deadline)
	apic=$(marker "$clog" apic-timer)
	dmi=$(marker "$clog" dmi)
	smb=$(marker "$clog" smbios)
	cs=$(marker "$clog" clocksources)
	cur=$(marker "$clog" clocksource)
	serial=$(marker "$clog" product-serial)
	uuid=$(marker "$clog" product-uuid)
	log "case $name: tsc-deadline=${tsc:-none} apic-timer=${apic:-none} smbios=${smb:-none} dmi=${dmi:-none} clocksources=${cs:-none} (current ${cur:-none})"
	[[ $cmd == *"devisor run"* ]] || return 0

	if [[ $tsc == yes && $apic == ok ]]; then
		pass "$name/tsc-deadline"
	else
		fail "$name/tsc-deadline" "tsc-deadline=${tsc:-none} apic-timer=${apic:-none}, want yes and ok"
	fi

	if [[ $dmi == "devisor devisor VM, BIOS "* && $smb == 3.0.0 ]]; then
		pass "$name/dmi"
	else
		fail "$name/dmi" "dmi=${dmi:-none} smbios=${smb:-none}, want 'devisor devisor VM, BIOS ...' from SMBIOS 3.0.0"
	fi

	# With acpi=off Linux never reads the FADT, so it has no PM timer.
	if [[ $cmd == *acpi=off* ]]; then
		log "case $name: acpi=off, so no acpi_pm clocksource to check"
	elif [[ " $cs " == *" acpi_pm "* ]]; then
		pass "$name/acpi-pm-timer"
	else
		fail "$name/acpi-pm-timer" "clocksources=${cs:-none}, want acpi_pm among them"
	fi

	# --platform serial=S,uuid=U comes back in sysfs; by default serial 0
	# and no UUID (Linux does not publish the nil UUID).
	want_serial=0 want_uuid=none
	if [[ $cmd =~ --platform[=\ ]([^ \"]+) ]]; then
		spec=,${BASH_REMATCH[1]},
		[[ $spec =~ ,serial=([^,]*), ]] && want_serial=${BASH_REMATCH[1]}
		[[ $spec =~ ,uuid=([^,]*), ]] && want_uuid=${BASH_REMATCH[1],,}
	fi
	if [[ $serial == "$want_serial" && $uuid == "$want_uuid" ]]; then
		pass "$name/smbios-identity"
	else
		fail "$name/smbios-identity" "product-serial=${serial:-none} product-uuid=${uuid:-none}, want $want_serial and $want_uuid"
	fi
}
