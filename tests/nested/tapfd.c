// SPDX-License-Identifier: GPL-2.0
/*
 * tapfd NAME FD[:FD...] -- COMMAND...: attaches the tap NAME (IFF_TAP,
 * IFF_NO_PI, IFF_VNET_HDR) on descriptor FD, one queue per FD (with
 * IFF_MULTI_QUEUE when there are several), and runs COMMAND with them, as
 * an orchestrator (Kata) opens a VM's tap and hands it to the VMM over
 * the API socket: `tapfd ctap0 3:4 -- devisor remote ... add-net
 * fd=3,fd=4,num_queues=4`.
 * tapfd --mq NAME: makes NAME a persistent multi-queue tap (as `ip
 * tuntap add NAME mode tap multi_queue vnet_hdr`, which L2's busybox
 * cannot) and exits.
 * Built static by tests/nested/run, installed as /bin/tapfd in L2. Exit
 * status 2 with a message when the tap cannot be attached, else
 * COMMAND's.
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

#define MAX_FDS 8

/* One queue of tap @name on a new descriptor, or -1 after a message. */
static int attach(const char *name, short flags)
{
	struct ifreq ifr = { .ifr_flags = flags };
	int fd = open("/dev/net/tun", O_RDWR);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tapfd: cannot attach tap %s: %s\n", name,
			strerror(errno));
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	short flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	long want[MAX_FDS];
	int n = 0, fds[MAX_FDS], fd;
	char *p, *end;

	if (argc == 3 && !strcmp(argv[1], "--mq")) {
		fd = attach(argv[2], flags | IFF_MULTI_QUEUE);
		if (fd < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
			fprintf(stderr, "tapfd: cannot keep tap %s: %s\n",
				argv[2], strerror(errno));
			return 2;
		}
		return 0;
	}
	if (argc < 5 || strcmp(argv[3], "--") || strlen(argv[1]) >= IFNAMSIZ) {
		fprintf(stderr, "usage: tapfd NAME FD[:FD...] -- COMMAND...\n"
				"       tapfd --mq NAME\n");
		return 2;
	}
	for (p = argv[2]; n < MAX_FDS; p = end + 1) {
		want[n] = strtol(p, &end, 10);
		if (end == p || (*end && *end != ':') || want[n] < 3 ||
		    want[n] > 1000) {
			fprintf(stderr, "tapfd: bad descriptor numbers %s\n",
				argv[2]);
			return 2;
		}
		n++;
		if (!*end)
			break;
	}
	if (n > 1)
		flags |= IFF_MULTI_QUEUE;
	/* All opened first: a new descriptor may take a wanted number. */
	for (int i = 0; i < n; i++) {
		fds[i] = attach(argv[1], flags);
		if (fds[i] < 0)
			return 2;
		fd = fcntl(fds[i], F_DUPFD, 1001);
		if (fd < 0 || close(fds[i]) < 0) {
			fprintf(stderr, "tapfd: dup: %s\n", strerror(errno));
			return 2;
		}
		fds[i] = fd;
	}
	for (int i = 0; i < n; i++)
		if (dup2(fds[i], (int)want[i]) < 0 || close(fds[i]) < 0) {
			fprintf(stderr, "tapfd: dup2: %s\n", strerror(errno));
			return 2;
		}
	execvp(argv[4], argv + 4);
	fprintf(stderr, "tapfd: cannot run %s: %s\n", argv[4], strerror(errno));
	return 2;
}
