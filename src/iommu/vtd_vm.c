// SPDX-License-Identifier: GPL-2.0
/*
 * The VT-d unit as a device of a VM: register page on the MMIO bus, event
 * interrupts to KVM, reset and teardown with the VM's devices, DMA spaces
 * for PCI functions, and its DMAR table.
 */
#include "iommu/vtd_vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/vtd.h"
#include "iommu/vtd_regs.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "util/log.h"

_Static_assert(sizeof(struct vtd_dmar_head) == 12, "DMAR head");
_Static_assert(sizeof(struct vtd_dmar_drhd) == 16, "DRHD");
_Static_assert(sizeof(struct vtd_dmar_scope) == 8, "device scope");

struct vtd_vm {
	struct device dev;
	struct vm *vm;
	struct vtd *vtd;
	uint64_t base;
	struct ram_watch ram; /* plugged RAM reaches pass-through domains */
};

static struct vtd_vm *to_vv(struct device *dev)
{
	return (struct vtd_vm *)((char *)dev - offsetof(struct vtd_vm, dev));
}

static uint64_t vv_read(void *opaque, uint64_t off, unsigned int size)
{
	struct vtd_vm *vv = opaque;

	return vtd_mmio_read(vv->vtd, off, size);
}

/*
 * KVM's MSI routes are the interrupt entries this unit's owner caches:
 * after a write that invalidated or replaced them, and outside the
 * unit's lock (computing a route takes it under vm->irq_lock).
 */
static void vv_ir_sync(struct vtd_vm *vv)
{
	if (vtd_ir_take_changed(vv->vtd))
		vm_msi_remap_changed(vv->vm);
}

static void vv_write(void *opaque, uint64_t off, uint64_t val,
		     unsigned int size)
{
	struct vtd_vm *vv = opaque;

	vtd_mmio_write(vv->vtd, off, val, size);
	vv_ir_sync(vv);
}

static const struct bus_ops vv_ops = {
	.read = vv_read,
	.write = vv_write,
};

/*
 * Under the unit's lock: a fault or invalidation completion event. Without
 * interrupt remapping the message is a plain (compatibility format) MSI.
 */
static void vv_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;

	vm_irq_ops(vm)->signal_msi(vm, IRQ_SID_NONE, addr, data);
}

/*
 * Under the unit's lock, after it invalidated the devices' DMA spaces
 * itself: nothing of ours holds translations beyond those (every device
 * translates per access, see docs/iommu.md), so this only traces.
 */
static void vv_invalidate(void *opaque, int sid, uint64_t iova, uint64_t len)
{
	if (sid == VTD_SID_ALL)
		pr_debug_ratelimited("vtd: invalidate all devices");
	else
		pr_debug_ratelimited("vtd: invalidate %02x:%02x.%u iova %#llx "
				     "len %#llx",
				     sid >> 8, (sid >> 3) & 0x1f, sid & 7,
				     (unsigned long long)iova,
				     (unsigned long long)len);
}

static const struct vtd_ops vv_vtd_ops = {
	.msi = vv_msi,
	.invalidate = vv_invalidate,
};

static void vv_reset(struct device *dev)
{
	vtd_reset(to_vv(dev)->vtd);
	vv_ir_sync(to_vv(dev));
}

static int vv_remap(void *opaque, int sid, uint64_t *addr, uint32_t *data,
		    bool record)
{
	return vtd_remap_msi(opaque, sid, addr, data, record);
}

void vtd_vm_set_intremap(struct vm *vm, struct vtd *vtd)
{
	vtd_set_intremap(vtd, true);
	vm_set_msi_remap(vm, vv_remap, vtd);
}

static void vv_destroy(struct device *dev)
{
	struct vtd_vm *vv = to_vv(dev);

	vm_ram_unlisten(vv->vm, &vv->ram.l);
	bus_unregister(&vv->vm->mmio, vv->base, vv);
	vm_set_msi_remap(vv->vm, NULL, NULL);
	vtd_destroy(vv->vtd);
	free(vv);
}

struct vtd *vtd_vm_create(struct vm *vm, uint64_t base)
{
	struct vtd_vm *vv = calloc(1, sizeof(*vv));
	int ret;

	if (!vv) {
		pr_err("vtd: out of memory");
		return NULL;
	}
	vv->vm = vm;
	vv->base = base;
	vv->vtd = vtd_create(&vm->mem, &vv_vtd_ops, vm);
	if (!vv->vtd) {
		pr_err("vtd: out of memory");
		free(vv);
		return NULL;
	}
	ret = bus_register(&vm->mmio, base, VTD_REG_SIZE, &vv_ops, vv, "vtd");
	if (ret) {
		pr_err("vtd: cannot claim %#llx-%#llx: %s",
		       (unsigned long long)base,
		       (unsigned long long)base + VTD_REG_SIZE - 1,
		       strerror(-ret));
		vtd_destroy(vv->vtd);
		free(vv);
		return NULL;
	}
	vv->dev = (struct device){ .name = "vtd",
				   .kind = DEV_PLATFORM,
				   .reset = vv_reset,
				   .destroy = vv_destroy };
	device_register(vm, &vv->dev);
	vm_ram_watch(vm, &vv->ram, vtd_ram_changed, vv->vtd);
	return vv->vtd;
}

int vtd_vm_pci_dma_init(void *vtd, struct dma_space *as, uint16_t sid)
{
	return vtd_dma_space_init(as, vtd, sid);
}

size_t vtd_dmar_build(void *body, size_t size, const struct vtd_dmar_config *c)
{
	struct vtd_dmar_head head = {
		.haw = VTD_DMAR_HAW - 1,
		/* Without it Linux keeps interrupt remapping off. */
		.flags = c->intremap ? VTD_DMAR_F_INTR_REMAP : 0,
	};
	struct vtd_dmar_scope ioapic = {
		.type = VTD_SCOPE_IOAPIC,
		.length = sizeof(ioapic),
		.enumeration_id = c->ioapic_id,
		.start_bus = c->ioapic_bus,
		.dev = c->ioapic_devfn >> 3,
		.fn = c->ioapic_devfn & 7,
	};
	struct vtd_dmar_drhd drhd = {
		.type = VTD_DMAR_TYPE_DRHD,
		.length = sizeof(drhd) + sizeof(ioapic),
		/* Every function of the segment: the only (so last) DRHD. */
		.flags = VTD_DRHD_F_INCLUDE_PCI_ALL,
		.size = 0, /* one 4 KiB page of registers */
		.segment = c->segment,
		.base = c->reg_base,
	};
	uint8_t *p = body;

	if (size < sizeof(head) + sizeof(drhd) + sizeof(ioapic))
		return 0;
	memcpy(p, &head, sizeof(head));
	memcpy(p + sizeof(head), &drhd, sizeof(drhd));
	memcpy(p + sizeof(head) + sizeof(drhd), &ioapic, sizeof(ioapic));
	return sizeof(head) + sizeof(drhd) + sizeof(ioapic);
}
