// SPDX-License-Identifier: GPL-2.0
/* ACPI hotplug by bitmap: registers and AML; see hw/hp_block.h. */
#include "hw/hp_block.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "acpi/aml.h"

#define BIT(i) (1u << ((i) % 32))
#define WORD(i) ((i) / 32)

int hp_block_init(struct hp_block *b, unsigned int nr, unsigned int nr_present)
{
	memset(b, 0, sizeof(*b));
	if (!nr || nr > HP_MAX_ITEMS || nr_present > nr)
		return -EINVAL;
	b->nr = nr;
	for (unsigned int i = 0; i < nr_present; i++)
		b->present[WORD(i)] |= BIT(i);
	pthread_mutex_init(&b->lock, NULL);
	return 0;
}

void hp_block_destroy(struct hp_block *b)
{
	pthread_mutex_destroy(&b->lock);
}

/* The register of byte @o and its word, or NULL (EJECT reads as zero). */
static uint32_t *reg(struct hp_block *b, unsigned int o)
{
	unsigned int w = (o % 0x20) / 4;

	switch (o / 0x20) {
	case HP_REG_UP / 0x20:
		return &b->up[w];
	case HP_REG_DOWN / 0x20:
		return &b->down[w];
	case HP_REG_PRESENT / 0x20:
		return &b->present[w];
	default:
		return NULL;
	}
}

uint64_t hp_block_read(struct hp_block *b, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	pthread_mutex_lock(&b->lock);
	for (unsigned int i = 0; i < size && off + i < HP_IO_LEN; i++) {
		unsigned int o = off + i, shift = 8 * (o & 3);
		uint32_t *r = reg(b, o);

		if (!r)
			continue;
		v |= (uint64_t)((*r >> shift) & 0xff) << (8 * i);
		/* Read to clear: each arrival is told once. */
		if (o < HP_REG_UP + 4 * HP_WORDS)
			*r &= ~(0xffu << shift);
	}
	pthread_mutex_unlock(&b->lock);
	return v;
}

uint32_t hp_block_write(struct hp_block *b, uint64_t off, uint64_t value,
			unsigned int size, uint32_t *ejected)
{
	uint32_t stray = 0;

	memset(ejected, 0, HP_WORDS * sizeof(*ejected));
	for (unsigned int i = 0; i < size; i++) {
		uint64_t o = off + i;

		if (o >= HP_REG_EJECT && o < HP_REG_EJECT + 4 * HP_WORDS)
			ejected[(o - HP_REG_EJECT) / 4] |=
				(uint32_t)((value >> (8 * i)) & 0xff)
				<< (8 * (o & 3));
	}
	pthread_mutex_lock(&b->lock);
	for (unsigned int w = 0; w < HP_WORDS; w++) {
		stray |= ejected[w] & ~b->down[w];
		ejected[w] &= b->down[w];
		b->down[w] &= ~ejected[w];
		b->present[w] &= ~ejected[w];
	}
	pthread_mutex_unlock(&b->lock);
	return stray;
}

bool hp_block_present(struct hp_block *b, unsigned int i)
{
	bool p;

	if (i >= b->nr)
		return false;
	pthread_mutex_lock(&b->lock);
	p = b->present[WORD(i)] & BIT(i);
	pthread_mutex_unlock(&b->lock);
	return p;
}

int hp_block_plug(struct hp_block *b, unsigned int i)
{
	int ret = 0;

	if (i >= b->nr)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	if (b->present[WORD(i)] & BIT(i)) {
		ret = -EEXIST;
	} else {
		b->present[WORD(i)] |= BIT(i);
		b->up[WORD(i)] |= BIT(i);
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}

int hp_block_unplug_request(struct hp_block *b, unsigned int i)
{
	int ret = 0;

	if (i >= b->nr)
		return -EINVAL;
	pthread_mutex_lock(&b->lock);
	if (!(b->present[WORD(i)] & BIT(i)))
		ret = -ENOENT;
	else
		b->down[WORD(i)] |= BIT(i);
	/* Plugged and taken back before the guest read UP: no arrival. */
	b->up[WORD(i)] &= ~BIT(i);
	pthread_mutex_unlock(&b->lock);
	return ret;
}

void hp_block_unplug_cancel(struct hp_block *b, unsigned int i)
{
	if (i >= b->nr)
		return;
	pthread_mutex_lock(&b->lock);
	b->down[WORD(i)] &= ~BIT(i);
	pthread_mutex_unlock(&b->lock);
}

void hp_block_remove(struct hp_block *b, unsigned int i)
{
	if (i >= b->nr)
		return;
	pthread_mutex_lock(&b->lock);
	b->down[WORD(i)] &= ~BIT(i);
	b->up[WORD(i)] &= ~BIT(i);
	b->present[WORD(i)] &= ~BIT(i);
	pthread_mutex_unlock(&b->lock);
}

void hp_block_reset(struct hp_block *b)
{
	pthread_mutex_lock(&b->lock);
	memset(b->up, 0, sizeof(b->up));
	memset(b->down, 0, sizeof(b->down));
	pthread_mutex_unlock(&b->lock);
}

/* AML ------------------------------------------------------------------- */

/* "<p><k><w>": the unit of word @w of register @k (U, D, P, E). */
static void unit_name(char *out, char p, char k, unsigned int w)
{
	snprintf(out, 5, "%c%c%02u", p, k, w % HP_WORDS);
}

void hp_block_aml_region(struct aml *a, const char *region, uint16_t port,
			 char p)
{
	static const char kinds[4] = { 'U', 'D', 'P', 'E' };
	struct aml_field_unit units[4 * HP_WORDS];
	char names[4 * HP_WORDS][5];

	_Static_assert(HP_REG_UP == 0 && HP_REG_DOWN == 0x20 &&
			       HP_REG_PRESENT == 0x40 && HP_REG_EJECT == 0x60 &&
			       HP_IO_LEN == 4 * 4 * HP_WORDS,
		       "the Field below follows the register layout");
	for (unsigned int k = 0; k < 4; k++)
		for (unsigned int w = 0; w < HP_WORDS; w++) {
			unit_name(names[k * HP_WORDS + w], p, kinds[k], w);
			units[k * HP_WORDS + w] = (struct aml_field_unit){
				names[k * HP_WORDS + w], 32
			};
		}
	aml_opregion(a, region, AML_REGION_SYSTEM_IO, port, HP_IO_LEN);
	aml_field(a, region, AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS,
		  units, 4 * HP_WORDS);
}

void hp_block_aml_sta(struct aml *a, char p, unsigned int i)
{
	char unit[5];

	unit_name(unit, p, 'P', WORD(i));
	aml_method_begin(a, "_STA", 0, false);
	aml_if_begin(a);
	aml_and(a);
	aml_path(a, unit);
	aml_integer(a, BIT(i));
	aml_null_target(a);
	aml_return(a);
	aml_integer(a, 0xf);
	aml_end(a); /* If */
	aml_return(a);
	aml_zero(a);
	aml_end(a); /* _STA */
}

void hp_block_aml_ej0(struct aml *a, char p, unsigned int i)
{
	char unit[5];

	unit_name(unit, p, 'E', WORD(i));
	aml_method_begin(a, "_EJ0", 1, false);
	aml_store(a);
	aml_integer(a, BIT(i));
	aml_path(a, unit);
	aml_end(a);
}

void hp_block_aml_scan(struct aml *a, const char *method, char p,
		       unsigned int nr, void (*name)(char *out, unsigned int i))
{
	static const char kinds[2] = { 'U', 'D' };
	char unit[5], item[5];

	aml_method_begin(a, method, 0, true);
	for (unsigned int w = 0; w < (nr + 31) / 32; w++) {
		/* Read once: UP clears as it is read. */
		for (unsigned int l = 0; l < 2; l++) {
			unit_name(unit, p, kinds[l], w);
			aml_store(a);
			aml_path(a, unit);
			aml_local(a, l);
		}
		for (unsigned int i = 32 * w; i < nr && i < 32 * (w + 1); i++)
			for (unsigned int l = 0; l < 2; l++) {
				name(item, i);
				aml_if_begin(a);
				aml_and(a);
				aml_local(a, l);
				aml_integer(a, BIT(i));
				aml_null_target(a);
				aml_notify(a);
				aml_path(a, item);
				aml_integer(a, l ? AML_NOTIFY_EJECT_REQUEST :
						   AML_NOTIFY_DEVICE_CHECK);
				aml_end(a); /* If */
			}
	}
	aml_end(a);
}
