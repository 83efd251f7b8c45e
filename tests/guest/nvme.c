// SPDX-License-Identifier: GPL-2.0
/*
 * devisor's NVMe function (`--nvme`), driven by a polled driver: find the
 * function by class 01:08:02, enable it, bring the controller up (admin
 * queue, CC.EN), Identify the controller and the namespace, create an I/O
 * queue pair without interrupts, write 128 sectors with a PRP list, flush,
 * read them back through a PRP list laid out differently (PRP1 at an
 * offset into its page), compare; then hostile commands that must fail
 * with the spec's status and leave the controller working: PRPs and PRP
 * lists outside RAM, an unknown opcode, an LBA past the end, a doorbell
 * of a queue that does not exist. Ends with a shutdown (CC.SHN).
 *
 * Command line:
 *   pattern=N  seed of the pattern (default 1); each 16-byte line of sector
 *              S is printf("%04x%09lx%02x\n", N & 0xffff, S, line), as
 *              virtio_blk writes it, so the host can check the image
 *   serial=S   Identify's serial number must be S (padded with spaces)
 *   boots=N    count boots in sector 0 and reset (i8042) with the
 *              controller live and an I/O queue pair in place, until
 *              boot N, which runs the test: devisor tears the function
 *              down and builds it afresh on every reboot
 */
#include "nvme.h"
#include "tsc.h"

#define PAGE NVME_PAGE
#define SECTOR 512u
#define RUN_LBA 128u
#define RUN_PAGES 16u /* 64 KiB: 128 sectors */
#define QSIZE 16u

/* Status codes (SC | SCT << 8) */
#define S_OK 0x000
#define S_INVALID_OPCODE 0x001
#define S_DATA_XFER 0x004
#define S_LBA_RANGE 0x080

/* Not RAM with the default 512 MiB: the 32-bit PCI window, unused part. */
#define NOT_RAM 0xdff00000ull

static uint8_t asq[PAGE] __attribute__((aligned(PAGE)));
static uint8_t acq[PAGE] __attribute__((aligned(PAGE)));
static uint8_t iosq[PAGE] __attribute__((aligned(PAGE)));
static uint8_t iocq[PAGE] __attribute__((aligned(PAGE)));
static uint8_t idbuf[PAGE] __attribute__((aligned(PAGE)));
static uint64_t list[PAGE / 8] __attribute__((aligned(PAGE)));
static uint8_t wbuf[RUN_PAGES * PAGE] __attribute__((aligned(PAGE)));
/* One page more: the read starts 512 bytes into its first page. */
static uint8_t rbuf[(RUN_PAGES + 1) * PAGE] __attribute__((aligned(PAGE)));

static struct nvme nv = { .name = "nvme" };
static unsigned int seed = 1;

/* The CID is nvme_exec()'s. */
static void sqe(uint32_t *e, uint8_t opc, uint32_t nsid, uint64_t prp1,
		uint64_t prp2)
{
	nvme_sqe(e, opc, 0, nsid, prp1, prp2);
}

static bool expect(const char *what, int got, int want)
{
	if (got == want)
		return true;
	printf("nvme: %s: status %#x, want %#x\n", what, got, want);
	return false;
}

static void fill_sector(uint8_t *p, uint64_t s)
{
	char line[20];

	for (unsigned int k = 0; k < SECTOR / 16; k++) {
		snprintf(line, sizeof(line), "%04x%09lx%02x\n", seed & 0xffff,
			 (unsigned long)(s & 0xfffffffffull), k);
		memcpy(p + 16 * k, line, 16);
	}
}

static bool identify(uint32_t *nsze_lo)
{
	char want[24], sn[21], mn[13];
	uint32_t e[16];
	int n;

	memset(idbuf, 0, sizeof(idbuf));
	sqe(e, 0x06, 0, nvme_pa(idbuf), 0);
	e[10] = 1; /* CNS 1: controller */
	if (!expect("identify controller", nvme_exec(&nv, 0, e), S_OK))
		return false;
	memcpy(sn, idbuf + 4, 20);
	sn[20] = 0;
	memcpy(mn, idbuf + 24, 12);
	mn[12] = 0;
	printf("nvme: VID %04x SN '%s' MN '%s'\n", idbuf[0] | idbuf[1] << 8, sn,
	       mn);
	if ((idbuf[0] | idbuf[1] << 8) != 0x1af4 ||
	    strcmp(mn, "devisor NVMe")) {
		puts("nvme: wrong VID or model");
		return false;
	}
	n = cmdline_arg("serial", want, sizeof(want));
	if (n >= 0) {
		while (n < 20)
			want[n++] = ' ';
		want[20] = 0;
		if (strcmp(sn, want)) {
			printf("nvme: serial '%s', want '%s'\n", sn, want);
			return false;
		}
	}
	memset(idbuf, 0, sizeof(idbuf));
	sqe(e, 0x06, 1, nvme_pa(idbuf), 0);
	e[10] = 0; /* CNS 0: namespace 1 */
	if (!expect("identify namespace", nvme_exec(&nv, 0, e), S_OK))
		return false;
	memcpy(nsze_lo, idbuf, 4);
	/* FLBAS 0 -> LBA format 0 at 128: LBADS in bits 23:16. */
	if (idbuf[128 + 2] != 9) {
		printf("nvme: LBADS %u, want 9 (512-byte blocks)\n",
		       idbuf[128 + 2]);
		return false;
	}
	printf("nvme: namespace 1: %u blocks of 512 bytes\n", *nsze_lo);
	return true;
}

/* @nsec sectors at @lba through PRP1 = @buf and a PRP list of the rest. */
static int rw(bool write, uint32_t lba, uint8_t *buf, unsigned int nsec)
{
	uint64_t first = PAGE - nvme_pa(buf) % PAGE,
		 len = (uint64_t)nsec * SECTOR;
	uint64_t p = nvme_pa(buf) + first, prp2 = 0;
	unsigned int n = 0;
	uint32_t e[16];

	if (len > first + PAGE) {
		for (; p < nvme_pa(buf) + len; p += PAGE)
			list[n++] = p;
		prp2 = nvme_pa(list);
	} else if (len > first) {
		prp2 = p;
	}
	sqe(e, write ? 0x01 : 0x02, 1, nvme_pa(buf), prp2);
	e[10] = lba;
	e[12] = nsec - 1;
	return nvme_exec(&nv, 1, e);
}

static bool round_trip(void)
{
	uint8_t *r = rbuf + 512;
	uint32_t e[16];

	for (unsigned int i = 0; i < RUN_PAGES * PAGE / SECTOR; i++)
		fill_sector(wbuf + i * SECTOR, RUN_LBA + i);
	if (!expect("write 128 sectors", rw(true, RUN_LBA, wbuf, 128), S_OK))
		return false;
	sqe(e, 0x00, 1, 0, 0); /* Flush */
	if (!expect("flush", nvme_exec(&nv, 1, e), S_OK))
		return false;
	memset(rbuf, 0, sizeof(rbuf));
	if (!expect("read 128 sectors", rw(false, RUN_LBA, r, 128), S_OK))
		return false;
	for (unsigned int i = 0; i < RUN_PAGES * PAGE; i++) {
		if (r[i] != wbuf[i]) {
			printf("nvme: read back differs at byte %u: %#x, want %#x\n",
			       i, r[i], wbuf[i]);
			return false;
		}
	}
	puts("nvme: wrote/read 128 sectors OK");
	return true;
}

static bool hostile(uint32_t nsze)
{
	uint32_t e[16];

	/* PRP1 outside RAM. */
	sqe(e, 0x02, 1, NOT_RAM, 0);
	e[10] = RUN_LBA;
	if (!expect("read into PRP1 outside RAM", nvme_exec(&nv, 1, e),
		    S_DATA_XFER))
		return false;
	/* A PRP list whose entries are outside RAM. */
	list[0] = NOT_RAM;
	list[1] = NOT_RAM + PAGE;
	sqe(e, 0x02, 1, nvme_pa(rbuf), nvme_pa(list));
	e[10] = RUN_LBA;
	e[12] = 3 * PAGE / SECTOR - 1;
	if (!expect("read through a PRP list outside RAM", nvme_exec(&nv, 1, e),
		    S_DATA_XFER))
		return false;
	/* The PRP list itself outside RAM. */
	sqe(e, 0x01, 1, nvme_pa(wbuf), NOT_RAM);
	e[10] = RUN_LBA;
	e[12] = 3 * PAGE / SECTOR - 1;
	if (!expect("write with its PRP list outside RAM", nvme_exec(&nv, 1, e),
		    S_DATA_XFER))
		return false;
	/* Unknown opcode, LBA past the end. */
	sqe(e, 0x7e, 1, 0, 0);
	if (!expect("unknown opcode", nvme_exec(&nv, 1, e), S_INVALID_OPCODE))
		return false;
	sqe(e, 0x02, 1, nvme_pa(rbuf), 0);
	e[10] = nsze;
	if (!expect("read past the end", nvme_exec(&nv, 1, e), S_LBA_RANGE))
		return false;
	/* Doorbells of queues that do not exist: an event, nothing else. */
	nvme_wr32(&nv, nvme_sq_db(&nv, 9), 5);
	nvme_wr32(&nv, nvme_cq_db(&nv, 30), 5);
	if (nvme_rd32(&nv, NVME_CSTS) & NVME_CSTS_CFS) {
		puts("nvme: controller fatal status after bad doorbells");
		return false;
	}
	puts("nvme: hostile commands failed as they should");
	/* And it still works: the run reads back. */
	memset(rbuf, 0, sizeof(rbuf));
	if (!expect("read after the hostile ones", rw(false, RUN_LBA, rbuf, 8),
		    S_OK) ||
	    memcmp(rbuf, wbuf, 8 * SECTOR)) {
		puts("nvme: read after the hostile commands failed");
		return false;
	}
	return true;
}

/*
 * boots=N: sector 0 holds "NVBOOT n"; bump it (write + flush) and reset
 * until n == N. Returns false on failure; true once this is boot N.
 */
static bool count_boots(unsigned int want)
{
	unsigned long n = 0;
	uint32_t e[16];

	memset(rbuf, 0, SECTOR);
	if (!expect("read the boot count", rw(false, 0, rbuf, 1), S_OK))
		return false;
	if (!memcmp(rbuf, "NVBOOT ", 7) && !parse_ulong((char *)rbuf + 7, &n))
		n = 0;
	n++;
	memset(wbuf, 0, SECTOR);
	snprintf((char *)wbuf, SECTOR, "NVBOOT %lu", n);
	if (!expect("write the boot count", rw(true, 0, wbuf, 1), S_OK))
		return false;
	sqe(e, 0x00, 1, 0, 0);
	if (!expect("flush the boot count", nvme_exec(&nv, 1, e), S_OK))
		return false;
	printf("nvme: boot %lu of %u\n", n, want);
	if (n >= want)
		return true;
	/* Reset with the controller enabled and its queues in place. */
	outb(0xfe, 0x64);
	for (uint64_t d = tsc_deadline_ms(5000); !tsc_passed(d);)
		cpu_relax();
	puts("nvme: still running after the reset request");
	return false;
}

static bool shutdown(void)
{
	uint64_t deadline = tsc_deadline_ms(10000);

	nvme_wr32(&nv, NVME_CC, nvme_rd32(&nv, NVME_CC) | NVME_CC_SHN_NORMAL);
	while (NVME_CSTS_SHST(nvme_rd32(&nv, NVME_CSTS)) != 2) {
		if (tsc_passed(deadline)) {
			printf("nvme: shutdown not complete (CSTS %#x)\n",
			       nvme_rd32(&nv, NVME_CSTS));
			return false;
		}
		cpu_relax();
	}
	puts("nvme: shutdown complete");
	return true;
}

int guest_main(void)
{
	char buf[24];
	unsigned long v;
	uint32_t nsze = 0;

	if (cmdline_arg("pattern", buf, sizeof(buf)) >= 0) {
		if (!parse_ulong(buf, &v)) {
			printf("nvme: bad pattern=%s\n", buf);
			return GUEST_FAIL;
		}
		seed = (unsigned int)v;
	}
	if (!nvme_find(&nv) || !nvme_enable(&nv, asq, acq, QSIZE) ||
	    !identify(&nsze) || nvme_create_io_queues(&nv, iosq, iocq, QSIZE))
		return GUEST_FAIL;
	if (cmdline_arg("boots", buf, sizeof(buf)) >= 0 &&
	    (!parse_ulong(buf, &v) || !count_boots((unsigned int)v)))
		return GUEST_FAIL;
	if (!round_trip() || !hostile(nsze) || !shutdown())
		return GUEST_FAIL;
	puts("nvme: OK");
	return GUEST_PASS;
}
