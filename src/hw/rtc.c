// SPDX-License-Identifier: GPL-2.0
/*
 * MC146818 CMOS RTC, after the Motorola data sheet.
 *
 * Nothing ticks: time registers are computed from CLOCK_REALTIME when read,
 * and the UF/AF/PF flags are brought up to date from the host clock on
 * every access, so a polling guest sees exactly what a real part would. A
 * timer thread only exists to raise IRQ 8 on time when the guest enabled
 * an interrupt and IRQF is clear.
 *
 * A guest-set time is kept as a whole-second offset from host time, so the
 * guest's seconds roll over with the host's and UIP can be derived from
 * the host clock alone.
 */
#include "hw/rtc.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acpi/aml.h"
#include "bus/device.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"
#include "util/thread.h"
#include "util/sandbox.h"

#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32
#define CMOS_SIZE 128

#define REG_A_UIP 0x80
#define REG_A_DV_MASK 0x70
#define REG_A_DV_RESET 0x60 /* 11x: divider chain held in reset */
#define REG_A_RS_MASK 0x0f

#define REG_B_SET 0x80
#define REG_B_PIE 0x40
#define REG_B_AIE 0x20
#define REG_B_UIE 0x10
#define REG_B_SQWE 0x08
#define REG_B_DM 0x04 /* binary, not BCD */
#define REG_B_24H 0x02

/* Flag bits line up with their enable bits in register B. */
#define REG_C_IRQF 0x80
#define REG_C_PF 0x40
#define REG_C_AF 0x20
#define REG_C_UF 0x10
#define REG_C_FLAGS (REG_C_PF | REG_C_AF | REG_C_UF)

#define REG_D_VRT 0x80

#define NSEC_PER_SEC 1000000000ll
/* UIP rises 244 us before the update (one 4096 Hz period). */
#define UIP_NS 244141ll
#define RTC_HZ 32768

struct rtc {
	struct device dev;
	struct vm *vm;
	struct irq_line irq;
	int irq_level;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* register changes that move the next event */
	pthread_t thread;
	bool stop;

	uint8_t index;
	uint8_t cmos[CMOS_SIZE];
	/* Clock stopped (SET or divider reset): cmos[] time is the truth. */
	bool frozen;
	int64_t offset; /* guest minus host seconds while running */
	int64_t last_ns; /* host time the flags were brought up to */
};

static int64_t host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static int64_t guest_sec(const struct rtc *rtc, int64_t now)
{
	return floor_div(now, NSEC_PER_SEC) + rtc->offset;
}

static bool binary_mode(const struct rtc *rtc)
{
	return rtc->cmos[RTC_REG_B] & REG_B_DM;
}

static uint8_t to_reg(const struct rtc *rtc, unsigned int v)
{
	if (binary_mode(rtc))
		return v;
	v %= 100;
	return (v / 10) << 4 | v % 10;
}

static unsigned int from_reg(const struct rtc *rtc, uint8_t v)
{
	if (binary_mode(rtc))
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t hour_to_reg(const struct rtc *rtc, unsigned int h)
{
	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return to_reg(rtc, h);
	/* 12-hour mode: 12, 1 .. 11 with bit 7 for PM. */
	return to_reg(rtc, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0);
}

static unsigned int hour_from_reg(const struct rtc *rtc, uint8_t v)
{
	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return from_reg(rtc, v);
	return from_reg(rtc, v & 0x7f) % 12 + (v & 0x80 ? 12 : 0);
}

static void time_to_regs(struct rtc *rtc, int64_t t)
{
	time_t tt = t;
	struct tm tm;
	unsigned int year;

	if (!gmtime_r(&tt, &tm))
		memset(&tm, 0, sizeof(tm));
	year = (unsigned int)tm.tm_year + 1900;
	rtc->cmos[RTC_SECONDS] = to_reg(rtc, tm.tm_sec);
	rtc->cmos[RTC_MINUTES] = to_reg(rtc, tm.tm_min);
	rtc->cmos[RTC_HOURS] = hour_to_reg(rtc, tm.tm_hour);
	rtc->cmos[RTC_DAY_OF_WEEK] = to_reg(rtc, tm.tm_wday + 1);
	rtc->cmos[RTC_DAY_OF_MONTH] = to_reg(rtc, tm.tm_mday);
	rtc->cmos[RTC_MONTH] = to_reg(rtc, tm.tm_mon + 1);
	rtc->cmos[RTC_YEAR] = to_reg(rtc, year % 100);
	rtc->cmos[RTC_CENTURY] = to_reg(rtc, year / 100);
}

/*
 * Out-of-range values (a hostile or confused guest) are normalised by
 * timegm() rather than rejected. The weekday is derived, never stored.
 */
static int64_t regs_to_time(const struct rtc *rtc)
{
	struct tm tm = { 0 };

	tm.tm_sec = from_reg(rtc, rtc->cmos[RTC_SECONDS]);
	tm.tm_min = from_reg(rtc, rtc->cmos[RTC_MINUTES]);
	tm.tm_hour = hour_from_reg(rtc, rtc->cmos[RTC_HOURS]);
	tm.tm_mday = from_reg(rtc, rtc->cmos[RTC_DAY_OF_MONTH]);
	tm.tm_mon = (int)from_reg(rtc, rtc->cmos[RTC_MONTH]) - 1;
	tm.tm_year = (int)from_reg(rtc, rtc->cmos[RTC_CENTURY]) * 100 +
		     (int)from_reg(rtc, rtc->cmos[RTC_YEAR]) - 1900;
	return timegm(&tm);
}

static bool clock_running(const struct rtc *rtc)
{
	return !(rtc->cmos[RTC_REG_B] & REG_B_SET) &&
	       (rtc->cmos[RTC_REG_A] & REG_A_DV_MASK) <= 0x20;
}

/* Stop or restart the clock after a write to A or B. */
static void sync_frozen(struct rtc *rtc, int64_t now)
{
	bool run = clock_running(rtc);

	if (!run && !rtc->frozen) {
		time_to_regs(rtc, guest_sec(rtc, now));
		rtc->frozen = true;
	} else if (run && rtc->frozen) {
		rtc->frozen = false;
		rtc->offset = regs_to_time(rtc) - floor_div(now, NSEC_PER_SEC);
	}
}

/* Periodic interrupt period in 32768 Hz ticks, 0 when off. */
static int64_t periodic_ticks(const struct rtc *rtc)
{
	unsigned int rs = rtc->cmos[RTC_REG_A] & REG_A_RS_MASK;

	if (!rs || (rtc->cmos[RTC_REG_A] & REG_A_DV_RESET) == REG_A_DV_RESET)
		return 0;
	/* Rates 1 and 2 repeat 8 and 9 with a 32.768 kHz time base. */
	if (rs <= 2)
		rs += 7;
	return 1ll << (rs - 1);
}

static int64_t ns_to_ticks(int64_t ns)
{
	return floor_div(ns, NSEC_PER_SEC) * RTC_HZ +
	       floor_mod(ns, NSEC_PER_SEC) * RTC_HZ / NSEC_PER_SEC;
}

static int64_t ticks_to_ns_ceil(int64_t ticks)
{
	int64_t frac = floor_mod(ticks, RTC_HZ);

	return floor_div(ticks, RTC_HZ) * NSEC_PER_SEC +
	       (frac * NSEC_PER_SEC + RTC_HZ - 1) / RTC_HZ;
}

/* An alarm field: -1 "don't care" (0xc0-0xff), -2 can never match. */
static int alarm_field(const struct rtc *rtc, uint8_t v, unsigned int limit,
		       bool hours)
{
	unsigned int x;

	if ((v & 0xc0) == 0xc0)
		return -1;
	x = hours ? hour_from_reg(rtc, v) : from_reg(rtc, v);
	return x < limit ? (int)x : -2;
}

/* The first guest second after @after that the alarm matches. */
static int64_t next_alarm(const struct rtc *rtc, int64_t after)
{
	int as = alarm_field(rtc, rtc->cmos[RTC_SECONDS_ALARM], 60, false);
	int am = alarm_field(rtc, rtc->cmos[RTC_MINUTES_ALARM], 60, false);
	int ah = alarm_field(rtc, rtc->cmos[RTC_HOURS_ALARM], 24, true);
	int64_t t = after + 1;

	if (as == -2 || am == -2 || ah == -2)
		return INT64_MAX;
	/* Skips whole hours and minutes: a day is searched in ~200 steps. */
	for (int i = 0; i < 512; i++) {
		int64_t d = floor_mod(t, 86400);
		int h = d / 3600, m = d / 60 % 60, sec = d % 60;

		if (ah >= 0 && h != ah)
			t += 3600 - d % 3600;
		else if (am >= 0 && m != am)
			t += 60 - sec;
		else if (as >= 0 && sec != as)
			t += (as - sec + 60) % 60;
		else
			return t;
	}
	return INT64_MAX;
}

static void irq_refresh(struct rtc *rtc)
{
	uint8_t c = rtc->cmos[RTC_REG_C] & REG_C_FLAGS;
	int level;

	if (c & rtc->cmos[RTC_REG_B] & REG_C_FLAGS)
		c |= REG_C_IRQF;
	rtc->cmos[RTC_REG_C] = c;
	level = !!(c & REG_C_IRQF);
	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		irq_line_set(&rtc->irq, level);
	}
}

/* Set the flags for every update, alarm and periodic tick since last. */
static void advance(struct rtc *rtc, int64_t now)
{
	int64_t last = rtc->last_ns, period;

	rtc->last_ns = now;
	/* A host clock stepping back just restarts the bookkeeping. */
	if (now <= last)
		return;
	if (!rtc->frozen) {
		int64_t prev = guest_sec(rtc, last), cur = guest_sec(rtc, now);

		if (cur != prev) {
			rtc->cmos[RTC_REG_C] |= REG_C_UF;
			if (next_alarm(rtc, prev) <= cur)
				rtc->cmos[RTC_REG_C] |= REG_C_AF;
		}
	}
	period = periodic_ticks(rtc);
	if (period && floor_div(ns_to_ticks(now), period) !=
			      floor_div(ns_to_ticks(last), period))
		rtc->cmos[RTC_REG_C] |= REG_C_PF;
	irq_refresh(rtc);
}

/* Host time of the next event that would raise IRQ 8, or INT64_MAX. */
static int64_t next_irq_ns(const struct rtc *rtc, int64_t now)
{
	uint8_t b = rtc->cmos[RTC_REG_B];
	int64_t best = INT64_MAX, t, period;

	/* The line is already up: nothing changes until C is read. */
	if (rtc->cmos[RTC_REG_C] & REG_C_IRQF)
		return INT64_MAX;
	if (!rtc->frozen && (b & REG_B_UIE))
		best = (floor_div(now, NSEC_PER_SEC) + 1) * NSEC_PER_SEC;
	if (!rtc->frozen && (b & REG_B_AIE)) {
		t = next_alarm(rtc, guest_sec(rtc, now));
		if (t != INT64_MAX && (t - rtc->offset) * NSEC_PER_SEC < best)
			best = (t - rtc->offset) * NSEC_PER_SEC;
	}
	period = periodic_ticks(rtc);
	if ((b & REG_B_PIE) && period) {
		t = (floor_div(ns_to_ticks(now), period) + 1) * period;
		if (ticks_to_ns_ceil(t) < best)
			best = ticks_to_ns_ceil(t);
	}
	return best;
}

static void *rtc_thread(void *opaque)
{
	struct rtc *rtc = opaque;

	sandbox_apply(SANDBOX_RTC, "rtc");
	pthread_mutex_lock(&rtc->lock);
	while (!rtc->stop) {
		int64_t now = host_ns(), when;

		advance(rtc, now);
		when = next_irq_ns(rtc, now);
		if (when == INT64_MAX) {
			pthread_cond_wait(&rtc->cond, &rtc->lock);
		} else {
			struct timespec ts = { .tv_sec = when / NSEC_PER_SEC,
					       .tv_nsec = when % NSEC_PER_SEC };

			pthread_cond_timedwait(&rtc->cond, &rtc->lock, &ts);
		}
	}
	pthread_mutex_unlock(&rtc->lock);
	return NULL;
}

static uint8_t cmos_read(struct rtc *rtc, uint8_t idx, int64_t now)
{
	uint8_t v;

	switch (idx) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		if (!rtc->frozen)
			time_to_regs(rtc, guest_sec(rtc, now));
		return rtc->cmos[idx];
	case RTC_REG_A:
		v = rtc->cmos[RTC_REG_A];
		if (!rtc->frozen &&
		    floor_mod(now, NSEC_PER_SEC) >= NSEC_PER_SEC - UIP_NS)
			v |= REG_A_UIP;
		return v;
	case RTC_REG_C:
		v = rtc->cmos[RTC_REG_C];
		rtc->cmos[RTC_REG_C] = 0;
		irq_refresh(rtc);
		pthread_cond_signal(&rtc->cond);
		return v;
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		return rtc->cmos[idx];
	}
}

static void cmos_write(struct rtc *rtc, uint8_t idx, uint8_t v, int64_t now)
{
	switch (idx) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		if (rtc->frozen) {
			rtc->cmos[idx] = v;
			break;
		}
		/* Setting one field of a running clock moves the offset. */
		time_to_regs(rtc, guest_sec(rtc, now));
		rtc->cmos[idx] = v;
		rtc->offset = regs_to_time(rtc) - floor_div(now, NSEC_PER_SEC);
		pthread_cond_signal(&rtc->cond);
		break;
	case RTC_REG_A:
		rtc->cmos[RTC_REG_A] = v & ~REG_A_UIP;
		sync_frozen(rtc, now);
		pthread_cond_signal(&rtc->cond);
		break;
	case RTC_REG_B:
		/* The data sheet: SET clears UIE. */
		if (v & REG_B_SET)
			v &= ~REG_B_UIE;
		rtc->cmos[RTC_REG_B] = v;
		sync_frozen(rtc, now);
		irq_refresh(rtc);
		pthread_cond_signal(&rtc->cond);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	case RTC_SECONDS_ALARM:
	case RTC_MINUTES_ALARM:
	case RTC_HOURS_ALARM:
		rtc->cmos[idx] = v;
		pthread_cond_signal(&rtc->cond);
		break;
	default:
		rtc->cmos[idx] = v;
		break;
	}
}

static uint64_t rtc_pio_read(void *opaque, uint64_t offset, unsigned int size)
{
	struct rtc *rtc = opaque;
	uint64_t v = 0;
	int64_t now;

	pthread_mutex_lock(&rtc->lock);
	/* Sampled under the lock so the flag bookkeeping never goes back. */
	now = host_ns();
	advance(rtc, now);
	for (unsigned int i = 0; i < size && offset + i < 2; i++) {
		/* The index port is write-only. */
		uint8_t b = offset + i == 0 ? 0xff :
					      cmos_read(rtc, rtc->index, now);

		v |= (uint64_t)b << (8 * i);
	}
	pthread_mutex_unlock(&rtc->lock);
	return v;
}

static void rtc_pio_write(void *opaque, uint64_t offset, uint64_t value,
			  unsigned int size)
{
	struct rtc *rtc = opaque;
	int64_t now;

	pthread_mutex_lock(&rtc->lock);
	now = host_ns();
	advance(rtc, now);
	for (unsigned int i = 0; i < size && offset + i < 2; i++) {
		uint8_t b = value >> (8 * i);

		/* Bit 7 of the index is the NMI mask: not ours to model. */
		if (offset + i == 0)
			rtc->index = b & 0x7f;
		else
			cmos_write(rtc, rtc->index, b, now);
	}
	pthread_mutex_unlock(&rtc->lock);
}

static const struct bus_ops rtc_ops = {
	.read = rtc_pio_read,
	.write = rtc_pio_write,
};

static void cmos_set16(struct rtc *rtc, unsigned int idx, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	rtc->cmos[idx] = v;
	rtc->cmos[idx + 1] = v >> 8;
}

void rtc_set_memory_size(struct rtc *rtc, uint64_t below_4g_bytes,
			 uint64_t above_4g_bytes)
{
	uint64_t kib = below_4g_bytes / 1024, high = above_4g_bytes >> 16;
	unsigned int sum = 0;

	pthread_mutex_lock(&rtc->lock);
	cmos_set16(rtc, 0x15, 640);
	cmos_set16(rtc, 0x17, kib > 1024 ? kib - 1024 : 0);
	cmos_set16(rtc, 0x30, kib > 1024 ? kib - 1024 : 0);
	cmos_set16(rtc, 0x34,
		   below_4g_bytes > (16 << 20) ?
			   (below_4g_bytes - (16 << 20)) >> 16 :
			   0);
	rtc->cmos[0x5b] = high;
	rtc->cmos[0x5c] = high >> 8;
	rtc->cmos[0x5d] = high >> 16;
	/* The AT checksum over 0x10..0x2d, big-endian. */
	for (unsigned int i = 0x10; i <= 0x2d; i++)
		sum += rtc->cmos[i];
	rtc->cmos[0x2e] = sum >> 8;
	rtc->cmos[0x2f] = sum;
	pthread_mutex_unlock(&rtc->lock);
}

void rtc_cmos_write(struct rtc *rtc, unsigned int index, uint8_t value)
{
	if (index <= RTC_REG_D || index >= CMOS_SIZE || index == RTC_CENTURY)
		return;
	pthread_mutex_lock(&rtc->lock);
	rtc->cmos[index] = value;
	pthread_mutex_unlock(&rtc->lock);
}

/* What the RESET pin does: interrupt enables and flags, not the time. */
static void rtc_reset(struct device *dev)
{
	struct rtc *rtc = container_of(dev, struct rtc, dev);

	pthread_mutex_lock(&rtc->lock);
	rtc->cmos[RTC_REG_B] &=
		~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
	rtc->cmos[RTC_REG_C] = 0;
	irq_refresh(rtc);
	pthread_cond_signal(&rtc->cond);
	pthread_mutex_unlock(&rtc->lock);
}

static void rtc_free(struct rtc *rtc)
{
	pthread_cond_destroy(&rtc->cond);
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}

static void rtc_destroy(struct device *dev)
{
	struct rtc *rtc = container_of(dev, struct rtc, dev);

	pthread_mutex_lock(&rtc->lock);
	rtc->stop = true;
	pthread_cond_signal(&rtc->cond);
	pthread_mutex_unlock(&rtc->lock);
	pthread_join(rtc->thread, NULL);
	bus_unregister(&rtc->vm->pio, RTC_PORT_BASE, rtc);
	rtc_free(rtc);
}

static int rtc_describe(struct device *dev, struct device_desc *d)
{
	static const struct aml_io_range io = { RTC_PORT_BASE, 2 };

	if (d->aml)
		aml_isa_device(d->aml, "RTC", "PNP0B00", -1, &io, 1, RTC_GSI);
	return 0;
}

struct rtc *rtc_create(struct vm *vm)
{
	struct rtc *rtc = calloc(1, sizeof(*rtc));
	int ret;

	if (!rtc)
		return NULL;
	rtc->vm = vm;
	pthread_mutex_init(&rtc->lock, NULL);
	pthread_cond_init(&rtc->cond, NULL);
	vm_irq_line_init(vm, &rtc->irq, RTC_GSI);
	rtc->cmos[RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz */
	rtc->cmos[RTC_REG_B] = REG_B_24H;
	rtc->cmos[RTC_REG_D] = REG_D_VRT;
	rtc->last_ns = host_ns();
	time_to_regs(rtc, guest_sec(rtc, rtc->last_ns));

	ret = bus_register(&vm->pio, RTC_PORT_BASE, 2, &rtc_ops, rtc, "rtc");
	if (ret) {
		pr_err("rtc: cannot claim ports: %s", strerror(-ret));
		rtc_free(rtc);
		return NULL;
	}
	ret = helper_thread_create(&rtc->thread, rtc_thread, rtc, "rtc");
	if (ret) {
		pr_err("rtc: cannot start timer thread: %s", strerror(ret));
		bus_unregister(&vm->pio, RTC_PORT_BASE, rtc);
		rtc_free(rtc);
		return NULL;
	}
	rtc->dev.name = "rtc";
	rtc->dev.kind = DEV_PLATFORM;
	rtc->dev.reset = rtc_reset;
	rtc->dev.destroy = rtc_destroy;
	rtc->dev.describe = rtc_describe;
	device_register(vm, &rtc->dev);
	return rtc;
}
