// SPDX-License-Identifier: GPL-2.0
/*
 * The seccomp sandbox (util/sandbox.c): every kind's filter builds from
 * names this architecture knows; a forked child under a filter keeps
 * working on the calls its list allows and is stopped, with the message,
 * on one it does not (status 128 + SIGSYS); log mode lets it through.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

static void test_parse_mode(void **state)
{
	enum sandbox_mode m;

	assert_int_equal(sandbox_parse_mode("true", &m), 0);
	assert_int_equal(m, SANDBOX_ON);
	assert_int_equal(sandbox_parse_mode("on", &m), 0);
	assert_int_equal(m, SANDBOX_ON);
	assert_int_equal(sandbox_parse_mode("false", &m), 0);
	assert_int_equal(m, SANDBOX_OFF);
	assert_int_equal(sandbox_parse_mode("off", &m), 0);
	assert_int_equal(m, SANDBOX_OFF);
	assert_int_equal(sandbox_parse_mode("log", &m), 0);
	assert_int_equal(m, SANDBOX_LOG);
	assert_int_equal(sandbox_parse_mode("yes", &m), -1);
	assert_int_equal(sandbox_parse_mode("", &m), -1);
	assert_string_equal(sandbox_kind_name(SANDBOX_VCPU), "vcpu");
	assert_string_equal(sandbox_kind_name(SANDBOX_IO), "io");
}

static void test_filters_build(void **state)
{
	if (!sandbox_available())
		skip();
	for (int k = 0; k < SANDBOX_NR_KINDS; k++)
		assert_in_range(sandbox_filter_len(k), 20, 1024);
	/* The main thread's list holds those of the threads it starts. */
	assert_true(sandbox_filter_len(SANDBOX_MAIN) >
		    sandbox_filter_len(SANDBOX_IO));
	assert_true(sandbox_filter_len(SANDBOX_MAIN) >
		    sandbox_filter_len(SANDBOX_VCPU));
	assert_int_equal(sandbox_filter_len(SANDBOX_NR_KINDS), -EINVAL);
}

/*
 * Runs @fn in a child under @kind's filter (@mode) with stderr in a
 * pipe; returns the wait status, the child's stderr in @out.
 */
static int in_child(enum sandbox_kind kind, enum sandbox_mode mode,
		    void (*fn)(void), char *out, size_t size)
{
	int p[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		if (sandbox_init(mode, NULL))
			_exit(100);
		sandbox_apply(kind, "tester");
		fn();
		_exit(0);
	}
	close(p[1]);
	while (len + 1 < size &&
	       (n = read(p[0], out + len, size - 1 - len)) > 0)
		len += n;
	out[len] = 0;
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* @fn under @kind's filter is stopped (128 + SIGSYS), @what in the report. */
static void assert_traps(enum sandbox_kind kind, void (*fn)(void),
			 const char *what)
{
	char out[1024];
	int st = in_child(kind, SANDBOX_ON, fn, out, sizeof(out));

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 128 + SIGSYS ||
	    !strstr(out, what))
		print_message("%s\n", out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 128 + SIGSYS);
	assert_non_null(strstr(out, what));
}

static void allowed_then_execveat(void)
{
	struct timespec ts;
	char c = 'x';
	int fd;

	/* What a vCPU does: these must all go through. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (getpid() <= 0 || write(STDERR_FILENO, &c, 1) != 1)
		_exit(101);
	fd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0)
		_exit(102);
	close(fd);
	free(malloc(1 << 20));
	/* The RTC's calendar: glibc's time zone was read beforehand. */
	{
		time_t now = time(NULL);
		struct tm tm;

		if (!gmtime_r(&now, &tm) || timegm(&tm) != now)
			_exit(110);
	}
#ifndef ASAN
	/* A file: refused with an error, not a trap (ASan's may open). */
	if (open("/proc/self/status", O_RDONLY) != -1 || errno != EACCES)
		_exit(111);
#endif
	/* A request number on the list, on no fd: EBADF, not a trap. */
	if (ioctl(-1, 0xae80 /* KVM_RUN */, 0) != -1 || errno != EBADF)
		_exit(103);
	syscall(SYS_execveat, -1, "", NULL, NULL, 0);
	_exit(104);
}

static void test_vcpu_stops_execveat(void **state)
{
	if (!sandbox_available())
		skip();
	assert_traps(SANDBOX_VCPU, allowed_then_execveat,
		     "devisor: seccomp: thread tester (vcpu filter) made "
		     "system call 322 (execveat)");
}

static void tiocsti(void)
{
	char c = 'x';

	/* Not on the vCPU's list of ioctl requests. */
	ioctl(STDIN_FILENO, TIOCSTI, &c);
	_exit(0);
}

static void test_vcpu_stops_other_ioctl(void **state)
{
	if (!sandbox_available())
		skip();
	assert_traps(SANDBOX_VCPU, tiocsti, "system call 16 (ioctl)");
}

static void *nothing(void *arg)
{
	return arg;
}

static void thread_then_fork(void)
{
	pthread_t t;
	pid_t pid;

	/* A thread is fine (clone3 refused, glibc falls back to clone). */
	if (pthread_create(&t, NULL, nothing, NULL) || pthread_join(t, NULL))
		_exit(105);
	/* A process is not. */
	pid = fork();
	if (pid == 0)
		_exit(0);
	_exit(106);
}

static void test_api_threads_not_processes(void **state)
{
	if (!sandbox_available())
		skip();
#ifdef ASAN
	/* LeakSanitizer's tracer is a clone: ASan builds allow it. */
	skip();
#endif
	assert_traps(SANDBOX_API, thread_then_fork,
		     "(api filter) made system call 56 (clone)");
}

static void *vcpu_like(void *arg)
{
	struct timespec ts;
	int fd;

	sandbox_apply(SANDBOX_VCPU, "vcpu-child");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fd = eventfd(0, EFD_CLOEXEC);
	if (fd >= 0)
		close(fd);
	free(malloc(1 << 16));
	return fd >= 0 ? arg : NULL;
}

static void main_starts_filtered_thread(void)
{
	static int token;
	pthread_t t;
	void *ret = NULL;

	/* As the main thread starts vCPUs: each installs its own filter. */
	if (pthread_create(&t, NULL, vcpu_like, &token) ||
	    pthread_join(t, &ret) || ret != &token)
		_exit(109);
	_exit(0);
}

static void test_threads_of_main_install_theirs(void **state)
{
	char out[1024];
	int st;

	if (!sandbox_available())
		skip();
	st = in_child(SANDBOX_MAIN, SANDBOX_ON, main_starts_filtered_thread,
		      out, sizeof(out));
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		print_message("%s\n", out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* --io-sched: a thread may make itself SCHED_BATCH and nothing else. */
static void batch_then_idle(void)
{
	struct sched_param sp = { 0 };

	if (sched_setscheduler(0, SCHED_BATCH, &sp))
		_exit(120);
	sched_setscheduler(0, SCHED_IDLE, &sp);
	_exit(121);
}

static void test_sched_batch_only(void **state)
{
	if (!sandbox_available())
		skip();
	assert_traps(SANDBOX_MAIN, batch_then_idle, "(sched_setscheduler)");
}

/* The I/O thread's own filter, loaded after that call, refuses it. */
static void io_thread_batch(void)
{
	struct sched_param sp = { 0 };

	sched_setscheduler(0, SCHED_BATCH, &sp);
	_exit(122);
}

static void test_sched_only_where_threads_start(void **state)
{
	if (!sandbox_available())
		skip();
	assert_traps(SANDBOX_IO, io_thread_batch, "(sched_setscheduler)");
}

static void execveat_survives(void)
{
	long r = syscall(SYS_execveat, -1, "", NULL, NULL, 0);

	_exit(r == -1 && errno != ENOSYS ? 0 : 107);
}

static void test_log_lets_through(void **state)
{
	char out[1024];
	int st;

	if (!sandbox_available())
		skip();
	st = in_child(SANDBOX_VCPU, SANDBOX_LOG, execveat_survives, out,
		      sizeof(out));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/*
 * tgkill's pid is patched into the filter when it is loaded: signals to
 * this process go through, one to another process traps.
 */
static pid_t parent;

static void signal_self_then_parent(void)
{
	/* Ignored by default: nothing happens but the call. */
	if (raise(SIGURG))
		_exit(109);
	syscall(SYS_tgkill, parent, parent, 0);
	_exit(110);
}

static void test_tgkill_own_process_only(void **state)
{
	if (!sandbox_available())
		skip();
	parent = getpid();
	assert_traps(SANDBOX_VCPU, signal_self_then_parent,
		     "made system call 234 (tgkill)");
}

static void unfiltered(void)
{
	_exit(prctl(PR_GET_SECCOMP) == 0 ? 0 : 108);
}

static void test_off_installs_nothing(void **state)
{
	char out[1024];
	int st = in_child(SANDBOX_VCPU, SANDBOX_OFF, unfiltered, out,
			  sizeof(out));

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_mode),
		cmocka_unit_test(test_filters_build),
		cmocka_unit_test(test_vcpu_stops_execveat),
		cmocka_unit_test(test_vcpu_stops_other_ioctl),
		cmocka_unit_test(test_api_threads_not_processes),
		cmocka_unit_test(test_threads_of_main_install_theirs),
		cmocka_unit_test(test_log_lets_through),
		cmocka_unit_test(test_tgkill_own_process_only),
		cmocka_unit_test(test_sched_batch_only),
		cmocka_unit_test(test_sched_only_where_threads_start),
		cmocka_unit_test(test_off_installs_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
