// SPDX-License-Identifier: GPL-2.0
/*
 * The control API's request layer (api_handle()) with fake VMM actions:
 * routing, methods, JSON bodies and their validation, statuses. Then one
 * round trip through the HTTP server on a UNIX socket. No KVM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "backend/net.h"
#include "config.h"
#include "util/log.h"
#include "version.h"

static struct {
	enum api_vm_state state;
	unsigned int pauses, resumes, shutdowns, reboots, buttons, nmis;
	struct disk_config disk;
	char disk_id[API_ID_LEN];
	char disk_path[64];
	struct net_options net;
	ino_t net_fd_ino;
	int add_net_status; /* 0: 200 */
	char removed[API_ID_LEN];
	char device_path[128];
	/* vm.create's config, its strings copied as the VMM must */
	struct vm_config created;
	char kernel[64], initrd[64], cmdline[128], disk0[64], vfio0[128];
	char pmem0[64];
	char vsock_socket[64];
	/* vm.add-pmem's and vm.add-vsock's, strings copied */
	struct pmem_config pmem;
	struct vsock_config vsock;
	char added_id[API_ID_LEN], added_path[64];
	unsigned int creates, boots, deletes, vmm_shutdowns;
	unsigned int resizes, want_vcpus;
	uint64_t want_ram, want_disk_size;
	char core_path[128];
	unsigned int balloons;
	uint64_t want_balloon, balloon_actual;
} fake;

static enum api_vm_state f_state(void *o)
{
	return fake.state;
}

static int f_pause(void *o, char *err)
{
	if (fake.state != API_VM_RUNNING) {
		snprintf(err, API_ERR_LEN, "the VM is not running");
		return 405;
	}
	fake.state = API_VM_PAUSED;
	fake.pauses++;
	return 204;
}

static int f_resume(void *o, char *err)
{
	if (fake.state != API_VM_PAUSED) {
		snprintf(err, API_ERR_LEN, "the VM is not paused");
		return 405;
	}
	fake.state = API_VM_RUNNING;
	fake.resumes++;
	return 204;
}

static int f_shutdown(void *o, char *err)
{
	fake.shutdowns++;
	return 204;
}

static int f_reboot(void *o, char *err)
{
	fake.reboots++;
	return 204;
}

static int f_button(void *o, char *err)
{
	fake.buttons++;
	return 204;
}

static int f_nmi(void *o, char *err)
{
	fake.nmis++;
	return 204;
}

static void f_counters(void *o, struct api_counters *c)
{
	api_counter(c, "_vcpu0", "exits_io", 42);
	api_counter(c, "_vcpu0", "exits_mmio", 7);
}

static int f_add_disk(void *o, const struct disk_config *d, const char *id,
		      char *out_id, char *out_bdf, char *err)
{
	fake.disk = *d;
	/* The body's strings go with the request: keep a copy. */
	snprintf(fake.disk_path, sizeof(fake.disk_path), "%s", d->path);
	fake.disk.path = fake.disk_path;
	strcpy(fake.disk_id, id);
	strcpy(out_id, id[0] ? id : "_disk9");
	strcpy(out_bdf, "0000:00:05.0");
	return 200;
}

static int f_add_net(void *o, const struct net_options *n, const char *id,
		     char *out_id, char *out_bdf, char *err)
{
	fake.net = *n;
	fake.net_fd_ino = 0;
	for (unsigned int i = 0; i < n->nr_fds; i++) {
		struct stat st;

		/* The descriptors must be usable during the call. */
		assert_int_equal(fstat(n->fds[i], &st), 0);
		fake.net_fd_ino = st.st_ino;
	}
	if (fake.add_net_status == 204)
		return 204;
	if (fake.add_net_status) {
		strcpy(err, "refused");
		return fake.add_net_status;
	}
	strcpy(out_id, "_net1");
	strcpy(out_bdf, "0000:00:06.0");
	return 200;
}

static int f_add_pmem(void *o, const struct pmem_config *p, const char *id,
		      char *out_id, char *out_bdf, char *err)
{
	fake.pmem = *p;
	snprintf(fake.added_path, sizeof(fake.added_path), "%s", p->path);
	fake.pmem.path = fake.added_path;
	strcpy(fake.added_id, id);
	strcpy(out_id, id[0] ? id : "_pmem1");
	strcpy(out_bdf, "0000:00:08.0");
	return 200;
}

static int f_add_vsock(void *o, const struct vsock_config *v, const char *id,
		       char *out_id, char *out_bdf, char *err)
{
	if (v->cid == 99) {
		strcpy(err, "the VM has a vsock device");
		return 409;
	}
	fake.vsock = *v;
	snprintf(fake.added_path, sizeof(fake.added_path), "%s", v->socket);
	fake.vsock.socket = fake.added_path;
	strcpy(fake.added_id, id);
	strcpy(out_id, id[0] ? id : "_vsock0");
	strcpy(out_bdf, "0000:00:09.0");
	return 200;
}

static int f_resize_disk(void *o, const char *id, uint64_t bytes, char *err)
{
	if (strcmp(id, "_disk0")) {
		snprintf(err, API_ERR_LEN, "no disk '%s'", id);
		return 404;
	}
	fake.want_disk_size = bytes;
	return 204;
}

static int f_coredump(void *o, const char *path, char *err)
{
	if (fake.state != API_VM_PAUSED) {
		snprintf(err, API_ERR_LEN, "the VM is not paused");
		return 405;
	}
	snprintf(fake.core_path, sizeof(fake.core_path), "%s", path);
	return 204;
}

static int f_add_device(void *o, const char *path, const char *id, char *out_id,
			char *out_bdf, char *err)
{
	if (strncmp(path, "/sys/bus/pci/devices/", 21)) {
		snprintf(err, API_ERR_LEN, "%s is not a PCI function", path);
		return 400;
	}
	snprintf(fake.device_path, sizeof(fake.device_path), "%s", path);
	strcpy(out_id, "_vfio0");
	strcpy(out_bdf, "0000:00:07.0");
	return 200;
}

static int f_remove(void *o, const char *id, char *err)
{
	if (strcmp(id, "_disk0")) {
		snprintf(err, API_ERR_LEN, "no device '%s'", id);
		return 404;
	}
	strcpy(fake.removed, id);
	return 204;
}

/* As main.c's: max_vcpus 4 for this VM, RAM as cfg's. */
/* A VM with 1 GiB of RAM and a balloon. */
static int f_balloon(void *o, uint64_t bytes, char *err)
{
	if (bytes >= (1ull << 30)) {
		snprintf(err, API_ERR_LEN, "desired_balloon %llu is not below",
			 (unsigned long long)bytes);
		return 400;
	}
	fake.balloons++;
	fake.want_balloon = bytes;
	return 204;
}

static uint64_t f_balloon_actual(void *o)
{
	return fake.balloon_actual;
}

static int f_resize(void *o, unsigned int vcpus, uint64_t ram, char *err)
{
	if (vcpus > 4) {
		snprintf(err, API_ERR_LEN, "desired_vcpus %u is above 4",
			 vcpus);
		return 400;
	}
	fake.resizes++;
	fake.want_vcpus = vcpus;
	fake.want_ram = ram;
	return 204;
}

static void keep(char *dst, size_t len, const char **s)
{
	if (*s) {
		snprintf(dst, len, "%s", *s);
		*s = dst;
	}
}

static int f_create(void *o, struct vm_config *c, char *err)
{
	if (fake.creates) {
		snprintf(err, API_ERR_LEN, "a VM is created already");
		return 405;
	}
	fake.created = *c;
	keep(fake.kernel, sizeof(fake.kernel), &fake.created.kernel);
	keep(fake.initrd, sizeof(fake.initrd), &fake.created.initrd);
	keep(fake.cmdline, sizeof(fake.cmdline), &fake.created.cmdline);
	keep(fake.disk0, sizeof(fake.disk0), &fake.created.disks[0].path);
	keep(fake.vfio0, sizeof(fake.vfio0), &fake.created.vfio[0].path);
	keep(fake.pmem0, sizeof(fake.pmem0), &fake.created.pmems[0].path);
	keep(fake.vsock_socket, sizeof(fake.vsock_socket),
	     &fake.created.vsock.socket);
	fake.creates++;
	return 204;
}

static int f_boot(void *o, char *err)
{
	fake.boots++;
	return 204;
}

static int f_delete(void *o, char *err)
{
	fake.deletes++;
	return 204;
}

static int f_shutdown_vmm(void *o, char *err)
{
	fake.vmm_shutdowns++;
	return 204;
}

static const struct api_ops fake_ops = {
	.state = f_state,
	.create = f_create,
	.boot = f_boot,
	.delete_vm = f_delete,
	.shutdown_vmm = f_shutdown_vmm,
	.pause = f_pause,
	.resume = f_resume,
	.shutdown = f_shutdown,
	.reboot = f_reboot,
	.power_button = f_button,
	.nmi = f_nmi,
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

static struct vm_config cfg = {
	.kernel = "/boot/vmlinuz",
	.cmdline = "console=ttyS0",
	.nr_cpus = 2,
	.max_cpus = 4,
	.ram_size = 256ull << 20,
	.nr_disks = 1,
	.disks = { { .path = "/tmp/d.img", .readonly = true, .nr_queues = 1 } },
};

static struct api api = { .ops = &fake_ops, .cfg = &cfg };

static int setup(void **state)
{
	memset(&fake, 0, sizeof(fake));
	fake.state = API_VM_RUNNING;
	return 0;
}

/* One request; returns the status, the body in *body (free it). */
static unsigned int req(const char *method, const char *path, const char *json,
			char **body)
{
	struct api_response r;

	api_handle(&api, method, path, json, json ? strlen(json) : 0, NULL, &r);
	if (body)
		*body = r.body;
	else
		free(r.body);
	return r.status;
}

static void assert_error(const char *method, const char *path, const char *json,
			 unsigned int status, const char *msg)
{
	char *body;

	assert_int_equal(req(method, path, json, &body), status);
	assert_non_null(body);
	if (!strstr(body, "\"error\"") || !strstr(body, msg))
		fail_msg("no error '%s' in %s", msg, body);
	free(body);
}

static void test_ping(void **state)
{
	char *body;
	char pid[32], want[128];

	assert_int_equal(req("GET", "/api/v1/vmm.ping", NULL, &body), 200);
	snprintf(want, sizeof(want), "\"version\":\"%s\"", devisor_version);
	assert_non_null(strstr(body, want));
	snprintf(want, sizeof(want), "\"build_version\":\"%s\"",
		 devisor_version);
	assert_non_null(strstr(body, want));
	snprintf(pid, sizeof(pid), "\"pid\":%d", getpid());
	assert_non_null(strstr(body, pid));
	free(body);
}

static void test_unknown_path(void **state)
{
	assert_error("GET", "/api/v1/vm.frobnicate", NULL, 404, "no such");
	assert_error("GET", "/vmm.ping", NULL, 404, "no such");
	assert_error("GET", "/api/v1/", NULL, 404, "no such");
	assert_error("PUT", "/api/v1/vm.add-fs", "{}", 404, "no such");
}

static void test_wrong_method(void **state)
{
	assert_error("PUT", "/api/v1/vmm.ping", NULL, 405, "takes GET");
	assert_error("GET", "/api/v1/vm.pause", NULL, 405, "takes PUT");
	assert_error("POST", "/api/v1/vm.info", NULL, 405, "not POST");
	assert_error("DELETE", "/api/v1/vm.add-disk", NULL, 405, "takes PUT");
	assert_int_equal(fake.pauses, 0);
}

static void test_info(void **state)
{
	char *body;

	assert_int_equal(req("GET", "/api/v1/vm.info", NULL, &body), 200);
	assert_non_null(strstr(body, "\"state\":\"Running\""));
	assert_non_null(strstr(body, "\"boot_vcpus\":2,\"max_vcpus\":4"));
	assert_non_null(strstr(body, "\"size\":268435456"));
	assert_non_null(strstr(body, "\"kernel\":\"/boot/vmlinuz\""));
	assert_non_null(strstr(body, "\"path\":\"/tmp/d.img\""));
	assert_non_null(strstr(body, "\"id\":\"_disk0\""));
	assert_non_null(strstr(body, "\"memory_actual_size\":268435456"));
	assert_null(strstr(body, "\"balloon\""));
	assert_null(strstr(body, "rate_limiter_config"));
	free(body);
	cfg.disks[0].rate_limit.ops = (struct token_bucket_config){
		.size = 100, .one_time_burst = 10, .refill_ms = 1000
	};
	assert_int_equal(req("GET", "/api/v1/vm.info", NULL, &body), 200);
	assert_non_null(strstr(body, "\"rate_limiter_config\":{\"ops\":{"
				     "\"size\":100,\"one_time_burst\":10,"
				     "\"refill_time\":1000}}"));
	free(body);
	cfg.disks[0].rate_limit = (struct rate_limit_config){ 0 };
	/* What the balloon holds is not the guest's. */
	cfg.balloon = (struct balloon_config){ .enabled = true,
					       .size = 1 << 20,
					       .deflate_on_oom = true };
	fake.balloon_actual = 4096;
	assert_int_equal(req("GET", "/api/v1/vm.info", NULL, &body), 200);
	assert_non_null(strstr(body, "\"balloon\":{\"size\":1048576,"
				     "\"deflate_on_oom\":true,"
				     "\"free_page_reporting\":false}"));
	assert_non_null(strstr(body, "\"memory_actual_size\":268431360"));
	free(body);
	cfg.balloon = (struct balloon_config){ 0 };
	fake.balloon_actual = 0;
	fake.state = API_VM_PAUSED;
	assert_int_equal(req("GET", "/api/v1/vm.info", NULL, &body), 200);
	assert_non_null(strstr(body, "\"state\":\"Paused\""));
	free(body);
}

static void test_info_no_vm(void **state)
{
	fake.state = API_VM_NONE;
	assert_error("GET", "/api/v1/vm.info", NULL, 404, "vm.create first");
}

static void test_lifecycle(void **state)
{
	assert_int_equal(req("PUT", "/api/v1/vm.boot", NULL, NULL), 204);
	assert_int_equal(req("PUT", "/api/v1/vm.delete", NULL, NULL), 204);
	assert_int_equal(req("PUT", "/api/v1/vmm.shutdown", NULL, NULL), 204);
	assert_error("GET", "/api/v1/vm.boot", NULL, 405, "takes PUT");
	assert_error("GET", "/api/v1/vm.create", NULL, 405, "takes PUT");
	assert_int_equal(fake.boots, 1);
	assert_int_equal(fake.deletes, 1);
	assert_int_equal(fake.vmm_shutdowns, 1);
}

/* A VmConfig as an orchestrator writes it, every field devisor takes. */
static void test_create(void **state)
{
	const struct vm_config *c = &fake.created;

	assert_int_equal(
		req("PUT", "/api/v1/vm.create",
		    "{\"payload\":{\"kernel\":\"/k\",\"initramfs\":\"/i\","
		    "\"cmdline\":\"console=hvc0 quiet\"},"
		    "\"cpus\":{\"boot_vcpus\":3,\"max_vcpus\":8,"
		    "\"topology\":{\"threads_per_core\":1,\"cores_per_die\":8,"
		    "\"dies_per_package\":1,\"packages\":1},"
		    "\"kvm_hyperv\":false},"
		    "\"memory\":{\"size\":1073741824,\"shared\":true,"
		    "\"hugepages\":false,\"thp\":true,\"hotplug_size\":0},"
		    "\"disks\":[{\"path\":\"/d.img\",\"readonly\":true,"
		    "\"num_queues\":2,\"pci_segment\":0,\"iommu\":false,"
		    "\"id\":\"root\"}],"
		    "\"net\":[{\"tap\":\"tap7\",\"mac\":\"52:54:00:01:02:03\","
		    "\"id\":\"eth-a\"}],"
		    "\"devices\":[{\"path\":\"/sys/bus/pci/devices/"
		    "0000:01:00.0\",\"id\":\"gpu.0\"}],"
		    "\"pmem\":[{\"file\":\"/p.img\",\"discard_writes\":true,"
		    "\"size\":2097152,\"iommu\":false,\"id\":\"\"}],"
		    "\"rng\":{\"src\":\"/dev/urandom\"},"
		    "\"serial\":{\"mode\":\"Null\"},\"console\":{\"mode\":\"Tty\"},"
		    "\"vsock\":{\"cid\":42,\"socket\":\"/v.sock\","
		    "\"id\":\"vs\"},"
		    "\"platform\":{\"serial_number\":\"S-1\",\"uuid\":"
		    "\"01234567-89ab-cdef-0011-223344556677\"},"
		    "\"balloon\":{\"size\":268435456,"
		    "\"free_page_reporting\":true},"
		    "\"iommu\":false,\"watchdog\":false}",
		    NULL),
		204);
	assert_int_equal(fake.creates, 1);
	assert_true(c->balloon.enabled);
	assert_int_equal(c->balloon.size, 268435456);
	assert_true(c->balloon.free_page_reporting);
	assert_false(c->balloon.deflate_on_oom);
	assert_string_equal(c->kernel, "/k");
	assert_string_equal(c->initrd, "/i");
	assert_string_equal(c->cmdline, "console=hvc0 quiet");
	assert_int_equal(c->nr_cpus, 3);
	assert_int_equal(c->max_cpus, 8);
	assert_int_equal(c->nr_pmems, 1);
	assert_string_equal(c->pmems[0].path, "/p.img");
	assert_true(c->pmems[0].discard_writes);
	assert_int_equal(c->pmems[0].size, 2097152);
	assert_int_equal(c->ram_size, 1ull << 30);
	assert_true(c->ram_shared);
	assert_int_equal(c->nr_disks, 1);
	assert_string_equal(c->disks[0].path, "/d.img");
	assert_true(c->disks[0].readonly);
	assert_int_equal(c->disks[0].nr_queues, 2);
	assert_int_equal(c->disks[0].transport, TRANSPORT_PCI);
	assert_string_equal(c->disks[0].id, "root");
	assert_string_equal(c->net_ids[0], "eth-a");
	assert_string_equal(c->vfio[0].id, "gpu.0");
	assert_int_equal(c->nr_nets, 1);
	assert_int_equal(c->nets[0].type, NET_TAP);
	assert_string_equal(c->nets[0].ifname, "tap7");
	assert_true(c->nets[0].has_mac);
	assert_int_equal(c->nets[0].mac[5], 3);
	assert_int_equal(c->net_addrs[0], CONFIG_PCI_AUTO);
	assert_int_equal(c->nr_vfio, 1);
	assert_string_equal(c->vfio[0].path,
			    "/sys/bus/pci/devices/0000:01:00.0");
	assert_true(c->rng);
	assert_true(c->serial_null);
	assert_true(c->virtio_console);
	assert_true(c->vsock.enabled);
	assert_int_equal(c->vsock.cid, 42);
	assert_string_equal(c->vsock.socket, "/v.sock");
	assert_string_equal(c->vsock.id, "vs");
	assert_string_equal(c->pmems[0].id, "");
	assert_string_equal(c->platform.serial, "S-1");
	assert_int_equal(c->platform.uuid[0], 0x01);
	assert_int_equal(c->platform.uuid[15], 0x77);
	assert_int_equal(c->iommu.kind, IOMMU_NONE);

	/* The least: a kernel; the rest as the command line's defaults. */
	fake.creates = 0;
	assert_int_equal(req("PUT", "/api/v1/vm.create",
			     "{\"payload\":{\"kernel\":\"/k\"}}", NULL),
			 204);
	assert_int_equal(c->nr_cpus, 1);
	assert_int_equal(c->ram_size, 512ull << 20);
	assert_null(c->cmdline);
	assert_false(c->serial_null);
	assert_false(c->virtio_console);
	assert_false(c->rng);
	assert_int_equal(c->nr_disks, 0);
	/* The VMM's own refusal comes back as it gave it. */
	assert_error("PUT", "/api/v1/vm.create",
		     "{\"payload\":{\"kernel\":\"/k\"}}", 405,
		     "created already");
}

static void test_create_bad(void **state)
{
	static const struct {
		const char *body, *msg;
	} bad[] = {
		{ "{}", "payload.kernel is required" },
		{ "{\"payload\":{\"firmware\":\"/fw\"}}",
		  "'firmware' is not supported" },
		{ "{\"payload\":{\"kernel\":\"\"}}", "non-empty string" },
		{ "{\"payload\":[]}", "must be an object" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"fs\":[]}",
		  "'fs' is not supported" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"cpus\":{\"boot_vcpus\":0}}",
		  "an integer from 1 to 255" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"cpus\":{\"boot_vcpus\":1.5}}",
		  "an integer from 1 to 255" },
		{ "{\"payload\":{\"kernel\":\"/k\"},"
		  "\"cpus\":{\"boot_vcpus\":4,\"max_vcpus\":2}}",
		  "below boot_vcpus" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"cpus\":{\"kvm_hyperv\":true}}",
		  "Hyper-V" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"cpus\":{\"boot_vcpus\":2,"
		  "\"topology\":{\"threads_per_core\":2,\"cores_per_die\":1}}}",
		  "every vCPU a core of its own" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"memory\":{\"size\":4096}}",
		  "too small" },
		{ "{\"payload\":{\"kernel\":\"/k\"},"
		  "\"memory\":{\"size\":16777217}}",
		  "not a multiple of 4K" },
		{ "{\"payload\":{\"kernel\":\"/k\"},"
		  "\"memory\":{\"size\":-1}}",
		  "an integer from 0" },
		{ "{\"payload\":{\"kernel\":\"/k\"},"
		  "\"memory\":{\"hugepages\":true}}",
		  "'hugepages' must be false" },
		{ "{\"payload\":{\"kernel\":\"/k\"},"
		  "\"memory\":{\"hotplug_method\":\"Dimm\"}}",
		  "field 'hotplug_method' must be \\\"Acpi\\\" or" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"pmem\":[{}]}",
		  "PmemConfig 0: field 'file' is required" },
		{ "{\"payload\":{\"kernel\":\"/k\"},"
		  "\"pmem\":[{\"file\":\"/p\",\"id\":\"_p0\"}]}",
		  "devisor's own" },
		{ "{\"payload\":{\"kernel\":\"/k\"},"
		  "\"pmem\":[{\"file\":\"/p\",\"discard_writes\":1}]}",
		  "'discard_writes' must be a boolean" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"pmem\":[{\"file\":\"/1\"},"
		  "{\"file\":\"/2\"},{\"file\":\"/3\"},{\"file\":\"/4\"},"
		  "{\"file\":\"/5\"}]}",
		  "at most 4 pmem" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"disks\":{}}",
		  "must be an array" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"disks\":[1]}",
		  "an array of objects" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"disks\":[{}]}",
		  "'path' is required" },
		{ "{\"payload\":{\"kernel\":\"/k\"},"
		  "\"disks\":[{\"path\":\"/d\",\"id\":\"_disk3\"}]}",
		  "devisor's own" },
		{ "{\"payload\":{\"kernel\":\"/k\"},"
		  "\"net\":[{\"tap\":\"t\",\"id\":\"a b\"}]}",
		  "has a ' '" },
		{ "{\"payload\":{\"kernel\":\"/k\"},"
		  "\"disks\":[{\"path\":\"/d\",\"vhost_user\":true}]}",
		  "'vhost_user' is not supported" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"net\":[{\"mac\":"
		  "\"52:54:00:00:00:01\"}]}",
		  "'tap' is required" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"net\":[{\"tap\":\"t\","
		  "\"ip\":\"192.168.1.1\"}]}",
		  "'ip' must be" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"rng\":{\"src\":\"/dev/hwrng\"}}",
		  "getrandom" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"serial\":{\"mode\":\"Pty\"}}",
		  "serial mode 'Pty'" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"console\":{\"mode\":\"File\"}}",
		  "console mode 'File'" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"vsock\":{\"cid\":2,"
		  "\"socket\":\"/v\"}}",
		  "an integer from 3" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"vsock\":{\"cid\":3}}",
		  "cid and socket are required" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"platform\":{\"uuid\":\"x\"}}",
		  "a UUID" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"iommu\":true}",
		  "'iommu' is not supported" },
		{ "{\"payload\":{\"kernel\":\"/k\"},\"watchdog\":true}",
		  "no such device" },
		{ "[1,2]", "must be a JSON object" },
	};
	char list[64 * 8];

	/* 17 disks: one more than a VM takes. */
	strcpy(list, "{\"payload\":{\"kernel\":\"/k\"},\"disks\":[");
	for (int i = 0; i <= CONFIG_MAX_DISKS; i++)
		strcat(list, i ? ",{\"path\":\"/d\"}" : "{\"path\":\"/d\"}");
	strcat(list, "]}");
	assert_error("PUT", "/api/v1/vm.create", list, 400, "at most 16 disks");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *body;

		if (req("PUT", "/api/v1/vm.create", bad[i].body, &body) !=
			    400 ||
		    !body || !strstr(body, bad[i].msg))
			fail_msg("%s: got %s, want 400 with '%s'", bad[i].body,
				 body ? body : "no body", bad[i].msg);
		free(body);
	}
	assert_int_equal(fake.creates, 0);
}

static void test_pause_resume(void **state)
{
	char *body;

	assert_int_equal(req("PUT", "/api/v1/vm.pause", NULL, &body), 204);
	assert_null(body);
	assert_error("PUT", "/api/v1/vm.pause", NULL, 405, "not running");
	assert_int_equal(req("PUT", "/api/v1/vm.resume", NULL, NULL), 204);
	assert_error("PUT", "/api/v1/vm.resume", NULL, 405, "not paused");
	assert_int_equal(fake.pauses, 1);
	assert_int_equal(fake.resumes, 1);
}

static void test_actions(void **state)
{
	assert_int_equal(req("PUT", "/api/v1/vm.shutdown", NULL, NULL), 204);
	assert_int_equal(req("PUT", "/api/v1/vm.reboot", NULL, NULL), 204);
	assert_int_equal(req("PUT", "/api/v1/vm.power-button", NULL, NULL),
			 204);
	assert_int_equal(req("PUT", "/api/v1/vm.nmi", NULL, NULL), 204);
	assert_error("GET", "/api/v1/vm.nmi", NULL, 405, "vm.nmi takes PUT");
	assert_int_equal(fake.shutdowns, 1);
	assert_int_equal(fake.reboots, 1);
	assert_int_equal(fake.buttons, 1);
	assert_int_equal(fake.nmis, 1);
}

static void test_counters(void **state)
{
	char *body;

	assert_int_equal(req("GET", "/api/v1/vm.counters", NULL, &body), 200);
	assert_string_equal(body,
			    "{\"_vcpu0\":{\"exits_io\":42,\"exits_mmio\":7}}");
	free(body);
}

static void test_add_disk(void **state)
{
	char *body;

	assert_int_equal(req("PUT", "/api/v1/vm.add-disk",
			     "{\"path\":\"/x.img\",\"readonly\":true,"
			     "\"id\":\"d1\",\"num_queues\":2,"
			     "\"pci_segment\":0,\"iommu\":false}",
			     &body),
			 200);
	assert_non_null(
		strstr(body, "{\"id\":\"d1\",\"bdf\":\"0000:00:05.0\"}"));
	free(body);
	assert_string_equal(fake.disk.path, "/x.img");
	assert_true(fake.disk.readonly);
	assert_int_equal(fake.disk.nr_queues, 2);
	assert_string_equal(fake.disk_id, "d1");
	assert_false(rate_limit_config_active(&fake.disk.rate_limit));

	/* Cloud Hypervisor's RateLimiterConfig (Kata's disk limits). */
	assert_int_equal(req("PUT", "/api/v1/vm.add-disk",
			     "{\"path\":\"/y.img\",\"rate_limiter_config\":"
			     "{\"bandwidth\":{\"size\":1048576,"
			     "\"one_time_burst\":0,\"refill_time\":100},"
			     "\"ops\":{\"size\":50,\"refill_time\":1000}}}",
			     &body),
			 200);
	free(body);
	assert_int_equal(fake.disk.rate_limit.bw.size, 1048576);
	assert_int_equal(fake.disk.rate_limit.bw.refill_ms, 100);
	assert_int_equal(fake.disk.rate_limit.ops.size, 50);
	assert_int_equal(fake.disk.rate_limit.ops.refill_ms, 1000);
}

static void test_add_pmem_vsock(void **state)
{
	const char *pm = "/api/v1/vm.add-pmem", *vs = "/api/v1/vm.add-vsock";
	char *body;

	assert_int_equal(req("PUT", pm,
			     "{\"file\":\"/p.img\",\"size\":4194304,"
			     "\"discard_writes\":true,\"iommu\":false,"
			     "\"pci_segment\":0,\"id\":\"pm1\"}",
			     &body),
			 200);
	assert_string_equal(body, "{\"id\":\"pm1\",\"bdf\":\"0000:00:08.0\"}");
	free(body);
	assert_string_equal(fake.pmem.path, "/p.img");
	assert_int_equal(fake.pmem.size, 4194304);
	assert_true(fake.pmem.discard_writes);
	assert_int_equal(fake.pmem.addr, CONFIG_PCI_AUTO);
	assert_string_equal(fake.added_id, "pm1");
	assert_int_equal(req("PUT", pm, "{\"file\":\"/q.img\"}", &body), 200);
	assert_string_equal(body,
			    "{\"id\":\"_pmem1\",\"bdf\":\"0000:00:08.0\"}");
	free(body);
	assert_false(fake.pmem.discard_writes);
	assert_string_equal(fake.added_id, "");
	assert_error("PUT", pm, "{}", 400, "field 'file' is required");
	assert_error("PUT", pm, "{\"file\":\"/p\",\"id\":\"_x\"}", 400,
		     "devisor's own");
	assert_error("PUT", pm, "{\"file\":\"/p\",\"iommu\":true}", 400,
		     "'iommu' is not supported");
	assert_error("PUT", pm, "{\"file\":\"/p\",\"mergeable\":true}", 400,
		     "field 'mergeable' is not supported");

	assert_int_equal(req("PUT", vs,
			     "{\"cid\":7,\"socket\":\"/v.sock\","
			     "\"id\":\"vs1\",\"iommu\":false,"
			     "\"pci_segment\":0}",
			     &body),
			 200);
	assert_string_equal(body, "{\"id\":\"vs1\",\"bdf\":\"0000:00:09.0\"}");
	free(body);
	assert_int_equal(fake.vsock.cid, 7);
	assert_string_equal(fake.vsock.socket, "/v.sock");
	assert_string_equal(fake.added_id, "vs1");
	assert_error("PUT", vs, "{\"cid\":7}", 400,
		     "'cid' and 'socket' are required");
	assert_error("PUT", vs, "{\"socket\":\"/v\"}", 400,
		     "'cid' and 'socket' are required");
	assert_error("PUT", vs, "{\"cid\":2,\"socket\":\"/v\"}", 400,
		     "an integer from 3");
	assert_error("PUT", vs, "{\"cid\":99,\"socket\":\"/v\"}", 409,
		     "has a vsock device");
}

static void test_resize_disk(void **state)
{
	const char *ep = "/api/v1/vm.resize-disk";

	assert_int_equal(req("PUT", ep,
			     "{\"id\":\"_disk0\",\"desired_size\":"
			     "4294967296}",
			     NULL),
			 204);
	assert_int_equal(fake.want_disk_size, 4294967296ull);
	assert_error("PUT", ep, "{\"id\":\"d9\",\"desired_size\":512}", 404,
		     "no disk 'd9'");
	assert_error("PUT", ep, "{\"id\":\"_disk0\"}", 400,
		     "'id' and 'desired_size' are required");
	assert_error("PUT", ep, "{\"desired_size\":512}", 400,
		     "'id' and 'desired_size' are required");
	assert_error("PUT", ep, "{\"id\":\"_disk0\",\"desired_size\":-1}", 400,
		     "'desired_size' must be an integer");
	assert_error("PUT", ep, "{\"id\":\"_disk0\",\"size\":5}", 400,
		     "field 'size' is not supported");
}

/* VmCoredumpData: a file:// URL with an absolute path, nothing else. */
static void test_coredump(void **state)
{
	const char *ep = "/api/v1/vm.coredump";

	fake.state = API_VM_PAUSED;
	assert_int_equal(req("PUT", ep,
			     "{\"destination_url\":\"file:///tmp/vm.core\"}",
			     NULL),
			 204);
	assert_string_equal(fake.core_path, "/tmp/vm.core");
	assert_error("PUT", ep, "{}", 400,
		     "field 'destination_url' is required");
	assert_error("PUT", ep, "{\"destination_url\":7}", 400,
		     "'destination_url' must be a string");
	assert_error("PUT", ep, "{\"destination_url\":\"/tmp/vm.core\"}", 400,
		     "is not a file:// URL");
	assert_error("PUT", ep, "{\"destination_url\":\"tcp://10.0.0.1:9\"}",
		     400, "is not a file:// URL");
	assert_error("PUT", ep, "{\"destination_url\":\"file://rel\"}", 400,
		     "is not a file:// URL with an absolute path");
	assert_error("PUT", ep, "{\"destination_url\":\"file:///c\",\"x\":1}",
		     400, "field 'x' is not supported");
	assert_error("GET", ep, NULL, 405, "");
	fake.state = API_VM_RUNNING;
	assert_error("PUT", ep, "{\"destination_url\":\"file:///tmp/c\"}", 405,
		     "not paused");
}

static void test_add_disk_bad(void **state)
{
	const char *ep = "/api/v1/vm.add-disk";

	assert_error("PUT", ep, NULL, 400, "needs a JSON body");
	assert_error("PUT", ep, "{\"path\":", 400, "not valid JSON");
	assert_error("PUT", ep, "[1,2]", 400, "must be a JSON object");
	assert_error("PUT", ep, "\"x\"", 400, "must be a JSON object");
	assert_error("PUT", ep, "{}", 400, "'path' is required");
	assert_error("PUT", ep, "{\"path\":3}", 400, "'path' must be");
	assert_error("PUT", ep, "{\"path\":\"\"}", 400, "'path' must be");
	assert_error("PUT", ep, "{\"path\":\"/x\",\"readonly\":\"yes\"}", 400,
		     "'readonly' must be a boolean");
	assert_error("PUT", ep, "{\"path\":\"/x\",\"vhost_socket\":\"/s\"}",
		     400, "field 'vhost_socket' is not supported");
	assert_error("PUT", ep, "{\"path\":\"/x\",\"pci_segment\":1}", 400,
		     "'pci_segment' must be 0");
	assert_error("PUT", ep, "{\"path\":\"/x\",\"iommu\":true}", 400,
		     "'iommu' is not supported");
	assert_error("PUT", ep, "{\"path\":\"/x\",\"num_queues\":0}", 400,
		     "'num_queues' must be");
	assert_error("PUT", ep, "{\"path\":\"/x\",\"num_queues\":1.5}", 400,
		     "'num_queues' must be");
	assert_error("PUT", ep,
		     "{\"path\":\"/x\",\"rate_limiter_config\":{\"ops\":"
		     "{\"size\":5}}}",
		     400,
		     "RateLimiterConfig: ops: a size without a refill time");
	assert_error("PUT", ep,
		     "{\"path\":\"/x\",\"rate_limiter_config\":{\"ops\":"
		     "{\"size\":-5,\"refill_time\":10}}}",
		     400, "'size' must be a whole number");
	assert_error("PUT", ep,
		     "{\"path\":\"/x\",\"rate_limiter_config\":{\"iops\":"
		     "{}}}",
		     400, "field 'iops' is not supported");
	assert_error("PUT", ep, "{\"path\":\"/x\",\"rate_limiter_config\":5}",
		     400, "'rate_limiter_config' must be an object");
	assert_error("PUT", ep,
		     "{\"path\":\"/x\",\"id\":"
		     "\"0123456789012345678901234567890123456789\"}",
		     400, "'id' takes");
	assert_null(fake.disk.path);
}

/*
 * vm.add-net with @json and @nr copies of descriptor @fd; for a NULL
 * @json, vmm.ping with more than fit. *@left is the first slot after the
 * call (-1: the action took it). The status; with @msg, the error must
 * have it.
 */
static unsigned int req_fd(const char *json, unsigned int nr, int fd, int *left,
			   const char *msg)
{
	struct api_fds fds = { .nr = nr, .fd = { fd, fd, fd, fd } };
	struct api_response r;

	fds.truncated = !json;
	if (json)
		api_handle(&api, "PUT", "/api/v1/vm.add-net", json,
			   strlen(json), &fds, &r);
	else
		api_handle(&api, "GET", "/api/v1/vmm.ping", NULL, 0, &fds, &r);
	if (msg) {
		assert_non_null(r.body);
		assert_non_null(strstr(r.body, msg));
	}
	if (r.status == 204)
		assert_null(r.body);
	free(r.body);
	*left = fds.fd[0];
	return r.status;
}

static void test_add_net(void **state)
{
	char *body;
	const char *ep = "/api/v1/vm.add-net";

	assert_int_equal(req("PUT", ep,
			     "{\"tap\":\"tap0\",\"mac\":\"52:54:00:12:34:56\"}",
			     &body),
			 200);
	assert_non_null(
		strstr(body, "{\"id\":\"_net1\",\"bdf\":\"0000:00:06.0\"}"));
	free(body);
	assert_string_equal(fake.net.ifname, "tap0");
	assert_true(fake.net.has_mac);
	assert_int_equal(fake.net.mac[5], 0x56);
	assert_error("PUT", ep, "{\"tap\":\"t\",\"mac\":\"52:54\"}", 400,
		     "'mac' must be a MAC");
	assert_error("PUT", ep, "{\"tap\":\"t\",\"ip\":\"10.0.0.1\"}", 400,
		     "field 'ip' must be");
	/* Two queues per pair: a multi-queue tap by name. */
	assert_int_equal(req("PUT", ep, "{\"tap\":\"tq\",\"num_queues\":4}",
			     &body),
			 200);
	free(body);
	assert_int_equal(fake.net.queues, 2);
	assert_int_equal(net_options_pairs(&fake.net), 2);
	assert_error("PUT", ep, "{\"tap\":\"t\",\"num_queues\":3}", 400,
		     "'num_queues' must be an even number of queues from 2 "
		     "to 16");
	assert_error("PUT", ep, "{\"tap\":\"t\",\"num_queues\":18}", 400,
		     "'num_queues' must be an even number");
	assert_error("PUT", ep, "{\"tap\":\"t\",\"num_queues\":\"4\"}", 400,
		     "'num_queues' must be an even number");
	assert_error("PUT", ep, "{\"tap\":\"t\",\"queue_size\":1024}", 400,
		     "'queue_size' must be 256");
	assert_error("PUT", ep, "{\"tap\":\"t\",\"host_mac\":\"x\"}", 400,
		     "field 'host_mac' is not supported");
	/*
	 * What Kata's generated client sends (NewNetConfig()'s defaults and
	 * a MAC), its tap's descriptor coming with the request.
	 */
	{
		static const char kata[] =
			"{\"ip\":\"192.168.249.1\",\"mask\":\"255.255.255.0\","
			"\"mac\":\"02:00:ca:fe:00:01\",\"iommu\":false,"
			"\"num_queues\":2,\"queue_size\":256,"
			"\"vhost_user\":false,\"vhost_mode\":\"Client\","
			"\"pci_segment\":0}";
		struct stat st;
		int p[2], left;

		assert_int_equal(pipe(p), 0);
		assert_int_equal(fstat(p[0], &st), 0);
		assert_int_equal(req_fd(kata, 1, p[0], &left, NULL), 200);
		assert_int_equal(fake.net.nr_fds, 1);
		assert_int_equal(fake.net.fds[0], p[0]);
		assert_int_equal(fake.net_fd_ino, st.st_ino);
		assert_string_equal(fake.net.ifname, "");
		assert_int_equal(fake.net.mac[5], 0x01);
		/* Taken: the server must not close it. */
		assert_int_equal(left, -1);

		/* A VM not booted takes it into its config: 204. */
		fake.add_net_status = 204;
		assert_int_equal(req_fd("{}", 1, p[0], &left, NULL), 204);
		assert_int_equal(left, -1);

		/* Refused: still the caller's, to close. */
		fake.add_net_status = 500;
		assert_int_equal(req_fd("{}", 1, p[0], &left, NULL), 500);
		assert_int_equal(left, p[0]);
		fake.add_net_status = 0;

		/* One per pair: two for num_queues 4, as Cloud Hypervisor. */
		assert_int_equal(req_fd("{\"num_queues\":4}", 2, p[0], &left,
					NULL),
				 200);
		assert_int_equal(fake.net.nr_fds, 2);
		assert_int_equal(net_options_pairs(&fake.net), 2);
		assert_int_equal(left, -1);
		memset(&fake.net, 0, sizeof(fake.net));
		assert_int_equal(req_fd("{}", 2, p[0], &left,
					"2 descriptors came with the request "
					"for 2 queues"),
				 400);
		assert_int_equal(req_fd("{\"num_queues\":6}", 2, p[0], &left,
					"one tap descriptor per queue pair "
					"(num_queues 4)"),
				 400);
		assert_int_equal(left, p[0]);
		/* A name and one: which? */
		assert_int_equal(req_fd("{\"tap\":\"t\"}", 1, p[0], &left,
					"both field 'tap' and"),
				 400);
		/* More than a request may bring: refused whatever it is. */
		assert_int_equal(req_fd(NULL, 1, p[0], &left,
					"more than 8 file descriptors"),
				 400);
		assert_int_equal(fake.net.nr_fds, 0);
		close(p[0]);
		close(p[1]);
	}
	assert_error("PUT", ep, "{\"mac\":\"52:54:00:12:34:56\"}", 400,
		     "'tap' or a tap's descriptor");
}

static void test_add_device(void **state)
{
	const char *ep = "/api/v1/vm.add-device";
	char *body;

	assert_int_equal(req("PUT", ep,
			     "{\"path\":\"/sys/bus/pci/devices/0000:00:04.0\","
			     "\"iommu\":false,\"pci_segment\":0}",
			     &body),
			 200);
	assert_non_null(
		strstr(body, "{\"id\":\"_vfio0\",\"bdf\":\"0000:00:07.0\"}"));
	free(body);
	assert_string_equal(fake.device_path,
			    "/sys/bus/pci/devices/0000:00:04.0");
	assert_error("PUT", ep, "{}", 400, "'path' is required");
	assert_error("PUT", ep, "{\"path\":7}", 400, "'path' must be");
	assert_error("PUT", ep, "{\"path\":\"/x\",\"iommu\":true}", 400,
		     "'iommu' is not supported");
	assert_error("PUT", ep, "{\"path\":\"/x\",\"x_vfio\":1}", 400,
		     "field 'x_vfio' is not supported (path, id");
	assert_error("PUT", ep, "{\"path\":\"/x\"}", 400,
		     "/x is not a PCI function");
	assert_error("GET", ep, NULL, 405, "takes PUT");
}

static void test_remove_device(void **state)
{
	const char *ep = "/api/v1/vm.remove-device";

	assert_int_equal(req("PUT", ep, "{\"id\":\"_disk0\"}", NULL), 204);
	assert_string_equal(fake.removed, "_disk0");
	assert_error("PUT", ep, "{\"id\":\"nope\"}", 404, "no device 'nope'");
	assert_error("PUT", ep, "{}", 400, "'id' is required");
	assert_error("PUT", ep, "{\"id\":5}", 400, "'id' must be a string");
	assert_error("PUT", ep, "{\"id\":\"x\",\"force\":true}", 400,
		     "'force' is not supported");
	assert_error("PUT", ep, "not json", 400, "not valid JSON");
}

static void test_resize(void **state)
{
	const char *ep = "/api/v1/vm.resize";

	assert_int_equal(req("PUT", ep, "{\"desired_vcpus\":3}", NULL), 204);
	assert_int_equal(fake.want_vcpus, 3);
	assert_int_equal(fake.want_ram, 0);
	/* Cloud Hypervisor's other fields: RAM and the balloon passed on. */
	assert_int_equal(req("PUT", ep,
			     "{\"desired_ram\":268435456,"
			     "\"desired_balloon\":0}",
			     NULL),
			 204);
	assert_int_equal(fake.want_vcpus, 0);
	assert_int_equal(fake.want_ram, 268435456);
	assert_int_equal(fake.resizes, 2);
	assert_int_equal(fake.balloons, 1);
	assert_int_equal(fake.want_balloon, 0);
	/* The balloon alone; one refused leaves the rest undone. */
	assert_int_equal(
		req("PUT", ep, "{\"desired_balloon\":268435456}", NULL), 204);
	assert_int_equal(fake.want_balloon, 268435456);
	assert_int_equal(fake.resizes, 2);
	assert_error("PUT", ep,
		     "{\"desired_vcpus\":2,\"desired_balloon\":2147483648}",
		     400, "desired_balloon 2147483648 is not below");
	assert_int_equal(fake.resizes, 2);
	assert_error("PUT", ep, "{\"desired_balloon\":-1}", 400,
		     "'desired_balloon' must be");
	assert_error("PUT", ep, "{\"desired_vcpus\":9}", 400, "above 4");
	assert_error(
		"PUT", ep, "{}", 400,
		"desired_vcpus, desired_ram or desired_balloon is required");
	assert_error("PUT", ep, "{\"desired_vcpus\":0}", 400,
		     "'desired_vcpus' must be an integer from 1 to 255");
	assert_error("PUT", ep, "{\"desired_vcpus\":256}", 400,
		     "'desired_vcpus' must be");
	assert_error("PUT", ep, "{\"desired_vcpus\":1.5}", 400,
		     "'desired_vcpus' must be");
	assert_error("PUT", ep, "{\"desired_vcpus\":\"2\"}", 400,
		     "'desired_vcpus' must be");
	assert_error("PUT", ep, "{\"desired_vcpus\":2,\"cpus\":1}", 400,
		     "field 'cpus' is not supported (desired_vcpus");
	assert_error("GET", ep, NULL, 405, "takes PUT");
	assert_int_equal(fake.resizes, 2);
}

/* Garbage never crashes: every prefix of a body, and bytes that are not
 * UTF-8 or have a NUL inside. */
static void test_fuzzish(void **state)
{
	static const char good[] = "{\"path\":\"/x.img\",\"readonly\":true}";
	static const char nul[] = "{\"path\":\"/x\0\"}";
	struct api_response r;

	for (size_t n = 0; n < sizeof(good) - 1; n++) {
		api_handle(&api, "PUT", "/api/v1/vm.add-disk", good, n, NULL,
			   &r);
		assert_int_equal(r.status, 400);
		free(r.body);
	}
	api_handle(&api, "PUT", "/api/v1/vm.add-disk", nul, sizeof(nul) - 1,
		   NULL, &r);
	assert_true(r.status == 400 || r.status == 200);
	free(r.body);
	api_handle(&api, "PUT", "/api/v1/vm.add-disk", "\xff\xfe{", 3, NULL,
		   &r);
	assert_int_equal(r.status, 400);
	free(r.body);
}

/* One HTTP/1.1 exchange on @path; returns what came back. */
static char *http(const char *path, const char *request)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char buf[8192];
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, request, strlen(request)),
			 (ssize_t)strlen(request));
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fd);
	return buf;
}

/*
 * Sends @request on a connected @fd with @nr descriptors (SCM_RIGHTS) on
 * its bytes, as Kata's vm.add-net does, and returns the answer's first
 * line's status (the connection stays open: keep-alive).
 */
static int http_fds(int fd, const char *request, const int *fds,
		    unsigned int nr)
{
	union {
		char buf[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} ctl = { 0 };
	struct iovec iov = { .iov_base = (void *)request,
			     .iov_len = strlen(request) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	char buf[4096];
	ssize_t n, len = 0;
	int status = 0;

	if (nr) {
		struct cmsghdr *cm;

		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(nr * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nr * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nr * sizeof(int));
	}
	assert_int_equal(sendmsg(fd, &msg, 0), (ssize_t)strlen(request));
	/* Every answer here is small and has a body: read to its end. */
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		char *cl, *end;

		len += n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		cl = strcasestr(buf, "Content-Length: ");
		if (end && cl && len >= end + 4 - buf + atoi(cl + 16))
			break;
		if (end && !cl)
			break;
	}
	sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

/* Descriptors that come with requests reach the action, or are closed. */
static void server_fds(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char add_net[] = "PUT /api/v1/vm.add-net HTTP/1.1\r\n"
				      "Host: x\r\nContent-Length: 2\r\n\r\n{}";
	static const char ping[] = "GET /api/v1/vmm.ping HTTP/1.1\r\n"
				   "Host: x\r\n\r\n";
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), p[2], q[2], many[9];
	struct stat st;

	strcpy(sa.sun_path, sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	/* Two requests on one connection, each with its own descriptor. */
	assert_int_equal(http_fds(fd, add_net, &p[0], 1), 200);
	assert_int_equal(fstat(p[0], &st), 0);
	assert_int_equal(fake.net_fd_ino, st.st_ino);
	/* The fake kept it: the server must not have closed it. */
	assert_int_equal(fcntl(fake.net.fds[0], F_GETFD) >= 0, 1);
	close(fake.net.fds[0]);
	assert_int_equal(http_fds(fd, add_net, &q[0], 1), 200);
	assert_int_equal(fstat(q[0], &st), 0);
	assert_int_equal(fake.net_fd_ino, st.st_ino);
	close(fake.net.fds[0]);
	/* One nobody takes is closed: the pipe then has no reader. */
	close(q[0]);
	assert_int_equal(pipe(q), 0);
	assert_int_equal(http_fds(fd, ping, &q[0], 1), 200);
	close(q[0]);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(write(q[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	/* More than a request may bring. */
	for (int i = 0; i < 9; i++)
		many[i] = p[1];
	assert_int_equal(http_fds(fd, add_net, many, 9), 400);
	/* Without any, the same connection goes on. */
	assert_int_equal(http_fds(fd, ping, NULL, 0), 200);
	/* One with a body too large goes with it: not to the next request. */
	{
		size_t n = API_MAX_BODY + 1024;
		char *big = malloc(n + 128);
		int len;

		assert_non_null(big);
		len = snprintf(big, 128,
			       "PUT /api/v1/vm.add-net HTTP/1.1\r\nHost: x\r\n"
			       "Content-Length: %zu\r\n\r\n",
			       n);
		memset(big + len, ' ', n);
		big[len + n] = '\0';
		assert_int_equal(http_fds(fd, big, &p[0], 1), 413);
		free(big);
	}
	assert_int_equal(http_fds(fd, add_net, NULL, 0), 400);
	close(fd);
	close(p[0]);
	close(p[1]);
	close(q[1]);
}

static void test_server(void **state)
{
	char path[] = "/tmp/devisor-api-test-XXXXXX";
	char sock[64];
	struct api_server *s, *s2;
	char *out;
	int fd = mkstemp(path);

	if (!api_available())
		skip();
	close(fd);
	unlink(path);
	snprintf(sock, sizeof(sock), "%s.sock", path);
	/* A stale socket nobody listens on is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		strcpy(sa.sun_path, sock);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)),
				 0);
		close(fd);
	}
	s = api_server_start(sock, &api);
	assert_non_null(s);
	/* One in use is refused. */
	s2 = api_server_start(sock, &api);
	assert_null(s2);

	out = http(sock, "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n"
			 "Connection: close\r\n\r\n");
	assert_non_null(strstr(out, "HTTP/1.1 200"));
	assert_non_null(strstr(out, "application/json"));
	assert_non_null(strstr(out, "\"version\""));
	out = http(sock, "PUT /api/v1/vm.pause HTTP/1.1\r\nHost: x\r\n"
			 "Content-Length: 0\r\nConnection: close\r\n\r\n");
	assert_non_null(strstr(out, "HTTP/1.1 204"));
	assert_int_equal(fake.pauses, 1);
	out = http(sock, "PUT /api/v1/vm.add-disk HTTP/1.1\r\nHost: x\r\n"
			 "Content-Length: 9\r\nConnection: close\r\n\r\n"
			 "{\"path\":1");
	assert_non_null(strstr(out, "HTTP/1.1 400"));
	assert_non_null(strstr(out, "not valid JSON"));
	out = http(sock, "GET /nope HTTP/1.1\r\nHost: x\r\n"
			 "Connection: close\r\n\r\n");
	assert_non_null(strstr(out, "HTTP/1.1 404"));
	/* Not HTTP at all: an error answer or a closed connection. */
	out = http(sock, "\x01\x02garbage\r\n\r\n");
	assert_null(strstr(out, "HTTP/1.1 200"));
	out = http(sock, "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n"
			 "Connection: close\r\n\r\n");
	assert_non_null(strstr(out, "HTTP/1.1 200"));
	server_fds(sock);

	api_server_stop(s);
	assert_int_equal(access(sock, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ping, setup),
		cmocka_unit_test_setup(test_unknown_path, setup),
		cmocka_unit_test_setup(test_wrong_method, setup),
		cmocka_unit_test_setup(test_info, setup),
		cmocka_unit_test_setup(test_info_no_vm, setup),
		cmocka_unit_test_setup(test_lifecycle, setup),
		cmocka_unit_test_setup(test_create, setup),
		cmocka_unit_test_setup(test_create_bad, setup),
		cmocka_unit_test_setup(test_pause_resume, setup),
		cmocka_unit_test_setup(test_actions, setup),
		cmocka_unit_test_setup(test_counters, setup),
		cmocka_unit_test_setup(test_add_disk, setup),
		cmocka_unit_test_setup(test_add_disk_bad, setup),
		cmocka_unit_test_setup(test_add_pmem_vsock, setup),
		cmocka_unit_test_setup(test_resize_disk, setup),
		cmocka_unit_test_setup(test_coredump, setup),
		cmocka_unit_test_setup(test_add_net, setup),
		cmocka_unit_test_setup(test_add_device, setup),
		cmocka_unit_test_setup(test_remove_device, setup),
		cmocka_unit_test_setup(test_resize, setup),
		cmocka_unit_test_setup(test_fuzzish, setup),
		cmocka_unit_test_setup(test_server, setup),
	};

	log_level = LOG_ERROR;
#ifndef HAVE_LIBCJSON
	/* No JSON, no API: nothing to test. */
	puts("test_api: built without cJSON, skipped");
	return 0;
#endif
	return cmocka_run_group_tests(tests, NULL, NULL);
}
