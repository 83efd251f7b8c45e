// SPDX-License-Identifier: GPL-2.0
/* The unit tests' fake virtio driver; see virtio_driver.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <linux/virtio_mmio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/vm.h"
#include "util/evloop.h"

#include "helpers/virtio_driver.h"

struct evloop *vd_vm_init(struct vm *vm, uint64_t ram_size)
{
	struct evloop *loop;

	vd_irq_clear();
	vm_init_common(vm);
	vm->irq_set = vd_irq_rec;
	assert_int_equal(guest_mem_init(&vm->mem, ram_size, false), 0);
	loop = evloop_create("test-io");
	assert_non_null(loop);
	return loop;
}

void vd_vm_destroy(struct vm *vm, struct evloop *loop)
{
	devices_destroy(vm);
	evloop_destroy(loop);
	vm_destroy(vm);
}

void *vd_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	void *p = gpa_to_hva(&vm->mem, gpa, len);

	assert_non_null(p);
	return p;
}

unsigned int vd_resident_pages(struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t pages = (len + 4095) / 4096;
	unsigned char *vec = calloc(pages, 1);
	unsigned int n = 0;

	assert_non_null(vec);
	assert_int_equal(mincore(vd_hva(vm, gpa, len), len, vec), 0);
	for (uint64_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

bool vd_all(struct vm *vm, uint64_t gpa, uint64_t len, uint8_t v)
{
	const uint8_t *p = vd_hva(vm, gpa, len);

	for (uint64_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

void vd_wr16(struct vm *vm, uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	memcpy(vd_hva(vm, gpa, 2), &v, 2);
}

void vd_wr32(struct vm *vm, uint64_t gpa, uint32_t v)
{
	v = htole32(v);
	memcpy(vd_hva(vm, gpa, 4), &v, 4);
}

void vd_wr64(struct vm *vm, uint64_t gpa, uint64_t v)
{
	v = htole64(v);
	memcpy(vd_hva(vm, gpa, 8), &v, 8);
}

uint8_t vd_rd8(struct vm *vm, uint64_t gpa)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return *(volatile uint8_t *)vd_hva(vm, gpa, 1);
}

uint16_t vd_rd16(struct vm *vm, uint64_t gpa)
{
	uint16_t v;

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	memcpy(&v, vd_hva(vm, gpa, 2), 2);
	return le16toh(v);
}

uint32_t vd_rd32(struct vm *vm, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, vd_hva(vm, gpa, 4), 4);
	return le32toh(v);
}

void vd_desc(struct vm *vm, uint64_t table, uint16_t i, uint64_t addr,
	     uint32_t len, uint16_t flags, uint16_t next)
{
	uint64_t d = table + 16ull * i;

	vd_wr64(vm, d, addr);
	vd_wr32(vm, d + 8, len);
	vd_wr16(vm, d + 12, flags);
	vd_wr16(vm, d + 14, next);
}

void vd_avail(struct vm *vm, uint64_t ring, uint16_t qsize, uint16_t *idx,
	      uint16_t head)
{
	vd_wr16(vm, ring + 4 + 2 * (*idx % qsize), head);
	(*idx)++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vd_wr16(vm, ring + 2, *idx);
}

static bool poll_ms(bool (*cond)(void *, uintptr_t), void *ctx, uintptr_t arg,
		    unsigned int ms)
{
	for (unsigned int i = 0; i < ms; i++) {
		if (cond(ctx, arg))
			return true;
		usleep(1000);
	}
	return cond(ctx, arg);
}

struct fix_cond {
	bool (*cond)(struct fix *, uintptr_t);
	struct fix *f;
};

static bool call_fix_cond(void *ctx, uintptr_t arg)
{
	struct fix_cond *c = ctx;

	return c->cond(c->f, arg);
}

bool vd_wait_ms(bool (*cond)(struct fix *, uintptr_t), struct fix *f,
		uintptr_t arg, unsigned int ms)
{
	struct fix_cond c = { .cond = cond, .f = f };

	return poll_ms(call_fix_cond, &c, arg, ms);
}

bool vd_wait_until(bool (*cond)(struct fix *, uintptr_t), struct fix *f,
		   uintptr_t arg)
{
	return vd_wait_ms(cond, f, arg, 5000);
}

uint64_t vd_mmio_rd(struct vm *vm, uint64_t base, uint64_t off,
		    unsigned int size)
{
	uint64_t v = 0;

	bus_read(&vm->mmio, base + off, &v, size);
	return v;
}

void vd_mmio_wr(struct vm *vm, uint64_t base, uint64_t off, uint64_t v,
		unsigned int size)
{
	bus_write(&vm->mmio, base + off, &v, size);
}

uint32_t vd_reg(struct vm *vm, uint64_t base, uint64_t off)
{
	return vd_mmio_rd(vm, base, off, 4);
}

void vd_set_reg(struct vm *vm, uint64_t base, uint64_t off, uint32_t v)
{
	vd_mmio_wr(vm, base, off, v, 4);
}

struct mmio_dev {
	struct vm *vm;
	uint64_t base;
};

static bool status_zero(void *ctx, uintptr_t unused)
{
	struct mmio_dev *d = ctx;

	return vd_reg(d->vm, d->base, VIRTIO_MMIO_STATUS) == 0;
}

void vd_mmio_reset(struct vm *vm, uint64_t base)
{
	struct mmio_dev d = { .vm = vm, .base = base };

	vd_set_reg(vm, base, VIRTIO_MMIO_STATUS, 0);
	assert_true(poll_ms(status_zero, &d, 0, 5000));
}

static bool status_has(void *ctx, uintptr_t bits)
{
	struct mmio_dev *d = ctx;

	return (vd_reg(d->vm, d->base, VIRTIO_MMIO_STATUS) & bits) == bits;
}

bool vd_mmio_wait_status(struct vm *vm, uint64_t base, uint32_t bits)
{
	struct mmio_dev d = { .vm = vm, .base = base };

	return poll_ms(status_has, &d, bits, 5000);
}

void vd_mmio_ack(struct vm *vm, uint64_t base)
{
	vd_set_reg(vm, base, VIRTIO_MMIO_STATUS, S_ACK);
	vd_set_reg(vm, base, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER);
}

uint64_t vd_mmio_offered(struct vm *vm, uint64_t base)
{
	uint64_t v;

	vd_set_reg(vm, base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	v = (uint64_t)vd_reg(vm, base, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	vd_set_reg(vm, base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return v | vd_reg(vm, base, VIRTIO_MMIO_DEVICE_FEATURES);
}

bool vd_mmio_features_ok(struct vm *vm, uint64_t base, uint64_t want)
{
	vd_set_reg(vm, base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_set_reg(vm, base, VIRTIO_MMIO_DRIVER_FEATURES, want >> 32);
	vd_set_reg(vm, base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_set_reg(vm, base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	vd_set_reg(vm, base, VIRTIO_MMIO_STATUS, S_ACK | S_DRIVER | S_FEAT);
	return vd_reg(vm, base, VIRTIO_MMIO_STATUS) & S_FEAT;
}

void vd_mmio_setup_queue(struct vm *vm, uint64_t base, unsigned int q,
			 uint32_t num_max, uint32_t qsize, uint64_t desc,
			 uint64_t avail, uint64_t used)
{
	vd_set_reg(vm, base, VIRTIO_MMIO_QUEUE_SEL, q);
	/* "Queue shouldn't already be set up." */
	assert_int_equal(vd_reg(vm, base, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(vd_reg(vm, base, VIRTIO_MMIO_QUEUE_NUM_MAX), num_max);
	vd_set_reg(vm, base, VIRTIO_MMIO_QUEUE_NUM, qsize);
	vd_set_reg(vm, base, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	vd_set_reg(vm, base, VIRTIO_MMIO_QUEUE_DESC_HIGH, desc >> 32);
	vd_set_reg(vm, base, VIRTIO_MMIO_QUEUE_AVAIL_LOW, avail);
	vd_set_reg(vm, base, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, avail >> 32);
	vd_set_reg(vm, base, VIRTIO_MMIO_QUEUE_USED_LOW, used);
	vd_set_reg(vm, base, VIRTIO_MMIO_QUEUE_USED_HIGH, used >> 32);
	vd_set_reg(vm, base, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(vd_reg(vm, base, VIRTIO_MMIO_QUEUE_READY), 1);
}

/* Written by the I/O thread, read by the test. */
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int edges[64];
static int last_level[64];

void vd_irq_rec(struct vm *vm, unsigned int gsi, int level)
{
	pthread_mutex_lock(&rec_lock);
	if (gsi < 64) {
		if (level && !last_level[gsi])
			edges[gsi]++;
		last_level[gsi] = level;
	}
	pthread_mutex_unlock(&rec_lock);
}

void vd_irq_clear(void)
{
	pthread_mutex_lock(&rec_lock);
	memset(edges, 0, sizeof(edges));
	memset(last_level, 0, sizeof(last_level));
	pthread_mutex_unlock(&rec_lock);
}

unsigned int vd_irq_edges(unsigned int gsi)
{
	unsigned int n;

	pthread_mutex_lock(&rec_lock);
	n = edges[gsi];
	pthread_mutex_unlock(&rec_lock);
	return n;
}

static bool edges_at_least(void *gsi, uintptr_t n)
{
	return vd_irq_edges(*(unsigned int *)gsi) >= n;
}

bool vd_wait_edges(unsigned int gsi, unsigned int n)
{
	return poll_ms(edges_at_least, &gsi, n, 5000);
}
