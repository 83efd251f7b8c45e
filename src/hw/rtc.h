/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_RTC_H
#define DEVISOR_HW_RTC_H

#include <stdint.h>

/*
 * MC146818 CMOS RTC at ports 0x70 (index) / 0x71 (data), IRQ 8. The clock
 * is the host's CLOCK_REALTIME in UTC plus whatever whole-second offset the
 * guest set; update, alarm and periodic interrupts are delivered by a
 * timer thread.
 */
#define RTC_PORT_BASE 0x70
#define RTC_GSI 8

struct rtc;
struct vm;

/* Claims the ports, starts the timer thread, registers the device. */
struct rtc *rtc_create(struct vm *vm);

/*
 * Fill the firmware memory-size fields as QEMU does: 0x15/0x16 base KiB,
 * 0x17/0x18 and 0x30/0x31 KiB above 1 MiB, 0x34/0x35 64 KiB units above
 * 16 MiB (below 4 GiB), 0x5b-0x5d 64 KiB units above 4 GiB; and the
 * 0x2e/0x2f checksum.
 */
void rtc_set_memory_size(struct rtc *rtc, uint64_t below_4g_bytes,
			 uint64_t above_4g_bytes);

/* Preset a plain CMOS RAM byte (0x0e..0x7f, not the century at 0x32). */
void rtc_cmos_write(struct rtc *rtc, unsigned int index, uint8_t value);

#endif
