// SPDX-License-Identifier: GPL-2.0
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

/*
 * Opens a non-empty regular file for reading; -errno with the reason in
 * @err (@errlen bytes).
 */
static int open_input(const char *path, const char *what, struct stat *st,
		      char *err, size_t errlen)
{
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot open %s %s: %s", what, path,
			 strerror(e));
		return -e;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		e = S_ISDIR(st->st_mode) ? EISDIR : EINVAL;
		snprintf(err, errlen, "%s %s is not a regular file", what,
			 path);
		close(fd);
		return -e;
	}
	if (st->st_size == 0) {
		snprintf(err, errlen, "%s %s is empty", what, path);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int check_file(const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;
	int fd = open_input(path, what, &st, err, errlen);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int map_file(const char *path, const char *what, struct mapped_file *f)
{
	struct stat st;
	char msg[512];
	void *p;
	int fd, err;

	f->data = NULL;
	f->size = 0;
	fd = open_input(path, what, &st, msg, sizeof(msg));
	if (fd < 0) {
		pr_err("%s", msg);
		return fd;
	}
	/* Mapped, not read: pages the loader copies are dropped afterwards. */
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	err = errno;
	close(fd);
	if (p == MAP_FAILED) {
		pr_err("cannot map %s %s: %s", what, path, strerror(err));
		return -err;
	}
	f->data = p;
	f->size = st.st_size;
	return 0;
}

void unmap_file(struct mapped_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->size);
	f->data = NULL;
	f->size = 0;
}
