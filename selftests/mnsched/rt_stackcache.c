// SPDX-License-Identifier: MIT
/*
 * rt_stackcache.c - G and stack reuse (issue 13): a G per request with
 * many in flight reuses hot stacks (no page fault per spawn, a bounded
 * number of live Gs), and the memory of a burst of Gs goes back to the
 * kernel once they have exited and the program is idle.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include "mn_test.h"

/* ---- churn: N Gs send on a channel of capacity LIVE, main receives ---- */

/* Fewer under TSan: a TSan fiber costs a millisecond.  Not under ASan
 * (100,000 take it a fraction of a second): the budget of 1% must have
 * room for the odd fault ASan's own bookkeeping takes (0 in 28 runs of 30,
 * 6 and 36 in the others: 36 was more than 1% of 2,048). */
#ifdef __SANITIZE_THREAD__
#define CHURN_N 8192L
#else
#define CHURN_N 100000L
#endif
enum { CHURN_LIVE = 1024 };
static struct mn_chan *churn_ch;
static atomic_long alive, alive_max;

static void churn_sender(void *arg)
{
	long v = (long)arg, a = atomic_fetch_add(&alive, 1) + 1, m;

	m = atomic_load(&alive_max);
	while (a > m && !atomic_compare_exchange_weak(&alive_max, &m, a))
		;
	G_ASSERT_EQ(mn_chan_send(churn_ch, &v), 0);
	atomic_fetch_sub(&alive, 1);
}

/*
 * Page faults per thread (/proc/self/task/TID/stat: minflt, majflt).  The
 * churn counts only the threads that were there when its steady phase
 * began: an M started later (Ms come whenever wakep asks for one) faults
 * while its thread is set up, most of all under ASan (~180 pages seen),
 * which is no cost per spawn; counting the whole process, that failed the
 * ASan run once (a fifth thread appeared in the steady phase in 2 of 40
 * runs of a churn program, with the faults).
 */
enum { MAX_TASKS = 64 };
struct task_faults {
	int n;
	long tid[MAX_TASKS], faults[MAX_TASKS];
};

/* No malloc (opendir, stdio): under ASan its quarantine hands out fresh
 * memory, and those faults would count. */
static void task_faults(struct task_faults *tf)
{
	char dents[4096];
	int dfd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;

	G_ASSERT(dfd >= 0);
	tf->n = 0;
	while ((n = syscall(SYS_getdents64, dfd, dents, sizeof(dents))) > 0) {
		for (long off = 0; off < n && tf->n < MAX_TASKS;) {
			struct dirent64 *e = (struct dirent64 *)(dents + off);
			char path[300], buf[512], *p;
			unsigned long minflt, majflt;
			ssize_t len;
			int fd;

			off += e->d_reclen;
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;	/* exited meanwhile */
			len = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (len <= 0)
				continue;
			buf[len] = 0;
			p = strrchr(buf, ')');	/* comm may hold spaces */
			/* after ")": state ppid pgrp session tty_nr tpgid flags
			 * minflt cminflt majflt */
			if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %lu %*u %lu",
					 &minflt, &majflt) != 2)
				continue;
			tf->tid[tf->n] = atol(e->d_name);
			tf->faults[tf->n++] = (long)(minflt + majflt);
		}
	}
	close(dfd);
}

/* Faults since *before, over the threads *before had. */
static long faults_since(const struct task_faults *before)
{
	struct task_faults now;
	long sum = 0;

	task_faults(&now);
	for (int i = 0; i < now.n; i++)
		for (int j = 0; j < before->n; j++)
			if (now.tid[i] == before->tid[j])
				sum += now.faults[i] - before->faults[j];
	return sum;
}

/*
 * The spawner starts 2*LIVE Gs (LIVE fill the buffer, LIVE block), then
 * receives one value and spawns one G, so LIVE Gs wait at every moment.
 * At one P the spawner never blocks: the sender its receive readied must
 * still get to run and exit, or every G stays alive (a fresh stack and a
 * page fault per spawn, memory without bound).
 */
static void churn_main(void *arg)
{
	long v, sum = 0, want = 0, f1, steady = CHURN_N - CHURN_N / 4;
	struct task_faults f0 = { 0 };

	churn_ch = mn_chan_new(sizeof(long), CHURN_LIVE);
	G_ASSERT(churn_ch);
	for (long i = 0; i < CHURN_N; i++) {
		if (i == steady)
			task_faults(&f0);
		if (i >= 2 * CHURN_LIVE) {
			G_ASSERT_EQ(mn_chan_recv(churn_ch, &v), 1);
			sum += v;
		}
		G_ASSERT_EQ(mn_go(churn_sender, (void *)i), 0);
		want += i;
	}
	f1 = faults_since(&f0);
	for (long i = 0; i < 2 * CHURN_LIVE; i++) {
		G_ASSERT_EQ(mn_chan_recv(churn_ch, &v), 1);
		sum += v;
	}
	G_ASSERT_EQ(sum, want);
	fprintf(stderr, "# %ld Gs, %d in flight: at most %ld alive at once; "
		"%ld page faults over the last %ld spawns\n", CHURN_N, CHURN_LIVE,
		atomic_load(&alive_max), f1, CHURN_N - steady);
	G_ASSERT(atomic_load(&alive_max) <= 2 * CHURN_LIVE + 64);
	/* 0.01 page faults per spawn at most (issue 13); 0 is usual.  Not
	 * under TSan: its fibers fault in their own shadow memory. */
#ifndef __SANITIZE_THREAD__
	G_ASSERT(f1 * 100 <= CHURN_N - steady);
#endif
	mn_chan_free(churn_ch);
}

TEST(churn_one_proc_reuses_hot_stacks)
{
	T_RUN_PROCS(1, churn_main, NULL);
}

TEST(churn_two_procs_reuses_hot_stacks)
{
	T_RUN_PROCS(2, churn_main, NULL);
}

/* ---- a burst: its memory goes back to the kernel once it is over ---- */

enum { BURST_N = 1000000 };
static struct mn_chan *burst_gate, *burst_done;

static long rss_bytes(void)
{
	long size = 0, res = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = -1;
		fclose(f);
	}
	return res * sysconf(_SC_PAGESIZE);
}

/*
 * From the main G, once the burst's Gs have exited: poll RSS every 100 ms
 * until it is at most limit, for 20 s at most; the last RSS read, and in
 * *ms how long it took.  The program is idle meanwhile (the scavenger
 * gives back what sat idle a whole second).
 */
static long rss_settle(long limit, int *ms)
{
	long after = rss_bytes();

	for (*ms = 0; *ms < 20000 && after > limit; *ms += 100) {
		mn_sleep(100 * 1000 * 1000);
		after = rss_bytes();
	}
	return after;
}

static void burst_waiter(void *arg)
{
	char buf[512];

	/* A little stack, as a request handler would use. */
	memset(buf, (int)(long)arg, sizeof(buf));
	__asm__ volatile("" : : "r"(buf) : "memory");
	mn_chan_recv(burst_gate, NULL);	/* parked until close */
	mn_chan_send(burst_done, NULL);
}

/*
 * n Gs of fn (with o), all alive at once, then all exit: RSS must have
 * grown by at least grew, and come back to at most slack above where it
 * started.
 */
static void burst_run(void (*fn)(void *), long n, const struct mn_go_opts *o,
		      long grew, long slack, const char *what)
{
	long rss0, peak, after;
	int ms;

	burst_gate = mn_chan_new(0, 0);
	burst_done = mn_chan_new(0, 1024);
	rss0 = rss_bytes();
	for (long i = 0; i < n; i++)
		G_ASSERT_EQ(mn_go_opts(fn, (void *)i, o), 0);
	peak = rss_bytes();
	mn_chan_close(burst_gate);
	for (long i = 0; i < n; i++)
		G_ASSERT_EQ(mn_chan_recv(burst_done, NULL), 1);
	after = rss_settle(rss0 + slack, &ms);
	fprintf(stderr, "# %ld %s: RSS before %ld MiB, at the peak %ld MiB, "
		"%d ms after they exited %ld MiB\n", n, what, rss0 >> 20,
		peak >> 20, ms, after >> 20);
	G_ASSERT(peak - rss0 >= grew);
	G_ASSERT(after <= rss0 + slack);
}

/* Within a few seconds the scavenger has given the stacks above the
 * budget (16 MiB here) back; a parked G is a page. */
static void burst_main(void *arg)
{
	burst_run(burst_waiter, BURST_N, NULL, BURST_N * 4096L, 64L << 20, "Gs");
}

TEST(burst_of_a_million_gs_gives_its_memory_back)
{
	if (t_sanitized())
		SKIP(return, "a million fibers under a sanitizer need tens of GB");
	if ((long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) < (8L << 30))
		SKIP(return, "a million parked Gs need ~4.5 GB of RAM; this machine has less");
	ASSERT_EQ(0, t_main("MNSCHED_DEBUG", "stackcache=16384",
				  burst_main, NULL));
}

/*
 * Big stacks: a P keeps at most 8 MiB of a class (and 2 stacks) in its own
 * cache, which the scavenger does not see; the rest goes to the global
 * pool and back to the kernel.  256 Gs with 1 MiB stacks each dirty 768
 * KiB of theirs (192 MiB), park, exit; with stackcache=0, one P keeps 8.
 */
enum { BIG_N = 256, BIG_USE = 768 << 10 };

static void big_g(void *arg)
{
	volatile char buf[BIG_USE];

	/* A byte per page, from the top down, as a deep call chain would. */
	for (long i = BIG_USE - 1; i >= 0; i -= 4096)
		buf[i] = 1;
	__asm__ volatile("" : : "r"(buf) : "memory");
	mn_chan_recv(burst_gate, NULL);
	mn_chan_send(burst_done, NULL);
}

static void big_main(void *arg)
{
	struct mn_go_opts o = { .stack_size = 1 << 20 };

	burst_run(big_g, BIG_N, &o, (long)BIG_N * BIG_USE, 32L << 20,
		  "Gs with 1 MiB stacks");
}

TEST(big_stacks_are_not_kept_by_the_p)
{
	if (t_sanitized())
		SKIP(return, "RSS under a sanitizer counts its shadow memory");
	setenv("MNPROCS", "1", 1);
	ASSERT_EQ(0, t_main("MNSCHED_DEBUG", "stackcache=0", big_main, NULL));
}

/*
 * Stacks given back and taken again: bursts of Gs that exit, with the
 * scavenger giving everything back (stackcache=0) while the next burst
 * spawns.  Each G fills part of its stack and checks it: a slot in two
 * places at once, or a header lost with its pages, shows here (and under
 * the sanitizers, as a report).
 */
static atomic_long reuse_bad;

static void reuse_g(void *arg)
{
	volatile unsigned char buf[3000];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)((long)arg + (long)i);
	mn_yield();
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != (unsigned char)((long)arg + (long)i))
			atomic_fetch_add(&reuse_bad, 1);
}

static void reuse_main(void *arg)
{
	long n = t_sanitized() ? 2000 : 20000;

	for (int round = 0; round < 4; round++) {
		uint64_t t0 = mn_now();

		for (long i = 0; i < n; i++)
			G_ASSERT_EQ(mn_go_opts(reuse_g, (void *)i,
				&(struct mn_go_opts){ .flags = MN_GO_DEFER }), 0);
		/* Spawn and run while the previous burst's stacks are given
		 * back: a period and a half after it went idle. */
		while (mn_now() - t0 < 1500 * 1000 * 1000ull)
			mn_sleep(10 * 1000 * 1000);
	}
	G_ASSERT_EQ(atomic_load(&reuse_bad), 0);
}

TEST(released_stacks_are_reused_intact)
{
	ASSERT_EQ(0, t_main("MNSCHED_DEBUG", "stackcache=0", reuse_main, NULL));
}

static void nothing(void *arg)
{
}

/* mn_main's result with MNSCHED_DEBUG=val, in a child (once a process). */
static int main_with(const char *val)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(-t_main("MNSCHED_DEBUG", val, nothing, NULL));
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 1;
	return -WEXITSTATUS(st);
}

TEST(stackcache_setting_is_checked)
{
	ASSERT_EQ(-EINVAL, main_with("stackcache=x"));
	ASSERT_EQ(-EINVAL, main_with("stackcache=1099511627777"));
	ASSERT_EQ(0, main_with("stackcache=1024"));
	ASSERT_EQ(0, main_with("stackcache=0"));
}

TEST_HARNESS_MAIN
