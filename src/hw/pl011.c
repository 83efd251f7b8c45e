// SPDX-License-Identifier: GPL-2.0
/*
 * ARM PrimeCell PL011 UART, after the PL011 TRM (ARM DDI 0183G, r1p5) and
 * what Linux's amba-pl011 driver relies on: the receive FIFO with its
 * trigger level, the receive timeout, the transmit interrupt raised when
 * the transmit FIFO drains, and the raw/masked/clear interrupt registers.
 *
 * There is no line timing, as in serial.c: a byte written to DR reaches the
 * output fd before the write returns, so FR reads TXFE and never BUSY or
 * TXFF, the transmit interrupt asserts again after every write, and the
 * receive timeout asserts at once whenever the receive FIFO holds fewer
 * bytes than the trigger level.
 */
#include "hw/pl011.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bus/bus.h"
#include "bus/device.h"
#include "hw/uart_line.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"

#define UARTDR 0x000
#define UARTRSR 0x004 /* UARTECR on write */
#define UARTFR 0x018
#define UARTILPR 0x020
#define UARTIBRD 0x024
#define UARTFBRD 0x028
#define UARTLCR_H 0x02c
#define UARTCR 0x030
#define UARTIFLS 0x034
#define UARTIMSC 0x038
#define UARTRIS 0x03c
#define UARTMIS 0x040
#define UARTICR 0x044
#define UARTDMACR 0x048
#define UARTPERIPHID0 0xfe0
#define UARTPCELLID3 0xffc

/* DR's error bits above the data byte; RSR holds the same four at 0-3. */
#define DR_FE (1u << 8)
#define DR_PE (1u << 9)
#define DR_BE (1u << 10)
#define DR_OE (1u << 11)
#define RSR_OE (1u << 3)

#define FR_CTS (1u << 0)
#define FR_DSR (1u << 1)
#define FR_DCD (1u << 2)
#define FR_BUSY (1u << 3)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define FR_RXFF (1u << 6)
#define FR_TXFE (1u << 7)
#define FR_RI (1u << 8)

#define LCR_H_FEN (1u << 4)

#define CR_UARTEN (1u << 0)
#define CR_LBE (1u << 7)
#define CR_TXE (1u << 8)
#define CR_RXE (1u << 9)
#define CR_DTR (1u << 10)
#define CR_RTS (1u << 11)
#define CR_OUT1 (1u << 12)
#define CR_OUT2 (1u << 13)
#define CR_MASK 0xff87u /* SIREN/SIRLP (1, 2) read back too; 3-6 reserved */

/* Interrupt bits, the same in IMSC, RIS, MIS and ICR. */
#define INT_RI (1u << 0)
#define INT_CTS (1u << 1)
#define INT_DCD (1u << 2)
#define INT_DSR (1u << 3)
#define INT_RX (1u << 4)
#define INT_TX (1u << 5)
#define INT_RT (1u << 6)
#define INT_FE (1u << 7)
#define INT_PE (1u << 8)
#define INT_BE (1u << 9)
#define INT_OE (1u << 10)
#define INT_MASK 0x7ffu
#define INT_MODEM (INT_RI | INT_CTS | INT_DCD | INT_DSR)

#define IFLS_RESET 0x12 /* both FIFOs at half */
#define FIFO_SIZE 32

/* PrimeCell identification: part 0x011, ARM (0x41), revision r1p5 (3). */
static const uint8_t pl011_id[8] = { 0x11, 0x10, 0x34, 0x00,
				     0x0d, 0xf0, 0x05, 0xb1 };

struct pl011 {
	struct device dev;
	struct vm *vm;
	uint64_t base;
	struct irq_line irq;
	int irq_level;

	pthread_mutex_t lock; /* all register state below, line.rx_waiting */
	struct uart_line line;

	uint16_t rx[FIFO_SIZE]; /* data byte and DR_* error bits */
	unsigned int rx_head, rx_count;
	uint8_t rsr;
	uint16_t ilpr, ibrd, fbrd, lcr_h, cr, ifls, imsc, dmacr;
	uint16_t ris;
	uint16_t modem; /* FR's CTS/DSR/DCD/RI inputs */
};

static bool fifo_enabled(const struct pl011 *u)
{
	return u->lcr_h & LCR_H_FEN;
}

/* Without FEN each FIFO is a one-character holding register. */
static unsigned int rx_capacity(const struct pl011 *u)
{
	return fifo_enabled(u) ? FIFO_SIZE : 1;
}

/* RXIFLSEL: 1/8, 1/4, 1/2, 3/4, 7/8 full; 5-7 reserved, taken as 7/8. */
static unsigned int rx_trigger(const struct pl011 *u)
{
	static const uint8_t level[8] = { 4, 8, 16, 24, 28, 28, 28, 28 };

	return fifo_enabled(u) ? level[(u->ifls >> 3) & 7] : 1;
}

static bool rx_accepting(const struct pl011 *u)
{
	return (u->cr & (CR_UARTEN | CR_RXE)) == (CR_UARTEN | CR_RXE);
}

/* The modem inputs: a host terminal is always connected. */
static uint16_t modem_inputs(const struct pl011 *u)
{
	uint16_t m = 0;

	if (!(u->cr & CR_LBE))
		return FR_CTS | FR_DSR | FR_DCD;
	/* Loopback wires RTS to CTS, DTR to DSR, Out1 to DCD, Out2 to RI. */
	if (u->cr & CR_RTS)
		m |= FR_CTS;
	if (u->cr & CR_DTR)
		m |= FR_DSR;
	if (u->cr & CR_OUT1)
		m |= FR_DCD;
	if (u->cr & CR_OUT2)
		m |= FR_RI;
	return m;
}

/* Each change of a modem input raises its interrupt. */
static void modem_update(struct pl011 *u)
{
	uint16_t now = modem_inputs(u), changed = now ^ u->modem;

	if (changed & FR_CTS)
		u->ris |= INT_CTS;
	if (changed & FR_DSR)
		u->ris |= INT_DSR;
	if (changed & FR_DCD)
		u->ris |= INT_DCD;
	if (changed & FR_RI)
		u->ris |= INT_RI;
	u->modem = now;
}

/*
 * The receive interrupts follow the FIFO: RX while it is at or above the
 * trigger level, RT (the timeout, at once here) while it holds less. A
 * read that empties or drains the FIFO below the level lowers them.
 */
static void rx_int_update(struct pl011 *u)
{
	u->ris &= ~(INT_RX | INT_RT);
	if (!u->rx_count)
		return;
	u->ris |= u->rx_count >= rx_trigger(u) ? INT_RX : INT_RT;
}

static void irq_update(struct pl011 *u)
{
	int level = !!(u->ris & u->imsc);

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

static void rx_push(struct pl011 *u, uint16_t v)
{
	u->rx[(u->rx_head + u->rx_count) % FIFO_SIZE] = v;
	u->rx_count++;
}

/*
 * A character from the loopback path cannot be held back: a full FIFO
 * overruns, the character is lost and the FIFO's last entry carries OE.
 */
static void rx_loopback(struct pl011 *u, uint8_t byte)
{
	if (u->rx_count < rx_capacity(u)) {
		rx_push(u, byte);
	} else {
		unsigned int last = (u->rx_head + u->rx_count - 1) % FIFO_SIZE;

		u->rx[last] |= DR_OE;
		u->rsr |= RSR_OE;
		u->ris |= INT_OE;
	}
	rx_int_update(u);
}

static uint16_t dr_read(struct pl011 *u)
{
	uint16_t v;

	if (!u->rx_count)
		return 0;
	v = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % FIFO_SIZE;
	u->rx_count--;
	/* RSR gets the character's errors; OE stays until cleared. */
	u->rsr = (u->rsr & RSR_OE) | ((v >> 8) & 0x7);
	rx_int_update(u);
	uart_line_rx_space(&u->line);
	return v;
}

static uint32_t reg_read(struct pl011 *u, uint64_t off)
{
	uint32_t fr;

	if (off >= UARTPERIPHID0 && off <= UARTPCELLID3)
		return (off & 3) ? 0 : pl011_id[(off - UARTPERIPHID0) >> 2];
	switch (off) {
	case UARTDR:
		return dr_read(u);
	case UARTRSR:
		return u->rsr;
	case UARTFR:
		fr = u->modem | FR_TXFE;
		if (!u->rx_count)
			fr |= FR_RXFE;
		if (u->rx_count == rx_capacity(u))
			fr |= FR_RXFF;
		return fr;
	case UARTILPR:
		return u->ilpr;
	case UARTIBRD:
		return u->ibrd;
	case UARTFBRD:
		return u->fbrd;
	case UARTLCR_H:
		return u->lcr_h;
	case UARTCR:
		return u->cr;
	case UARTIFLS:
		return u->ifls;
	case UARTIMSC:
		return u->imsc;
	case UARTRIS:
		return u->ris;
	case UARTMIS:
		return u->ris & u->imsc;
	case UARTDMACR:
		return u->dmacr;
	default:
		/* ICR is write-only; the rest is reserved and reads as 0. */
		return 0;
	}
}

/* Returns true when @val's low byte is a character for the output fd. */
static bool reg_write(struct pl011 *u, uint64_t off, uint32_t val)
{
	uint16_t old;

	switch (off) {
	case UARTDR:
		/* The character leaves at once: the FIFO drains again. */
		u->ris |= INT_TX;
		if (u->cr & CR_LBE) {
			rx_loopback(u, (uint8_t)val);
			return false;
		}
		return (u->cr & (CR_UARTEN | CR_TXE)) == (CR_UARTEN | CR_TXE);
	case UARTRSR:
		/* A write to UARTECR clears the error flags. */
		u->rsr = 0;
		break;
	case UARTILPR:
		u->ilpr = val & 0xff;
		break;
	case UARTIBRD:
		u->ibrd = val & 0xffff;
		break;
	case UARTFBRD:
		u->fbrd = val & 0x3f;
		break;
	case UARTLCR_H:
		old = u->lcr_h;
		u->lcr_h = val & 0xff;
		/* Changing FEN resizes the FIFO: what it held is flushed. */
		if ((old ^ u->lcr_h) & LCR_H_FEN) {
			u->rx_head = u->rx_count = 0;
			rx_int_update(u);
			u->line.rx_waiting = true;
			uart_line_rx_space(&u->line);
		}
		break;
	case UARTCR:
		old = u->cr;
		u->cr = val & CR_MASK;
		modem_update(u);
		/* Enabling the receiver, or leaving loopback, takes input. */
		if (rx_accepting(u) && !(u->cr & CR_LBE) &&
		    (!((old & (CR_UARTEN | CR_RXE)) == (CR_UARTEN | CR_RXE)) ||
		     (old & CR_LBE)))
			uart_line_rx_space(&u->line);
		break;
	case UARTIFLS:
		u->ifls = val & 0x3f;
		rx_int_update(u);
		break;
	case UARTIMSC:
		u->imsc = val & INT_MASK;
		break;
	case UARTICR:
		/*
		 * Clearing RX or RT while the FIFO still holds characters
		 * only lasts until the next change of its level, as on
		 * hardware; the FIFO's state is not touched.
		 */
		u->ris &= ~(val & INT_MASK);
		break;
	case UARTDMACR:
		u->dmacr = val & 0x7;
		break;
	default:
		/* FR, RIS, MIS, the IDs and reserved space are read-only. */
		break;
	}
	return false;
}

/*
 * The registers are 32 bits wide at word offsets; Linux reads and writes
 * them as words (or halfwords for some vendors' variants). A narrower
 * access at the word's offset reads the low bits and writes them
 * zero-extended; one at any other offset is not a PL011 access.
 */
static uint64_t pl011_mmio_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pl011 *u = opaque;
	uint32_t v;

	if (off & 3)
		return 0;
	pthread_mutex_lock(&u->lock);
	v = reg_read(u, off);
	irq_update(u);
	pthread_mutex_unlock(&u->lock);
	return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void pl011_mmio_write(void *opaque, uint64_t off, uint64_t value,
			     unsigned int size)
{
	struct pl011 *u = opaque;
	bool tx;

	if (off & 3)
		return;
	if (size < 4)
		value &= (1u << (8 * size)) - 1;
	pthread_mutex_lock(&u->lock);
	tx = reg_write(u, off, (uint32_t)value);
	irq_update(u);
	pthread_mutex_unlock(&u->lock);
	if (tx) {
		uint8_t byte = (uint8_t)value;

		uart_line_write(&u->line, &byte, 1);
	}
}

static const struct bus_ops pl011_ops = {
	.read = pl011_mmio_read,
	.write = pl011_mmio_write,
};

size_t pl011_receive(struct pl011 *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	if (rx_accepting(u) && !(u->cr & CR_LBE)) {
		while (n < len && u->rx_count < rx_capacity(u))
			rx_push(u, buf[n++]);
		rx_int_update(u);
	}
	if (n < len)
		u->line.rx_waiting = true;
	irq_update(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

int pl011_rx_eventfd(struct pl011 *u)
{
	return u->line.rx_efd;
}

/* Reset values, TRM table 3-1: CR enables TX and RX but not the UART. */
static void pl011_reset_locked(struct pl011 *u)
{
	u->rx_head = u->rx_count = 0;
	u->rsr = 0;
	u->ilpr = u->ibrd = u->fbrd = u->lcr_h = 0;
	u->cr = CR_TXE | CR_RXE;
	u->ifls = IFLS_RESET;
	u->imsc = 0;
	u->ris = 0;
	u->dmacr = 0;
	u->modem = modem_inputs(u);
	irq_update(u);
}

static void pl011_reset(struct device *dev)
{
	struct pl011 *u = container_of(dev, struct pl011, dev);

	pthread_mutex_lock(&u->lock);
	pl011_reset_locked(u);
	/* The FIFO is empty; input resumes once the guest enables it. */
	u->line.rx_waiting = true;
	pthread_mutex_unlock(&u->lock);
}

static void pl011_destroy(struct device *dev)
{
	struct pl011 *u = container_of(dev, struct pl011, dev);

	bus_unregister(&u->vm->mmio, u->base, u);
	uart_line_destroy(&u->line);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static int pl011_describe(struct device *dev, struct device_desc *d)
{
	static const char compat[] = "arm,pl011\0arm,primecell";
	static const char clocks[] = "uartclk\0apb_pclk";
	struct pl011 *u = container_of(dev, struct pl011, dev);
	int off;

	if (!d->fdt)
		return 0;
	off = device_fdt_node(d, "pl011", u->base, PL011_MMIO_SIZE, compat,
			      sizeof(compat), (int)u->irq.gsi, 1, clocks,
			      sizeof(clocks));
	return off < 0 ? off : 0;
}

struct pl011 *pl011_create(struct vm *vm, uint64_t base, unsigned int gsi,
			   int out_fd)
{
	struct pl011 *u = calloc(1, sizeof(*u));
	char name[32];
	int ret;

	if (!u)
		return NULL;
	u->vm = vm;
	u->base = base;
	snprintf(name, sizeof(name), "pl011 %#llx", (unsigned long long)base);
	if (uart_line_init(&u->line, vm, out_fd, name)) {
		free(u);
		return NULL;
	}
	pthread_mutex_init(&u->lock, NULL);
	vm_irq_line_init(vm, &u->irq, gsi);
	pl011_reset_locked(u);

	ret = bus_register(&vm->mmio, base, PL011_MMIO_SIZE, &pl011_ops, u,
			   "pl011");
	if (ret) {
		pr_err("pl011 %#llx: cannot claim its window: %s",
		       (unsigned long long)base, strerror(-ret));
		uart_line_destroy(&u->line);
		pthread_mutex_destroy(&u->lock);
		free(u);
		return NULL;
	}
	u->dev.name = "pl011";
	u->dev.kind = DEV_PLATFORM;
	u->dev.reset = pl011_reset;
	u->dev.destroy = pl011_destroy;
	u->dev.describe = pl011_describe;
	device_register(vm, &u->dev);
	return u;
}
