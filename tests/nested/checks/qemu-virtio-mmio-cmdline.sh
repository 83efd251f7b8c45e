# shellcheck shell=bash
# QEMU's peer of virtio-mmio-cmdline: microvm with acpi=off adds
# virtio_mmio.device= itself (auto-kernel-cmdline); the same checks.
# shellcheck source=SCRIPTDIR/_virtio.sh
. "$NESTED_DIR/checks/_virtio.sh"
vc_mmio_cmdline
