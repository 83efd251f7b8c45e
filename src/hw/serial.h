/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_SERIAL_H
#define DEVISOR_HW_SERIAL_H

#include <stddef.h>
#include <stdint.h>

/*
 * A 16550A UART on the PIO bus. Transmitted bytes go straight to an output
 * fd, so the transmitter is always empty; received bytes come from the
 * console through serial_receive() into a 16-byte FIFO.
 */
#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_GSI 4
#define SERIAL_COM2_BASE 0x2f8
#define SERIAL_COM2_GSI 3

struct serial;
struct vm;

/*
 * Claims [@base, @base+8) and registers the device with @vm. @out_fd is not
 * owned (never closed); a negative @out_fd discards output. NULL on error.
 */
struct serial *serial_create(struct vm *vm, uint16_t base, unsigned int gsi,
			     int out_fd);

/*
 * Queue up to @len received bytes; returns how many fit in the RX FIFO
 * (0 while the guest holds the UART in loopback). Raises the interrupt.
 * When it returns less than @len, serial_rx_eventfd() becomes readable as
 * soon as the guest frees space; the caller keeps the rest and retries.
 */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);

/* Non-blocking eventfd owned by the UART; read it to clear it. */
int serial_rx_eventfd(struct serial *s);

#endif
