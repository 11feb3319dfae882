// SPDX-License-Identifier: MIT
/*
 * mnsched-handoff-rt - blocked-M handoff latency as the runtime sees it:
 * the time from a G entering a blocking read() (inside mn_syscall_enter/
 * exit) to another G running on the same P.  One P, so the second G can run
 * only once the P is handed to another M: by the module at once
 * (MNSCHED_PARK=kmod, a spare M takes the P), or by sysmon's retake
 * (MNSCHED_PARK=futex).  Prints the median, p10 and p90 in microseconds.
 *
 * Usage: mnsched-handoff-rt [ROUNDS]   (run once per parker; the VM runs
 * both, alternately, in one boot: see tools/vm/handoff-bench.sh)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <mnsched.h>

static int pfd[2];
static volatile uint64_t t_block;
static struct mn_chan *done;

static void blocker(void *arg)
{
	char c;

	t_block = mn_now();
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

static void bench(void *arg)
{
	int n = *(int *)arg;
	uint64_t *d = calloc((size_t)n, sizeof(*d));

	done = mn_chan_new(0, 0);
	if (pipe(pfd) || !d || !done)
		abort();
	for (int i = 0; i < n; i++) {
		/* Child first: the blocker runs now and blocks; we continue
		 * here only once our P is running on another M. */
		mn_go(blocker, NULL);
		d[i] = mn_now() - t_block;
		if (write(pfd[1], "x", 1) != 1)
			abort();
		mn_chan_recv(done, NULL);
		mn_sleep(2000000);	/* let sysmon slow down again, as idle */
	}
	qsort(d, (size_t)n, sizeof(*d), cmp);
	printf("RESULT handoff_%s p50_us %.1f p10_us %.1f p90_us %.1f rounds %d\n",
	       getenv("MNSCHED_PARK") ? getenv("MNSCHED_PARK") : "auto",
	       d[n / 2] / 1e3, d[n / 10] / 1e3, d[n * 9 / 10] / 1e3, n);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 50;

	setenv("MNPROCS", "1", 1);
	if (n < 10)
		n = 10;
	return mn_main(bench, &n) ? 1 : 0;
}
