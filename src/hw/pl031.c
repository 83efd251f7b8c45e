// SPDX-License-Identifier: GPL-2.0
/*
 * ARM PrimeCell PL031 RTC (ARM DDI 0224B, r1p3). Nothing ticks: DR is the
 * host's CLOCK_REALTIME seconds plus an offset that LR moves, computed
 * when read. The match interrupt is raised by a thread (SANDBOX_RTC, as
 * hw/rtc.c's) that sleeps until the second in which the counter becomes
 * MR.
 *
 * The counter runs from power-on (CR reads 1), as on the boards Linux
 * knows: the TRM's start bit, once set, cannot be cleared but by reset.
 */
#include "hw/pl031.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus.h"
#include "bus/device.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"
#include "util/thread.h"
#include "util/sandbox.h"

#define RTCDR 0x00
#define RTCMR 0x04
#define RTCLR 0x08
#define RTCCR 0x0c
#define RTCIMSC 0x10
#define RTCRIS 0x14
#define RTCMIS 0x18
#define RTCICR 0x1c
#define RTCPERIPHID0 0xfe0
#define RTCPCELLID3 0xffc

#define NSEC_PER_SEC 1000000000ll

/* PrimeCell identification: part 0x031, ARM, revision 1. */
static const uint8_t pl031_id[8] = { 0x31, 0x10, 0x14, 0x00,
				     0x0d, 0xf0, 0x05, 0xb1 };

struct pl031 {
	struct device dev;
	struct vm *vm;
	uint64_t base;
	struct irq_line irq;
	int irq_level;

	pthread_t thread;
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond; /* MR, LR or a stop changed */
	bool stop;

	int64_t offset; /* DR = host seconds + offset, modulo 2^32 */
	int64_t checked; /* host second up to which matches were looked for */
	uint32_t mr, lr;
	bool imsc, ris;
};

static int64_t host_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static uint32_t counter(const struct pl031 *r, int64_t sec)
{
	return (uint32_t)(sec + r->offset);
}

static void irq_update(struct pl031 *r)
{
	int level = r->ris && r->imsc;

	if (level != r->irq_level) {
		r->irq_level = level;
		irq_line_set(&r->irq, level);
	}
}

/*
 * The counter took the values counter(checked + 1) .. counter(now) since
 * the last look: did one of them equal MR?
 */
static void check_match(struct pl031 *r, int64_t now)
{
	if (now > r->checked) {
		uint32_t first = counter(r, r->checked + 1);
		uint64_t steps = (uint64_t)(now - r->checked);

		if (steps > UINT32_MAX || (uint32_t)(r->mr - first) < steps)
			r->ris = true;
	}
	r->checked = now;
	irq_update(r);
}

/* CLOCK_REALTIME nanoseconds at which the counter next becomes MR. */
static int64_t next_match_ns(const struct pl031 *r, int64_t now)
{
	uint32_t delta = r->mr - counter(r, now);

	if (!delta)
		delta = UINT32_MAX; /* a whole wrap: 136 years */
	return (now + (int64_t)delta) * NSEC_PER_SEC;
}

static void *pl031_thread(void *opaque)
{
	struct pl031 *r = opaque;

	sandbox_apply(SANDBOX_RTC, "pl031");
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		int64_t now = host_sec(), when;
		struct timespec ts;

		check_match(r, now);
		when = next_match_ns(r, now);
		ts.tv_sec = when / NSEC_PER_SEC;
		ts.tv_nsec = 0;
		pthread_cond_timedwait(&r->cond, &r->lock, &ts);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static uint32_t reg_read(struct pl031 *r, uint64_t off)
{
	int64_t now = host_sec();

	if (off >= RTCPERIPHID0 && off <= RTCPCELLID3)
		return (off & 3) ? 0 : pl031_id[(off - RTCPERIPHID0) >> 2];
	switch (off) {
	case RTCDR:
		check_match(r, now);
		return counter(r, now);
	case RTCMR:
		return r->mr;
	case RTCLR:
		/* LR reads back what the counter was last loaded with. */
		return r->lr;
	case RTCCR:
		return 1;
	case RTCIMSC:
		return r->imsc;
	case RTCRIS:
		check_match(r, now);
		return r->ris;
	case RTCMIS:
		check_match(r, now);
		return r->ris && r->imsc;
	default:
		return 0; /* ICR is write-only; the rest is reserved */
	}
}

static void reg_write(struct pl031 *r, uint64_t off, uint32_t val)
{
	int64_t now = host_sec();

	switch (off) {
	case RTCMR:
		check_match(r, now);
		r->mr = val;
		pthread_cond_signal(&r->cond);
		break;
	case RTCLR:
		/* Loading is not counting: the new value cannot match now. */
		check_match(r, now);
		r->offset = (int64_t)val - now;
		r->lr = val;
		pthread_cond_signal(&r->cond);
		break;
	case RTCIMSC:
		r->imsc = val & 1;
		break;
	case RTCICR:
		if (val & 1)
			r->ris = false;
		break;
	default:
		/* DR, RIS and MIS are read-only; CR cannot stop the counter. */
		break;
	}
	irq_update(r);
}

static uint64_t pl031_mmio_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pl031 *r = opaque;
	uint32_t v;

	if (off & 3)
		return 0;
	pthread_mutex_lock(&r->lock);
	v = reg_read(r, off);
	pthread_mutex_unlock(&r->lock);
	return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void pl031_mmio_write(void *opaque, uint64_t off, uint64_t value,
			     unsigned int size)
{
	struct pl031 *r = opaque;

	if (off & 3)
		return;
	if (size < 4)
		value &= (1u << (8 * size)) - 1;
	pthread_mutex_lock(&r->lock);
	reg_write(r, off, (uint32_t)value);
	pthread_mutex_unlock(&r->lock);
}

static const struct bus_ops pl031_ops = {
	.read = pl031_mmio_read,
	.write = pl031_mmio_write,
};

static void pl031_reset_locked(struct pl031 *r)
{
	r->offset = 0;
	r->checked = host_sec();
	r->mr = 0;
	r->lr = 0;
	r->imsc = false;
	r->ris = false;
	irq_update(r);
	pthread_cond_signal(&r->cond);
}

static void pl031_reset(struct device *dev)
{
	struct pl031 *r = container_of(dev, struct pl031, dev);

	pthread_mutex_lock(&r->lock);
	pl031_reset_locked(r);
	pthread_mutex_unlock(&r->lock);
}

static void pl031_free(struct pl031 *r)
{
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static void pl031_destroy(struct device *dev)
{
	struct pl031 *r = container_of(dev, struct pl031, dev);

	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	bus_unregister(&r->vm->mmio, r->base, r);
	pl031_free(r);
}

static int pl031_describe(struct device *dev, struct device_desc *d)
{
	static const char compat[] = "arm,pl031\0arm,primecell";
	static const char clocks[] = "apb_pclk";
	struct pl031 *r = container_of(dev, struct pl031, dev);
	int off;

	if (!d->fdt)
		return 0;
	off = device_fdt_node(d, "pl031", r->base, PL031_MMIO_SIZE, compat,
			      sizeof(compat), (int)r->irq.gsi, 1, clocks,
			      sizeof(clocks));
	return off < 0 ? off : 0;
}

struct pl031 *pl031_create(struct vm *vm, uint64_t base, unsigned int gsi)
{
	struct pl031 *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return NULL;
	r->vm = vm;
	r->base = base;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	vm_irq_line_init(vm, &r->irq, gsi);
	pl031_reset_locked(r);

	ret = bus_register(&vm->mmio, base, PL031_MMIO_SIZE, &pl031_ops, r,
			   "pl031");
	if (ret) {
		pr_err("pl031 %#llx: cannot claim its window: %s",
		       (unsigned long long)base, strerror(-ret));
		pl031_free(r);
		return NULL;
	}
	ret = helper_thread_create(&r->thread, pl031_thread, r, "pl031");
	if (ret) {
		pr_err("pl031: cannot start its thread: %s", strerror(ret));
		bus_unregister(&vm->mmio, base, r);
		pl031_free(r);
		return NULL;
	}
	r->dev.name = "pl031";
	r->dev.kind = DEV_PLATFORM;
	r->dev.reset = pl031_reset;
	r->dev.destroy = pl031_destroy;
	r->dev.describe = pl031_describe;
	device_register(vm, &r->dev);
	return r;
}
