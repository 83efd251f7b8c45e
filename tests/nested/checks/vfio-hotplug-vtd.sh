# shellcheck shell=bash disable=SC2154 # clog, name, pass, fail: the run's
# vfio-hotplug-vtd: vfio-hotplug behind --iommu vtd,caching_mode=on: the
# function added by vm.add-device, L3's intel-iommu putting it in a
# translated domain whose tables its VFIO shadow follows, and the vfio
# case's I/O through it.
# shellcheck source=SCRIPTDIR/vfio-hotplug.sh
. "$NESTED_DIR/checks/vfio-hotplug.sh"
# shellcheck source=SCRIPTDIR/_vtd.sh
. "$NESTED_DIR/checks/_vtd.sh"
vtd_nvme_checks vfio-iommu-group cm
