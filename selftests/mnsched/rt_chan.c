// SPDX-License-Identifier: MIT
/* rt_chan.c - channels: Go's semantics, direct hand-off, misuse aborts. */
#include "mn_test.h"

static void unbuffered_main(void *arg);
static struct mn_chan *c;
static atomic_int step;

static void sender(void *arg)
{
	int v = (int)(intptr_t)arg;

	atomic_store(&step, 1);
	G_ASSERT_EQ(mn_chan_send(c, &v), 0);
	/* Rendezvous: the receiver has the value when send returns. */
	atomic_store(&step, 2);
}

static void unbuffered_main(void *arg)
{
	int v = 0;

	c = mn_chan_new(sizeof(int), 0);
	G_ASSERT_EQ(mn_chan_cap(c), 0);
	mn_go(sender, (void *)7);
	/* Child first: it ran and blocked in send (no receiver yet). */
	G_ASSERT_EQ(atomic_load(&step), 1);
	G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
	G_ASSERT_EQ(v, 7);
	mn_yield();
	G_ASSERT_EQ(atomic_load(&step), 2);
	/* Nothing buffered: try ops would block. */
	G_ASSERT_EQ(mn_chan_try_send(c, &v), -EAGAIN);
	G_ASSERT_EQ(mn_chan_try_recv(c, &v), -EAGAIN);
	mn_chan_free(c);
}

TEST(unbuffered_rendezvous)
{
	T_RUN_PROCS(1, unbuffered_main, NULL);
}

static void buffered_main(void *arg)
{
	int v;

	c = mn_chan_new(sizeof(int), 4);
	for (int i = 0; i < 4; i++)
		G_ASSERT_EQ(mn_chan_try_send(c, &i), 0);
	G_ASSERT_EQ(mn_chan_len(c), 4);
	G_ASSERT_EQ(mn_chan_try_send(c, &v), -EAGAIN);
	for (int i = 0; i < 4; i++) {
		G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
		G_ASSERT_EQ(v, i);	/* FIFO */
	}
	G_ASSERT_EQ(mn_chan_try_recv(c, &v), -EAGAIN);
	/* Wrap around the ring several times. */
	for (int i = 0; i < 100; i++) {
		G_ASSERT_EQ(mn_chan_send(c, &i), 0);
		if (i % 3 == 2)
			for (int k = 0; k < 3; k++)
				G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
	}
	mn_chan_free(c);
}

TEST(buffered_fifo)
{
	T_RUN(buffered_main, NULL);
}

static int got[8];
static atomic_int ngot;

static void blocked_sender(void *arg)
{
	int v = (int)(intptr_t)arg;

	G_ASSERT_EQ(mn_chan_send(c, &v), 0);
}

static void blocked_receiver(void *arg)
{
	int v;

	G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
	got[atomic_fetch_add(&ngot, 1)] = v * 10 + (int)(intptr_t)arg;
}

static void fifo_waiters_main(void *arg)
{
	int v;

	/* Blocked senders are served in arrival order... */
	c = mn_chan_new(sizeof(int), 2);
	for (int i = 0; i < 6; i++)
		mn_go(blocked_sender, (void *)(intptr_t)i);
	for (int i = 0; i < 6; i++) {
		G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
		G_ASSERT_EQ(v, i);
	}
	mn_chan_free(c);
	/* ...and so are blocked receivers. */
	c = mn_chan_new(sizeof(int), 0);
	for (int i = 0; i < 4; i++)
		mn_go(blocked_receiver, (void *)(intptr_t)i);
	for (int i = 0; i < 4; i++)
		G_ASSERT_EQ(mn_chan_send(c, &i), 0);
	while (atomic_load(&ngot) < 4)
		mn_yield();
	for (int i = 0; i < 4; i++)
		G_ASSERT_EQ(got[i] / 10, got[i] % 10);	/* receiver i got value i */
}

TEST(fifo_among_blocked_senders_and_receivers)
{
	T_RUN_PROCS(1, fifo_waiters_main, NULL);
}

static atomic_int closed_seen;

static void wait_close(void *arg)
{
	int v = 99;

	G_ASSERT_EQ(mn_chan_recv(c, &v), 0);
	G_ASSERT_EQ(v, 0);	/* zero value */
	atomic_fetch_add(&closed_seen, 1);
}

static void close_main(void *arg)
{
	int v = 5;

	c = mn_chan_new(sizeof(int), 1);
	for (int i = 0; i < 10; i++)
		mn_go(wait_close, NULL);
	mn_chan_close(c);
	while (atomic_load(&closed_seen) < 10)
		mn_yield();
	G_ASSERT_EQ(mn_chan_send(c, &v), -EPIPE);
	G_ASSERT_EQ(mn_chan_try_send(c, &v), -EPIPE);
	G_ASSERT_EQ(mn_chan_recv(c, &v), 0);
	mn_chan_free(c);

	/* Buffered values are drained before recv reports closed. */
	c = mn_chan_new(sizeof(int), 2);
	v = 1;
	mn_chan_send(c, &v);
	v = 2;
	mn_chan_send(c, &v);
	mn_chan_close(c);
	G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
	G_ASSERT_EQ(v, 1);
	G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
	G_ASSERT_EQ(v, 2);
	G_ASSERT_EQ(mn_chan_recv(c, &v), 0);
	mn_chan_free(c);
}

TEST(close_wakes_all_receivers_and_drains)
{
	T_RUN(close_main, NULL);
}

static void send_blocked_then_closed(void *arg)
{
	int v = 1;

	G_ASSERT_EQ(mn_chan_send(c, &v), -EPIPE);
	atomic_fetch_add(&closed_seen, 1);
}

static void close_senders_main(void *arg)
{
	c = mn_chan_new(sizeof(int), 0);
	for (int i = 0; i < 3; i++)
		mn_go(send_blocked_then_closed, NULL);
	mn_chan_close(c);
	while (atomic_load(&closed_seen) < 3)
		mn_yield();
}

TEST(close_fails_blocked_senders)
{
	T_RUN(close_senders_main, NULL);
}

static void big_elems_main(void *arg)
{
	struct big { char b[1000]; } x, y;

	c = mn_chan_new(sizeof(x), 3);
	for (int i = 0; i < 3; i++) {
		memset(&x, 'a' + i, sizeof(x));
		mn_chan_send(c, &x);
	}
	for (int i = 0; i < 3; i++) {
		mn_chan_recv(c, &y);
		for (size_t k = 0; k < sizeof(y); k++)
			G_ASSERT_EQ(y.b[k], 'a' + i);
	}
	mn_chan_free(c);
}

TEST(large_elements_copied_whole)
{
	T_RUN(big_elems_main, NULL);
}

static void parked_forever(void *arg)
{
	mn_chan_recv(c, NULL);
}

static void free_with_waiters(void *arg)
{
	c = mn_chan_new(0, 0);
	mn_go(parked_forever, NULL);
	mn_chan_free(c);
}

static void child_free(void *arg)
{
	/* One P: the parked G has surely blocked when main frees (with two,
	 * another M may take main from runnext before the G blocks). */
	setenv("MNPROCS", "1", 1);
	mn_main(free_with_waiters, NULL);
}

static void close_twice(void *arg)
{
	c = mn_chan_new(0, 0);
	mn_chan_close(c);
	mn_chan_close(c);
}

static void child_close(void *arg)
{
	mn_main(close_twice, NULL);
}

TEST(misuse_aborts_with_a_clear_message)
{
	char out[2048];
	int st;

	st = t_child(child_free, NULL, out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("status %#x stderr: %s", st, out);
	ASSERT_EQ(SIGABRT, WTERMSIG(st));
	ASSERT_NE(NULL, strstr(out, "mn_chan_free of a channel that goroutines are blocked on"))
		TH_LOG("stderr: %s", out);
	st = t_child(child_close, NULL, out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_NE(NULL, strstr(out, "close of closed channel")) TH_LOG("stderr: %s", out);
}

/* ---- freed and NULL channels, NULL elements: a clear abort, never a hang ---- */

enum { U_TRY_SEND, U_RECV, U_DOUBLE_FREE, U_LEN, U_CAP, U_CLOSE, U_SELECT,
       U_NULL_LEN, U_NULL_CAP, U_NULL_SEND, U_NULL_RECV, U_NULL_CLOSE,
       U_NULL_ELEM, U_NULL_ELEM_TRY, U__N };
static const char *const uaf_msg[U__N] = {
	"mn_chan_try_send: channel freed", "mn_chan_recv: channel freed",
	"mn_chan_free: channel freed", "mn_chan_len: channel freed",
	"mn_chan_cap: channel freed", "mn_chan_close: channel freed",
	"mn_select: channel freed",
	"mn_chan_len on a NULL channel", "mn_chan_cap on a NULL channel",
	"mn_chan_send on a NULL channel", "mn_chan_recv on a NULL channel",
	"close of a NULL channel", "mn_chan_send with a NULL element",
	"mn_chan_try_send with a NULL element",
};

static void uaf_main(void *arg)
{
	int which = (int)(intptr_t)arg, v = 1;
	struct mn_chan *d = mn_chan_new(sizeof(int), 4);
	struct mn_case k = { .chan = d, .dir = MN_RECV, .elem = &v };

	if (which < U_NULL_LEN)
		mn_chan_free(d);
	switch (which) {
	case U_TRY_SEND:
		mn_chan_try_send(d, &v);
		break;
	case U_RECV:
		mn_chan_recv(d, &v);
		break;
	case U_DOUBLE_FREE:
		mn_chan_free(d);
		break;
	case U_LEN:
		mn_chan_len(d);
		break;
	case U_CAP:
		mn_chan_cap(d);
		break;
	case U_CLOSE:
		mn_chan_close(d);
		break;
	case U_SELECT:
		mn_select(&k, 1, 1000000);
		break;
	case U_NULL_LEN:
		mn_chan_len(NULL);
		break;
	case U_NULL_CAP:
		mn_chan_cap(NULL);
		break;
	case U_NULL_SEND:
		mn_chan_send(NULL, &v);
		break;
	case U_NULL_RECV:
		mn_chan_recv(NULL, &v);
		break;
	case U_NULL_CLOSE:
		mn_chan_close(NULL);
		break;
	case U_NULL_ELEM:
		mn_chan_send(d, NULL);
		break;
	case U_NULL_ELEM_TRY:
		mn_chan_try_send(d, NULL);
		break;
	}
	fprintf(stderr, "case %d returned\n", which);
}

static void uaf_child(void *arg)
{
	alarm(3);	/* a call that spins on the freed lock: SIGALRM */
	mn_main(uaf_main, arg);
}

TEST(freed_or_null_channel_calls_abort_naming_the_call)
{
	char out[4096];

	for (int i = 0; i < U__N; i++) {
		int st;

		if (i < U_NULL_LEN && t_sanitized())
			continue;	/* the sanitizer reports the use after free itself */
		st = t_child(uaf_child, (void *)(intptr_t)i, out, sizeof(out));
		EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT)
			TH_LOG("%s: status %#x, stderr: %s", uaf_msg[i], st, out);
		EXPECT_NE(NULL, strstr(out, uaf_msg[i]))
			TH_LOG("want \"%s\", stderr: %s", uaf_msg[i], out);
	}
}

/*
 * The promise of mnsched.h: once the call that completed a blocked select
 * (a send, a receive, a close, another select) has returned, the select
 * touches none of its channels again, so they may all be freed at once.
 */
enum { W_SEND, W_RECV, W_CLOSE, W_SELECT_SEND, W_TIMED, W__N };
static struct mn_chan *sc[3];
static atomic_int sel_result, sel_val;

static void selecting_g(void *arg)
{
	int which = (int)(intptr_t)arg, v = 0, out = 5;
	struct mn_case k[3] = {
		{ .chan = sc[0], .dir = which == W_RECV ? MN_SEND : MN_RECV,
		  .elem = which == W_RECV ? &out : &v },
		{ .chan = sc[1], .dir = MN_RECV, .elem = &v },
		{ .chan = sc[2], .dir = MN_RECV, .elem = &v },
	};
	int r;

	if (which == W_TIMED)
		r = mn_chan_recv_timeout(sc[0], &v, 10000 * 1000000ll) == 1 ? 0 : -1;
	else
		r = mn_select(k, 3, which == W_SEND ? 10000 * 1000000ll : -1);
	atomic_store(&sel_val, which == W_CLOSE ? k[0].ok : v);
	atomic_store(&sel_result, r + 1);
}

static void free_after_select_main(void *arg)
{
	for (int which = 0; which < W__N; which++) {
		int v = 7, r;

		for (int i = 0; i < 3; i++)
			sc[i] = mn_chan_new(sizeof(int), 0);
		atomic_store(&sel_result, 0);
		mn_go(selecting_g, (void *)(intptr_t)which);	/* runs, blocks */
		switch (which) {
		case W_SEND:
		case W_TIMED:
			G_ASSERT_EQ(mn_chan_send(sc[0], &v), 0);
			break;
		case W_RECV:
			G_ASSERT_EQ(mn_chan_recv(sc[0], &v), 1);
			G_ASSERT_EQ(v, 5);
			break;
		case W_CLOSE:
			mn_chan_close(sc[0]);
			break;
		case W_SELECT_SEND: {
			struct mn_case k[2] = {
				{ .chan = sc[0], .dir = MN_SEND, .elem = &v },
				{ .chan = sc[2], .dir = MN_SEND, .elem = &v },
			};

			r = mn_select(k, 2, -1);
			G_ASSERT(r == 0 || r == 1);
			break;
		}
		}
		/* The select is readied (one P: not yet running); free all. */
		for (int i = 0; i < 3; i++)
			mn_chan_free(sc[i]);
		for (int i = 0; i < 3; i++)
			sc[i] = NULL;
		while (!atomic_load(&sel_result))
			mn_yield();
		G_ASSERT(atomic_load(&sel_result) >= 1);
		if (which == W_SEND || which == W_TIMED)
			G_ASSERT_EQ(atomic_load(&sel_val), 7);
	}
}

static void free_after_select_child(void *arg)
{
	alarm(20);
	setenv("MNPROCS", "1", 1);
	_exit(mn_main(free_after_select_main, NULL) ? 3 : 0);
}

TEST(channels_of_a_completed_select_may_be_freed_at_once)
{
	char out[8192];
	int st = t_child(free_after_select_child, NULL, out, sizeof(out));

	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("status %#x, stderr: %s", st, out);
}

/* The same race on 2 Ps: the select may run on the other P at once. */
static atomic_int stress_done;

static void stress_selector(void *arg)
{
	struct mn_chan **cs = arg;
	int v;
	struct mn_case k[3] = {
		{ .chan = cs[0], .dir = MN_RECV, .elem = &v },
		{ .chan = cs[1], .dir = MN_RECV, .elem = &v },
		{ .chan = cs[2], .dir = MN_RECV, .elem = &v },
	};

	G_ASSERT(mn_select(k, 3, -1) >= 0);
	atomic_fetch_add(&stress_done, 1);
}

static void stress_sender(void *arg)
{
	struct mn_chan **cs = arg;
	int v = 1;

	G_ASSERT_EQ(mn_chan_send(cs[mn_goid() % 3], &v), 0);
	for (int i = 0; i < 3; i++)
		mn_chan_free(cs[i]);
	free(cs);
}

static void free_stress_main(void *arg)
{
	int n = t_sanitized() ? 3000 : 30000;

	for (int i = 0; i < n; i++) {
		struct mn_chan **cs = malloc(3 * sizeof(*cs));

		for (int j = 0; j < 3; j++)
			cs[j] = mn_chan_new(sizeof(int), 0);
		mn_go_opts(stress_selector, cs,
			   &(struct mn_go_opts){ .flags = MN_GO_DEFER });
		mn_go_opts(stress_sender, cs,
			   &(struct mn_go_opts){ .flags = MN_GO_DEFER });
		if (i % 64 == 0)
			mn_yield();
	}
	while (atomic_load(&stress_done) < n)
		mn_sleep(1000000);
}

static void free_stress_child(void *arg)
{
	alarm(120);
	setenv("MNPROCS", "2", 1);
	_exit(mn_main(free_stress_main, NULL) ? 3 : 0);
}

TEST(channels_of_a_completed_select_may_be_freed_at_once_2_procs)
{
	char out[8192];
	int st = t_child(free_stress_child, NULL, out, sizeof(out));

	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("status %#x, stderr: %s", st, out);
}

static struct mn_chan *results;

static void worker(void *arg)
{
	long v, sum = 0;

	while (mn_chan_recv(c, &v) == 1)
		sum += v;
	mn_chan_send(results, &sum);
}

static void pipeline_main(void *arg)
{
	enum { W = 8, N = 200000 };
	long total = 0, s;

	c = mn_chan_new(sizeof(long), 16);
	results = mn_chan_new(sizeof(long), 0);
	for (int i = 0; i < W; i++)
		mn_go(worker, NULL);
	for (long i = 1; i <= N; i++)
		G_ASSERT_EQ(mn_chan_send(c, &i), 0);
	mn_chan_close(c);
	for (int i = 0; i < W; i++) {
		G_ASSERT_EQ(mn_chan_recv(results, &s), 1);
		total += s;
	}
	G_ASSERT_EQ(total, (long)N * (N + 1) / 2);
}

TEST(fan_out_pipeline_loses_nothing)
{
	T_RUN(pipeline_main, NULL);
}

TEST_HARNESS_MAIN
