// SPDX-License-Identifier: GPL-2.0
/*
 * PCI enumeration of bus 0 through both config mechanisms:
 *
 * - every function present through 0xCF8/0xCFC reads the same 256 config
 *   bytes through ECAM (found in the ACPI MCFG, or `ecam=0x...`), and a
 *   write through one is seen through the other;
 * - each function is listed as `BB:DD.F vendor:device class`;
 * - every BAR is sized with the all-ones probe and restored; sizes must be
 *   powers of two with a contiguous mask, addresses aligned, types sane;
 * - one memory BAR of a virtio device (the one holding the common config)
 *   is moved inside the 32-bit window with Command.MEM off, and the device
 *   registers must read the same at the new address and all ones at the
 *   old one; a status write at the new address must stick.
 *
 * `virtio=0` on the command line: no virtio device is required (the move
 * is skipped). `old_reads=any`: don't insist that the old address reads all
 * ones (QEMU reads unassigned memory as 0).
 */
#include "pci.h"
#include "virtio.h"

#define CAP_CFG_TYPE 3
#define CAP_BAR 4
#define CAP_OFFSET 8

#define COMMON_DFSELECT 0x00
#define COMMON_DF 0x04
#define COMMON_NUMQ 0x12
#define COMMON_STATUS 0x14

static int errors;

#define fail(fmt, ...)                                    \
	do {                                              \
		printf("FAIL: " fmt "\n", ##__VA_ARGS__); \
		errors++;                                 \
	} while (0)

static const char *bar_type_str(const struct pci_bar *b)
{
	switch (b->type) {
	case PCI_BAR_IO:
		return "io";
	case PCI_BAR_MEM32:
		return b->prefetch ? "mem32 prefetch" : "mem32";
	case PCI_BAR_MEM64:
		return b->prefetch ? "mem64 prefetch" : "mem64";
	default:
		return "none";
	}
}

/* Both mechanisms give the same 256 bytes (dwords and bytes). */
static void compare_config(uint16_t bdf)
{
	unsigned int off;

	for (off = 0; off < 256; off += 4) {
		uint32_t a = pci_cf8_read(bdf, off, 4);
		uint32_t b = pci_ecam_read(bdf, off, 4);

		if (a != b) {
			/* A status bit may have moved in between: once more. */
			a = pci_cf8_read(bdf, off, 4);
			b = pci_ecam_read(bdf, off, 4);
		}
		if (a != b)
			fail("%02x:%02x.%x offset %#x: 0xCF8 reads %#010x, ECAM %#010x",
			     PCI_BUS(bdf), PCI_DEV(bdf), PCI_FN(bdf), off, a,
			     b);
	}
	/* Sub-dword accesses through both, on the ID and class dwords. */
	for (off = 0; off < 0x10; off++) {
		if (off >= 4 && off < 8)
			continue; /* command/status */
		if (pci_cf8_read(bdf, off, 1) != pci_ecam_read(bdf, off, 1))
			fail("%02x:%02x.%x byte %#x differs", PCI_BUS(bdf),
			     PCI_DEV(bdf), PCI_FN(bdf), off);
		if (!(off & 1) &&
		    pci_cf8_read(bdf, off, 2) != pci_ecam_read(bdf, off, 2))
			fail("%02x:%02x.%x word %#x differs", PCI_BUS(bdf),
			     PCI_DEV(bdf), PCI_FN(bdf), off);
	}
}

/* Interrupt Line is writable: write through one mechanism, read the other. */
static void cross_write(uint16_t bdf)
{
	uint8_t old = (uint8_t)pci_cf8_read(bdf, 0x3c, 1), v;

	pci_cf8_write(bdf, 0x3c, 1, 0xa5);
	v = (uint8_t)pci_ecam_read(bdf, 0x3c, 1);
	if (v == 0xa5) {
		pci_ecam_write(bdf, 0x3c, 1, 0x5a);
		if ((uint8_t)pci_cf8_read(bdf, 0x3c, 1) != 0x5a)
			fail("%02x:%02x.%x: ECAM write not seen through 0xCF8",
			     PCI_BUS(bdf), PCI_DEV(bdf), PCI_FN(bdf));
	} else if (v != old) {
		fail("%02x:%02x.%x: 0xCF8 write of Interrupt Line reads %#x through ECAM",
		     PCI_BUS(bdf), PCI_DEV(bdf), PCI_FN(bdf), v);
	}
	pci_cf8_write(bdf, 0x3c, 1, old);
}

static void check_bars(uint16_t bdf)
{
	unsigned int i, n;
	uint8_t ht = pci_cfg_read8(bdf, PCI_HEADER_TYPE) & 0x7f;

	n = ht == 0 ? 6 : ht == 1 ? 2 : 0;
	for (i = 0; i < n;) {
		struct pci_bar b;
		unsigned int idx = i;
		uint64_t ones;

		i += (unsigned int)pci_bar_probe(bdf, i, &b);
		if (!b.restored)
			fail("BAR%u: not restored after sizing", idx);
		if (b.type == PCI_BAR_NONE) {
			if (b.raw)
				fail("BAR%u: unimplemented but reads %#x", idx,
				     b.raw);
			continue;
		}
		printf("    BAR%u %-14s addr %#010lx size %#lx\n", idx,
		       bar_type_str(&b), (unsigned long)b.addr,
		       (unsigned long)b.size);
		/* The type bits do not change under the all-ones write. */
		if ((b.probed ^ b.raw) & (b.type == PCI_BAR_IO ? 0x3u : 0xfu))
			fail("BAR%u: type bits %#x became %#x", idx,
			     b.raw & 0xf, b.probed & 0xf);
		switch (b.type) {
		case PCI_BAR_IO:
			ones = 0xffffffffull;
			if ((b.mask >> 16) == 0) /* 16-bit decode */
				ones = 0xffff;
			if ((b.raw & 2) != 0)
				fail("BAR%u: I/O BAR with reserved bit 1 set",
				     idx);
			if (b.size < 4 || b.size > 256)
				fail("BAR%u: I/O size %#lx", idx,
				     (unsigned long)b.size);
			if (b.prefetch)
				fail("BAR%u: prefetchable I/O", idx);
			break;
		case PCI_BAR_MEM32:
			ones = 0xffffffffull;
			if (b.raw & 2)
				fail("BAR%u: reserved memory type 1 (below 1 MiB)",
				     idx);
			break;
		default:
			ones = ~0ull;
			if (idx == 5)
				fail("BAR5 is 64-bit");
			break;
		}
		if (b.size & (b.size - 1))
			fail("BAR%u: size %#lx is not a power of two", idx,
			     (unsigned long)b.size);
		if ((b.mask | (b.size - 1)) != ones)
			fail("BAR%u: size mask %#lx is not contiguous", idx,
			     (unsigned long)b.mask);
		if (b.type != PCI_BAR_IO && b.size < 16)
			fail("BAR%u: memory size %#lx below 16", idx,
			     (unsigned long)b.size);
		if (b.addr & (b.size - 1))
			fail("BAR%u: address %#lx not aligned to its size", idx,
			     (unsigned long)b.addr);
	}
}

/* BAR index and offset of the virtio common config, or false. */
static bool find_common(uint16_t bdf, unsigned int *bar, uint32_t *off)
{
	unsigned int pos = 0;

	while ((pos = pci_find_cap(bdf, PCI_CAP_ID_VNDR, pos))) {
		if (pci_cfg_read8(bdf, pos + CAP_CFG_TYPE) == 1) {
			*bar = pci_cfg_read8(bdf, pos + CAP_BAR);
			*off = pci_cfg_read32(bdf, pos + CAP_OFFSET);
			return *bar <= 5;
		}
	}
	return false;
}

struct regs {
	uint16_t numq;
	uint32_t df0, df1;
};

static void read_regs(uintptr_t common, struct regs *r)
{
	r->numq = readw(common + COMMON_NUMQ);
	writel(0, common + COMMON_DFSELECT);
	r->df0 = readl(common + COMMON_DF);
	writel(1, common + COMMON_DFSELECT);
	r->df1 = readl(common + COMMON_DF);
}

static void move_bar(uint16_t bdf, bool strict_old)
{
	unsigned int idx;
	uint32_t off;
	struct pci_bar b;
	struct regs r0, r1;
	uint64_t old, new;
	uint16_t cmd;
	uint32_t v;

	if (!find_common(bdf, &idx, &off)) {
		fail("virtio device without a common config capability");
		return;
	}
	if (!pci_enable_device(bdf)) {
		fail("could not enable the virtio device");
		return;
	}
	pci_bar_probe(bdf, idx, &b);
	old = b.addr;
	read_regs((uintptr_t)(old + off), &r0);
	printf("move: BAR%u (%s, %#lx bytes) at %#lx: num_queues %u, features %#x:%08x\n",
	       idx, bar_type_str(&b), (unsigned long)b.size, (unsigned long)old,
	       r0.numq, r0.df1, r0.df0);
	if (r0.numq == 0xffff || r0.numq == 0 || !(r0.df1 & 1))
		fail("common config at the old address looks wrong (VERSION_1 %s)",
		     r0.df1 & 1 ? "set" : "missing");

	new = pci_alloc_mmio32(b.size, old, b.size);
	if (!new) {
		fail("no room for %#lx bytes in the window",
		     (unsigned long)b.size);
		return;
	}
	cmd = pci_cfg_read16(bdf, PCI_COMMAND);
	pci_cfg_write16(bdf, PCI_COMMAND, cmd & ~PCI_CMD_MEM);
	v = readl((uintptr_t)(old + off + COMMON_DF));
	if (v != 0xffffffffu && strict_old)
		fail("with MEM off the BAR still reads %#x", v);
	pci_bar_set_addr(bdf, idx, &b, new);
	if (pci_bar_addr(bdf, idx) != new)
		fail("BAR%u reads %#lx after writing %#lx", idx,
		     (unsigned long)pci_bar_addr(bdf, idx), (unsigned long)new);
	pci_cfg_write16(bdf, PCI_COMMAND, cmd | PCI_CMD_MEM);

	read_regs((uintptr_t)(new + off), &r1);
	printf("move: BAR%u now at %#lx: num_queues %u, features %#x:%08x\n",
	       idx, (unsigned long)new, r1.numq, r1.df1, r1.df0);
	if (memcmp(&r0, &r1, sizeof(r0)))
		fail("registers differ at the new address");
	v = readl((uintptr_t)(old + off + COMMON_DF));
	printf("move: old address reads %#x\n", v);
	if (v != 0xffffffffu && strict_old)
		fail("old address reads %#x, want all ones", v);
	/* Writes land at the new address too. */
	writeb(0, (uintptr_t)(new + off + COMMON_STATUS));
	writeb(VIRTIO_S_ACKNOWLEDGE, (uintptr_t)(new + off + COMMON_STATUS));
	v = readb((uintptr_t)(new + off + COMMON_STATUS));
	if (v != VIRTIO_S_ACKNOWLEDGE)
		fail("status written at the new address reads %#x", v);
	writeb(0, (uintptr_t)(new + off + COMMON_STATUS));
	if (!errors)
		puts("move: BAR moved, device answers at the new address only");
}

int guest_main(void)
{
	unsigned int dev, fn, nfn = 0;
	uint16_t virtio_bdf = 0xffff;
	char buf[8];
	bool need_virtio = true, strict_old = true;

	if (cmdline_arg("virtio", buf, sizeof(buf)) >= 0 && !strcmp(buf, "0"))
		need_virtio = false;
	if (cmdline_arg("old_reads", buf, sizeof(buf)) >= 0 &&
	    !strcmp(buf, "any"))
		strict_old = false;
	pci_init();
	kit_mask_pic();

	for (dev = 0; dev < 32; dev++) {
		for (fn = 0; fn < 8; fn++) {
			uint16_t bdf = PCI_BDF(0, dev, fn);
			uint32_t id = pci_cf8_read(bdf, 0, 4);
			uint32_t eid = pci_ecam_read(bdf, 0, 4);
			uint32_t class;

			if (id != eid)
				fail("%02x:%02x.%x: ID %#x via 0xCF8, %#x via ECAM",
				     0, dev, fn, id, eid);
			if ((id & 0xffff) == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			nfn++;
			class = pci_cf8_read(bdf, 8, 4) >> 8;
			printf("%02x:%02x.%x %04x:%04x %06x\n", 0, dev, fn,
			       id & 0xffff, id >> 16, class);
			compare_config(bdf);
			cross_write(bdf);
			check_bars(bdf);
			if ((id & 0xffff) == 0x1af4 && (id >> 16) >= 0x1040 &&
			    virtio_bdf == 0xffff)
				virtio_bdf = bdf;
			if (fn == 0 &&
			    !(pci_cf8_read(bdf, PCI_HEADER_TYPE, 1) & 0x80))
				break;
		}
	}
	printf("pci: %u functions on bus 0\n", nfn);
	if (!nfn)
		fail("no functions at all");

	if (virtio_bdf != 0xffff)
		move_bar(virtio_bdf, strict_old);
	else if (need_virtio)
		fail("no modern virtio device to move a BAR of (virtio=0 to skip)");
	else
		puts("pci: no virtio device: BAR move skipped");

	if (errors) {
		printf("pci_enum: %d errors\n", errors);
		return GUEST_FAIL;
	}
	puts("pci_enum: OK");
	return GUEST_PASS;
}
