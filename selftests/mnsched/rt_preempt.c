// SPDX-License-Identifier: MIT
/*
 * rt_preempt.c - preemption without cooperation (user/src/preempt.c): a G
 * that computes without calling the runtime loses its P after its slice;
 * its thread goes on running it, demoted, and rejoins at its next mn_*
 * call.  Hogs beside a ticker at 1 and 2 Ps, hogs = 10x Ps, a hog that
 * never returns while the program ends, TLS/errno/thread kept, a pthread
 * mutex and malloc held across preemption, no G on two threads at once,
 * the unprivileged path (the thread cannot get its priority back: it
 * retires), the slice setting, and a stress where the handler fires at
 * Gs that live in the runtime (it must never act there).  Every check here hangs (the watchdog
 * fails it) or fails without preemption (MNSCHED_DEBUG=preempt=0).
 *
 * TSan delivers asynchronous signals at its interceptors only, so a G that
 * calls nothing is not preempted under TSan: the hog tests skip there.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "mn_test.h"

uint64_t mn_debug_preemptions(void);
uint64_t mn_debug_retired_ms(void);
int mn_debug_demoted_ms(void);
uint64_t mn_debug_kernel_preemptions(void);
uint64_t mn_debug_preempt_signals(void);
int mn_debug_kernel_preempt(void);

/*
 * The module's preemption (kmod/preempt.c): in the test VM (MNSCHED_PARK=
 * kmod) it must be the one preempting; elsewhere (no module) the tests
 * that need it skip.
 */
static bool kmod_expected(void)
{
	const char *park = getenv("MNSCHED_PARK");

	return park && !strcmp(park, "kmod");
}

#define REQUIRE_KMOD()							\
	do {								\
		if (!kmod_expected())					\
			SKIP(return, "the module's preemption: MNSCHED_PARK=kmod (the test VM)"); \
	} while (0)

#if defined(__SANITIZE_THREAD__)
#define SKIP_UNDER_TSAN()						\
	SKIP(return, "TSan holds asynchronous signals until an interceptor")
#else
#define SKIP_UNDER_TSAN() do { } while (0)
#endif

static atomic_bool hog_stop;
static atomic_int hogs_running;

/* Computes until hog_stop; never calls the runtime. */
static void hog(void *arg)
{
	volatile uint64_t x = 0;

	atomic_fetch_add(&hogs_running, 1);
	while (!atomic_load_explicit(&hog_stop, memory_order_relaxed))
		x++;
	atomic_fetch_sub(&hogs_running, 1);
}

/* Fail (exit 1) if not done within secs: the shape of "never ran". */
static void *watchdog(void *arg)
{
	sleep((unsigned)(intptr_t)arg);
	fprintf(stderr, "# watchdog: still running after %d s: a G that "
		"should have run never did\n", (int)(intptr_t)arg);
	fflush(stderr);
	_exit(1);
	return NULL;
}

static void start_watchdog(int secs)
{
	pthread_t t;

	pthread_create(&t, NULL, watchdog, (void *)(intptr_t)secs);
	pthread_detach(t);
}

struct ticker_args {
	int hogs;
	int ticks;
	uint64_t worst_ns;
	int worst_at;		/* the tick of the worst delay */
	int over[4];		/* ticks later than 1, 2, 3, 5 ms */
	bool figure_only;	/* no check that a preemption happened */
};

/* The ticker: sleeps 1 ms, ticks times, beside hogs; worst oversleep. */
static void ticker_main(void *arg)
{
	struct ticker_args *a = arg;

	atomic_store(&hog_stop, false);
	for (int i = 0; i < a->hogs; i++)
		G_ASSERT_EQ(mn_go(hog, NULL), 0);
	for (int i = 0; i < a->ticks; i++) {
		uint64_t t0 = mn_now(), d;

		mn_sleep(1000000);
		d = mn_now() - t0 - 1000000;
		if (d > a->worst_ns) {
			a->worst_ns = d;
			a->worst_at = i;
		}
		for (int j = 0; j < 4; j++)
			if (d > (j == 3 ? 5 : j + 1) * 1000000ull)
				a->over[j]++;
	}
	atomic_store(&hog_stop, true);
	while (atomic_load(&hogs_running) > 0)
		mn_sleep(1000000);
	if (a->hogs && !a->figure_only)
		G_ASSERT(mn_debug_preemptions() > 0);
	printf("# %d hogs: worst wake-up delay of a 1 ms ticker %.1f ms, "
	       "%llu preemptions, %llu retired threads\n", a->hogs,
	       a->worst_ns / 1e6, (unsigned long long)mn_debug_preemptions(),
	       (unsigned long long)mn_debug_retired_ms());
	fflush(stdout);
}

/* Bounded: Go's worst on this machine was 40-100 ms; without preemption
 * the ticker never runs again (the watchdog fires). */
#define TICKER_BOUND_NS	(1000ull * 1000 * 1000)

/* fn(arg) as the main G at procs Ps; *worst (set by fn) within bound. */
static void run_bounded(struct __test_metadata *_metadata, const char *procs,
			void (*fn)(void *), void *arg, const uint64_t *worst)
{
	start_watchdog(60);
	ASSERT_EQ(0, t_main("MNPROCS", procs, fn, arg));
	ASSERT_LT(*worst, TICKER_BOUND_NS);
}

static void run_ticker(struct __test_metadata *_metadata, const char *procs,
		       int hogs)
{
	struct ticker_args a = { hogs, 100, 0 };

	run_bounded(_metadata, procs, ticker_main, &a, &a.worst_ns);
}

TEST(ticker_beside_one_hog_1_proc)
{
	SKIP_UNDER_TSAN();
	run_ticker(_metadata, "1", 1);
}

TEST(ticker_beside_one_hog_per_p_2_procs)
{
	SKIP_UNDER_TSAN();
	run_ticker(_metadata, "2", 2);
}

TEST(ticker_beside_10x_hogs_2_procs)
{
	SKIP_UNDER_TSAN();
	run_ticker(_metadata, "2", 20);
}

/*
 * With the module, the kernel preempts, with 1 ms slices: a 1 ms ticker
 * beside one hog per P keeps ticking, every preemption is the module's (its
 * counter moved) and sysmon sent no signal.  Fails when the module did not
 * preempt (old module, feature off, a signal sent): the hogs never call the
 * runtime, so without a preemption the ticker's P stays theirs for good.
 * The delay itself is a figure (printed, and in README): issue 12 asks for
 * 3 ms, and under TCG this VM's ticker alone is already 1 to 14 ms late
 * (kernel_ticker_alone_*), so the bound checked is only what tells a
 * preempted P from a frozen one: 200 slices.
 */
#define KTICKER_BOUND_NS	(200ull * 1000 * 1000)

static void print_ticker(struct ticker_args *a, const char *how)
{
	printf("# slice=1, %s: %d hog(s) at %d P(s): worst wake-up "
	       "delay of a 1 ms ticker %.2f ms (tick %d of %d; %d/%d/%d/%d late "
	       "by over 1/2/3/5 ms); %llu preemptions by the module, %llu "
	       "signals\n", how, a->hogs, mn_nprocs(), a->worst_ns / 1e6,
	       a->worst_at, a->ticks, a->over[0], a->over[1], a->over[2],
	       a->over[3],
	       (unsigned long long)mn_debug_kernel_preemptions(),
	       (unsigned long long)mn_debug_preempt_signals());
	fflush(stdout);
}

/* Figures only: the signal path at the same slice, for comparison. */
static void sticker_main(void *arg)
{
	ticker_main(arg);
	print_ticker(arg, "sysmon's signal (kpreempt=0)");
}

static void kticker_main(void *arg)
{
	struct ticker_args *a = arg;

	ticker_main(a);
	printf("# slice=1 with the module: %d hog(s) at %d P(s): worst wake-up "
	       "delay of a 1 ms ticker %.2f ms (tick %d of %d; %d/%d/%d/%d late "
	       "by over 1/2/3/5 ms); %llu preemptions by the module, %llu "
	       "signals\n", a->hogs, mn_nprocs(), a->worst_ns / 1e6,
	       a->worst_at, a->ticks, a->over[0], a->over[1], a->over[2],
	       a->over[3],
	       (unsigned long long)mn_debug_kernel_preemptions(),
	       (unsigned long long)mn_debug_preempt_signals());
	fflush(stdout);
	G_ASSERT_EQ(mn_debug_kernel_preempt(), 1);
	if (a->hogs && !a->figure_only)
		G_ASSERT(mn_debug_kernel_preemptions() > 0);
	G_ASSERT_EQ(mn_debug_preempt_signals(), 0);
}

static void run_kticker(struct __test_metadata *_metadata, const char *procs,
			int hogs)
{
	struct ticker_args a = { hogs, 500, 0 };

	setenv("MNSCHED_DEBUG", "slice=1", 1);
	start_watchdog(60);
	ASSERT_EQ(0, t_main("MNPROCS", procs, kticker_main, &a));
	ASSERT_LE(a.worst_ns, KTICKER_BOUND_NS);
}

/*
 * Figures that say what the machine adds (no bound checked): the ticker
 * alone at 1 and 2 Ps, one hog at 2 Ps (one CPU computing), and sysmon's
 * signal at the same slice with one hog per P.
 */
static void figure(struct __test_metadata *_metadata, const char *procs,
		   int hogs, const char *debug, void (*fn)(void *))
{
	/* One hog at 2 Ps may have a P to itself: nothing to preempt. */
	struct ticker_args a = { hogs, 500, 0, .figure_only = true };

	setenv("MNSCHED_DEBUG", debug, 1);
	start_watchdog(60);
	ASSERT_EQ(0, t_main("MNPROCS", procs, fn, &a));
}

TEST(kernel_ticker_alone_slice_1ms_1_proc)
{
	SKIP_UNDER_TSAN();
	REQUIRE_KMOD();
	figure(_metadata, "1", 0, "slice=1", kticker_main);
}

TEST(kernel_ticker_alone_slice_1ms_2_procs)
{
	SKIP_UNDER_TSAN();
	REQUIRE_KMOD();
	figure(_metadata, "2", 0, "slice=1", kticker_main);
}

TEST(kernel_ticker_beside_one_hog_slice_1ms_2_procs)
{
	SKIP_UNDER_TSAN();
	REQUIRE_KMOD();
	figure(_metadata, "2", 1, "slice=1", kticker_main);
}

TEST(signal_ticker_beside_one_hog_per_p_slice_1ms_2_procs)
{
	SKIP_UNDER_TSAN();
	REQUIRE_KMOD();
	figure(_metadata, "2", 2, "slice=1,kpreempt=0", sticker_main);
}

TEST(kernel_preempts_ticker_beside_one_hog_slice_1ms_1_proc)
{
	SKIP_UNDER_TSAN();
	REQUIRE_KMOD();
	run_kticker(_metadata, "1", 1);
}

TEST(kernel_preempts_ticker_beside_one_hog_per_p_slice_1ms_2_procs)
{
	SKIP_UNDER_TSAN();
	REQUIRE_KMOD();
	run_kticker(_metadata, "2", 2);
}

/* MNSCHED_DEBUG=kpreempt=0: with the module, sysmon's signal again. */
static void ksig_main(void *arg)
{
	struct ticker_args *a = arg;

	ticker_main(a);
	G_ASSERT_EQ(mn_debug_kernel_preempt(), 0);
	G_ASSERT_EQ(mn_debug_kernel_preemptions(), 0);
	G_ASSERT(mn_debug_preempt_signals() > 0);
}

TEST(kpreempt_0_preempts_with_signals)
{
	struct ticker_args a = { 1, 50, 0 };

	SKIP_UNDER_TSAN();
	setenv("MNSCHED_DEBUG", "kpreempt=0", 1);
	start_watchdog(60);
	ASSERT_EQ(0, t_main("MNPROCS", "1", ksig_main, &a));
	ASSERT_LT(a.worst_ns, TICKER_BOUND_NS);
}

/*
 * A G that holds its thread's state across a preemption: the same thread
 * (gettid), its TLS variable at the same address, errno as it set it;
 * then at its next mn_* call it may move, and errno follows it.
 */
static __thread int tls_var;

/*
 * errno through functions that do not switch: GCC treats
 * __errno_location() as const and keeps its result across the mn_yield()
 * below, where the G may change thread (README "Thread-local storage and
 * errno"; a direct read after mn_yield named the errno of the thread the G
 * had left, which a G started there had zeroed).
 */
static __attribute__((noinline)) int errno_get(void)
{
	return errno;
}

static __attribute__((noinline)) void errno_set(int v)
{
	errno = v;
}

static void tls_hog(void *arg)
{
	uint64_t (*count)(void) = arg ? mn_debug_kernel_preemptions :
					mn_debug_preemptions;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int *addr = &tls_var;
	uint64_t before = count(), t0 = mn_now();
	volatile uint64_t x = 0;

	tls_var = 42;
	errno_set(1234);
	/* Compute until our P was taken (or 20 s: the test fails). */
	while (count() == before && mn_now() - t0 < 20000000000ull)
		x++;
	G_ASSERT(count() > before);
	G_ASSERT_EQ(errno_get(), 1234);
	G_ASSERT_EQ((pid_t)syscall(SYS_gettid), tid);
	G_ASSERT(&tls_var == addr);
	G_ASSERT_EQ(tls_var, 42);
	mn_yield();		/* rejoins; may move to another thread */
	G_ASSERT_EQ(errno_get(), 1234);
	atomic_store(&hog_stop, true);
}

static void tls_main(void *arg)
{
	atomic_store(&hog_stop, false);
	G_ASSERT_EQ(mn_go(tls_hog, arg), 0);
	/* A G that waits on the hog's P: the work that asks for preemption. */
	while (!atomic_load(&hog_stop))
		mn_sleep(1000000);
	if (arg)
		G_ASSERT_EQ(mn_debug_preempt_signals(), 0);
}

TEST(preempted_g_keeps_thread_tls_and_errno)
{
	SKIP_UNDER_TSAN();
	start_watchdog(60);
	T_RUN_PROCS(1, tls_main, NULL);
}

/* The same across a preemption by the module (no signal handler ran). */
TEST(kernel_preempted_g_keeps_thread_tls_and_errno)
{
	SKIP_UNDER_TSAN();
	REQUIRE_KMOD();
	setenv("MNSCHED_DEBUG", "slice=1", 1);
	start_watchdog(60);
	T_RUN_PROCS(1, tls_main, (void *)1);
}

/*
 * A G preempted while it holds a pthread mutex and while it is inside
 * malloc (the arena lock): the G that runs on the P next takes both.  Had
 * the preempted G been switched out on its thread (Go's way), that G would
 * block the thread for good; here the holder's thread goes on and lets go.
 */
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool other_ran;

static void holder(void *arg)
{
	uint64_t t0 = mn_now(), before = mn_debug_preemptions();

	pthread_mutex_lock(&held);
	/* malloc and free without pause until preempted and the other G ran. */
	while ((!atomic_load(&other_ran) || mn_debug_preemptions() == before) &&
	       mn_now() - t0 < 20000000000ull)
		free(malloc(64 + (mn_now() & 1023)));
	G_ASSERT(atomic_load(&other_ran));
	pthread_mutex_unlock(&held);
}

static void other(void *arg)
{
	atomic_store(&other_ran, true);
	for (int i = 0; i < 10000; i++)
		free(malloc(64 + i % 1024));
	pthread_mutex_lock(&held);	/* blocks this thread until holder lets go */
	pthread_mutex_unlock(&held);
	mn_chan_send(arg, NULL);
}

static void locks_main(void *arg)
{
	struct mn_chan *done = mn_chan_new(0, 1);

	G_ASSERT_EQ(mn_go(holder, NULL), 0);	/* runs first: we wait in runnext */
	G_ASSERT_EQ(mn_go(other, done), 0);
	G_ASSERT_EQ(mn_chan_recv(done, NULL), 1);
}

TEST(preempted_g_holding_pthread_mutex_and_malloc_deadlocks_nobody)
{
	SKIP_UNDER_TSAN();
	start_watchdog(60);
	T_RUN_PROCS(1, locks_main, NULL);
}

/*
 * No G ever runs on two threads at once: hogs compute in segments of ~3
 * slices each between mn_yield calls, and mark themselves inside a segment
 * with a CAS that would fail if the G were resumed elsewhere meanwhile.
 * Each hog runs at least 5 segments and goes on (up to 60) until sysmon has
 * preempted 10 times: how many of 40 segments get preempted depends on how
 * the Ms' threads are scheduled (8 to 28 on the debug kernel under TCG, with
 * the same runtime), and the test is about what happens while preempted,
 * so it waits for enough preemptions instead of assuming them.  Without
 * preemption the count stays 0 and the assertion fails.
 */
#define SEG_MIN 5
#define SEG_MAX 60
#define SEG_PREEMPTIONS 10
#define SEG_HOGS 8
static atomic_int inside[SEG_HOGS];

static struct mn_wg seg_wg = MN_WG_INIT;

static void segment_hog(void *arg)
{
	int i = (int)(intptr_t)arg;

	for (int seg = 0; seg < SEG_MAX; seg++) {
		int zero = 0;
		pid_t tid = (pid_t)syscall(SYS_gettid);
		uint64_t t0 = mn_now();
		volatile uint64_t x = 0;

		G_ASSERT(atomic_compare_exchange_strong(&inside[i], &zero, 1));
		while (mn_now() - t0 < 30000000)
			x++;
		G_ASSERT_EQ((pid_t)syscall(SYS_gettid), tid);
		atomic_store(&inside[i], 0);
		mn_yield();
		if (seg + 1 >= SEG_MIN &&
		    mn_debug_preemptions() >= SEG_PREEMPTIONS)
			break;
	}
	mn_wg_done(&seg_wg);
}

static void seg_waiter(void *arg)
{
	mn_wg_wait(&seg_wg);
	atomic_store(&hog_stop, true);
}

static void segments_main(void *arg)
{
	atomic_store(&hog_stop, false);
	mn_wg_add(&seg_wg, SEG_HOGS);
	for (int i = 0; i < SEG_HOGS; i++)
		G_ASSERT_EQ(mn_go(segment_hog, (void *)(intptr_t)i), 0);
	G_ASSERT_EQ(mn_go(seg_waiter, NULL), 0);
	/* The main G is other work too: it wakes every ms. */
	while (!atomic_load(&hog_stop))
		mn_sleep(1000000);
	printf("# %llu preemptions\n", (unsigned long long)mn_debug_preemptions());
	fflush(stdout);
	G_ASSERT(mn_debug_preemptions() >= SEG_PREEMPTIONS);
}

TEST(no_g_runs_on_two_threads_2_procs)
{
	SKIP_UNDER_TSAN();
	start_watchdog(60);
	T_RUN_PROCS(2, segments_main, NULL);
}

/*
 * The main G returns while a hog that never calls the runtime holds the
 * only P's thread: mn_main returns (the program ends on time).
 */
static void exit_main(void *arg)
{
	atomic_store(&hog_stop, false);
	G_ASSERT_EQ(mn_go(hog, NULL), 0);	/* child first: we wait in runnext */
	mn_sleep(1000000);
}

TEST(program_ends_while_a_hog_runs_1_proc)
{
	SKIP_UNDER_TSAN();
	start_watchdog(30);
	T_RUN_PROCS(1, exit_main, NULL);
}

/*
 * Without CAP_SYS_NICE (and RLIMIT_NICE 0) a demoted thread cannot get its
 * priority back: it retires at its G's next runtime call, the G goes on on
 * another thread, and the number of threads stays bounded.
 */
static long threads_now(void)
{
	char buf[4096], *p;
	FILE *f = fopen("/proc/self/status", "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strstr(buf, "Threads:");
	return p ? atol(p + 8) : -1;
}

static int base_nice;

static void retire_hog(void *arg)
{
	/* Segments of 3 slices, each ending at an mn_* call: a rejoin. */
	for (int seg = 0; seg < 20; seg++) {
		uint64_t t0 = mn_now();
		volatile uint64_t x = 0;

		while (mn_now() - t0 < 30000000)
			x++;
		mn_yield();
		/* Rejoined (or moved): its thread has the base priority. */
		G_ASSERT_EQ(getpriority(PRIO_PROCESS, 0), base_nice);
	}
	atomic_store(&hog_stop, true);
}

static void retire_main(void *arg)
{
	long most = 0, t;

	atomic_store(&hog_stop, false);
	base_nice = getpriority(PRIO_PROCESS, 0);
	G_ASSERT_EQ(mn_go(retire_hog, NULL), 0);
	while (!atomic_load(&hog_stop)) {
		mn_sleep(1000000);
		t = threads_now();
		if (t > most)
			most = t;
	}
	printf("# %llu preemptions, %llu threads retired, at most %ld threads\n",
	       (unsigned long long)mn_debug_preemptions(),
	       (unsigned long long)mn_debug_retired_ms(), most);
	fflush(stdout);
	G_ASSERT(mn_debug_preemptions() >= 5);
	/* This G may itself have been preempted in printf (its thread then
	 * stays SCHED_IDLE until the G's next mn_* call: the debug VM under
	 * TCG saw it once): the yield rejoins, or retires that thread. */
	mn_yield();
	/* This G's thread is an M at the program's policy, not one a
	 * demoted thread made (it would inherit SCHED_IDLE and keep it). */
	G_ASSERT_EQ(sched_getscheduler(0), SCHED_OTHER);
	if (arg)
		G_ASSERT(mn_debug_retired_ms() >= 5);
	else
		G_ASSERT_EQ(mn_debug_retired_ms(), 0);
	G_ASSERT(most <= 12);
}

static int drop_cap_sys_nice(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	struct rlimit rl = { 0, 0 };

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_SYS_NICE / 32].effective &= ~(1u << (CAP_SYS_NICE % 32));
	d[CAP_SYS_NICE / 32].permitted &= ~(1u << (CAP_SYS_NICE % 32));
	d[CAP_SYS_NICE / 32].inheritable &= ~(1u << (CAP_SYS_NICE % 32));
	if (syscall(SYS_capset, &h, d))
		return -1;
	return setrlimit(RLIMIT_NICE, &rl);
}

/* The signal path (kpreempt=0: with the module too). */
static void cannot_renice_child(void *arg)
{
	int n = getpriority(PRIO_PROCESS, 0);

	if (n >= 19 || setpriority(PRIO_PROCESS, 0, n + 1) ||
	    setpriority(PRIO_PROCESS, 0, n) == 0)
		_exit(1);
	_exit(0);
}

TEST(unprivileged_demoted_threads_retire)
{
	SKIP_UNDER_TSAN();
	setenv("MNSCHED_DEBUG", "kpreempt=0", 1);
	ASSERT_EQ(0, drop_cap_sys_nice());
	/* The check that it worked: no way back from nice 19 now. */
	ASSERT_EQ(0, setpriority(PRIO_PROCESS, 0, 19));
	ASSERT_EQ(-1, setpriority(PRIO_PROCESS, 0, 0));
	start_watchdog(60);
	T_RUN_PROCS(1, retire_main, (void *)1);
}

/*
 * The module demoted the thread, so the module restores it (REJOIN): no
 * privilege needed, no thread retires.
 */
TEST(unprivileged_threads_the_module_demoted_get_their_priority_back)
{
	char out[256];

	SKIP_UNDER_TSAN();
	REQUIRE_KMOD();
	ASSERT_EQ(0, drop_cap_sys_nice());
	/* The check that it worked, in a child (we stay at our nice value). */
	ASSERT_EQ(0, t_child(cannot_renice_child, NULL, out, sizeof(out)));
	start_watchdog(60);
	T_RUN_PROCS(1, retire_main, NULL);
	ASSERT_EQ(0, (int)mn_debug_preempt_signals());
}

TEST(privileged_demoted_threads_get_their_priority_back)
{
	SKIP_UNDER_TSAN();
	if (setpriority(PRIO_PROCESS, 0, 1) || setpriority(PRIO_PROCESS, 0, 0))
		SKIP(return, "no CAP_SYS_NICE: a demoted thread cannot be restored");
	start_watchdog(60);
	T_RUN_PROCS(1, retire_main, NULL);
}

/* A slice out of 1..1000 ms is an error at start, naming the variable. */
static void nothing(void *arg)
{
}

static void bad_slice_child(void *arg)
{
	setenv("MNSCHED_DEBUG", arg, 1);
	_exit(mn_main(nothing, NULL) == -EINVAL ? 0 : 1);
}

TEST(slice_out_of_range_is_an_error_naming_the_variable)
{
	static const char *bad[] = { "slice=0", "slice=1001", "slice=-1",
				     "slice=10ms", "slice=" };
	char out[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = t_child(bad_slice_child, (void *)bad[i], out,
				       sizeof(out));

		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("%s: %s", bad[i], out);
		ASSERT_NE(NULL, strstr(out, "MNSCHED_DEBUG")) TH_LOG("%s", out);
		ASSERT_NE(NULL, strstr(out, "slice=MS with MS 1..1000")) TH_LOG("%s", out);
	}
}

/*
 * Demotion refused (a seccomp filter that fails setpriority and
 * sched_setscheduler with EPERM): said once on stderr, and the P is still
 * handed off, so the ticker runs beside the hog.
 */
static void deny_priority_calls(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_setpriority, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sched_setscheduler, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		    SECCOMP_FILTER_FLAG_TSYNC, &prog)) {
		fprintf(stderr, "cannot install the seccomp filter: %s\n",
			strerror(errno));
		_exit(3);
	}
}

static void refused_child(void *arg)
{
	struct ticker_args a = { 1, 50, 0 };

	deny_priority_calls();
	setenv("MNPROCS", "1", 1);
	/* The signal path's demotion (the module's needs no system call). */
	setenv("MNSCHED_DEBUG", "kpreempt=0", 1);
	_exit(mn_main(ticker_main, &a) == 0 && a.worst_ns < TICKER_BOUND_NS ? 0 : 1);
}

TEST(demotion_refused_is_said_once_and_the_p_still_handed_off)
{
	char out[4096];
	const char *msg = "mnsched: cannot lower the priority of a preempted thread";
	int st;

	SKIP_UNDER_TSAN();
	/* EINVAL: a kernel built without CONFIG_SECCOMP (refused_child would
	 * exit 3 when it cannot install the filter). */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
		SKIP(return, "no seccomp in this kernel (%s)", strerror(errno));
	st = t_child(refused_child, NULL, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_EQ(0, WEXITSTATUS(st)) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, msg)) TH_LOG("%s", out);
	ASSERT_EQ(NULL, strstr(strstr(out, msg) + 1, msg)) TH_LOG("said twice: %s", out);
}

/*
 * An echo server beside hogs: 4 connections, each making 100 round trips
 * of 64 bytes through mn_read/mn_write, while hogs compute (one per P,
 * then 10 per P).  Every round trip is bounded; without preemption the
 * server's Gs never run again (watchdog).  On both I/O paths: check-host
 * runs this binary with MNSCHED_IO unset (io_uring); MNSCHED_IO=blocking
 * takes the other.
 */
#define ECHO_CONNS	4
#define ECHO_TRIPS	100

struct echo_args {
	int hogs_per_p;
	int lfd;
	struct sockaddr_in addr;
	struct mn_wg wg;
	uint64_t worst_ns;
};

static void echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[64];
	ssize_t n;

	while ((n = mn_read(fd, buf, sizeof(buf))) > 0)
		G_ASSERT_EQ(mn_write(fd, buf, (size_t)n), n);
	mn_close(fd);
}

static void echo_server(void *arg)
{
	struct echo_args *e = arg;

	for (int i = 0; i < ECHO_CONNS; i++) {
		int fd = mn_accept(e->lfd, NULL, NULL, SOCK_CLOEXEC);

		G_ASSERT(fd >= 0);
		G_ASSERT_EQ(mn_go(echo_conn, (void *)(intptr_t)fd), 0);
	}
}

static struct echo_args *echo_e;

static void echo_client(void *arg)
{
	struct echo_args *e = echo_e;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char out[64], in[64];

	G_ASSERT(fd >= 0);
	G_ASSERT_EQ(mn_connect(fd, (struct sockaddr *)&e->addr, sizeof(e->addr)), 0);
	for (int i = 0; i < ECHO_TRIPS; i++) {
		uint64_t t0 = mn_now(), d;
		size_t got = 0;

		memset(out, 'a' + i % 26, sizeof(out));
		G_ASSERT_EQ(mn_write(fd, out, sizeof(out)), sizeof(out));
		while (got < sizeof(in)) {
			ssize_t n = mn_read(fd, in + got, sizeof(in) - got);

			G_ASSERT(n > 0);
			got += (size_t)n;
		}
		G_ASSERT(memcmp(in, out, sizeof(in)) == 0);
		d = mn_now() - t0;
		if (d > e->worst_ns)
			e->worst_ns = d;	/* racy max: a bound, not a figure */
		mn_sleep(1000000);
	}
	mn_close(fd);
	mn_wg_done(&e->wg);
}

static void echo_main(void *arg)
{
	struct echo_args *e = arg;
	socklen_t len = sizeof(e->addr);
	int hogs = e->hogs_per_p * mn_nprocs();

	echo_e = e;
	e->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	G_ASSERT(e->lfd >= 0);
	e->addr.sin_family = AF_INET;
	e->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	G_ASSERT_EQ(bind(e->lfd, (struct sockaddr *)&e->addr, sizeof(e->addr)), 0);
	G_ASSERT_EQ(listen(e->lfd, 16), 0);
	G_ASSERT_EQ(getsockname(e->lfd, (struct sockaddr *)&e->addr, &len), 0);
	atomic_store(&hog_stop, false);
	for (int i = 0; i < hogs; i++)
		G_ASSERT_EQ(mn_go(hog, NULL), 0);
	G_ASSERT_EQ(mn_go(echo_server, e), 0);
	mn_wg_add(&e->wg, ECHO_CONNS);
	for (int i = 0; i < ECHO_CONNS; i++)
		G_ASSERT_EQ(mn_go(echo_client, NULL), 0);
	mn_wg_wait(&e->wg);
	atomic_store(&hog_stop, true);
	while (atomic_load(&hogs_running) > 0)
		mn_sleep(1000000);
	printf("# %d hogs: worst echo round trip %.1f ms, %llu preemptions\n",
	       hogs, e->worst_ns / 1e6, (unsigned long long)mn_debug_preemptions());
	fflush(stdout);
}

static void run_echo(struct __test_metadata *_metadata, const char *procs,
		     int hogs_per_p)
{
	static struct echo_args e;

	e = (struct echo_args){ .hogs_per_p = hogs_per_p, .wg = MN_WG_INIT };
	run_bounded(_metadata, procs, echo_main, &e, &e.worst_ns);
}

TEST(echo_server_beside_one_hog_per_p_2_procs)
{
	SKIP_UNDER_TSAN();
	run_echo(_metadata, "2", 1);
}

TEST(echo_server_beside_10x_hogs_1_proc)
{
	SKIP_UNDER_TSAN();
	run_echo(_metadata, "1", 10);
}

/*
 * The handler never takes the P while runtime code runs on the thread
 * (preempt.c, runtime.h): a 1 ms slice, and Gs that live in the runtime
 * within one slice: a spawner whose children run first and exit (each
 * inherits the slice through runnext, so the slice overruns while the
 * thread is inside mn_go, its runq and the switch), Gs passing 24-byte
 * values through a buffered channel (the copy is libc's memcpy, a marked
 * call out), and ping-pong pairs; a hog keeps other work queued so sysmon
 * signals those threads again and again.  Some signals land in the
 * program's code between two calls and demote the thread (rejoined at its
 * next call, a fast entry's test).  A handler that acted inside the runtime
 * would take the P from under mn_go or a switch: a crash, a G on two
 * threads, or a lost or doubled G (the counts below).
 */
#define STRESS_SPAWNERS	2
#define STRESS_NS	(2000ull * 1000 * 1000)

static atomic_long stress_spawned, stress_ran, stress_moved;
static struct mn_wg stress_wg = MN_WG_INIT;
static struct mn_chan *stress_buf;

struct elem24 {
	uint64_t a, b, sum;
};

static void stress_child(void *arg)
{
	uint64_t tid = (uint64_t)syscall(SYS_gettid);
	volatile uint64_t x = 0;

	atomic_fetch_add(&stress_ran, 1);
	/* A little of the program's own code, where a signal may demote us;
	 * the thread stays the same until the next mn_* call. */
	for (int i = 0; i < 50; i++)
		x += i;
	G_ASSERT_EQ((uint64_t)syscall(SYS_gettid), tid);
}

static void stress_spawner(void *arg)
{
	uint64_t t0 = mn_now();
	long n = 0;

	while (mn_now() - t0 < STRESS_NS) {
		volatile uint64_t x = 0;

		G_ASSERT_EQ(mn_go(stress_child, NULL), 0);
		n++;
		for (int i = 0; i < 20; i++)
			x += i;
	}
	atomic_fetch_add(&stress_spawned, n);
	mn_wg_done(&stress_wg);
}

/* Values through a buffered channel of 24-byte elements, never blocking:
 * try_send/try_recv stay in the runtime without a switch. */
static void stress_copier(void *arg)
{
	uint64_t t0 = mn_now(), k = 0;

	while (mn_now() - t0 < STRESS_NS) {
		struct elem24 e = { k, ~k, k + ~k }, r;

		if (mn_chan_try_send(stress_buf, &e) == 0)
			k++;
		if (mn_chan_try_recv(stress_buf, &r) == 1) {
			G_ASSERT_EQ(r.a + r.b, r.sum);
			atomic_fetch_add(&stress_moved, 1);
		}
	}
	mn_wg_done(&stress_wg);
}

/* Unbuffered ping-pong: every call parks or wakes through runnext. */
static void stress_pong(void *arg)
{
	struct mn_chan *c = arg;
	uint64_t v;

	while (mn_chan_recv(c, &v) == 1 && v)
		G_ASSERT_EQ(mn_chan_send(c, &v), 0);
	mn_wg_done(&stress_wg);
}

static void stress_ping(void *arg)
{
	struct mn_chan *c = mn_chan_new(sizeof(uint64_t), 0);
	uint64_t t0 = mn_now(), v = 1, zero = 0;

	G_ASSERT(c != NULL);
	mn_wg_add(&stress_wg, 1);
	G_ASSERT_EQ(mn_go(stress_pong, c), 0);
	while (mn_now() - t0 < STRESS_NS) {
		G_ASSERT_EQ(mn_chan_send(c, &v), 0);
		G_ASSERT_EQ(mn_chan_recv(c, &v), 1);
		mn_yield();
	}
	G_ASSERT_EQ(mn_chan_send(c, &zero), 0);
	mn_wg_done(&stress_wg);
}

static void stress_main(void *arg)
{
	uint64_t before = mn_debug_preemptions();

	atomic_store(&hog_stop, false);
	stress_buf = mn_chan_new(sizeof(struct elem24), 64);
	G_ASSERT(stress_buf != NULL);
	G_ASSERT_EQ(mn_go(hog, NULL), 0);
	mn_wg_add(&stress_wg, STRESS_SPAWNERS + 2);
	for (int i = 0; i < STRESS_SPAWNERS; i++)
		G_ASSERT_EQ(mn_go(stress_spawner, NULL), 0);
	G_ASSERT_EQ(mn_go(stress_copier, NULL), 0);
	G_ASSERT_EQ(mn_go(stress_ping, NULL), 0);
	mn_wg_wait(&stress_wg);
	atomic_store(&hog_stop, true);
	while (atomic_load(&hogs_running) > 0)
		mn_sleep(1000000);
	/* The children may still be running: wait for the last. */
	for (int i = 0; i < 1000 && atomic_load(&stress_ran) <
	     atomic_load(&stress_spawned); i++)
		mn_sleep(1000000);
	printf("# %ld Gs spawned, %ld ran, %ld values moved, %llu preemptions\n",
	       atomic_load(&stress_spawned), atomic_load(&stress_ran),
	       atomic_load(&stress_moved),
	       (unsigned long long)(mn_debug_preemptions() - before));
	fflush(stdout);
	G_ASSERT_EQ(atomic_load(&stress_ran), atomic_load(&stress_spawned));
	G_ASSERT(atomic_load(&stress_spawned) > 1000);
	G_ASSERT(mn_debug_preemptions() - before > 0);
}

TEST(handler_never_acts_inside_the_runtime_1ms_slices_2_procs)
{
	SKIP_UNDER_TSAN();
	start_watchdog(60);
	setenv("MNSCHED_DEBUG", "slice=1", 1);
	T_RUN_PROCS(2, stress_main, NULL);
	unsetenv("MNSCHED_DEBUG");
}

TEST(handler_never_acts_inside_the_runtime_1ms_slices_1_proc)
{
	SKIP_UNDER_TSAN();
	start_watchdog(60);
	setenv("MNSCHED_DEBUG", "slice=1", 1);
	T_RUN_PROCS(1, stress_main, NULL);
	unsetenv("MNSCHED_DEBUG");
}

TEST_HARNESS_MAIN
