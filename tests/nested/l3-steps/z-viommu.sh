# shellcheck shell=sh
# L3 step (sourced by l3-init; "z-" so it runs after virtio.sh's I/O):
# what Linux's virtio-iommu driver made of devisor's virtio-iommu
# (--iommu virtio, the 6.12 kernel). Does nothing unless the kernel
# command line has "devisor.viommu"; then reports:
#   viommu-viot=     yes if ACPI listed a VIOT table
#   viommu-bound=    the virtio devices bound to virtio_iommu (e.g. virtio2)
#   viommu-pci=      the IOMMU's PCI function (vendor 1af4, device 1057)
#   viommu-units=    /sys/class/iommu entries
#   viommu-groups=N/M  the other virtio PCI functions with an iommu_group
#                    / all of them
#   viommu-group-types=  the domain type of each of their groups
#   viommu-nvme=     the domain type of a passed-through NVMe controller's
#                    group (none: no such controller)
#   viommu-faults=   dmesg lines of faults the driver reported
# and copies the driver's dmesg lines as "DEVISOR-L3-LOG dmesg: ...".

vi_report() {
	vi_dmesg=$(dmesg 2>/dev/null)
	if [ -e /sys/firmware/acpi/tables/VIOT ]; then m "viommu-viot=yes"; else m "viommu-viot=no"; fi
	vi_b=
	for vi_d in /sys/bus/virtio/drivers/virtio_iommu/virtio*; do
		[ -e "$vi_d" ] && vi_b="$vi_b${vi_b:+,}${vi_d##*/}"
	done
	m "viommu-bound=${vi_b:-none}"
	vi_u=
	for vi_d in /sys/class/iommu/*; do
		[ -e "$vi_d" ] && vi_u="$vi_u${vi_u:+,}${vi_d##*/}"
	done
	m "viommu-units=${vi_u:-none}"
	vi_all=0
	vi_grouped=0
	vi_types=
	vi_pci=
	for vi_d in /sys/bus/pci/devices/*; do
		[ "$(cat "$vi_d/vendor" 2>/dev/null)" = 0x1af4 ] || continue
		if [ "$(cat "$vi_d/device" 2>/dev/null)" = 0x1057 ]; then
			vi_pci=${vi_d##*/}
			continue
		fi
		vi_all=$((vi_all + 1))
		[ -e "$vi_d/iommu_group" ] || continue
		vi_grouped=$((vi_grouped + 1))
		vi_t=$(cat "$vi_d/iommu_group/type" 2>/dev/null || echo unknown)
		vi_types="$vi_types${vi_types:+,}${vi_d##*/}:$vi_t"
	done
	# A passed-through NVMe controller (class 0x010802) behind it.
	vi_nvme=none
	for vi_d in /sys/bus/pci/devices/*; do
		[ "$(cat "$vi_d/class" 2>/dev/null)" = 0x010802 ] || continue
		vi_nvme=$(cat "$vi_d/iommu_group/type" 2>/dev/null || echo no-group)
	done
	m "viommu-nvme=$vi_nvme"
	m "viommu-pci=${vi_pci:-none}"
	m "viommu-groups=$vi_grouped/$vi_all"
	m "viommu-group-types=${vi_types:-none}"
	m "viommu-faults=$(printf '%s\n' "$vi_dmesg" | grep -ci -e 'virtio_iommu.*fault' -e 'viommu.*fault')"
	printf '%s\n' "$vi_dmesg" | grep -i -e 'viommu' -e 'virtio_iommu' -e 'virtio-iommu' -e 'VIOT' -e 'iommu' | head -n 40 |
		sed 's/^/DEVISOR-L3-LOG dmesg: /'
}

if grep -qw devisor.viommu /proc/cmdline; then
	vi_report
fi
