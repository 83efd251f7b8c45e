// SPDX-License-Identifier: GPL-2.0
/* ACPI PCI hotplug registers and their AML; see hw/pcihp.h. */
#include "hw/pcihp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "bus/bus.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"

static struct pcihp *to_hp(struct device *dev)
{
	return container_of(dev, struct pcihp, dev);
}

uint64_t pcihp_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pcihp *hp = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&hp->lock);
	for (unsigned int i = 0; i < size; i++) {
		unsigned int o = off + i, shift = 8 * (o & 3);
		uint32_t byte = 0;

		if (o < PCIHP_REG_UP + 4) {
			byte = (hp->up >> shift) & 0xff;
			/* Read to clear: each arrival is told once. */
			hp->up &= ~(0xffu << shift);
		} else if (o >= PCIHP_REG_DOWN && o < PCIHP_REG_DOWN + 4) {
			byte = (hp->down >> shift) & 0xff;
		}
		v |= (uint64_t)byte << (8 * i);
	}
	pthread_mutex_unlock(&hp->lock);
	return v;
}

void pcihp_write(void *opaque, uint64_t off, uint64_t value, unsigned int size)
{
	struct pcihp *hp = opaque;
	uint32_t ej = 0, stray;

	for (unsigned int i = 0; i < size; i++) {
		unsigned int o = off + i;

		if (o >= PCIHP_REG_EJECT && o < PCIHP_REG_EJECT + 4)
			ej |= (uint32_t)((value >> (8 * i)) & 0xff)
			      << (8 * (o & 3));
	}
	if (!ej)
		return;
	pthread_mutex_lock(&hp->lock);
	stray = ej & ~hp->down;
	ej &= hp->down;
	hp->down &= ~ej;
	hp->ejected |= ej;
	pthread_mutex_unlock(&hp->lock);
	/* A guest-initiated eject (Linux: slots/N/power): not supported. */
	if (stray)
		pr_warn_ratelimited("pcihp: the guest ejected slots %#x that "
				    "the host did not ask for; they stay",
				    stray);
}

static const struct bus_ops pcihp_ops = {
	.read = pcihp_read,
	.write = pcihp_write,
};

void pcihp_plug(struct pcihp *hp, unsigned int slot)
{
	if (!slot || slot >= 32)
		return;
	pthread_mutex_lock(&hp->lock);
	hp->up |= 1u << slot;
	pthread_mutex_unlock(&hp->lock);
	hp->event(hp->event_opaque);
}

int pcihp_unplug_request(struct pcihp *hp, unsigned int slot)
{
	if (!slot || slot >= 32)
		return -EINVAL;
	pthread_mutex_lock(&hp->lock);
	hp->down |= 1u << slot;
	hp->ejected &= ~(1u << slot);
	pthread_mutex_unlock(&hp->lock);
	hp->event(hp->event_opaque);
	return 0;
}

bool pcihp_take_ejected(struct pcihp *hp, unsigned int slot)
{
	bool ej;

	if (slot >= 32)
		return false;
	pthread_mutex_lock(&hp->lock);
	ej = hp->ejected & (1u << slot);
	hp->ejected &= ~(1u << slot);
	pthread_mutex_unlock(&hp->lock);
	return ej;
}

void pcihp_unplug_cancel(struct pcihp *hp, unsigned int slot)
{
	if (slot >= 32)
		return;
	pthread_mutex_lock(&hp->lock);
	hp->down &= ~(1u << slot);
	pthread_mutex_unlock(&hp->lock);
}

static void slot_name(char *out, unsigned int slot)
{
	snprintf(out, 5, "S%02X", slot);
}

int pcihp_describe(struct device *dev, struct device_desc *d)
{
	static const struct aml_field_unit regs[] = {
		{ "PCIU", 32 }, /* PCIHP_REG_UP */
		{ "PCID", 32 }, /* PCIHP_REG_DOWN */
		{ "B0EJ", 32 }, /* PCIHP_REG_EJECT */
	};
	struct aml *a = d->aml;
	char name[5];

	_Static_assert(PCIHP_REG_UP == 0 && PCIHP_REG_DOWN == 4 &&
			       PCIHP_REG_EJECT == 8 && PCIHP_IO_LEN == 12,
		       "the Field below follows the register layout");
	(void)dev;
	if (!a)
		return 0;
	aml_scope_begin(a, PCIHP_AML_SCOPE);
	aml_opregion(a, "PCHP", AML_REGION_SYSTEM_IO, PCIHP_IO_BASE,
		     PCIHP_IO_LEN);
	aml_field(a, "PCHP", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS,
		  regs, 3);
	for (unsigned int s = 1; s < 32; s++) {
		slot_name(name, s);
		aml_device_begin(a, name);
		aml_name_integer(a, "_ADR", (uint64_t)s << 16);
		aml_name_integer(a, "_SUN", s);
		aml_method_begin(a, "_EJ0", 1, false);
		aml_store(a);
		aml_integer(a, 1u << s);
		aml_path(a, "B0EJ");
		aml_end(a); /* _EJ0 */
		aml_end(a); /* Sxx */
	}
	/* PCNT: one Notify per slot with news, arrivals then removals. */
	aml_method_begin(a, "PCNT", 0, true);
	aml_store(a);
	aml_path(a, "PCIU");
	aml_local(a, 0);
	aml_store(a);
	aml_path(a, "PCID");
	aml_local(a, 1);
	for (unsigned int s = 1; s < 32; s++) {
		for (unsigned int l = 0; l < 2; l++) {
			slot_name(name, s);
			aml_if_begin(a);
			aml_and(a);
			aml_local(a, l);
			aml_integer(a, 1u << s);
			aml_null_target(a);
			aml_notify(a);
			aml_path(a, name);
			aml_integer(a, l ? AML_NOTIFY_EJECT_REQUEST :
					   AML_NOTIFY_DEVICE_CHECK);
			aml_end(a); /* If */
		}
	}
	aml_end(a); /* PCNT */
	aml_end(a); /* Scope */
	return 0;
}

static void pcihp_reset(struct device *dev)
{
	struct pcihp *hp = to_hp(dev);

	/* A new boot enumerates the bus: nothing left to tell. */
	pthread_mutex_lock(&hp->lock);
	hp->up = 0;
	hp->down = 0;
	hp->ejected = 0;
	pthread_mutex_unlock(&hp->lock);
}

static void pcihp_destroy(struct device *dev)
{
	struct pcihp *hp = to_hp(dev);

	bus_unregister(&hp->vm->pio, PCIHP_IO_BASE, hp);
	pthread_mutex_destroy(&hp->lock);
	free(hp);
}

bool pcihp_guest_listening(struct pcihp *hp)
{
	return hp->listening(hp->event_opaque);
}

struct pcihp *pcihp_create(struct vm *vm, void (*event)(void *opaque),
			   bool (*listening)(void *opaque), void *opaque)
{
	struct pcihp *hp = calloc(1, sizeof(*hp));
	int ret;

	if (!hp) {
		pr_err("pcihp: out of memory");
		return NULL;
	}
	hp->vm = vm;
	hp->event = event;
	hp->listening = listening;
	hp->event_opaque = opaque;
	pthread_mutex_init(&hp->lock, NULL);
	ret = bus_register(&vm->pio, PCIHP_IO_BASE, PCIHP_IO_LEN, &pcihp_ops,
			   hp, "pci-hotplug");
	if (ret) {
		pr_err("pcihp: cannot claim ports %#x-%#x: %s", PCIHP_IO_BASE,
		       PCIHP_IO_BASE + PCIHP_IO_LEN - 1, strerror(-ret));
		pthread_mutex_destroy(&hp->lock);
		free(hp);
		return NULL;
	}
	hp->dev = (struct device){ .name = "pci-hotplug",
				   .kind = DEV_PLATFORM,
				   .reset = pcihp_reset,
				   .destroy = pcihp_destroy,
				   .describe = pcihp_describe };
	device_register(vm, &hp->dev);
	return hp;
}
