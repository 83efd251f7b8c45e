/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_NVME_NVME_INT_H
#define DEVISOR_HW_NVME_NVME_INT_H

/*
 * Inside the NVMe controller model: spec constants (NVMe Base 1.4/2.0, NVM
 * Command Set) and the state shared by regs.c, admin.c, io.c and prp.c.
 * Everything here is used with nvme_ctrl.lock held.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "backend/block.h"
#include "hw/nvme/nvme.h"
#include "kvm/dma.h"

/* ---- registers (BAR0) ---- */
#define REG_CAP 0x00
#define REG_VS 0x08
#define REG_INTMS 0x0c
#define REG_INTMC 0x10
#define REG_CC 0x14
#define REG_CSTS 0x1c
#define REG_NSSR 0x20
#define REG_AQA 0x24
#define REG_ASQ 0x28
#define REG_ACQ 0x30

#define CC_EN (1u << 0)
#define CC_CSS(cc) (((cc) >> 4) & 7)
#define CC_MPS(cc) (((cc) >> 7) & 0xf)
#define CC_AMS(cc) (((cc) >> 11) & 7)
#define CC_SHN(cc) (((cc) >> 14) & 3)
#define CC_IOSQES(cc) (((cc) >> 16) & 0xf)
#define CC_IOCQES(cc) (((cc) >> 20) & 0xf)
#define CC_SHN_MASK (3u << 14)
#define CC_IOQES_MASK (0xffu << 16)
#define CC_WRITABLE 0x00fffff1u

#define CSTS_RDY (1u << 0)
#define CSTS_CFS (1u << 1)
#define CSTS_SHST_MASK (3u << 2)
#define CSTS_SHST_OCCURRING (1u << 2)
#define CSTS_SHST_COMPLETE (2u << 2)

#define AQA_MASK 0x0fff0fffu

/* ---- capabilities we offer ---- */
#define NVME_MQES 1023 /* 0's based: 1024 entries per queue */
#define NVME_TO 15 /* 500 ms units until CSTS.RDY follows CC.EN */
#define NVME_MPSMIN 0 /* 4 KiB */
#define NVME_MPSMAX 4 /* 64 KiB */
#define NVME_MDTS 7 /* 2^7 minimum pages: 512 KiB per command */
#define NVME_MDTS_BYTES (4096u << NVME_MDTS)
#define NVME_AERL 3 /* 0's based: four outstanding AERs */
#define NVME_ACL 3 /* 0's based abort command limit */
#define NVME_ELPE 3 /* 0's based: four error log entries */
#define NVME_MAX_EVENTS 8 /* queued asynchronous events */
#define NVME_SQES 6 /* 64-byte entries */
#define NVME_CQES 4 /* 16-byte entries */
#define NVME_VS 0x00010400u /* 1.4.0 */
/*
 * Host iovecs per command: every 4 KiB of a maximal transfer, plus the
 * unaligned head and tail (a translation splits no finer than 4 KiB).
 */
#define NVME_IOV_MAX (NVME_MDTS_BYTES / 4096 + 2)
/* PRP entries a maximal transfer needs, and list pages we follow. */
#define NVME_PRP_MAX (NVME_MDTS_BYTES / 4096 + 1)
#define NVME_PRP_LIST_PAGES_MAX 8
/* SGL descriptors read per command, segment pointers included. */
#define NVME_SGL_DESC_MAX 256

#define NVME_NSID 1
#define NVME_NSID_ALL 0xffffffffu

/* ---- status: SC | SCT << 8 | DNR (the 15-bit CQE status field) ---- */
#define SCT_GENERIC 0
#define SCT_CMD 1
#define SCT_MEDIA 2
#define ST(sct, sc) ((uint16_t)((sct) << 8 | (sc)))
#define DNR 0x4000
#define ST_OK 0
#define ST_INVALID_OPCODE (ST(SCT_GENERIC, 0x01) | DNR)
#define ST_INVALID_FIELD (ST(SCT_GENERIC, 0x02) | DNR)
#define ST_DATA_XFER_ERROR ST(SCT_GENERIC, 0x04)
#define ST_INTERNAL ST(SCT_GENERIC, 0x06)
#define ST_ABORT_REQ ST(SCT_GENERIC, 0x07)
#define ST_ABORT_SQ_DELETED ST(SCT_GENERIC, 0x08)
#define ST_INVALID_NS (ST(SCT_GENERIC, 0x0b) | DNR)
#define ST_CMD_SEQ_ERROR (ST(SCT_GENERIC, 0x0c) | DNR)
#define ST_SGL_SEG_INVALID (ST(SCT_GENERIC, 0x0d) | DNR)
#define ST_SGL_NUM_INVALID (ST(SCT_GENERIC, 0x0e) | DNR)
#define ST_SGL_DATA_LEN_INVALID (ST(SCT_GENERIC, 0x0f) | DNR)
#define ST_SGL_TYPE_INVALID (ST(SCT_GENERIC, 0x11) | DNR)
#define ST_PRP_OFFSET_INVALID (ST(SCT_GENERIC, 0x13) | DNR)
#define ST_NS_WRITE_PROTECTED (ST(SCT_GENERIC, 0x20) | DNR)
#define ST_LBA_RANGE (ST(SCT_GENERIC, 0x80) | DNR)
#define ST_CQ_INVALID (ST(SCT_CMD, 0x00) | DNR)
#define ST_INVALID_QID (ST(SCT_CMD, 0x01) | DNR)
#define ST_INVALID_QSIZE (ST(SCT_CMD, 0x02) | DNR)
#define ST_AER_LIMIT (ST(SCT_CMD, 0x05) | DNR)
#define ST_INVALID_VECTOR (ST(SCT_CMD, 0x08) | DNR)
#define ST_INVALID_LOG_PAGE (ST(SCT_CMD, 0x09) | DNR)
#define ST_INVALID_QUEUE_DELETION (ST(SCT_CMD, 0x0c) | DNR)
#define ST_FEAT_NOT_SAVEABLE (ST(SCT_CMD, 0x0d) | DNR)
#define ST_INVALID_CTRL_ID (ST(SCT_CMD, 0x1f) | DNR)
#define ST_WRITE_FAULT ST(SCT_MEDIA, 0x80)
#define ST_UNRECOVERED_READ ST(SCT_MEDIA, 0x81)
/* Not a status: the command went to the back-end and completes later. */
#define ST_PENDING 0xffff

/* ---- commands ---- */
enum {
	ADM_DELETE_SQ = 0x00,
	ADM_CREATE_SQ = 0x01,
	ADM_GET_LOG_PAGE = 0x02,
	ADM_DELETE_CQ = 0x04,
	ADM_CREATE_CQ = 0x05,
	ADM_IDENTIFY = 0x06,
	ADM_ABORT = 0x08,
	ADM_SET_FEATURES = 0x09,
	ADM_GET_FEATURES = 0x0a,
	ADM_AER = 0x0c,
	ADM_VIRT_MGMT = 0x1c,
	ADM_DBBUF_CONFIG = 0x7c,
};

enum {
	NVM_FLUSH = 0x00,
	NVM_WRITE = 0x01,
	NVM_READ = 0x02,
	NVM_WRITE_ZEROES = 0x08,
	NVM_DSM = 0x09,
};

/* Asynchronous event types (AET) and the log pages behind them. */
enum {
	AET_ERROR = 0,
	AET_SMART = 1,
	AET_NOTICE = 2,
};
#define AEI_ERR_INVALID_DB 0x00 /* write to an invalid doorbell register */
#define AEI_ERR_INVALID_DB_VALUE 0x01
#define AEI_SMART_TEMPERATURE 0x01
#define LID_ERROR 0x01
#define LID_SMART 0x02
#define LID_FW_SLOT 0x03

/* Features */
enum {
	FID_ARBITRATION = 0x01,
	FID_POWER_MGMT = 0x02,
	FID_TEMP_THRESH = 0x04,
	FID_VWC = 0x06,
	FID_NUM_QUEUES = 0x07,
	FID_IRQ_COALESCING = 0x08,
	FID_IRQ_VECTOR_CONF = 0x09,
	FID_WRITE_ATOMICITY = 0x0a,
	FID_ASYNC_EVENT_CONF = 0x0b,
};

/* Temperatures in kelvin. */
#define NVME_TEMPERATURE 313 /* what the sensor reads: 40 C */
#define NVME_WCTEMP 358
#define NVME_CCTEMP 368

/* A submission queue entry as read from guest memory (little endian). */
struct nvme_cmd {
	uint32_t cdw0; /* OPC 7:0, FUSE 9:8, PSDT 15:14, CID 31:16 */
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_ctrl;
struct nvme_sq;

/* One command, from fetch to completion; a slot of its SQ's pool. */
struct nvme_req {
	struct blk_req blk;
	struct nvme_ctrl *n;
	struct nvme_sq *sq;
	struct nvme_req *next; /* free list, or its CQ's held list */
	struct nvme_cmd cmd; /* the copy: never re-read from the queue */
	uint32_t gen; /* the controller generation it was fetched in */
	uint16_t cid;
	uint16_t status;
	uint32_t dw0;
	struct iovec *iov; /* NVME_IOV_MAX of the SQ's arena */
	unsigned int niov;
	enum dma_dir dir;
	uint64_t bytes; /* read/write: bytes transferred */
	bool flush_after; /* FUA, or a write with the cache disabled */
	bool in_use;
	/* Dataset Management: the ranges to deallocate, one at a time. */
	struct nvme_dsm_range *dsm;
	unsigned int dsm_n, dsm_i;
};

struct nvme_dsm_range {
	uint32_t attr;
	uint32_t nlb;
	uint64_t slba;
};

struct nvme_sq {
	uint16_t qid, cqid;
	uint32_t size;
	uint64_t base;
	uint16_t head, tail;
	struct nvme_req *reqs; /* size slots */
	struct iovec *iovs; /* NVME_IOV_MAX per slot, mmap()ed */
	struct nvme_req *free;
	unsigned int inflight; /* slots not free */
	/* More to fetch than slots or budget: resume on a completion. */
	bool stalled;
	/* Delete I/O SQ waiting for the commands still in flight. */
	bool deleting;
	/* sq_ioeventfd() asked for its doorbell (nvme_sq_ioev_sync()). */
	bool ioev;
	struct nvme_req *delete_req;
};

struct nvme_cq {
	uint16_t qid, vector;
	uint32_t size;
	uint64_t base;
	uint16_t head, tail;
	bool phase; /* the phase tag of the next entry posted */
	bool ien;
	unsigned int nr_sqs; /* SQs that complete here */
	/* Completions that found the queue full, oldest first. */
	struct nvme_req *held, **held_tail;
	bool irq_pending; /* posted since the last MSI(-X) message */
};

struct nvme_event {
	uint8_t type, info, lid;
};

struct nvme_error_entry {
	uint64_t count;
	uint16_t sqid, cid, status, loc;
	uint64_t lba;
	uint32_t nsid;
};

struct nvme_ctrl {
	pthread_mutex_t lock;
	char name[32];
	struct dma_space *dma;
	struct blk_backend *be;
	const struct nvme_irq_ops *irq;
	void *irq_opaque;
	enum nvme_irq_mode irq_mode;
	bool intx; /* the level last given to set_level */
	unsigned int nr_vectors;
	unsigned int max_ioq;

	/* Registers. */
	uint64_t cap;
	uint32_t intms, cc, csts, aqa;
	uint64_t asq, acq;
	uint32_t page_size; /* from CC.MPS at enable */

	/* Bumped by every controller reset: older commands touch nothing. */
	uint32_t gen;
	bool ready; /* enabled, not failed, not shut down: fetching */
	struct nvme_sq *sq[NVME_MAX_IOQ + 1];
	struct nvme_cq *cq[NVME_MAX_IOQ + 1];
	bool ioq_created; /* since reset: Number of Queues is fixed */

	/* Features (current values; reset to defaults by a controller reset). */
	uint32_t nsqa, ncqa; /* 0's based, as granted */
	uint32_t arbitration, power_mgmt, irq_coalescing, write_atomicity;
	uint32_t aec;
	uint16_t temp_over, temp_under;
	uint32_t ivc[NVME_MAX_IOQ + 1]; /* Interrupt Vector Configuration */
	bool wce;

	/* Namespace 1: the back-end. */
	uint64_t nsze; /* logical blocks */
	uint64_t ns_off; /* bytes: where LBA 0 is in the back-end */
	uint16_t cntlid;
	unsigned int nr_secondary; /* SR-IOV VFs of a primary controller */
	struct nvme_ctrl *(*secondary)(void *opaque, unsigned int k);
	void *secondary_opaque;
	bool offline; /* a secondary taken offline by its primary */
	unsigned int lbads; /* log2 of the block size */
	bool readonly, discard, write_zeroes;

	/* Identify strings, space padded. */
	uint16_t vid, ssvid;
	char sn[20], mn[40], fr[8];
	uint8_t nguid[16], uuid[16];

	/* Asynchronous events. */
	struct nvme_req *aer[NVME_AERL + 1];
	unsigned int nr_aer;
	struct nvme_event events[NVME_MAX_EVENTS];
	unsigned int nr_events;
	uint8_t aen_masked; /* per AET: reported, log page not read yet */
	uint8_t crit_warning; /* SMART critical warning bits */

	/* Error log: a ring of the latest NVME_ELPE + 1 errors. */
	struct nvme_error_entry errors[NVME_ELPE + 1];
	uint64_t error_count;

	/* SMART counters. */
	uint64_t bytes_read, bytes_written, read_cmds, write_cmds;
	uint64_t created_ns;

	/* Doorbell Buffer Config: shadow doorbells and event indexes. */
	bool dbbuf;
	uint64_t dbbuf_dbs, dbbuf_eis;
};

/* regs.c */
void nvme_req_complete(struct nvme_ctrl *n, struct nvme_req *req,
		       uint16_t status);
void nvme_req_release(struct nvme_ctrl *n, struct nvme_req *req);
void nvme_fatal(struct nvme_ctrl *n, const char *why);
void nvme_post_event(struct nvme_ctrl *n, uint8_t type, uint8_t info,
		     uint8_t lid);
void nvme_aer_deliver(struct nvme_ctrl *n);
struct nvme_sq *nvme_sq_create(struct nvme_ctrl *n, uint16_t qid, uint16_t cqid,
			       uint32_t size, uint64_t base);
struct nvme_cq *nvme_cq_create(struct nvme_ctrl *n, uint16_t qid,
			       uint16_t vector, uint32_t size, uint64_t base,
			       bool ien);
void nvme_sq_free(struct nvme_ctrl *n, struct nvme_sq *sq);
void nvme_cq_free(struct nvme_ctrl *n, struct nvme_cq *cq);
void nvme_sq_start_delete(struct nvme_ctrl *n, struct nvme_sq *sq,
			  struct nvme_req *req);
/* Ask for doorbell ioeventfds on the I/O SQs that should have one. */
void nvme_sq_ioev_sync(struct nvme_ctrl *n);
void nvme_features_reset(struct nvme_ctrl *n);
void nvme_check_temperature(struct nvme_ctrl *n);

/* admin.c */
uint16_t nvme_admin_exec(struct nvme_ctrl *n, struct nvme_req *req);

/* io.c */
uint16_t nvme_io_exec(struct nvme_ctrl *n, struct nvme_req *req);

/* prp.c */
/*
 * Maps the PRP data pointer of @cmd for @len bytes into @req->iov; returns
 * a status. On success the caller releases with nvme_unmap().
 */
uint16_t nvme_map_prp(struct nvme_ctrl *n, struct nvme_req *req, uint64_t prp1,
		      uint64_t prp2, uint64_t len, enum dma_dir dir);
/*
 * The same for an SGL whose first descriptor is DPTR (PSDT 01b): data
 * block descriptors, segments and last segments, no bit buckets.
 */
uint16_t nvme_map_sgl(struct nvme_ctrl *n, struct nvme_req *req, uint64_t len,
		      enum dma_dir dir);
/* The command's data pointer, PRP or SGL as its PSDT says. */
uint16_t nvme_map_data(struct nvme_ctrl *n, struct nvme_req *req, uint64_t len,
		       enum dma_dir dir);
void nvme_unmap(struct nvme_ctrl *n, struct nvme_req *req, size_t written);
/* Copy @len bytes between @buf and the command's data pointer. */
uint16_t nvme_data_out(struct nvme_ctrl *n, struct nvme_req *req,
		       const void *buf, uint64_t len);
uint16_t nvme_data_in(struct nvme_ctrl *n, struct nvme_req *req, void *buf,
		      uint64_t len);

static inline uint16_t nvme_cmd_opc(const struct nvme_cmd *c)
{
	return c->cdw0 & 0xff;
}

static inline unsigned int nvme_cmd_fuse(const struct nvme_cmd *c)
{
	return (c->cdw0 >> 8) & 3;
}

static inline unsigned int nvme_cmd_psdt(const struct nvme_cmd *c)
{
	return (c->cdw0 >> 14) & 3;
}

static inline void nvme_put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif
