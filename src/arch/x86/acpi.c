// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/acpi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "acpi/aml.h"
#include "arch/x86/layout.h"
#include "bus/device.h"
#include "hw/acpi_pm.h"
#include "hw/cpuhp.h"
#include "hw/memhp.h"
#include "hw/pcihp.h"
#include "kvm/vm.h"
#include "util/log.h"

_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC");
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT ISO");
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT NMI");

/* ACPI 6.0 */
#define MADT_REVISION 3

/* C2/C3 latencies above these mean "not supported". */
#define P_LVL2_NONE 101
#define P_LVL3_NONE 1001

#define MADT_MAX_SIZE                                                     \
	(sizeof(struct acpi_madt) +                                       \
	 ACPI_MAX_CPUS * sizeof(struct acpi_madt_lapic) +                 \
	 sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_iso) + \
	 sizeof(struct acpi_madt_lapic_nmi))

static struct acpi_gas gas_io(uint16_t port, unsigned int bytes, uint8_t access)
{
	return (struct acpi_gas){ .space_id = ACPI_GAS_IO,
				  .bit_width = 8 * bytes,
				  .access_size = access,
				  .address = port };
}

/* What acpi_build() leaves to the board: hw/acpi_pm and the PC's flags. */
static void fill_fadt(struct acpi_fadt *f)
{
	memset(f, 0, sizeof(*f));
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
	/* GPE0 (hw/acpi_pm): byte-wide registers, as ACPICA accesses them. */
	f->gpe0_blk = ACPI_GPE0_PORT;
	f->gpe0_blk_len = ACPI_GPE0_LEN;
	f->x_gpe0_blk =
		gas_io(ACPI_GPE0_PORT, ACPI_GPE0_LEN, ACPI_GAS_ACCESS_BYTE);

	f->p_lvl2_lat = P_LVL2_NONE;
	f->p_lvl3_lat = P_LVL3_NONE;

	f->iapc_boot_arch = ACPI_BOOT_LEGACY_DEVICES | ACPI_BOOT_8042 |
			    ACPI_BOOT_NO_VGA;
	/* PWR_BUTTON clear: acpi_pm implements the fixed power button. */
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_SLP_BUTTON |
		   ACPI_FADT_TMR_VAL_EXT | ACPI_FADT_RESET_REG_SUP;
	f->reset_reg = gas_io(ACPI_RESET_PORT, 1, ACPI_GAS_ACCESS_BYTE);
	f->reset_value = ACPI_RESET_VALUE;
}

size_t x86_acpi_cpu_mat(unsigned int cpu, uint8_t *buf)
{
	struct acpi_madt_lapic l = {
		.type = ACPI_MADT_LAPIC,
		.length = sizeof(l),
		.processor_uid = cpu,
		.apic_id = cpu,
		.flags = ACPI_MADT_ENABLED,
	};

	_Static_assert(sizeof(l) <= CPUHP_MAT_MAX, "CPUHP_MAT_MAX");
	memcpy(buf, &l, sizeof(l));
	return sizeof(l);
}

/*
 * The MADT after its header, into @buf (MADT_MAX_SIZE); returns its size.
 * CPUs from @nr_present on are there disabled: at MADT revision 3 (before
 * ACPI 6.3's Online Capable flag) the OS counts them as hotpluggable.
 */
static size_t build_madt(uint8_t *buf, unsigned int nr_cpus,
			 unsigned int nr_present, bool no_pic)
{
	struct acpi_madt *m = (struct acpi_madt *)buf;
	uint8_t *p = (uint8_t *)(m + 1);
	struct acpi_madt_ioapic *io;
	struct acpi_madt_iso *iso;
	struct acpi_madt_lapic_nmi *nmi;

	memset(buf, 0, MADT_MAX_SIZE);
	m->lapic_addr = LAPIC_ADDR;
	/*
	 * KVM's in-kernel irqchip has the dual 8259s too; with split irqchip
	 * there are none (Linux also finds the ports empty).
	 */
	m->flags = no_pic ? 0 : ACPI_MADT_PCAT_COMPAT;

	for (unsigned int i = 0; i < nr_cpus; i++) {
		struct acpi_madt_lapic *l = (struct acpi_madt_lapic *)p;

		p += x86_acpi_cpu_mat(i, p);
		if (i >= nr_present)
			l->flags &= ~ACPI_MADT_ENABLED;
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
	p += sizeof(*nmi);
	return p - buf;
}

/* \_GPE._Exx for GPE @gpe, calling @method. */
static void gpe_method(struct aml *a, unsigned int gpe, const char *method)
{
	char name[5];

	snprintf(name, sizeof(name), "_E%02X", gpe);
	aml_scope_begin(a, "\\_GPE");
	aml_method_begin(a, name, 0, false);
	aml_call(a, method);
	aml_end(a);
	aml_end(a);
}

/* \_S5 for acpi_pm, then every device that describes itself, in \_SB. */
static int build_dsdt(struct aml *a, struct vm *vm, bool pci_hotplug,
		      bool cpu_hotplug, bool mem_hotplug)
{
	struct device_desc d = { .aml = a };
	int ret = 0;

	/* \_S5_: {SLP_TYPa, SLP_TYPb, reserved, reserved} for acpi_pm. */
	aml_name(a, "\\_S5_");
	aml_package_begin(a);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_zero(a);
	aml_zero(a);
	aml_end(a);

	aml_scope_begin(a, "\\_SB");
	if (vm)
		ret = devices_describe(vm, &d);
	aml_end(a);

	/* An edge GPE: ACPICA clears it before the method, so none is lost. */
	if (pci_hotplug)
		gpe_method(a, ACPI_GPE_PCIHP, PCIHP_AML_NOTIFY);
	if (cpu_hotplug)
		gpe_method(a, ACPI_GPE_CPUHP, CPUHP_AML_NOTIFY);
	if (mem_hotplug)
		gpe_method(a, ACPI_GPE_MEMHP, MEMHP_AML_NOTIFY);
	return ret ? ret : aml_finish(a);
}

int x86_acpi_build(struct acpi_tables *out, const struct x86_acpi_config *cfg)
{
	struct acpi_extra_table tables[ACPI_MAX_TABLES];
	uint8_t madt[MADT_MAX_SIZE];
	struct acpi_config ac = { .extra_tables = tables };
	struct acpi_fadt fadt;
	struct aml a;
	size_t len;
	int ret;

	out->len = 0;
	out->rsdp_gpa = 0;
	out->nr_tables = 0;
	if (cfg->nr_cpus == 0 || cfg->nr_cpus > ACPI_MAX_CPUS) {
		pr_err("acpi: %u vCPUs; the MADT describes 1 to %u",
		       cfg->nr_cpus, ACPI_MAX_CPUS);
		return -EINVAL;
	}
	if (cfg->nr_extra_tables >= ACPI_MAX_TABLES) {
		pr_err("acpi: too many extra tables (%u)",
		       cfg->nr_extra_tables);
		return -E2BIG;
	}
	fill_fadt(&fadt);
	if (cfg->nr_present > cfg->nr_cpus) {
		pr_err("acpi: %u of %u vCPUs present", cfg->nr_present,
		       cfg->nr_cpus);
		return -EINVAL;
	}
	len = build_madt(madt, cfg->nr_cpus,
			 cfg->nr_present ? cfg->nr_present : cfg->nr_cpus,
			 cfg->no_pic);
	tables[0] = (struct acpi_extra_table){
		.signature = { 'A', 'P', 'I', 'C' },
		.revision = MADT_REVISION,
		.body = madt + sizeof(struct acpi_table_header),
		.body_len = len - sizeof(struct acpi_table_header),
	};
	if (cfg->nr_extra_tables)
		memcpy(tables + 1, cfg->extra_tables,
		       cfg->nr_extra_tables * sizeof(tables[0]));
	ac.nr_extra_tables = 1 + cfg->nr_extra_tables;

	aml_init(&a);
	ret = build_dsdt(&a, cfg->vm, cfg->pci_hotplug,
			 cfg->nr_present && cfg->nr_present < cfg->nr_cpus,
			 cfg->mem_hotplug);
	if (ret) {
		pr_err("acpi: cannot build the DSDT: %s", strerror(-ret));
		goto out;
	}
	ac.fadt = &fadt;
	ac.dsdt = a.buf;
	ac.dsdt_len = a.len;
	ret = acpi_build(out, &ac);
out:
	aml_free(&a);
	return ret;
}
