/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GUEST_KIT_PCI_H
#define GUEST_KIT_PCI_H

/*
 * PCI configuration access for test guests, through mechanism #1
 * (0xCF8/0xCFC, two exits per access) or ECAM (one exit per access), plus
 * BAR sizing and assignment. Functions are named by a 16-bit BDF
 * (bus << 8 | dev << 3 | fn), segment 0 only.
 */

#include "guest.h"

#define PCI_BDF(b, d, f) ((uint16_t)(((b) << 8) | ((d) << 3) | (f)))
#define PCI_BUS(bdf) ((bdf) >> 8)
#define PCI_DEV(bdf) (((bdf) >> 3) & 0x1f)
#define PCI_FN(bdf) ((bdf)&7)

#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34

#define PCI_CMD_IO 0x0001
#define PCI_CMD_MEM 0x0002
#define PCI_CMD_MASTER 0x0004
#define PCI_CMD_INTX_DISABLE 0x0400

#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_CAP_ID_VNDR 0x09

#define PCI_BAR_IO_FLAG 0x1
#define PCI_BAR_MEM_TYPE_MASK 0x6
#define PCI_BAR_MEM_TYPE_64 0x4
#define PCI_BAR_PREFETCH 0x8

/* Which access method pci_cfg_*() use. */
enum pci_method { PCI_CF8, PCI_ECAM };

/* ECAM base (physical) and bus count; set by pci_init(). */
extern uint64_t pci_ecam_base;
extern unsigned int pci_ecam_buses;
/* The 32-bit memory window BARs are assigned from ([base, end)). */
extern uint64_t pci_mmio32_base, pci_mmio32_end;

/*
 * Finds ECAM: `ecam=0x...` on the command line, else the ACPI MCFG (RSDP
 * from boot_params.acpi_rsdp_addr or the BIOS-area scan), else 0xE0000000.
 * `mmio32=BASE-END` overrides the BAR window (default 0xC0000000-
 * 0xDFFFFFFF). Prints where each came from. Selects ECAM for pci_cfg_*()
 * unless `pci_cfg=cf8` is on the command line.
 */
void pci_init(void);
void pci_set_method(enum pci_method m);

uint32_t pci_cf8_read(uint16_t bdf, unsigned int off, unsigned int size);
void pci_cf8_write(uint16_t bdf, unsigned int off, unsigned int size,
		   uint32_t v);
uint32_t pci_ecam_read(uint16_t bdf, unsigned int off, unsigned int size);
void pci_ecam_write(uint16_t bdf, unsigned int off, unsigned int size,
		    uint32_t v);

uint8_t pci_cfg_read8(uint16_t bdf, unsigned int off);
uint16_t pci_cfg_read16(uint16_t bdf, unsigned int off);
uint32_t pci_cfg_read32(uint16_t bdf, unsigned int off);
void pci_cfg_write8(uint16_t bdf, unsigned int off, uint8_t v);
void pci_cfg_write16(uint16_t bdf, unsigned int off, uint16_t v);
void pci_cfg_write32(uint16_t bdf, unsigned int off, uint32_t v);

/* Function present (vendor ID not all ones). */
bool pci_present(uint16_t bdf);
/* Next capability with @id after @after (0: from the list head); 0 if none. */
unsigned int pci_find_cap(uint16_t bdf, uint8_t id, unsigned int after);

enum pci_bar_type { PCI_BAR_NONE, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bar {
	enum pci_bar_type type;
	bool prefetch;
	uint64_t addr; /* as programmed */
	uint64_t size; /* from the all-ones probe; 0 if unimplemented */
	uint64_t mask; /* the raw size mask read back (both halves for 64) */
	uint32_t raw; /* the low dword before the probe */
	uint32_t probed; /* the low dword read back after writing all ones */
	bool restored; /* the BAR read back as before after the probe */
};

/*
 * Sizes BAR @idx with the all-ones probe, with decode turned off during the
 * probe and everything restored afterwards. A 64-bit BAR takes @idx and
 * @idx + 1. Returns the number of slots used (1 or 2).
 */
int pci_bar_probe(uint16_t bdf, unsigned int idx, struct pci_bar *bar);
/* Writes the address of a memory BAR (both halves for 64-bit). */
void pci_bar_set_addr(uint16_t bdf, unsigned int idx, const struct pci_bar *bar,
		      uint64_t addr);

/*
 * A naturally aligned free range of @size in the 32-bit window, avoiding
 * every memory BAR already programmed on bus 0 (below 4 GiB) and @avoid
 * (0 for none). 0 if none fits.
 */
uint64_t pci_alloc_mmio32(uint64_t size, uint64_t avoid, uint64_t avoid_size);

/*
 * Makes every memory BAR of @bdf reachable by this guest: BARs at 0 or
 * above 4 GiB (the identity map's end) get an address in the 32-bit
 * window; then MEM and BUS MASTER are turned on (and INTx disabled: the
 * kit polls). Returns false if a BAR could not be placed.
 */
bool pci_enable_device(uint16_t bdf);
/* Address of BAR @idx (both halves for a 64-bit one) as programmed. */
uint64_t pci_bar_addr(uint16_t bdf, unsigned int idx);

/* Mask the 8259 PICs: nothing of ours should ever reach the CPU. */
void kit_mask_pic(void);

/* ACPI: the table with @sig (e.g. "MCFG") via RSDP/XSDT/RSDT, or NULL. */
const void *acpi_find_table(const char *sig);

#endif
