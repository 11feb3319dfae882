// SPDX-License-Identifier: MIT
/*
 * rt_wakeup_stress.c - hunt for lost wake-ups.
 *
 * An M that finds nothing releases its P, re-checks every queue and parks;
 * a G made runnable meanwhile must not be stranded.  These loops make Ps go
 * idle and be woken tens of thousands of times, with the wake landing at
 * every point of that window (random short pauses shift it around).  A lost
 * wake-up shows as a hang: the harness timeout fails the test, and the
 * deadlock detector would exit 2.
 */
#include "mn_test.h"

static struct mn_chan **chans;
static int nchain;

static void spin_ns(unsigned ns)
{
	uint64_t end = mn_now() + ns;

	while (mn_now() < end)
		;
}

/* A relay: receive, pause a random moment, pass it on. */
static void relay(void *arg)
{
	int i = (int)(intptr_t)arg;
	unsigned seed = (unsigned)i * 2654435761u;
	long v;

	while (mn_chan_recv(chans[i], &v) == 1) {
		seed = seed * 1103515245u + 12345u;
		if (seed & 0x100)
			spin_ns((seed >> 16) % 3000);
		mn_chan_send(chans[i + 1], &v);
	}
	mn_chan_close(chans[i + 1]);
}

static void ring_main(void *arg)
{
	long rounds = (long)(intptr_t)arg, v;

	nchain = 8;
	chans = calloc((size_t)nchain + 1, sizeof(*chans));
	for (int i = 0; i <= nchain; i++)
		chans[i] = mn_chan_new(sizeof(long), 0);
	for (int i = 0; i < nchain; i++)
		mn_go(relay, (void *)(intptr_t)i);
	for (long r = 0; r < rounds; r++) {
		G_ASSERT_EQ(mn_chan_send(chans[0], &r), 0);
		G_ASSERT_EQ(mn_chan_recv(chans[nchain], &v), 1);
		G_ASSERT_EQ(v, r);
	}
	mn_chan_close(chans[0]);
	G_ASSERT_EQ(mn_chan_recv(chans[nchain], &v), 0);
}

TEST(relay_chain_2_procs)
{
	ASSERT_EQ(0, mn_test_main("MNPROCS", "2", ring_main, (void *)20000));
}

TEST(relay_chain_4_procs_on_fewer_cpus)
{
	/* More Ps than CPUs: Ms are preempted by the kernel at every point. */
	ASSERT_EQ(0, mn_test_main("MNPROCS", "4", ring_main, (void *)20000));
}

static atomic_long woken;

static void sleeper_waker(void *arg)
{
	struct mn_chan *c = arg;
	long v;

	/* Receive with every P idle, so each send must wake a parked M. */
	while (mn_chan_recv(c, &v) == 1)
		atomic_fetch_add(&woken, 1);
}

static void idle_wake_main(void *arg)
{
	enum { G = 4, N = 3000 };
	struct mn_chan *cs[G];

	for (int i = 0; i < G; i++) {
		cs[i] = mn_chan_new(sizeof(long), 1);
		mn_go(sleeper_waker, cs[i]);
	}
	for (long n = 0; n < N; n++) {
		for (int i = 0; i < G; i++)
			G_ASSERT_EQ(mn_chan_send(cs[i], &n), 0);
		/* Sleep a little so the other Ms find nothing and park. */
		if (n % 16 == 0)
			mn_sleep(20000);
	}
	for (int i = 0; i < G; i++)
		mn_chan_close(cs[i]);
	while (atomic_load(&woken) < (long)G * N)
		mn_sleep(100000);
}

TEST(wake_parked_ms_repeatedly)
{
	ASSERT_EQ(0, mn_test_main("MNPROCS", "4", idle_wake_main, NULL));
}

TEST_HARNESS_MAIN
