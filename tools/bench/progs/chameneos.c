/* SPDX-License-Identifier: MIT */
/*
 * chameneos (benchmarks game, chameneos-redux): three creatures (blue, red,
 * yellow) meet N times through a broker G.  A creature sends a request (its
 * colour and its reply channel) on the broker's unbuffered channel; the
 * broker pairs two requests, tells each the other's colour, and each changes
 * to the complement of the two colours.  After N meetings the broker tells
 * each creature it has faded.  Self-check: the creatures' meetings add up to
 * 2N.  ns per meeting.  Default Ps.  Go twin: chameneos.go.
 */
#include "bench.h"

enum { BLUE, RED, YELLOW, FADED = -1 };

struct request {
	int colour;
	struct mn_chan *reply;	/* int: the partner's colour, or FADED */
};

static struct mn_chan *meeting;	/* struct request */
static struct mn_wg wg = MN_WG_INIT;
static long meetings[3], n;

static int complement(int a, int b)
{
	return a == b ? a : 3 - a - b;
}

static void creature(void *arg)
{
	int id = (int)(intptr_t)arg, colour = id, other;
	struct request r = { .reply = mn_chan_new(sizeof(int), 1) };

	for (;;) {
		r.colour = colour;
		mn_chan_send(meeting, &r);
		mn_chan_recv(r.reply, &other);
		if (other == FADED)
			break;
		colour = complement(colour, other);
		meetings[id]++;
		bench_pad();
	}
	mn_chan_free(r.reply);
	mn_wg_done(&wg);
}

static void broker(void *arg)
{
	struct request a, b;
	int faded = FADED;

	for (long i = 0; i < n; i++) {
		mn_chan_recv(meeting, &a);
		mn_chan_recv(meeting, &b);
		mn_chan_send(a.reply, &b.colour);
		mn_chan_send(b.reply, &a.colour);
	}
	for (int i = 0; i < 3; i++) {
		mn_chan_recv(meeting, &a);
		mn_chan_send(a.reply, &faded);
	}
}

static void bench(void *arg)
{
	uint64_t t0, t1;

	meeting = mn_chan_new(sizeof(struct request), 0);
	t0 = bench_now_ns();
	mn_wg_add(&wg, 3);
	mn_go(broker, NULL);
	for (int i = 0; i < 3; i++)
		mn_go(creature, (void *)(intptr_t)i);
	mn_wg_wait(&wg);
	t1 = bench_now_ns();
	if (meetings[0] + meetings[1] + meetings[2] != 2 * n)
		bench_fail("chameneos", "meetings do not add up to 2N");
	bench_info("meetings", "%ld %ld %ld", meetings[0], meetings[1], meetings[2]);
	bench_info("nprocs", "%d", mn_nprocs());
	bench_result("chameneos", (double)(t1 - t0) / (double)n, "ns/meeting");
}

int main(int argc, char **argv)
{
	n = bench_arg(argc, argv, 1, 1000000);
	bench_run("chameneos", bench, NULL);
	return 0;
}
