// SPDX-License-Identifier: GPL-2.0
/* TSC frequency and deadlines for test guests. See tsc.h. */
#include "tsc.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_SECONDS 0x00
#define RTC_REG_A 0x0a
#define REG_A_UIP 0x80

static uint64_t khz_cached;

static uint8_t cmos_read(uint8_t reg)
{
	outb(reg, CMOS_INDEX);
	return inb(CMOS_DATA);
}

/* From the command line or CPUID; 0 if neither says. */
static uint64_t khz_known(const char **how)
{
	uint32_t a, b, c, d, max;
	char buf[24];
	unsigned long v;

	if (cmdline_arg("tsc_khz", buf, sizeof(buf)) >= 0 &&
	    parse_ulong(buf, &v) && v) {
		*how = "command line";
		return v;
	}
	cpuid(0, 0, &max, &b, &c, &d);
	if (max >= 0x15) {
		cpuid(0x15, 0, &a, &b, &c, &d);
		if (a && b && c) {
			*how = "CPUID 0x15";
			return (uint64_t)c * b / a / 1000;
		}
	}
	if (max >= 0x16) {
		cpuid(0x16, 0, &a, &b, &c, &d);
		if (a & 0xffff) {
			*how = "CPUID 0x16";
			return (uint64_t)(a & 0xffff) * 1000;
		}
	}
	cpuid(1, 0, &a, &b, &c, &d);
	if (c & (1u << 31)) { /* hypervisor present */
		cpuid(0x40000000, 0, &max, &b, &c, &d);
		if (max >= 0x40000010 && max < 0x40000100) {
			cpuid(0x40000010, 0, &a, &b, &c, &d);
			if (a) {
				*how = "CPUID 0x40000010";
				return a;
			}
		}
	}
	return 0;
}

/* Waits for the next RTC seconds update; the TSC right after it. */
static uint64_t rtc_edge(void)
{
	uint8_t s0 = cmos_read(RTC_SECONDS), s;
	uint64_t t, limit = rdtsc() + 4ull * 5000000000ull;

	do {
		t = rdtsc();
		s = cmos_read(RTC_SECONDS);
	} while (s == s0 && t < limit);
	return t;
}

uint64_t tsc_khz(void)
{
	const char *how = NULL;
	uint64_t t0, t1;

	if (khz_cached)
		return khz_cached;
	khz_cached = khz_known(&how);
	if (!khz_cached) {
		how = "RTC calibration";
		t0 = rtc_edge();
		t1 = rtc_edge();
		khz_cached = (t1 - t0) / 1000;
		if (!khz_cached)
			khz_cached = 1;
	}
	printf("tsc: %lu kHz (%s)\n", (unsigned long)khz_cached, how);
	return khz_cached;
}

uint64_t tsc_khz_bound(void)
{
	const char *how;
	uint64_t k;

	if (khz_cached)
		return khz_cached;
	k = khz_known(&how);
	return k ? k : 4000000;
}

uint64_t tsc_deadline_ms(uint64_t ms)
{
	return rdtsc() + ms * tsc_khz_bound();
}

bool tsc_passed(uint64_t deadline)
{
	return (int64_t)(rdtsc() - deadline) >= 0;
}

uint64_t tsc_to_us(uint64_t ticks)
{
	return ticks * 1000 / tsc_khz();
}

uint64_t tsc_to_ns(uint64_t ticks)
{
	return ticks * 1000000 / tsc_khz();
}
