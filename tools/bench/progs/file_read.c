/* SPDX-License-Identifier: MIT */
/*
 * file_read: COUNT 4 KB random reads (mn_pread) from a 2 GiB file, shared
 * by 64 Gs; reads per second.  MODE "cold" (default) drops the file from
 * the page cache first and asks for no readahead, so reads go to the disk
 * (Go blocks an M in each such pread; mnsched's Ms never block); "warm"
 * reads from the page cache.
 *
 *   file_read GS COUNT [cold|warm]
 *
 * A fixed count, not a fixed time: both sides then see the same share of
 * blocks already read once (cached) by the end of the run.
 *
 * The file is build/bench/file_read.dat (BENCH_DATA_DIR to move it),
 * written once and shared with the Go twin, file_read.go, and with
 * file_read_ceiling.c (file_read.h).
 */
#include <stdatomic.h>
#include "bench.h"
#include "file_read.h"

static long ngs, count;
static int fd;
static atomic_long issued, failures;
static struct mn_wg wg = MN_WG_INIT;

static void reader(void *arg)
{
	uint64_t x = file_read_seed((long)arg);
	char buf[BLOCK] __attribute__((aligned(64)));

	while (atomic_fetch_add_explicit(&issued, 1, memory_order_relaxed) < count) {
		if (mn_pread(fd, buf, BLOCK, file_read_next(&x)) != BLOCK) {
			atomic_fetch_add(&failures, 1);
			break;
		}
	}
	mn_wg_done(&wg);
}

static void bench(void *arg)
{
	uint64_t t0, t1;

	t0 = bench_now_ns();
	mn_wg_add(&wg, (int)ngs);
	for (long i = 0; i < ngs; i++)
		mn_go(reader, (void *)(i + 1));
	mn_wg_wait(&wg);
	t1 = bench_now_ns();
	if (atomic_load(&failures))
		bench_fail("file_read", "short read");
	bench_info("io", "%s, %d Ps, %ld Gs, %ld reads", mn_io_backend(),
		   mn_nprocs(), ngs, count);
	bench_result("file_read", (double)count * 1e9 / (double)(t1 - t0), "reads/s");
}

int main(int argc, char **argv)
{
	int cold;

	ngs = bench_arg(argc, argv, 1, 64);
	count = bench_arg(argc, argv, 2, 100000);
	cold = argc < 4 || strcmp(argv[3], "warm");
	fd = file_read_open(cold);
	if (!cold) {
		/* Warm: read it all once so every block is cached. */
		char *b = malloc(1 << 20);

		for (long long o = 0; o < BENCH_FILE_SIZE; o += 1 << 20)
			if (pread(fd, b, 1 << 20, o) != 1 << 20)
				bench_fail("file_read", "warm-up read");
		free(b);
	}
	bench_info("mode", "%s", cold ? "cold (page cache dropped, no readahead)" :
		   "warm (page cache)");
	bench_run("file_read", bench, NULL);
	return 0;
}
