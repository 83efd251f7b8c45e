// SPDX-License-Identifier: GPL-2.0
/*
 * tapfd NAME FD -- COMMAND...: attaches the tap NAME (IFF_TAP, IFF_NO_PI,
 * IFF_VNET_HDR) on descriptor FD and runs COMMAND with it, as an
 * orchestrator (Kata) opens a VM's tap and hands it to the VMM over the
 * API socket: `tapfd ctap0 3 -- devisor remote ... add-net fd=3`. Built
 * static by tests/nested/run, installed as /bin/tapfd in L2. Exit status
 * 2 with a message when the tap cannot be attached, else COMMAND's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	char *end;
	long want;
	int fd;

	if (argc < 5 || strcmp(argv[3], "--")) {
		fprintf(stderr, "usage: tapfd NAME FD -- COMMAND...\n");
		return 2;
	}
	want = strtol(argv[2], &end, 10);
	if (*end || want < 3 || want > 1000 || strlen(argv[1]) >= IFNAMSIZ) {
		fprintf(stderr, "tapfd: bad name or descriptor number\n");
		return 2;
	}
	fd = open("/dev/net/tun", O_RDWR);
	strcpy(ifr.ifr_name, argv[1]);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tapfd: cannot attach tap %s: %s\n", argv[1],
			strerror(errno));
		return 2;
	}
	if (fd != want && (dup2(fd, (int)want) < 0 || close(fd) < 0)) {
		fprintf(stderr, "tapfd: dup2: %s\n", strerror(errno));
		return 2;
	}
	execvp(argv[4], argv + 4);
	fprintf(stderr, "tapfd: cannot run %s: %s\n", argv[4], strerror(errno));
	return 2;
}
