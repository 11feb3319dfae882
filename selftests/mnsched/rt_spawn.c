// SPDX-License-Identifier: MIT
/* rt_spawn.c - mn_main, mn_go, mn_go_opts, goids, stack sizes, bad input. */
#include <sys/resource.h>
#include "mn_test.h"

static atomic_int ran;
static struct mn_chan *done;

static void child(void *arg)
{
	uint64_t *id = arg;

	*id = mn_goid();
	atomic_fetch_add(&ran, 1);
	mn_chan_send(done, NULL);
}

static void spawn_many(void *arg)
{
	enum { N = 1000 };
	static uint64_t ids[N];

	done = mn_chan_new(0, 0);
	G_ASSERT_EQ(mn_goid(), 1);
	for (int i = 0; i < N; i++)
		G_ASSERT_EQ(mn_go(child, &ids[i]), 0);
	for (int i = 0; i < N; i++)
		G_ASSERT_EQ(mn_chan_recv(done, NULL), 1);
	G_ASSERT_EQ(atomic_load(&ran), N);
	/* goids are unique and never 0 or the main G's */
	for (int i = 0; i < N; i++) {
		G_ASSERT(ids[i] > 1);
		for (int j = i + 1; j < N; j++)
			G_ASSERT(ids[i] != ids[j]);
	}
}

TEST(spawn_and_join_1000)
{
	T_RUN(spawn_many, NULL);
}

static void main_returns(void *arg)
{
	*(int *)arg = 42;
}

TEST(main_runs_fn_and_returns)
{
	int v = 0;

	T_RUN(main_returns, &v);
	ASSERT_EQ(42, v);
	/* Once per process. */
	ASSERT_EQ(-EBUSY, mn_main(main_returns, &v));
}

TEST(go_before_main_fails)
{
	ASSERT_EQ(-ENOTCONN, mn_go(main_returns, NULL));
	ASSERT_EQ(-EINVAL, mn_main(NULL, NULL));
}

static void deep(void *arg)
{
	/* Use ~900 KiB of a 1 MiB stack. */
	volatile char buf[900 << 10];

	buf[0] = 1;
	buf[sizeof(buf) - 1] = 2;
	*(int *)arg = buf[0] + buf[sizeof(buf) - 1];
	mn_chan_send(done, NULL);
}

static void opts_main(void *arg)
{
	struct mn_go_opts o = { .stack_size = 1 << 20, .name = "deep" };
	int v = 0;

	done = mn_chan_new(0, 0);
	G_ASSERT_EQ(mn_go_opts(deep, &v, &o), 0);
	mn_chan_recv(done, NULL);
	G_ASSERT_EQ(v, 3);

	/* Absurd sizes and unknown flags: -EINVAL, nothing spawned. */
	o.stack_size = (size_t)1 << 40;
	G_ASSERT_EQ(mn_go_opts(deep, &v, &o), -EINVAL);
	o.stack_size = 100;
	G_ASSERT_EQ(mn_go_opts(deep, &v, &o), -EINVAL);
	o.stack_size = 0;
	o.flags = 0x80;
	G_ASSERT_EQ(mn_go_opts(deep, &v, &o), -EINVAL);
	G_ASSERT_EQ(mn_go(NULL, NULL), -EINVAL);
}

TEST(go_opts_stack_size_and_bad_input)
{
	T_RUN(opts_main, NULL);
}

static void enomem_main(void *arg)
{
	struct mn_go_opts o = { .stack_size = 1 << 30 };
	struct rlimit rl = { 256 << 20, 256 << 20 };
	int r;

	/* With a 256 MiB address-space limit a 1 GiB stack cannot map. */
	G_ASSERT_EQ(setrlimit(RLIMIT_AS, &rl), 0);
	r = mn_go_opts(main_returns, &r, &o);
	G_ASSERT_EQ(r, -ENOMEM);
	/* ...and the program keeps running. */
	done = mn_chan_new(0, 1);
	G_ASSERT(done != NULL);
	G_ASSERT_EQ(mn_chan_send(done, NULL), 0);
	G_ASSERT_EQ(mn_chan_recv(done, NULL), 1);
}

TEST(go_out_of_memory_returns_enomem)
{
	if (t_sanitized())
		SKIP(return, "sanitizers reserve address space beyond RLIMIT_AS");
	T_RUN(enomem_main, NULL);
}

static atomic_int order[4], pos;

static void deferred(void *arg)
{
	order[atomic_fetch_add(&pos, 1)] = (int)(intptr_t)arg;
}

static void defer_main(void *arg)
{
	struct mn_go_opts o = { .flags = MN_GO_DEFER };

	/* Child first by default: the new G has run when mn_go returns
	 * (one P, it does not block). */
	G_ASSERT_EQ(mn_go(deferred, (void *)1), 0);
	G_ASSERT_EQ(atomic_load(&pos), 1);
	/* MN_GO_DEFER: queued, runs when we yield. */
	G_ASSERT_EQ(mn_go_opts(deferred, (void *)2, &o), 0);
	G_ASSERT_EQ(atomic_load(&pos), 1);
	mn_yield();
	G_ASSERT_EQ(atomic_load(&pos), 2);
	G_ASSERT_EQ(order[0], 1);
	G_ASSERT_EQ(order[1], 2);
}

TEST(go_child_first_and_defer)
{
	T_RUN_PROCS(1, defer_main, NULL);
}

static void nprocs_main(void *arg)
{
	G_ASSERT_EQ(mn_nprocs(), 3);
}

TEST(mnprocs_sets_nprocs)
{
	ASSERT_EQ(0, t_main("MNPROCS", "3", nprocs_main, NULL));
}

static void bad_env(void *arg)
{
	const char *v = arg;
	int r;

	setenv("MNPROCS", v, 1);
	r = mn_main(main_returns, &r);
	_exit(r == -EINVAL ? 0 : 1);
}

TEST(mnprocs_invalid_is_a_clear_error)
{
	const char *bad[] = { "0", "-1", "abc", "", "3x", "100000" };
	char out[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = t_child(bad_env, (void *)bad[i], out, sizeof(out));

		ASSERT_TRUE(WIFEXITED(st));
		ASSERT_EQ(0, WEXITSTATUS(st));
		ASSERT_NE(NULL, strstr(out, "MNPROCS")) TH_LOG("stderr: %s", out);
	}
}

TEST_HARNESS_MAIN
