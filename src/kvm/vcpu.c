// SPDX-License-Identifier: GPL-2.0
#include "kvm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvm/arch.h"
#include "kvm/vm.h"
#include "util/log.h"
#include "util/sandbox.h"
#include "util/stats.h"

#define SIG_VCPU_KICK SIGUSR1

static void kick_handler(int sig)
{
	(void)sig;
}

void vcpu_signals_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	/* No SA_RESTART: KVM_RUN must return -EINTR on a kick. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIG_VCPU_KICK, &sa, NULL);
}

int vcpu_create(struct vm *vm, unsigned int id, struct vcpu **out)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	int err;

	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->id = id;
	v->plugged = true;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		err = -errno;
		pr_err("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		free(v);
		return err;
	}
	v->run = mmap(NULL, vm->vcpu_mmap_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		err = -errno;
		pr_err("mmap of vCPU %u run area: %s", id, strerror(errno));
		close(v->fd);
		free(v);
		return err;
	}
	*out = v;
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	munmap(v->run, v->vm->vcpu_mmap_size);
	close(v->fd);
	free(v);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned int size = run->io.size;

	/* KVM owns count/data_offset; still, stay inside the run page. */
	if ((uint64_t)run->io.data_offset + (uint64_t)size * run->io.count >
	    (uint64_t)v->vm->vcpu_mmap_size)
		return;
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&v->vm->pio, run->io.port, data, size);
		else
			bus_read(&v->vm->pio, run->io.port, data, size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned int len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (run->mmio.is_write)
		bus_write(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			  len);
	else
		bus_read(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			 len);
}

static const char *internal_suberror_name(uint32_t sub)
{
	switch (sub) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "event delivery failed";
	default:
		return "unknown";
	}
}

/* Returns false when the vCPU must stop running. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct vm *vm = v->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		v->exits_io++;
		stats_exit_io(v->run->io.port);
		handle_io(v);
		return true;
	case KVM_EXIT_IOAPIC_EOI:
		/* Split irqchip: a level-triggered vector of our IOAPIC. */
		if (vm->ioapic_eoi)
			vm->ioapic_eoi(vm, run->eoi.vector);
		return true;
	case KVM_EXIT_MMIO:
		v->exits_mmio++;
		stats_exit_mmio(v->run->mmio.phys_addr);
		handle_mmio(v);
		return true;
	case KVM_EXIT_HLT:
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vm_stop(vm, VM_STOP_TRIPLE_FAULT, 1,
			"guest triple fault (vCPU %u, %s %#llx)", v->id,
			arch_pc_name, (unsigned long long)arch_vcpu_pc(v));
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_stop(vm, VM_STOP_INTERNAL_ERROR, 1,
			"KVM internal error on vCPU %u: suberror %u (%s), "
			"%s %#llx",
			v->id, run->internal.suberror,
			internal_suberror_name(run->internal.suberror),
			arch_pc_name, (unsigned long long)arch_vcpu_pc(v));
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vm_stop(vm, VM_STOP_INTERNAL_ERROR, 1,
			"KVM entry failure on vCPU %u: hardware reason %#llx",
			v->id,
			(unsigned long long)
				run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_stop(vm, VM_STOP_POWEROFF, 0, "guest powered off");
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vm_stop(vm, VM_STOP_RESET, 0, "guest requested reset");
			break;
		default:
			vm_stop(vm, VM_STOP_INTERNAL_ERROR, 1,
				"guest crashed (system event %u) on vCPU %u",
				run->system_event.type, v->id);
		}
		return false;
	default:
		vm_stop(vm, VM_STOP_INTERNAL_ERROR, 1,
			"unexpected KVM exit %u on vCPU %u at %s %#llx",
			run->exit_reason, v->id, arch_pc_name,
			(unsigned long long)arch_vcpu_pc(v));
		return false;
	}
}

static void dump(struct vcpu *v)
{
	char buf[768];

	arch_vcpu_describe(v, buf, sizeof(buf));
	pr_warn("vCPU %u: %s; exits to devisor: %llu port I/O, %llu MMIO",
		v->id, buf, (unsigned long long)v->exits_io,
		(unsigned long long)v->exits_mmio);
	__atomic_store_n(&v->dump_req, false, __ATOMIC_RELEASE);
}

static void nmi(struct vcpu *v)
{
	int ret = arch_vcpu_nmi(v);

	if (ret)
		pr_warn_ratelimited("vCPU %u: NMI not injected: %s", v->id,
				    strerror(-ret));
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];
	sigset_t set;
	int ret;

	/* Only the kick signal reaches vCPU threads. */
	sigfillset(&set);
	sigdelset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	sandbox_apply(SANDBOX_VCPU, name);

	if (v->id == 0)
		v->vm->first_run_ns = monotonic_ns();
	while (!vm_stopping(v->vm)) {
		vm_pause_point(v->vm, v);
		ret = ioctl(v->fd, KVM_RUN, 0);
		/* Queued writes first: they came before this exit. */
		vm_coalesced_check(v->vm);
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/*
				 * Full fence: the clear must be seen before we
				 * read pause_req and dump_req, or a kick that
				 * lands now has its flag read stale and its
				 * immediate_exit overwritten (store-load order).
				 */
				__atomic_store_n(&v->run->immediate_exit, 0,
						 __ATOMIC_SEQ_CST);
				__atomic_thread_fence(__ATOMIC_SEQ_CST);
				/* Between instructions: nothing half done. */
				if (__atomic_load_n(&v->dump_req,
						    __ATOMIC_ACQUIRE))
					dump(v);
				if (__atomic_exchange_n(&v->nmi_req, false,
							__ATOMIC_ACQ_REL))
					nmi(v);
				continue;
			}
			vm_stop(v->vm, VM_STOP_INTERNAL_ERROR, 1,
				"KVM_RUN on vCPU %u failed: %s", v->id,
				strerror(errno));
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	char name[16];
	int err = pthread_create(&v->thread, NULL, vcpu_thread, v);

	if (err) {
		pr_err("cannot start vCPU %u thread: %s", v->id, strerror(err));
		return -err;
	}
	__atomic_store_n(&v->thread_started, true, __ATOMIC_RELEASE);
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(v->thread, name);
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	/*
	 * Covers a kick that lands just before the thread enters KVM_RUN;
	 * seq_cst pairs with the fence after the thread clears it.
	 */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(v->thread, SIG_VCPU_KICK);
}

void vcpu_request_nmi(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	__atomic_store_n(&v->nmi_req, true, __ATOMIC_RELEASE);
	vcpu_kick(v);
}

void vcpu_request_dump(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	__atomic_store_n(&v->dump_req, true, __ATOMIC_RELEASE);
	vcpu_kick(v);
}

bool vcpu_dump_answered(struct vcpu *v)
{
	return !__atomic_load_n(&v->dump_req, __ATOMIC_ACQUIRE);
}

void vcpu_describe_exit(struct vcpu *v, char *buf, size_t len)
{
	/* Racy by nature: the vCPU may be moving on as we read. */
	const volatile struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf, len, "port I/O %s %#x",
			 run->io.direction == KVM_EXIT_IO_OUT ? "write" :
								"read",
			 run->io.port);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf, len, "MMIO %s %#llx",
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr);
		break;
	default:
		snprintf(buf, len, "KVM exit %u", run->exit_reason);
	}
}

void vcpu_join(struct vcpu *v)
{
	if (v->thread_started) {
		pthread_join(v->thread, NULL);
		v->thread_started = false;
	}
}
