/* SPDX-License-Identifier: MIT */
/*
 * spawn_churn_*: a G per request with LIVE requests in flight.  N Gs each
 * send one value on a channel of capacity LIVE while the spawner receives:
 * the spawner first starts 2*LIVE Gs (LIVE fill the buffer and exit, LIVE
 * block sending), then for each further G receives one value (a blocked
 * sender completes and exits) and spawns the next (it blocks sending), so
 * LIVE Gs are alive at every moment, and each parks and wakes once.  At the
 * end it drains the channel.  ns per G over all N; INFO gives the page
 * faults per spawn in the steady state (getrusage ru_minflt + ru_majflt
 * over the second half of the Gs spawned after the first 2*LIVE) and the
 * RSS at the end.
 *
 *   spawn_churn_1k | _10k | _100k (procs 1), ..._2p (procs 2)  N LIVE
 *   (one source, symlinked; the benchmark's name is the file's name)
 *
 * Go twin: spawn_churn.go.
 */
#include <libgen.h>
#include <sys/resource.h>
#include "bench.h"

static const char *name;
static long n, live;
static struct mn_chan *ch;

static void sender(void *arg)
{
	long v = (long)arg;

	if (mn_chan_send(ch, &v))
		bench_fail(name, "send");
}

static long faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void bench(void *arg)
{
	long i, v, sum = 0, want = 0, f0 = 0, f1, steady0;
	uint64_t t0, t1;

	ch = mn_chan_new(sizeof(long), (size_t)live);
	if (!ch)
		bench_fail(name, "mn_chan_new");
	/* Measure faults over the second half of the steady state. */
	steady0 = 2 * live + (n - 2 * live) / 2;
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		if (i == steady0)
			f0 = faults();
		if (i >= 2 * live) {
			if (mn_chan_recv(ch, &v) != 1)
				bench_fail(name, "recv");
			sum += v;
		}
		if (mn_go(sender, (void *)i))
			bench_fail(name, "mn_go");
		want += i;
	}
	f1 = faults();
	for (i = 0; i < 2 * live && i < n; i++) {
		if (mn_chan_recv(ch, &v) != 1)
			bench_fail(name, "recv");
		sum += v;
	}
	t1 = bench_now_ns();
	if (sum != want)
		bench_fail(name, "sum");
	bench_info("faults_per_spawn", "%.4f (%ld over %ld steady-state spawns)",
		   (double)(f1 - f0) / (double)(n - steady0), f1 - f0,
		   n - steady0);
	bench_info("rss_MiB", "%.1f", bench_rss_bytes() / 1048576.0);
	bench_info("nprocs", "%d", mn_nprocs());
	bench_result(name, (double)(t1 - t0) / (double)n, "ns/G");
}

int main(int argc, char **argv)
{
	name = basename(argv[0]);
	n = bench_arg(argc, argv, 1, 500000);
	live = bench_arg(argc, argv, 2, 1024);
	if (n < 4 * live) {
		fprintf(stderr, "%s: N must be at least 4*LIVE\n", name);
		return 64;
	}
	bench_run(name, bench, NULL);
	return 0;
}
