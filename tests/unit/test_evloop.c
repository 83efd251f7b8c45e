// SPDX-License-Identifier: GPL-2.0
/*
 * The I/O thread's deferred work (evloop_defer()): queued from a callback,
 * run once at the end of the pass however often it was queued, and
 * refused on any other thread. Its timers (evloop_timer_arm()): they wake
 * a sleeping loop no earlier than asked, once however often re-armed, not
 * at all once cancelled, and only the loop's thread arms them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/evloop.h"
#include "util/log.h"

static struct {
	struct evloop *loop;
	struct evloop_deferred d;
	int efd, done; /* done: written by the deferred work */
	int defers; /* evloop_defer() calls per callback */
	int callbacks, runs;
	int runs_seen_by_callback; /* runs when the last callback returned */
	bool accepted;
	struct evloop_timer timer;
	uint64_t timer_ns; /* what a callback arms it for; 0: not at all */
	int arms; /* evloop_timer_arm() calls per callback */
	uint64_t armed_at, fired_at;
	int fires;
	int policy; /* the callback's thread's scheduling policy */
} t;

static void timer_fn(void *opaque)
{
	uint64_t one = 1;

	t.fires++;
	t.fired_at = monotonic_ns();
	if (write(t.done, &one, sizeof(one)) != sizeof(one))
		fail();
}

static void deferred(void *opaque)
{
	uint64_t one = 1;

	t.runs++;
	if (write(t.done, &one, sizeof(one)) != sizeof(one))
		fail();
}

static void cb(void *opaque, uint32_t events)
{
	uint64_t n;

	if (read(t.efd, &n, sizeof(n)) != sizeof(n))
		return;
	t.callbacks++;
	t.policy = sched_getscheduler(0);
	t.accepted = true;
	for (int i = 0; i < t.defers; i++)
		t.accepted &= evloop_defer(t.loop, &t.d);
	t.runs_seen_by_callback = t.runs;
	t.armed_at = monotonic_ns();
	for (int i = 0; i < t.arms; i++)
		t.accepted &= evloop_timer_arm(t.loop, &t.timer, t.timer_ns);
}

static void wait_done(void)
{
	struct pollfd pfd = { .fd = t.done, .events = POLLIN };
	uint64_t n;

	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(read(t.done, &n, sizeof(n)), sizeof(n));
}

static int setup(void **state)
{
	t = (typeof(t)){ .defers = 3 };
	t.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t.done = eventfd(0, EFD_CLOEXEC);
	t.d = (struct evloop_deferred){ .fn = deferred };
	t.timer = (struct evloop_timer){ .fn = timer_fn };
	t.loop = evloop_create("test");
	assert_non_null(t.loop);
	assert_int_equal(evloop_add(t.loop, t.efd, EPOLLIN, cb, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	evloop_del(t.loop, t.efd);
	evloop_destroy(t.loop);
	close(t.efd);
	close(t.done);
	return 0;
}

static void test_once_per_pass(void **state)
{
	uint64_t one = 1;

	assert_int_equal(write(t.efd, &one, sizeof(one)), sizeof(one));
	wait_done();
	assert_true(t.accepted);
	assert_int_equal(t.callbacks, 1);
	/* After the callback, and once for its three calls. */
	assert_int_equal(t.runs_seen_by_callback, 0);
	assert_int_equal(t.runs, 1);
	assert_false(t.d.queued);

	/* The next pass queues it again. */
	assert_int_equal(write(t.efd, &one, sizeof(one)), sizeof(one));
	wait_done();
	assert_int_equal(t.callbacks, 2);
	assert_int_equal(t.runs, 2);
}

/* --io-sched: the loop's thread takes its policy before any callback. */
static void test_sched_policy(void **state)
{
	struct evloop *batch = evloop_create_sched("test-batch",
						   EVLOOP_SCHED_BATCH),
		      *normal = t.loop;
	uint64_t one = 1;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), normal_efd = t.efd;

	assert_int_equal(write(t.efd, &one, sizeof(one)), sizeof(one));
	wait_done();
	assert_int_equal(t.policy, SCHED_OTHER);

	assert_non_null(batch);
	assert_true(efd >= 0);
	t.loop = batch; /* cb's evloop_defer() must find its own loop */
	assert_int_equal(evloop_add(batch, efd, EPOLLIN, cb, NULL), 0);
	t.efd = efd;
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
	wait_done();
	assert_int_equal(t.policy, SCHED_BATCH);
	evloop_del(batch, efd);
	evloop_destroy(batch);
	close(efd);
	t.loop = normal;
	t.efd = normal_efd;
}

static void test_other_thread(void **state)
{
	/* Not the loop's thread: the caller does the work itself. */
	assert_false(evloop_defer(t.loop, &t.d));
	assert_false(t.d.queued);
	assert_int_equal(t.runs, 0);
}

/* Nothing but the timer can wake the loop: it must bound the sleep. */
static void test_timer_wakes_loop(void **state)
{
	uint64_t one = 1;

	t.defers = 0;
	t.arms = 3; /* each moves it: one fire */
	t.timer_ns = 30 * 1000 * 1000ull;
	assert_int_equal(write(t.efd, &one, sizeof(one)), sizeof(one));
	wait_done();
	assert_true(t.accepted);
	assert_int_equal(t.fires, 1);
	assert_true(t.fired_at - t.armed_at >= t.timer_ns);
	assert_false(t.timer.armed);
	/* One-shot: nothing more comes. */
	usleep(60 * 1000);
	assert_int_equal(t.fires, 1);
}

static void test_timer_cancel(void **state)
{
	uint64_t one = 1;
	struct pollfd pfd = { .fd = t.done, .events = POLLIN };

	t.defers = 0;
	t.arms = 1;
	t.timer_ns = 100 * 1000 * 1000ull;
	assert_int_equal(write(t.efd, &one, sizeof(one)), sizeof(one));
	for (int i = 0;
	     i < 5000 && !__atomic_load_n(&t.callbacks, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	/* Waits out the pass that armed it. */
	evloop_timer_cancel(t.loop, &t.timer);
	assert_int_equal(t.callbacks, 1);
	assert_false(t.timer.armed);
	assert_int_equal(poll(&pfd, 1, 250), 0);
	assert_int_equal(t.fires, 0);
}

static void test_timer_other_thread(void **state)
{
	assert_false(evloop_timer_arm(t.loop, &t.timer, 1000));
	assert_false(t.timer.armed);
	/* Cancelling what is not armed is fine. */
	evloop_timer_cancel(t.loop, &t.timer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_once_per_pass, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sched_policy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_thread, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timer_wakes_loop, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timer_cancel, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timer_other_thread, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
