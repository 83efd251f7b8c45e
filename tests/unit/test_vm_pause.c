// SPDX-License-Identifier: GPL-2.0
/*
 * vm_pause()/vm_resume() as the control API uses them, without KVM: the
 * state machine, and a thread standing in for a vCPU that parks in
 * vm_pause_point() and is let go by a resume or a stop.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "kvm/vcpu.h"
#include "kvm/vm.h"

#include "helpers/parked_vcpu.h"

static struct vm vm;

static int setup(void **state)
{
	vm_init_common(&vm);
	return 0;
}

static void test_states(void **state)
{
	assert_false(vm_paused(&vm));
	assert_int_equal(vm_resume(&vm), -EALREADY);
	assert_int_equal(vm_pause(&vm), 0);
	assert_true(vm_paused(&vm));
	assert_int_equal(vm_pause(&vm), -EALREADY);
	assert_int_equal(vm_resume(&vm), 0);
	assert_false(vm_paused(&vm));
	vm_stop(&vm, VM_STOP_POWEROFF, 0, "test");
	assert_int_equal(vm_pause(&vm), -ESHUTDOWN);
	assert_int_equal(vm_resume(&vm), -ESHUTDOWN);
}

static unsigned long loops;
static bool done;

/* A vCPU's loop without KVM_RUN. */
static void *fake_vcpu(void *arg)
{
	while (!vm_stopping(&vm)) {
		vm_pause_point(&vm, NULL);
		__atomic_add_fetch(&loops, 1, __ATOMIC_RELAXED);
		usleep(100);
	}
	__atomic_store_n(&done, true, __ATOMIC_RELEASE);
	return NULL;
}

static unsigned long loops_now(void)
{
	return __atomic_load_n(&loops, __ATOMIC_RELAXED);
}

static void test_parks(void **state)
{
	pthread_t t;
	unsigned long n;

	loops = 0;
	done = false;
	assert_int_equal(pthread_create(&t, NULL, fake_vcpu, NULL), 0);
	while (loops_now() < 10)
		usleep(100);
	assert_int_equal(vm_pause(&vm), 0);
	/* Wait until it parked: no vCPU is counted here, so poll. */
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&vm.stop_lock);
		n = vm.nr_parked;
		pthread_mutex_unlock(&vm.stop_lock);
		if (n)
			break;
		usleep(1000);
	}
	assert_int_equal(n, 1);
	n = loops_now();
	usleep(20 * 1000);
	assert_int_equal(loops_now(), n);
	assert_int_equal(vm_resume(&vm), 0);
	while (loops_now() < n + 10)
		usleep(100);
	/* Paused again, a stop lets it go and end. */
	assert_int_equal(vm_pause(&vm), 0);
	vm_stop(&vm, VM_STOP_SIGNAL, 143, "test");
	pthread_join(t, NULL);
	assert_true(done);
}

static struct vcpu fake;
static struct parked_vcpu fake_pv;

/* Where it ran, and what it returns: its argument's value. */
static ssize_t on_thread(struct vcpu *v, void *arg)
{
	assert_ptr_equal(v, &fake);
	assert_true(pthread_equal(pthread_self(), fake_pv.thread));
	return *(ssize_t *)arg;
}

static ssize_t call(ssize_t v)
{
	ssize_t ret;

	pthread_mutex_lock(&vm.stop_lock);
	ret = vm_vcpu_call(&vm, &fake, on_thread, &v);
	pthread_mutex_unlock(&vm.stop_lock);
	return ret;
}

/*
 * vm_vcpu_call(): run on the parked vCPU's own thread, paused or
 * unplugged; refused while it runs, and once the VM stops.
 */
static void test_call(void **state)
{
	fake = (struct vcpu){ .vm = &vm,
			      .plugged = true,
			      .thread_started = true };
	pv_start(&fake_pv, &vm, &fake);
	assert_int_equal(call(7), -EBUSY);
	pv_pause(&fake_pv);
	assert_int_equal(call(7), 7);
	assert_int_equal(call(-EIO), -EIO);
	assert_null(fake.call_fn);
	/* Running again but unplugged: parked all the same. */
	pthread_mutex_lock(&vm.stop_lock);
	__atomic_store_n(&fake.plugged, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm.stop_lock);
	assert_int_equal(vm_resume(&vm), 0);
	assert_int_equal(call(3), 3);
	vm_stop(&vm, VM_STOP_POWEROFF, 0, "test");
	assert_int_equal(call(3), -ESHUTDOWN);
	pv_join(&fake_pv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_states, setup),
		cmocka_unit_test_setup(test_parks, setup),
		cmocka_unit_test_setup(test_call, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
