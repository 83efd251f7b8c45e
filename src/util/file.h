/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_FILE_H
#define DEVISOR_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>

struct mapped_file {
	const uint8_t *data;
	size_t size;
};

/* Maps @path read-only; logs "cannot open <what> <path>: reason". */
int map_file(const char *path, const char *what, struct mapped_file *f);
void unmap_file(struct mapped_file *f);
/*
 * What map_file() checks (a readable, non-empty regular file), no more;
 * -errno with the reason in @err.
 */
int check_file(const char *path, const char *what, char *err, size_t errlen);

#endif
