// SPDX-License-Identifier: GPL-2.0
/*
 * Start-up and memory benchmark: boots a test guest that exits at once,
 * many times, under devisor and (when present) under QEMU with KVM, the
 * VMMs taking turns run by run, and prints medians and ratios from the
 * same run. Figures, not pass/fail.
 *
 *   bench/startup DEVISOR GUEST [RUNS]
 *
 * devisor's start-up is process spawn to its first KVM_RUN (reported by
 * devisor itself with DEVISOR_STATS=1, on the same CLOCK_MONOTONIC); its
 * overhead is resident memory minus resident guest RAM at exit. For both
 * VMMs we also time spawn to exit and take ru_maxrss.
 *
 * BENCH_BASELINE=DEVISOR adds another devisor binary, "before", run the
 * same way (a before/after in one run).
 *
 * BENCH_KVMTOOL=LKVM adds kvmtool (an lkvm built by hand; we never build
 * or ship it): the same guest with exit=reset, which ends it through the
 * i8042's reset as kvmtool has no debug-exit device.
 */
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MARKS 16

struct sample {
	double startup_ms, wall_ms, maxrss_kb, overhead_kb;
	int status;
	/* devisor's start-up milestones (DEVISOR_STATS "marks="). */
	char mark[MARKS][16];
	double mark_ms[MARKS];
	int nmarks;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Seconds one boot of the hello guest may take, whatever the VMM. */
#define RUN_LIMIT_S 30

static int run_one(char *const argv[], char *const envp[], struct sample *s)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	int pipefd[2], status;
	char buf[4096] = "";
	size_t got = 0;
	ssize_t n;
	double t0;
	pid_t pid;
	char *p;

	if (pipe(pipefd))
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	t0 = now_ns();
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, envp)) {
		perror(argv[0]);
		return -1;
	}
	close(pipefd[1]);
	/* A VMM that never exits (its guest hung) costs RUN_LIMIT_S, once. */
	for (;;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		int left = (int)(RUN_LIMIT_S * 1000 - (now_ns() - t0) / 1e6);

		if (left <= 0 || poll(&pfd, 1, left) == 0) {
			kill(pid, SIGKILL);
			fprintf(stderr, "%s: no exit within %d s: killed\n",
				argv[0], RUN_LIMIT_S);
			break;
		}
		n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += n;
	}
	buf[got] = 0;
	close(pipefd[0]);
	wait4(pid, &status, 0, &ru);
	s->wall_ms = (now_ns() - t0) / 1e6;
	s->maxrss_kb = ru.ru_maxrss;
	s->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	s->startup_ms = s->overhead_kb = -1;
	p = strstr(buf, "first_kvm_run_ns=");
	if (p)
		s->startup_ms = (strtod(p + 17, NULL) - t0) / 1e6;
	p = strstr(buf, "overhead_kb=");
	if (p)
		s->overhead_kb = strtod(p + 12, NULL);
	s->nmarks = 0;
	p = strstr(buf, "marks=");
	for (p = p ? p + 6 : NULL; p && s->nmarks < MARKS;) {
		char *colon = strchr(p, ':'), *end;
		size_t len = colon ? (size_t)(colon - p) : 0;

		if (!colon || len >= sizeof(s->mark[0]))
			break;
		memcpy(s->mark[s->nmarks], p, len);
		s->mark[s->nmarks][len] = 0;
		s->mark_ms[s->nmarks++] = (strtod(colon + 1, &end) - t0) / 1e6;
		p = *end == ',' ? end + 1 : NULL;
	}
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}

/*
 * One VMM's command and its samples. @want: the exit status of a good
 * run, or -1 for any exit of its own.
 */
struct series {
	const char *name;
	char *const *argv, *const *envp;
	int want;
	double *su, *ov, *wa, *mr, *mk;
	char names[MARKS][16];
	int nmarks, ok;
	double wall, rss;
};

static void series_init(struct series *r, const char *name, char *const *argv,
			char *const *envp, int want, int runs)
{
	*r = (struct series){ .name = name,
			      .argv = argv,
			      .envp = envp,
			      .want = want,
			      .nmarks = -1 };
	r->su = calloc(runs, sizeof(double));
	r->ov = calloc(runs, sizeof(double));
	r->wa = calloc(runs, sizeof(double));
	r->mr = calloc(runs, sizeof(double));
	r->mk = calloc((size_t)runs * MARKS, sizeof(double));
}

static void series_run(struct series *r, int i, int runs)
{
	struct sample s = { .status = -1 };

	if (run_one(r->argv, r->envp, &s) || s.status < 0 ||
	    (r->want >= 0 && s.status != r->want)) {
		fprintf(stderr, "%s: run %d failed (status %d)\n", r->name, i,
			s.status);
		return;
	}
	r->su[r->ok] = s.startup_ms;
	r->ov[r->ok] = s.overhead_kb;
	r->wa[r->ok] = s.wall_ms;
	r->mr[r->ok] = s.maxrss_kb;
	/* Milestones only while every run names the same ones. */
	if (r->nmarks < 0) {
		r->nmarks = s.nmarks;
		memcpy(r->names, s.mark, sizeof(r->names));
	} else if (r->nmarks != s.nmarks) {
		r->nmarks = 0;
	}
	for (int m = 0; m < r->nmarks && m < s.nmarks; m++)
		r->mk[m * runs + r->ok] = s.mark_ms[m];
	r->ok++;
}

static void series_report(struct series *r, int runs)
{
	if (!r->ok) {
		printf("%-8s no good run\n", r->name);
		return;
	}
	r->wall = median(r->wa, r->ok);
	r->rss = median(r->mr, r->ok);
	printf("%-8s spawn to guest exit  %8.2f ms   max RSS %7.0f KiB"
	       "   (median of %d)\n",
	       r->name, r->wall, r->rss, r->ok);
	if (r->su[0] >= 0)
		printf("%-8s spawn to 1st KVM_RUN %8.2f ms   own RSS "
		       "beyond guest RAM %5.0f KiB\n",
		       r->name, median(r->su, r->ok), median(r->ov, r->ok));
	if (r->nmarks > 0) {
		printf("%-8s milestones, ms after spawn:", r->name);
		for (int m = 0; m < r->nmarks; m++)
			printf(" %s %.2f", r->names[m],
			       median(r->mk + m * runs, r->ok));
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	static char stats_env[] = "DEVISOR_STATS=1", home[] = "HOME=/tmp";
	char *denv[] = { stats_env, NULL }, *kenv[] = { home, NULL };
	int runs = argc > 3 ? atoi(argv[3]) : 20, n = 0;
	const char *kvmtool = getenv("BENCH_KVMTOOL");
	const char *base = getenv("BENCH_BASELINE");
	const char *qemu = "/usr/bin/qemu-system-x86_64";
	struct series vmm[4];

	if (argc < 3 || runs < 1) {
		fprintf(stderr, "usage: %s DEVISOR GUEST [RUNS]\n", argv[0]);
		return 2;
	}
	char *dargv[] = { argv[1],    "run",  "--kernel", argv[2],
			  "--memory", "256M", NULL };
	char *bargv[] = { (char *)base, "run",	"--kernel", argv[2],
			  "--memory",	"256M", NULL };
	/* microvm: QEMU's leanest machine, no PCI, tiny firmware. */
	char *qargv[] = { (char *)qemu,
			  "-accel",
			  "kvm",
			  "-M",
			  "microvm,x-option-roms=off,rtc=on,pit=on,"
			  "pic=on,isa-serial=on",
			  "-m",
			  "256",
			  "-nodefaults",
			  "-display",
			  "none",
			  "-serial",
			  "stdio",
			  "-no-reboot",
			  "-kernel",
			  argv[2],
			  "-device",
			  "isa-debug-exit,iobase=0xf4,iosize=0x04",
			  NULL };
	char *kargv[] = {
		(char *)kvmtool, "run",	      "-k", argv[2],	  "-m",
		"256",		 "-c",	      "1",  "--console",  "serial",
		"--network",	 "mode=none", "-p", "exit=reset", NULL
	};

	series_init(&vmm[n++], "devisor", dargv, denv, 33, runs);
	if (base)
		series_init(&vmm[n++], "before", bargv, denv, 33, runs);
	if (access(qemu, X_OK) == 0)
		series_init(&vmm[n++], "qemu", qargv, environ, 33, runs);
	else
		printf("qemu: %s not installed, no peer figures\n", qemu);
	if (kvmtool)
		series_init(&vmm[n++], "kvmtool", kargv, kenv, -1, runs);
	printf("start-up benchmark: guest %s, 256 MiB, 1 vCPU, %d runs of "
	       "each VMM, taking turns\n",
	       argv[2], runs);
	/* In turns, so that the host's drift over the run hits all alike. */
	for (int i = 0; i < runs; i++) {
		for (int v = 0; v < n; v++)
			series_run(&vmm[v], i, runs);
		/* Progress, for a harness that watches for silence. */
		printf("DEVISOR-BENCH startup round %d of %d done\n", i + 1,
		       runs);
		fflush(stdout);
	}
	for (int v = 0; v < n; v++)
		series_report(&vmm[v], runs);
	if (!vmm[0].ok)
		return 1;
	printf("targets: start-up < 5 ms, own memory < 3 MiB "
	       "(Firecracker: <= 5 MiB, ~12 ms to its API socket)\n");
	for (int v = 1; v < n; v++)
		if (vmm[v].ok)
			printf("ratio %s/devisor: spawn-to-exit %.2fx, max RSS "
			       "%.2fx\n",
			       vmm[v].name, vmm[v].wall / vmm[0].wall,
			       vmm[v].rss / vmm[0].rss);
	return 0;
}
