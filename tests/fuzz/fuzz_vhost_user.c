// SPDX-License-Identifier: GPL-2.0
/*
 * The replies of a vhost-user back-end (vhost/vhost_user.c): the input is
 * the byte stream a hostile back-end sends, written into the far end of a
 * socketpair whose write side is then shut, so the front-end reads it to
 * EOF and never waits. The front-end runs the handshake (GET_FEATURES,
 * protocol features, SET_OWNER), a GET_CONFIG, a GET_QUEUE_NUM and a
 * GET_VRING_BASE, checking every header, size and field it parses; after
 * the first bad reply every call must fail with -EPIPE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "vhost/vhost_user.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What fits in a socket buffer at once, so the write never blocks. */
#define MAX_INPUT 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vhost_user u;
	uint8_t cfg[VHOST_USER_MAX_CONFIG];
	uint64_t n;
	uint16_t base;
	int sv[2], ret;

	if (size > MAX_INPUT)
		return 0;
	log_level = getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_QUIET;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	if (size && write(sv[1], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[1], SHUT_WR);
	ret = vhost_user_init_fd(&u, sv[0], "fuzz");
	if (!ret) {
		/* The length to ask for comes from the input too. */
		uint32_t len = size ? data[0] % (VHOST_USER_MAX_CONFIG + 1) : 8;

		ret = vhost_user_get_config(&u, 0, cfg, len);
		if (ret != -EPIPE)
			ret = vhost_user_get_queue_num(&u, &n);
		if (ret != -EPIPE)
			ret = vhost_user_get_ring_base(&u, 1, &base);
	}
	if (ret == -EPIPE && !u.dead)
		abort();
	if (u.dead && vhost_user_set_vring_enable(&u, 0, true) != -EPIPE)
		abort();
	vhost_user_close(&u);
	close(sv[1]);
	return 0;
}
