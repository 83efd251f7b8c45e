/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_DEBUG_EXIT_H
#define DEVISOR_HW_DEBUG_EXIT_H

#include <stdint.h>

/*
 * QEMU's isa-debug-exit: a guest write of V to the port stops the VM with
 * exit status (V << 1) | 1, so test guests can report pass/fail. Four
 * ports wide; reads return 0.
 */
#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_SIZE 4

struct debug_exit;
struct vm;

/* Claims [@port, @port+4) and registers the device. NULL on error. */
struct debug_exit *debug_exit_create(struct vm *vm, uint16_t port);

#endif
