/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_KVM_VCPU_H
#define DEVISOR_KVM_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vm;
struct kvm_run;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	/*
	 * The guest has this vCPU (ACPI CPU hotplug): only then does its
	 * thread enter KVM_RUN; unplugged, it parks (vm_pause_point()), so
	 * a guest cannot run on a CPU it was not given. vm_set_plugged().
	 */
	bool plugged;
	/* A state report asked for (vcpu_request_dump()), not yet given. */
	bool dump_req;
	/* An NMI asked for (vcpu_request_nmi()), not yet queued in KVM. */
	bool nmi_req;
	/*
	 * Work asked of the parked vCPU's own thread (vm_vcpu_call()):
	 * @call_fn(this, @call_arg) run there, its result in @call_ret,
	 * @call_fn cleared. Under the VM's stop_lock.
	 */
	ssize_t (*call_fn)(struct vcpu *v, void *arg);
	void *call_arg;
	ssize_t call_ret;
	/* Exit counters, read by benchmarks. */
	uint64_t exits_io, exits_mmio;
};

int vcpu_create(struct vm *vm, unsigned int id, struct vcpu **out);
void vcpu_destroy(struct vcpu *vcpu);
int vcpu_start(struct vcpu *vcpu);
/* Forces the vCPU out of KVM_RUN so it notices the VM is stopping. */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
/*
 * Asks the vCPU to log its state (arch_vcpu_describe()) at its next exit;
 * vcpu_dump_answered() tells whether it has.
 */
void vcpu_request_dump(struct vcpu *vcpu);
/* Has the vCPU queue an NMI (arch_vcpu_nmi()) at its next exit. */
void vcpu_request_nmi(struct vcpu *vcpu);
bool vcpu_dump_answered(struct vcpu *vcpu);
/* For one that did not answer: the exit it is handling, as text. */
void vcpu_describe_exit(struct vcpu *vcpu, char *buf, size_t len);

/* Installs the no-op kick signal handler; once per process. */
void vcpu_signals_init(void);

#endif
