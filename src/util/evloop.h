/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_UTIL_EVLOOP_H
#define DEVISOR_UTIL_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/sandbox.h"

/*
 * An I/O thread: an epoll loop that runs device back-ends (queue notify
 * eventfds, tap and socket fds, timers) off the vCPU threads. Callbacks run
 * on the loop thread one at a time.
 */
struct evloop;

typedef void (*evloop_cb)(void *opaque, uint32_t events);

/*
 * How the loop's thread asks the host's scheduler to treat it. BATCH
 * (SCHED_BATCH): its wake-ups do not preempt a running task, so a vCPU
 * that kicks a queue on the same CPU keeps it and goes on posting until
 * it blocks or its slice ends, and the requests it posted meanwhile are
 * served in one pass; a wake-up on an idle CPU runs at once as before.
 * NORMAL: the thread keeps the policy devisor runs with.
 */
enum evloop_sched {
	EVLOOP_SCHED_NORMAL,
	EVLOOP_SCHED_BATCH,
};

struct evloop *evloop_create(const char *name);
struct evloop *evloop_create_sched(const char *name, enum evloop_sched sched);
/* With its thread under sandbox filter @kind rather than io's. */
struct evloop *evloop_create_kind(const char *name, enum evloop_sched sched,
				  enum sandbox_kind kind);
/*
 * A device's I/O thread of its own (iothread=on), made as @like (the
 * board's io0) is: its policy and filter; named "io-" and up to 12
 * characters of @id, and said at -v as @what's. NULL with errno set.
 */
struct evloop *evloop_create_own(const char *id, const struct evloop *like,
				 const char *what);
/* Stops the thread and frees the loop; no callback runs after it returns. */
void evloop_destroy(struct evloop *loop);

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_cb cb,
	       void *opaque);
/*
 * Removes @fd. When called from another thread it waits for a callback of
 * @fd that is running, so the caller may free @opaque afterwards.
 */
int evloop_del(struct evloop *loop, int fd);

/*
 * Polling, as QEMU's AioContext polls for its I/O threads: after a pass
 * the loop calls its pollers for a while before it sleeps, so that work
 * the guest posts meanwhile (a request in a ring whose kicks are off)
 * costs neither a notification exit nor a thread wake-up. The window
 * adapts between 0 and the largest @max_ns of the pollers: it grows
 * while what woke the loop came a little after the window closed, and
 * shrinks when nothing comes within @max_ns.
 */
struct evloop_poller {
	/* Polling starts: the poller turns its notifications off. */
	void (*begin)(void *opaque);
	/* Does the work found, if any; true if there was some. */
	bool (*poll)(void *opaque);
	/* Polling ends: notifications on again; true if work came meanwhile. */
	bool (*end)(void *opaque);
	void *opaque;
	uint64_t max_ns;
	struct evloop_poller *next; /* the loop's */
};

/*
 * Work put off to the end of the loop's pass: after every ready callback,
 * and after a poll window that found work. What several events of one
 * pass raise then costs one run of @fn (virtio-mmio's interrupt edge:
 * one edge for all the completions a pass pushed).
 */
struct evloop_deferred {
	void (*fn)(void *opaque);
	void *opaque;
	bool queued; /* the loop's; under its lock */
	struct evloop_deferred *next;
};

/*
 * Queues @d (once, however often called in a pass) when called on @loop's
 * thread; false on any other thread, where the caller does the work now.
 * @d must outlive the pass: a device frees it only after evloop_del() of
 * one of its fds or its loop's end, which wait for the pass to finish.
 */
bool evloop_defer(struct evloop *loop, struct evloop_deferred *d);

/*
 * A one-shot timer of the loop: @fn runs on the loop thread at the end of
 * the first pass at least @ns after evloop_timer_arm(), the loop sleeping
 * no longer than that. Arming an armed timer moves it.
 */
struct evloop_timer {
	void (*fn)(void *opaque);
	void *opaque;
	uint64_t due; /* monotonic_ns(); the loop's, under its lock */
	bool armed;
	struct evloop_timer *next;
};

/* On @loop's thread only (false elsewhere, and nothing is armed). */
bool evloop_timer_arm(struct evloop *loop, struct evloop_timer *t, uint64_t ns);
/*
 * From any thread; from another it waits out a pass in progress, so @t
 * may be freed afterwards.
 */
void evloop_timer_cancel(struct evloop *loop, struct evloop_timer *t);

/* From the loop thread only (a device's setup or teardown there), or
 * before any callback can run for @p's device. */
void evloop_add_poller(struct evloop *loop, struct evloop_poller *p);
void evloop_del_poller(struct evloop *loop, struct evloop_poller *p);

#endif
