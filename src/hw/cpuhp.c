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

static struct cpuhp *to_hp(struct device *dev)
{
	return container_of(dev, struct cpuhp, dev);
}

uint64_t cpuhp_read(void *opaque, uint64_t off, unsigned int size)
{
	struct cpuhp *hp = opaque;

	return hp_block_read(&hp->regs, off, size);
}

void cpuhp_write(void *opaque, uint64_t off, uint64_t value, unsigned int size)
{
	struct cpuhp *hp = opaque;
	uint32_t ej[HP_WORDS], stray;

	stray = hp_block_write(&hp->regs, off, value, size, ej);
	/* A guest-initiated eject (Linux: an offline CPU's eject): not ours. */
	if (stray)
		pr_warn_ratelimited("cpuhp: the guest ejected CPUs the host "
				    "did not ask for (%#x); they stay",
				    stray);
	for (unsigned int cpu = 0; cpu < hp->nr_cpus; cpu++)
		if (ej[cpu / 32] & (1u << (cpu % 32))) {
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
	return hp_block_present(&hp->regs, cpu);
}

unsigned int cpuhp_nr_present(struct cpuhp *hp)
{
	unsigned int n = 0;

	for (unsigned int cpu = 0; cpu < hp->nr_cpus; cpu++)
		n += hp_block_present(&hp->regs, cpu);
	return n;
}

int cpuhp_plug(struct cpuhp *hp, unsigned int cpu)
{
	int ret;

	if (cpu >= hp->nr_cpus)
		return -EINVAL;
	if (hp_block_present(&hp->regs, cpu))
		return -EEXIST;
	/* The vCPU first: a guest that finds it present may start it. */
	vm_set_plugged(hp->vm, cpu, true);
	ret = hp_block_plug(&hp->regs, cpu);
	if (!ret)
		hp->ops->event(hp->opaque);
	return ret;
}

int cpuhp_unplug_request(struct cpuhp *hp, unsigned int cpu)
{
	int ret;

	if (!cpu)
		return -EINVAL;
	ret = hp_block_unplug_request(&hp->regs, cpu);
	if (!ret)
		hp->ops->event(hp->opaque);
	return ret;
}

void cpuhp_unplug_cancel(struct cpuhp *hp, unsigned int cpu)
{
	hp_block_unplug_cancel(&hp->regs, cpu);
}

void cpuhp_force_unplug(struct cpuhp *hp, unsigned int cpu)
{
	if (!cpu || cpu >= hp->nr_cpus)
		return;
	hp_block_remove(&hp->regs, cpu);
	vm_set_plugged(hp->vm, cpu, false);
}

/* AML ------------------------------------------------------------------- */

static void cpu_name(char *out, unsigned int cpu)
{
	snprintf(out, 5, "C%03X", cpu & 0xfff);
}

int cpuhp_describe(struct device *dev, struct device_desc *d)
{
	struct cpuhp *hp = to_hp(dev);
	struct aml *a = d->aml;
	char name[5];

	if (!a)
		return 0;
	aml_device_begin(a, "CPUS");
	aml_name_string(a, "_HID", "ACPI0010");
	aml_name_eisaid(a, "_CID", "PNP0A05");
	hp_block_aml_region(a, "CPHP", CPUHP_IO_BASE, 'C');
	for (unsigned int cpu = 0; cpu < hp->nr_cpus; cpu++) {
		uint8_t mat[CPUHP_MAT_MAX];
		size_t len = hp->ops->mat(cpu, mat);

		cpu_name(name, cpu);
		aml_device_begin(a, name);
		aml_name_string(a, "_HID", "ACPI0007");
		aml_name_integer(a, "_UID", cpu);
		aml_name(a, "_MAT");
		aml_buffer(a, mat, len);
		hp_block_aml_sta(a, 'C', cpu);
		if (cpu)
			hp_block_aml_ej0(a, 'C', cpu);
		aml_end(a); /* Cnnn */
	}
	hp_block_aml_scan(a, "CSCN", 'C', hp->nr_cpus, cpu_name);
	aml_end(a); /* CPUS */
	return 0;
}

static void cpuhp_reset(struct device *dev)
{
	/* A new boot finds its CPUs in _STA: nothing left to tell. */
	hp_block_reset(&to_hp(dev)->regs);
}

static void cpuhp_destroy(struct device *dev)
{
	struct cpuhp *hp = to_hp(dev);

	if (hp->vm)
		bus_unregister(&hp->vm->pio, CPUHP_IO_BASE, hp);
	hp_block_destroy(&hp->regs);
	free(hp);
}

struct cpuhp *cpuhp_create(struct vm *vm, unsigned int nr_cpus,
			   unsigned int boot_cpus, const struct cpuhp_ops *ops,
			   void *opaque)
{
	struct cpuhp *hp = calloc(1, sizeof(*hp));
	int ret;

	if (!hp) {
		pr_err("cpuhp: out of memory");
		return NULL;
	}
	if (!boot_cpus || hp_block_init(&hp->regs, nr_cpus, boot_cpus)) {
		pr_err("cpuhp: %u of %u CPUs present: 1 to %u possible, at "
		       "least one present",
		       boot_cpus, nr_cpus, CPUHP_MAX_CPUS);
		free(hp);
		return NULL;
	}
	hp->vm = vm;
	hp->ops = ops;
	hp->opaque = opaque;
	hp->nr_cpus = nr_cpus;
	ret = bus_register(&vm->pio, CPUHP_IO_BASE, HP_IO_LEN, &cpuhp_bus_ops,
			   hp, "cpu-hotplug");
	if (ret) {
		pr_err("cpuhp: cannot claim ports %#x-%#x: %s", CPUHP_IO_BASE,
		       CPUHP_IO_BASE + HP_IO_LEN - 1, strerror(-ret));
		hp_block_destroy(&hp->regs);
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
