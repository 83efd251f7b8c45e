// SPDX-License-Identifier: GPL-2.0
/*
 * `devisor remote`: one request to a devisor's --api-socket, as
 * Cloud Hypervisor's ch-remote does, and the JSON answer on stdout.
 */
#include "api/api.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "util/parse.h"
#include "util/rate_limit.h"

static int __attribute__((format(printf, 1, 2)))
remote_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "devisor remote: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

#ifdef HAVE_LIBCJSON
#include <cjson/cJSON.h>

static const char remote_usage[] =
	"usage: devisor remote --api-socket PATH COMMAND [ARG]\n"
	"\n"
	"Sends one request to the control API of a devisor started with\n"
	"--api-socket PATH and prints its JSON answer. Commands:\n"
	"  ping                      the VMM's version and pid (vmm.ping)\n"
	"  create FILE               a VM from a VmConfig JSON file, - for\n"
	"                            standard input (vm.create)\n"
	"  boot                      boot the created VM (vm.boot)\n"
	"  delete                    shut the VM down and forget it\n"
	"  shutdown-vmm              shut the VM down; devisor exits\n"
	"  info                      configuration and state (vm.info)\n"
	"  counters                  per-device counters (vm.counters)\n"
	"  pause | resume            stop the vCPUs, let them run again\n"
	"  shutdown                  power the VM off (devisor exits 0 if\n"
	"                            it was started with --kernel)\n"
	"  reboot                    a new VM from the same options\n"
	"  power-button              press the ACPI power button\n"
	"  nmi                       an NMI to every vCPU (x86)\n"
	"  add-disk path=IMG[,readonly=on][,id=ID]...\n"
	"  add-net tap=NAME[,num_queues=2P][,mac=M][,id=ID]\n"
	"  add-net fd=N[,fd=M]...[,num_queues=2P][,mac=M][,id=ID]\n"
	"                            a tap this command inherited as fd N,\n"
	"                            sent with the request (SCM_RIGHTS); P\n"
	"                            queue pairs: one fd each (multi_queue)\n"
	"  add-disk/add-net ...,bw_size=B,bw_refill_time=MS,ops_size=N,...\n"
	"                            its rate_limiter_config\n"
	"  add-pmem file=PATH[,size=SIZE][,discard_writes=on][,id=ID]\n"
	"  add-vsock cid=N,socket=PATH[,id=ID]\n"
	"  add-device path=/sys/bus/pci/devices/DDDD:BB:DD.F (VFIO)\n"
	"  remove-device ID\n"
	"  resize-disk id=ID,size=SIZE  grow a PCI disk (its image too)\n"
	"  coredump FILE             a paused VM's vCPU registers and RAM\n"
	"                            as an ELF core file (crash, gdb)\n"
	"  resize cpus=N[,memory=SIZE]\n"
	"                            plug or unplug vCPUs up to max_vcpus\n"
	"                            (--cpus boot=N,max=M), plug RAM into the\n"
	"                            hotplug area (vm.resize; desired_vcpus=\n"
	"                            and desired_ram= in bytes too)\n"
	"\n"
	"exit status: 0 on success (2xx), 1 on an HTTP error or when the\n"
	"socket cannot be reached, 2 on a usage error.\n";

/*
 * "k=v,k=v" as a JSON object: on/off/true/false become booleans, decimal
 * numbers numbers, anything else a string; the server checks the fields.
 * For resize (@resize), ch-remote's cpus=N and memory=SIZE (512M, 2G) are
 * desired_vcpus and desired_ram.
 */
struct remote_fds {
	int fd[API_MAX_FDS];
	unsigned int nr;
};

/*
 * bw_size=, ops_refill_time=... as --disk and --net take them: into the
 * body's rate_limiter_config (bandwidth, ops). True if @key was one.
 */
static bool rate_key(cJSON *o, const char *key, const char *val)
{
	struct rate_limit_config probe = { 0 };
	const char *bucket = key[0] == 'b' ? "bandwidth" : "ops";
	const char *field = strchr(key, '_');
	cJSON *rl, *b;
	char err[8], *end;
	double v;

	/* The same keys --disk and --net take (util/rate_limit.c). */
	if (rate_limit_parse_key(key, "0", &probe, err, sizeof(err)) != 1)
		return false;
	field++;
	v = strtod(val, &end);
	rl = cJSON_GetObjectItem(o, "rate_limiter_config");
	if (!rl)
		rl = cJSON_AddObjectToObject(o, "rate_limiter_config");
	b = cJSON_GetObjectItem(rl, bucket);
	if (!b)
		b = cJSON_AddObjectToObject(rl, bucket);
	/* Not a number: the server says what it wants. */
	if (*val && !*end)
		cJSON_AddNumberToObject(b, field, v);
	else
		cJSON_AddStringToObject(b, field, val);
	return true;
}

/* A size: 2G, 512M; a bare number MiB with @bare_mib, else bytes. */
static int size_arg(const char *val, bool bare_mib, uint64_t *out)
{
	char *end;

	if (bare_mib || !*val || val[strspn(val, "0123456789")])
		return parse_size(val, out);
	errno = 0;
	*out = strtoull(val, &end, 10);
	return errno ? -ERANGE : 0;
}

static char *spec_to_json(const char *spec, bool resize, bool resize_disk,
			  struct remote_fds *fds)
{
	char *copy = strdup(spec), *save = NULL, *tok, *out = NULL;
	const char *field;
	cJSON *o = cJSON_CreateObject();

	if (!copy || !o)
		goto done;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '='), *end;
		long n;

		if (!val) {
			remote_error("'%s' needs a value (key=value)", tok);
			goto done;
		}
		*val++ = '\0';
		/*
		 * resize's memory= (bare: MiB), size= of add-pmem and
		 * resize-disk (bare: bytes; resize-disk's desired_size).
		 */
		field = resize ? !strcmp(tok, "memory") ? "desired_ram" : NULL :
			!strcmp(tok, "size") ?
				 resize_disk ? "desired_size" : "size" :
				 NULL;
		if (field) {
			uint64_t size;

			if (size_arg(val, resize, &size)) {
				remote_error("%s takes a size such as 2G, "
					     "not '%s'",
					     tok, val);
				goto done;
			}
			cJSON_AddNumberToObject(o, field, (double)size);
			continue;
		}
		if (resize && !strcmp(tok, "cpus"))
			tok = "desired_vcpus";
		if (!resize && rate_key(o, tok, val))
			continue;
		errno = 0;
		n = strtol(val, &end, 10);
		/* A descriptor goes with the request, not in its body. */
		if (!resize && !strcmp(tok, "fd")) {
			if (!*val || *end || errno || n < 0 || n > INT_MAX ||
			    fcntl((int)n, F_GETFD) < 0) {
				remote_error("fd takes the number of an open "
					     "descriptor, not '%s'",
					     val);
				goto done;
			}
			if (fds->nr == API_MAX_FDS) {
				remote_error("at most %d fd=", API_MAX_FDS);
				goto done;
			}
			fds->fd[fds->nr++] = (int)n;
			continue;
		}
		if (!strcmp(val, "on") || !strcmp(val, "true"))
			cJSON_AddBoolToObject(o, tok, 1);
		else if (!strcmp(val, "off") || !strcmp(val, "false"))
			cJSON_AddBoolToObject(o, tok, 0);
		else if (*val && !*end && !errno && strcmp(tok, "serial") &&
			 strcmp(tok, "id"))
			cJSON_AddNumberToObject(o, tok, n);
		else
			cJSON_AddStringToObject(o, tok, val);
	}
	out = cJSON_PrintUnformatted(o);
done:
	cJSON_Delete(o);
	free(copy);
	return out;
}

/* {"KEY": "VALUE"}: a body of one string field; NULL without memory. */
static char *one_string_json(const char *key, const char *value)
{
	cJSON *o = cJSON_CreateObject();
	char *out = NULL;

	if (o && cJSON_AddStringToObject(o, key, value))
		out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

/*
 * VmCoredumpData for a file: a URL as given, else file:// and the path
 * made absolute (devisor may run elsewhere than this command).
 */
static char *dest_to_json(const char *dest)
{
	char *abs = NULL, *url = NULL, *out = NULL;

	if (strstr(dest, "://")) {
		url = strdup(dest);
	} else if (dest[0] != '/' && !(abs = realpath(".", NULL))) {
		remote_error("cannot find the current directory: %s",
			     strerror(errno));
		return NULL;
	} else if (asprintf(&url, "file://%s%s%s", abs ? abs : "",
			    abs ? "/" : "", dest) < 0) {
		url = NULL;
	}
	free(abs);
	if (url)
		out = one_string_json("destination_url", url);
	free(url);
	if (!out)
		remote_error("out of memory");
	return out;
}

/* A request body from @path (- for standard input), at most API_MAX_BODY. */
static char *read_body(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *buf;
	size_t n;

	if (!f) {
		remote_error("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(API_MAX_BODY + 1);
	n = buf ? fread(buf, 1, API_MAX_BODY + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (!buf) {
		remote_error("out of memory");
		return NULL;
	}
	if (n > API_MAX_BODY) {
		free(buf);
		remote_error("%s is larger than a request may be (%d KiB)",
			     path, API_MAX_BODY / 1024);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* Sends the request, reads the whole answer (Connection: close). */
/* The first bytes of @p with @fds as SCM_RIGHTS; what was sent, or -1. */
static ssize_t send_fds(int fd, const char *p, size_t len,
			const struct remote_fds *fds)
{
	union {
		char buf[CMSG_SPACE(API_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl = { 0 };
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.buf,
			      .msg_controllen =
				      CMSG_SPACE(fds->nr * sizeof(int)) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(fds->nr * sizeof(int));
	memcpy(CMSG_DATA(cm), fds->fd, fds->nr * sizeof(int));
	do {
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n;
}

static int transact(const char *path, const char *method, const char *ep,
		    const char *body, const struct remote_fds *fds, char **resp,
		    size_t *resp_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t blen = body ? strlen(body) : 0, cap = 4096, len = 0;
	char *req = NULL, *buf;
	ssize_t sent = 0;
	int fd, n;

	if (strlen(path) >= sizeof(sa.sun_path))
		return remote_error("--api-socket %s: the path is too long",
				    path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return remote_error("cannot create a socket: %s",
				    strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		remote_error("cannot connect to %s: %s", path, strerror(errno));
		close(fd);
		return 1;
	}
	n = asprintf(&req,
		     "%s /api/v1/%s HTTP/1.1\r\nHost: localhost\r\n"
		     "Accept: application/json\r\n"
		     "Content-Type: application/json\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     method, ep, blen, body ? body : "");
	if (n > 0 && fds->nr)
		sent = send_fds(fd, req, n, fds);
	if (n < 0 || sent < 0 || write_all(fd, req + sent, n - sent)) {
		free(n < 0 ? NULL : req);
		close(fd);
		return remote_error("cannot send the request to %s", path);
	}
	free(req);
	buf = malloc(cap);
	for (;;) {
		ssize_t r;

		if (!buf)
			break;
		if (len + 1 == cap) {
			char *b = realloc(buf, cap *= 2);

			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
	}
	close(fd);
	if (!buf)
		return remote_error("out of memory");
	buf[len] = '\0';
	*resp = buf;
	*resp_len = len;
	return 0;
}

/* The status line and the body of an HTTP/1.1 answer; -1 if garbled. */
static int parse_response(char *resp, int *status, char **body)
{
	char *hdr_end = strstr(resp, "\r\n\r\n");

	if (sscanf(resp, "HTTP/1.%*d %d", status) != 1 || !hdr_end)
		return -1;
	*body = hdr_end + 4;
	return 0;
}

struct command {
	const char *name;
	const char *method;
	const char *endpoint;
	int arg; /* 0 none, 1 key=value spec, 2 an id, 3 a JSON file */
};

static const struct command commands[] = {
	{ "ping", "GET", "vmm.ping", 0 },
	{ "create", "PUT", "vm.create", 3 },
	{ "boot", "PUT", "vm.boot", 0 },
	{ "delete", "PUT", "vm.delete", 0 },
	{ "shutdown-vmm", "PUT", "vmm.shutdown", 0 },
	{ "info", "GET", "vm.info", 0 },
	{ "counters", "GET", "vm.counters", 0 },
	{ "pause", "PUT", "vm.pause", 0 },
	{ "resume", "PUT", "vm.resume", 0 },
	{ "shutdown", "PUT", "vm.shutdown", 0 },
	{ "reboot", "PUT", "vm.reboot", 0 },
	{ "power-button", "PUT", "vm.power-button", 0 },
	{ "nmi", "PUT", "vm.nmi", 0 },
	{ "add-disk", "PUT", "vm.add-disk", 1 },
	{ "add-net", "PUT", "vm.add-net", 1 },
	{ "add-pmem", "PUT", "vm.add-pmem", 1 },
	{ "add-vsock", "PUT", "vm.add-vsock", 1 },
	{ "add-device", "PUT", "vm.add-device", 1 },
	{ "remove-device", "PUT", "vm.remove-device", 2 },
	{ "resize-disk", "PUT", "vm.resize-disk", 1 },
	{ "resize", "PUT", "vm.resize", 1 },
	{ "coredump", "PUT", "vm.coredump", 4 },
};

#define usage_err(...) usage_error_for("devisor remote", __VA_ARGS__)

int api_remote_main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct remote_fds fds = { .nr = 0 };
	const char *path = NULL;
	char *body = NULL, *resp = NULL, *rbody;
	size_t resp_len;
	int i, status, ret;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(remote_usage, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--api-socket")) {
			if (++i == argc)
				return usage_err("%s needs a value",
						 "--api-socket");
			path = argv[i];
		} else if (!strncmp(argv[i], "--api-socket=", 13)) {
			path = argv[i] + 13;
		} else {
			return usage_err("unknown option '%s'", argv[i]);
		}
	}
	if (!path)
		return usage_err("%s", "remote needs --api-socket PATH");
	if (i == argc)
		return usage_err("%s", "remote needs a command (ping, create, "
				       "boot, delete, shutdown-vmm, info, "
				       "counters, pause, resume, shutdown, "
				       "reboot, power-button, nmi, add-disk, "
				       "add-net, add-pmem, add-vsock, "
				       "add-device, remove-device, resize, "
				       "resize-disk, coredump)");
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			cmd = &commands[c];
	if (!cmd)
		return usage_err("unknown remote command '%s'", argv[i]);
	if (cmd->arg && i + 1 >= argc)
		return usage_err("%s needs %s", cmd->name,
				 cmd->arg == 1 ? "key=value,..." :
				 cmd->arg == 2 ? "a device id" :
				 cmd->arg == 4 ? "a file (or a file:// URL)" :
						 "a JSON file (or -)");
	if (argc > i + 1 + !!cmd->arg)
		return usage_err("unexpected argument '%s'",
				 argv[i + 1 + !!cmd->arg]);
	if (cmd->arg == 1) {
		body = spec_to_json(argv[i + 1],
				    !strcmp(cmd->endpoint, "vm.resize"),
				    !strcmp(cmd->endpoint, "vm.resize-disk"),
				    &fds);
		if (!body)
			return EXIT_USAGE;
	} else if (cmd->arg == 2) {
		body = one_string_json("id", argv[i + 1]);
	} else if (cmd->arg == 3) {
		body = read_body(argv[i + 1]);
		if (!body)
			return 1;
	} else if (cmd->arg == 4) {
		body = dest_to_json(argv[i + 1]);
		if (!body)
			return 1;
	}
	ret = transact(path, cmd->method, cmd->endpoint, body, &fds, &resp,
		       &resp_len);
	free(body);
	if (ret)
		return ret;
	if (parse_response(resp, &status, &rbody)) {
		free(resp);
		return remote_error("%s answered something that is not HTTP",
				    path);
	}
	if (status >= 200 && status < 300) {
		if (*rbody)
			printf("%s\n", rbody);
		ret = 0;
	} else {
		cJSON *j = cJSON_Parse(rbody);
		cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");

		remote_error("%s: HTTP %d: %s", cmd->endpoint, status,
			     cJSON_IsString(e) ? e->valuestring : rbody);
		cJSON_Delete(j);
		ret = 1;
	}
	free(resp);
	return ret;
}

#else

int api_remote_main(int argc, char **argv)
{
	return remote_error("this devisor was built without the API (cJSON; "
			    "see scripts/install-deps)");
}

#endif
