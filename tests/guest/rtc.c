// SPDX-License-Identifier: GPL-2.0
/* Reads the MC146818 CMOS clock and prints it as RTC YYYY-MM-DD HH:MM:SS. */
#include "guest.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71

#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_CENTURY 0x32 /* the usual (ACPI FADT default) slot */

#define REG_A_UIP 0x80
#define REG_B_24H 0x02
#define REG_B_BINARY 0x04
#define HOUR_PM 0x80

struct rtc_raw {
	uint8_t sec, min, hour, day, mon, year, century;
};

static uint8_t cmos_read(uint8_t reg)
{
	outb(reg, CMOS_INDEX);
	return inb(CMOS_DATA);
}

static void rtc_read(struct rtc_raw *t)
{
	while (cmos_read(RTC_REG_A) & REG_A_UIP)
		cpu_relax();
	t->sec = cmos_read(RTC_SECONDS);
	t->min = cmos_read(RTC_MINUTES);
	t->hour = cmos_read(RTC_HOURS);
	t->day = cmos_read(RTC_DAY);
	t->mon = cmos_read(RTC_MONTH);
	t->year = cmos_read(RTC_YEAR);
	t->century = cmos_read(RTC_CENTURY);
}

static unsigned int from_bcd(uint8_t v, bool bcd)
{
	return bcd ? (v >> 4) * 10 + (v & 0x0f) : v;
}

static bool is_bcd(uint8_t v)
{
	return (v & 0x0f) < 10 && (v >> 4) < 10;
}

int guest_main(void)
{
	struct rtc_raw a, b;
	unsigned int sec, min, hour, day, mon, year, century;
	uint8_t reg_b;
	bool bcd, pm;
	int tries = 0;

	/*
	 * Each register read is two exits; at ~31 us each the seven reads
	 * outlast the 244 us UIP guarantees, so read until two agree.
	 */
	rtc_read(&b);
	do {
		a = b;
		rtc_read(&b);
	} while (memcmp(&a, &b, sizeof(a)) && ++tries < 10);

	reg_b = cmos_read(RTC_REG_B);
	bcd = !(reg_b & REG_B_BINARY);
	pm = b.hour & HOUR_PM;
	b.hour &= (uint8_t)~HOUR_PM;

	sec = from_bcd(b.sec, bcd);
	min = from_bcd(b.min, bcd);
	hour = from_bcd(b.hour, bcd);
	day = from_bcd(b.day, bcd);
	mon = from_bcd(b.mon, bcd);
	year = from_bcd(b.year, bcd);
	if (!(reg_b & REG_B_24H))
		hour = hour % 12 + (pm ? 12 : 0);

	/* No century register reads as junk (or all ones). */
	century = from_bcd(b.century, bcd);
	if ((bcd && !is_bcd(b.century)) || century < 19 || century > 99)
		century = year < 70 ? 20 : 19;
	year += century * 100;

	printf("RTC %04u-%02u-%02u %02u:%02u:%02u\n", year, mon, day, hour, min,
	       sec);
	printf("rtc: reg B %#x (%s, %s), century reg %#x\n", reg_b,
	       bcd ? "BCD" : "binary", reg_b & REG_B_24H ? "24h" : "12h",
	       b.century);
	if (sec > 59 || min > 59 || hour > 23 || day < 1 || day > 31 ||
	    mon < 1 || mon > 12) {
		puts("rtc: time out of range");
		return GUEST_FAIL;
	}
	return GUEST_PASS;
}
