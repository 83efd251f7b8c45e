# shellcheck shell=bash disable=SC2154 # clog, name, pass, fail: the run's
# vfio-hotplug-viommu: vfio-hotplug behind --iommu virtio: the function
# added by vm.add-device, L3's nvme driver binding it in a translated
# domain of devisor's virtio-iommu, and the vfio case's I/O through it.
# shellcheck source=SCRIPTDIR/vfio-hotplug.sh
. "$NESTED_DIR/checks/vfio-hotplug.sh"
v=$(marker "$clog" viommu-nvme)
if [[ $v == DMA || $v == DMA-FQ ]]; then pass "$name/viommu-vfio-group"; else fail "$name/viommu-vfio-group" "viommu-nvme=${v:-none}, want DMA or DMA-FQ"; fi
v=$(grep -o 'virtio-iommu: endpoint [0-9a-f:.]* attached to translated domain' "$clog" | sort -u | wc -l) || true
if ((v >= 1)); then pass "$name/viommu-attach"; else fail "$name/viommu-attach" "devisor logged no endpoint attached to a translated domain"; fi
