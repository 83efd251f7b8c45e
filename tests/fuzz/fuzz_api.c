// SPDX-License-Identifier: GPL-2.0
/*
 * The control API's request layer (api/api.c), as an orchestrator reaches
 * it: the first byte picks the endpoint and method, the rest is the body.
 * The VMM behind it is a fake that reads every string a request hands it,
 * so a string not terminated or freed too early shows under ASan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "backend/net.h"
#include "config.h"
#include "util/log.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum api_vm_state fz_state_now;
static size_t sink;

static void touch(const char *s)
{
	if (s)
		sink += strlen(s);
}

static enum api_vm_state f_state(void *o)
{
	return fz_state_now;
}

static int f_create(void *o, struct vm_config *c, char *err)
{
	touch(c->kernel);
	touch(c->initrd);
	touch(c->cmdline);
	touch(c->vsock.socket);
	for (unsigned int i = 0; i < c->nr_disks; i++)
		touch(c->disks[i].path);
	for (unsigned int i = 0; i < c->nr_vfio; i++)
		touch(c->vfio[i].path);
	for (unsigned int i = 0; i < c->nr_nets; i++)
		touch(c->nets[i].ifname);
	for (unsigned int i = 0; i < c->nr_pmems; i++)
		touch(c->pmems[i].path);
	return 204;
}

static int f_action(void *o, char *err)
{
	return 204;
}

static void f_counters(void *o, struct api_counters *c)
{
	api_counter(c, "_vcpu0", "exits_io", 1);
}

static int f_add_disk(void *o, const struct disk_config *d, const char *id,
		      char *out_id, char *out_bdf, char *err)
{
	touch(d->path);
	touch(id);
	strcpy(out_id, "_disk0");
	strcpy(out_bdf, "0000:00:05.0");
	return 200;
}

static int f_add_net(void *o, const struct net_options *n, const char *id,
		     char *out_id, char *out_bdf, char *err)
{
	touch(n->ifname);
	touch(id);
	strcpy(out_id, "_net0");
	strcpy(out_bdf, "0000:00:06.0");
	return 200;
}

static int f_add_pmem(void *o, const struct pmem_config *p, const char *id,
		      char *out_id, char *out_bdf, char *err)
{
	touch(p->path);
	touch(id);
	strcpy(out_id, "_pmem0");
	strcpy(out_bdf, "0000:00:07.0");
	return 200;
}

static int f_add_vsock(void *o, const struct vsock_config *v, const char *id,
		       char *out_id, char *out_bdf, char *err)
{
	touch(v->socket);
	touch(id);
	snprintf(err, API_ERR_LEN, "the VM has a vsock device");
	return v->cid & 1 ? 409 : 204;
}

static int f_resize_disk(void *o, const char *id, uint64_t bytes, char *err)
{
	touch(id);
	snprintf(err, API_ERR_LEN, "no such disk");
	return bytes & 1 ? 404 : 204;
}

static int f_coredump(void *o, const char *path, char *err)
{
	touch(path);
	snprintf(err, API_ERR_LEN, "the VM is not paused");
	return path[1] & 1 ? 405 : 204;
}

static int f_add_device(void *o, const char *path, const char *id, char *out_id,
			char *out_bdf, char *err)
{
	touch(path);
	touch(id);
	snprintf(err, API_ERR_LEN, "no such device");
	return 400;
}

static int f_remove(void *o, const char *id, char *err)
{
	touch(id);
	return 204;
}

static int f_resize(void *o, unsigned int vcpus, uint64_t ram, char *err)
{
	return vcpus > 255 ? 500 : 204;
}

static int f_balloon(void *o, uint64_t bytes, char *err)
{
	return bytes & 1 ? 400 : 204;
}

static uint64_t f_balloon_actual(void *o)
{
	return 4096;
}

static const struct api_ops fz_ops = {
	.state = f_state,
	.create = f_create,
	.boot = f_action,
	.delete_vm = f_action,
	.shutdown_vmm = f_action,
	.pause = f_action,
	.resume = f_action,
	.shutdown = f_action,
	.reboot = f_action,
	.power_button = f_action,
	.nmi = f_action,
	.counters = f_counters,
	.add_disk = f_add_disk,
	.add_net = f_add_net,
	.add_pmem = f_add_pmem,
	.add_vsock = f_add_vsock,
	.resize_disk = f_resize_disk,
	.coredump = f_coredump,
	.add_device = f_add_device,
	.remove_device = f_remove,
	.resize = f_resize,
	.balloon = f_balloon,
	.balloon_actual = f_balloon_actual,
};

static const char *const endpoints[] = {
	"vm.create",	    "vm.add-disk", "vm.add-net",   "vm.add-device",
	"vm.remove-device", "vm.info",	   "vmm.ping",	   "vm.counters",
	"vm.boot",	    "vm.delete",   "vmm.shutdown", "vm.pause",
	"vm.resume",	    "vm.shutdown", "vm.reboot",	   "vm.power-button",
	"vm.resize",	    "vm.nmi",	   "vm.add-pmem",  "vm.add-vsock",
	"vm.resize-disk",   "vm.coredump",
};
#define NR_ENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm_config cfg;
	struct api api = { .ops = &fz_ops, .cfg = &cfg };
	struct api_response r;
	struct api_fds fds;
	char url[64];
	uint8_t sel;

	log_level = getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_QUIET;
	if (!size || size > API_MAX_BODY + 1)
		return 0;
	sel = data[0];
	if (!cfg.nr_cpus) {
		config_vm_defaults(&cfg);
		cfg.kernel = "/k";
		cfg.nr_disks = 1;
		cfg.disks[0] = config_disk_defaults();
		cfg.disks[0].path = "/d.img";
	}
	/*
	 * Bits 0-4: the endpoint, PUT; past the list, GET on one of its
	 * first; 5-6: the VM's state.
	 */
	fz_state_now = (enum api_vm_state)((sel >> 5) & 3);
	snprintf(url, sizeof(url), "/api/v1/%s",
		 endpoints[(sel & 31) % NR_ENDPOINTS]);
	/* Bit 7: a descriptor comes with the request (vm.add-net's tap). */
	fds = (struct api_fds){ .nr = sel >> 7, .fd = { STDIN_FILENO } };
	api_handle(&api, (sel & 31) >= NR_ENDPOINTS ? "GET" : "PUT", url,
		   size > 1 ? (const char *)data + 1 : NULL, size - 1, &fds,
		   &r);
	free(r.body);
	return 0;
}
