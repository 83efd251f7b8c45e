/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_STATS_H
#define DEVISOR_UTIL_STATS_H

struct vm;

/*
 * With DEVISOR_STATS=1 in the environment, devisor prints one line of
 * figures to stderr when the VM stops, for bench/: the CLOCK_MONOTONIC time
 * of the first KVM_RUN, exit counts, and resident memory split into guest
 * RAM and devisor's own.
 */
void stats_report(struct vm *vm);

#endif
