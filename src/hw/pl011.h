/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_PL011_H
#define DEVISOR_HW_PL011_H

#include <stddef.h>
#include <stdint.h>

/*
 * An ARM PrimeCell PL011 UART (r1p5) on the MMIO bus, after the PL011
 * TRM (DDI 0183). As with serial.h, a transmitted byte reaches the output
 * fd before the DR write returns, so the transmit FIFO is always empty;
 * received bytes come from the console through pl011_receive() into the
 * 32-entry receive FIFO.
 */
#define PL011_MMIO_SIZE 0x1000
/* The UARTCLK the device tree gives it ("apb_pclk" and "uartclk"). */
#define PL011_CLOCK_HZ 24000000u

struct pl011;
struct vm;

/*
 * Claims [@base, @base + PL011_MMIO_SIZE) on @vm's MMIO bus and registers
 * the device; its interrupt is @gsi of the VM's irqchip. @out_fd is not
 * owned; a negative @out_fd discards output. NULL on error (logged).
 */
struct pl011 *pl011_create(struct vm *vm, uint64_t base, unsigned int gsi,
			   int out_fd);

/*
 * Queues up to @len received bytes and returns how many fit (0 while the
 * receiver is disabled or in loopback). When it returns less than @len,
 * pl011_rx_eventfd() becomes readable once the guest frees space.
 */
size_t pl011_receive(struct pl011 *u, const uint8_t *buf, size_t len);

/* Non-blocking eventfd owned by the UART; read it to clear it. */
int pl011_rx_eventfd(struct pl011 *u);

#endif
