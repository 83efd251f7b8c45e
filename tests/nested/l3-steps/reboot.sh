# shellcheck shell=sh
# L3 step (sourced by l3-init): a reboot that the VMM must carry out.
# Does nothing unless the kernel command line has "devisor.reboot=TOKEN".
# On the first boot the virtio disk (/dev/vda) has no "REBOOTED-TOKEN" at
# 12 MiB: write it (fsync), print reboot=first and reboot with `reboot -f`
# (an ACPI reset through the FADT's reset register). devisor boots a new
# VM from the same options; on that boot the marker is there: print
# reboot=second and go on to "done" and power-off.
for rb_w in $(cat /proc/cmdline); do
	case $rb_w in
	devisor.reboot=*) rb_tok=${rb_w#*=} ;;
	esac
done
if [ -n "${rb_tok:-}" ]; then
	rb_got=$(dd if=/dev/vda bs=1048576 skip=12 count=1 2>/dev/null | head -c 64 | tr -d '\0')
	if [ "$rb_got" = "REBOOTED-$rb_tok" ]; then
		m "reboot=second"
	elif [ -b /dev/vda ]; then
		printf 'REBOOTED-%s' "$rb_tok" |
			dd of=/dev/vda bs=1048576 seek=12 conv=notrunc,fsync 2>/dev/null
		sync
		m "reboot=first"
		reboot -f
		sleep 30
		m "reboot=not-carried-out"
	else
		m "reboot=no-disk"
	fi
fi
