/* SPDX-License-Identifier: MIT */
/*
 * mutex: 8 Gs each lock, increment a shared counter and unlock N times
 * (default 200,000) on one mn_mutex.  All 8 wait at a start gate (a closed
 * channel) so they really contend, on every P.  ns per lock/unlock pair,
 * over all Gs.  Default Ps.  Go twin: mutex.go (sync.Mutex).
 */
#include "bench.h"

#define NG 8

/* The counter sits next to its lock, in one cache line: Go's escape
 * analysis and tiny allocator put `mu` and `counter` (both captured by the
 * closure) in one 16-byte block, so a contended op moves one line there. */
static struct {
	struct mn_mutex mu;
	long counter;
} __attribute__((aligned(64))) shared = { .mu = MN_MUTEX_INIT };
static struct mn_wg wg = MN_WG_INIT;
static struct mn_chan *gate;
static long iters;

static void worker(void *arg)
{
	mn_chan_recv(gate, NULL);
	for (long i = 0; i < iters; i++) {
		mn_mutex_lock(&shared.mu);
		shared.counter++;
		mn_mutex_unlock(&shared.mu);
	}
	mn_wg_done(&wg);
}

static void bench(void *arg)
{
	uint64_t t0, t1;

	gate = mn_chan_new(0, 0);
	mn_wg_add(&wg, NG);
	for (int i = 0; i < NG; i++)
		if (mn_go(worker, NULL))
			bench_fail("mutex", "mn_go");
	t0 = bench_now_ns();
	mn_chan_close(gate);
	mn_wg_wait(&wg);
	t1 = bench_now_ns();
	if (shared.counter != NG * iters)
		bench_fail("mutex", "lost increments");
	bench_info("nprocs", "%d", mn_nprocs());
	bench_result("mutex", (double)(t1 - t0) / (double)(NG * iters), "ns/op");
}

int main(int argc, char **argv)
{
	iters = bench_arg(argc, argv, 1, 200000);
	bench_run("mutex", bench, NULL);
	return 0;
}
