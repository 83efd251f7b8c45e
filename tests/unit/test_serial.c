// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/serial.h"
#include "kvm/vm.h"

#define BASE 0x3f8
#define GSI 4

#define RX 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

struct fixture {
	struct vm vm;
	struct serial *s;
	int out[2]; /* pipe: the UART writes out[1], the test reads out[0] */
};

static int irq_level[32];
static unsigned int irq_edges[32];

static void irq_recorder(struct vm *vm, unsigned int gsi, int level)
{
	if (gsi < 32) {
		if (level && !irq_level[gsi])
			irq_edges[gsi]++;
		irq_level[gsi] = level;
	}
}

static uint8_t in(struct fixture *f, unsigned int reg)
{
	uint8_t v = 0;

	assert_true(bus_read(&f->vm.pio, BASE + reg, &v, 1));
	return v;
}

static void out(struct fixture *f, unsigned int reg, uint8_t v)
{
	assert_true(bus_write(&f->vm.pio, BASE + reg, &v, 1));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	memset(irq_level, 0, sizeof(irq_level));
	memset(irq_edges, 0, sizeof(irq_edges));
	vm_init_common(&f->vm);
	f->vm.irq_set = irq_recorder;
	assert_int_equal(pipe2(f->out, O_NONBLOCK | O_CLOEXEC), 0);
	f->s = serial_create(&f->vm, BASE, GSI, f->out[1]);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vm_destroy(&f->vm);
	close(f->out[0]);
	close(f->out[1]);
	free(f);
	return 0;
}

/* The probe sequence of Linux's 8250 autoconfig(), in order. */
static void test_linux_autoconfig_16550a(void **state)
{
	struct fixture *f = *state;
	uint8_t save_mcr, save_lcr, scratch, status1, status2;

	/* IER read/write test. */
	scratch = in(f, IER);
	out(f, IER, 0);
	assert_int_equal(in(f, IER) & 0x0f, 0);
	out(f, IER, 0x0f);
	assert_int_equal(in(f, IER) & 0x0f, 0x0f);
	out(f, IER, scratch);

	save_mcr = in(f, MCR);
	save_lcr = in(f, LCR);

	/* Loopback: RTS|OUT2 must come back as CTS|DCD. */
	out(f, MCR, 0x10 | 0x0a);
	assert_int_equal(in(f, MSR) & 0xf0, 0x90);
	out(f, MCR, save_mcr);

	/* EFR probe writes FCR under LCR 0xbf; then the FIFO test. */
	out(f, LCR, 0xbf);
	out(f, FCR, 0);
	out(f, LCR, 0);
	out(f, FCR, 0x01);
	assert_int_equal(in(f, IIR) >> 6, 3);

	/* autoconfig_16550a: no EFR, in either configuration mode. */
	out(f, LCR, 0x80);
	assert_int_not_equal(in(f, IIR), 0);
	out(f, LCR, 0xbf);
	assert_int_not_equal(in(f, IIR), 0);

	/* NS16550A test: EXCR1 must not mirror MCR.LOOP. */
	out(f, LCR, 0);
	status1 = in(f, MCR);
	out(f, LCR, 0xe0);
	status2 = in(f, IIR);
	assert_int_equal((status1 ^ status2) & 0x10, 0);
	out(f, LCR, 0);
	out(f, MCR, status1 ^ 0x10);
	out(f, LCR, 0xe0);
	status2 = in(f, IIR);
	out(f, LCR, 0);
	out(f, MCR, status1);
	/* EXCR1 did not follow MCR.LOOP: not an NS16550A. */
	assert_int_equal((status2 ^ status1) & 0x10, 0);

	/* TI16750 test: bit 5 never set, with or without DLAB. */
	out(f, FCR, 0x01 | 0x20);
	assert_int_equal(in(f, IIR) & 0xe0, 0xc0);
	out(f, FCR, 0x01);
	out(f, LCR, 0x80);
	out(f, FCR, 0x01 | 0x20);
	assert_int_equal(in(f, IIR) & 0xe0, 0xc0);
	out(f, FCR, 0x01);
	out(f, LCR, 0);

	/* XScale UUE bit: IER bit 6 must not stick. */
	scratch = in(f, IER);
	out(f, IER, scratch | 0x40);
	assert_int_equal(in(f, IER) & 0x40, 0);
	out(f, IER, scratch);

	/* Scratch register. */
	out(f, SCR, 0xa5);
	assert_int_equal(in(f, SCR), 0xa5);
	out(f, SCR, 0x5a);
	assert_int_equal(in(f, SCR), 0x5a);

	out(f, LCR, save_lcr);
	/* Startup's safety check. */
	assert_int_not_equal(in(f, LSR), 0xff);
	assert_int_equal(in(f, LSR) & 0x60, 0x60);
}

/*
 * No output (vm.create's serial mode Null): what the guest sends is
 * dropped, and the transmitter is empty again at once, so a driver that
 * waits for THRE never waits long; THRE's interrupt still comes.
 */
static void test_transmit_nowhere(void **state)
{
	struct fixture *f = *state;
	const uint16_t com2 = 0x2f8;
	uint64_t v;

	assert_non_null(serial_create(&f->vm, com2, 3, -1));
	v = 0x08; /* MCR.OUT2: the line reaches the interrupt controller */
	assert_true(bus_write(&f->vm.pio, com2 + MCR, &v, 1));
	v = 0x02; /* IER: THRE */
	assert_true(bus_write(&f->vm.pio, com2 + IER, &v, 1));
	for (int i = 0; i < 300; i++) {
		v = 'x';
		assert_true(bus_write(&f->vm.pio, com2 + RX, &v, 1));
		v = 0;
		assert_true(bus_read(&f->vm.pio, com2 + LSR, &v, 1));
		assert_int_equal(v & 0x60, 0x60);
	}
	v = 0;
	assert_true(bus_read(&f->vm.pio, com2 + IIR, &v, 1));
	assert_int_equal(v & 0x0f, 0x02);
	/* Nothing reached COM1's output either. */
	assert_int_equal(read(f->out[0], &(char){ 0 }, 1), -1);
}

static void test_dlab_divisor(void **state)
{
	struct fixture *f = *state;

	out(f, IER, 0x05);
	out(f, LCR, 0x83);
	out(f, RX, 0x01);
	out(f, IER, 0x02);
	assert_int_equal(in(f, RX), 0x01);
	assert_int_equal(in(f, IER), 0x02);
	out(f, LCR, 0x03);
	assert_int_equal(in(f, IER), 0x05);
	/* A DLL write is not a transmitted byte. */
	assert_int_equal(read(f->out[0], &(char){ 0 }, 1), -1);
	out(f, LCR, 0x83);
	assert_int_equal(in(f, RX), 0x01);
	assert_int_equal(in(f, IER), 0x02);
	assert_int_equal(in(f, LCR), 0x83);
}

static void test_transmit(void **state)
{
	struct fixture *f = *state;
	char buf[16];
	uint16_t w = 'h' | 'i' << 8;

	out(f, RX, 'o');
	out(f, RX, 'k');
	assert_int_equal(read(f->out[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);
	assert_int_equal(in(f, LSR) & 0x60, 0x60);
	/* A 16-bit OUT is THR then IER, byte by byte. */
	assert_true(bus_write(&f->vm.pio, BASE, &w, 2));
	assert_int_equal(read(f->out[0], buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'h');
	assert_int_equal(in(f, IER), 'i' & 0x0f);
}

static void test_rx_fifo_and_backpressure(void **state)
{
	struct fixture *f = *state;
	uint8_t data[20];
	uint64_t cnt;
	int efd = serial_rx_eventfd(f->s);

	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = 'a' + i;
	/* FIFO off: a 16450 holding register takes one byte. */
	assert_int_equal(serial_receive(f->s, data, sizeof(data)), 1);
	assert_int_equal(in(f, LSR) & 0x01, 0x01);
	assert_int_equal(read(efd, &cnt, sizeof(cnt)), -1);
	assert_int_equal(in(f, RX), 'a');
	assert_int_equal(in(f, LSR) & 0x01, 0);
	assert_int_equal(read(efd, &cnt, sizeof(cnt)), sizeof(cnt));

	out(f, FCR, 0x07);
	assert_int_equal(serial_receive(f->s, data, sizeof(data)), 16);
	assert_int_equal(serial_receive(f->s, data + 16, 4), 0);
	/* No overrun from the console side: it holds the rest. */
	assert_int_equal(in(f, LSR) & 0x03, 0x01);
	assert_int_equal(read(efd, &cnt, sizeof(cnt)), -1);
	for (unsigned int i = 0; i < 16; i++) {
		assert_int_equal(in(f, LSR) & 0x01, 0x01);
		assert_int_equal(in(f, RX), 'a' + i);
		if (i == 0)
			assert_int_equal(read(efd, &cnt, sizeof(cnt)),
					 sizeof(cnt));
	}
	assert_int_equal(in(f, LSR) & 0x01, 0);
	assert_int_equal(serial_receive(f->s, data + 16, 4), 4);
	/* An RX FIFO reset empties it and frees the space. */
	out(f, FCR, 0x03);
	assert_int_equal(in(f, LSR) & 0x01, 0);
}

static void test_loopback_overrun(void **state)
{
	struct fixture *f = *state;
	uint8_t b = 'x';

	out(f, FCR, 0x01);
	out(f, MCR, 0x10);
	/* The receiver is disconnected from the line in loopback. */
	assert_int_equal(serial_receive(f->s, &b, 1), 0);
	for (unsigned int i = 0; i < 17; i++)
		out(f, RX, i);
	/* Nothing left the UART. */
	assert_int_equal(read(f->out[0], &b, 1), -1);
	assert_int_equal(in(f, LSR) & 0x03, 0x03);
	/* OE is read-to-clear; the FIFO keeps the first 16 bytes. */
	assert_int_equal(in(f, LSR) & 0x03, 0x01);
	for (unsigned int i = 0; i < 16; i++)
		assert_int_equal(in(f, RX), i);
	assert_int_equal(in(f, LSR) & 0x01, 0);

	/* Without the FIFO the holding register is overwritten. */
	out(f, FCR, 0x00);
	out(f, RX, 1);
	out(f, RX, 2);
	assert_int_equal(in(f, LSR) & 0x03, 0x03);
	assert_int_equal(in(f, RX), 2);
	out(f, MCR, 0);
	assert_int_equal(serial_receive(f->s, &b, 1), 1);
}

static void test_iir_priorities(void **state)
{
	struct fixture *f = *state;
	uint8_t b = 'z';

	out(f, FCR, 0x01 | 0x80); /* trigger at 8 */
	out(f, MCR, 0x10 | 0x08);
	for (unsigned int i = 0; i < 17; i++)
		out(f, RX, i); /* 16 bytes + overrun */
	out(f, MCR, 0x10 | 0x08 | 0x02); /* RTS -> CTS: a modem delta */
	out(f, IER, 0x0f);
	assert_int_equal(irq_level[GSI], 1);

	assert_int_equal(in(f, IIR), 0xc6); /* line status */
	in(f, LSR);
	assert_int_equal(in(f, IIR), 0xc4); /* data at trigger level */
	for (unsigned int i = 0; i < 10; i++)
		in(f, RX);
	assert_int_equal(in(f, IIR), 0xcc); /* below trigger: timeout */
	for (unsigned int i = 0; i < 6; i++)
		in(f, RX);
	assert_int_equal(in(f, IIR), 0xc2); /* THRE, acked by this read */
	assert_int_equal(in(f, IIR), 0xc0); /* modem status */
	/* Entering loopback dropped CTS and DSR. */
	assert_int_equal(in(f, MSR) & 0x0f, 0x03);
	assert_int_equal(in(f, IIR), 0xc1);
	assert_int_equal(irq_level[GSI], 0);

	/* Received data outranks THRE. */
	out(f, MCR, 0x08);
	out(f, IER, 0);
	out(f, IER, 0x03);
	assert_int_equal(serial_receive(f->s, &b, 1), 1);
	assert_int_equal(in(f, IIR), 0xcc);
	in(f, RX);
	assert_int_equal(in(f, IIR), 0xc2);
}

static void test_thre_rearm(void **state)
{
	struct fixture *f = *state;
	char c;

	out(f, MCR, 0x08);
	assert_int_equal(in(f, IIR) & 0x0f, 0x01);
	/* Enabling THRI with THR empty raises THRE (Linux's start_tx). */
	out(f, IER, 0x02);
	assert_int_equal(irq_level[GSI], 1);
	assert_int_equal(in(f, IIR) & 0x0f, 0x02);
	/* The IIR read acknowledged it. */
	assert_int_equal(in(f, IIR) & 0x0f, 0x01);
	assert_int_equal(irq_level[GSI], 0);
	/* Rewriting the same IER value is no edge. */
	out(f, IER, 0x02);
	assert_int_equal(in(f, IIR) & 0x0f, 0x01);
	/* Linux's THRE re-assert probe: IER 0, then THRI again. */
	out(f, IER, 0);
	out(f, IER, 0x02);
	assert_int_equal(in(f, IIR) & 0x0f, 0x02);
	/* A THR write acks THRE, and it re-arms once THR drains. */
	out(f, RX, 'q');
	assert_int_equal(in(f, IIR) & 0x0f, 0x02);
	assert_int_equal(read(f->out[0], &c, 1), 1);
	assert_int_equal(c, 'q');
	/* Each interrupt is a fresh edge at the PIC. */
	assert_int_equal(irq_edges[GSI], 3);
	/* An RLSI/RDI-only IER does not see THRE. */
	out(f, IER, 0x05);
	assert_int_equal(in(f, IIR) & 0x0f, 0x01);
}

static void test_irq_follows_out2(void **state)
{
	struct fixture *f = *state;
	uint8_t b = 'k';

	out(f, IER, 0x01);
	assert_int_equal(serial_receive(f->s, &b, 1), 1);
	/* Pending, but OUT2 clear: the PC's IRQ buffer is off. */
	assert_int_equal(in(f, IIR) & 0x0f, 0x04);
	assert_int_equal(irq_level[GSI], 0);
	out(f, MCR, 0x08);
	assert_int_equal(irq_level[GSI], 1);
	out(f, MCR, 0x03);
	assert_int_equal(irq_level[GSI], 0);
	out(f, MCR, 0x0b);
	assert_int_equal(irq_level[GSI], 1);
	in(f, RX);
	assert_int_equal(irq_level[GSI], 0);
}

static void test_msr_deltas(void **state)
{
	struct fixture *f = *state;

	/* Outside loopback a host terminal shows DCD, DSR, CTS steady. */
	assert_int_equal(in(f, MSR), 0xb0);
	out(f, MCR, 0x10);
	assert_int_equal(in(f, MSR), 0x0b); /* all three dropped */
	assert_int_equal(in(f, MSR), 0x00);
	out(f, MCR, 0x10 | 0x04); /* OUT1 -> RI */
	assert_int_equal(in(f, MSR), 0x40);
	out(f, MCR, 0x10);
	assert_int_equal(in(f, MSR), 0x04); /* trailing edge of RI */
	out(f, MCR, 0x10 | 0x01); /* DTR -> DSR */
	out(f, IER, 0x08);
	out(f, MCR, 0x10 | 0x01 | 0x08);
	assert_int_equal(irq_level[GSI], 1);
	assert_int_equal(in(f, IIR), 0x00);
	assert_int_equal(in(f, MSR), 0xaa);
	assert_int_equal(irq_level[GSI], 0);
}

struct drain {
	int fd;
	size_t got;
	bool ok;
};

static void *slow_reader(void *opaque)
{
	struct drain *d = opaque;
	char buf[512];

	d->ok = true;
	while (d->got < 20000) {
		struct pollfd p = { .fd = d->fd, .events = POLLIN };
		ssize_t n;

		usleep(2000);
		poll(&p, 1, 1000);
		n = read(d->fd, buf, sizeof(buf));
		if (n <= 0)
			continue;
		for (ssize_t i = 0; i < n; i++)
			if ((uint8_t)buf[i] != (uint8_t)(d->got + i))
				d->ok = false;
		d->got += n;
	}
	return NULL;
}

/* A full non-blocking output (EAGAIN) delays the guest, loses nothing. */
static void test_tx_eagain_loses_nothing(void **state)
{
	struct fixture *f = *state;
	struct drain d = { .fd = f->out[0] };
	pthread_t t;

	fcntl(f->out[1], F_SETPIPE_SZ, 4096);
	assert_int_equal(pthread_create(&t, NULL, slow_reader, &d), 0);
	for (unsigned int i = 0; i < 20000; i++)
		out(f, RX, i);
	pthread_join(t, NULL);
	assert_int_equal(d.got, 20000);
	assert_true(d.ok);
}

/* ...but a stopping VM does not wait for a reader that never comes. */
static void test_tx_full_pipe_vm_stop(void **state)
{
	struct fixture *f = *state;
	char junk[4096] = { 0 };

	fcntl(f->out[1], F_SETPIPE_SZ, 4096);
	while (write(f->out[1], junk, sizeof(junk)) > 0)
		;
	vm_stop(&f->vm, VM_STOP_SIGNAL, 0, "test");
	out(f, RX, 'x');
	assert_int_equal(in(f, LSR) & 0x60, 0x60);
}

/* A hostile guest: every value to every register, every width. */
static void test_fuzz_registers(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8];
	char sink[256];

	srand(1);
	for (unsigned int i = 0; i < 100000; i++) {
		unsigned int reg = rand() % 8, size = 1 << (rand() % 3);
		uint32_t v = rand();

		if (reg + size > 8)
			size = 1;
		if (rand() & 1)
			bus_write(&f->vm.pio, BASE + reg, &v, size);
		else
			bus_read(&f->vm.pio, BASE + reg, buf, size);
		if (!(i % 64)) {
			serial_receive(f->s, (const uint8_t *)"fuzz", 4);
			while (read(f->out[0], sink, sizeof(sink)) > 0)
				;
		}
	}
	assert_int_not_equal(in(f, LSR), 0xff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_linux_autoconfig_16550a,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_dlab_divisor, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit_nowhere, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rx_fifo_and_backpressure,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_overrun, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iir_priorities, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_thre_rearm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_irq_follows_out2, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_msr_deltas, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tx_eagain_loses_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_full_pipe_vm_stop,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz_registers, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
