// SPDX-License-Identifier: GPL-2.0
/*
 * The control API's request layer: routing, validation, JSON in and out.
 * See api.h; the endpoints and their statuses follow Cloud Hypervisor's
 * OpenAPI description.
 */
#include "api/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#ifdef HAVE_LIBCJSON
#include <cjson/cJSON.h>

#include "backend/net.h"
#include "virtio/net.h"
#include "version.h"

#define API_PREFIX "/api/v1/"

struct api_counters {
	cJSON *root;
};

void api_counter(struct api_counters *c, const char *dev, const char *name,
		 uint64_t value)
{
	cJSON *d = cJSON_GetObjectItemCaseSensitive(c->root, dev);

	if (!d)
		d = cJSON_AddObjectToObject(c->root, dev);
	if (d)
		cJSON_AddNumberToObject(d, name, (double)value);
}

static void respond_json(struct api_response *r, unsigned int status,
			 cJSON *json)
{
	r->status = status;
	r->body = json ? cJSON_PrintUnformatted(json) : NULL;
	cJSON_Delete(json);
	if (json && !r->body)
		r->status = 500; /* out of memory; no body */
}

static void __attribute__((format(printf, 3, 4)))
respond_error(struct api_response *r, unsigned int status, const char *fmt, ...)
{
	char msg[API_ERR_LEN + 64];
	cJSON *o = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o)
		cJSON_AddStringToObject(o, "error", msg);
	respond_json(r, status, o);
	r->status = status;
}

/* An action's status: 2xx with no body, or the error it gave. */
static void respond_status(struct api_response *r, int status, const char *err)
{
	if (status >= 200 && status < 300) {
		r->status = status;
		r->body = NULL;
	} else {
		respond_error(r, status, "%s", err[0] ? err : "failed");
	}
}

static const char *state_name(enum api_vm_state s)
{
	switch (s) {
	case API_VM_CREATED:
		return "Created";
	case API_VM_RUNNING:
		return "Running";
	case API_VM_PAUSED:
		return "Paused";
	case API_VM_SHUTDOWN:
	default:
		return "Shutdown";
	}
}

static void fmt_mac(char *out, const uint8_t *mac)
{
	sprintf(out, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		mac[3], mac[4], mac[5]);
}

/* A device's rate_limiter_config, as Cloud Hypervisor's vm.info has it. */
static void add_limiter(cJSON *o, const struct rate_limit_config *rl)
{
	const struct token_bucket_config *bs[2] = { &rl->bw, &rl->ops };
	static const char *const names[2] = { "bandwidth", "ops" };
	cJSON *l = cJSON_AddObjectToObject(o, "rate_limiter_config");

	for (unsigned int i = 0; i < 2; i++) {
		cJSON *b;

		if (!bs[i]->size)
			continue;
		b = cJSON_AddObjectToObject(l, names[i]);
		cJSON_AddNumberToObject(b, "size", (double)bs[i]->size);
		cJSON_AddNumberToObject(b, "one_time_burst",
					(double)bs[i]->one_time_burst);
		cJSON_AddNumberToObject(b, "refill_time",
					(double)bs[i]->refill_ms);
	}
}

/* VmConfig, for what devisor has of it. */
static cJSON *vm_config_json(const struct vm_config *cfg)
{
	cJSON *c = cJSON_CreateObject(), *o, *a;
	char buf[32];

	if (!c)
		return NULL;
	o = cJSON_AddObjectToObject(c, "cpus");
	cJSON_AddNumberToObject(o, "boot_vcpus", cfg->nr_cpus);
	cJSON_AddNumberToObject(o, "max_vcpus",
				cfg->max_cpus > cfg->nr_cpus ? cfg->max_cpus :
							       cfg->nr_cpus);
	o = cJSON_AddObjectToObject(c, "memory");
	cJSON_AddNumberToObject(o, "size", (double)cfg->ram_size);
	cJSON_AddBoolToObject(o, "shared", cfg->ram_shared);
	if (cfg->hotplug_size) {
		cJSON_AddNumberToObject(o, "hotplug_size",
					(double)cfg->hotplug_size);
		cJSON_AddNumberToObject(
			o, "hotplugged_size",
			(double)(cfg->hotplug_virtio_mem ?
					 cfg->virtio_mem_requested :
					 cfg->ram_plugged));
		cJSON_AddStringToObject(o, "hotplug_method",
					cfg->hotplug_virtio_mem ? "VirtioMem" :
								  "Acpi");
	}
	o = cJSON_AddObjectToObject(c, "payload");
	if (cfg->kernel)
		cJSON_AddStringToObject(o, "kernel", cfg->kernel);
	if (cfg->initrd)
		cJSON_AddStringToObject(o, "initramfs", cfg->initrd);
	if (cfg->cmdline)
		cJSON_AddStringToObject(o, "cmdline", cfg->cmdline);
	a = cJSON_AddArrayToObject(c, "disks");
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];

		if (d->removed)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddItemToArray(a, o);
		if (d->vhost_user) {
			/* Cloud Hypervisor's names for it. */
			cJSON_AddBoolToObject(o, "vhost_user", true);
			cJSON_AddStringToObject(o, "vhost_socket",
						d->vhost_user);
		} else {
			cJSON_AddStringToObject(o, "path", d->path);
		}
		cJSON_AddBoolToObject(o, "readonly", d->readonly);
		cJSON_AddBoolToObject(o, "direct", d->direct);
		cJSON_AddNumberToObject(o, "num_queues",
					config_disk_queues(d, cfg->nr_cpus));
		if (d->serial[0])
			cJSON_AddStringToObject(o, "serial", d->serial);
		if (rate_limit_config_active(&d->rate_limit))
			add_limiter(o, &d->rate_limit);
		cJSON_AddStringToObject(o, "id",
					config_device_id(cfg, CONFIG_DEV_DISK,
							 i, buf));
		cJSON_AddNumberToObject(o, "pci_segment", 0);
	}
	a = cJSON_AddArrayToObject(c, "net");
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct net_options *n = &cfg->nets[i];

		if (cfg->net_removed[i])
			continue;
		o = cJSON_CreateObject();
		cJSON_AddItemToArray(a, o);
		if (n->type == NET_TAP)
			cJSON_AddStringToObject(o, "tap", n->ifname);
		if (n->type == NET_VHOST_USER) {
			cJSON_AddBoolToObject(o, "vhost_user", true);
			cJSON_AddStringToObject(o, "vhost_socket",
						n->vhost_user);
		}
		if (n->has_mac) {
			fmt_mac(buf, n->mac);
			cJSON_AddStringToObject(o, "mac", buf);
		}
		cJSON_AddStringToObject(
			o, "id", config_device_id(cfg, CONFIG_DEV_NET, i, buf));
		cJSON_AddNumberToObject(o, "pci_segment", 0);
		cJSON_AddNumberToObject(o, "num_queues",
					2 * net_options_pairs(n));
		if (rate_limit_config_active(&n->rate_limit))
			add_limiter(o, &n->rate_limit);
	}
	a = cJSON_AddArrayToObject(c, "devices");
	for (unsigned int i = 0; i < cfg->nr_vfio; i++) {
		if (cfg->vfio[i].removed)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddItemToArray(a, o);
		cJSON_AddStringToObject(o, "path", cfg->vfio[i].path);
		cJSON_AddStringToObject(o, "id",
					config_device_id(cfg, CONFIG_DEV_VFIO,
							 i, buf));
		cJSON_AddNumberToObject(o, "pci_segment", 0);
	}
	/* As before any was added: no "pmem" while there is none. */
	a = NULL;
	for (unsigned int i = 0; i < cfg->nr_pmems && !a; i++)
		if (!cfg->pmems[i].removed)
			a = cJSON_AddArrayToObject(c, "pmem");
	if (a) {
		for (unsigned int i = 0; i < cfg->nr_pmems; i++) {
			if (cfg->pmems[i].removed)
				continue;
			o = cJSON_CreateObject();
			cJSON_AddItemToArray(a, o);
			cJSON_AddStringToObject(o, "file", cfg->pmems[i].path);
			cJSON_AddBoolToObject(o, "discard_writes",
					      cfg->pmems[i].discard_writes);
			cJSON_AddStringToObject(
				o, "id",
				config_device_id(cfg, CONFIG_DEV_PMEM, i, buf));
			cJSON_AddNumberToObject(o, "pci_segment", 0);
		}
	}
	if (cfg->rng) {
		o = cJSON_AddObjectToObject(c, "rng");
		cJSON_AddStringToObject(o, "src", "getrandom");
	}
	o = cJSON_AddObjectToObject(c, "serial");
	cJSON_AddStringToObject(o, "mode", cfg->serial_null ? "Null" : "Tty");
	o = cJSON_AddObjectToObject(c, "console");
	cJSON_AddStringToObject(o, "mode", cfg->virtio_console ? "Tty" : "Off");
	if (cfg->vsock.enabled && !cfg->vsock.removed) {
		o = cJSON_AddObjectToObject(c, "vsock");
		cJSON_AddNumberToObject(o, "cid", (double)cfg->vsock.cid);
		if (cfg->vsock.socket)
			cJSON_AddStringToObject(o, "socket", cfg->vsock.socket);
		cJSON_AddStringToObject(o, "id",
					config_device_id(cfg, CONFIG_DEV_VSOCK,
							 0, buf));
		cJSON_AddNumberToObject(o, "pci_segment", 0);
	}
	if (cfg->balloon.enabled) {
		o = cJSON_AddObjectToObject(c, "balloon");
		cJSON_AddNumberToObject(o, "size", (double)cfg->balloon.size);
		cJSON_AddBoolToObject(o, "deflate_on_oom",
				      cfg->balloon.deflate_on_oom);
		cJSON_AddBoolToObject(o, "free_page_reporting",
				      cfg->balloon.free_page_reporting);
	}
	return c;
}

static void do_ping(struct api *api, struct api_response *r)
{
	cJSON *o = cJSON_CreateObject(), *f;

	if (o) {
		cJSON_AddStringToObject(o, "build_version", devisor_version);
		cJSON_AddStringToObject(o, "version", devisor_version);
		cJSON_AddNumberToObject(o, "pid", getpid());
		f = cJSON_AddArrayToObject(o, "features");
		cJSON_AddItemToArray(f, cJSON_CreateString("kvm"));
	}
	respond_json(r, 200, o);
}

static void do_info(struct api *api, struct api_response *r)
{
	enum api_vm_state st = api->ops->state(api->opaque);
	cJSON *o;

	if (st == API_VM_NONE) {
		respond_error(r, 404, "no VM: vm.create first");
		return;
	}
	o = cJSON_CreateObject();
	if (o) {
		cJSON_AddItemToObject(o, "config", vm_config_json(api->cfg));
		cJSON_AddStringToObject(o, "state", state_name(st));
		/* What the guest has: less what its balloon gave back. */
		cJSON_AddNumberToObject(
			o, "memory_actual_size",
			(double)(api->cfg->ram_size + api->cfg->ram_plugged -
				 api->ops->balloon_actual(api->opaque)));
	}
	respond_json(r, 200, o);
}

static void do_counters(struct api *api, struct api_response *r)
{
	struct api_counters c = { .root = cJSON_CreateObject() };

	if (c.root)
		api->ops->counters(api->opaque, &c);
	respond_json(r, 200, c.root);
}

/*
 * The body as a JSON object, or a 400 sent and NULL. @what names the
 * schema for the message.
 */
static cJSON *parse_object(const char *body, size_t len, const char *what,
			   struct api_response *r)
{
	cJSON *j;

	if (!body || !len) {
		respond_error(r, 400, "%s: the request needs a JSON body",
			      what);
		return NULL;
	}
	j = cJSON_ParseWithLength(body, len);
	if (!j) {
		respond_error(r, 400, "%s: the body is not valid JSON", what);
		return NULL;
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		respond_error(r, 400, "%s: the body must be a JSON object",
			      what);
		return NULL;
	}
	return j;
}

/* A member's type check: 0, or a 400 sent. */
static int want_type(cJSON *f, bool ok, const char *what, const char *type,
		     struct api_response *r)
{
	if (ok)
		return 0;
	respond_error(r, 400, "%s: field '%s' must be %s", what, f->string,
		      type);
	return -1;
}

/* Fields devisor ignores when they hold their default value. */
static int default_only(cJSON *f, const char *what, struct api_response *r)
{
	if (!strcmp(f->string, "pci_segment")) {
		if (cJSON_IsNumber(f) && f->valuedouble == 0)
			return 1;
		respond_error(r, 400,
			      "%s: field 'pci_segment' must be 0 (devisor "
			      "has one PCI segment)",
			      what);
		return -1;
	}
	if (!strcmp(f->string, "iommu") || !strcmp(f->string, "vhost_user")) {
		if (cJSON_IsFalse(f))
			return 1;
		respond_error(r, 400, "%s: field '%s' is not supported", what,
			      f->string);
		return -1;
	}
	return 0;
}

static int take_id(cJSON *f, char *id, const char *what, struct api_response *r)
{
	if (want_type(f, cJSON_IsString(f), what, "a string", r))
		return -1;
	if (strlen(f->valuestring) >= API_ID_LEN || !f->valuestring[0]) {
		respond_error(r, 400, "%s: field 'id' takes 1 to %d characters",
			      what, API_ID_LEN - 1);
		return -1;
	}
	strcpy(id, f->valuestring);
	return 0;
}

/* The id of a new device: as take_id(), and one a user may choose. */
static int take_new_id(cJSON *f, char *id, const char *what,
		       struct api_response *r)
{
	char err[API_ERR_LEN];

	if (take_id(f, id, what, r))
		return -1;
	if (config_check_id(id, err, sizeof(err))) {
		respond_error(r, 400, "%s: %s", what, err);
		return -1;
	}
	return 0;
}

_Static_assert(API_ID_LEN == CONFIG_ID_LEN, "one length for device ids");

static void respond_added(struct api_response *r, int status, const char *id,
			  const char *bdf, const char *err)
{
	cJSON *o;

	/* 204 (a VM not booted took it into its config) has no body. */
	if (status != 200) {
		respond_status(r, status, err);
		return;
	}
	o = cJSON_CreateObject();
	if (o) {
		cJSON_AddStringToObject(o, "id", id);
		cJSON_AddStringToObject(o, "bdf", bdf);
	}
	respond_json(r, 200, o);
}

/*
 * One member of a request body, for walk_body(): 0 taken, 1 not a field
 * of this schema, -1 wrong (a 400 was sent).
 */
typedef int (*field_fn)(cJSON *f, void *ctx, const char *what,
			struct api_response *r);

/*
 * Hands each member of the object @j to @fn; the fields devisor takes at
 * their default value only are checked first when @defaults. An unknown
 * member gets a 400 that lists @known. 0, or -1 when a 400 was sent.
 */
static int walk_object(cJSON *j, const char *what, const char *known,
		       bool defaults, field_fn fn, void *ctx,
		       struct api_response *r)
{
	cJSON *f;
	int ret;

	cJSON_ArrayForEach(f, j)
	{
		ret = defaults ? default_only(f, what, r) : 0;
		if (ret < 0)
			return -1;
		if (ret)
			continue;
		ret = fn(f, ctx, what, r);
		if (ret < 0)
			return -1;
		if (ret) {
			respond_error(r, 400,
				      "%s: field '%s' is not supported (%s)",
				      what, f->string, known);
			return -1;
		}
	}
	return 0;
}

/* A member that must be an object, walked with @fn. */
static int walk_member(cJSON *f, const char *what, const char *known,
		       bool defaults, field_fn fn, void *ctx,
		       struct api_response *r)
{
	if (want_type(f, cJSON_IsObject(f), what, "an object", r))
		return -1;
	return walk_object(f, what, known, defaults, fn, ctx, r);
}

/*
 * Parses the body as a JSON object and walks it (walk_object()). Returns
 * the object (the strings @fn kept point into it; free it with
 * cJSON_Delete) or NULL when a 400 was sent.
 */
static cJSON *walk_body(const char *body, size_t len, const char *what,
			const char *known, bool defaults, field_fn fn,
			void *ctx, struct api_response *r)
{
	cJSON *j = parse_object(body, len, what, r);

	if (j && walk_object(j, what, known, defaults, fn, ctx, r)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

struct disk_body {
	struct disk_config d;
	char id[API_ID_LEN];
};

/* TokenBucket: size, one_time_burst, refill_time (ms). */
static int bucket_field(cJSON *f, void *ctx, const char *what,
			struct api_response *r)
{
	struct token_bucket_config *b = ctx;
	uint64_t *v;

	if (!strcmp(f->string, "size"))
		v = &b->size;
	else if (!strcmp(f->string, "one_time_burst"))
		v = &b->one_time_burst;
	else if (!strcmp(f->string, "refill_time"))
		v = &b->refill_ms;
	else
		return 1;
	if (want_type(f,
		      cJSON_IsNumber(f) && f->valuedouble >= 0 &&
			      f->valuedouble < 0x1p53 &&
			      f->valuedouble ==
				      (double)(uint64_t)f->valuedouble,
		      what, "a whole number", r))
		return -1;
	*v = (uint64_t)f->valuedouble;
	return 0;
}

/* RateLimiterConfig: bandwidth (bytes) and ops, each a TokenBucket. */
static int limiter_field(cJSON *f, void *ctx, const char *what,
			 struct api_response *r)
{
	struct rate_limit_config *rl = ctx;
	struct token_bucket_config *b;
	char err[API_ERR_LEN - 64];

	if (!strcmp(f->string, "bandwidth"))
		b = &rl->bw;
	else if (!strcmp(f->string, "ops"))
		b = &rl->ops;
	else
		return 1;
	if (walk_member(f, "TokenBucket", "size, one_time_burst, refill_time",
			false, bucket_field, b, r))
		return -1;
	if (token_bucket_config_check(b, f->string, err, sizeof(err))) {
		respond_error(r, 400, "%s: %s", what, err);
		return -1;
	}
	return 0;
}

/* A DiskConfig's or NetConfig's rate_limiter_config, replacing @rl. */
static int take_limiter(cJSON *f, struct rate_limit_config *rl,
			struct api_response *r)
{
	*rl = (struct rate_limit_config){ 0 };
	return walk_member(f, "RateLimiterConfig", "bandwidth, ops", false,
			   limiter_field, rl, r) ?
		       -1 :
		       0;
}

/*
 * DiskConfig: path, readonly, direct, num_queues, serial, id,
 * rate_limiter_config.
 */
static int disk_field(cJSON *f, void *ctx, const char *what,
		      struct api_response *r)
{
	struct disk_body *b = ctx;

	if (!strcmp(f->string, "rate_limiter_config"))
		return take_limiter(f, &b->d.rate_limit, r);
	if (!strcmp(f->string, "path")) {
		if (want_type(f, cJSON_IsString(f) && f->valuestring[0], what,
			      "a non-empty string", r))
			return -1;
		b->d.path = f->valuestring;
	} else if (!strcmp(f->string, "readonly")) {
		if (want_type(f, cJSON_IsBool(f), what, "a boolean", r))
			return -1;
		b->d.readonly = cJSON_IsTrue(f);
	} else if (!strcmp(f->string, "direct")) {
		if (want_type(f, cJSON_IsBool(f), what, "a boolean", r))
			return -1;
		b->d.direct = cJSON_IsTrue(f);
	} else if (!strcmp(f->string, "num_queues")) {
		if (want_type(f,
			      cJSON_IsNumber(f) && f->valuedouble >= 1 &&
				      f->valuedouble <=
					      CONFIG_DISK_MAX_QUEUES &&
				      f->valuedouble == (int)f->valuedouble,
			      what, "a number from 1 to 16", r))
			return -1;
		b->d.nr_queues = f->valueint;
	} else if (!strcmp(f->string, "serial")) {
		if (want_type(f,
			      cJSON_IsString(f) &&
				      strlen(f->valuestring) <= BLK_SERIAL_LEN,
			      what, "a string of up to 20 bytes", r))
			return -1;
		strcpy(b->d.serial, f->valuestring);
	} else if (!strcmp(f->string, "id")) {
		return take_new_id(f, b->id, what, r);
	} else {
		return 1;
	}
	return 0;
}

static void do_add_disk(struct api *api, const char *body, size_t len,
			struct api_fds *fds, struct api_response *r)
{
	static const char what[] = "DiskConfig";
	struct disk_body b = { .d = config_disk_defaults() };
	char out_id[API_ID_LEN] = "", bdf[16] = "", err[API_ERR_LEN] = "";
	cJSON *j = walk_body(body, len, what,
			     "path, readonly, direct, num_queues, serial, id, "
			     "pci_segment, rate_limiter_config",
			     true, disk_field, &b, r);
	int ret;

	if (!j)
		return;
	if (!b.d.path) {
		respond_error(r, 400, "%s: field 'path' is required", what);
	} else {
		ret = api->ops->add_disk(api->opaque, &b.d, b.id, out_id, bdf,
					 err);
		respond_added(r, ret, out_id, bdf, err);
	}
	cJSON_Delete(j);
}

struct net_body {
	struct net_options n;
	char id[API_ID_LEN];
};

/*
 * A field of Cloud Hypervisor's that devisor takes at its default only
 * (its generated clients, Kata's among them, send the defaults): 1 taken,
 * -1 another value (a 400 was sent).
 */
static int at_default(cJSON *f, const char *what, const char *str, int num,
		      const char *why, struct api_response *r)
{
	if (str ? cJSON_IsString(f) && !strcmp(f->valuestring, str) :
		  cJSON_IsNumber(f) && f->valuedouble == num)
		return 1;
	if (str)
		respond_error(r, 400, "%s: field '%s' must be \"%s\" (%s)",
			      what, f->string, str, why);
	else
		respond_error(r, 400, "%s: field '%s' must be %d (%s)", what,
			      f->string, num, why);
	return -1;
}

/*
 * NetConfig: tap, mac, id, num_queues (two per pair: a multi-queue tap),
 * rate_limiter_config; and at their defaults queue_size (256), ip and
 * mask (the host side of a tap Cloud Hypervisor creates), vhost_mode.
 * fds: the descriptors themselves come with the request (SCM_RIGHTS), one
 * per pair; the numbers in the body mean nothing here.
 */
static int net_field(cJSON *f, void *ctx, const char *what,
		     struct api_response *r)
{
	struct net_body *b = ctx;
	int ret;

	if (!strcmp(f->string, "rate_limiter_config"))
		return take_limiter(f, &b->n.rate_limit, r);
	if (!strcmp(f->string, "num_queues")) {
		double q = cJSON_IsNumber(f) ? f->valuedouble : 0;

		/* A receive and a transmit queue per pair. */
		if (want_type(f,
			      q >= 2 && q <= 2 * NET_MAX_QUEUE_PAIRS &&
				      q == (int)q && !((int)q % 2),
			      what,
			      "an even number of queues from 2 to 16 (a "
			      "receive and a transmit queue per pair)",
			      r))
			return -1;
		b->n.queues = (unsigned int)q / 2;
		return 0;
	} else if (!strcmp(f->string, "queue_size"))
		ret = at_default(f, what, NULL, VIRTIO_NET_QUEUE_SIZE,
				 "devisor's virtio-net queue size", r);
	else if (!strcmp(f->string, "ip"))
		ret = at_default(f, what, "192.168.249.1", 0,
				 "devisor does not address the host side of "
				 "a tap",
				 r);
	else if (!strcmp(f->string, "mask"))
		ret = at_default(f, what, "255.255.255.0", 0,
				 "devisor does not address the host side of "
				 "a tap",
				 r);
	else if (!strcmp(f->string, "vhost_mode"))
		ret = at_default(f, what, "Client", 0, "vhost-user only", r);
	else if (!strcmp(f->string, "fds"))
		ret = want_type(f, cJSON_IsArray(f), what,
				"an array (the descriptors come with the "
				"request)",
				r) ?
			      -1 :
			      1;
	else
		ret = 0;
	if (ret)
		return ret < 0 ? -1 : 0;
	if (!strcmp(f->string, "tap")) {
		if (want_type(f,
			      cJSON_IsString(f) && f->valuestring[0] &&
				      strlen(f->valuestring) <= NET_IFNAME_MAX,
			      what, "an interface name", r))
			return -1;
		strcpy(b->n.ifname, f->valuestring);
	} else if (!strcmp(f->string, "mac")) {
		unsigned int m[NET_MAC_LEN];
		char end;

		if (want_type(f,
			      cJSON_IsString(f) &&
				      sscanf(f->valuestring,
					     "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0],
					     &m[1], &m[2], &m[3], &m[4], &m[5],
					     &end) == 6,
			      what, "a MAC address xx:xx:xx:xx:xx:xx", r))
			return -1;
		for (int i = 0; i < NET_MAC_LEN; i++)
			b->n.mac[i] = m[i];
		b->n.has_mac = true;
	} else if (!strcmp(f->string, "id")) {
		return take_new_id(f, b->id, what, r);
	} else {
		return 1;
	}
	return 0;
}

#define NET_FIELDS                                                      \
	"tap, mac, id, pci_segment, num_queues, queue_size, ip, mask, " \
	"vhost_mode, fds, rate_limiter_config"

/*
 * The NIC's tap: by name (tap), or the descriptors that came with the
 * request, one per queue pair, as Kata and ch-remote pass a tap they
 * opened. The action owns the descriptors once it answers 2xx.
 */
static void do_add_net(struct api *api, const char *body, size_t len,
		       struct api_fds *fds, struct api_response *r)
{
	static const char what[] = "NetConfig";
	struct net_body b = { .n = { .type = NET_TAP,
				     .poll_us = NET_POLL_US } };
	char out_id[API_ID_LEN] = "", bdf[16] = "", err[API_ERR_LEN] = "";
	cJSON *j = walk_body(body, len, what, NET_FIELDS ", iommu", true,
			     net_field, &b, r);
	unsigned int nr_fds = fds ? fds->nr : 0;
	int ret;

	if (!j)
		return;
	if (nr_fds && nr_fds != (b.n.queues ? b.n.queues : 1)) {
		/* Cloud Hypervisor's rule: num_queues is twice the fds. */
		respond_error(r, 400,
			      "%s: %u descriptors came with the request for "
			      "%u queues: one tap descriptor per queue pair "
			      "(num_queues %u)",
			      what, nr_fds, b.n.queues ? 2 * b.n.queues : 2,
			      2 * nr_fds);
	} else if (nr_fds && b.n.ifname[0]) {
		respond_error(r, 400,
			      "%s: both field 'tap' and a descriptor: give "
			      "one",
			      what);
	} else if (!nr_fds && !b.n.ifname[0]) {
		respond_error(r, 400,
			      "%s: field 'tap' or a tap's descriptor "
			      "(sent with the request, SCM_RIGHTS) is required",
			      what);
	} else {
		if (nr_fds) {
			b.n.queues = 0;
			b.n.nr_fds = nr_fds;
			memcpy(b.n.fds, fds->fd, nr_fds * sizeof(int));
		}
		ret = api->ops->add_net(api->opaque, &b.n, b.id, out_id, bdf,
					err);
		for (unsigned int i = 0; i < nr_fds && ret >= 200 && ret < 300;
		     i++)
			fds->fd[i] = -1;
		respond_added(r, ret, out_id, bdf, err);
	}
	cJSON_Delete(j);
}

struct device_body {
	const char *path;
	char id[API_ID_LEN];
};

/* DeviceConfig: path, id. */
static int device_field(cJSON *f, void *ctx, const char *what,
			struct api_response *r)
{
	struct device_body *b = ctx;

	if (!strcmp(f->string, "path")) {
		if (want_type(f, cJSON_IsString(f) && f->valuestring[0], what,
			      "a non-empty string", r))
			return -1;
		b->path = f->valuestring;
		return 0;
	}
	if (!strcmp(f->string, "id"))
		return take_new_id(f, b->id, what, r);
	return 1;
}

static void do_add_device(struct api *api, const char *body, size_t len,
			  struct api_fds *fds, struct api_response *r)
{
	static const char what[] = "DeviceConfig";
	struct device_body b = { 0 };
	char out_id[API_ID_LEN] = "", bdf[16] = "", err[API_ERR_LEN] = "";
	cJSON *j = walk_body(body, len, what, "path, id, iommu, pci_segment",
			     true, device_field, &b, r);
	int ret;

	if (!j)
		return;
	if (!b.path) {
		respond_error(r, 400, "%s: field 'path' is required", what);
	} else {
		ret = api->ops->add_device(api->opaque, b.path, b.id, out_id,
					   bdf, err);
		respond_added(r, ret, out_id, bdf, err);
	}
	cJSON_Delete(j);
}

/* VmRemoveDevice: id. */
static int id_field(cJSON *f, void *ctx, const char *what,
		    struct api_response *r)
{
	if (strcmp(f->string, "id"))
		return 1;
	return take_id(f, ctx, what, r);
}

static void do_remove_device(struct api *api, const char *body, size_t len,
			     struct api_fds *fds, struct api_response *r)
{
	static const char what[] = "VmRemoveDevice";
	char id[API_ID_LEN] = "", err[API_ERR_LEN] = "";
	cJSON *j = walk_body(body, len, what, "id", false, id_field, id, r);

	if (!j)
		return;
	if (!id[0])
		respond_error(r, 400, "%s: field 'id' is required", what);
	else
		respond_status(r, api->ops->remove_device(api->opaque, id, err),
			       err);
	cJSON_Delete(j);
}

/* An integer member from @min to @max: 0, or a 400 sent. */
static int want_uint(cJSON *f, double min, double max, const char *what,
		     struct api_response *r, uint64_t *out)
{
	char type[64];

	snprintf(type, sizeof(type), "an integer from %.0f to %.0f", min, max);
	if (want_type(f,
		      cJSON_IsNumber(f) && f->valuedouble >= min &&
			      f->valuedouble <= max &&
			      f->valuedouble ==
				      (double)(uint64_t)f->valuedouble,
		      what, type, r))
		return -1;
	*out = (uint64_t)f->valuedouble;
	return 0;
}

struct resize_body {
	uint64_t vcpus, ram, balloon;
	bool has_balloon;
};

/* VmResize: desired_vcpus, desired_ram, desired_balloon. */
static int resize_field(cJSON *f, void *ctx, const char *what,
			struct api_response *r)
{
	struct resize_body *b = ctx;

	if (!strcmp(f->string, "desired_vcpus"))
		return want_uint(f, 1, CONFIG_MAX_CPUS, what, r, &b->vcpus);
	if (!strcmp(f->string, "desired_ram"))
		return want_uint(f, 1, (double)(1ull << 52), what, r, &b->ram);
	if (!strcmp(f->string, "desired_balloon")) {
		b->has_balloon = true;
		return want_uint(f, 0, (double)(1ull << 52), what, r,
				 &b->balloon);
	}
	return 1;
}

static void do_resize(struct api *api, const char *body, size_t len,
		      struct api_fds *fds, struct api_response *r)
{
	static const char what[] = "VmResize";
	struct resize_body b = { 0 };
	char err[API_ERR_LEN] = "";
	cJSON *j = walk_body(body, len, what,
			     "desired_vcpus, desired_ram, desired_balloon",
			     false, resize_field, &b, r);

	int status = 204;

	if (!j)
		return;
	if (!b.vcpus && !b.ram && !b.has_balloon) {
		respond_error(r, 400,
			      "%s: desired_vcpus, desired_ram or "
			      "desired_balloon is required",
			      what);
		cJSON_Delete(j);
		return;
	}
	if (b.has_balloon)
		status = api->ops->balloon(api->opaque, b.balloon, err);
	if (status == 204 && (b.vcpus || b.ram))
		status = api->ops->resize(api->opaque, (unsigned int)b.vcpus,
					  b.ram, err);
	respond_status(r, status, err);
	cJSON_Delete(j);
}

/*
 * A member that must be an array of objects, each walked with @fn on
 * the next of @n slots of @size bytes at @slots (at most @max).
 */
static int walk_array(cJSON *f, const char *what, const char *item,
		      const char *known, field_fn fn, void *slots, size_t size,
		      unsigned int *n, unsigned int max,
		      void (*init)(void *slot), struct api_response *r)
{
	cJSON *e;

	if (want_type(f, cJSON_IsArray(f), what, "an array", r))
		return -1;
	cJSON_ArrayForEach(e, f)
	{
		void *slot = (char *)slots + *n * size;

		if (*n == max) {
			respond_error(r, 400, "%s: at most %u %s", what, max,
				      f->string);
			return -1;
		}
		if (want_type(e, cJSON_IsObject(e), what, "an array of objects",
			      r))
			return -1;
		init(slot);
		if (walk_object(e, item, known, true, fn, slot, r))
			return -1;
		(*n)++;
	}
	return 0;
}

/* What a VmConfig fills; strings point into the request's JSON. */
struct create_body {
	struct vm_config cfg;
	struct disk_body disks[CONFIG_MAX_DISKS];
	struct net_body nets[CONFIG_MAX_NETS];
	struct device_body devices[CONFIG_MAX_VFIO];
	unsigned int nr_disks, nr_nets, nr_devices;
	uint64_t max_vcpus;
	/* CpuTopology: threads_per_core, cores_per_die, dies, packages. */
	uint64_t topo[4];
	bool has_topo;
	const char *serial_mode, *console_mode;
};

#define VMCONFIG_KNOWN                                                       \
	"payload, cpus, memory, disks, net, rng, serial, console, devices, " \
	"pmem, vsock, platform, iommu, watchdog, pvpanic"

/* PayloadConfig: kernel, cmdline, initramfs. */
static int payload_field(cJSON *f, void *ctx, const char *what,
			 struct api_response *r)
{
	struct vm_config *c = ctx;
	const char **dst = !strcmp(f->string, "kernel")	   ? &c->kernel :
			   !strcmp(f->string, "cmdline")   ? &c->cmdline :
			   !strcmp(f->string, "initramfs") ? &c->initrd :
							     NULL;

	if (!dst)
		return 1;
	if (want_type(f, cJSON_IsString(f) && f->valuestring[0], what,
		      "a non-empty string", r))
		return -1;
	*dst = f->valuestring;
	return 0;
}

/* CpuTopology, for create_fill() to hold against devisor's own. */
static int topology_field(cJSON *f, void *ctx, const char *what,
			  struct api_response *r)
{
	static const char *const names[4] = { "threads_per_core",
					      "cores_per_die",
					      "dies_per_package", "packages" };
	uint64_t *topo = ctx;

	for (unsigned int i = 0; i < 4; i++)
		if (!strcmp(f->string, names[i]))
			return want_uint(f, 1, CONFIG_MAX_CPUS, what, r,
					 &topo[i]);
	return 1;
}

/* CpusConfig: boot_vcpus, max_vcpus (the rest for vm.resize). */
static int cpus_field(cJSON *f, void *ctx, const char *what,
		      struct api_response *r)
{
	struct create_body *b = ctx;
	uint64_t n;

	if (!strcmp(f->string, "boot_vcpus")) {
		if (want_uint(f, 1, CONFIG_MAX_CPUS, what, r, &n))
			return -1;
		b->cfg.nr_cpus = n;
	} else if (!strcmp(f->string, "max_vcpus")) {
		if (want_uint(f, 1, CONFIG_MAX_CPUS, what, r, &b->max_vcpus))
			return -1;
	} else if (!strcmp(f->string, "topology")) {
		b->has_topo = true;
		b->topo[0] = b->topo[1] = b->topo[2] = b->topo[3] = 1;
		return walk_member(f, "CpuTopology",
				   "threads_per_core, cores_per_die, "
				   "dies_per_package, packages",
				   false, topology_field, b->topo, r);
	} else if (!strcmp(f->string, "kvm_hyperv")) {
		return want_type(f, cJSON_IsFalse(f), what,
				 "false (devisor offers no Hyper-V "
				 "enlightenments)",
				 r);
	} else {
		return 1;
	}
	return 0;
}

/*
 * MemoryConfig: size, shared, hotplug_size, hotplug_method; the rest only
 * at its default.
 */
static int memory_field(cJSON *f, void *ctx, const char *what,
			struct api_response *r)
{
	struct create_body *b = ctx;
	char err[API_ERR_LEN];

	if (!strcmp(f->string, "size")) {
		if (want_uint(f, 0, (double)(1ull << 52), what, r,
			      &b->cfg.ram_size))
			return -1;
		if (config_check_ram(b->cfg.ram_size, err, sizeof(err))) {
			respond_error(r, 400, "%s: size %llu is %s", what,
				      (unsigned long long)b->cfg.ram_size, err);
			return -1;
		}
	} else if (!strcmp(f->string, "shared")) {
		if (want_type(f, cJSON_IsBool(f), what, "a boolean", r))
			return -1;
		b->cfg.ram_shared = cJSON_IsTrue(f);
	} else if (!strcmp(f->string, "mergeable") ||
		   !strcmp(f->string, "hugepages") ||
		   !strcmp(f->string, "prefault")) {
		return want_type(f, cJSON_IsFalse(f), what,
				 "false (not supported)", r);
	} else if (!strcmp(f->string, "thp")) {
		return want_type(f, cJSON_IsTrue(f), what,
				 "true (devisor asks for transparent huge "
				 "pages)",
				 r);
	} else if (!strcmp(f->string, "hotplug_size")) {
		if (want_uint(f, 0, (double)(1ull << 52), what, r,
			      &b->cfg.hotplug_size))
			return -1;
	} else if (!strcmp(f->string, "hotplug_method")) {
		if (want_type(f,
			      cJSON_IsString(f) &&
				      (!strcmp(f->valuestring, "Acpi") ||
				       !strcmp(f->valuestring, "VirtioMem")),
			      what, "\"Acpi\" or \"VirtioMem\"", r))
			return -1;
		b->cfg.hotplug_virtio_mem =
			!strcmp(f->valuestring, "VirtioMem");
	} else {
		return 1;
	}
	return 0;
}

/* RngConfig: src, the host's /dev/urandom (devisor reads getrandom()). */
static int rng_field(cJSON *f, void *ctx, const char *what,
		     struct api_response *r)
{
	if (strcmp(f->string, "src"))
		return 1;
	/* vm.info says getrandom: what it gives, a client may send back. */
	return want_type(f,
			 cJSON_IsString(f) &&
				 (!strcmp(f->valuestring, "/dev/urandom") ||
				  !strcmp(f->valuestring, "getrandom")),
			 what,
			 "\"/dev/urandom\" (devisor draws from getrandom(), "
			 "the same pool)",
			 r);
}

/* SerialConfig and ConsoleConfig: mode. */
static int mode_field(cJSON *f, void *ctx, const char *what,
		      struct api_response *r)
{
	if (strcmp(f->string, "mode"))
		return 1;
	if (want_type(f, cJSON_IsString(f), what, "a string", r))
		return -1;
	*(const char **)ctx = f->valuestring;
	return 0;
}

/* VsockConfig: cid, socket (devisor's UNIX socket back-end). */
/* VsockConfig: cid, socket, id. */
static int vsock_field(cJSON *f, void *ctx, const char *what,
		       struct api_response *r)
{
	struct vsock_config *v = ctx;

	if (!strcmp(f->string, "cid")) {
		if (want_uint(f, 3, 4294967294.0, what, r, &v->cid))
			return -1;
	} else if (!strcmp(f->string, "socket")) {
		if (want_type(f, cJSON_IsString(f) && f->valuestring[0], what,
			      "a non-empty string", r))
			return -1;
		v->socket = f->valuestring;
	} else if (!strcmp(f->string, "id")) {
		return take_new_id(f, v->id, what, r);
	} else {
		return 1;
	}
	return 0;
}

/* BalloonConfig: size (required), deflate_on_oom, free_page_reporting. */
static int balloon_field(cJSON *f, void *ctx, const char *what,
			 struct api_response *r)
{
	struct balloon_config *bc = ctx;
	bool *flag;

	if (!strcmp(f->string, "size"))
		return want_uint(f, 0, (double)(1ull << 52), what, r,
				 &bc->size);
	if (!strcmp(f->string, "deflate_on_oom"))
		flag = &bc->deflate_on_oom;
	else if (!strcmp(f->string, "free_page_reporting"))
		flag = &bc->free_page_reporting;
	else
		return 1;
	if (want_type(f, cJSON_IsBool(f), what, "a boolean", r))
		return -1;
	*flag = cJSON_IsTrue(f);
	return 0;
}

/* PlatformConfig: the serial number and UUID of SMBIOS type 1. */
static int platform_field(cJSON *f, void *ctx, const char *what,
			  struct api_response *r)
{
	struct platform_config *p = ctx;

	if (!strcmp(f->string, "serial_number") ||
	    !strcmp(f->string, "system_serial_number")) {
		if (want_type(f,
			      cJSON_IsString(f) &&
				      strlen(f->valuestring) <=
					      CONFIG_PLATFORM_SERIAL_MAX,
			      what, "a string of up to 64 bytes", r))
			return -1;
		strcpy(p->serial, f->valuestring);
	} else if (!strcmp(f->string, "uuid") ||
		   !strcmp(f->string, "system_uuid")) {
		return want_type(f,
				 cJSON_IsString(f) &&
					 !config_parse_uuid(f->valuestring,
							    p->uuid),
				 what, "a UUID (8-4-4-4-12 hex digits)", r);
	} else {
		return 1;
	}
	return 0;
}

static void disk_init(void *slot)
{
	*(struct disk_body *)slot =
		(struct disk_body){ .d = config_disk_defaults() };
}

static void net_init(void *slot)
{
	*(struct net_body *)slot = (struct net_body){
		.n = { .type = NET_TAP, .poll_us = NET_POLL_US }
	};
}

static void device_init(void *slot)
{
	*(struct device_body *)slot = (struct device_body){ 0 };
}

/* PmemConfig: file, size, discard_writes, id. */
static int pmem_field(cJSON *f, void *ctx, const char *what,
		      struct api_response *r)
{
	struct pmem_config *p = ctx;

	if (!strcmp(f->string, "file")) {
		if (want_type(f, cJSON_IsString(f) && f->valuestring[0], what,
			      "a non-empty string", r))
			return -1;
		p->path = f->valuestring;
	} else if (!strcmp(f->string, "size")) {
		return want_uint(f, 0, (double)(1ull << 52), what, r, &p->size);
	} else if (!strcmp(f->string, "discard_writes")) {
		if (want_type(f, cJSON_IsBool(f), what, "a boolean", r))
			return -1;
		p->discard_writes = cJSON_IsTrue(f);
	} else if (!strcmp(f->string, "id")) {
		/* "": none, as generated clients send it. */
		if (cJSON_IsString(f) && !f->valuestring[0])
			return 0;
		return take_new_id(f, p->id, what, r);
	} else {
		return 1;
	}
	return 0;
}

static void pmem_init(void *slot)
{
	*(struct pmem_config *)slot =
		(struct pmem_config){ .addr = CONFIG_PCI_AUTO };
}

/* VmResizeDisk: id, desired_size. */
struct resize_disk_body {
	char id[API_ID_LEN];
	uint64_t size;
};

static int resize_disk_field(cJSON *f, void *ctx, const char *what,
			     struct api_response *r)
{
	struct resize_disk_body *b = ctx;

	if (!strcmp(f->string, "id"))
		return take_id(f, b->id, what, r);
	if (!strcmp(f->string, "desired_size"))
		return want_uint(f, 1, (double)(1ull << 52), what, r, &b->size);
	return 1;
}

static void do_resize_disk(struct api *api, const char *body, size_t len,
			   struct api_fds *fds, struct api_response *r)
{
	static const char what[] = "VmResizeDisk";
	struct resize_disk_body b = { .size = 0 };
	char err[API_ERR_LEN] = "";
	cJSON *j = walk_body(body, len, what, "id, desired_size", false,
			     resize_disk_field, &b, r);
	int status;

	if (!j)
		return;
	if (!b.id[0] || !b.size) {
		respond_error(r, 400,
			      "%s: fields 'id' and 'desired_size' are required",
			      what);
	} else {
		status = api->ops->resize_disk(api->opaque, b.id, b.size, err);
		respond_status(r, status, err);
	}
	cJSON_Delete(j);
}

/* VmCoredumpData: destination_url, a file:// URL (all Cloud Hypervisor takes). */
struct coredump_body {
	char *url;
};

static int coredump_field(cJSON *f, void *ctx, const char *what,
			  struct api_response *r)
{
	struct coredump_body *b = ctx;

	if (strcmp(f->string, "destination_url"))
		return 1;
	if (want_type(f, cJSON_IsString(f), what, "a string", r))
		return -1;
	b->url = f->valuestring;
	return 0;
}

static void do_coredump(struct api *api, const char *body, size_t len,
			struct api_fds *fds, struct api_response *r)
{
	static const char what[] = "VmCoredumpData";
	static const char scheme[] = "file://";
	struct coredump_body b = { NULL };
	char err[API_ERR_LEN] = "";
	cJSON *j = walk_body(body, len, what, "destination_url", false,
			     coredump_field, &b, r);

	if (!j)
		return;
	if (!b.url) {
		respond_error(r, 400, "%s: field 'destination_url' is required",
			      what);
	} else if (strncmp(b.url, scheme, strlen(scheme)) ||
		   b.url[strlen(scheme)] != '/') {
		respond_error(r, 400,
			      "%s: destination_url '%.100s' is not a file:// "
			      "URL with an absolute path",
			      what, b.url);
	} else {
		respond_status(r,
			       api->ops->coredump(api->opaque,
						  b.url + strlen(scheme), err),
			       err);
	}
	cJSON_Delete(j);
}

static void do_add_pmem(struct api *api, const char *body, size_t len,
			struct api_fds *fds, struct api_response *r)
{
	static const char what[] = "PmemConfig";
	struct pmem_config p = { .addr = CONFIG_PCI_AUTO };
	char out_id[API_ID_LEN] = "", bdf[16] = "", err[API_ERR_LEN] = "";
	cJSON *j = walk_body(body, len, what,
			     "file, size, discard_writes, id, iommu, "
			     "pci_segment",
			     true, pmem_field, &p, r);

	if (!j)
		return;
	if (!p.path)
		respond_error(r, 400, "%s: field 'file' is required", what);
	else
		respond_added(r,
			      api->ops->add_pmem(api->opaque, &p, p.id, out_id,
						 bdf, err),
			      out_id, bdf, err);
	cJSON_Delete(j);
}

static void do_add_vsock(struct api *api, const char *body, size_t len,
			 struct api_fds *fds, struct api_response *r)
{
	static const char what[] = "VsockConfig";
	struct vsock_config v = { .addr = CONFIG_PCI_AUTO };
	char out_id[API_ID_LEN] = "", bdf[16] = "", err[API_ERR_LEN] = "";
	cJSON *j = walk_body(body, len, what,
			     "cid, socket, id, iommu, pci_segment", true,
			     vsock_field, &v, r);

	if (!j)
		return;
	if (!v.cid || !v.socket)
		respond_error(r, 400,
			      "%s: fields 'cid' and 'socket' are "
			      "required",
			      what);
	else
		respond_added(r,
			      api->ops->add_vsock(api->opaque, &v, v.id, out_id,
						  bdf, err),
			      out_id, bdf, err);
	cJSON_Delete(j);
}

/* VmConfig's top level. */
static int vm_field(cJSON *f, void *ctx, const char *what,
		    struct api_response *r)
{
	struct create_body *b = ctx;
	const char *k = f->string;

	if (!strcmp(k, "payload"))
		return walk_member(f, "PayloadConfig",
				   "kernel, cmdline, initramfs", false,
				   payload_field, &b->cfg, r);
	if (!strcmp(k, "cpus"))
		return walk_member(
			f, "CpusConfig",
			"boot_vcpus, max_vcpus, topology, kvm_hyperv", false,
			cpus_field, b, r);
	if (!strcmp(k, "memory"))
		return walk_member(
			f, "MemoryConfig",
			"size, shared, mergeable, hugepages, "
			"prefault, thp, hotplug_size, hotplug_method",
			false, memory_field, b, r);
	if (!strcmp(k, "disks"))
		return walk_array(f, what, "DiskConfig",
				  "path, readonly, direct, num_queues, "
				  "serial, pci_segment, rate_limiter_config",
				  disk_field, b->disks, sizeof(b->disks[0]),
				  &b->nr_disks, CONFIG_MAX_DISKS, disk_init, r);
	if (!strcmp(k, "net"))
		return walk_array(f, what, "NetConfig", NET_FIELDS, net_field,
				  b->nets, sizeof(b->nets[0]), &b->nr_nets,
				  CONFIG_MAX_NETS, net_init, r);
	if (!strcmp(k, "devices"))
		return walk_array(f, what, "DeviceConfig", "path, pci_segment",
				  device_field, b->devices,
				  sizeof(b->devices[0]), &b->nr_devices,
				  CONFIG_MAX_VFIO, device_init, r);
	if (!strcmp(k, "pmem"))
		return walk_array(f, what, "PmemConfig",
				  "file, size, discard_writes, id, iommu, "
				  "pci_segment",
				  pmem_field, b->cfg.pmems,
				  sizeof(b->cfg.pmems[0]), &b->cfg.nr_pmems,
				  CONFIG_MAX_PMEMS, pmem_init, r);
	if (!strcmp(k, "rng")) {
		b->cfg.rng = true;
		return walk_member(f, "RngConfig", "src", true, rng_field, NULL,
				   r);
	}
	if (!strcmp(k, "serial"))
		return walk_member(f, "SerialConfig", "mode", false, mode_field,
				   &b->serial_mode, r);
	if (!strcmp(k, "console"))
		return walk_member(f, "ConsoleConfig", "mode", true, mode_field,
				   &b->console_mode, r);
	if (!strcmp(k, "vsock")) {
		b->cfg.vsock =
			(struct vsock_config){ .enabled = true,
					       .transport = TRANSPORT_PCI,
					       .addr = CONFIG_PCI_AUTO };
		return walk_member(f, "VsockConfig",
				   "cid, socket, id, iommu, pci_segment", true,
				   vsock_field, &b->cfg.vsock, r);
	}
	if (!strcmp(k, "balloon")) {
		b->cfg.balloon = (struct balloon_config){ .enabled = true };
		return walk_member(f, "BalloonConfig",
				   "size, deflate_on_oom, free_page_reporting",
				   false, balloon_field, &b->cfg.balloon, r);
	}
	if (!strcmp(k, "platform"))
		return walk_member(f, "PlatformConfig",
				   "serial_number, uuid, system_serial_number, "
				   "system_uuid",
				   false, platform_field, &b->cfg.platform, r);
	if (!strcmp(k, "watchdog") || !strcmp(k, "pvpanic"))
		return want_type(f, cJSON_IsFalse(f), what,
				 "false (devisor has no such device)", r);
	return 1;
}

/*
 * The terminal: the serial port (serial Tty; Null or Off: its output
 * dropped) and virtio-console (console Tty); each Tty writes to devisor's
 * standard output. Files, sockets and ptys devisor does not offer.
 */
static int take_terminal(struct create_body *b, struct api_response *r)
{
	const char *s = b->serial_mode ? b->serial_mode : "Tty";
	const char *c = b->console_mode ? b->console_mode : "Off";
	bool s_tty = !strcmp(s, "Tty"), c_tty = !strcmp(c, "Tty");

	if ((!s_tty && strcmp(s, "Null") && strcmp(s, "Off")) ||
	    (!c_tty && strcmp(c, "Null") && strcmp(c, "Off"))) {
		respond_error(r, 400,
			      "VmConfig: serial mode '%s', console mode '%s': "
			      "devisor offers Tty (its standard output), Null "
			      "and Off",
			      s, c);
		return -1;
	}
	b->cfg.serial_null = !s_tty;
	b->cfg.virtio_console = c_tty;
	return 0;
}

static int create_fill(struct create_body *b, struct api_response *r)
{
	/* Only a payload sets the kernel. */
	if (!b->cfg.kernel) {
		respond_error(r, 400,
			      "VmConfig: payload.kernel is required (devisor "
			      "boots a kernel, not firmware)");
		return -1;
	}
	if (b->max_vcpus && b->max_vcpus < b->cfg.nr_cpus) {
		respond_error(r, 400,
			      "CpusConfig: max_vcpus %llu is below boot_vcpus "
			      "%u",
			      (unsigned long long)b->max_vcpus, b->cfg.nr_cpus);
		return -1;
	}
	b->cfg.max_cpus = b->max_vcpus;
	/*
	 * devisor's one topology: every vCPU a core of one die of one
	 * package, one thread each (what Kata Containers asks for).
	 */
	if (b->has_topo &&
	    (b->topo[0] != 1 || b->topo[2] != 1 || b->topo[3] != 1 ||
	     b->topo[1] != (b->max_vcpus ? b->max_vcpus : b->cfg.nr_cpus))) {
		respond_error(r, 400,
			      "CpuTopology: devisor gives every vCPU a core of "
			      "its own in one die and one package: "
			      "threads_per_core 1, cores_per_die max_vcpus, "
			      "dies_per_package 1, packages 1");
		return -1;
	}
	/* A cid given is at least 3: 0 is none. */
	if (b->cfg.vsock.enabled &&
	    (!b->cfg.vsock.cid || !b->cfg.vsock.socket)) {
		respond_error(r, 400,
			      "VsockConfig: cid and socket are required");
		return -1;
	}
	if (take_terminal(b, r))
		return -1;
	for (unsigned int i = 0; i < b->nr_disks; i++) {
		if (!b->disks[i].d.path) {
			respond_error(r, 400,
				      "DiskConfig %u: field 'path' is required",
				      i);
			return -1;
		}
		strcpy(b->disks[i].d.id, b->disks[i].id);
		b->cfg.disks[b->cfg.nr_disks++] = b->disks[i].d;
	}
	for (unsigned int i = 0; i < b->nr_nets; i++) {
		if (!b->nets[i].n.ifname[0]) {
			respond_error(r, 400,
				      "NetConfig %u: field 'tap' is required",
				      i);
			return -1;
		}
		strcpy(b->cfg.net_ids[b->cfg.nr_nets], b->nets[i].id);
		b->cfg.nets[b->cfg.nr_nets] = b->nets[i].n;
		b->cfg.net_addrs[b->cfg.nr_nets++] = CONFIG_PCI_AUTO;
	}
	for (unsigned int i = 0; i < b->cfg.nr_pmems; i++)
		if (!b->cfg.pmems[i].path) {
			respond_error(r, 400,
				      "PmemConfig %u: field 'file' is required",
				      i);
			return -1;
		}
	for (unsigned int i = 0; i < b->nr_devices; i++) {
		struct vfio_config *v = &b->cfg.vfio[b->cfg.nr_vfio++];

		if (!b->devices[i].path) {
			respond_error(
				r, 400,
				"DeviceConfig %u: field 'path' is required", i);
			return -1;
		}
		*v = (struct vfio_config){ .path = b->devices[i].path,
					   .addr = CONFIG_PCI_AUTO };
		strcpy(v->id, b->devices[i].id);
	}
	return 0;
}

static void do_create(struct api *api, const char *body, size_t len,
		      struct api_fds *fds, struct api_response *r)
{
	struct create_body *b = calloc(1, sizeof(*b));
	char err[API_ERR_LEN] = "";
	cJSON *j;

	if (!b) {
		respond_error(r, 500, "out of memory");
		return;
	}
	config_vm_defaults(&b->cfg);
	j = walk_body(body, len, "VmConfig", VMCONFIG_KNOWN, true, vm_field, b,
		      r);
	if (j && !create_fill(b, r))
		respond_status(r, api->ops->create(api->opaque, &b->cfg, err),
			       err);
	cJSON_Delete(j);
	free(b);
}

/* The PUT actions without a body. */
static int put_action(struct api *api, const char *name, char *err)
{
	const struct api_ops *o = api->ops;

	if (!strcmp(name, "vm.pause"))
		return o->pause(api->opaque, err);
	if (!strcmp(name, "vm.resume"))
		return o->resume(api->opaque, err);
	if (!strcmp(name, "vm.shutdown"))
		return o->shutdown(api->opaque, err);
	if (!strcmp(name, "vm.reboot"))
		return o->reboot(api->opaque, err);
	if (!strcmp(name, "vm.boot"))
		return o->boot(api->opaque, err);
	if (!strcmp(name, "vm.delete"))
		return o->delete_vm(api->opaque, err);
	if (!strcmp(name, "vmm.shutdown"))
		return o->shutdown_vmm(api->opaque, err);
	if (!strcmp(name, "vm.nmi"))
		return o->nmi(api->opaque, err);
	return o->power_button(api->opaque, err);
}

enum route_kind { R_GET, R_PUT, R_PUT_BODY };

struct route {
	const char *name;
	enum route_kind kind;
	void (*get)(struct api *api, struct api_response *r);
	void (*body)(struct api *api, const char *body, size_t len,
		     struct api_fds *fds, struct api_response *r);
};

static const struct route routes[] = {
	{ .name = "vmm.ping", .kind = R_GET, .get = do_ping },
	{ .name = "vm.info", .kind = R_GET, .get = do_info },
	{ .name = "vm.counters", .kind = R_GET, .get = do_counters },
	{ .name = "vm.create", .kind = R_PUT_BODY, .body = do_create },
	{ .name = "vm.boot", .kind = R_PUT },
	{ .name = "vm.delete", .kind = R_PUT },
	{ .name = "vmm.shutdown", .kind = R_PUT },
	{ .name = "vm.pause", .kind = R_PUT },
	{ .name = "vm.resume", .kind = R_PUT },
	{ .name = "vm.shutdown", .kind = R_PUT },
	{ .name = "vm.reboot", .kind = R_PUT },
	{ .name = "vm.power-button", .kind = R_PUT },
	{ .name = "vm.nmi", .kind = R_PUT },
	{ .name = "vm.add-disk", .kind = R_PUT_BODY, .body = do_add_disk },
	{ .name = "vm.add-net", .kind = R_PUT_BODY, .body = do_add_net },
	{ .name = "vm.add-pmem", .kind = R_PUT_BODY, .body = do_add_pmem },
	{ .name = "vm.add-vsock", .kind = R_PUT_BODY, .body = do_add_vsock },
	{ .name = "vm.resize-disk", .kind = R_PUT_BODY, .body = do_resize_disk },
	{ .name = "vm.add-device", .kind = R_PUT_BODY, .body = do_add_device },
	{ .name = "vm.remove-device",
	  .kind = R_PUT_BODY,
	  .body = do_remove_device },
	{ .name = "vm.resize", .kind = R_PUT_BODY, .body = do_resize },
	{ .name = "vm.coredump", .kind = R_PUT_BODY, .body = do_coredump },
};

void api_handle(struct api *api, const char *method, const char *url,
		const char *body, size_t len, struct api_fds *fds,
		struct api_response *r)
{
	const struct route *rt = NULL;
	const char *want;

	*r = (struct api_response){ 0 };
	if (fds && fds->truncated) {
		respond_error(r, 400,
			      "more than %d file descriptors came with the "
			      "request",
			      API_MAX_FDS);
		return;
	}
	if (!strncmp(url, API_PREFIX, strlen(API_PREFIX))) {
		for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
			if (!strcmp(url + strlen(API_PREFIX), routes[i].name))
				rt = &routes[i];
	}
	if (!rt) {
		respond_error(r, 404, "no such endpoint: %s", url);
		return;
	}
	want = rt->kind == R_GET ? "GET" : "PUT";
	if (strcmp(method, want)) {
		respond_error(r, 405, "%s takes %s, not %s", rt->name, want,
			      method);
		return;
	}
	switch (rt->kind) {
	case R_GET:
		rt->get(api, r);
		break;
	case R_PUT: {
		char err[API_ERR_LEN] = "";

		respond_status(r, put_action(api, rt->name, err), err);
		break;
	}
	case R_PUT_BODY:
		rt->body(api, body, len, fds, r);
		break;
	}
}

#else /* !HAVE_LIBCJSON */

void api_counter(struct api_counters *c, const char *dev, const char *name,
		 uint64_t value)
{
}

void api_handle(struct api *api, const char *method, const char *url,
		const char *body, size_t len, struct api_fds *fds,
		struct api_response *r)
{
	*r = (struct api_response){ .status = 500 };
}

#endif
