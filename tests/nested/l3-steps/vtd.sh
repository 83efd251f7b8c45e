# shellcheck shell=sh
# L3 step (sourced by l3-init, after virtio.sh: name order): what Linux's
# intel-iommu driver made of devisor's VT-d unit (--iommu vtd). Does
# nothing unless the kernel command line has "devisor.vtd"; then reports,
# once the virtio steps have done their I/O through the unit:
#   vtd-dmar-table=   yes if ACPI listed a DMAR table
#   vtd-enabled=      yes if "DMAR: IOMMU enabled" (intel_iommu=on taken)
#   vtd-vtd=          yes if "Intel(R) Virtualization Technology for
#                     Directed I/O" (the driver finished its init)
#   vtd-qi=           yes if the unit uses queued invalidation
#   vtd-ir-lines=     dmesg lines with "DMAR-IR" (interrupt remapping)
#   vtd-ir-x2apic=    yes if "Enabled IRQ remapping in x2apic mode"
#   vtd-ir-msi=A,B    interrupts counted on IR-PCI-MSI(X) lines of
#                     /proc/interrupts before (A) and after (B) reading
#                     8 MiB from the first virtio disk uncached
#   vtd-ir-ioapic=A,B the same for IR-IO-APIC lines, around console output
#   vtd-ir-kinds=     the IR-* chip names /proc/interrupts lists
#   vtd-ir-affinity-ioapic=IRQ:A0/B0:A1/B1  the serial port's interrupt
#                     moved to CPU 0, then to CPU 1 (Linux rewrites the
#                     IRTE and invalidates the interrupt entry cache; the
#                     IOAPIC entry stays): how many interrupts CPU 0 and
#                     CPU 1 took during console output after each move
#   vtd-ir-affinity-net=  the same for the virtio NIC's receive queue
#                     around a download of L2's 16 MiB blob
#   vtd-ir-affinity-msi=  the same for the virtio disk's request queue
#                     around 8 MiB of reads ("none" if Linux manages its
#                     affinity itself and refuses the move)
#   vtd-units=        /sys/class/iommu entries, e.g. dmar0
#   vtd-cap=, vtd-ecap=  the unit's registers as the driver read them
#   vtd-groups=N/M    virtio PCI functions with an iommu_group / all
#   vtd-group-types=  the domain type of each of their groups (DMA-FQ:
#                     lazy invalidation, DMA: strict, identity: bypass)
#   vtd-faults=       dmesg lines of DMA remapping faults
#   vtd-strict=       iommu.strict on the command line (1) or not (0)
# and copies the driver's dmesg lines as "DEVISOR-L3-LOG dmesg: ..." for
# whoever reads the case log.

vd_dmesg=$(dmesg 2>/dev/null)
vd_has() { printf '%s\n' "$vd_dmesg" | grep -q "$1"; }
vd_yes() { if vd_has "$1"; then echo yes; else echo no; fi; }

# The interrupts counted on /proc/interrupts lines whose chip matches $1.
vd_irqs() {
	awk -v pat="$1" '$0 ~ pat {
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i
	} END { print n + 0 }' /proc/interrupts 2>/dev/null || echo 0
}

# One CPU's count of IRQ $1 ($2: 0 or 1).
vd_cpu_irqs() {
	awk -v i="$1:" -v c="$2" '$1 == i { print $(2 + c); exit }' /proc/interrupts
}

vd_read_disk() {
	echo 3 > /proc/sys/vm/drop_caches 2>/dev/null
	[ -n "$vd_dev" ] && dd if="/dev/$vd_dev" of=/dev/null bs=65536 count=128 2>/dev/null
}

# vd_ir_move NAME IRQ CMD: move IRQ to CPU 0, run CMD, then to CPU 1 and
# run CMD again; reports NAME=IRQ:A0/B0:A1/B1 (CPU 0's and CPU 1's
# interrupts during each run).
vd_ir_move() {
	if [ -z "$2" ] || ! echo 3 > "/proc/irq/$2/smp_affinity" 2>/dev/null; then
		m "$1=none"
		return
	fi
	vd_out=$2
	for vd_mask in 1 2; do
		echo "$vd_mask" > "/proc/irq/$2/smp_affinity" 2>/dev/null
		vd_c0=$(vd_cpu_irqs "$2" 0)
		vd_c1=$(vd_cpu_irqs "$2" 1)
		$3
		vd_out="$vd_out:$(($(vd_cpu_irqs "$2" 0) - vd_c0))/$(($(vd_cpu_irqs "$2" 1) - vd_c1))"
	done
	m "$1=$vd_out"
}

vd_console_lines() {
	for vd_i in 1 2 3 4; do
		m "vtd-ir-move-line=$vd_i of 4 ........................................................................"
	done
	sleep 1
}

vd_download() {
	wget -q -O /dev/null http://10.0.2.2:8080/blob 2>/dev/null
}

vd_ir_affinity() {
	# The serial port's IOAPIC pin (IR-IO-APIC; not a managed interrupt).
	vd_ir_move vtd-ir-affinity-ioapic \
		"$(awk '/IR-IO-APIC/ && /ttyS0/ { sub(":", "", $1); print $1; exit }' /proc/interrupts)" \
		vd_console_lines
	# The NIC's receive queue (IR-PCI-MSI) around a download from L2.
	vd_ir_move vtd-ir-affinity-net \
		"$(awk '/IR-PCI-MSI/ && /virtio.*-input\.0/ { sub(":", "", $1); print $1; exit }' /proc/interrupts)" \
		vd_download
	# The disk's request queue (IR-PCI-MSI), if Linux lets it move.
	vd_ir_move vtd-ir-affinity-msi \
		"$(awk '/IR-PCI-MSI/ && /virtio.*-req\.0/ { sub(":", "", $1); print $1; exit }' /proc/interrupts)" \
		vd_read_disk
}

vd_ir_report() {
	vd_a=$(vd_irqs 'IR-PCI-MSI')
	vd_dev=
	for vd_b in /sys/block/vd*; do
		[ -e "$vd_b" ] && vd_dev=${vd_b##*/} && break
	done
	echo 3 > /proc/sys/vm/drop_caches 2>/dev/null
	[ -n "$vd_dev" ] && dd if="/dev/$vd_dev" of=/dev/null bs=65536 count=128 2>/dev/null
	m "vtd-ir-msi=$vd_a,$(vd_irqs 'IR-PCI-MSI')"
	vd_a=$(vd_irqs 'IR-IO-APIC')
	for vd_i in 1 2 3 4 5 6 7 8; do
		m "vtd-ir-console-line=$vd_i of 8, for the serial port's interrupts ................................................"
	done
	sleep 1
	m "vtd-ir-ioapic=$vd_a,$(vd_irqs 'IR-IO-APIC')"
	m "vtd-ir-kinds=$(grep -o 'IR-[A-Z-]*' /proc/interrupts 2>/dev/null | sort -u | tr '\n' ' ')"
	vd_ir_affinity
	grep -e 'IR-' /proc/interrupts 2>/dev/null | head -n 20 | sed 's/^/DEVISOR-L3-LOG interrupts: /'
}

vd_report() {
	m "vtd-dmar-table=$(vd_yes 'ACPI: DMAR ')"
	m "vtd-enabled=$(vd_yes 'DMAR: IOMMU enabled')"
	m "vtd-vtd=$(vd_yes 'Intel(R) Virtualization Technology for Directed I/O')"
	m "vtd-qi=$(vd_yes 'Using Queued invalidation')"
	m "vtd-ir-lines=$(printf '%s\n' "$vd_dmesg" | grep -c 'DMAR-IR')"
	m "vtd-ir-x2apic=$(vd_yes 'Enabled IRQ remapping in x2apic mode')"
	vd_ir_report
	vd_units=
	for vd_u in /sys/class/iommu/*; do
		[ -e "$vd_u" ] && vd_units="$vd_units${vd_units:+,}${vd_u##*/}"
	done
	m "vtd-units=${vd_units:-none}"
	m "vtd-cap=$(cat /sys/class/iommu/dmar0/intel-iommu/cap 2>/dev/null || echo none)"
	m "vtd-ecap=$(cat /sys/class/iommu/dmar0/intel-iommu/ecap 2>/dev/null || echo none)"
	vd_all=0
	vd_grouped=0
	vd_types=
	for vd_d in /sys/bus/pci/devices/*; do
		[ "$(cat "$vd_d/vendor" 2>/dev/null)" = 0x1af4 ] || continue
		vd_all=$((vd_all + 1))
		[ -e "$vd_d/iommu_group" ] || continue
		vd_grouped=$((vd_grouped + 1))
		vd_t=$(cat "$vd_d/iommu_group/type" 2>/dev/null || echo unknown)
		vd_types="$vd_types${vd_types:+,}${vd_d##*/}:$vd_t"
	done
	m "vtd-groups=$vd_grouped/$vd_all"
	m "vtd-group-types=${vd_types:-none}"
	m "vtd-faults=$(printf '%s\n' "$vd_dmesg" | grep -c -e 'DMAR: \[DMA' -e 'DRHD: handling fault' -e 'DMAR: \[INTR')"
	case " $(cat /proc/cmdline) " in
	*" iommu.strict=1 "*) m "vtd-strict=1" ;;
	*) m "vtd-strict=0" ;;
	esac
	printf '%s\n' "$vd_dmesg" | grep -e 'DMAR' -e 'iommu' -e 'IOMMU' -e 'x2apic' -e 'IRQ remapping' | head -n 60 |
		sed 's/^/DEVISOR-L3-LOG dmesg: /'
}

if grep -qw devisor.vtd /proc/cmdline; then
	vd_report
fi
