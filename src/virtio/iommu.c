// SPDX-License-Identifier: GPL-2.0
#include "virtio/iommu.h"

#include <stdlib.h>
#include <string.h>

#include "bus/device.h"
#include "iommu/viommu.h"
#include "kvm/vm.h"
#include "util/log.h"
#include "virtio/virtio.h"

#define REQQ 0
#define EVENTQ 1
#define QUEUE_SIZE 256
/* Requests per notification before yielding the I/O thread (as rng). */
#define BUDGET (QUEUE_SIZE / 2)

struct virtio_iommu {
	struct virtio_dev vdev;
	struct virtqueue vqs[2];
	struct virtq_seg segs[QUEUE_SIZE];
	struct viommu *v;
};

static struct virtio_iommu *to_vi(struct virtio_dev *vdev)
{
	return (struct virtio_iommu *)vdev;
}

/* One request; returns the bytes of its response (0: dropped). */
static int64_t request(struct virtio_dev *vdev, struct virtq_chain *c)
{
	struct virtio_iommu *vi = to_vi(vdev);
	uint8_t req[VIOMMU_REQ_MAX] = { 0 }, out[VIOMMU_RESP_MAX];
	size_t rn = c->readable < sizeof(req) ? c->readable : sizeof(req);
	size_t len = 0;

	if (virtq_chain_read(&vdev->dma, c, 0, req, rn) == 0)
		len = viommu_request(vi->v, req, c->readable, c->writable, out);
	if (!len)
		pr_warn_ratelimited("%s: request without room for its status "
				    "dropped",
				    vdev->name);
	else if (virtq_chain_write(&vdev->dma, c, c->writable - len, out, len))
		len = 0;
	return len;
}

static void requests(struct virtio_iommu *vi)
{
	struct virtq_chain c = VIRTQ_CHAIN_INIT(vi->segs);

	virtio_dev_serve_queue(&vi->vdev, REQQ, &c, BUDGET, request,
			       "request queue");
}

/* Queued faults into the driver's event buffers, while both last. */
static void events(struct virtio_iommu *vi)
{
	struct virtio_dev *vdev = &vi->vdev;
	struct virtqueue *vq = &vi->vqs[EVENTQ];
	struct virtq_chain c = VIRTQ_CHAIN_INIT(vi->segs);
	struct viommu_fault f;
	uint64_t lost = viommu_take_lost(vi->v);
	bool pushed = false;
	int r;

	if (lost)
		pr_warn_ratelimited("%s: %llu faults dropped (no event buffer)",
				    vdev->name, (unsigned long long)lost);
	while (!virtq_empty(vq)) {
		if (!viommu_take_fault(vi->v, &f))
			break;
		r = virtq_pop(vq, &c);
		if (r < 0) {
			virtio_dev_fail(vdev, r, "event queue");
			return;
		}
		if (!r)
			break;
		if (c.writable < sizeof(f) ||
		    virtq_chain_write(&vdev->dma, &c, 0, &f, sizeof(f))) {
			pr_warn_ratelimited("%s: event buffer too small or "
					    "not writable; fault dropped",
					    vdev->name);
			virtq_push(vq, &c, 0);
		} else {
			virtq_push(vq, &c, sizeof(f));
		}
		pushed = true;
	}
	if (pushed)
		virtio_dev_notify_queue(vdev, EVENTQ);
}

static void vi_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	if (q == REQQ)
		requests(to_vi(vdev));
	else
		events(to_vi(vdev));
}

static void vi_config_read(struct virtio_dev *vdev, uint32_t off, void *data,
			   unsigned int len)
{
	struct viommu_config c;

	viommu_get_config(to_vi(vdev)->v, &c);
	memcpy(data, (uint8_t *)&c + off, len);
}

static void vi_config_write(struct virtio_dev *vdev, uint32_t off,
			    const void *data, unsigned int len)
{
	const uint32_t at = offsetof(struct viommu_config, bypass);

	/* Only bypass is writable; viommu_set_bypass() checks the feature. */
	if (off <= at && at < off + len)
		viommu_set_bypass(to_vi(vdev)->v,
				  ((const uint8_t *)data)[at - off]);
}

static bool vi_features_ok(struct virtio_dev *vdev, uint64_t features)
{
	viommu_set_features(to_vi(vdev)->v, features);
	return true;
}

static void vi_reset(struct virtio_dev *vdev)
{
	viommu_reset(to_vi(vdev)->v);
}

/* Kicks are gone: no more fault notices to this device. */
static void vi_stop(struct virtio_dev *vdev)
{
	viommu_set_notify(to_vi(vdev)->v, NULL, NULL);
}

static void vi_destroy(struct virtio_dev *vdev)
{
	free(to_vi(vdev));
}

static const struct virtio_dev_ops vi_ops = {
	.config_read = vi_config_read,
	.config_write = vi_config_write,
	.features_ok = vi_features_ok,
	.reset = vi_reset,
	.queue_notify = vi_queue_notify,
	.stop = vi_stop,
	.destroy = vi_destroy,
};

/* Any thread, under the model's lock: the I/O thread drains the faults. */
static void vi_fault(void *opaque)
{
	virtio_dev_kick(opaque, EVENTQ);
}

struct virtio_dev *virtio_iommu_create(struct vm *vm, struct viommu *v)
{
	struct virtio_iommu *vi = calloc(1, sizeof(*vi));

	if (!vi)
		return NULL;
	if (virtio_dev_init(&vi->vdev, "virtio-iommu", VIRTIO_ID_IOMMU, &vi_ops,
			    vi->vqs, 2, QUEUE_SIZE, &vm->mem)) {
		free(vi);
		return NULL;
	}
	vi->v = v;
	vi->vdev.device_features = VIOMMU_FEATURES;
	vi->vdev.config_len = sizeof(struct viommu_config);
	vi->vdev.is_iommu = true;
	viommu_set_notify(v, vi_fault, &vi->vdev);
	return &vi->vdev;
}

struct viommu_vm {
	struct device dev;
	struct viommu *v;
	struct vm *vm;
	struct ram_watch ram; /* plugged RAM reaches bypassing endpoints */
};

static void vv_destroy(struct device *dev)
{
	struct viommu_vm *vv = (struct viommu_vm *)dev;

	vm_ram_unlisten(vv->vm, &vv->ram.l);
	viommu_destroy(vv->v);
	free(vv);
}

struct viommu *virtio_iommu_model_create(struct vm *vm,
					 const struct viommu_params *p)
{
	struct viommu_vm *vv = calloc(1, sizeof(*vv));

	if (vv)
		vv->v = viommu_create(&vm->mem, p);
	if (!vv || !vv->v) {
		pr_err("virtio-iommu: out of memory");
		free(vv);
		return NULL;
	}
	/* The virtio device resets the model; this only frees it, last. */
	vv->dev = (struct device){ .name = "virtio-iommu model",
				   .kind = DEV_PLATFORM,
				   .destroy = vv_destroy };
	device_register(vm, &vv->dev);
	vv->vm = vm;
	vm_ram_watch(vm, &vv->ram, viommu_ram_changed, vv->v);
	return vv->v;
}

int virtio_iommu_pci_dma_init(void *viommu, struct dma_space *as, uint16_t sid)
{
	return viommu_dma_space_init(as, viommu, sid);
}
