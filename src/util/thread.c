// SPDX-License-Identifier: GPL-2.0
#include "util/thread.h"

#include <signal.h>

int helper_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg,
			 const char *name)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE,
				      SIGABRT };
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	for (unsigned int i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&all, faults[i]);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ret)
		pthread_setname_np(*thread, name);
	return ret;
}
