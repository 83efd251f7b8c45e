# shellcheck shell=sh
# L3 step (sourced by l3-init): with "devisor.balloon" on the command
# line, the guest side of the balloon case (checks/balloon.sh):
#   balloon-bound=     the virtio device virtio_balloon drives, or none
#   balloon-features=  its negotiated feature bits (bit 5: page reporting)
#   balloon-filled     256 MiB of /tmp written (host memory behind it);
#                      with devisor.balloon=nofill, nothing written
#   balloon-settled    that memory freed and 6 s passed (Linux reports
#                      free blocks 2 s after they gather; 4 s, nofill)
# While holding (l3-init), balloon-memtotal=KB down|back as MemTotal
# moves with the balloon (it takes its pages out of MemTotal).
if grep -qw devisor.balloon /proc/cmdline; then
	bl_dev=none
	for bl_d in /sys/bus/virtio/drivers/virtio_balloon/virtio*; do
		[ -e "$bl_d" ] && bl_dev=${bl_d##*/}
	done
	m "balloon-bound=$bl_dev"
	[ "$bl_dev" != none ] &&
		m "balloon-features=$(cat "/sys/bus/virtio/devices/$bl_dev/features")"
	if grep -qw devisor.balloon=nofill /proc/cmdline; then
		# Reports of what was free from boot on only.
		m "balloon-filled nofill"
		sleep 4
	else
		dd if=/dev/zero of=/tmp/balloon-fill bs=1M count=256 2>/dev/null
		m "balloon-filled memfree=$(awk '/^MemFree/ { print $2 }' /proc/meminfo)"
		sleep 2
		rm -f /tmp/balloon-fill
		m "balloon-freed memfree=$(awk '/^MemFree/ { print $2 }' /proc/meminfo)"
		sleep 6
	fi
	m "balloon-settled"
fi
