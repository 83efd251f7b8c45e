// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy port devices a guest reaches with IN and OUT: the 16550 UART
 * (COM1), the RTC/CMOS, the i8042, the ACPI PM block (with GPE0) and the
 * PCI, CPU and memory hotplug registers. The input is a sequence of port
 * accesses (fz_run_io()); hook ops feed the UART bytes from the host side,
 * press the power button, announce or withdraw a hotplugged slot or vCPU,
 * plug RAM, or reset the machine.
 */
#include <stdlib.h>

#include "bus/device.h"
#include "hw/acpi_pm.h"
#include "hw/cpuhp.h"
#include "hw/i8042.h"
#include "hw/memhp.h"
#include "hw/pcihp.h"
#include "hw/rtc.h"
#include "hw/serial.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	struct vm *vm;
	struct serial *uart;
	struct acpi_pm *pm;
	struct pcihp *hp;
	struct cpuhp *cpus;
	struct memhp *mem;
	struct fz *in;
};

static void gpe(void *pm)
{
	acpi_pm_gpe(pm, ACPI_GPE_PCIHP);
}

static bool gpe_on(void *pm)
{
	return acpi_pm_gpe_enabled(pm, ACPI_GPE_PCIHP);
}

static void gpe_cpu(void *pm)
{
	acpi_pm_gpe(pm, ACPI_GPE_CPUHP);
}

static bool gpe_cpu_on(void *pm)
{
	return acpi_pm_gpe_enabled(pm, ACPI_GPE_CPUHP);
}

static void gpe_mem(void *pm)
{
	acpi_pm_gpe(pm, ACPI_GPE_MEMHP);
}

static bool gpe_mem_on(void *pm)
{
	return acpi_pm_gpe_enabled(pm, ACPI_GPE_MEMHP);
}

#define NR_CPUS 40

static size_t mat(unsigned int cpu, uint8_t *buf)
{
	buf[0] = (uint8_t)cpu;
	return 1;
}

static const struct cpuhp_ops cpu_ops = {
	.event = gpe_cpu,
	.listening = gpe_cpu_on,
	.mat = mat,
};

static const struct memhp_ops mem_ops = {
	.event = gpe_mem,
	.listening = gpe_mem_on,
};

static void hook(void *arg, uint8_t op)
{
	struct ctx *c = arg;
	uint8_t buf[32];
	size_t n;

	switch (op % 7) {
	case 0:
		n = fz_bytes(c->in, buf, 1 + (op >> 3) % sizeof(buf));
		(void)serial_receive(c->uart, buf, n);
		break;
	case 1:
		acpi_pm_power_button(c->pm);
		break;
	case 2:
		pcihp_plug(c->hp, (op >> 3) % 33);
		break;
	case 3:
		if (op & 0x80)
			pcihp_unplug_cancel(c->hp, (op >> 3) % 16);
		else if (!pcihp_unplug_request(c->hp, (op >> 3) % 16))
			(void)pcihp_take_ejected(c->hp, (op >> 3) % 16);
		break;
	case 4:
		devices_reset(c->vm);
		break;
	case 5:
		if (op & 0x80)
			(void)cpuhp_plug(c->cpus, (op >> 3) % (NR_CPUS + 1));
		else if (op & 0x40)
			(void)cpuhp_unplug_request(c->cpus, (op >> 3) % 8);
		else if (op & 0x20)
			cpuhp_unplug_cancel(c->cpus, (op >> 3) % 4);
		else
			cpuhp_force_unplug(c->cpus, (op >> 3) % 4);
		break;
	default: {
		uint64_t got;

		(void)memhp_grow(c->mem, MEMHP_MIN_SLOT * ((op >> 3) % 3),
				 &got);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fz_window w[] = {
		{ false, SERIAL_COM1_BASE, 8 },
		{ false, RTC_PORT_BASE, 2 },
		{ false, I8042_DATA_PORT, 1 },
		{ false, I8042_CMD_PORT, 1 },
		{ false, ACPI_PM_IO_BASE, ACPI_PM_IO_LEN },
		{ false, PCIHP_IO_BASE, PCIHP_IO_LEN },
		{ false, CPUHP_IO_BASE, HP_IO_LEN },
		{ false, MEMHP_IO_BASE, HP_IO_LEN },
	};
	static struct vm vm;
	static struct ctx c;
	struct fz in = { data, size };

	/* Built once (the RTC has a thread); each input starts from reset. */
	if (!c.vm) {
		struct rtc *rtc;

		fz_vm_init(&vm, 2 << 20);
		c.vm = &vm;
		c.uart = serial_create(&vm, SERIAL_COM1_BASE, SERIAL_COM1_GSI,
				       -1);
		rtc = rtc_create(&vm);
		c.pm = acpi_pm_create(&vm);
		c.hp = c.pm ? pcihp_create(&vm, gpe, gpe_on, c.pm) : NULL;
		if (!c.uart || !rtc || !c.hp || !i8042_create(&vm))
			abort();
		/* vCPUs with no thread: plugging only flips their flag. */
		vm.nr_cpus = NR_CPUS;
		vm.vcpus = calloc(NR_CPUS, sizeof(*vm.vcpus));
		for (unsigned int i = 0; vm.vcpus && i < NR_CPUS; i++)
			vm.vcpus[i] = calloc(1, sizeof(struct vcpu));
		c.cpus = cpuhp_create(&vm, NR_CPUS, 2, &cpu_ops, c.pm);
		/* A 1 GiB hotplug area behind the RAM (free until touched). */
		guest_mem_destroy(&vm.mem);
		if (guest_mem_init_hotplug(&vm.mem, 2 << 20, 1ull << 30, false))
			abort();
		c.mem = memhp_create(&vm, &mem_ops, c.pm);
		if (!c.cpus || !c.mem)
			abort();
		rtc_set_memory_size(rtc, 2 << 20, 0);
	}
	devices_reset(&vm);
	c.in = &in;
	fz_run_io(&vm, w, sizeof(w) / sizeof(w[0]), &in, hook, &c);
	return 0;
}
