// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-iommu's model: request sequences (ATTACH, DETACH, MAP, UNMAP,
 * PROBE with any bytes, any readable and writable lengths), the bypass
 * byte, negotiated features, faults drained as the event queue does, and
 * DMA through three endpoints' spaces while the maps change. After every
 * DMA that succeeds the host pointers must lie in guest RAM. Built once;
 * each input starts from reset.
 */
#include <stdlib.h>
#include <string.h>

#include "iommu/viommu.h"
#include "kvm/dma.h"
#include "kvm/memory.h"
#include "util/log.h"

#include "fuzz.h"

#define RAM (1ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem mem;
static struct viommu *v;
static struct dma_space as[3];
static const uint32_t eps[3] = { 0x0008, 0x0010, 0x0018 };

static void check_iov(const struct iovec *iov, int n)
{
	uint8_t *lo = gpa_to_hva(&mem, 0, RAM);

	for (int i = 0; i < n; i++)
		if ((uint8_t *)iov[i].iov_base < lo ||
		    (uint8_t *)iov[i].iov_base + iov[i].iov_len > lo + RAM)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };

	if (!v) {
		const struct viommu_params p = {
			.input_end = (1ull << 48) - 1,
			.domain_end = 0xffff,
			.msi_start = 0xfee00000,
			.msi_end = 0xfeefffff,
		};

		log_level = getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_QUIET;
		if (guest_mem_init(&mem, RAM, false))
			abort();
		v = viommu_create(&mem, &p);
		if (!v)
			abort();
		for (int i = 0; i < 3; i++)
			if (viommu_dma_space_init(&as[i], v, eps[i]))
				abort();
	}
	viommu_reset(v);
	viommu_set_features(v, VIOMMU_FEATURES);

	while (!fz_done(&in)) {
		uint8_t op = fz_u8(&in), req[VIOMMU_REQ_MAX + 8];
		uint8_t out[VIOMMU_RESP_MAX], buf[64];
		struct viommu_fault f;
		struct iovec iov[8];
		size_t rlen, n;
		int r;

		switch (op & 7) {
		case 0:
		case 1:
		case 2: {
			/* A request: type, then the body as given. */
			memset(req, 0, sizeof(req));
			req[0] = 1 + (op >> 3) % 6;
			rlen = fz_bytes(&in, req + 4, fz_u8(&in) % 72);
			/* Small ids meet existing endpoints and domains. */
			if (op & 0x80)
				req[4] = (uint8_t)eps[req[4] % 3];
			rlen = op & 0x40 ? rlen + 4 : fz_u8(&in);
			n = viommu_request(v, req, rlen, fz_u8(&in), out);
			if (n && (n < 4 || n > VIOMMU_RESP_MAX ||
				  out[n - 4] > VIOMMU_S_NOMEM))
				abort();
			break;
		}
		case 3: {
			struct dma_space *s = &as[(op >> 3) % 3];
			uint64_t iova = fz_u64(&in) >> (op >> 5 << 3);

			r = dma_map_iov(s, iova, 1 + fz_u16(&in) % 0x4000,
					1 + (op >> 6) % 3, iov, 8);
			if (r > 0)
				check_iov(iov, r);
			(void)dma_read(s, iova, buf, 1 + fz_u8(&in) % 64);
			break;
		}
		case 4:
			viommu_set_bypass(v, fz_u8(&in));
			break;
		case 5:
			viommu_set_features(v, VIOMMU_FEATURES & fz_u8(&in));
			break;
		case 6:
			while (viommu_take_fault(v, &f))
				;
			(void)viommu_take_lost(v);
			break;
		case 7:
			if (op & 0x80)
				viommu_reset(v);
			break;
		}
	}
	return 0;
}
