// SPDX-License-Identifier: MIT
/*
 * rt_nonm.c - mn_* calls from threads that are not Ms.
 *
 * Documented path: a plain thread may spawn Gs (mn_go), use the try_ and
 * close channel calls, and thereby wake Gs.  Calls that would block a G
 * abort with a message saying so.
 */
#include <pthread.h>
#include "mn_test.h"

static struct mn_chan *c;
static atomic_int got;

static void receiver(void *arg)
{
	int v;

	while (mn_chan_recv(c, &v) == 1)
		atomic_fetch_add(&got, v);
}

static void *feeder(void *arg)
{
	for (int i = 1; i <= 100; i++)
		while (mn_chan_try_send(c, &i) == -EAGAIN)
			usleep(100);
	mn_chan_close(c);
	return NULL;
}

static void plain_thread_main(void *arg)
{
	pthread_t t;

	c = mn_chan_new(sizeof(int), 4);
	mn_go(receiver, NULL);
	pthread_create(&t, NULL, feeder, NULL);
	while (atomic_load(&got) < 5050)
		mn_sleep(1000000);
	pthread_join(t, NULL);
	G_ASSERT_EQ(atomic_load(&got), 5050);
}

TEST(plain_thread_try_send_and_close_wake_gs)
{
	T_RUN(plain_thread_main, NULL);
}

static void *blocking_from_thread(void *arg)
{
	int v;

	mn_chan_recv(c, &v);	/* aborts: not in a G */
	return NULL;
}

static void abort_main(void *arg)
{
	pthread_t t;

	c = mn_chan_new(sizeof(int), 0);
	pthread_create(&t, NULL, blocking_from_thread, NULL);
	pthread_join(t, NULL);
}

static void child(void *arg)
{
	mn_main(abort_main, NULL);
}

TEST(blocking_call_from_plain_thread_aborts_clearly)
{
	char out[2048];
	int st = t_child(child, NULL, out, sizeof(out));

	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(SIGABRT, WTERMSIG(st));
	ASSERT_NE(NULL, strstr(out, "mn_chan_recv called outside a goroutine"))
		TH_LOG("stderr: %s", out);
}

TEST_HARNESS_MAIN
