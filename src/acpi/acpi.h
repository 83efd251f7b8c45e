/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ACPI_ACPI_H
#define DEVISOR_ACPI_ACPI_H

#include <stddef.h>
#include <stdint.h>

/*
 * ACPI tables, for any architecture: the RSDP, XSDT, FACS, the DSDT
 * around AML the board wrote, the FADT the board filled in, and whatever
 * other tables the board adds (x86: MADT, MCFG). The tables are built into
 * a caller-given buffer that will be copied to a fixed guest-physical
 * base, so every pointer inside them is base + offset.
 *
 * The RSDP is placed first, at the base, so a base in the BIOS area
 * (0xe0000..0xfffff) on a 16-byte boundary is found by the OS's legacy scan
 * as well as through the boot protocol's pointer.
 */

/*
 * A table added to the XSDT after the FADT, e.g. MADT or MCFG.
 * acpi_build() writes the standard header (signature, length, revision,
 * OEM fields, checksum); @body is everything after it. Such tables must
 * not point into the ACPI area.
 */
struct acpi_extra_table {
	char signature[4];
	uint8_t revision;
	const void *body;
	size_t body_len;
};

struct acpi_fadt;

struct acpi_config {
	/*
	 * The board's FADT; acpi_build() fills in its header, minor
	 * version and the 64-bit DSDT and FACS pointers. A FACS is built
	 * unless the FADT says HW_REDUCED_ACPI.
	 */
	const struct acpi_fadt *fadt;
	/* The DSDT's AML, after its header: a DefinitionBlock's body. */
	const void *dsdt;
	size_t dsdt_len;
	const struct acpi_extra_table *extra_tables;
	unsigned int nr_extra_tables;
};

#define ACPI_MAX_TABLES 16

/* Where one table ended up. The RSDP is listed with signature "RSDP". */
struct acpi_table_info {
	char signature[5];
	uint32_t offset; /* in acpi_tables.buf */
	uint32_t len;
	uint64_t gpa;
};

struct acpi_tables {
	/* Set by the caller. @base_gpa must be 16-byte aligned. */
	void *buf;
	size_t size;
	uint64_t base_gpa;
	/* Set by acpi_build(). Bytes of @buf past @len are left alone. */
	size_t len;
	uint64_t rsdp_gpa;
	struct acpi_table_info tables[ACPI_MAX_TABLES];
	unsigned int nr_tables;
};

/*
 * Returns 0, -EINVAL for a bad config, -ENOSPC when @out->buf is too
 * small, -E2BIG for too many extra tables. Errors are logged.
 */
int acpi_build(struct acpi_tables *out, const struct acpi_config *cfg);

/* The first table with @sig ("RSDP", "DSDT", ...), or NULL. */
const struct acpi_table_info *acpi_find_table(const struct acpi_tables *t,
					      const char *sig);

/* Sum of @len bytes; a correctly checksummed table sums to 0. */
uint8_t acpi_checksum(const void *p, size_t len);

/*
 * Table layouts (ACPI 6.0). ACPI is little-endian; these structs assume a
 * little-endian host.
 */
struct acpi_table_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

/* Generic Address Structure */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO 1
#define ACPI_GAS_ACCESS_BYTE 1
#define ACPI_GAS_ACCESS_WORD 2
#define ACPI_GAS_ACCESS_DWORD 3

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* whole structure */
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_table_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));

/* FADT flags */
#define ACPI_FADT_WBINVD (1u << 0)
#define ACPI_FADT_PROC_C1 (1u << 2)
#define ACPI_FADT_PWR_BUTTON (1u << 4) /* set: no fixed power button */
#define ACPI_FADT_SLP_BUTTON (1u << 5) /* set: no fixed sleep button */
#define ACPI_FADT_TMR_VAL_EXT (1u << 8) /* PM timer is 32 bits wide */
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED (1u << 20)

/* FADT IAPC_BOOT_ARCH */
#define ACPI_BOOT_LEGACY_DEVICES (1u << 0)
#define ACPI_BOOT_8042 (1u << 1)
#define ACPI_BOOT_NO_VGA (1u << 2)
#define ACPI_BOOT_NO_MSI (1u << 3)
#define ACPI_BOOT_NO_CMOS_RTC (1u << 5)

/* MADT; the interrupt controller entries after it are the architecture's. */
struct acpi_madt {
	struct acpi_table_header header;
	uint32_t lapic_addr;
	uint32_t flags;
} __attribute__((packed));

/* MCFG body after the header: 8 reserved bytes, then these. */
struct acpi_mcfg_allocation {
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus;
	uint8_t end_bus;
	uint32_t reserved;
} __attribute__((packed));

#endif
