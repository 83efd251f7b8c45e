// SPDX-License-Identifier: GPL-2.0
#include "util/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/vcpu.h"
#include "kvm/vm.h"

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

/* Resident pages of guest RAM: they are the guest's, not our overhead. */
static unsigned long guest_rss_kb(const struct guest_mem *m)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t pages = (m->map_size + page - 1) / page;
	unsigned char *vec = malloc(pages);
	unsigned long n = 0;

	if (!vec)
		return 0;
	if (mincore(m->base, m->map_size, vec) == 0)
		for (size_t i = 0; i < pages; i++)
			n += vec[i] & 1;
	free(vec);
	return n * (page / 1024);
}

void stats_report(struct vm *vm)
{
	unsigned long long io = 0, mmio = 0;
	unsigned long rss, guest;

	if (!getenv("DEVISOR_STATS"))
		return;
	for (unsigned int i = 0; i < vm->nr_cpus; i++) {
		io += vm->vcpus[i]->exits_io;
		mmio += vm->vcpus[i]->exits_mmio;
	}
	rss = rss_kb();
	guest = guest_rss_kb(&vm->mem);
	fprintf(stderr,
		"devisor-stats: first_kvm_run_ns=%llu exits_io=%llu "
		"exits_mmio=%llu rss_kb=%lu guest_rss_kb=%lu overhead_kb=%lu\n",
		(unsigned long long)vm->first_run_ns, io, mmio, rss, guest,
		rss > guest ? rss - guest : 0);
}
