// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acpi/aml.h"
#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "arch/x86/machine.h"
#include "bus/bus.h"
#include "bus/device.h"
#include "config.h"
#include "hw/acpi_pm.h"
#include "hw/cpuhp.h"
#include "hw/i8042.h"
#include "hw/rtc.h"
#include "hw/serial.h"
#include "iommu/viommu.h"
#include "iommu/vtd.h"
#include "iommu/vtd_regs.h"
#include "kvm/vm.h"
#include "pci/pci.h"
#include "util/common.h"
#include "virtio/mmio.h"

#define BASE ACPI_TABLES_ADDR
#define SIZE ACPI_TABLES_SIZE

static uint8_t area[SIZE];

static int build(struct acpi_tables *t, const struct x86_acpi_config *cfg)
{
	memset(area, 0xa5, sizeof(area));
	*t = (struct acpi_tables){ .buf = area,
				   .size = sizeof(area),
				   .base_gpa = BASE };
	return x86_acpi_build(t, cfg);
}

/* Host pointer for a table at @gpa, checked to lie inside what was built. */
static const struct acpi_table_header *table_at(const struct acpi_tables *t,
						uint64_t gpa)
{
	const struct acpi_table_header *h;

	assert_true(gpa >= t->base_gpa);
	assert_true(gpa - t->base_gpa + sizeof(*h) <= t->len);
	h = (const void *)(area + (gpa - t->base_gpa));
	assert_true(h->length >= sizeof(*h));
	assert_true(gpa - t->base_gpa + h->length <= t->len);
	assert_int_equal(acpi_checksum(h, h->length), 0);
	return h;
}

static uint64_t xsdt_entry(const struct acpi_table_header *xsdt, unsigned int i)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)(xsdt + 1) + 8 * i, 8);
	return v;
}

/* Walks RSDP -> XSDT -> tables like an OS would; returns the XSDT. */
static const struct acpi_table_header *check_root(const struct acpi_tables *t,
						  unsigned int nr_entries)
{
	const struct acpi_rsdp *rsdp;
	const struct acpi_table_header *xsdt;

	assert_int_equal(t->rsdp_gpa, BASE);
	assert_int_equal(t->rsdp_gpa % 16, 0);
	rsdp = (const void *)(area + (t->rsdp_gpa - t->base_gpa));
	assert_memory_equal(rsdp->signature, "RSD PTR ", 8);
	assert_int_equal(rsdp->revision, 2);
	assert_int_equal(rsdp->length, 36);
	assert_int_equal(acpi_checksum(rsdp, 20), 0);
	assert_int_equal(acpi_checksum(rsdp, 36), 0);

	xsdt = table_at(t, rsdp->xsdt_address);
	assert_memory_equal(xsdt->signature, "XSDT", 4);
	assert_int_equal(xsdt->length, 36 + 8 * nr_entries);
	for (unsigned int i = 0; i < nr_entries; i++)
		table_at(t, xsdt_entry(xsdt, i));
	return xsdt;
}

static const struct acpi_table_header *
xsdt_find(const struct acpi_tables *t, const struct acpi_table_header *xsdt,
	  const char *sig)
{
	unsigned int n = (xsdt->length - 36) / 8;

	for (unsigned int i = 0; i < n; i++) {
		const struct acpi_table_header *h =
			table_at(t, xsdt_entry(xsdt, i));

		if (!memcmp(h->signature, sig, 4))
			return h;
	}
	return NULL;
}

static void check_fadt(const struct acpi_tables *t,
		       const struct acpi_table_header *xsdt)
{
	const struct acpi_fadt *f = (const void *)xsdt_find(t, xsdt, "FACP");
	const struct acpi_table_header *dsdt;
	const struct acpi_facs *facs;

	assert_non_null(f);
	assert_int_equal(f->header.length, 276);
	assert_int_equal(f->header.revision, 6);
	assert_int_equal(f->dsdt, 0);
	dsdt = table_at(t, f->x_dsdt);
	assert_memory_equal(dsdt->signature, "DSDT", 4);
	assert_int_equal(dsdt->revision, 2);
	assert_ptr_equal(acpi_find_table(t, "DSDT")->gpa, f->x_dsdt);

	assert_int_equal(f->x_firmware_ctrl % 64, 0);
	facs = (const void *)(area + (f->x_firmware_ctrl - t->base_gpa));
	assert_memory_equal(facs->signature, "FACS", 4);
	assert_int_equal(facs->length, 64);

	assert_int_equal(f->sci_int, ACPI_SCI_IRQ);
	assert_int_equal(f->smi_cmd, 0);
	assert_int_equal(f->pm1a_evt_blk, 0x600);
	assert_int_equal(f->pm1_evt_len, 4);
	assert_int_equal(f->pm1a_cnt_blk, 0x604);
	assert_int_equal(f->pm1_cnt_len, 2);
	assert_int_equal(f->x_pm1a_evt_blk.space_id, ACPI_GAS_IO);
	assert_int_equal(f->x_pm1a_evt_blk.address, 0x600);
	assert_int_equal(f->x_pm1a_evt_blk.bit_width, 32);
	assert_int_equal(f->x_pm1a_cnt_blk.address, 0x604);
	assert_int_equal(f->x_pm1a_cnt_blk.bit_width, 16);
	/* The PM timer: 32 bits wide, where acpi_pm serves it. */
	assert_int_equal(f->pm_tmr_blk, 0x608);
	assert_int_equal(f->pm_tmr_blk, ACPI_PM_TMR_PORT);
	assert_int_equal(f->pm_tmr_len, 4);
	assert_int_equal(f->x_pm_tmr_blk.space_id, ACPI_GAS_IO);
	assert_int_equal(f->x_pm_tmr_blk.address, 0x608);
	assert_int_equal(f->x_pm_tmr_blk.bit_width, 32);
	assert_int_equal(f->x_pm_tmr_blk.access_size, ACPI_GAS_ACCESS_DWORD);
	assert_true(f->flags & ACPI_FADT_TMR_VAL_EXT);
	assert_int_equal(f->flags & ACPI_FADT_HW_REDUCED, 0);
	assert_true(f->flags & ACPI_FADT_WBINVD);
	assert_true(f->flags & ACPI_FADT_PROC_C1);
	assert_true(f->flags & ACPI_FADT_SLP_BUTTON);
	assert_true(f->flags & ACPI_FADT_RESET_REG_SUP);
	assert_int_equal(f->reset_reg.address, ACPI_RESET_PORT);
	assert_int_equal(f->reset_value, ACPI_RESET_VALUE);
	assert_int_equal(f->iapc_boot_arch, ACPI_BOOT_LEGACY_DEVICES |
						    ACPI_BOOT_8042 |
						    ACPI_BOOT_NO_VGA);
}

/* @nr_present: the first ones enabled, the rest there for hotplug. */
static void check_madt(const struct acpi_tables *t,
		       const struct acpi_table_header *xsdt,
		       unsigned int nr_cpus, unsigned int nr_present)
{
	const struct acpi_madt *m = (const void *)xsdt_find(t, xsdt, "APIC");
	const uint8_t *p, *end;
	unsigned int lapics = 0, ioapics = 0, isos = 0;

	assert_non_null(m);
	assert_int_equal(m->lapic_addr, 0xfee00000);
	assert_int_equal(m->flags, ACPI_MADT_PCAT_COMPAT);
	p = (const uint8_t *)(m + 1);
	end = (const uint8_t *)m + m->header.length;
	while (p < end) {
		assert_true(p + 2 <= end && p[1] >= 2 && p + p[1] <= end);
		switch (p[0]) {
		case ACPI_MADT_LAPIC: {
			const struct acpi_madt_lapic *l = (const void *)p;

			assert_int_equal(l->length, 8);
			assert_int_equal(l->apic_id, lapics);
			assert_int_equal(l->processor_uid, lapics);
			assert_int_equal(l->flags, lapics < nr_present ?
							   ACPI_MADT_ENABLED :
							   0);
			lapics++;
			break;
		}
		case ACPI_MADT_IOAPIC: {
			const struct acpi_madt_ioapic *io = (const void *)p;

			assert_int_equal(io->address, 0xfec00000);
			assert_int_equal(io->gsi_base, 0);
			ioapics++;
			break;
		}
		case ACPI_MADT_ISO: {
			const struct acpi_madt_iso *iso = (const void *)p;

			assert_int_equal(iso->bus, 0);
			assert_int_equal(iso->source, 9);
			assert_int_equal(iso->gsi, 9);
			assert_int_equal(iso->flags, 0xd); /* level, high */
			isos++;
			break;
		}
		default:
			break;
		}
		p += p[1];
	}
	assert_ptr_equal(p, end);
	assert_int_equal(lapics, nr_cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 1);
}

static void check_platform(unsigned int nr_cpus, unsigned int nr_present)
{
	struct x86_acpi_config cfg = { .nr_cpus = nr_cpus,
				       .nr_present = nr_present };
	struct acpi_tables t;
	const struct acpi_table_header *xsdt;

	assert_int_equal(build(&t, &cfg), 0);
	assert_true(t.len > 0 && t.len <= SIZE);
	xsdt = check_root(&t, 2);
	check_fadt(&t, xsdt);
	check_madt(&t, xsdt, nr_cpus, nr_present ? nr_present : nr_cpus);
	/* Nothing was written past what acpi_build reported. */
	for (size_t i = t.len; i < SIZE; i++)
		assert_int_equal(area[i], 0xa5);
}

static void test_tables_1cpu(void **state)
{
	check_platform(1, 0);
}

static void test_tables_8cpu(void **state)
{
	check_platform(8, 0);
}

/* Room for 8, 3 at boot: the other 5 disabled, for hw/cpuhp. */
static void test_tables_hotplug_cpus(void **state)
{
	check_platform(8, 3);
}

static void test_tables_max_cpus(void **state)
{
	check_platform(ACPI_MAX_CPUS, 0);
}

static void test_bad_config(void **state)
{
	struct x86_acpi_config cfg = { .nr_cpus = 0 };
	struct acpi_tables t;

	assert_int_equal(build(&t, &cfg), -EINVAL);
	cfg.nr_cpus = ACPI_MAX_CPUS + 1;
	assert_int_equal(build(&t, &cfg), -EINVAL);
	cfg = (struct x86_acpi_config){ .nr_cpus = 2, .nr_present = 3 };
	assert_int_equal(build(&t, &cfg), -EINVAL);
	cfg.nr_present = 0;

	cfg.nr_cpus = 1;
	t = (struct acpi_tables){ .buf = area, .size = 256, .base_gpa = BASE };
	assert_int_equal(x86_acpi_build(&t, &cfg), -ENOSPC);
	t = (struct acpi_tables){ .buf = area,
				  .size = SIZE,
				  .base_gpa = BASE + 8 };
	assert_int_equal(x86_acpi_build(&t, &cfg), -EINVAL);
}

/*
 * A device using what the board's own devices (test_pc_*) do not: a
 * method, a DWord I/O window, prefetchable 64-bit memory, a shared
 * level-triggered interrupt with two GSIs, a package of strings.
 */
static int describe_extra(struct device *dev, struct device_desc *d)
{
	static const uint32_t gsis[] = { 20, 21 };
	struct aml *a = d->aml;

	aml_device_begin(a, "EXT0");
	aml_name_string(a, "_HID", "DVSR0001");
	aml_name_integer(a, "_UID", 0);
	aml_method_begin(a, "_STA", 0, false);
	aml_return(a);
	aml_integer(a, 0x0f);
	aml_end(a);
	aml_name(a, "_CRS");
	aml_restemp_begin(a);
	aml_res_dword_io(a, 0x10000, 0x1ffff);
	aml_res_qword_memory(a, AML_MEM_RW | AML_MEM_PREFETCHABLE,
			     0x8000000000ull, 0xffffffffffull);
	aml_res_interrupt(
		a, AML_INT_CONSUMER | AML_INT_ACTIVE_LOW | AML_INT_SHARED, gsis,
		2);
	aml_restemp_end(a);
	aml_name(a, "NAMS");
	aml_package_begin(a);
	aml_string(a, "one");
	aml_string(a, "two");
	aml_end(a);
	aml_end(a);
	return 0;
}

static int describe_fail(struct device *dev, struct device_desc *d)
{
	return -ENODEV;
}

static const uint8_t mcfg_body[8 + 16] = {
	/* 8 reserved, base 0xb0000000, segment 0, buses 0-255 */
	[8 + 3] = 0xb0,
	[8 + 11] = 0xff,
};

static const struct acpi_extra_table mcfg = {
	.signature = "MCFG",
	.revision = 1,
	.body = mcfg_body,
	.body_len = sizeof(mcfg_body),
};

/* A VM shell whose devices are @devs, for their describe hooks. */
static struct vm *vm_with(struct device *devs, unsigned int n)
{
	static struct vm vm;

	vm_init_common(&vm);
	for (unsigned int i = 0; i < n; i++)
		device_register(&vm, &devs[i]);
	return &vm;
}

static void test_extensions(void **state)
{
	struct device dev = { .name = "fake", .describe = describe_extra };
	struct device bad = { .name = "bad", .describe = describe_fail };
	struct x86_acpi_config cfg = { .nr_cpus = 2,
				       .vm = vm_with(&dev, 1),
				       .extra_tables = &mcfg,
				       .nr_extra_tables = 1 };
	struct acpi_tables t;
	const struct acpi_table_header *xsdt, *h;

	assert_int_equal(build(&t, &cfg), 0);
	xsdt = check_root(&t, 3);
	h = xsdt_find(&t, xsdt, "MCFG");
	assert_non_null(h);
	assert_int_equal(h->length, 36 + sizeof(mcfg_body));
	assert_memory_equal(h + 1, mcfg_body, sizeof(mcfg_body));

	cfg.vm = vm_with(&bad, 1);
	assert_int_equal(build(&t, &cfg), -ENODEV);
	assert_int_equal(t.nr_tables, 0);
}

static void test_pkglen(void **state)
{
	static const struct {
		uint32_t len;
		unsigned int n;
		uint8_t bytes[4];
	} cases[] = {
		{ 0, 1, { 0x00 } },
		{ 63, 1, { 0x3f } },
		{ 64, 2, { 0x40, 0x04 } },
		{ 4095, 2, { 0x4f, 0xff } },
		{ 4096, 3, { 0x80, 0x00, 0x01 } },
		{ 0xfffff, 3, { 0x8f, 0xff, 0xff } },
		{ 0x100000, 4, { 0xc0, 0x00, 0x00, 0x01 } },
		{ 0xfffffff, 4, { 0xcf, 0xff, 0xff, 0xff } },
	};
	uint8_t out[4];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(aml_pkglen_encode(out, cases[i].len),
				 cases[i].n);
		assert_memory_equal(out, cases[i].bytes, cases[i].n);
	}
	assert_int_equal(aml_pkglen_encode(out, 0x10000000), 0);
}

static uint32_t pkglen_decode(const uint8_t *p, unsigned int *n)
{
	uint32_t v;

	*n = 1 + (p[0] >> 6);
	if (*n == 1)
		return p[0] & 0x3f;
	v = p[0] & 0x0f;
	for (unsigned int i = 1; i < *n; i++)
		v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

/* Scope (\) with @body bytes after the opcode: which PkgLength results? */
static void scope_pkglen(size_t body, unsigned int want_n, uint32_t want)
{
	static uint8_t filler[8192];
	struct aml a;
	unsigned int n;

	aml_init(&a);
	aml_scope_begin(&a, "\\"); /* 2 bytes of name */
	aml_raw(&a, filler, body - 2);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.buf[0], 0x10);
	assert_int_equal(pkglen_decode(a.buf + 1, &n), want);
	assert_int_equal(n, want_n);
	/* PkgLength counts itself and the body, not the opcode. */
	assert_int_equal(a.len, 1 + want);
	aml_free(&a);
}

static void test_pkglen_builder(void **state)
{
	scope_pkglen(62, 1, 63);
	scope_pkglen(63, 2, 65);
	scope_pkglen(4093, 2, 4095);
	scope_pkglen(4094, 3, 4097);
}

static void test_aml_objects(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x08, '\\', '_', 'S', '5', '_',		/* Name (\_S5_, */
		0x12, 0x07, 0x04,			/* Package 4 */
		0x0a, 0x05, 0x01, 0x00, 0xff,		/* 5, One, Zero, Ones */
		0x08, 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1',
		0x0c, 0x41, 0xd0, 0x05, 0x01,		/* EisaId PNP0501 */
		0x08, 0x2f, 0x03, 'A', '_', '_', '_', 'B', '_', '_', '_',
		'C', '1', '2', '_', 0x0d, 'h', 'i', 0x00,
		0x08, '^', 'X', '_', '_', '_', 0x0b, 0x34, 0x12,
		0x08, 'Q', '_', '_', '_', 0x0e, 8, 7, 6, 5, 4, 3, 2, 1,
		0x14, 0x09, 'M', '_', '_', '_', 0x0a, 0xa4, 0x0a, 0x0f,
		0x08, 'B', '_', '_', '_', 0x11, 0x05, 0x0a, 0x02, 0xaa, 0xbb,
	};
	/* clang-format on */
	uint32_t id;
	struct aml a;

	assert_int_equal(aml_eisaid_value("PNP0501", &id), 0);
	assert_int_equal(id, 0x0105d041);
	assert_int_equal(aml_eisaid_value("PNP050", &id), -EINVAL);
	assert_int_equal(aml_eisaid_value("pnp0501", &id), -EINVAL);

	aml_init(&a);
	aml_name(&a, "\\_S5_");
	aml_package_begin(&a);
	aml_integer(&a, 5);
	aml_one(&a);
	aml_zero(&a);
	aml_integer(&a, UINT64_MAX);
	aml_end(&a);
	aml_name_eisaid(&a, "_SB.COM1", "PNP0501");
	aml_name_string(&a, "A.B.C12", "hi");
	aml_name_integer(&a, "^X", 0x1234);
	aml_name_integer(&a, "Q", 0x0102030405060708ull);
	aml_method_begin(&a, "M", 2, true);
	aml_return(&a);
	aml_integer(&a, 0x0f);
	aml_end(&a);
	aml_name(&a, "B");
	aml_buffer(&a, "\xaa\xbb", 2);
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.buf, want, sizeof(want));
	aml_free(&a);
}

static void test_aml_errors(void **state)
{
	static const char *const bad_names[] = {
		"", "TOOLONG", "1ABC", "a", "A..B", "A.", ".A", "\\A.",
	};
	struct aml a;

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		aml_init(&a);
		aml_name_integer(&a, bad_names[i], 1);
		assert_int_equal(aml_finish(&a), -EINVAL);
		aml_free(&a);
	}

	/* Unbalanced */
	aml_init(&a);
	aml_scope_begin(&a, "\\");
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	/* A descriptor outside a template, a template closed as a buffer */
	aml_init(&a);
	aml_res_io(&a, 0x60, 0x60, 1, 1);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);
	aml_init(&a);
	aml_restemp_begin(&a);
	aml_end(&a);
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	/* Errors stick: nothing more is emitted. */
	aml_init(&a);
	aml_name_integer(&a, "1", 1);
	aml_integer(&a, 5);
	assert_int_equal(a.err, -EINVAL);
	assert_int_equal(a.len, 1);
	aml_free(&a);

	/* Too deep */
	aml_init(&a);
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml_package_begin(&a);
	assert_int_equal(aml_finish(&a), -E2BIG);
	aml_free(&a);
}

static void test_restemp_checksum(void **state)
{
	struct aml a;
	uint8_t sum = 0;

	aml_init(&a);
	aml_restemp_begin(&a);
	aml_res_io(&a, 0x3f8, 0x3f8, 1, 8);
	aml_res_irq(&a, 4);
	aml_restemp_end(&a);
	assert_int_equal(aml_finish(&a), 0);
	/* 11 PkgLength, 0a 18 BufferSize, 8 + 9 descriptor bytes, 79 xx */
	assert_int_equal(a.len, 1 + 1 + 2 + 8 + 9 + 2);
	assert_int_equal(a.buf[0], 0x11);
	assert_int_equal(a.buf[2], 0x0a);
	assert_int_equal(a.buf[3], 8 + 9 + 2);
	assert_int_equal(a.buf[a.len - 2], 0x79);
	for (size_t i = 4; i < a.len; i++)
		sum += a.buf[i];
	assert_int_equal(sum, 0);
	aml_free(&a);
}

/* --- iasl round trip --- */

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

/* Runs @cmd in @dir; returns its exit status and leaves output in @log. */
static int run_in(const char *dir, const char *cmd, char *log, size_t size)
{
	char full[1024];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(full, sizeof(full), "cd '%s' && %s 2>&1", dir, cmd);
	p = popen(full, "r");
	assert_non_null(p);
	while (n + 1 < size) {
		size_t r = fread(log + n, 1, size - 1 - n, p);

		if (!r)
			break;
		n += r;
	}
	log[n] = 0;
	/* Drain the rest so iasl never blocks on a full pipe. */
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc(n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, n, f), n);
	s[n] = 0;
	fclose(f);
	return s;
}

/*
 * iasl exits non-zero on hard errors but reports, say, a bad checksum only
 * as a "Firmware Warning": treat any error or warning as a failure, except
 * the compiler's "0 Errors, 0 Warnings" summary.
 */
static bool mentions(const char *log, const char *word)
{
	size_t n = strlen(word);

	for (const char *e = strstr(log, word); e; e = strstr(e + 1, word))
		if (!(e >= log + 2 && !strncmp(e - 2, "0 ", 2) && e[n] == 's'))
			return true;
	return false;
}

static bool iasl_ok(int rc, const char *log)
{
	return rc == 0 && !mentions(log, "Error") && !mentions(log, "Warning");
}

/* @want: strings the disassembled DSDT must hold, NULL-terminated. */
static void iasl_check(const struct acpi_tables *t, const char *const *want)
{
	char dir[] = "/tmp/devisor-acpi-XXXXXX";
	char path[512], cmd[256], *log, *dsl;
	FILE *f;

	if (!have_iasl()) {
		print_message("iasl not installed (acpica-tools): skipping\n");
		skip();
	}
	log = malloc(65536);
	assert_non_null(log);
	assert_non_null(mkdtemp(dir));

	for (unsigned int i = 0; i < t->nr_tables; i++) {
		const struct acpi_table_info *ti = &t->tables[i];
		int rc;

		/*
		 * iasl's file loader rejects a bare RSDP ("Loading an RSDP
		 * is not supported"); check_root() covers it instead.
		 */
		if (!strcmp(ti->signature, "RSDP"))
			continue;
		snprintf(path, sizeof(path), "%s/%s.dat", dir, ti->signature);
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(area + ti->offset, 1, ti->len, f),
				 ti->len);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", ti->signature);
		rc = run_in(dir, cmd, log, 65536);
		if (!iasl_ok(rc, log))
			fail_msg("iasl -d %s (rc %d):\n%s", ti->signature, rc,
				 log);
	}

	snprintf(path, sizeof(path), "%s/DSDT.dsl", dir);
	dsl = slurp(path);
	/* iasl drops the name's trailing '_' but says "_S5_" in a comment. */
	assert_non_null(strstr(dsl, "Name (\\_S5, Package"));
	assert_non_null(strstr(dsl, "_S5_"));
	for (; *want; want++)
		if (!strstr(dsl, *want))
			fail_msg("no %s in the DSDT:\n%s", *want, dsl);
	assert_non_null(strstr(dsl, "ResourceTemplate"));
	if (getenv("ACPI_TEST_VERBOSE")) {
		/* print_message() truncates long text */
		fputs(dsl, stdout);
		fflush(stdout);
	}
	free(dsl);

	/* And it compiles back. */
	if (!iasl_ok(run_in(dir, "iasl -p recompiled DSDT.dsl", log, 65536),
		     log))
		fail_msg("iasl DSDT.dsl:\n%s", log);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(log);
}

static void iasl_round_trip(const struct x86_acpi_config *cfg,
			    const char *const *want)
{
	struct acpi_tables t;

	assert_int_equal(build(&t, cfg), 0);
	iasl_check(&t, want);
}

/* The PC's legacy devices, describing themselves. */
static void test_iasl_plain(void **state)
{
	struct x86_acpi_config cfg = { .nr_cpus = 4 };
	struct vm *vm = vm_with(NULL, 0);

	assert_non_null(
		serial_create(vm, SERIAL_COM1_BASE, SERIAL_COM1_GSI, -1));
	assert_non_null(rtc_create(vm));
	assert_non_null(i8042_create(vm));
	cfg.vm = vm;
	iasl_round_trip(&cfg, (const char *const[]){ "PNP0501", "PNP0B00",
						     "PNP0303", NULL });
	vm_destroy(vm);
}

static void test_iasl_extended(void **state)
{
	struct device dev = { .name = "fake", .describe = describe_extra };
	struct x86_acpi_config cfg = { .nr_cpus = 8,
				       .vm = vm_with(&dev, 1),
				       .extra_tables = &mcfg,
				       .nr_extra_tables = 1 };

	iasl_round_trip(&cfg, (const char *const[]){ "DVSR0001", "Method (_STA",
						     "DWordIO", "Prefetchable",
						     "Level, ActiveLow, Shared",
						     NULL });
}

/* --- the PC board's tables: what its own devices describe --- */

/*
 * The board as machine_create_devices() builds it for two disks on
 * virtio-mmio, one on PCI and virtio-rng, on a VM without KVM; its
 * tables are copied to area[] and listed in tables as an OS finds them.
 */
static struct {
	struct vm vm;
	struct machine m;
	struct vm_config cfg;
	char img[3][64];
	char spec[3][96];
	uint64_t rsdp;
	struct acpi_tables tables;
} pc;

static void pc_irq(struct vm *vm, unsigned int gsi, int level)
{
}

static void add_table(struct acpi_tables *t, uint64_t gpa, uint32_t len)
{
	struct acpi_table_info *ti = &t->tables[t->nr_tables++];

	assert_true(t->nr_tables <= ACPI_MAX_TABLES);
	*ti = (struct acpi_table_info){ .offset = gpa - t->base_gpa,
					.len = len,
					.gpa = gpa };
	memcpy(ti->signature, area + ti->offset, 4);
}

/* RSDP -> XSDT -> each table, and the FADT's DSDT and FACS. */
static void find_tables(struct acpi_tables *t, unsigned int nr_entries)
{
	const struct acpi_table_header *xsdt = check_root(t, nr_entries);
	const struct acpi_fadt *f = (const void *)xsdt_find(t, xsdt, "FACP");
	unsigned int n = (xsdt->length - 36) / 8;

	add_table(t, f->x_firmware_ctrl, 64);
	add_table(t, f->x_dsdt, table_at(t, f->x_dsdt)->length);
	for (unsigned int i = 0; i < n; i++)
		add_table(t, xsdt_entry(xsdt, i),
			  table_at(t, xsdt_entry(xsdt, i))->length);
	add_table(t, t->base_gpa + ((const uint8_t *)xsdt - area),
		  xsdt->length);
}

/* @possible vCPUs, 2 of them at boot (more: hw/cpuhp). */
static int pc_setup_kind(struct iommu_config iommu, unsigned int possible)
{
	char err[160];
	int fd;

	memset(&pc, 0, sizeof(pc));
	vm_init_common(&pc.vm);
	pc.vm.irq_set = pc_irq;
	pc.vm.nr_cpus = possible;
	assert_int_equal(guest_mem_init(&pc.vm.mem, 512ull << 20, false), 0);
	pc.cfg = (struct vm_config){ .nr_cpus = 2,
				     .max_cpus = possible,
				     .ram_size = 512ull << 20,
				     .rng = true,
				     .rng_addr = CONFIG_PCI_AUTO,
				     .console_addr = CONFIG_PCI_AUTO };
	config_platform_default(&pc.cfg.platform);
	for (unsigned int i = 0; i < 3; i++) {
		strcpy(pc.img[i], "/tmp/devisor-acpi-disk-XXXXXX");
		fd = mkstemp(pc.img[i]);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 1 << 20), 0);
		close(fd);
		snprintf(pc.spec[i], sizeof(pc.spec[i]), "path=%s%s", pc.img[i],
			 i < 2 ? ",transport=mmio" : "");
		assert_int_equal(config_parse_disk(pc.spec[i], &pc.cfg.disks[i],
						   err, sizeof(err)),
				 0);
	}
	pc.cfg.nr_disks = 3;
	pc.cfg.iommu = iommu;
	assert_int_equal(config_plan_pci(&pc.cfg, err, sizeof(err)), 0);

	assert_int_equal(machine_create_devices(&pc.vm, &pc.cfg, &pc.m), 0);
	assert_int_equal(machine_install_acpi(&pc.vm, &pc.m, &pc.rsdp), 0);
	assert_int_equal(pc.rsdp, ACPI_TABLES_ADDR);
	memcpy(area, gpa_to_hva(&pc.vm.mem, BASE, SIZE), SIZE);
	pc.tables = (struct acpi_tables){ .buf = area,
					  .size = SIZE,
					  .len = SIZE,
					  .base_gpa = BASE,
					  .rsdp_gpa = pc.rsdp };
	/* FACP, APIC, MCFG, and the IOMMU's table. */
	find_tables(&pc.tables, iommu.kind == IOMMU_NONE ? 3 : 4);
	return 0;
}

static int pc_setup(void **state)
{
	return pc_setup_kind((struct iommu_config){ .kind = IOMMU_NONE }, 2);
}

static int pc_setup_cpuhp(void **state)
{
	return pc_setup_kind((struct iommu_config){ .kind = IOMMU_NONE }, 4);
}

static int pc_setup_viommu(void **state)
{
	return pc_setup_kind((struct iommu_config){ .kind = IOMMU_VIRTIO }, 2);
}

static int pc_setup_vtd(void **state)
{
	return pc_setup_kind((struct iommu_config){ .kind = IOMMU_VTD }, 2);
}

static int pc_setup_vtd_cm(void **state)
{
	return pc_setup_kind((struct iommu_config){ .kind = IOMMU_VTD,
						    .caching_mode = true },
			     2);
}

static int pc_teardown(void **state)
{
	vm_destroy(&pc.vm);
	machine_destroy(&pc.m);
	for (unsigned int i = 0; i < 3; i++)
		unlink(pc.img[i]);
	return 0;
}

/* A small reader of the AML we write: the Devices in \_SB and their names. */
struct aml_dev {
	char name[5];
	const uint8_t *body;
	size_t len;
};

/* Bytes a data object takes (integers, strings, buffers, packages). */
static size_t data_len(const uint8_t *p)
{
	unsigned int n;

	switch (p[0]) {
	case 0x00: /* Zero */
	case 0x01: /* One */
	case 0xff: /* Ones */
		return 1;
	case 0x0a:
		return 2;
	case 0x0b:
		return 3;
	case 0x0c:
		return 5;
	case 0x0e:
		return 9;
	case 0x0d:
		return 2 + strlen((const char *)p + 1);
	case 0x11: /* Buffer */
	case 0x12: /* Package */
		return 1 + pkglen_decode(p + 1, &n);
	}
	fail_msg("AML data object %#x", p[0]);
	return 0;
}

static uint64_t aml_int(const uint8_t *p)
{
	switch (p[0]) {
	case 0x00:
		return 0;
	case 0x01:
		return 1;
	case 0x0a:
		return p[1];
	case 0x0b:
		return p[1] | p[2] << 8;
	case 0x0c:
		return p[1] | p[2] << 8 | p[3] << 16 | (uint32_t)p[4] << 24;
	}
	fail_msg("AML integer %#x", p[0]);
	return 0;
}

/*
 * The DSDT: \_S5_, then one Scope (\_SB) holding Devices and, for hotplug,
 * one Scope (\_SB.PCI0), which is skipped here; then Scope (\_GPE).
 */
static unsigned int sb_devices(const struct acpi_tables *t, struct aml_dev *out,
			       unsigned int max)
{
	const struct acpi_table_header *h =
		table_at(t, acpi_find_table(t, "DSDT")->gpa);
	const uint8_t *p = (const uint8_t *)(h + 1), *end, *sb_end;
	unsigned int n, nr = 0;

	assert_memory_equal(h->signature, "DSDT", 4);
	end = (const uint8_t *)h + h->length;
	assert_memory_equal(p, "\x08\\_S5_", 6);
	p += 6 + data_len(p + 6);
	assert_int_equal(p[0], 0x10); /* Scope */
	sb_end = p + 1 + pkglen_decode(p + 1, &n);
	assert_true(sb_end <= end);
	p += 1 + n;
	assert_memory_equal(p, "\\_SB_", 5);
	for (p += 5; p < sb_end; nr++) {
		assert_true(nr < max);
		if (p[0] == 0x10) { /* Scope (\_SB.PCI0): hotplug's */
			pkglen_decode(p + 1, &n);
			assert_memory_equal(p + 1 + n, "\\\x2e_SB_PCI0", 10);
			p += 1 + pkglen_decode(p + 1, &n);
			nr--;
			continue;
		}
		assert_memory_equal(p, "\x5b\x82", 2); /* Device */
		out[nr].len = pkglen_decode(p + 2, &n) - n - 4;
		memcpy(out[nr].name, p + 2 + n, 4);
		out[nr].name[4] = 0;
		out[nr].body = p + 2 + n + 4;
		p = out[nr].body + out[nr].len;
	}
	assert_ptr_equal(p, sb_end);
	return nr;
}

/* Name (@name, ...) in a device: its data object, or NULL. */
static const uint8_t *dev_name(const struct aml_dev *d, const char *name)
{
	const uint8_t *p = d->body, *end = d->body + d->len;

	while (p < end) {
		assert_int_equal(p[0], 0x08); /* only Names in our Devices */
		if (!memcmp(p + 1, name, 4))
			return p + 5;
		p += 5 + data_len(p + 5);
	}
	return NULL;
}

static void expect_eisaid(const struct aml_dev *d, const char *name,
			  const char *id)
{
	const uint8_t *v = dev_name(d, name);
	uint32_t want;

	assert_non_null(v);
	assert_int_equal(aml_eisaid_value(id, &want), 0);
	assert_int_equal(v[0], 0x0c);
	assert_int_equal(aml_int(v), want);
}

/* What a _CRS holds, descriptor by descriptor. */
struct crs {
	unsigned int nr_io, nr_irq, nr_mem32, nr_addr;
	struct {
		uint16_t min, max;
		uint8_t len;
	} io[4];
	uint32_t irq[4];
	uint8_t irq_flags;
	struct {
		uint32_t base, len;
	} mem32[2];
	struct {
		uint8_t type, tflags;
		uint64_t min, max, len;
	} addr[8];
};

static void parse_crs(const struct aml_dev *d, struct crs *c)
{
	const uint8_t *v = dev_name(d, "_CRS"), *p, *end;
	unsigned int n;

	memset(c, 0, sizeof(*c));
	assert_non_null(v);
	assert_int_equal(v[0], 0x11); /* Buffer */
	end = v + 1 + pkglen_decode(v + 1, &n);
	p = v + 1 + n;
	p += data_len(p); /* BufferSize */
	while (p < end) {
		if (!(p[0] & 0x80)) {
			if (p[0] == 0x79) /* EndTag */
				break;
			assert_int_equal(p[0], 0x47); /* IO */
			c->io[c->nr_io].min = get_le(p + 2, 2);
			c->io[c->nr_io].max = get_le(p + 4, 2);
			c->io[c->nr_io++].len = p[7];
			p += 8;
			continue;
		}
		if (p[0] == 0x89) { /* Extended Interrupt */
			c->irq_flags = p[3];
			for (unsigned int i = 0; i < p[4]; i++)
				c->irq[c->nr_irq++] = get_le(p + 5 + 4 * i, 4);
		} else if (p[0] == 0x86) { /* Memory32Fixed */
			c->mem32[c->nr_mem32].base = get_le(p + 4, 4);
			c->mem32[c->nr_mem32++].len = get_le(p + 8, 4);
		} else { /* Word, DWord, QWord address space */
			unsigned int sz = p[0] == 0x88 ? 2 :
					  p[0] == 0x87 ? 4 :
							 8;

			assert_true(p[0] == 0x88 || p[0] == 0x87 ||
				    p[0] == 0x8a);
			c->addr[c->nr_addr].type = p[3];
			c->addr[c->nr_addr].tflags = p[5];
			c->addr[c->nr_addr].min = get_le(p + 6 + sz, sz);
			c->addr[c->nr_addr].max = get_le(p + 6 + 2 * sz, sz);
			c->addr[c->nr_addr++].len = get_le(p + 6 + 4 * sz, sz);
		}
		p += 3 + get_le(p + 1, 2);
	}
	assert_true(p < end && p[0] == 0x79);
}

static unsigned int pc_devices(struct aml_dev *devs)
{
	return sb_devices(&pc.tables, devs, 16);
}

/* COM1, the RTC and the keyboard controller, then PCI0, then the windows. */
static void test_pc_dsdt_order(void **state)
{
	static const char *const want[] = { "COM1", "RTC_", "KBD_", "PCI0" };
	struct aml_dev d[16];
	unsigned int n = pc_devices(d);

	/* virtio-pci functions describe nothing: PCI enumeration finds them. */
	assert_int_equal(n, 4 + 2);
	for (unsigned int i = 0; i < 4; i++)
		assert_string_equal(d[i].name, want[i]);
	assert_memory_equal(d[4].name, "VR", 2);
	assert_memory_equal(d[5].name, "VR", 2);
}

static void test_pc_dsdt_legacy(void **state)
{
	struct aml_dev d[16];
	struct crs c;

	pc_devices(d);
	expect_eisaid(&d[0], "_HID", "PNP0501");
	assert_int_equal(aml_int(dev_name(&d[0], "_UID")), 1);
	parse_crs(&d[0], &c);
	assert_int_equal(c.nr_io, 1);
	assert_int_equal(c.io[0].min, 0x3f8);
	assert_int_equal(c.io[0].max, 0x3f8);
	assert_int_equal(c.io[0].len, 8);
	assert_int_equal(c.nr_irq, 1);
	assert_int_equal(c.irq[0], 4);
	/* Consumer, edge, active high, exclusive */
	assert_int_equal(c.irq_flags, AML_INT_CONSUMER | AML_INT_EDGE);

	expect_eisaid(&d[1], "_HID", "PNP0B00");
	assert_null(dev_name(&d[1], "_UID"));
	parse_crs(&d[1], &c);
	assert_int_equal(c.nr_io, 1);
	assert_int_equal(c.io[0].min, 0x70);
	assert_int_equal(c.io[0].len, 2);
	assert_int_equal(c.irq[0], 8);

	expect_eisaid(&d[2], "_HID", "PNP0303");
	parse_crs(&d[2], &c);
	assert_int_equal(c.nr_io, 2);
	assert_int_equal(c.io[0].min, 0x60);
	assert_int_equal(c.io[0].len, 1);
	assert_int_equal(c.io[1].min, 0x64);
	assert_int_equal(c.io[1].len, 1);
	assert_int_equal(c.nr_irq, 1);
	assert_int_equal(c.irq[0], 1);
}

/* _PRT entry (@slot, @pin): the GSI it routes to; *@nr entries in all. */
static uint64_t prt_gsi(const struct aml_dev *d, unsigned int slot,
			unsigned int pin, unsigned int *nr)
{
	const uint8_t *p = dev_name(d, "_PRT");
	uint64_t gsi = ~0ull;
	unsigned int n;

	assert_non_null(p);
	assert_int_equal(p[0], 0x12); /* Package */
	pkglen_decode(p + 1, &n);
	*nr = p[1 + n]; /* NumElements */
	p += 2 + n;
	for (unsigned int i = 0; i < *nr; i++) {
		const uint8_t *f;
		uint64_t addr, epin;

		assert_int_equal(p[0], 0x12);
		pkglen_decode(p + 1, &n);
		assert_int_equal(p[1 + n], 4); /* Address, Pin, Source, Index */
		f = p + 2 + n;
		addr = aml_int(f);
		f += data_len(f);
		epin = aml_int(f);
		f += data_len(f);
		assert_int_equal(aml_int(f), 0); /* no link device: a GSI */
		f += data_len(f);
		if (addr == ((uint64_t)slot << 16 | 0xffff) && epin == pin)
			gsi = aml_int(f);
		p += data_len(p);
	}
	return gsi;
}

static void test_pc_dsdt_pci_host(void **state)
{
	struct aml_dev d[16];
	unsigned int nr;
	struct crs c;

	pc_devices(d);
	expect_eisaid(&d[3], "_HID", "PNP0A08");
	expect_eisaid(&d[3], "_CID", "PNP0A03");
	assert_int_equal(aml_int(dev_name(&d[3], "_SEG")), 0);
	assert_int_equal(aml_int(dev_name(&d[3], "_BBN")), 0);
	parse_crs(&d[3], &c);
	/* The config ports the bridge consumes, and nothing else fixed. */
	assert_int_equal(c.nr_io, 1);
	assert_int_equal(c.io[0].min, PCI_CONF1_PORT);
	assert_int_equal(c.io[0].len, PCI_CONF1_SIZE);
	assert_int_equal(c.nr_irq, 0);
	assert_int_equal(c.nr_addr, 5);
	/* Bus 0: the whole ECAM window. */
	assert_int_equal(c.addr[0].type, AML_ADDR_SPACE_BUS);
	assert_int_equal(c.addr[0].min, 0);
	assert_int_equal(c.addr[0].max, 0);
	assert_int_equal(c.addr[0].len, 1);
	/* All I/O ports but 0xcf8-0xcff pass through to the bus. */
	assert_int_equal(c.addr[1].type, AML_ADDR_SPACE_IO);
	assert_int_equal(c.addr[1].min, 0);
	assert_int_equal(c.addr[1].max, 0xcf7);
	assert_int_equal(c.addr[2].type, AML_ADDR_SPACE_IO);
	assert_int_equal(c.addr[2].min, 0xd00);
	assert_int_equal(c.addr[2].max, 0xffff);
	/* The 32-bit window below 4 GiB, then the 64-bit one above RAM. */
	assert_int_equal(c.addr[3].type, AML_ADDR_SPACE_MEMORY);
	assert_int_equal(c.addr[3].min, PCI_MMIO32_BASE);
	assert_int_equal(c.addr[3].len, PCI_MMIO32_SIZE);
	assert_int_equal(c.addr[3].tflags, AML_MEM_RW | AML_MEM_NONCACHEABLE);
	assert_int_equal(c.addr[4].type, AML_ADDR_SPACE_MEMORY);
	assert_int_equal(c.addr[4].min, 4ull << 30); /* 512 MiB of RAM */
	assert_int_equal(c.addr[4].len, PCI_MMIO64_SIZE);
	assert_int_equal(c.addr[4].tflags, AML_MEM_RW | AML_MEM_NONCACHEABLE);
	/* INTx: pin P of slot S to GSI 16 + ((S + P) & 3), all 32 slots. */
	assert_int_equal(prt_gsi(&d[3], 0, 0, &nr), 16);
	assert_int_equal(nr, 32 * 4);
	assert_int_equal(prt_gsi(&d[3], 1, 0, &nr), 17);
	assert_int_equal(prt_gsi(&d[3], 3, 2, &nr), 17);
	assert_int_equal(prt_gsi(&d[3], 31, 3, &nr), 18);
}

static void test_pc_dsdt_virtio_mmio(void **state)
{
	struct aml_dev d[16];
	const uint8_t *hid;
	char name[5];
	struct crs c;

	pc_devices(d);
	for (unsigned int i = 0; i < 2; i++) {
		const struct aml_dev *v = &d[4 + i];

		/* A string _HID: LNRO0005 is no EISA id. */
		hid = dev_name(v, "_HID");
		assert_non_null(hid);
		assert_int_equal(hid[0], 0x0d);
		assert_string_equal((const char *)hid + 1, "LNRO0005");
		/* _UIDs count from 0 in every VM (each test builds one). */
		assert_int_equal(aml_int(dev_name(v, "_UID")), i);
		snprintf(name, sizeof(name), "VR%02X", i);
		assert_string_equal(v->name, name);
		/* The 4 KiB window and its own GSI, edge-triggered. */
		parse_crs(v, &c);
		assert_int_equal(c.nr_mem32, 1);
		assert_int_equal(c.mem32[0].base,
				 VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE);
		assert_int_equal(c.mem32[0].len, 0x1000);
		assert_int_equal(c.nr_irq, 1);
		assert_int_equal(c.irq[0], 5 + i);
		assert_int_equal(c.irq_flags, AML_INT_CONSUMER | AML_INT_EDGE);
		/* What acpi=off guests get on the command line instead. */
		snprintf(name, sizeof(name), "%u", 5 + i);
		assert_non_null(
			strstr(virtio_mmio_cmdline(pc.m.mmio[i]), name));
	}
}

static void test_pc_mcfg(void **state)
{
	const struct acpi_table_header *xsdt = check_root(&pc.tables, 3);
	const struct acpi_table_header *h = xsdt_find(&pc.tables, xsdt, "MCFG");
	struct acpi_mcfg_allocation a;

	assert_non_null(h);
	assert_int_equal(h->revision, 1);
	assert_int_equal(h->length, 36 + 8 + sizeof(a));
	/* Reserved, then one allocation: segment 0, bus 0, the only one. */
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(((const uint8_t *)(h + 1))[i], 0);
	memcpy(&a, (const uint8_t *)(h + 1) + 8, sizeof(a));
	assert_int_equal(a.base, PCI_ECAM_BASE);
	assert_int_equal(a.segment, 0);
	assert_int_equal(a.start_bus, 0);
	assert_int_equal(a.end_bus, 0);
	assert_int_equal(pc.m.pci->nr_buses, 1);
}

/* The ICH's reset control byte at 0xcf9 reads back, beside CONFIG_ADDRESS. */
static void test_pc_cf9(void **state)
{
	uint8_t b = 0x02;
	uint32_t v = 0x80000000;

	bus_write(&pc.vm.pio, 0xcf9, &b, 1);
	b = 0;
	bus_read(&pc.vm.pio, 0xcf9, &b, 1);
	assert_int_equal(b, 0x02);
	bus_read(&pc.vm.pio, 0xcfa, &b, 1);
	assert_int_equal(b, 0xff);
	bus_write(&pc.vm.pio, 0xcf8, &v, 4);
	v = 0;
	bus_read(&pc.vm.pio, 0xcf8, &v, 4);
	assert_int_equal(v, 0x80000000);
	/* The host bridge answers at 00:00.0 with the q35 MCH's IDs. */
	bus_read(&pc.vm.pio, 0xcfc, &v, 4);
	assert_int_equal(v, 0x29c08086);
}

static void test_pc_iasl(void **state)
{
	iasl_check(&pc.tables,
		   (const char *const[]){
			   "PNP0501", "PNP0B00", "PNP0303", "PNP0A08",
			   "LNRO0005", "_PRT",
			   /* hw/pcihp and its GPE */
			   "OperationRegion (PCHP, SystemIO, 0x0610",
			   "Device (S1F)", "Method (_EJ0", "B0EJ",
			   "Method (PCNT", "Notify (S05, 0x03)", "Method (_E01",
			   "\\_SB.PCI0.PCNT ()", NULL });
}

/*
 * --cpus boot=2,max=4: hw/cpuhp's container, a processor device per
 * possible CPU with _STA from the present bits, its GPE; the MADT has
 * all four, the last two disabled.
 */
static void test_pc_cpuhp(void **state)
{
	const struct acpi_table_info *ti = acpi_find_table(&pc.tables, "APIC");
	const struct acpi_table_header *x;

	assert_non_null(ti);
	x = table_at(&pc.tables, acpi_find_table(&pc.tables, "XSDT")->gpa);
	check_madt(&pc.tables, x, 4, 2);
	assert_non_null(pc.m.board.cpu_hotplug);
	assert_true(cpuhp_present(pc.m.board.cpu_hotplug, 1));
	assert_false(cpuhp_present(pc.m.board.cpu_hotplug, 2));
	iasl_check(&pc.tables,
		   (const char *const[]){
			   "Device (CPUS)", "\"ACPI0010\"",
			   "OperationRegion (CPHP, SystemIO, 0x0620",
			   "Device (C000)", "Device (C003)", "\"ACPI0007\"",
			   "Name (_MAT, Buffer", "Method (_STA",
			   "If ((CP00 & 0x08))", "CE00 = 0x08", "Method (CSCN",
			   "Notify (C002, One)", "Notify (C003, 0x03)",
			   "Method (_E02", "\\_SB.CPUS.CSCN ()", "Method (_E01",
			   NULL });
}

/*
 * --iommu virtio: a virtio-iommu function (1af4:1057) and a VIOT naming
 * it, with PCI ranges for every other BDF; no DMAR.
 */
static void test_viot(void **state)
{
	const struct acpi_table_info *ti = acpi_find_table(&pc.tables, "VIOT");
	const struct acpi_table_header *h;
	struct pci_dev *p;
	uint8_t want[128];
	size_t n;

	assert_non_null(ti);
	assert_null(acpi_find_table(&pc.tables, "DMAR"));
	h = table_at(&pc.tables, ti->gpa);
	assert_int_equal(h->revision, 0);
	assert_true(pc.m.viommu_devfn > 0);
	n = viommu_viot_build(want, sizeof(want), 0, pc.m.viommu_devfn);
	assert_int_equal(h->length, 36 + n);
	assert_memory_equal(area + ti->offset + 36, want, n);
	p = pci_host_find(pc.m.pci, 0, pc.m.viommu_devfn);
	assert_non_null(p);
	assert_int_equal(pci_cfg_read(p, 0, 4), 0x10571af4);
}

#define PC(fn) cmocka_unit_test_setup_teardown(fn, pc_setup, pc_teardown)
#define PC_CPUHP(fn) \
	cmocka_unit_test_setup_teardown(fn, pc_setup_cpuhp, pc_teardown)

/*
 * vm.add-device behind --iommu vtd: refused, with the option to name,
 * unless the unit reports caching mode (CAP.CM) from boot on; with it the
 * function is looked for (here: a path that is no device).
 */
static void test_vtd_add_vfio(void **state)
{
	bool cm = pc.cfg.iommu.caching_mode;
	uint64_t cap = vtd_mmio_read(pc.m.vtd, VTD_CAP, 8);
	char err[200] = "";
	int r;

	assert_int_equal(!!(cap & VTD_CAP_CM), cm);
	r = pc_board.add_vfio(&pc.vm, &pc.m.board,
			      "/sys/bus/pci/devices/0000:ff:1f.7", err,
			      sizeof(err));
	if (!cm) {
		assert_int_equal(r, -EOPNOTSUPP);
		assert_string_equal(
			err, "behind --iommu vtd a passed-through "
			     "function needs caching mode from boot on: "
			     "--iommu vtd,caching_mode=on, or a --device "
			     "at boot");
	} else {
		assert_int_equal(r, -ENODEV);
		assert_null(strstr(err, "caching mode"));
		assert_non_null(strstr(err, "0000:ff:1f.7"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkglen),
		cmocka_unit_test(test_pkglen_builder),
		cmocka_unit_test(test_aml_objects),
		cmocka_unit_test(test_aml_errors),
		cmocka_unit_test(test_restemp_checksum),
		cmocka_unit_test(test_tables_1cpu),
		cmocka_unit_test(test_tables_8cpu),
		cmocka_unit_test(test_tables_hotplug_cpus),
		cmocka_unit_test(test_tables_max_cpus),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_iasl_plain),
		cmocka_unit_test(test_iasl_extended),
		PC(test_pc_dsdt_order),
		PC(test_pc_dsdt_legacy),
		PC(test_pc_dsdt_pci_host),
		PC(test_pc_dsdt_virtio_mmio),
		PC(test_pc_mcfg),
		PC(test_pc_cf9),
		PC(test_pc_iasl),
		PC_CPUHP(test_pc_cpuhp),
		cmocka_unit_test_setup_teardown(test_vtd_add_vfio, pc_setup_vtd,
						pc_teardown),
		cmocka_unit_test_setup_teardown(test_vtd_add_vfio,
						pc_setup_vtd_cm, pc_teardown),
		cmocka_unit_test_setup_teardown(test_viot, pc_setup_viommu,
						pc_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
