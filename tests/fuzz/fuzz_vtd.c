// SPDX-License-Identifier: GPL-2.0
/*
 * The VT-d unit: register write sequences (root table, translation
 * enable, context and IOTLB invalidation, the invalidation queue, fault
 * recording and events) over root, context, PASID and second-level tables
 * and invalidation descriptors the input writes into guest memory; and
 * devices' DMA through it (vtd_translate() and two DMA spaces, as the
 * PCI functions behind the unit use them); and interrupt requests through
 * interrupt remapping (IRTA, SIRTP/IRE/CFI, IRTEs the input writes, IEC
 * descriptors), as MSI routes and deliveries use vtd_remap_msi(). Built
 * once; each input starts from reset with zeroed memory.
 */
#include <stdlib.h>
#include <string.h>

#include "iommu/vtd.h"
#include "iommu/vtd_regs.h"
#include "kvm/dma.h"
#include "kvm/memory.h"
#include "util/log.h"

#include "fuzz.h"

#define RAM (1ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem mem;
static struct vtd *vtd;
static struct dma_space as[2];
static const uint16_t sids[2] = { 0x0008, 0x0010 }; /* 00:01.0, 00:02.0 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };

	if (!vtd) {
		log_level = getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_QUIET;
		if (guest_mem_init(&mem, RAM, false))
			abort();
		vtd = vtd_create(&mem, NULL, NULL);
		if (vtd)
			vtd_set_intremap(vtd, true);
		if (!vtd || vtd_dma_space_init(&as[0], vtd, sids[0]) ||
		    vtd_dma_space_init(&as[1], vtd, sids[1]))
			abort();
	}
	vtd_reset(vtd);
	memset(gpa_to_hva(&mem, 0, RAM), 0, RAM);

	while (!fz_done(&in)) {
		uint8_t op = fz_u8(&in), buf[256];
		unsigned int sz = op & 0x40 ? 8 : 4;
		uint64_t off, gpa;
		struct vtd_xlate x;
		size_t n;

		switch (op & 7) {
		case 0:
			off = fz_u16(&in) % VTD_REG_SIZE;
			(void)vtd_mmio_read(vtd, off, sz);
			break;
		case 1:
			off = fz_u16(&in) % VTD_REG_SIZE;
			vtd_mmio_write(vtd, off,
				       sz == 8 ? fz_u64(&in) : fz_u32(&in), sz);
			break;
		case 2:
			/* Tables and descriptors. */
			gpa = fz_u32(&in) % RAM;
			n = fz_bytes(&in, buf, 1 + fz_u8(&in) % 64);
			if (gpa + n <= RAM)
				memcpy(gpa_to_hva(&mem, gpa, n), buf, n);
			break;
		case 3:
			(void)vtd_translate(vtd, fz_u16(&in), fz_u64(&in),
					    1 + ((op >> 3) & 3) % 3, &x);
			break;
		case 4: {
			struct dma_space *s = &as[(op >> 3) & 1];
			uint64_t iova = fz_u64(&in);

			n = fz_u8(&in);
			if (op & 0x10)
				(void)dma_write(s, iova, buf, n);
			else
				(void)dma_read(s, iova, buf, n);
			break;
		}
		case 5: {
			/* An interrupt request from a device or no requester. */
			int sid = op & 0x20 ? -1 : fz_u16(&in);
			uint64_t addr = fz_u64(&in);
			uint32_t msg = fz_u32(&in);

			if (op & 0x80)
				addr = 0xfee00000ull | (addr & 0xfffff);
			(void)vtd_remap_msi(vtd, sid, &addr, &msg, op & 0x10);
			(void)vtd_ir_take_changed(vtd);
			break;
		}
		case 6: {
			uint64_t irte[2] = { fz_u64(&in), fz_u64(&in) };
			struct vtd_irq irq;

			(void)vtd_ir_decode(irte, op & 0x10, fz_u16(&in), &irq);
			break;
		}
		default:
			vtd_reset(vtd);
			break;
		}
	}
	return 0;
}
