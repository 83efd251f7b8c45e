/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A hotplug block's event as the PC wires it (arch/x86/machine.c), for
 * the tests of hw/pcihp, hw/cpuhp and hw/memhp: the event sets GPE @gpe
 * of the ACPI PM block it is handed and is counted; the SCI line's level
 * is recorded.
 */
#ifndef TESTS_UNIT_HELPERS_GPE_H
#define TESTS_UNIT_HELPERS_GPE_H

#include <stdbool.h>

struct vm;

/* Level of the SCI (-1: never set) and events raised, since gpe_wire(). */
extern int gpe_sci_level;
extern unsigned int gpe_events;

/* @vm's lines into the recorder; the events set GPE @gpe. */
void gpe_wire(struct vm *vm, unsigned int gpe);
/* The board callbacks, the PM block as @pm. */
void gpe_event(void *pm);
bool gpe_listening(void *pm);

#endif
