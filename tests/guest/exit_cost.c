// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of the three ways a guest reaches its VMM, for bench/:
 *   pio_exit       an `out` to an unclaimed port: KVM_EXIT_IO round trip
 *   mmio_exit      a store to unclaimed MMIO (`mmio=`, default in the PCI
 *                  hole): KVM_EXIT_MMIO round trip
 *   ioeventfd      a virtio-blk queue notify: the kernel signals an
 *                  eventfd and resumes the guest without a user exit
 * Each is timed over `iters=N` (default 5000) with rdtsc and printed as
 * `RESULT <name>_ns <ns per op> ns`.
 */
#include "blk.h"
#include "tsc.h"

static uint8_t pool[64 << 10] __attribute__((aligned(4096)));
static struct blk b;

static void report(const char *name, uint64_t ticks, unsigned long iters)
{
	uint64_t khz = tsc_khz();
	/* ns * 100 per op, so two decimals survive integer maths. */
	uint64_t cns = ticks * 100000000ull / khz / iters;

	printf("RESULT %s_ns %lu.%02lu ns\n", name, cns / 100, cns % 100);
}

int guest_main(void)
{
	unsigned long iters = 5000, mmio = 0xdfff0000;
	char arg[32];
	uint64_t t0;

	if (cmdline_arg("iters", arg, sizeof(arg)) > 0 &&
	    !parse_ulong(arg, &iters))
		return GUEST_FAIL;
	if (cmdline_arg("mmio", arg, sizeof(arg)) > 0 &&
	    !parse_ulong(arg, &mmio))
		return GUEST_FAIL;
	if (!iters)
		return GUEST_FAIL;
	tsc_khz(); /* calibrate before timing anything */

	t0 = rdtsc();
	for (unsigned long i = 0; i < iters; i++)
		outb(0, 0x80);
	report("pio_exit", rdtsc() - t0, iters);

	t0 = rdtsc();
	for (unsigned long i = 0; i < iters; i++)
		writel(0, mmio);
	report("mmio_exit", rdtsc() - t0, iters);

	dma_pool_init(pool, sizeof(pool));
	if (!blk_open(&b, 0, 16, 1)) {
		puts("exit_cost: no virtio-blk device for the ioeventfd test");
		return GUEST_FAIL;
	}
	t0 = rdtsc();
	for (unsigned long i = 0; i < iters; i++)
		vq_notify(&b.vq);
	report("ioeventfd", rdtsc() - t0, iters);
	return GUEST_PASS;
}
