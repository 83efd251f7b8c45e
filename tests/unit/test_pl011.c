// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/device.h"
#include "hw/pl011.h"
#include "kvm/vm.h"

#define BASE 0x9000000ull
#define GSI 1

#define DR 0x000
#define RSR 0x004
#define FR 0x018
#define IBRD 0x024
#define FBRD 0x028
#define LCR_H 0x02c
#define CR 0x030
#define IFLS 0x034
#define IMSC 0x038
#define RIS 0x03c
#define MIS 0x040
#define ICR 0x044
#define DMACR 0x048

#define FR_RXFE 0x10
#define FR_RXFF 0x40
#define FR_TXFE 0x80
#define FR_BUSY 0x08
#define FR_TXFF 0x20
#define INT_RX 0x10
#define INT_TX 0x20
#define INT_RT 0x40
#define INT_OE 0x400
#define CR_ON 0x301 /* UARTEN | TXE | RXE */
#define CR_LBE 0x80

struct fixture {
	struct vm vm;
	struct pl011 *u;
	int out[2];
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

static uint32_t rd(struct fixture *f, uint64_t off)
{
	uint32_t v = 0;

	assert_true(bus_read(&f->vm.mmio, BASE + off, &v, 4));
	return v;
}

static void wr(struct fixture *f, uint64_t off, uint32_t v)
{
	assert_true(bus_write(&f->vm.mmio, BASE + off, &v, 4));
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
	f->u = pl011_create(&f->vm, BASE, GSI, f->out[1]);
	assert_non_null(f->u);
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

/* What the amba bus reads to bind amba-pl011: 0x00341011, 0xb105f00d. */
static void test_primecell_ids(void **state)
{
	struct fixture *f = *state;
	uint32_t pid = 0, cid = 0;

	for (int i = 0; i < 4; i++) {
		pid |= (rd(f, 0xfe0 + 4 * i) & 0xff) << (8 * i);
		cid |= (rd(f, 0xff0 + 4 * i) & 0xff) << (8 * i);
	}
	assert_int_equal(pid, 0x00341011);
	assert_int_equal(cid, 0xb105f00d);
	/* Read-only. */
	wr(f, 0xfe0, 0);
	assert_int_equal(rd(f, 0xfe0), 0x11);
}

static void test_reset_values(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, CR), 0x300);
	assert_int_equal(rd(f, IFLS), 0x12);
	assert_int_equal(rd(f, IMSC), 0);
	assert_int_equal(rd(f, RIS), 0);
	assert_int_equal(rd(f, LCR_H), 0);
	/* TX empty, RX empty, CTS/DSR/DCD asserted, never busy or full. */
	assert_int_equal(rd(f, FR), FR_TXFE | FR_RXFE | 0x7);
	wr(f, IBRD, 0x1ffff);
	wr(f, FBRD, 0xff);
	wr(f, DMACR, 0xff);
	assert_int_equal(rd(f, IBRD), 0xffff);
	assert_int_equal(rd(f, FBRD), 0x3f);
	assert_int_equal(rd(f, DMACR), 0x7);
}

static void test_transmit_and_tx_interrupt(void **state)
{
	struct fixture *f = *state;
	char buf[8];

	/* The UART is off: nothing leaves. */
	wr(f, DR, 'x');
	assert_int_equal(read(f->out[0], buf, sizeof(buf)), -1);
	wr(f, ICR, 0x7ff);
	wr(f, CR, CR_ON);
	wr(f, IMSC, INT_TX);
	assert_int_equal(irq_level[GSI], 0);
	wr(f, DR, 'o');
	wr(f, DR, 'k');
	assert_int_equal(read(f->out[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);
	/* The FIFO drained: TXRIS, and the line with TXIM. */
	assert_int_equal(rd(f, RIS) & INT_TX, INT_TX);
	assert_int_equal(rd(f, MIS), INT_TX);
	assert_int_equal(irq_level[GSI], 1);
	assert_int_equal(rd(f, FR) & (FR_BUSY | FR_TXFF | FR_TXFE), FR_TXFE);
	/* ICR clears it; masking lowers the line without clearing. */
	wr(f, ICR, INT_TX);
	assert_int_equal(rd(f, RIS) & INT_TX, 0);
	assert_int_equal(irq_level[GSI], 0);
	wr(f, DR, '!');
	assert_int_equal(irq_level[GSI], 1);
	wr(f, IMSC, 0);
	assert_int_equal(irq_level[GSI], 0);
	assert_int_equal(rd(f, RIS) & INT_TX, INT_TX);
	assert_int_equal(rd(f, MIS), 0);
}

static void test_receive_fifo_levels(void **state)
{
	struct fixture *f = *state;
	uint8_t in[40];

	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = 'a' + i % 26;
	/* Disabled receiver takes nothing and wakes the console later. */
	assert_int_equal(pl011_receive(f->u, in, 1), 0);
	wr(f, CR, CR_ON);
	uint64_t n;
	assert_int_equal(read(pl011_rx_eventfd(f->u), &n, 8), 8);

	/* Without FEN: one character holds the receiver. */
	assert_int_equal(pl011_receive(f->u, in, 3), 1);
	assert_int_equal(rd(f, FR) & (FR_RXFE | FR_RXFF), FR_RXFF);
	assert_int_equal(rd(f, DR), 'a');
	assert_int_equal(rd(f, FR) & FR_RXFE, FR_RXFE);

	/* FEN: 32 entries, RX at the trigger level (1/2: 16), else RT. */
	wr(f, LCR_H, 0x70);
	wr(f, IMSC, INT_RX | INT_RT);
	assert_int_equal(pl011_receive(f->u, in, 15), 15);
	assert_int_equal(rd(f, RIS) & (INT_RX | INT_RT), INT_RT);
	assert_int_equal(irq_level[GSI], 1);
	assert_int_equal(pl011_receive(f->u, in + 15, 25), 17);
	assert_int_equal(rd(f, RIS) & (INT_RX | INT_RT), INT_RX);
	assert_int_equal(rd(f, FR) & FR_RXFF, FR_RXFF);
	/* Reading drains below the level: RT again, then nothing. */
	for (unsigned int i = 0; i < 17; i++)
		assert_int_equal(rd(f, DR), in[i]);
	assert_int_equal(rd(f, RIS) & (INT_RX | INT_RT), INT_RT);
	for (unsigned int i = 17; i < 32; i++)
		assert_int_equal(rd(f, DR) & 0xff, in[i]);
	assert_int_equal(rd(f, RIS) & (INT_RX | INT_RT), 0);
	assert_int_equal(irq_level[GSI], 0);
	/* Space freed: the console hears of it. */
	assert_int_equal(read(pl011_rx_eventfd(f->u), &n, 8), 8);

	/* IFLS 1/8 (4). */
	wr(f, IFLS, 0);
	assert_int_equal(pl011_receive(f->u, in, 4), 4);
	assert_int_equal(rd(f, RIS) & (INT_RX | INT_RT), INT_RX);
	/* Changing FEN flushes. */
	wr(f, LCR_H, 0x60);
	assert_int_equal(rd(f, FR) & FR_RXFE, FR_RXFE);
	assert_int_equal(rd(f, RIS) & (INT_RX | INT_RT), 0);
}

static void test_loopback_overrun(void **state)
{
	struct fixture *f = *state;
	char buf[4];

	wr(f, CR, CR_ON | CR_LBE);
	/* In loopback the console is disconnected. */
	assert_int_equal(pl011_receive(f->u, (const uint8_t *)"z", 1), 0);
	wr(f, IMSC, INT_OE);
	wr(f, DR, 'A'); /* FEN clear: one-character FIFO */
	wr(f, DR, 'B'); /* overrun: B is lost, A carries OE */
	assert_int_equal(read(f->out[0], buf, sizeof(buf)), -1);
	assert_int_equal(rd(f, RIS) & INT_OE, INT_OE);
	assert_int_equal(irq_level[GSI], 1);
	assert_int_equal(rd(f, DR), 'A' | 0x800);
	assert_int_equal(rd(f, RSR), 0x8);
	/* ECR clears RSR; ICR clears the interrupt. */
	wr(f, RSR, 0);
	assert_int_equal(rd(f, RSR), 0);
	wr(f, ICR, INT_OE);
	assert_int_equal(irq_level[GSI], 0);
	/* Loopback wires RTS to CTS, DTR to DSR. */
	wr(f, CR, CR_ON | CR_LBE | 0x800);
	assert_int_equal(rd(f, FR) & 0x7, 0x1);
	assert_int_equal(rd(f, RIS) & 0xf, 0x2 | 0x4 | 0x8);
}

static void test_reset_clears(void **state)
{
	struct fixture *f = *state;

	wr(f, CR, CR_ON);
	wr(f, IMSC, INT_TX);
	wr(f, DR, 'q');
	assert_int_equal(irq_level[GSI], 1);
	devices_reset(&f->vm);
	assert_int_equal(irq_level[GSI], 0);
	assert_int_equal(rd(f, CR), 0x300);
	assert_int_equal(rd(f, IMSC), 0);
}

/* Odd offsets, narrow accesses and reserved space never crash. */
static void test_odd_accesses(void **state)
{
	struct fixture *f = *state;
	uint8_t b = 0xff;
	uint16_t h = 0;

	assert_true(bus_write(&f->vm.mmio, BASE + CR + 1, &b, 1));
	assert_int_equal(rd(f, CR), 0x300);
	assert_true(bus_read(&f->vm.mmio, BASE + FR, &h, 2));
	assert_int_equal(h, FR_TXFE | FR_RXFE | 0x7);
	for (uint64_t off = 0; off < PL011_MMIO_SIZE; off += 4) {
		if (off == DR)
			continue;
		(void)rd(f, off);
		wr(f, off, 0xffffffffu);
	}
	assert_int_equal(rd(f, 0x100), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_primecell_ids, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_values, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_transmit_and_tx_interrupt,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_fifo_levels, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_loopback_overrun, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reset_clears, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_odd_accesses, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
