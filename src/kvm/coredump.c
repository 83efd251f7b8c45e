// SPDX-License-Identifier: GPL-2.0
/* vm.coredump: a paused VM's vCPU notes and RAM as an ELF core file. */
#include "kvm/coredump.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm/arch.h"
#include "kvm/memory.h"
#include "kvm/vm.h"

#define CORE_PAGE 4096u
/* RAM is written a page at a time, runs of pages with data together. */
#define CORE_RUN_MAX (1u << 20)

size_t elf_note_put(void *buf, size_t len, const char *name, uint32_t type,
		    const void *desc, size_t desc_len)
{
	size_t name_len = strlen(name) + 1;
	size_t name_pad = (name_len + 3) & ~(size_t)3;
	size_t desc_pad = (desc_len + 3) & ~(size_t)3;
	size_t total = sizeof(Elf64_Nhdr) + name_pad + desc_pad;
	Elf64_Nhdr h = { .n_namesz = name_len,
			 .n_descsz = desc_len,
			 .n_type = type };
	uint8_t *p = buf;

	if (total > len)
		return 0;
	memset(p, 0, total);
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), name, name_len);
	memcpy(p + sizeof(h) + name_pad, desc, desc_len);
	return total;
}

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (unsigned int i = 0; i < CORE_PAGE / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

/*
 * @len bytes of RAM at @hva to @off, pages of zeros left as holes: each
 * page looked at once, the data between them written in runs.
 */
static int write_ram(int fd, const uint8_t *hva, uint64_t len, off_t off)
{
	uint64_t start = 0, pos = 0; /* start: the first byte not written */
	int ret = 0;

	while (!ret && pos < len) {
		uint64_t step = len - pos < CORE_PAGE ? len - pos : CORE_PAGE;
		bool zero = step == CORE_PAGE && page_is_zero(hva + pos);
		uint64_t end = zero ? pos : pos + step; /* of the data so far */

		pos += step;
		/* A page of zeros, a whole run or the end: the data goes out. */
		if (end > start &&
		    (zero || end - start >= CORE_RUN_MAX || pos == len)) {
			ret = write_all(fd, hva + start, end - start,
					off + start);
			start = end;
		}
		if (zero)
			start = pos;
	}
	return ret;
}

int vm_coredump(struct vm *vm, int fd, char *err, size_t errlen)
{
	struct mem_region ranges[GUEST_MEM_MAX_RANGES],
		ram[GUEST_MEM_MAX_RANGES];
	unsigned int nr = guest_mem_ranges(&vm->mem, ranges), n = 0;
	size_t notes_max = (size_t)vm->nr_cpus * ARCH_CORE_NOTES_MAX;
	size_t head, hdr_len;
	ssize_t notes_len;
	uint64_t data_off;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	uint8_t *buf;
	int ret;

	for (unsigned int i = 0; i < nr; i++)
		if (!guest_mem_is_device_ram(&vm->mem, &ranges[i]))
			ram[n++] = ranges[i];
	hdr_len = sizeof(*eh) + (n + 1) * sizeof(*ph);
	buf = calloc(1, hdr_len + notes_max);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	notes_len = vm_vcpu_core_notes(vm, buf + hdr_len, notes_max);
	if (notes_len < 0) {
		ret = notes_len;
		if (ret == -EBUSY)
			snprintf(err, errlen, "the VM is not paused");
		else if (ret == -ESHUTDOWN)
			snprintf(err, errlen, "the VM is stopping");
		else
			snprintf(err, errlen, "a vCPU's registers: %s",
				 strerror(-ret));
		goto out;
	}
	head = hdr_len + notes_len;
	data_off = (head + CORE_PAGE - 1) & ~(uint64_t)(CORE_PAGE - 1);

	eh = (Elf64_Ehdr *)buf;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh->e_type = ET_CORE;
	eh->e_machine = arch_elf_machine;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = n + 1;

	ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE,
			      .p_offset = hdr_len,
			      .p_filesz = notes_len,
			      .p_memsz = notes_len,
			      .p_align = 4 };
	for (unsigned int i = 0; i < n; i++) {
		ph[i + 1] = (Elf64_Phdr){ .p_type = PT_LOAD,
					  .p_flags = PF_R | PF_W | PF_X,
					  .p_offset = data_off,
					  .p_paddr = ram[i].gpa,
					  .p_filesz = ram[i].size,
					  .p_memsz = ram[i].size,
					  .p_align = CORE_PAGE };
		data_off += ram[i].size;
	}

	if (ftruncate(fd, 0) || ftruncate(fd, data_off)) {
		ret = -errno;
		snprintf(err, errlen, "cannot size the core file: %s",
			 strerror(-ret));
		goto out;
	}
	ret = write_all(fd, buf, head, 0);
	for (unsigned int i = 0; !ret && i < n; i++)
		ret = write_ram(fd, ram[i].hva, ram[i].size,
				ph[i + 1].p_offset);
	if (ret)
		snprintf(err, errlen, "cannot write the core file: %s",
			 strerror(-ret));
out:
	free(buf);
	return ret;
}
