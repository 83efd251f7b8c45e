/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_STATS_H
#define DEVISOR_UTIL_STATS_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/*
 * With DEVISOR_STATS=1 in the environment, devisor prints one line of
 * figures to stderr when the VM stops, for bench/: the CLOCK_MONOTONIC time
 * of the first KVM_RUN, exit counts, and resident memory split into guest
 * RAM and devisor's own, and the ports and MMIO pages that exited most.
 */
void stats_report(struct vm *vm);

extern bool stats_on;
/*
 * A start-up milestone's CLOCK_MONOTONIC time (the first 16 calls),
 * printed as "marks=NAME:NS,..." for bench/startup to place against the
 * spawn. "ctor" is taken when the dynamic linker has run our constructors.
 */
void stats_mark(const char *name);
void stats_note_io(uint16_t port);
void stats_note_mmio(uint64_t gpa);

/* Event counters of the device models, printed by name. */
enum stats_counter {
	STATS_VIRTIO_KICKS, /* queue notifications handled */
	STATS_VIRTIO_IRQS, /* used-buffer interrupts sent */
	STATS_VIRTIO_POLLED, /* queue passes the I/O thread's poll started */
	STATS_VIRTIO_BATCHED, /* kicks of a deep queue held for more requests */
	STATS_BLK_REQS, /* virtio-blk requests taken from a ring */
	STATS_BLK_PASSES, /* virtio-blk passes over a ring */
	STATS_BLK_QUIET, /* ... that left kicks off with requests in flight */
	STATS_NR_COUNTERS
};

extern uint64_t stats_counters[STATS_NR_COUNTERS];

static inline void stats_add(enum stats_counter c, uint64_t n)
{
	if (stats_on)
		__atomic_fetch_add(&stats_counters[c], n, __ATOMIC_RELAXED);
}

/* Per-exit counts, only under DEVISOR_STATS (vCPU threads). */
static inline void stats_exit_io(uint16_t port)
{
	if (stats_on)
		stats_note_io(port);
}

static inline void stats_exit_mmio(uint64_t gpa)
{
	if (stats_on)
		stats_note_mmio(gpa);
}

#endif
