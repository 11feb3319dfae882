// SPDX-License-Identifier: MIT
/*
 * rt_select.c - mn_select: random choice among ready cases, lock order,
 * poll / timeout / block, closed and NULL channels, no cases, misuse, and
 * the timed channel calls built on it.
 */
#include "mn_test.h"

#define MS	1000000ll

/* ---- fairness ---- */

static void fairness_main(void *arg)
{
	struct mn_chan *c[3];
	struct mn_case k[3];
	int count[3] = { 0 }, v = 1, rounds = 30000;

	for (int i = 0; i < 3; i++) {
		c[i] = mn_chan_new(sizeof(int), 1);
		G_ASSERT_EQ(mn_chan_send(c[i], &v), 0);
		k[i] = (struct mn_case){ .chan = c[i], .dir = MN_RECV, .elem = &v };
	}
	for (int r = 0; r < rounds; r++) {
		int i = mn_select(k, 3, -1);

		G_ASSERT(i >= 0 && i < 3);
		G_ASSERT_EQ(k[i].ok, 1);
		count[i]++;
		G_ASSERT_EQ(mn_chan_send(c[i], &v), 0);	/* ready again */
	}
	for (int i = 0; i < 3; i++) {
		/* 1/3 within 5% (relative): 10000 +- 500, about 6 sigma. */
		fprintf(stderr, "# case %d chosen %d times of %d\n", i, count[i], rounds);
		G_ASSERT(count[i] > rounds / 3 * 95 / 100);
		G_ASSERT(count[i] < rounds / 3 * 105 / 100);
	}
	for (int i = 0; i < 3; i++) {
		/* The same with a poll (timeout 0). */
		count[i] = 0;
	}
	for (int r = 0; r < rounds; r++) {
		int i = mn_select(k, 3, 0);

		G_ASSERT(i >= 0 && i < 3);
		count[i]++;
		G_ASSERT_EQ(mn_chan_send(c[i], &v), 0);
	}
	for (int i = 0; i < 3; i++) {
		G_ASSERT(count[i] > rounds / 3 * 95 / 100);
		G_ASSERT(count[i] < rounds / 3 * 105 / 100);
	}
}

TEST(fairness_three_ready_channels_one_third_each)
{
	T_RUN(fairness_main, NULL);
}

/* ---- poll, timeout, closed, NULL ---- */

static void basics_main(void *arg)
{
	struct mn_chan *a = mn_chan_new(sizeof(long), 0);
	struct mn_chan *b = mn_chan_new(sizeof(long), 2);
	long x = 42, y = 0;
	struct mn_case k[3] = {
		{ .chan = a, .dir = MN_RECV, .elem = &y },
		{ .chan = NULL, .dir = MN_RECV, .elem = &y },
		{ .chan = b, .dir = MN_SEND, .elem = &x },
	};
	uint64_t t0;
	int r;

	/* Poll: b has room, so the send is the only ready case. */
	G_ASSERT_EQ(mn_select(k, 3, 0), 2);
	G_ASSERT_EQ(k[2].ok, 1);
	G_ASSERT_EQ(mn_select(k, 3, 0), 2);
	G_ASSERT_EQ(mn_chan_len(b), 2);
	/* Full: nothing ready. */
	G_ASSERT_EQ(mn_select(k, 3, 0), -EAGAIN);
	t0 = mn_now();
	G_ASSERT_EQ(mn_select(k, 3, 20 * MS), -ETIMEDOUT);
	G_ASSERT(mn_now() - t0 >= 20 * MS);

	/* No cases: poll, timeout. */
	G_ASSERT_EQ(mn_select(NULL, 0, 0), -EAGAIN);
	t0 = mn_now();
	G_ASSERT_EQ(mn_select(NULL, 0, 5 * MS), -ETIMEDOUT);
	G_ASSERT(mn_now() - t0 >= 5 * MS);
	/* Only a NULL channel: never ready. */
	G_ASSERT_EQ(mn_select(&k[1], 1, 0), -EAGAIN);
	G_ASSERT_EQ(mn_select(&k[1], 1, 2 * MS), -ETIMEDOUT);
	/* Bad arguments. */
	G_ASSERT_EQ(mn_select(k, -1, 0), -EINVAL);
	G_ASSERT_EQ(mn_select(NULL, 2, 0), -EINVAL);

	/* Receive on closed: ready, ok = 0, zero value. */
	mn_chan_close(a);
	y = 7;
	r = mn_select(k, 2, -1);
	G_ASSERT_EQ(r, 0);
	G_ASSERT_EQ(k[0].ok, 0);
	G_ASSERT_EQ(y, 0);
	/* Buffered values come before closed. */
	mn_chan_close(b);
	k[0] = (struct mn_case){ .chan = b, .dir = MN_RECV, .elem = &y };
	for (int i = 0; i < 2; i++) {
		G_ASSERT_EQ(mn_select(k, 2, -1), 0);
		G_ASSERT_EQ(k[0].ok, 1);
		G_ASSERT_EQ(y, 42);
	}
	G_ASSERT_EQ(mn_select(k, 2, -1), 0);
	G_ASSERT_EQ(k[0].ok, 0);
	/* Send on closed: ready, ok = 0 (as mn_chan_send's -EPIPE). */
	k[2].ok = 1;
	G_ASSERT_EQ(mn_select(&k[1], 2, 0), 1);
	G_ASSERT_EQ(k[2].ok, 0);
	mn_chan_free(a);
	mn_chan_free(b);
}

TEST(poll_timeout_closed_and_null_channels)
{
	T_RUN(basics_main, NULL);
}

/* ---- blocking: woken by a sender, a receiver, a close ---- */

static struct mn_chan *ca, *cb, *cc;

static void later_send(void *arg)
{
	long v = (long)(intptr_t)arg;

	mn_sleep(2 * MS);
	G_ASSERT_EQ(mn_chan_send(cb, &v), 0);
}

static void later_recv(void *arg)
{
	long v;

	mn_sleep(2 * MS);
	G_ASSERT_EQ(mn_chan_recv(cc, &v), 1);
	G_ASSERT_EQ(v, 99);
}

static void later_close(void *arg)
{
	mn_sleep(2 * MS);
	mn_chan_close(ca);
}

static void blocking_main(void *arg)
{
	long in = -1, out = 99;
	struct mn_case k[3] = {
		{ .chan = ca, .dir = MN_RECV, .elem = &in },
		{ .chan = cb, .dir = MN_RECV, .elem = &in },
		{ .chan = cc, .dir = MN_SEND, .elem = &out },
	};

	ca = mn_chan_new(sizeof(long), 0);
	cb = mn_chan_new(sizeof(long), 0);
	cc = mn_chan_new(sizeof(long), 0);
	k[0].chan = ca;
	k[1].chan = cb;
	k[2].chan = cc;
	mn_go(later_send, (void *)5);
	G_ASSERT_EQ(mn_select(k, 3, -1), 1);
	G_ASSERT_EQ(k[1].ok, 1);
	G_ASSERT_EQ(in, 5);
	mn_go(later_recv, NULL);
	G_ASSERT_EQ(mn_select(k, 3, -1), 2);
	G_ASSERT_EQ(k[2].ok, 1);
	mn_go(later_close, NULL);
	in = 3;
	G_ASSERT_EQ(mn_select(k, 3, -1), 0);
	G_ASSERT_EQ(k[0].ok, 0);
	G_ASSERT_EQ(in, 0);
	/* With a timeout that does not expire. */
	mn_go(later_send, (void *)6);
	G_ASSERT_EQ(mn_select(&k[1], 2, 1000 * MS), 0);
	G_ASSERT_EQ(in, 6);
	/* Nobody is left in any wait queue: free does not abort. */
	mn_chan_free(ca);
	mn_chan_free(cb);
	mn_chan_free(cc);
}

TEST(blocked_select_woken_by_send_recv_and_close)
{
	T_RUN_PROCS(1, blocking_main, NULL);
}

TEST(blocked_select_woken_across_ps)
{
	T_RUN_PROCS(4, blocking_main, NULL);
}

/* ---- two selects rendezvous with each other ---- */

static void sel_peer(void *arg)
{
	long in, out = 1;
	struct mn_case k[2] = {
		{ .chan = ca, .dir = MN_RECV, .elem = &in },
		{ .chan = cb, .dir = MN_SEND, .elem = &out },
	};
	long n = (long)(intptr_t)arg;

	for (long i = 0; i < n; i++) {
		int r = mn_select(k, 2, -1);

		G_ASSERT(r == 0 || r == 1);
	}
}

static void sel_rendezvous_main(void *arg)
{
	long in, out = 2, n = 20000, got_a = 0, got_b = 0;
	struct mn_case k[2] = {
		{ .dir = MN_SEND, .elem = &out },
		{ .dir = MN_RECV, .elem = &in },
	};

	ca = mn_chan_new(sizeof(long), 0);
	cb = mn_chan_new(sizeof(long), 0);
	k[0].chan = ca;
	k[1].chan = cb;
	mn_go(sel_peer, (void *)(intptr_t)n);
	for (long i = 0; i < n; i++) {
		int r = mn_select(k, 2, -1);

		if (r == 0)
			got_a++;
		else if (r == 1 && in == 1)
			got_b++;
		else
			G_ASSERT(0);
	}
	G_ASSERT_EQ(got_a + got_b, n);
	fprintf(stderr, "# %ld sends, %ld receives\n", got_a, got_b);
	G_ASSERT(got_a > 0 && got_b > 0);
}

TEST(select_meets_select)
{
	T_RUN_PROCS(2, sel_rendezvous_main, NULL);
}

/* ---- lock order: opposite case orders cannot deadlock ---- */

static struct mn_chan *lo_ch[2];
static atomic_long lo_done, lo_total;

static void lo_worker(void *arg)
{
	int flip = (int)(intptr_t)arg & 1;
	long v = 0;
	struct mn_case k[4];

	/* Each worker both sends and receives on both channels, listing
	 * them in opposite orders. */
	for (int i = 0; i < 2; i++) {
		struct mn_chan *c = lo_ch[flip ? 1 - i : i];

		k[2 * i] = (struct mn_case){ .chan = c, .dir = MN_SEND, .elem = &v };
		k[2 * i + 1] = (struct mn_case){ .chan = c, .dir = MN_RECV, .elem = &v };
	}
	/* Until enough selects have paired up; the last worker left without
	 * a partner leaves through the timeout. */
	while (atomic_load(&lo_total) < 100000) {
		int r = mn_select(k, 4, 20 * MS);

		G_ASSERT(r >= 0 || r == -ETIMEDOUT);
		if (r >= 0)
			atomic_fetch_add(&lo_total, 1);
	}
	atomic_fetch_add(&lo_done, 1);
}

static void lockorder_main(void *arg)
{
	lo_ch[0] = mn_chan_new(sizeof(long), 0);
	lo_ch[1] = mn_chan_new(sizeof(long), 0);
	for (int i = 0; i < 8; i++)
		mn_go(lo_worker, (void *)(intptr_t)i);
	/* A lock-order deadlock would hang the Ms (the harness times out). */
	while (atomic_load(&lo_done) < 8)
		mn_sleep(1 * MS);
}

TEST(opposite_case_orders_do_not_deadlock)
{
	T_RUN_PROCS(4, lockorder_main, NULL);
}

/* ---- a channel in several cases of one select ---- */

static void dup_main(void *arg)
{
	struct mn_chan *c = mn_chan_new(sizeof(int), 1);
	int a = 1, b = 0;
	struct mn_case k[3] = {
		{ .chan = c, .dir = MN_RECV, .elem = &b },
		{ .chan = c, .dir = MN_SEND, .elem = &a },
		{ .chan = c, .dir = MN_RECV, .elem = &b },
	};
	int seen[3] = { 0 };

	for (int i = 0; i < 3000; i++) {
		int r = mn_select(k, 3, -1);

		G_ASSERT(r >= 0);
		seen[r]++;
	}
	G_ASSERT(seen[0] && seen[1] && seen[2]);
	mn_chan_free(c);
}

TEST(same_channel_in_several_cases)
{
	T_RUN(dup_main, NULL);
}

/* ---- many cases (the malloc path) ---- */

static struct mn_chan *many[200];

static void many_sender(void *arg)
{
	int i = (int)(intptr_t)arg;

	mn_sleep(1 * MS);
	G_ASSERT_EQ(mn_chan_send(many[i], &i), 0);
}

static void many_main(void *arg)
{
	struct mn_case *k = calloc(200, sizeof(*k));
	int v = -1;

	for (int i = 0; i < 200; i++) {
		many[i] = mn_chan_new(sizeof(int), 0);
		k[i] = (struct mn_case){ .chan = many[i], .dir = MN_RECV, .elem = &v };
	}
	for (int round = 0; round < 50; round++) {
		int want = (round * 37) % 200;

		mn_go(many_sender, (void *)(intptr_t)want);
		G_ASSERT_EQ(mn_select(k, 200, -1), want);
		G_ASSERT_EQ(v, want);
	}
	G_ASSERT_EQ(mn_select(k, 200, 0), -EAGAIN);
	G_ASSERT_EQ(mn_select(k, 200, 1 * MS), -ETIMEDOUT);
	for (int i = 0; i < 200; i++)
		mn_chan_free(many[i]);
	free(k);
}

TEST(two_hundred_cases)
{
	T_RUN_PROCS(2, many_main, NULL);
}

/* ---- no lost wake-ups: producers, selecting consumers, timeouts ---- */

#define NPROD	6
#define PER	20000
static struct mn_chan *pc[NPROD], *quit;
static atomic_long consumed_sum, consumed_n, timeouts;

static void producer(void *arg)
{
	int id = (int)(intptr_t)arg;

	for (long i = 1; i <= PER; i++) {
		long v = i;

		if (i % 1000 == 0)
			mn_yield();
		G_ASSERT_EQ(mn_chan_send(pc[id], &v), 0);
	}
}

static void consumer(void *arg)
{
	struct mn_case k[NPROD + 1];
	long v;

	for (int i = 0; i < NPROD; i++)
		k[i] = (struct mn_case){ .chan = pc[i], .dir = MN_RECV, .elem = &v };
	k[NPROD] = (struct mn_case){ .chan = quit, .dir = MN_RECV, .elem = NULL };
	for (;;) {
		/* A short timeout races with the senders' wake-ups. */
		int r = mn_select(k, NPROD + 1, 50000);

		if (r == -ETIMEDOUT) {
			atomic_fetch_add(&timeouts, 1);
			continue;
		}
		G_ASSERT(r >= 0);
		if (r == NPROD)
			return;
		G_ASSERT_EQ(k[r].ok, 1);
		atomic_fetch_add(&consumed_sum, v);
		atomic_fetch_add(&consumed_n, 1);
	}
}

static void stress_main(void *arg)
{
	long want = (long)NPROD * PER * (PER + 1) / 2;

	quit = mn_chan_new(0, 0);
	for (int i = 0; i < NPROD; i++)
		pc[i] = mn_chan_new(sizeof(long), i % 2 ? 4 : 0);
	for (int i = 0; i < 3; i++)
		mn_go(consumer, NULL);
	for (int i = 0; i < NPROD; i++)
		mn_go(producer, (void *)(intptr_t)i);
	while (atomic_load(&consumed_n) < (long)NPROD * PER)
		mn_sleep(1 * MS);
	mn_chan_close(quit);
	G_ASSERT_EQ(atomic_load(&consumed_sum), want);
	fprintf(stderr, "# %ld values, %ld timeouts\n",
		atomic_load(&consumed_n), atomic_load(&timeouts));
}

TEST(no_lost_wakeups_4_procs)
{
	T_RUN_PROCS(4, stress_main, NULL);
}

/* ---- timed channel calls ---- */

static void timed_main(void *arg)
{
	struct mn_chan *c = mn_chan_new(sizeof(int), 0);
	struct mn_chan *b = mn_chan_new(sizeof(int), 1);
	int v = 1;
	uint64_t t0 = mn_now();

	G_ASSERT_EQ(mn_chan_recv_timeout(c, &v, 0), -EAGAIN);
	G_ASSERT_EQ(mn_chan_send_timeout(c, &v, 0), -EAGAIN);
	G_ASSERT_EQ(mn_chan_recv_timeout(c, &v, 3 * MS), -ETIMEDOUT);
	G_ASSERT_EQ(mn_chan_send_timeout(c, &v, 3 * MS), -ETIMEDOUT);
	G_ASSERT(mn_now() - t0 >= 6 * MS);
	G_ASSERT_EQ(mn_chan_send_timeout(b, &v, 3 * MS), 0);
	G_ASSERT_EQ(mn_chan_send_timeout(b, &v, 1 * MS), -ETIMEDOUT);
	v = 0;
	G_ASSERT_EQ(mn_chan_recv_timeout(b, &v, 3 * MS), 1);
	G_ASSERT_EQ(v, 1);
	G_ASSERT_EQ(mn_chan_recv_timeout(b, NULL, 1 * MS), -ETIMEDOUT);
	mn_chan_close(b);
	G_ASSERT_EQ(mn_chan_recv_timeout(b, &v, 3 * MS), 0);
	G_ASSERT_EQ(mn_chan_send_timeout(b, &v, 3 * MS), -EPIPE);
	G_ASSERT_EQ(mn_chan_recv_timeout(b, NULL, -1), 0);
	mn_chan_free(c);
	mn_chan_free(b);
}

TEST(timed_send_and_recv)
{
	T_RUN(timed_main, NULL);
}

/* ---- no cases: blocks for good, the deadlock detector sees it ---- */

static void nocase_main(void *arg)
{
	mn_select(NULL, 0, -1);
}

static void nocase_child(void *arg)
{
	setenv("MNPROCS", "2", 1);
	mn_main(nocase_main, NULL);
	_exit(0);
}

TEST(no_cases_blocks_forever_and_is_a_deadlock)
{
	char out[4096];
	int st = t_child(nocase_child, NULL, out, sizeof(out));

	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_EQ(2, WEXITSTATUS(st));
	ASSERT_NE(NULL, strstr(out, "all goroutines are asleep - deadlock!"));
	ASSERT_NE(NULL, strstr(out, "goroutine 1 [select (no cases)] (main)"))
		TH_LOG("stderr: %s", out);
}

/* ---- misuse ---- */

static void null_elem_main(void *arg)
{
	struct mn_chan *c = mn_chan_new(sizeof(int), 1);
	struct mn_case k[2] = {
		{ .chan = NULL, .dir = MN_RECV },
		{ .chan = c, .dir = MN_RECV, .elem = NULL },
	};

	mn_select(k, 2, 0);
}

static void bad_dir_main(void *arg)
{
	struct mn_chan *c = mn_chan_new(0, 1);
	struct mn_case k = { .chan = c, .dir = 0 };

	mn_select(&k, 1, 0);
}

static void misuse_child(void *arg)
{
	mn_main(arg, NULL);
	_exit(0);
}

TEST(misuse_aborts_with_a_clear_message)
{
	char out[4096];
	int st;

	st = t_child(misuse_child, null_elem_main, out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_NE(NULL, strstr(out, "mn_select: case 1 (receive on channel"))
		TH_LOG("stderr: %s", out);
	ASSERT_NE(NULL, strstr(out, "NULL elem but the channel carries 4-byte elements"));
	st = t_child(misuse_child, bad_dir_main, out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_NE(NULL, strstr(out, "mn_select: case 0 has dir 0, not MN_SEND or MN_RECV"))
		TH_LOG("stderr: %s", out);
}

TEST_HARNESS_MAIN
