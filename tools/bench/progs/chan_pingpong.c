/* SPDX-License-Identifier: MIT */
/*
 * chan_pingpong: the main G sends a value on an unbuffered channel "ping",
 * a second G receives it and sends it back on "pong".  ns per round trip.
 * Default Ps.  Go twin: chan_pingpong.go.
 */
#include "bench.h"

static long iters;
static struct mn_chan *ping, *pong;

static void ponger(void *arg)
{
	int64_t v;

	while (mn_chan_recv(ping, &v) == 1) {
		v++;
		bench_pad();
		mn_chan_send(pong, &v);
	}
}

static void bench(void *arg)
{
	uint64_t t0, t1;
	int64_t v = 0;

	ping = mn_chan_new(sizeof(int64_t), 0);
	pong = mn_chan_new(sizeof(int64_t), 0);
	if (!ping || !pong)
		bench_fail("chan_pingpong", "mn_chan_new");
	if (mn_go(ponger, NULL))
		bench_fail("chan_pingpong", "mn_go");
	t0 = bench_now_ns();
	for (long i = 0; i < iters; i++) {
		mn_chan_send(ping, &v);
		if (mn_chan_recv(pong, &v) != 1)
			bench_fail("chan_pingpong", "pong closed");
	}
	t1 = bench_now_ns();
	if (v != iters)
		bench_fail("chan_pingpong", "wrong count");
	mn_chan_close(ping);
	bench_info("nprocs", "%d", mn_nprocs());
	bench_result("chan_pingpong", (double)(t1 - t0) / iters, "ns/rtt");
}

int main(int argc, char **argv)
{
	iters = bench_arg(argc, argv, 1, 500000);
	bench_run("chan_pingpong", bench, NULL);
	return 0;
}
