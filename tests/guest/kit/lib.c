// SPDX-License-Identifier: GPL-2.0
/*
 * The kit's C runtime: UART, printf, strings, command line, exit. Every
 * port access is a VM exit (~31 us on PVM hosts), so the UART code does no
 * more register accesses than it must.
 */
#include "guest.h"

#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding (write) */
#define UART_IER 1
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_DLL 0 /* with LCR.DLAB */
#define UART_DLM 1

#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20

void kit_main(void) __attribute__((noreturn));

void uart_init(void)
{
	outb(0, COM1_BASE + UART_IER);
	outb(LCR_DLAB, COM1_BASE + UART_LCR);
	outb(1, COM1_BASE + UART_DLL); /* 115200 baud */
	outb(0, COM1_BASE + UART_DLM);
	outb(LCR_8N1, COM1_BASE + UART_LCR);
	/*
	 * FCR stays as it is: enabling or resetting the FIFOs drops bytes
	 * already received, e.g. input piped in before the guest booted.
	 */
	outb(0x03, COM1_BASE + UART_MCR); /* DTR, RTS */
}

static void uart_tx(char c)
{
	while (!(inb(COM1_BASE + UART_LSR) & LSR_THRE))
		cpu_relax();
	outb((uint8_t)c, COM1_BASE + UART_THR);
}

void uart_putc(char c)
{
	if (c == '\n')
		uart_tx('\r');
	uart_tx(c);
}

int uart_try_getc(void)
{
	if (!(inb(COM1_BASE + UART_LSR) & LSR_DR))
		return -1;
	return inb(COM1_BASE + UART_RBR);
}

int uart_getc(void)
{
	int c;

	while ((c = uart_try_getc()) < 0)
		cpu_relax();
	return c;
}

void putstr(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

int puts(const char *s)
{
	putstr(s);
	uart_putc('\n');
	return 0;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, (size_t)-1);
}

/* printf core: output goes to a sink, either a buffer or the UART. */
struct sink {
	char *buf; /* NULL: UART */
	size_t size, len;
};

static void sink_put(struct sink *s, char c)
{
	if (!s->buf)
		uart_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void sink_pad(struct sink *s, char c, int n)
{
	while (n-- > 0)
		sink_put(s, c);
}

/* Right-aligned; do_printf() pads left-aligned fields afterwards. */
static void fmt_num(struct sink *s, unsigned long long v, bool neg,
		    unsigned int base, bool upper, int width, bool zero,
		    const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, plen = (int)strlen(prefix) + neg;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (!zero)
		sink_pad(s, ' ', width - n - plen);
	if (neg)
		sink_put(s, '-');
	while (*prefix)
		sink_put(s, *prefix++);
	if (zero)
		sink_pad(s, '0', width - n - plen);
	while (n)
		sink_put(s, tmp[--n]);
}

static int do_printf(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		bool zero = false, left = false, alt = false;
		int width = 0, lng = 0, prec = -1;
		size_t start = s->len;

		if (*fmt != '%') {
			sink_put(s, *fmt);
			continue;
		}
		for (;;) {
			fmt++;
			if (*fmt == '0')
				zero = true;
			else if (*fmt == '-')
				left = true;
			else if (*fmt == '#')
				alt = true;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			prec = 0;
			fmt++;
			while (*fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (*fmt++ - '0');
		}
		while (*fmt == 'l' || *fmt == 'z' || *fmt == 'h') {
			if (*fmt != 'h')
				lng++;
			fmt++;
		}

		switch (*fmt) {
		case 'd':
		case 'i': {
			long long v = lng ? va_arg(ap, long) : va_arg(ap, int);
			unsigned long long u = v < 0 ? -(unsigned long long)v :
						       (unsigned long long)v;

			fmt_num(s, u, v < 0, 10, false, left ? 0 : width, zero,
				"");
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			unsigned long long v = lng ? va_arg(ap, unsigned long) :
						     va_arg(ap, unsigned int);
			unsigned int base = *fmt == 'u' ? 10 : 16;

			fmt_num(s, v, false, base, *fmt == 'X',
				left ? 0 : width, zero,
				alt && v && base == 16 ? "0x" : "");
			break;
		}
		case 'p':
			fmt_num(s, (uintptr_t)va_arg(ap, void *), false, 16,
				false, left ? 0 : width, zero, "0x");
			break;
		case 'c':
			if (!left)
				sink_pad(s, ' ', width - 1);
			sink_put(s, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			int n;

			if (!str)
				str = "(null)";
			for (n = 0; str[n] && (prec < 0 || n < prec); n++)
				;
			if (!left)
				sink_pad(s, ' ', width - n);
			while (n--)
				sink_put(s, *str++);
			break;
		}
		case '%':
			sink_put(s, '%');
			break;
		case '\0':
			return (int)s->len;
		default:
			sink_put(s, '%');
			sink_put(s, *fmt);
			break;
		}
		if (left)
			sink_pad(s, ' ', width - (int)(s->len - start));
	}
	return (int)s->len;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	static char dummy;
	struct sink s = { .buf = size ? buf : &dummy, .size = size };
	int n = do_printf(&s, fmt, ap);

	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };

	return do_printf(&s, fmt, ap);
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

const char *cmdline(void)
{
	const uint8_t *bp = kit_boot_params;
	uint64_t ptr;
	uint32_t lo, hi;

	if (!bp)
		return "";
	memcpy(&lo, bp + BP_CMD_LINE_PTR, 4);
	memcpy(&hi, bp + BP_EXT_CMD_LINE_PTR, 4);
	ptr = ((uint64_t)hi << 32) | lo;
	/* The identity map ends at 4 GiB. */
	if (!ptr || ptr >= 0x100000000ull)
		return "";
	return (const char *)(uintptr_t)ptr;
}

int cmdline_arg(const char *key, char *val, size_t size)
{
	const char *p = cmdline();
	size_t klen = strlen(key);

	while (*p) {
		const char *w = p, *v;
		size_t n;

		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - w) >= klen && !strncmp(w, key, klen) &&
		    (w + klen == p || w[klen] == '=')) {
			v = w + klen == p ? p : w + klen + 1;
			n = (size_t)(p - v);
			if (size) {
				size_t c = n < size - 1 ? n : size - 1;

				memcpy(val, v, c);
				val[c] = '\0';
			}
			return (int)n;
		}
		while (*p == ' ')
			p++;
	}
	return -1;
}

bool parse_ulong(const char *s, unsigned long *out)
{
	unsigned long v = 0, base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned long d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned long)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned long)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned long)(*s - 'A' + 10);
		else
			return false;
		if (v > (~0ul - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

void guest_exit(uint32_t code)
{
	char how[8];

	outl(code, DEBUG_EXIT_PORT);
	/*
	 * exit=reset: for a VMM without a debug-exit device (kvmtool, in
	 * bench/startup), the i8042's pulse reset ends it without a word.
	 */
	if (cmdline_arg("exit", how, sizeof(how)) >= 0 && !strcmp(how, "reset"))
		outb(0xfe, 0x64);
	/* Still here: no debug-exit device. A fault is the next best end. */
	printf("guest_exit(%#x): no debug-exit device at %#x\n", code,
	       DEBUG_EXIT_PORT);
	for (;;)
		asm volatile("ud2");
}

void kit_main(void)
{
	uart_init();
	guest_exit((uint32_t)guest_main());
}
