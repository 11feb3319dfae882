// SPDX-License-Identifier: MIT
/* rt_deadlock.c - "all goroutines are asleep - deadlock!" and exit 2. */
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
		int st = mn_test_child(child, (void *)procs[i], out, sizeof(out));

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
	MN_RUN(not_deadlock_main, NULL);
}

TEST_HARNESS_MAIN
