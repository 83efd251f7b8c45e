// SPDX-License-Identifier: GPL-2.0
/* The PC's hotplug event wiring for the device tests; see gpe.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers/gpe.h"
#include "hw/acpi_pm.h"
#include "kvm/vm.h"

int gpe_sci_level = -1;
unsigned int gpe_events;
static unsigned int wired_gpe;

static void record_irq(struct vm *v, unsigned int gsi, int level)
{
	assert_int_equal(gsi, ACPI_SCI_IRQ);
	gpe_sci_level = level;
}

void gpe_wire(struct vm *vm, unsigned int gpe)
{
	vm->irq_set = record_irq;
	gpe_sci_level = -1;
	gpe_events = 0;
	wired_gpe = gpe;
}

/* Through the PC's own callbacks, on the wired GPE of @pm. */
void gpe_event(void *pm)
{
	struct acpi_gpe_line line = { pm, wired_gpe };

	gpe_events++;
	acpi_gpe_event(&line);
}

bool gpe_listening(void *pm)
{
	struct acpi_gpe_line line = { pm, wired_gpe };

	return acpi_gpe_listening(&line);
}
