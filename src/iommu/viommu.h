/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_IOMMU_VIOMMU_H
#define DEVISOR_IOMMU_VIOMMU_H

/*
 * The virtio-iommu model (virtio 1.2, 5.13 "IOMMU device"), without the
 * virtio transport: endpoints (one per PCI function, endpoint id = its
 * requester id), domains with an interval map IOVA range -> guest
 * physical, the request parser (ATTACH, DETACH, MAP, UNMAP, PROBE) and
 * fault records for the event queue. virtio/iommu.c puts it on
 * virtio-pci; docs/iommu.md, "virtio-iommu".
 *
 * Each endpoint's DMA goes through a dma_space (kvm/dma.h) whose
 * translate looks up its domain's map; UNMAP, DETACH, ATTACH to another
 * domain and reset invalidate the spaces concerned before the request
 * completes.
 *
 * Locking: one mutex per model; every entry point takes it, so
 * translations may come from any I/O thread while the device's own
 * thread handles requests. dma_space_invalidate() runs under it: a
 * dma_notifier must not call back into the model.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm/dma.h"

struct guest_mem;
struct viommu;

/* Feature bits. */
#define VIOMMU_F_INPUT_RANGE 0
#define VIOMMU_F_DOMAIN_RANGE 1
#define VIOMMU_F_MAP_UNMAP 2
#define VIOMMU_F_BYPASS 3
#define VIOMMU_F_PROBE 4
#define VIOMMU_F_MMIO 5
#define VIOMMU_F_BYPASS_CONFIG 6

/* What devisor offers: no MMIO mappings, no legacy F_BYPASS. */
#define VIOMMU_FEATURES                                                     \
	((1ull << VIOMMU_F_INPUT_RANGE) | (1ull << VIOMMU_F_DOMAIN_RANGE) | \
	 (1ull << VIOMMU_F_MAP_UNMAP) | (1ull << VIOMMU_F_PROBE) |          \
	 (1ull << VIOMMU_F_BYPASS_CONFIG))

/* Request types and status codes. */
enum {
	VIOMMU_T_ATTACH = 1,
	VIOMMU_T_DETACH = 2,
	VIOMMU_T_MAP = 3,
	VIOMMU_T_UNMAP = 4,
	VIOMMU_T_PROBE = 5,
};

enum {
	VIOMMU_S_OK = 0,
	VIOMMU_S_IOERR = 1,
	VIOMMU_S_UNSUPP = 2,
	VIOMMU_S_DEVERR = 3,
	VIOMMU_S_INVAL = 4,
	VIOMMU_S_RANGE = 5,
	VIOMMU_S_NOENT = 6,
	VIOMMU_S_FAULT = 7,
	VIOMMU_S_NOMEM = 8,
};

#define VIOMMU_ATTACH_F_BYPASS 1u
#define VIOMMU_MAP_F_READ 1u
#define VIOMMU_MAP_F_WRITE 2u
#define VIOMMU_MAP_F_MMIO 4u

/* Wire format, little-endian. */
struct viommu_req_head {
	uint8_t type;
	uint8_t reserved[3];
} __attribute__((packed));

struct viommu_req_tail {
	uint8_t status;
	uint8_t reserved[3];
} __attribute__((packed));

struct viommu_req_attach {
	struct viommu_req_head head;
	uint32_t domain;
	uint32_t endpoint;
	uint32_t flags;
	uint8_t reserved[4];
} __attribute__((packed));

struct viommu_req_detach {
	struct viommu_req_head head;
	uint32_t domain;
	uint32_t endpoint;
	uint8_t reserved[8];
} __attribute__((packed));

struct viommu_req_map {
	struct viommu_req_head head;
	uint32_t domain;
	uint64_t virt_start;
	uint64_t virt_end;
	uint64_t phys_start;
	uint32_t flags;
} __attribute__((packed));

struct viommu_req_unmap {
	struct viommu_req_head head;
	uint32_t domain;
	uint64_t virt_start;
	uint64_t virt_end;
	uint8_t reserved[4];
} __attribute__((packed));

struct viommu_req_probe {
	struct viommu_req_head head;
	uint32_t endpoint;
	uint8_t reserved[64];
} __attribute__((packed));

/* PROBE properties. */
#define VIOMMU_PROBE_T_NONE 0
#define VIOMMU_PROBE_T_RESV_MEM 1
#define VIOMMU_PROBE_T_MASK 0xfff
#define VIOMMU_RESV_MEM_T_RESERVED 0
#define VIOMMU_RESV_MEM_T_MSI 1

struct viommu_probe_resv_mem {
	uint16_t type;
	uint16_t length; /* what follows this word and type */
	uint8_t subtype;
	uint8_t reserved[3];
	uint64_t start;
	uint64_t end;
} __attribute__((packed));

/* An event queue buffer: a fault report. */
#define VIOMMU_FAULT_R_UNKNOWN 0
#define VIOMMU_FAULT_R_DOMAIN 1
#define VIOMMU_FAULT_R_MAPPING 2
#define VIOMMU_FAULT_F_READ 1u
#define VIOMMU_FAULT_F_WRITE 2u
#define VIOMMU_FAULT_F_EXEC 4u
#define VIOMMU_FAULT_F_ADDRESS 0x100u

struct viommu_fault {
	uint8_t reason;
	uint8_t reserved[3];
	uint32_t flags;
	uint32_t endpoint;
	uint8_t reserved2[4];
	uint64_t address;
} __attribute__((packed));

/* Device configuration space. */
struct viommu_config {
	uint64_t page_size_mask;
	uint64_t input_start, input_end;
	uint32_t domain_start, domain_end;
	uint32_t probe_size;
	uint8_t bypass;
	uint8_t reserved[3];
} __attribute__((packed));

/* Bytes of properties a PROBE's writable part holds before its tail. */
#define VIOMMU_PROBE_SIZE 64u
/* The largest request the parser reads (PROBE), and answer it writes. */
#define VIOMMU_REQ_MAX sizeof(struct viommu_req_probe)
#define VIOMMU_RESP_MAX (VIOMMU_PROBE_SIZE + sizeof(struct viommu_req_tail))
/* Mappings over all domains, beyond which MAP answers S_NOMEM. */
#define VIOMMU_MAX_MAPPINGS (1u << 16)
/* Faults waiting for event buffers; more are counted and dropped. */
#define VIOMMU_FAULT_RING 32u

struct viommu_params {
	/* Granule: 4 KiB; input range: IOVAs the driver may map. */
	uint64_t input_end;
	uint32_t domain_end;
	/* The MSI doorbell window (RESV_MEM, MSI); start > end: none. */
	uint64_t msi_start, msi_end;
};

struct viommu *viommu_create(const struct guest_mem *mem,
			     const struct viommu_params *p);
/* Endpoint spaces left over fail every translation afterwards. */
void viommu_destroy(struct viommu *v);
/* Device reset: no domain, no mapping, bypass 0, every space invalidated. */
void viommu_reset(struct viommu *v);
/*
 * @fault(@opaque) is called, under the model's lock from the translating
 * thread, when a fault is queued: the device drains viommu_take_fault().
 * NULL stops it.
 */
void viommu_set_notify(struct viommu *v, void (*fault)(void *opaque),
		       void *opaque);
/* The negotiated features, at FEATURES_OK (0 at reset). */
void viommu_set_features(struct viommu *v, uint64_t features);

/* The configuration space as the driver reads it; bypass as written. */
void viommu_get_config(struct viommu *v, struct viommu_config *c);
/* A driver write of the bypass byte (honoured with F_BYPASS_CONFIG). */
void viommu_set_bypass(struct viommu *v, uint8_t bypass);

/*
 * One request: @req holds the first min(@rlen, VIOMMU_REQ_MAX) of its
 * @rlen device-readable bytes, @wlen is the size of its device-writable
 * part. Fills @out (VIOMMU_RESP_MAX bytes) with the answer, ending with
 * the tail and its status, to be written at the end of the writable part,
 * and returns its length: 0 when @wlen cannot hold a tail.
 */
size_t viommu_request(struct viommu *v, const void *req, size_t rlen,
		      size_t wlen, uint8_t *out);

/* The oldest queued fault: true with *@f filled (wire format). */
bool viommu_take_fault(struct viommu *v, struct viommu_fault *f);
/* Faults dropped because the ring was full, since the last call. */
uint64_t viommu_take_lost(struct viommu *v);
/*
 * RAM at [gpa, gpa + len) was plugged (@added) or taken back: bypassing
 * endpoints (the identity) reach it or no longer do, and their spaces
 * are told so (dma_space_mapped(), dma_space_invalidate()). A
 * ram_changed_fn (kvm/vm.h).
 */
void viommu_ram_changed(void *viommu, uint64_t gpa, uint64_t len, bool added);

/*
 * @as becomes the DMA space of endpoint @endpoint: 0, -ENOMEM or -EEXIST.
 * dma_space_destroy() detaches it.
 */
int viommu_dma_space_init(struct dma_space *as, struct viommu *v,
			  uint32_t endpoint);

/* ACPI VIOT, after the 36-byte header. */
struct viot_head {
	uint16_t node_count;
	uint16_t node_offset; /* from the start of the table */
	uint8_t reserved[8];
} __attribute__((packed));

#define VIOT_NODE_PCI_RANGE 1
#define VIOT_NODE_MMIO 2
#define VIOT_NODE_VIRTIO_IOMMU_PCI 3
#define VIOT_NODE_VIRTIO_IOMMU_MMIO 4

struct viot_pci_range {
	uint8_t type;
	uint8_t reserved;
	uint16_t length;
	uint32_t endpoint_start;
	uint16_t segment_start, segment_end;
	uint16_t bdf_start, bdf_end;
	uint16_t output_node; /* offset of the IOMMU's node in the table */
	uint8_t reserved2[6];
} __attribute__((packed));

struct viot_virtio_pci {
	uint8_t type;
	uint8_t reserved;
	uint16_t length;
	uint16_t segment;
	uint16_t bdf;
	uint8_t reserved2[8];
} __attribute__((packed));

/*
 * The VIOT body: the virtio-iommu-pci node of the device at @bdf on
 * @segment, and PCI range nodes for every other BDF of the segment
 * (endpoint id = BDF) translated by it. Returns the length, or 0 if
 * @size is too small.
 */
size_t viommu_viot_build(void *body, size_t size, uint16_t segment,
			 uint16_t bdf);

#endif
