/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The real-mode half of a test guest's bzImage: boot sector, setup header
 * (Documentation/arch/x86/boot.rst, protocol 2.15) and the real-mode entry
 * that BIOS-style loaders such as QEMU -kernel call at offset 0x200 with
 * CS = setup segment + 0x20, DS = ES = SS = setup segment.
 *
 * Linked at 0, i.e. relative to the setup segment, so every data access
 * below goes through DS and the code never depends on CS's base.
 */
#include "boot.h"

	.section ".setup", "ax"
	.code16

	/* Bytes 0..0x1f0 double as the zero page in the real-mode flow. */
	.org	0x1f1
hdr:
setup_sects:	.byte	SETUP_SECTS
root_flags:	.word	0
syssize:	.long	kit_syssize		/* 16-byte units, from guest.ld */
ram_size:	.word	0
vid_mode:	.word	0xffff			/* NORMAL_VGA */
root_dev:	.word	0
boot_flag:	.word	0xaa55

	/* 0x200: the jump also tells loaders where the header ends. */
	.globl	_start
_start:
	.byte	0xeb, start_of_setup - 1f
1:
header:		.ascii	"HdrS"
version:	.word	0x020f
realmode_swtch:	.long	0
start_sys_seg:	.word	0x1000			/* obsolete */
kernel_version:	.word	kit_version_str - 0x200
type_of_loader:	.byte	0
loadflags:	.byte	0x01			/* LOADED_HIGH */
setup_move_size: .word	0x8000
code32_start:	.long	KERNEL_BASE
ramdisk_image:	.long	0
ramdisk_size:	.long	0
bootsect_kludge: .long	0
heap_end_ptr:	.word	0
ext_loader_ver:	.byte	0
ext_loader_type: .byte	0
cmd_line_ptr:	.long	0
initrd_addr_max: .long	0x7fffffff
kernel_alignment: .long	KERNEL_BASE		/* only binding if relocatable */
relocatable_kernel: .byte 0
min_alignment:	.byte	20			/* log2(KERNEL_BASE) */
xloadflags:	.word	0x0001			/* XLF_KERNEL_64 */
cmdline_size:	.long	2047			/* like Linux: 2048 - 1 */
hardware_subarch: .long	0
hardware_subarch_data: .quad 0
payload_offset:	.long	0
payload_length:	.long	0
setup_data:	.quad	0
pref_address:	.quad	KERNEL_BASE
init_size:	.long	kit_init_size		/* image + bss, from guest.ld */
handover_offset: .long	0			/* no EFI handover */
kernel_info_offset: .long kit_kernel_info_offset

	/* Catch a mistyped field: loaders read this layout blindly. */
	.if	cmd_line_ptr - hdr != 0x228 - 0x1f1
	.error	"setup header: cmd_line_ptr not at 0x228"
	.endif
	.if	kernel_info_offset - hdr != 0x268 - 0x1f1
	.error	"setup header: kernel_info_offset not at 0x268"
	.endif

start_of_setup:
	cli
	cld
	/* boot_params (the zero page) is the setup segment's base. */
	movw	%ds, %ax
	movzwl	%ax, %esi
	shll	$4, %esi

	/* The GDT's linear address depends on where the loader put us. */
	leal	rm_gdt(%esi), %eax
	movl	%eax, rm_gdt_desc + 2
	lgdtl	rm_gdt_desc

	/* The far pointer is read after DS turns flat, so via its linear address. */
	movl	code32_start, %eax
	movl	%eax, rm_jump
	leal	rm_jump(%esi), %edx

	/* Fast A20: the protected-mode part lives above 1 MiB. */
	inb	$0x92, %al
	orb	$0x02, %al
	andb	$0xfe, %al
	outb	%al, $0x92

	movl	%cr0, %eax
	orl	$X86_CR0_PE, %eax
	movl	%eax, %cr0

	/* 32-bit boot protocol: __BOOT_DS everywhere, EBP/EDI/EBX zero. */
	movw	$KERNEL_DS, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
	xorl	%ebx, %ebx
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	ljmpl	*(%edx)

	.balign	8
rm_gdt:
	.quad	0
	.quad	0
	.quad	0x00cf9b000000ffff	/* 0x10: flat 32-bit code, accessed */
	.quad	0x00cf93000000ffff	/* 0x18: flat data, accessed */
rm_gdt_end:
rm_gdt_desc:
	.word	rm_gdt_end - rm_gdt - 1
	.long	0			/* patched: linear address of rm_gdt */
rm_jump:
	.long	0			/* patched: code32_start */
	.word	KERNEL_CS

kit_version_str:
	.asciz	"devisor test guest"

	.org	SETUP_SIZE

	.section .note.GNU-stack, "", @progbits
