// SPDX-License-Identifier: GPL-2.0
/*
 * The option parser: the input is one option's value, NUL-free, given to
 * the parser the first byte picks (--disk, --nvme, --platform, --net,
 * --rng, --console, --iommu, a PCI address, a UUID, a boolean), as
 * main.c hands them over.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/net.h"
#include "config.h"
#include "util/log.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], id[CONFIG_ID_LEN];
	char *s;
	uint8_t which;

	log_level = getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_QUIET;
	if (!size || size > 4096)
		return 0;
	which = data[0];
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	/* Selectors from 224 up: parsers added later (seeds keep theirs). */
	if (which >= 224 && which < 240) {
		struct vm_config c = { 0 };
		unsigned int boot, max;

		if (which < 230)
			(void)config_parse_cpus(s, &boot, &max, err,
						sizeof(err));
		else if (which < 236)
			(void)config_parse_memory(s, &c, err, sizeof(err));
		else
			(void)config_parse_pmem(s, &c.pmems[0], err,
						sizeof(err));
		free(s);
		return 0;
	}
	if (which >= 240) {
		struct vsock_config v;

		(void)config_parse_vsock(s, &v, err, sizeof(err));
		free(s);
		return 0;
	}
	switch (which % 10) {
	case 0: {
		struct disk_config d;

		memset(&d, 0, sizeof(d));
		if (!config_parse_disk(s, &d, err, sizeof(err)))
			(void)config_blk_options(&d);
		break;
	}
	case 1: {
		struct disk_config d;

		memset(&d, 0, sizeof(d));
		(void)config_parse_nvme(s, &d, err, sizeof(err));
		break;
	}
	case 2: {
		struct platform_config p;

		config_platform_default(&p);
		(void)config_parse_platform(s, &p, err, sizeof(err));
		break;
	}
	case 3: {
		struct net_options n;
		int addr = -1;

		memset(&n, 0, sizeof(n));
		(void)config_parse_net(s, &n, &addr, id, err, sizeof(err));
		break;
	}
	case 4: {
		int addr = -1;

		(void)config_parse_rng(s, &addr, err, sizeof(err));
		break;
	}
	case 5: {
		bool virtio = false;
		int addr = -1;

		(void)config_parse_console(s, &virtio, &addr, err, sizeof(err));
		break;
	}
	case 6: {
		struct iommu_config ic;

		(void)config_parse_iommu(s, &ic, err, sizeof(err));
		break;
	}
	case 7: {
		int devfn;

		(void)config_parse_pci_addr(s, &devfn, err, sizeof(err));
		break;
	}
	case 8: {
		uint8_t uuid[16];

		(void)config_parse_uuid(s, uuid);
		break;
	}
	default: {
		bool b;

		(void)config_parse_bool(s, &b);
		break;
	}
	}
	free(s);
	return 0;
}
