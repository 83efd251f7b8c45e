/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GUEST_KIT_BOOT_H
#define GUEST_KIT_BOOT_H

/*
 * Constants shared by the kit's assembly, linker script and C code. Only
 * plain numbers here: guest.ld includes this file through cpp.
 */

/* Real-mode setup: boot sector plus SETUP_SECTS sectors (Linux uses >= 4). */
#define SETUP_SECTS 4
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)

/* Not relocatable: the protected-mode part runs where it was linked. */
#define KERNEL_BASE 0x100000

/*
 * The kit's GDT copies Linux's x86-64 layout: 0x10/0x18 are __BOOT_CS/DS,
 * and PVM hosts require the user selectors to be Linux's __USER_CS/DS.
 */
#define KERNEL_CS 0x10
#define KERNEL_DS 0x18
#define USER_DS 0x2b /* entry 5 | RPL 3 */
#define USER_CS 0x33 /* entry 6 | RPL 3 */
#define TSS_SEL 0x40 /* entries 8-9 */

/*
 * The guest runs at CPL3 with IOPL 3, IF clear. PVM hosts drop IOPL at CPL3,
 * so the TSS also carries an I/O bitmap that allows every port.
 */
#define USER_RFLAGS 0x3002

#define X86_CR0_PE 0x00000001
#define X86_CR0_PG 0x80000000
#define X86_CR4_PAE 0x00000020
#define X86_CR4_OSFXSR 0x00000200
#define X86_CR4_OSXMMEXCPT 0x00000400
#define X86_CR4_OSXSAVE 0x00040000
#define MSR_EFER 0xc0000080
#define EFER_LME 0x00000100

/* Page-table entry bits. */
#define PTE_P 0x001
#define PTE_RW 0x002
#define PTE_US 0x004
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS 0x080

#define KIT_USER_STACK_SIZE 0x8000
#define KIT_CPL0_STACK_SIZE 0x2000

#endif
