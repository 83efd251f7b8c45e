# shellcheck shell=bash
# virtio-mmio-cmdline: acpi=off, the disk's virtio-mmio window announced
# on the kernel command line; L3 ends with a reset (l3-init: reboot -f).
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
vc_mmio_cmdline
