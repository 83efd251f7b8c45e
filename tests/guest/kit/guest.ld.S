/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lays a test guest out as a bzImage: the setup at file offset 0 (linked at
 * 0, the setup segment), the protected-mode part right after it in the file
 * but linked at KERNEL_BASE. objcopy -O binary then writes both back to back
 * by load address. Header fields that depend on the final layout are
 * computed here.
 */
#include "boot.h"

OUTPUT_FORMAT("elf64-x86-64")
OUTPUT_ARCH(i386:x86-64)
ENTRY(startup_64)

#define PM_LMA_DELTA (KERNEL_BASE - SETUP_SIZE)

SECTIONS
{
	. = 0;
	.setup : AT(0) {
		KEEP(*(.setup))
	}

	/* Load address = file offset: keep it at link address - PM_LMA_DELTA. */
	. = KERNEL_BASE;
	_pm_start = .;
	.text : AT(ADDR(.text) - PM_LMA_DELTA) {
		KEEP(*(.head.text))
		*(.text .text.*)
	}
	.rodata : AT(ADDR(.rodata) - PM_LMA_DELTA) {
		*(.rodata .rodata.*)
	}
	.data : AT(ADDR(.data) - PM_LMA_DELTA) {
		*(.data .data.*)
	}
	_pm_file_end = .;
	.bss (NOLOAD) : {
		__bss_start = .;
		*(.bss .bss.* COMMON)
		. = ALIGN(16);
		__bss_end = .;
	}
	_end = .;

	/DISCARD/ : {
		*(.comment) *(.note .note.*) *(.eh_frame .eh_frame_hdr)
	}
}

ASSERT(SIZEOF(.setup) == SETUP_SIZE, "setup is not SETUP_SECTS + 1 sectors")
ASSERT(startup_64 == KERNEL_BASE + 0x200, "startup_64 is not at +0x200")
ASSERT(_end <= 0x1000000, "guest image too big for the kit's layout")

kit_syssize = (_pm_file_end - _pm_start + 15) / 16;
kit_init_size = ALIGN(_end - _pm_start, 4096);
kit_kernel_info_offset = kernel_info - _pm_start;

/* A 64-bit TSS descriptor splits its base; assemblers cannot, so we do. */
kit_tss_desc_lo = (kit_tss_end - kit_tss - 1) |
		  ((kit_tss & 0xffffff) << 16) | (0x89 << 40) |
		  (((kit_tss >> 24) & 0xff) << 56);
kit_tss_desc_hi = kit_tss >> 32;
