/* SPDX-License-Identifier: MIT */
/*
 * yield: two Gs call mn_yield() in a loop on one P (the runner sets
 * MNPROCS=1).  Each yield switches to the other G: ns per switch =
 * elapsed / (2 * iterations).  Go twin: yield.go (GOMAXPROCS=1).
 */
#include <stdatomic.h>
#include "bench.h"

static long iters;
static atomic_int left;
static struct mn_chan *done;

static void yielder(void *arg)
{
	for (long i = 0; i < iters; i++)
		mn_yield();
	if (atomic_fetch_sub(&left, 1) == 1)
		mn_chan_send(done, NULL);
}

static void bench(void *arg)
{
	uint64_t t0, t1;

	done = mn_chan_new(0, 1);
	if (!done)
		bench_fail("yield", "mn_chan_new");
	atomic_store(&left, 2);
	t0 = bench_now_ns();
	if (mn_go(yielder, NULL) || mn_go(yielder, NULL))
		bench_fail("yield", "mn_go");
	mn_chan_recv(done, NULL);
	t1 = bench_now_ns();
	bench_info("nprocs", "%d", mn_nprocs());
	bench_result("yield", (double)(t1 - t0) / (2.0 * iters), "ns/switch");
}

int main(int argc, char **argv)
{
	iters = bench_arg(argc, argv, 1, 2000000);
	bench_run("yield", bench, NULL);
	return 0;
}
