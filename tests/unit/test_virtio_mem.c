// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-mem end to end, behind virtio-mmio with a real I/O thread, over
 * a VM whose memory hotplug area is the device's region: the
 * configuration space; plug up to the request and no further (NACK), in
 * whole blocks inside the region (ERROR otherwise); unplugged blocks
 * leave host memory and read zero; STATE; UNPLUG_ALL; a new request with
 * its configuration change; a short request breaks the device.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_mem.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kvm/vm.h"
#include "util/evloop.h"
#include "util/log.h"
#include "virtio/mem.h"
#include "virtio/mmio.h"
#include "virtio/queue.h"
#include "virtio/virtio.h"

#include "helpers/virtio_driver.h"

#define RAM_SIZE (64ull << 20)
#define REGION (256ull << 20)
#define REQUESTED (8ull << 20)
#define BASE 0xd0000000ull
#define GSI 5
#define DESC_GPA 0x10000ull
#define AVAIL_GPA 0x11000ull
#define USED_GPA 0x12000ull
#define REQ_GPA 0x100000ull
#define RESP_GPA 0x101000ull
#define QSIZE 16
#define BS VIRTIO_MEM_BLOCK
#define CFG(f) (VIRTIO_MMIO_CONFIG + offsetof(struct virtio_mem_config, f))

struct fix {
	struct vm vm;
	struct evloop *loop;
	struct virtio_dev *vdev;
	uint64_t addr; /* the region's */
	uint16_t avail_idx;
};

static bool used_reached(struct fix *f, uintptr_t idx)
{
	return vd_rd16(&f->vm, USED_GPA + 2) == idx;
}

static bool broken(struct fix *f, uintptr_t unused)
{
	return vd_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS) & S_NEEDS_RESET;
}

static uint64_t cfg64(struct fix *f, unsigned int off)
{
	return vd_reg(&f->vm, BASE, off) |
	       (uint64_t)vd_reg(&f->vm, BASE, off + 4) << 32;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	log_level = LOG_ERROR;
	vd_irq_clear();
	vm_init_common(&f->vm);
	f->vm.irq_set = vd_irq_rec;
	assert_int_equal(
		guest_mem_init_hotplug(&f->vm.mem, RAM_SIZE, REGION, false), 0);
	f->loop = evloop_create("test-io");
	assert_non_null(f->loop);
	f->vdev = virtio_mem_create(&f->vm, REGION, REQUESTED);
	assert_non_null(f->vdev);
	assert_non_null(
		virtio_mmio_create(&f->vm, BASE, GSI, f->vdev, f->loop));
	vd_mmio_reset(&f->vm, BASE);
	vd_mmio_ack(&f->vm, BASE);
	assert_int_equal(vd_reg(&f->vm, BASE, VIRTIO_MMIO_DEVICE_ID),
			 VIRTIO_ID_MEM);
	assert_true(vd_mmio_features_ok(&f->vm, BASE, F_VERSION_1));
	vd_mmio_setup_queue(&f->vm, BASE, 0, 128, QSIZE, DESC_GPA, AVAIL_GPA,
			    USED_GPA);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS, S_ALL);
	f->addr = cfg64(f, CFG(addr));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	vd_vm_destroy(&f->vm, f->loop);
	free(f);
	return 0;
}

/* One request (@len bytes of it readable), its response's type. */
static uint16_t request_len(struct fix *f, uint16_t type, uint64_t addr,
			    uint16_t nb, uint16_t *state, uint32_t len)
{
	struct virtio_mem_req *req = vd_hva(&f->vm, REQ_GPA, sizeof(*req));
	struct virtio_mem_resp *resp = vd_hva(&f->vm, RESP_GPA, sizeof(*resp));
	uint16_t head = (f->avail_idx * 2) % QSIZE;

	memset(req, 0, sizeof(*req));
	memset(resp, 0xff, sizeof(*resp));
	req->type = htole16(type);
	req->u.plug.addr = htole64(addr);
	req->u.plug.nb_blocks = htole16(nb);
	vd_desc(&f->vm, DESC_GPA, head, REQ_GPA, len, VIRTQ_DESC_F_NEXT,
		head + 1);
	vd_desc(&f->vm, DESC_GPA, head + 1, RESP_GPA, sizeof(*resp),
		VIRTQ_DESC_F_WRITE, 0);
	vd_avail(&f->vm, AVAIL_GPA, QSIZE, &f->avail_idx, head);
	vd_set_reg(&f->vm, BASE, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	/* A request that breaks the device is never used. */
	if (len < sizeof(*req))
		return 0xffff;
	assert_true(vd_wait_until(used_reached, f, f->avail_idx));
	if (state)
		*state = le16toh(resp->u.state.state);
	return le16toh(resp->type);
}

static uint16_t request(struct fix *f, uint16_t type, uint64_t addr,
			uint16_t nb, uint16_t *state)
{
	return request_len(f, type, addr, nb, state,
			   sizeof(struct virtio_mem_req));
}

static uint16_t state_of(struct fix *f, uint64_t addr, uint16_t nb)
{
	uint16_t st = 0xffff;

	assert_int_equal(request(f, VIRTIO_MEM_REQ_STATE, addr, nb, &st),
			 VIRTIO_MEM_RESP_ACK);
	return st;
}

/* What Linux reads first: block size, a 128 MiB-aligned region, sizes. */
static void test_config(void **state)
{
	struct fix *f = *state;

	assert_int_equal(cfg64(f, CFG(block_size)), BS);
	assert_int_equal(f->addr % VIRTIO_MEM_REGION_ALIGN, 0);
	assert_true(f->addr >= RAM_SIZE);
	assert_int_equal(cfg64(f, CFG(region_size)), REGION);
	assert_int_equal(cfg64(f, CFG(usable_region_size)), REGION);
	assert_int_equal(cfg64(f, CFG(plugged_size)), 0);
	assert_int_equal(cfg64(f, CFG(requested_size)), REQUESTED);
	/* The whole region is guest RAM, for the vCPUs and for DMA. */
	assert_non_null(vd_hva(&f->vm, f->addr + REGION - BS, BS));
	assert_int_equal(state_of(f, f->addr, REGION / BS),
			 VIRTIO_MEM_STATE_UNPLUGGED);
}

static void test_plug_up_to_request(void **state)
{
	struct fix *f = *state;
	uint64_t top = f->addr + REGION;

	/* Three of the four blocks asked for, then one more. */
	assert_int_equal(request(f, VIRTIO_MEM_REQ_PLUG, f->addr + BS, 3, NULL),
			 VIRTIO_MEM_RESP_ACK);
	assert_int_equal(cfg64(f, CFG(plugged_size)), 3 * BS);
	assert_int_equal(state_of(f, f->addr + BS, 3),
			 VIRTIO_MEM_STATE_PLUGGED);
	assert_int_equal(state_of(f, f->addr, 2), VIRTIO_MEM_STATE_MIXED);
	/* Plugged already: an error, not a second count. */
	assert_int_equal(request(f, VIRTIO_MEM_REQ_PLUG, f->addr + 3 * BS, 1,
				 NULL),
			 VIRTIO_MEM_RESP_ERROR);
	/* Two more than the four requested. */
	assert_int_equal(request(f, VIRTIO_MEM_REQ_PLUG, f->addr + 8 * BS, 2,
				 NULL),
			 VIRTIO_MEM_RESP_NACK);
	assert_int_equal(request(f, VIRTIO_MEM_REQ_PLUG, top - BS, 1, NULL),
			 VIRTIO_MEM_RESP_ACK);
	assert_int_equal(cfg64(f, CFG(plugged_size)), 4 * BS);
	assert_int_equal(request(f, VIRTIO_MEM_REQ_PLUG, f->addr, 1, NULL),
			 VIRTIO_MEM_RESP_NACK);
	assert_false(vd_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS) & S_NEEDS_RESET);
}

/* Addresses and counts a driver must not send: ERROR, nothing changed. */
static void test_bad_ranges(void **state)
{
	struct fix *f = *state;
	uint64_t top = f->addr + REGION;
	static const struct {
		int64_t off; /* from the region's start */
		uint16_t nb;
	} bad[] = {
		{ 4096, 1 }, /* not block aligned */
		{ 0, 0 }, /* no blocks */
		{ -(int64_t)BS, 1 }, /* below the region */
		{ REGION, 1 }, /* at its end */
		{ REGION - BS, 2 }, /* across its end */
		{ 0, 0xffff }, /* more blocks than it has */
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t a = f->addr + bad[i].off;

		assert_int_equal(request(f, VIRTIO_MEM_REQ_PLUG, a, bad[i].nb,
					 NULL),
				 VIRTIO_MEM_RESP_ERROR);
		assert_int_equal(request(f, VIRTIO_MEM_REQ_UNPLUG, a, bad[i].nb,
					 NULL),
				 VIRTIO_MEM_RESP_ERROR);
		assert_int_equal(request(f, VIRTIO_MEM_REQ_STATE, a, bad[i].nb,
					 NULL),
				 VIRTIO_MEM_RESP_ERROR);
	}
	/* An address that wraps, and an unknown request type. */
	assert_int_equal(request(f, VIRTIO_MEM_REQ_PLUG, ~0ull - BS + 1, 1,
				 NULL),
			 VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(request(f, 9, f->addr, 1, NULL),
			 VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(cfg64(f, CFG(plugged_size)), 0);
	assert_int_equal(state_of(f, top - BS, 1), VIRTIO_MEM_STATE_UNPLUGGED);
	assert_false(vd_reg(&f->vm, BASE, VIRTIO_MMIO_STATUS) & S_NEEDS_RESET);
}

struct named {
	const char *name;
	uint64_t value;
};

static void find_counter(void *arg, const char *name, uint64_t value)
{
	struct named *c = arg;

	if (!strcmp(name, c->name))
		c->value = value;
}

/* The device's counter @name, as vm.counters reads it. */
static uint64_t counter(struct fix *f, const char *name)
{
	struct named c = { .name = name, .value = ~0ull };

	virtio_dev_counters(f->vdev, find_counter, &c);
	return c.value;
}

/* Unplugged blocks go back to the host: zero, not resident. */
static void test_unplug_discards(void **state)
{
	struct fix *f = *state;
	uint64_t a = f->addr + 4 * BS;

	assert_int_equal(request(f, VIRTIO_MEM_REQ_PLUG, a, 2, NULL),
			 VIRTIO_MEM_RESP_ACK);
	memset(vd_hva(&f->vm, a, 2 * BS), 0x5a, 2 * BS);
	assert_int_equal(vd_resident_pages(&f->vm, a, BS), BS / 4096);
	assert_int_equal(request(f, VIRTIO_MEM_REQ_UNPLUG, a, 1, NULL),
			 VIRTIO_MEM_RESP_ACK);
	assert_int_equal(vd_resident_pages(&f->vm, a, BS), 0);
	assert_true(vd_all(&f->vm, a, BS, 0));
	/* The other block keeps what the guest wrote. */
	assert_true(vd_all(&f->vm, a + BS, BS, 0x5a));
	assert_int_equal(cfg64(f, CFG(plugged_size)), BS);
	/* Not all plugged: an error, and the plugged one stays. */
	assert_int_equal(request(f, VIRTIO_MEM_REQ_UNPLUG, a, 2, NULL),
			 VIRTIO_MEM_RESP_ERROR);
	assert_true(vd_all(&f->vm, a + BS, BS, 0x5a));
	assert_int_equal(request(f, VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0, NULL),
			 VIRTIO_MEM_RESP_ACK);
	assert_true(vd_all(&f->vm, a + BS, BS, 0));
	assert_int_equal(cfg64(f, CFG(plugged_size)), 0);
	assert_int_equal(state_of(f, f->addr, REGION / BS),
			 VIRTIO_MEM_STATE_UNPLUGGED);
	assert_int_equal(virtio_mem_plugged(f->vdev), 0);
	/* vm.counters: what is plugged, asked for, and was given back. */
	assert_int_equal(counter(f, "plugged_bytes"), 0);
	assert_int_equal(counter(f, "requested_bytes"), REQUESTED);
	assert_int_equal(counter(f, "region_bytes"), REGION);
	assert_int_equal(counter(f, "discarded_bytes"), 2 * BS);
}

/* vm.resize: a new request, with a configuration change interrupt. */
static void test_set_requested(void **state)
{
	struct fix *f = *state;
	uint32_t gen = vd_reg(&f->vm, BASE, VIRTIO_MMIO_CONFIG_GENERATION);

	vd_irq_clear();
	virtio_mem_set_requested(f->vdev, 64 * BS);
	assert_int_equal(cfg64(f, CFG(requested_size)), 64 * BS);
	assert_int_not_equal(
		vd_reg(&f->vm, BASE, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_true(vd_wait_edges(GSI, 1));
	assert_true(vd_reg(&f->vm, BASE, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(request(f, VIRTIO_MEM_REQ_PLUG, f->addr, 64, NULL),
			 VIRTIO_MEM_RESP_ACK);
	assert_int_equal(virtio_mem_plugged(f->vdev), 64 * BS);
	/* Less: the driver unplugs; plugging more is refused meanwhile. */
	virtio_mem_set_requested(f->vdev, 0);
	assert_int_equal(request(f, VIRTIO_MEM_REQ_PLUG, f->addr + 64 * BS, 1,
				 NULL),
			 VIRTIO_MEM_RESP_NACK);
	assert_int_equal(request(f, VIRTIO_MEM_REQ_UNPLUG, f->addr, 64, NULL),
			 VIRTIO_MEM_RESP_ACK);
}

/* A request shorter than its header breaks the device, once. */
static void test_short_request(void **state)
{
	struct fix *f = *state;

	request_len(f, VIRTIO_MEM_REQ_PLUG, f->addr, 1, NULL, 8);
	assert_true(vd_wait_until(broken, f, 0));
	assert_int_equal(virtio_mem_plugged(f->vdev), 0);
}

/* A region that is not whole 128 MiB, or a request past it. */
static void test_create_refuses(void **state)
{
	struct vm vm;

	log_level = LOG_QUIET;
	vm_init_common(&vm);
	assert_int_equal(
		guest_mem_init_hotplug(&vm.mem, RAM_SIZE, REGION, false), 0);
	assert_null(virtio_mem_create(&vm, REGION - BS, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(virtio_mem_create(&vm, REGION, REGION + BS));
	assert_null(virtio_mem_create(&vm, REGION, BS / 2));
	/* Nothing was mapped by the refusals. */
	assert_int_equal(guest_mem_plugged(&vm.mem), 0);
	vm_destroy(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plug_up_to_request, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_ranges, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unplug_discards, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_set_requested, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_short_request, setup,
						teardown),
		cmocka_unit_test(test_create_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
