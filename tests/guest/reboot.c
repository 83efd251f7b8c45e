// SPDX-License-Identifier: GPL-2.0
/*
 * A reboot that keeps the disk: on its first boot the guest finds sector 0
 * of its virtio-blk disk blank, writes a marker with a boot count there,
 * flushes and asks for a reset (i8042 pulse, `via=kbd`, default; or the
 * FADT's ACPI reset register, `via=acpi`). devisor's default `--on-reset
 * reboot` boots it again from scratch; the guest finds the marker and
 * exits PASS on boot `boots=N` (default 2).
 */
#include "blk.h"

/* src/hw/acpi_pm.h: what the FADT's RESET_REG names. */
#define ACPI_RESET_PORT 0x606
#define ACPI_RESET_VALUE 0x06

#define MARK "devisor-reboot-test boot="

static uint8_t pool[256 << 10] __attribute__((aligned(4096)));
static uint8_t sector[SECTOR_SIZE] __attribute__((aligned(4096)));

static void reset(void)
{
	char via[8] = "kbd";

	cmdline_arg("via", via, sizeof(via));
	if (!strcmp(via, "acpi")) {
		outb(ACPI_RESET_VALUE, ACPI_RESET_PORT);
	} else {
		outb(0xfe, 0x64); /* pulse the reset line */
	}
}

int guest_main(void)
{
	char arg[8];
	unsigned long boot = 1, want = 2, n;
	struct blk b;
	int st;

	if (cmdline_arg("boots", arg, sizeof(arg)) >= 0 &&
	    !parse_ulong(arg, &want)) {
		puts("reboot: boots=N wants a number");
		return GUEST_FAIL;
	}
	dma_pool_init(pool, sizeof(pool));
	if (!blk_open(&b, 1ull << VIRTIO_BLK_F_FLUSH, 16, 2)) {
		puts("reboot: no virtio-blk disk");
		return GUEST_FAIL;
	}
	st = blk_rw(&b, VIRTIO_BLK_T_IN, 0, sector, SECTOR_SIZE);
	if (st != VIRTIO_BLK_S_OK) {
		printf("reboot: reading sector 0: %s\n", blk_status_str(st));
		return GUEST_FAIL;
	}
	if (!memcmp(sector, MARK, strlen(MARK)) &&
	    parse_ulong((char *)sector + strlen(MARK), &n))
		boot = n + 1;
	printf("reboot: boot %lu of %lu\n", boot, want);
	if (boot >= want) {
		puts("reboot: came back with the disk as written: OK");
		return GUEST_PASS;
	}
	memset(sector, 0, sizeof(sector));
	snprintf((char *)sector, sizeof(sector), MARK "%lu", boot);
	if (blk_rw(&b, VIRTIO_BLK_T_OUT, 0, sector, SECTOR_SIZE) ||
	    blk_rw(&b, VIRTIO_BLK_T_FLUSH, 0, NULL, 0)) {
		puts("reboot: cannot write the marker");
		return GUEST_FAIL;
	}
	puts("reboot: resetting");
	reset();
	/* The reset ends this VM; reaching here means it did not. */
	for (unsigned int i = 0; i < 100000000; i++)
		asm volatile("pause");
	puts("reboot: still running after the reset request");
	return GUEST_FAIL;
}
