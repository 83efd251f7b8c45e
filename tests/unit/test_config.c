// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "config.h"

static int parse(const char *spec, struct disk_config *d, char *err)
{
	static char buf[256];

	strcpy(buf, spec);
	return config_parse_disk(buf, d, err, 160);
}

static void test_disk_good(void **state)
{
	struct disk_config d;
	char err[160];

	assert_int_equal(parse("path=/tmp/a.img", &d, err), 0);
	assert_string_equal(d.path, "/tmp/a.img");
	assert_false(d.readonly);
	assert_int_equal(d.transport, TRANSPORT_PCI);
	assert_int_equal(d.nr_queues, 1);
	assert_int_equal(d.engine, BLK_ENGINE_AUTO);

	assert_int_equal(parse("/tmp/b.img,readonly=on,transport=mmio,"
			       "direct=on,engine=sync,queues=4,serial=ab12",
			       &d, err),
			 0);
	assert_string_equal(d.path, "/tmp/b.img");
	assert_true(d.readonly);
	assert_true(d.direct);
	assert_int_equal(d.transport, TRANSPORT_MMIO);
	assert_int_equal(d.engine, BLK_ENGINE_SYNC);
	assert_int_equal(d.nr_queues, 4);
	assert_string_equal(d.serial, "ab12");
}

static void test_disk_bad(void **state)
{
	static const struct {
		const char *spec, *msg;
	} cases[] = {
		{ "", "disk needs path=IMAGE" },
		{ "readonly=on", "disk needs path=IMAGE" },
		{ "path=", "disk path is empty" },
		{ "path=a,readonly=maybe",
		  "disk readonly takes on or off, not 'maybe'" },
		{ "path=a,transport=isa",
		  "disk transport takes pci or mmio, not 'isa'" },
		{ "path=a,queues=0",
		  "disk queues takes a number from 1 to 16, not '0'" },
		{ "path=a,queues=17",
		  "disk queues takes a number from 1 to 16, not '17'" },
		{ "path=a,engine=aio",
		  "disk engine takes auto, io_uring or sync, not 'aio'" },
		{ "path=a,serial=123456789012345678901",
		  "disk serial '123456789012345678901' is longer than 20 "
		  "bytes" },
		{ "path=a,cache=none",
		  "unknown disk option 'cache' (path, readonly, transport, "
		  "direct, engine, queues, serial)" },
		{ "path=a,readonly", "disk option 'readonly' needs a value "
				     "(key=value)" },
	};
	struct disk_config d;
	char err[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		assert_int_equal(parse(cases[i].spec, &d, err), -EINVAL);
		assert_string_equal(err, cases[i].msg);
	}
}

static void test_bool(void **state)
{
	bool b;

	assert_int_equal(config_parse_bool("on", &b), 0);
	assert_true(b);
	assert_int_equal(config_parse_bool("false", &b), 0);
	assert_false(b);
	assert_int_equal(config_parse_bool("On", &b), -EINVAL);
	assert_int_equal(config_parse_bool("", &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_good),
		cmocka_unit_test(test_disk_bad),
		cmocka_unit_test(test_bool),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
