/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_UART_LINE_H
#define DEVISOR_HW_UART_LINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/*
 * The host end of an emulated UART's line, shared by every UART model
 * (serial.c's 16550A, pl011.c): the fd transmitted bytes go to and the
 * eventfd that tells the console thread the receiver has room again.
 *
 * Locking: tx_lock is held across write() and never together with the
 * UART's register lock, so a stalled reader stalls only the vCPUs that
 * transmit, never register access or the console thread; a guest's
 * transmits complete one by one, so they still leave in order.
 * rx_waiting belongs to the UART's register lock.
 */
struct uart_line {
	struct vm *vm;
	char name[32]; /* for messages: "serial 0x3f8" */
	pthread_mutex_t tx_lock;
	int out_fd; /* under tx_lock; negative: output discarded */
	int rx_efd;
	bool rx_waiting; /* the UART's receive came up short */
};

/* @out_fd is not owned. 0, or -errno (logged). */
int uart_line_init(struct uart_line *l, struct vm *vm, int out_fd,
		   const char *name);
void uart_line_destroy(struct uart_line *l);

/*
 * Writes @len bytes to the output fd, under tx_lock. Waits out a full
 * pipe or terminal until the VM stops; any other error discards output
 * from then on (logged once).
 */
void uart_line_write(struct uart_line *l, const uint8_t *buf, size_t len);

/* Register lock held: the receiver has room; wakes a waiting console. */
void uart_line_rx_space(struct uart_line *l);

#endif
