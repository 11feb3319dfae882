/* SPDX-License-Identifier: MIT */
/*
 * hog_latency: one G per P computes without calling the runtime (a hog)
 * while a ticker G sleeps 1 ms, N times.  RESULT: the worst wake-up delay
 * (ms past the 1 ms asked); INFO: p99 and median.  Without preemption the
 * ticker never runs again (the program hangs).
 *
 *   hog_latency (MNPROCS=1) | hog_latency_2 (MNPROCS=2)  TICKS
 *   (one source, symlinked; the benchmark's name is the file name)
 *
 * Go twin: hog_latency.go (asynchronous preemption since Go 1.14).
 */
#include <libgen.h>
#include <stdatomic.h>
#include "bench.h"

static const char *name;
static long ticks;
static atomic_int stop, running;
static uint64_t *delays;

static void hog(void *arg)
{
	volatile uint64_t x = 0;

	atomic_fetch_add(&running, 1);
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		x++;
	atomic_fetch_sub(&running, 1);
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void bench(void *arg)
{
	int hogs = mn_nprocs();
	long worst_at = 0;

	for (int i = 0; i < hogs; i++)
		if (mn_go(hog, NULL))
			bench_fail(name, "mn_go");
	for (long i = 0; i < ticks; i++) {
		uint64_t t0 = bench_now_ns();

		mn_sleep(1000000);
		delays[i] = bench_now_ns() - t0 - 1000000;
		if (delays[i] > delays[worst_at])
			worst_at = i;
	}
	atomic_store(&stop, 1);
	while (atomic_load(&running))
		mn_sleep(1000000);
	qsort(delays, (size_t)ticks, sizeof(*delays), cmp);
	bench_info("nprocs", "%d (one hog per P)", hogs);
	bench_info("p99", "%.2f ms", delays[ticks * 99 / 100] / 1e6);
	bench_info("median", "%.3f ms", delays[ticks / 2] / 1e6);
	/* the first ticks wait for the first preemption of each hog */
	bench_info("worst_at", "tick %ld of %ld", worst_at, ticks);
	bench_result(name, delays[ticks - 1] / 1e6, "ms");
}

int main(int argc, char **argv)
{
	name = basename(argv[0]);
	ticks = bench_arg(argc, argv, 1, 2000);
	delays = calloc((size_t)ticks, sizeof(*delays));
	if (!delays)
		bench_fail(name, "calloc");
	bench_run(name, bench, NULL);
	return 0;
}
