# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# nvme-iommu: the nvme case behind --iommu vtd, L3 booted with
# intel_iommu=on: the controller's queues, PRPs and PRP lists all go
# through the DMA-remapping unit, and the same I/O lands in the image.
# shellcheck source=SCRIPTDIR/nvme.sh
. "$NESTED_DIR/checks/nvme.sh"
# shellcheck source=SCRIPTDIR/_vtd.sh
. "$NESTED_DIR/checks/_vtd.sh"
vtd_nvme_checks nvme-iommu-group
