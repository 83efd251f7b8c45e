/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_X86_SMBIOS_H
#define DEVISOR_ARCH_X86_SMBIOS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * SMBIOS 3.0 (DMTF DSP0134): a 64-bit entry point ("_SM3_") where Linux
 * scans for it (16-byte aligned in 0xf0000-0xfffff) and the structure
 * table right after it. Types written: 0 (BIOS), 1 (system), 3 (chassis),
 * 4 (one processor: devisor's vCPUs are the cores of one package), 16
 * (memory array), 17 (one memory device), 19 (one mapped range per RAM
 * region: below the PCI hole, above 4 GiB), 32 (boot status) and 127.
 */
#define SMBIOS_MANUFACTURER "devisor"
#define SMBIOS_PRODUCT "devisor VM"
/* There is no BIOS: the date the tables' format was first written. */
#define SMBIOS_BIOS_DATE "12/04/2026"
#define SMBIOS_MAJOR 3
#define SMBIOS_MINOR 0

#define SMBIOS_TYPE_BIOS 0
#define SMBIOS_TYPE_SYSTEM 1
#define SMBIOS_TYPE_CHASSIS 3
#define SMBIOS_TYPE_PROCESSOR 4
#define SMBIOS_TYPE_MEMORY_ARRAY 16
#define SMBIOS_TYPE_MEMORY_DEVICE 17
#define SMBIOS_TYPE_MEMORY_MAPPED 19
#define SMBIOS_TYPE_BOOT 32
#define SMBIOS_TYPE_END 127

struct smbios_entry3 {
	char anchor[5]; /* "_SM3_" */
	uint8_t checksum;
	uint8_t length;
	uint8_t major;
	uint8_t minor;
	uint8_t docrev;
	uint8_t revision;
	uint8_t reserved;
	uint32_t table_max_size;
	uint64_t table_address;
} __attribute__((packed));

struct smbios_header {
	uint8_t type;
	uint8_t length; /* of the formatted area, header included */
	uint16_t handle;
} __attribute__((packed));

struct smbios_config {
	const char *version; /* devisor's: BIOS and system version */
	const char *serial; /* type 1 serial number; NULL: none */
	uint8_t uuid[16]; /* in the order it is written, 8-4-4-4-12 */
	const char *cpu_vendor; /* CPUID 0 vendor; NULL: none */
	uint64_t cpu_id; /* CPUID 1: EAX | EDX << 32 */
	unsigned int nr_cpus; /* cores of the one package */
	unsigned int nr_enabled; /* of them the guest has; 0: all */
	uint64_t ram_low; /* bytes of RAM from 0 */
	uint64_t ram_high; /* bytes of RAM from 4 GiB */
};

/*
 * Writes the entry point at @buf (guest-physical @base_gpa, 16-byte
 * aligned) and the structure table after it, all within @size bytes.
 * Returns the bytes used, or -EINVAL / -ENOSPC.
 */
ssize_t smbios_build(void *buf, size_t size, uint64_t base_gpa,
		     const struct smbios_config *cfg);

#endif
