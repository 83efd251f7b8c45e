/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_BUS_DEVICE_H
#define DEVISOR_BUS_DEVICE_H

/*
 * The device registry, after kvmtool's device__register: every device model
 * embeds a struct device and registers it once; the VM resets and destroys
 * devices through it, and `devisor` can list what a guest was given.
 *
 * Every call is safe from any thread. The registry lock is taken before
 * any device lock: reset hooks and devices_for_each() callbacks run under
 * it, so they must not wait for a thread that is registering a device.
 */
enum device_kind { DEV_PLATFORM, DEV_PCI, DEV_VIRTIO_MMIO };

struct device {
	const char *name;
	enum device_kind kind;
	void (*reset)(struct device *dev);
	void (*destroy)(struct device *dev);
	struct device *next;
};

struct vm;
void device_register(struct vm *vm, struct device *dev);
/* Takes @dev off the list (a hot-unplugged device); no-op if absent. */
void device_unregister(struct vm *vm, struct device *dev);
/* Oldest first, under the registry lock; @fn may unregister its own @dev. */
void devices_for_each(struct vm *vm, void (*fn)(struct device *, void *),
		      void *arg);
void devices_reset(struct vm *vm);
/* Newest first: a device may depend on one registered before it. */
void devices_destroy(struct vm *vm);

#endif
