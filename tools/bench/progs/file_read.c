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
 * written once and shared with the Go twin, file_read.go.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include "bench.h"

#define FILE_SIZE	(2ll << 30)
#define BLOCK		4096

static long ngs, count;
static int fd;
static atomic_long issued, failures;
static struct mn_wg wg = MN_WG_INIT;

static void reader(void *arg)
{
	uint64_t x = (uint64_t)(long)arg * 0x9E3779B97F4A7C15ull + 1;
	char buf[BLOCK] __attribute__((aligned(64)));

	while (atomic_fetch_add_explicit(&issued, 1, memory_order_relaxed) < count) {
		off_t off;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		off = (off_t)(x % (FILE_SIZE / BLOCK)) * BLOCK;
		if (mn_pread(fd, buf, BLOCK, off) != BLOCK) {
			atomic_fetch_add(&failures, 1);
			break;
		}
	}
	mn_wg_done(&wg);
}

/* The data file, written once (in plain C, before the runtime starts). */
static int open_data(const char *path)
{
	struct stat st;
	int f = open(path, O_RDONLY | O_CLOEXEC);

	if (f >= 0 && fstat(f, &st) == 0 && st.st_size == FILE_SIZE)
		return f;
	if (f >= 0)
		close(f);
	f = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f < 0)
		return -1;
	{
		char *b = malloc(1 << 20);

		for (long long o = 0; o < FILE_SIZE; o += 1 << 20) {
			for (int i = 0; i < (1 << 20); i += 8)
				*(uint64_t *)(b + i) = (uint64_t)(o + i) * 0x9E3779B97F4A7C15ull;
			if (pwrite(f, b, 1 << 20, o) != 1 << 20)
				return -1;
		}
		free(b);
	}
	fsync(f);
	return f;
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
	const char *dir = getenv("BENCH_DATA_DIR");
	char path[4096];
	int cold;

	ngs = bench_arg(argc, argv, 1, 64);
	count = bench_arg(argc, argv, 2, 100000);
	cold = argc < 4 || strcmp(argv[3], "warm");
	snprintf(path, sizeof(path), "%s/file_read.dat", dir ? dir : "build/bench");
	fd = open_data(path);
	if (fd < 0)
		bench_fail("file_read", "cannot create the data file");
	if (cold) {
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	} else {
		/* Warm: read it all once so every block is cached. */
		char *b = malloc(1 << 20);

		for (long long o = 0; o < FILE_SIZE; o += 1 << 20)
			if (pread(fd, b, 1 << 20, o) != 1 << 20)
				bench_fail("file_read", "warm-up read");
		free(b);
	}
	bench_info("mode", "%s", cold ? "cold (page cache dropped, no readahead)" :
		   "warm (page cache)");
	bench_run("file_read", bench, NULL);
	return 0;
}
