// SPDX-License-Identifier: GPL-2.0
/*
 * The bounded console output buffer (backend/console.c) over a pipe the
 * test reads, or never reads: it fills, pushes back, keeps order, resumes
 * when the reader drains it, and a reader that never reads costs a bounded
 * wait at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/console.h"

#define SIZE 16384
#define PIPE_SIZE 4096

struct fix {
	int p[2]; /* the buffer writes p[1], the test reads p[0] */
	struct console_out *o;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int rooms;
	size_t checked; /* bytes read back and compared */
};

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 31 + (i >> 9));
}

static void room(void *opaque)
{
	struct fix *f = opaque;

	pthread_mutex_lock(&f->lock);
	f->rooms++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static unsigned int rooms(struct fix *f)
{
	unsigned int n;

	pthread_mutex_lock(&f->lock);
	n = f->rooms;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static bool wait_room_after(struct fix *f, unsigned int seen, int ms)
{
	struct timespec until;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000 + 1;
	pthread_mutex_lock(&f->lock);
	while (f->rooms == seen &&
	       pthread_cond_timedwait(&f->cond, &f->lock, &until) == 0)
		;
	ok = f->rooms != seen;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The pipe at its smallest and full, so the writer blocks at once. */
static void fill_pipe(struct fix *f)
{
	uint8_t junk[PIPE_SIZE];
	int fl = fcntl(f->p[1], F_GETFL);

	memset(junk, 0, sizeof(junk));
	assert_true(fcntl(f->p[1], F_SETPIPE_SZ, PIPE_SIZE) >= PIPE_SIZE);
	assert_int_equal(fcntl(f->p[1], F_SETFL, fl | O_NONBLOCK), 0);
	while (write(f->p[1], junk, sizeof(junk)) > 0)
		;
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(fcntl(f->p[1], F_SETFL, fl), 0);
}

/* Reads what the pipe holds and checks it against the pattern. */
static size_t drain_some(struct fix *f, size_t max)
{
	uint8_t buf[4096];
	size_t got = 0;

	while (got < max) {
		struct pollfd pfd = { .fd = f->p[0], .events = POLLIN };
		size_t want = max - got < sizeof(buf) ? max - got : sizeof(buf);
		ssize_t n;

		if (poll(&pfd, 1, 20) <= 0)
			break;
		n = read(f->p[0], buf, want);
		assert_true(n > 0);
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(f->checked + i))
				fail_msg("byte %zu: got %#x, want %#x",
					 f->checked + i, buf[i],
					 pattern(f->checked + i));
		f->checked += n;
		got += n;
	}
	return got;
}

/* Discards the junk fill_pipe() left in front of the pattern. */
static void skip_junk(struct fix *f)
{
	uint8_t junk[PIPE_SIZE];
	size_t left = PIPE_SIZE;

	while (left) {
		ssize_t n = read(f->p[0], junk, left);

		assert_true(n > 0);
		left -= n;
	}
}

static size_t put(struct fix *f, size_t from, size_t len, size_t keep)
{
	uint8_t buf[1000];

	assert_true(len <= sizeof(buf));
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(from + i);
	return console_out_write(f->o, buf, len, keep);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(pipe2(f->p, O_CLOEXEC), 0);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	console_out_destroy(f->o, 100);
	close(f->p[0]);
	close(f->p[1]);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return 0;
}

/*
 * A blocked reader: the buffer takes exactly its size (less what a caller
 * keeps free), then nothing; the reader catching up brings a room call,
 * and everything arrives once, in order.
 */
static void test_fill_backpressure_resume(void **state)
{
	struct fix *f = *state;
	enum { TOTAL = 256 * 1024, KEEP = 256 };
	size_t sent = 0, n;
	unsigned int seen;
	long deadline;

	fill_pipe(f);
	f->o = console_out_create(f->p[1], SIZE, room, f);
	assert_non_null(f->o);
	/* The writer blocks on the first bytes, which stay in the buffer. */
	while ((n = put(f, sent, 1000, KEEP)) == 1000)
		sent += n;
	sent += n;
	assert_int_equal(sent, SIZE - KEEP);
	usleep(50000);
	assert_int_equal(put(f, sent, 1000, KEEP), 0);
	/* The kept bytes are there for a caller that needs them. */
	n = put(f, sent, 1000, 0);
	assert_int_equal(n, KEEP);
	sent += n;
	assert_int_equal(put(f, sent, 1, 0), 0);
	assert_int_equal(rooms(f), 0);

	/* The reader drains the pipe: the writer moves, room is called. */
	seen = rooms(f);
	skip_junk(f);
	assert_true(wait_room_after(f, seen, 2000));

	deadline = now_ms() + 10000;
	while (f->checked < TOTAL && now_ms() < deadline) {
		while (sent < TOTAL) {
			size_t len = TOTAL - sent < 1000 ? TOTAL - sent : 1000;

			n = put(f, sent, len, 0);
			sent += n;
			if (n < len)
				break;
		}
		drain_some(f, 3000);
	}
	assert_int_equal(sent, TOTAL);
	assert_int_equal(f->checked, TOTAL);
	assert_true(rooms(f) > 1);
}

/* A reader that never reads: destroy gives up after its timeout. */
static void test_stop_with_stalled_reader(void **state)
{
	struct fix *f = *state;
	size_t sent = 0, n;
	unsigned int seen;
	long t0, dt;

	fill_pipe(f);
	f->o = console_out_create(f->p[1], SIZE, room, f);
	assert_non_null(f->o);
	while ((n = put(f, sent, 1000, 0)) > 0)
		sent += n;
	assert_int_equal(sent, SIZE);
	t0 = now_ms();
	console_out_destroy(f->o, 200);
	f->o = NULL;
	dt = now_ms() - t0;
	assert_true(dt >= 150);
	assert_true(dt < 1500);
	/* The writer left behind calls nobody once the reader wakes up. */
	seen = rooms(f);
	skip_junk(f);
	usleep(50000);
	assert_int_equal(rooms(f), seen);
}

/* A reader that keeps up: destroy writes everything and returns at once. */
static void test_stop_flushes(void **state)
{
	struct fix *f = *state;
	long t0;

	f->o = console_out_create(f->p[1], SIZE, room, f);
	assert_non_null(f->o);
	assert_int_equal(put(f, 0, 1000, 0), 1000);
	t0 = now_ms();
	console_out_destroy(f->o, 5000);
	f->o = NULL;
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(drain_some(f, 2000), 1000);
}

/* A dead reader: output is discarded rather than held. */
static void test_broken_fd_discards(void **state)
{
	struct fix *f = *state;
	long deadline = now_ms() + 5000;
	size_t sent = 0;

	close(f->p[0]);
	f->p[0] = -1;
	f->o = console_out_create(f->p[1], SIZE, room, f);
	assert_non_null(f->o);
	while (sent < 4 * SIZE && now_ms() < deadline)
		sent += put(f, sent,
			    4 * SIZE - sent < 1000 ? 4 * SIZE - sent : 1000, 0);
	assert_int_equal(sent, 4 * SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fill_backpressure_resume,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_stalled_reader,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_flushes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_broken_fd_discards, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
