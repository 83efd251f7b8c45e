/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GUEST_KIT_GUEST_H
#define GUEST_KIT_GUEST_H

/*
 * The test-guest kit. A guest is one tests/guest/<name>.c that defines
 *
 *	int guest_main(void);
 *
 * and is built into <name>.bin, a bzImage that devisor (64-bit boot
 * protocol) or QEMU -kernel (real-mode entry) boots like a Linux kernel.
 * guest_main() runs at CPL3 with IOPL 3, interrupts off, the UART set up and
 * 0..4 GiB identity-mapped; its return value goes to guest_exit(). PVM hosts
 * drop IOPL and show IF set at CPL3: port I/O still works through the TSS
 * I/O bitmap, and nothing is programmed to interrupt. There is no exception
 * handling: any fault ends the VM as a triple fault.
 *
 * A guest that needs privileged setup may also define
 *
 *	void guest_cpl0_setup(void);
 *
 * which the kit calls once at CPL0 before dropping to CPL3 (bss not yet
 * cleared, so keep its state in initialised data). CPL0 code is emulated on
 * PVM hosts, ~5000x slower: keep it short.
 *
 * More of the kit, each with its own header: pci.h (config access through
 * 0xCF8 and ECAM, ACPI tables, BAR sizing and placement), virtio.h (a
 * polled virtio-pci/virtio-mmio driver with split rings), blk.h (virtio-blk
 * on top of it) and tsc.h (TSC frequency and deadlines).
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* guest_exit() codes; the VMM exits with (code << 1) | 1: 33 and 35. */
#define GUEST_PASS 0x10
#define GUEST_FAIL 0x11

#define DEBUG_EXIT_PORT 0xf4 /* QEMU isa-debug-exit, iobase 0xf4 */
#define COM1_BASE 0x3f8

int guest_main(void);
void guest_cpl0_setup(void);

static inline void outb(uint8_t v, uint16_t port)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t v, uint16_t port)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint32_t v, uint16_t port)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/*
 * MMIO: one mov of exactly the access size, so the VMM sees one exit of
 * that size. Addresses are physical (identity map).
 */
#define KIT_MMIO_RW(sfx, type, reg)                           \
	static inline type read##sfx(uintptr_t addr)          \
	{                                                     \
		type v;                                       \
		asm volatile("mov" #reg " %1, %0"             \
			     : "=r"(v)                        \
			     : "m"(*(volatile type *)addr)    \
			     : "memory");                     \
		return v;                                     \
	}                                                     \
	static inline void write##sfx(type v, uintptr_t addr) \
	{                                                     \
		asm volatile("mov" #reg " %1, %0"             \
			     : "=m"(*(volatile type *)addr)   \
			     : "r"(v)                         \
			     : "memory");                     \
	}

KIT_MMIO_RW(b, uint8_t, b)
KIT_MMIO_RW(w, uint16_t, w)
KIT_MMIO_RW(l, uint32_t, l)
KIT_MMIO_RW(q, uint64_t, q)
#undef KIT_MMIO_RW

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b,
			 uint32_t *c, uint32_t *d)
{
	asm volatile("cpuid"
		     : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
		     : "a"(leaf), "c"(sub));
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

/* Polled 16550 on COM1, 115200 8N1, no interrupts. */
void uart_init(void);
void uart_putc(char c); /* '\n' goes out as "\r\n" */
int uart_getc(void); /* waits for a byte */
int uart_try_getc(void); /* -1 when none is waiting */

int puts(const char *s); /* s and a newline */
void putstr(const char *s); /* s alone */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *s, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* The zero page the loader passed in RSI (ESI on the 32-bit paths). */
extern void *kit_boot_params;
#define BP_CMD_LINE_PTR 0x228 /* boot_params.hdr.cmd_line_ptr */
#define BP_EXT_CMD_LINE_PTR 0x0c8 /* upper 32 bits */

/* The kernel command line, "" if the loader gave none. */
const char *cmdline(void);
/*
 * Copies the value of the first `key=value` word of the command line into
 * @val (NUL-terminated, truncated to @size). A bare `key` has value "".
 * Returns the value's full length, or -1 if @key is absent.
 */
int cmdline_arg(const char *key, char *val, size_t size);
/* Decimal, or hex with 0x; false on junk or overflow. */
bool parse_ulong(const char *s, unsigned long *out);

/* Ends the VM through the debug-exit port; never returns. */
void guest_exit(uint32_t code) __attribute__((noreturn));

#endif
