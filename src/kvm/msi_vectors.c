// SPDX-License-Identifier: GPL-2.0
#include "kvm/msi_vectors.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"

int msi_vectors_init(struct msi_vectors *mv, const char *name, unsigned int nr,
		     const struct irq_ops *ops, void *opaque)
{
	*mv = (struct msi_vectors){ .ops = ops,
				    .opaque = opaque,
				    .name = name,
				    .sid = IRQ_SID_NONE,
				    .nr = nr };
	mv->v = calloc(nr ? nr : 1, sizeof(*mv->v));
	if (!mv->v)
		return -ENOMEM;
	for (unsigned int i = 0; i < nr; i++)
		mv->v[i] = (struct msi_vector){ .efd = -1,
						.gsi = -1,
						.masked = true };
	pthread_mutex_init(&mv->lock, NULL);
	return 0;
}

void msi_vectors_set_requester(struct msi_vectors *mv, int sid)
{
	pthread_mutex_lock(&mv->lock);
	mv->sid = sid;
	pthread_mutex_unlock(&mv->lock);
}

/* The rest run with mv->lock held. */

static void give_up(struct msi_vectors *mv)
{
	if (!mv->irqfd_broken)
		pr_warn("%s: no irqfd for MSI, interrupts take the slow path",
			mv->name);
	mv->irqfd_broken = true;
}

static void unbind(struct msi_vectors *mv, struct msi_vector *vec)
{
	if (!vec->bound)
		return;
	mv->ops->irqfd_deassign(mv->opaque, vec->efd, vec->gsi);
	vec->bound = false;
}

/* Point the route at the message and bind the irqfd to it. */
static void bind(struct msi_vectors *mv, struct msi_vector *vec)
{
	int ret;

	if (mv->irqfd_broken)
		return;
	if (vec->gsi < 0) {
		ret = mv->ops->route_add(mv->opaque, mv->sid, vec->addr,
					 vec->data);
		if (ret < 0) {
			give_up(mv);
			return;
		}
		vec->gsi = ret;
		vec->route_ok = true;
	} else if (!vec->route_ok) {
		vec->route_ok = !mv->ops->route_update(
			mv->opaque, vec->gsi, mv->sid, vec->addr, vec->data);
	}
	if (!vec->route_ok || vec->bound)
		return;
	if (vec->efd < 0)
		vec->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vec->efd < 0 ||
	    mv->ops->irqfd_assign(mv->opaque, vec->efd, vec->gsi)) {
		give_up(mv);
		return;
	}
	vec->bound = true;
}

/* Unbound, a back-end's eventfd writes are ours to deliver: pending. */
static void drain(struct msi_vector *vec)
{
	uint64_t cnt;

	if (vec->efd >= 0 && !vec->bound &&
	    read(vec->efd, &cnt, sizeof(cnt)) == sizeof(cnt) && cnt)
		vec->pending = true;
}

static void deliver(struct msi_vectors *mv, struct msi_vector *vec)
{
	uint64_t one = 1;

	if (vec->bound && write(vec->efd, &one, sizeof(one)) == sizeof(one))
		return;
	mv->ops->signal_msi(mv->opaque, mv->sid, vec->addr, vec->data);
}

void msi_vectors_destroy(struct msi_vectors *mv)
{
	if (!mv->v)
		return;
	for (unsigned int i = 0; i < mv->nr; i++) {
		struct msi_vector *vec = &mv->v[i];

		unbind(mv, vec);
		if (vec->efd >= 0)
			close(vec->efd);
		if (vec->gsi >= 0)
			mv->ops->route_remove(mv->opaque, vec->gsi);
	}
	free(mv->v);
	mv->v = NULL;
	pthread_mutex_destroy(&mv->lock);
}

void msi_vectors_set_msg(struct msi_vectors *mv, unsigned int v, uint64_t addr,
			 uint32_t data)
{
	struct msi_vector *vec;

	if (v >= mv->nr)
		return;
	vec = &mv->v[v];
	pthread_mutex_lock(&mv->lock);
	if (vec->addr != addr || vec->data != data || !vec->route_ok) {
		vec->addr = addr;
		vec->data = data;
		if (vec->gsi >= 0)
			vec->route_ok = !mv->ops->route_update(
				mv->opaque, vec->gsi, mv->sid, addr, data);
		/* The irqfd would still reach the old message. */
		if (!vec->route_ok)
			unbind(mv, vec);
	}
	pthread_mutex_unlock(&mv->lock);
}

void msi_vectors_mask(struct msi_vectors *mv, unsigned int v, bool masked)
{
	struct msi_vector *vec;

	if (v >= mv->nr)
		return;
	vec = &mv->v[v];
	pthread_mutex_lock(&mv->lock);
	if (vec->masked != masked) {
		vec->masked = masked;
		if (masked) {
			unbind(mv, vec);
		} else {
			/* KVM injects at bind if a back-end wrote meanwhile. */
			bind(mv, vec);
			drain(vec);
			if (vec->pending) {
				vec->pending = false;
				deliver(mv, vec);
			}
		}
	}
	pthread_mutex_unlock(&mv->lock);
}

bool msi_vectors_fire(struct msi_vectors *mv, unsigned int v)
{
	struct msi_vector *vec;
	bool sent;

	if (v >= mv->nr)
		return false;
	vec = &mv->v[v];
	pthread_mutex_lock(&mv->lock);
	sent = !vec->masked;
	if (sent)
		deliver(mv, vec);
	else
		vec->pending = true;
	pthread_mutex_unlock(&mv->lock);
	return sent;
}

bool msi_vectors_pending(struct msi_vectors *mv, unsigned int v)
{
	bool p;

	if (v >= mv->nr)
		return false;
	pthread_mutex_lock(&mv->lock);
	if (mv->v[v].masked)
		drain(&mv->v[v]);
	p = mv->v[v].pending;
	pthread_mutex_unlock(&mv->lock);
	return p;
}

void msi_vectors_reset(struct msi_vectors *mv)
{
	pthread_mutex_lock(&mv->lock);
	for (unsigned int i = 0; i < mv->nr; i++) {
		struct msi_vector *vec = &mv->v[i];

		unbind(mv, vec);
		drain(vec); /* and forget it with the rest */
		vec->masked = true;
		vec->pending = false;
		/* The front-end's table is empty again; the route follows. */
		vec->addr = 0;
		vec->data = 0;
		vec->route_ok = false;
	}
	pthread_mutex_unlock(&mv->lock);
}

int msi_vectors_eventfd(struct msi_vectors *mv, unsigned int v)
{
	struct msi_vector *vec;
	int fd = -1;

	if (v >= mv->nr)
		return -1;
	vec = &mv->v[v];
	pthread_mutex_lock(&mv->lock);
	if (!mv->irqfd_broken) {
		if (vec->efd < 0)
			vec->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		fd = vec->efd;
	}
	pthread_mutex_unlock(&mv->lock);
	return fd;
}
