// SPDX-License-Identifier: MIT
/*
 * mnsched-handoff-rt - blocked-M handoff latency as the runtime sees it: a
 * G makes a blocking read() (inside mn_syscall_enter/exit); how long until
 * another G runs on the same P?  One P, so the second G can run only once
 * the P is handed to another M: by the module at once (MNSCHED_PARK=kmod,
 * a spare M takes the P), or by sysmon's retake (MNSCHED_PARK=futex, or
 * the module with MNSCHED_DEBUG=spare=0: no spares, the module only marks
 * the P blocked).
 *
 * Two start points, both printed:
 *   call   the G's clock just before mn_syscall_enter() and read(): this
 *          includes entering the system call and the pipe code up to the
 *          point where the thread sleeps, which both paths pay;
 *   block  the moment the M blocked: the blocked_since_ns the module writes
 *          in the P's page from the M's sched_out (CLOCK_MONOTONIC, the
 *          clock mn_now() reads).  Only with the module.
 * The end point is the other G's clock when it runs.
 *
 * Usage: mnsched-handoff-rt [ROUNDS]   (run once per configuration; the VM
 * runs them alternately in one boot: see tools/vm/handoff-bench.sh)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <mnsched.h>
#include "pstate_util.h"

static int pfd[2];
static volatile uint64_t t_call;
static struct mn_chan *done;

static void blocker(void *arg)
{
	char c;

	t_call = mn_now();
	mn_syscall_enter();
	if (read(pfd[0], &c, 1) != 1)
		abort();
	mn_syscall_exit();
	mn_chan_send(done, NULL);
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print_stats(const char *what, uint64_t *d, int n)
{
	qsort(d, (size_t)n, sizeof(*d), cmp);
	printf(" %s_p50_us %.1f %s_p10_us %.1f %s_p90_us %.1f", what, d[n / 2] / 1e3,
	       what, d[n / 10] / 1e3, what, d[n * 9 / 10] / 1e3);
}

static void bench(void *arg)
{
	int n = *(int *)arg, nb = 0;
	uint64_t *d = calloc((size_t)n, sizeof(*d));
	uint64_t *db = calloc((size_t)n, sizeof(*db));
	const volatile struct mnsched_pstate *p0 = t_mapped_p0();
	const char *label = getenv("HANDOFF_LABEL");

	done = mn_chan_new(0, 0);
	if (pipe(pfd) || !d || !db || !done)
		abort();
	for (int i = 0; i < n; i++) {
		struct t_kview k0 = { 0 }, k1;
		uint64_t now;

		if (p0)
			t_read_kview(p0, &k0);
		/* Child first: the blocker runs now and blocks; we continue
		 * here only once our P is running on another M. */
		mn_go(blocker, NULL);
		now = mn_now();
		d[i] = now - t_call;
		if (p0) {
			t_read_kview(p0, &k1);
			/* Counted only when the module saw this round's block. */
			if (k1.blocks > k0.blocks && k1.since_ns >= t_call && k1.since_ns <= now)
				db[nb++] = now - k1.since_ns;
		}
		if (write(pfd[1], "x", 1) != 1)
			abort();
		mn_chan_recv(done, NULL);
		mn_sleep(2000000);	/* let sysmon slow down again, as idle */
	}
	printf("RESULT handoff_%s rounds %d", label ? label : "run", n);
	print_stats("call", d, n);
	if (nb >= n / 2) {
		printf(" block_rounds %d", nb);
		print_stats("block", db, nb);
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 50;

	setenv("MNPROCS", "1", 1);
	if (n < 10)
		n = 10;
	return mn_main(bench, &n) ? 1 : 0;
}
