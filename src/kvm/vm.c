// SPDX-License-Identifier: GPL-2.0
#include "kvm/vm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "kvm/irq.h"
#include "util/log.h"

void vm_init_common(struct vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = -1;
	vm->vm_fd = -1;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
}

static void irq_line_to_vm(struct irq_line *line, int level)
{
	struct vm *vm = line->opaque;

	vm->irq_set(vm, line->gsi, level);
}

static void irq_set_nowhere(struct vm *vm, unsigned int gsi, int level)
{
}

void vm_irq_line_init(struct vm *vm, struct irq_line *line, unsigned int gsi)
{
	if (!vm->irq_set)
		vm->irq_set = irq_set_nowhere;
	*line = (struct irq_line){ .set = irq_line_to_vm, .opaque = vm,
				   .gsi = gsi };
}

void vm_stop(struct vm *vm, enum vm_stop_reason reason, int exit_status,
	     const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason == VM_RUNNING) {
		vm->stop_reason = reason;
		vm->exit_status = exit_status;
		va_start(ap, fmt);
		vsnprintf(vm->stop_message, sizeof(vm->stop_message), fmt, ap);
		va_end(ap);
		pthread_cond_broadcast(&vm->stop_cond);
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

bool vm_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) !=
	       VM_RUNNING;
}
