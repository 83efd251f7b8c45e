/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_THREAD_H
#define DEVISOR_UTIL_THREAD_H

#include <pthread.h>

/*
 * Starts a device's or back-end's helper thread named @name (at most 15
 * characters show) with every signal blocked but the faults (SEGV, BUS,
 * ILL, FPE, ABRT): signals belong to the main and vCPU threads, whose
 * kicks and shutdown must never land in a timer or console thread.
 * 0, or a positive errno as pthread_create() returns.
 */
int helper_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg,
			 const char *name);

#endif
