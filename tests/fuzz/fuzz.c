// SPDX-License-Identifier: GPL-2.0
/* Shared by the fuzz targets; see fuzz.h. */
#include "fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/block.h"
#include "bus/device.h"
#include "kvm/irq.h"
#include "kvm/memory.h"
#include "kvm/vm.h"
#include "util/evloop.h"
#include "util/log.h"

static uint64_t take(struct fz *in, unsigned int len)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < len && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

uint8_t fz_u8(struct fz *in)
{
	return (uint8_t)take(in, 1);
}

uint16_t fz_u16(struct fz *in)
{
	return (uint16_t)take(in, 2);
}

uint32_t fz_u32(struct fz *in)
{
	return (uint32_t)take(in, 4);
}

uint64_t fz_u64(struct fz *in)
{
	return take(in, 8);
}

size_t fz_bytes(struct fz *in, void *dst, size_t len)
{
	size_t n = len < in->n ? len : in->n;

	memcpy(dst, in->p, n);
	memset((uint8_t *)dst + n, 0, len - n);
	in->p += n;
	in->n -= n;
	return n;
}

static void no_irq(struct vm *vm, unsigned int gsi, int level)
{
}

void fz_vm_init(struct vm *vm, uint64_t ram_size)
{
	fz_vm_init_hotplug(vm, ram_size, 0);
}

void fz_vm_init_hotplug(struct vm *vm, uint64_t ram_size, uint64_t hotplug)
{
	/* Guest mistakes are warnings, bad images errors: FUZZ_VERBOSE=1 shows them. */
	log_level = getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_QUIET;
	memset(vm, 0, sizeof(*vm));
	vm_init_common(vm);
	vm->irq_set = no_irq;
	if (guest_mem_init_hotplug(&vm->mem, ram_size, hotplug, false)) {
		fprintf(stderr, "fuzz: no guest memory\n");
		abort();
	}
}

void fz_vm_destroy(struct vm *vm)
{
	devices_destroy(vm);
	vm_destroy(vm);
}

struct evloop *fz_loop(void)
{
	struct evloop *loop = evloop_create("fuzz-io");

	if (!loop)
		abort();
	return loop;
}

int fz_null_fd(void)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		abort();
	return fd;
}

struct blk_backend *fz_disk(uint64_t size)
{
	struct blk_options bo = { .engine = BLK_ENGINE_SYNC };
	char path[] = "/tmp/devisor-fuzz-XXXXXX";
	struct blk_backend *be;
	int fd = mkstemp(path);

	if (fd < 0 || ftruncate(fd, size))
		abort();
	close(fd);
	be = blk_open(path, &bo);
	unlink(path);
	if (!be)
		abort();
	return be;
}

void fz_mem_write(struct guest_mem *mem, uint64_t ram_size, struct fz *in,
		  size_t len)
{
	uint8_t buf[64];
	uint64_t gpa = fz_u32(in) % ram_size;
	size_t n;

	if (len > sizeof(buf))
		abort();
	n = fz_bytes(in, buf, len);
	if (gpa + n <= ram_size)
		memcpy(gpa_to_hva(mem, gpa, n), buf, n);
}

unsigned int fz_run_io(struct vm *vm, const struct fz_window *w,
		       unsigned int nw, struct fz *in,
		       void (*hook)(void *arg, uint8_t op), void *arg)
{
	unsigned int n = 0;

	while (!fz_done(in)) {
		uint8_t op = fz_u8(in);
		unsigned int size = 1u << (op & 3), win = op >> 3;
		const struct fz_window *x;
		uint64_t addr, val = 0;

		if (win == 31) {
			if (hook)
				hook(arg, fz_u8(in));
			continue;
		}
		x = &w[win % nw];
		addr = x->base + fz_u16(in) % x->len;
		if (op & 4) {
			val = fz_u64(in);
			bus_write(x->mmio ? &vm->mmio : &vm->pio, addr, &val,
				  size);
		} else {
			bus_read(x->mmio ? &vm->mmio : &vm->pio, addr, &val,
				 size);
		}
		n++;
	}
	return n;
}

/* KVM's routes, irqfds and MSIs as no-ops that succeed. */
static int nop_route_add(void *o, int s, uint64_t a, uint32_t d)
{
	return 64;
}

static int nop_route_update(void *o, unsigned int g, int s, uint64_t a,
			    uint32_t d)
{
	return 0;
}

static void nop_route_remove(void *o, unsigned int g)
{
}

static int nop_irqfd(void *o, int efd, unsigned int gsi)
{
	return 0;
}

static int nop_signal_msi(void *o, int s, uint64_t a, uint32_t d)
{
	return 0;
}

const struct irq_ops fz_nop_irq_ops = {
	.route_add = nop_route_add,
	.route_update = nop_route_update,
	.route_remove = nop_route_remove,
	.irqfd_assign = nop_irqfd,
	.irqfd_deassign = nop_irqfd,
	.signal_msi = nop_signal_msi,
};
