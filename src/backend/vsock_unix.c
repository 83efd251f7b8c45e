// SPDX-License-Identifier: GPL-2.0
#include "backend/vsock_unix.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"

struct vsock_unix {
	char *path;
	int fd;
};

static int unix_socket(void)
{
	return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

struct vsock_unix *vsock_unix_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_unix *u;
	struct stat st;
	int fd;

	/* PATH_4294967295 must fit too. */
	if (strlen(path) + 11 >= sizeof(sa.sun_path)) {
		pr_err("--vsock socket=%s: the path is longer than %zu bytes",
		       path, sizeof(sa.sun_path) - 12);
		return NULL;
	}
	strcpy(sa.sun_path, path);
	fd = unix_socket();
	if (fd < 0) {
		pr_err("--vsock: cannot create a socket: %s", strerror(errno));
		return NULL;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err("--vsock socket=%s exists and is not a socket",
			       path);
			goto fail;
		}
		/* Someone accepting: in use. Nobody: stale, removed. */
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
		    errno == EAGAIN) {
			pr_err("--vsock socket=%s is in use by another process",
			       path);
			goto fail;
		}
		close(fd);
		unlink(path);
		fd = unix_socket();
		if (fd < 0)
			return NULL;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		pr_err("--vsock socket=%s: cannot bind: %s", path,
		       strerror(errno));
		goto fail;
	}
	if (listen(fd, 64) < 0) {
		pr_err("--vsock socket=%s: cannot listen: %s", path,
		       strerror(errno));
		unlink(path);
		goto fail;
	}
	u = calloc(1, sizeof(*u));
	if (!u || !(u->path = strdup(path))) {
		free(u);
		unlink(path);
		goto fail;
	}
	u->fd = fd;
	return u;
fail:
	close(fd);
	return NULL;
}

void vsock_unix_close(struct vsock_unix *u)
{
	if (!u)
		return;
	close(u->fd);
	unlink(u->path);
	free(u->path);
	free(u);
}

int vsock_unix_listen_fd(const struct vsock_unix *u)
{
	return u->fd;
}

int vsock_unix_accept(struct vsock_unix *u)
{
	int fd = accept4(u->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

int vsock_unix_connect(struct vsock_unix *u, uint32_t port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", u->path, port);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = unix_socket();
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int vsock_unix_parse_connect(const char *buf, size_t len, uint32_t *port,
			     size_t *used)
{
	const char *nl = memchr(buf, '\n', len);
	uint64_t v = 0;
	const char *p;

	if (!nl)
		return len < VSOCK_UNIX_LINE_MAX ? -EAGAIN : -EINVAL;
	if (nl - buf >= VSOCK_UNIX_LINE_MAX || nl - buf < 9 ||
	    memcmp(buf, "CONNECT ", 8))
		return -EINVAL;
	for (p = buf + 8; p < nl; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	*port = (uint32_t)v;
	*used = (size_t)(nl - buf) + 1;
	return 0;
}
