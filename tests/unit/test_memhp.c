// SPDX-License-Identifier: GPL-2.0
/*
 * Memory hotplug: the hotplug area of guest_mem (nothing of it reachable
 * until plugged, then exactly what was), vm_plug_ram(), and hw/memhp's
 * slots, GPE and AML.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "acpi/aml.h"
#include "bus/bus.h"
#include "bus/device.h"
#include "helpers/aml_bytes.h"
#include "helpers/gpe.h"
#include "helpers/pio.h"
#include "hw/acpi_pm.h"
#include "hw/memhp.h"
#include "kvm/arch.h"
#include "kvm/dma.h"
#include "kvm/memory.h"
#include "kvm/vm.h"

#define RAM (512ull << 20)
#define AREA (1ull << 30)
#define SLOT MEMHP_MIN_SLOT

static struct vm vm;
static struct acpi_pm *pm;

static const struct memhp_ops ops = { .event = gpe_event,
				      .listening = gpe_listening };

static int setup(void **state)
{
	vm_init_common(&vm);
	gpe_wire(&vm, ACPI_GPE_MEMHP);
	if (guest_mem_init_hotplug(&vm.mem, RAM, AREA, false))
		return -1;
	pm = acpi_pm_create(&vm);
	return pm ? 0 : -1;
}

static int teardown(void **state)
{
	devices_destroy(&vm);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	guest_mem_destroy(&vm.mem);
	return 0;
}

static void test_area(void **state)
{
	const struct guest_mem *m = &vm.mem;
	uint64_t gpa = arch_hotplug_gpa(RAM, AREA);

	assert_true(gpa != 0);
	assert_int_equal(m->hotplug.gpa, gpa);
	assert_int_equal(gpa % SLOT, 0);
	assert_int_equal(m->hotplug_max, AREA);
	/* MMIO goes after the whole area, plugged or not. */
	assert_int_equal(guest_mem_reserved_end(m), gpa + AREA);
	assert_int_equal(guest_mem_end(m), RAM);
	/* Nothing of it is the guest's yet. */
	assert_int_equal(guest_mem_plugged(m), 0);
	assert_null(gpa_to_hva(m, gpa, 1));
	assert_null(gpa_to_hva(m, gpa + AREA - 4096, 4096));

	assert_int_equal(vm_plug_ram(&vm, 100), -EINVAL);
	assert_int_equal(vm_plug_ram(&vm, 0), -ENOSPC);
	assert_int_equal(vm_plug_ram(&vm, AREA + SLOT), -ENOSPC);
	assert_int_equal(vm_plug_ram(&vm, 2 * SLOT), 0);
	assert_int_equal(guest_mem_plugged(m), 2 * SLOT);
	/* Exactly what was plugged, right after RAM in the mapping. */
	assert_ptr_equal(gpa_to_hva(m, gpa, 4096), m->base + RAM);
	assert_non_null(gpa_to_hva(m, gpa + 2 * SLOT - 4096, 4096));
	assert_null(gpa_to_hva(m, gpa + 2 * SLOT - 4096, 4097));
	assert_null(gpa_to_hva(m, gpa + 2 * SLOT, 1));
	assert_null(gpa_to_hva(m, gpa - 1, 2));
	assert_null(gpa_to_hva(m, gpa + 8, UINT64_MAX));
	assert_int_equal(guest_write(m, gpa + SLOT, "ok", 2), 0);
	assert_memory_equal(m->base + RAM + SLOT, "ok", 2);
	/* The rest, and no more. */
	assert_int_equal(vm_plug_ram(&vm, AREA - 2 * SLOT + SLOT), -ENOSPC);
	assert_int_equal(vm_plug_ram(&vm, AREA - 2 * SLOT), 0);
	assert_int_equal(vm_plug_ram(&vm, SLOT), -ENOSPC);
	assert_non_null(gpa_to_hva(m, gpa + AREA - 4096, 4096));
}

static void test_no_area(void **state)
{
	struct guest_mem m;

	assert_int_equal(guest_mem_init(&m, RAM, false), 0);
	assert_int_equal(m.hotplug_max, 0);
	assert_int_equal(guest_mem_reserved_end(&m), RAM);
	guest_mem_destroy(&m);
	/* memhp wants an area. */
	guest_mem_destroy(&vm.mem);
	assert_int_equal(guest_mem_init(&vm.mem, RAM, false), 0);
	assert_null(memhp_create(&vm, &ops, pm));
}

static int nr_pieces;
static uint64_t piece_iova[4], piece_len[4];

static int on_piece(void *arg, uint64_t iova, uint64_t len, void *hva,
		    enum dma_dir dir)
{
	if (nr_pieces < 4) {
		piece_iova[nr_pieces] = iova;
		piece_len[nr_pieces] = len;
	}
	nr_pieces++;
	return 0;
}

/*
 * A device reaches plugged memory and device RAM by DMA as it does boot
 * RAM (the guest puts buffers there once it onlines them), in order, and
 * nothing of the area past what was plugged.
 */
static void test_dma(void **state)
{
	struct guest_mem *m = &vm.mem;
	uint64_t gpa = m->hotplug.gpa, dev = gpa + AREA + SLOT;
	static uint8_t dev_ram[8192];
	struct dma_space as;
	struct iovec iov[4];
	uint8_t buf[16] = "plugged";

	dma_space_init_identity(&as, m);
	assert_int_equal(dma_write(&as, gpa, buf, 8), -EFAULT);
	/* A BAR may not go anywhere in the area, plugged or not. */
	assert_true(guest_mem_overlaps(m, gpa + AREA - 4096, 8192));
	assert_true(guest_mem_overlaps(m, RAM - 4096, 4096));
	assert_false(guest_mem_overlaps(m, gpa + AREA, 4096));
	assert_true(guest_mem_overlaps(m, UINT64_MAX - 4095, 8192));

	assert_int_equal(vm_plug_ram(&vm, SLOT), 0);
	assert_int_equal(dma_write(&as, gpa + 4096, buf, 8), 0);
	assert_memory_equal(m->base + RAM + 4096, "plugged", 8);
	assert_int_equal(dma_map_iov(&as, gpa + SLOT - 4096, 4096, DMA_WRITE,
				     iov, 4),
			 1);
	assert_ptr_equal(iov[0].iov_base, m->base + RAM + SLOT - 4096);
	/* Past what was plugged is not the guest's. */
	assert_int_equal(dma_map_iov(&as, gpa + SLOT - 4096, 4097, DMA_WRITE,
				     iov, 4),
			 -EFAULT);
	assert_int_equal(dma_read(&as, gpa + SLOT, buf, 1), -EFAULT);

	/* Device RAM (virtio-pmem's file) likewise. */
	assert_int_equal(
		guest_mem_add_device_ram(m, dev, sizeof(dev_ram), dev_ram), 0);
	assert_int_equal(dma_write(&as, dev + 4096, "pmem", 4), 0);
	assert_memory_equal(dev_ram + 4096, "pmem", 4);
	assert_int_equal(dma_read(&as, dev + sizeof(dev_ram) - 1, buf, 2),
			 -EFAULT);

	/* A replay (VFIO behind an IOMMU in pass-through) sees all, ascending. */
	nr_pieces = 0;
	assert_int_equal(dma_space_replay(&as, RAM - 4096, 0, on_piece, NULL),
			 0);
	assert_int_equal(nr_pieces, 3);
	assert_int_equal(piece_iova[0], RAM - 4096);
	assert_int_equal(piece_len[0], 4096);
	assert_int_equal(piece_iova[1], gpa);
	assert_int_equal(piece_len[1], SLOT);
	assert_int_equal(piece_iova[2], dev);
	assert_int_equal(piece_len[2], sizeof(dev_ram));
	guest_mem_remove_device_ram(m, dev);
	assert_int_equal(dma_read(&as, dev, buf, 1), -EFAULT);
	dma_space_destroy(&as);
}

struct fake_listener {
	struct ram_listener l;
	int refuse; /* add()'s answer for a range */
	unsigned int nr_first, nr_add, nr_del;
	uint64_t plugged_seen; /* guest_mem_plugged() during add() */
	struct mem_region last;
};

static int fake_add(struct ram_listener *l, const struct mem_region *r)
{
	struct fake_listener *f = (struct fake_listener *)l;

	if (!r) {
		f->nr_first++;
		return 0;
	}
	f->nr_add++;
	f->last = *r;
	f->plugged_seen = guest_mem_plugged(&vm.mem);
	return f->refuse;
}

static int fake_refuse_all(struct ram_listener *l, const struct mem_region *r)
{
	return -EPERM;
}

static void fake_del(struct ram_listener *l, const struct mem_region *r)
{
	struct fake_listener *f = (struct fake_listener *)l;

	f->nr_del++;
	f->last = *r;
	f->plugged_seen = guest_mem_plugged(&vm.mem);
}

/*
 * What keeps a map of its own (VFIO, vhost) is told of each plug once
 * devices can reach it; a refusal undoes the plug for everyone and the
 * guest gets nothing.
 */
static void test_listeners(void **state)
{
	struct fake_listener a = { .l = { .add = fake_add, .del = fake_del } };
	struct fake_listener b = a;
	struct fake_listener c = { .l = { .add = fake_refuse_all,
					  .del = fake_del } };
	uint64_t gpa = vm.mem.hotplug.gpa;

	assert_int_equal(vm_ram_listen(&vm, &a.l), 0);
	assert_int_equal(a.nr_first, 1);
	assert_int_equal(vm_plug_ram(&vm, SLOT), 0);
	assert_int_equal(a.nr_add, 1);
	assert_int_equal(a.last.gpa, gpa);
	assert_int_equal(a.last.size, SLOT);
	assert_ptr_equal(a.last.hva, vm.mem.base + RAM);
	assert_int_equal(a.plugged_seen, SLOT);

	/* The first listener takes it, the second refuses: undone for both. */
	b.refuse = -ENOMEM;
	assert_int_equal(vm_ram_listen(&vm, &b.l), 0);
	assert_int_equal(vm_plug_ram(&vm, SLOT), -ENOMEM);
	assert_int_equal(guest_mem_plugged(&vm.mem), SLOT);
	assert_null(gpa_to_hva(&vm.mem, gpa + SLOT, 1));
	/* b (the newer) was asked first and refused; a was never asked. */
	assert_int_equal(b.nr_add, 1);
	assert_int_equal(b.nr_del, 0);
	assert_int_equal(a.nr_add, 1);
	vm_ram_unlisten(&vm, &b.l);
	vm_ram_unlisten(&vm, &a.l);
	assert_int_equal(vm_ram_listen(&vm, &a.l), 0);
	assert_int_equal(vm_ram_listen(&vm, &b.l), 0);
	/* Now a refuses after b took it: b is told it is gone, after the
	 * range left guest_mem. */
	a.refuse = -EIO;
	b.refuse = 0;
	assert_int_equal(vm_plug_ram(&vm, SLOT), -EIO);
	assert_int_equal(b.nr_add, 2);
	assert_int_equal(b.nr_del, 1);
	assert_int_equal(b.last.gpa, gpa + SLOT);
	assert_int_equal(b.plugged_seen, SLOT);
	assert_int_equal(guest_mem_plugged(&vm.mem), SLOT);
	/* The slot was given back: the area still fills to the end. */
	vm_ram_unlisten(&vm, &a.l);
	vm_ram_unlisten(&vm, &b.l);
	assert_int_equal(vm_plug_ram(&vm, AREA - SLOT), 0);
	assert_int_equal(b.nr_add, 2);
	/* A first call refused: not registered. */
	assert_int_equal(vm_ram_listen(&vm, &c.l), -EPERM);
	assert_null(vm.ram_listeners);
}

#define UP (MEMHP_IO_BASE + HP_REG_UP)
#define PRESENT (MEMHP_IO_BASE + HP_REG_PRESENT)
#define EJECT (MEMHP_IO_BASE + HP_REG_EJECT)

static void test_slots(void **state)
{
	struct memhp *hp;
	uint64_t got;

	/* One slot plugged before the board (a reboot): present at once. */
	assert_int_equal(vm_plug_ram(&vm, SLOT), 0);
	hp = memhp_create(&vm, &ops, pm);
	assert_non_null(hp);
	assert_int_equal(hp->nr_slots, AREA / SLOT);
	assert_int_equal(pio_in(&vm, PRESENT, 4), 0x1);
	assert_int_equal(pio_in(&vm, UP, 4), 0);
	/* Ports of its own, after the CPU block's. */
	assert_true(MEMHP_IO_BASE >= 0x620 + HP_IO_LEN);
	assert_null(memhp_create(&vm, &ops, pm));

	assert_int_equal(memhp_grow(hp, 0, &got), -EINVAL);
	assert_int_equal(gpe_events, 0);
	/* Whole slots: a bit more than one is two. */
	assert_int_equal(memhp_grow(hp, SLOT + 1, &got), 0);
	assert_int_equal(got, 2 * SLOT);
	assert_int_equal(gpe_events, 1);
	assert_int_equal(pio_in(&vm, PRESENT, 4), 0x7);
	assert_int_equal(pio_in(&vm, UP, 4), 0x6);
	assert_int_equal(pio_in(&vm, UP, 4), 0);
	assert_int_equal(pio_in(&vm, ACPI_GPE0_PORT, 1), 1u << ACPI_GPE_MEMHP);
	assert_false(gpe_listening(pm));
	assert_int_equal(memhp_grow(hp, AREA, &got), -ENOSPC);
	assert_int_equal(pio_in(&vm, PRESENT, 4), 0x7);
	/* The guest cannot hand memory back: an eject changes nothing. */
	pio_out(&vm, EJECT, 0x7, 4);
	assert_int_equal(pio_in(&vm, PRESENT, 4), 0x7);
	assert_int_equal(guest_mem_plugged(&vm.mem), 3 * SLOT);
}

static void test_aml(void **state)
{
	struct memhp *hp = memhp_create(&vm, &ops, pm);
	uint64_t last = vm.mem.hotplug.gpa + AREA - SLOT;
	struct aml a;
	struct device_desc d = { .aml = &a };
	uint8_t qword[16];
	char name[5];

	assert_non_null(hp);
	aml_init(&a);
	assert_int_equal(memhp_describe(&hp->dev, &d), 0);
	assert_int_equal(aml_finish(&a), 0);
	assert_true(aml_has_bytes(&a, "MEMS", 4));
	assert_true(aml_has_bytes(&a, "MSCN", 4));
	assert_true(aml_has_bytes(&a, "MHPR", 4));
	for (unsigned int i = 0; i < AREA / SLOT; i++) {
		snprintf(name, sizeof(name), "M%03X", i);
		assert_true(aml_has_bytes(&a, name, 4));
	}
	snprintf(name, sizeof(name), "M%03X", (unsigned int)(AREA / SLOT));
	assert_false(aml_has_bytes(&a, name, 4));
	/* The last slot's _CRS: its first and last byte. */
	memcpy(qword, &last, 8);
	last += SLOT - 1;
	memcpy(qword + 8, &last, 8);
	assert_true(aml_has_bytes(&a, qword, 16));
	aml_free(&a);
}

/* Slots of 128 MiB, doubled until an area has at most 256 of them. */
static void test_slot_sizes(void **state)
{
	assert_int_equal(memhp_slot_size(1), SLOT);
	assert_int_equal(memhp_slot_size(32ull << 30), SLOT);
	assert_int_equal(memhp_slot_size((32ull << 30) + 1), 2 * SLOT);
	assert_int_equal(memhp_slot_size(64ull << 30), 2 * SLOT);
	assert_int_equal(memhp_slot_size(MEMHP_MAX_AREA), 1ull << 30);
	assert_int_equal(memhp_area_size(1), SLOT);
	assert_int_equal(memhp_area_size(100ull << 20), SLOT);
	/* A host's RAM in MiB, as Kata gives it: whole 256 MiB slots. */
	assert_int_equal(memhp_area_size(64312ull << 20), 64512ull << 20);
	assert_int_equal(memhp_area_size(1ull << 40), MEMHP_MAX_AREA);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_area),
		T(test_no_area),
		T(test_dma),
		T(test_listeners),
		T(test_slots),
		T(test_aml),
		cmocka_unit_test(test_slot_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
