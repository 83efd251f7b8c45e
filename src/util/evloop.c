// SPDX-License-Identifier: GPL-2.0
#include "util/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/sandbox.h"

struct handler {
	int fd;
	evloop_cb cb;
	void *opaque;
	struct handler *next;
};

struct evloop {
	int epfd;
	int stopfd;
	pthread_t thread;
	/* Held while a callback runs; evloop_del takes it to wait one out. */
	pthread_mutex_t lock;
	struct handler *handlers;
	struct evloop_poller *pollers;
	struct evloop_deferred *deferred; /* to run at the end of the pass */
	struct evloop_timer *timers; /* armed, unordered: a device or two */
	uint64_t poll_ns; /* the window now, adapted (evloop.h) */
	uint64_t poll_start; /* when the last window that found nothing opened */
	bool stop;
	enum evloop_sched sched;
	enum sandbox_kind kind; /* its thread's filter */
	bool no_pwait2; /* the kernel predates epoll_pwait2() */
	char name[16];
};

/* The first window, and the smallest worth opening. */
#define POLL_MIN_NS 4000ull

static uint64_t poll_max(const struct evloop *loop)
{
	uint64_t max = 0;

	for (const struct evloop_poller *p = loop->pollers; p; p = p->next)
		if (p->max_ns > max)
			max = p->max_ns;
	return max;
}

/*
 * Lock held. True if a poller found work; false after a window with none
 * (the loop then sleeps, and poll_adapt() sees how long for).
 */
static bool poll_pollers(struct evloop *loop)
{
	uint64_t max = poll_max(loop), end;
	bool found = false;

	if (!max)
		return false;
	if (loop->poll_ns > max)
		loop->poll_ns = max;
	for (struct evloop_poller *p = loop->pollers; p; p = p->next)
		p->begin(p->opaque);
	loop->poll_start = monotonic_ns();
	end = loop->poll_start + loop->poll_ns;
	do {
		for (struct evloop_poller *p = loop->pollers; p; p = p->next)
			found |= p->poll(p->opaque);
	} while (!found && monotonic_ns() < end);
	for (struct evloop_poller *p = loop->pollers; p; p = p->next)
		found |= p->end(p->opaque);
	if (found)
		loop->poll_start = 0;
	return found;
}

/*
 * After a sleep that followed a window: QEMU's rule. Work that came
 * within @max of the window's start but after its end widens it; work
 * that took longer than @max narrows it (polling that long is waste).
 */
static void poll_adapt(struct evloop *loop)
{
	uint64_t max = poll_max(loop), slept;

	if (!loop->poll_start || !max)
		return;
	slept = monotonic_ns() - loop->poll_start;
	loop->poll_start = 0;
	if (slept <= loop->poll_ns)
		return;
	if (slept > max) {
		loop->poll_ns /= 2;
		if (loop->poll_ns < POLL_MIN_NS)
			loop->poll_ns = 0;
	} else if (loop->poll_ns < max) {
		loop->poll_ns = loop->poll_ns ? loop->poll_ns * 2 : POLL_MIN_NS;
		if (loop->poll_ns > max)
			loop->poll_ns = max;
	}
}

bool evloop_defer(struct evloop *loop, struct evloop_deferred *d)
{
	if (!pthread_equal(pthread_self(), loop->thread))
		return false;
	if (!d->queued) {
		d->queued = true;
		d->next = loop->deferred;
		loop->deferred = d;
	}
	return true;
}

/* Lock held. */
static void run_deferred(struct evloop *loop)
{
	while (loop->deferred) {
		struct evloop_deferred *d = loop->deferred;

		loop->deferred = d->next;
		d->queued = false;
		d->fn(d->opaque);
	}
}

static void unlink_timer(struct evloop *loop, struct evloop_timer *t)
{
	for (struct evloop_timer **pp = &loop->timers; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->armed = false;
}

bool evloop_timer_arm(struct evloop *loop, struct evloop_timer *t, uint64_t ns)
{
	if (!pthread_equal(pthread_self(), loop->thread))
		return false;
	if (!t->armed) {
		t->next = loop->timers;
		loop->timers = t;
		t->armed = true;
	}
	t->due = monotonic_ns() + ns;
	return true;
}

void evloop_timer_cancel(struct evloop *loop, struct evloop_timer *t)
{
	bool self = pthread_equal(pthread_self(), loop->thread);

	if (!self)
		pthread_mutex_lock(&loop->lock);
	if (t->armed)
		unlink_timer(loop, t);
	if (!self)
		pthread_mutex_unlock(&loop->lock);
}

/*
 * Lock held. Runs the timers that are due (one may arm itself or another
 * again: that waits for a later pass) and returns how long the loop may
 * sleep: -1 for as long as it likes.
 */
static int64_t run_timers(struct evloop *loop)
{
	uint64_t now = monotonic_ns(), next = UINT64_MAX;
	struct evloop_timer *due = NULL, **pp = &loop->timers;

	while (*pp) {
		struct evloop_timer *t = *pp;

		if (t->due <= now) {
			*pp = t->next;
			t->armed = false;
			t->next = due;
			due = t;
		} else {
			pp = &t->next;
		}
	}
	while (due) {
		struct evloop_timer *t = due;

		due = t->next;
		t->fn(t->opaque);
	}
	if (!loop->timers)
		return -1;
	now = monotonic_ns();
	for (struct evloop_timer *t = loop->timers; t; t = t->next)
		if (t->due < next)
			next = t->due;
	return next > now ? (int64_t)(next - now) : 0;
}

/* epoll_wait() for at most @ns (-1: no limit), to the nanosecond where the
 * kernel has epoll_pwait2() (5.11), else rounded up to a millisecond. */
static int wait_events(struct evloop *loop, struct epoll_event *evs, int max,
		       int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000,
			       .tv_nsec = ns % 1000000000 };
	long r;

	if (ns <= 0)
		return epoll_wait(loop->epfd, evs, max, ns < 0 ? -1 : 0);
	if (!loop->no_pwait2) {
		r = syscall(SYS_epoll_pwait2, loop->epfd, evs, max, &ts, NULL,
			    0);
		if (r >= 0 || errno != ENOSYS)
			return (int)r;
		loop->no_pwait2 = true;
	}
	return epoll_wait(loop->epfd, evs, max,
			  (int)((ns + 999999) / 1000000 > INT32_MAX ?
					INT32_MAX :
					(ns + 999999) / 1000000));
}

static void *evloop_thread(void *arg)
{
	struct evloop *loop = arg;
	struct epoll_event evs[32];
	bool busy = false;
	int64_t sleep_ns = -1;
	sigset_t set;

	/*
	 * Before signals are blocked, so that a refused call reaches the
	 * sandbox's SIGSYS handler, which names it. A failure is not fatal:
	 * the loop only loses its batching.
	 */
	if (loop->sched == EVLOOP_SCHED_BATCH) {
		struct sched_param sp = { 0 };

		if (sched_setscheduler(0, SCHED_BATCH, &sp))
			pr_warn("%s: cannot use SCHED_BATCH: %s", loop->name,
				strerror(errno));
	}
	sigfillset(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sandbox_apply(loop->kind, loop->name);
	for (;;) {
		/* After a window that found work, only a look at the fds. */
		int n = wait_events(loop, evs, 32, busy ? 0 : sleep_ns);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("epoll_wait: %s", strerror(errno));
			break;
		}
		pthread_mutex_lock(&loop->lock);
		if (loop->stop) {
			pthread_mutex_unlock(&loop->lock);
			break;
		}
		if (!busy)
			poll_adapt(loop);
		for (int i = 0; i < n; i++) {
			struct handler *h = evs[i].data.ptr;

			/* A handler deleted by an earlier callback is gone. */
			for (struct handler *p = loop->handlers; p; p = p->next)
				if (p == h) {
					h->cb(h->opaque, evs[i].events);
					break;
				}
		}
		run_deferred(loop);
		busy = loop->pollers && poll_pollers(loop);
		run_deferred(loop);
		sleep_ns = run_timers(loop);
		run_deferred(loop);
		pthread_mutex_unlock(&loop->lock);
	}
	return NULL;
}

struct evloop *evloop_create(const char *name)
{
	return evloop_create_sched(name, EVLOOP_SCHED_NORMAL);
}

struct evloop *evloop_create_sched(const char *name, enum evloop_sched sched)
{
	return evloop_create_kind(name, sched, SANDBOX_IO);
}

struct evloop *evloop_create_kind(const char *name, enum evloop_sched sched,
				  enum sandbox_kind kind)
{
	struct evloop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!loop)
		return NULL;
	loop->sched = sched;
	loop->kind = kind;
	pthread_mutex_init(&loop->lock, NULL);
	snprintf(loop->name, sizeof(loop->name), "%s", name);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ev.data.ptr = NULL;
	if (loop->epfd < 0 || loop->stopfd < 0 ||
	    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stopfd, &ev) < 0 ||
	    pthread_create(&loop->thread, NULL, evloop_thread, loop)) {
		pr_err("cannot start I/O thread %s: %s", name, strerror(errno));
		if (loop->epfd >= 0)
			close(loop->epfd);
		if (loop->stopfd >= 0)
			close(loop->stopfd);
		free(loop);
		return NULL;
	}
	pthread_setname_np(loop->thread, name);
	return loop;
}

struct evloop *evloop_create_own(const char *id, const struct evloop *like,
				 const char *what)
{
	char name[16];
	struct evloop *own;

	snprintf(name, sizeof(name), "io-%.12s", id);
	own = evloop_create_kind(name, like->sched, like->kind);
	if (!own)
		errno = ENOMEM;
	else
		pr_info("%s: on I/O thread %s of its own", what, name);
	return own;
}

void evloop_destroy(struct evloop *loop)
{
	uint64_t one = 1;

	if (!loop)
		return;
	pthread_mutex_lock(&loop->lock);
	loop->stop = true;
	pthread_mutex_unlock(&loop->lock);
	if (write(loop->stopfd, &one, sizeof(one)) < 0)
		pr_warn("cannot wake I/O thread: %s", strerror(errno));
	pthread_join(loop->thread, NULL);
	while (loop->handlers) {
		struct handler *h = loop->handlers;

		loop->handlers = h->next;
		free(h);
	}
	close(loop->epfd);
	close(loop->stopfd);
	free(loop);
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_cb cb,
	       void *opaque)
{
	struct handler *h = calloc(1, sizeof(*h));
	struct epoll_event ev = { .events = events };
	bool self = pthread_equal(pthread_self(), loop->thread);

	if (!h)
		return -ENOMEM;
	*h = (struct handler){ .fd = fd, .cb = cb, .opaque = opaque };
	ev.data.ptr = h;
	if (!self)
		pthread_mutex_lock(&loop->lock);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		if (!self)
			pthread_mutex_unlock(&loop->lock);
		free(h);
		return err;
	}
	h->next = loop->handlers;
	loop->handlers = h;
	if (!self)
		pthread_mutex_unlock(&loop->lock);
	return 0;
}

int evloop_del(struct evloop *loop, int fd)
{
	bool self = pthread_equal(pthread_self(), loop->thread);
	struct handler **p, *h = NULL;

	if (!self)
		pthread_mutex_lock(&loop->lock);
	for (p = &loop->handlers; *p; p = &(*p)->next) {
		if ((*p)->fd == fd) {
			h = *p;
			*p = h->next;
			break;
		}
	}
	if (h)
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (!self)
		pthread_mutex_unlock(&loop->lock);
	free(h);
	return h ? 0 : -ENOENT;
}

void evloop_add_poller(struct evloop *loop, struct evloop_poller *p)
{
	bool self = pthread_equal(pthread_self(), loop->thread);

	if (!self)
		pthread_mutex_lock(&loop->lock);
	p->next = loop->pollers;
	loop->pollers = p;
	if (!self)
		pthread_mutex_unlock(&loop->lock);
}

void evloop_del_poller(struct evloop *loop, struct evloop_poller *p)
{
	bool self = pthread_equal(pthread_self(), loop->thread);

	if (!self)
		pthread_mutex_lock(&loop->lock);
	for (struct evloop_poller **pp = &loop->pollers; *pp;
	     pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (!self)
		pthread_mutex_unlock(&loop->lock);
}
