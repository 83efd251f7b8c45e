/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_KVM_COREDUMP_H
#define DEVISOR_KVM_COREDUMP_H

/*
 * vm.coredump: a paused VM as an ELF core file, the layout QEMU's
 * dump-guest-memory gives without paging and Cloud Hypervisor's
 * vm.coredump follows, so that crash(8) and gdb read it: a PT_NOTE with
 * each vCPU's notes (arch_vcpu_core_notes()), then one PT_LOAD per range
 * of guest RAM, p_paddr its guest-physical address and p_vaddr 0. Pages
 * of zeros are left as holes in the file. Device memory (a pmem file, a
 * passed-through BAR) is not RAM and is not dumped.
 */
#include <stddef.h>
#include <stdint.h>

struct vm;

/*
 * The core of @vm, which must be paused, into @fd (a regular file, from
 * offset 0; its old contents are cut off). 0, or -errno with a sentence
 * in @err: -EBUSY when the VM is not paused.
 */
int vm_coredump(struct vm *vm, int fd, char *err, size_t errlen);

/*
 * One ELF note record (name, type, descriptor; each padded to 4 bytes)
 * at @buf: its size, or 0 when it does not fit in @len.
 */
size_t elf_note_put(void *buf, size_t len, const char *name, uint32_t type,
		    const void *desc, size_t desc_len);

#endif
