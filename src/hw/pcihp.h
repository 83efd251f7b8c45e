/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_PCIHP_H
#define DEVISOR_HW_PCIHP_H

/*
 * ACPI PCI hotplug of bus 0: a small register block the guest's ACPI code
 * reads when the board raises its event (on the PC, GPE PCIHP_GPE of
 * hw/acpi_pm), and the AML that goes with it, built from the constants
 * below so the two cannot disagree. Our own layout, after the idea of
 * QEMU's PIIX hotplug and Cloud Hypervisor's: one bit per slot of bus 0.
 *
 *   +0  UP     read: slots whose device arrived since the last read; the
 *              read clears the bits it returned
 *   +4  DOWN   read: slots whose device the host asks the guest to let
 *              go of; a bit stays until the guest ejects the slot
 *   +8  EJECT  write: the guest has let go of these slots (_EJ0); only
 *              bits set in DOWN count, the others are ignored
 *
 * 32-bit registers, any access width. In the DSDT, \_SB.PCI0 gets an
 * OperationRegion on the block, one Device (Sxx) per slot 1-31 with _ADR,
 * _SUN and _EJ0, and Method PCNT that notifies each slot in UP (Device
 * Check, Linux's acpiphp scans it) and in DOWN (Eject Request, acpiphp
 * unbinds the driver, removes the functions, then calls _EJ0). The host
 * frees the device only after the eject: the guest has stopped using it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/device.h"

#define PCIHP_IO_BASE 0x610
#define PCIHP_IO_LEN 12
#define PCIHP_REG_UP 0
#define PCIHP_REG_DOWN 4
#define PCIHP_REG_EJECT 8
/* Slot 0 is the host bridge: never hotplugged. */
#define PCIHP_SLOTS_MASK 0xfffffffeu

/* The DSDT's names for what the board's event handler calls. */
#define PCIHP_AML_SCOPE "\\_SB.PCI0"
#define PCIHP_AML_NOTIFY "\\_SB.PCI0.PCNT"

struct vm;

struct pcihp {
	struct device dev;
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t up, down, ejected;
	/* The board's event: raises the guest's ACPI interrupt. */
	void (*event)(void *opaque);
	/* Whether the guest enabled that interrupt (its OSPM listens). */
	bool (*listening)(void *opaque);
	void *event_opaque;
};

/*
 * Registers the block at PCIHP_IO_BASE on @vm's PIO bus and in the device
 * registry (describe hook: the AML above). NULL with an error logged on
 * failure. Freed by devices_destroy().
 */
struct pcihp *pcihp_create(struct vm *vm, void (*event)(void *opaque),
			   bool (*listening)(void *opaque), void *opaque);

/*
 * Whether the guest handles hotplug events: a guest without ACPI (a test
 * guest, Linux with acpi=off) never enables the event and never ejects.
 */
bool pcihp_guest_listening(struct pcihp *hp);

/* A device is now at @slot: tell the guest. Any thread. */
void pcihp_plug(struct pcihp *hp, unsigned int slot);
/* Ask the guest to let go of @slot; -EINVAL for slot 0 or >= 32. */
int pcihp_unplug_request(struct pcihp *hp, unsigned int slot);
/* Whether the guest ejected @slot since the request; true clears it. */
bool pcihp_take_ejected(struct pcihp *hp, unsigned int slot);
/* Withdraws a request the guest did not answer. */
void pcihp_unplug_cancel(struct pcihp *hp, unsigned int slot);

/* The register block's accessors, for tests: @off from PCIHP_IO_BASE. */
uint64_t pcihp_read(void *opaque, uint64_t off, unsigned int size);
void pcihp_write(void *opaque, uint64_t off, uint64_t value, unsigned int size);

/* Scope (PCIHP_AML_SCOPE) { region, slots, PCNT }, into @d->aml. */
int pcihp_describe(struct device *dev, struct device_desc *d);

#endif
