# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# cpuhp-612: ACPI CPU hotplug under Debian's 6.12 kernel (its reworked x86
# topology code), the VM from the command line (--cpus boot=1,max=2):
# vm.resize plugs vCPU 1, L3 onlines it and runs a task there, and takes
# it back through the guest's eject; vm.shutdown then ends devisor.
# shellcheck source=SCRIPTDIR/_api.sh
. "$NESTED_DIR/checks/_api.sh"
ap_resize_checks 1 2
ap_want shutdown api-c-shutdown '204*' "204"
ap_want exit-0 api-exit 0 "0 after vm.shutdown"
