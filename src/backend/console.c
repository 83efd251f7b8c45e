// SPDX-License-Identifier: GPL-2.0
#include "backend/console.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "kvm/vm.h"
#include "util/log.h"
#include "util/thread.h"
#include "util/sandbox.h"

#define ESCAPE_CHAR 0x01 /* Ctrl-A */
#define INPUT_BUF 4096

static struct {
	struct vm *vm;
	struct console_port port;
	pthread_t thread;
	bool running;
	int stop_fd;
} console = { .stop_fd = -1 };

static struct termios saved_termios;
static int raw_active; /* atomic: signal handlers read it too */

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
#define NR_FATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))
static struct sigaction old_fatal[NR_FATAL];

void console_restore(void)
{
	if (__atomic_exchange_n(&raw_active, 0, __ATOMIC_SEQ_CST))
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

/*
 * A crash must not leave the user's shell raw. Restore, hand the signal
 * back to whoever had it (ASan, the default core dump): a fault re-executes
 * into the old handler, a sent signal is sent again.
 */
static void fatal_signal(int sig, siginfo_t *info, void *uctx)
{
	int saved_errno = errno;

	console_restore();
	for (unsigned int i = 0; i < NR_FATAL; i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &old_fatal[i], NULL);
	if (info->si_code <= 0)
		raise(sig);
	errno = saved_errno;
}

static void install_restore_hooks(void)
{
	static bool done;
	struct sigaction sa = { .sa_sigaction = fatal_signal,
				.sa_flags = SA_SIGINFO };

	if (done)
		return;
	done = true;
	atexit(console_restore);
	sigemptyset(&sa.sa_mask);
	for (unsigned int i = 0; i < NR_FATAL; i++)
		sigaction(fatal_signals[i], &sa, &old_fatal[i]);
}

/* cfmakeraw(), but output processing stays as the user had it. */
static void raw_mode(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios))
		return;
	t = saved_termios;
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
		       ICRNL | IXON);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	install_restore_hooks();
	/* Armed first: a signal between the two must still restore. */
	__atomic_store_n(&raw_active, 1, __ATOMIC_SEQ_CST);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t)) {
		__atomic_store_n(&raw_active, 0, __ATOMIC_SEQ_CST);
		pr_warn("console: cannot set raw mode: %s", strerror(errno));
	}
}

static void print_help(void)
{
	static const char help[] = "\r\n"
				   "C-a h    print this help\r\n"
				   "C-a x    exit devisor\r\n"
				   "C-a C-a  send C-a\r\n";
	ssize_t r = write(STDERR_FILENO, help, sizeof(help) - 1);

	(void)r;
}

/* Handles escapes in place; returns the bytes left for the guest. */
static size_t filter_escapes(uint8_t *buf, size_t n, bool *esc, bool *quit)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = buf[i];

		if (!*esc) {
			if (c == ESCAPE_CHAR)
				*esc = true;
			else
				buf[out++] = c;
			continue;
		}
		*esc = false;
		switch (c) {
		case ESCAPE_CHAR:
			buf[out++] = c;
			break;
		case 'x':
			*quit = true;
			return out;
		case 'h':
		case '?':
			print_help();
			break;
		default:
			break;
		}
	}
	return out;
}

/*
 * buf[head, tail) is input the guest has not taken yet. stdin is read only
 * while there is room, so a guest that stops reading pushes back on the
 * terminal rather than losing keys; escapes are seen as long as it fits.
 */
static void *console_thread(void *opaque)
{
	uint8_t buf[INPUT_BUF];
	size_t head = 0, tail = 0;
	bool eof = false, esc = false, quit = false;
	int rx_fd = console.port.rx_eventfd;

	sandbox_apply(SANDBOX_CONSOLE, "console");
	while (!quit) {
		struct pollfd fds[3];
		nfds_t nfds = 0;
		int in_idx = -1, rx_idx = -1;
		ssize_t n;

		if (head < tail)
			head += console.port.receive(console.port.opaque,
						     buf + head, tail - head);
		if (head == tail)
			head = tail = 0;
		if (eof && !tail)
			break;

		fds[nfds++] = (struct pollfd){ .fd = console.stop_fd,
					       .events = POLLIN };
		if (!eof && (head || tail < sizeof(buf))) {
			in_idx = nfds;
			fds[nfds++] = (struct pollfd){ .fd = STDIN_FILENO,
						       .events = POLLIN };
		}
		if (tail) {
			rx_idx = nfds;
			fds[nfds++] = (struct pollfd){ .fd = rx_fd,
						       .events = POLLIN };
		}
		if (poll(fds, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_warn("console: poll: %s", strerror(errno));
			break;
		}
		if (fds[0].revents)
			break;
		if (rx_idx >= 0 && fds[rx_idx].revents) {
			uint64_t cnt;

			n = read(rx_fd, &cnt, sizeof(cnt));
			(void)n;
		}
		if (in_idx < 0 || !fds[in_idx].revents)
			continue;
		if (head) {
			memmove(buf, buf + head, tail - head);
			tail -= head;
			head = 0;
		}
		n = read(STDIN_FILENO, buf + tail, sizeof(buf) - tail);
		if (n > 0) {
			tail += filter_escapes(buf + tail, n, &esc, &quit);
		} else if (n == 0) {
			eof = true;
		} else if (errno != EINTR && errno != EAGAIN) {
			pr_warn("console: reading stdin: %s", strerror(errno));
			eof = true;
		}
	}
	if (quit)
		vm_stop(console.vm, VM_STOP_SIGNAL, 0,
			"quit from console (Ctrl-A x)");
	return NULL;
}

int console_start(struct vm *vm, const struct console_port *port)
{
	int ret;

	if (console.running)
		return -EBUSY;
	console.vm = vm;
	console.port = *port;
	console.stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (console.stop_fd < 0)
		return -errno;
	raw_mode();

	ret = helper_thread_create(&console.thread, console_thread, NULL,
				   "console");
	if (ret) {
		close(console.stop_fd);
		console.stop_fd = -1;
		console_restore();
		return -ret;
	}
	console.running = true;
	return 0;
}

void console_stop(void)
{
	if (console.running) {
		uint64_t one = 1;
		ssize_t r = write(console.stop_fd, &one, sizeof(one));

		(void)r;
		pthread_join(console.thread, NULL);
		close(console.stop_fd);
		console.stop_fd = -1;
		console.running = false;
	}
	console_restore();
}

/* Output ------------------------------------------------------------------ */

struct console_out {
	pthread_mutex_t lock; /* everything below but @thread */
	pthread_cond_t cond; /* bytes arrived, or stopping */
	uint8_t *buf;
	size_t size, head, len; /* buf[head, head + len) modulo size */
	int fd;
	bool want_room; /* a write came up short since @room last ran */
	bool stopping;
	bool abandoned; /* destroy gave up on it: it frees itself */
	bool exited;
	void (*room)(void *opaque);
	void *opaque;
	pthread_t thread;
};

/* One write() of the oldest bytes, with no lock held. */
static ssize_t out_write(int fd, const uint8_t *p, size_t n)
{
	ssize_t w = write(fd, p, n);

	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		/* Someone made the fd non-blocking: wait here all the same. */
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };

		poll(&pfd, 1, -1);
		errno = EAGAIN;
	}
	return w;
}

static void out_free(struct console_out *o)
{
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o->buf);
	free(o);
}

static void *out_thread(void *arg)
{
	struct console_out *o = arg;
	bool self;

	sandbox_apply(SANDBOX_CONSOLE, "console-out");
	pthread_mutex_lock(&o->lock);
	for (;;) {
		size_t n = o->size - o->head;
		void (*room)(void *opaque);
		ssize_t w;

		while (!o->len && !o->stopping)
			pthread_cond_wait(&o->cond, &o->lock);
		if (!o->len || o->abandoned)
			break;
		/* Producers only add behind buf[head, head + len): no lock. */
		if (n > o->len)
			n = o->len;
		/* A pipe takes PIPE_BUF whole once it has room: frees room soon. */
		if (n > PIPE_BUF)
			n = PIPE_BUF;
		if (o->fd < 0) {
			w = n;
		} else {
			pthread_mutex_unlock(&o->lock);
			w = out_write(o->fd, o->buf + o->head, n);
			pthread_mutex_lock(&o->lock);
		}
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0) {
			pr_warn("console: output failed: %s; discarding from now on",
				w < 0 ? strerror(errno) : "EOF");
			o->fd = -1;
			continue;
		}
		o->head = (o->head + w) % o->size;
		o->len -= w;
		room = o->want_room ? o->room : NULL;
		o->want_room = false;
		if (room) {
			pthread_mutex_unlock(&o->lock);
			room(o->opaque);
			pthread_mutex_lock(&o->lock);
		}
	}
	o->exited = true;
	self = o->abandoned;
	pthread_mutex_unlock(&o->lock);
	if (self)
		out_free(o);
	return NULL;
}

struct console_out *console_out_create(int fd, size_t size,
				       void (*room)(void *opaque), void *opaque)
{
	struct console_out *o = calloc(1, sizeof(*o));
	int ret;

	if (!o || !size || !(o->buf = malloc(size))) {
		free(o);
		errno = ENOMEM;
		return NULL;
	}
	o->size = size;
	o->fd = fd;
	o->room = room;
	o->opaque = opaque;
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
	ret = helper_thread_create(&o->thread, out_thread, o, "console-out");
	if (ret) {
		out_free(o);
		errno = ret;
		return NULL;
	}
	return o;
}

size_t console_out_write(struct console_out *o, const void *buf, size_t len,
			 size_t keep)
{
	size_t done = 0, space;

	pthread_mutex_lock(&o->lock);
	space = o->size - o->len > keep ? o->size - o->len - keep : 0;
	while (done < len && space) {
		size_t tail = (o->head + o->len) % o->size;
		size_t n = o->size - tail;

		if (n > space)
			n = space;
		if (n > len - done)
			n = len - done;
		memcpy(o->buf + tail, (const uint8_t *)buf + done, n);
		o->len += n;
		done += n;
		space -= n;
	}
	if (done < len)
		o->want_room = true;
	if (done)
		pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
	return done;
}

void console_out_destroy(struct console_out *o, unsigned int timeout_ms)
{
	struct timespec until;

	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	o->stopping = true;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	if (!pthread_timedjoin_np(o->thread, NULL, &until)) {
		out_free(o);
		return;
	}
	/*
	 * Stuck in write() on a reader that does not read: leave it there,
	 * with no @room to call, to free itself if the write ever returns.
	 * Neither a signal nor pthread_cancel() (which needs libgcc_s at run
	 * time) is worth it for a thread that holds no lock.
	 */
	pthread_mutex_lock(&o->lock);
	if (o->exited) {
		pthread_mutex_unlock(&o->lock);
		pthread_join(o->thread, NULL);
		out_free(o);
		return;
	}
	o->abandoned = true;
	o->room = NULL;
	pr_warn("console: output not read for %u ms; dropped %zu bytes",
		timeout_ms, o->len);
	pthread_mutex_unlock(&o->lock);
	pthread_detach(o->thread);
}
