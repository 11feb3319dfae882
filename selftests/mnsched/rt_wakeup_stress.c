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
#include <pthread.h>
#include <sched.h>
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

/*
 * A G queued on the global queue while the only spinning M has given up its
 * P but still counts as spinning: the readier's wakep sees npidle == 1 and
 * nmspinning == 1 and leaves the wake-up to that spinner, which must look at
 * the global queue again after it stops spinning.  It did not (only the Ps'
 * local queues), and tools/vm/handoff-bench.sh hung in the VM: the G of an M
 * back from a system call that found no idle P went to the global queue at
 * that moment, P 0 stayed idle and both Ms slept with no timeout.
 * The runtime's test hook stalls the spinner inside that window; a plain
 * thread, which has no P, readies a G there (its mn_go queues globally).
 */
void mn_debug_spin_drop_delay(uint32_t ns);

static struct mn_chan *gq_done;
static atomic_int gq_round;		/* the round the readier may start */
static atomic_int gq_finished;		/* rounds whose G ran */

static void gq_child(void *arg)
{
	mn_chan_send(gq_done, NULL);
}

static void *gq_readier(void *arg)
{
	int rounds = (int)(intptr_t)arg;

	for (int i = 1; i <= rounds; i++) {
		uint64_t t;

		while (atomic_load(&gq_round) < i)
			sched_yield();
		/* The main G parks right after setting gq_round; its M, spinning,
		 * finds nothing, gives up the P and stalls 2 ms in the hook. */
		usleep(300);
		if (mn_go(gq_child, NULL))
			abort();
		for (t = mn_now(); atomic_load(&gq_finished) < i; usleep(1000)) {
			if (mn_now() - t > 5000000000ull) {
				fprintf(stderr, "# round %d: the G readied from a plain "
					"thread never ran (global queue, idle P, no M "
					"awake): lost wake-up\n", i);
				fflush(stderr);
				_exit(1);
			}
		}
	}
	return NULL;
}

static void global_queue_main(void *arg)
{
	int rounds = (int)(intptr_t)arg;
	pthread_t t;

	gq_done = mn_chan_new(0, 0);
	G_ASSERT_EQ(pthread_create(&t, NULL, gq_readier, arg), 0);
	mn_debug_spin_drop_delay(2000000);
	for (int i = 1; i <= rounds; i++) {
		atomic_store(&gq_round, i);
		G_ASSERT_EQ(mn_chan_recv(gq_done, NULL), 1);
		atomic_store(&gq_finished, i);
	}
	mn_debug_spin_drop_delay(0);
	pthread_join(t, NULL);
}

TEST(global_g_readied_while_spinning_m_gives_up_p)
{
	/* The main G waits for a plain thread: not a deadlock. */
	setenv("MNSCHED_DEBUG", "deadlock=0", 1);
	ASSERT_EQ(0, mn_test_main("MNPROCS", "1", global_queue_main, (void *)50));
}

TEST_HARNESS_MAIN
