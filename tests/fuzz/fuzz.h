/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the libFuzzer targets (tests/fuzz/fuzz_*.c) share: a VM without
 * KVM, as the unit tests build it, the back-ends their devices sit on, a
 * reader of the fuzzer's bytes, guest memory writes from it and an
 * interpreter of guest register access sequences over a VM's buses.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blk_backend;
struct evloop;
struct guest_mem;
struct vm;
struct irq_ops;

/* Routes, irqfds and MSIs that succeed and go nowhere: for vm->irq_ops. */
extern const struct irq_ops fz_nop_irq_ops;

/* The fuzzer's input, consumed from the front; past its end reads 0. */
struct fz {
	const uint8_t *p;
	size_t n;
};

static inline bool fz_done(const struct fz *in)
{
	return !in->n;
}

uint8_t fz_u8(struct fz *in);
uint16_t fz_u16(struct fz *in);
uint32_t fz_u32(struct fz *in);
uint64_t fz_u64(struct fz *in);
/* Up to @len bytes into @dst (the rest zeroed); returns how many came. */
size_t fz_bytes(struct fz *in, void *dst, size_t len);

/*
 * Logs off, and a VM of @ram_size bytes with no KVM: buses, locks, RAM,
 * interrupt lines that go nowhere. Aborts on failure.
 */
void fz_vm_init(struct vm *vm, uint64_t ram_size);
/* With a memory hotplug area of @hotplug bytes (virtio-mem's region). */
void fz_vm_init_hotplug(struct vm *vm, uint64_t ram_size, uint64_t hotplug);
/* Its devices, then the VM. */
void fz_vm_destroy(struct vm *vm);

/* The back-ends of the targets' devices; each aborts on failure. */
/* A new I/O loop. */
struct evloop *fz_loop(void);
/* /dev/null open for writing: where a console's output goes. */
int fz_null_fd(void);
/*
 * A block back-end with the synchronous engine (the I/O is done inline)
 * over an unlinked image of @size bytes in /tmp.
 */
struct blk_backend *fz_disk(uint64_t size);

/*
 * The guest writes memory: up to @len bytes of the input at the GPA a u32
 * of it gives, modulo @ram_size; nothing if they would run past its end.
 */
void fz_mem_write(struct guest_mem *mem, uint64_t ram_size, struct fz *in,
		  size_t len);

/* A window of guest-visible registers a sequence may touch. */
struct fz_window {
	bool mmio; /* else port I/O */
	uint64_t base;
	uint64_t len;
};

/*
 * Guest accesses until the input ends. Each is an op byte (bits 0-1: size
 * 1, 2, 4 or 8 bytes; bit 2: write; bits 3-7: window, modulo @nw, or 31
 * for @hook with the next byte), a 16-bit offset into the window (modulo
 * its length; may run past its end) and, for writes, the value. @hook may
 * be NULL. Returns the number of accesses made.
 */
unsigned int fz_run_io(struct vm *vm, const struct fz_window *w,
		       unsigned int nw, struct fz *in,
		       void (*hook)(void *arg, uint8_t op), void *arg);

#endif
