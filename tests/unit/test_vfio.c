// SPDX-License-Identifier: GPL-2.0
/*
 * --device: the option, and the checks that run on sysfs before the
 * guest starts, on fake sysfs trees (a device directory with driver and
 * iommu_group links, the group's devices beside it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "vfio/vfio.h"

static char root[PATH_MAX];

static void mkdirs(const char *fmt, const char *a)
{
	char p[PATH_MAX * 2], cmd[PATH_MAX * 2 + 16];

	snprintf(p, sizeof(p), fmt, root, a);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", p);
	assert_int_equal(system(cmd), 0);
}

static void link_to(const char *target, const char *fmt, const char *a)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), fmt, root, a);
	assert_int_equal(symlink(target, p), 0);
}

/* A device @dev bound to @driver (NULL: none) in group 7. */
static void add_dev(const char *dev, const char *driver)
{
	char t[PATH_MAX * 2];

	mkdirs("%s/devices/%s", dev);
	if (driver) {
		snprintf(t, sizeof(t), "%s/drivers/%s", root, driver);
		link_to(t, "%s/devices/%s/driver", dev);
	}
	snprintf(t, sizeof(t), "%s/groups/7", root);
	link_to(t, "%s/devices/%s/iommu_group", dev);
	snprintf(t, sizeof(t), "%s/devices/%s", root, dev);
	link_to(t, "%s/groups/7/devices/%s", dev);
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/devisor-vfio-XXXXXX");
	assert_non_null(mkdtemp(root));
	mkdirs("%s/groups/7/devices%s", "");
	mkdirs("%s/drivers%s", "");
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static int check(const char *dev, int *group, char *err)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/devices/%s", root, dev);
	return vfio_check_sysfs(p, group, err, 512);
}

static void test_no_device(void **state)
{
	char err[512];
	int g;

	assert_int_equal(check("0000:00:09.0", &g, err), -ENODEV);
	assert_non_null(strstr(err, "no such PCI device"));
}

static void test_wrong_driver(void **state)
{
	char err[512];
	int g;

	add_dev("0000:00:05.0", "nvme");
	assert_int_equal(check("0000:00:05.0", &g, err), -EBUSY);
	assert_non_null(strstr(err, "0000:00:05.0 is bound to nvme, not to "
				    "vfio-pci"));
	/* It says how: driver_override and drivers_probe. */
	assert_non_null(strstr(err, "driver_override"));
	assert_non_null(strstr(err, "/sys/bus/pci/drivers_probe"));

	add_dev("0000:00:06.0", NULL);
	assert_int_equal(check("0000:00:06.0", &g, err), -EBUSY);
	assert_non_null(strstr(err, "not bound to a driver"));
}

static void test_no_group(void **state)
{
	char err[512], t[PATH_MAX * 2];
	int g;

	mkdirs("%s/devices/%s", "0000:00:07.0");
	snprintf(t, sizeof(t), "%s/drivers/vfio-pci", root);
	link_to(t, "%s/devices/%s/driver", "0000:00:07.0");
	assert_int_equal(check("0000:00:07.0", &g, err), -ENXIO);
	assert_non_null(strstr(err, "no IOMMU group"));
	assert_non_null(strstr(err, "intel_iommu=on"));
}

static void test_group_viability(void **state)
{
	char err[512];
	int g = -1;

	add_dev("0000:00:05.0", "vfio-pci");
	/* Released neighbours: no driver, or a VFIO one. */
	add_dev("0000:00:05.1", NULL);
	add_dev("0000:00:05.2", "vfio-pci");
	assert_int_equal(check("0000:00:05.0", &g, err), 0);
	assert_int_equal(g, 7);

	/* A neighbour on a host driver makes the group unusable: named. */
	add_dev("0000:00:05.3", "e1000e");
	assert_int_equal(check("0000:00:05.0", &g, err), -EBUSY);
	assert_non_null(strstr(err, "IOMMU group 7 of 0000:00:05.0 is not "
				    "viable: 0000:00:05.3 (e1000e) is still "
				    "bound"));
}

static int parse(const char *spec, struct vfio_config *v, char *err)
{
	static char buf[256];

	strcpy(buf, spec);
	return config_parse_vfio(buf, v, err, 160);
}

static void test_option(void **state)
{
	struct vfio_config v;
	char err[160];

	assert_int_equal(
		parse("path=/sys/bus/pci/devices/0000:01:00.0", &v, err), 0);
	assert_string_equal(v.path, "/sys/bus/pci/devices/0000:01:00.0");
	assert_int_equal(v.addr, CONFIG_PCI_AUTO);
	assert_int_equal(parse("/sys/bus/pci/devices/0000:01:00.1,addr=06.0",
			       &v, err),
			 0);
	assert_string_equal(v.path, "/sys/bus/pci/devices/0000:01:00.1");
	assert_int_equal(v.addr, 6 << 3);

	assert_int_equal(parse("addr=06.0", &v, err), -EINVAL);
	assert_string_equal(
		err, "device needs path=/sys/bus/pci/devices/DDDD:BB:DD.F");
	assert_int_equal(parse("path=/x,rombar=0", &v, err), -EINVAL);
	assert_string_equal(err, "device has no option 'rombar' (it takes "
				 "path, addr, rom, id)");
	assert_int_equal(parse("path=/x", &v, err), 0);
	assert_false(v.no_rom);
	assert_int_equal(parse("path=/x,rom=off", &v, err), 0);
	assert_true(v.no_rom);
	assert_int_equal(parse("path=/x,rom=off,rom=on", &v, err), 0);
	assert_false(v.no_rom);
	assert_int_equal(parse("path=/x,rom=1", &v, err), -EINVAL);
	assert_string_equal(err, "device rom must be on or off, not '1'");
	assert_int_equal(parse("path=", &v, err), -EINVAL);
	assert_string_equal(err, "device path is empty");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_device, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrong_driver, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_viability, setup,
						teardown),
		cmocka_unit_test(test_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
