// SPDX-License-Identifier: GPL-2.0
/*
 * The legacy port devices a guest reaches with IN and OUT: the 16550 UART
 * (COM1), the RTC/CMOS, the i8042, the ACPI PM block (with GPE0) and the
 * PCI hotplug registers. The input is a sequence of port accesses
 * (fz_run_io()); hook ops feed the UART bytes from the host side, press
 * the power button, announce or withdraw a hotplugged slot, or reset the
 * machine.
 */
#include <stdlib.h>

#include "bus/device.h"
#include "hw/acpi_pm.h"
#include "hw/i8042.h"
#include "hw/pcihp.h"
#include "hw/rtc.h"
#include "hw/serial.h"
#include "kvm/vm.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	struct vm *vm;
	struct serial *uart;
	struct acpi_pm *pm;
	struct pcihp *hp;
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

static void hook(void *arg, uint8_t op)
{
	struct ctx *c = arg;
	uint8_t buf[32];
	size_t n;

	switch (op % 5) {
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
	default:
		devices_reset(c->vm);
		break;
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
		rtc_set_memory_size(rtc, 2 << 20, 0);
	}
	devices_reset(&vm);
	c.in = &in;
	fz_run_io(&vm, w, sizeof(w) / sizeof(w[0]), &in, hook, &c);
	return 0;
}
