// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/smbios.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "acpi/acpi.h"
#include "util/log.h"

/* Offsets and lengths are those of DSP0134 3.0.0 for each type. */

struct smbios_type0 {
	struct smbios_header h;
	uint8_t vendor;
	uint8_t version;
	uint16_t start_segment;
	uint8_t release_date;
	uint8_t rom_size; /* 64 KiB * (n + 1) */
	uint64_t characteristics;
	uint8_t ext1, ext2;
	uint8_t bios_major, bios_minor;
	uint8_t ec_major, ec_minor;
} __attribute__((packed));

struct smbios_type1 {
	struct smbios_header h;
	uint8_t manufacturer;
	uint8_t product;
	uint8_t version;
	uint8_t serial;
	uint8_t uuid[16];
	uint8_t wakeup;
	uint8_t sku;
	uint8_t family;
} __attribute__((packed));

struct smbios_type3 {
	struct smbios_header h;
	uint8_t manufacturer;
	uint8_t type;
	uint8_t version;
	uint8_t serial;
	uint8_t asset_tag;
	uint8_t boot_state, power_state, thermal_state, security;
	uint32_t oem;
	uint8_t height;
	uint8_t power_cords;
	uint8_t nr_elements, element_len; /* none, so SKU follows */
	uint8_t sku;
} __attribute__((packed));

struct smbios_type4 {
	struct smbios_header h;
	uint8_t socket;
	uint8_t type;
	uint8_t family;
	uint8_t manufacturer;
	uint64_t id;
	uint8_t version;
	uint8_t voltage;
	uint16_t external_clock, max_speed, current_speed;
	uint8_t status;
	uint8_t upgrade;
	uint16_t l1, l2, l3;
	uint8_t serial, asset_tag, part;
	uint8_t cores, cores_enabled, threads;
	uint16_t characteristics;
	uint16_t family2;
	uint16_t cores2, cores_enabled2, threads2;
} __attribute__((packed));

struct smbios_type16 {
	struct smbios_header h;
	uint8_t location;
	uint8_t use;
	uint8_t ecc;
	uint32_t max_capacity_kb;
	uint16_t error_handle;
	uint16_t nr_devices;
	uint64_t ext_max_capacity;
} __attribute__((packed));

struct smbios_type17 {
	struct smbios_header h;
	uint16_t array_handle;
	uint16_t error_handle;
	uint16_t total_width, data_width;
	uint16_t size;
	uint8_t form_factor;
	uint8_t device_set;
	uint8_t locator, bank_locator;
	uint8_t memory_type;
	uint16_t type_detail;
	uint16_t speed;
	uint8_t manufacturer, serial, asset_tag, part;
	uint8_t attributes;
	uint32_t ext_size_mb;
	uint16_t configured_speed;
	uint16_t min_voltage, max_voltage, configured_voltage;
} __attribute__((packed));

struct smbios_type19 {
	struct smbios_header h;
	uint32_t start_kb, end_kb;
	uint16_t array_handle;
	uint8_t partition_width;
	uint64_t ext_start, ext_end;
} __attribute__((packed));

struct smbios_type32 {
	struct smbios_header h;
	uint8_t reserved[6];
	uint8_t status;
} __attribute__((packed));

_Static_assert(sizeof(struct smbios_entry3) == 0x18, "entry point");
_Static_assert(sizeof(struct smbios_type0) == 0x18, "type 0");
_Static_assert(sizeof(struct smbios_type1) == 0x1b, "type 1");
_Static_assert(sizeof(struct smbios_type3) == 0x16, "type 3");
_Static_assert(sizeof(struct smbios_type4) == 0x30, "type 4");
_Static_assert(sizeof(struct smbios_type16) == 0x17, "type 16");
_Static_assert(sizeof(struct smbios_type17) == 0x28, "type 17");
_Static_assert(sizeof(struct smbios_type19) == 0x1f, "type 19");
_Static_assert(sizeof(struct smbios_type32) == 0x0b, "type 32");

#define HANDLE_NONE 0xfffe /* "no error information structure" */
#define HANDLE_UNKNOWN 0xffff /* "no cache structure" */

#define BIOS_CHAR_NOT_SUPPORTED (1ull << 3)
#define BIOS_EXT2_VM (1u << 4)
#define WAKEUP_POWER_SWITCH 0x06
#define CHASSIS_OTHER 0x01
#define STATE_SAFE 0x03
#define SECURITY_NONE 0x03
#define CPU_CENTRAL 0x03
#define CPU_FAMILY_OTHER 0x01
#define CPU_POPULATED_ENABLED 0x41
#define CPU_UPGRADE_OTHER 0x01
#define CPU_CHAR_64BIT (1u << 2)
#define ARRAY_SYSTEM_BOARD 0x03
#define ARRAY_SYSTEM_MEMORY 0x03
#define ECC_NONE 0x03
#define FORM_DIMM 0x09
#define MEMORY_RAM 0x07
#define DETAIL_OTHER (1u << 1)

/* Strings of the structure being written; index 0 means "no string". */
#define MAX_STRINGS 8

struct strings {
	const char *s[MAX_STRINGS];
	unsigned int n;
};

static uint8_t str(struct strings *t, const char *v)
{
	if (!v || !*v || t->n == MAX_STRINGS)
		return 0;
	t->s[t->n] = v;
	return ++t->n;
}

struct writer {
	uint8_t *buf;
	size_t size, off;
	uint16_t next_handle;
	int err;
};

/*
 * Appends formatted area @st of @len bytes (its header's type and length
 * set here) and its string set. Returns the structure's handle.
 */
static uint16_t emit(struct writer *w, uint8_t type, void *st, size_t len,
		     const struct strings *t)
{
	struct smbios_header *h = st;
	size_t need = len + (t->n ? 1 : 2);
	uint8_t *p;

	for (unsigned int i = 0; i < t->n; i++)
		need += strlen(t->s[i]) + 1;
	h->type = type;
	h->length = len;
	h->handle = w->next_handle++;
	if (w->err || need > w->size - w->off) {
		w->err = -ENOSPC;
		return h->handle;
	}
	p = w->buf + w->off;
	memcpy(p, st, len);
	p += len;
	for (unsigned int i = 0; i < t->n; i++) {
		size_t l = strlen(t->s[i]) + 1;

		memcpy(p, t->s[i], l);
		p += l;
	}
	/* The set ends in a double NUL; an empty set is two NULs. */
	*p++ = 0;
	if (!t->n)
		*p++ = 0;
	w->off = p - w->buf;
	return h->handle;
}

static void type0(struct writer *w, const struct smbios_config *cfg)
{
	struct strings t = { 0 };
	struct smbios_type0 s = {
		.vendor = str(&t, SMBIOS_MANUFACTURER),
		.version = str(&t, cfg->version),
		.start_segment = 0xf000,
		.release_date = str(&t, SMBIOS_BIOS_DATE),
		.rom_size = 0,
		.characteristics = BIOS_CHAR_NOT_SUPPORTED,
		.ext2 = BIOS_EXT2_VM,
		/* No release numbers, no embedded controller. */
		.bios_major = 0xff,
		.bios_minor = 0xff,
		.ec_major = 0xff,
		.ec_minor = 0xff,
	};

	emit(w, SMBIOS_TYPE_BIOS, &s, sizeof(s), &t);
}

static void type1(struct writer *w, const struct smbios_config *cfg)
{
	struct strings t = { 0 };
	struct smbios_type1 s = {
		.manufacturer = str(&t, SMBIOS_MANUFACTURER),
		.product = str(&t, SMBIOS_PRODUCT),
		.version = str(&t, cfg->version),
		.serial = str(&t, cfg->serial),
		.wakeup = WAKEUP_POWER_SWITCH,
	};

	/* Since 2.6 the first three fields are little-endian. */
	for (int i = 0; i < 4; i++)
		s.uuid[i] = cfg->uuid[3 - i];
	s.uuid[4] = cfg->uuid[5];
	s.uuid[5] = cfg->uuid[4];
	s.uuid[6] = cfg->uuid[7];
	s.uuid[7] = cfg->uuid[6];
	memcpy(&s.uuid[8], &cfg->uuid[8], 8);
	emit(w, SMBIOS_TYPE_SYSTEM, &s, sizeof(s), &t);
}

static void type3(struct writer *w)
{
	struct strings t = { 0 };
	struct smbios_type3 s = {
		.manufacturer = str(&t, SMBIOS_MANUFACTURER),
		.type = CHASSIS_OTHER,
		.boot_state = STATE_SAFE,
		.power_state = STATE_SAFE,
		.thermal_state = STATE_SAFE,
		.security = SECURITY_NONE,
	};

	emit(w, SMBIOS_TYPE_CHASSIS, &s, sizeof(s), &t);
}

static void type4(struct writer *w, const struct smbios_config *cfg)
{
	struct strings t = { 0 };
	unsigned int on = cfg->nr_enabled && cfg->nr_enabled < cfg->nr_cpus ?
				  cfg->nr_enabled :
				  cfg->nr_cpus;
	uint8_t n = cfg->nr_cpus > 255 ? 255 : cfg->nr_cpus;
	uint8_t e = on > 255 ? 255 : on;
	struct smbios_type4 s = {
		.socket = str(&t, "CPU 0"),
		.type = CPU_CENTRAL,
		.family = CPU_FAMILY_OTHER,
		.manufacturer = str(&t, cfg->cpu_vendor),
		.id = cfg->cpu_id,
		.status = CPU_POPULATED_ENABLED,
		.upgrade = CPU_UPGRADE_OTHER,
		.l1 = HANDLE_UNKNOWN,
		.l2 = HANDLE_UNKNOWN,
		.l3 = HANDLE_UNKNOWN,
		.cores = n,
		.cores_enabled = e,
		.threads = n,
		.characteristics = CPU_CHAR_64BIT,
		.family2 = CPU_FAMILY_OTHER,
		.cores2 = cfg->nr_cpus,
		.cores_enabled2 = on,
		.threads2 = cfg->nr_cpus,
	};

	emit(w, SMBIOS_TYPE_PROCESSOR, &s, sizeof(s), &t);
}

static uint16_t type16(struct writer *w, uint64_t ram)
{
	struct strings t = { 0 };
	struct smbios_type16 s = {
		.location = ARRAY_SYSTEM_BOARD,
		.use = ARRAY_SYSTEM_MEMORY,
		.ecc = ECC_NONE,
		.error_handle = HANDLE_NONE,
		.nr_devices = 1,
	};

	if (ram / 1024 < 0x80000000ull) {
		s.max_capacity_kb = ram / 1024;
	} else {
		s.max_capacity_kb = 0x80000000u;
		s.ext_max_capacity = ram;
	}
	return emit(w, SMBIOS_TYPE_MEMORY_ARRAY, &s, sizeof(s), &t);
}

static void type17(struct writer *w, uint16_t array, uint64_t ram)
{
	struct strings t = { 0 };
	uint64_t mb = ram >> 20;
	struct smbios_type17 s = {
		.array_handle = array,
		.error_handle = HANDLE_NONE,
		.total_width = 0xffff,
		.data_width = 0xffff,
		.form_factor = FORM_DIMM,
		.locator = str(&t, "DIMM 0"),
		.memory_type = MEMORY_RAM,
		.type_detail = DETAIL_OTHER,
		.manufacturer = str(&t, SMBIOS_MANUFACTURER),
	};

	/* Bit 15 of Size selects KiB units, for sizes not in whole MiB. */
	if (ram & ((1u << 20) - 1) && ram >> 10 < 0x8000) {
		s.size = 0x8000 | (ram >> 10);
	} else if (mb < 0x7fff) {
		s.size = mb;
	} else {
		s.size = 0x7fff;
		s.ext_size_mb = mb > 0x7fffffff ? 0x7fffffff : mb;
	}
	emit(w, SMBIOS_TYPE_MEMORY_DEVICE, &s, sizeof(s), &t);
}

static void type19(struct writer *w, uint16_t array, uint64_t start,
		   uint64_t len)
{
	struct strings t = { 0 };
	struct smbios_type19 s = {
		.array_handle = array,
		.partition_width = 1,
	};
	uint64_t end = start + len - 1;

	if (end >> 10 < 0xffffffffull) {
		s.start_kb = start >> 10;
		s.end_kb = end >> 10;
	} else {
		s.start_kb = s.end_kb = 0xffffffffu;
		s.ext_start = start;
		s.ext_end = end;
	}
	emit(w, SMBIOS_TYPE_MEMORY_MAPPED, &s, sizeof(s), &t);
}

ssize_t smbios_build(void *buf, size_t size, uint64_t base_gpa,
		     const struct smbios_config *cfg)
{
	struct smbios_entry3 *ep = buf;
	size_t table = (sizeof(*ep) + 15) & ~(size_t)15;
	struct writer w = { .buf = buf, .size = size, .off = table };
	struct strings none = { 0 };
	struct smbios_header end = { 0 };
	struct smbios_type32 boot = { 0 };
	uint16_t array;

	if (!buf || (base_gpa & 15) || !cfg->nr_cpus || !cfg->ram_low ||
	    cfg->nr_cpus > UINT16_MAX)
		return -EINVAL;
	if (size < table)
		return -ENOSPC;
	memset(buf, 0, table);

	type0(&w, cfg);
	type1(&w, cfg);
	type3(&w);
	type4(&w, cfg);
	array = type16(&w, cfg->ram_low + cfg->ram_high);
	type17(&w, array, cfg->ram_low + cfg->ram_high);
	type19(&w, array, 0, cfg->ram_low);
	if (cfg->ram_high)
		type19(&w, array, 1ull << 32, cfg->ram_high);
	/* Status 0: "no errors detected". */
	emit(&w, SMBIOS_TYPE_BOOT, &boot, sizeof(boot), &none);
	emit(&w, SMBIOS_TYPE_END, &end, sizeof(end), &none);
	if (w.err) {
		pr_err("smbios: tables do not fit in %zu bytes", size);
		return w.err;
	}

	memcpy(ep->anchor, "_SM3_", 5);
	ep->length = sizeof(*ep);
	ep->major = SMBIOS_MAJOR;
	ep->minor = SMBIOS_MINOR;
	ep->revision = 1; /* the 3.0 entry point */
	ep->table_max_size = w.off - table;
	ep->table_address = base_gpa + table;
	ep->checksum = -acpi_checksum(ep, sizeof(*ep));
	return w.off;
}
