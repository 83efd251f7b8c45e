// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <unistd.h>

#include "helpers/parked_vcpu.h"

static void *loop(void *arg)
{
	struct parked_vcpu *p = arg;

	while (!vm_stopping(p->vm)) {
		vm_pause_point(p->vm, p->v);
		usleep(100);
	}
	return NULL;
}

void pv_start(struct parked_vcpu *p, struct vm *vm, struct vcpu *v)
{
	p->vm = vm;
	p->v = v;
	assert_int_equal(pthread_create(&p->thread, NULL, loop, p), 0);
}

static bool parked(struct vm *vm)
{
	unsigned int n;

	pthread_mutex_lock(&vm->stop_lock);
	n = vm->nr_parked;
	pthread_mutex_unlock(&vm->stop_lock);
	return n == 1;
}

void pv_pause(struct parked_vcpu *p)
{
	__atomic_store_n(&p->vm->pause_req, true, __ATOMIC_RELEASE);
	for (int i = 0; i < 5000 && !parked(p->vm); i++)
		usleep(1000);
	assert_true(parked(p->vm));
}

void pv_join(struct parked_vcpu *p)
{
	pthread_join(p->thread, NULL);
}
