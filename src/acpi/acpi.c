// SPDX-License-Identifier: GPL-2.0
#include "acpi/acpi.h"

#include <errno.h>
#include <string.h>

#include "util/log.h"

_Static_assert(sizeof(struct acpi_table_header) == 36, "header");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");
_Static_assert(sizeof(struct acpi_mcfg_allocation) == 16, "MCFG");

#define OEM_ID "DVISOR"
#define OEM_TABLE_ID "DEVISOR "
#define OEM_REVISION 1
#define CREATOR_ID "DVSR"
#define CREATOR_REVISION 1

/* ACPI 6.0 */
#define FADT_REVISION 6
#define FADT_MINOR_REVISION 0
#define XSDT_REVISION 1
/* Revision 2 and up: AML integers are 64 bits wide. */
#define DSDT_REVISION 2
#define FACS_VERSION 2

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

static void build_fadt(struct acpi_fadt *f, const struct acpi_fadt *board,
		       uint64_t dsdt, uint64_t facs)
{
	*f = *board;
	header_init(&f->header, "FACP", sizeof(*f), FADT_REVISION);
	f->minor_version = FADT_MINOR_REVISION;
	/* 64-bit fields only: the spec wants the 32-bit twins zero then. */
	f->firmware_ctrl = 0;
	f->dsdt = 0;
	f->x_firmware_ctrl = facs;
	f->x_dsdt = dsdt;
	header_seal(&f->header);
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
	if (!cfg->fadt || (cfg->dsdt_len && !cfg->dsdt) ||
	    cfg->dsdt_len > UINT32_MAX - sizeof(struct acpi_table_header))
		return -EINVAL;
	/* RSDP, FACS, DSDT, FADT, XSDT */
	if (cfg->nr_extra_tables > ACPI_MAX_TABLES - 5) {
		pr_err("acpi: too many extra tables (%u)",
		       cfg->nr_extra_tables);
		return -E2BIG;
	}
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
	struct acpi_facs *facs = NULL;
	struct acpi_fadt *fadt;
	size_t dsdt_len, xsdt_len;
	int ret;

	out->len = 0;
	out->rsdp_gpa = 0;
	out->nr_tables = 0;
	ret = check_config(out, cfg);
	if (ret)
		return ret;

	ret = -ENOSPC;
	/* First, so the area's base is the RSDP a legacy scan finds. */
	rsdp = carve(&b, "RSDP", sizeof(*rsdp), 16);
	if (!rsdp)
		goto out;
	if (!(cfg->fadt->flags & ACPI_FADT_HW_REDUCED)) {
		facs = carve(&b, "FACS", sizeof(*facs), 64);
		if (!facs)
			goto out;
		build_facs(facs);
	}

	dsdt_len = sizeof(*dsdt) + cfg->dsdt_len;
	dsdt = carve(&b, "DSDT", dsdt_len, 8);
	if (!dsdt)
		goto out;
	header_init(dsdt, "DSDT", dsdt_len, DSDT_REVISION);
	if (cfg->dsdt_len)
		memcpy(dsdt + 1, cfg->dsdt, cfg->dsdt_len);
	header_seal(dsdt);

	fadt = carve(&b, "FACP", sizeof(*fadt), 8);
	if (!fadt)
		goto out;
	build_fadt(fadt, cfg->fadt, gpa_of(&b, dsdt),
		   facs ? gpa_of(&b, facs) : 0);
	xsdt_entries[nr_entries++] = gpa_of(&b, fadt);

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
	if (ret)
		out->nr_tables = 0;
	return ret;
}
