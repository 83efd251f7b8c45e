// SPDX-License-Identifier: GPL-2.0
/*
 * vm.coredump's ELF core (kvm/coredump.c) without KVM: the layout crash(8)
 * and gdb read (an ET_CORE with a PT_NOTE and a PT_LOAD per RAM range at
 * its guest-physical address), RAM's bytes where the PT_LOAD says, pages
 * of zeros as holes, and the hand-over to a parked vCPU's thread for its
 * notes, whose error comes back to the caller.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/arch.h"
#include "kvm/coredump.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"

#include "helpers/parked_vcpu.h"

#define RAM (8u << 20)

static struct vm vm;
static struct vcpu *no_vcpus[1];
static int fd;
static char path[] = "/tmp/devisor-core-XXXXXX";

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	vm_init_common(&vm);
	if (guest_mem_init(&vm.mem, RAM, false))
		return -1;
	vm.vcpus = no_vcpus;
	vm.nr_cpus = 1;
	fd = mkstemp(path);
	return fd < 0;
}

static int teardown(void **state)
{
	close(fd);
	unlink(path);
	strcpy(path + strlen(path) - 6, "XXXXXX");
	guest_mem_destroy(&vm.mem);
	return 0;
}

static void test_not_paused(void **state)
{
	char err[128] = "";

	assert_int_equal(vm_coredump(&vm, fd, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "not paused"));
}

static void test_layout(void **state)
{
	static const char token[] = "DEVISOR-CORE-TOKEN";
	const uint64_t at = 0x123456, last = RAM - sizeof(token);
	char err[128] = "", buf[sizeof(token)];
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	struct stat st;

	assert_int_equal(guest_write(&vm.mem, at, token, sizeof(token)), 0);
	assert_int_equal(guest_write(&vm.mem, last, token, sizeof(token)), 0);
	/* Old contents are cut off. */
	assert_int_equal(ftruncate(fd, 64ull << 20), 0);
	vm.pause_req = true;
	assert_int_equal(vm_coredump(&vm, fd, err, sizeof(err)), 0);

	assert_int_equal(pread(fd, &eh, sizeof(eh), 0), sizeof(eh));
	assert_memory_equal(eh.e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
	assert_int_equal(eh.e_ident[EI_DATA], ELFDATA2LSB);
	assert_int_equal(eh.e_type, ET_CORE);
	assert_int_equal(eh.e_machine, arch_elf_machine);
	assert_int_equal(eh.e_phentsize, sizeof(Elf64_Phdr));
	/* This board's RAM is one range below the PCI hole. */
	assert_int_equal(eh.e_phnum, 2);
	assert_int_equal(pread(fd, ph, sizeof(ph), eh.e_phoff), sizeof(ph));
	assert_int_equal(ph[0].p_type, PT_NOTE);
	assert_int_equal(ph[0].p_filesz, 0); /* no vCPU */
	assert_int_equal(ph[1].p_type, PT_LOAD);
	assert_int_equal(ph[1].p_paddr, vm.mem.regions[0].gpa);
	assert_int_equal(ph[1].p_vaddr, 0);
	assert_int_equal(ph[1].p_filesz, RAM);
	assert_int_equal(ph[1].p_memsz, RAM);
	assert_int_equal(ph[1].p_offset % 4096, 0);

	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, ph[1].p_offset + RAM);
	assert_int_equal(pread(fd, buf, sizeof(buf),
			       ph[1].p_offset + at - ph[1].p_paddr),
			 sizeof(buf));
	assert_memory_equal(buf, token, sizeof(token));
	assert_int_equal(pread(fd, buf, sizeof(buf),
			       ph[1].p_offset + last - ph[1].p_paddr),
			 sizeof(buf));
	assert_memory_equal(buf, token, sizeof(token));
	/* Two pages of data (three: the token at 0x123456 crosses none). */
	assert_true(st.st_blocks * 512 <= 64 * 1024);
}

static void test_note_put(void **state)
{
	uint8_t buf[64];
	uint32_t desc = 0xabcdef01;
	Elf64_Nhdr h;

	/* 12 + "CORE\0" padded to 8 + 4. */
	assert_int_equal(elf_note_put(buf, sizeof(buf), "CORE", NT_PRSTATUS,
				      &desc, sizeof(desc)),
			 24);
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.n_namesz, 5);
	assert_int_equal(h.n_descsz, 4);
	assert_int_equal(h.n_type, NT_PRSTATUS);
	assert_string_equal((char *)buf + 12, "CORE");
	assert_memory_equal(buf + 20, &desc, 4);
	assert_int_equal(elf_note_put(buf, 23, "CORE", 1, &desc, 4), 0);
}

static struct vcpu fake;

/*
 * The notes are asked of the parked vCPU's own thread; its error (no
 * vCPU fd here: the register ioctls fail) fails the dump, file removed
 * by the caller, and the VM stays paused.
 */
static void test_vcpu_notes(void **state)
{
	struct vcpu *vcpus[1] = { &fake };
	char err[128] = "";
	struct parked_vcpu pv;

	fake = (struct vcpu){
		.vm = &vm, .fd = -1, .plugged = true, .thread_started = true
	};
	vm.vcpus = vcpus;
	pv_start(&pv, &vm, &fake);
	pv_pause(&pv);
	assert_int_equal(vm_coredump(&vm, fd, err, sizeof(err)), -EBADF);
	assert_non_null(strstr(err, "a vCPU's registers"));
	assert_null(fake.call_fn);
	assert_true(vm_paused(&vm));
	vm_stop(&vm, VM_STOP_POWEROFF, 0, "test");
	pv_join(&pv);
	vm.vcpus = no_vcpus;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_not_paused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
		cmocka_unit_test(test_note_put),
		cmocka_unit_test_setup_teardown(test_vcpu_notes, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
