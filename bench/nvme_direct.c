// SPDX-License-Identifier: GPL-2.0
/*
 * The ideal for bench/vfio.sh: the host kernel's own driver on the device
 * that the guests get passed through, read with the guests' three tests
 * (tests/guest/nvme_bench.c): 4 KiB random reads at depth 1 and 32 and
 * 1 MiB sequential reads at depth 4, each for SECONDS, with O_DIRECT and
 * Linux AIO (one thread keeps the depth in flight, as the guest's polled
 * driver does). Prints the guests' "RESULT <name> <value> <unit>" lines.
 *
 *   nvme_direct BLOCKDEV [SECONDS]
 *
 * Raw AIO system calls: no libaio to carry into L2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 32

static int fd;
static uint64_t dev_size;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Reads of @bs bytes, @depth in flight, for @secs; returns reads/s. */
static double run(unsigned int depth, size_t bs, bool sequential, double secs)
{
	aio_context_t ctx = 0;
	struct iocb cbs[MAX_DEPTH], *ptrs[MAX_DEPTH];
	struct io_event ev[MAX_DEPTH];
	void *bufs[MAX_DEPTH];
	unsigned int free_slots[MAX_DEPTH], nr_free = depth, inflight = 0;
	uint64_t blocks = dev_size / bs, next = 0, done = 0;
	double start, end;

	if (syscall(SYS_io_setup, depth, &ctx)) {
		perror("nvme_direct: io_setup");
		exit(1);
	}
	for (unsigned int i = 0; i < depth; i++) {
		free_slots[i] = i;
		if (posix_memalign(&bufs[i], 4096, bs)) {
			fprintf(stderr, "nvme_direct: out of memory\n");
			exit(1);
		}
	}
	start = now();
	end = start + secs;
	for (;;) {
		unsigned int n = 0;
		long got;

		/* Refill every free slot while the time lasts. */
		while (nr_free && now() < end) {
			unsigned int s = free_slots[--nr_free];
			struct iocb *cb = &cbs[s];
			uint64_t blk = sequential ? next++ % blocks :
						    rnd() % blocks;

			memset(cb, 0, sizeof(*cb));
			cb->aio_fildes = fd;
			cb->aio_lio_opcode = IOCB_CMD_PREAD;
			cb->aio_buf = (uintptr_t)bufs[s];
			cb->aio_nbytes = bs;
			cb->aio_offset = blk * bs;
			cb->aio_data = s;
			ptrs[n++] = cb;
		}
		if (n) {
			got = syscall(SYS_io_submit, ctx, n, ptrs);
			if (got != (long)n) {
				fprintf(stderr, "nvme_direct: io_submit: %s\n",
					got < 0 ? strerror(errno) : "short");
				exit(1);
			}
			inflight += n;
		}
		if (!inflight)
			break;
		got = syscall(SYS_io_getevents, ctx, 1, inflight, ev, NULL);
		if (got < 0) {
			perror("nvme_direct: io_getevents");
			exit(1);
		}
		for (long i = 0; i < got; i++) {
			if (ev[i].res != (int64_t)bs) {
				fprintf(stderr, "nvme_direct: read: %lld\n",
					(long long)ev[i].res);
				exit(1);
			}
			free_slots[nr_free++] = (unsigned int)ev[i].data;
		}
		inflight -= got;
		done += got;
	}
	end = now(); /* the last reads drained too */
	syscall(SYS_io_destroy, ctx);
	for (unsigned int i = 0; i < depth; i++)
		free(bufs[i]);
	return done / (end - start);
}

int main(int argc, char **argv)
{
	double secs = argc > 2 ? atof(argv[2]) : 3;
	double n;

	if (argc < 2 || secs <= 0) {
		fprintf(stderr, "usage: nvme_direct BLOCKDEV [SECONDS]\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &dev_size) ||
	    dev_size < (1 << 20)) {
		fprintf(stderr, "nvme_direct: %s: %s\n", argv[1],
			fd < 0 ? strerror(errno) :
				 "not a block device of 1 MiB or more");
		return 1;
	}
	n = run(1, 4096, false, secs);
	printf("RESULT randread_4k_qd1_iops %.0f IOPS\n", n);
	n = run(32, 4096, false, secs);
	printf("RESULT randread_4k_qd32_iops %.0f IOPS\n", n);
	n = run(4, 1 << 20, true, secs);
	printf("RESULT seqread_1m_qd4 %.0f MB/s\n", n * 1.048576);
	return 0;
}
