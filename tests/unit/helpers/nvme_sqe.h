/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NVMe submission queue entries as a driver builds them, for the NVMe
 * unit tests: 16 dwords in CPU order, stored little endian in the queue.
 */
#ifndef TESTS_UNIT_HELPERS_NVME_SQE_H
#define TESTS_UNIT_HELPERS_NVME_SQE_H

#include <stdint.h>

/* @e cleared, then its opcode, command identifier and namespace. */
void nvme_sqe_init(uint32_t *e, uint8_t opc, uint16_t cid, uint32_t nsid);
/* Its data pointer: PRP1 and PRP2. */
void nvme_sqe_prp(uint32_t *e, uint64_t prp1, uint64_t prp2);
/* @e, little endian, into the 64 bytes at @slot. */
void nvme_sqe_store(void *slot, const uint32_t *e);

#endif
