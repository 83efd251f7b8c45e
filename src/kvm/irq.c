// SPDX-License-Identifier: GPL-2.0
#include "kvm/irq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvm/arch.h"
#include "kvm/vm.h"
#include "util/log.h"

#define MAX_GSI 256

/* What a requester asked an MSI route for; the route KVM holds may differ. */
struct vm_msi_src {
	bool used;
	bool blocked; /* the remapper refused it: no KVM route */
	int sid;
	uint64_t addr;
	uint32_t data;
};

static struct kvm_irq_routing *routing_alloc(unsigned int n)
{
	struct kvm_irq_routing *r =
		calloc(1, sizeof(*r) + n * sizeof(r->entries[0]));

	if (r)
		r->nr = 0;
	return r;
}

static void gsi_mark(struct vm *vm, unsigned int gsi, bool used)
{
	if (used)
		vm->gsi_used[gsi / 64] |= 1ull << (gsi % 64);
	else
		vm->gsi_used[gsi / 64] &= ~(1ull << (gsi % 64));
}

/*
 * KVM's own routes, which MSI routes are added to; their GSIs are taken,
 * and so are the board's reserved ones.
 */
static int routing_init(struct vm *vm)
{
	struct kvm_irq_routing *r;

	if (vm->routing)
		return 0;
	r = routing_alloc(MAX_GSI + ARCH_MAX_IRQ_ROUTES);
	vm->msi_src = calloc(MAX_GSI, sizeof(*vm->msi_src));
	if (!r || !vm->msi_src) {
		free(r);
		free(vm->msi_src);
		vm->msi_src = NULL;
		return -ENOMEM;
	}
	r->nr = vm->split_irqchip ? 0 : arch_irq_default_routes(r->entries);
	for (unsigned int i = 0; i < r->nr; i++)
		if (r->entries[i].gsi < MAX_GSI)
			gsi_mark(vm, r->entries[i].gsi, true);
	for (unsigned int g = 0; g < vm->nr_reserved_gsis && g < MAX_GSI; g++)
		gsi_mark(vm, g, true);
	vm->routing = r;
	return 0;
}

/* The device id KVM gets with an MSI from @sid, or -1 for none. */
static int msi_devid(const struct vm *vm, int sid)
{
	return vm->msi_devid && sid != IRQ_SID_NONE ? sid : -1;
}

static void set_msi(struct kvm_irq_routing_entry *e, unsigned int gsi,
		    uint64_t addr, uint32_t data, int devid)
{
	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = (uint32_t)addr,
			   .address_hi = (uint32_t)(addr >> 32),
			   .data = data },
	};
	if (devid >= 0) {
		e->flags = KVM_MSI_VALID_DEVID;
		e->u.msi.devid = (uint32_t)devid;
	}
}

/* Through the remapper, if any: 0, or its fault reason. */
static int remap(struct vm *vm, const struct vm_msi_src *src, uint64_t *addr,
		 uint32_t *data, bool record)
{
	*addr = src->addr;
	*data = src->data;
	if (!vm->msi_remap || src->sid == IRQ_SID_NONE)
		return 0;
	return vm->msi_remap(vm->msi_remap_opaque, src->sid, addr, data,
			     record);
}

/*
 * The table KVM gets: the architecture's routes, then every MSI route's
 * message as remapped now. KVM_SET_GSI_ROUTING replaces the whole table.
 */
static int routing_commit(struct vm *vm)
{
	struct kvm_irq_routing *r = vm->routing;

	r->nr = vm->split_irqchip ? 0 : arch_irq_default_routes(r->entries);
	for (unsigned int g = 0; g < MAX_GSI; g++) {
		struct vm_msi_src *src = &vm->msi_src[g];
		uint64_t addr;
		uint32_t data;

		if (!src->used)
			continue;
		src->blocked = remap(vm, src, &addr, &data, false) != 0;
		if (!src->blocked)
			set_msi(&r->entries[r->nr++], g, addr, data,
				msi_devid(vm, src->sid));
	}
	if (vm->vm_fd < 0)
		return 0; /* a unit test's VM: the table is all there is */
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0) {
		int err = -errno;

		pr_err("KVM_SET_GSI_ROUTING (%u entries): %s", r->nr,
		       strerror(errno));
		return err;
	}
	return 0;
}

/* Sets @gsi's source and commits; on failure the old one is back. */
static int src_set(struct vm *vm, unsigned int gsi, int sid, uint64_t addr,
		   uint32_t data)
{
	struct vm_msi_src *src = &vm->msi_src[gsi], old = *src;
	int ret;

	if (old.used && old.sid == sid && old.addr == addr && old.data == data)
		return 0;
	*src = (struct vm_msi_src){
		.used = true, .sid = sid, .addr = addr, .data = data
	};
	ret = routing_commit(vm);
	if (ret) {
		*src = old;
		routing_commit(vm);
	}
	return ret;
}

int vm_msi_route_add(struct vm *vm, int sid, uint64_t addr, uint32_t data)
{
	int gsi = -ENOSPC, ret;

	pthread_mutex_lock(&vm->irq_lock);
	ret = routing_init(vm);
	if (ret) {
		gsi = ret;
		goto out;
	}
	for (unsigned int g = 0; g < MAX_GSI; g++) {
		if (!(vm->gsi_used[g / 64] & (1ull << (g % 64)))) {
			gsi = g;
			break;
		}
	}
	if (gsi < 0)
		goto out;
	ret = src_set(vm, gsi, sid, addr, data);
	if (ret) {
		vm->msi_src[gsi].used = false;
		gsi = ret;
		goto out;
	}
	gsi_mark(vm, gsi, true);
out:
	pthread_mutex_unlock(&vm->irq_lock);
	return gsi;
}

int vm_msi_route_update(struct vm *vm, unsigned int gsi, int sid, uint64_t addr,
			uint32_t data)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&vm->irq_lock);
	if (vm->routing && gsi < MAX_GSI && gsi >= vm->nr_reserved_gsis &&
	    vm->msi_src[gsi].used)
		ret = src_set(vm, gsi, sid, addr, data);
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

void vm_msi_route_remove(struct vm *vm, unsigned int gsi)
{
	pthread_mutex_lock(&vm->irq_lock);
	if (vm->routing && gsi < MAX_GSI && gsi >= vm->nr_reserved_gsis &&
	    vm->msi_src[gsi].used) {
		vm->msi_src[gsi].used = false;
		gsi_mark(vm, gsi, false);
		routing_commit(vm);
	}
	pthread_mutex_unlock(&vm->irq_lock);
}

void vm_irq_reserve_gsis(struct vm *vm, unsigned int n)
{
	pthread_mutex_lock(&vm->irq_lock);
	vm->nr_reserved_gsis = n < MAX_GSI ? n : MAX_GSI;
	pthread_mutex_unlock(&vm->irq_lock);
}

int vm_msi_route_set(struct vm *vm, unsigned int gsi, int sid, uint64_t addr,
		     uint32_t data)
{
	int ret;

	pthread_mutex_lock(&vm->irq_lock);
	ret = routing_init(vm);
	if (!ret)
		ret = gsi < vm->nr_reserved_gsis ?
			      src_set(vm, gsi, sid, addr, data) :
			      -EINVAL;
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

void vm_msi_route_fire(struct vm *vm, unsigned int gsi)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = 1 };
	struct vm_msi_src *src;
	uint64_t addr;
	uint32_t data;

	pthread_mutex_lock(&vm->irq_lock);
	if (!vm->routing || gsi >= vm->nr_reserved_gsis ||
	    !vm->msi_src[gsi].used)
		goto out;
	src = &vm->msi_src[gsi];
	if (src->blocked) {
		/* The fault belongs to this request; a fixed table is taken. */
		if (remap(vm, src, &addr, &data, true))
			goto out;
		routing_commit(vm);
	}
	if (vm->vm_fd < 0) {
		if (vm->irq_ops && vm->irq_ops->signal_msi) {
			remap(vm, src, &addr, &data, false);
			vm->irq_ops->signal_msi(vm, IRQ_SID_NONE, addr, data);
		}
	} else if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0) {
		pr_warn_ratelimited("KVM_IRQ_LINE gsi %u: %s", gsi,
				    strerror(errno));
	}
out:
	pthread_mutex_unlock(&vm->irq_lock);
}

void vm_set_msi_remap(struct vm *vm, vm_msi_remap_fn *fn, void *opaque)
{
	pthread_mutex_lock(&vm->irq_lock);
	vm->msi_remap = fn;
	vm->msi_remap_opaque = opaque;
	pthread_mutex_unlock(&vm->irq_lock);
}

void vm_msi_remap_changed(struct vm *vm)
{
	pthread_mutex_lock(&vm->irq_lock);
	if (vm->routing)
		routing_commit(vm);
	pthread_mutex_unlock(&vm->irq_lock);
}

int vm_irqfd_assign(struct vm *vm, int efd, unsigned int gsi)
{
	struct kvm_irqfd irqfd = { .fd = efd, .gsi = gsi };

	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		pr_err("KVM_IRQFD gsi %u: %s", gsi, strerror(errno));
		return -errno;
	}
	return 0;
}

int vm_irqfd_assign_resample(struct vm *vm, int efd, int resample_fd,
			     unsigned int gsi)
{
	struct kvm_irqfd irqfd = { .fd = efd,
				   .gsi = gsi,
				   .flags = KVM_IRQFD_FLAG_RESAMPLE,
				   .resamplefd = resample_fd };

	/* KVM resamples at its own IOAPIC's EOI only. */
	if (vm->split_irqchip)
		return -EOPNOTSUPP;

	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		pr_err("KVM_IRQFD gsi %u (resample): %s", gsi, strerror(errno));
		return -errno;
	}
	return 0;
}

int vm_irqfd_deassign(struct vm *vm, int efd, unsigned int gsi)
{
	struct kvm_irqfd irqfd = { .fd = efd,
				   .gsi = gsi,
				   .flags = KVM_IRQFD_FLAG_DEASSIGN };

	return ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

int vm_signal_msi(struct vm *vm, int sid, uint64_t addr, uint32_t data)
{
	struct vm_msi_src src = { .sid = sid, .addr = addr, .data = data };
	struct kvm_msi msi;

	/*
	 * No lock for a message no requester sent: the remapping unit sends
	 * its own events that way, under its lock, which routing_commit()
	 * takes under irq_lock.
	 */
	if (sid != IRQ_SID_NONE) {
		int ret;

		pthread_mutex_lock(&vm->irq_lock);
		ret = remap(vm, &src, &addr, &data, true);
		pthread_mutex_unlock(&vm->irq_lock);
		if (ret)
			return -EPERM; /* blocked; the remapper recorded why */
	}
	msi = (struct kvm_msi){ .address_lo = (uint32_t)addr,
				.address_hi = (uint32_t)(addr >> 32),
				.data = data };
	if (msi_devid(vm, sid) >= 0) {
		msi.flags = KVM_MSI_VALID_DEVID;
		msi.devid = (uint32_t)sid;
	}

	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0) {
		pr_warn_ratelimited("KVM_SIGNAL_MSI %#llx/%#x: %s",
				    (unsigned long long)addr, data,
				    strerror(errno));
		return -errno;
	}
	return 0;
}

int vm_msi_require_devid(struct vm *vm)
{
	int ret = vm->vm_fd < 0 ? 1 :
				  ioctl(vm->vm_fd, KVM_CHECK_EXTENSION,
					KVM_CAP_MSI_DEVID);

	if (ret <= 0) {
		pr_err("KVM does not take device ids with MSIs "
		       "(KVM_CAP_MSI_DEVID)");
		return -EOPNOTSUPP;
	}
	pthread_mutex_lock(&vm->irq_lock);
	vm->msi_devid = true;
	if (vm->routing)
		routing_commit(vm);
	pthread_mutex_unlock(&vm->irq_lock);
	return 0;
}

static int kvm_route_add(void *opaque, int sid, uint64_t addr, uint32_t data)
{
	return vm_msi_route_add(opaque, sid, addr, data);
}

static int kvm_route_update(void *opaque, unsigned int gsi, int sid,
			    uint64_t addr, uint32_t data)
{
	return vm_msi_route_update(opaque, gsi, sid, addr, data);
}

static void kvm_route_remove(void *opaque, unsigned int gsi)
{
	vm_msi_route_remove(opaque, gsi);
}

static int kvm_irqfd_assign(void *opaque, int efd, unsigned int gsi)
{
	return vm_irqfd_assign(opaque, efd, gsi);
}

static int kvm_irqfd_deassign(void *opaque, int efd, unsigned int gsi)
{
	return vm_irqfd_deassign(opaque, efd, gsi);
}

static int kvm_signal_msi(void *opaque, int sid, uint64_t addr, uint32_t data)
{
	return vm_signal_msi(opaque, sid, addr, data);
}

static int kvm_ioeventfd_op(void *opaque, uint64_t addr, unsigned int len,
			    int efd, bool assign)
{
	return vm_ioeventfd(opaque, addr, len, false, efd, assign);
}

static const struct irq_ops kvm_irq_ops = {
	.route_add = kvm_route_add,
	.route_update = kvm_route_update,
	.route_remove = kvm_route_remove,
	.irqfd_assign = kvm_irqfd_assign,
	.irqfd_deassign = kvm_irqfd_deassign,
	.signal_msi = kvm_signal_msi,
	.ioeventfd = kvm_ioeventfd_op,
};

const struct irq_ops *vm_irq_ops(struct vm *vm)
{
	return vm->irq_ops ? vm->irq_ops : &kvm_irq_ops;
}

/* Lines ------------------------------------------------------------------ */

void irq_line_pulse(struct irq_line *line)
{
	irq_line_set(line, 1);
	irq_line_set(line, 0);
}

/* ioeventfd -------------------------------------------------------------- */

static int ioeventfd(struct vm *vm, uint64_t addr, unsigned int len, bool pio,
		     int efd, bool match, uint64_t data, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = data,
		.addr = addr,
		.len = len,
		.fd = efd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	/* No KVM VM (unit tests, fuzzers): kicks only take the slow path. */
	if (vm->vm_fd < 0)
		return -ENODEV;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		int err = -errno;

		if (assign)
			pr_err("KVM_IOEVENTFD %s %#llx/%u: %s",
			       pio ? "pio" : "mmio", (unsigned long long)addr,
			       len, strerror(errno));
		return err;
	}
	return 0;
}

int vm_ioeventfd(struct vm *vm, uint64_t addr, unsigned int len, bool pio,
		 int efd, bool assign)
{
	return ioeventfd(vm, addr, len, pio, efd, false, 0, assign);
}

int vm_ioeventfd_datamatch(struct vm *vm, uint64_t addr, unsigned int len,
			   bool pio, int efd, uint64_t data, bool assign)
{
	return ioeventfd(vm, addr, len, pio, efd, true, data, assign);
}
