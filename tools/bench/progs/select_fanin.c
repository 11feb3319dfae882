/* SPDX-License-Identifier: MIT */
/*
 * select_fanin: 4 producer Gs each send N/4 values on their own unbuffered
 * channel and close it; one consumer selects over the 4 channels (a closed
 * channel's case is switched off with a NULL channel, Go's nil-channel
 * idiom) until all are closed.  Self-check: the sum.  ns per message.
 * Default Ps.  Go twin: select_fanin.go.
 */
#include "bench.h"

#define NPROD 4

static struct mn_chan *ch[NPROD];
static long per;

static void producer(void *arg)
{
	struct mn_chan *c = arg;

	for (long i = 1; i <= per; i++)
		mn_chan_send(c, &i);
	mn_chan_close(c);
}

static void bench(void *arg)
{
	struct mn_case k[NPROD];
	uint64_t t0, t1;
	long v, sum = 0, open = NPROD;

	for (int i = 0; i < NPROD; i++) {
		ch[i] = mn_chan_new(sizeof(long), 0);
		k[i] = (struct mn_case){ .chan = ch[i], .dir = MN_RECV, .elem = &v };
	}
	t0 = bench_now_ns();
	for (int i = 0; i < NPROD; i++)
		mn_go_opts(producer, ch[i], &(struct mn_go_opts){ .flags = MN_GO_DEFER });
	while (open) {
		int r = mn_select(k, NPROD, -1);

		if (r < 0)
			bench_fail("select_fanin", "mn_select failed");
		if (!k[r].ok) {
			k[r].chan = NULL;
			open--;
			continue;
		}
		sum += v;
	}
	t1 = bench_now_ns();
	if (sum != NPROD * per * (per + 1) / 2)
		bench_fail("select_fanin", "wrong sum");
	bench_info("nprocs", "%d", mn_nprocs());
	bench_result("select_fanin", (double)(t1 - t0) / (double)(NPROD * per),
		     "ns/msg");
}

int main(int argc, char **argv)
{
	per = bench_arg(argc, argv, 1, 2000000) / NPROD;
	bench_run("select_fanin", bench, NULL);
	return 0;
}
