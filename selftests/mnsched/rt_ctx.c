// SPDX-License-Identifier: MIT
/*
 * rt_ctx.c - struct mn_ctx: background, cancel, deadline, propagation to
 * descendants, cancellation of Gs blocked in mn_select and in
 * mn_sem_acquire_ctx, lifetimes (parent freed before its children).
 */
#include "mn_test.h"

#define MS	1000000ll

/* ---- background and NULL ---- */

static void background_main(void *arg)
{
	struct mn_ctx *bg = mn_ctx_background();

	G_ASSERT(bg != NULL);
	G_ASSERT(mn_ctx_done(bg) == NULL);
	G_ASSERT(mn_ctx_done(NULL) == NULL);
	G_ASSERT_EQ(mn_ctx_err(bg), 0);
	G_ASSERT_EQ(mn_ctx_err(NULL), 0);
	G_ASSERT_EQ(mn_ctx_deadline(bg), 0);
	mn_ctx_cancel(bg);		/* no-op */
	mn_ctx_free(bg);		/* no-op */
	mn_ctx_free(NULL);
	G_ASSERT_EQ(mn_ctx_err(bg), 0);
}

TEST(background_is_never_cancelled)
{
	T_RUN(background_main, NULL);
}

/* ---- cancel and propagation ---- */

static void tree_main(void *arg)
{
	struct mn_ctx *root = mn_ctx_with_cancel(NULL);
	struct mn_ctx *a = mn_ctx_with_cancel(root);
	struct mn_ctx *b = mn_ctx_with_cancel(root);
	struct mn_ctx *a1 = mn_ctx_with_cancel(a);
	struct mn_ctx *a2 = mn_ctx_with_timeout(a, 10000 * MS);

	G_ASSERT(root && a && b && a1 && a2);
	G_ASSERT(mn_ctx_done(root) != NULL);
	G_ASSERT_EQ(mn_ctx_err(a1), 0);
	G_ASSERT_EQ(mn_chan_try_recv(mn_ctx_done(a1), NULL), -EAGAIN);

	/* A child's cancel does not reach its parent or siblings. */
	mn_ctx_cancel(a1);
	G_ASSERT_EQ(mn_ctx_err(a1), -ECANCELED);
	G_ASSERT_EQ(mn_chan_recv(mn_ctx_done(a1), NULL), 0);	/* closed */
	G_ASSERT_EQ(mn_ctx_err(a), 0);
	G_ASSERT_EQ(mn_ctx_err(a2), 0);
	mn_ctx_cancel(a1);	/* idempotent */

	/* A parent's cancel reaches every descendant. */
	mn_ctx_cancel(a);
	G_ASSERT_EQ(mn_ctx_err(a), -ECANCELED);
	G_ASSERT_EQ(mn_ctx_err(a2), -ECANCELED);
	G_ASSERT_EQ(mn_ctx_err(b), 0);
	G_ASSERT_EQ(mn_ctx_err(root), 0);
	mn_ctx_cancel(root);
	G_ASSERT_EQ(mn_ctx_err(b), -ECANCELED);

	/* A child of a cancelled context starts cancelled. */
	{
		struct mn_ctx *late = mn_ctx_with_cancel(a);

		G_ASSERT_EQ(mn_ctx_err(late), -ECANCELED);
		G_ASSERT_EQ(mn_chan_recv(mn_ctx_done(late), NULL), 0);
		mn_ctx_free(late);
	}
	/* Free in an awkward order: parents before children. */
	mn_ctx_free(root);
	mn_ctx_free(a);
	G_ASSERT_EQ(mn_ctx_err(a2), -ECANCELED);	/* still valid */
	mn_ctx_free(a2);
	mn_ctx_free(b);
	mn_ctx_free(a1);
}

TEST(cancel_propagates_to_descendants_only)
{
	T_RUN(tree_main, NULL);
}

/* ---- deadlines ---- */

static void deadline_main(void *arg)
{
	uint64_t t0 = mn_now();
	struct mn_ctx *p = mn_ctx_with_timeout(NULL, 20 * MS);
	struct mn_ctx *later = mn_ctx_with_timeout(p, 1000 * MS);
	struct mn_ctx *sooner = mn_ctx_with_deadline(p, t0 + 5 * MS);
	struct mn_ctx *past = mn_ctx_with_deadline(NULL, t0 - 1);

	G_ASSERT(p && later && sooner && past);
	/* The effective deadline is the earliest up the tree. */
	G_ASSERT_EQ(mn_ctx_deadline(later), mn_ctx_deadline(p));
	G_ASSERT_EQ(mn_ctx_deadline(sooner), t0 + 5 * MS);
	G_ASSERT(mn_ctx_deadline(p) >= t0 + 20 * MS);
	G_ASSERT_EQ(mn_ctx_err(past), -ETIMEDOUT);

	G_ASSERT_EQ(mn_chan_recv(mn_ctx_done(sooner), NULL), 0);
	G_ASSERT(mn_now() >= t0 + 5 * MS);		/* never early */
	G_ASSERT_EQ(mn_ctx_err(sooner), -ETIMEDOUT);
	G_ASSERT_EQ(mn_ctx_err(p), 0);

	G_ASSERT_EQ(mn_chan_recv(mn_ctx_done(later), NULL), 0);
	G_ASSERT(mn_now() >= t0 + 20 * MS);
	G_ASSERT_EQ(mn_ctx_err(p), -ETIMEDOUT);
	G_ASSERT_EQ(mn_ctx_err(later), -ETIMEDOUT);	/* the parent's */

	/* Cancel before the deadline wins with -ECANCELED and stops the
	 * timer (no pending timer is left: the deadlock test below relies on
	 * nothing else). */
	{
		struct mn_ctx *c = mn_ctx_with_timeout(NULL, 5 * MS);

		mn_ctx_cancel(c);
		G_ASSERT_EQ(mn_ctx_err(c), -ECANCELED);
		mn_sleep(10 * MS);
		G_ASSERT_EQ(mn_ctx_err(c), -ECANCELED);
		mn_ctx_free(c);
	}
	mn_ctx_free(past);
	mn_ctx_free(sooner);
	mn_ctx_free(later);
	mn_ctx_free(p);
}

TEST(deadlines_fire_never_early_and_inherit)
{
	T_RUN_PROCS(2, deadline_main, NULL);
}

/* ---- cancellation reaches a G blocked in select ---- */

static struct mn_ctx *shared_ctx;
static struct mn_chan *data;
static atomic_int sel_woken;
static uint64_t cancelled_at;

static void blocked_selector(void *arg)
{
	long v;
	struct mn_case k[2] = {
		{ .chan = data, .dir = MN_RECV, .elem = &v },
		{ .chan = mn_ctx_done(shared_ctx), .dir = MN_RECV, .elem = NULL },
	};
	int r = mn_select(k, 2, -1);

	G_ASSERT_EQ(r, 1);
	G_ASSERT_EQ(k[1].ok, 0);	/* closed */
	G_ASSERT_EQ(mn_ctx_err(shared_ctx), -ECANCELED);
	G_ASSERT(mn_now() >= cancelled_at);
	atomic_fetch_add(&sel_woken, 1);
}

static void select_cancel_main(void *arg)
{
	struct mn_ctx *parent = mn_ctx_with_cancel(NULL);

	shared_ctx = mn_ctx_with_cancel(parent);
	data = mn_chan_new(sizeof(long), 0);
	for (int i = 0; i < 1000; i++)
		mn_go(blocked_selector, NULL);
	mn_sleep(5 * MS);
	G_ASSERT_EQ(atomic_load(&sel_woken), 0);
	/* Cancel the parent: the child's done channel closes. */
	cancelled_at = mn_now();
	mn_ctx_cancel(parent);
	while (atomic_load(&sel_woken) < 1000)
		mn_sleep(1 * MS);
	mn_ctx_free(shared_ctx);
	mn_ctx_free(parent);
	mn_chan_free(data);
}

TEST(cancel_reaches_1000_gs_blocked_in_select)
{
	T_RUN_PROCS(4, select_cancel_main, NULL);
}

static void deadline_select_main(void *arg)
{
	uint64_t t0 = mn_now();		/* before the deadline is set */
	struct mn_ctx *c = mn_ctx_with_timeout(NULL, 10 * MS);
	struct mn_chan *never = mn_chan_new(sizeof(int), 0);
	int v;
	struct mn_case k[2] = {
		{ .chan = never, .dir = MN_RECV, .elem = &v },
		{ .chan = mn_ctx_done(c), .dir = MN_RECV },
	};

	G_ASSERT_EQ(mn_select(k, 2, -1), 1);
	G_ASSERT(mn_now() - t0 >= 10 * MS);
	G_ASSERT_EQ(mn_ctx_err(c), -ETIMEDOUT);
	mn_ctx_free(c);
	mn_chan_free(never);
}

TEST(deadline_reaches_a_g_blocked_in_select)
{
	T_RUN(deadline_select_main, NULL);
}

/* ---- mn_sem_acquire_ctx ---- */

static struct mn_sem sem = MN_SEM_INIT(2);
static atomic_int sem_results[3];

static void sem_waiter(void *arg)
{
	int i = (int)(intptr_t)arg;

	sem_results[i] = mn_sem_acquire_ctx(&sem, 2, shared_ctx) + 1000;
	if (sem_results[i] == 1000)
		mn_sem_release(&sem, 2);
}

static void sem_ctx_main(void *arg)
{
	struct mn_ctx *c;

	/* Cancelled while waiting. */
	shared_ctx = mn_ctx_with_cancel(NULL);
	G_ASSERT_EQ(mn_sem_acquire(&sem, 1), 0);
	mn_go(sem_waiter, (void *)0);
	mn_go(sem_waiter, (void *)1);
	mn_sleep(2 * MS);
	G_ASSERT_EQ(atomic_load(&sem_results[0]), 0);	/* still waiting */
	mn_ctx_cancel(shared_ctx);
	G_ASSERT_EQ(t_await(&sem_results[0]), 1000 - ECANCELED);
	G_ASSERT_EQ(t_await(&sem_results[1]), 1000 - ECANCELED);
	/* Already cancelled: fails at once, even if units are free. */
	mn_sem_release(&sem, 1);
	G_ASSERT_EQ(mn_sem_acquire_ctx(&sem, 1, shared_ctx), -ECANCELED);
	mn_ctx_free(shared_ctx);

	/* A deadline while waiting. */
	c = mn_ctx_with_timeout(NULL, 5 * MS);
	G_ASSERT_EQ(mn_sem_acquire(&sem, 2), 0);
	G_ASSERT_EQ(mn_sem_acquire_ctx(&sem, 1, c), -ETIMEDOUT);
	mn_sem_release(&sem, 2);
	mn_ctx_free(c);

	/* Granted before the context ends: 0. */
	shared_ctx = mn_ctx_with_timeout(NULL, 1000 * MS);
	G_ASSERT_EQ(mn_sem_acquire(&sem, 2), 0);
	mn_go(sem_waiter, (void *)2);
	mn_sleep(1 * MS);
	mn_sem_release(&sem, 2);
	G_ASSERT_EQ(t_await(&sem_results[2]), 1000);
	mn_ctx_free(shared_ctx);
	/* NULL context: plain acquire. */
	G_ASSERT_EQ(mn_sem_acquire_ctx(&sem, 2, NULL), 0);
	mn_sem_release(&sem, 2);
}

TEST(semaphore_acquire_gives_up_on_cancel_and_deadline)
{
	T_RUN_PROCS(2, sem_ctx_main, NULL);
}

/* ---- stress: trees created, cancelled and freed while Gs select ---- */

static atomic_long stress_done;

static void tree_worker(void *arg)
{
	struct mn_ctx *root = arg;

	for (int i = 0; i < 300; i++) {
		struct mn_ctx *c = mn_ctx_with_cancel(root);
		struct mn_ctx *d = mn_ctx_with_timeout(c, (uint64_t)(i % 7) * 100000);
		struct mn_case k = { .chan = mn_ctx_done(d), .dir = MN_RECV };

		if (i % 3 == 0)
			mn_ctx_cancel(c);
		/* Either the cancel or the deadline ends the wait. */
		G_ASSERT_EQ(mn_select(&k, 1, -1), 0);
		G_ASSERT(mn_ctx_err(d) == -ECANCELED || mn_ctx_err(d) == -ETIMEDOUT);
		if (i & 1) {
			mn_ctx_free(c);
			mn_ctx_free(d);
		} else {
			mn_ctx_free(d);
			mn_ctx_free(c);
		}
	}
	atomic_fetch_add(&stress_done, 1);
}

static void stress_main(void *arg)
{
	struct mn_ctx *root = mn_ctx_with_cancel(NULL);

	for (int i = 0; i < 16; i++)
		mn_go(tree_worker, root);
	while (atomic_load(&stress_done) < 16)
		mn_sleep(1 * MS);
	mn_ctx_free(root);
}

TEST(trees_built_and_torn_down_concurrently_4_procs)
{
	T_RUN_PROCS(4, stress_main, NULL);
}

TEST_HARNESS_MAIN
