// SPDX-License-Identifier: GPL-2.0
/*
 * PCI configuration access, ACPI MCFG lookup and BAR handling for test
 * guests. Every config access is one (ECAM) or two (0xCF8/0xCFC) exits,
 * so nothing here reads more than it needs to.
 */
#include "pci.h"

#define PCI_CONF_ADDR 0xcf8
#define PCI_CONF_DATA 0xcfc

#define BP_ACPI_RSDP_ADDR 0x070 /* boot_params.acpi_rsdp_addr */

uint64_t pci_ecam_base = 0xe0000000ull;
unsigned int pci_ecam_buses = 256;
uint64_t pci_mmio32_base = 0xc0000000ull;
uint64_t pci_mmio32_end = 0xe0000000ull;

static enum pci_method method = PCI_ECAM;

void kit_mask_pic(void)
{
	outb(0xff, 0x21);
	outb(0xff, 0xa1);
}

/* ACPI ------------------------------------------------------------------ */

static uint32_t get32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static bool acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum == 0;
}

static const uint8_t *rsdp_scan(uintptr_t start, size_t len)
{
	uintptr_t p;

	for (p = start; p + 20 <= start + len; p += 16) {
		const uint8_t *r = (const uint8_t *)p;

		if (!memcmp(r, "RSD PTR ", 8) && acpi_checksum(r, 20))
			return r;
	}
	return NULL;
}

static const uint8_t *acpi_rsdp(void)
{
	const uint8_t *bp = kit_boot_params;
	const uint8_t *r;
	uint64_t a = bp ? get64(bp + BP_ACPI_RSDP_ADDR) : 0;
	uintptr_t ebda;

	if (a && a < 0x100000000ull) {
		r = (const uint8_t *)(uintptr_t)a;
		if (!memcmp(r, "RSD PTR ", 8) && acpi_checksum(r, 20))
			return r;
	}
	/* The legacy places: the EBDA's first KiB, then 0xE0000-0xFFFFF. */
	ebda = 0x40e; /* the BDA's EBDA segment */
	asm("" : "+r"(ebda)); /* a real address, not a null pointer offset */
	ebda = (uintptr_t)readw(ebda) << 4;
	if (ebda >= 0x80000 && ebda < 0xa0000) {
		r = rsdp_scan(ebda, 1024);
		if (r)
			return r;
	}
	return rsdp_scan(0xe0000, 0x20000);
}

static const uint8_t *acpi_table_at(uint64_t a, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	if (!a || a >= 0x100000000ull)
		return NULL;
	t = (const uint8_t *)(uintptr_t)a;
	len = get32(t + 4);
	if (memcmp(t, sig, 4) || len < 36 || len > (1u << 20))
		return NULL;
	if (!acpi_checksum(t, len))
		printf("acpi: %.4s at %#lx: bad checksum\n", sig,
		       (unsigned long)a);
	return t;
}

const void *acpi_find_table(const char *sig)
{
	const uint8_t *rsdp = acpi_rsdp(), *sdt, *t;
	bool x = false;
	uint32_t len, i, esz;

	if (!rsdp)
		return NULL;
	sdt = NULL;
	if (rsdp[15] >= 2)
		sdt = acpi_table_at(get64(rsdp + 24), "XSDT");
	if (sdt)
		x = true;
	else
		sdt = acpi_table_at(get32(rsdp + 16), "RSDT");
	if (!sdt)
		return NULL;
	len = get32(sdt + 4);
	esz = x ? 8 : 4;
	for (i = 36; i + esz <= len; i += esz) {
		uint64_t a = x ? get64(sdt + i) : get32(sdt + i);

		t = acpi_table_at(a, sig);
		if (t)
			return t;
	}
	return NULL;
}

/* Config access --------------------------------------------------------- */

void pci_set_method(enum pci_method m)
{
	method = m;
}

static void cf8_select(uint16_t bdf, unsigned int off)
{
	outl(0x80000000u | ((uint32_t)bdf << 8) | (off & 0xfc), PCI_CONF_ADDR);
}

uint32_t pci_cf8_read(uint16_t bdf, unsigned int off, unsigned int size)
{
	uint16_t port = (uint16_t)(PCI_CONF_DATA + (off & 3));

	cf8_select(bdf, off);
	if (size == 1)
		return inb(port);
	if (size == 2)
		return inw(port);
	return inl(port);
}

void pci_cf8_write(uint16_t bdf, unsigned int off, unsigned int size,
		   uint32_t v)
{
	uint16_t port = (uint16_t)(PCI_CONF_DATA + (off & 3));

	cf8_select(bdf, off);
	if (size == 1)
		outb((uint8_t)v, port);
	else if (size == 2)
		outw((uint16_t)v, port);
	else
		outl(v, port);
}

static uintptr_t ecam_addr(uint16_t bdf, unsigned int off)
{
	return (uintptr_t)(pci_ecam_base + ((uint64_t)bdf << 12) + off);
}

uint32_t pci_ecam_read(uint16_t bdf, unsigned int off, unsigned int size)
{
	uintptr_t a = ecam_addr(bdf, off);

	if (size == 1)
		return readb(a);
	if (size == 2)
		return readw(a);
	return readl(a);
}

void pci_ecam_write(uint16_t bdf, unsigned int off, unsigned int size,
		    uint32_t v)
{
	uintptr_t a = ecam_addr(bdf, off);

	if (size == 1)
		writeb((uint8_t)v, a);
	else if (size == 2)
		writew((uint16_t)v, a);
	else
		writel(v, a);
}

static uint32_t cfg_read(uint16_t bdf, unsigned int off, unsigned int size)
{
	return method == PCI_ECAM ? pci_ecam_read(bdf, off, size) :
				    pci_cf8_read(bdf, off, size);
}

static void cfg_write(uint16_t bdf, unsigned int off, unsigned int size,
		      uint32_t v)
{
	if (method == PCI_ECAM)
		pci_ecam_write(bdf, off, size, v);
	else
		pci_cf8_write(bdf, off, size, v);
}

uint8_t pci_cfg_read8(uint16_t bdf, unsigned int off)
{
	return (uint8_t)cfg_read(bdf, off, 1);
}

uint16_t pci_cfg_read16(uint16_t bdf, unsigned int off)
{
	return (uint16_t)cfg_read(bdf, off, 2);
}

uint32_t pci_cfg_read32(uint16_t bdf, unsigned int off)
{
	return cfg_read(bdf, off, 4);
}

void pci_cfg_write8(uint16_t bdf, unsigned int off, uint8_t v)
{
	cfg_write(bdf, off, 1, v);
}

void pci_cfg_write16(uint16_t bdf, unsigned int off, uint16_t v)
{
	cfg_write(bdf, off, 2, v);
}

void pci_cfg_write32(uint16_t bdf, unsigned int off, uint32_t v)
{
	cfg_write(bdf, off, 4, v);
}

static bool parse_range(const char *s, uint64_t *lo, uint64_t *hi)
{
	char a[24];
	const char *dash = s;
	unsigned long x, y;
	size_t n;

	while (*dash && *dash != '-')
		dash++;
	n = (size_t)(dash - s);
	if (!*dash || n >= sizeof(a))
		return false;
	memcpy(a, s, n);
	a[n] = '\0';
	if (!parse_ulong(a, &x) || !parse_ulong(dash + 1, &y) || y < x)
		return false;
	*lo = x;
	*hi = (uint64_t)y + 1; /* END is inclusive on the command line */
	return true;
}

void pci_init(void)
{
	char buf[48];
	unsigned long v;
	const uint8_t *mcfg;

	if (cmdline_arg("ecam", buf, sizeof(buf)) >= 0 &&
	    parse_ulong(buf, &v)) {
		pci_ecam_base = v;
		printf("pci: ECAM at %#lx (command line)\n", v);
	} else if ((mcfg = acpi_find_table("MCFG")) && get32(mcfg + 4) >= 60) {
		/* First allocation: base, segment, start bus, end bus. */
		const uint8_t *e = mcfg + 44;

		pci_ecam_base = get64(e) + ((uint64_t)e[10] << 20);
		pci_ecam_buses = (unsigned int)(e[11] - e[10]) + 1;
		if (e[10] != 0)
			printf("pci: MCFG starts at bus %u\n", e[10]);
		printf("pci: ECAM at %#lx, buses %u-%u (ACPI MCFG at %p)\n",
		       (unsigned long)get64(e), e[10], e[11], mcfg);
	} else {
		printf("pci: no MCFG, no ecam=: ECAM at default %#lx\n",
		       (unsigned long)pci_ecam_base);
	}
	if (cmdline_arg("mmio32", buf, sizeof(buf)) >= 0 &&
	    !parse_range(buf, &pci_mmio32_base, &pci_mmio32_end))
		printf("pci: bad mmio32=%s, want BASE-END\n", buf);
	method = PCI_ECAM;
	if (cmdline_arg("pci_cfg", buf, sizeof(buf)) >= 0 &&
	    !strcmp(buf, "cf8"))
		method = PCI_CF8;
}

bool pci_present(uint16_t bdf)
{
	return pci_cfg_read16(bdf, PCI_VENDOR_ID) != 0xffff;
}

unsigned int pci_find_cap(uint16_t bdf, uint8_t id, unsigned int after)
{
	unsigned int pos, n;

	if (!(pci_cfg_read16(bdf, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = after ? pci_cfg_read8(bdf, after + 1) :
		      pci_cfg_read8(bdf, PCI_CAP_PTR);
	for (n = 0; n < 48 && pos >= 0x40; n++) {
		pos &= 0xfc;
		if (pci_cfg_read8(bdf, pos) == id)
			return pos;
		pos = pci_cfg_read8(bdf, pos + 1);
	}
	return 0;
}

/* BARs ------------------------------------------------------------------- */

static unsigned int nr_bars(uint16_t bdf)
{
	switch (pci_cfg_read8(bdf, PCI_HEADER_TYPE) & 0x7f) {
	case 0:
		return 6;
	case 1:
		return 2;
	default:
		return 0;
	}
}

int pci_bar_probe(uint16_t bdf, unsigned int idx, struct pci_bar *bar)
{
	unsigned int off = PCI_BAR0 + 4 * idx;
	uint16_t cmd = pci_cfg_read16(bdf, PCI_COMMAND);
	/* As Linux does: host and ISA bridges keep decoding while sized. */
	bool keep = pci_cfg_read8(bdf, 0x0b) == 0x06;
	uint32_t lo, hi = 0, mlo, mhi = 0;
	int slots = 1;

	memset(bar, 0, sizeof(*bar));
	lo = pci_cfg_read32(bdf, off);
	if (!keep && (cmd & (PCI_CMD_IO | PCI_CMD_MEM)))
		pci_cfg_write16(bdf, PCI_COMMAND,
				cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	pci_cfg_write32(bdf, off, 0xffffffffu);
	mlo = pci_cfg_read32(bdf, off);
	pci_cfg_write32(bdf, off, lo);
	if (!(lo & PCI_BAR_IO_FLAG) &&
	    (lo & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64 && idx < 5) {
		slots = 2;
		hi = pci_cfg_read32(bdf, off + 4);
		pci_cfg_write32(bdf, off + 4, 0xffffffffu);
		mhi = pci_cfg_read32(bdf, off + 4);
		pci_cfg_write32(bdf, off + 4, hi);
	}
	bar->raw = lo;
	bar->probed = mlo;
	bar->restored = pci_cfg_read32(bdf, off) == lo &&
			(slots == 1 || pci_cfg_read32(bdf, off + 4) == hi);
	if (!keep && (cmd & (PCI_CMD_IO | PCI_CMD_MEM)))
		pci_cfg_write16(bdf, PCI_COMMAND, cmd);

	if (!mlo && !mhi)
		return slots; /* unimplemented */
	if (lo & PCI_BAR_IO_FLAG) {
		uint32_t m = mlo & ~3u;

		bar->type = PCI_BAR_IO;
		bar->addr = lo & ~3u;
		bar->mask = m;
		bar->size = m & -m;
		return slots;
	}
	bar->prefetch = lo & PCI_BAR_PREFETCH;
	if (slots == 2) {
		uint64_t m = ((uint64_t)mhi << 32) | (mlo & ~0xfu);

		bar->type = PCI_BAR_MEM64;
		bar->addr = ((uint64_t)hi << 32) | (lo & ~0xfu);
		bar->mask = m;
		bar->size = m & -m;
	} else {
		uint32_t m = mlo & ~0xfu;

		bar->type = PCI_BAR_MEM32;
		bar->addr = lo & ~0xfu;
		bar->mask = m;
		bar->size = m & -m;
	}
	return slots;
}

void pci_bar_set_addr(uint16_t bdf, unsigned int idx, const struct pci_bar *bar,
		      uint64_t addr)
{
	unsigned int off = PCI_BAR0 + 4 * idx;
	uint32_t flags = pci_cfg_read32(bdf, off) & 0xfu;

	pci_cfg_write32(bdf, off, (uint32_t)addr | flags);
	if (bar->type == PCI_BAR_MEM64)
		pci_cfg_write32(bdf, off + 4, (uint32_t)(addr >> 32));
}

uint64_t pci_bar_addr(uint16_t bdf, unsigned int idx)
{
	uint32_t lo = pci_cfg_read32(bdf, PCI_BAR0 + 4 * idx);

	if (lo & PCI_BAR_IO_FLAG)
		return lo & ~3u;
	if ((lo & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64 && idx < 5)
		return ((uint64_t)pci_cfg_read32(bdf, PCI_BAR0 + 4 * idx + 4)
			<< 32) |
		       (lo & ~0xfu);
	return lo & ~0xfu;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* Is [a, a + size) clear of every memory BAR programmed on bus 0? */
static bool range_free(uint64_t a, uint64_t size)
{
	unsigned int dev, fn, i, n;

	if (overlaps(a, size, pci_ecam_base, (uint64_t)pci_ecam_buses << 20))
		return false;
	for (dev = 0; dev < 32; dev++) {
		for (fn = 0; fn < 8; fn++) {
			uint16_t bdf = PCI_BDF(0, dev, fn);

			if (!pci_present(bdf)) {
				if (fn == 0)
					break;
				continue;
			}
			n = nr_bars(bdf);
			for (i = 0; i < n;) {
				struct pci_bar b;

				i += (unsigned int)pci_bar_probe(bdf, i, &b);
				if ((b.type == PCI_BAR_MEM32 ||
				     b.type == PCI_BAR_MEM64) &&
				    b.addr && overlaps(a, size, b.addr, b.size))
					return false;
			}
			if (fn == 0 &&
			    !(pci_cfg_read8(bdf, PCI_HEADER_TYPE) & 0x80))
				break;
		}
	}
	return true;
}

uint64_t pci_alloc_mmio32(uint64_t size, uint64_t avoid, uint64_t avoid_size)
{
	uint64_t a, step = size < 0x1000 ? 0x1000 : size;

	a = (pci_mmio32_base + step - 1) & ~(step - 1);
	/* Top down would be as good; bottom up keeps the numbers small. */
	for (; a + size <= pci_mmio32_end; a += step) {
		if (overlaps(a, size, avoid, avoid_size))
			continue;
		if (range_free(a, size))
			return a;
	}
	return 0;
}

bool pci_enable_device(uint16_t bdf)
{
	unsigned int i, n = nr_bars(bdf);
	uint16_t cmd = pci_cfg_read16(bdf, PCI_COMMAND);
	bool io = false;

	for (i = 0; i < n;) {
		struct pci_bar b;
		unsigned int idx = i;

		i += (unsigned int)pci_bar_probe(bdf, i, &b);
		if (b.type == PCI_BAR_IO && b.addr)
			io = true;
		if (b.type != PCI_BAR_MEM32 && b.type != PCI_BAR_MEM64)
			continue;
		if (b.addr && b.addr + b.size <= 0x100000000ull)
			continue;
		{
			uint64_t a = pci_alloc_mmio32(b.size, 0, 0);

			if (!a) {
				printf("pci: %02x:%02x.%x BAR%u: no room for %#lx bytes\n",
				       PCI_BUS(bdf), PCI_DEV(bdf), PCI_FN(bdf),
				       idx, (unsigned long)b.size);
				return false;
			}
			printf("pci: %02x:%02x.%x BAR%u %#lx -> %#lx (%#lx bytes)\n",
			       PCI_BUS(bdf), PCI_DEV(bdf), PCI_FN(bdf), idx,
			       (unsigned long)b.addr, (unsigned long)a,
			       (unsigned long)b.size);
			pci_bar_set_addr(bdf, idx, &b, a);
		}
	}
	cmd |= PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE;
	if (io)
		cmd |= PCI_CMD_IO;
	pci_cfg_write16(bdf, PCI_COMMAND, cmd);
	return true;
}
