// SPDX-License-Identifier: GPL-2.0
#include "arch/arm64/image.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/arm64/layout.h"

#define HDR_SIZE 64
#define FLAG_BE (1u << 0)
#define PAGE 4096ull

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

int arm64_image_parse(const void *buf, size_t len, struct arm64_image *img,
		      char *err, size_t errlen)
{
	const uint8_t *p = buf;
	uint64_t flags;

	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
		snprintf(err, errlen,
			 "a gzip-compressed kernel: the Image protocol "
			 "takes it decompressed (zcat vmlinuz > Image)");
		return -EINVAL;
	}
	if (len < HDR_SIZE || le32(p + 56) != ARM64_IMAGE_MAGIC) {
		snprintf(err, errlen,
			 "not an arm64 Image (no \"ARM\\x64\" magic at byte "
			 "56)");
		return -EINVAL;
	}
	img->text_offset = le64(p + 8);
	img->image_size = le64(p + 16);
	flags = le64(p + 24);
	/* Before Linux 3.17 the size is 0 and the offset 0x80000. */
	if (!img->image_size) {
		img->text_offset = 0x80000;
		img->image_size = len;
	}
	if (flags & FLAG_BE) {
		snprintf(err, errlen, "a big-endian kernel");
		return -EINVAL;
	}
	if (img->text_offset >= ARM64_KERNEL_ALIGN || img->text_offset & 7) {
		snprintf(err, errlen, "text_offset %#llx is not within 2 MiB",
			 (unsigned long long)img->text_offset);
		return -EINVAL;
	}
	if (img->image_size < len) {
		snprintf(
			err, errlen,
			"image_size %#llx is smaller than the file (%zu bytes)",
			(unsigned long long)img->image_size, len);
		return -EINVAL;
	}
	return 0;
}

int arm64_boot_layout(uint64_t ram_base, uint64_t ram_size,
		      const struct arm64_image *img, uint64_t kernel_len,
		      uint64_t initrd_len, uint64_t fdt_max,
		      struct arm64_boot_layout *out)
{
	uint64_t base = (ram_base + ARM64_KERNEL_ALIGN - 1) &
			~(ARM64_KERNEL_ALIGN - 1);
	uint64_t end = ram_base + ram_size, kend, low;

	if (base >= end || img->image_size < kernel_len ||
	    fdt_max > ARM64_KERNEL_ALIGN)
		return -ENOSPC;
	out->kernel = base + img->text_offset;
	kend = out->kernel + img->image_size;
	if (kend < out->kernel || kend > end)
		return -ENOSPC;
	out->fdt = (end - fdt_max) & ~(ARM64_KERNEL_ALIGN - 1);
	if (end < fdt_max || out->fdt < kend)
		return -ENOSPC;
	out->initrd = 0;
	if (!initrd_len)
		return 0;
	if (initrd_len > out->fdt - kend)
		return -ENOSPC;
	low = (out->fdt - initrd_len) & ~(PAGE - 1);
	if (low < kend)
		return -ENOSPC;
	out->initrd = low;
	return 0;
}
