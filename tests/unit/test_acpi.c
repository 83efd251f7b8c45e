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

#include "acpi/aml.h"
#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "bus/device.h"
#include "hw/acpi_pm.h"
#include "hw/i8042.h"
#include "hw/rtc.h"
#include "hw/serial.h"
#include "kvm/vm.h"

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

static void check_madt(const struct acpi_tables *t,
		       const struct acpi_table_header *xsdt,
		       unsigned int nr_cpus)
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
			assert_int_equal(l->flags & 1, 1);
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

static void check_platform(unsigned int nr_cpus)
{
	struct x86_acpi_config cfg = { .nr_cpus = nr_cpus };
	struct acpi_tables t;
	const struct acpi_table_header *xsdt;

	assert_int_equal(build(&t, &cfg), 0);
	assert_true(t.len > 0 && t.len <= SIZE);
	xsdt = check_root(&t, 2);
	check_fadt(&t, xsdt);
	check_madt(&t, xsdt, nr_cpus);
	/* Nothing was written past what acpi_build reported. */
	for (size_t i = t.len; i < SIZE; i++)
		assert_int_equal(area[i], 0xa5);
}

static void test_tables_1cpu(void **state)
{
	check_platform(1);
}

static void test_tables_8cpu(void **state)
{
	check_platform(8);
}

static void test_tables_max_cpus(void **state)
{
	check_platform(ACPI_MAX_CPUS);
}

static void test_bad_config(void **state)
{
	struct x86_acpi_config cfg = { .nr_cpus = 0 };
	struct acpi_tables t;

	assert_int_equal(build(&t, &cfg), -EINVAL);
	cfg.nr_cpus = ACPI_MAX_CPUS + 1;
	assert_int_equal(build(&t, &cfg), -EINVAL);

	cfg.nr_cpus = 1;
	t = (struct acpi_tables){ .buf = area, .size = 256, .base_gpa = BASE };
	assert_int_equal(x86_acpi_build(&t, &cfg), -ENOSPC);
	t = (struct acpi_tables){ .buf = area,
				  .size = SIZE,
				  .base_gpa = BASE + 8 };
	assert_int_equal(x86_acpi_build(&t, &cfg), -EINVAL);
}

/* Devices of every kind of AML: a PCI root bridge, a virtio-mmio window. */
static int describe_pci_virtio(struct device *dev, struct device_desc *d)
{
	struct aml *a = d->aml;
	uint32_t gsi = 5;

	aml_device_begin(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A08");
	aml_name_eisaid(a, "_CID", "PNP0A03");
	aml_name_integer(a, "_SEG", 0);
	aml_name_integer(a, "_BBN", 0);
	aml_name_integer(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_restemp_begin(a);
	aml_res_word_bus_number(a, 0, 0xff);
	aml_res_io(a, 0xcf8, 0xcf8, 1, 8);
	aml_res_word_io(a, 0x0000, 0x0cf7);
	aml_res_word_io(a, 0x0d00, 0xffff);
	aml_res_dword_memory(a, AML_MEM_RW | AML_MEM_NONCACHEABLE, 0xc0000000,
			     0xfebfffff);
	aml_res_qword_memory(a, AML_MEM_RW | AML_MEM_PREFETCHABLE,
			     0x8000000000ull, 0xffffffffffull);
	aml_restemp_end(a);
	aml_name(a, "_PRT");
	aml_package_begin(a);
	for (unsigned int slot = 0; slot < 4; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			aml_package_begin(a);
			aml_integer(a, (slot << 16) | 0xffff);
			aml_integer(a, pin);
			aml_zero(a);
			aml_integer(a, 16 + ((slot + pin) & 3));
			aml_end(a);
		}
	}
	aml_end(a);
	aml_end(a);

	aml_device_begin(a, "VR00");
	aml_name_string(a, "_HID", "LNRO0005");
	aml_name_integer(a, "_UID", 0);
	aml_method_begin(a, "_STA", 0, false);
	aml_return(a);
	aml_integer(a, 0x0f);
	aml_end(a);
	aml_name(a, "_CRS");
	aml_restemp_begin(a);
	aml_res_memory32_fixed(a, true, 0xd0000000, 0x200);
	aml_res_interrupt(a, AML_INT_CONSUMER | AML_INT_EDGE, &gsi, 1);
	aml_restemp_end(a);
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
	struct device dev = { .name = "fake", .describe = describe_pci_virtio };
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
static void iasl_round_trip(const struct x86_acpi_config *cfg,
			    const char *const *want)
{
	char dir[] = "/tmp/devisor-acpi-XXXXXX";
	char path[512], cmd[256], *log, *dsl;
	struct acpi_tables t;
	FILE *f;

	if (!have_iasl()) {
		print_message("iasl not installed (acpica-tools): skipping\n");
		skip();
	}
	log = malloc(65536);
	assert_non_null(log);
	assert_int_equal(build(&t, cfg), 0);
	assert_non_null(mkdtemp(dir));

	for (unsigned int i = 0; i < t.nr_tables; i++) {
		const struct acpi_table_info *ti = &t.tables[i];
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
	struct device dev = { .name = "fake", .describe = describe_pci_virtio };
	struct x86_acpi_config cfg = { .nr_cpus = 8,
				       .vm = vm_with(&dev, 1),
				       .extra_tables = &mcfg,
				       .nr_extra_tables = 1 };

	iasl_round_trip(&cfg,
			(const char *const[]){ "PNP0A08", "LNRO0005", NULL });
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
		cmocka_unit_test(test_tables_max_cpus),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_iasl_plain),
		cmocka_unit_test(test_iasl_extended),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
