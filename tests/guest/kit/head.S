/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The protected-mode part of a test guest, loaded at KERNEL_BASE:
 *
 *   +0x000  startup_32: 32-bit boot protocol (and the real-mode path)
 *   +0x200  startup_64: 64-bit boot protocol (what devisor enters)
 *
 * Guest CPL0 code is emulated instruction by instruction on PVM hosts, so
 * everything that can be is static data (GDT, TSS, page tables, the iretq
 * frame) and the CPL0 path is a handful of instructions ending in an iretq
 * to CPL3. The IDT has limit 0: any exception escalates to a triple fault,
 * which is exactly how a broken test guest should end.
 */
#include "boot.h"

	.section ".head.text", "ax"
	.code32
	.globl	startup_32
startup_32:
	/* ESI = boot_params; CS/DS = __BOOT_CS/__BOOT_DS of the loader's GDT. */
	cli
	cld
	lgdt	kit_gdt_desc
	movl	$KERNEL_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss

	movl	%cr4, %eax
	orl	$X86_CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$kit_pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(X86_CR0_PG | X86_CR0_PE), %eax
	movl	%eax, %cr0
	ljmpl	$KERNEL_CS, $startup_64_from32

	.code64
startup_64_from32:
	/* Upper register halves are undefined across the mode switch. */
	movl	%esi, %esi
	jmp	startup_64

	.org	0x200
	.globl	startup_64
startup_64:
	/* Long mode, loader's identity map, RSI = boot_params, IF = 0. */
	cli
	cld
	lgdt	kit_gdt_desc(%rip)
	movl	$TSS_SEL, %eax
	ltr	%ax
	lidt	kit_idt_desc(%rip)
	movl	$kit_pml4, %eax
	movq	%rax, %cr3
	movq	%rsi, kit_boot_params(%rip)

	/* A guest that needs privileged setup defines guest_cpl0_setup(). */
	movl	$guest_cpl0_setup, %eax
	testq	%rax, %rax
	jz	1f
	leaq	kit_cpl0_stack_top(%rip), %rsp
	call	*%rax
1:
	/* The frame is static: CPL3 code and stack, IOPL 3, IF clear. */
	leaq	kit_iret_frame(%rip), %rsp
	iretq

	.weak	guest_cpl0_setup

	.text
	/* CPL3 from here on. */
kit_user_entry:
	/* bss is not in the file; loaders need not zero it. */
	leaq	__bss_start(%rip), %rdi
	leaq	__bss_end(%rip), %rcx
	subq	%rdi, %rcx
	xorl	%eax, %eax
	rep stosb
	call	kit_main
	ud2

	.data
	.balign	16
kit_gdt:
	.quad	0
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x10: kernel code, 64-bit */
	.quad	0x00cf93000000ffff	/* 0x18: kernel data */
	.quad	0x00cffb000000ffff	/* 0x20: user code, 32-bit (unused) */
	.quad	0x00cff3000000ffff	/* 0x28: user data, DPL 3 */
	.quad	0x00affb000000ffff	/* 0x30: user code, 64-bit, DPL 3 */
	.quad	0
	.quad	kit_tss_desc_lo		/* 0x40: 64-bit TSS, see guest.ld */
	.quad	kit_tss_desc_hi
kit_gdt_end:

	.balign	8
	.word	0
kit_gdt_desc:
	.word	kit_gdt_end - kit_gdt - 1
	.quad	kit_gdt

	.balign	8
	.word	0
kit_idt_desc:
	.word	0			/* limit 0: every vector faults */
	.quad	0

	.balign	16
	.globl	kit_tss, kit_tss_end
kit_tss:
	.long	0
	.quad	kit_cpl0_stack_top	/* rsp0 */
	.quad	0, 0			/* rsp1, rsp2 */
	.quad	0
	.quad	0, 0, 0, 0, 0, 0, 0	/* ist1..7 */
	.quad	0
	.word	0
	.word	kit_tss_iobm - kit_tss
kit_tss_iobm:
	/* Every port allowed, plus the all-ones byte the CPU may read past. */
	.fill	65536 / 8, 1, 0
	.byte	0xff
kit_tss_end:

	.balign	16
kit_iret_frame:
	.quad	kit_user_entry
	.quad	USER_CS
	.quad	USER_RFLAGS
	.quad	kit_user_stack_top
	.quad	USER_DS

	/* Written at CPL0 before bss is cleared, so it lives in .data. */
	.balign	8
	.globl	kit_boot_params
kit_boot_params:
	.quad	0

	/*
	 * Identity map of 0..4 GiB in 2 MiB pages, user-accessible so CPL3
	 * reaches RAM and the MMIO hole; the top GiB (MMIO) is uncached.
	 */
	.section ".data.pgt", "aw"
	.balign	4096
kit_pml4:
	.quad	kit_pdpt + (PTE_P | PTE_RW | PTE_US)
	.fill	511, 8, 0
kit_pdpt:
	.quad	kit_pd + 0x0000 + (PTE_P | PTE_RW | PTE_US)
	.quad	kit_pd + 0x1000 + (PTE_P | PTE_RW | PTE_US)
	.quad	kit_pd + 0x2000 + (PTE_P | PTE_RW | PTE_US)
	.quad	kit_pd + 0x3000 + (PTE_P | PTE_RW | PTE_US)
	.fill	508, 8, 0
kit_pd:
	.set	.Lpde, 0
	.rept	2048
	.if	.Lpde < 1536
	.quad	(.Lpde << 21) | (PTE_P | PTE_RW | PTE_US | PTE_PS)
	.else
	.quad	(.Lpde << 21) | \
		(PTE_P | PTE_RW | PTE_US | PTE_PS | PTE_PCD | PTE_PWT)
	.endif
	.set	.Lpde, .Lpde + 1
	.endr

	.section ".rodata.kernel_info", "a"
	.balign	4
	.globl	kernel_info
kernel_info:
	.ascii	"LToP"
	.long	kernel_info_var_len_data - kernel_info
	.long	kernel_info_end - kernel_info
	.long	0			/* setup_type_max: the kit reads no setup_data */
kernel_info_var_len_data:
kernel_info_end:

	.bss
	.balign	16
	.globl	kit_user_stack_top
	.space	KIT_USER_STACK_SIZE
kit_user_stack_top:
	.balign	16
	.space	KIT_CPL0_STACK_SIZE
kit_cpl0_stack_top:

	.section .note.GNU-stack, "", @progbits
