// SPDX-License-Identifier: MIT
/*
 * rt_timer.c - mn_sleep accuracy, timer channels (mn_after, mn_ticker,
 * stop, reset), many timers, timers of a busy P run by another M.
 *
 * Timing checks: "never early" is strict everywhere.  Lateness bounds are
 * for an idle machine; the machine running the tests is shared (QEMU,
 * other builds) and the sanitizer builds are slow, so a sample that misses
 * is retried, and under a sanitizer or a high load average the lateness
 * bound is relaxed (the reason is printed).
 */
#include <math.h>
#include "mn_test.h"

#define MS	1000000ll
#define US	1000ll

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* 1-minute load average per CPU, or 0 when unknown. */
static double load_per_cpu(void)
{
	double l = 0;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = 0;
		fclose(f);
	}
	return l / (double)sysconf(_SC_NPROCESSORS_ONLN);
}

/* ---- mn_sleep: never early, median lateness < 2 ms ---- */

static uint64_t median_late;

static void sleep_accuracy_main(void *arg)
{
	uint64_t late[25];
	int n = 25;

	for (int i = 0; i < n; i++) {
		uint64_t t0 = mn_now(), t1;

		mn_sleep(10 * MS);
		t1 = mn_now();
		G_ASSERT(t1 - t0 >= 10 * MS);	/* never early */
		late[i] = t1 - t0 - 10 * MS;
	}
	qsort(late, (size_t)n, sizeof(late[0]), cmp_u64);
	median_late = late[n / 2];
	fprintf(stderr, "# 10 ms sleep: lateness min %llu us, median %llu us, max %llu us\n",
		(unsigned long long)(late[0] / 1000),
		(unsigned long long)(late[n / 2] / 1000),
		(unsigned long long)(late[n - 1] / 1000));
}

static bool sleep_accuracy_ok(void)
{
	return median_late < 2 * MS;
}

TEST(sleep_10ms_never_early_median_late_under_2ms)
{
	/* Never early is checked in the G; the median bound is for an idle
	 * machine: a miss on a loaded one (or under a sanitizer) is retried,
	 * then skipped with the reason. */
	int r = t_tries(NULL, NULL, sleep_accuracy_main, sleep_accuracy_ok, 3);

	ASSERT_LE(0, r) TH_LOG("early, or the runtime failed");
	if (r > 0)
		return;
	if (t_sanitized())
		SKIP(return, "median lateness >= 2 ms three times in a sanitizer build");
	if (load_per_cpu() > 1.0)
		SKIP(return, "median lateness >= 2 ms three times, load average %.2f per CPU",
		     load_per_cpu());
	ASSERT_TRUE(0) TH_LOG("median lateness >= 2 ms three times on an idle machine");
}

/* ---- many sleepers: all wake, none early ---- */

#define NSLEEP 10000
static atomic_long woke, early;
static uint64_t lates[NSLEEP];

static void sleeper(void *arg)
{
	long i = (long)(intptr_t)arg;
	uint64_t d = (uint64_t)(1 + (i * 7919) % 5) * MS;
	uint64_t t0 = mn_now(), t1;

	mn_sleep(d);
	t1 = mn_now();
	if (t1 - t0 < d)
		atomic_fetch_add(&early, 1);
	lates[i] = t1 - t0 - d;
	atomic_fetch_add(&woke, 1);
}

static void many_sleepers_main(void *arg)
{
	uint64_t sorted[NSLEEP];

	for (long i = 0; i < NSLEEP; i++)
		G_ASSERT_EQ(mn_go(sleeper, (void *)(intptr_t)i), 0);
	while (atomic_load(&woke) < NSLEEP)
		mn_sleep(1 * MS);
	G_ASSERT_EQ(atomic_load(&early), 0);
	memcpy(sorted, lates, sizeof(sorted));
	qsort(sorted, NSLEEP, sizeof(sorted[0]), cmp_u64);
	fprintf(stderr, "# %d sleepers: lateness median %llu us, p99 %llu us\n",
		NSLEEP, (unsigned long long)(sorted[NSLEEP / 2] / 1000),
		(unsigned long long)(sorted[NSLEEP * 99 / 100] / 1000));
}

TEST(ten_thousand_sleepers_all_wake_none_early)
{
	T_RUN(many_sleepers_main, NULL);
}

/* ---- timers of a busy P are run by another M ---- */

static atomic_long busy_woke;
static uint64_t busy_late[64];

static void busy_sleeper(void *arg)
{
	long i = (long)(intptr_t)arg;
	uint64_t t0 = mn_now(), t1;

	mn_sleep(5 * MS);
	t1 = mn_now();
	busy_late[i] = t1 - t0 - 5 * MS;
	atomic_fetch_add(&busy_woke, 1);
}

static void busy_p_main(void *arg)
{
	uint64_t end, maxlate = 0;

	/* Child first: each sleeper runs at once on this P and arms its timer
	 * in this P's heap; then this G hogs the P without a single
	 * scheduling point, so another M must run those timers. */
	for (long i = 0; i < 64; i++)
		mn_go(busy_sleeper, (void *)(intptr_t)i);
	/* Without another M they never run while this G hogs the P.  The
	 * window is 2 s, not the 5 ms they sleep: the VM's clock runs on
	 * while the host deschedules its vCPUs (a 10 ms sleep was seen 637 ms
	 * late on an overloaded host), and how late they are is printed, not
	 * asserted (speed belongs in make bench). */
	end = mn_now() + 2000 * MS;
	while (mn_now() < end && atomic_load(&busy_woke) < 64)
		;
	G_ASSERT_EQ(atomic_load(&busy_woke), 64);
	for (int i = 0; i < 64; i++)
		if (busy_late[i] > maxlate)
			maxlate = busy_late[i];
	fprintf(stderr, "# timers of a busy P: max lateness %llu us\n",
		(unsigned long long)(maxlate / 1000));
	*(uint64_t *)arg = maxlate;
}

TEST(timers_of_a_busy_p_run_elsewhere)
{
	uint64_t maxlate = 0;

	ASSERT_EQ(0, t_main("MNPROCS", "2", busy_p_main, &maxlate));
	/* sysmon hands an overdue timer to a spinning M after 1 ms (about
	 * 1-3 ms late here, 11 ms seen in an overloaded TCG VM).  Were they
	 * left to this P, they would wait for the 200 ms hog: 50 ms tells the
	 * two apart with room for a slow machine. */
	if (!t_sanitized() && load_per_cpu() < 1.0)
		ASSERT_LT(maxlate, 50 * MS);
}

/* ---- mn_after ---- */

static void after_main(void *arg)
{
	uint64_t t0 = mn_now(), v = 0;
	struct mn_chan *c = mn_after(5 * MS);

	G_ASSERT(c != NULL);
	G_ASSERT_EQ(mn_chan_cap(c), 1);
	G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
	G_ASSERT(v >= t0 + 5 * MS);		/* the time it fired */
	G_ASSERT(mn_now() >= t0 + 5 * MS);
	/* Once only. */
	G_ASSERT_EQ(mn_chan_recv_timeout(c, &v, 10 * MS), -ETIMEDOUT);
	G_ASSERT_EQ(mn_timer_chan_stop(c), false);	/* fired and received */
	mn_chan_free(c);

	/* In a select, against a channel that never becomes ready. */
	{
		struct mn_chan *never = mn_chan_new(sizeof(int), 0);
		int x;
		struct mn_case k[2] = {
			{ .chan = never, .dir = MN_RECV, .elem = &x },
			{ .dir = MN_RECV, .elem = &v },
		};

		t0 = mn_now();
		k[1].chan = c = mn_after(3 * MS);
		G_ASSERT_EQ(mn_select(k, 2, -1), 1);
		G_ASSERT(mn_now() - t0 >= 3 * MS);
		mn_chan_free(c);
		mn_chan_free(never);
	}

	/* Stop before it fires: true, and nothing ever arrives.  (Deadlines
	 * far off: a loaded machine must not let them pass first.) */
	c = mn_after(1000 * MS);
	G_ASSERT_EQ(mn_timer_chan_stop(c), true);
	G_ASSERT_EQ(mn_timer_chan_stop(c), false);
	G_ASSERT_EQ(mn_chan_recv_timeout(c, &v, 15 * MS), -ETIMEDOUT);
	mn_chan_free(c);

	/* Fired but not received: stop drains it (no stale value). */
	c = mn_after(1 * MS);
	mn_sleep(5 * MS);
	G_ASSERT_EQ(mn_chan_len(c), 1);
	G_ASSERT_EQ(mn_timer_chan_stop(c), true);
	G_ASSERT_EQ(mn_chan_len(c), 0);
	mn_chan_free(c);

	/* Reset an active timer: true, and it fires the new duration after
	 * the call. */
	c = mn_after(1000 * MS);
	mn_sleep(2 * MS);
	t0 = mn_now();
	G_ASSERT_EQ(mn_timer_chan_reset(c, 10 * MS), true);
	G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
	G_ASSERT(mn_now() - t0 >= 10 * MS);
	/* Reset after it fired: fires again. */
	G_ASSERT_EQ(mn_timer_chan_reset(c, 2 * MS), false);
	G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
	mn_chan_free(c);

	/* Free while pending: the timer is stopped first (ASan checks). */
	c = mn_after(1 * MS);
	mn_chan_free(c);
	mn_sleep(3 * MS);
}

TEST(after_fires_once_stop_reset)
{
	T_RUN(after_main, NULL);
}

/* ---- mn_ticker ---- */

static void ticker_main(void *arg)
{
	struct mn_chan *t = mn_ticker(2 * MS);
	uint64_t prev = mn_now(), v;

	G_ASSERT(t != NULL);
	G_ASSERT(mn_ticker(0) == NULL);
	for (int i = 0; i < 10; i++) {
		G_ASSERT_EQ(mn_chan_recv(t, &v), 1);
		G_ASSERT(v >= prev);
		prev = v;
	}
	/* A slow reader: ticks are dropped, never queued up.  Ten periods
	 * normally bring one; wait on for it when the Ms were descheduled
	 * meanwhile (an overloaded host: seen once in 60 runs there and once
	 * in the VM, where a 10 ms sleep also came back 637 ms late in the
	 * same period).  Then no second value is ever there. */
	mn_sleep(20 * MS);
	for (int i = 0; i < 2000 && mn_chan_len(t) == 0; i++)
		mn_sleep(1 * MS);
	G_ASSERT_EQ(mn_chan_len(t), 1);
	mn_sleep(10 * MS);
	G_ASSERT_EQ(mn_chan_len(t), 1);
	/* Reset to a longer period (counted from before the call). */
	prev = mn_now();
	G_ASSERT_EQ(mn_timer_chan_reset(t, 10 * MS), true);
	G_ASSERT_EQ(mn_chan_len(t), 0);
	G_ASSERT_EQ(mn_chan_recv(t, &v), 1);
	G_ASSERT(mn_now() - prev >= 10 * MS);
	/* Stop: no more ticks. */
	G_ASSERT_EQ(mn_timer_chan_stop(t), true);
	G_ASSERT_EQ(mn_chan_recv_timeout(t, &v, 25 * MS), -ETIMEDOUT);
	mn_chan_free(t);
}

TEST(ticker_ticks_drops_resets_stops)
{
	T_RUN(ticker_main, NULL);
}

/* Many tickers with tiny periods on 4 Ps: fns never overlap, stop is safe. */
static atomic_long tick_total;

static void tick_reader(void *arg)
{
	struct mn_chan *t = mn_ticker(20 * US);
	uint64_t v;

	for (int i = 0; i < 200; i++) {
		G_ASSERT_EQ(mn_chan_recv(t, &v), 1);
		atomic_fetch_add(&tick_total, 1);
		if (i % 50 == 49)
			mn_timer_chan_reset(t, 10 * US);
	}
	mn_timer_chan_stop(t);
	mn_chan_free(t);
}

static void ticker_stress_main(void *arg)
{
	for (int i = 0; i < 16; i++)
		mn_go(tick_reader, NULL);
	while (atomic_load(&tick_total) < 16 * 200)
		mn_sleep(1 * MS);
}

TEST(tiny_period_tickers_on_4_procs)
{
	T_RUN_PROCS(4, ticker_stress_main, NULL);
}

/* ---- pending timer channel is not a deadlock; misuse aborts ---- */

static void after_wait_main(void *arg)
{
	uint64_t v;
	struct mn_chan *c = mn_after(20 * MS);

	/* Every G blocked, but the timer will fire. */
	G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
	mn_chan_free(c);
}

TEST(pending_timer_channel_is_not_a_deadlock)
{
	T_RUN_PROCS(2, after_wait_main, NULL);
}

static void stop_plain_main(void *arg)
{
	struct mn_chan *c = mn_chan_new(sizeof(uint64_t), 1);

	mn_timer_chan_stop(c);
}

static void misuse_child(void *arg)
{
	mn_main(arg, NULL);
	_exit(0);
}

TEST(timer_calls_on_a_plain_channel_abort)
{
	char out[4096];
	int st = t_child(misuse_child, stop_plain_main, out, sizeof(out));

	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_NE(NULL, strstr(out, "mn_timer_chan_stop on a channel that is not a timer channel"))
		TH_LOG("stderr: %s", out);
}

/* ---- huge timeouts mean "never", not "already past" ---- */

enum { H_SLEEP_I64, H_SLEEP_U64, H_SELECT, H_SELECT_NONE, H_SELECT_NULLS,
       H_RECV_TIMEOUT, H__N };
static const char *const huge_what[H__N] = {
	"mn_sleep(INT64_MAX)", "mn_sleep(UINT64_MAX)",
	"mn_select(channel, INT64_MAX)", "mn_select(n = 0, INT64_MAX)",
	"mn_select(NULL channels, INT64_MAX)", "mn_chan_recv_timeout(INT64_MAX)",
};
static atomic_int huge_returned[H__N];
static struct mn_chan *huge_c;

static void huge_waiter(void *arg)
{
	int which = (int)(intptr_t)arg;
	long v;
	struct mn_case k[2] = {
		{ .chan = huge_c, .dir = MN_RECV, .elem = &v },
		{ .chan = NULL, .dir = MN_RECV, .elem = &v },
	};

	switch (which) {
	case H_SLEEP_I64:
		mn_sleep(INT64_MAX);
		break;
	case H_SLEEP_U64:
		mn_sleep(UINT64_MAX);
		break;
	case H_SELECT:
		mn_select(k, 2, INT64_MAX);
		break;
	case H_SELECT_NONE:
		mn_select(NULL, 0, INT64_MAX);
		break;
	case H_SELECT_NULLS:
		mn_select(&k[1], 1, INT64_MAX);
		break;
	case H_RECV_TIMEOUT:
		mn_chan_recv_timeout(huge_c, &v, INT64_MAX);
		break;
	}
	atomic_store(&huge_returned[which], 1);
}

static void huge_timeouts_main(void *arg)
{
	struct mn_chan *after = mn_after(UINT64_MAX);
	struct mn_ctx *ctx = mn_ctx_with_timeout(NULL, UINT64_MAX);
	uint64_t v;

	huge_c = mn_chan_new(sizeof(long), 0);
	for (int i = 0; i < H__N; i++)
		mn_go(huge_waiter, (void *)(intptr_t)i);
	mn_sleep(100 * MS);
	for (int i = 0; i < H__N; i++)
		if (atomic_load(&huge_returned[i]))
			fprintf(stderr, "# %s returned after less than 100 ms\n",
				huge_what[i]);
	for (int i = 0; i < H__N; i++)
		G_ASSERT_EQ(atomic_load(&huge_returned[i]), 0);
	G_ASSERT_EQ(mn_chan_try_recv(after, &v), -EAGAIN);
	G_ASSERT_EQ(mn_ctx_err(ctx), 0);
	/* The waiters are abandoned when the main G returns. */
}

TEST(huge_timeouts_never_fire)
{
	T_RUN_PROCS(2, huge_timeouts_main, NULL);
}

TEST_HARNESS_MAIN
