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
#include <stdint.h>

enum device_kind { DEV_PLATFORM, DEV_PCI, DEV_VIRTIO_MMIO };

struct aml;

/*
 * Where a device describes itself to the guest's firmware: the board walks
 * every device (devices_describe()) while it builds its tables, so a
 * device is described exactly when it exists, and the board need not know
 * it. Each sink is NULL unless the board builds it; a device fills those
 * that are set. ACPI: @aml is inside Scope (\_SB) of the DSDT, and a
 * device adds its Device object there. A flattened device tree (arm64):
 * @fdt is a libfdt tree open for writing, and a device adds its node under
 * the root (device_fdt_node()).
 */
struct device_desc {
	struct aml *aml;
	void *fdt;
	/* The board's device_fdt_node(), with the library it builds with. */
	int (*fdt_node)(struct device_desc *d, const char *name, uint64_t base,
			uint64_t size, const char *compat,
			unsigned int compat_len, int gsi, int level_triggered,
			const char *clock_names, unsigned int clock_len);
	/*
	 * The interrupt specifier of @gsi in the tree's interrupt-parent
	 * (the board's irqchip): fills @cells (room for 4), returns how many.
	 */
	unsigned int (*fdt_irq)(unsigned int gsi, int level_triggered,
				uint32_t *cells);
	uint32_t fdt_clock; /* phandle of the fixed clock PrimeCells name */
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
/*
 * A node "@name@<base>" under @d->fdt's root with @compat (NUL-separated,
 * @compat_len bytes with the last NUL), reg <@base @size> (two cells
 * each), and, unless @gsi is negative, interrupts from @d->fdt_irq.
 * @clock_names (NUL-separated, @clock_len bytes; 0 for none) each get
 * @d->fdt_clock. Returns the node's offset or -errno; -ENOSYS when the
 * board gave no @d->fdt_node (it builds no tree).
 */
int device_fdt_node(struct device_desc *d, const char *name, uint64_t base,
		    uint64_t size, const char *compat, unsigned int compat_len,
		    int gsi, int level_triggered, const char *clock_names,
		    unsigned int clock_len);

/* Newest first: a device may depend on one registered before it. */
void devices_destroy(struct vm *vm);

#endif
