/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_EVLOOP_H
#define DEVISOR_UTIL_EVLOOP_H

#include <stdint.h>

/*
 * An I/O thread: an epoll loop that runs device back-ends (queue notify
 * eventfds, tap and socket fds, timers) off the vCPU threads. Callbacks run
 * on the loop thread one at a time.
 */
struct evloop;

typedef void (*evloop_cb)(void *opaque, uint32_t events);

struct evloop *evloop_create(const char *name);
/* Stops the thread and frees the loop; no callback runs after it returns. */
void evloop_destroy(struct evloop *loop);

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_cb cb,
	       void *opaque);
/*
 * Removes @fd. When called from another thread it waits for a callback of
 * @fd that is running, so the caller may free @opaque afterwards.
 */
int evloop_del(struct evloop *loop, int fd);

#endif
