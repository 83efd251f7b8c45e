// SPDX-License-Identifier: GPL-2.0
#include <endian.h>
#include <string.h>

#include "helpers/nvme_driver.h"

void nvme_sqe_init(uint32_t *e, uint8_t opc, uint16_t cid, uint32_t nsid)
{
	memset(e, 0, 64);
	e[0] = opc | (uint32_t)cid << 16;
	e[1] = nsid;
}

void nvme_sqe_prp(uint32_t *e, uint64_t prp1, uint64_t prp2)
{
	e[6] = (uint32_t)prp1;
	e[7] = (uint32_t)(prp1 >> 32);
	e[8] = (uint32_t)prp2;
	e[9] = (uint32_t)(prp2 >> 32);
}

void nvme_sqe_store(void *slot, const uint32_t *e)
{
	uint32_t le[16];

	for (int i = 0; i < 16; i++)
		le[i] = htole32(e[i]);
	memcpy(slot, le, 64);
}
