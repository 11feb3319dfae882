// SPDX-License-Identifier: MIT
/*
 * rt_runq.c - run queue rules: mn_yield goes to the back of the LOCAL
 * queue, runnext cannot starve the queue, the global queue is polled, idle
 * Ps steal, and no G is ever taken twice (owner pushes at the head race
 * with thieves).
 */
#include <pthread.h>
#include <sys/syscall.h>
#include "mn_test.h"

static char trace[64];
static atomic_int tpos;
static struct mn_chan *done;

static void yielder(void *arg)
{
	for (int i = 0; i < 3; i++) {
		trace[atomic_fetch_add(&tpos, 1)] = (char)(intptr_t)arg;
		mn_yield();
	}
	mn_chan_send(done, NULL);
}

static void yield_main(void *arg)
{
	done = mn_chan_new(0, 3);
	/* Each runs first, yields back to us (runnext), goes to the tail. */
	mn_go(yielder, (void *)'a');
	mn_go(yielder, (void *)'b');
	mn_go(yielder, (void *)'c');
	for (int i = 0; i < 3; i++)
		mn_chan_recv(done, NULL);
	/* Round robin through the local queue: yield goes to the back. */
	G_ASSERT(strcmp(trace, "abcabcabc") == 0);
}

TEST(yield_goes_to_back_of_local_queue)
{
	T_RUN_PROCS(1, yield_main, NULL);
}

static struct mn_chan *ping, *pong;
static atomic_int third_ran;
static atomic_bool stop;

static void pinger(void *arg)
{
	int v = 0;

	while (!atomic_load(&stop)) {
		mn_chan_send(ping, &v);
		mn_chan_recv(pong, &v);
	}
	mn_chan_close(ping);
}

static void ponger(void *arg)
{
	int v;

	while (mn_chan_recv(ping, &v) == 1)
		mn_chan_send(pong, &v);
}

static void third(void *arg)
{
	atomic_store(&third_ran, 1);
	atomic_store(&stop, true);
}

static void runnext_main(void *arg)
{
	struct mn_go_opts o = { .flags = MN_GO_DEFER };

	ping = mn_chan_new(sizeof(int), 0);
	pong = mn_chan_new(sizeof(int), 0);
	mn_go_opts(ponger, NULL, &o);
	mn_go_opts(pinger, NULL, &o);
	mn_go_opts(third, NULL, &o);
	/* Two Gs handing off through runnext; the third must still run. */
	while (!atomic_load(&third_ran))
		mn_sleep(1000000);
}

TEST(runnext_pingpong_does_not_starve_queue)
{
	T_RUN_PROCS(1, runnext_main, NULL);
}

static atomic_int injected;

static void injected_g(void *arg)
{
	atomic_store(&injected, 1);
}

static void *outside(void *arg)
{
	/* A plain thread: mn_go puts the G on the global queue. */
	if (mn_go(injected_g, NULL))
		abort();
	return NULL;
}

static void spinner(void *arg)
{
	while (!atomic_load(&injected))
		mn_yield();
}

static void global_main(void *arg)
{
	pthread_t t;
	struct mn_go_opts o = { .flags = MN_GO_DEFER };

	/* Two Gs yield to each other forever on the only P; the global
	 * queue must still be looked at (every 61st tick). */
	mn_go_opts(spinner, NULL, &o);
	pthread_create(&t, NULL, outside, NULL);
	pthread_join(t, NULL);
	spinner(NULL);
	G_ASSERT_EQ(atomic_load(&injected), 1);
}

TEST(global_queue_is_polled)
{
	T_RUN_PROCS(1, global_main, NULL);
}

static atomic_int tids_seen[2];

static void note_tid(void)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int zero = 0;

	if (!atomic_compare_exchange_strong(&tids_seen[0], &zero, tid) &&
	    atomic_load(&tids_seen[0]) != tid)
		atomic_store(&tids_seen[1], tid);
}

static void busy(void *arg)
{
	/* Busy until a second M has run one of us (or 5 s: then the test
	 * fails), passing preemption points so the queue keeps moving. */
	uint64_t end = mn_now() + 5000 * 1000000ull;

	note_tid();
	while (!atomic_load(&tids_seen[1]) && mn_now() < end) {
		mn_preempt_point();
		note_tid();
	}
	mn_chan_send(done, NULL);
}

static void steal_main(void *arg)
{
	struct mn_go_opts o = { .flags = MN_GO_DEFER };

	done = mn_chan_new(0, 0);
	/* All spawned on this P; an idle P must steal some. */
	for (int i = 0; i < 8; i++)
		mn_go_opts(busy, NULL, &o);
	for (int i = 0; i < 8; i++)
		mn_chan_recv(done, NULL);
	G_ASSERT(atomic_load(&tids_seen[1]) != 0);
}

TEST(idle_p_steals_work)
{
	T_RUN_PROCS(2, steal_main, NULL);
}

/*
 * Spawn storm: every spawn pushes the spawner's continuation at the head of
 * the local queue while seven other Ps (on two CPUs, so thieves are often
 * preempted between reading a slot and their CAS) steal.  Each G marks its
 * own slot; a G taken twice (an ABA on the queue head) shows up as a count
 * of 2, a lost one as 0, or as a crash when two Ms run one stack.
 */
#define STORM_GS	(1 << 18)	/* per round; a sanitizer's fibers: 1/64 */

static atomic_uchar *storm_ran;
static atomic_int storm_next, storm_live, storm_gs;

static void storm_mark(long id)
{
	G_ASSERT_EQ(atomic_fetch_add(&storm_ran[id], 1), 0);
	atomic_fetch_sub(&storm_live, 1);
}

static void storm_leaf(void *arg)
{
	storm_mark((long)arg);
}

static void storm_node(void *arg)
{
	for (int i = 0; i < 4; i++) {
		int c = atomic_fetch_add(&storm_next, 1);

		if (c >= storm_gs)
			break;
		atomic_fetch_add(&storm_live, 1);
		mn_go(storm_leaf, (void *)(long)c);
	}
	storm_mark((long)arg);
}

static void storm_main(void *arg)
{
	uint64_t end = mn_now() + 1000 * 1000000ull;
	int rounds = 0;

	storm_gs = t_sanitized() ? STORM_GS / 64 : STORM_GS;
	storm_ran = calloc(storm_gs, 1);
	G_ASSERT(storm_ran != NULL);
	do {
		int n;

		memset(storm_ran, 0, storm_gs);
		atomic_store(&storm_next, 0);
		while (atomic_load(&storm_next) < storm_gs - 8) {
			int c = atomic_fetch_add(&storm_next, 1);

			atomic_fetch_add(&storm_live, 1);
			mn_go(storm_node, (void *)(long)c);
		}
		while (atomic_load(&storm_live) > 0)
			mn_yield();
		n = atomic_load(&storm_next);
		if (n > storm_gs)
			n = storm_gs;
		for (int i = 0; i < n; i++)
			G_ASSERT_EQ(storm_ran[i], 1);
		rounds++;
	} while (mn_now() < end);
	fprintf(stderr, "# %d rounds of %d Gs, each ran once\n", rounds,
		storm_gs);
	free(storm_ran);
}

TEST(spawn_storm_runs_every_g_exactly_once)
{
	T_RUN_PROCS(8, storm_main, NULL);
}

/*
 * Go's PingPongHog shape at 1 P: a G that computes and only calls
 * mn_preempt_point(), and a pair that ping-pongs 10,000 times over
 * unbuffered channels.  The pair's hand-offs go through runnext and run in
 * the slice of the G before them (as Go's inheritTime), so the pair gets
 * whole slices as the hog does.  Counted in the hog's turns, not in time:
 * the pair must finish within a few.  With a cap of 32 runnext picks per
 * turn (before) it took ~10,000/32 = 312 hog turns, 3-12 s.
 */
static atomic_bool hog_stop;
static atomic_long hog_turns;		/* times the hog ran again after others */
static atomic_int last_runner;		/* 1: the hog, 2: the pair */

static void hog(void *arg)
{
	while (!atomic_load(&hog_stop)) {
		if (atomic_exchange(&last_runner, 1) != 1)
			atomic_fetch_add(&hog_turns, 1);
		for (volatile int i = 0; i < 1000; i++)
			;
		mn_preempt_point();	/* yields when sysmon flagged the slice */
	}
}

static void pong_g(void *arg)
{
	int v;

	while (mn_chan_recv(ping, &v) == 1) {
		atomic_store(&last_runner, 2);
		mn_chan_send(pong, &v);
	}
}

static void pingpong_hog_main(void *arg)
{
	struct mn_go_opts o = { .flags = MN_GO_DEFER };
	long t0, turns;
	int v = 0;

	ping = mn_chan_new(sizeof(int), 0);
	pong = mn_chan_new(sizeof(int), 0);
	G_ASSERT_EQ(mn_go_opts(hog, NULL, &o), 0);
	mn_yield();			/* the hog runs a slice first */
	G_ASSERT_EQ(mn_go_opts(pong_g, NULL, &o), 0);
	t0 = atomic_load(&hog_turns);
	for (int i = 0; i < 10000; i++) {
		atomic_store(&last_runner, 2);
		G_ASSERT_EQ(mn_chan_send(ping, &v), 0);
		G_ASSERT_EQ(mn_chan_recv(pong, &v), 1);
	}
	turns = atomic_load(&hog_turns) - t0;
	atomic_store(&hog_stop, true);
	mn_chan_close(ping);
	fprintf(stderr, "# 10,000 round trips beside the hog took %ld hog turns\n",
		turns);
	G_ASSERT(t0 >= 1);		/* the hog did run */
	G_ASSERT(turns <= 20);
}

TEST(runnext_pair_keeps_its_slice_beside_a_hog)
{
	T_RUN_PROCS(1, pingpong_hog_main, NULL);
}

/*
 * Go's TestYieldProgress shape at 1 P: a G yields in a loop (polling a
 * channel without blocking) while the main G sleeps 10 ms and then tells it
 * to stop.  The yielding G must not keep the P from the sleeper's timer.
 */
static struct mn_chan *yp_c, *yp_ack;

static void yp_spinner(void *arg)
{
	for (;;) {
		if (mn_chan_try_recv(yp_c, NULL) == 1) {
			mn_chan_send(yp_ack, NULL);
			return;
		}
		mn_yield();
	}
}

static void yield_progress_main(void *arg)
{
	yp_c = mn_chan_new(0, 0);
	yp_ack = mn_chan_new(0, 0);
	G_ASSERT_EQ(mn_go(yp_spinner, NULL), 0);
	mn_sleep(10000000);
	G_ASSERT_EQ(mn_chan_send(yp_c, NULL), 0);
	G_ASSERT_EQ(mn_chan_recv(yp_ack, NULL), 1);
}

TEST(yielding_g_lets_a_sleeper_run)
{
	T_RUN_PROCS(1, yield_progress_main, NULL);
}

/*
 * Go's TestTimerFairness shape at 1 P: two Gs keep a channel ready (their
 * hand-offs to the main G go through runnext and share its slice); the main
 * G selects between that channel and a 20 ms timer, and must see the timer
 * fire although the channel is never empty.
 */
static struct mn_chan *tf_c, *tf_done;

static void tf_sender(void *arg)
{
	for (;;) {
		struct mn_case k[2] = {
			{ .chan = tf_c, .dir = MN_SEND, .elem = NULL },
			{ .chan = tf_done, .dir = MN_RECV, .elem = NULL },
		};

		if (mn_select(k, 2, -1) == 1)
			return;
	}
}

static void timer_fairness_main(void *arg)
{
	struct mn_chan *timer;
	long got = 0;

	tf_c = mn_chan_new(0, 0);
	tf_done = mn_chan_new(0, 0);
	for (int i = 0; i < 2; i++)
		G_ASSERT_EQ(mn_go(tf_sender, NULL), 0);
	timer = mn_after(20000000);
	G_ASSERT(timer);
	for (;;) {
		uint64_t v;
		struct mn_case k[2] = {
			{ .chan = tf_c, .dir = MN_RECV, .elem = NULL },
			{ .chan = timer, .dir = MN_RECV, .elem = &v },
		};

		if (mn_select(k, 2, -1) == 1)
			break;
		got++;
	}
	mn_chan_close(tf_done);
	G_ASSERT(got > 0);
}

TEST(timer_fires_beside_a_busy_channel)
{
	T_RUN_PROCS(1, timer_fairness_main, NULL);
}

TEST_HARNESS_MAIN
