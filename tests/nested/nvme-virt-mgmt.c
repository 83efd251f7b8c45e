// SPDX-License-Identifier: GPL-2.0
/*
 * L2 helper for the passthrough fixture's SR-IOV: nvme-cli's
 * "virt-mgmt" and "list-secondary" in one small static binary, since L2
 * has no nvme-cli.
 *
 *   nvme-virt-mgmt /dev/nvmeN list
 *       prints "scid=ID vfn=N state=online|offline vq=N vi=N" per
 *       secondary controller (Identify CNS 15h)
 *   nvme-virt-mgmt /dev/nvmeN CNTLID ACT [RT NR]
 *       Virtualization Management: ACT 8 assign NR resources of type RT
 *       (0 queues, 1 interrupts), 9 online, 7 offline
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nvme_ioctl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int admin(int fd, struct nvme_admin_cmd *c)
{
	int ret = ioctl(fd, NVME_IOCTL_ADMIN_CMD, c);

	if (ret < 0) {
		perror("NVME_IOCTL_ADMIN_CMD");
		return 1;
	}
	if (ret) {
		fprintf(stderr, "nvme status %#x\n", ret);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct nvme_admin_cmd c;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: %s /dev/nvmeN list | CNTLID ACT [RT NR]\n",
			argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	memset(&c, 0, sizeof(c));
	if (!strcmp(argv[2], "list")) {
		static uint8_t buf[4096];
		unsigned int n;

		c.opcode = 0x06; /* Identify */
		c.addr = (uintptr_t)buf;
		c.data_len = sizeof(buf);
		c.cdw10 = 0x15; /* Secondary Controller List */
		if (admin(fd, &c))
			return 1;
		n = buf[0];
		for (unsigned int i = 0; i < n && i < 127; i++) {
			const uint8_t *e = buf + 32 + 32 * i;

			printf("scid=%u vfn=%u state=%s vq=%u vi=%u\n",
			       e[0] | e[1] << 8, e[8] | e[9] << 8,
			       e[4] & 1 ? "online" : "offline",
			       e[10] | e[11] << 8, e[12] | e[13] << 8);
		}
		return 0;
	}
	if (argc != 4 && argc != 6) {
		fprintf(stderr, "%s: CNTLID ACT [RT NR]\n", argv[0]);
		return 2;
	}
	c.opcode = 0x1c; /* Virtualization Management */
	c.cdw10 = (uint32_t)strtoul(argv[3], NULL, 0) |
		  (argc == 6 ? (uint32_t)strtoul(argv[4], NULL, 0) << 8 : 0) |
		  (uint32_t)strtoul(argv[2], NULL, 0) << 16;
	c.cdw11 = argc == 6 ? (uint32_t)strtoul(argv[5], NULL, 0) : 0;
	return admin(fd, &c);
}
