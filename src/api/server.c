// SPDX-License-Identifier: GPL-2.0
/*
 * The control API's HTTP side: libmicrohttpd on a UNIX socket devisor
 * binds itself, one internal polling thread that hands each complete
 * request to api_handle().
 *
 * A request may bring file descriptors (SCM_RIGHTS: Kata's and
 * ch-remote's taps for vm.add-net), which libmicrohttpd's recv() would
 * drop. So devisor accepts each client itself and relays its bytes over a
 * socketpair whose other end libmicrohttpd serves (MHD_add_connection()),
 * taking the descriptors off with recvmsg() on the way. They wait on the
 * connection, queued before the bytes they came with are passed on, until
 * its next request is handled: clients wait for each answer (as Kata
 * does) rather than pipeline requests that bring descriptors.
 */
#include "api/api.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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
	typeof(&MHD_add_connection) add_connection;
	typeof(&MHD_get_connection_info) get_connection_info;
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
	SYM(add_connection);
	SYM(get_connection_info);
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

/* Clients at once; more wait in the listen backlog. */
#define RELAY_MAX_CONNS 32
#define RELAY_BUF 16384

struct relay_conn {
	int client; /* the API client's socket */
	int inner; /* ours of the pair; libmicrohttpd serves the other */
	/*
	 * libmicrohttpd's end, to find this connection's descriptors; -1
	 * once a new pair took the number (libmicrohttpd closed it).
	 */
	int mhd_fd;
	struct api_fds fds; /* received, not yet handed on; under lock */
	bool client_eof, inner_eof;
	size_t up_len, up_off; /* client -> libmicrohttpd */
	size_t down_len, down_off; /* libmicrohttpd -> client */
	char up[RELAY_BUF];
	char down[RELAY_BUF];
};

struct api_server {
	struct MHD_Daemon *mhd;
	struct api *api;
	int fd;
	char *path;
	pthread_t relay;
	bool relay_started;
	int stop_fd; /* eventfd: the relay thread ends */
	pthread_mutex_t lock; /* conns[]' fds and mhd_fd */
	struct relay_conn *conns[RELAY_MAX_CONNS];
	unsigned int nr_conns;
};

static void fds_close(struct api_fds *f)
{
	for (unsigned int i = 0; i < f->nr; i++)
		if (f->fd[i] >= 0)
			close(f->fd[i]);
	*f = (struct api_fds){ 0 };
}

/* Hands @out the descriptors waiting on libmicrohttpd's socket @mhd_fd. */
static void relay_take_fds(struct api_server *s, int mhd_fd,
			   struct api_fds *out)
{
	*out = (struct api_fds){ 0 };
	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < s->nr_conns; i++) {
		struct relay_conn *c = s->conns[i];

		if (c->mhd_fd == mhd_fd) {
			*out = c->fds;
			c->fds = (struct api_fds){ 0 };
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static void conn_free(struct api_server *s, unsigned int i)
{
	struct relay_conn *c = s->conns[i];

	pthread_mutex_lock(&s->lock);
	s->conns[i] = s->conns[--s->nr_conns];
	pthread_mutex_unlock(&s->lock);
	fds_close(&c->fds);
	close(c->client);
	close(c->inner);
	free(c);
}

static void conn_accept(struct api_server *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct relay_conn *c;
	int client, pair[2];

	client = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (client < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair)) {
		pr_warn_ratelimited("api: cannot take a client: %s",
				    c ? strerror(errno) : "out of memory");
		free(c);
		close(client);
		return;
	}
	c->client = client;
	c->inner = pair[0];
	c->mhd_fd = pair[1];
	fcntl(c->inner, F_SETFL, fcntl(c->inner, F_GETFL) | O_NONBLOCK);
	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < s->nr_conns; i++)
		if (s->conns[i]->mhd_fd == c->mhd_fd)
			s->conns[i]->mhd_fd = -1;
	s->conns[s->nr_conns++] = c;
	pthread_mutex_unlock(&s->lock);
	/* It closes pair[1] whatever happens. */
	if (mhd.add_connection(s->mhd, pair[1], (struct sockaddr *)&sa,
			       sizeof(sa)) != MHD_YES) {
		pr_warn_ratelimited("api: libmicrohttpd refused a client");
		conn_free(s, s->nr_conns - 1);
	}
}

/* Bytes from the client, with any descriptors; false: drop the client. */
static bool conn_read_client(struct api_server *s, struct relay_conn *c)
{
	union {
		char buf[CMSG_SPACE(API_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = c->up, .iov_len = RELAY_BUF };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	n = recvmsg(c->client, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	pthread_mutex_lock(&s->lock);
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t nr = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < nr; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(fd));
			if (c->fds.nr < API_MAX_FDS) {
				c->fds.fd[c->fds.nr++] = fd;
			} else {
				close(fd);
				c->fds.truncated = true;
			}
		}
	}
	if (msg.msg_flags & MSG_CTRUNC)
		c->fds.truncated = true;
	pthread_mutex_unlock(&s->lock);
	if (n == 0) {
		c->client_eof = true;
		shutdown(c->inner, SHUT_WR);
	}
	c->up_len = n;
	c->up_off = 0;
	return true;
}

/*
 * Moves what is pending from @buf to @fd; false on an error (the peer
 * went away).
 */
static bool flush(int fd, const char *buf, size_t *off, size_t *len)
{
	while (*off < *len) {
		ssize_t n = send(fd, buf + *off, *len - *off, MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		*off += n;
	}
	*off = *len = 0;
	return true;
}

/* One connection's turn after poll(); false: it is over. */
static bool conn_step(struct api_server *s, struct relay_conn *c, short crev,
		      short irev)
{
	if (crev && !c->up_len && !c->client_eof && !conn_read_client(s, c))
		return false;
	if (c->up_len) {
		bool was_eof = c->client_eof;

		if (!flush(c->inner, c->up, &c->up_off, &c->up_len))
			return false;
		if (!c->up_len && was_eof)
			shutdown(c->inner, SHUT_WR);
	}
	if (irev && !c->down_len && !c->inner_eof) {
		ssize_t n = read(c->inner, c->down, RELAY_BUF);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (n == 0)
			c->inner_eof = true;
		if (n > 0)
			c->down_len = n;
	}
	if (c->down_len &&
	    !flush(c->client, c->down, &c->down_off, &c->down_len))
		return false;
	/* libmicrohttpd closed it and the client has all of it. */
	return !(c->inner_eof && !c->down_len);
}

/* Stopping: answers libmicrohttpd wrote go out if they can at once. */
static void relay_drain(struct api_server *s)
{
	for (unsigned int i = 0; i < s->nr_conns; i++) {
		struct relay_conn *c = s->conns[i];

		for (int k = 0; k < 16; k++) {
			ssize_t n;

			if (!flush(c->client, c->down, &c->down_off,
				   &c->down_len) ||
			    c->down_len)
				break;
			n = read(c->inner, c->down, RELAY_BUF);
			if (n <= 0)
				break;
			c->down_len = n;
		}
	}
}

static void *relay_thread(void *arg)
{
	struct api_server *s = arg;
	struct pollfd pfd[2 + 2 * RELAY_MAX_CONNS];

	sandbox_name_thread(SANDBOX_API, "api-relay");
	for (;;) {
		unsigned int n = s->nr_conns;

		pfd[0] = (struct pollfd){ .fd = s->stop_fd, .events = POLLIN };
		pfd[1] =
			(struct pollfd){ .fd = n < RELAY_MAX_CONNS ? s->fd : -1,
					 .events = POLLIN };
		for (unsigned int i = 0; i < n; i++) {
			struct relay_conn *c = s->conns[i];

			/*
			 * A side that has hung up keeps reporting it: the
			 * client is watched again only to take an answer,
			 * libmicrohttpd's end never.
			 */
			pfd[2 + 2 * i] = (struct pollfd){
				.fd = c->client_eof && !c->down_len ? -1 :
								      c->client,
				.events = (!c->up_len && !c->client_eof ?
						   POLLIN :
						   0) |
					  (c->down_len ? POLLOUT : 0)
			};
			pfd[3 + 2 * i] = (struct pollfd){
				.fd = c->inner_eof ? -1 : c->inner,
				.events = (!c->down_len && !c->inner_eof ?
						   POLLIN :
						   0) |
					  (c->up_len ? POLLOUT : 0)
			};
		}
		if (poll(pfd, 2 + 2 * n, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("api: poll: %s; the API stops", strerror(errno));
			break;
		}
		if (pfd[0].revents) {
			relay_drain(s);
			break;
		}
		/* Last first: conn_free() moves the last into the hole. */
		for (unsigned int i = n; i-- > 0;) {
			struct relay_conn *c = s->conns[i];
			short cr = pfd[2 + 2 * i].revents & ~POLLOUT;
			short ir = pfd[3 + 2 * i].revents & ~POLLOUT;

			if (!conn_step(s, c, cr, ir))
				conn_free(s, i);
		}
		if (pfd[1].revents)
			conn_accept(s);
	}
	return NULL;
}

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
	const union MHD_ConnectionInfo *ci;
	struct api_fds fds = { 0 };
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
	/* This request's descriptors, whatever becomes of it. */
	ci = mhd.get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		relay_take_fds(s, ci->connect_fd, &fds);
	if (req->too_big)
		r = (struct api_response){
			.status = 413,
			.body = strdup(
				"{\"error\":\"request body too large\"}"),
		};
	else
		api_handle(s->api, method, url, req->body, req->len, &fds, &r);
	fds_close(&fds);
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

/*
 * libmicrohttpd's complaints, through devisor's log. It takes its end of
 * each socketpair for TCP (it cannot tell an added socket's family) and
 * says so on every answer: those go.
 */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!strncmp(msg, "Setting TCP_", 12) ||
	    !strncmp(msg, "Failed to push the data", 23))
		return;
	n = strlen(msg);
	if (n && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	pr_warn("api: libmicrohttpd: %s", msg);
}

static void *start_thread(void *arg)
{
	struct api_server *s = arg;

	sandbox_apply(SANDBOX_API, "api-start");
	s->mhd = mhd.start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
			MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC,
		0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (s->mhd && !pthread_create(&s->relay, NULL, relay_thread, s))
		s->relay_started = true;
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
	pthread_mutex_init(&s->lock, NULL);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	s->fd = s->stop_fd < 0 ? -1 : bind_socket(path);
	if (s->fd < 0 || !s->path)
		goto fail;
	/*
	 * libmicrohttpd's thread is started by one of ours that installs the
	 * API's seccomp filter first: the new thread inherits it.
	 */
	if (pthread_create(&t, NULL, start_thread, s) == 0)
		pthread_join(t, NULL);
	if (!s->relay_started) {
		pr_err("--api-socket %s: cannot start the HTTP server", path);
		if (s->mhd)
			mhd.stop_daemon(s->mhd);
		unlink(path);
		close(s->fd);
		goto fail;
	}
	pr_info("API on %s", path);
	return s;
fail:
	if (s->stop_fd >= 0)
		close(s->stop_fd);
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
	eventfd_write(s->stop_fd, 1);
	pthread_join(s->relay, NULL);
	while (s->nr_conns)
		conn_free(s, s->nr_conns - 1);
	mhd.stop_daemon(s->mhd);
	close(s->stop_fd);
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
