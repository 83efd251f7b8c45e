// SPDX-License-Identifier: GPL-2.0
#include "kvm/dma.h"

#include <errno.h>
#include <string.h>

#include "kvm/memory.h"

int dma_ram_piece(const struct guest_mem *mem, uint64_t gpa, uint64_t n,
		  void **hva, uint64_t *contig)
{
	uint8_t *p;
	uint64_t avail;

	if (guest_mem_lookup(mem, gpa, &p, &avail))
		return -EFAULT;
	*hva = p;
	*contig = n < avail ? n : avail;
	return 0;
}

/*
 * Identity: the largest piece of [iova, iova+len) inside one RAM range.
 * Ranges are disjoint, so a buffer that crosses from one to the next (at
 * the PCI hole there is none to cross into) ends at the range's end.
 */
static int identity_translate(struct dma_space *as, uint64_t iova, uint64_t len,
			      enum dma_dir dir, void **hva, uint64_t *contig)
{
	return dma_ram_piece(as->mem, iova, len, hva, contig);
}

struct translated_arg {
	dma_replay_fn *fn;
	void *arg;
	uint64_t iova, gpa; /* where the translated piece starts */
	enum dma_dir dir;
};

static int translated_ram(void *a, uint64_t gpa, uint64_t len, uint8_t *hva)
{
	const struct translated_arg *ta = a;

	return ta->fn(ta->arg, ta->iova + (gpa - ta->gpa), len, hva, ta->dir);
}

int dma_replay_translated(const struct guest_mem *mem, uint64_t iova,
			  uint64_t last, uint64_t gpa, enum dma_dir dir,
			  dma_replay_fn *fn, void *arg)
{
	struct translated_arg ta = {
		.fn = fn, .arg = arg, .iova = iova, .gpa = gpa, .dir = dir
	};
	uint64_t glast = last - iova > UINT64_MAX - gpa ? UINT64_MAX :
							  gpa + (last - iova);

	if (!dir)
		return 0;
	return guest_mem_for_each(mem, gpa, glast, translated_ram, &ta);
}

static int identity_replay(struct dma_space *as, uint64_t iova, uint64_t len,
			   dma_replay_fn *fn, void *arg)
{
	return dma_replay_translated(as->mem, iova, dma_last_byte(iova, len),
				     iova, DMA_READ | DMA_WRITE, fn, arg);
}

static const struct dma_ops identity_ops = {
	.translate = identity_translate,
	.replay = identity_replay,
};

void dma_space_init(struct dma_space *as, const struct guest_mem *mem,
		    const struct dma_ops *ops, void *opaque)
{
	memset(as, 0, sizeof(*as));
	as->ops = ops;
	as->mem = mem;
	as->opaque = opaque;
	pthread_mutex_init(&as->lock, NULL);
}

void dma_space_init_identity(struct dma_space *as, const struct guest_mem *mem)
{
	dma_space_init(as, mem, &identity_ops, NULL);
}

void dma_space_destroy(struct dma_space *as)
{
	if (as->ops && as->ops->destroy)
		as->ops->destroy(as);
	pthread_mutex_destroy(&as->lock);
}

/*
 * The one walk: calls @fn for each contiguous piece of [iova, iova+len).
 * A translator that claims zero or more than asked is a bug in it, and
 * ends the walk rather than looping or overrunning.
 */
static int walk(struct dma_space *as, uint64_t iova, uint64_t len,
		enum dma_dir dir, int (*fn)(void *arg, void *hva, uint64_t n),
		void *arg)
{
	while (len) {
		void *hva;
		uint64_t n;
		int ret;

		if (iova + len - 1 < iova)
			return -EFAULT;
		ret = as->ops->translate(as, iova, len, dir, &hva, &n);
		if (ret)
			return ret;
		if (!n || n > len)
			return -EFAULT;
		ret = fn(arg, hva, n);
		if (ret)
			return ret;
		iova += n;
		len -= n;
	}
	return 0;
}

static int no_piece(void *opaque, void *hva, uint64_t n)
{
	return 0;
}

int dma_check(struct dma_space *as, uint64_t iova, uint64_t len,
	      enum dma_dir dir)
{
	return walk(as, iova, len, dir, no_piece, NULL);
}

struct copy_arg {
	uint8_t *p;
	bool to_guest;
};

static int copy_piece(void *opaque, void *hva, uint64_t n)
{
	struct copy_arg *a = opaque;

	if (a->to_guest)
		memcpy(hva, a->p, n);
	else
		memcpy(a->p, hva, n);
	a->p += n;
	return 0;
}

int dma_read(struct dma_space *as, uint64_t iova, void *dst, size_t len)
{
	struct copy_arg a = { .p = dst, .to_guest = false };

	return walk(as, iova, len, DMA_READ, copy_piece, &a);
}

int dma_write(struct dma_space *as, uint64_t iova, const void *src, size_t len)
{
	struct copy_arg a = { .p = (uint8_t *)src, .to_guest = true };

	return walk(as, iova, len, DMA_WRITE, copy_piece, &a);
}

struct iov_arg {
	struct iovec *iov;
	unsigned int max, n;
};

static int iov_piece(void *opaque, void *hva, uint64_t n)
{
	struct iov_arg *a = opaque;

	/* Pieces that touch in host memory make one iovec. */
	if (a->n &&
	    (uint8_t *)a->iov[a->n - 1].iov_base + a->iov[a->n - 1].iov_len ==
		    hva) {
		a->iov[a->n - 1].iov_len += n;
		return 0;
	}
	if (a->n == a->max)
		return -ENOSPC;
	a->iov[a->n++] = (struct iovec){ .iov_base = hva, .iov_len = n };
	return 0;
}

int dma_map_iov(struct dma_space *as, uint64_t iova, uint64_t len,
		enum dma_dir dir, struct iovec *iov, unsigned int max)
{
	struct iov_arg a = { .iov = iov, .max = max };
	int ret = walk(as, iova, len, dir, iov_piece, &a);

	return ret ? ret : (int)a.n;
}

void dma_unmap_iov(struct dma_space *as, const struct iovec *iov,
		   unsigned int n, enum dma_dir dir, size_t written)
{
	/*
	 * Nothing to release while every translation ends in guest RAM that
	 * lives as long as the VM. A bounce-buffering or pinning translator
	 * would copy back or unpin here.
	 */
	(void)as;
	(void)iov;
	(void)n;
	(void)dir;
	(void)written;
}

void *dma_map_contig(struct dma_space *as, uint64_t iova, uint64_t len,
		     enum dma_dir dir)
{
	void *hva;
	uint64_t n;

	if (!len || iova + len - 1 < iova ||
	    as->ops->translate(as, iova, len, dir, &hva, &n) || n != len)
		return NULL;
	return hva;
}

void dma_space_invalidate(struct dma_space *as, uint64_t iova, uint64_t len)
{
	__atomic_add_fetch(&as->generation, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&as->lock);
	for (struct dma_notifier *n = as->notifiers; n; n = n->next)
		n->invalidate(n, iova, len);
	pthread_mutex_unlock(&as->lock);
}

void dma_space_mapped(struct dma_space *as, uint64_t iova, uint64_t len)
{
	pthread_mutex_lock(&as->lock);
	for (struct dma_notifier *n = as->notifiers; n; n = n->next)
		if (n->mapped)
			n->mapped(n, iova, len);
	pthread_mutex_unlock(&as->lock);
}

void dma_notifier_add(struct dma_space *as, struct dma_notifier *n)
{
	pthread_mutex_lock(&as->lock);
	n->next = as->notifiers;
	as->notifiers = n;
	pthread_mutex_unlock(&as->lock);
}

void dma_notifier_del(struct dma_space *as, struct dma_notifier *n)
{
	pthread_mutex_lock(&as->lock);
	for (struct dma_notifier **pp = &as->notifiers; *pp;
	     pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	}
	pthread_mutex_unlock(&as->lock);
}

int dma_space_replay(struct dma_space *as, uint64_t iova, uint64_t len,
		     dma_replay_fn *fn, void *arg)
{
	if (!as->ops->replay)
		return -ENOTSUP;
	return as->ops->replay(as, iova, len, fn, arg);
}
