/* SPDX-License-Identifier: MIT */
/*
 * thread_ring (benchmarks game): 503 Gs in a ring, each receiving a token
 * on its own unbuffered channel and passing it, decremented, to the next.
 * The G that receives 0 reports its number.  ns per hop (N hops).
 * Default Ps.  Go twin: thread_ring.go.
 */
#include "bench.h"

#define NRING 503

static struct mn_chan *ring[NRING], *done;

static void worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct mn_chan *in = ring[id], *out = ring[(id + 1) % NRING];
	long t;

	for (;;) {
		mn_chan_recv(in, &t);
		if (t == 0) {
			int who = id + 1;

			mn_chan_send(done, &who);
			return;
		}
		t--;
		bench_pad();
		mn_chan_send(out, &t);
	}
}

static long hops;

static void bench(void *arg)
{
	uint64_t t0, t1;
	int who = 0;

	done = mn_chan_new(sizeof(int), 0);
	for (int i = 0; i < NRING; i++) {
		ring[i] = mn_chan_new(sizeof(long), 0);
		if (!ring[i])
			bench_fail("thread_ring", "mn_chan_new");
	}
	for (int i = 0; i < NRING; i++)
		if (mn_go(worker, (void *)(intptr_t)i))
			bench_fail("thread_ring", "mn_go");
	t0 = bench_now_ns();
	mn_chan_send(ring[0], &hops);
	mn_chan_recv(done, &who);
	t1 = bench_now_ns();
	if (who != (int)(hops % NRING) + 1)
		bench_fail("thread_ring", "wrong winner");
	bench_info("winner", "%d", who);
	bench_info("nprocs", "%d", mn_nprocs());
	bench_result("thread_ring", (double)(t1 - t0) / (double)hops, "ns/hop");
}

int main(int argc, char **argv)
{
	hops = bench_arg(argc, argv, 1, 5000000);
	bench_run("thread_ring", bench, NULL);
	return 0;
}
