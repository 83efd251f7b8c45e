// SPDX-License-Identifier: GPL-2.0
#include "pci/msix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

static void init_recursive(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;

	/* Handlers may ask about the state they are being told about. */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
}

static void send_msg(struct pci_dev *pdev, pci_msi_deliver_fn *own,
		     void *own_opaque, uint64_t addr, uint32_t data)
{
	if (own)
		own(own_opaque, addr, data);
	else if (pdev->host && pdev->host->cfg.msi_deliver)
		pdev->host->cfg.msi_deliver(pdev->host->cfg.msi_opaque, addr,
					    data);
}

static void send_update(struct pci_dev *pdev, pci_msi_update_fn *own,
			void *own_opaque, unsigned int vector, uint64_t addr,
			uint32_t data, bool masked)
{
	if (own)
		own(own_opaque, pdev, vector, addr, data, masked);
	else if (pdev->host && pdev->host->cfg.msi_update)
		pdev->host->cfg.msi_update(pdev->host->cfg.msi_opaque, pdev,
					   vector, addr, data, masked);
}

/* MSI-X ------------------------------------------------------------------ */

static uint32_t table_size(const struct msix *msix)
{
	return msix_table_size(msix->nr_vectors);
}

static uint32_t pba_size(const struct msix *msix)
{
	return msix_pba_size(msix->nr_vectors);
}

static bool in_range(uint64_t off, uint32_t base, uint32_t len)
{
	return off >= base && off - base < len;
}

static bool ranges_overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return a < b + blen && b < a + alen;
}

int msix_init(struct msix *msix, struct pci_dev *pdev, unsigned int nr_vectors,
	      unsigned int table_bar, uint32_t table_off, unsigned int pba_bar,
	      uint32_t pba_off)
{
	struct pci_bar *tb, *pb;
	int cap;

	uint32_t tsize = msix_table_size(nr_vectors);
	uint32_t psize = msix_pba_size(nr_vectors);

	if (!nr_vectors || nr_vectors > MSIX_MAX_VECTORS ||
	    table_bar >= PCI_STD_NUM_BARS || pba_bar >= PCI_STD_NUM_BARS ||
	    (table_off | pba_off) & 7 || pdev->msix || pdev->registered)
		return -EINVAL;
	tb = &pdev->bars[table_bar];
	pb = &pdev->bars[pba_bar];
	/* Both live in memory space, inside their BARs, apart. */
	if (tb->type == PCI_BAR_NONE || tb->type == PCI_BAR_IO ||
	    pb->type == PCI_BAR_NONE || pb->type == PCI_BAR_IO ||
	    table_off > tb->size || tsize > tb->size - table_off ||
	    pba_off > pb->size || psize > pb->size - pba_off ||
	    (table_bar == pba_bar &&
	     ranges_overlap(table_off, tsize, pba_off, psize)))
		return -EINVAL;

	memset(msix, 0, sizeof(*msix));
	msix->nr_vectors = nr_vectors;

	msix->table = calloc(nr_vectors, sizeof(*msix->table));
	msix->pba = calloc(pba_size(msix) / 8, sizeof(*msix->pba));
	if (!msix->table || !msix->pba) {
		free(msix->table);
		free(msix->pba);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < nr_vectors; i++)
		msix->table[i].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;

	cap = pci_add_capability(pdev, PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
	if (cap < 0) {
		free(msix->table);
		free(msix->pba);
		return cap;
	}
	pci_cfg_set(pdev, cap + PCI_MSIX_FLAGS, nr_vectors - 1, 2);
	pci_cfg_set_wmask(pdev, cap + PCI_MSIX_FLAGS,
			  PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	pci_cfg_set(pdev, cap + PCI_MSIX_TABLE, table_off | table_bar, 4);
	pci_cfg_set(pdev, cap + PCI_MSIX_PBA, pba_off | pba_bar, 4);

	msix->pdev = pdev;
	msix->cap = cap;
	msix->table_bar = table_bar;
	msix->table_off = table_off;
	msix->pba_bar = pba_bar;
	msix->pba_off = pba_off;
	init_recursive(&msix->lock);
	pdev->msix = msix;
	return cap;
}

void msix_destroy(struct msix *msix)
{
	if (!msix->table)
		return;
	free(msix->table);
	free(msix->pba);
	msix->table = NULL;
	msix->pba = NULL;
	pthread_mutex_destroy(&msix->lock);
}

void msix_set_handlers(struct msix *msix, pci_msi_deliver_fn *deliver,
		       pci_msi_update_fn *update, void *opaque)
{
	pthread_mutex_lock(&msix->lock);
	msix->deliver = deliver;
	msix->update = update;
	msix->opaque = opaque;
	pthread_mutex_unlock(&msix->lock);
}

void msix_set_vectors(struct msix *msix, struct msi_vectors *mv)
{
	pthread_mutex_lock(&msix->lock);
	msix->vectors = mv;
	pthread_mutex_unlock(&msix->lock);
}

/* msix->lock held for all of these. */
static bool vector_masked(const struct msix *msix, unsigned int v)
{
	return !msix->enabled || msix->fmasked ||
	       (msix->table[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static uint64_t entry_addr(const struct msix_entry *e)
{
	return (uint64_t)e->addr_hi << 32 | e->addr_lo;
}

static void vector_update(struct msix *msix, unsigned int v)
{
	const struct msix_entry *e = &msix->table[v];

	if (msix->vectors) {
		msi_vectors_set_msg(msix->vectors, v, entry_addr(e), e->data);
		msi_vectors_mask(msix->vectors, v, vector_masked(msix, v));
		return;
	}
	send_update(msix->pdev, msix->update, msix->opaque, v, entry_addr(e),
		    e->data, vector_masked(msix, v));
}

static void vector_send(struct msix *msix, unsigned int v)
{
	const struct msix_entry *e = &msix->table[v];

	send_msg(msix->pdev, msix->deliver, msix->opaque, entry_addr(e),
		 e->data);
}

static bool pending(struct msix *msix, unsigned int v)
{
	if (msix->vectors)
		return msi_vectors_pending(msix->vectors, v);
	return msix->pba[v / 64] >> (v % 64) & 1;
}

static void set_pending(struct msix *msix, unsigned int v, bool on)
{
	if (on)
		msix->pba[v / 64] |= 1ull << (v % 64);
	else
		msix->pba[v / 64] &= ~(1ull << (v % 64));
}

/* An unmasked vector with a message waiting sends it now. */
static void flush_pending(struct msix *msix, unsigned int v)
{
	/* A group delivers on the unmask vector_update() told it of. */
	if (msix->vectors)
		return;
	if (pending(msix, v) && !vector_masked(msix, v)) {
		set_pending(msix, v, false);
		vector_send(msix, v);
	}
}

bool msix_notify(struct msix *msix, unsigned int vector)
{
	bool sent = false;

	if (vector >= msix->nr_vectors)
		return false;
	pthread_mutex_lock(&msix->lock);
	/* Disabled, the function may not send MSI-X at all: no PBA either. */
	if (!msix->enabled) {
		;
	} else if (msix->vectors) {
		sent = msi_vectors_fire(msix->vectors, vector);
	} else if (vector_masked(msix, vector)) {
		set_pending(msix, vector, true);
	} else {
		vector_send(msix, vector);
		sent = true;
	}
	pthread_mutex_unlock(&msix->lock);
	return sent;
}

bool msix_enabled(struct msix *msix)
{
	bool en;

	pthread_mutex_lock(&msix->lock);
	en = msix->enabled;
	pthread_mutex_unlock(&msix->lock);
	return en;
}

bool msix_get_msg(struct msix *msix, unsigned int vector, uint64_t *addr,
		  uint32_t *data)
{
	bool masked;

	if (vector >= msix->nr_vectors)
		return true;
	pthread_mutex_lock(&msix->lock);
	*addr = entry_addr(&msix->table[vector]);
	*data = msix->table[vector].data;
	masked = vector_masked(msix, vector);
	pthread_mutex_unlock(&msix->lock);
	return masked;
}

bool msix_is_pending(struct msix *msix, unsigned int vector)
{
	bool p;

	if (vector >= msix->nr_vectors)
		return false;
	pthread_mutex_lock(&msix->lock);
	p = pending(msix, vector);
	pthread_mutex_unlock(&msix->lock);
	return p;
}

void msix_reset(struct msix *msix)
{
	pci_cfg_set(msix->pdev, msix->cap + PCI_MSIX_FLAGS,
		    msix->nr_vectors - 1, 2);
	pthread_mutex_lock(&msix->lock);
	msix->enabled = false;
	msix->fmasked = false;
	for (unsigned int i = 0; i < msix->nr_vectors; i++)
		msix->table[i] = (struct msix_entry){
			.ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT
		};
	memset(msix->pba, 0, pba_size(msix));
	if (msix->vectors)
		msi_vectors_reset(msix->vectors);
	pthread_mutex_unlock(&msix->lock);
}

bool msix_bar_claims(struct msix *msix, unsigned int bar, uint64_t off)
{
	return (bar == msix->table_bar &&
		in_range(off, msix->table_off, table_size(msix))) ||
	       (bar == msix->pba_bar &&
		in_range(off, msix->pba_off, pba_size(msix)));
}

static uint32_t *entry_word(struct msix *msix, unsigned int dword)
{
	struct msix_entry *e = &msix->table[dword / 4];

	switch (dword % 4) {
	case 0:
		return &e->addr_lo;
	case 1:
		return &e->addr_hi;
	case 2:
		return &e->data;
	default:
		return &e->ctrl;
	}
}

static uint8_t table_byte(struct msix *msix, uint64_t rel)
{
	if (rel >= table_size(msix))
		return 0;
	return *entry_word(msix, rel / 4) >> (8 * (rel % 4));
}

static uint8_t pba_byte(struct msix *msix, uint64_t rel)
{
	uint8_t b = 0;

	for (unsigned int i = 0; i < 8; i++)
		if (rel * 8 + i < msix->nr_vectors &&
		    pending(msix, rel * 8 + i))
			b |= 1u << i;
	return b;
}

uint64_t msix_bar_read(struct msix *msix, unsigned int bar, uint64_t off,
		       unsigned int size)
{
	bool table = bar == msix->table_bar &&
		     in_range(off, msix->table_off, table_size(msix));
	uint64_t v = 0;

	/* Software must use aligned dwords or qwords; bytes work anyway. */
	pthread_mutex_lock(&msix->lock);
	for (unsigned int i = 0; i < size && i < 8; i++) {
		uint8_t b =
			table ? table_byte(msix, off - msix->table_off + i) :
				pba_byte(msix, off - msix->pba_off + i);

		v |= (uint64_t)b << (8 * i);
	}
	pthread_mutex_unlock(&msix->lock);
	return v;
}

static void table_word_write(struct msix *msix, unsigned int dword,
			     uint32_t val)
{
	unsigned int v = dword / 4;
	uint32_t *w = entry_word(msix, dword);
	bool was_masked = vector_masked(msix, v);

	/* Vector Control bits other than Mask are reserved: read as 0. */
	if (dword % 4 == 3)
		val &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
	if (*w == val)
		return;
	*w = val;
	vector_update(msix, v);
	if (was_masked)
		flush_pending(msix, v);
}

void msix_bar_write(struct msix *msix, unsigned int bar, uint64_t off,
		    uint64_t val, unsigned int size)
{
	uint64_t rel, first, last;

	/* The PBA is read-only. */
	if (bar != msix->table_bar ||
	    !in_range(off, msix->table_off, table_size(msix)) || !size ||
	    size > 8)
		return;
	rel = off - msix->table_off;
	first = rel / 4;
	last = (rel + size - 1) / 4;
	if (last >= table_size(msix) / 4)
		last = table_size(msix) / 4 - 1;

	pthread_mutex_lock(&msix->lock);
	for (uint64_t d = first; d <= last; d++) {
		uint32_t w = *entry_word(msix, d);

		for (unsigned int i = 0; i < size; i++) {
			uint64_t byte = rel + i;

			if (byte / 4 != d)
				continue;
			w &= ~(0xffu << (8 * (byte % 4)));
			w |= (uint32_t)(val >> (8 * i) & 0xff)
			     << (8 * (byte % 4));
		}
		table_word_write(msix, d, w);
	}
	pthread_mutex_unlock(&msix->lock);
}

/* pdev->lock held (a config write to Message Control). */
void msix_cfg_written(struct msix *msix)
{
	uint16_t ctrl = pci_cfg_get(msix->pdev, msix->cap + PCI_MSIX_FLAGS, 2);
	bool en = ctrl & PCI_MSIX_FLAGS_ENABLE;
	bool fm = ctrl & PCI_MSIX_FLAGS_MASKALL;
	bool old_en, old_fm;

	pthread_mutex_lock(&msix->lock);
	old_en = msix->enabled;
	old_fm = msix->fmasked;
	if (en != old_en || fm != old_fm) {
		msix->enabled = en;
		msix->fmasked = fm;
		for (unsigned int v = 0; v < msix->nr_vectors; v++) {
			bool vmask = msix->table[v].ctrl &
				     PCI_MSIX_ENTRY_CTRL_MASKBIT;
			bool was = !old_en || old_fm || vmask;

			if (was == vector_masked(msix, v))
				continue;
			vector_update(msix, v);
			flush_pending(msix, v);
		}
	}
	pthread_mutex_unlock(&msix->lock);
}

/* MSI -------------------------------------------------------------------- */

static unsigned int msi_size(bool is64, bool maskable)
{
	if (maskable)
		return is64 ? PCI_MSI_PENDING_64 + 4 : PCI_MSI_PENDING_32 + 4;
	return is64 ? PCI_MSI_DATA_64 + 2 : PCI_MSI_DATA_32 + 2;
}

static unsigned int msi_data_off(const struct msi *msi)
{
	return msi->cap + (msi->is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
}

static unsigned int msi_mask_off(const struct msi *msi)
{
	return msi->cap + (msi->is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

static unsigned int msi_pending_off(const struct msi *msi)
{
	return msi->cap + (msi->is64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
}

static uint32_t vec_bits(unsigned int n)
{
	return n >= 32 ? 0xffffffffu : (1u << n) - 1;
}

int msi_init(struct msi *msi, struct pci_dev *pdev, unsigned int nr_vectors,
	     bool is64, bool maskable)
{
	uint16_t flags;
	int cap;

	if (!nr_vectors || nr_vectors > 32 || (nr_vectors & (nr_vectors - 1)) ||
	    pdev->msi || pdev->registered)
		return -EINVAL;
	memset(msi, 0, sizeof(*msi));
	cap = pci_add_capability(pdev, PCI_CAP_ID_MSI,
				 msi_size(is64, maskable));
	if (cap < 0)
		return cap;
	msi->pdev = pdev;
	msi->cap = cap;
	msi->max_vectors = nr_vectors;
	msi->is64 = is64;
	msi->maskable = maskable;
	msi->nr_enabled = 1;

	flags = ilog2(nr_vectors) << 1;
	if (is64)
		flags |= PCI_MSI_FLAGS_64BIT;
	if (maskable)
		flags |= PCI_MSI_FLAGS_MASKBIT;
	pci_cfg_set(pdev, cap + PCI_MSI_FLAGS, flags, 2);
	pci_cfg_set_wmask(pdev, cap + PCI_MSI_FLAGS,
			  PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE, 2);
	pci_cfg_set_wmask(pdev, cap + PCI_MSI_ADDRESS_LO, 0xfffffffc, 4);
	if (is64)
		pci_cfg_set_wmask(pdev, cap + PCI_MSI_ADDRESS_HI, 0xffffffff,
				  4);
	pci_cfg_set_wmask(pdev, msi_data_off(msi), 0xffff, 2);
	if (maskable)
		pci_cfg_set_wmask(pdev, msi_mask_off(msi), vec_bits(nr_vectors),
				  4);
	init_recursive(&msi->lock);
	pdev->msi = msi;
	return cap;
}

void msi_destroy(struct msi *msi)
{
	if (msi->pdev)
		pthread_mutex_destroy(&msi->lock);
	msi->pdev = NULL;
}

void msi_set_handlers(struct msi *msi, pci_msi_deliver_fn *deliver,
		      pci_msi_update_fn *update, void *opaque)
{
	pthread_mutex_lock(&msi->lock);
	msi->deliver = deliver;
	msi->update = update;
	msi->opaque = opaque;
	pthread_mutex_unlock(&msi->lock);
}

void msi_set_vectors(struct msi *msi, struct msi_vectors *mv)
{
	pthread_mutex_lock(&msi->lock);
	msi->vectors = mv;
	pthread_mutex_unlock(&msi->lock);
}

/* msi->lock held. */
static bool msi_masked(const struct msi *msi, unsigned int v)
{
	return !msi->enabled || v >= msi->nr_enabled || (msi->mask >> v & 1);
}

/* Multiple-message MSI puts the vector in the low bits of the data. */
static uint32_t msi_data(const struct msi *msi, unsigned int v)
{
	return (msi->data & ~(msi->nr_enabled - 1)) | v;
}

bool msi_notify(struct msi *msi, unsigned int vector)
{
	bool sent = false;

	if (vector >= msi->max_vectors)
		return false;
	pthread_mutex_lock(&msi->lock);
	if (!msi->enabled || vector >= msi->nr_enabled) {
		;
	} else if (msi->vectors) {
		sent = msi_vectors_fire(msi->vectors, vector);
	} else if (msi_masked(msi, vector)) {
		msi->pending |= 1u << vector;
	} else {
		send_msg(msi->pdev, msi->deliver, msi->opaque, msi->addr,
			 msi_data(msi, vector));
		sent = true;
	}
	pthread_mutex_unlock(&msi->lock);
	return sent;
}

bool msi_enabled(struct msi *msi)
{
	bool en;

	pthread_mutex_lock(&msi->lock);
	en = msi->enabled;
	pthread_mutex_unlock(&msi->lock);
	return en;
}

/* pdev->lock held: refresh the cached copy and act on what changed. */
void msi_cfg_written(struct msi *msi)
{
	struct pci_dev *pdev = msi->pdev;
	uint16_t flags = pci_cfg_get(pdev, msi->cap + PCI_MSI_FLAGS, 2);
	unsigned int mme = (flags & PCI_MSI_FLAGS_QSIZE) >> 4;
	struct msi old;

	pthread_mutex_lock(&msi->lock);
	old = *msi;
	msi->enabled = flags & PCI_MSI_FLAGS_ENABLE;
	/* Asking for more than offered is undefined; give what we have. */
	msi->nr_enabled = mme > 5 || 1u << mme > msi->max_vectors ?
				  msi->max_vectors :
				  1u << mme;
	msi->addr = pci_cfg_get(pdev, msi->cap + PCI_MSI_ADDRESS_LO, 4);
	if (msi->is64)
		msi->addr |= (uint64_t)pci_cfg_get(
				     pdev, msi->cap + PCI_MSI_ADDRESS_HI, 4)
			     << 32;
	msi->data = pci_cfg_get(pdev, msi_data_off(msi), 2);
	msi->mask = msi->maskable ? pci_cfg_get(pdev, msi_mask_off(msi), 4) : 0;

	for (unsigned int v = 0; v < msi->max_vectors; v++) {
		bool was = msi_masked(&old, v), now = msi_masked(msi, v);

		if (was == now && old.addr == msi->addr &&
		    msi_data(&old, v) == msi_data(msi, v))
			continue;
		if (msi->vectors) {
			msi_vectors_set_msg(msi->vectors, v, msi->addr,
					    msi_data(msi, v));
			msi_vectors_mask(msi->vectors, v, now);
			continue;
		}
		send_update(pdev, msi->update, msi->opaque, v, msi->addr,
			    msi_data(msi, v), now);
		if (!now && (msi->pending >> v & 1)) {
			msi->pending &= ~(1u << v);
			send_msg(pdev, msi->deliver, msi->opaque, msi->addr,
				 msi_data(msi, v));
		}
	}
	pthread_mutex_unlock(&msi->lock);
}

void msi_cfg_read_fixup(struct msi *msi, unsigned int off, unsigned int size,
			uint32_t *val)
{
	unsigned int p = msi_pending_off(msi);
	uint32_t pend;

	if (!msi->maskable || off >= p + 4 || p >= off + size)
		return;
	pthread_mutex_lock(&msi->lock);
	pend = msi->pending;
	for (unsigned int v = 0; msi->vectors && v < msi->max_vectors; v++)
		if (msi_vectors_pending(msi->vectors, v))
			pend |= 1u << v;
	pthread_mutex_unlock(&msi->lock);
	for (unsigned int i = 0; i < size; i++) {
		if (off + i < p || off + i >= p + 4)
			continue;
		*val &= ~(0xffu << (8 * i));
		*val |= (pend >> (8 * (off + i - p)) & 0xff) << (8 * i);
	}
}

void msi_reset(struct msi *msi)
{
	struct pci_dev *pdev = msi->pdev;
	uint16_t flags = pci_cfg_get(pdev, msi->cap + PCI_MSI_FLAGS, 2);

	pthread_mutex_lock(&pdev->lock);
	pci_cfg_set(pdev, msi->cap + PCI_MSI_FLAGS,
		    flags & ~(PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE), 2);
	pci_cfg_set(pdev, msi->cap + PCI_MSI_ADDRESS_LO, 0, 4);
	if (msi->is64)
		pci_cfg_set(pdev, msi->cap + PCI_MSI_ADDRESS_HI, 0, 4);
	pci_cfg_set(pdev, msi_data_off(msi), 0, 2);
	if (msi->maskable)
		pci_cfg_set(pdev, msi_mask_off(msi), 0, 4);
	pthread_mutex_lock(&msi->lock);
	msi->pending = 0;
	if (msi->vectors)
		msi_vectors_reset(msi->vectors);
	pthread_mutex_unlock(&msi->lock);
	msi_cfg_written(msi);
	pthread_mutex_unlock(&pdev->lock);
}
