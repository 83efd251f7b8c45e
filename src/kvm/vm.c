// SPDX-License-Identifier: GPL-2.0
#include "kvm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "kvm/arch.h"
#include "kvm/irq.h"
#include "kvm/vcpu.h"
#include "util/common.h"
#include "util/log.h"

void vm_init_common(struct vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = -1;
	vm->vm_fd = -1;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	pthread_mutex_init(&vm->irq_lock, NULL);
	pthread_mutex_init(&vm->dev_slot_lock, NULL);
	pthread_mutex_init(&vm->ram_lock, NULL);
	pthread_mutex_init(&vm->coalesced_lock, NULL);
}

int vm_coalesce_pio(struct vm *vm, uint16_t port, uint32_t size)
{
	struct kvm_coalesced_mmio_zone zone = { .addr = port,
						.size = size,
						.pio = 1 };

	if (!vm->coalesced_ring)
		return -EOPNOTSUPP;
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0)
		return -EOPNOTSUPP;
	if (ioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		return -errno;
	return 0;
}

void vm_coalesced_flush(struct vm *vm)
{
	struct kvm_coalesced_mmio_ring *r = vm->coalesced_ring;
	uint32_t first, last;

	if (!r)
		return;
	pthread_mutex_lock(&vm->coalesced_lock);
	first = r->first;
	last = __atomic_load_n(&r->last, __ATOMIC_ACQUIRE);
	/* KVM keeps both below coalesced_max; never trust a ring blindly. */
	while (first != last && first < vm->coalesced_max &&
	       last < vm->coalesced_max) {
		struct kvm_coalesced_mmio *e = &r->coalesced_mmio[first];
		uint32_t len = e->len <= sizeof(e->data) ? e->len : 0;

		if (len)
			bus_write(e->pio ? &vm->pio : &vm->mmio, e->phys_addr,
				  e->data, len);
		first = (first + 1) % vm->coalesced_max;
		/* The slot is KVM's again once first passes it. */
		__atomic_store_n(&r->first, first, __ATOMIC_RELEASE);
		last = __atomic_load_n(&r->last, __ATOMIC_ACQUIRE);
	}
	pthread_mutex_unlock(&vm->coalesced_lock);
}

/* The ring is a page of vCPU 0's run area, at KVM's page offset. */
static void coalesced_ring_init(struct vm *vm)
{
	long page = sysconf(_SC_PAGESIZE);
	int off =
		ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);

	if (off <= 0 || page <= 0 ||
	    (long)(off + 1) * page > vm->vcpu_mmap_size)
		return;
	vm->coalesced_max =
		(unsigned int)(((unsigned long)page -
				sizeof(struct kvm_coalesced_mmio_ring)) /
			       sizeof(struct kvm_coalesced_mmio));
	vm->coalesced_ring =
		(void *)((uint8_t *)vm->vcpus[0]->run + (long)off * page);
}

static int set_slot(struct vm *vm, unsigned int slot, uint64_t gpa,
		    uint64_t size, void *hva, uint32_t flags)
{
	struct kvm_userspace_memory_region kr = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0 ? -errno :
								       0;
}

static int map_dev(struct vm *vm, uint64_t gpa, uint64_t size, void *hva,
		   uint32_t flags)
{
	int ret = -ENOSPC;

	if (!size || (gpa | size | (uintptr_t)hva) & 4095)
		return -EINVAL;
	pthread_mutex_lock(&vm->dev_slot_lock);
	for (unsigned int i = 0; i < VM_MAX_DEV_SLOTS; i++) {
		if (vm->dev_slots & (1ull << i))
			continue;
		ret = set_slot(vm, VM_DEV_SLOT_BASE + i, gpa, size, hva, flags);
		if (!ret) {
			vm->dev_slots |= 1ull << i;
			ret = VM_DEV_SLOT_BASE + i;
		}
		break;
	}
	pthread_mutex_unlock(&vm->dev_slot_lock);
	return ret;
}

int vm_map_device_memory(struct vm *vm, uint64_t gpa, uint64_t size, void *hva)
{
	return map_dev(vm, gpa, size, hva, 0);
}

int vm_map_device_rom(struct vm *vm, uint64_t gpa, uint64_t size, void *hva)
{
	if (!arch_rom_reads_coherent)
		return -EOPNOTSUPP;
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
		return -EOPNOTSUPP;
	return map_dev(vm, gpa, size, hva, KVM_MEM_READONLY);
}

/*
 * Tells the listeners of @r; on a refusal *@failed is the listener that
 * refused, those before it have taken @r. ram_lock held.
 */
static int ram_added(struct vm *vm, const struct mem_region *r,
		     struct ram_listener **failed)
{
	int ret = 0;

	for (*failed = vm->ram_listeners; *failed; *failed = (*failed)->next) {
		ret = (*failed)->add(*failed, r);
		if (ret)
			break;
	}
	return ret;
}

int vm_plug_ram(struct vm *vm, uint64_t bytes)
{
	struct mem_region r = { .size = bytes };
	struct ram_listener *failed;
	unsigned int slot = 0;
	int ret;

	if (bytes & 4095)
		return -EINVAL;
	pthread_mutex_lock(&vm->ram_lock);
	pthread_mutex_lock(&vm->dev_slot_lock);
	ret = guest_mem_grow(&vm->mem, bytes, &r.gpa, &r.hva);
	if (!ret && vm->nr_ram_slots == VM_MAX_RAM_SLOTS)
		ret = -ENOSPC;
	if (!ret) {
		slot = VM_RAM_SLOT_BASE + vm->nr_ram_slots;
		if (vm->vm_fd >= 0)
			ret = set_slot(vm, slot, r.gpa, bytes, r.hva, 0);
	}
	if (!ret)
		vm->nr_ram_slots++;
	pthread_mutex_unlock(&vm->dev_slot_lock);
	if (ret)
		goto out;
	/* Mapped for the vCPUs first, then for DMA: ours, then the others'. */
	guest_mem_publish(&vm->mem, bytes);
	ret = ram_added(vm, &r, &failed);
	if (ret) {
		guest_mem_retract(&vm->mem, bytes);
		for (struct ram_listener *l = vm->ram_listeners; l != failed;
		     l = l->next)
			l->del(l, &r);
		pthread_mutex_lock(&vm->dev_slot_lock);
		if (vm->vm_fd >= 0)
			set_slot(vm, slot, 0, 0, NULL, 0);
		vm->nr_ram_slots--;
		pthread_mutex_unlock(&vm->dev_slot_lock);
	}
out:
	pthread_mutex_unlock(&vm->ram_lock);
	return ret;
}

int vm_ram_listen(struct vm *vm, struct ram_listener *l)
{
	int ret;

	pthread_mutex_lock(&vm->ram_lock);
	ret = l->add(l, NULL);
	if (!ret) {
		l->next = vm->ram_listeners;
		vm->ram_listeners = l;
	}
	pthread_mutex_unlock(&vm->ram_lock);
	return ret;
}

bool vm_ram_pinned(struct vm *vm)
{
	bool pinned = false;

	pthread_mutex_lock(&vm->ram_lock);
	for (struct ram_listener *l = vm->ram_listeners; l && !pinned;
	     l = l->next)
		pinned = l->pins;
	pthread_mutex_unlock(&vm->ram_lock);
	return pinned;
}

int vm_discard_ram(struct vm *vm, uint8_t *hva, uint64_t len)
{
	const struct guest_mem *m = &vm->mem;
	int ret;

	if (!len)
		return 0;
	if (vm_ram_pinned(vm))
		return -EBUSY;
	if (m->fd >= 0)
		ret = fallocate(m->fd,
				FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				hva - m->base, len);
	else
		ret = madvise(hva, len, MADV_DONTNEED);
	return ret < 0 ? -errno : 0;
}

static int watch_add(struct ram_listener *l, const struct mem_region *r)
{
	struct ram_watch *w = container_of(l, struct ram_watch, l);

	if (r)
		w->changed(w->opaque, r->gpa, r->size, true);
	return 0;
}

static void watch_del(struct ram_listener *l, const struct mem_region *r)
{
	struct ram_watch *w = container_of(l, struct ram_watch, l);

	w->changed(w->opaque, r->gpa, r->size, false);
}

void vm_ram_watch(struct vm *vm, struct ram_watch *w, ram_changed_fn *changed,
		  void *opaque)
{
	*w = (struct ram_watch){ .l = { .add = watch_add, .del = watch_del },
				 .changed = changed,
				 .opaque = opaque };
	/* The first call does nothing, so this cannot fail. */
	vm_ram_listen(vm, &w->l);
}

void vm_ram_unlisten(struct vm *vm, struct ram_listener *l)
{
	pthread_mutex_lock(&vm->ram_lock);
	for (struct ram_listener **pp = &vm->ram_listeners; *pp;
	     pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	pthread_mutex_unlock(&vm->ram_lock);
}

void vm_unmap_device_memory(struct vm *vm, int slot)
{
	unsigned int i = slot - VM_DEV_SLOT_BASE;

	if (slot < VM_DEV_SLOT_BASE || i >= VM_MAX_DEV_SLOTS)
		return;
	pthread_mutex_lock(&vm->dev_slot_lock);
	if (vm->dev_slots & (1ull << i)) {
		/* A zero size deletes the slot. */
		int ret = set_slot(vm, slot, 0, 0, NULL, 0);

		if (ret)
			pr_warn("KVM: cannot delete memory slot %d: %s", slot,
				strerror(-ret));
		vm->dev_slots &= ~(1ull << i);
	}
	pthread_mutex_unlock(&vm->dev_slot_lock);
}

static void irq_line_to_vm(struct irq_line *line, int level)
{
	struct vm *vm = line->opaque;

	vm->irq_set(vm, line->gsi, level);
}

static void irq_set_nowhere(struct vm *vm, unsigned int gsi, int level)
{
}

void vm_irq_line_init(struct vm *vm, struct irq_line *line, unsigned int gsi)
{
	if (!vm->irq_set)
		vm->irq_set = irq_set_nowhere;
	*line = (struct irq_line){ .set = irq_line_to_vm,
				   .opaque = vm,
				   .gsi = gsi };
}

void vm_stop(struct vm *vm, enum vm_stop_reason reason, int exit_status,
	     const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason == VM_RUNNING) {
		vm->stop_reason = reason;
		vm->exit_status = exit_status;
		va_start(ap, fmt);
		vsnprintf(vm->stop_message, sizeof(vm->stop_message), fmt, ap);
		va_end(ap);
		pthread_cond_broadcast(&vm->stop_cond);
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

int vm_inject_nmi(struct vm *vm)
{
	int ret = 0;

	if (!arch_has_nmi)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason != VM_RUNNING || !vm->vcpus)
		ret = -ESHUTDOWN;
	for (unsigned int i = 0; !ret && i < vm->nr_cpus; i++) {
		/* An unplugged vCPU is not the guest's. */
		if (vm->vcpus[i] && vm->vcpus[i]->plugged)
			vcpu_request_nmi(vm->vcpus[i]);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	return ret;
}

void vm_dump_vcpus(struct vm *vm)
{
	uint64_t end = monotonic_ns() + 1000000000ull;
	struct timespec tick = { .tv_nsec = 10000000 };
	unsigned int asked = 0;

	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason != VM_RUNNING || !vm->vcpus) {
		pthread_mutex_unlock(&vm->stop_lock);
		return;
	}
	if (vm->pause_req) {
		pthread_mutex_unlock(&vm->stop_lock);
		pr_warn("state of the vCPUs, as asked (SIGUSR2): the VM is "
			"paused, its vCPUs are parked outside KVM_RUN");
		return;
	}
	pr_warn("state of the %u vCPU(s), as asked (SIGUSR2)", vm->nr_cpus);
	for (unsigned int i = 0; i < vm->nr_cpus; i++) {
		/* An unplugged vCPU is parked: nothing to tell. */
		if (vm->vcpus[i] && vm->vcpus[i]->thread_started &&
		    vm->vcpus[i]->plugged) {
			vcpu_request_dump(vm->vcpus[i]);
			asked++;
		}
	}
	pthread_mutex_unlock(&vm->stop_lock);
	/*
	 * Not under stop_lock, which a vCPU may need to stop the VM; the
	 * caller keeps the vCPUs from being freed (a stopping VM's are
	 * joined, not freed, so their flags stay readable).
	 */
	while (asked && monotonic_ns() < end && !vm_stopping(vm)) {
		unsigned int left = 0;

		for (unsigned int i = 0; i < vm->nr_cpus; i++)
			if (vm->vcpus[i] && !vcpu_dump_answered(vm->vcpus[i]))
				left++;
		if (!left)
			return;
		nanosleep(&tick, NULL);
	}
	for (unsigned int i = 0; i < vm->nr_cpus && !vm_stopping(vm); i++) {
		struct vcpu *v = vm->vcpus[i];
		char what[64];

		if (!v || !v->plugged || vcpu_dump_answered(v))
			continue;
		vcpu_describe_exit(v, what, sizeof(what));
		pr_warn("vCPU %u: no answer in 1 s: busy inside devisor (last "
			"exit: %s)",
			i, what);
	}
}

int vm_pause(struct vm *vm)
{
	unsigned int started = 0;
	int ret = 0;

	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason != VM_RUNNING) {
		ret = -ESHUTDOWN;
	} else if (vm->pause_req) {
		ret = -EALREADY;
	} else {
		__atomic_store_n(&vm->pause_req, true, __ATOMIC_RELEASE);
		for (unsigned int i = 0; i < vm->nr_cpus; i++) {
			if (vm->vcpus && vm->vcpus[i] &&
			    vm->vcpus[i]->thread_started) {
				vcpu_kick(vm->vcpus[i]);
				started++;
			}
		}
		while (vm->nr_parked < started && vm->stop_reason == VM_RUNNING)
			pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
		if (vm->stop_reason != VM_RUNNING)
			ret = -ESHUTDOWN;
		else
			arch_clock_save(vm);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	return ret;
}

int vm_resume(struct vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason != VM_RUNNING) {
		ret = -ESHUTDOWN;
	} else if (!vm->pause_req) {
		ret = -EALREADY;
	} else {
		arch_clock_restore(vm);
		__atomic_store_n(&vm->pause_req, false, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&vm->stop_cond);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	return ret;
}

bool vm_paused(struct vm *vm)
{
	return __atomic_load_n(&vm->pause_req, __ATOMIC_ACQUIRE);
}

/* Parked: the VM is paused, or this vCPU is unplugged. stop_lock held. */
static bool must_park(struct vm *vm, const bool *plugged)
{
	return (vm->pause_req || (plugged && !*plugged)) &&
	       vm->stop_reason == VM_RUNNING;
}

void vm_pause_point(struct vm *vm, struct vcpu *v)
{
	const bool *plugged = v ? &v->plugged : NULL;

	if (!__atomic_load_n(&vm->pause_req, __ATOMIC_ACQUIRE) &&
	    (!plugged || __atomic_load_n(plugged, __ATOMIC_ACQUIRE)))
		return;
	pthread_mutex_lock(&vm->stop_lock);
	if (must_park(vm, plugged)) {
		vm->nr_parked++;
		pthread_cond_broadcast(&vm->stop_cond);
		while (must_park(vm, plugged)) {
			/* Outside KVM_RUN: its registers hold still. */
			if (v && v->call_fn) {
				v->call_ret = v->call_fn(v, v->call_arg);
				v->call_fn = NULL;
				pthread_cond_broadcast(&vm->stop_cond);
				continue;
			}
			pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
		}
		vm->nr_parked--;
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

ssize_t vm_vcpu_call(struct vm *vm, struct vcpu *v,
		     ssize_t (*fn)(struct vcpu *v, void *arg), void *arg)
{
	if (vm->stop_reason != VM_RUNNING || !v->thread_started)
		return -ESHUTDOWN;
	if (!vm->pause_req && v->plugged)
		return -EBUSY;
	v->call_fn = fn;
	v->call_arg = arg;
	pthread_cond_broadcast(&vm->stop_cond);
	while (v->call_fn && vm->stop_reason == VM_RUNNING)
		pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
	if (v->call_fn) {
		v->call_fn = NULL;
		return -ESHUTDOWN;
	}
	return v->call_ret;
}

struct notes_req {
	uint8_t *buf;
	size_t len;
};

static ssize_t notes_call(struct vcpu *v, void *arg)
{
	struct notes_req *r = arg;

	return arch_vcpu_core_notes(v, r->buf, r->len);
}

ssize_t vm_vcpu_core_notes(struct vm *vm, uint8_t *buf, size_t len)
{
	size_t off = 0;
	ssize_t ret = 0;

	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason != VM_RUNNING || !vm->vcpus)
		ret = -ESHUTDOWN;
	else if (!vm->pause_req)
		ret = -EBUSY;
	for (unsigned int i = 0; !ret && i < vm->nr_cpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		struct notes_req r = { buf + off, len - off };

		/* An unplugged vCPU is not the guest's. */
		if (!v || !v->thread_started || !v->plugged)
			continue;
		if (len - off < ARCH_CORE_NOTES_MAX) {
			ret = -ENOSPC;
			break;
		}
		ret = vm_vcpu_call(vm, v, notes_call, &r);
		if (ret >= 0) {
			off += ret;
			ret = 0;
		}
	}
	pthread_mutex_unlock(&vm->stop_lock);
	return ret ? ret : (ssize_t)off;
}

int vm_set_plugged(struct vm *vm, unsigned int id, bool plugged)
{
	struct vcpu *v;

	if (!vm->vcpus || id >= vm->nr_cpus || !vm->vcpus[id])
		return -EINVAL;
	v = vm->vcpus[id];
	pthread_mutex_lock(&vm->stop_lock);
	__atomic_store_n(&v->plugged, plugged, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
	/* Out of KVM_RUN (the guest left it halted) and into the park. */
	if (!plugged)
		vcpu_kick(v);
	return 0;
}

unsigned int vm_plugged_vcpus(struct vm *vm)
{
	unsigned int n = 0;

	for (unsigned int i = 0; vm->vcpus && i < vm->nr_cpus; i++)
		n += vm->vcpus[i] &&
		     __atomic_load_n(&vm->vcpus[i]->plugged, __ATOMIC_ACQUIRE);
	return n;
}

bool vm_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) !=
	       VM_RUNNING;
}

static void irq_set_kvm(struct vm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = { .irq = arch_irq_line(gsi),
				     .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		pr_warn_ratelimited("KVM_IRQ_LINE gsi %u: %s", gsi,
				    strerror(errno));
}

static int open_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	switch (errno) {
	case ENOENT:
		pr_err("/dev/kvm does not exist: KVM is not available on this "
		       "host (load kvm-intel or kvm-amd, or enable "
		       "virtualization in the firmware)");
		break;
	case EACCES:
	case EPERM:
		pr_err("no permission to open /dev/kvm: add this user to the "
		       "'kvm' group or run as root");
		break;
	default:
		pr_err("cannot open /dev/kvm: %s", strerror(errno));
	}
	return -1;
}

static const struct arch_kvm_cap required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "user memory slots" },
	{ KVM_CAP_IMMEDIATE_EXIT, "immediate exit" },
	{ KVM_CAP_IRQ_ROUTING, "GSI routing" },
	{ KVM_CAP_IRQFD, "irqfd" },
	{ KVM_CAP_IOEVENTFD, "ioeventfd" },
};

static int check_caps(struct vm *vm, const struct arch_kvm_cap *caps,
		      unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			pr_err("KVM lacks a required capability: %s",
			       caps[i].name);
			return -ENODEV;
		}
	}
	return 0;
}

int vm_create(struct vm *vm, unsigned int nr_cpus, uint64_t ram_size,
	      uint64_t hotplug_size, unsigned int flags)
{
	int ret, api;

	vm_init_common(vm);
	vm->irq_set = irq_set_kvm;
	vm->split_irqchip = flags & VM_SPLIT_IRQCHIP;
	vm->kvm_fd = open_kvm();
	if (vm->kvm_fd < 0)
		return -ENODEV;
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		pr_err("/dev/kvm speaks API version %d, devisor needs %d", api,
		       KVM_API_VERSION);
		return -ENODEV;
	}
	if (check_caps(vm, arch_kvm_caps, arch_nr_kvm_caps) ||
	    check_caps(vm, required_caps,
		       sizeof(required_caps) / sizeof(required_caps[0])))
		return -ENODEV;
	do
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0) {
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size <= 0) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -ENODEV;
	}

	ret = guest_mem_init_hotplug(&vm->mem, ram_size, hotplug_size,
				     flags & VM_SHARED_RAM);
	if (ret == -EOPNOTSUPP) {
		pr_err("memory hotplug (hotplug_size) is not on this board");
		return ret;
	}
	if (ret) {
		pr_err("cannot allocate %llu MiB of guest RAM: %s",
		       (unsigned long long)(ram_size >> 20), strerror(-ret));
		return ret;
	}
	for (unsigned int i = 0; i < vm->mem.nr; i++) {
		struct mem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region kr = {
			.slot = r->slot,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0) {
			pr_err("KVM_SET_USER_MEMORY_REGION %#llx+%#llx: %s",
			       (unsigned long long)r->gpa,
			       (unsigned long long)r->size, strerror(errno));
			return -errno;
		}
	}

	ret = arch_vm_setup(vm);
	if (ret)
		return ret;

	vm->nr_cpus = nr_cpus;
	vm->vcpus = calloc(vm->nr_cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < vm->nr_cpus; i++) {
		ret = vcpu_create(vm, i, &vm->vcpus[i]);
		if (ret)
			return ret;
	}
	if (vm->nr_cpus)
		coalesced_ring_init(vm);
	return 0;
}

int vm_start(struct vm *vm)
{
	vcpu_signals_init();
	for (unsigned int i = 0; i < vm->nr_cpus; i++) {
		int ret = vcpu_start(vm->vcpus[i]);

		if (ret) {
			vm_stop(vm, VM_STOP_ERROR, 1, "cannot start vCPUs");
			vm_wait(vm);
			return ret;
		}
	}
	return 0;
}

void vm_wait(struct vm *vm)
{
	pthread_mutex_lock(&vm->stop_lock);
	while (vm->stop_reason == VM_RUNNING)
		pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
	pthread_mutex_unlock(&vm->stop_lock);

	for (unsigned int i = 0; i < vm->nr_cpus; i++)
		if (vm->vcpus[i])
			vcpu_kick(vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->nr_cpus; i++)
		if (vm->vcpus[i])
			vcpu_join(vm->vcpus[i]);
}

void vm_destroy(struct vm *vm)
{
	vm->coalesced_ring = NULL; /* in vCPU 0's run area */
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->nr_cpus; i++)
			vcpu_destroy(vm->vcpus[i]);
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	devices_destroy(vm);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
	guest_mem_destroy(&vm->mem);
	free(vm->routing);
	vm->routing = NULL;
	free(vm->msi_src);
	vm->msi_src = NULL;
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
}
