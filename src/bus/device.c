// SPDX-License-Identifier: GPL-2.0
#include "bus/device.h"

#include "kvm/vm.h"

void device_register(struct vm *vm, struct device *dev)
{
	struct device **p = &vm->devices;

	/* Keep registration order: reset and teardown follow it. */
	while (*p)
		p = &(*p)->next;
	dev->next = NULL;
	*p = dev;
}

void device_unregister(struct vm *vm, struct device *dev)
{
	for (struct device **p = &vm->devices; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			dev->next = NULL;
			return;
		}
	}
}

void devices_reset(struct vm *vm)
{
	for (struct device *d = vm->devices; d; d = d->next)
		if (d->reset)
			d->reset(d);
}

void devices_destroy(struct vm *vm)
{
	struct device *d = vm->devices, *rev = NULL;

	/* Detached first, so destroy hooks that unregister find nothing. */
	vm->devices = NULL;
	while (d) {
		struct device *next = d->next;

		d->next = rev;
		rev = d;
		d = next;
	}
	d = rev;
	while (d) {
		struct device *next = d->next;

		if (d->destroy)
			d->destroy(d);
		d = next;
	}
}
