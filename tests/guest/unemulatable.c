// SPDX-License-Identifier: GPL-2.0
/*
 * Adds unbacked MMIO to an xmm register (paddd, SSE2). KVM's instruction
 * emulator has no packed-integer SSE arithmetic, so it cannot complete the
 * MMIO exit, on a hardware KVM (the access faults and is handed to the
 * emulator) and on a PVM one (which emulates all CPL0 code) alike. At CPL0
 * KVM then ends KVM_RUN with KVM_EXIT_INTERNAL_ERROR (emulation failure).
 *
 * SSE2 is part of x86-64, so the instruction is valid on every host: a #UD
 * (which the kit cannot handle: a triple fault) would be a wrong answer,
 * as an AVX store was on a TCG-emulated CPU whose CPUID claimed AVX.
 */
#include "guest.h"

#include "boot.h"

#define MMIO_ADDR 0xd0000000ul /* 32-bit PCI window, no BAR there */

/* Set at CPL0, before the kit clears bss: must live in .data. */
static int cpl0_add_done = -1;

void mmio_paddd(uintptr_t addr);

/* Plain assembly: the kit builds with -mgeneral-regs-only. */
asm(".pushsection .text\n"
    ".globl mmio_paddd\n"
    "mmio_paddd:\n"
    "	paddd (%rdi), %xmm0\n"
    "	ret\n"
    ".popsection");

void guest_cpl0_setup(void)
{
	unsigned long cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	asm volatile("mov %0, %%cr4" : : "r"(cr4));
	printf("unemulatable: paddd %#lx, %%xmm0 at CPL0\n", MMIO_ADDR);
	mmio_paddd(MMIO_ADDR);
	cpl0_add_done = 1;
}

int guest_main(void)
{
	if (cpl0_add_done == 1)
		puts("unemulatable: the MMIO add was emulated after all");
	else
		puts("unemulatable: CPL0 set-up did not run");
	return GUEST_FAIL;
}
