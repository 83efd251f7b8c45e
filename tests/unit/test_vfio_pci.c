// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's view of a passed-through function (vfio/pci.c), with a fake
 * VFIO device: a memfd laid out as vfio-pci lays out its device file
 * (config space and BAR0 regions at offsets), so what devisor forwards
 * lands in the memfd and what it emulates does not. KVM is the fixture's
 * recorder: memory slots fail, so BAR0 traps and its accesses are seen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers/pci_fixture.h"
#include "helpers/vfio_fake.h"
#include "pci/pci.h"
#include "util/common.h"
#include "vfio/pci.h"
#include "vfio/vfio.h"

#define RAM_SIZE (16u << 20)
#define CFG_OFF 0x0
#define BAR0_OFF 0x10000
#define BAR0_SIZE 0x4000
#define MSIX_TABLE 0x2000
#define MSIX_PBA 0x3000
#define ROM_OFF 0x20000
#define ROM_SIZE 0x1000
#define IO_OFF 0x30000
#define IO_SIZE 0x20

struct fix {
	struct pci_fix pf;
	struct vfio_pci *vp;
	int fd;
};

static void dev_put(struct fix *f, uint64_t off, uint32_t v, unsigned int n)
{
	assert_int_equal(pwrite(f->fd, &v, n, off), n);
}

static uint32_t dev_get(struct fix *f, uint64_t off, unsigned int n)
{
	uint32_t v = 0;

	assert_int_equal(pread(f->fd, &v, n, off), n);
	return v;
}

/*
 * A device like QEMU's NVMe: BAR0 64-bit 16 KiB with the MSI-X table and
 * PBA in it; PM at 40h, MSI-X at 50h, a vendor capability at 60h (to be
 * hidden), PCIe at 70h; a device-specific register at F0h; INTA.
 * @loop makes the capability list point back at itself.
 */
static void make_device(struct fix *f, bool loop)
{
	f->fd = memfd_create("fake-vfio", 0);
	assert_true(f->fd >= 0);
	assert_int_equal(ftruncate(f->fd, ROM_OFF + ROM_SIZE), 0);
	dev_put(f, PCI_VENDOR_ID, 0x1b36, 2);
	dev_put(f, PCI_DEVICE_ID, 0x0010, 2);
	dev_put(f, PCI_CLASS_REVISION, 0x01080202, 4);
	dev_put(f, PCI_SUBSYSTEM_VENDOR_ID, 0x1af4, 2);
	dev_put(f, PCI_SUBSYSTEM_ID, 0x1100, 2);
	dev_put(f, PCI_STATUS, PCI_STATUS_CAP_LIST, 2);
	dev_put(f, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_MEM_TYPE_64, 4);
	dev_put(f, PCI_INTERRUPT_PIN, 1, 1);
	dev_put(f, PCI_CAPABILITY_LIST, 0x40, 1);
	dev_put(f, 0x40, PCI_CAP_ID_PM | 0x50 << 8, 2);
	dev_put(f, 0x50, PCI_CAP_ID_MSIX | 0x60 << 8 | 3 << 16, 4);
	dev_put(f, 0x54, MSIX_TABLE | 0, 4);
	dev_put(f, 0x58, MSIX_PBA | 0, 4);
	dev_put(f, 0x60, PCI_CAP_ID_VNDR | 0x70 << 8 | 8 << 16, 4);
	dev_put(f, 0x70, PCI_CAP_ID_EXP | (loop ? 0x40 : 0) << 8, 2);
	dev_put(f, 0xf0, 0xcafe0001, 4);
	/* The real device's MSI-X table holds the host's vectors. */
	dev_put(f, BAR0_OFF + MSIX_TABLE, 0xfee01000, 4);
	/* An option ROM: signature, and a word to find. */
	dev_put(f, ROM_OFF, 0xaa55, 2);
	dev_put(f, ROM_OFF + 0x100, 0x4d4f5244, 4);
}

enum { IO_BAR = 1, NO_HOST_IO = 2 }; /* setup_opts()'s @io */

static int setup_opts(void **state, bool loop, unsigned int flags,
		      unsigned int io)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct pci_host_config hc;
	struct vfio_device vd;
	char err[256];

	assert_non_null(f);
	pf_vm_init(&f->pf, RAM_SIZE, false);
	pf_pc_host_config(&hc);
	if (io & NO_HOST_IO)
		hc.io_size = 0; /* as arm64's board */
	pf_host_init(&f->pf, &hc);
	make_device(f, loop);
	vd = vfio_fake_device(f->fd, BAR0_OFF, BAR0_SIZE, 0, 4);
	vd.regions[VFIO_PCI_ROM_REGION_INDEX] = (struct vfio_region){
		.flags = VFIO_REGION_INFO_FLAG_READ,
		.size = ROM_SIZE,
		.offset = ROM_OFF,
	};
	if (io & IO_BAR) {
		/* BAR2: 32 ports, a legacy alias as many devices have. */
		dev_put(f, PCI_BASE_ADDRESS_2, PCI_BASE_ADDRESS_SPACE_IO, 4);
		vd.regions[2] = (struct vfio_region){
			.flags = VFIO_REGION_INFO_FLAG_READ |
				 VFIO_REGION_INFO_FLAG_WRITE,
			.size = IO_SIZE,
			.offset = IO_OFF,
		};
	}
	f->vp = vfio_pci_create_dev(&f->pf.vm, &f->pf.host, &vd, -1, flags, err,
				    sizeof(err));
	assert_non_null(f->vp);
	for (unsigned int slot = 1; slot < 32; slot++) {
		f->pf.devfn = PCI_DEVFN(slot, 0);
		if (pf_cfg_rd(&f->pf, PCI_VENDOR_ID, 2) == 0x1b36)
			break;
	}
	f->pf.bar = (pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_0, 4) & ~0xfull) |
		    (uint64_t)pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_1, 4) << 32;
	assert_true(f->pf.bar != 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_opts(state, false, 0, 0);
}

static int setup_looped(void **state)
{
	return setup_opts(state, true, 0, 0);
}

static int setup_no_rom(void **state)
{
	return setup_opts(state, false, VFIO_PCI_NO_ROM, 0);
}

static int setup_io_bar(void **state)
{
	return setup_opts(state, false, 0, IO_BAR);
}

static int setup_io_bar_no_host_io(void **state)
{
	return setup_opts(state, false, 0, IO_BAR | NO_HOST_IO);
}

static int teardown(void **state)
{
	struct fix *f = *state;

	/* Closes the memfd with the device. */
	pf_destroy(&f->pf);
	free(f);
	return 0;
}

static void test_identity(void **state)
{
	struct fix *f = *state;

	assert_int_equal(pf_cfg_rd(&f->pf, PCI_DEVICE_ID, 2), 0x0010);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_CLASS_REVISION, 4), 0x01080202);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_SUBSYSTEM_ID, 2), 0x1100);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_INTERRUPT_PIN, 1), 1);
}

/* The emulated capabilities at the device's offsets; the vendor one gone. */
static void test_caps(void **state)
{
	struct fix *f = *state;
	unsigned int ids[8], offs[8], n = 0, off;

	off = pf_cfg_rd(&f->pf, PCI_CAPABILITY_LIST, 1);
	while (off && n < 8) {
		offs[n] = off;
		ids[n++] = pf_cfg_rd(&f->pf, off, 1);
		off = pf_cfg_rd(&f->pf, off + 1, 1);
	}
	assert_int_equal(n, 3);
	assert_int_equal(offs[0], 0x40);
	assert_int_equal(ids[0], PCI_CAP_ID_PM);
	assert_int_equal(offs[1], 0x50);
	assert_int_equal(ids[1], PCI_CAP_ID_MSIX);
	assert_int_equal(offs[2], 0x70);
	assert_int_equal(ids[2], PCI_CAP_ID_EXP);
	/* MSI-X as the device has it: 4 vectors, table and PBA in BAR0. */
	assert_int_equal(pf_cfg_rd(&f->pf, 0x52, 2) & PCI_MSIX_FLAGS_QSIZE, 3);
	assert_int_equal(pf_cfg_rd(&f->pf, 0x54, 4), MSIX_TABLE);
	assert_int_equal(pf_cfg_rd(&f->pf, 0x58, 4), MSIX_PBA);
	/* The hidden capability reads zero; no extended capabilities. */
	assert_int_equal(pf_cfg_rd(&f->pf, 0x60, 4), 0);
	assert_int_equal(pf_cfg_rd(&f->pf, 0x100, 4), 0);
	/* An integrated endpoint on our root bus, whatever the host's. */
	assert_int_equal(pf_cfg_rd(&f->pf, 0x72, 2) >> 4 & 0xf,
			 PCI_EXP_TYPE_RC_END);
}

/* A device whose capability list loops still gets a finite one. */
static void test_caps_loop(void **state)
{
	test_caps(state);
}

/* BARs are ours: sized and moved without the device seeing it. */
static void test_bar_emulated(void **state)
{
	struct fix *f = *state;

	pf_cfg_wr(&f->pf, PCI_BASE_ADDRESS_0, ~0u, 4);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_0, 4),
			 (uint32_t) ~(BAR0_SIZE - 1) |
				 PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(dev_get(f, CFG_OFF + PCI_BASE_ADDRESS_0, 4),
			 PCI_BASE_ADDRESS_MEM_TYPE_64);
	pf_cfg_wr(&f->pf, PCI_BASE_ADDRESS_0, (uint32_t)f->pf.bar, 4);
}

/* An I/O BAR where the host has port I/O: sized and placed like any. */
static void test_io_bar(void **state)
{
	struct fix *f = *state;

	pf_cfg_wr(&f->pf, PCI_BASE_ADDRESS_2, ~0u, 4);
	/* A 16-bit decoder: the upper half hardwired to 0. */
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_2, 4),
			 (0xffff & ~(IO_SIZE - 1)) | PCI_BASE_ADDRESS_SPACE_IO);
}

/*
 * Where it has none (arm64): the function still comes, BAR2 reads as
 * unimplemented, and its memory BAR works.
 */
static void test_io_bar_no_host_io(void **state)
{
	struct fix *f = *state;

	pf_cfg_wr(&f->pf, PCI_BASE_ADDRESS_2, ~0u, 4);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_2, 4), 0);
	pf_cfg_wr(&f->pf, PCI_BASE_ADDRESS_0, ~0u, 4);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_BASE_ADDRESS_0, 4),
			 (uint32_t) ~(BAR0_SIZE - 1) |
				 PCI_BASE_ADDRESS_MEM_TYPE_64);
}

static uint32_t mmio_rd32(struct fix *f, uint64_t gpa)
{
	uint32_t v = 0;

	bus_read(&f->pf.vm.mmio, gpa, &v, 4);
	return v;
}

/*
 * The expansion ROM: an emulated ROM BAR (sized, placed, enabled by its
 * own bit and Memory Space) over the device's ROM region, read-only.
 */
static void test_rom(void **state)
{
	struct fix *f = *state;
	uint32_t placed = pf_cfg_rd(&f->pf, PCI_ROM_ADDRESS, 4);

	assert_int_not_equal(placed & PCI_ROM_ADDRESS_MASK, 0);
	assert_int_equal(placed & PCI_ROM_ADDRESS_ENABLE, 0);
	pf_cfg_wr(&f->pf, PCI_ROM_ADDRESS, ~PCI_ROM_ADDRESS_ENABLE, 4);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_ROM_ADDRESS, 4),
			 (uint32_t) ~(ROM_SIZE - 1));
	pf_cfg_wr(&f->pf, PCI_ROM_ADDRESS, placed, 4);
	/* Memory Space without the enable bit: nothing there. */
	pf_cfg_wr(&f->pf, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(mmio_rd32(f, placed), 0xffffffff);
	pf_cfg_wr(&f->pf, PCI_ROM_ADDRESS, placed | PCI_ROM_ADDRESS_ENABLE, 4);
	assert_int_equal(mmio_rd32(f, placed) & 0xffff, 0xaa55);
	assert_int_equal(mmio_rd32(f, placed + 0x100), 0x4d4f5244);
	/* Writes are dropped, never reach the device. */
	bus_write(&f->pf.vm.mmio, placed + 0x100, &(uint32_t){ 0 }, 4);
	assert_int_equal(dev_get(f, ROM_OFF + 0x100, 4), 0x4d4f5244);
	/* Read once at open: the guest reads the copy, not the device. */
	dev_put(f, ROM_OFF + 0x100, 0x11111111, 4);
	assert_int_equal(mmio_rd32(f, placed + 0x100), 0x4d4f5244);
	/* Decode off unmaps it; the device's own register was never used. */
	pf_cfg_wr(&f->pf, PCI_COMMAND, 0, 2);
	assert_int_equal(mmio_rd32(f, placed), 0xffffffff);
	assert_int_equal(dev_get(f, CFG_OFF + PCI_ROM_ADDRESS, 4), 0);
}

/* rom=off: no ROM BAR at all, as for a device without one. */
static void test_rom_hidden(void **state)
{
	struct fix *f = *state;

	pf_cfg_wr(&f->pf, PCI_ROM_ADDRESS, ~0u, 4);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_ROM_ADDRESS, 4), 0);
}

/* Command's decode and bus-master bits reach the device. */
static void test_command(void **state)
{
	struct fix *f = *state;

	pf_cfg_wr(&f->pf, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
		  2);
	assert_int_equal(dev_get(f, CFG_OFF + PCI_COMMAND, 2),
			 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pf_cfg_wr(&f->pf, PCI_COMMAND, 0, 2);
	assert_int_equal(dev_get(f, CFG_OFF + PCI_COMMAND, 2), 0);
}

/* Bytes no capability covers are the device's, live both ways. */
static void test_device_specific(void **state)
{
	struct fix *f = *state;

	assert_int_equal(pf_cfg_rd(&f->pf, 0xf0, 4), 0xcafe0001);
	dev_put(f, CFG_OFF + 0xf0, 0xcafe0002, 4);
	assert_int_equal(pf_cfg_rd(&f->pf, 0xf0, 4), 0xcafe0002);
	pf_cfg_wr(&f->pf, 0xf2, 0xbeef, 2);
	assert_int_equal(dev_get(f, CFG_OFF + 0xf0, 4), 0xbeef0002);
}

/*
 * BAR0: registers go to the device (trapped here, as KVM gave no slot);
 * the MSI-X table is the guest's own and never reaches the device.
 */
static void test_bar_access(void **state)
{
	struct fix *f = *state;

	pf_cfg_wr(&f->pf, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	dev_put(f, BAR0_OFF + 0x1c, 0x00000001, 4);
	assert_int_equal(pf_rd(&f->pf, 0x1c, 4), 1);
	pf_wr(&f->pf, 0x14, 0x00460001, 4);
	assert_int_equal(dev_get(f, BAR0_OFF + 0x14, 4), 0x00460001);

	pf_wr(&f->pf, MSIX_TABLE, 0xfee00000, 4);
	pf_wr(&f->pf, MSIX_TABLE + 8, 0x4041, 4);
	assert_int_equal(pf_rd(&f->pf, MSIX_TABLE, 4), 0xfee00000);
	assert_int_equal(pf_rd(&f->pf, MSIX_TABLE + 8, 4), 0x4041);
	assert_int_equal(dev_get(f, BAR0_OFF + MSIX_TABLE, 4), 0xfee01000);
	assert_int_equal(dev_get(f, BAR0_OFF + MSIX_TABLE + 8, 4), 0);
	/* Vectors start masked, as a reset function's do. */
	assert_int_equal(pf_rd(&f->pf, MSIX_TABLE + 12, 4) &
				 PCI_MSIX_ENTRY_CTRL_MASKBIT,
			 PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/* FLR: config space back to its state at registration. */
static void test_flr(void **state)
{
	struct fix *f = *state;

	pf_cfg_wr(&f->pf, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
		  2);
	pf_cfg_wr(&f->pf, 0x52, PCI_MSIX_FLAGS_ENABLE >> 0, 2);
	pf_cfg_wr(&f->pf, 0x70 + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR, 2);
	assert_int_equal(pf_cfg_rd(&f->pf, PCI_COMMAND, 2), 0);
	assert_int_equal(pf_cfg_rd(&f->pf, 0x52, 2) & PCI_MSIX_FLAGS_ENABLE, 0);
	/* The device got no FLR bit: its reset is VFIO's, not a config write. */
	assert_int_equal(dev_get(f, CFG_OFF + 0x70 + PCI_EXP_DEVCTL, 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps_loop, setup_looped,
						teardown),
		cmocka_unit_test_setup_teardown(test_bar_emulated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rom_hidden, setup_no_rom,
						teardown),
		cmocka_unit_test_setup_teardown(test_device_specific, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bar_access, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_bar, setup_io_bar,
						teardown),
		cmocka_unit_test_setup_teardown(test_io_bar_no_host_io,
						setup_io_bar_no_host_io,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
