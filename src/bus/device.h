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

struct aml;

/*
 * Where a device describes itself to the guest's firmware: the board walks
 * every device (devices_describe()) while it builds its tables, so a
 * device is described exactly when it exists, and the board need not know
 * it. Today that is ACPI: @aml is inside Scope (\_SB) of the DSDT, and a
 * device adds its Device object there. A flattened device tree would be
 * one more member.
 */
struct device_desc {
	struct aml *aml;
};

struct device {
	const char *name;
	enum device_kind kind;
	void (*reset)(struct device *dev);
	void (*destroy)(struct device *dev);
	/* Optional. Returns 0 or -errno; AML errors stay in @d->aml. */
	int (*describe)(struct device *dev, struct device_desc *d);
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
/* Each device's describe hook, oldest first; stops at the first error. */
int devices_describe(struct vm *vm, struct device_desc *d);
/* Newest first: a device may depend on one registered before it. */
void devices_destroy(struct vm *vm);

#endif
