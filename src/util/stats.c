// SPDX-License-Identifier: GPL-2.0
#include "util/stats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "util/log.h"

bool stats_on;
uint64_t stats_counters[STATS_NR_COUNTERS];
static const char *const counter_names[STATS_NR_COUNTERS] = {
	[STATS_VIRTIO_KICKS] = "virtio_kicks",
	[STATS_VIRTIO_IRQS] = "virtio_irqs",
	[STATS_VIRTIO_POLLED] = "virtio_polled",
	[STATS_VIRTIO_BATCHED] = "virtio_batched",
	[STATS_BLK_REQS] = "blk_reqs",
	[STATS_BLK_PASSES] = "blk_passes",
	[STATS_BLK_QUIET] = "blk_quiet",
};

/* Untouched unless counting: zero pages, no resident memory. */
static uint32_t io_count[65536];

#define MMIO_PAGES 256
static struct {
	uint64_t page; /* gpa >> 12, plus one: 0 is a free slot */
	uint64_t count;
} mmio_count[MMIO_PAGES];
static uint64_t mmio_other;
static pthread_mutex_t mmio_lock = PTHREAD_MUTEX_INITIALIZER;

#define MARKS 16
static struct {
	const char *name;
	uint64_t ns;
} marks[MARKS];
static unsigned int nr_marks;

void stats_mark(const char *name)
{
	unsigned int i;

	if (!stats_on)
		return;
	i = __atomic_fetch_add(&nr_marks, 1, __ATOMIC_RELAXED);
	if (i < MARKS)
		marks[i] = (typeof(marks[0])){ name, monotonic_ns() };
}

__attribute__((constructor)) static void stats_init(void)
{
	stats_on = getenv("DEVISOR_STATS") != NULL;
	stats_mark("ctor");
}

void stats_note_io(uint16_t port)
{
	__atomic_fetch_add(&io_count[port], 1, __ATOMIC_RELAXED);
}

void stats_note_mmio(uint64_t gpa)
{
	uint64_t key = (gpa >> 12) + 1;
	unsigned int i = (unsigned int)(key * 0x9e3779b97f4a7c15ull >> 56);

	pthread_mutex_lock(&mmio_lock);
	for (unsigned int n = 0; n < MMIO_PAGES;
	     n++, i = (i + 1) % MMIO_PAGES) {
		if (mmio_count[i].page == key || !mmio_count[i].page) {
			mmio_count[i].page = key;
			mmio_count[i].count++;
			goto out;
		}
	}
	mmio_other++;
out:
	pthread_mutex_unlock(&mmio_lock);
}

/* The @n biggest of @cnt counts (index -> count by @get), "key:count,...". */
static void print_top(const char *name, unsigned int cnt,
		      uint64_t (*get)(unsigned int i, uint64_t *key),
		      unsigned int n)
{
	uint64_t last_best = UINT64_MAX;
	int last_i = -1;

	fprintf(stderr, " %s=", name);
	for (unsigned int k = 0; k < n; k++) {
		uint64_t best = 0, key = 0, kk;
		int bi = -1;

		/* Next below the last one printed; ties in index order. */
		for (unsigned int i = 0; i < cnt; i++) {
			uint64_t c = get(i, &kk);

			if (!c || c > last_best ||
			    (c == last_best && (int)i <= last_i))
				continue;
			if (c > best) {
				best = c;
				bi = (int)i;
				key = kk;
			}
		}
		if (bi < 0)
			break;
		fprintf(stderr, "%s%#llx:%llu", k ? "," : "",
			(unsigned long long)key, (unsigned long long)best);
		last_best = best;
		last_i = bi;
	}
}

static uint64_t io_get(unsigned int i, uint64_t *key)
{
	*key = i;
	return io_count[i];
}

static uint64_t mmio_get(unsigned int i, uint64_t *key)
{
	*key = mmio_count[i].page ? (mmio_count[i].page - 1) << 12 : 0;
	return mmio_count[i].page ? mmio_count[i].count : 0;
}

static unsigned long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	unsigned long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Resident pages of guest RAM: they are the guest's, not our overhead.
 * Counted a window at a time, so that counting adds nothing to the peak.
 */
static unsigned long guest_rss_kb(const struct guest_mem *m)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char vec[1024];
	unsigned long n = 0;

	for (size_t off = 0; off < m->map_size;) {
		size_t len = m->map_size - off;

		if (len > sizeof(vec) * (size_t)page)
			len = sizeof(vec) * (size_t)page;
		if (mincore(m->base + off, len, vec) < 0)
			return 0;
		for (size_t i = 0; i < (len + page - 1) / page; i++)
			n += vec[i] & 1;
		off += len;
	}
	return n * (page / 1024);
}

void stats_report(struct vm *vm)
{
	unsigned long long io = 0, mmio = 0;
	unsigned long rss, guest;

	if (!stats_on)
		return;
	for (unsigned int i = 0; i < vm->nr_cpus; i++) {
		io += vm->vcpus[i]->exits_io;
		mmio += vm->vcpus[i]->exits_mmio;
	}
	rss = rss_kb();
	guest = guest_rss_kb(&vm->mem);
	fprintf(stderr,
		"devisor-stats: first_kvm_run_ns=%llu exits_io=%llu "
		"exits_mmio=%llu rss_kb=%lu guest_rss_kb=%lu overhead_kb=%lu",
		(unsigned long long)vm->first_run_ns, io, mmio, rss, guest,
		rss > guest ? rss - guest : 0);
	for (unsigned int i = 0; i < nr_marks && i < MARKS; i++)
		fprintf(stderr, "%s%s:%llu", i ? "," : " marks=", marks[i].name,
			(unsigned long long)marks[i].ns);
	for (unsigned int i = 0; i < STATS_NR_COUNTERS; i++)
		fprintf(stderr, " %s=%llu", counter_names[i],
			(unsigned long long)__atomic_load_n(&stats_counters[i],
							    __ATOMIC_RELAXED));
	print_top("io_top", 65536, io_get, 8);
	print_top("mmio_page_top", MMIO_PAGES, mmio_get, 8);
	if (mmio_other)
		fprintf(stderr, " mmio_untracked=%llu",
			(unsigned long long)mmio_other);
	fprintf(stderr, "\n");
}
