// SPDX-License-Identifier: GPL-2.0
#include "util/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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
	bool stop;
	char name[16];
};

static void *evloop_thread(void *arg)
{
	struct evloop *loop = arg;
	struct epoll_event evs[32];
	sigset_t set;

	sigfillset(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sandbox_apply(SANDBOX_IO, loop->name);
	for (;;) {
		int n = epoll_wait(loop->epfd, evs, 32, -1);

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
		for (int i = 0; i < n; i++) {
			struct handler *h = evs[i].data.ptr;

			/* A handler deleted by an earlier callback is gone. */
			for (struct handler *p = loop->handlers; p; p = p->next)
				if (p == h) {
					h->cb(h->opaque, evs[i].events);
					break;
				}
		}
		pthread_mutex_unlock(&loop->lock);
	}
	return NULL;
}

struct evloop *evloop_create(const char *name)
{
	struct evloop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!loop)
		return NULL;
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
