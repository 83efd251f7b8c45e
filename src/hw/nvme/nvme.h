/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_NVME_NVME_H
#define DEVISOR_HW_NVME_NVME_H

/*
 * An NVMe 1.4 controller with one namespace over a block back-end: the
 * register file of BAR0 (registers and doorbells), the admin and NVM
 * command sets, PRP data pointers, completion queues with phase tags and
 * interrupts through callbacks. It knows nothing of PCI: the PCI function
 * (config space, BAR0 on the MMIO bus, MSI-X, INTx) is glue that calls
 * nvme_mmio_read()/nvme_mmio_write() and supplies the interrupt callbacks.
 * See docs/nvme.md.
 *
 * Guest memory is reached only through the DMA address space it is given
 * (kvm/dma.h). No KVM or x86 header is needed.
 *
 * Threading: one mutex per controller covers everything. nvme_mmio_*()
 * run on vCPU threads: registers, CC.EN/SHN, the admin queue (fetched and
 * executed there) and CQ head doorbells. I/O submission queues are fetched
 * there too unless the glue gives sq_kick(); then an I/O SQ tail doorbell
 * only records the tail and kicks the I/O thread, which calls
 * nvme_process_doorbells(), and nvme_process_completions() when the
 * back-end's completion fd fires. So with sq_kick() commands go to the
 * back-end, complete and interrupt on the I/O thread only. The callbacks
 * are called with the controller lock held: they must not call back into
 * the controller. See docs/nvme.md, "Locking".
 */

#include <stdbool.h>
#include <stdint.h>

struct blk_backend;
struct dma_space;
struct nvme_ctrl;

/* I/O queue pairs (besides the admin pair) a controller can offer. */
#define NVME_MAX_IOQ 64
/* Registers, then a doorbell pair per queue at a 4-byte stride. */
#define NVME_DB_BASE 0x1000u
#define NVME_DB_END (NVME_DB_BASE + 8u * (NVME_MAX_IOQ + 1))
/* Room for BAR0 (a power of two; the glue may put MSI-X after NVME_DB_END). */
#define NVME_BAR0_SIZE 0x4000u

/*
 * PCI vendor id reported in Identify Controller (VID, SSVID). devisor owns
 * no PCI-SIG id; it uses the Red Hat id its virtio functions already carry,
 * so all of devisor's functions show one vendor. Guests bind NVMe drivers
 * by class code (01:08:02), not by id. The glue must give the PCI function
 * the same vendor id.
 */
#define NVME_DEFAULT_VID 0x1af4

struct nvme_config {
	const char *name; /* for logs; NULL: "nvme" */
	const char *serial; /* NULL: the back-end's serial */
	uint16_t vid, ssvid; /* 0: NVME_DEFAULT_VID */
	unsigned int max_ioq; /* I/O queue pairs, 1..NVME_MAX_IOQ; 0: max */
	/* Interrupt vectors of the function (MSI-X table size); 0: 1. */
	unsigned int nr_vectors;
	/*
	 * Namespace 1 is bytes [ns_offset, ns_offset + ns_size) of the
	 * back-end (multiples of its block size); ns_size 0: to the end.
	 */
	uint64_t ns_offset, ns_size;
	/* Identify's CNTLID: 0 for a PF, K for its SR-IOV VF K. */
	uint16_t cntlid;
	/*
	 * A primary controller with this many SR-IOV VFs (secondary
	 * controllers 1..N, fixed resources): Identify CNS 14h and 15h
	 * describe them and Virtualization Management takes them offline
	 * and online. secondary() gives controller K (1..N), called with
	 * the primary's lock held (the order is always primary, then
	 * secondary).
	 */
	unsigned int nr_secondary;
	struct nvme_ctrl *(*secondary)(void *opaque, unsigned int k);
	void *secondary_opaque;
};

enum nvme_irq_mode {
	NVME_IRQ_PIN, /* INTx: a level, masked per vector by INTMS */
	NVME_IRQ_MSI, /* MSI: edges per vector, masked by INTMS */
	NVME_IRQ_MSIX, /* MSI-X: edges per vector (masking is MSI-X's) */
};

struct nvme_irq_ops {
	/* MSI or MSI-X: signal @vector (an edge). */
	void (*notify)(void *opaque, unsigned int vector);
	/* Pin-based: the INTx level changed. */
	void (*set_level)(void *opaque, bool asserted);
	/*
	 * Optional, both or neither: I/O SQ doorbells on the I/O thread.
	 * sq_kick() makes the I/O thread call nvme_process_doorbells() soon
	 * (an eventfd write); it must not wait for it. sq_ioeventfd() asks
	 * for (@on) or against a KVM ioeventfd on I/O SQ @qid's tail
	 * doorbell (the 4-byte write at NVME_DB_BASE + 8 * @qid) that kicks
	 * the same way. The controller asks for one only while shadow
	 * doorbells are on, since an ioeventfd loses the value written: the
	 * tail is then read from the shadow buffer. If the glue cannot have
	 * one, the write still arrives through nvme_mmio_write(): nothing
	 * changes for the guest. Without sq_kick every SQ is fetched on the
	 * thread that rang (tests, fuzzing).
	 */
	void (*sq_kick)(void *opaque, uint16_t qid);
	void (*sq_ioeventfd)(void *opaque, uint16_t qid, bool on);
};

/*
 * A controller over @dma and @be (not taken: the caller closes it after
 * nvme_destroy()). Returns NULL with errno set on failure.
 */
struct nvme_ctrl *nvme_create(struct dma_space *dma, struct blk_backend *be,
			      const struct nvme_config *cfg,
			      const struct nvme_irq_ops *irq, void *opaque);
/* Drains the back-end (no guest memory is written), then frees. */
void nvme_destroy(struct nvme_ctrl *n);

/*
 * BAR0 access at @off (below NVME_BAR0_SIZE), @size 1, 2, 4 or 8, little
 * endian. Registers are 32 bits wide (CAP, ASQ and ACQ 64, readable and
 * writable as two halves); other sizes read as the covering dword's bytes
 * and are ignored on write.
 */
uint64_t nvme_mmio_read(struct nvme_ctrl *n, uint64_t off, unsigned int size);
void nvme_mmio_write(struct nvme_ctrl *n, uint64_t off, uint64_t val,
		     unsigned int size);

/* Which interrupt mechanism the function has enabled (the glue knows). */
void nvme_set_irq_mode(struct nvme_ctrl *n, enum nvme_irq_mode mode);

/* The back-end's completion eventfd: poll it for EPOLLIN on the I/O thread, */
int nvme_completion_fd(const struct nvme_ctrl *n);
/* ... and call this when it fires: completions are posted, IRQs raised. */
void nvme_process_completions(struct nvme_ctrl *n);
/*
 * On the I/O thread after sq_kick() or an SQ doorbell ioeventfd: fetches
 * and starts what the I/O SQs hold (tails from the shadow buffer when
 * shadow doorbells are on), bounded as a doorbell write is.
 */
void nvme_process_doorbells(struct nvme_ctrl *n);

/*
 * Conventional reset of the function (PCI FLR, VM reset): a controller
 * reset, and the registers the host programs back to their reset values.
 */
void nvme_reset(struct nvme_ctrl *n);

/*
 * A secondary controller's state, as its primary's Virtualization
 * Management sets it: offline, it is disabled and cannot be enabled
 * (CC.EN gives controller fatal status). Online at creation.
 */
void nvme_set_online(struct nvme_ctrl *n, bool online);
bool nvme_is_online(struct nvme_ctrl *n);

#endif
