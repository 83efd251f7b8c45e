// SPDX-License-Identifier: GPL-2.0
/* Smoke test: boot, print, echo the command line, pass. */
#include "guest.h"

int guest_main(void)
{
	puts("hello from devisor test guest");
	printf("cmdline: %s\n", cmdline());
	return GUEST_PASS;
}
