/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_HP_BLOCK_H
#define DEVISOR_HW_HP_BLOCK_H

/*
 * The register half of ACPI hotplug by bitmap, shared by hw/cpuhp (vCPUs)
 * and hw/memhp (memory slots): one bit per item, item n in bit n % 32 of
 * word n / 32, and the AML that reads it. A board device embeds one,
 * claims HP_IO_LEN ports for it and describes its items.
 *
 *   +0x00  UP[8]       read: items plugged since the last read; the read
 *                      clears the bits it returned
 *   +0x20  DOWN[8]     read: items the host asks the guest to let go of;
 *                      a bit stays until the guest ejects the item
 *   +0x40  PRESENT[8]  read: items the guest has (_STA)
 *   +0x60  EJECT[8]    write: the guest has let go of these items (_EJ0);
 *                      only bits set in DOWN count
 *
 * 32-bit registers, any access width. The AML names the units of word w
 * "<p>U<w>", "<p>D<w>", "<p>P<w>" and "<p>E<w>" for a one-letter prefix p.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define HP_WORDS 8
#define HP_MAX_ITEMS (32 * HP_WORDS)
#define HP_REG_UP 0x00
#define HP_REG_DOWN 0x20
#define HP_REG_PRESENT 0x40
#define HP_REG_EJECT 0x60
#define HP_IO_LEN 0x80

struct aml;

struct hp_block {
	pthread_mutex_t lock;
	unsigned int nr; /* items, 1 to HP_MAX_ITEMS */
	uint32_t up[HP_WORDS], down[HP_WORDS], present[HP_WORDS];
};

/* @nr items, the first @nr_present of them present. -EINVAL if absurd. */
int hp_block_init(struct hp_block *b, unsigned int nr, unsigned int nr_present);
void hp_block_destroy(struct hp_block *b);

uint64_t hp_block_read(struct hp_block *b, uint64_t off, unsigned int size);
/*
 * A guest's write at @off: the items it ejected that the host had asked
 * for leave PRESENT and DOWN and are returned in @ejected (HP_WORDS
 * words); returns the bits of items ejected unasked (they stay).
 */
uint32_t hp_block_write(struct hp_block *b, uint64_t off, uint64_t value,
			unsigned int size, uint32_t *ejected);

bool hp_block_present(struct hp_block *b, unsigned int i);
/* Present, and an arrival to tell: 0, -EINVAL (no such item), -EEXIST. */
int hp_block_plug(struct hp_block *b, unsigned int i);
/* A removal to ask for: 0, -EINVAL, -ENOENT (not present). */
int hp_block_unplug_request(struct hp_block *b, unsigned int i);
void hp_block_unplug_cancel(struct hp_block *b, unsigned int i);
/* Gone without the guest's eject (a guest that does not listen). */
void hp_block_remove(struct hp_block *b, unsigned int i);
/* A new boot: nothing left to tell; who is present stays. */
void hp_block_reset(struct hp_block *b);

/*
 * AML, in the scope of the block's device: OperationRegion @region on
 * ports @port..+HP_IO_LEN and its Field with prefix @p's units.
 */
void hp_block_aml_region(struct aml *a, const char *region, uint16_t port,
			 char p);
/* Method (_STA) of item @i: 0xF while present, else 0. */
void hp_block_aml_sta(struct aml *a, char p, unsigned int i);
/* Method (_EJ0) of item @i. */
void hp_block_aml_ej0(struct aml *a, char p, unsigned int i);
/*
 * Method @method: Notify (name(i), Device Check) for each item in UP,
 * Notify (name(i), Eject Request) for each in DOWN; @name writes item
 * @i's NameSeg into @out (5 bytes).
 */
void hp_block_aml_scan(struct aml *a, const char *method, char p,
		       unsigned int nr,
		       void (*name)(char *out, unsigned int i));

#endif
