// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "arch/x86/machine.h"
#include "bus/device.h"
#include "util/evloop.h"

#include "helpers/pci_fixture.h"

#define MAX_MSGS 1024
/* GSI 24 + i is routes[i]. */
#define NR_ROUTES 64
#define ROUTE_GSI0 24

/* Written by the I/O thread, read by the test. */
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static int irq_level[64];
static struct {
	uint64_t addr;
	uint32_t data;
} msgs[MAX_MSGS];
static unsigned int nr_msgs, irqfd_msgs;
static uint64_t last_addr;
static uint32_t last_data;
static bool routes_fail;
/* ioeventfds as KVM keeps them: a write of len bytes at addr kicks efd. */
#define MAX_IOEVS 128
static struct {
	uint64_t addr;
	unsigned int len;
	int efd;
} ioevs[MAX_IOEVS];
static unsigned int nr_ioevs, ioev_hits;
static struct {
	bool used;
	uint64_t addr;
	uint32_t data;
	int efd; /* bound irqfd, or -1 */
} routes[NR_ROUTES];

/* rec_lock held. */
static void record(uint64_t addr, uint32_t data)
{
	if (nr_msgs < MAX_MSGS) {
		msgs[nr_msgs].addr = addr;
		msgs[nr_msgs].data = data;
	}
	nr_msgs++;
	last_addr = addr;
	last_data = data;
}

/* rec_lock held. What KVM injected from each irqfd since last time. */
static void collect_irqfds(void)
{
	uint64_t cnt;

	for (unsigned int g = 0; g < NR_ROUTES; g++) {
		if (!routes[g].used || routes[g].efd < 0 ||
		    read(routes[g].efd, &cnt, sizeof(cnt)) != sizeof(cnt))
			continue;
		for (; cnt; cnt--, irqfd_msgs++)
			record(routes[g].addr, routes[g].data);
	}
}

static int rec_route_add(void *opaque, int sid, uint64_t addr, uint32_t data)
{
	int gsi = -ENOSPC;

	if (routes_fail)
		return -ENOSYS; /* the group then sends every message itself */
	pthread_mutex_lock(&rec_lock);
	for (unsigned int g = 0; g < NR_ROUTES; g++) {
		if (!routes[g].used) {
			routes[g].used = true;
			routes[g].addr = addr;
			routes[g].data = data;
			routes[g].efd = -1;
			gsi = ROUTE_GSI0 + g;
			break;
		}
	}
	pthread_mutex_unlock(&rec_lock);
	return gsi;
}

static int rec_route_update(void *opaque, unsigned int gsi, int sid,
			    uint64_t addr, uint32_t data)
{
	if (routes_fail)
		return -ENOSYS;
	pthread_mutex_lock(&rec_lock);
	collect_irqfds();
	routes[gsi - ROUTE_GSI0].addr = addr;
	routes[gsi - ROUTE_GSI0].data = data;
	pthread_mutex_unlock(&rec_lock);
	return 0;
}

static void rec_route_remove(void *opaque, unsigned int gsi)
{
	if (routes_fail)
		return;
	pthread_mutex_lock(&rec_lock);
	routes[gsi - ROUTE_GSI0].used = false;
	pthread_mutex_unlock(&rec_lock);
}

static int rec_irqfd(int efd, unsigned int gsi, bool assign)
{
	if (routes_fail)
		return -ENOSYS;
	pthread_mutex_lock(&rec_lock);
	collect_irqfds();
	routes[gsi - ROUTE_GSI0].efd = assign ? efd : -1;
	pthread_mutex_unlock(&rec_lock);
	return 0;
}

static int rec_irqfd_assign(void *opaque, int efd, unsigned int gsi)
{
	return rec_irqfd(efd, gsi, true);
}

static int rec_irqfd_deassign(void *opaque, int efd, unsigned int gsi)
{
	return rec_irqfd(efd, gsi, false);
}

static int rec_signal_msi(void *opaque, int sid, uint64_t addr, uint32_t data)
{
	pthread_mutex_lock(&rec_lock);
	record(addr, data);
	pthread_mutex_unlock(&rec_lock);
	return 0;
}

static int rec_ioeventfd(void *opaque, uint64_t addr, unsigned int len, int efd,
			 bool assign)
{
	int ret = 0;
	unsigned int i;

	pthread_mutex_lock(&rec_lock);
	for (i = 0; i < nr_ioevs; i++)
		if (ioevs[i].addr == addr && ioevs[i].len == len)
			break;
	if (assign) {
		/* KVM refuses a second one on the same address and length. */
		if (i < nr_ioevs)
			ret = -EEXIST;
		else if (nr_ioevs == MAX_IOEVS)
			ret = -ENOSPC;
		else
			ioevs[nr_ioevs++] =
				(typeof(ioevs[0])){ addr, len, efd };
	} else if (i == nr_ioevs || ioevs[i].efd != efd) {
		ret = -ENOENT;
	} else {
		ioevs[i] = ioevs[--nr_ioevs];
	}
	pthread_mutex_unlock(&rec_lock);
	return ret;
}

static const struct irq_ops rec_ops = {
	.route_add = rec_route_add,
	.route_update = rec_route_update,
	.route_remove = rec_route_remove,
	.irqfd_assign = rec_irqfd_assign,
	.irqfd_deassign = rec_irqfd_deassign,
	.signal_msi = rec_signal_msi,
	.ioeventfd = rec_ioeventfd,
};

static void rec_irq(struct vm *vm, unsigned int gsi, int level)
{
	pthread_mutex_lock(&rec_lock);
	if (gsi < 64)
		irq_level[gsi] = level;
	pthread_mutex_unlock(&rec_lock);
}

void pf_vm_init(struct pci_fix *pf, uint64_t ram_size, bool routes_ok)
{
	pthread_mutex_lock(&rec_lock);
	memset(irq_level, 0, sizeof(irq_level));
	nr_msgs = 0;
	irqfd_msgs = 0;
	last_addr = 0;
	last_data = 0;
	memset(routes, 0, sizeof(routes));
	routes_fail = !routes_ok;
	nr_ioevs = 0;
	ioev_hits = 0;
	pthread_mutex_unlock(&rec_lock);

	vm_init_common(&pf->vm);
	pf->vm.irq_set = rec_irq;
	pf->vm.irq_ops = &rec_ops;
	assert_int_equal(guest_mem_init(&pf->vm.mem, ram_size, false), 0);
	pf->loop = evloop_create("test-io");
	assert_non_null(pf->loop);
}

void pf_pc_host_config(struct pci_host_config *cfg)
{
	pc_pci_host_config(cfg);
}

void pf_host_init(struct pci_fix *pf, const struct pci_host_config *cfg)
{
	struct pci_host_config pc;

	if (!cfg) {
		pc_pci_host_config(&pc);
		cfg = &pc;
	}
	assert_int_equal(pci_host_init(&pf->host, &pf->vm, cfg), 0);
}

void pf_init(struct pci_fix *pf, uint64_t ram_size, bool routes_ok)
{
	pf_vm_init(pf, ram_size, routes_ok);
	pf_host_init(pf, NULL);
}

void pf_destroy(struct pci_fix *pf)
{
	devices_destroy(&pf->vm);
	/* Nothing may leave an ioeventfd behind on a closed eventfd. */
	assert_int_equal(pf_ioeventfds(), 0);
	evloop_destroy(pf->loop);
	vm_destroy(&pf->vm);
}

uint32_t pf_cfg_rd(struct pci_fix *pf, unsigned int reg, unsigned int size)
{
	uint64_t v = 0;

	bus_read(&pf->vm.mmio, PCI_ECAM_BASE + (pf->devfn << 12) + reg, &v,
		 size);
	return v;
}

void pf_cfg_wr(struct pci_fix *pf, unsigned int reg, uint32_t v,
	       unsigned int size)
{
	bus_write(&pf->vm.mmio, PCI_ECAM_BASE + (pf->devfn << 12) + reg, &v,
		  size);
}

uint64_t pf_rd(struct pci_fix *pf, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	bus_read(&pf->vm.mmio, pf->bar + off, &v, size);
	return v;
}

void pf_wr(struct pci_fix *pf, uint64_t off, uint64_t v, unsigned int size)
{
	uint64_t one = 1;
	int efd = -1;

	/* An ioeventfd takes the write in the kernel: the value is lost. */
	pthread_mutex_lock(&rec_lock);
	for (unsigned int i = 0; i < nr_ioevs; i++) {
		if (ioevs[i].addr == pf->bar + off && ioevs[i].len == size) {
			efd = ioevs[i].efd;
			ioev_hits++;
			break;
		}
	}
	pthread_mutex_unlock(&rec_lock);
	if (efd >= 0)
		assert_int_equal(write(efd, &one, 8), 8);
	else
		bus_write(&pf->vm.mmio, pf->bar + off, &v, size);
}

unsigned int pf_ioeventfds(void)
{
	unsigned int n;

	pthread_mutex_lock(&rec_lock);
	n = nr_ioevs;
	pthread_mutex_unlock(&rec_lock);
	return n;
}

bool pf_ioeventfd_at(uint64_t addr, unsigned int len)
{
	bool found = false;

	pthread_mutex_lock(&rec_lock);
	for (unsigned int i = 0; i < nr_ioevs; i++)
		found |= ioevs[i].addr == addr && ioevs[i].len == len;
	pthread_mutex_unlock(&rec_lock);
	return found;
}

unsigned int pf_ioeventfd_hits(void)
{
	unsigned int n;

	pthread_mutex_lock(&rec_lock);
	n = ioev_hits;
	pthread_mutex_unlock(&rec_lock);
	return n;
}

unsigned int pf_intx_gsi(struct pci_fix *pf)
{
	return pci_host_intx_gsi(&pf->host, PCI_SLOT(pf->devfn), 1);
}

int pf_level(unsigned int gsi)
{
	int l;

	pthread_mutex_lock(&rec_lock);
	l = irq_level[gsi];
	pthread_mutex_unlock(&rec_lock);
	return l;
}

unsigned int pf_msgs_with(uint64_t addr, uint32_t data)
{
	unsigned int n = 0;

	pthread_mutex_lock(&rec_lock);
	collect_irqfds();
	for (unsigned int i = 0; i < nr_msgs && i < MAX_MSGS; i++)
		n += msgs[i].data == data && msgs[i].addr == addr;
	pthread_mutex_unlock(&rec_lock);
	return n;
}

unsigned int pf_msgs(uint64_t *addr, uint32_t *data)
{
	unsigned int n;

	pthread_mutex_lock(&rec_lock);
	collect_irqfds();
	n = nr_msgs;
	if (addr)
		*addr = last_addr;
	if (data)
		*data = last_data;
	pthread_mutex_unlock(&rec_lock);
	return n;
}

unsigned int pf_irqfd_msgs(void)
{
	unsigned int n;

	pthread_mutex_lock(&rec_lock);
	collect_irqfds();
	n = irqfd_msgs;
	pthread_mutex_unlock(&rec_lock);
	return n;
}
