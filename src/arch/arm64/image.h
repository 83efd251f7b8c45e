/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ARCH_ARM64_IMAGE_H
#define DEVISOR_ARCH_ARM64_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The arm64 Linux Image boot protocol (Documentation/arch/arm64/
 * booting.rst): the 64-byte header, and where the kernel, the DTB and the
 * initrd go in RAM. Pure, for unit tests on any host.
 */
#define ARM64_IMAGE_MAGIC 0x644d5241u /* "ARM\x64" at byte 56 */

struct arm64_image {
	uint64_t text_offset;
	uint64_t image_size; /* bytes the kernel occupies, BSS included */
};

/*
 * Checks @len bytes of kernel: the header's magic, little-endian flag,
 * sizes. Fills @img or returns -EINVAL with a message in @err (a gzip
 * file gets one that says to decompress it: Debian's vmlinuz is).
 */
int arm64_image_parse(const void *buf, size_t len, struct arm64_image *img,
		      char *err, size_t errlen);

struct arm64_boot_layout {
	uint64_t kernel; /* load address: 2 MiB aligned + text_offset */
	uint64_t fdt; /* 2 MiB aligned, below the top of RAM */
	uint64_t initrd; /* below the DTB, page aligned; 0 without one */
};

/*
 * Places the kernel at the start of RAM ([@ram_base, +@ram_size), 2 MiB
 * aligned), the DTB (at most @fdt_max bytes) in the last 2 MiB-aligned
 * slot that fits, and @initrd_len bytes of initrd right below it.
 * Returns 0, or -ENOSPC when they do not fit apart.
 */
int arm64_boot_layout(uint64_t ram_base, uint64_t ram_size,
		      const struct arm64_image *img, uint64_t kernel_len,
		      uint64_t initrd_len, uint64_t fdt_max,
		      struct arm64_boot_layout *out);

#endif
