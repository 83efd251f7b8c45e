// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel loaders: the input is a --kernel file (bzImage or ELF, with
 * PVH notes), loaded both ways (linux64 and pvh) into a small guest, as
 * x86_boot_load() does for the command line. The first byte picks the
 * protocol and whether an initrd and a command line come along.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "kvm/memory.h"
#include "util/log.h"

#include "fuzz.h"

#define RAM (32ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem mem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char cmdline[] = "console=ttyS0 root=/dev/vda";
	static const uint8_t initrd[4096];
	struct boot_request req = { 0 };
	struct boot_entry e;
	uint8_t *img;
	uint8_t mode;

	if (!mem.nr) {
		log_level = getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_QUIET;
		if (guest_mem_init(&mem, RAM, false))
			abort();
	}
	if (!size)
		return 0;
	mode = data[0];
	/* Its own copy, as a file read into memory is: exact size. */
	img = malloc(size - 1 ? size - 1 : 1);
	if (!img)
		return 0;
	memcpy(img, data + 1, size - 1);
	req.kernel = img;
	req.kernel_size = size - 1;
	req.protocol = (mode & 3) == 1 ? BOOT_LINUX64 :
		       (mode & 3) == 2 ? BOOT_PVH :
					 BOOT_AUTO;
	if (mode & 4) {
		req.initrd = initrd;
		req.initrd_size = 1 + ((mode >> 4) & 7) * 512;
	}
	req.cmdline = mode & 8 ? cmdline : NULL;
	(void)x86_boot_load(&mem, &req, &e);
	free(img);
	return 0;
}
