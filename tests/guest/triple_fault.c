// SPDX-License-Identifier: GPL-2.0
/*
 * The kit's IDT has limit 0, so the #UD below cannot be delivered: #GP,
 * then #DF, then a triple fault, which the VMM must report as such.
 */
#include "guest.h"

int guest_main(void)
{
	puts("triple_fault: ud2 at CPL3 with an empty IDT");
	asm volatile("ud2");
	puts("triple_fault: survived ud2");
	return GUEST_FAIL;
}
