/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_CONFIG_H
#define DEVISOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/block.h"
#include "backend/net.h"

/*
 * What the user asked for on the command line, checked and typed. Parsers
 * return 0 or -EINVAL with one precise sentence in @err.
 */
#define CONFIG_MAX_DISKS 16
#define CONFIG_MAX_NETS 8

enum virtio_transport_kind { TRANSPORT_PCI, TRANSPORT_MMIO };

struct disk_config {
	const char *path;
	bool readonly;
	bool direct;
	enum blk_engine engine;
	enum virtio_transport_kind transport;
	unsigned int nr_queues;
	char serial[BLK_SERIAL_LEN + 1];
};

/* "path=IMG[,readonly=on][,transport=pci|mmio][,direct=on]
 *  [,engine=auto|io_uring|sync][,queues=N][,serial=S]"; a bare IMG works
 *  too. Points into @spec, which must outlive @out. */
int config_parse_disk(char *spec, struct disk_config *out, char *err,
		      size_t errlen);

/* The back-end options a --disk asks for. */
struct blk_options config_blk_options(const struct disk_config *d);

/*
 * What the guest's firmware tables say about the machine (SMBIOS type 1).
 * Defaults: serial "0", the nil UUID (SMBIOS: "not present").
 */
#define CONFIG_PLATFORM_SERIAL_MAX 64

struct platform_config {
	char serial[CONFIG_PLATFORM_SERIAL_MAX + 1];
	uint8_t uuid[16]; /* in the order it is written */
};

void config_platform_default(struct platform_config *p);

/* "serial=S,uuid=U", either or both, over what @out holds already. */
int config_parse_platform(char *spec, struct platform_config *out, char *err,
			  size_t errlen);

/* 8-4-4-4-12 hexadecimal digits, either case. */
int config_parse_uuid(const char *s, uint8_t out[16]);

/* on|off|yes|no|true|false|1|0 */
int config_parse_bool(const char *s, bool *out);

#endif
