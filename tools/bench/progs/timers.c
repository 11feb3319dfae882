/* SPDX-License-Identifier: MIT */
/*
 * timers: N Gs (default 100,000) each sleep a random 1-10 ms in a loop for
 * a fixed wall time (default 2000 ms, after all are started).  Result: CPU
 * time of the process (getrusage user + system, all threads) per timer
 * fire during that window.  Default Ps.  Go twin: timers.go (time.Sleep).
 */
#include <sys/resource.h>
#include "bench.h"

static long ngs, wall_ms;
static long *fires;
static int stop;
static struct mn_wg wg = MN_WG_INIT;

static void sleeper(void *arg)
{
	long id = (long)(intptr_t)arg;
	uint32_t x = (uint32_t)(id * 2654435761u) | 1;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		mn_sleep(1000000ull + x % 9000000ull);
		__atomic_fetch_add(&fires[id], 1, __ATOMIC_RELAXED);
	}
	mn_wg_done(&wg);
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

static long total_fires(void)
{
	long s = 0;

	for (long i = 0; i < ngs; i++)
		s += __atomic_load_n(&fires[i], __ATOMIC_RELAXED);
	return s;
}

static void bench(void *arg)
{
	uint64_t c0, c1, t0, t1;
	long f0, f1;

	fires = calloc((size_t)ngs, sizeof(*fires));
	mn_wg_add(&wg, (int)ngs);
	for (long i = 0; i < ngs; i++)
		if (mn_go_opts(sleeper, (void *)(intptr_t)i,
			       &(struct mn_go_opts){ .flags = MN_GO_DEFER }))
			bench_fail("timers", "mn_go");
	mn_sleep(20000000);	/* let every G reach its first sleep */
	t0 = bench_now_ns();
	c0 = cpu_ns();
	f0 = total_fires();
	mn_sleep((uint64_t)wall_ms * 1000000ull);
	f1 = total_fires();
	c1 = cpu_ns();
	t1 = bench_now_ns();
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	mn_wg_wait(&wg);
	if (f1 <= f0)
		bench_fail("timers", "no timer fired");
	bench_info("fires_per_s", "%.0f", (double)(f1 - f0) * 1e9 / (double)(t1 - t0));
	bench_info("cpu_util", "%.2f", (double)(c1 - c0) / (double)(t1 - t0));
	bench_info("nprocs", "%d", mn_nprocs());
	bench_result("timers", (double)(c1 - c0) / (double)(f1 - f0), "cpu-ns/fire");
}

int main(int argc, char **argv)
{
	ngs = bench_arg(argc, argv, 1, 100000);
	wall_ms = bench_arg(argc, argv, 2, 2000);
	bench_run("timers", bench, NULL);
	return 0;
}
