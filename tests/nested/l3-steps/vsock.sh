# shellcheck shell=sh disable=SC2154 # l3_out: set by l3_run (l3-init)
# L3 step (sourced by l3-init): virtio-vsock with the kernel's
# vmw_vsock_virtio_transport, against devisor's --vsock socket=PATH in L2
# (l2-bin/vsock-vm runs the host ends). Does nothing unless the kernel
# command line has "devisor.vsock=TOKEN"; then reports, for
# tests/nested/checks/vsock.sh:
#   vsock-dev=        /dev/vsock present, and the driver bound to the device
#   vsock-g2h=        guest-initiated: vsock-test g-connect to the host (CID
#                     2) port 5000, "TOKEN-g2h" and 16 MiB echoed by L2's
#                     vsock-test h-serve on PATH_5000
#   vsock-drop=       vsock-test g-drop to port 5002, whose host end
#                     (h-drop) closes after 64 KiB: an error, not a hang
#   vsock-h2g=        host-initiated: what our vsock-test g-listen on port
#                     5001 said after L2's h-connect sent its stream
# Every step has a time limit.
vs_tok=
# shellcheck disable=SC2013 # words, not lines
for vs_w in $(cat /proc/cmdline); do
	case $vs_w in
	devisor.vsock=*) vs_tok=${vs_w#*=} ;;
	esac
done

if [ -n "$vs_tok" ]; then
	vs_drv=none
	for vs_d in /sys/bus/virtio/devices/*; do
		[ "$(cat "$vs_d/device" 2>/dev/null)" = 0x0013 ] || continue
		[ -e "$vs_d/driver" ] && vs_drv=$(basename "$(readlink "$vs_d/driver")")
	done
	vs_node=no
	[ -e /dev/vsock ] && vs_node=yes
	m "vsock-dev=node=$vs_node driver=$vs_drv"
	# The host's connection comes in while we connect out.
	/bin/vsock-test g-listen 5001 90 > /tmp/vsock-listen.out 2>&1 &
	vs_lp=$!
	if l3_run 90 /bin/vsock-test g-connect 5000 16777216 "$vs_tok-g2h" 90; then
		m "vsock-g2h=$l3_out"
	else
		m "vsock-g2h=${l3_out:-fail} $(l3_err)"
	fi
	if l3_run 60 /bin/vsock-test g-drop 5002 30; then
		m "vsock-drop=$l3_out"
	else
		m "vsock-drop=${l3_out:-fail} $(l3_err)"
	fi
	vs_i=0
	while kill -0 "$vs_lp" 2>/dev/null && [ "$vs_i" -lt 180 ]; do
		sleep 0.5
		vs_i=$((vs_i + 1))
	done
	kill "$vs_lp" 2>/dev/null
	m "vsock-h2g=$(head -c 200 /tmp/vsock-listen.out | tr '\n' ' ')"
fi
