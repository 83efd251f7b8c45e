// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"

#define RAM (64ull << 20)

static struct guest_mem mem;

static int setup(void **state)
{
	return guest_mem_init(&mem, RAM, false);
}

static int teardown(void **state)
{
	guest_mem_destroy(&mem);
	return 0;
}

/* A minimal well-formed bzImage: 4 setup sectors + @pm bytes of kernel. */
static uint8_t *make_bzimage(size_t pm, size_t *size)
{
	size_t setup = 5 * 512;
	uint8_t *img = calloc(1, setup + pm);
	struct setup_header *h = (void *)(img + SETUP_HEADER_OFFSET);

	h->setup_sects = 4;
	h->boot_flag = BOOT_FLAG_MAGIC;
	h->jump = 0x66eb; /* jmp to 0x268: header through kernel_info_offset */
	h->header = HDRS_MAGIC;
	h->version = 0x020f;
	h->loadflags = LOADFLAG_LOADED_HIGH;
	h->code32_start = 0x100000;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64;
	h->cmdline_size = 2047;
	h->syssize = (pm + 15) / 16;
	h->init_size = pm * 2;
	for (size_t i = 0; i < pm; i++)
		img[setup + i] = (uint8_t)(i * 7);
	*size = setup + pm;
	return img;
}

static struct boot_params *zero_page(void)
{
	return gpa_to_hva(&mem, ZERO_PAGE_ADDR, 4096);
}

static void test_bzimage_ok(void **state)
{
	size_t size;
	uint8_t *img = make_bzimage(8192, &size);
	uint8_t initrd[5000];
	struct boot_request req = { .kernel = img,
				    .kernel_size = size,
				    .initrd = initrd,
				    .initrd_size = sizeof(initrd),
				    .cmdline = "console=ttyS0 root=/dev/vda",
				    .rsdp_addr = 0xe0000 };
	struct boot_entry e;
	struct boot_params *bp;
	char *cmd;

	memset(initrd, 0x5a, sizeof(initrd));
	assert_int_equal(x86_boot_load(&mem, &req, &e), 0);
	assert_int_equal(e.protocol, BOOT_LINUX64);
	assert_int_equal(e.format, KERNEL_BZIMAGE);
	assert_int_equal(e.entry, KERNEL_LOAD_ADDR + 0x200);
	assert_int_equal(e.boot_info, ZERO_PAGE_ADDR);
	/* Protected-mode part copied to 1 MiB. */
	assert_memory_equal(gpa_to_hva(&mem, KERNEL_LOAD_ADDR, 8192),
			    img + 5 * 512, 8192);
	bp = zero_page();
	assert_int_equal(bp->hdr.header, HDRS_MAGIC);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->acpi_rsdp_addr, 0xe0000);
	cmd = gpa_to_hva(&mem, bp->hdr.cmd_line_ptr, 64);
	assert_string_equal(cmd, "console=ttyS0 root=/dev/vda");
	/* initrd: page aligned, at the top of RAM, above the kernel. */
	assert_int_equal(bp->hdr.ramdisk_size, sizeof(initrd));
	assert_int_equal(bp->hdr.ramdisk_image % 4096, 0);
	assert_true(bp->hdr.ramdisk_image + sizeof(initrd) <= RAM);
	assert_true(bp->hdr.ramdisk_image >= KERNEL_LOAD_ADDR + 16384);
	assert_memory_equal(gpa_to_hva(&mem, bp->hdr.ramdisk_image, 5000),
			    initrd, 5000);
	/* e820 covers low RAM and RAM from 1 MiB up, nothing in between. */
	assert_true(bp->e820_entries >= 3);
	assert_int_equal(bp->e820_table[0].addr, 0);
	assert_int_equal(bp->e820_table[0].type, E820_RAM);
	assert_true(bp->e820_table[0].size <= 0xa0000);
	{
		int found = 0;

		for (int i = 0; i < bp->e820_entries; i++) {
			struct e820_entry *x = &bp->e820_table[i];

			if (x->type == E820_RAM &&
			    x->addr == KERNEL_LOAD_ADDR) {
				assert_int_equal(x->addr + x->size, RAM);
				found = 1;
			}
			if (x->type == E820_RAM)
				assert_false(x->addr < 0x100000 &&
					     x->addr + x->size > 0xa0000);
		}
		assert_true(found);
	}
	free(img);
}

static void test_bzimage_hostile(void **state)
{
	size_t size;
	uint8_t *img = make_bzimage(4096, &size);
	struct setup_header *h = (void *)(img + SETUP_HEADER_OFFSET);
	struct boot_request req = { .kernel = img, .kernel_size = size };
	struct boot_entry e;

	/* Truncated anywhere: header, setup, payload. */
	req.kernel_size = 0x200;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	req.kernel_size = 5 * 512;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	req.kernel_size = size - 100;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	req.kernel_size = size;

	/* Setup sectors pointing past the file. */
	h->setup_sects = 255;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	h->setup_sects = 4;

	/* Too old for the 64-bit entry, or no 64-bit entry. */
	h->version = 0x0206;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	h->version = 0x020f;
	h->xloadflags = 0;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	h->xloadflags = XLF_KERNEL_64;

	/* init_size larger than RAM: "memory too small for the kernel". */
	h->init_size = 0xffffffff;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -ENOSPC);
	h->init_size = 8192;

	/* Command line longer than the kernel accepts. */
	{
		char *cl = malloc(3000);

		memset(cl, 'a', 2999);
		cl[2999] = 0;
		req.cmdline = cl;
		assert_int_equal(x86_boot_load(&mem, &req, &e), -E2BIG);
		req.cmdline = NULL;
		free(cl);
	}

	/* An initrd that cannot fit below the kernel's limit. */
	{
		static uint8_t big[1];

		req.initrd = big;
		req.initrd_size = RAM;
		assert_int_equal(x86_boot_load(&mem, &req, &e), -ENOSPC);
		h->initrd_addr_max = 0x100000 + 4096; /* below kernel end */
		req.initrd_size = 1;
		assert_int_equal(x86_boot_load(&mem, &req, &e), -ENOSPC);
		req.initrd = NULL;
		req.initrd_size = 0;
	}

	/* Neither format. */
	memset(img, 0, size);
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	free(img);
}

struct elf_img {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	Elf64_Nhdr nh;
	char name[4];
	uint32_t desc;
	uint8_t payload[4096];
} __attribute__((packed));

static void make_elf(struct elf_img *x, uint64_t paddr, uint64_t memsz)
{
	memset(x, 0, sizeof(*x));
	memcpy(x->eh.e_ident, ELFMAG, SELFMAG);
	x->eh.e_ident[EI_CLASS] = ELFCLASS64;
	x->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	x->eh.e_type = ET_EXEC;
	x->eh.e_machine = EM_X86_64;
	x->eh.e_entry = paddr + 0x40;
	x->eh.e_phoff = offsetof(struct elf_img, ph);
	x->eh.e_phentsize = sizeof(Elf64_Phdr);
	x->eh.e_phnum = 2;
	x->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD,
				 .p_offset = offsetof(struct elf_img, payload),
				 .p_paddr = paddr,
				 .p_filesz = 4096,
				 .p_memsz = memsz };
	x->ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE,
				 .p_offset = offsetof(struct elf_img, nh),
				 .p_filesz = sizeof(Elf64_Nhdr) + 8 };
	x->nh = (Elf64_Nhdr){ .n_namesz = 4,
			      .n_descsz = 4,
			      .n_type = XEN_ELFNOTE_PHYS32_ENTRY };
	memcpy(x->name, "Xen", 4);
	x->desc = paddr + 0x80;
	memset(x->payload, 0xab, sizeof(x->payload));
}

static void test_elf_and_pvh(void **state)
{
	static struct elf_img x;
	struct boot_request req = { .kernel = (void *)&x,
				    .kernel_size = sizeof(x),
				    .cmdline = "console=hvc0" };
	struct boot_entry e;
	uint8_t *p;

	make_elf(&x, 0x1000000, 8192);
	/* Dirty the bss first: the loader must zero it. */
	memset(gpa_to_hva(&mem, 0x1000000, 8192), 0xee, 8192);
	assert_int_equal(x86_boot_load(&mem, &req, &e), 0);
	assert_int_equal(e.format, KERNEL_ELF);
	assert_int_equal(e.protocol, BOOT_LINUX64);
	assert_int_equal(e.entry, 0x1000040);
	p = gpa_to_hva(&mem, 0x1000000, 8192);
	assert_int_equal(p[0], 0xab);
	assert_int_equal(p[4095], 0xab);
	assert_int_equal(p[4096], 0);
	assert_int_equal(p[8191], 0);

	req.protocol = BOOT_PVH;
	assert_int_equal(x86_boot_load(&mem, &req, &e), 0);
	assert_int_equal(e.protocol, BOOT_PVH);
	assert_int_equal(e.entry, 0x1000080);
	{
		struct hvm_start_info *si =
			gpa_to_hva(&mem, e.boot_info, sizeof(*si));
		struct hvm_memmap_entry *mm;

		assert_int_equal(si->magic, HVM_START_MAGIC);
		assert_int_equal(si->version, 1);
		assert_int_equal(si->nr_modules, 0);
		assert_string_equal(gpa_to_hva(&mem, si->cmdline_paddr, 13),
				    "console=hvc0");
		assert_true(si->memmap_entries >= 3);
		mm = gpa_to_hva(&mem, si->memmap_paddr,
				si->memmap_entries * sizeof(*mm));
		assert_non_null(mm);
		assert_int_equal(mm[0].addr, 0);
		assert_int_equal(mm[0].type, E820_RAM);
	}

	/* No PVH note: --boot pvh must fail clearly. */
	x.ph[1].p_type = PT_NULL;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
}

static void test_elf_hostile(void **state)
{
	static struct elf_img x;
	struct boot_request req = { .kernel = (void *)&x,
				    .kernel_size = sizeof(x) };
	struct boot_entry e;

	make_elf(&x, 0x1000000, 8192);
	/* Segment beyond RAM. */
	x.ph[0].p_paddr = RAM - 100;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -ENOSPC);
	/* Address + size wraps. */
	x.ph[0].p_paddr = UINT64_MAX - 10;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -ENOSPC);
	/* Segment over devisor's boot structures. */
	x.ph[0].p_paddr = 0x7000;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	make_elf(&x, 0x1000000, 8192);
	/* File data past end of file. */
	x.ph[0].p_filesz = 1 << 20;
	x.ph[0].p_memsz = 1 << 20;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	x.ph[0].p_offset = UINT64_MAX;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	make_elf(&x, 0x1000000, 8192);
	/* filesz > memsz. */
	x.ph[0].p_memsz = 10;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	make_elf(&x, 0x1000000, 8192);
	/* Program headers out of the file; absurd count. */
	x.eh.e_phoff = sizeof(x) - 8;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	x.eh.e_phoff = offsetof(struct elf_img, ph);
	x.eh.e_phnum = 0xffff;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	make_elf(&x, 0x1000000, 8192);
	/* A note whose size runs off the segment: ignored, not followed. */
	x.nh.n_descsz = 0xfffffff0;
	req.protocol = BOOT_PVH;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	req.protocol = BOOT_AUTO;
	/* Wrong machine / class; truncated header. */
	make_elf(&x, 0x1000000, 8192);
	x.eh.e_machine = EM_AARCH64;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	make_elf(&x, 0x1000000, 8192);
	x.eh.e_ident[EI_CLASS] = ELFCLASS32;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
	req.kernel_size = 20;
	assert_int_equal(x86_boot_load(&mem, &req, &e), -EINVAL);
}

/*
 * A PT_NOTE at an odd p_offset: the note header is read bytewise, not
 * through a misaligned Elf64_Nhdr (UBSan aborted here; issue 12).
 */
static void test_elf_note_misaligned(void **state)
{
	static struct elf_img x;
	static uint8_t buf[sizeof(x) + 8] __attribute__((aligned(8)));
	struct boot_request req = { .kernel = buf,
				    .kernel_size = sizeof(buf),
				    .protocol = BOOT_PVH };
	struct boot_entry e;
	size_t note = offsetof(struct elf_img, nh);

	make_elf(&x, 0x1000000, 8192);
	/* Shift the note (and everything after it) by 1 byte. */
	x.ph[1].p_offset = note + 1;
	x.ph[0].p_offset += 1;
	memcpy(buf, &x, note);
	buf[note] = 0;
	memcpy(buf + note + 1, (uint8_t *)&x + note, sizeof(x) - note);
	assert_int_equal(x86_boot_load(&mem, &req, &e), 0);
	assert_int_equal(e.protocol, BOOT_PVH);
	assert_int_equal(e.entry, 0x1000080);
	/* And at 2 mod 4. */
	memset(buf, 0, sizeof(buf));
	x.ph[1].p_offset = note + 2;
	x.ph[0].p_offset += 1;
	memcpy(buf, &x, note);
	memcpy(buf + note + 2, (uint8_t *)&x + note, sizeof(x) - note);
	assert_int_equal(x86_boot_load(&mem, &req, &e), 0);
	assert_int_equal(e.entry, 0x1000080);
}

static void test_e820_high(void **state)
{
	struct guest_mem big;
	struct e820_entry t[16];
	unsigned int n;
	uint64_t ram = 0;

	/* Reserve without touching: 5 GiB is fine with MAP_NORESERVE. */
	assert_int_equal(guest_mem_init(&big, 5ull << 30, false), 0);
	/* The PC's RAM map: up to the PCI hole, the rest above 4 GiB. */
	assert_int_equal(big.nr, 2);
	assert_int_equal(big.regions[0].gpa, 0);
	assert_int_equal(x86_low_ram_end(&big), PCI_HOLE_START);
	assert_int_equal(big.regions[1].gpa, PCI_HOLE_END);
	assert_int_equal(guest_mem_end(&big), PCI_HOLE_END + (2ull << 30));
	n = x86_e820_build(&big, t, 16);
	for (unsigned int i = 0; i < n; i++) {
		if (t[i].type == E820_RAM)
			ram += t[i].size;
		/* Nothing in the PCI hole is RAM. */
		if (t[i].type == E820_RAM)
			assert_false(t[i].addr < PCI_HOLE_END &&
				     t[i].addr + t[i].size > PCI_HOLE_START);
	}
	/* All RAM but the legacy 640K..1M gap is described. */
	assert_int_equal(ram, (5ull << 30) - (0x100000 - LOW_RAM_END));
	assert_int_equal(t[n - 1].addr, PCI_HOLE_END);
	assert_int_equal(t[n - 1].size, (5ull << 30) - PCI_HOLE_START);
	guest_mem_destroy(&big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bzimage_ok),
		cmocka_unit_test(test_bzimage_hostile),
		cmocka_unit_test(test_elf_and_pvh),
		cmocka_unit_test(test_elf_hostile),
		cmocka_unit_test(test_elf_note_misaligned),
		cmocka_unit_test(test_e820_high),
	};

	return cmocka_run_group_tests_name("boot", tests, setup, teardown);
}
