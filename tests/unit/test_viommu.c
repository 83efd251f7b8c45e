// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-iommu's model: the request parser and its status codes, the
 * domains' interval maps, translation through an endpoint's DMA space,
 * invalidation on UNMAP/DETACH, faults, PROBE and the VIOT table.
 */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iommu/viommu.h"
#include "kvm/dma.h"
#include "kvm/memory.h"

#define RAM_SIZE (64ull << 20)
#define EP_A 0x08 /* 00:01.0 */
#define EP_B 0x10 /* 00:02.0 */
#define ALL_FEATURES VIOMMU_FEATURES

static struct guest_mem mem;
static struct viommu *v;
static struct dma_space as_a, as_b;
static unsigned int faults_kicked;

static void on_fault(void *opaque)
{
	faults_kicked++;
}

static int setup(void **state)
{
	const struct viommu_params p = {
		.input_end = (1ull << 48) - 1,
		.domain_end = 0xffff,
		.msi_start = 0xfee00000,
		.msi_end = 0xfeefffff,
	};

	assert_int_equal(guest_mem_init(&mem, RAM_SIZE, false), 0);
	v = viommu_create(&mem, &p);
	assert_non_null(v);
	viommu_set_notify(v, on_fault, NULL);
	assert_int_equal(viommu_dma_space_init(&as_a, v, EP_A), 0);
	assert_int_equal(viommu_dma_space_init(&as_b, v, EP_B), 0);
	viommu_set_features(v, ALL_FEATURES);
	faults_kicked = 0;
	return 0;
}

static int teardown(void **state)
{
	dma_space_destroy(&as_a);
	dma_space_destroy(&as_b);
	viommu_destroy(v);
	guest_mem_destroy(&mem);
	return 0;
}

/* Sends @req (@rlen bytes) with @wlen writable bytes; returns the status. */
static int send(const void *req, size_t rlen, size_t wlen, uint8_t *out)
{
	uint8_t buf[VIOMMU_RESP_MAX], *o = out ? out : buf;
	size_t n = viommu_request(v, req, rlen, wlen, o);

	if (n < sizeof(struct viommu_req_tail) || n > VIOMMU_RESP_MAX)
		return -1;
	return o[n - sizeof(struct viommu_req_tail)];
}

static int attach(uint32_t dom, uint32_t ep, uint32_t flags)
{
	struct viommu_req_attach r = { .head.type = VIOMMU_T_ATTACH,
				       .domain = htole32(dom),
				       .endpoint = htole32(ep),
				       .flags = htole32(flags) };

	return send(&r, sizeof(r), 4, NULL);
}

static int detach(uint32_t dom, uint32_t ep)
{
	struct viommu_req_detach r = { .head.type = VIOMMU_T_DETACH,
				       .domain = htole32(dom),
				       .endpoint = htole32(ep) };

	return send(&r, sizeof(r), 4, NULL);
}

static int map(uint32_t dom, uint64_t start, uint64_t end, uint64_t phys,
	       uint32_t flags)
{
	struct viommu_req_map r = { .head.type = VIOMMU_T_MAP,
				    .domain = htole32(dom),
				    .virt_start = htole64(start),
				    .virt_end = htole64(end),
				    .phys_start = htole64(phys),
				    .flags = htole32(flags) };

	return send(&r, sizeof(r), 4, NULL);
}

static int unmap(uint32_t dom, uint64_t start, uint64_t end)
{
	struct viommu_req_unmap r = { .head.type = VIOMMU_T_UNMAP,
				      .domain = htole32(dom),
				      .virt_start = htole64(start),
				      .virt_end = htole64(end) };

	return send(&r, sizeof(r), 4, NULL);
}

#define RW (VIOMMU_MAP_F_READ | VIOMMU_MAP_F_WRITE)

static void test_map_translate(void **state)
{
	uint8_t buf[16], *ram = gpa_to_hva(&mem, 0x200000, 0x2000);
	struct iovec iov[4];

	assert_int_equal(attach(1, EP_A, 0), VIOMMU_S_OK);
	/* Two IOVA pages, scattered in RAM: page 0 -> 0x201000, 1 -> 0x200000. */
	assert_int_equal(map(1, 0x10000, 0x10fff, 0x201000, RW), VIOMMU_S_OK);
	assert_int_equal(map(1, 0x11000, 0x11fff, 0x200000, RW), VIOMMU_S_OK);
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(dma_write(&as_a, 0x10ff8, buf, 16), 0);
	assert_int_equal(ram[0x1ff8], 0xab);
	assert_int_equal(ram[0x1fff], 0xab);
	assert_int_equal(ram[0x0000], 0xab);
	assert_int_equal(ram[0x0007], 0xab);
	assert_int_equal(ram[0x0008], 0);
	assert_int_equal(dma_map_iov(&as_a, 0x10ff8, 16, DMA_READ, iov, 4), 2);
	/* Another endpoint, not attached, bypass off: refused. */
	assert_int_equal(dma_read(&as_b, 0x10000, buf, 4), -EFAULT);
	/* Unmapped IOVA. */
	assert_int_equal(dma_read(&as_a, 0x12000, buf, 4), -EFAULT);
	/* Shared domain: B sees A's maps. */
	assert_int_equal(attach(1, EP_B, 0), VIOMMU_S_OK);
	assert_int_equal(dma_read(&as_b, 0x11000, buf, 8), 0);
	assert_int_equal(buf[0], 0xab);
}

static void test_permissions_and_faults(void **state)
{
	struct viommu_fault f;
	uint8_t b = 1;

	assert_int_equal(attach(3, EP_A, 0), VIOMMU_S_OK);
	assert_int_equal(map(3, 0x0, 0xfff, 0x300000, VIOMMU_MAP_F_READ),
			 VIOMMU_S_OK);
	assert_int_equal(dma_read(&as_a, 0x10, &b, 1), 0);
	assert_int_equal(dma_write(&as_a, 0x10, &b, 1), -EACCES);
	assert_true(viommu_take_fault(v, &f));
	assert_int_equal(f.reason, VIOMMU_FAULT_R_MAPPING);
	assert_int_equal(le32toh(f.flags),
			 VIOMMU_FAULT_F_WRITE | VIOMMU_FAULT_F_ADDRESS);
	assert_int_equal(le32toh(f.endpoint), EP_A);
	assert_int_equal(le64toh(f.address), 0x10);
	assert_int_equal(dma_read(&as_b, 0x20, &b, 1), -EFAULT);
	assert_true(viommu_take_fault(v, &f));
	assert_int_equal(f.reason, VIOMMU_FAULT_R_DOMAIN);
	assert_int_equal(le32toh(f.endpoint), EP_B);
	assert_int_equal(le32toh(f.flags),
			 VIOMMU_FAULT_F_READ | VIOMMU_FAULT_F_ADDRESS);
	assert_false(viommu_take_fault(v, &f));
	assert_int_equal(faults_kicked, 2);
	/* The ring holds VIOMMU_FAULT_RING; the rest are counted. */
	for (unsigned int i = 0; i < VIOMMU_FAULT_RING + 5; i++)
		assert_int_equal(dma_read(&as_b, 0, &b, 1), -EFAULT);
	assert_int_equal(viommu_take_lost(v), 5);
	assert_int_equal(viommu_take_lost(v), 0);
}

static void test_bypass(void **state)
{
	uint8_t b;
	struct viommu_config c;

	viommu_get_config(v, &c);
	assert_int_equal(c.bypass, 0);
	assert_int_equal(dma_read(&as_a, 0x1000, &b, 1), -EFAULT);
	viommu_set_bypass(v, 1);
	assert_int_equal(dma_read(&as_a, 0x1000, &b, 1), 0);
	/* Attached to a translated domain: no more bypass. */
	assert_int_equal(attach(2, EP_A, 0), VIOMMU_S_OK);
	assert_int_equal(dma_read(&as_a, 0x1000, &b, 1), -EFAULT);
	/* A bypass domain: identity, and no maps in it. */
	assert_int_equal(attach(9, EP_B, VIOMMU_ATTACH_F_BYPASS), VIOMMU_S_OK);
	viommu_set_bypass(v, 0);
	assert_int_equal(dma_read(&as_b, 0x1000, &b, 1), 0);
	assert_int_equal(map(9, 0, 0xfff, 0, RW), VIOMMU_S_INVAL);
	assert_int_equal(unmap(9, 0, 0xfff), VIOMMU_S_INVAL);
	/* Its type cannot change under an attach. */
	assert_int_equal(attach(9, EP_A, 0), VIOMMU_S_INVAL);
	assert_int_equal(attach(2, EP_B, VIOMMU_ATTACH_F_BYPASS),
			 VIOMMU_S_INVAL);
	/* Without F_BYPASS_CONFIG neither the flag nor the byte count. */
	viommu_reset(v);
	viommu_set_features(v,
			    ALL_FEATURES & ~(1ull << VIOMMU_F_BYPASS_CONFIG));
	assert_int_equal(attach(9, EP_B, VIOMMU_ATTACH_F_BYPASS),
			 VIOMMU_S_INVAL);
	viommu_set_bypass(v, 1);
	viommu_get_config(v, &c);
	assert_int_equal(c.bypass, 0);
}

static void test_status_codes(void **state)
{
	struct viommu_req_attach a = { .head.type = VIOMMU_T_ATTACH,
				       .endpoint = htole32(EP_A) };
	struct viommu_req_detach d = { .head.type = VIOMMU_T_DETACH };
	struct viommu_req_unmap u = { .head.type = VIOMMU_T_UNMAP };
	uint8_t junk[8] = { 77 }, big[VIOMMU_REQ_MAX];

	/* Lengths: too short for the type, no room for the tail. */
	assert_int_equal(send(&a, sizeof(a) - 1, 4, NULL), VIOMMU_S_INVAL);
	assert_int_equal(send(&a, 0, 4, NULL), VIOMMU_S_INVAL);
	assert_int_equal(send(&a, sizeof(a), 3, NULL), -1);
	/* Longer than needed is fine (the parser reads VIOMMU_REQ_MAX). */
	memset(big, 0, sizeof(big));
	memcpy(big, &a, sizeof(a));
	assert_int_equal(send(big, 4096, 4, NULL), VIOMMU_S_OK);
	assert_int_equal(send(junk, sizeof(junk), 4, NULL), VIOMMU_S_UNSUPP);
	junk[0] = 0;
	assert_int_equal(send(junk, sizeof(junk), 4, NULL), VIOMMU_S_UNSUPP);
	/* Reserved fields and unknown flags. */
	a.reserved[2] = 1;
	assert_int_equal(send(&a, sizeof(a), 4, NULL), VIOMMU_S_INVAL);
	assert_int_equal(attach(1, EP_A, 0x80), VIOMMU_S_INVAL);
	d.reserved[7] = 1;
	d.endpoint = htole32(EP_A);
	assert_int_equal(send(&d, sizeof(d), 4, NULL), VIOMMU_S_INVAL);
	u.reserved[0] = 1;
	assert_int_equal(send(&u, sizeof(u), 4, NULL), VIOMMU_S_INVAL);
	/* Unknown endpoint, domain out of range, unknown domain. */
	assert_int_equal(attach(1, 0x1234, 0), VIOMMU_S_NOENT);
	assert_int_equal(attach(0x10000, EP_A, 0), VIOMMU_S_RANGE);
	assert_int_equal(detach(1, 0x1234), VIOMMU_S_NOENT);
	assert_int_equal(detach(77, EP_A), VIOMMU_S_INVAL);
	assert_int_equal(map(77, 0, 0xfff, 0, RW), VIOMMU_S_NOENT);
	assert_int_equal(unmap(77, 0, 0xfff), VIOMMU_S_NOENT);
	/* Map ranges. */
	assert_int_equal(attach(1, EP_A, 0), VIOMMU_S_OK);
	assert_int_equal(map(1, 0x1000, 0xfff, 0, RW), VIOMMU_S_RANGE);
	assert_int_equal(map(1, 0x1800, 0x1fff, 0, RW), VIOMMU_S_RANGE);
	assert_int_equal(map(1, 0x1000, 0x17ff, 0, RW), VIOMMU_S_RANGE);
	assert_int_equal(map(1, 0x1000, 0x1fff, 0x10, RW), VIOMMU_S_RANGE);
	assert_int_equal(map(1, 1ull << 48, (1ull << 48) + 0xfff, 0, RW),
			 VIOMMU_S_RANGE);
	assert_int_equal(map(1, 0, UINT64_MAX, 0, RW), VIOMMU_S_RANGE);
	assert_int_equal(map(1, 0x1000, 0x2fff, UINT64_MAX & ~0xfffull, RW),
			 VIOMMU_S_RANGE);
	assert_int_equal(map(1, 0x1000, 0x1fff, 0, VIOMMU_MAP_F_MMIO),
			 VIOMMU_S_INVAL);
	assert_int_equal(map(1, 0x1000, 0x1fff, 0, 0x10), VIOMMU_S_INVAL);
	/* Overlaps. */
	assert_int_equal(map(1, 0x10000, 0x1ffff, 0, RW), VIOMMU_S_OK);
	assert_int_equal(map(1, 0x1f000, 0x20fff, 0, RW), VIOMMU_S_INVAL);
	assert_int_equal(map(1, 0xf000, 0x10fff, 0, RW), VIOMMU_S_INVAL);
	assert_int_equal(map(1, 0x0, 0xfffff, 0, RW), VIOMMU_S_INVAL);
	assert_int_equal(map(1, 0x14000, 0x14fff, 0, RW), VIOMMU_S_INVAL);
	assert_int_equal(map(1, 0xf000, 0xffff, 0, RW), VIOMMU_S_OK);
	assert_int_equal(map(1, 0x20000, 0x20fff, 0, RW), VIOMMU_S_OK);
	/* Unmap never splits: refused whole. */
	assert_int_equal(unmap(1, 0x10000, 0x10fff), VIOMMU_S_RANGE);
	assert_int_equal(unmap(1, 0xf000, 0x10fff), VIOMMU_S_RANGE);
	assert_int_equal(unmap(1, 0x2000, 0x1000), VIOMMU_S_RANGE);
	/* The refused unmaps removed nothing. */
	assert_int_equal(map(1, 0xf000, 0xffff, 0, RW), VIOMMU_S_INVAL);
	/* A range over several mappings and holes removes them all. */
	assert_int_equal(unmap(1, 0x0, 0x1ffff), VIOMMU_S_OK);
	assert_int_equal(map(1, 0xf000, 0x1ffff, 0, RW), VIOMMU_S_OK);
	assert_int_equal(map(1, 0x20000, 0x20fff, 0, RW), VIOMMU_S_INVAL);
	assert_int_equal(unmap(1, 0, UINT64_MAX), VIOMMU_S_OK);
	assert_int_equal(unmap(1, 0, UINT64_MAX), VIOMMU_S_OK);
	assert_int_equal(map(1, 0x20000, 0x20fff, 0, RW), VIOMMU_S_OK);
}

static void test_domains(void **state)
{
	uint8_t b;

	assert_int_equal(attach(1, EP_A, 0), VIOMMU_S_OK);
	assert_int_equal(map(1, 0, 0xfff, 0x1000, RW), VIOMMU_S_OK);
	assert_int_equal(attach(1, EP_A, 0), VIOMMU_S_OK); /* again: no-op */
	assert_int_equal(dma_read(&as_a, 0, &b, 1), 0);
	/* Moving A to domain 2 leaves domain 1 empty: it goes away. */
	assert_int_equal(attach(2, EP_A, 0), VIOMMU_S_OK);
	assert_int_equal(map(1, 0, 0xfff, 0, RW), VIOMMU_S_NOENT);
	assert_int_equal(dma_read(&as_a, 0, &b, 1), -EFAULT);
	assert_int_equal(detach(1, EP_A), VIOMMU_S_INVAL);
	assert_int_equal(detach(2, EP_A), VIOMMU_S_OK);
	assert_int_equal(detach(2, EP_A), VIOMMU_S_INVAL);
	assert_int_equal(map(2, 0, 0xfff, 0, RW), VIOMMU_S_NOENT);
	/* Reset: no domains. */
	assert_int_equal(attach(5, EP_B, 0), VIOMMU_S_OK);
	viommu_reset(v);
	assert_int_equal(map(5, 0, 0xfff, 0, RW), VIOMMU_S_NOENT);
}

struct inv {
	struct dma_notifier n;
	unsigned int calls;
	uint64_t iova, len;
};

static void on_inv(struct dma_notifier *n, uint64_t iova, uint64_t len)
{
	struct inv *i = (struct inv *)n;

	i->calls++;
	i->iova = iova;
	i->len = len;
}

static void test_invalidation(void **state)
{
	struct inv ia = { .n.invalidate = on_inv },
		   ib = { .n.invalidate = on_inv };
	uint64_t gen = as_a.generation;

	dma_notifier_add(&as_a, &ia.n);
	dma_notifier_add(&as_b, &ib.n);
	assert_int_equal(attach(1, EP_A, 0), VIOMMU_S_OK);
	assert_int_equal(attach(1, EP_B, 0), VIOMMU_S_OK);
	ia.calls = ib.calls = 0;
	assert_int_equal(map(1, 0x4000, 0x5fff, 0x4000, RW), VIOMMU_S_OK);
	assert_int_equal(ia.calls, 0); /* nothing to drop on a map */
	assert_int_equal(unmap(1, 0x4000, 0x5fff), VIOMMU_S_OK);
	assert_int_equal(ia.calls, 1);
	assert_int_equal(ib.calls, 1);
	assert_int_equal(ia.iova, 0x4000);
	assert_int_equal(ia.len, 0x2000);
	assert_true(as_a.generation > gen);
	/* An unmap that removes nothing invalidates nothing. */
	assert_int_equal(unmap(1, 0x4000, 0x5fff), VIOMMU_S_OK);
	assert_int_equal(ia.calls, 1);
	/* Detach: the whole space of that endpoint only. */
	assert_int_equal(detach(1, EP_A), VIOMMU_S_OK);
	assert_int_equal(ia.calls, 2);
	assert_int_equal(ia.len, 0);
	assert_int_equal(ib.calls, 1);
	viommu_reset(v);
	assert_int_equal(ia.calls, 3);
	assert_int_equal(ib.calls, 2);
	dma_notifier_del(&as_a, &ia.n);
	dma_notifier_del(&as_b, &ib.n);
}

/*
 * A mirror of an endpoint's space, as VFIO's shadow keeps one: on every
 * notice it replays the range and counts what it finds, so a notice must
 * come once the change is made.
 */
struct mirror {
	struct dma_notifier n;
	struct dma_space *as;
	unsigned int invalidated, mapped, pieces;
	uint64_t bytes, first_iova;
	enum dma_dir first_dir;
};

static int mirror_piece(void *arg, uint64_t iova, uint64_t len, void *hva,
			enum dma_dir dir)
{
	struct mirror *m = arg;

	assert_non_null(
		gpa_to_hva(&mem, (uint64_t)((uint8_t *)hva - mem.base), len));
	if (!m->pieces++) {
		m->first_iova = iova;
		m->first_dir = dir;
	}
	m->bytes += len;
	return 0;
}

static void mirror_replay(struct mirror *m, uint64_t iova, uint64_t len)
{
	m->pieces = 0;
	m->bytes = 0;
	assert_int_equal(dma_space_replay(m->as, iova, len, mirror_piece, m),
			 0);
}

static void on_mirror_inv(struct dma_notifier *n, uint64_t iova, uint64_t len)
{
	struct mirror *m = (struct mirror *)n;

	m->invalidated++;
	mirror_replay(m, iova, len);
}

static void on_mirror_map(struct dma_notifier *n, uint64_t iova, uint64_t len)
{
	struct mirror *m = (struct mirror *)n;

	m->mapped++;
	mirror_replay(m, iova, len);
}

static void test_mirror(void **state)
{
	struct mirror ma = { .n = { .invalidate = on_mirror_inv,
				    .mapped = on_mirror_map },
			     .as = &as_a };
	struct mirror mb = ma;

	mb.as = &as_b;
	dma_notifier_add(&as_a, &ma.n);
	dma_notifier_add(&as_b, &mb.n);
	/* B's domain has a mapping when A joins: A's notice replays it. */
	assert_int_equal(attach(1, EP_B, 0), VIOMMU_S_OK);
	assert_int_equal(map(1, 0x10000, 0x12fff, 0x200000, VIOMMU_MAP_F_READ),
			 VIOMMU_S_OK);
	/* A MAP is a "mapped" notice of its range, the new mapping in it. */
	assert_int_equal(mb.mapped, 1);
	assert_int_equal(mb.pieces, 1);
	assert_int_equal(mb.first_iova, 0x10000);
	assert_int_equal(mb.bytes, 0x3000);
	assert_int_equal(mb.first_dir, DMA_READ);
	assert_int_equal(attach(1, EP_A, 0), VIOMMU_S_OK);
	assert_int_equal(ma.invalidated, 1);
	assert_int_equal(ma.pieces, 1);
	assert_int_equal(ma.bytes, 0x3000);
	/* Bypass for unattached endpoints: the notice sees the identity. */
	assert_int_equal(detach(1, EP_A), VIOMMU_S_OK);
	viommu_set_bypass(v, 1);
	assert_int_equal(ma.invalidated, 3);
	assert_int_equal(ma.bytes, RAM_SIZE);
	/* New RAM reaches the bypassing one only. */
	ma.mapped = mb.mapped = 0;
	viommu_ram_changed(v, RAM_SIZE, 2 << 20, true);
	assert_int_equal(ma.mapped, 1);
	assert_int_equal(mb.mapped, 0);
	/* A reset's notice sees the reset state: nothing mapped. */
	viommu_reset(v);
	assert_int_equal(ma.pieces, 0);
	assert_int_equal(mb.pieces, 0);
	dma_notifier_del(&as_a, &ma.n);
	dma_notifier_del(&as_b, &mb.n);
}

static void test_probe(void **state)
{
	struct viommu_req_probe p = { .head.type = VIOMMU_T_PROBE,
				      .endpoint = htole32(EP_B) };
	uint8_t out[VIOMMU_RESP_MAX];
	struct viommu_probe_resv_mem r;

	assert_int_equal(send(&p, sizeof(p), VIOMMU_RESP_MAX, out),
			 VIOMMU_S_OK);
	memcpy(&r, out, sizeof(r));
	assert_int_equal(le16toh(r.type), VIOMMU_PROBE_T_RESV_MEM);
	assert_int_equal(le16toh(r.length), 20);
	assert_int_equal(r.subtype, VIOMMU_RESV_MEM_T_MSI);
	assert_int_equal(le64toh(r.start), 0xfee00000);
	assert_int_equal(le64toh(r.end), 0xfeefffff);
	/* Then NONE. */
	assert_int_equal(out[sizeof(r)] | out[sizeof(r) + 1], 0);
	/* No room for probe_size bytes. */
	assert_int_equal(send(&p, sizeof(p), VIOMMU_RESP_MAX - 1, out),
			 VIOMMU_S_INVAL);
	p.endpoint = htole32(0x99);
	assert_int_equal(send(&p, sizeof(p), VIOMMU_RESP_MAX, out),
			 VIOMMU_S_NOENT);
	p.endpoint = htole32(EP_B);
	p.reserved[63] = 1;
	assert_int_equal(send(&p, sizeof(p), VIOMMU_RESP_MAX, out),
			 VIOMMU_S_INVAL);
	viommu_set_features(v, ALL_FEATURES & ~(1ull << VIOMMU_F_PROBE));
	p.reserved[63] = 0;
	assert_int_equal(send(&p, sizeof(p), VIOMMU_RESP_MAX, out),
			 VIOMMU_S_UNSUPP);
}

static void test_map_limit(void **state)
{
	unsigned int i;

	assert_int_equal(attach(1, EP_A, 0), VIOMMU_S_OK);
	/* Descending: each insert goes in front. */
	for (i = 0; i < VIOMMU_MAX_MAPPINGS; i++) {
		uint64_t iova = (uint64_t)(VIOMMU_MAX_MAPPINGS - i) << 12;

		assert_int_equal(map(1, iova, iova + 0xfff, 0, RW),
				 VIOMMU_S_OK);
	}
	assert_int_equal(map(1, 1ull << 40, (1ull << 40) + 0xfff, 0, RW),
			 VIOMMU_S_NOMEM);
	assert_int_equal(unmap(1, 0x1000, 0x1fff), VIOMMU_S_OK);
	assert_int_equal(map(1, 1ull << 40, (1ull << 40) + 0xfff, 0, RW),
			 VIOMMU_S_OK);
}

static void test_outside_ram(void **state)
{
	uint8_t b;

	assert_int_equal(attach(1, EP_A, 0), VIOMMU_S_OK);
	/* Valid requests, but the target is not RAM: DMA fails, no access. */
	assert_int_equal(map(1, 0, 0xfff, 0xfee00000, RW), VIOMMU_S_OK);
	assert_int_equal(map(1, 0x1000, 0x1fff, 1ull << 46, RW), VIOMMU_S_OK);
	assert_int_equal(map(1, 0x2000, 0x3fff, RAM_SIZE - 0x1000, RW),
			 VIOMMU_S_OK);
	assert_int_equal(dma_read(&as_a, 0x10, &b, 1), -EFAULT);
	assert_int_equal(dma_read(&as_a, 0x1010, &b, 1), -EFAULT);
	assert_int_equal(dma_read(&as_a, 0x2ff0, &b, 1), 0);
	assert_int_equal(dma_check(&as_a, 0x2ff0, 0x20, DMA_READ), -EFAULT);
}

static void test_outlives_model(void **state)
{
	struct dma_space as;
	struct viommu *w = viommu_create(
		&mem, &(struct viommu_params){ .input_end = UINT64_MAX,
					       .domain_end = 10 });
	uint8_t b;

	assert_int_equal(viommu_dma_space_init(&as, w, 1), 0);
	assert_int_equal(viommu_dma_space_init(&as, w, 1), -EEXIST);
	viommu_destroy(w);
	assert_int_equal(dma_read(&as, 0, &b, 1), -EFAULT);
	dma_space_destroy(&as);
}

static void test_viot(void **state)
{
	uint8_t buf[128];
	struct viot_head h;
	struct viot_virtio_pci n;
	struct viot_pci_range r[2];
	size_t len = viommu_viot_build(buf, sizeof(buf), 0, 0x18);

	assert_int_equal(len, 12 + 16 + 2 * 24);
	memcpy(&h, buf, sizeof(h));
	memcpy(&n, buf + 12, sizeof(n));
	memcpy(r, buf + 28, sizeof(r));
	assert_int_equal(le16toh(h.node_count), 3);
	assert_int_equal(le16toh(h.node_offset), 48);
	assert_int_equal(n.type, VIOT_NODE_VIRTIO_IOMMU_PCI);
	assert_int_equal(le16toh(n.length), 16);
	assert_int_equal(le16toh(n.bdf), 0x18);
	assert_int_equal(r[0].type, VIOT_NODE_PCI_RANGE);
	assert_int_equal(le16toh(r[0].length), 24);
	assert_int_equal(le16toh(r[0].bdf_start), 0);
	assert_int_equal(le16toh(r[0].bdf_end), 0x17);
	assert_int_equal(le32toh(r[0].endpoint_start), 0);
	assert_int_equal(le16toh(r[0].output_node), 48);
	assert_int_equal(le16toh(r[1].bdf_start), 0x19);
	assert_int_equal(le16toh(r[1].bdf_end), 0xffff);
	assert_int_equal(le32toh(r[1].endpoint_start), 0x19);
	assert_int_equal(le16toh(r[1].output_node), 48);
	/* The IOMMU at BDF 0: one range only. */
	assert_int_equal(viommu_viot_build(buf, sizeof(buf), 0, 0),
			 12 + 16 + 24);
	assert_int_equal(viommu_viot_build(buf, 40, 0, 0x18), 0);
}

/* Random requests and translations: every answer is a known status. */
static void test_hostile(void **state)
{
	uint8_t req[VIOMMU_REQ_MAX], out[VIOMMU_RESP_MAX], b[64];

	srand(8);
	for (unsigned int i = 0; i < 200000; i++) {
		size_t n, rlen = rand() % (sizeof(req) + 8);

		for (size_t j = 0; j < sizeof(req); j++)
			req[j] = rand();
		req[0] = 1 + rand() % 6;
		/* Small ids, so that requests meet existing state. */
		req[4] = rand() % 3 ? EP_A : EP_B;
		req[5] = req[6] = req[7] = 0;
		if (req[0] == VIOMMU_T_ATTACH || req[0] == VIOMMU_T_DETACH) {
			memset(req + 4, 0, 4);
			req[4] = rand() % 4;
			memset(req + 8, 0, 4);
			req[8] = rand() % 2 ? EP_A : EP_B;
			memset(req + 12, 0, 8);
		} else if (req[0] == VIOMMU_T_MAP || req[0] == VIOMMU_T_UNMAP) {
			memset(req + 4, 0, 4);
			req[4] = rand() % 4;
			for (int k = 8; k < 28; k++)
				req[k] = k % 8 < 3 || k % 8 > 5 ? 0 : rand();
			if (rand() % 2)
				req[8] &= 0, req[9] &= 0xf0;
			memset(req + 32, 0, 4);
			req[32] = rand() % 4;
		}
		n = viommu_request(v, req, rlen, rand() % 100, out);
		assert_true(n == 0 || n == 4 || n == VIOMMU_RESP_MAX);
		if (n >= 4 && n <= VIOMMU_RESP_MAX)
			assert_true(out[n - 4] <= VIOMMU_S_NOMEM);
		(void)dma_read(rand() % 2 ? &as_a : &as_b,
			       (uint64_t)rand() << 12 | (rand() & 0xfff), b,
			       rand() % sizeof(b) + 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_map_translate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_permissions_and_faults,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bypass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_codes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalidation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mirror, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outside_ram, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_outlives_model, setup,
						teardown),
		cmocka_unit_test(test_viot),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
