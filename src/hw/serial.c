// SPDX-License-Identifier: GPL-2.0
/*
 * 16550A UART. Modelled on the National PC16550D data sheet and on what
 * Linux's 8250 driver probes (autoconfig, the THRE re-assert test).
 *
 * There is no line timing: a transmitted byte reaches the output fd before
 * the THR write returns, so THRE and TEMT always read as set, and the
 * character timeout fires at once whenever the RX FIFO holds fewer bytes
 * than the trigger level.
 */
#include "hw/serial.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "acpi/aml.h"
#include "bus/device.h"
#include "hw/uart_line.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"

/* Register offsets; DLL and DLM are reached with LCR.DLAB set. */
#define UART_RX 0
#define UART_TX 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define UART_NR_REGS 8

#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IER_RLSI 0x04
#define UART_IER_MSI 0x08
#define UART_IER_MASK 0x0f

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI 0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_CTI 0x0c
#define UART_IIR_FIFO_ENABLED 0xc0

#define UART_FCR_ENABLE_FIFO 0x01
#define UART_FCR_CLEAR_RCVR 0x02
#define UART_FCR_CLEAR_XMIT 0x04
#define UART_FCR_DMA_SELECT 0x08
#define UART_FCR_TRIGGER_MASK 0xc0

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f

#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_PE 0x04
#define UART_LSR_FE 0x08
#define UART_LSR_BI 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_DELTA 0x0f
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80

#define RX_FIFO_SIZE 16

struct serial {
	struct device dev;
	struct vm *vm;
	uint16_t base;
	struct irq_line irq;
	int irq_level;

	pthread_mutex_t lock; /* all register state below, line.rx_waiting */
	struct uart_line line; /* OUT returns only after the byte left */

	uint8_t ier, lcr, mcr, fcr, scr, dll, dlm;
	uint8_t lsr_errors; /* OE/PE/FE/BI, cleared by reading LSR */
	uint8_t msr;
	bool thr_ipending;
	uint8_t rbr; /* last byte read, returned again on an empty FIFO */
	uint8_t rx[RX_FIFO_SIZE];
	unsigned int rx_head, rx_count;
};

static bool fifo_enabled(const struct serial *s)
{
	return s->fcr & UART_FCR_ENABLE_FIFO;
}

static unsigned int rx_trigger_level(const struct serial *s)
{
	static const uint8_t level[4] = { 1, 4, 8, 14 };

	return level[(s->fcr & UART_FCR_TRIGGER_MASK) >> 6];
}

/* Without the FIFO the receiver is a 16450's single holding register. */
static unsigned int rx_capacity(const struct serial *s)
{
	return fifo_enabled(s) ? RX_FIFO_SIZE : 1;
}

static void rx_reset(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
	uart_line_rx_space(&s->line);
}

static void rx_push(struct serial *s, uint8_t byte)
{
	s->rx[(s->rx_head + s->rx_count) % RX_FIFO_SIZE] = byte;
	s->rx_count++;
}

/*
 * A byte arriving at the receiver from the loopback path: unlike console
 * input it cannot be held back, so a full receiver overruns. With the FIFO
 * the new byte is lost; a 16450-mode holding register is overwritten.
 */
static void rx_loopback(struct serial *s, uint8_t byte)
{
	if (s->rx_count < rx_capacity(s)) {
		rx_push(s, byte);
		return;
	}
	s->lsr_errors |= UART_LSR_OE;
	if (!fifo_enabled(s))
		s->rx[s->rx_head] = byte;
}

/* Modem status inputs: a host terminal is always "connected". */
static uint8_t modem_inputs(const struct serial *s)
{
	uint8_t m = 0;

	if (!(s->mcr & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	/* Loopback wires the outputs back to the inputs. */
	if (s->mcr & UART_MCR_RTS)
		m |= UART_MSR_CTS;
	if (s->mcr & UART_MCR_DTR)
		m |= UART_MSR_DSR;
	if (s->mcr & UART_MCR_OUT1)
		m |= UART_MSR_RI;
	if (s->mcr & UART_MCR_OUT2)
		m |= UART_MSR_DCD;
	return m;
}

static void msr_update(struct serial *s)
{
	uint8_t old = s->msr, now = modem_inputs(s), delta = 0;
	uint8_t changed = (old ^ now) & 0xf0;

	if (changed & UART_MSR_CTS)
		delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		delta |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		delta |= UART_MSR_DDCD;
	/* TERI reports only the trailing (falling) edge of RI. */
	if ((old & UART_MSR_RI) && !(now & UART_MSR_RI))
		delta |= UART_MSR_TERI;
	s->msr = now | (old & UART_MSR_DELTA) | delta;
}

/* The highest-priority pending source, as IIR bits 0-3. */
static uint8_t iir_source(const struct serial *s)
{
	if ((s->ier & UART_IER_RLSI) && (s->lsr_errors & UART_LSR_ERRORS))
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count) {
		if (fifo_enabled(s) && s->rx_count < rx_trigger_level(s))
			return UART_IIR_CTI;
		return UART_IIR_RDI;
	}
	if ((s->ier & UART_IER_THRI) && s->thr_ipending)
		return UART_IIR_THRI;
	if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_DELTA))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/*
 * On a PC the UART's interrupt output reaches the PIC only through a
 * buffer enabled by OUT2; the register bit gates it here, in loopback too,
 * so guests that test interrupts in loopback (as under QEMU) still work.
 */
static void irq_update(struct serial *s)
{
	int level = iir_source(s) != UART_IIR_NO_INT &&
		    (s->mcr & UART_MCR_OUT2);

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_line_set(&s->irq, level);
	}
}

static uint8_t lsr_value(const struct serial *s)
{
	uint8_t v = UART_LSR_THRE | UART_LSR_TEMT | s->lsr_errors;

	if (s->rx_count)
		v |= UART_LSR_DR;
	return v;
}

static uint8_t reg_read(struct serial *s, unsigned int reg)
{
	uint8_t v;

	switch (reg) {
	case UART_RX:
		if (s->lcr & UART_LCR_DLAB)
			return s->dll;
		if (s->rx_count) {
			s->rbr = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
			s->rx_count--;
			uart_line_rx_space(&s->line);
		}
		return s->rbr;
	case UART_IER:
		return (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR:
		v = iir_source(s);
		/* Reading IIR acknowledges THRE when that is what it says. */
		if (v == UART_IIR_THRI)
			s->thr_ipending = false;
		if (fifo_enabled(s))
			v |= UART_IIR_FIFO_ENABLED;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = lsr_value(s);
		s->lsr_errors = 0;
		return v;
	case UART_MSR:
		v = s->msr;
		s->msr &= ~UART_MSR_DELTA;
		return v;
	case UART_SCR:
	default:
		return s->scr;
	}
}

/* Returns true when @val is a byte for the output fd. */
static bool reg_write(struct serial *s, unsigned int reg, uint8_t val)
{
	uint8_t old;

	switch (reg) {
	case UART_TX:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = val;
			return false;
		}
		/* Writing THR clears THRE; it empties again at once. */
		s->thr_ipending = true;
		if (s->mcr & UART_MCR_LOOP) {
			rx_loopback(s, val);
			return false;
		}
		return true;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = val;
			break;
		}
		old = s->ier;
		s->ier = val & UART_IER_MASK;
		/*
		 * Enabling THRI with THR empty raises THRE even if an IIR read
		 * had acknowledged it; Linux's start_tx and its THRE re-assert
		 * probe both rely on it.
		 */
		if ((old ^ s->ier) & UART_IER_THRI)
			s->thr_ipending = s->ier & UART_IER_THRI;
		break;
	case UART_FCR:
		/*
		 * Toggling the FIFO enable flushes both FIFOs; with it clear
		 * and staying clear the other bits are not programmed.
		 */
		if ((val ^ s->fcr) & UART_FCR_ENABLE_FIFO)
			val |= UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT;
		else if (!(val & UART_FCR_ENABLE_FIFO))
			break;
		if (val & UART_FCR_ENABLE_FIFO)
			s->fcr = val &
				 (UART_FCR_ENABLE_FIFO | UART_FCR_DMA_SELECT |
				  UART_FCR_TRIGGER_MASK);
		else
			s->fcr = 0;
		if (val & UART_FCR_CLEAR_RCVR)
			rx_reset(s);
		if (val & UART_FCR_CLEAR_XMIT)
			s->thr_ipending = true;
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		old = s->mcr;
		s->mcr = val & UART_MCR_MASK;
		msr_update(s);
		/* Leaving loopback reconnects the console. */
		if ((old & UART_MCR_LOOP) && !(s->mcr & UART_MCR_LOOP))
			uart_line_rx_space(&s->line);
		break;
	case UART_SCR:
		s->scr = val;
		break;
	case UART_LSR:
	case UART_MSR:
	default:
		/* Factory-test writes on real parts; ignored. */
		break;
	}
	return false;
}

static uint64_t serial_pio_read(void *opaque, uint64_t offset,
				unsigned int size)
{
	struct serial *s = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&s->lock);
	/* A wide access is a run of byte cycles, as on the ISA bus. */
	for (unsigned int i = 0; i < size && offset + i < UART_NR_REGS; i++)
		v |= (uint64_t)reg_read(s, offset + i) << (8 * i);
	irq_update(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

static void serial_pio_write(void *opaque, uint64_t offset, uint64_t value,
			     unsigned int size)
{
	struct serial *s = opaque;
	uint8_t tx[8];
	size_t ntx = 0;

	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < size && offset + i < UART_NR_REGS; i++) {
		uint8_t byte = value >> (8 * i);

		if (reg_write(s, offset + i, byte))
			tx[ntx++] = byte;
	}
	irq_update(s);
	pthread_mutex_unlock(&s->lock);
	if (ntx)
		uart_line_write(&s->line, tx, ntx);
}

static const struct bus_ops serial_ops = {
	.read = serial_pio_read,
	.write = serial_pio_write,
};

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	/* In loopback the receiver input is disconnected from the line. */
	if (!(s->mcr & UART_MCR_LOOP)) {
		while (n < len && s->rx_count < rx_capacity(s))
			rx_push(s, buf[n++]);
	}
	if (n < len)
		s->line.rx_waiting = true;
	irq_update(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

int serial_rx_eventfd(struct serial *s)
{
	return s->line.rx_efd;
}

/* Power-on values, PC16550D table IV; the divisor as a BIOS leaves it. */
static void serial_reset_locked(struct serial *s)
{
	s->ier = 0;
	s->lcr = 0;
	s->mcr = 0;
	s->fcr = 0;
	s->scr = 0;
	s->dll = 0x0c; /* 9600 baud */
	s->dlm = 0;
	s->lsr_errors = 0;
	s->msr = modem_inputs(s);
	s->thr_ipending = false;
	s->rbr = 0;
	rx_reset(s);
	irq_update(s);
}

static void serial_reset(struct device *dev)
{
	struct serial *s = container_of(dev, struct serial, dev);

	pthread_mutex_lock(&s->lock);
	s->line.rx_waiting = true; /* the FIFO is empty now: wake the console */
	serial_reset_locked(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_destroy(struct device *dev)
{
	struct serial *s = container_of(dev, struct serial, dev);

	bus_unregister(&s->vm->pio, s->base, s);
	uart_line_destroy(&s->line);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* A PC COM port, numbered from 1 as its _UID and Linux's ttyS order go. */
static int serial_describe(struct device *dev, struct device_desc *d)
{
	static const uint16_t com[] = { SERIAL_COM1_BASE, SERIAL_COM2_BASE };
	struct serial *s = container_of(dev, struct serial, dev);
	struct aml_io_range io = { s->base, UART_NR_REGS };
	char name[5];

	for (unsigned int i = 0; d->aml && i < sizeof(com) / sizeof(com[0]);
	     i++) {
		if (s->base != com[i])
			continue;
		snprintf(name, sizeof(name), "COM%u", i + 1);
		aml_isa_device(d->aml, name, "PNP0501", i + 1, &io, 1,
			       s->irq.gsi);
	}
	return 0;
}

struct serial *serial_create(struct vm *vm, uint16_t base, unsigned int gsi,
			     int out_fd)
{
	struct serial *s = calloc(1, sizeof(*s));
	char name[32];
	int ret;

	if (!s)
		return NULL;
	s->vm = vm;
	s->base = base;
	snprintf(name, sizeof(name), "serial %#x", base);
	if (uart_line_init(&s->line, vm, out_fd, name)) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	vm_irq_line_init(vm, &s->irq, gsi);
	serial_reset_locked(s);

	ret = bus_register(&vm->pio, base, UART_NR_REGS, &serial_ops, s,
			   "serial");
	if (ret) {
		pr_err("serial %#x: cannot claim ports: %s", base,
		       strerror(-ret));
		uart_line_destroy(&s->line);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	s->dev.name = "serial";
	s->dev.kind = DEV_PLATFORM;
	s->dev.reset = serial_reset;
	s->dev.destroy = serial_destroy;
	s->dev.describe = serial_describe;
	device_register(vm, &s->dev);
	return s;
}
