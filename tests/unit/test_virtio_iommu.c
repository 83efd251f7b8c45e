// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-iommu device end to end, behind virtio-mmio with a real I/O
 * thread: requests on the request queue answered in the tail at the end
 * of the writable part, the configuration space, an endpoint's DMA
 * translated through what the requests mapped, and a fault delivered in
 * an event queue buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/viommu.h"
#include "kvm/dma.h"
#include "kvm/vm.h"
#include "util/evloop.h"
#include "virtio/iommu.h"
#include "virtio/mmio.h"
#include "virtio/queue.h"
#include "virtio/virtio.h"

#include "helpers/virtio_driver.h"

#define RAM_SIZE (64ull << 20)
#define BASE 0xd0000000ull
#define GSI 5
#define DESC_GPA 0x10000ull
#define AVAIL_GPA 0x11000ull
#define USED_GPA 0x12000ull
#define Q1_OFF 0x4000ull
#define REQ_GPA 0x100000ull
#define RESP_GPA 0x101000ull
#define EVT_GPA 0x102000ull
#define QSIZE 16
#define EP 0x08

struct fix {
	struct vm vm;
	struct evloop *loop;
	struct viommu *v;
	struct virtio_dev *vdev;
	struct dma_space as;
	uint16_t avail_idx[2];
};

static bool used_reached(struct fix *f, uintptr_t qn)
{
	unsigned int q = qn >> 16;

	return vd_rd16(&f->vm, USED_GPA + q * Q1_OFF + 2) == (qn & 0xffff);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	const struct viommu_params p = { .input_end = (1ull << 48) - 1,
					 .domain_end = 0xffff,
					 .msi_start = 0xfee00000,
					 .msi_end = 0xfeefffff };

	assert_non_null(f);
	f->loop = vd_vm_init(&f->vm, RAM_SIZE);
	f->v = virtio_iommu_model_create(&f->vm, &p);
	assert_non_null(f->v);
	assert_int_equal(viommu_dma_space_init(&f->as, f->v, EP), 0);
	f->vdev = virtio_iommu_create(&f->vm, f->v);
	assert_non_null(f->vdev);
	assert_non_null(
		virtio_mmio_create(&f->vm, BASE, GSI, f->vdev, f->loop));
	vd_mmio_reset(&f->vm, BASE);
	vd_mmio_ack(&f->vm, BASE);
	assert_int_equal(vd_mmio_offered(&f->vm, BASE) & 0xffffull,
			 VIOMMU_FEATURES);
	assert_true(vd_mmio_features_ok(&f->vm, BASE,
					F_VERSION_1 | VIOMMU_FEATURES));
	for (unsigned int q = 0; q < 2; q++)
		vd_mmio_setup_queue(&f->vm, BASE, q, 256, QSIZE,
				    DESC_GPA + q * Q1_OFF,
				    AVAIL_GPA + q * Q1_OFF,
				    USED_GPA + q * Q1_OFF);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS), S_ALL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	vd_vm_destroy(&f->vm, f->loop);
	dma_space_destroy(&f->as); /* outlived the model: fails, no access */
	free(f);
	return 0;
}

/*
 * One request: @rlen readable bytes of @req, @wlen writable; returns the
 * status in the last byte-quad of the writable part, *@used its length.
 */
static int request(struct fix *f, const void *req, uint32_t rlen, uint32_t wlen,
		   uint32_t *used)
{
	/* Two descriptors per request, one avail and used slot. */
	uint16_t head = (2 * f->avail_idx[0]) % QSIZE;
	uint16_t slot = f->avail_idx[0] % QSIZE;

	memcpy(vd_hva(&f->vm, REQ_GPA, rlen), req, rlen);
	memset(vd_hva(&f->vm, RESP_GPA, 256), 0xee, 256);
	vd_desc(&f->vm, DESC_GPA, head, REQ_GPA, rlen, VIRTQ_DESC_F_NEXT,
		(head + 1) % QSIZE);
	vd_desc(&f->vm, DESC_GPA, (head + 1) % QSIZE, RESP_GPA, wlen,
		VIRTQ_DESC_F_WRITE, 0);
	vd_avail(&f->vm, AVAIL_GPA, QSIZE, &f->avail_idx[0], head);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(vd_wait_until(used_reached, f, f->avail_idx[0]));
	*used = vd_rd32(&f->vm, USED_GPA + 4 + 8 * slot + 4);
	return wlen >= 4 ? vd_rd8(&f->vm, RESP_GPA + wlen - 4) : -1;
}

static void test_requests_and_translation(void **state)
{
	struct fix *f = *state;
	struct viommu_req_attach a = { .head.type = VIOMMU_T_ATTACH,
				       .domain = htole32(7),
				       .endpoint = htole32(EP) };
	struct viommu_req_map m = { .head.type = VIOMMU_T_MAP,
				    .domain = htole32(7),
				    .virt_start = htole64(0x40000000),
				    .virt_end = htole64(0x40001fff),
				    .phys_start = htole64(0x300000),
				    .flags = htole32(VIOMMU_MAP_F_READ |
						     VIOMMU_MAP_F_WRITE) };
	struct viommu_req_unmap u = { .head.type = VIOMMU_T_UNMAP,
				      .domain = htole32(7),
				      .virt_start = htole64(0x40000000),
				      .virt_end = htole64(0x40001fff) };
	uint32_t used, x = 0x12345678;

	/* page_size_mask, then domain_range.end, in the config space. */
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_CONFIG), 0xfffff000u);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_CONFIG + 28), 0xffff);
	assert_int_equal(dma_write(&f->as, 0x40000010, &x, 4), -EFAULT);
	assert_int_equal(request(f, &a, sizeof(a), 4, &used), VIOMMU_S_OK);
	assert_int_equal(used, 4);
	assert_int_equal(request(f, &m, sizeof(m), 4, &used), VIOMMU_S_OK);
	/* Across the mapping's two pages, which are contiguous in RAM. */
	assert_int_equal(dma_write(&f->as, 0x40000ffe, &x, 4), 0);
	assert_int_equal(vd_rd32(&f->vm, 0x300ffe), 0x12345678);
	/* Past its end. */
	assert_int_equal(dma_write(&f->as, 0x40001ffe, &x, 4), -EFAULT);
	/* A short request, then the same overlapping map. */
	assert_int_equal(request(f, &m, 3, 4, &used), VIOMMU_S_INVAL);
	assert_int_equal(request(f, &m, sizeof(m), 4, &used), VIOMMU_S_INVAL);
	/* After UNMAP completes the device no longer reaches the page. */
	assert_int_equal(request(f, &u, sizeof(u), 4, &used), VIOMMU_S_OK);
	assert_int_equal(dma_write(&f->as, 0x40000ffe, &x, 4), -EFAULT);
}

static bool event_used(struct fix *f, uintptr_t n)
{
	return used_reached(f, 1u << 16 | n);
}

static void test_fault_event(void **state)
{
	struct fix *f = *state;
	struct viommu_fault ev;
	uint32_t x;

	/* Two event buffers, as Linux fills the queue. */
	for (uint16_t i = 0; i < 2; i++) {
		vd_desc(&f->vm, DESC_GPA + Q1_OFF, i, EVT_GPA + 64 * i,
			sizeof(ev), VIRTQ_DESC_F_WRITE, 0);
		vd_avail(&f->vm, AVAIL_GPA + Q1_OFF, QSIZE, &f->avail_idx[1],
			 i);
	}
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	/* Not attached, bypass 0: the read faults and is reported. */
	assert_int_equal(dma_read(&f->as, 0x1234, &x, 4), -EFAULT);
	assert_true(vd_wait_until(event_used, f, 1));
	memcpy(&ev, vd_hva(&f->vm, EVT_GPA, sizeof(ev)), sizeof(ev));
	assert_int_equal(ev.reason, VIOMMU_FAULT_R_DOMAIN);
	assert_int_equal(le32toh(ev.flags),
			 VIOMMU_FAULT_F_READ | VIOMMU_FAULT_F_ADDRESS);
	assert_int_equal(le32toh(ev.endpoint), EP);
	assert_int_equal(le64toh(ev.address), 0x1234);
	assert_int_equal(vd_rd32(&f->vm, USED_GPA + Q1_OFF + 4 + 4),
			 sizeof(ev));
	assert_true(vd_wait_edges(GSI, 1));
}

static void test_probe(void **state)
{
	struct fix *f = *state;
	struct viommu_req_probe p = { .head.type = VIOMMU_T_PROBE,
				      .endpoint = htole32(EP) };
	uint32_t used;

	assert_int_equal(request(f, &p, sizeof(p), VIOMMU_RESP_MAX, &used),
			 VIOMMU_S_OK);
	assert_int_equal(used, VIOMMU_RESP_MAX);
	assert_int_equal(vd_rd16(&f->vm, RESP_GPA), VIOMMU_PROBE_T_RESV_MEM);
	assert_int_equal(vd_rd8(&f->vm, RESP_GPA + 4), VIOMMU_RESV_MEM_T_MSI);
	assert_int_equal(vd_rd32(&f->vm, RESP_GPA + 8), 0xfee00000);
	/* No room for a tail: nothing written, used length 0. */
	request(f, &p, sizeof(p), 4, &used);
	assert_int_equal(used, 4); /* no room for properties: a tail only */
	assert_int_equal(vd_rd8(&f->vm, RESP_GPA), VIOMMU_S_INVAL);
	request(f, &p, sizeof(p), 3, &used);
	assert_int_equal(used, 0);
	assert_int_equal(vd_rd8(&f->vm, RESP_GPA), 0xee);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_requests_and_translation,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_event, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
