/* SPDX-License-Identifier: MIT */
/*
 * skynet: each G spawns 10 children until there are 1,000,000 leaves
 * (1,111,111 Gs in all); a leaf sends its number, an inner G sends the sum
 * of its children's, each level on a fresh unbuffered channel.  Time in ms;
 * the sum must be 499999500000.  Go twin: skynet.go (the classic program).
 *
 * A child's arguments live in its parent's frame, as Go's `go f(args)`
 * copies them to the new G: the parent does not return before every child
 * has sent, and a child reads its arguments before it sends.
 */
#include "bench.h"

#define DIV 10

struct sky {
	struct mn_chan *c;
	int64_t num;
	int64_t size;
};

static void skynet(void *arg)
{
	struct sky *a = arg;
	struct mn_chan *c = a->c;
	int64_t num = a->num, size = a->size, sum = 0, v;

	if (size == 1) {
		mn_chan_send(c, &num);
		return;
	}
	struct sky kids[DIV];
	struct mn_chan *rc = mn_chan_new(sizeof(int64_t), 0);

	if (!rc)
		bench_fail("skynet", "mn_chan_new");
	for (int i = 0; i < DIV; i++) {
		kids[i].c = rc;
		kids[i].num = num + i * (size / DIV);
		kids[i].size = size / DIV;
		if (mn_go(skynet, &kids[i]))
			bench_fail("skynet", "mn_go");
	}
	for (int i = 0; i < DIV; i++) {
		if (mn_chan_recv(rc, &v) != 1)
			bench_fail("skynet", "recv on closed channel");
		sum += v;
	}
	mn_chan_free(rc);
	mn_chan_send(c, &sum);
}

static long leaves;

static void bench(void *arg)
{
	struct sky root;
	int64_t sum = 0, want = (int64_t)leaves * (leaves - 1) / 2;
	uint64_t t0, t1;

	root.c = mn_chan_new(sizeof(int64_t), 0);
	root.num = 0;
	root.size = leaves;
	if (!root.c)
		bench_fail("skynet", "mn_chan_new");
	t0 = bench_now_ns();
	if (mn_go(skynet, &root))
		bench_fail("skynet", "mn_go");
	mn_chan_recv(root.c, &sum);
	t1 = bench_now_ns();
	bench_info("sum", "%lld", (long long)sum);
	if (sum != want) {
		char why[96];

		snprintf(why, sizeof(why), "sum %lld, want %lld",
			 (long long)sum, (long long)want);
		bench_fail("skynet", why);
	}
	bench_info("nprocs", "%d", mn_nprocs());
	bench_result("skynet", (double)(t1 - t0) / 1e6, "ms");
}

int main(int argc, char **argv)
{
	leaves = bench_arg(argc, argv, 1, 1000000);
	bench_run("skynet", bench, NULL);
	return 0;
}
