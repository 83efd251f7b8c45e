// SPDX-License-Identifier: GPL-2.0
#include "hw/acpi_pm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"

/* Status bits that have an enable bit and so can raise the SCI. */
#define PM1_SCI_EVENTS                                                     \
	(ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | \
	 ACPI_PM1_RTC)
#define PM1_CNT_RW (ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_SLP_TYP_MASK)

/* Register offsets inside the region */
#define REG_STS 0
#define REG_EN 2
#define REG_CNT 4
#define REG_RESET 6
#define REG_TMR (ACPI_PM_TMR_PORT - ACPI_PM_IO_BASE)
#define REG_GPE_STS (ACPI_GPE0_PORT - ACPI_PM_IO_BASE)
#define REG_GPE_EN (REG_GPE_STS + ACPI_GPE0_LEN / 2)

_Static_assert(REG_TMR + ACPI_PM_TMR_LEN <= REG_GPE_STS, "PM_TMR");
_Static_assert(REG_GPE_STS + ACPI_GPE0_LEN == ACPI_PM_IO_LEN, "GPE0");

/* As at 0xcf9: bit 1 only picks the reset type, bit 2 resets. */
#define RESET_CPU 0x04

enum pm_action { PM_NONE, PM_POWEROFF, PM_RESET };

static struct acpi_pm *to_pm(struct device *dev)
{
	return container_of(dev, struct acpi_pm, dev);
}

/* Caller holds pm->lock. The SCI is level-triggered: it follows state. */
static void update_sci(struct acpi_pm *pm)
{
	int level = (pm->cnt & ACPI_PM1_CNT_SCI_EN) &&
		    ((pm->sts & pm->en & PM1_SCI_EVENTS) ||
		     (pm->gpe_sts & pm->gpe_en));

	if (level != pm->sci.level)
		irq_line_set(&pm->sci, level);
}

/* Lock-free: the guest's clocksource reads this often, from any vCPU. */
static uint32_t pm_timer(const struct acpi_pm *pm)
{
	unsigned __int128 t =
		monotonic_ns() -
		__atomic_load_n(&pm->tmr_base_ns, __ATOMIC_RELAXED);

	return t * ACPI_PM_TMR_HZ / 1000000000u;
}

/* Caller holds pm->lock unless @off is in PM_TMR. */
static uint8_t read_byte(struct acpi_pm *pm, unsigned int off, uint32_t tmr)
{
	if (off >= REG_TMR && off < REG_TMR + ACPI_PM_TMR_LEN)
		return tmr >> (8 * (off - REG_TMR));
	switch (off) {
	case REG_STS:
	case REG_STS + 1:
		return pm->sts >> (8 * (off - REG_STS));
	case REG_EN:
	case REG_EN + 1:
		return pm->en >> (8 * (off - REG_EN));
	case REG_CNT:
	case REG_CNT + 1:
		return pm->cnt >> (8 * (off - REG_CNT));
	case REG_GPE_STS:
		return pm->gpe_sts;
	case REG_GPE_EN:
		return pm->gpe_en;
	default:
		return 0;
	}
}

/* Caller holds pm->lock. Returns what must happen once it is dropped. */
static enum pm_action write_byte(struct acpi_pm *pm, unsigned int off,
				 uint8_t v)
{
	unsigned int shift;
	uint16_t typ;

	switch (off) {
	case REG_STS:
	case REG_STS + 1:
		shift = 8 * (off - REG_STS);
		pm->sts &= ~((uint16_t)v << shift);
		break;
	case REG_EN:
	case REG_EN + 1:
		shift = 8 * (off - REG_EN);
		pm->en = (pm->en & ~(0xffu << shift)) | (v << shift);
		pm->en &= PM1_SCI_EVENTS;
		break;
	case REG_CNT:
	case REG_CNT + 1:
		shift = 8 * (off - REG_CNT);
		pm->cnt = (pm->cnt & ~(0xffu << shift)) |
			  ((v << shift) & PM1_CNT_RW);
		/* SMI_CMD is 0 in the FADT: we are always in ACPI mode. */
		pm->cnt |= ACPI_PM1_CNT_SCI_EN;
		if (!((v << shift) & ACPI_PM1_CNT_SLP_EN))
			break;
		typ = (pm->cnt & ACPI_PM1_CNT_SLP_TYP_MASK) >>
		      ACPI_PM1_CNT_SLP_TYP_SHIFT;
		if (typ == ACPI_SLP_TYP_S5)
			return PM_POWEROFF;
		/*
		 * Only \_S5_ is advertised, so this is a confused guest. Wake
		 * it at once: ACPICA spins on WAK_STS after SLP_EN.
		 */
		pr_warn_ratelimited("acpi_pm: SLP_TYP %u not supported",
				    (unsigned int)typ);
		pm->sts |= ACPI_PM1_STS_WAK;
		break;
	case REG_RESET:
		if (v & RESET_CPU)
			return PM_RESET;
		break;
	case REG_GPE_STS:
		pm->gpe_sts &= ~v;
		break;
	case REG_GPE_EN:
		pm->gpe_en = v;
		break;
	default:
		break;
	}
	return PM_NONE;
}

static uint64_t pm_read(void *opaque, uint64_t offset, unsigned int size)
{
	struct acpi_pm *pm = opaque;
	uint64_t v = 0;
	uint32_t tmr;

	/* One sample per access: a dword read must not tear across bytes. */
	bool locked = offset < REG_TMR || offset + size > REG_GPE_STS;

	tmr = offset + size > REG_TMR ? pm_timer(pm) : 0;
	if (locked)
		pthread_mutex_lock(&pm->lock);
	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)read_byte(pm, offset + i, tmr) << (8 * i);
	if (locked)
		pthread_mutex_unlock(&pm->lock);
	return v;
}

static void pm_write(void *opaque, uint64_t offset, uint64_t value,
		     unsigned int size)
{
	struct acpi_pm *pm = opaque;
	enum pm_action act = PM_NONE, a;

	/* Byte-wise, so any access width the guest picks decodes the same. */
	pthread_mutex_lock(&pm->lock);
	for (unsigned int i = 0; i < size; i++) {
		a = write_byte(pm, offset + i, value >> (8 * i));
		if (a != PM_NONE)
			act = a;
	}
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);

	if (act == PM_POWEROFF)
		vm_stop(pm->vm, VM_STOP_POWEROFF, 0, "guest powered off");
	else if (act == PM_RESET)
		vm_stop(pm->vm, VM_STOP_RESET, 0,
			"guest requested reset (ACPI reset register)");
}

static const struct bus_ops acpi_pm_ops = {
	.read = pm_read,
	.write = pm_write,
};

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= ACPI_PM1_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_gpe(struct acpi_pm *pm, unsigned int gpe)
{
	if (gpe >= 8 * (ACPI_GPE0_LEN / 2))
		return;
	pthread_mutex_lock(&pm->lock);
	pm->gpe_sts |= 1u << gpe;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

bool acpi_pm_gpe_enabled(struct acpi_pm *pm, unsigned int gpe)
{
	bool en;

	if (gpe >= 8 * (ACPI_GPE0_LEN / 2))
		return false;
	pthread_mutex_lock(&pm->lock);
	en = pm->gpe_en & (1u << gpe);
	pthread_mutex_unlock(&pm->lock);
	return en;
}

void acpi_gpe_event(void *line)
{
	const struct acpi_gpe_line *l = line;

	acpi_pm_gpe(l->pm, l->gpe);
}

bool acpi_gpe_listening(void *line)
{
	const struct acpi_gpe_line *l = line;

	return acpi_pm_gpe_enabled(l->pm, l->gpe);
}

static void acpi_pm_reset(struct device *dev)
{
	struct acpi_pm *pm = to_pm(dev);

	pthread_mutex_lock(&pm->lock);
	pm->sts = 0;
	pm->en = 0;
	pm->gpe_sts = 0;
	pm->gpe_en = 0;
	pm->cnt = ACPI_PM1_CNT_SCI_EN;
	__atomic_store_n(&pm->tmr_base_ns, monotonic_ns(), __ATOMIC_RELAXED);
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_destroy(struct device *dev)
{
	struct acpi_pm *pm = to_pm(dev);

	bus_unregister(&pm->vm->pio, ACPI_PM_IO_BASE, pm);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

struct acpi_pm *acpi_pm_create(struct vm *vm)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm) {
		pr_err("acpi_pm: out of memory");
		return NULL;
	}
	pm->vm = vm;
	pm->cnt = ACPI_PM1_CNT_SCI_EN;
	pm->tmr_base_ns = monotonic_ns();
	pthread_mutex_init(&pm->lock, NULL);
	vm_irq_line_init(vm, &pm->sci, ACPI_SCI_IRQ);

	ret = bus_register(&vm->pio, ACPI_PM_IO_BASE, ACPI_PM_IO_LEN,
			   &acpi_pm_ops, pm, "acpi-pm");
	if (ret) {
		pr_err("acpi_pm: cannot claim ports %#x-%#x: %s",
		       ACPI_PM_IO_BASE, ACPI_PM_IO_BASE + ACPI_PM_IO_LEN - 1,
		       strerror(-ret));
		pthread_mutex_destroy(&pm->lock);
		free(pm);
		return NULL;
	}

	pm->dev = (struct device){ .name = "acpi-pm",
				   .kind = DEV_PLATFORM,
				   .reset = acpi_pm_reset,
				   .destroy = acpi_pm_destroy };
	device_register(vm, &pm->dev);
	return pm;
}
