# shellcheck shell=sh
# L2 step: hand the passthrough fixture's NVMe controller (tests/nested/run
# puts it at VFIO_ADDR behind L2's IOMMU) from L2's nvme driver to
# vfio-pci, for the vfio-* cases.
VFIO_ADDR=${VFIO_ADDR:-0000:00:05.0}
export VFIO_ADDR
vfio_dev=/sys/bus/pci/devices/$VFIO_ADDR
if [ -e "$vfio_dev" ]; then
	[ -e "$vfio_dev/driver" ] && echo "$VFIO_ADDR" > "$vfio_dev/driver/unbind"
	echo vfio-pci > "$vfio_dev/driver_override"
	echo "$VFIO_ADDR" > /sys/bus/pci/drivers_probe
	vfio_group=$(basename "$(readlink "$vfio_dev/iommu_group")")
	vfio_i=0
	while [ ! -c "/dev/vfio/$vfio_group" ] && [ "$vfio_i" -lt 50 ]; do
		sleep 0.1
		vfio_i=$((vfio_i + 1))
	done
	m "vfio-bind=$(basename "$(readlink "$vfio_dev/driver")") group=$vfio_group dev=$(ls /dev/vfio | tr '\n' ' ')"
else
	m "vfio-bind=none"
fi

# The interactive demo needs none of what follows.
if ! grep -qw devisor.interactive /proc/cmdline; then
# What a user can get wrong, each refused before any guest runs: the
# status and devisor's first error line, for checks/vfio.sh. (Should one
# start a guest after all, it ends at once: no initrd, panic=-1.)
vfio_err() { # NAME SYSFS-PATH
	vfio_out=$(timeout 30 devisor run --kernel /l3/vmlinuz --memory 64M \
		--cmdline "console=ttyS0 panic=-1" --on-reset exit \
		--device "path=$2" 2>&1 < /dev/null)
	m "vfio-error-$1=status=$? $(echo "$vfio_out" | grep -m1 'error')"
}
vfio_drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
vfio_err nodev /sys/bus/pci/devices/0000:00:1e.0
# 06.0 and 06.1 (virtio-rng, one slot, one IOMMU group) on virtio-pci.
vfio_err bound /sys/bus/pci/devices/0000:00:06.0
# 06.1 handed to vfio-pci alone: 06.0 keeps the group from being viable.
vfio_sm=0000:00:06.1
[ -e "/sys/bus/pci/devices/$vfio_sm/driver" ] && echo $vfio_sm > "/sys/bus/pci/devices/$vfio_sm/driver/unbind"
echo vfio-pci > "/sys/bus/pci/devices/$vfio_sm/driver_override"
echo $vfio_sm > /sys/bus/pci/drivers_probe
m "vfio-group-drivers=$(for d in /sys/bus/pci/devices/$vfio_sm/iommu_group/devices/*; do
	printf '%s:%s ' "${d##*/}" "$(vfio_drv "${d##*/}")"; done)"
vfio_err group /sys/bus/pci/devices/$vfio_sm
fi
