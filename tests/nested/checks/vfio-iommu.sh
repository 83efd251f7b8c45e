# shellcheck shell=bash disable=SC2154 # clog, name, pass, fail: the run's
# vfio-iommu: the vfio case behind devisor's --iommu vtd with L3's
# intel-iommu on: the real controller's DMA goes where L3's domain for it
# says, mirrored into the device's VFIO container; same I/O, same image.
# shellcheck source=SCRIPTDIR/vfio.sh
. "$NESTED_DIR/checks/vfio.sh"
# shellcheck source=SCRIPTDIR/_vtd.sh
. "$NESTED_DIR/checks/_vtd.sh"
vtd_nvme_checks vfio-iommu-group cm
# 256 MiB plugged (api-vm --plug-mem) and read into through L3's domain.
# shellcheck source=SCRIPTDIR/_api.sh
. "$NESTED_DIR/checks/_api.sh"
ap_plug_checks 256 nvme0n1
