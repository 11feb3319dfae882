// SPDX-License-Identifier: MIT
/*
 * rt_deadlock.c - "all goroutines are asleep - deadlock!" and exit 2; not
 * while a plain thread, which may wake a G, is alive.
 */
#include <pthread.h>
#include "mn_test.h"

static struct mn_chan *c;

static void stuck_sender(void *arg)
{
	mn_chan_send(c, NULL);	/* nobody receives on c */
}

static void deadlock_main(void *arg)
{
	struct mn_go_opts o = { .name = "stuck-sender" };
	struct mn_chan *never = mn_chan_new(0, 0);

	c = mn_chan_new(0, 0);
	mn_go_opts(stuck_sender, NULL, &o);
	mn_chan_recv(never, NULL);	/* blocks forever */
}

static void child(void *arg)
{
	setenv("MNPROCS", (const char *)arg, 1);
	mn_main(deadlock_main, NULL);
	_exit(0);	/* not reached: the runtime exits 2 */
}

TEST(deadlock_detected_with_g_dump)
{
	const char *procs[] = { "1", "2", "4" };
	char out[4096];

	for (int i = 0; i < 3; i++) {
		int st = t_child(child, (void *)procs[i], out, sizeof(out));

		ASSERT_TRUE(WIFEXITED(st)) TH_LOG("status %#x stderr: %s", st, out);
		ASSERT_EQ(2, WEXITSTATUS(st));
		ASSERT_NE(NULL, strstr(out, "mnsched: all goroutines are asleep - deadlock!"));
		ASSERT_NE(NULL, strstr(out, "goroutine 1 [chan receive] (main)"))
			TH_LOG("stderr: %s", out);
		ASSERT_NE(NULL, strstr(out, "[chan send] (stuck-sender)"))
			TH_LOG("stderr: %s", out);
	}
}

static void sleeper(void *arg)
{
	mn_sleep(50 * 1000000ull);
	mn_chan_send(c, NULL);
}

static void not_deadlock_main(void *arg)
{
	/* Everyone blocked, but a timer will wake the sleeper: no report. */
	c = mn_chan_new(0, 0);
	mn_go(sleeper, NULL);
	mn_chan_recv(c, NULL);
}

TEST(pending_timer_is_not_deadlock)
{
	T_RUN(not_deadlock_main, NULL);
}

/* ---- plain threads may wake Gs: no deadlock while one is alive ---- */

static atomic_int plain_sends;

/* A plain thread: works a while, then sends (first runtime call). */
static void *late_feeder(void *arg)
{
	int v = 1;

	usleep(300 * 1000);
	while (mn_chan_try_send(c, &v) == -EAGAIN)
		usleep(1000);
	atomic_fetch_add(&plain_sends, 1);
	return NULL;
}

static void plain_wake_main(void *arg)
{
	pthread_t t;
	int v = 0;

	c = mn_chan_new(sizeof(int), 0);
	pthread_create(&t, NULL, late_feeder, NULL);
	pthread_detach(t);
	/* Every G blocked, no timer, no I/O: only the thread can wake us. */
	G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
	G_ASSERT_EQ(v, 1);
	if (arg) {
		fprintf(stderr, "got %d\n", v);
		mn_chan_recv(c, &v);	/* nobody left: a real deadlock */
		fprintf(stderr, "second receive returned\n");
	}
}

static void plain_wake_child(void *arg)
{
	const char *const *a = arg;

	alarm(10);
	setenv("MNPROCS", a[0], 1);
	_exit(mn_main(plain_wake_main, (void *)a[1]) ? 3 : 0);
}

TEST(plain_thread_about_to_send_is_not_a_deadlock)
{
	const char *procs[] = { "1", "2" };
	char out[4096];

	for (int i = 0; i < 2; i++) {
		const char *a[2] = { procs[i], NULL };
		int st = t_child(plain_wake_child, a, out, sizeof(out));

		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
			TH_LOG("MNPROCS=%s: status %#x stderr: %s", procs[i], st, out);
	}
}

TEST(deadlock_reported_once_the_plain_thread_exits)
{
	const char *a[2] = { "1", "again" };
	char out[4096];
	int st = t_child(plain_wake_child, a, out, sizeof(out));

	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2)
		TH_LOG("status %#x stderr: %s", st, out);
	ASSERT_NE(NULL, strstr(out, "got 1\nmnsched: all goroutines are asleep - deadlock!"))
		TH_LOG("stderr: %s", out);
	ASSERT_NE(NULL, strstr(out, "goroutine 1 [chan receive] (main)"))
		TH_LOG("stderr: %s", out);
}

TEST_HARNESS_MAIN
