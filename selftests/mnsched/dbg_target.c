// SPDX-License-Identifier: MIT
/*
 * dbg_target - an mnsched program with Gs in every state, for the gdb and
 * dump tests (selftests/mnsched/gdb_tests.sh).
 *
 *   dbg_target [-n N] [-m MANIFEST] [-S]
 *     -n N         about N Gs in all (default 1000), spread over the roles
 *     -m MANIFEST  write "goid role state" for every G there once all are
 *                  in place, then print "ready" on stdout
 *     -S           no running or runnable Gs (main parks, the Ps idle)
 *
 * Roles (each G's function is g_ROLE, its name ROLE):
 *   recv    blocked in mn_chan_recv           [chan receive]
 *   send    blocked in mn_chan_send           [chan send]
 *   select  blocked in mn_select              [select]
 *   sleep   in mn_sleep for an hour           [sleep]
 *   mutex   in mn_mutex_lock (main holds it)  [sync.Mutex.Lock]
 *   cond    in mn_cond_wait                   [sync.Cond.Wait]
 *   wg      in mn_wg_wait                     [sync.WaitGroup.Wait]
 *   io      in mn_read of an empty pipe       [IO wait]
 *   yield   yielded, never run again          [runnable]
 *   spin    a CPU-bound loop, labelled        [running]
 *   nap     nanosleep(2) without telling the runtime (its M sleeps in the
 *           kernel holding the P)             [running]
 * With MNPROCS=2, spin and nap hold both Ps forever, so the yielders (and
 * main, if it has not parked yet) stay runnable.  That needs preemption
 * off (MNSCHED_DEBUG gets preempt=0 added): it would hand spin's and nap's
 * Ps to other Ms after 10 ms, and the yielders would run.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mnsched.h>

enum { R_RECV, R_SEND, R_SELECT, R_SLEEP, R_MUTEX, R_COND, R_WG, R_IO, R_YIELD,
       R_SPIN, R_NAP, R_MAIN, NROLES };
static const char *const role_name[NROLES] = {
	"recv", "send", "select", "sleep", "mutex", "cond", "wg", "io", "yield",
	"spin", "nap", "main",
};
static const char *const role_state[NROLES] = {
	"chan receive", "chan send", "select", "sleep", "sync.Mutex.Lock",
	"sync.Cond.Wait", "sync.WaitGroup.Wait", "IO wait", "runnable",
	"running", "running", "any",
};
/* shares of N, per mille */
static const int share[NROLES] = {
	200, 100, 150, 150, 100, 50, 50, 50, 147, 0, 0, 0,
};

#define MAXG	(1 << 20)
static unsigned char *roles;	/* goid -> role + 1 */
static const char *manifest;
static long ngs = 1000;
static bool no_running;

static struct mn_chan *never, *never2, *nobody;
static struct mn_mutex mu = MN_MUTEX_INIT;
static struct mn_mutex cmu = MN_MUTEX_INIT;
static struct mn_cond cond = MN_COND_INIT;
static struct mn_wg wg = MN_WG_INIT;
static int pipefd[2];
static volatile unsigned long spins;
static volatile int spin_noted;		/* g_spin's note() is done */

/* After a blocking call: no tail call, so g_ROLE stays on the stack. */
#define STAY()	__asm__ volatile("" ::: "memory")

static void note(int role)
{
	uint64_t id = mn_goid();

	if (id < MAXG)
		roles[id] = (unsigned char)(role + 1);
}

__attribute__((noinline)) static void g_recv(void *arg)
{
	note(R_RECV);
	mn_chan_recv(never, NULL);
	STAY();
}

__attribute__((noinline)) static void g_send(void *arg)
{
	note(R_SEND);
	mn_chan_send(nobody, NULL);
	STAY();
}

__attribute__((noinline)) static void g_select(void *arg)
{
	struct mn_case cs[2] = {
		{ .chan = never, .dir = MN_RECV },
		{ .chan = never2, .dir = MN_RECV },
	};

	note(R_SELECT);
	mn_select(cs, 2, -1);
	STAY();
}

__attribute__((noinline)) static void g_sleep(void *arg)
{
	note(R_SLEEP);
	mn_sleep(3600ull * 1000000000ull);
	STAY();
}

__attribute__((noinline)) static void g_mutex(void *arg)
{
	note(R_MUTEX);
	mn_mutex_lock(&mu);
	STAY();
}

__attribute__((noinline)) static void g_cond(void *arg)
{
	note(R_COND);
	mn_mutex_lock(&cmu);
	mn_cond_wait(&cond, &cmu);
	STAY();
}

__attribute__((noinline)) static void g_wg(void *arg)
{
	note(R_WG);
	mn_wg_wait(&wg);
	STAY();
}

__attribute__((noinline)) static void g_io(void *arg)
{
	char c;

	note(R_IO);
	mn_read(pipefd[0], &c, 1);
	STAY();
}

__attribute__((noinline)) static void g_yield(void *arg)
{
	note(R_YIELD);
	for (;;)
		mn_yield();
}

__attribute__((noinline)) static void spin_work(void)
{
	for (;;) {
		spins++;
		__asm__ volatile("pause");
	}
}

static void write_manifest(void)
{
	FILE *f;
	char tmp[4096];

	if (!manifest)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", manifest);
	f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		exit(1);
	}
	for (long i = 1; i < MAXG; i++)
		if (roles[i])
			fprintf(f, "%ld %s %s\n", i, role_name[roles[i] - 1],
				role_state[roles[i] - 1]);
	fclose(f);
	rename(tmp, manifest);
}

__attribute__((noinline)) static void g_spin(void *arg)
{
	note(R_SPIN);
	mn_set_label("role", "spin");
	__atomic_store_n(&spin_noted, 1, __ATOMIC_RELEASE);
	spin_work();
	STAY();
}

__attribute__((noinline)) static void g_nap(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	note(R_NAP);
	/* Each yielder runs at once, yields, and waits in this P's queue
	 * behind us for good: spin holds the other P. */
	for (long i = 0; i < share[R_YIELD] * ngs / 1000; i++)
		mn_go_opts(g_yield, NULL, &(struct mn_go_opts){ .name = "yield" });
	/* spin started first, but its thread may not have run since (a busy
	 * machine): the manifest must have it */
	while (!__atomic_load_n(&spin_noted, __ATOMIC_ACQUIRE))
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	write_manifest();
	printf("ready %d\n", getpid());
	fflush(stdout);
	for (;;)
		nanosleep(&ts, NULL);	/* holds the P, as a badly behaved G does */
}

static void spawn(void (*fn)(void *), int role, long n)
{
	struct mn_go_opts o = { .name = role_name[role], .stack_size = 16 << 10 };

	for (long i = 0; i < n; i++)
		if (mn_go_opts(fn, NULL, &o)) {
			fprintf(stderr, "dbg_target: mn_go failed\n");
			exit(1);
		}
}

static void main_g(void *arg)
{
	static void (*const fns[])(void *) = {
		g_recv, g_send, g_select, g_sleep, g_mutex, g_cond, g_wg, g_io,
	};

	note(R_MAIN);
	never = mn_chan_new(0, 0);
	never2 = mn_chan_new(0, 4);
	nobody = mn_chan_new(0, 0);
	if (pipe(pipefd)) {
		perror("pipe");
		exit(1);
	}
	mn_mutex_lock(&mu);
	mn_wg_add(&wg, 1);
	for (int r = 0; r <= R_IO; r++)
		spawn(fns[r], r, share[r] * ngs / 1000);
	if (no_running) {
		/* no yielders either: with idle Ps they would run */
		write_manifest();
		printf("ready %d\n", getpid());
		fflush(stdout);
		mn_chan_recv(never, NULL);
		return;
	}
	mn_go_opts(g_spin, NULL, &(struct mn_go_opts){ .name = "spin" });
	mn_go_opts(g_nap, NULL, &(struct mn_go_opts){ .name = "nap" });
	mn_chan_recv(never, NULL);
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "n:m:S")) != -1) {
		switch (opt) {
		case 'n': ngs = atol(optarg); break;
		case 'm': manifest = optarg; break;
		case 'S': no_running = true; break;
		default:
			fprintf(stderr, "usage: dbg_target [-n N] [-m MANIFEST] [-S]\n");
			return 64;
		}
	}
	if (ngs < 20 || ngs > 500000) {
		fprintf(stderr, "dbg_target: -n from 20 to 500000\n");
		return 64;
	}
	roles = calloc(MAXG, 1);
	if (!roles)
		return 1;
	{
		const char *d = getenv("MNSCHED_DEBUG");
		char buf[256];

		snprintf(buf, sizeof(buf), "%s%spreempt=0", d ? d : "", d ? "," : "");
		setenv("MNSCHED_DEBUG", buf, 1);
	}
	return mn_main(main_g, NULL) ? 1 : 0;
}
