// SPDX-License-Identifier: GPL-2.0
/* Exits with the code named by `code=N`: the VMM must exit (N << 1) | 1. */
#include "guest.h"

int guest_main(void)
{
	char buf[32];
	unsigned long code;

	if (cmdline_arg("code", buf, sizeof(buf)) < 0 ||
	    !parse_ulong(buf, &code) || code > 0xffffffffu) {
		printf("exit_code: need code=N on the command line (got '%s')\n",
		       cmdline());
		return GUEST_FAIL;
	}
	printf("exit_code: exiting with code %lu\n", code);
	guest_exit((uint32_t)code);
}
