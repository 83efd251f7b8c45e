// SPDX-License-Identifier: GPL-2.0
#include "arch/x86/boot.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "util/log.h"

#define PAGE_SIZE 4096ull
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (a)-1, a)

const char *boot_protocol_name(enum boot_protocol p)
{
	switch (p) {
	case BOOT_LINUX64:
		return "linux64";
	case BOOT_PVH:
		return "pvh";
	default:
		return "auto";
	}
}

unsigned int x86_e820_build(const struct guest_mem *mem, struct e820_entry *t,
			    unsigned int max)
{
	uint64_t low_end = x86_low_ram_end(mem);
	unsigned int n = 0;

#define E820_ADD(a, s, ty)                                            \
	do {                                                          \
		if (n < max)                                          \
			t[n++] = (struct e820_entry){ .addr = (a),    \
						      .size = (s),    \
						      .type = (ty) }; \
	} while (0)

	E820_ADD(0, LOW_RAM_END, E820_RAM);
	E820_ADD(LOW_RAM_END, 0xa0000 - LOW_RAM_END, E820_RESERVED);
	/* The BIOS area: ACPI tables live here; the guest must not reuse it. */
	E820_ADD(ACPI_TABLES_ADDR, 0x100000 - ACPI_TABLES_ADDR, E820_RESERVED);
	if (low_end > KERNEL_LOAD_ADDR)
		E820_ADD(KERNEL_LOAD_ADDR, low_end - KERNEL_LOAD_ADDR,
			 E820_RAM);
	/* Linux only trusts MMCONFIG that the firmware map reserves. */
	E820_ADD(PCI_ECAM_BASE, PCI_ECAM_SIZE, E820_RESERVED);
	for (unsigned int i = 1; i < mem->nr; i++)
		E820_ADD(mem->regions[i].gpa, mem->regions[i].size, E820_RAM);
#undef E820_ADD
	return n;
}

int x86_boot_page_tables(struct guest_mem *mem)
{
	/* Null, null, __BOOT_CS (0x10) 64-bit code, __BOOT_DS (0x18) data. */
	static const uint64_t gdt[] = {
		0,
		0,
		0x00af9b000000ffffull,
		0x00cf93000000ffffull,
	};
	uint64_t *pml4 = gpa_to_hva(mem, BOOT_PML4_ADDR, PAGE_SIZE);
	uint64_t *pdpt = gpa_to_hva(mem, BOOT_PDPT_ADDR, PAGE_SIZE);
	uint64_t *pd = gpa_to_hva(mem, BOOT_PD_ADDR, 4 * PAGE_SIZE);

	if (!pml4 || !pdpt || !pd ||
	    guest_write(mem, BOOT_GDT_ADDR, gdt, sizeof(gdt)))
		return -ENOSPC;
	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	pml4[0] = BOOT_PDPT_ADDR | 0x3; /* present, writable */
	/* Identity-map 4 GiB with 2 MiB pages: kernel, initrd, MMIO hole. */
	for (unsigned int i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * PAGE_SIZE) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2M page */
	return 0;
}

static int check_fits(const struct guest_mem *mem, uint64_t gpa, uint64_t len,
		      const char *what)
{
	if (!gpa_to_hva(mem, gpa, len)) {
		pr_err("%s (%llu bytes at %#llx) does not fit in guest RAM "
		       "(%llu MiB): give the guest more --memory",
		       what, (unsigned long long)len, (unsigned long long)gpa,
		       (unsigned long long)(mem->ram_size >> 20));
		return -ENOSPC;
	}
	return 0;
}

/* What the per-format parsers learn before anything is written. */
struct kernel_info {
	enum kernel_format format;
	uint64_t entry64; /* 64-bit entry, 0 if none */
	uint32_t pvh_entry; /* PHYS32_ENTRY note, 0 if none */
	uint64_t kernel_end;
	uint64_t initrd_max; /* highest byte the initrd may occupy */
	uint32_t cmdline_max; /* excluding the NUL */
	const struct setup_header *hdr; /* bzImage only */
	size_t hdr_len;
};

static int load_bzimage(struct guest_mem *mem, const uint8_t *img, size_t size,
			struct kernel_info *ki)
{
	const struct setup_header *hdr =
		(const void *)(img + SETUP_HEADER_OFFSET);
	uint64_t setup_size, pm_size, need;
	unsigned int setup_sects;

	if (size < SETUP_HEADER_OFFSET + sizeof(*hdr)) {
		pr_err("bzImage is truncated (%zu bytes)", size);
		return -EINVAL;
	}
	if (hdr->version < 0x020c || !(hdr->xloadflags & XLF_KERNEL_64)) {
		pr_err("bzImage boot protocol %u.%02u has no 64-bit entry "
		       "point (need 2.12 with XLF_KERNEL_64)",
		       hdr->version >> 8, hdr->version & 0xff);
		return -EINVAL;
	}
	if (!(hdr->loadflags & LOADFLAG_LOADED_HIGH)) {
		pr_err("bzImage is a zImage (not loaded high); unsupported");
		return -EINVAL;
	}
	setup_sects = hdr->setup_sects ? hdr->setup_sects : 4;
	setup_size = (uint64_t)(setup_sects + 1) * 512;
	if (setup_size >= size) {
		pr_err("bzImage is truncated: %u setup sectors but only %zu "
		       "bytes",
		       setup_sects, size);
		return -EINVAL;
	}
	pm_size = size - setup_size;
	if (hdr->syssize && (uint64_t)hdr->syssize * 16 > pm_size + 15) {
		pr_err("bzImage is truncated: header says %llu bytes of kernel, "
		       "file has %llu",
		       (unsigned long long)hdr->syssize * 16,
		       (unsigned long long)pm_size);
		return -EINVAL;
	}
	/* init_size covers in-place decompression; honour it. */
	need = pm_size > hdr->init_size ? pm_size : hdr->init_size;
	if (check_fits(mem, KERNEL_LOAD_ADDR, need, "kernel"))
		return -ENOSPC;
	guest_write(mem, KERNEL_LOAD_ADDR, img + setup_size, pm_size);

	ki->format = KERNEL_BZIMAGE;
	ki->entry64 = KERNEL_LOAD_ADDR + 0x200;
	ki->kernel_end = KERNEL_LOAD_ADDR + need;
	ki->initrd_max = hdr->initrd_addr_max ? hdr->initrd_addr_max :
						0x37ffffff;
	ki->cmdline_max = hdr->cmdline_size ? hdr->cmdline_size : 255;
	ki->hdr = hdr;
	/* The header runs to the end named by the jump at 0x200. */
	ki->hdr_len = 0x202 + img[0x201] - SETUP_HEADER_OFFSET;
	if (ki->hdr_len > sizeof(*hdr))
		ki->hdr_len = sizeof(*hdr);
	if (SETUP_HEADER_OFFSET + ki->hdr_len > size)
		ki->hdr_len = size - SETUP_HEADER_OFFSET;
	return 0;
}

static void elf_find_pvh(const uint8_t *img, size_t size, const Elf64_Phdr *ph,
			 struct kernel_info *ki)
{
	uint64_t off = ph->p_offset, end;

	if (off > size || ph->p_filesz > size - off)
		return;
	end = off + ph->p_filesz;
	while (end - off >= sizeof(Elf64_Nhdr)) {
		/* p_offset is the file's word: a note may sit misaligned. */
		Elf64_Nhdr nh;
		uint64_t name = off + sizeof(nh), desc, next;

		memcpy(&nh, img + off, sizeof(nh));
		desc = name + ALIGN_UP((uint64_t)nh.n_namesz, 4);
		next = desc + ALIGN_UP((uint64_t)nh.n_descsz, 4);
		if (next > end || next <= off)
			return;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(img + name, "Xen", 4) && nh.n_descsz >= 4)
			memcpy(&ki->pvh_entry, img + desc, 4);
		off = next;
	}
}

static int load_elf(struct guest_mem *mem, const uint8_t *img, size_t size,
		    struct kernel_info *ki)
{
	const Elf64_Ehdr *eh = (const void *)img;
	uint64_t end = 0;
	unsigned int loads = 0;

	if (size < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		pr_err("ELF kernel is not a little-endian ELF64 file");
		return -EINVAL;
	}
	if (eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC) {
		pr_err("ELF kernel is not an x86-64 executable (machine %u, "
		       "type %u)",
		       eh->e_machine, eh->e_type);
		return -EINVAL;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum ||
	    eh->e_phoff > size ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > size - eh->e_phoff) {
		pr_err("ELF kernel has a bad program header table");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		uint8_t *dst;

		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE)
			elf_find_pvh(img, size, &ph, ki);
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset ||
		    ph.p_filesz > ph.p_memsz) {
			pr_err("ELF kernel segment %u lies outside the file "
			       "(truncated image?)",
			       i);
			return -EINVAL;
		}
		dst = gpa_to_hva(mem, ph.p_paddr, ph.p_memsz);
		if (!dst || ph.p_paddr < KERNEL_LOAD_ADDR) {
			if (!dst)
				return check_fits(mem, ph.p_paddr, ph.p_memsz,
						  "ELF kernel segment");
			pr_err("ELF kernel segment %u at %#llx overlaps "
			       "devisor's boot structures",
			       i, (unsigned long long)ph.p_paddr);
			return -EINVAL;
		}
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr + ph.p_memsz > end)
			end = ph.p_paddr + ph.p_memsz;
		loads++;
	}
	if (!loads) {
		pr_err("ELF kernel has no loadable segment");
		return -EINVAL;
	}
	ki->format = KERNEL_ELF;
	/* vmlinux's e_entry is the physical address of startup_64. */
	ki->entry64 = eh->e_entry;
	ki->kernel_end = end;
	ki->initrd_max = 0xffffffff;
	ki->cmdline_max = 2047; /* x86 COMMAND_LINE_SIZE - 1 */
	return 0;
}

static int place_initrd(struct guest_mem *mem, const struct boot_request *req,
			const struct kernel_info *ki, uint64_t *addr)
{
	uint64_t top = x86_low_ram_end(mem), base;

	*addr = 0;
	if (!req->initrd)
		return 0;
	if (ki->initrd_max < top - 1)
		top = ki->initrd_max + 1;
	if (req->initrd_size > top ||
	    (base = ALIGN_DOWN(top - req->initrd_size, PAGE_SIZE)) <
		    ALIGN_UP(ki->kernel_end, PAGE_SIZE)) {
		pr_err("initrd (%zu bytes) does not fit between the kernel "
		       "(ends at %#llx) and %#llx: give the guest more "
		       "--memory",
		       req->initrd_size, (unsigned long long)ki->kernel_end,
		       (unsigned long long)top);
		return -ENOSPC;
	}
	guest_write(mem, base, req->initrd, req->initrd_size);
	*addr = base;
	return 0;
}

static void fill_zero_page(struct guest_mem *mem,
			   const struct boot_request *req,
			   const struct kernel_info *ki, uint64_t initrd)
{
	struct boot_params *bp = gpa_to_hva(mem, ZERO_PAGE_ADDR, sizeof(*bp));

	memset(bp, 0, sizeof(*bp));
	if (ki->hdr) {
		memcpy(&bp->hdr, ki->hdr, ki->hdr_len);
	} else {
		bp->hdr.boot_flag = BOOT_FLAG_MAGIC;
		bp->hdr.header = HDRS_MAGIC;
		bp->hdr.version = 0x020f;
		bp->hdr.kernel_alignment = 0x1000000;
	}
	bp->hdr.type_of_loader = 0xff; /* undefined loader */
	bp->hdr.loadflags |= LOADFLAG_CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.cmd_line_ptr = CMDLINE_ADDR;
	bp->hdr.cmdline_size = ki->cmdline_max;
	bp->hdr.ramdisk_image = (uint32_t)initrd;
	bp->hdr.ramdisk_size = (uint32_t)req->initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(initrd >> 32);
	bp->ext_ramdisk_size = (uint32_t)((uint64_t)req->initrd_size >> 32);
	bp->acpi_rsdp_addr = req->rsdp_addr;
	bp->e820_entries =
		x86_e820_build(mem, bp->e820_table, E820_MAX_ZEROPAGE);
}

static void fill_pvh_info(struct guest_mem *mem, const struct boot_request *req,
			  uint64_t initrd)
{
	struct hvm_start_info *si = gpa_to_hva(mem, PVH_INFO_ADDR, PAGE_SIZE);
	struct hvm_modlist_entry *mod = (void *)(si + 1);
	struct hvm_memmap_entry *mm = (void *)(mod + 1);
	struct e820_entry e820[E820_MAX_ZEROPAGE];
	unsigned int n = x86_e820_build(mem, e820, E820_MAX_ZEROPAGE);
	uint64_t mod_gpa = PVH_INFO_ADDR + sizeof(*si);
	uint64_t mm_gpa = mod_gpa + sizeof(*mod);

	/* Info, one module and the memory map share one page. */
	if (n > (PAGE_SIZE - sizeof(*si) - sizeof(*mod)) / sizeof(*mm))
		n = (PAGE_SIZE - sizeof(*si) - sizeof(*mod)) / sizeof(*mm);
	memset(si, 0, PAGE_SIZE);
	*si = (struct hvm_start_info){
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = CMDLINE_ADDR,
		.rsdp_paddr = req->rsdp_addr,
		.memmap_paddr = mm_gpa,
		.memmap_entries = n,
	};
	if (req->initrd) {
		si->nr_modules = 1;
		si->modlist_paddr = mod_gpa;
		mod->paddr = initrd;
		mod->size = req->initrd_size;
	}
	for (unsigned int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_entry){ .addr = e820[i].addr,
						   .size = e820[i].size,
						   .type = e820[i].type };
}

int x86_boot_load(struct guest_mem *mem, const struct boot_request *req,
		  struct boot_entry *out)
{
	struct kernel_info ki = { 0 };
	const char *cmdline = req->cmdline ? req->cmdline : "";
	size_t cmdlen = strlen(cmdline);
	uint64_t initrd;
	int ret;

	memset(out, 0, sizeof(*out));
	if (check_fits(mem, 0, KERNEL_LOAD_ADDR, "boot area"))
		return -ENOSPC;
	if (req->kernel_size >= SELFMAG &&
	    !memcmp(req->kernel, ELFMAG, SELFMAG))
		ret = load_elf(mem, req->kernel, req->kernel_size, &ki);
	else if (req->kernel_size >= SETUP_HEADER_OFFSET + sizeof(ki.hdr[0]) &&
		 ((const struct setup_header *)(req->kernel +
						SETUP_HEADER_OFFSET))
				 ->boot_flag == BOOT_FLAG_MAGIC &&
		 ((const struct setup_header *)(req->kernel +
						SETUP_HEADER_OFFSET))
				 ->header == HDRS_MAGIC)
		ret = load_bzimage(mem, req->kernel, req->kernel_size, &ki);
	else {
		pr_err("kernel is neither a bzImage nor an ELF vmlinux");
		return -EINVAL;
	}
	if (ret)
		return ret;

	if (cmdlen > ki.cmdline_max || cmdlen >= CMDLINE_MAX) {
		pr_err("kernel command line is %zu bytes; this kernel accepts "
		       "at most %u",
		       cmdlen,
		       ki.cmdline_max < CMDLINE_MAX - 1 ? ki.cmdline_max :
							  CMDLINE_MAX - 1);
		return -E2BIG;
	}
	guest_write(mem, CMDLINE_ADDR, cmdline, cmdlen + 1);

	ret = place_initrd(mem, req, &ki, &initrd);
	if (ret)
		return ret;

	out->protocol = req->protocol;
	if (out->protocol == BOOT_AUTO)
		out->protocol = BOOT_LINUX64;
	if (out->protocol == BOOT_PVH && !ki.pvh_entry) {
		pr_err("kernel has no PVH entry (XEN_ELFNOTE_PHYS32_ENTRY); "
		       "use --boot linux64");
		return -EINVAL;
	}
	out->format = ki.format;
	out->kernel_end = ki.kernel_end;
	out->initrd_addr = initrd;
	if (out->protocol == BOOT_PVH) {
		fill_pvh_info(mem, req, initrd);
		out->entry = ki.pvh_entry;
		out->boot_info = PVH_INFO_ADDR;
		return 0;
	}
	ret = x86_boot_page_tables(mem);
	if (ret)
		return ret;
	fill_zero_page(mem, req, &ki, initrd);
	out->entry = ki.entry64;
	out->boot_info = ZERO_PAGE_ADDR;
	return 0;
}
