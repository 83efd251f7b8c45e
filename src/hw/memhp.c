// SPDX-License-Identifier: GPL-2.0
/* ACPI memory hotplug registers and their AML; see hw/memhp.h. */
#include "hw/memhp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "bus/bus.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"

static struct memhp *to_hp(struct device *dev)
{
	return container_of(dev, struct memhp, dev);
}

uint64_t memhp_read(void *opaque, uint64_t off, unsigned int size)
{
	struct memhp *hp = opaque;

	return hp_block_read(&hp->regs, off, size);
}

/* Nothing to eject: the guest cannot give memory back here. */
void memhp_write(void *opaque, uint64_t off, uint64_t value, unsigned int size)
{
	struct memhp *hp = opaque;
	uint32_t ej[HP_WORDS];

	if (hp_block_write(&hp->regs, off, value, size, ej))
		pr_warn_ratelimited("memhp: the guest ejected memory slots; "
				    "devisor does not take memory back");
}

static const struct bus_ops memhp_bus_ops = {
	.read = memhp_read,
	.write = memhp_write,
};

uint64_t memhp_slot_size(uint64_t size)
{
	uint64_t slot = MEMHP_MIN_SLOT;

	while (slot < MEMHP_MAX_AREA / MEMHP_MAX_SLOTS &&
	       (size + slot - 1) / slot > MEMHP_MAX_SLOTS)
		slot <<= 1;
	return slot;
}

uint64_t memhp_area_size(uint64_t size)
{
	uint64_t slot;

	if (size > MEMHP_MAX_AREA)
		size = MEMHP_MAX_AREA;
	slot = memhp_slot_size(size);
	return (size + slot - 1) / slot * slot;
}

uint64_t memhp_round(uint64_t area, uint64_t bytes)
{
	uint64_t slot = memhp_slot_size(area);

	return (bytes + slot - 1) / slot * slot;
}

int memhp_grow(struct memhp *hp, uint64_t bytes, uint64_t *plugged)
{
	uint64_t n =
		memhp_round(hp->vm->mem.hotplug_max, bytes) / hp->slot_size;
	unsigned int first = guest_mem_plugged(&hp->vm->mem) / hp->slot_size;
	int ret;

	if (!bytes)
		return -EINVAL;
	if (n > hp->nr_slots - first)
		return -ENOSPC;
	ret = vm_plug_ram(hp->vm, n * hp->slot_size);
	if (ret)
		return ret;
	for (unsigned int i = first; i < first + n; i++)
		hp_block_plug(&hp->regs, i);
	hp->ops->event(hp->opaque);
	*plugged = n * hp->slot_size;
	return 0;
}

/* AML ------------------------------------------------------------------- */

static void slot_name(char *out, unsigned int i)
{
	snprintf(out, 5, "M%03X", i & 0xfff);
}

int memhp_describe(struct device *dev, struct device_desc *d)
{
	struct memhp *hp = to_hp(dev);
	struct aml *a = d->aml;
	char name[5];

	if (!a)
		return 0;
	aml_device_begin(a, "MEMS");
	aml_name_eisaid(a, "_HID", "PNP0A06");
	hp_block_aml_region(a, "MHPR", MEMHP_IO_BASE, 'M');
	for (unsigned int i = 0; i < hp->nr_slots; i++) {
		uint64_t base = hp->base + i * hp->slot_size;

		slot_name(name, i);
		aml_device_begin(a, name);
		aml_name_eisaid(a, "_HID", "PNP0C80");
		aml_name_integer(a, "_UID", i);
		aml_name(a, "_CRS");
		aml_restemp_begin(a);
		aml_res_qword_memory(a, AML_MEM_RW | AML_MEM_CACHEABLE, base,
				     base + hp->slot_size - 1);
		aml_restemp_end(a);
		hp_block_aml_sta(a, 'M', i);
		aml_end(a); /* Mnnn */
	}
	hp_block_aml_scan(a, "MSCN", 'M', hp->nr_slots, slot_name);
	aml_end(a); /* MEMS */
	return 0;
}

static void memhp_reset(struct device *dev)
{
	hp_block_reset(&to_hp(dev)->regs);
}

static void memhp_destroy(struct device *dev)
{
	struct memhp *hp = to_hp(dev);

	bus_unregister(&hp->vm->pio, MEMHP_IO_BASE, hp);
	hp_block_destroy(&hp->regs);
	free(hp);
}

struct memhp *memhp_create(struct vm *vm, const struct memhp_ops *ops,
			   void *opaque)
{
	const struct guest_mem *m = &vm->mem;
	uint64_t plugged = guest_mem_plugged(m);
	uint64_t slot = memhp_slot_size(m->hotplug_max);
	struct memhp *hp;
	int ret;

	if (!m->hotplug_max ||
	    m->hotplug_max != memhp_area_size(m->hotplug_max) ||
	    plugged % slot) {
		pr_err("memhp: a hotplug area of %llu MiB (%llu plugged) is "
		       "not whole slots of %llu MiB",
		       (unsigned long long)(m->hotplug_max >> 20),
		       (unsigned long long)(plugged >> 20),
		       (unsigned long long)(slot >> 20));
		return NULL;
	}
	hp = calloc(1, sizeof(*hp));
	if (!hp) {
		pr_err("memhp: out of memory");
		return NULL;
	}
	hp->vm = vm;
	hp->ops = ops;
	hp->opaque = opaque;
	hp->slot_size = slot;
	hp->nr_slots = m->hotplug_max / slot;
	hp->base = m->hotplug.gpa;
	hp_block_init(&hp->regs, hp->nr_slots, plugged / slot);
	ret = bus_register(&vm->pio, MEMHP_IO_BASE, HP_IO_LEN, &memhp_bus_ops,
			   hp, "memory-hotplug");
	if (ret) {
		pr_err("memhp: cannot claim ports %#x-%#x: %s", MEMHP_IO_BASE,
		       MEMHP_IO_BASE + HP_IO_LEN - 1, strerror(-ret));
		hp_block_destroy(&hp->regs);
		free(hp);
		return NULL;
	}
	hp->dev = (struct device){ .name = "memory-hotplug",
				   .kind = DEV_PLATFORM,
				   .reset = memhp_reset,
				   .destroy = memhp_destroy,
				   .describe = memhp_describe };
	device_register(vm, &hp->dev);
	return hp;
}
