/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_API_API_H
#define DEVISOR_API_API_H

/*
 * The control API: Cloud Hypervisor's REST API (its OpenAPI description,
 * vmm/src/api/openapi/cloud-hypervisor.yaml) over HTTP/1.1 on a UNIX
 * socket, for the endpoints that map onto devisor. Three layers:
 *
 *   api.c     request routing and validation: method, path and JSON body
 *             in, status and JSON body out; calls the VMM through
 *             struct api_ops. Needs no KVM and no socket (unit tests).
 *   server.c  the HTTP side (libmicrohttpd, one internal polling thread)
 *             on a UNIX socket it binds itself.
 *   client.c  `devisor remote`, the ch-remote of devisor.
 *
 * JSON is cJSON's, HTTP libmicrohttpd's; without them the API is not
 * built in and says so (api_available()).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm_config;
struct disk_config;
struct net_options;
struct pmem_config;
struct vsock_config;

/* VmInfo's state; NONE: no VM created (vm.info answers 404). */
enum api_vm_state {
	API_VM_NONE,
	API_VM_CREATED,
	API_VM_RUNNING,
	API_VM_SHUTDOWN,
	API_VM_PAUSED,
};

/* vm.counters: device id -> counter name -> value, built by api_ops. */
struct api_counters;
void api_counter(struct api_counters *c, const char *dev, const char *name,
		 uint64_t value);

#define API_ERR_LEN 256
#define API_ID_LEN 32

/*
 * What the handler layer asks of the VMM. Each action returns the HTTP
 * status Cloud Hypervisor gives (204 done, 404 no VM, 405 wrong state,
 * 409 id taken, 500 failed) and, when not 2xx, a sentence in @err.
 */
struct api_ops {
	enum api_vm_state (*state)(void *opaque);
	/*
	 * vm.create: the VM @cfg describes, as parsed (its strings live only
	 * until the call returns): 204, 400 when it cannot be built as
	 * given, 405 when a VM exists already.
	 */
	int (*create)(void *opaque, struct vm_config *cfg, char *err);
	/* vm.boot: 204 once the vCPUs run, 404 no VM, 405 booted already. */
	int (*boot)(void *opaque, char *err);
	/* vm.delete: the VM shut down if running, and forgotten. */
	int (*delete_vm)(void *opaque, char *err);
	/* vmm.shutdown: the VM shut down if running; devisor exits. */
	int (*shutdown_vmm)(void *opaque, char *err);
	int (*pause)(void *opaque, char *err);
	int (*resume)(void *opaque, char *err);
	int (*shutdown)(void *opaque, char *err);
	int (*reboot)(void *opaque, char *err);
	int (*power_button)(void *opaque, char *err);
	/* vm.nmi: an NMI to every vCPU; 405 where there is none to give. */
	int (*nmi)(void *opaque, char *err);
	void (*counters)(void *opaque, struct api_counters *c);
	/*
	 * A device at run time, @id (may be empty: the VMM picks one).
	 * 200 with @out_id and @out_bdf ("0000:00:05.0") filled; 204 when a
	 * VM not booted yet took it into its config; or an error. The
	 * strings in @d and @n live only until the action returns; add_net
	 * owns @n's fd (has_fd) once it answered 2xx.
	 */
	int (*add_disk)(void *opaque, const struct disk_config *d,
			const char *id, char *out_id, char *out_bdf, char *err);
	int (*add_net)(void *opaque, const struct net_options *n,
		       const char *id, char *out_id, char *out_bdf, char *err);
	/* virtio-pmem over @p->path; a vsock device (one per VM) on a socket. */
	int (*add_pmem)(void *opaque, const struct pmem_config *p,
			const char *id, char *out_id, char *out_bdf, char *err);
	int (*add_vsock)(void *opaque, const struct vsock_config *v,
			 const char *id, char *out_id, char *out_bdf,
			 char *err);
	/* A host PCI function through VFIO, @path its sysfs directory. */
	int (*add_device)(void *opaque, const char *path, const char *id,
			  char *out_id, char *out_bdf, char *err);
	int (*remove_device)(void *opaque, const char *id, char *err);
	/*
	 * vm.coredump: the paused VM as an ELF core file at @path (from a
	 * file:// URL): 204, 405 when it is not paused.
	 */
	int (*coredump)(void *opaque, const char *path, char *err);
	/* vm.resize-disk: disk @id grown to @bytes (204), as it runs. */
	int (*resize_disk)(void *opaque, const char *id, uint64_t bytes,
			   char *err);
	/*
	 * vm.resize: @desired_vcpus (0: as is) plugged or unplugged through
	 * CPU hotplug up to the VM's max_vcpus; @desired_ram (0: as is) must
	 * be the VM's RAM (no memory hotplug). 204 when the guest has them.
	 */
	int (*resize)(void *opaque, unsigned int desired_vcpus,
		      uint64_t desired_ram, char *err);
	/*
	 * vm.resize's desired_balloon: the memory the guest is asked to
	 * give back through its balloon (400 without one); 204 once asked.
	 */
	int (*balloon)(void *opaque, uint64_t bytes, char *err);
	/* Bytes the guest's balloon holds now (0: none). */
	uint64_t (*balloon_actual)(void *opaque);
};

struct api {
	const struct api_ops *ops;
	void *opaque;
	const struct vm_config *cfg; /* what vm.info reports */
};

struct api_response {
	unsigned int status;
	char *body; /* JSON, malloc'd; NULL: no body (204) */
};

/*
 * File descriptors that came with a request (SCM_RIGHTS), as Cloud
 * Hypervisor takes a NIC's taps (vm.add-net). An action that keeps one
 * sets its slot to -1; the server closes the others after the request.
 * truncated: more came than fit (the request gets a 400).
 */
#define API_MAX_FDS 8
struct api_fds {
	int fd[API_MAX_FDS];
	unsigned int nr;
	bool truncated;
};

/* Largest request body taken; a bigger one gets 413. */
#define API_MAX_BODY (64 * 1024)

/*
 * Handles one request: @method ("GET", "PUT", ...), @url (the path,
 * "/api/v1/vm.info"), @body of @len bytes (NULL/0: none), @fds the
 * descriptors that came with it (NULL: none). Never fails: bad requests
 * get 400/404/405 with {"error": "..."}. Free r->body.
 */
void api_handle(struct api *api, const char *method, const char *url,
		const char *body, size_t len, struct api_fds *fds,
		struct api_response *r);

/* Whether this build has the API (cJSON and libmicrohttpd). */
bool api_available(void);
/* Why not (NULL: available): not built in, or libmicrohttpd not loadable. */
const char *api_unavailable(void);

struct api_server;
/*
 * Binds @path (a stale socket nobody listens on is removed; one in use is
 * an error), then serves @api on its own thread. NULL with an error
 * logged on failure.
 */
struct api_server *api_server_start(const char *path, struct api *api);
/* Stops serving (after in-flight responses went out), removes the socket. */
void api_server_stop(struct api_server *s);

/* `devisor remote ...`: argv[0] is "remote". Returns the exit status. */
int api_remote_main(int argc, char **argv);

#endif
