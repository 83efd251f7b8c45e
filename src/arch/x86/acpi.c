// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/acpi.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/aml.h"
#include "hw/acpi_pm.h"
#include "util/log.h"

_Static_assert(sizeof(struct acpi_table_header) == 36, "header");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC");
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT ISO");
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT NMI");
_Static_assert(sizeof(struct acpi_mcfg_allocation) == 16, "MCFG");

#define OEM_ID "DVISOR"
#define OEM_TABLE_ID "DEVISOR "
#define OEM_REVISION 1
#define CREATOR_ID "DVSR"
#define CREATOR_REVISION 1

/* ACPI 6.0 */
#define FADT_REVISION 6
#define FADT_MINOR_REVISION 0
#define MADT_REVISION 3
#define XSDT_REVISION 1
/* Revision 2 and up: AML integers are 64 bits wide. */
#define DSDT_REVISION 2
#define FACS_VERSION 2

/*
 * KVM's in-kernel IOAPIC resets its ID register to 0 and implements only 4
 * bits of it, so an id of nr_cpus could not even be read back past 15
 * vCPUs. xAPIC systems keep IOAPIC and local APIC ids apart, so 0 does not
 * clash with the boot CPU.
 */
#define IOAPIC_ID 0

/* C2/C3 latencies above these mean "not supported". */
#define P_LVL2_NONE 101
#define P_LVL3_NONE 1001

struct builder {
	struct acpi_tables *out;
	uint8_t *buf;
	size_t off;
};

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

const struct acpi_table_info *acpi_find_table(const struct acpi_tables *t,
					      const char *sig)
{
	for (unsigned int i = 0; i < t->nr_tables; i++)
		if (!strncmp(t->tables[i].signature, sig, 4))
			return &t->tables[i];
	return NULL;
}

static uint64_t gpa_of(const struct builder *b, const void *p)
{
	return b->out->base_gpa + ((const uint8_t *)p - b->buf);
}

/*
 * Carves @len zeroed bytes aligned to @align in guest-physical terms
 * (which is what the spec's alignment rules are about) and records them.
 */
static void *carve(struct builder *b, const char *sig, size_t len, size_t align)
{
	struct acpi_tables *t = b->out;
	uint64_t gpa = (t->base_gpa + b->off + align - 1) &
		       ~(uint64_t)(align - 1);
	size_t off = gpa - t->base_gpa;
	struct acpi_table_info *info;

	if (t->nr_tables == ACPI_MAX_TABLES) {
		pr_err("acpi: more than %u tables", ACPI_MAX_TABLES);
		return NULL;
	}
	if (off > t->size || len > t->size - off || len > UINT32_MAX) {
		pr_err("acpi: tables do not fit in %zu bytes", t->size);
		return NULL;
	}
	info = &t->tables[t->nr_tables++];
	memset(info, 0, sizeof(*info));
	memcpy(info->signature, sig, 4);
	info->offset = off;
	info->len = len;
	info->gpa = gpa;
	memset(b->buf + b->off, 0, off + len - b->off);
	b->off = off + len;
	return b->buf + off;
}

static void header_init(struct acpi_table_header *h, const char *sig,
			size_t len, uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = revision;
	memcpy(h->oem_id, OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = OEM_REVISION;
	memcpy(h->creator_id, CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = CREATOR_REVISION;
}

static void header_seal(struct acpi_table_header *h)
{
	h->checksum = 0;
	h->checksum = -acpi_checksum(h, h->length);
}

static struct acpi_gas gas_io(uint16_t port, unsigned int bytes, uint8_t access)
{
	return (struct acpi_gas){ .space_id = ACPI_GAS_IO,
				  .bit_width = 8 * bytes,
				  .access_size = access,
				  .address = port };
}

/* A legacy ISA device under \_SB with fixed ports and one IRQ. */
struct isa_port {
	uint16_t base;
	uint8_t len;
};

static void dsdt_isa_device(struct aml *a, const char *name, const char *hid,
			    int uid, const struct isa_port *ports,
			    unsigned int nr_ports, unsigned int irq)
{
	aml_device_begin(a, name);
	aml_name_eisaid(a, "_HID", hid);
	if (uid >= 0)
		aml_name_integer(a, "_UID", uid);
	aml_name(a, "_CRS");
	aml_restemp_begin(a);
	for (unsigned int i = 0; i < nr_ports; i++)
		aml_res_io(a, ports[i].base, ports[i].base, 1, ports[i].len);
	aml_res_irq(a, irq);
	aml_restemp_end(a);
	aml_end(a);
}

static int dsdt_build(struct aml *a, const struct acpi_config *cfg)
{
	static const struct isa_port com1[] = { { 0x3f8, 8 } };
	static const struct isa_port rtc[] = { { 0x70, 2 } };
	static const struct isa_port kbd[] = { { 0x60, 1 }, { 0x64, 1 } };
	int ret;

	/* \_S5_: {SLP_TYPa, SLP_TYPb, reserved, reserved} for acpi_pm. */
	aml_name(a, "\\_S5_");
	aml_package_begin(a);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_zero(a);
	aml_zero(a);
	aml_end(a);

	aml_scope_begin(a, "\\_SB");
	dsdt_isa_device(a, "COM1", "PNP0501", 1, com1, 1, 4);
	dsdt_isa_device(a, "RTC", "PNP0B00", -1, rtc, 1, 8);
	dsdt_isa_device(a, "KBD", "PNP0303", -1, kbd, 2, 1);
	aml_end(a);

	for (unsigned int i = 0; i < cfg->nr_dsdt_hooks; i++) {
		ret = cfg->dsdt_hooks[i].build(a, cfg->dsdt_hooks[i].opaque);
		if (ret)
			return ret;
		if (a->err)
			break;
	}
	return aml_finish(a);
}

static void build_rsdp(struct acpi_rsdp *r, uint64_t xsdt)
{
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, OEM_ID, sizeof(r->oem_id));
	r->revision = 2;
	/* No RSDT: the XSDT serves every OS that knows revision 2. */
	r->rsdt_address = 0;
	r->length = sizeof(*r);
	r->xsdt_address = xsdt;
	r->checksum = -acpi_checksum(r, 20);
	r->extended_checksum = -acpi_checksum(r, sizeof(*r));
}

static void build_facs(struct acpi_facs *f)
{
	/* Full ACPI needs one for the global lock and waking vector. */
	memcpy(f->signature, "FACS", 4);
	f->length = sizeof(*f);
	f->version = FACS_VERSION;
}

static void build_fadt(struct acpi_fadt *f, uint64_t dsdt, uint64_t facs)
{
	header_init(&f->header, "FACP", sizeof(*f), FADT_REVISION);
	f->minor_version = FADT_MINOR_REVISION;
	/* 64-bit fields only: the spec wants the 32-bit twins zero then. */
	f->x_firmware_ctrl = facs;
	f->x_dsdt = dsdt;

	f->sci_int = ACPI_SCI_IRQ;
	/* No SMI_CMD: the OS finds the platform in ACPI mode already. */
	f->smi_cmd = 0;

	f->pm1a_evt_blk = ACPI_PM1_EVT_PORT;
	f->pm1_evt_len = ACPI_PM1_EVT_LEN;
	f->x_pm1a_evt_blk = gas_io(ACPI_PM1_EVT_PORT, ACPI_PM1_EVT_LEN,
				   ACPI_GAS_ACCESS_WORD);
	f->pm1a_cnt_blk = ACPI_PM1_CNT_PORT;
	f->pm1_cnt_len = ACPI_PM1_CNT_LEN;
	f->x_pm1a_cnt_blk = gas_io(ACPI_PM1_CNT_PORT, ACPI_PM1_CNT_LEN,
				   ACPI_GAS_ACCESS_WORD);
	f->pm_tmr_blk = ACPI_PM_TMR_PORT;
	f->pm_tmr_len = ACPI_PM_TMR_LEN;
	f->x_pm_tmr_blk = gas_io(ACPI_PM_TMR_PORT, ACPI_PM_TMR_LEN,
				 ACPI_GAS_ACCESS_DWORD);
	/* No GPE blocks: left zero. */

	f->p_lvl2_lat = P_LVL2_NONE;
	f->p_lvl3_lat = P_LVL3_NONE;

	f->iapc_boot_arch = ACPI_BOOT_LEGACY_DEVICES | ACPI_BOOT_8042 |
			    ACPI_BOOT_NO_VGA;
	/* PWR_BUTTON clear: acpi_pm implements the fixed power button. */
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_SLP_BUTTON |
		   ACPI_FADT_TMR_VAL_EXT | ACPI_FADT_RESET_REG_SUP;
	f->reset_reg = gas_io(ACPI_RESET_PORT, 1, ACPI_GAS_ACCESS_BYTE);
	f->reset_value = ACPI_RESET_VALUE;

	header_seal(&f->header);
}

static size_t madt_size(unsigned int nr_cpus)
{
	return sizeof(struct acpi_madt) +
	       nr_cpus * sizeof(struct acpi_madt_lapic) +
	       sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_iso) +
	       sizeof(struct acpi_madt_lapic_nmi);
}

static void build_madt(struct acpi_madt *m, unsigned int nr_cpus)
{
	uint8_t *p = (uint8_t *)(m + 1);
	struct acpi_madt_ioapic *io;
	struct acpi_madt_iso *iso;
	struct acpi_madt_lapic_nmi *nmi;

	header_init(&m->header, "APIC", madt_size(nr_cpus), MADT_REVISION);
	m->lapic_addr = LAPIC_ADDR;
	/* KVM's in-kernel irqchip has the dual 8259s too. */
	m->flags = ACPI_MADT_PCAT_COMPAT;

	for (unsigned int i = 0; i < nr_cpus; i++) {
		struct acpi_madt_lapic *l = (struct acpi_madt_lapic *)p;

		l->type = ACPI_MADT_LAPIC;
		l->length = sizeof(*l);
		l->processor_uid = i;
		l->apic_id = i;
		l->flags = 1;
		p += sizeof(*l);
	}

	io = (struct acpi_madt_ioapic *)p;
	io->type = ACPI_MADT_IOAPIC;
	io->length = sizeof(*io);
	io->id = IOAPIC_ID;
	io->address = IOAPIC_ADDR;
	io->gsi_base = 0;
	p += sizeof(*io);

	/*
	 * The SCI is level-triggered active-high, unlike the ISA default.
	 * IRQ0 needs no override: KVM's PIT drives GSI 0 directly.
	 */
	iso = (struct acpi_madt_iso *)p;
	iso->type = ACPI_MADT_ISO;
	iso->length = sizeof(*iso);
	iso->bus = 0;
	iso->source = ACPI_SCI_IRQ;
	iso->gsi = ACPI_SCI_IRQ;
	iso->flags = ACPI_MPS_ACTIVE_HIGH | ACPI_MPS_LEVEL;
	p += sizeof(*iso);

	/* LINT1 of every CPU is the NMI input, as on PC firmware. */
	nmi = (struct acpi_madt_lapic_nmi *)p;
	nmi->type = ACPI_MADT_LAPIC_NMI;
	nmi->length = sizeof(*nmi);
	nmi->processor_uid = 0xff;
	nmi->flags = 0;
	nmi->lint = 1;

	header_seal(&m->header);
}

static int check_config(const struct acpi_tables *out,
			const struct acpi_config *cfg)
{
	if (!out->buf || (out->base_gpa & 15) ||
	    out->base_gpa + out->size < out->base_gpa) {
		pr_err("acpi: bad table area %#llx+%#zx",
		       (unsigned long long)out->base_gpa, out->size);
		return -EINVAL;
	}
	if (cfg->nr_cpus == 0 || cfg->nr_cpus > ACPI_MAX_CPUS) {
		pr_err("acpi: %u vCPUs; the MADT describes 1 to %u",
		       cfg->nr_cpus, ACPI_MAX_CPUS);
		return -EINVAL;
	}
	/* RSDP, FACS, DSDT, FADT, MADT, XSDT */
	if (cfg->nr_extra_tables > ACPI_MAX_TABLES - 6) {
		pr_err("acpi: too many extra tables (%u)",
		       cfg->nr_extra_tables);
		return -E2BIG;
	}
	for (unsigned int i = 0; i < cfg->nr_dsdt_hooks; i++)
		if (!cfg->dsdt_hooks[i].build)
			return -EINVAL;
	for (unsigned int i = 0; i < cfg->nr_extra_tables; i++) {
		const struct acpi_extra_table *e = &cfg->extra_tables[i];

		if ((e->body_len && !e->body) ||
		    e->body_len > UINT32_MAX - sizeof(struct acpi_table_header))
			return -EINVAL;
	}
	return 0;
}

int acpi_build(struct acpi_tables *out, const struct acpi_config *cfg)
{
	struct builder b = { .out = out, .buf = out->buf };
	uint64_t xsdt_entries[ACPI_MAX_TABLES];
	unsigned int nr_entries = 0;
	struct acpi_table_header *dsdt, *xsdt;
	struct acpi_rsdp *rsdp;
	struct acpi_facs *facs;
	struct acpi_fadt *fadt;
	struct acpi_madt *madt;
	struct aml a;
	size_t dsdt_len, xsdt_len;
	int ret;

	out->len = 0;
	out->rsdp_gpa = 0;
	out->nr_tables = 0;
	ret = check_config(out, cfg);
	if (ret)
		return ret;

	aml_init(&a);
	ret = dsdt_build(&a, cfg);
	if (ret) {
		pr_err("acpi: cannot build the DSDT: %s", strerror(-ret));
		goto out;
	}

	ret = -ENOSPC;
	/* First, so the area's base is the RSDP a legacy scan finds. */
	rsdp = carve(&b, "RSDP", sizeof(*rsdp), 16);
	if (!rsdp)
		goto out;
	facs = carve(&b, "FACS", sizeof(*facs), 64);
	if (!facs)
		goto out;
	build_facs(facs);

	dsdt_len = sizeof(*dsdt) + a.len;
	dsdt = carve(&b, "DSDT", dsdt_len, 8);
	if (!dsdt)
		goto out;
	header_init(dsdt, "DSDT", dsdt_len, DSDT_REVISION);
	memcpy(dsdt + 1, a.buf, a.len);
	header_seal(dsdt);

	fadt = carve(&b, "FACP", sizeof(*fadt), 8);
	if (!fadt)
		goto out;
	build_fadt(fadt, gpa_of(&b, dsdt), gpa_of(&b, facs));
	xsdt_entries[nr_entries++] = gpa_of(&b, fadt);

	madt = carve(&b, "APIC", madt_size(cfg->nr_cpus), 8);
	if (!madt)
		goto out;
	build_madt(madt, cfg->nr_cpus);
	xsdt_entries[nr_entries++] = gpa_of(&b, madt);

	for (unsigned int i = 0; i < cfg->nr_extra_tables; i++) {
		const struct acpi_extra_table *e = &cfg->extra_tables[i];
		size_t len = sizeof(struct acpi_table_header) + e->body_len;
		struct acpi_table_header *h = carve(&b, e->signature, len, 8);

		if (!h)
			goto out;
		header_init(h, e->signature, len, e->revision);
		if (e->body_len)
			memcpy(h + 1, e->body, e->body_len);
		header_seal(h);
		xsdt_entries[nr_entries++] = gpa_of(&b, h);
	}

	xsdt_len = sizeof(*xsdt) + nr_entries * sizeof(uint64_t);
	xsdt = carve(&b, "XSDT", xsdt_len, 8);
	if (!xsdt)
		goto out;
	header_init(xsdt, "XSDT", xsdt_len, XSDT_REVISION);
	/* Entries sit at offset 36: not 8-byte aligned, so copy bytes. */
	memcpy(xsdt + 1, xsdt_entries, nr_entries * sizeof(uint64_t));
	header_seal(xsdt);

	build_rsdp(rsdp, gpa_of(&b, xsdt));
	out->rsdp_gpa = gpa_of(&b, rsdp);
	out->len = b.off;
	ret = 0;
out:
	aml_free(&a);
	if (ret)
		out->nr_tables = 0;
	return ret;
}
