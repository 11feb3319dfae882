/* SPDX-License-Identifier: MIT */
/*
 * parked_mem: spawn N (1,000,000) Gs with the default stack that all block
 * receiving on one unbuffered channel; RSS growth (/proc/self/statm) over
 * N = bytes per parked G.  Then close the channel and wait for all to exit.
 * Also reports vm.max_map_count and the number of mappings at the peak.
 * Go twin: parked_mem.go.
 */
#include <stdatomic.h>
#include "bench.h"

static long n;
static atomic_long parked, left;
static struct mn_chan *block, *done;

static void waiter(void *arg)
{
	char c;

	atomic_fetch_add_explicit(&parked, 1, memory_order_relaxed);
	if (mn_chan_recv(block, &c) != 0)
		bench_fail("parked_mem", "recv got a value");
	if (atomic_fetch_sub_explicit(&left, 1, memory_order_acq_rel) == 1)
		mn_chan_send(done, NULL);
}

static void bench(void *arg)
{
	long rss0, rss1;
	uint64_t t0, t1;

	block = mn_chan_new(1, 0);
	done = mn_chan_new(0, 1);
	if (!block || !done)
		bench_fail("parked_mem", "mn_chan_new");
	atomic_store(&left, n);
	rss0 = bench_rss_bytes();
	t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		if (mn_go(waiter, NULL))
			bench_fail("parked_mem", "mn_go");
	bench_progress("parked_mem", "spawned");
	while (atomic_load(&parked) < n)
		mn_yield();
	for (int i = 0; i < 100; i++)	/* let the last few reach the recv */
		mn_yield();
	t1 = bench_now_ns();
	rss1 = bench_rss_bytes();
	bench_progress("parked_mem", "all parked");
	bench_info("vm.max_map_count", "%ld",
		   bench_proc_long("/proc/sys/vm/max_map_count"));
	bench_info("maps_at_peak", "%ld", bench_nr_maps());
	bench_info("rss_growth_MiB", "%.1f", (rss1 - rss0) / 1048576.0);
	bench_info("spawn_and_park_ms", "%.1f", (t1 - t0) / 1e6);
	bench_result("parked_mem", (double)(rss1 - rss0) / n, "B/G");
	mn_chan_close(block);
	mn_chan_recv(done, NULL);
	bench_progress("parked_mem", "all exited");
}

int main(int argc, char **argv)
{
	n = bench_arg(argc, argv, 1, 1000000);
	bench_run("parked_mem", bench, NULL);
	return 0;
}
