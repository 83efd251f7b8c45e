/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_PMEM_H
#define DEVISOR_VIRTIO_PMEM_H

/*
 * virtio-pmem (virtio 1.2, 5.19): a host file mapped into guest-physical
 * space as persistent memory, which Linux's virtio_pmem and nd_pmem turn
 * into /dev/pmemN (with DAX where the image says so, as Kata Containers'
 * root file systems do). The configuration space gives the range (le64
 * start, le64 size); the one request queue carries flushes, which become
 * fdatasync() of the file. With discard_writes the file is mapped
 * private: the guest's writes stay in devisor's memory and the file is
 * never written. The range is a KVM slot of its own and a device-RAM
 * range of guest_mem, so other devices can DMA to it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct virtio_dev;
struct vm;

#define VIRTIO_ID_PMEM 27
/* The range's alignment in size and guest-physical address. */
#define VIRTIO_PMEM_ALIGN (2ull << 20)

/* The board's place for a range of @size: its guest address, 0 if none. */
typedef uint64_t virtio_pmem_place_fn(void *opaque, uint64_t size);
/*
 * For a board's place_pmem: the lowest @align-aligned range of @size at or
 * above @from and below @limit that no RAM or device RAM of @mem holds
 * now (a removed device's range is free again), or 0.
 */
struct guest_mem;
uint64_t virtio_pmem_lowest_free(const struct guest_mem *mem, uint64_t from,
				 uint64_t size, uint64_t align, uint64_t limit);
/*
 * The file at @path over its whole size, which must be a non-zero
 * multiple of VIRTIO_PMEM_ALIGN, opened once and sized by that fd, then
 * mapped where @place says (VIRTIO_PMEM_ALIGN aligned). Unbound device;
 * hand it to virtio_pci_create(). NULL with an error logged and errno set.
 */
struct virtio_dev *virtio_pmem_create(struct vm *vm, const char *path,
				      bool discard_writes,
				      virtio_pmem_place_fn *place,
				      void *opaque);

/*
 * The size of the file at @path as virtio-pmem would map it: 0 and a
 * reason in @err if it cannot be (no file, empty, not 2 MiB whole).
 */
uint64_t virtio_pmem_file_size(const char *path, char *err, size_t errlen);
/* As virtio_pmem_file_size(), and the size asked for (0: any) is it. */
uint64_t virtio_pmem_check(const char *path, uint64_t size, char *err,
			   size_t errlen);

#endif
