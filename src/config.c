// SPDX-License-Identifier: GPL-2.0
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/parse.h"

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i]))
			return *out = true, 0;
		if (!strcmp(s, no[i]))
			return *out = false, 0;
	}
	return -EINVAL;
}

#define FAIL(...)                                   \
	do {                                        \
		snprintf(err, errlen, __VA_ARGS__); \
		return -EINVAL;                     \
	} while (0)

struct blk_options config_blk_options(const struct disk_config *d)
{
	return (struct blk_options){
		.readonly = d->readonly,
		.direct = d->direct,
		.engine = d->engine,
		.serial = d->serial[0] ? d->serial : NULL,
	};
}

int config_parse_disk(char *spec, struct disk_config *d, char *err,
		      size_t errlen)
{
	char *save = NULL, *tok;
	bool first = true;

	*d = (struct disk_config){ .engine = BLK_ENGINE_AUTO,
				   .transport = TRANSPORT_PCI,
				   .nr_queues = 1 };
	for (tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save), first = false) {
		char *val = strchr(tok, '=');
		unsigned long n;
		bool b;

		if (!val) {
			/* A bare first token is the image, as in -drive. */
			if (first) {
				d->path = tok;
				continue;
			}
			FAIL("disk option '%s' needs a value (key=value)", tok);
		}
		*val++ = '\0';
		if (!strcmp(tok, "path")) {
			if (!*val)
				FAIL("disk path is empty");
			d->path = val;
		} else if (!strcmp(tok, "readonly") || !strcmp(tok, "ro")) {
			if (config_parse_bool(val, &b))
				FAIL("disk readonly takes on or off, not '%s'",
				     val);
			d->readonly = b;
		} else if (!strcmp(tok, "direct")) {
			if (config_parse_bool(val, &b))
				FAIL("disk direct takes on or off, not '%s'",
				     val);
			d->direct = b;
		} else if (!strcmp(tok, "transport")) {
			if (!strcmp(val, "pci"))
				d->transport = TRANSPORT_PCI;
			else if (!strcmp(val, "mmio"))
				d->transport = TRANSPORT_MMIO;
			else
				FAIL("disk transport takes pci or mmio, not "
				     "'%s'",
				     val);
		} else if (!strcmp(tok, "engine")) {
			if (!strcmp(val, "auto"))
				d->engine = BLK_ENGINE_AUTO;
			else if (!strcmp(val, "io_uring"))
				d->engine = BLK_ENGINE_IO_URING;
			else if (!strcmp(val, "sync"))
				d->engine = BLK_ENGINE_SYNC;
			else
				FAIL("disk engine takes auto, io_uring or "
				     "sync, not '%s'",
				     val);
		} else if (!strcmp(tok, "queues")) {
			if (parse_uint(val, 1, 16, &n))
				FAIL("disk queues takes a number from 1 to 16, "
				     "not '%s'",
				     val);
			d->nr_queues = n;
		} else if (!strcmp(tok, "serial")) {
			if (strlen(val) > BLK_SERIAL_LEN)
				FAIL("disk serial '%s' is longer than %d "
				     "bytes",
				     val, BLK_SERIAL_LEN);
			strcpy(d->serial, val);
		} else {
			FAIL("unknown disk option '%s' (path, readonly, "
			     "transport, direct, engine, queues, serial)",
			     tok);
		}
	}
	if (!d->path)
		FAIL("disk needs path=IMAGE");
	return 0;
}

void config_platform_default(struct platform_config *p)
{
	*p = (struct platform_config){ .serial = "0" };
}

int config_parse_uuid(const char *s, uint8_t out[16])
{
	static const unsigned int group[] = { 8, 4, 4, 4, 12 };
	unsigned int n = 0;

	for (unsigned int g = 0; g < 5; g++) {
		if (g && *s++ != '-')
			return -EINVAL;
		for (unsigned int i = 0; i < group[g]; i += 2, s += 2) {
			if (!isxdigit((unsigned char)s[0]) ||
			    !isxdigit((unsigned char)s[1]))
				return -EINVAL;
			sscanf(s, "%2hhx", &out[n++]);
		}
	}
	return *s ? -EINVAL : 0;
}

int config_parse_platform(char *spec, struct platform_config *p, char *err,
			  size_t errlen)
{
	char *save = NULL, *tok;

	if (!*spec)
		FAIL("platform needs serial=S and/or uuid=U");
	for (tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');

		if (!val)
			FAIL("platform option '%s' needs a value (key=value)",
			     tok);
		*val++ = '\0';
		if (!strcmp(tok, "serial")) {
			size_t len = strlen(val);

			if (!len || len > CONFIG_PLATFORM_SERIAL_MAX)
				FAIL("platform serial takes 1 to %d "
				     "characters, not %zu",
				     CONFIG_PLATFORM_SERIAL_MAX, len);
			for (size_t i = 0; i < len; i++)
				if (val[i] < 0x20 || val[i] > 0x7e)
					FAIL("platform serial takes printable "
					     "ASCII only");
			strcpy(p->serial, val);
		} else if (!strcmp(tok, "uuid")) {
			if (config_parse_uuid(val, p->uuid))
				FAIL("platform uuid takes the form "
				     "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx "
				     "(hexadecimal), not '%s'",
				     val);
		} else {
			FAIL("unknown platform option '%s' (serial, uuid)",
			     tok);
		}
	}
	return 0;
}
