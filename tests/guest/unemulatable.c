// SPDX-License-Identifier: GPL-2.0
/*
 * Stores a ymm register to unbacked MMIO. KVM's instruction emulator has no
 * VEX support, so it cannot complete the MMIO exit. At CPL0 KVM then ends
 * KVM_RUN with KVM_EXIT_INTERNAL_ERROR (emulation failure); at CPL3 it
 * injects #UD instead unless the VMM enabled KVM_CAP_EXIT_ON_EMULATION_FAILURE.
 * So the store is done from guest_cpl0_setup(); `cpl=3` on the command line
 * does it from guest_main() instead, to test that capability.
 */
#include "guest.h"

#include "boot.h"

#define MMIO_ADDR 0xd0000000ul /* 32-bit PCI window, no BAR there */
#define CPUID1_ECX_XSAVE (1u << 26)
#define CPUID1_ECX_AVX (1u << 28)
#define XCR0_X87_SSE_AVX 0x7

/* Set at CPL0, before the kit clears bss: both must live in .data. */
static int avx_enabled = -1;
static int cpl0_store_done = -1;

void ymm_store(uintptr_t addr);

/* Plain assembly, so the compiler never emits AVX code of its own. */
asm(".pushsection .text\n"
    ".globl ymm_store\n"
    "ymm_store:\n"
    "	vpcmpeqb %ymm0, %ymm0, %ymm0\n"
    "	vmovdqu %ymm0, (%rdi)\n"
    "	ret\n"
    ".popsection");

static bool want_cpl3(void)
{
	char arg[4];

	return cmdline_arg("cpl", arg, sizeof(arg)) >= 0 && !strcmp(arg, "3");
}

void guest_cpl0_setup(void)
{
	uint32_t a, b, c, d;
	unsigned long cr4;

	cpuid(1, 0, &a, &b, &c, &d);
	avx_enabled = (c & (CPUID1_ECX_XSAVE | CPUID1_ECX_AVX)) ==
		      (CPUID1_ECX_XSAVE | CPUID1_ECX_AVX);
	cpl0_store_done = 0;
	if (!avx_enabled)
		return;
	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_OSXSAVE;
	asm volatile("mov %0, %%cr4" : : "r"(cr4));
	asm volatile("xsetbv" : : "c"(0), "a"(XCR0_X87_SSE_AVX), "d"(0));
	if (want_cpl3())
		return;
	printf("unemulatable: vmovdqu %%ymm0 -> %#lx at CPL0\n", MMIO_ADDR);
	ymm_store(MMIO_ADDR);
	cpl0_store_done = 1;
}

int guest_main(void)
{
	if (!avx_enabled) {
		puts("unemulatable: no AVX/XSAVE in CPUID, nothing to test");
		return GUEST_FAIL;
	}
	if (!cpl0_store_done) {
		printf("unemulatable: vmovdqu %%ymm0 -> %#lx at CPL3\n",
		       MMIO_ADDR);
		ymm_store(MMIO_ADDR);
	}
	puts("unemulatable: the store was emulated after all");
	return GUEST_FAIL;
}
