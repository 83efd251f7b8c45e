/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_ACPI_PM_H
#define DEVISOR_HW_ACPI_PM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/device.h"
#include "kvm/irq.h"

/*
 * The ACPI fixed-hardware power management registers of a full (not
 * hardware-reduced) ACPI platform, as the FADT describes them: the PM1a
 * event block (PM1_STS, PM1_EN), the PM1a control block (SCI_EN, SLP_TYP,
 * SLP_EN), a reset register and the PM timer. The FADT and DSDT are built from these
 * constants, so the tables and the device cannot disagree.
 *
 * One PIO region holds all four:
 *   0x600  PM1_STS   16 bits, write 1 to clear
 *   0x602  PM1_EN    16 bits
 *   0x604  PM1_CNT   16 bits
 *   0x606  RESET     8 bits, write-only
 *   0x607  reserved
 *   0x608  PM_TMR    32 bits, read-only
 *   0x60c  GPE0_STS  8 bits, write 1 to clear
 *   0x60d  GPE0_EN   8 bits
 *
 * The PM timer counts at 3.579545 MHz from the host's CLOCK_MONOTONIC,
 * from 0 at creation and at reset, over all 32 bits (the FADT sets
 * TMR_VAL_EXT), and wraps. It raises no TMR_STS: nothing polls for the
 * carry, Linux reads it as a clocksource only.
 *
 * The reset register is ours rather than the usual 0xcf9 because 0xcf9
 * lies inside the PCI host bridge's 0xcf8 CONFIG_ADDRESS dword, and the
 * bus cannot overlap regions. Guests find it through the FADT's RESET_REG.
 */
#define ACPI_PM_IO_BASE 0x600
#define ACPI_PM_IO_LEN 14
#define ACPI_PM1_EVT_PORT 0x600
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1_CNT_PORT 0x604
#define ACPI_PM1_CNT_LEN 2
#define ACPI_RESET_PORT 0x606
/* As at 0xcf9: hard reset (bit 1) + reset CPU (bit 2). Bit 2 triggers. */
#define ACPI_RESET_VALUE 0x06
#define ACPI_PM_TMR_PORT 0x608
#define ACPI_PM_TMR_LEN 4
#define ACPI_PM_TMR_HZ 3579545ull
/* GPE0: one status and one enable byte, 8 general-purpose events. */
#define ACPI_GPE0_PORT 0x60c
#define ACPI_GPE0_LEN 2
/* The GPE of hw/pcihp (the DSDT's \_GPE._E01). */
#define ACPI_GPE_PCIHP 1
/* The GPE of hw/cpuhp (\_GPE._E02). */
#define ACPI_GPE_CPUHP 2
/* The GPE of hw/memhp (\_GPE._E03). */
#define ACPI_GPE_MEMHP 3

#define ACPI_SCI_IRQ 9

/*
 * SLP_TYP for S5 (soft off), the value \_S5_ hands the OS. Only S5 is
 * advertised; any other SLP_TYP with SLP_EN wakes up at once.
 */
#define ACPI_SLP_TYP_S5 5

/* PM1_STS / PM1_EN bits */
#define ACPI_PM1_TMR (1u << 0)
#define ACPI_PM1_GBL (1u << 5)
#define ACPI_PM1_PWRBTN (1u << 8)
#define ACPI_PM1_SLPBTN (1u << 9)
#define ACPI_PM1_RTC (1u << 10)
#define ACPI_PM1_STS_WAK (1u << 15)

/* PM1_CNT bits */
#define ACPI_PM1_CNT_SCI_EN (1u << 0)
#define ACPI_PM1_CNT_BM_RLD (1u << 1)
#define ACPI_PM1_CNT_GBL_RLS (1u << 2)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK (7u << ACPI_PM1_CNT_SLP_TYP_SHIFT)
#define ACPI_PM1_CNT_SLP_EN (1u << 13)

struct vm;

struct acpi_pm {
	struct device dev;
	struct vm *vm;
	struct irq_line sci;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt; /* cnt: SCI_EN, BM_RLD, SLP_TYP; never SLP_EN */
	uint8_t gpe_sts, gpe_en;
	uint64_t tmr_base_ns; /* CLOCK_MONOTONIC when PM_TMR read 0; atomic */
};

/*
 * Registers the block on the PIO bus and in the device registry, wires the
 * SCI to GSI ACPI_SCI_IRQ. Returns NULL with an error logged on failure.
 * Freed by devices_destroy().
 */
struct acpi_pm *acpi_pm_create(struct vm *vm);

/*
 * A press of the fixed-feature power button: sets PWRBTN_STS and raises
 * the SCI if the guest enabled it. The guest decides what to do (Linux
 * hands KEY_POWER to userspace). Callable from any thread.
 */
void acpi_pm_power_button(struct acpi_pm *pm);

/*
 * General-purpose event @gpe (0-7) happened: sets its GPE0_STS bit and
 * raises the SCI if the guest enabled it. Callable from any thread.
 */
void acpi_pm_gpe(struct acpi_pm *pm, unsigned int gpe);
/* Whether the guest set GPE @gpe's enable bit. */
bool acpi_pm_gpe_enabled(struct acpi_pm *pm, unsigned int gpe);

/*
 * GPE @gpe of @pm as one device's event: the hotplug blocks (hw/pcihp,
 * cpuhp, memhp) take acpi_gpe_event() and acpi_gpe_listening() as their
 * board callbacks with a line as the opaque, so the board names only the
 * GPE each one raises.
 */
struct acpi_gpe_line {
	struct acpi_pm *pm;
	unsigned int gpe;
};
void acpi_gpe_event(void *line);
bool acpi_gpe_listening(void *line);

#endif
