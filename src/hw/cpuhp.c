// SPDX-License-Identifier: GPL-2.0
/* ACPI CPU hotplug registers and their AML; see hw/cpuhp.h. */
#include "hw/cpuhp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "bus/bus.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"

#define BIT(cpu) (1u << ((cpu) % 32))
#define WORD(cpu) ((cpu) / 32)

static struct cpuhp *to_hp(struct device *dev)
{
	return container_of(dev, struct cpuhp, dev);
}

/* The register of byte @o and its word, or NULL past the block's end. */
static uint32_t *reg(struct cpuhp *hp, unsigned int o, unsigned int *w)
{
	*w = (o % 0x20) / 4;
	switch (o / 0x20) {
	case CPUHP_REG_UP / 0x20:
		return &hp->up[*w];
	case CPUHP_REG_DOWN / 0x20:
		return &hp->down[*w];
	case CPUHP_REG_PRESENT / 0x20:
		return &hp->present[*w];
	default:
		return NULL; /* EJECT reads as zero */
	}
}

uint64_t cpuhp_read(void *opaque, uint64_t off, unsigned int size)
{
	struct cpuhp *hp = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&hp->lock);
	for (unsigned int i = 0; i < size && off + i < CPUHP_IO_LEN; i++) {
		unsigned int o = off + i, shift = 8 * (o & 3), w;
		uint32_t *r = reg(hp, o, &w);

		if (!r)
			continue;
		v |= (uint64_t)((*r >> shift) & 0xff) << (8 * i);
		/* Read to clear: each arrival is told once. */
		if (r == &hp->up[w])
			*r &= ~(0xffu << shift);
	}
	pthread_mutex_unlock(&hp->lock);
	return v;
}

void cpuhp_write(void *opaque, uint64_t off, uint64_t value, unsigned int size)
{
	struct cpuhp *hp = opaque;
	uint32_t ej[CPUHP_WORDS] = { 0 }, stray = 0;
	bool any = false;

	for (unsigned int i = 0; i < size; i++) {
		unsigned int o = off + i;

		if (o >= CPUHP_REG_EJECT &&
		    o < CPUHP_REG_EJECT + 4 * CPUHP_WORDS)
			ej[(o - CPUHP_REG_EJECT) / 4] |=
				(uint32_t)((value >> (8 * i)) & 0xff)
				<< (8 * (o & 3));
	}
	pthread_mutex_lock(&hp->lock);
	for (unsigned int w = 0; w < CPUHP_WORDS; w++) {
		stray |= ej[w] & ~hp->down[w];
		ej[w] &= hp->down[w];
		hp->down[w] &= ~ej[w];
		hp->present[w] &= ~ej[w];
		any |= ej[w] != 0;
	}
	pthread_mutex_unlock(&hp->lock);
	/* A guest-initiated eject (Linux: an offline CPU's eject): not ours. */
	if (stray)
		pr_warn_ratelimited("cpuhp: the guest ejected CPUs the host "
				    "did not ask for (%#x); they stay",
				    stray);
	if (!any)
		return;
	for (unsigned int cpu = 0; cpu < hp->nr_cpus; cpu++)
		if (ej[WORD(cpu)] & BIT(cpu)) {
			vm_set_plugged(hp->vm, cpu, false);
			pr_info("cpuhp: the guest ejected CPU %u", cpu);
		}
}

static const struct bus_ops cpuhp_bus_ops = {
	.read = cpuhp_read,
	.write = cpuhp_write,
};

bool cpuhp_guest_listening(struct cpuhp *hp)
{
	return hp->ops->listening(hp->opaque);
}

bool cpuhp_present(struct cpuhp *hp, unsigned int cpu)
{
	bool p;

	if (cpu >= hp->nr_cpus)
		return false;
	pthread_mutex_lock(&hp->lock);
	p = hp->present[WORD(cpu)] & BIT(cpu);
	pthread_mutex_unlock(&hp->lock);
	return p;
}

int cpuhp_plug(struct cpuhp *hp, unsigned int cpu)
{
	int ret = 0;

	if (cpu >= hp->nr_cpus)
		return -EINVAL;
	pthread_mutex_lock(&hp->lock);
	if (hp->present[WORD(cpu)] & BIT(cpu)) {
		ret = -EEXIST;
	} else {
		/* The vCPU first: a guest that finds it present may start it. */
		vm_set_plugged(hp->vm, cpu, true);
		hp->present[WORD(cpu)] |= BIT(cpu);
		hp->up[WORD(cpu)] |= BIT(cpu);
	}
	pthread_mutex_unlock(&hp->lock);
	if (!ret)
		hp->ops->event(hp->opaque);
	return ret;
}

int cpuhp_unplug_request(struct cpuhp *hp, unsigned int cpu)
{
	int ret = 0;

	if (!cpu || cpu >= hp->nr_cpus)
		return -EINVAL;
	pthread_mutex_lock(&hp->lock);
	if (!(hp->present[WORD(cpu)] & BIT(cpu)))
		ret = -ENOENT;
	else
		hp->down[WORD(cpu)] |= BIT(cpu);
	/* A CPU plugged and taken back before the guest read UP. */
	hp->up[WORD(cpu)] &= ~BIT(cpu);
	pthread_mutex_unlock(&hp->lock);
	if (!ret)
		hp->ops->event(hp->opaque);
	return ret;
}

void cpuhp_unplug_cancel(struct cpuhp *hp, unsigned int cpu)
{
	if (cpu >= hp->nr_cpus)
		return;
	pthread_mutex_lock(&hp->lock);
	hp->down[WORD(cpu)] &= ~BIT(cpu);
	pthread_mutex_unlock(&hp->lock);
}

void cpuhp_force_unplug(struct cpuhp *hp, unsigned int cpu)
{
	if (!cpu || cpu >= hp->nr_cpus)
		return;
	pthread_mutex_lock(&hp->lock);
	hp->down[WORD(cpu)] &= ~BIT(cpu);
	hp->up[WORD(cpu)] &= ~BIT(cpu);
	hp->present[WORD(cpu)] &= ~BIT(cpu);
	pthread_mutex_unlock(&hp->lock);
	vm_set_plugged(hp->vm, cpu, false);
}

/* AML ------------------------------------------------------------------- */

static void cpu_name(char *out, unsigned int cpu)
{
	snprintf(out, 5, "C%03X", cpu & 0xfff);
}

/* The field units of word @w of register @kind ("CU" up, "CD", "CP", "CE"). */
static void unit_name(char *out, const char *kind, unsigned int w)
{
	snprintf(out, 5, "%.2s%02u", kind, w % CPUHP_WORDS);
}

int cpuhp_describe(struct device *dev, struct device_desc *d)
{
	static const char *const kinds[4] = { "CU", "CD", "CP", "CE" };
	struct aml_field_unit units[4 * CPUHP_WORDS];
	char names[4 * CPUHP_WORDS][5], name[5], unit[5];
	struct cpuhp *hp = to_hp(dev);
	struct aml *a = d->aml;
	unsigned int words = (hp->nr_cpus + 31) / 32;

	_Static_assert(CPUHP_REG_UP == 0 && CPUHP_REG_DOWN == 0x20 &&
			       CPUHP_REG_PRESENT == 0x40 &&
			       CPUHP_REG_EJECT == 0x60 &&
			       CPUHP_IO_LEN == 4 * 4 * CPUHP_WORDS,
		       "the Field below follows the register layout");
	if (!a)
		return 0;
	for (unsigned int k = 0; k < 4; k++)
		for (unsigned int w = 0; w < CPUHP_WORDS; w++) {
			unit_name(names[k * CPUHP_WORDS + w], kinds[k], w);
			units[k * CPUHP_WORDS + w] = (struct aml_field_unit){
				names[k * CPUHP_WORDS + w], 32
			};
		}
	aml_device_begin(a, "CPUS");
	aml_name_string(a, "_HID", "ACPI0010");
	aml_name_eisaid(a, "_CID", "PNP0A05");
	aml_opregion(a, "CPHP", AML_REGION_SYSTEM_IO, CPUHP_IO_BASE,
		     CPUHP_IO_LEN);
	aml_field(a, "CPHP", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS,
		  units, 4 * CPUHP_WORDS);
	for (unsigned int cpu = 0; cpu < hp->nr_cpus; cpu++) {
		uint8_t mat[CPUHP_MAT_MAX];
		size_t len = hp->ops->mat(cpu, mat);

		cpu_name(name, cpu);
		aml_device_begin(a, name);
		aml_name_string(a, "_HID", "ACPI0007");
		aml_name_integer(a, "_UID", cpu);
		aml_name(a, "_MAT");
		aml_buffer(a, mat, len);
		/* _STA: present and working, or absent. */
		aml_method_begin(a, "_STA", 0, false);
		unit_name(unit, "CP", WORD(cpu));
		aml_if_begin(a);
		aml_and(a);
		aml_path(a, unit);
		aml_integer(a, BIT(cpu));
		aml_null_target(a);
		aml_return(a);
		aml_integer(a, 0xf);
		aml_end(a); /* If */
		aml_return(a);
		aml_zero(a);
		aml_end(a); /* _STA */
		if (cpu) {
			aml_method_begin(a, "_EJ0", 1, false);
			aml_store(a);
			aml_integer(a, BIT(cpu));
			unit_name(unit, "CE", WORD(cpu));
			aml_path(a, unit);
			aml_end(a); /* _EJ0 */
		}
		aml_end(a); /* Cnnn */
	}
	/* CSCN: one Notify per CPU with news, arrivals then removals. */
	aml_method_begin(a, "CSCN", 0, true);
	for (unsigned int w = 0; w < words; w++) {
		for (unsigned int l = 0; l < 2; l++) {
			unit_name(unit, kinds[l], w);
			aml_store(a);
			aml_path(a, unit);
			aml_local(a, l);
		}
		for (unsigned int cpu = 32 * w;
		     cpu < hp->nr_cpus && cpu < 32 * (w + 1); cpu++) {
			for (unsigned int l = 0; l < 2; l++) {
				cpu_name(name, cpu);
				aml_if_begin(a);
				aml_and(a);
				aml_local(a, l);
				aml_integer(a, BIT(cpu));
				aml_null_target(a);
				aml_notify(a);
				aml_path(a, name);
				aml_integer(a, l ? AML_NOTIFY_EJECT_REQUEST :
						   AML_NOTIFY_DEVICE_CHECK);
				aml_end(a); /* If */
			}
		}
	}
	aml_end(a); /* CSCN */
	aml_end(a); /* CPUS */
	return 0;
}

static void cpuhp_reset(struct device *dev)
{
	struct cpuhp *hp = to_hp(dev);

	/* A new boot finds its CPUs in _STA: nothing left to tell. */
	pthread_mutex_lock(&hp->lock);
	memset(hp->up, 0, sizeof(hp->up));
	memset(hp->down, 0, sizeof(hp->down));
	pthread_mutex_unlock(&hp->lock);
}

static void cpuhp_destroy(struct device *dev)
{
	struct cpuhp *hp = to_hp(dev);

	if (hp->vm)
		bus_unregister(&hp->vm->pio, CPUHP_IO_BASE, hp);
	pthread_mutex_destroy(&hp->lock);
	free(hp);
}

struct cpuhp *cpuhp_create(struct vm *vm, unsigned int nr_cpus,
			   unsigned int boot_cpus, const struct cpuhp_ops *ops,
			   void *opaque)
{
	struct cpuhp *hp;
	int ret;

	if (!nr_cpus || nr_cpus > CPUHP_MAX_CPUS || !boot_cpus ||
	    boot_cpus > nr_cpus) {
		pr_err("cpuhp: %u of %u CPUs present: 1 to %u possible, at "
		       "least one present",
		       boot_cpus, nr_cpus, CPUHP_MAX_CPUS);
		return NULL;
	}
	hp = calloc(1, sizeof(*hp));
	if (!hp) {
		pr_err("cpuhp: out of memory");
		return NULL;
	}
	hp->vm = vm;
	hp->ops = ops;
	hp->opaque = opaque;
	hp->nr_cpus = nr_cpus;
	for (unsigned int cpu = 0; cpu < boot_cpus; cpu++)
		hp->present[WORD(cpu)] |= BIT(cpu);
	pthread_mutex_init(&hp->lock, NULL);
	ret = bus_register(&vm->pio, CPUHP_IO_BASE, CPUHP_IO_LEN,
			   &cpuhp_bus_ops, hp, "cpu-hotplug");
	if (ret) {
		pr_err("cpuhp: cannot claim ports %#x-%#x: %s", CPUHP_IO_BASE,
		       CPUHP_IO_BASE + CPUHP_IO_LEN - 1, strerror(-ret));
		pthread_mutex_destroy(&hp->lock);
		free(hp);
		return NULL;
	}
	hp->dev = (struct device){ .name = "cpu-hotplug",
				   .kind = DEV_PLATFORM,
				   .reset = cpuhp_reset,
				   .destroy = cpuhp_destroy,
				   .describe = cpuhp_describe };
	device_register(vm, &hp->dev);
	return hp;
}
