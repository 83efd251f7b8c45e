// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 board's device tree, with libfdt's read-write functions: the
 * board's nodes here, the devices' through devices_describe(). Bindings:
 * Linux's Documentation/devicetree/bindings (arm/psci.yaml,
 * timer/arm,arch_timer.yaml, interrupt-controller/arm,gic-v3.yaml,
 * pci/host-generic-pci.yaml, pci/pci-msi.txt, chosen.yaml).
 */
#include "arch/arm64/fdt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus/device.h"

#ifdef HAVE_LIBFDT
#include <libfdt.h>

#define PHANDLE_GIC 1
#define PHANDLE_ITS 2
#define PHANDLE_CLK 3

/* GIC interrupt specifier: type, number, flags. */
#define GIC_SPI 0
#define GIC_PPI 1
#define IRQ_EDGE_RISING 1
#define IRQ_LEVEL_HIGH 4

unsigned int arm64_fdt_spi(unsigned int gsi, int level_triggered,
			   uint32_t *cells)
{
	cells[0] = GIC_SPI;
	cells[1] = gsi;
	cells[2] = level_triggered ? IRQ_LEVEL_HIGH : IRQ_EDGE_RISING;
	return 3;
}

static int fdt_errno(int err)
{
	return err == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
}

/* Stops at the first libfdt error, kept in *@err. */
struct tree {
	void *fdt;
	int err;
};

static int node(struct tree *t, int parent, const char *name)
{
	int off;

	if (t->err)
		return -1;
	off = fdt_add_subnode(t->fdt, parent, name);
	if (off < 0) {
		t->err = off;
		return -1;
	}
	return off;
}

static void prop(struct tree *t, int off, const char *name, const void *v,
		 int len)
{
	if (!t->err)
		t->err = fdt_setprop(t->fdt, off, name, v, len);
}

static void prop_u32(struct tree *t, int off, const char *name, uint32_t v)
{
	if (!t->err)
		t->err = fdt_setprop_u32(t->fdt, off, name, v);
}

static void prop_u64(struct tree *t, int off, const char *name, uint64_t v)
{
	if (!t->err)
		t->err = fdt_setprop_u64(t->fdt, off, name, v);
}

static void prop_str(struct tree *t, int off, const char *name, const char *s)
{
	if (!t->err)
		t->err = fdt_setprop_string(t->fdt, off, name, s);
}

static void prop_empty(struct tree *t, int off, const char *name)
{
	if (!t->err)
		t->err = fdt_setprop_empty(t->fdt, off, name);
}

/* A list of 32-bit cells. */
static void prop_cells(struct tree *t, int off, const char *name,
		       const uint32_t *v, unsigned int n)
{
	fdt32_t be[160]; /* the PCIe host's interrupt-map */

	if (n > 160) {
		t->err = -FDT_ERR_BADVALUE;
		return;
	}
	for (unsigned int i = 0; i < n; i++)
		be[i] = cpu_to_fdt32(v[i]);
	prop(t, off, name, be, (int)(n * sizeof(be[0])));
}

/* reg of two (address, size) pairs of two cells each; @n pairs. */
static void prop_reg(struct tree *t, int off, const uint64_t *pairs,
		     unsigned int n)
{
	uint32_t cells[8];

	for (unsigned int i = 0; i < 2 * n && i < 4; i++) {
		cells[2 * i] = (uint32_t)(pairs[i] >> 32);
		cells[2 * i + 1] = (uint32_t)pairs[i];
	}
	prop_cells(t, off, "reg", cells, 4 * n);
}

/* KVM's vCPU MPIDR: Aff0 the low 4 bits of the id, then Aff1, Aff2. */
static uint32_t cpu_mpidr(unsigned int id)
{
	return (id & 0xf) | ((id >> 4) & 0xff) << 8 | ((id >> 12) & 0xff) << 16;
}

static void add_cpus(struct tree *t, const struct arm64_fdt_config *c)
{
	int cpus = node(t, 0, "cpus"), n;
	char name[32];

	prop_u32(t, cpus, "#address-cells", 1);
	prop_u32(t, cpus, "#size-cells", 0);
	/* Added in reverse: libfdt puts each new node first. */
	for (unsigned int i = c->nr_cpus; i-- > 0;) {
		snprintf(name, sizeof(name), "cpu@%x", cpu_mpidr(i));
		n = node(t, cpus, name);
		prop_str(t, n, "device_type", "cpu");
		prop_str(t, n, "compatible", "arm,arm-v8");
		prop_str(t, n, "enable-method", "psci");
		prop_u32(t, n, "reg", cpu_mpidr(i));
	}
}

static void add_psci(struct tree *t)
{
	static const char compat[] = "arm,psci-0.2\0arm,psci";
	int n = node(t, 0, "psci");

	prop(t, n, "compatible", compat, sizeof(compat));
	/* The vCPUs run at EL1: PSCI calls trap to KVM through HVC. */
	prop_str(t, n, "method", "hvc");
}

static void add_timer(struct tree *t)
{
	static const char compat[] = "arm,armv8-timer\0arm,armv7-timer";
	const uint32_t irqs[] = {
		GIC_PPI, 13, IRQ_LEVEL_HIGH, /* secure physical */
		GIC_PPI, 14, IRQ_LEVEL_HIGH, /* non-secure physical */
		GIC_PPI, 11, IRQ_LEVEL_HIGH, /* virtual */
		GIC_PPI, 10, IRQ_LEVEL_HIGH, /* hypervisor */
	};
	int n = node(t, 0, "timer");

	prop(t, n, "compatible", compat, sizeof(compat));
	prop_cells(t, n, "interrupts", irqs, 12);
	prop_empty(t, n, "always-on");
}

static void add_gic(struct tree *t, const struct arm64_fdt_config *c)
{
	const uint64_t reg[] = { c->gic_dist_base, c->gic_dist_size,
				 c->gic_redist_base, c->gic_redist_size };
	const uint32_t maint[] = { GIC_PPI, 9, IRQ_LEVEL_HIGH };
	char name[40];
	int n, its;

	snprintf(name, sizeof(name), "intc@%llx",
		 (unsigned long long)c->gic_dist_base);
	n = node(t, 0, name);
	prop_str(t, n, "compatible", "arm,gic-v3");
	prop_u32(t, n, "#interrupt-cells", 3);
	prop_empty(t, n, "interrupt-controller");
	prop_u32(t, n, "#address-cells", 2);
	prop_u32(t, n, "#size-cells", 2);
	prop_empty(t, n, "ranges");
	prop_reg(t, n, reg, 2);
	prop_u32(t, n, "#redistributor-regions", 1);
	prop_cells(t, n, "interrupts", maint, 3);
	prop_u32(t, n, "phandle", PHANDLE_GIC);
	if (!c->its_size)
		return;
	snprintf(name, sizeof(name), "its@%llx",
		 (unsigned long long)c->its_base);
	its = node(t, n, name);
	prop_str(t, its, "compatible", "arm,gic-v3-its");
	prop_empty(t, its, "msi-controller");
	prop_u32(t, its, "#msi-cells", 1);
	prop_reg(t, its, (const uint64_t[]){ c->its_base, c->its_size }, 1);
	prop_u32(t, its, "phandle", PHANDLE_ITS);
}

static void add_clock(struct tree *t)
{
	int n = node(t, 0, "apb-pclk");

	prop_str(t, n, "compatible", "fixed-clock");
	prop_u32(t, n, "#clock-cells", 0);
	prop_u32(t, n, "clock-frequency", 24000000);
	prop_str(t, n, "clock-output-names", "clk24mhz");
	prop_u32(t, n, "phandle", PHANDLE_CLK);
}

static void range(uint32_t *r, uint32_t space, uint64_t pci, uint64_t cpu,
		  uint64_t size)
{
	r[0] = space;
	r[1] = (uint32_t)(pci >> 32);
	r[2] = (uint32_t)pci;
	r[3] = (uint32_t)(cpu >> 32);
	r[4] = (uint32_t)cpu;
	r[5] = (uint32_t)(size >> 32);
	r[6] = (uint32_t)size;
}

static void add_pcie(struct tree *t, const struct arm64_fdt_config *c)
{
	uint32_t ranges[21], map[4 * 4 * 10], n_ranges = 0, n_map = 0;
	const uint32_t mask[] = { 0x1800, 0, 0, 7 };
	unsigned int buses = (unsigned int)(c->ecam_size >> 20);
	char name[40];
	int n;

	snprintf(name, sizeof(name), "pcie@%llx",
		 (unsigned long long)c->ecam_base);
	n = node(t, 0, name);
	prop_str(t, n, "compatible", "pci-host-ecam-generic");
	prop_str(t, n, "device_type", "pci");
	prop_u32(t, n, "#address-cells", 3);
	prop_u32(t, n, "#size-cells", 2);
	prop_u32(t, n, "#interrupt-cells", 1);
	prop_u32(t, n, "linux,pci-domain", 0);
	prop_cells(t, n, "bus-range", (const uint32_t[]){ 0, buses - 1 }, 2);
	prop_reg(t, n, (const uint64_t[]){ c->ecam_base, c->ecam_size }, 1);
	prop_empty(t, n, "dma-coherent");
	if (c->io_size) {
		range(ranges + n_ranges, 0x01000000, 0, c->io_cpu_base,
		      c->io_size);
		n_ranges += 7;
	}
	range(ranges + n_ranges, 0x02000000, c->mmio32_base, c->mmio32_base,
	      c->mmio32_size);
	n_ranges += 7;
	if (c->mmio64_size) {
		range(ranges + n_ranges, 0x03000000, c->mmio64_base,
		      c->mmio64_base, c->mmio64_size);
		n_ranges += 7;
	}
	prop_cells(t, n, "ranges", ranges, n_ranges);
	/*
	 * INTx of slot s, pin p (1-4) on SPI base + (s + p - 1) % 4: the
	 * swizzle pci.c applies. The mask keeps the slot's low two bits.
	 */
	for (uint32_t slot = 0; slot < 4; slot++) {
		for (uint32_t pin = 1; pin <= 4; pin++) {
			uint32_t *m = map + n_map;

			m[0] = slot << 11;
			m[1] = 0;
			m[2] = 0;
			m[3] = pin;
			m[4] = PHANDLE_GIC;
			m[5] = 0; /* the GIC's #address-cells: 2 */
			m[6] = 0;
			m[7] = GIC_SPI;
			m[8] = c->intx_spi_base + ((slot + pin - 1) & 3);
			m[9] = IRQ_LEVEL_HIGH;
			n_map += 10;
		}
	}
	prop_cells(t, n, "interrupt-map", map, n_map);
	prop_cells(t, n, "interrupt-map-mask", mask, 4);
	/* Every requester id is the ITS's device id of the same value. */
	if (c->its_size && c->msi_map)
		prop_cells(t, n, "msi-map",
			   (const uint32_t[]){ 0, PHANDLE_ITS, 0, 0x10000 }, 4);
}

static void add_chosen(struct tree *t, const struct arm64_fdt_config *c)
{
	int n = node(t, 0, "chosen");
	char path[40];

	prop_str(t, n, "bootargs", c->bootargs ? c->bootargs : "");
	if (c->uart_base) {
		snprintf(path, sizeof(path), "/pl011@%llx",
			 (unsigned long long)c->uart_base);
		prop_str(t, n, "stdout-path", path);
	}
	if (c->initrd_size) {
		prop_u64(t, n, "linux,initrd-start", c->initrd_start);
		prop_u64(t, n, "linux,initrd-end",
			 c->initrd_start + c->initrd_size);
	}
}

/* device_fdt_node() of the devices that describe themselves. */
static int device_node(struct device_desc *d, const char *name, uint64_t base,
		       uint64_t size, const char *compat,
		       unsigned int compat_len, int gsi, int level_triggered,
		       const char *clock_names, unsigned int clock_len)
{
	fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };
	char node[64];
	int off, ret;

	if (!d->fdt)
		return -EINVAL;
	snprintf(node, sizeof(node), "%s@%llx", name, (unsigned long long)base);
	off = fdt_add_subnode(d->fdt, 0, node);
	if (off < 0)
		return fdt_errno(off);
	ret = fdt_setprop(d->fdt, off, "compatible", compat, compat_len);
	if (!ret)
		ret = fdt_setprop(d->fdt, off, "reg", reg, sizeof(reg));
	if (!ret && gsi >= 0 && d->fdt_irq) {
		uint32_t cells[4];
		fdt32_t be[4];
		unsigned int n = d->fdt_irq(gsi, level_triggered, cells);

		for (unsigned int i = 0; i < n && i < 4; i++)
			be[i] = cpu_to_fdt32(cells[i]);
		ret = fdt_setprop(d->fdt, off, "interrupts", be,
				  n * sizeof(be[0]));
	}
	if (!ret && clock_len) {
		fdt32_t clk[4];
		unsigned int n = 0;

		for (unsigned int i = 0; i < clock_len && n < 4; i++)
			if (!clock_names[i])
				clk[n++] = cpu_to_fdt32(d->fdt_clock);
		ret = fdt_setprop(d->fdt, off, "clocks", clk,
				  n * sizeof(clk[0]));
		if (!ret)
			ret = fdt_setprop(d->fdt, off, "clock-names",
					  clock_names, clock_len);
	}
	return ret ? fdt_errno(ret) : off;
}
int arm64_fdt_build(void *buf, size_t size, const struct arm64_fdt_config *c,
		    struct vm *vm)
{
	struct tree t = { .fdt = buf };
	struct device_desc d = {
		.fdt = buf,
		.fdt_node = device_node,
		.fdt_irq = arm64_fdt_spi,
		.fdt_clock = PHANDLE_CLK,
	};
	char name[40];
	int ret, mem;

	if (!c->nr_cpus || !c->ram_size || size > INT32_MAX ||
	    (c->ecam_size && (c->ecam_size & ((1ull << 20) - 1) ||
			      c->ecam_size > (256ull << 20))))
		return -EINVAL;
	ret = fdt_create_empty_tree(buf, (int)size);
	if (ret)
		return fdt_errno(ret);
	prop_str(&t, 0, "compatible", "linux,dummy-virt");
	prop_str(&t, 0, "model", "devisor");
	prop_u32(&t, 0, "#address-cells", 2);
	prop_u32(&t, 0, "#size-cells", 2);
	prop_u32(&t, 0, "interrupt-parent", PHANDLE_GIC);

	add_chosen(&t, c);
	snprintf(name, sizeof(name), "memory@%llx",
		 (unsigned long long)c->ram_base);
	mem = node(&t, 0, name);
	prop_str(&t, mem, "device_type", "memory");
	prop_reg(&t, mem, (const uint64_t[]){ c->ram_base, c->ram_size }, 1);
	add_cpus(&t, c);
	add_psci(&t);
	add_timer(&t);
	add_gic(&t, c);
	add_clock(&t);
	if (c->ecam_size)
		add_pcie(&t, c);
	if (t.err)
		return fdt_errno(t.err);
	if (vm) {
		ret = devices_describe(vm, &d);
		if (ret)
			return ret;
	}
	ret = fdt_pack(buf);
	return ret ? fdt_errno(ret) : 0;
}
#else
unsigned int arm64_fdt_spi(unsigned int gsi, int level_triggered,
			   uint32_t *cells)
{
	return 0;
}

int arm64_fdt_build(void *buf, size_t size, const struct arm64_fdt_config *c,
		    struct vm *vm)
{
	return -ENOSYS;
}
#endif
