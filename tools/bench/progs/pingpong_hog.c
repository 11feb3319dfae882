/* SPDX-License-Identifier: MIT */
/*
 * pingpong_hog: Go's BenchmarkPingPongHog (runtime/proc_test.go) at one P:
 * a G that polls a channel without blocking in a loop (a hog) beside two
 * Gs that ping-pong N times over unbuffered channels.  ns per round trip.
 * Alone, a round trip is ~100 ns; a scheduler that lets the hog keep the
 * P for whole slices while the pair gets one hand-off per turn is 1000x
 * slower.  Go twin: pingpong_hog.go (GOMAXPROCS=1).
 */
#include <errno.h>
#include "bench.h"

static long iters;
static struct mn_chan *stop, *done, *ping, *pong;

static void hog(void *arg)
{
	while (mn_chan_try_recv(stop, NULL) == -EAGAIN)
		;
	mn_chan_send(done, NULL);
}

static void ponger(void *arg)
{
	for (long j = 0; j < iters; j++) {
		int v;

		mn_chan_recv(ping, &v);
		mn_chan_send(pong, &v);
	}
	mn_chan_close(stop);
	mn_chan_send(done, NULL);
}

static void pinger(void *arg)
{
	for (long i = 0; i < iters; i++) {
		int v;

		mn_chan_recv(pong, &v);
		mn_chan_send(ping, &v);
	}
	mn_chan_send(done, NULL);
}

static void bench(void *arg)
{
	uint64_t t0, t1;
	int v = 1;

	stop = mn_chan_new(0, 0);
	done = mn_chan_new(0, 0);
	ping = mn_chan_new(sizeof(int), 0);
	pong = mn_chan_new(sizeof(int), 0);
	if (!stop || !done || !ping || !pong)
		bench_fail("pingpong_hog", "mn_chan_new");
	if (mn_go(hog, NULL) || mn_go(ponger, NULL) || mn_go(pinger, NULL))
		bench_fail("pingpong_hog", "mn_go");
	t0 = bench_now_ns();
	mn_chan_send(ping, &v);		/* start the ping-pong */
	mn_chan_recv(stop, NULL);	/* closed by the ponger */
	t1 = bench_now_ns();
	mn_chan_recv(ping, &v);		/* let the last ponger exit */
	for (int i = 0; i < 3; i++)
		mn_chan_recv(done, NULL);
	bench_info("nprocs", "%d", mn_nprocs());
	bench_result("pingpong_hog", (double)(t1 - t0) / iters, "ns/rtt");
}

int main(int argc, char **argv)
{
	iters = bench_arg(argc, argv, 1, 10000);
	bench_run("pingpong_hog", bench, NULL);
	return 0;
}
