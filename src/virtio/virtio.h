/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_VIRTIO_VIRTIO_H
#define DEVISOR_VIRTIO_VIRTIO_H

/*
 * The contract between a virtio device model (blk, net, console, rng) and
 * a transport (virtio-pci, virtio-mmio), after Firecracker's VirtioDevice
 * and Cloud Hypervisor's split: the device embeds a struct virtio_dev and
 * knows nothing of PCI or MMIO registers; the transport decodes registers
 * into the virtio_dev_* calls below and delivers interrupts. The core here
 * owns what the spec defines once for all transports: feature negotiation,
 * the device status state machine (spec 2.1, 3.1), the configuration
 * generation, queue setup, kick dispatch on an I/O thread and the
 * DEVICE_NEEDS_RESET path. docs/virtio.md has the whole picture.
 *
 * Locking: vdev->lock (a plain mutex) serialises everything about one
 * device: transport register accesses, kicks, device ops, device-side
 * calls from other threads (virtio_dev_lock()). Every device op runs with
 * it held; so must every virtio_dev_* call below unless it says otherwise.
 * Under it a device may push buffers and raise interrupts (MSI-X, INTx,
 * irqfd), but must not block for long, must not take a PCI function's
 * lock, and must not call evloop_add/evloop_del (the I/O thread may be
 * waiting for vdev->lock inside a callback).
 */

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/evloop.h"
#include "virtio/queue.h"

struct guest_mem;
struct virtio_dev;

/* Status bits not in every uapi header we may meet. */
#ifndef VIRTIO_CONFIG_S_NEEDS_RESET
#define VIRTIO_CONFIG_S_NEEDS_RESET 0x40
#endif
#ifndef VIRTIO_F_ACCESS_PLATFORM
#define VIRTIO_F_ACCESS_PLATFORM 33 /* VIRTIO_F_IOMMU_PLATFORM before 4.19 */
#endif

/* Offered by the core for every device; VERSION_1 is also required. */
#define VIRTIO_CORE_FEATURES                                            \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTQ_F_RING_PACKED) | \
	 (1ull << VIRTQ_F_EVENT_IDX) | (1ull << VIRTQ_F_INDIRECT_DESC))

/* Queues per device; the PCI notify area and MSI-X table are sized by it. */
#define VIRTIO_MAX_QUEUES 1024u

/*
 * What a device model provides. All ops run with vdev->lock held; any may
 * be NULL.
 */
struct virtio_dev_ops {
	/*
	 * Device configuration space: @off and @len (1..8) lie inside
	 * [0, vdev->config_len). Without config_read, bytes come from
	 * vdev->config; without config_write, writes are ignored.
	 */
	void (*config_read)(struct virtio_dev *vdev, uint32_t off, void *data,
			    unsigned int len);
	void (*config_write)(struct virtio_dev *vdev, uint32_t off,
			     const void *data, unsigned int len);
	/*
	 * FEATURES_OK with @features (a subset of what was offered, with
	 * VERSION_1): false refuses the combination.
	 */
	bool (*features_ok)(struct virtio_dev *vdev, uint64_t features);
	/*
	 * DRIVER_OK: the driver is ready and the enabled queues are live.
	 * Runs on the vCPU thread that wrote the status: set up, do no queue
	 * I/O. An error marks the device DEVICE_NEEDS_RESET. Afterwards the
	 * core kicks every enabled queue once, so queue_notify picks up
	 * buffers made available before DRIVER_OK.
	 */
	int (*activate)(struct virtio_dev *vdev);
	/*
	 * Device reset (status 0, or the VM's reset): drop device-specific
	 * runtime state. The core resets queues, features and status.
	 */
	void (*reset)(struct virtio_dev *vdev);
	/*
	 * virtio-mmio QueueReady = 0 on queue @q, before the core resets its
	 * ring: forget the ring's buffers. Return true while requests popped
	 * from it may still write guest memory (disk reads in flight): the
	 * queue then reads as ready until virtio_dev_queue_disable_done(),
	 * since the driver takes its buffers back once it reads 0 (spec
	 * 4.2.2.2). Optional.
	 */
	bool (*queue_disable)(struct virtio_dev *vdev, unsigned int q);
	/*
	 * A kick of queue @q, on the I/O thread, only while the device is
	 * running (DRIVER_OK, not failed) and @q is enabled; also the I/O
	 * thread's poll finding buffers (virtio_dev_set_poll()). Process the
	 * queue, then virtio_dev_notify_queue(); on a negative virtq_pop()
	 * call virtio_dev_fail() and return. While virtio_dev_polling(),
	 * leave the queue's kicks off when it is drained: the poll's end
	 * turns them on.
	 */
	void (*queue_notify)(struct virtio_dev *vdev, unsigned int q);
	/*
	 * Polling (virtio_dev_set_poll()): may the I/O thread poll queue @q
	 * now? A queue waiting on its back-end (blocked, full) answers no:
	 * its kicks stay as they are and a back-end event restarts it.
	 * Asked only of running, enabled queues.
	 */
	bool (*queue_pollable)(struct virtio_dev *vdev, unsigned int q);
	/* Polling: work besides the rings (back-end completions); true if
	 * there was some. Optional. */
	bool (*poll)(struct virtio_dev *vdev);
	/*
	 * Teardown, first half: remove the device's own event sources
	 * (back-end fds, completion eventfds) from the I/O thread. No lock
	 * held; kicks are already unbound; afterwards no device callback
	 * runs, so the core may destroy vdev->lock.
	 */
	void (*stop)(struct virtio_dev *vdev);
	/* Frees the device model; no lock held, nothing runs any more. */
	void (*destroy)(struct virtio_dev *vdev);
	/*
	 * Optional: the device's counters for vm.counters, each through
	 * @fn, under the device lock (Cloud Hypervisor's names).
	 */
	void (*counters)(struct virtio_dev *vdev,
			 void (*fn)(void *arg, const char *name,
				    uint64_t value),
			 void *arg);
};

/* What a transport provides to the core. Called with vdev->lock held. */
struct virtio_transport_ops {
	/* Raise the used buffer notification of queue @q. */
	void (*notify_queue)(struct virtio_dev *vdev, unsigned int q);
	/* Raise the configuration change notification. */
	void (*notify_config)(struct virtio_dev *vdev);
	/* Device reset: transport state (ISR, vectors, selectors). */
	void (*reset)(struct virtio_dev *vdev);
	/*
	 * Optional: an eventfd whose write raises queue @q's interrupt in
	 * the kernel (an irqfd), for a back-end in the kernel (vhost) to
	 * signal itself; -1 when the interrupt needs the transport's help
	 * (an ISR or interrupt status to set, no vector).
	 */
	int (*queue_irqfd)(struct virtio_dev *vdev, unsigned int q);
	/*
	 * Optional: the device changed what its registers read (status,
	 * queue readiness, configuration space) other than through a
	 * register write of the transport's own, for a transport that keeps
	 * a copy the guest reads directly (virtio-mmio's). Device lock held.
	 */
	void (*sync)(struct virtio_dev *vdev);
};

/* One kick source: an eventfd on the I/O thread (ioeventfd target). */
struct virtio_kick {
	struct virtio_dev *vdev;
	unsigned int q;
	int fd;
};

struct virtio_dev {
	/* Set by the device model (virtio_dev_init()). */
	const char *name;
	uint32_t device_id; /* VIRTIO_ID_* */
	const struct virtio_dev_ops *ops;
	uint64_t device_features; /* device-specific bits offered */
	struct virtqueue *vqs;
	unsigned int nr_queues;
	uint16_t queue_max_size; /* same for every queue */
	/*
	 * The device's DMA address space (kvm/dma.h): every access to guest
	 * memory, rings and buffers, goes through it. Identity over guest
	 * RAM unless the platform puts an IOMMU in front of the device
	 * (virtio_dev_translate_dma()).
	 */
	struct dma_space dma;
	/* Behind an IOMMU: VIRTIO_F_ACCESS_PLATFORM offered and required. */
	bool access_platform;
	/*
	 * The IOMMU itself (virtio-iommu): its own DMA is not translated,
	 * so the transport leaves it the identity space.
	 */
	bool is_iommu;
	/* VIRTIO_CORE_FEATURES bits the device cannot do (vhost: packed). */
	uint64_t core_features_off;
	/*
	 * Queues served in the host kernel (vhost): their kick eventfds are
	 * made and bound to ioeventfds as always, but never polled by the
	 * I/O loop; the device hands them to the kernel. Set before binding.
	 */
	uint64_t kernel_queues;
	void *config; /* device config space, if no config_read */
	uint32_t config_len;

	pthread_mutex_t lock;

	/* Core state, under lock. */
	uint64_t driver_features; /* as written, until FEATURES_OK */
	uint64_t features; /* negotiated; valid once FEATURES_OK is set */
	uint8_t status;
	uint32_t config_generation;
	bool fail_warned; /* one warning per device lifetime */
	/* Non-zero: what the status reads as until a reset completes. */
	uint8_t reset_status;
	/* Queues disabled with requests still draining (ops->queue_disable). */
	unsigned int draining_queues;
	bool *queue_draining; /* nr_queues of them, NULL until the first */

	/* Transport binding (virtio_dev_bind()). */
	const struct virtio_transport_ops *tops;
	void *transport;
	struct evloop *loop;
	/*
	 * An I/O thread the device has to itself (--disk iothread=on), or
	 * NULL: its kicks, back-end and transport run there instead of on
	 * the board's (virtio_dev_io()); stopped after the device is gone.
	 */
	struct evloop *own_loop;
	struct virtio_kick *kicks; /* nr_queues of them */

	/* The I/O thread's poll (virtio_dev_set_poll()); @polling under lock. */
	struct evloop_poller poller;
	struct evloop *poll_loop;
	bool polling;

	/* Batching of a deep queue's kicks (virtio_dev_set_batch()). */
	struct evloop_timer batch_timer;
	uint64_t batch_max_ns; /* 0: off */
	uint64_t batch_gap_ns; /* between looks: twice the driver's pace */
	/* Under lock: */
	uint64_t batch_held; /* queues whose kick waits */
	uint64_t batch_start; /* the first held kick */
	uint64_t batch_last; /* the last look that found more */
	uint32_t batch_more; /* requests posted during the hold */
	uint16_t batch_seen[64]; /* per queue: posted, unpopped, last look */
};

/* Device side ------------------------------------------------------------ */

/*
 * Fills in @vdev and initialises its lock and @nr_queues queues @vqs (the
 * device owns the array) of at most @queue_max_size entries over @mem.
 * Returns 0 or -EINVAL.
 */
int virtio_dev_init(struct virtio_dev *vdev, const char *name,
		    uint32_t device_id, const struct virtio_dev_ops *ops,
		    struct virtqueue *vqs, unsigned int nr_queues,
		    uint16_t queue_max_size, const struct guest_mem *mem);

/* ops->counters, if the device has any, under the device lock. */
void virtio_dev_counters(struct virtio_dev *vdev,
			 void (*fn)(void *arg, const char *name,
				    uint64_t value),
			 void *arg);

/* For callers outside the device ops (an input thread, a timer). */
void virtio_dev_lock(struct virtio_dev *vdev);
void virtio_dev_unlock(struct virtio_dev *vdev);

/* DRIVER_OK set, and neither DEVICE_NEEDS_RESET nor FAILED. */
bool virtio_dev_running(const struct virtio_dev *vdev);
/*
 * Lets the I/O thread @loop poll the device for up to @max_ns after each
 * pass (evloop_add_poller()): while it polls, the pollable queues
 * (ops->queue_pollable) run with kicks off and ops->poll looks for the
 * back-end's work, so a driver that queues meanwhile makes no exit. Before
 * binding, once; @max_ns 0 does nothing. virtio_dev_destroy() removes it.
 */
void virtio_dev_set_poll(struct virtio_dev *vdev, struct evloop *loop,
			 uint64_t max_ns);
/*
 * Batches the kicks of a queue the driver keeps deep (at least
 * VIRTIO_BATCH_DEPTH requests outstanding by its used-event index, so
 * EVENT_IDX only): the kick is held, the queue's kicks off, while the
 * driver goes on posting, and served once a look finds nothing new or
 * @max_ns after the kick. Looks come at twice the pace the driver posted
 * at last time. Shallow queues are served at once. Call once, from the
 * device's setup (before the driver runs); @max_ns 0 does nothing. Queues
 * from 64 on are served at once. docs/virtio.md has the why.
 */
#define VIRTIO_BATCH_DEPTH 8
void virtio_dev_set_batch(struct virtio_dev *vdev, uint64_t max_ns);
/* Inside the I/O thread's poll: a drained queue keeps its kicks off. */
static inline bool virtio_dev_polling(const struct virtio_dev *vdev)
{
	return vdev->polling;
}
/* A negotiated feature bit. */
bool virtio_dev_has_feature(const struct virtio_dev *vdev, unsigned int bit);

/*
 * After pushing used buffers to queue @q: raise its interrupt through the
 * transport if the driver wants one (virtq_should_notify()).
 */
void virtio_dev_notify_queue(struct virtio_dev *vdev, unsigned int q);

/*
 * A guest protocol violation (@err: -VIRTQ_E_* or -errno, @what: where):
 * set DEVICE_NEEDS_RESET, send a configuration change notification if the
 * driver is up, log one warning per device lifetime, and stop processing
 * the device's queues until the driver resets it.
 */
void virtio_dev_fail(struct virtio_dev *vdev, int err, const char *what);

/*
 * The device changed its configuration space: bump the generation and
 * notify the driver (once DRIVER_OK is set).
 */
void virtio_dev_config_changed(struct virtio_dev *vdev);
/*
 * The device changed what its registers read (status, queue readiness,
 * configuration space) other than through the transport: tells a
 * transport that mirrors them (ops' sync). The core calls it itself for
 * failures, configuration changes and finished resets and drains; a
 * device calls it for a configuration field it changes without telling
 * the driver (one the driver did not negotiate). Device lock held.
 */
void virtio_dev_state_changed(struct virtio_dev *vdev);

/*
 * From ops->reset, when the device still has work that may write guest
 * memory (disk reads in flight): the core resets as always, but the status
 * reads as before the reset rather than 0 until virtio_dev_reset_done(),
 * since a driver reclaims its buffers only once it reads 0 (spec 2.4.2,
 * 4.1.4.3.2). A driver that writes the status meanwhile reads what it
 * wrote.
 */
void virtio_dev_reset_later(struct virtio_dev *vdev);
void virtio_dev_reset_done(struct virtio_dev *vdev);
/* The last request of a queue ops->queue_disable held back is done. */
void virtio_dev_queue_disable_done(struct virtio_dev *vdev, unsigned int q);

/* No lock: frees the device through ops->destroy (after unbinding). */
void virtio_dev_destroy(struct virtio_dev *vdev);

/* Transport side ---------------------------------------------------------- */

/*
 * Attach @vdev to a transport: creates one non-blocking kick eventfd per
 * queue and adds them to @loop, whose callback drains the eventfd and calls
 * ops->queue_notify. No lock. Returns 0 or -errno. A device is bound once.
 */
/* The loop @vdev runs on: its own, else @board_io, the board's. */
static inline struct evloop *virtio_dev_io(const struct virtio_dev *vdev,
					   struct evloop *board_io)
{
	return vdev->own_loop ? vdev->own_loop : board_io;
}

int virtio_dev_bind(struct virtio_dev *vdev,
		    const struct virtio_transport_ops *tops, void *transport,
		    struct evloop *loop);
/*
 * Before the driver can see the device: its DMA goes through a translating
 * space (an IOMMU's) that @init builds in place of the identity one. The
 * device then offers VIRTIO_F_ACCESS_PLATFORM and refuses FEATURES_OK to
 * a driver that does not accept it, since such a driver would hand it
 * guest physical addresses (spec 6.1; QEMU refuses too). On error (@init's,
 * returned) the identity space is back. No lock.
 */
int virtio_dev_translate_dma(struct virtio_dev *vdev,
			     int (*init)(void *arg, struct dma_space *as),
			     void *arg);

/* Removes the kick eventfds from the loop and closes them. No lock. */
void virtio_dev_unbind(struct virtio_dev *vdev);

/*
 * The transport's irqfd for queue @q (transport ops' queue_irqfd), or -1:
 * the device must then raise the interrupt through
 * vdev->tops->notify_queue. Under the device lock, once DRIVER_OK is set.
 */
int virtio_dev_queue_irqfd(struct virtio_dev *vdev, unsigned int q);

/* Eventfd that kicks queue @q, for the transport's ioeventfd; -1 if none. */
int virtio_dev_kick_fd(const struct virtio_dev *vdev, unsigned int q);
/*
 * A queue notification that reached the transport's register handler (no
 * ioeventfd, or an access it does not match): signal the same eventfd, so
 * the I/O thread runs the device either way. Any thread, no lock.
 */
void virtio_dev_kick(struct virtio_dev *vdev, unsigned int q);
/*
 * The transport could not bind the kicks to ioeventfds (@err from
 * vm_ioeventfd*()): they take virtio_dev_kick()'s path. Warns, unless
 * there is no KVM to bind them in (-ENODEV: unit tests, fuzzers).
 */
void virtio_dev_no_ioeventfd(const struct virtio_dev *vdev, int err);
/*
 * The request loop of a device whose every chain is served at once: pop,
 * handle (it returns the bytes it wrote into the chain, or -errno for a
 * request that breaks the device), push, until the ring stays empty with
 * notifications back on, or budget chains are used (then the rest waits
 * for the queue's own kick, so that one busy ring cannot hold the I/O
 * thread from the other devices). A ring violation or a handler's error
 * marks the device broken (@what names the queue in the one message).
 * Then the driver is notified if it asked to be.
 */
void virtio_dev_serve_queue(struct virtio_dev *vdev, unsigned int q,
			    struct virtq_chain *c, unsigned int budget,
			    int64_t (*handle)(struct virtio_dev *vdev,
					      struct virtq_chain *c),
			    const char *what);

/* Feature words: @sel 0 is bits 0..31, 1 is 32..63, others read 0. */
uint32_t virtio_dev_device_features(const struct virtio_dev *vdev,
				    uint32_t sel);
uint32_t virtio_dev_driver_features(const struct virtio_dev *vdev,
				    uint32_t sel);
/* Ignored once FEATURES_OK is set, and for @sel > 1. */
void virtio_dev_set_driver_features(struct virtio_dev *vdev, uint32_t sel,
				    uint32_t val);

uint8_t virtio_dev_status(const struct virtio_dev *vdev);
/*
 * A driver write of the device status: 0 resets the device (queues,
 * features, transport state). Otherwise bits only accumulate in order
 * ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK; FEATURES_OK stays clear if
 * the driver asked for bits not offered, omitted VERSION_1 or the device
 * refused; DRIVER_OK needs FEATURES_OK and activates the device.
 * DEVICE_NEEDS_RESET cannot be written.
 */
void virtio_dev_set_status(struct virtio_dev *vdev, uint8_t val);
/* Full device reset, as by a status write of 0. */
void virtio_dev_reset(struct virtio_dev *vdev);

/* Device configuration space, any width 1..8; outside it reads 0. */
uint64_t virtio_dev_config_read(struct virtio_dev *vdev, uint32_t off,
				unsigned int size);
void virtio_dev_config_write(struct virtio_dev *vdev, uint32_t off,
			     uint64_t val, unsigned int size);

/*
 * Queue @q, or NULL when @q does not exist: the transport then reads the
 * queue as absent (size 0) and ignores writes.
 */
struct virtqueue *virtio_dev_queue(struct virtio_dev *vdev, unsigned int q);
/*
 * Driver-written queue configuration; ignored while the queue is enabled.
 * A split ring size that is not a power of two is recorded as 0 (invalid).
 */
void virtio_dev_queue_set_size(struct virtio_dev *vdev, unsigned int q,
			       uint32_t size);
void virtio_dev_queue_set_addr(struct virtio_dev *vdev, unsigned int q,
			       unsigned int which, uint64_t gpa);
#define VIRTIO_QUEUE_DESC 0
#define VIRTIO_QUEUE_DRIVER 1
#define VIRTIO_QUEUE_DEVICE 2
/* Address as last written, for transports that read it back. */
uint64_t virtio_dev_queue_addr(struct virtio_dev *vdev, unsigned int q,
			       unsigned int which);
/*
 * Enable queue @q. Ignored before FEATURES_OK; a queue whose size or rings
 * are invalid stays disabled and marks the device DEVICE_NEEDS_RESET.
 */
void virtio_dev_queue_enable(struct virtio_dev *vdev, unsigned int q);
/*
 * virtio-mmio QueueReady = 0: the queue stops and forgets its setup; it
 * reads as ready until the device has no request of it left that may
 * write guest memory (ops->queue_disable).
 */
void virtio_dev_queue_disable(struct virtio_dev *vdev, unsigned int q);
/* Enabled, or disabled with requests still draining. */
bool virtio_dev_queue_ready(struct virtio_dev *vdev, unsigned int q);

#endif
