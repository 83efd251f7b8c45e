// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

int main(void)
{
	puts("devisor " DEVISOR_VERSION);
	return 0;
}
