# shellcheck shell=bash
# vfio-intx: the vfio case with L3 booted pci=nomsi: the device's INTx
# through VFIO and KVM's resample irqfd; its ROM hidden (rom=off).
vf_irq=intx vf_rom=none
# shellcheck source=checks/vfio.sh
. "$NESTED_DIR/checks/vfio.sh"
vf_irq=msix vf_rom=
