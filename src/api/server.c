// SPDX-License-Identifier: GPL-2.0
/*
 * The control API's HTTP side: libmicrohttpd on a UNIX socket devisor
 * binds itself, one internal polling thread that hands each complete
 * request to api_handle().
 */
#include "api/api.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "util/sandbox.h"

#if defined(HAVE_LIBCJSON) && defined(HAVE_LIBMICROHTTPD)
#include <microhttpd.h>

/*
 * libmicrohttpd brings GnuTLS and eight more libraries whose constructors
 * run at load time, about 3 MiB of RSS in every VM: it is loaded only for
 * --api-socket, while options are parsed (before any sandbox).
 */
#define MHD_SONAME "libmicrohttpd.so.12"

static struct {
	void *handle;
	typeof(&MHD_start_daemon) start_daemon;
	typeof(&MHD_stop_daemon) stop_daemon;
	typeof(&MHD_get_daemon_info) get_daemon_info;
	typeof(&MHD_create_response_from_buffer) create_response_from_buffer;
	typeof(&MHD_add_response_header) add_response_header;
	typeof(&MHD_queue_response) queue_response;
	typeof(&MHD_destroy_response) destroy_response;
} mhd;

static const char *mhd_load(void)
{
	static char err[256];
	void *h;

	if (mhd.handle)
		return NULL;
	h = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, sizeof(err), "%s", dlerror());
		return err;
	}
#define SYM(f)                                                      \
	do {                                                        \
		*(void **)&mhd.f = dlsym(h, "MHD_" #f);             \
		if (!mhd.f) {                                       \
			snprintf(err, sizeof(err), "%s: no MHD_%s", \
				 MHD_SONAME, #f);                   \
			dlclose(h);                                 \
			return err;                                 \
		}                                                   \
	} while (0)
	SYM(start_daemon);
	SYM(stop_daemon);
	SYM(get_daemon_info);
	SYM(create_response_from_buffer);
	SYM(add_response_header);
	SYM(queue_response);
	SYM(destroy_response);
#undef SYM
	mhd.handle = h;
	return NULL;
}

const char *api_unavailable(void)
{
	static char why[512];
	const char *err = mhd_load();

	if (!err)
		return NULL;
	snprintf(why, sizeof(why),
		 "cannot load %s (Debian: apt-get install libmicrohttpd12): %s",
		 MHD_SONAME, err);
	return why;
}

struct api_server {
	struct MHD_Daemon *mhd;
	struct api *api;
	int fd;
	char *path;
};

/* One request's body as it arrives. */
struct request {
	char *body;
	size_t len;
	bool too_big;
};

static enum MHD_Result queue(struct MHD_Connection *conn,
			     struct api_response *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len = r->body ? strlen(r->body) : 0;

	resp = mhd.create_response_from_buffer(len, r->body,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	if (len)
		mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
	ret = mhd.queue_response(conn, r->status, resp);
	mhd.destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct api_server *s = cls;
	struct request *req = *con_cls;
	struct api_response r;

	/* Its filter came from the thread that started it: name it. */
	sandbox_name_thread(SANDBOX_API, "api");
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!req->too_big && req->len + *upload_size <= API_MAX_BODY) {
			char *b = realloc(req->body, req->len + *upload_size);

			if (b) {
				memcpy(b + req->len, upload, *upload_size);
				req->body = b;
				req->len += *upload_size;
			} else {
				req->too_big = true;
			}
		} else {
			req->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (req->too_big) {
		r = (struct api_response){
			.status = 413,
			.body = strdup(
				"{\"error\":\"request body too large\"}"),
		};
		return queue(conn, &r);
	}
	api_handle(s->api, method, url, req->body, req->len, &r);
	return queue(conn, &r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	if (req) {
		free(req->body);
		free(req);
		*con_cls = NULL;
	}
}

/* Binds @path, removing a stale socket first; -1 with an error logged. */
static int bind_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("--api-socket %s: the path is longer than %zu bytes",
		       path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_err("--api-socket: cannot create a socket: %s",
		       strerror(errno));
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err("--api-socket %s exists and is not a socket",
			       path);
			goto fail;
		}
		/* Someone listening: in use. Nobody: stale, removed. */
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			pr_err("--api-socket %s is in use by another process",
			       path);
			goto fail;
		}
		close(fd);
		unlink(path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		pr_err("--api-socket %s: cannot bind: %s", path,
		       strerror(errno));
		goto fail;
	}
	if (listen(fd, 16) < 0) {
		pr_err("--api-socket %s: cannot listen: %s", path,
		       strerror(errno));
		unlink(path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static void *start_thread(void *arg)
{
	struct api_server *s = arg;

	sandbox_apply(SANDBOX_API, "api-start");
	s->mhd = mhd.start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->fd,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	return NULL;
}

struct api_server *api_server_start(const char *path, struct api *api)
{
	const char *why = api_unavailable();
	struct api_server *s;
	pthread_t t;

	if (why) {
		pr_err("--api-socket: %s", why);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->api = api;
	s->path = strdup(path);
	s->fd = bind_socket(path);
	if (s->fd < 0 || !s->path)
		goto fail;
	/*
	 * libmicrohttpd's thread is started by one of ours that installs the
	 * API's seccomp filter first: the new thread inherits it.
	 */
	if (pthread_create(&t, NULL, start_thread, s) == 0)
		pthread_join(t, NULL);
	if (!s->mhd) {
		pr_err("--api-socket %s: cannot start the HTTP server", path);
		unlink(path);
		close(s->fd);
		goto fail;
	}
	pr_info("API on %s", path);
	return s;
fail:
	free(s->path);
	free(s);
	return NULL;
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	/* Let a response already queued (vm.shutdown's) reach its client. */
	for (int i = 0; i < 50; i++) {
		const union MHD_DaemonInfo *di = mhd.get_daemon_info(
			s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (!di || !di->num_connections)
			break;
		usleep(10 * 1000);
	}
	mhd.stop_daemon(s->mhd);
	close(s->fd);
	unlink(s->path);
	free(s->path);
	free(s);
}

#else

const char *api_unavailable(void)
{
	return "this devisor was built without the control API "
	       "(libmicrohttpd and cJSON; see scripts/install-deps)";
}

struct api_server *api_server_start(const char *path, struct api *api)
{
	pr_err("--api-socket: %s", api_unavailable());
	return NULL;
}

void api_server_stop(struct api_server *s)
{
}

#endif

bool api_available(void)
{
	return !api_unavailable();
}
