/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A thread standing in for a vCPU without KVM, for the tests of what a
 * parked vCPU's own thread does (vm_vcpu_call(), core notes): it loops on
 * vm_pause_point() until the VM stops.
 */
#ifndef TESTS_UNIT_HELPERS_PARKED_VCPU_H
#define TESTS_UNIT_HELPERS_PARKED_VCPU_H

#include <pthread.h>

#include "kvm/vcpu.h"
#include "kvm/vm.h"

struct parked_vcpu {
	struct vm *vm;
	struct vcpu *v;
	pthread_t thread;
};

/* Starts @v's thread on @vm (@v's fields are the caller's). */
void pv_start(struct parked_vcpu *p, struct vm *vm, struct vcpu *v);
/*
 * Pauses the VM as vm_pause() would, without its kick (the thread has no
 * kvm_run to leave), and waits until the thread is parked.
 */
void pv_pause(struct parked_vcpu *p);
/* After the VM stopped: the thread has left. */
void pv_join(struct parked_vcpu *p);

#endif
