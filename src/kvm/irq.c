// SPDX-License-Identifier: GPL-2.0
#include "kvm/irq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvm/arch.h"
#include "kvm/vm.h"
#include "util/log.h"

#define MAX_GSI 256

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

/* KVM's own routes, which MSI routes are added to; their GSIs are taken. */
static struct kvm_irq_routing *routing_default(struct vm *vm)
{
	struct kvm_irq_routing *r =
		routing_alloc(MAX_GSI + ARCH_MAX_IRQ_ROUTES);

	if (!r)
		return NULL;
	r->nr = arch_irq_default_routes(r->entries);
	for (unsigned int i = 0; i < r->nr; i++)
		if (r->entries[i].gsi < MAX_GSI)
			gsi_mark(vm, r->entries[i].gsi, true);
	return r;
}

static int routing_commit(struct vm *vm)
{
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, vm->routing) < 0) {
		int err = -errno;

		pr_err("KVM_SET_GSI_ROUTING (%u entries): %s", vm->routing->nr,
		       strerror(errno));
		return err;
	}
	return 0;
}

static struct kvm_irq_routing_entry *find_msi(struct vm *vm, unsigned int gsi)
{
	for (unsigned int i = 0; i < vm->routing->nr; i++)
		if (vm->routing->entries[i].gsi == gsi &&
		    vm->routing->entries[i].type == KVM_IRQ_ROUTING_MSI)
			return &vm->routing->entries[i];
	return NULL;
}

static void set_msi(struct kvm_irq_routing_entry *e, unsigned int gsi,
		    uint64_t addr, uint32_t data)
{
	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = (uint32_t)addr,
			   .address_hi = (uint32_t)(addr >> 32),
			   .data = data },
	};
}

int vm_msi_route_add(struct vm *vm, uint64_t addr, uint32_t data)
{
	int gsi = -ENOSPC, ret;

	pthread_mutex_lock(&vm->irq_lock);
	if (!vm->routing && !(vm->routing = routing_default(vm))) {
		gsi = -ENOMEM;
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
	set_msi(&vm->routing->entries[vm->routing->nr++], gsi, addr, data);
	ret = routing_commit(vm);
	if (ret) {
		vm->routing->nr--;
		gsi = ret;
		goto out;
	}
	gsi_mark(vm, gsi, true);
out:
	pthread_mutex_unlock(&vm->irq_lock);
	return gsi;
}

int vm_msi_route_update(struct vm *vm, unsigned int gsi, uint64_t addr,
			uint32_t data)
{
	struct kvm_irq_routing_entry *e, old;
	int ret = -ENOENT;

	pthread_mutex_lock(&vm->irq_lock);
	if (vm->routing && (e = find_msi(vm, gsi))) {
		old = *e;
		set_msi(e, gsi, addr, data);
		if (memcmp(&old, e, sizeof(old)) == 0) {
			ret = 0;
		} else if ((ret = routing_commit(vm))) {
			*e = old;
		}
	}
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

void vm_msi_route_remove(struct vm *vm, unsigned int gsi)
{
	struct kvm_irq_routing_entry *e;

	pthread_mutex_lock(&vm->irq_lock);
	if (vm->routing && (e = find_msi(vm, gsi))) {
		*e = vm->routing->entries[--vm->routing->nr];
		gsi_mark(vm, gsi, false);
		routing_commit(vm);
	}
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

int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = { .address_lo = (uint32_t)addr,
			       .address_hi = (uint32_t)(addr >> 32),
			       .data = data };

	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0) {
		pr_warn_ratelimited("KVM_SIGNAL_MSI %#llx/%#x: %s",
				    (unsigned long long)addr, data,
				    strerror(errno));
		return -errno;
	}
	return 0;
}

static int kvm_route_add(void *opaque, uint64_t addr, uint32_t data)
{
	return vm_msi_route_add(opaque, addr, data);
}

static int kvm_route_update(void *opaque, unsigned int gsi, uint64_t addr,
			    uint32_t data)
{
	return vm_msi_route_update(opaque, gsi, addr, data);
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

static int kvm_signal_msi(void *opaque, uint64_t addr, uint32_t data)
{
	return vm_signal_msi(opaque, addr, data);
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

int vm_irq_line_irqfd(struct vm *vm, struct irq_line *line)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int ret;

	if (efd < 0)
		return -errno;
	ret = vm_irq_ops(vm)->irqfd_assign(vm, efd, line->gsi);
	if (ret) {
		close(efd);
		return ret;
	}
	line->irqfd = efd;
	return 0;
}

void irq_line_pulse(struct irq_line *line)
{
	uint64_t one = 1;

	if (!line || !line->set)
		return;
	if (line->irqfd >= 0 &&
	    write(line->irqfd, &one, sizeof(one)) == sizeof(one))
		return;
	irq_line_set(line, 1);
	irq_line_set(line, 0);
}

int irq_line_eventfd(const struct irq_line *line)
{
	return line->irqfd;
}

void vm_irq_line_release(struct vm *vm, struct irq_line *line)
{
	if (line->irqfd < 0)
		return;
	vm_irq_ops(vm)->irqfd_deassign(vm, line->irqfd, line->gsi);
	close(line->irqfd);
	line->irqfd = -1;
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
