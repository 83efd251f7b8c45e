// SPDX-License-Identifier: GPL-2.0
/* Reads one line from COM1 by polling and prints it back. */
#include "guest.h"

int guest_main(void)
{
	char line[128];
	size_t n = 0;

	puts("uart_echo: send a line");
	for (;;) {
		int c = uart_getc();

		if (c == '\r' || c == '\n')
			break;
		if (c == 0x7f || c == '\b') {
			if (n)
				n--;
			continue;
		}
		if (n < sizeof(line) - 1)
			line[n++] = (char)c;
	}
	line[n] = '\0';
	printf("got: %s\n", line);
	return n ? GUEST_PASS : GUEST_FAIL;
}
