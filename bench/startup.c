// SPDX-License-Identifier: GPL-2.0
/*
 * Start-up and memory benchmark: boots a test guest that exits at once,
 * many times, under devisor and (when present) under QEMU with KVM, and
 * prints medians and ratios from the same run. Figures, not pass/fail.
 *
 *   bench/startup DEVISOR GUEST [RUNS]
 *
 * devisor's start-up is process spawn to its first KVM_RUN (reported by
 * devisor itself with DEVISOR_STATS=1, on the same CLOCK_MONOTONIC); its
 * overhead is resident memory minus resident guest RAM at exit. For both
 * VMMs we also time spawn to exit and take ru_maxrss.
 *
 * BENCH_BASELINE=DEVISOR adds another devisor binary, "before", run the
 * same way right after ours (a before/after in one run).
 *
 * BENCH_KVMTOOL=LKVM adds kvmtool (an lkvm built by hand; we never build
 * or ship it): the same guest with exit=reset, which ends it through the
 * i8042's reset as kvmtool has no debug-exit device.
 */
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
	while ((n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
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

/* @want: the exit status of a good run, or -1 for any exit of its own. */
static int run_many(const char *name, char *const argv[], char *const envp[],
		    int want, int runs, double *wall, double *rss)
{
	double *su = calloc(runs, sizeof(double));
	double *ov = calloc(runs, sizeof(double));
	double *wa = calloc(runs, sizeof(double));
	double *mr = calloc(runs, sizeof(double));
	double *mk = calloc((size_t)runs * MARKS, sizeof(double));
	char names[MARKS][16] = { { 0 } };
	int nmarks = -1;
	struct sample s;
	int ok = 0;

	for (int i = 0; i < runs; i++) {
		if (run_one(argv, envp, &s) || s.status < 0 ||
		    (want >= 0 && s.status != want)) {
			fprintf(stderr, "%s: run %d failed (status %d)\n", name,
				i, s.status);
			continue;
		}
		su[ok] = s.startup_ms;
		ov[ok] = s.overhead_kb;
		wa[ok] = s.wall_ms;
		mr[ok] = s.maxrss_kb;
		/* Milestones only while every run names the same ones. */
		if (nmarks < 0) {
			nmarks = s.nmarks;
			memcpy(names, s.mark, sizeof(names));
		} else if (nmarks != s.nmarks) {
			nmarks = 0;
		}
		for (int m = 0; m < nmarks && m < s.nmarks; m++)
			mk[m * runs + ok] = s.mark_ms[m];
		ok++;
	}
	if (ok) {
		*wall = median(wa, ok);
		*rss = median(mr, ok);
		printf("%-8s spawn to guest exit  %8.2f ms   max RSS %7.0f KiB"
		       "   (median of %d)\n",
		       name, *wall, *rss, ok);
		if (su[0] >= 0)
			printf("%-8s spawn to 1st KVM_RUN %8.2f ms   own RSS "
			       "beyond guest RAM %5.0f KiB\n",
			       name, median(su, ok), median(ov, ok));
		if (nmarks > 0) {
			printf("%-8s milestones, ms after spawn:", name);
			for (int m = 0; m < nmarks; m++)
				printf(" %s %.2f", names[m],
				       median(mk + m * runs, ok));
			printf("\n");
		}
	}
	free(su);
	free(ov);
	free(wa);
	free(mr);
	free(mk);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	static char stats_env[] = "DEVISOR_STATS=1";
	char *denv[] = { stats_env, NULL };
	int runs = argc > 3 ? atoi(argv[3]) : 20;
	double dwall = 0, drss = 0, qwall = 0, qrss = 0, kwall = 0, krss = 0;
	const char *kvmtool = getenv("BENCH_KVMTOOL");
	const char *base = getenv("BENCH_BASELINE");
	const char *qemu = "/usr/bin/qemu-system-x86_64";

	if (argc < 3) {
		fprintf(stderr, "usage: %s DEVISOR GUEST [RUNS]\n", argv[0]);
		return 2;
	}
	printf("start-up benchmark: guest %s, 256 MiB, 1 vCPU, %d runs\n",
	       argv[2], runs);
	{
		char *dargv[] = { argv[1],    "run",  "--kernel", argv[2],
				  "--memory", "256M", NULL };

		if (run_many("devisor", dargv, denv, 33, runs, &dwall, &drss))
			return 1;
		printf("targets: start-up < 5 ms, own memory < 3 MiB "
		       "(Firecracker: <= 5 MiB, ~12 ms to its API socket)\n");
	}
	if (base) {
		char *bargv[] = { (char *)base, "run",	"--kernel", argv[2],
				  "--memory",	"256M", NULL };
		double bwall, brss;

		if (run_many("before", bargv, denv, 33, runs, &bwall, &brss) ==
		    0)
			printf("ratio before/devisor: spawn-to-exit %.2fx, max "
			       "RSS %.2fx\n",
			       bwall / dwall, brss / drss);
	}
	if (access(qemu, X_OK) == 0) {
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

		if (run_many("qemu", qargv, environ, 33, runs, &qwall, &qrss) ==
		    0)
			printf("ratio qemu/devisor: spawn-to-exit %.1fx, max "
			       "RSS %.1fx\n",
			       qwall / dwall, qrss / drss);
	} else {
		printf("qemu: %s not installed, no peer figures\n", qemu);
	}
	if (kvmtool) {
		static char home[] = "HOME=/tmp";
		char *kenv[] = { home, NULL };
		char *kargv[] = { (char *)kvmtool,
				  "run",
				  "-k",
				  argv[2],
				  "-m",
				  "256",
				  "-c",
				  "1",
				  "--console",
				  "serial",
				  "--network",
				  "mode=none",
				  "-p",
				  "exit=reset",
				  NULL };

		if (run_many("kvmtool", kargv, kenv, -1, runs, &kwall, &krss) ==
		    0)
			printf("ratio kvmtool/devisor: spawn-to-exit %.2fx, max "
			       "RSS %.2fx\n",
			       kwall / dwall, krss / drss);
	}
	return 0;
}
