# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# viommu: --iommu virtio with virtio-blk and virtio-net on PCI, 2 vCPUs,
# Debian's 6.12 kernel as L3 (VIRTIO_IOMMU=m, ACPI_VIOT=y): the VIOT
# table, the virtio-iommu driver bound to devisor's device, every other
# virtio function in an IOMMU group with a translated (DMA or DMA-FQ)
# domain, no faults, and the disk and network I/O of the virtio cases
# through it (l3-steps/z-viommu.sh).
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
vc_virtio_device blk pci
vc_virtio_device net pci
vc_disk
vc_net

v=$(marker "$clog" viommu-viot)
if [[ $v == yes ]]; then pass "$name/viommu-viot"; else fail "$name/viommu-viot" "no VIOT table in L3's ACPI: viommu-viot=${v:-none}"; fi
v=$(marker "$clog" viommu-bound)
if [[ -n $v && $v != none ]]; then pass "$name/viommu-bound"; else fail "$name/viommu-bound" "no virtio device bound to virtio_iommu: $(grep -m3 -i -e 'viommu' -e 'virtio_iommu' "$clog" | tr '\n' ' ' || true)"; fi
v=$(marker "$clog" viommu-groups)
if [[ $v =~ ^([0-9]+)/([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 2 && BASH_REMATCH[1] == BASH_REMATCH[2])); then
	pass "$name/viommu-groups"
else
	fail "$name/viommu-groups" "viommu-groups=${v:-none}, want every virtio function (>= 2) in an IOMMU group"
fi
v=$(marker "$clog" viommu-group-types)
bad=
for t in ${v//,/ }; do
	[[ ${t##*:} == DMA || ${t##*:} == DMA-FQ ]] || bad+=" $t"
done
if [[ -n $v && $v != none && -z $bad ]]; then pass "$name/viommu-domain"; else fail "$name/viommu-domain" "viommu-group-types=${v:-none}, want DMA or DMA-FQ (translated) for all"; fi
v=$(marker "$clog" viommu-faults)
if [[ $v == 0 ]]; then pass "$name/viommu-no-faults"; else fail "$name/viommu-no-faults" "viommu-faults=${v:-none}"; fi
# devisor's side (-v): the driver's ATTACH requests for both functions,
# and MAPs whose IOVAs are not the guest physical addresses.
v=$(grep -o 'virtio-iommu: endpoint [0-9a-f:.]* attached to translated domain' "$clog" | sort -u | wc -l) || true
if ((v >= 2)); then pass "$name/viommu-attach"; else fail "$name/viommu-attach" "devisor logged $v endpoints attached to a translated domain, want >= 2"; fi
v=$(grep -m1 -o 'virtio-iommu: domain [0-9]*: first mapping iova 0x[0-9a-f]*-0x[0-9a-f]* -> gpa 0x[0-9a-f]*' "$clog" || true)
if [[ $v =~ iova\ (0x[0-9a-f]+)-.*gpa\ (0x[0-9a-f]+) && ${BASH_REMATCH[1]} != "${BASH_REMATCH[2]}" ]]; then
	pass "$name/viommu-map"
else
	fail "$name/viommu-map" "no MAP with iova != gpa in devisor's log: '${v:-none}'"
fi
log "case $name: $v"
log "case $name: virtio-iommu at $(marker "$clog" viommu-pci), units $(marker "$clog" viommu-units)"
# L2's NVMe controller passed through behind virtio-iommu: in a
# translated group, and the vfio case's I/O through L3's domain, which
# devisor mirrors into the VFIO container (checks/vfio.sh).
v=$(marker "$clog" viommu-nvme)
if [[ $v == DMA || $v == DMA-FQ ]]; then pass "$name/viommu-vfio-group"; else fail "$name/viommu-vfio-group" "viommu-nvme=${v:-none}, want DMA or DMA-FQ"; fi
# shellcheck source=SCRIPTDIR/vfio.sh
. "$NESTED_DIR/checks/vfio.sh"
