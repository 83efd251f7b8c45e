/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_MEMHP_H
#define DEVISOR_HW_MEMHP_H

/*
 * ACPI memory hotplug: the hotplug area of guest RAM (guest_mem's
 * hotplug, after RAM) cut into at most 256 slots of 128 MiB or a power of
 * two times that (memhp_slot_size()), a register block
 * (hw/hp_block.h, one bit per slot) the guest's ACPI code reads when the
 * board raises its event (on the PC, GPE ACPI_GPE_MEMHP of hw/acpi_pm),
 * and the AML: \_SB.MEMS (a generic container, PNP0A06) with an
 * OperationRegion on the block, one Device (Mnnn, PNP0C80) per slot with
 * _UID, _STA and _CRS (its fixed range), and Method MSCN that notifies
 * each slot plugged (Device Check: Linux's acpi_memhotplug adds the
 * memory; user space or memhp_default_state onlines its blocks). Slots are
 * plugged in order and never taken back: the guest cannot give memory
 * back through ACPI without the host trusting it to, so growing is all
 * vm.resize does (Cloud Hypervisor's ACPI method is the same).
 */
#include <stdbool.h>
#include <stdint.h>

#include "bus/device.h"
#include "hw/hp_block.h"

#define MEMHP_IO_BASE 0x6a0
/* Linux's memory block below 64 GiB of RAM: the unit it adds. */
#define MEMHP_MIN_SLOT (128ull << 20)
#define MEMHP_MAX_SLOTS HP_MAX_ITEMS
/* The largest area: 256 slots of 1 GiB. */
#define MEMHP_MAX_AREA (256ull << 30)

/* The slot size of an area of @size: 128 MiB, doubled until <= 256 slots. */
uint64_t memhp_slot_size(uint64_t size);
/* @size as an area: whole slots, at most MEMHP_MAX_AREA. */
uint64_t memhp_area_size(uint64_t size);
/* @bytes rounded up to whole slots of an area of @area bytes. */
uint64_t memhp_round(uint64_t area, uint64_t bytes);

/* The DSDT's name for what the board's event handler calls. */
#define MEMHP_AML_NOTIFY "\\_SB.MEMS.MSCN"

struct vm;

struct memhp_ops {
	void (*event)(void *opaque);
	bool (*listening)(void *opaque);
};

struct memhp {
	struct device dev;
	struct vm *vm;
	const struct memhp_ops *ops;
	void *opaque;
	unsigned int nr_slots;
	uint64_t slot_size;
	uint64_t base; /* guest-physical address of slot 0 */
	struct hp_block regs;
};

/*
 * The block at MEMHP_IO_BASE on @vm's PIO bus for @vm's hotplug area
 * (vm->mem.hotplug: its gpa and hotplug_max, an area as memhp_area_size()
 * makes it), the
 * slots already plugged (guest_mem_plugged()) present. NULL with an error
 * logged on failure. Freed by devices_destroy().
 */
struct memhp *memhp_create(struct vm *vm, const struct memhp_ops *ops,
			   void *opaque);

/*
 * Gives the guest @bytes more RAM, rounded up to whole slots (*@plugged
 * says how much): KVM maps them, devices may DMA to them, and the guest
 * is told. 0, -EINVAL (none asked), -ENOSPC (past the area), or KVM's
 * -errno.
 */
int memhp_grow(struct memhp *hp, uint64_t bytes, uint64_t *plugged);

uint64_t memhp_read(void *opaque, uint64_t off, unsigned int size);
void memhp_write(void *opaque, uint64_t off, uint64_t value, unsigned int size);
int memhp_describe(struct device *dev, struct device_desc *d);

#endif
