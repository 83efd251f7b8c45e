# shellcheck shell=sh
# L3 step (sourced by l3-init): what Linux found of the platform, in every
# case; tests/nested/checks/_platform.sh judges it. L3 boots with "quiet",
# but dmesg keeps every line:
#   tsc-deadline=     yes if "TSC deadline timer available", else no
#   apic-timer=       "disabled" if "APIC timer disabled ...", else ok
#   dmi=              the "DMI:" line (sys vendor, product, BIOS), or none
#   smbios=           the "SMBIOS x.y.z present." version, or none
#   clocksources=     available_clocksource (acpi_pm is the PM timer)
#   clocksource=      current_clocksource
#   product-serial=   /sys/class/dmi/id/product_serial, or none
#   product-uuid=     /sys/class/dmi/id/product_uuid (Linux leaves it out
#                     for the nil UUID), or none

pf_dmesg=$(dmesg 2>/dev/null)
pf_has() { printf '%s\n' "$pf_dmesg" | grep -q "$1"; }
pf_sys() { cat "$1" 2>/dev/null || echo none; }

if pf_has 'TSC deadline timer available'; then m "tsc-deadline=yes"; else m "tsc-deadline=no"; fi
if pf_has 'APIC timer disabled'; then m "apic-timer=disabled"; else m "apic-timer=ok"; fi
pf_v=$(printf '%s\n' "$pf_dmesg" | sed -n 's/^.*\] DMI: //p' | head -n 1)
m "dmi=${pf_v:-none}"
pf_v=$(printf '%s\n' "$pf_dmesg" | sed -n 's/^.*\] SMBIOS \([0-9.]*\) present.*/\1/p' | head -n 1)
m "smbios=${pf_v:-none}"
m "clocksources=$(pf_sys /sys/devices/system/clocksource/clocksource0/available_clocksource)"
m "clocksource=$(pf_sys /sys/devices/system/clocksource/clocksource0/current_clocksource)"
m "product-serial=$(pf_sys /sys/class/dmi/id/product_serial)"
m "product-uuid=$(pf_sys /sys/class/dmi/id/product_uuid)"
