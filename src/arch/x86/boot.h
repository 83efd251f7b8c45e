/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_X86_BOOT_H
#define DEVISOR_ARCH_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/bootparam.h"
#include "kvm/memory.h"

enum boot_protocol {
	BOOT_AUTO = 0,
	BOOT_LINUX64, /* 64-bit boot protocol: long mode, RSI = zero page */
	BOOT_PVH, /* Xen PVH: 32-bit flat, EBX = hvm_start_info */
};

enum kernel_format { KERNEL_BZIMAGE, KERNEL_ELF };

struct boot_request {
	const uint8_t *kernel;
	size_t kernel_size;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_size;
	const char *cmdline;
	uint64_t rsdp_addr; /* 0: none */
	enum boot_protocol protocol;
};

/* Where and how the boot vCPU starts. */
struct boot_entry {
	enum boot_protocol protocol;
	enum kernel_format format;
	uint64_t entry;
	uint64_t boot_info; /* zero page (RSI) or hvm_start_info (EBX) */
	uint64_t kernel_end;
	uint64_t initrd_addr;
};

/*
 * Loads the kernel, initrd and command line into guest memory and writes
 * the boot protocol's structures. Every size and offset in the image is
 * checked against the file and against guest RAM; failures log one
 * specific line and return -EINVAL (malformed), -ENOSPC (does not fit) or
 * -E2BIG (command line too long).
 */
int x86_boot_load(struct guest_mem *mem, const struct boot_request *req,
		  struct boot_entry *out);

/* RAM below the 32-bit PCI hole ends here (arch_ram_map()'s region 0). */
uint64_t x86_low_ram_end(const struct guest_mem *mem);

/* The guest's e820 map for @mem; returns the entry count. */
unsigned int x86_e820_build(const struct guest_mem *mem,
			    struct e820_entry *table, unsigned int max);

/* Identity page tables for the 64-bit boot protocol, GDT included. */
int x86_boot_page_tables(struct guest_mem *mem);

const char *boot_protocol_name(enum boot_protocol p);

#endif
