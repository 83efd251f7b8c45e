/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_BACKEND_CONSOLE_H
#define DEVISOR_BACKEND_CONSOLE_H

/*
 * The host terminal as the guest's serial console. If stdin is a tty it
 * goes into raw mode (output processing kept as it was) until
 * console_restore(), which also runs at exit and on fatal signals. An input
 * thread feeds stdin to the guest without ever dropping a byte: what the
 * port cannot take waits, up to a 4 KiB buffer, then stdin is left unread.
 *
 * Escapes, as in QEMU: Ctrl-A x stops the VM (VM_STOP_SIGNAL), Ctrl-A
 * Ctrl-A sends a Ctrl-A, Ctrl-A h prints help; any other escaped key is
 * swallowed. EOF on stdin only ends input; the VM keeps running.
 */
#include <stddef.h>
#include <stdint.h>

struct vm;

/*
 * Where typed bytes go: the UART's RX FIFO or a virtio console's receive
 * queue. @receive takes what fits and returns the count; @rx_eventfd
 * becomes readable when the guest frees room.
 */
struct console_port {
	size_t (*receive)(void *opaque, const uint8_t *buf, size_t len);
	int rx_eventfd;
	void *opaque;
};

/* Call once, from the main thread. Returns 0 or -errno. */
int console_start(struct vm *vm, const struct console_port *port);

/* Stops and joins the input thread, then restores the terminal. */
void console_stop(void);

/* Puts the terminal back as it was. Idempotent, async-signal-safe. */
void console_restore(void);

#endif
