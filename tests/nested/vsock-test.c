// SPDX-License-Identifier: GPL-2.0
/*
 * vsock-test: both ends of the nested vsock case (busybox has no vsock or
 * UNIX-socket client). Built static by tests/nested/run, installed as
 * /bin/vsock-test in L2 (the host, UNIX sockets: devisor's --vsock
 * socket=PATH protocol) and in L3 (the guest, AF_VSOCK).
 *
 *   vsock-test g-listen PORT SECS        guest: accept one stream on PORT
 *                                        and echo it back to EOF
 *   vsock-test g-connect PORT BYTES TOKEN SECS
 *                                        guest: connect to the host (CID 2)
 *                                        on PORT, send "TOKEN\n" and BYTES
 *                                        of data, check the echo
 *   vsock-test g-drop PORT SECS          guest: connect to the host on
 *                                        PORT and send until the host end
 *                                        goes away (an error or EOF, not
 *                                        a hang)
 *   vsock-test h-serve PATH SECS         host: listen on the UNIX socket
 *                                        PATH (PATH = socket=PATH_PORT),
 *                                        accept one stream and echo it
 *   vsock-test h-drop PATH SECS          host: accept one stream on PATH,
 *                                        read 64 KiB of it and close
 *   vsock-test h-connect PATH PORT BYTES TOKEN SECS
 *                                        host: connect to PATH, "CONNECT
 *                                        PORT\n", expect "OK N\n", then as
 *                                        g-connect; retried until the
 *                                        guest listens or SECS pass
 *
 * For vhost-vsock, where the host end is AF_VSOCK too, PATH may be
 * "vsock:N": h-serve and h-drop then listen on AF_VSOCK port N, and
 * h-connect connects to CID N (port PORT) with no CONNECT line.
 *
 * Prints one line: "ok ..." (exit 0) or "fail ..." (exit 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h> /* before vm_sockets.h: struct sockaddr */
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
	printf("fail %s: %s\n", what, strerror(errno));
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait until @fd has @ev, for the time left before @deadline. */
static int wait_fd(int fd, short ev, double deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int ms = (int)((deadline - now()) * 1000);

	if (ms <= 0)
		return 0;
	return poll(&p, 1, ms);
}

/* Echo everything to EOF; bytes echoed, or -1. */
static long echo(int fd, double deadline)
{
	static char buf[65536];
	long total = 0;

	for (;;) {
		ssize_t n, off = 0;

		if (wait_fd(fd, POLLIN, deadline) <= 0)
			return -1;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		while (off < n) {
			ssize_t w = write(fd, buf + off, n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			off += w;
		}
		total += n;
	}
	shutdown(fd, SHUT_WR);
	return total;
}

/* The stream: "TOKEN\n", then bytes of a generator seeded by the token. */
struct gen {
	const char *tok;
	size_t toklen, pos;
	uint64_t x;
};

static void gen_init(struct gen *g, const char *tok)
{
	g->tok = tok;
	g->toklen = strlen(tok);
	g->pos = 0;
	g->x = 0x9e3779b97f4a7c15ull;
	for (const char *p = tok; *p; p++)
		g->x = (g->x ^ (uint8_t)*p) * 0x100000001b3ull;
}

static uint8_t gen_byte(struct gen *g)
{
	size_t p = g->pos++;

	if (p < g->toklen)
		return (uint8_t)g->tok[p];
	if (p == g->toklen)
		return '\n';
	g->x ^= g->x << 13;
	g->x ^= g->x >> 7;
	g->x ^= g->x << 17;
	return (uint8_t)g->x;
}

/* Send the stream, check its echo, both at once (the peer echoes as it
 * reads, so neither side may wait for the other). */
static int client(int fd, const char *tok, size_t bytes, double deadline,
		  const char *tag)
{
	static uint8_t out[16384], in[65536];
	struct gen tx, rx;
	size_t total = strlen(tok) + 1 + bytes, sent = 0, got = 0;
	size_t olen = 0, ooff = 0;
	double t0 = now();

	gen_init(&tx, tok);
	gen_init(&rx, tok);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (got < total) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ms = (int)((deadline - now()) * 1000);

		if (sent < total)
			p.events |= POLLOUT;
		if (ms <= 0 || poll(&p, 1, ms) <= 0) {
			printf("fail %s: timed out, sent %zu of %zu, echoed "
			       "%zu\n",
			       tag, sent, total, got);
			return 1;
		}
		if ((p.revents & POLLOUT) && sent < total) {
			ssize_t w;

			if (ooff == olen) {
				olen = total - sent < sizeof(out) ?
					       total - sent :
					       sizeof(out);
				for (size_t i = 0; i < olen; i++)
					out[i] = gen_byte(&tx);
				ooff = 0;
			}
			w = write(fd, out + ooff, olen - ooff);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				return fail("write");
			if (w > 0) {
				ooff += w;
				sent += w;
				if (sent == total)
					shutdown(fd, SHUT_WR);
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(fd, in, sizeof(in));

			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n < 0)
				return fail("read");
			if (n == 0) {
				printf("fail %s: EOF after %zu of %zu echoed "
				       "bytes\n",
				       tag, got, total);
				return 1;
			}
			for (ssize_t i = 0; i < n; i++, got++)
				if (in[i] != gen_byte(&rx)) {
					printf("fail %s: echo differs at byte "
					       "%zu\n",
					       tag, got);
					return 1;
				}
		}
	}
	printf("ok %s token=%s bytes=%zu seconds=%.1f\n", tag, tok, total,
	       now() - t0);
	return 0;
}

static int accept_one(int lfd, double deadline)
{
	if (wait_fd(lfd, POLLIN, deadline) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return accept(lfd, NULL, NULL);
}

/* One connection on @lfd, echoed until the peer closes; says so as @tag. */
static int accept_and_echo(int lfd, const char *tag, double deadline)
{
	int fd = accept_one(lfd, deadline);
	long n;

	if (fd < 0)
		return fail("accept");
	n = echo(fd, deadline);
	if (n < 0)
		return fail("echo");
	printf("ok %s echoed=%ld\n", tag, n);
	return 0;
}

static int g_listen(unsigned int port, double deadline)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
				  .svm_cid = VMADDR_CID_ANY,
				  .svm_port = port };
	int lfd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (lfd < 0)
		return fail("socket(AF_VSOCK)");
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 4) < 0)
		return fail("bind/listen");
	return accept_and_echo(lfd, "g-listen", deadline);
}

static int g_connect(unsigned int port, size_t bytes, const char *tok,
		     double deadline)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
				  .svm_cid = VMADDR_CID_HOST,
				  .svm_port = port };
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0)
		return fail("socket(AF_VSOCK)");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail("connect");
	return client(fd, tok, bytes, deadline, "g-connect");
}

static int g_drop(unsigned int port, double deadline)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
				  .svm_cid = VMADDR_CID_HOST,
				  .svm_port = port };
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	static char buf[16384];
	size_t sent = 0;

	if (fd < 0)
		return fail("socket(AF_VSOCK)");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail("connect");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	memset(buf, 'x', sizeof(buf));
	while (now() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
		ssize_t n;

		if (poll(&p, 1, 1000) < 0)
			return fail("poll");
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
				printf("ok g-drop peer gone after %zu bytes "
				       "(%s)\n",
				       sent, n ? strerror(errno) : "EOF");
				return 0;
			}
		}
		if (p.revents & POLLOUT) {
			n = write(fd, buf, sizeof(buf));
			if (n < 0 && errno != EAGAIN) {
				printf("ok g-drop peer gone after %zu bytes "
				       "(%s)\n",
				       sent, strerror(errno));
				return 0;
			}
			if (n > 0)
				sent += n;
		}
	}
	printf("fail g-drop: still connected after %zu bytes\n", sent);
	return 1;
}

static int unix_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

/* A listener on the UNIX socket @path, or AF_VSOCK port N for "vsock:N". */
static int host_listener(const char *path)
{
	struct sockaddr_un sa;
	struct sockaddr_vm sv = { .svm_family = AF_VSOCK,
				  .svm_cid = VMADDR_CID_ANY };
	int lfd;

	if (!strncmp(path, "vsock:", 6)) {
		sv.svm_port = atoi(path + 6);
		lfd = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sv, sizeof(sv)) < 0 ||
		    listen(lfd, 4) < 0)
			return -1;
		return lfd;
	}
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || unix_addr(&sa, path))
		return -1;
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 4) < 0)
		return -1;
	return lfd;
}

static int h_serve(const char *path, double deadline)
{
	int lfd = host_listener(path);

	if (lfd < 0)
		return fail("listen");
	return accept_and_echo(lfd, "h-serve", deadline);
}

static int h_drop(const char *path, double deadline)
{
	static char buf[65536];
	int lfd = host_listener(path), fd;
	size_t got = 0;

	if (lfd < 0)
		return fail("listen");
	fd = accept_one(lfd, deadline);
	if (fd < 0)
		return fail("accept");
	while (got < sizeof(buf) && wait_fd(fd, POLLIN, deadline) > 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - got);

		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	printf("ok h-drop closed after %zu bytes\n", got);
	return 0;
}

/* Read one line (at most 63 bytes) without reading past it. */
static int read_line(int fd, char *line, size_t max, double deadline)
{
	size_t n = 0;

	while (n + 1 < max) {
		ssize_t r;

		if (wait_fd(fd, POLLIN, deadline) <= 0)
			return -1;
		r = read(fd, line + n, 1);
		if (r <= 0)
			return -1;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	return 0;
}

static int h_connect(const char *path, unsigned int port, size_t bytes,
		     const char *tok, double deadline)
{
	struct sockaddr_un sa;
	char line[64], req[32];
	unsigned int tries = 0;

	if (!strncmp(path, "vsock:", 6)) {
		/* vhost-vsock: AF_VSOCK to the guest's CID, until it listens. */
		struct sockaddr_vm sv = { .svm_family = AF_VSOCK,
					  .svm_cid = atoi(path + 6),
					  .svm_port = port };

		while (now() < deadline) {
			int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

			tries++;
			if (fd < 0)
				return fail("socket(AF_VSOCK)");
			if (connect(fd, (struct sockaddr *)&sv, sizeof(sv)) == 0) {
				fprintf(stderr, "h-connect: connected after "
						"%u tries", tries);
				return client(fd, tok, bytes, deadline,
					      "h-connect");
			}
			close(fd);
			usleep(500000);
		}
		printf("fail h-connect: %s (%u tries)\n", strerror(errno),
		       tries);
		return 1;
	}
	if (unix_addr(&sa, path))
		return fail("path");
	snprintf(req, sizeof(req), "CONNECT %u\n", port);
	/* Until the guest listens, devisor closes our connection (RST). */
	while (now() < deadline) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		unsigned int local;

		tries++;
		if (fd < 0)
			return fail("socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    write(fd, req, strlen(req)) == (ssize_t)strlen(req) &&
		    read_line(fd, line, sizeof(line), deadline) == 0) {
			if (sscanf(line, "OK %u", &local) != 1) {
				printf("fail h-connect: answer '%s'\n", line);
				return 1;
			}
			fprintf(stderr, "h-connect: %s after %u tries",
				line, tries);
			return client(fd, tok, bytes, deadline, "h-connect");
		}
		close(fd);
		usleep(500000);
	}
	printf("fail h-connect: no OK in time (%u tries)\n", tries);
	return 1;
}

int main(int argc, char **argv)
{
	double deadline;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "g-listen"))
		return g_listen(atoi(argv[2]), now() + atoi(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "g-connect"))
		return g_connect(atoi(argv[2]), strtoul(argv[3], NULL, 0),
				 argv[4], now() + atoi(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "g-drop"))
		return g_drop(atoi(argv[2]), now() + atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "h-drop"))
		return h_drop(argv[2], now() + atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "h-serve"))
		return h_serve(argv[2], now() + atoi(argv[3]));
	if (argc == 7 && !strcmp(argv[1], "h-connect")) {
		deadline = now() + atoi(argv[6]);
		return h_connect(argv[2], atoi(argv[3]),
				 strtoul(argv[4], NULL, 0), argv[5], deadline);
	}
	fprintf(stderr, "usage: see tests/nested/vsock-test.c\n");
	return 2;
}
