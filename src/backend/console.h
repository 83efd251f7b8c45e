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

/*
 * Output that never blocks whoever produces it: a bounded byte buffer that
 * a writer thread of its own drains into @fd, in order. A producer (the
 * I/O thread, a vCPU) copies in what fits and learns how much that was; it
 * holds the rest back and waits for @room. A thread rather than POLLOUT on
 * the I/O thread's loop: @fd is usually the terminal devisor shares with
 * the user's shell and the UART, whose file description must stay blocking,
 * so only a thread of its own can afford to sleep in write().
 */
struct console_out;

/*
 * Starts the writer for @fd (not owned; negative: discard) with @size
 * bytes of buffer. @room(@opaque) runs on the writer thread, with no lock
 * held, after console_out_write() came up short and the writer freed
 * space. NULL with errno set on failure.
 */
struct console_out *console_out_create(int fd, size_t size,
				       void (*room)(void *opaque),
				       void *opaque);

/*
 * Copies up to @len bytes in, leaving @keep bytes of the buffer free, and
 * returns how many it took; never blocks. Any thread.
 */
size_t console_out_write(struct console_out *o, const void *buf, size_t len,
			 size_t keep);

/*
 * Writes what is buffered for at most @timeout_ms, then drops the rest: a
 * reader that never reads costs a bounded wait (its writer thread is left
 * blocked in write(), to free itself if that ever returns). No @room call
 * runs after it returns.
 */
void console_out_destroy(struct console_out *o, unsigned int timeout_ms);

#endif
