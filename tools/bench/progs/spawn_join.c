/* SPDX-License-Identifier: MIT */
/*
 * spawn_join: spawn N Gs that do nothing but count themselves out; the last
 * one signals a channel the main G waits on.  ns per G, spawn to join.
 * Default Ps.  Go twin: spawn_join.go (sync.WaitGroup).
 */
#include <stdatomic.h>
#include "bench.h"

static long n;
static atomic_long left;
static struct mn_chan *done;

static void nop(void *arg)
{
	if (atomic_fetch_sub_explicit(&left, 1, memory_order_acq_rel) == 1)
		mn_chan_send(done, NULL);
}

static void bench(void *arg)
{
	uint64_t t0, t1;

	done = mn_chan_new(0, 1);
	if (!done)
		bench_fail("spawn_join", "mn_chan_new");
	atomic_store(&left, n);
	t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		int rc = mn_go(nop, NULL);

		if (rc)
			bench_fail("spawn_join", "mn_go");
	}
	mn_chan_recv(done, NULL);
	t1 = bench_now_ns();
	bench_info("nprocs", "%d", mn_nprocs());
	bench_result("spawn_join", (double)(t1 - t0) / n, "ns/G");
}

int main(int argc, char **argv)
{
	n = bench_arg(argc, argv, 1, 1000000);
	bench_run("spawn_join", bench, NULL);
	return 0;
}
