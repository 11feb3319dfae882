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
	MN_RUN_PROCS(1, unbuffered_main, NULL);
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
	MN_RUN(buffered_main, NULL);
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
	MN_RUN_PROCS(1, fifo_waiters_main, NULL);
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
	MN_RUN(close_main, NULL);
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
	MN_RUN(close_senders_main, NULL);
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
	MN_RUN(big_elems_main, NULL);
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

	st = mn_test_child(child_free, NULL, out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("status %#x stderr: %s", st, out);
	ASSERT_EQ(SIGABRT, WTERMSIG(st));
	ASSERT_NE(NULL, strstr(out, "mn_chan_free of a channel that goroutines are blocked on"))
		TH_LOG("stderr: %s", out);
	st = mn_test_child(child_close, NULL, out, sizeof(out));
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_NE(NULL, strstr(out, "close of closed channel")) TH_LOG("stderr: %s", out);
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
	MN_RUN(pipeline_main, NULL);
}

TEST_HARNESS_MAIN
