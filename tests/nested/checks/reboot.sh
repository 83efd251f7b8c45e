# shellcheck shell=bash
# reboot: L3 rebooted once (reboot -f, the ACPI reset register) and came
# back in a new VM with what it wrote on its disk (l3-steps/reboot.sh).
if grep -q 'DEVISOR-L3 reboot=first' "$clog" && grep -q 'DEVISOR-L3 reboot=second' "$clog"; then
	pass "$name/rebooted"
else
	fail "$name/rebooted" "markers: $(grep -o 'DEVISOR-L3 reboot=[a-z-]*' "$clog" | tr '\n' ' ')"
fi
if grep -q 'requested reset.*: rebooting' "$clog"; then
	pass "$name/devisor-rebooting"
else
	fail "$name/devisor-rebooting" "no 'guest requested reset ...: rebooting' from devisor"
fi
