// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 board's device tree, built on the host: read back with libfdt
 * and decompiled by dtc (device-tree-compiler) when it is installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arm64/fdt.h"
#include "arch/arm64/layout.h"
#include "hw/pl011.h"
#include "hw/pl031.h"
#include "kvm/vm.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"
#include "virtio/virtio.h"
#include "helpers/virtio_driver.h"

#define FDT_SIZE 65536

struct fix {
	struct vm vm;
	struct evloop *loop;
	uint8_t fdt[FDT_SIZE];
	struct arm64_fdt_config cfg;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct virtio_dev *vdev;

	assert_non_null(f);
	f->loop = vd_vm_init(&f->vm, 1 << 20);
	assert_non_null(
		pl011_create(&f->vm, ARM64_UART_BASE, ARM64_UART_SPI, -1));
	assert_non_null(pl031_create(&f->vm, ARM64_RTC_BASE, ARM64_RTC_SPI));
	vdev = virtio_rng_create(&f->vm);
	assert_non_null(vdev);
	assert_non_null(virtio_mmio_create(&f->vm, ARM64_VIRTIO_MMIO_BASE,
					   ARM64_VIRTIO_MMIO_SPI, vdev,
					   f->loop));
	f->cfg = (struct arm64_fdt_config){
		.nr_cpus = 2,
		.ram_base = ARM64_RAM_BASE,
		.ram_size = 512ull << 20,
		.gic_dist_base = ARM64_GIC_DIST_BASE,
		.gic_dist_size = ARM64_GIC_DIST_SIZE,
		.gic_redist_base = ARM64_GIC_REDIST_BASE,
		.gic_redist_size = 2 * ARM64_GIC_REDIST_SIZE_PER_CPU,
		.its_base = ARM64_GIC_ITS_BASE,
		.its_size = ARM64_GIC_ITS_SIZE,
		.msi_map = 1,
		.uart_base = ARM64_UART_BASE,
		.bootargs = "console=ttyAMA0 panic=-1",
		.initrd_start = 0x48000000,
		.initrd_size = 0x100000,
		.ecam_base = ARM64_PCI_ECAM_BASE,
		.ecam_size = ARM64_PCI_ECAM_SIZE,
		.mmio32_base = ARM64_PCI_MMIO32_BASE,
		.mmio32_size = ARM64_PCI_MMIO32_SIZE,
		.mmio64_base = 0x8000000000ull,
		.mmio64_size = ARM64_PCI_MMIO64_SIZE,
		.io_cpu_base = ARM64_PCI_IO_BASE,
		.io_size = ARM64_PCI_IO_SIZE,
		.intx_spi_base = ARM64_PCI_INTX_SPI,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	vd_vm_destroy(&f->vm, f->loop);
	free(f);
	return 0;
}

static int path(const void *fdt, const char *p)
{
	int off = fdt_path_offset(fdt, p);

	if (off < 0)
		fail_msg("no node %s: %s", p, fdt_strerror(off));
	return off;
}

static const void *getprop(const void *fdt, const char *p, const char *name,
			   int *len)
{
	const void *v = fdt_getprop(fdt, path(fdt, p), name, len);

	if (!v)
		fail_msg("%s has no %s", p, name);
	return v;
}

static uint32_t cell(const void *v, int i)
{
	return fdt32_to_cpu(((const fdt32_t *)v)[i]);
}

static void assert_cells(const void *fdt, const char *p, const char *name,
			 const uint32_t *want, int n)
{
	int len;
	const void *v = getprop(fdt, p, name, &len);

	assert_int_equal(len, n * 4);
	for (int i = 0; i < n; i++)
		assert_int_equal(cell(v, i), want[i]);
}

static void test_board_nodes(void **state)
{
	struct fix *f = *state;
	const void *fdt = f->fdt;
	int len;

	assert_int_equal(arm64_fdt_build(f->fdt, FDT_SIZE, &f->cfg, &f->vm), 0);
	assert_int_equal(fdt_check_header(fdt), 0);
	assert_string_equal(getprop(fdt, "/chosen", "bootargs", &len),
			    "console=ttyAMA0 panic=-1");
	assert_string_equal(getprop(fdt, "/chosen", "stdout-path", &len),
			    "/pl011@9000000");
	assert_cells(fdt, "/chosen", "linux,initrd-start",
		     (const uint32_t[]){ 0, 0x48000000 }, 2);
	assert_cells(fdt, "/chosen", "linux,initrd-end",
		     (const uint32_t[]){ 0, 0x48100000 }, 2);
	assert_cells(fdt, "/memory@40000000", "reg",
		     (const uint32_t[]){ 0, 0x40000000, 0, 0x20000000 }, 4);
	/* Two vCPUs, PSCI bring-up. */
	assert_cells(fdt, "/cpus/cpu@0", "reg", (const uint32_t[]){ 0 }, 1);
	assert_cells(fdt, "/cpus/cpu@1", "reg", (const uint32_t[]){ 1 }, 1);
	assert_string_equal(getprop(fdt, "/cpus/cpu@1", "enable-method", &len),
			    "psci");
	assert_true(fdt_path_offset(fdt, "/cpus/cpu@2") < 0);
	assert_int_equal(fdt_node_check_compatible(fdt, path(fdt, "/psci"),
						   "arm,psci-0.2"),
			 0);
	assert_string_equal(getprop(fdt, "/psci", "method", &len), "hvc");
	/* Timer PPIs 13, 14, 11, 10. */
	assert_cells(fdt, "/timer", "interrupts",
		     (const uint32_t[]){ 1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10,
					 4 },
		     12);
	/* GICv3: distributor and both vCPUs' redistributors; the ITS. */
	assert_int_equal(fdt_node_check_compatible(
				 fdt, path(fdt, "/intc@8000000"), "arm,gic-v3"),
			 0);
	assert_cells(fdt, "/intc@8000000", "reg",
		     (const uint32_t[]){ 0, 0x08000000, 0, 0x10000, 0,
					 0x080a0000, 0, 0x40000 },
		     8);
	getprop(fdt, "/intc@8000000/its@8080000", "msi-controller", &len);
	assert_int_equal(
		fdt_get_phandle(fdt, path(fdt, "/intc@8000000/its@8080000")),
		2);
	assert_cells(fdt, "/", "interrupt-parent", (const uint32_t[]){ 1 }, 1);
}

static void test_devices_describe_themselves(void **state)
{
	struct fix *f = *state;
	const void *fdt = f->fdt;
	int len;
	const char *s;

	assert_int_equal(arm64_fdt_build(f->fdt, FDT_SIZE, &f->cfg, &f->vm), 0);
	/* PL011: amba's compatible pair, SPI 1 level, both clock names. */
	assert_int_equal(fdt_node_check_compatible(
				 fdt, path(fdt, "/pl011@9000000"), "arm,pl011"),
			 0);
	assert_int_equal(fdt_node_check_compatible(fdt,
						   path(fdt, "/pl011@9000000"),
						   "arm,primecell"),
			 0);
	assert_cells(fdt, "/pl011@9000000", "reg",
		     (const uint32_t[]){ 0, 0x09000000, 0, 0x1000 }, 4);
	assert_cells(fdt, "/pl011@9000000", "interrupts",
		     (const uint32_t[]){ 0, 1, 4 }, 3);
	assert_cells(fdt, "/pl011@9000000", "clocks",
		     (const uint32_t[]){ 3, 3 }, 2);
	s = getprop(fdt, "/pl011@9000000", "clock-names", &len);
	assert_int_equal(len, sizeof("uartclk\0apb_pclk"));
	assert_string_equal(s, "uartclk");
	assert_string_equal(s + 8, "apb_pclk");
	assert_int_equal(fdt_node_check_compatible(
				 fdt, path(fdt, "/pl031@9010000"), "arm,pl031"),
			 0);
	assert_cells(fdt, "/pl031@9010000", "interrupts",
		     (const uint32_t[]){ 0, 2, 4 }, 3);
	assert_cells(fdt, "/pl031@9010000", "clocks", (const uint32_t[]){ 3 },
		     1);
	assert_int_equal(fdt_get_phandle(fdt, path(fdt, "/apb-pclk")), 3);
	/* virtio-mmio: edge on SPI 16. */
	assert_int_equal(fdt_node_check_compatible(
				 fdt, path(fdt, "/virtio_mmio@a000000"),
				 "virtio,mmio"),
			 0);
	assert_cells(fdt, "/virtio_mmio@a000000", "interrupts",
		     (const uint32_t[]){ 0, 16, 1 }, 3);
}

static void test_pcie_host(void **state)
{
	struct fix *f = *state;
	const void *fdt = f->fdt;
	const char *p = "/pcie@3f000000";
	const void *v;
	int len;

	assert_int_equal(arm64_fdt_build(f->fdt, FDT_SIZE, &f->cfg, NULL), 0);
	assert_int_equal(fdt_node_check_compatible(fdt, path(fdt, p),
						   "pci-host-ecam-generic"),
			 0);
	assert_cells(fdt, p, "bus-range", (const uint32_t[]){ 0, 15 }, 2);
	assert_cells(fdt, p, "reg",
		     (const uint32_t[]){ 0, 0x3f000000, 0, 0x01000000 }, 4);
	assert_cells(fdt, p, "msi-map", (const uint32_t[]){ 0, 2, 0, 0x10000 },
		     4);
	assert_cells(fdt, p, "ranges",
		     (const uint32_t[]){ 0x01000000, 0,		 0,
					 0,	     0x3eff0000, 0,
					 0x10000,    0x02000000, 0,
					 0x10000000, 0,		 0x10000000,
					 0,	     0x2eff0000, 0x03000000,
					 0x80,	     0,		 0x80,
					 0,	     0x10,	 0 },
		     21);
	/* 16 entries of 10 cells; slot 1 pin A swizzles to INTB (SPI 4). */
	v = getprop(fdt, p, "interrupt-map", &len);
	assert_int_equal(len, 16 * 10 * 4);
	assert_int_equal(cell(v, 40), 1 << 11);
	assert_int_equal(cell(v, 43), 1);
	assert_int_equal(cell(v, 44), 1);
	assert_int_equal(cell(v, 48), 4);
	/* The board did not ask for it (KVM takes no device ids): none. */
	f->cfg.msi_map = 0;
	assert_int_equal(arm64_fdt_build(f->fdt, FDT_SIZE, &f->cfg, NULL), 0);
	assert_null(fdt_getprop(fdt, path(fdt, p), "msi-map", &len));
	f->cfg.msi_map = 1;
	/* Without an ITS: no msi-map. */
	f->cfg.its_size = 0;
	assert_int_equal(arm64_fdt_build(f->fdt, FDT_SIZE, &f->cfg, NULL), 0);
	assert_null(fdt_getprop(fdt, path(fdt, p), "msi-map", &len));
	assert_true(fdt_path_offset(fdt, "/intc@8000000/its@8080000") < 0);
}

static void test_errors(void **state)
{
	struct fix *f = *state;

	assert_int_equal(arm64_fdt_build(f->fdt, 512, &f->cfg, &f->vm),
			 -ENOSPC);
	f->cfg.nr_cpus = 0;
	assert_int_equal(arm64_fdt_build(f->fdt, FDT_SIZE, &f->cfg, NULL),
			 -EINVAL);
	f->cfg.nr_cpus = 1;
	f->cfg.ecam_size = 0x1234;
	assert_int_equal(arm64_fdt_build(f->fdt, FDT_SIZE, &f->cfg, NULL),
			 -EINVAL);
}

/* dtc must take the blob without warnings about the bindings it checks. */
static void test_dtc_decompiles(void **state)
{
	struct fix *f = *state;
	char dtb[] = "/tmp/devisor-fdt-XXXXXX", cmd[256], line[512];
	int fd, found = 0;
	FILE *p;

	if (system("command -v dtc >/dev/null 2>&1")) {
		print_message("dtc not installed (device-tree-compiler)\n");
		skip();
	}
	assert_int_equal(arm64_fdt_build(f->fdt, FDT_SIZE, &f->cfg, &f->vm), 0);
	fd = mkstemp(dtb);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->fdt, fdt_totalsize(f->fdt)),
			 (ssize_t)fdt_totalsize(f->fdt));
	close(fd);
	snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts %s 2>&1", dtb);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		if (strstr(line, "Warning") || strstr(line, "ERROR"))
			fail_msg("dtc: %s", line);
		if (strstr(line, "compatible = \"pci-host-ecam-generic\"") ||
		    strstr(line,
			   "compatible = \"arm,pl011\\0arm,primecell\"") ||
		    strstr(line, "compatible = \"arm,gic-v3-its\"") ||
		    strstr(line, "msi-map = <0x00 0x02 0x00 0x10000>") ||
		    strstr(line, "compatible = \"virtio,mmio\""))
			found++;
	}
	assert_int_equal(pclose(p), 0);
	unlink(dtb);
	assert_int_equal(found, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_board_nodes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_devices_describe_themselves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcie_host, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dtc_decompiles, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
