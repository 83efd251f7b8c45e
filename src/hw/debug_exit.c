// SPDX-License-Identifier: GPL-2.0
#include "hw/debug_exit.h"

#include <stdlib.h>
#include <string.h>

#include "bus/device.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"

/* No mutable state, so no lock: vm_stop() is thread-safe. */
struct debug_exit {
	struct device dev;
	struct vm *vm;
	uint16_t port;
};

static uint64_t debug_exit_read(void *opaque, uint64_t offset,
				unsigned int size)
{
	return 0;
}

/* As QEMU: the value as written, whatever the access width or offset. */
static void debug_exit_write(void *opaque, uint64_t offset, uint64_t value,
			     unsigned int size)
{
	struct debug_exit *d = opaque;
	uint32_t v = value;

	vm_stop(d->vm, VM_STOP_DEBUG_EXIT, (int)(((uint64_t)v << 1) | 1),
		"guest wrote %#x to debug-exit port", v);
}

static const struct bus_ops debug_exit_ops = {
	.read = debug_exit_read,
	.write = debug_exit_write,
};

static void debug_exit_destroy(struct device *dev)
{
	struct debug_exit *d = container_of(dev, struct debug_exit, dev);

	bus_unregister(&d->vm->pio, d->port, d);
	free(d);
}

struct debug_exit *debug_exit_create(struct vm *vm, uint16_t port)
{
	struct debug_exit *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return NULL;
	d->vm = vm;
	d->port = port;
	ret = bus_register(&vm->pio, port, DEBUG_EXIT_SIZE, &debug_exit_ops, d,
			   "debug-exit");
	if (ret) {
		pr_err("debug-exit: cannot claim port %#x: %s", port,
		       strerror(-ret));
		free(d);
		return NULL;
	}
	d->dev.name = "debug-exit";
	d->dev.kind = DEV_PLATFORM;
	d->dev.destroy = debug_exit_destroy;
	device_register(vm, &d->dev);
	return d;
}
