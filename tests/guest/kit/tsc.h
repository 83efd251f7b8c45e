/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GUEST_KIT_TSC_H
#define GUEST_KIT_TSC_H

#include "guest.h"

/*
 * The TSC frequency in kHz: `tsc_khz=N` on the command line, else CPUID
 * 0x15 (with the crystal clock), 0x16, or the hypervisor leaf 0x40000010,
 * else a calibration against the CMOS RTC's seconds tick (1-2 s). Cached;
 * prints where it came from on the first call.
 */
uint64_t tsc_khz(void);
/*
 * For timeouts only: tsc_khz() if already known, the command line or CPUID,
 * else 4 GHz, an upper bound, so a timeout never ends early.
 */
uint64_t tsc_khz_bound(void);
/* rdtsc deadline @ms milliseconds from now (by tsc_khz_bound()). */
uint64_t tsc_deadline_ms(uint64_t ms);
bool tsc_passed(uint64_t deadline);
/* TSC ticks to microseconds / nanoseconds. */
uint64_t tsc_to_us(uint64_t ticks);
uint64_t tsc_to_ns(uint64_t ticks);

#endif
