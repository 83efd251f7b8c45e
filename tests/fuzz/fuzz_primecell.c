// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 board's PrimeCells a guest reaches by MMIO: the PL011 UART
 * and the PL031 RTC. The input is a sequence of accesses (fz_run_io());
 * hook ops feed the UART bytes from the host side or reset the devices.
 */
#include <stdlib.h>

#include "bus/device.h"
#include "hw/pl011.h"
#include "hw/pl031.h"
#include "kvm/vm.h"

#include "fuzz.h"

#define UART_BASE 0x09000000ull
#define RTC_BASE 0x09010000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	struct vm *vm;
	struct pl011 *uart;
	struct fz *in;
};

static void hook(void *arg, uint8_t op)
{
	struct ctx *c = arg;
	uint8_t buf[40];
	size_t n;

	if (op & 1) {
		devices_reset(c->vm);
		return;
	}
	n = fz_bytes(c->in, buf, 1 + (op >> 1) % sizeof(buf));
	(void)pl011_receive(c->uart, buf, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fz_window w[] = {
		{ true, UART_BASE, PL011_MMIO_SIZE },
		{ true, RTC_BASE, PL031_MMIO_SIZE },
	};
	static struct vm vm;
	static struct ctx c;
	struct fz in = { data, size };

	/* Built once (the RTC has a thread); each input starts from reset. */
	if (!c.vm) {
		fz_vm_init(&vm, 2 << 20);
		c.vm = &vm;
		c.uart = pl011_create(&vm, UART_BASE, 1, -1);
		if (!c.uart || !pl031_create(&vm, RTC_BASE, 2))
			abort();
	}
	devices_reset(&vm);
	c.in = &in;
	fz_run_io(&vm, w, sizeof(w) / sizeof(w[0]), &in, hook, &c);
	return 0;
}
