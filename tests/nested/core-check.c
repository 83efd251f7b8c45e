// SPDX-License-Identifier: GPL-2.0
/*
 * core-check: reads an ELF core of devisor's vm.coredump as crash(8)
 * would, and says whether it holds what it must. Built static for L2
 * (tests/nested/run) and for the host (tests/guest/run).
 *
 *   core-check CORE VCPUS [--image FILE OFFSET GPA] [--vmlinux ELF]
 *                         [--banner TEXT]
 *
 * Always: an x86-64 or arm64 ET_CORE with one PT_NOTE holding VCPUS
 * NT_PRSTATUS notes (pr_pid 1..VCPUS) and, on x86, as many QEMU CPU-state
 * notes (version 1) whose RIP is the NT_PRSTATUS one; each PT_LOAD
 * page-aligned in the file, with p_vaddr 0 and p_filesz == p_memsz.
 * --banner: TEXT is somewhere in the dumped RAM.
 * --image: vCPU 0's RIP lies in FILE's bytes from OFFSET as loaded at
 * GPA, and the 4 KiB at GPA are those bytes (a test guest).
 * --vmlinux: a vCPU was in ELF's code (nokaslr), and the kernel's banner,
 * translated through the page tables that vCPU's CR3 names and read
 * from the core's RAM, is ELF's (Linux: what a debugger needs of a dump).
 * Prints "core: ..." and exits 0, or says what is wrong and exits 1.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_VCPUS 64

static const uint8_t *core;
static size_t core_size;
static const Elf64_Phdr *loads[32];
static unsigned int nr_loads;

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	printf("core-check: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static const uint8_t *map(const char *path, size_t *size)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		fail("cannot open %s", path);
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		fail("cannot map %s", path);
	*size = st.st_size;
	return p;
}

/* @len bytes of guest-physical memory at @gpa in the core, or NULL. */
static const uint8_t *phys(uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < nr_loads; i++) {
		const Elf64_Phdr *p = loads[i];

		if (gpa >= p->p_paddr && len <= p->p_filesz &&
		    gpa - p->p_paddr <= p->p_filesz - len)
			return core + p->p_offset + (gpa - p->p_paddr);
	}
	return NULL;
}

/* x86-64 4-level paging, 1 GiB and 2 MiB pages included. */
static uint64_t translate(uint64_t cr3, uint64_t va)
{
	uint64_t table = cr3 & 0x000ffffffffff000ull, e = 0;

	for (int level = 3; level >= 0; level--) {
		unsigned int idx = (va >> (12 + 9 * level)) & 511;
		const uint8_t *p = phys(table + idx * 8, 8);

		if (!p)
			fail("page table at %#llx is not in the core",
			     (unsigned long long)table);
		memcpy(&e, p, 8);
		if (!(e & 1))
			fail("%#llx is not mapped (level %d entry %#llx)",
			     (unsigned long long)va, level,
			     (unsigned long long)e);
		if (level && level < 3 && (e & 0x80)) {
			uint64_t size = 1ull << (12 + 9 * level);

			return (e & 0x000ffffffffff000ull & ~(size - 1)) |
			       (va & (size - 1));
		}
		table = e & 0x000ffffffffff000ull;
	}
	return table | (va & 4095);
}

/* The bytes at virtual address @va of ELF file @elf, or NULL. */
static const uint8_t *elf_at(const uint8_t *elf, size_t size, uint64_t va,
			     size_t len)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p =
			(const Elf64_Phdr *)(elf + eh->e_phoff +
					     i * (size_t)eh->e_phentsize);

		if (p->p_type == PT_LOAD && va >= p->p_vaddr &&
		    va + len <= p->p_vaddr + p->p_filesz &&
		    p->p_offset + (va - p->p_vaddr) + len <= size)
			return elf + p->p_offset + (va - p->p_vaddr);
	}
	return NULL;
}

/*
 * A vCPU that was in the kernel: its RIP in @path's segments, and the
 * kernel's banner (constant data, never patched at run time) read from
 * the core through that vCPU's CR3 is @path's.
 */
static void check_vmlinux(const char *path, unsigned int nr,
			  const uint64_t *rip, const uint64_t *cr3)
{
	static const char banner[] = "Linux version ";
	const Elf64_Ehdr *eh;
	const uint8_t *elf, *got, *at = NULL;
	uint64_t va = 0, pa;
	unsigned int cpu;
	size_t size;

	elf = map(path, &size);
	eh = (const Elf64_Ehdr *)elf;
	for (cpu = 0; cpu < nr; cpu++)
		if (rip[cpu] >> 47 == 0x1ffff)
			break;
	if (cpu == nr)
		fail("no vCPU was in the kernel (vCPU 0's RIP %#llx)",
		     (unsigned long long)rip[0]);
	if (!elf_at(elf, size, rip[cpu], 1))
		fail("vCPU %u's RIP %#llx is not in %s", cpu,
		     (unsigned long long)rip[cpu], path);
	for (unsigned int i = 0; i < eh->e_phnum && !at; i++) {
		const Elf64_Phdr *p =
			(const Elf64_Phdr *)(elf + eh->e_phoff +
					     i * (size_t)eh->e_phentsize);

		if (p->p_type != PT_LOAD || p->p_offset + p->p_filesz > size)
			continue;
		at = memmem(elf + p->p_offset, p->p_filesz, banner,
			    sizeof(banner) - 1);
		if (at)
			va = p->p_vaddr + (at - (elf + p->p_offset));
	}
	if (!at)
		fail("no \"%s\" in %s", banner, path);
	pa = translate(cr3[cpu], va);
	got = phys(pa, 64);
	if (!got || memcmp(got, at, 64))
		fail("the banner at %#llx (GPA %#llx) is %s",
		     (unsigned long long)va, (unsigned long long)pa,
		     got ? "not the kernel's" : "not in the core");
	printf("core: vCPU %u RIP %#llx in the kernel; %#llx is GPA %#llx "
	       "through CR3 %#llx: %.40s\n",
	       cpu, (unsigned long long)rip[cpu], (unsigned long long)va,
	       (unsigned long long)pa, (unsigned long long)cr3[cpu], got);
}

/* @text (a kernel's banner, say) somewhere in the dumped RAM. */
static void check_banner(const char *text)
{
	for (unsigned int i = 0; i < nr_loads; i++) {
		const uint8_t *at = memmem(core + loads[i]->p_offset,
					   loads[i]->p_filesz, text,
					   strlen(text));

		if (at) {
			printf("core: GPA %#llx: %.40s\n",
			       (unsigned long long)(loads[i]->p_paddr +
						    (at - core -
						     loads[i]->p_offset)),
			       at);
			return;
		}
	}
	fail("no \"%s\" in the dumped RAM", text);
}

int main(int argc, char **argv)
{
	uint64_t rip[MAX_VCPUS + 1] = { 0 }, qrip[MAX_VCPUS], cr3[MAX_VCPUS];
	unsigned int nr, nr_pr = 0, nr_q = 0;
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *note = NULL;
	size_t pos, end;
	bool x86;

	if (argc < 3)
		fail("usage: core-check CORE VCPUS [--image FILE OFFSET GPA] "
		     "[--vmlinux ELF]");
	core = map(argv[1], &core_size);
	nr = atoi(argv[2]);
	if (!nr || nr > MAX_VCPUS)
		fail("VCPUS: 1 to %d", MAX_VCPUS);
	eh = (const Elf64_Ehdr *)core;
	if (core_size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB)
		fail("not a 64-bit little-endian ELF file");
	if (eh->e_type != ET_CORE ||
	    (eh->e_machine != EM_X86_64 && eh->e_machine != EM_AARCH64))
		fail("e_type %u e_machine %u, want ET_CORE and EM_X86_64 or "
		     "EM_AARCH64",
		     eh->e_type, eh->e_machine);
	x86 = eh->e_machine == EM_X86_64;
	if (eh->e_phoff + (size_t)eh->e_phnum * sizeof(Elf64_Phdr) > core_size)
		fail("program headers past the end");
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p =
			(const Elf64_Phdr *)(core + eh->e_phoff) + i;

		if (p->p_offset > core_size ||
		    p->p_filesz > core_size - p->p_offset)
			fail("segment %u past the end of the file", i);
		if (p->p_type == PT_NOTE) {
			if (note)
				fail("two PT_NOTE headers");
			note = p;
		} else if (p->p_type == PT_LOAD) {
			if (p->p_filesz != p->p_memsz || p->p_vaddr ||
			    p->p_offset % 4096 || nr_loads == 32)
				fail("PT_LOAD at %#llx: filesz %#llx memsz "
				     "%#llx vaddr %#llx offset %#llx",
				     (unsigned long long)p->p_paddr,
				     (unsigned long long)p->p_filesz,
				     (unsigned long long)p->p_memsz,
				     (unsigned long long)p->p_vaddr,
				     (unsigned long long)p->p_offset);
			loads[nr_loads++] = p;
		}
	}
	if (!note || !nr_loads)
		fail("%s PT_NOTE, %u PT_LOAD", note ? "a" : "no", nr_loads);

	pos = note->p_offset;
	end = note->p_offset + note->p_filesz;
	while (pos + sizeof(Elf64_Nhdr) <= end) {
		Elf64_Nhdr h;
		size_t name, desc;

		memcpy(&h, core + pos, sizeof(h));
		name = pos + sizeof(h);
		desc = name + ((h.n_namesz + 3) & ~3u);
		if (desc + h.n_descsz > end)
			fail("a note runs past the PT_NOTE");
		if (h.n_namesz == 5 && !memcmp(core + name, "CORE", 5) &&
		    h.n_type == NT_PRSTATUS &&
		    h.n_descsz >= 112 + (x86 ? 27 : 34) * 8) {
			int32_t pid;

			memcpy(&pid, core + desc + 32, 4);
			if (pid < 1 || pid > (int)nr || rip[pid])
				fail("NT_PRSTATUS with pid %d", pid);
			/*
			 * pr_reg at 112: x86-64's user_regs_struct, rip the
			 * 17th; arm64's user_pt_regs, pc the 33rd.
			 */
			memcpy(&rip[pid],
			       core + desc + 112 + (x86 ? 16 : 32) * 8, 8);
			nr_pr++;
		} else if (h.n_namesz == 5 && !memcmp(core + name, "QEMU", 5) &&
			   h.n_descsz >= 8 + 18 * 8 + 10 * 24 + 40) {
			uint32_t version, size;

			memcpy(&version, core + desc, 4);
			memcpy(&size, core + desc + 4, 4);
			if (version != 1 || size != h.n_descsz || nr_q == nr)
				fail("QEMU note version %u size %u of %u",
				     version, size, h.n_descsz);
			memcpy(&qrip[nr_q], core + desc + 8 + 16 * 8, 8);
			/* cr[5] after 18 registers and 10 segments. */
			memcpy(&cr3[nr_q], core + desc + 8 + 18 * 8 + 240 + 24,
			       8);
			nr_q++;
		}
		pos = desc + ((h.n_descsz + 3) & ~3u);
	}
	/* The QEMU CPU-state note is x86's only. */
	if (nr_pr != nr || nr_q != (x86 ? nr : 0))
		fail("%u NT_PRSTATUS and %u QEMU notes, want %u and %u", nr_pr,
		     nr_q, nr, x86 ? nr : 0);
	if (x86 && qrip[0] != rip[1])
		fail("vCPU 0's RIP %#llx in NT_PRSTATUS, %#llx in its QEMU note",
		     (unsigned long long)rip[1], (unsigned long long)qrip[0]);

	for (int i = 3; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--image") && i + 3 < argc) {
			size_t size;
			const uint8_t *img = map(argv[i + 1], &size);
			size_t off = strtoull(argv[i + 2], NULL, 0);
			uint64_t gpa = strtoull(argv[i + 3], NULL, 0);
			const uint8_t *ram = phys(gpa, 4096);

			if (off + 4096 > size)
				fail("%s is too short", argv[i + 1]);
			if (rip[1] < gpa || rip[1] >= gpa + (size - off))
				fail("vCPU 0's RIP %#llx is not in the image at "
				     "%#llx",
				     (unsigned long long)rip[1],
				     (unsigned long long)gpa);
			if (!ram || memcmp(ram, img + off, 4096))
				fail("the RAM at %#llx is %s",
				     (unsigned long long)gpa,
				     ram ? "not the image's" :
					   "not in the core");
			i += 3;
		} else if (!strcmp(argv[i], "--banner")) {
			check_banner(argv[i + 1]);
			i++;
		} else if (!strcmp(argv[i], "--vmlinux")) {
			check_vmlinux(argv[i + 1], nr_q, qrip, cr3);
			i++;
		} else {
			fail("unknown option %s", argv[i]);
		}
	}
	printf("core: %u vCPUs, RIP %#llx, %u RAM ranges, %zu bytes\n", nr,
	       (unsigned long long)rip[1], nr_loads, core_size);
	return 0;
}
