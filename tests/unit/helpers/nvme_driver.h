/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the NVMe unit tests' driver uses: the controller's registers (from
 * the spec, not the model's headers) and submission queue entries as a
 * driver builds them, 16 dwords in CPU order stored little endian.
 */
#ifndef TESTS_UNIT_HELPERS_NVME_DRIVER_H
#define TESTS_UNIT_HELPERS_NVME_DRIVER_H

#include <stdint.h>

/* Registers */
#define CAP 0x00
#define VS 0x08
#define INTMS 0x0c
#define INTMC 0x10
#define CC 0x14
#define CSTS 0x1c
#define AQA 0x24
#define ASQ 0x28
#define ACQ 0x30
#define SQTDBL(q) (0x1000 + 8 * (q))
#define CQHDBL(q) (0x1000 + 8 * (q) + 4)
#define CC_READY_BITS (1u | 6u << 16 | 4u << 20)

/* @e cleared, then its opcode, command identifier and namespace. */
void nvme_sqe_init(uint32_t *e, uint8_t opc, uint16_t cid, uint32_t nsid);
/* Its data pointer: PRP1 and PRP2. */
void nvme_sqe_prp(uint32_t *e, uint64_t prp1, uint64_t prp2);
/* @e, little endian, into the 64 bytes at @slot. */
void nvme_sqe_store(void *slot, const uint32_t *e);

#endif
