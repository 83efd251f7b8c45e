// SPDX-License-Identifier: GPL-2.0
/*
 * The NVMe PCI function: a fake guest enumerates it through ECAM, maps
 * BAR0 and drives the controller the way Linux's nvme driver does (MSI-X
 * table, CC.EN, admin Identify, an I/O queue pair, PRP lists), with a raw
 * image behind the synchronous engine and completions reaped on a real
 * I/O thread. No KVM: INTx arrives through vm->irq_set, MSI-X messages
 * through vm->irq_ops (routes refused, so every message is a
 * KVM_SIGNAL_MSI the recorder sees). Also FLR, the VM's reset, power
 * states, a hostile PRP and teardown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "arch/x86/machine.h"
#include "backend/block.h"
#include "bus/device.h"
#include "hw/nvme/pci.h"
#include "kvm/vm.h"
#include "pci/msix.h"
#include "pci/pci.h"
#include "util/evloop.h"

#include "helpers/nvme_driver.h"
#include "helpers/pci_fixture.h"

#define RAM_SIZE (64ull << 20)
#define PAGE 4096ull
#define IMG_SIZE (1u << 20)
#define MSI_ADDR 0xfee00000ull

#define ASQ_GPA 0x10000ull
#define ACQ_GPA 0x11000ull
#define AQ_SIZE 16
#define IOSQ_GPA 0x12000ull
#define IOCQ_GPA 0x13000ull
#define IOQ_SIZE 16
#define ID_GPA 0x20000ull
#define LIST_GPA 0x30000ull
#define WBUF_GPA 0x100000ull /* write data: pages 0, 2, 4, ... */
#define RBUF_GPA 0x200000ull
#define NOT_RAM (PCI_HOLE_START + 0x1000)
#define DBS_GPA 0x40000ull /* shadow doorbells */
#define EIS_GPA 0x41000ull /* event indexes */

struct q {
	uint64_t base;
	uint16_t size, idx;
	bool phase;
};

struct fix {
	struct pci_fix pf; /* bar: BAR 0 */
	struct nvme_pci *np;
	char path[64];
	unsigned int msix_cap, pm_cap, pcie_cap;
	struct q sq[2], cq[2];
	uint16_t cid;
	bool dbbuf; /* I/O queue doorbells go to the shadow first */
};

/* MSI-X vector v's message carries data 0x40 + v. */
static unsigned int msgs_for(unsigned int v)
{
	return pf_msgs_with(MSI_ADDR, 0x40 + v);
}

/* ---- guest access ---- */

static void *hva(struct fix *f, uint64_t gpa, uint64_t len)
{
	void *p = gpa_to_hva(&f->pf.vm.mem, gpa, len);

	assert_non_null(p);
	return p;
}

static void wr64g(struct fix *f, uint64_t gpa, uint64_t v)
{
	v = htole64(v);
	memcpy(hva(f, gpa, 8), &v, 8);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_nsec = ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- the driver ---- */

static void find_caps(struct fix *f)
{
	unsigned int pos = pf_cfg_rd(&f->pf, PCI_CAPABILITY_LIST, 1);
	int guard = 48;

	f->msix_cap = f->pm_cap = f->pcie_cap = 0;
	while (pos && guard--) {
		switch (pf_cfg_rd(&f->pf, pos, 1)) {
		case PCI_CAP_ID_MSIX:
			f->msix_cap = pos;
			break;
		case PCI_CAP_ID_PM:
			f->pm_cap = pos;
			break;
		case PCI_CAP_ID_EXP:
			f->pcie_cap = pos;
			break;
		}
		pos = pf_cfg_rd(&f->pf, pos + 1, 1);
	}
}

static void msix_program(struct fix *f, unsigned int v)
{
	uint64_t e = NVME_PCI_MSIX_TABLE + 16 * v;

	pf_wr(&f->pf, e + PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)MSI_ADDR, 4);
	pf_wr(&f->pf, e + PCI_MSIX_ENTRY_UPPER_ADDR, 0, 4);
	pf_wr(&f->pf, e + PCI_MSIX_ENTRY_DATA, 0x40 + v, 4);
	pf_wr(&f->pf, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 0, 4);
}

static void msix_enable(struct fix *f, bool on)
{
	uint16_t flags = pf_cfg_rd(&f->pf, f->msix_cap + PCI_MSIX_FLAGS, 2);

	if (on)
		flags |= PCI_MSIX_FLAGS_ENABLE;
	else
		flags &= ~PCI_MSIX_FLAGS_ENABLE;
	pf_cfg_wr(&f->pf, f->msix_cap + PCI_MSIX_FLAGS, flags, 2);
}

static void map_bar(struct fix *f)
{
	f->pf.bar = (pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_0, 4) & ~0xfull) |
		    (uint64_t)pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_1, 4) << 32;
	assert_true(f->pf.bar != 0);
	pf_cfg_wr(&f->pf, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
		  2);
}

static void q_init(struct q *q, uint64_t base, uint16_t size)
{
	*q = (struct q){ .base = base, .size = size, .phase = true };
}

static void enable_ctrl(struct fix *f)
{
	memset(hva(f, ACQ_GPA, AQ_SIZE * 16), 0, AQ_SIZE * 16);
	pf_wr(&f->pf, AQA, (AQ_SIZE - 1) << 16 | (AQ_SIZE - 1), 4);
	/* Linux: lo_hi_writeq. */
	pf_wr(&f->pf, ASQ, (uint32_t)ASQ_GPA, 4);
	pf_wr(&f->pf, ASQ + 4, ASQ_GPA >> 32, 4);
	pf_wr(&f->pf, ACQ, (uint32_t)ACQ_GPA, 4);
	pf_wr(&f->pf, ACQ + 4, ACQ_GPA >> 32, 4);
	pf_wr(&f->pf, CC, CC_READY_BITS, 4);
	assert_int_equal(pf_rd(&f->pf, CSTS, 4) & 3, 1);
	q_init(&f->sq[0], ASQ_GPA, AQ_SIZE);
	q_init(&f->cq[0], ACQ_GPA, AQ_SIZE);
	f->cid = 0;
}

static void cmd(struct fix *f, uint32_t *e, uint8_t opc, uint32_t nsid,
		uint64_t prp1, uint64_t prp2)
{
	nvme_sqe_init(e, opc, ++f->cid, nsid);
	nvme_sqe_prp(e, prp1, prp2);
}

/* Shadow doorbell @qid (the CQ's if @cq) to @v, as Linux writes it. */
static void set_shadow(struct fix *f, unsigned int qid, bool cq, uint32_t v)
{
	v = htole32(v);
	memcpy(hva(f, DBS_GPA + (2 * qid + cq) * 4, 4), &v, 4);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void submit(struct fix *f, unsigned int qid, const uint32_t *e)
{
	struct q *q = &f->sq[qid];

	nvme_sqe_store(hva(f, q->base + (uint64_t)q->idx * 64, 64), e);
	q->idx = (uint16_t)((q->idx + 1) % q->size);
	if (f->dbbuf && qid)
		set_shadow(f, qid, false, q->idx);
	pf_wr(&f->pf, SQTDBL(qid), q->idx, 4);
}

/* Waits up to five seconds for the next CQE; returns its status field. */
static int reap(struct fix *f, unsigned int qid, bool ring, uint16_t *cid)
{
	struct q *q = &f->cq[qid];

	for (int i = 0; i < 5000; i++) {
		uint32_t dw3;

		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		memcpy(&dw3, hva(f, q->base + (uint64_t)q->idx * 16 + 12, 4),
		       4);
		dw3 = le32toh(dw3);
		if (((dw3 >> 16) & 1) == q->phase) {
			if (cid)
				*cid = (uint16_t)dw3;
			q->idx = (uint16_t)((q->idx + 1) % q->size);
			if (!q->idx)
				q->phase = !q->phase;
			if (ring && f->dbbuf && qid)
				set_shadow(f, qid, true, q->idx);
			if (ring)
				pf_wr(&f->pf, CQHDBL(qid), q->idx, 4);
			return (dw3 >> 17) & 0x7ff;
		}
		sleep_ms(1);
	}
	return -1;
}

static int exec(struct fix *f, unsigned int qid, const uint32_t *e)
{
	uint16_t cid = 0;
	int st;

	submit(f, qid, e);
	st = reap(f, qid, true, &cid);
	if (st >= 0)
		assert_int_equal(cid, e[0] >> 16);
	return st;
}

static int identify(struct fix *f, uint8_t cns)
{
	uint32_t e[16];

	memset(hva(f, ID_GPA, PAGE), 0, PAGE);
	cmd(f, e, 0x06, cns == 0 ? 1 : 0, ID_GPA, 0);
	e[10] = cns;
	return exec(f, 0, e);
}

static void io_queues(struct fix *f)
{
	uint32_t e[16];

	memset(hva(f, IOCQ_GPA, IOQ_SIZE * 16), 0, IOQ_SIZE * 16);
	cmd(f, e, 0x05, 0, IOCQ_GPA, 0); /* Create I/O CQ 1, vector 1 */
	e[10] = (IOQ_SIZE - 1) << 16 | 1;
	e[11] = 1u << 16 | 3;
	assert_int_equal(exec(f, 0, e), 0);
	cmd(f, e, 0x01, 0, IOSQ_GPA, 0); /* Create I/O SQ 1 on CQ 1 */
	e[10] = (IOQ_SIZE - 1) << 16 | 1;
	e[11] = 1u << 16 | 1;
	assert_int_equal(exec(f, 0, e), 0);
	q_init(&f->sq[1], IOSQ_GPA, IOQ_SIZE);
	q_init(&f->cq[1], IOCQ_GPA, IOQ_SIZE);
}

/*
 * 3 pages + 512 bytes at LBA @slba through a PRP list: the buffer's pages
 * are every other page from @gpa, so nothing is contiguous.
 */
static int rw(struct fix *f, bool write, uint64_t slba, uint64_t gpa)
{
	uint32_t e[16];
	unsigned int len = 3 * PAGE + 512;

	for (unsigned int i = 1; i < 4; i++)
		wr64g(f, LIST_GPA + 8 * (i - 1), gpa + 2 * i * PAGE);
	cmd(f, e, write ? 0x01 : 0x02, 1, gpa, LIST_GPA);
	e[10] = (uint32_t)slba;
	e[12] = len / 512 - 1;
	return exec(f, 1, e);
}

static void fill(struct fix *f, uint64_t gpa, unsigned int seed)
{
	for (unsigned int p = 0; p < 4; p++) {
		uint8_t *b = hva(f, gpa + 2 * p * PAGE, PAGE);

		for (unsigned int i = 0; i < PAGE; i++)
			b[i] = (uint8_t)(i * 7 + p * 31 + seed);
	}
}

static bool same(struct fix *f, uint64_t a, uint64_t b)
{
	unsigned int len = 3 * PAGE + 512;

	for (unsigned int p = 0; p < 4; p++) {
		unsigned int n = len < PAGE ? len : PAGE;

		if (memcmp(hva(f, a + 2 * p * PAGE, n),
			   hva(f, b + 2 * p * PAGE, n), n))
			return false;
		len -= n;
	}
	return true;
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct blk_options bo = { .engine = BLK_ENGINE_SYNC,
				  .serial = "DVS-PCI-TEST" };
	struct nvme_config nc = { .name = "nvme-t" };
	struct blk_backend *be;
	int fd;

	assert_non_null(f);
	/* Routes refused: every message is a KVM_SIGNAL_MSI. */
	pf_init(&f->pf, RAM_SIZE, false);

	snprintf(f->path, sizeof(f->path), "/tmp/devisor-nvme-pci-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, IMG_SIZE), 0);
	close(fd);
	be = blk_open(f->path, &bo);
	assert_non_null(be);
	f->np = nvme_pci_create(&f->pf.vm, &f->pf.host, be, &nc, f->pf.loop,
				-1);
	assert_non_null(f->np);

	/* Enumerate like firmware: the NVMe class on bus 0. */
	for (unsigned int slot = 1; slot < 32; slot++) {
		f->pf.devfn = PCI_DEVFN(slot, 0);
		if (pf_cfg_rd(&f->pf, PCI_CLASS_REVISION, 4) >> 8 == 0x010802)
			break;
	}
	assert_int_equal(f->pf.devfn, nvme_pci_pdev(f->np)->devfn);
	find_caps(f);
	map_bar(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	/* The function (newest), then the host; the loop outlives both. */
	pf_destroy(&f->pf);
	unlink(f->path);
	free(f);
	return 0;
}

/* MSI-X on vectors 0 and 1, the controller enabled. */
static void bring_up_msix(struct fix *f)
{
	msix_program(f, 0);
	msix_program(f, 1);
	msix_enable(f, true);
	enable_ctrl(f);
}

/* ---- tests ---- */

static void test_identity(void **state)
{
	struct fix *f = *state;
	uint32_t table, pba, lo, hi;

	assert_int_equal(pf_cfg_rd(&f->pf, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_DEVICE_ID, 2), NVME_PCI_DEVICE);
	assert_true(NVME_PCI_DEVICE < 0x1000 || NVME_PCI_DEVICE > 0x107f);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_CLASS_REVISION, 4) >> 8,
			 0x010802);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_SUBSYSTEM_ID, 2),
			 NVME_PCI_SUBSYS_ID);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_INTERRUPT_PIN, 1), 1);
	assert_true(pf_cfg_rd(&f->pf, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);

	/* BAR0: 64-bit, non-prefetchable memory, 16 KiB (sized with ~0). */
	lo = pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_0, 4);
	hi = pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_1, 4);
	assert_int_equal(lo & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
	pf_cfg_wr(&f->pf, PCI_COMMAND, 0, 2);
	pf_cfg_wr(&f->pf, PCI_BASE_ADDRESS_0, ~0u, 4);
	pf_cfg_wr(&f->pf, PCI_BASE_ADDRESS_1, ~0u, 4);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_0, 4) & ~0xfu,
			 (uint32_t) ~(NVME_BAR0_SIZE - 1));
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_1, 4), ~0u);
	pf_cfg_wr(&f->pf, PCI_BASE_ADDRESS_0, lo, 4);
	pf_cfg_wr(&f->pf, PCI_BASE_ADDRESS_1, hi, 4);
	/* No other BAR. */
	for (unsigned int b = 2; b < 6; b++)
		assert_int_equal(
			pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_0 + 4 * b, 4), 0);
	map_bar(f);

	/* MSI-X: a vector per CQ (admin + 64 I/O), table and PBA in BAR0. */
	assert_true(f->msix_cap && f->pm_cap && f->pcie_cap);
	assert_int_equal(pf_cfg_rd(&f->pf, f->msix_cap + PCI_MSIX_FLAGS, 2) &
				 PCI_MSIX_FLAGS_QSIZE,
			 NVME_MAX_IOQ);
	table = pf_cfg_rd(&f->pf, f->msix_cap + PCI_MSIX_TABLE, 4);
	pba = pf_cfg_rd(&f->pf, f->msix_cap + PCI_MSIX_PBA, 4);
	assert_int_equal(table, NVME_PCI_MSIX_TABLE | 0);
	assert_int_equal(pba, NVME_PCI_MSIX_PBA | 0);
	assert_true(NVME_PCI_MSIX_TABLE >= NVME_DB_END);
	/* Table entries start masked. */
	assert_int_equal(pf_rd(&f->pf, NVME_PCI_MSIX_TABLE + 12, 4), 1);

	/* PM 1.2, D0, No_Soft_Reset. */
	assert_int_equal(pf_cfg_rd(&f->pf, f->pm_cap + PCI_PM_PMC, 2) & 7, 3);
	assert_int_equal(pf_cfg_rd(&f->pf, f->pm_cap + PCI_PM_CTRL, 2),
			 PCI_PM_CTRL_NO_SOFT_RESET);

	/* PCIe v2 integrated endpoint with FLR; 4 KiB of config space. */
	assert_int_equal(pf_cfg_rd(&f->pf, f->pcie_cap + PCI_EXP_FLAGS, 2) &
				 0xff,
			 2 | PCI_EXP_TYPE_RC_END << 4);
	assert_true(pf_cfg_rd(&f->pf, f->pcie_cap + PCI_EXP_DEVCAP, 4) &
		    PCI_EXP_DEVCAP_FLR);
	assert_true(nvme_pci_pdev(f->np)->express);

	/* The controller is behind BAR0. */
	assert_int_equal(pf_rd(&f->pf, VS, 4), 0x00010400); /* 1.4 */
	assert_int_equal(pf_rd(&f->pf, CAP, 8) & 0xffff, 1023);
}

static void test_msix_identify_and_io(void **state)
{
	struct fix *f = *state;
	uint8_t *id;
	uint8_t img[3 * 4096 + 512];
	int fd;

	bring_up_msix(f);
	assert_int_equal(identify(f, 1), 0);
	id = hva(f, ID_GPA, PAGE);
	assert_int_equal(id[0] | id[1] << 8, 0x1af4); /* VID */
	assert_int_equal(id[2] | id[3] << 8, 0x1af4); /* SSVID */
	assert_memory_equal(id + 4, "DVS-PCI-TEST        ", 20);
	assert_memory_equal(id + 24, "devisor NVMe", 12);
	assert_true(msgs_for(0) >= 1);
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 0);

	assert_int_equal(identify(f, 0), 0);
	assert_int_equal(le64toh(*(uint64_t *)hva(f, ID_GPA, 8)),
			 IMG_SIZE / 512); /* NSZE */

	io_queues(f);
	fill(f, WBUF_GPA, 5);
	assert_int_equal(rw(f, true, 64, WBUF_GPA), 0);
	assert_true(msgs_for(1) >= 1);
	memset(hva(f, RBUF_GPA, 8 * PAGE), 0, 8 * PAGE);
	assert_int_equal(rw(f, false, 64, RBUF_GPA), 0);
	assert_true(same(f, WBUF_GPA, RBUF_GPA));
	assert_true(msgs_for(1) >= 2);

	/* It is in the image. */
	fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, img, sizeof(img), 64 * 512), sizeof(img));
	close(fd);
	assert_memory_equal(img, hva(f, WBUF_GPA, PAGE), PAGE);
	assert_memory_equal(img + PAGE, hva(f, WBUF_GPA + 2 * PAGE, PAGE),
			    PAGE);
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 0);
}

static void test_msix_masked_pending(void **state)
{
	struct fix *f = *state;
	unsigned int before;

	bring_up_msix(f);
	io_queues(f);
	/* Mask vector 1: the completion sets its PBA bit, no message. */
	pf_wr(&f->pf, NVME_PCI_MSIX_TABLE + 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 1,
	      4);
	before = msgs_for(1);
	fill(f, WBUF_GPA, 9);
	assert_int_equal(rw(f, true, 8, WBUF_GPA), 0);
	assert_int_equal(msgs_for(1), before);
	assert_int_equal(pf_rd(&f->pf, NVME_PCI_MSIX_PBA, 8) & 2, 2);
	/* Unmasking delivers it. */
	pf_wr(&f->pf, NVME_PCI_MSIX_TABLE + 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 0,
	      4);
	assert_int_equal(msgs_for(1), before + 1);
	assert_int_equal(pf_rd(&f->pf, NVME_PCI_MSIX_PBA, 8) & 2, 0);
}

static void test_intx(void **state)
{
	struct fix *f = *state;
	uint32_t e[16];

	/* No MSI-X: pin-based, a level while the admin CQ has entries. */
	enable_ctrl(f);
	memset(hva(f, ID_GPA, PAGE), 0, PAGE);
	cmd(f, e, 0x06, 0, ID_GPA, 0);
	e[10] = 1;
	submit(f, 0, e);
	assert_int_equal(reap(f, 0, false, NULL), 0);
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 1);
	assert_true(pf_cfg_rd(&f->pf, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* INTX_DISABLE holds the pin down; Status still shows it. */
	pf_cfg_wr(&f->pf, PCI_COMMAND,
		  PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			  PCI_COMMAND_INTX_DISABLE,
		  2);
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 0);
	pf_cfg_wr(&f->pf, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
		  2);
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 1);
	/* Consuming the entry drops it. */
	pf_wr(&f->pf, CQHDBL(0), f->cq[0].idx, 4);
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 0);

	/* Enabling MSI-X with an entry pending moves it off the pin. */
	submit(f, 0, e);
	assert_int_equal(reap(f, 0, false, NULL), 0);
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 1);
	msix_program(f, 0);
	msix_enable(f, true);
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 0);
	pf_wr(&f->pf, CQHDBL(0), f->cq[0].idx, 4);
	assert_int_equal(identify(f, 1), 0);
	assert_true(msgs_for(0) >= 1);
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 0);
	/* And disabling it brings the pin back. */
	msix_enable(f, false);
	submit(f, 0, e);
	assert_int_equal(reap(f, 0, false, NULL), 0);
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 1);
	pf_wr(&f->pf, CQHDBL(0), f->cq[0].idx, 4);
	assert_int_equal(pf_level(pf_intx_gsi(&f->pf)), 0);
}

/* After a reset: registers, decode, MSI-X back to power-on; it works. */
static void check_reset_then_reuse(struct fix *f)
{
	unsigned int before;

	assert_int_equal(pf_cfg_rd(&f->pf, PCI_COMMAND, 2), 0);
	assert_int_equal(pf_cfg_rd(&f->pf, f->msix_cap + PCI_MSIX_FLAGS, 2) &
				 PCI_MSIX_FLAGS_ENABLE,
			 0);
	assert_int_equal(pf_cfg_rd(&f->pf, f->pcie_cap + PCI_EXP_DEVCTL, 2) &
				 PCI_EXP_DEVCTL_BCR_FLR,
			 0);
	/* Decode is off: BAR0 is not there. */
	assert_int_equal(pf_rd(&f->pf, CSTS, 4), 0xffffffff);
	map_bar(f);
	assert_int_equal(pf_rd(&f->pf, CC, 4), 0);
	assert_int_equal(pf_rd(&f->pf, CSTS, 4), 0);
	assert_int_equal(pf_rd(&f->pf, AQA, 4), 0);
	assert_int_equal(pf_rd(&f->pf, ASQ, 8), 0);
	/* Vectors masked again. */
	assert_int_equal(pf_rd(&f->pf, NVME_PCI_MSIX_TABLE + 12, 4), 1);
	before = msgs_for(0);
	bring_up_msix(f);
	assert_int_equal(identify(f, 1), 0);
	assert_true(msgs_for(0) >= before + 1);
	io_queues(f);
	fill(f, WBUF_GPA, 3);
	assert_int_equal(rw(f, true, 16, WBUF_GPA), 0);
	assert_int_equal(rw(f, false, 16, RBUF_GPA), 0);
	assert_true(same(f, WBUF_GPA, RBUF_GPA));
}

static void test_flr(void **state)
{
	struct fix *f = *state;
	uint16_t devctl;

	bring_up_msix(f);
	io_queues(f);
	fill(f, WBUF_GPA, 1);
	assert_int_equal(rw(f, true, 0, WBUF_GPA), 0);
	devctl = pf_cfg_rd(&f->pf, f->pcie_cap + PCI_EXP_DEVCTL, 2);
	pf_cfg_wr(&f->pf, f->pcie_cap + PCI_EXP_DEVCTL,
		  devctl | PCI_EXP_DEVCTL_BCR_FLR, 2);
	check_reset_then_reuse(f);
}

/* Initiate FLR as the high byte of DEVCTL on its own. */
static void test_flr_byte(void **state)
{
	struct fix *f = *state;

	bring_up_msix(f);
	pf_cfg_wr(&f->pf, f->pcie_cap + PCI_EXP_DEVCTL + 1,
		  PCI_EXP_DEVCTL_BCR_FLR >> 8, 1);
	check_reset_then_reuse(f);
}

static void test_vm_reset(void **state)
{
	struct fix *f = *state;

	bring_up_msix(f);
	io_queues(f);
	devices_reset(&f->pf.vm);
	check_reset_then_reuse(f);
}

static void test_power_states(void **state)
{
	struct fix *f = *state;
	unsigned int pmcsr = f->pm_cap + PCI_PM_CTRL;

	pf_cfg_wr(&f->pf, pmcsr, 3, 2); /* D3hot */
	assert_int_equal(pf_cfg_rd(&f->pf, pmcsr, 2) & 3, 3);
	pf_cfg_wr(&f->pf, pmcsr, 1, 2); /* D1: not offered, stays D3hot */
	assert_int_equal(pf_cfg_rd(&f->pf, pmcsr, 2) & 3, 3);
	pf_cfg_wr(&f->pf, pmcsr, 0, 2);
	assert_int_equal(pf_cfg_rd(&f->pf, pmcsr, 2),
			 PCI_PM_CTRL_NO_SOFT_RESET); /* D0, bit kept */
	pf_cfg_wr(&f->pf, pmcsr, 2, 2); /* D2: not offered either */
	assert_int_equal(pf_cfg_rd(&f->pf, pmcsr, 2) & 3, 0);
	/* No_Soft_Reset: the controller keeps its state across D3hot. */
	enable_ctrl(f);
	pf_cfg_wr(&f->pf, pmcsr, 3, 2);
	pf_cfg_wr(&f->pf, pmcsr, 0, 2);
	assert_int_equal(pf_rd(&f->pf, CSTS, 4) & 1, 1);
}

static void test_hostile(void **state)
{
	struct fix *f = *state;
	uint32_t e[16];

	bring_up_msix(f);
	io_queues(f);
	/* PRP1 outside RAM: Data Transfer Error; the controller goes on. */
	cmd(f, e, 0x02, 1, NOT_RAM, 0);
	e[12] = 0;
	assert_int_equal(exec(f, 1, e), 0x04);
	/* A PRP list entry outside RAM. */
	wr64g(f, LIST_GPA, NOT_RAM);
	wr64g(f, LIST_GPA + 8, NOT_RAM + PAGE);
	cmd(f, e, 0x01, 1, WBUF_GPA, LIST_GPA);
	e[12] = 3 * PAGE / 512 - 1;
	assert_int_equal(exec(f, 1, e), 0x04);
	/* Doorbells of queues that do not exist, odd widths, the gap. */
	pf_wr(&f->pf, SQTDBL(40), 3, 4);
	pf_wr(&f->pf, CQHDBL(64), 3, 4);
	pf_wr(&f->pf, 0x1800, 1, 4);
	pf_wr(&f->pf, CC, 0x7, 1);
	(void)pf_rd(&f->pf, 0x1ff8, 8);
	(void)pf_rd(&f->pf, NVME_PCI_MSIX_PBA + 8, 8);
	pf_wr(&f->pf, NVME_PCI_MSIX_PBA, ~0ull, 8);
	assert_int_equal(pf_rd(&f->pf, CSTS, 4) & 3, 1);
	fill(f, WBUF_GPA, 7);
	assert_int_equal(rw(f, true, 32, WBUF_GPA), 0);
	assert_int_equal(rw(f, false, 32, RBUF_GPA), 0);
	assert_true(same(f, WBUF_GPA, RBUF_GPA));
}

/* Teardown with commands the guest never reaped and a CQ left full. */
static void test_teardown_busy(void **state)
{
	struct fix *f = *state;
	uint32_t e[16];

	bring_up_msix(f);
	io_queues(f);
	fill(f, WBUF_GPA, 2);
	for (unsigned int i = 0; i < IOQ_SIZE - 1; i++) {
		cmd(f, e, 0x01, 1, WBUF_GPA, 0);
		e[10] = i;
		submit(f, 1, e);
	}
	/* teardown() destroys it now. */
}

/* ---- SR-IOV: a PF with two VFs over slices of one image ---- */

#define SLICE IMG_SIZE

static int setup_sriov(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct blk_options bo = { .engine = BLK_ENGINE_SYNC,
				  .serial = "DVS-PF" };
	struct blk_options vbo = { .engine = BLK_ENGINE_SYNC, .shared = true };
	struct nvme_config nc = { .name = "nvme-pf", .ns_size = SLICE };
	struct nvme_config vc[2] = {
		{ .name = "nvme-v1",
		  .cntlid = 1,
		  .serial = "DVS-PF-v1",
		  .ns_offset = SLICE,
		  .ns_size = SLICE },
		{ .name = "nvme-v2",
		  .cntlid = 2,
		  .serial = "DVS-PF-v2",
		  .ns_offset = 2 * SLICE,
		  .ns_size = SLICE },
	};
	struct blk_backend *be, *vbe[2];
	int fd;

	assert_non_null(f);
	/* Routes refused: every message is a KVM_SIGNAL_MSI. */
	pf_init(&f->pf, RAM_SIZE, false);
	snprintf(f->path, sizeof(f->path), "/tmp/devisor-nvme-pci-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 3 * SLICE), 0);
	close(fd);
	be = blk_open(f->path, &bo);
	assert_non_null(be);
	for (int i = 0; i < 2; i++) {
		vbe[i] = blk_open(f->path, &vbo);
		assert_non_null(vbe[i]);
	}
	f->np = nvme_pci_create_pf(&f->pf.vm, &f->pf.host, be, &nc, f->pf.loop,
				   PCI_DEVFN(4, 0), vbe, vc, 2);
	assert_non_null(f->np);
	assert_null(vbe[0]);
	assert_int_equal(nvme_pci_nr_vfs(f->np), 2);
	f->pf.devfn = PCI_DEVFN(4, 0);
	*state = f;
	return 0;
}

static unsigned int sriov_cap(struct fix *f)
{
	unsigned int off = PCI_CFG_SPACE_SIZE;

	for (int guard = 0; off && guard < 32; guard++) {
		uint32_t hdr = pf_cfg_rd(&f->pf, off, 4);

		if ((hdr & 0xffff) == PCI_EXT_CAP_ID_SRIOV)
			return off;
		off = hdr >> 20;
	}
	fail_msg("no SR-IOV capability");
	return 0;
}

static void vfs_enable(struct fix *f, unsigned int cap, unsigned int n)
{
	f->pf.devfn = PCI_DEVFN(4, 0);
	pf_cfg_wr(&f->pf, cap + PCI_SRIOV_NUM_VF, n, 2);
	pf_cfg_wr(&f->pf, cap + PCI_SRIOV_CTRL,
		  n ? PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE : 0, 2);
}

/* Points the fixture at VF @k (1-based) as the guest would find it. */
static void use_vf(struct fix *f, unsigned int cap, unsigned int k)
{
	uint64_t base;

	f->pf.devfn = PCI_DEVFN(4, 0);
	base = (pf_cfg_rd(&f->pf, cap + PCI_SRIOV_BAR, 4) & ~0xfull) |
	       (uint64_t)pf_cfg_rd(&f->pf, cap + PCI_SRIOV_BAR + 4, 4) << 32;
	f->pf.devfn = PCI_DEVFN(4, k);
	f->pf.bar = base + (k - 1) * (uint64_t)NVME_BAR0_SIZE;
	find_caps(f);
	pf_cfg_wr(&f->pf, PCI_COMMAND, PCI_COMMAND_MASTER, 2);
}

static void test_sriov_vfs(void **state)
{
	struct fix *f = *state;
	unsigned int cap = sriov_cap(f);
	uint8_t img[PAGE];
	uint8_t *id;
	int fd;

	assert_int_equal(pf_cfg_rd(&f->pf, cap + PCI_SRIOV_TOTAL_VF, 2), 2);
	assert_int_equal(pf_cfg_rd(&f->pf, cap + PCI_SRIOV_VF_OFFSET, 4),
			 0x00010001);
	assert_int_equal(pf_cfg_rd(&f->pf, cap + PCI_SRIOV_VF_DID, 2),
			 NVME_PCI_VF_DEVICE);
	f->pf.devfn = PCI_DEVFN(4, 1);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_VENDOR_ID, 4), 0xffffffff);

	/* The PF's Secondary Controller List: VF K is controller K. */
	f->pf.devfn = PCI_DEVFN(4, 0);
	find_caps(f);
	map_bar(f);
	bring_up_msix(f);
	assert_int_equal(identify(f, 0x15), 0);
	id = hva(f, ID_GPA, PAGE);
	assert_int_equal(id[0], 2);
	for (unsigned int k = 1; k <= 2; k++) {
		uint8_t *e = id + 32 * k;

		assert_int_equal(e[0] | e[1] << 8, k); /* SCID */
		assert_int_equal(e[2] | e[3] << 8, 0); /* PCID */
		assert_int_equal(e[4], 1); /* online */
		assert_int_equal(e[8] | e[9] << 8, k); /* VFN */
	}
	{
		uint32_t e[16];

		memset(hva(f, ID_GPA, PAGE), 0, PAGE);
		cmd(f, e, 0x06, 0, ID_GPA, 0);
		e[10] = 0x15 | 2u << 16; /* from CNTID 2 */
		assert_int_equal(exec(f, 0, e), 0);
		assert_int_equal(id[0], 1);
		assert_int_equal(id[32], 2);
	}

	vfs_enable(f, cap, 2);
	for (unsigned int k = 1; k <= 2; k++) {
		use_vf(f, cap, k);
		/* VF rules: IDs 0xffff, no INTx, BAR reads 0, no SR-IOV. */
		assert_int_equal(pf_cfg_rd(&f->pf, PCI_VENDOR_ID, 4),
				 0xffffffff);
		assert_int_equal(pf_cfg_rd(&f->pf, PCI_CLASS_REVISION, 4) >> 8,
				 0x010802);
		assert_int_equal(pf_cfg_rd(&f->pf, PCI_INTERRUPT_PIN, 1), 0);
		assert_int_equal(pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_0, 4), 0);
		assert_true(f->msix_cap && f->pcie_cap);
		assert_int_equal(
			pf_cfg_rd(&f->pf, PCI_CFG_SPACE_SIZE, 4) & 0xffff, 0);
		assert_int_equal(pf_rd(&f->pf, 0x08, 4),
				 0x00010400); /* VS 1.4 */

		bring_up_msix(f);
		assert_int_equal(identify(f, 1), 0);
		id = hva(f, ID_GPA, PAGE);
		assert_memory_equal(id + 4,
				    k == 1 ? "DVS-PF-v1 " : "DVS-PF-v2 ", 10);
		assert_int_equal(id[78] | id[79] << 8, k); /* CNTLID */
		/* Only a primary lists secondaries. */
		assert_int_equal(identify(f, 0x15), 0x02);
		assert_int_equal(identify(f, 0), 0);
		assert_int_equal(le64toh(*(uint64_t *)hva(f, ID_GPA, 8)),
				 SLICE / 512); /* NSZE: its slice */
		io_queues(f);
		fill(f, WBUF_GPA, 9 + k);
		assert_int_equal(rw(f, true, 8, WBUF_GPA), 0);
		/* At the slice's start plus LBA 8 in the image. */
		fd = open(f->path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, img, PAGE, k * SLICE + 8 * 512),
				 PAGE);
		close(fd);
		assert_memory_equal(img, hva(f, WBUF_GPA, PAGE), PAGE);
	}

	/* Disabled with commands in flight on VF 2: drained, gone. */
	{
		uint32_t e[16];

		for (unsigned int i = 0; i < 4; i++) {
			cmd(f, e, 0x01, 1, WBUF_GPA, 0);
			e[10] = i;
			submit(f, 1, e);
		}
	}
	vfs_enable(f, cap, 0);
	for (unsigned int k = 1; k <= 2; k++) {
		f->pf.devfn = PCI_DEVFN(4, k);
		assert_int_equal(pf_cfg_rd(&f->pf, PCI_CLASS_REVISION, 4),
				 0xffffffff);
	}
	assert_null(pci_host_find(&f->pf.host, 0, PCI_DEVFN(4, 1)));

	/* Back again, clean: controller off, MSI-X off, BAR decoding. */
	for (unsigned int round = 0; round < 20; round++) {
		vfs_enable(f, cap, 1 + round % 2);
		use_vf(f, cap, 1);
		assert_int_equal(pf_rd(&f->pf, CSTS, 4) & 1, 0);
		assert_int_equal(pf_cfg_rd(&f->pf, f->msix_cap + PCI_MSIX_FLAGS,
					   2) &
					 PCI_MSIX_FLAGS_ENABLE,
				 0);
		vfs_enable(f, cap, 0);
	}
	/* The VM's reset with VFs enabled: they go, the PF stays. */
	vfs_enable(f, cap, 2);
	assert_non_null(pci_host_find(&f->pf.host, 0, PCI_DEVFN(4, 2)));
	devices_reset(&f->pf.vm);
	assert_null(pci_host_find(&f->pf.host, 0, PCI_DEVFN(4, 1)));
	assert_null(pci_host_find(&f->pf.host, 0, PCI_DEVFN(4, 2)));
	assert_int_equal(pf_cfg_rd(&f->pf, cap + PCI_SRIOV_CTRL, 2), 0);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_CLASS_REVISION, 4) >> 8,
			 0x010802);

	/* Teardown with VFs enabled. */
	vfs_enable(f, cap, 2);
}

static int virt_mgmt(struct fix *f, unsigned int act, unsigned int cntlid)
{
	uint32_t e[16];

	cmd(f, e, 0x1c, 0, 0, 0);
	e[10] = act | cntlid << 16;
	return exec(f, 0, e);
}

/*
 * Virtualization Management on the PF: secondary controllers go offline
 * (a VF then cannot be enabled: fatal status) and online again; no
 * flexible resources to assign; Identify CNS 14h/15h tell the state.
 */
static void test_virt_mgmt(void **state)
{
	struct fix *f = *state;
	unsigned int cap = sriov_cap(f);
	uint8_t *id = hva(f, ID_GPA, PAGE);

	f->pf.devfn = PCI_DEVFN(4, 0);
	find_caps(f);
	map_bar(f);
	bring_up_msix(f);
	assert_int_equal(identify(f, 1), 0);
	assert_true((id[256] | id[257] << 8) & 1u << 10); /* OACS.VMS */
	assert_int_equal(identify(f, 0x14), 0);
	assert_int_equal(id[0] | id[1] << 8, 0); /* CNTLID */
	assert_int_equal(id[4], 0); /* CRT: nothing flexible */

	assert_int_equal(virt_mgmt(f, 0x7, 2), 0); /* VF 2 offline */
	assert_int_equal(identify(f, 0x15), 0);
	assert_int_equal(id[32 + 4], 1);
	assert_int_equal(id[64 + 4], 0);
	/* Nothing to assign; no controller 3 or 0; unknown action. */
	assert_int_equal(virt_mgmt(f, 0x8, 1), 0x002);
	assert_int_equal(virt_mgmt(f, 0x1, 0), 0x002);
	assert_int_equal(virt_mgmt(f, 0x7, 3), 0x11f);
	assert_int_equal(virt_mgmt(f, 0x9, 0), 0x11f);
	assert_int_equal(virt_mgmt(f, 0x5, 1), 0x002);

	vfs_enable(f, cap, 2);
	use_vf(f, cap, 2);
	msix_program(f, 0);
	msix_enable(f, true);
	pf_wr(&f->pf, AQA, (AQ_SIZE - 1) << 16 | (AQ_SIZE - 1), 4);
	pf_wr(&f->pf, ASQ, (uint32_t)ASQ_GPA, 4);
	pf_wr(&f->pf, ACQ, (uint32_t)ACQ_GPA, 4);
	pf_wr(&f->pf, CC, CC_READY_BITS, 4);
	assert_int_equal(pf_rd(&f->pf, CSTS, 4) & 3, 2); /* CFS, not RDY */
	/* Only a primary manages: VF 1 (online) does not know the command. */
	use_vf(f, cap, 1);
	bring_up_msix(f);
	assert_int_equal(virt_mgmt(f, 0x9, 2), 0x001);

	/* Online again from the PF: VF 2 comes up after a disable. */
	f->pf.devfn = PCI_DEVFN(4, 0);
	find_caps(f);
	map_bar(f);
	/* The VFs' admin queues were where the PF's are: start it over. */
	pf_wr(&f->pf, CC, 0, 4);
	enable_ctrl(f);
	assert_int_equal(virt_mgmt(f, 0x9, 2), 0);
	use_vf(f, cap, 2);
	pf_wr(&f->pf, CC, 0, 4);
	assert_int_equal(pf_rd(&f->pf, CSTS, 4) & 3, 0);
	bring_up_msix(f);
	assert_int_equal(identify(f, 1), 0);
	assert_int_equal(id[78] | id[79] << 8, 2); /* CNTLID */

	/* Taken offline while enabled: reset, not ready. */
	f->pf.devfn = PCI_DEVFN(4, 0);
	find_caps(f);
	map_bar(f);
	pf_wr(&f->pf, CC, 0, 4);
	enable_ctrl(f);
	assert_int_equal(virt_mgmt(f, 0x7, 2), 0);
	use_vf(f, cap, 2);
	assert_int_equal(pf_rd(&f->pf, CSTS, 4) & 1, 0);
	/* The PF's function reset brings every secondary back online. */
	f->pf.devfn = PCI_DEVFN(4, 0);
	vfs_enable(f, cap, 0);
	devices_reset(&f->pf.vm);
	find_caps(f);
	map_bar(f);
	bring_up_msix(f);
	assert_int_equal(identify(f, 0x15), 0);
	assert_int_equal(id[64 + 4], 1);
}

/*
 * I/O SQ doorbells: an ioeventfd only with shadow doorbells on, at BAR0's
 * address, following it, gone on FLR and at teardown; I/O through it.
 */
static void test_doorbell_ioeventfd(void **state)
{
	struct fix *f = *state;
	uint64_t db1 = NVME_DB_BASE + 8, bar;
	unsigned int hits, msgs;
	uint32_t e[16];
	uint16_t devctl;

	bring_up_msix(f);
	io_queues(f);
	/* Plain doorbells: the value is needed, they all exit. */
	assert_int_equal(pf_ioeventfds(), 0);
	fill(f, WBUF_GPA, 9);
	assert_int_equal(rw(f, true, 8, WBUF_GPA), 0);
	assert_int_equal(pf_ioeventfd_hits(), 0);

	memset(hva(f, DBS_GPA, 2 * PAGE), 0, 2 * PAGE);
	cmd(f, e, 0x7c, 0, DBS_GPA, EIS_GPA);
	assert_int_equal(exec(f, 0, e), 0);
	f->dbbuf = true;
	assert_int_equal(pf_ioeventfds(), 1);
	assert_true(pf_ioeventfd_at(f->pf.bar + db1, 4));
	/* The admin queue keeps its exit (Linux leaves it off the shadow). */
	assert_false(pf_ioeventfd_at(f->pf.bar + NVME_DB_BASE, 4));

	/* Read back through the ioeventfd; the I/O thread completes. */
	hits = pf_ioeventfd_hits();
	msgs = msgs_for(1);
	memset(hva(f, RBUF_GPA, 8 * PAGE), 0, 8 * PAGE);
	assert_int_equal(rw(f, false, 8, RBUF_GPA), 0);
	assert_true(same(f, WBUF_GPA, RBUF_GPA));
	assert_int_equal(pf_ioeventfd_hits(), hits + 1);
	assert_true(msgs_for(1) >= msgs + 1);
	/* A 2-byte write is no ioeventfd's: it exits, and is refused. */
	pf_wr(&f->pf, db1, f->sq[1].idx, 2);
	assert_int_equal(pf_ioeventfd_hits(), hits + 1);

	/* Decode off: gone; BAR0 moved and on: at the new place. */
	bar = f->pf.bar;
	pf_cfg_wr(&f->pf, PCI_COMMAND, 0, 2);
	assert_int_equal(pf_ioeventfds(), 0);
	pf_cfg_wr(&f->pf, PCI_BASE_ADDRESS_0, (uint32_t)(bar + 0x100000), 4);
	pf_cfg_wr(&f->pf, PCI_BASE_ADDRESS_1,
		  (uint32_t)((bar + 0x100000) >> 32), 4);
	map_bar(f);
	assert_true(f->pf.bar == bar + 0x100000);
	assert_int_equal(pf_rd(&f->pf, CSTS, 4) & 3, 1);
	assert_int_equal(pf_ioeventfds(), 1);
	assert_true(pf_ioeventfd_at(f->pf.bar + db1, 4));
	assert_int_equal(rw(f, false, 8, RBUF_GPA), 0);
	assert_int_equal(pf_ioeventfd_hits(), hits + 2);

	/* FLR: none left; then again, and the teardown checks it goes. */
	devctl = pf_cfg_rd(&f->pf, f->pcie_cap + PCI_EXP_DEVCTL, 2);
	pf_cfg_wr(&f->pf, f->pcie_cap + PCI_EXP_DEVCTL,
		  devctl | PCI_EXP_DEVCTL_BCR_FLR, 2);
	assert_int_equal(pf_ioeventfds(), 0);
	f->dbbuf = false;
	map_bar(f);
	bring_up_msix(f);
	memset(hva(f, DBS_GPA, 2 * PAGE), 0, 2 * PAGE);
	cmd(f, e, 0x7c, 0, DBS_GPA, EIS_GPA);
	assert_int_equal(exec(f, 0, e), 0);
	f->dbbuf = true;
	io_queues(f);
	assert_int_equal(pf_ioeventfds(), 1);
	assert_int_equal(rw(f, false, 8, RBUF_GPA), 0);
	assert_true(same(f, WBUF_GPA, RBUF_GPA));
	assert_int_equal(pf_ioeventfd_hits(), hits + 3);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_identity),
		T(test_msix_identify_and_io),
		T(test_msix_masked_pending),
		T(test_intx),
		T(test_flr),
		T(test_flr_byte),
		T(test_vm_reset),
		T(test_power_states),
		T(test_hostile),
		T(test_teardown_busy),
		T(test_doorbell_ioeventfd),
		cmocka_unit_test_setup_teardown(test_sriov_vfs, setup_sriov,
						teardown),
		cmocka_unit_test_setup_teardown(test_virt_mgmt, setup_sriov,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
