# shellcheck shell=bash
# Where guests can run on this host: sourced by scripts/test, scripts/demo
# and bench/. Each function sets VENUE (host or l2) and VENUE_WHY (one
# line saying why). "l2" means inside the nested harness: QEMU TCG with
# emulated SVM boots an L2 Linux with a real KVM (tests/nested/README.md).
# DEVISOR_VENUE=host|l2 overrides the choice (to test both paths).

_venue_override() {
	case ${DEVISOR_VENUE:-auto} in
	host | l2)
		VENUE=$DEVISOR_VENUE
		VENUE_WHY="DEVISOR_VENUE=$DEVISOR_VENUE is set"
		return 0
		;;
	auto) return 1 ;;
	*)
		echo "venue: DEVISOR_VENUE must be host, l2 or auto, not '$DEVISOR_VENUE'" >&2
		exit 2
		;;
	esac
}

# _venue_no_kvm: sets VENUE=l2 and returns 0 when /dev/kvm cannot be used
# at all.
_venue_no_kvm() {
	if [ ! -e /dev/kvm ]; then
		VENUE=l2
		VENUE_WHY="this host has no /dev/kvm"
		if [ -d /sys/module/kvm_pvm ]; then
			VENUE_WHY+=" (kvm_pvm is loaded but did not bind: the host is itself a PVM guest)"
		fi
		return 0
	fi
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		VENUE=l2
		VENUE_WHY="/dev/kvm exists but $(id -un) cannot open it for reading and writing"
		return 0
	fi
	return 1
}

# The small CPL3 test guests (tests/guest): run on the host's KVM when it
# boots the hello guest, a PVM /dev/kvm included.
# venue_for_guests BUILD_DIR
venue_for_guests() {
	local build=$1 out st=0
	_venue_override && return
	_venue_no_kvm && return
	# "|| st=": under set -e (bench/run) a bare assignment of a failing
	# substitution ends the caller, and hello's pass is status 33.
	out=$(timeout -k 5 30 "$build/devisor" run --kernel "$build/guests/hello.bin" \
		</dev/null 2>&1) || st=$?
	if [ "$st" = 33 ]; then
		VENUE=host
		VENUE_WHY="the host's /dev/kvm runs the hello test guest"
	else
		VENUE=l2
		VENUE_WHY="the host's /dev/kvm cannot run the hello test guest (status $st: $(printf '%s\n' "$out" | grep -m1 'error' || printf '%s\n' "$out" | tail -n 1))"
	fi
}

# An unmodified Linux kernel: needs a hardware-backed KVM (VMX or SVM). A
# PVM /dev/kvm emulates every CPL0 instruction and cannot boot one.
venue_for_linux() {
	_venue_override && return
	_venue_no_kvm && return
	if ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
		VENUE=l2
		VENUE_WHY="the host's /dev/kvm is not hardware-backed (no vmx/svm CPU flag; PVM emulates guest kernel code ~5000x slower)"
		return
	fi
	VENUE=host
	VENUE_WHY="the host's /dev/kvm is hardware-backed"
}
