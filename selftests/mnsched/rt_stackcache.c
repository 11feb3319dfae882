// SPDX-License-Identifier: MIT
/*
 * rt_stackcache.c - G and stack reuse (issue 13): a G per request with
 * many in flight reuses hot stacks (no page fault per spawn, a bounded
 * number of live Gs), and the memory of a burst of Gs goes back to the
 * kernel once they have exited and the program is idle.
 */
#include <sys/resource.h>
#include "mn_test.h"

/* ---- churn: N Gs send on a channel of capacity LIVE, main receives ---- */

/* Fewer under a sanitizer: a TSan fiber costs a millisecond. */
#define CHURN_N (mn_test_sanitized() ? 8192L : 100000L)
enum { CHURN_LIVE = 1024 };
static struct mn_chan *churn_ch;
static atomic_long alive, alive_max;

static void churn_sender(void *arg)
{
	long v = (long)arg, a = atomic_fetch_add(&alive, 1) + 1, m;

	m = atomic_load(&alive_max);
	while (a > m && !atomic_compare_exchange_weak(&alive_max, &m, a))
		;
	G_ASSERT_EQ(mn_chan_send(churn_ch, &v), 0);
	atomic_fetch_sub(&alive, 1);
}

static long faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

/*
 * The spawner starts 2*LIVE Gs (LIVE fill the buffer, LIVE block), then
 * receives one value and spawns one G, so LIVE Gs wait at every moment.
 * At one P the spawner never blocks: the sender its receive readied must
 * still get to run and exit, or every G stays alive (a fresh stack and a
 * page fault per spawn, memory without bound).
 */
static void churn_main(void *arg)
{
	long v, sum = 0, want = 0, f0 = 0, f1, steady = CHURN_N - CHURN_N / 4;

	churn_ch = mn_chan_new(sizeof(long), CHURN_LIVE);
	G_ASSERT(churn_ch);
	for (long i = 0; i < CHURN_N; i++) {
		if (i == steady)
			f0 = faults();
		if (i >= 2 * CHURN_LIVE) {
			G_ASSERT_EQ(mn_chan_recv(churn_ch, &v), 1);
			sum += v;
		}
		G_ASSERT_EQ(mn_go(churn_sender, (void *)i), 0);
		want += i;
	}
	f1 = faults();
	for (long i = 0; i < 2 * CHURN_LIVE; i++) {
		G_ASSERT_EQ(mn_chan_recv(churn_ch, &v), 1);
		sum += v;
	}
	G_ASSERT_EQ(sum, want);
	fprintf(stderr, "# %ld Gs, %d in flight: at most %ld alive at once; "
		"%ld page faults over the last %ld spawns\n", CHURN_N, CHURN_LIVE,
		atomic_load(&alive_max), f1 - f0, CHURN_N - steady);
	G_ASSERT(atomic_load(&alive_max) <= 2 * CHURN_LIVE + 64);
	/* 0.01 page faults per spawn at most (issue 13); 0 is usual.  Not
	 * under TSan: its fibers fault in their own shadow memory. */
#ifndef __SANITIZE_THREAD__
	G_ASSERT((f1 - f0) * 100 <= CHURN_N - steady);
#endif
	mn_chan_free(churn_ch);
}

TEST(churn_one_proc_reuses_hot_stacks)
{
	MN_RUN_PROCS(1, churn_main, NULL);
}

TEST(churn_two_procs_reuses_hot_stacks)
{
	MN_RUN_PROCS(2, churn_main, NULL);
}

TEST_HARNESS_MAIN
