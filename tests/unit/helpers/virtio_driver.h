/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fake virtio driver for the unit tests: guest memory access, split
 * rings laid out in guest memory, the virtio-mmio register interface and
 * an interrupt edge recorder for vm->irq_set.
 */
#ifndef TESTS_UNIT_HELPERS_VIRTIO_DRIVER_H
#define TESTS_UNIT_HELPERS_VIRTIO_DRIVER_H

#include <linux/virtio_config.h>
#include <stdbool.h>
#include <stdint.h>

#define F_VERSION_1 (1ull << VIRTIO_F_VERSION_1)
#define F_PACKED (1ull << VIRTIO_F_RING_PACKED)
#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER VIRTIO_CONFIG_S_DRIVER
#define S_FEAT VIRTIO_CONFIG_S_FEATURES_OK
#define S_DRIVER_OK VIRTIO_CONFIG_S_DRIVER_OK
#define S_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define S_ALL (S_ACK | S_DRIVER | S_FEAT | S_DRIVER_OK)

struct evloop;
struct vm;
/* Each test's own fixture; only passed through here. */
struct fix;

/* ---- the VM behind the device ---- */

/*
 * A VM with @ram_size bytes of RAM and no KVM, its interrupts recorded by
 * vd_irq_rec (cleared first); returns a new I/O loop for its devices.
 */
struct evloop *vd_vm_init(struct vm *vm, uint64_t ram_size);
/* Its devices, then @loop, then the VM. */
void vd_vm_destroy(struct vm *vm, struct evloop *loop);

/* ---- guest memory (little endian, as the rings are) ---- */

void *vd_hva(struct vm *vm, uint64_t gpa, uint64_t len);
/* Pages of guest RAM [gpa, gpa + len) in host memory now (mincore). */
unsigned int vd_resident_pages(struct vm *vm, uint64_t gpa, uint64_t len);
/* Whether every byte of guest RAM [gpa, gpa + len) is @v. */
bool vd_all(struct vm *vm, uint64_t gpa, uint64_t len, uint8_t v);
void vd_wr16(struct vm *vm, uint64_t gpa, uint16_t v);
void vd_wr32(struct vm *vm, uint64_t gpa, uint32_t v);
void vd_wr64(struct vm *vm, uint64_t gpa, uint64_t v);
/* The reads of what the device writes come after an acquire fence. */
uint8_t vd_rd8(struct vm *vm, uint64_t gpa);
uint16_t vd_rd16(struct vm *vm, uint64_t gpa);
uint32_t vd_rd32(struct vm *vm, uint64_t gpa);

/* ---- split ring ---- */

/* Descriptor @i of the table at @table. */
void vd_desc(struct vm *vm, uint64_t table, uint16_t i, uint64_t addr,
	     uint32_t len, uint16_t flags, uint16_t next);
/* Publish @head in the avail ring at @ring of @qsize, advancing *@idx. */
void vd_avail(struct vm *vm, uint64_t ring, uint16_t qsize, uint16_t *idx,
	      uint16_t head);

/* Poll @cond(@f, @arg) every millisecond for up to @ms milliseconds. */
bool vd_wait_ms(bool (*cond)(struct fix *, uintptr_t), struct fix *f,
		uintptr_t arg, unsigned int ms);
/* The same for five seconds. */
bool vd_wait_until(bool (*cond)(struct fix *, uintptr_t), struct fix *f,
		   uintptr_t arg);

/* ---- virtio-mmio registers of the transport at @base ---- */

uint64_t vd_mmio_rd(struct vm *vm, uint64_t base, uint64_t off,
		    unsigned int size);
void vd_mmio_wr(struct vm *vm, uint64_t base, uint64_t off, uint64_t v,
		unsigned int size);
uint32_t vd_reg(struct vm *vm, uint64_t base, uint64_t off);
void vd_set_reg(struct vm *vm, uint64_t base, uint64_t off, uint32_t v);
/*
 * Write 0 to the status and wait up to five seconds for it to read 0 (a
 * device with I/O in flight finishes its reset later).
 */
void vd_mmio_reset(struct vm *vm, uint64_t base);
/* Wait up to five seconds for all of @bits in the status. */
bool vd_mmio_wait_status(struct vm *vm, uint64_t base, uint32_t bits);
/* Set ACKNOWLEDGE, then DRIVER. */
void vd_mmio_ack(struct vm *vm, uint64_t base);
/* The 64 feature bits the device offers. */
uint64_t vd_mmio_offered(struct vm *vm, uint64_t base);
/* Write the driver features, set FEATURES_OK; whether it stuck. */
bool vd_mmio_features_ok(struct vm *vm, uint64_t base, uint64_t want);
/*
 * Set queue @q up with @qsize entries at @desc/@avail/@used, checking that
 * it was not ready before, that it offers @num_max and that it is after.
 */
void vd_mmio_setup_queue(struct vm *vm, uint64_t base, unsigned int q,
			 uint32_t num_max, uint32_t qsize, uint64_t desc,
			 uint64_t avail, uint64_t used);

/* ---- interrupt edges, as vm->irq_set ---- */

void vd_irq_rec(struct vm *vm, unsigned int gsi, int level);
void vd_irq_clear(void);
unsigned int vd_irq_edges(unsigned int gsi);
/* Wait up to five seconds for @n rising edges on @gsi. */
bool vd_wait_edges(unsigned int gsi, unsigned int n);

#endif
