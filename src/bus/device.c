// SPDX-License-Identifier: GPL-2.0
#include "bus/device.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "kvm/vm.h"

/*
 * One lock for every VM's list (a process runs one VM). Recursive: reset
 * hooks run under it and may register or unregister devices.
 */
static pthread_mutex_t registry_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void device_register(struct vm *vm, struct device *dev)
{
	struct device **p;

	pthread_mutex_lock(&registry_lock);
	/* Keep registration order: reset and teardown follow it. */
	for (p = &vm->devices; *p; p = &(*p)->next)
		;
	dev->next = NULL;
	*p = dev;
	pthread_mutex_unlock(&registry_lock);
}

void device_unregister(struct vm *vm, struct device *dev)
{
	pthread_mutex_lock(&registry_lock);
	for (struct device **p = &vm->devices; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			dev->next = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

void devices_for_each(struct vm *vm, void (*fn)(struct device *, void *),
		      void *arg)
{
	struct device *d, *next;

	pthread_mutex_lock(&registry_lock);
	/* @next is read first: @fn may take its own device off the list. */
	for (d = vm->devices; d; d = next) {
		next = d->next;
		fn(d, arg);
	}
	pthread_mutex_unlock(&registry_lock);
}

static void reset_one(struct device *d, void *arg)
{
	if (d->reset)
		d->reset(d);
}

void devices_reset(struct vm *vm)
{
	devices_for_each(vm, reset_one, NULL);
}

struct describe_walk {
	struct device_desc *d;
	int err;
};

static void describe_one(struct device *dev, void *arg)
{
	struct describe_walk *w = arg;

	if (!w->err && dev->describe)
		w->err = dev->describe(dev, w->d);
}

int devices_describe(struct vm *vm, struct device_desc *d)
{
	struct describe_walk w = { .d = d };

	devices_for_each(vm, describe_one, &w);
	return w.err;
}

void devices_destroy(struct vm *vm)
{
	struct device *d, *rev = NULL;

	/*
	 * Detached under the lock, destroyed outside it: destroy hooks that
	 * unregister find nothing, and may block on threads that register.
	 */
	pthread_mutex_lock(&registry_lock);
	d = vm->devices;
	vm->devices = NULL;
	pthread_mutex_unlock(&registry_lock);
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

int device_fdt_node(struct device_desc *d, const char *name, uint64_t base,
		    uint64_t size, const char *compat, unsigned int compat_len,
		    int gsi, int level_triggered, const char *clock_names,
		    unsigned int clock_len)
{
	if (!d->fdt || !d->fdt_node)
		return -ENOSYS;
	return d->fdt_node(d, name, base, size, compat, compat_len, gsi,
			   level_triggered, clock_names, clock_len);
}
