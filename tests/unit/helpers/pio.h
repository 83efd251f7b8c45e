/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Port I/O on a VM's PIO bus, as a guest's IN and OUT would do it, for the
 * tests of devices on it; an access that reaches no device fails the test.
 */
#ifndef TESTS_UNIT_HELPERS_PIO_H
#define TESTS_UNIT_HELPERS_PIO_H

#include <stdint.h>

struct vm;

uint64_t pio_in(struct vm *vm, uint16_t port, unsigned int size);
void pio_out(struct vm *vm, uint16_t port, uint64_t v, unsigned int size);

#endif
