// SPDX-License-Identifier: GPL-2.0
/* Port I/O for the device tests; see pio.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "bus/bus.h"
#include "helpers/pio.h"
#include "kvm/vm.h"

uint64_t pio_in(struct vm *vm, uint16_t port, unsigned int size)
{
	uint64_t v = 0;

	assert_true(bus_read(&vm->pio, port, &v, size));
	return v;
}

void pio_out(struct vm *vm, uint16_t port, uint64_t v, unsigned int size)
{
	assert_true(bus_write(&vm->pio, port, &v, size));
}
