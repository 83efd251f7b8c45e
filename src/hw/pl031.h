/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_PL031_H
#define DEVISOR_HW_PL031_H

#include <stdint.h>

/*
 * An ARM PrimeCell PL031 real-time clock on the MMIO bus (ARM DDI 0224):
 * a 32-bit seconds counter that starts at the host's time (UTC seconds
 * since the epoch, as Linux's rtc-pl031 reads it), a match register whose
 * interrupt a thread of its own raises when the counter reaches it.
 */
#define PL031_MMIO_SIZE 0x1000

struct pl031;
struct vm;

/* Claims [@base, @base + PL031_MMIO_SIZE); interrupt @gsi. NULL on error. */
struct pl031 *pl031_create(struct vm *vm, uint64_t base, unsigned int gsi);

#endif
