// SPDX-License-Identifier: MIT
/*
 * rt_debug.c - G dumps on a signal (MNSCHED_DEBUG=dump=SIGNAL), stacks in
 * the deadlock report, stall reports (MNSCHED_DEBUG=stall=MS), labels.
 *
 * Each case runs the runtime in a child with stderr captured and checks
 * what it printed.  Functions whose names the stacks must show are
 * noinline, and their blocking calls are not tail calls.
 */
#include <fcntl.h>
#include <pthread.h>
#include "mn_test.h"

#define OUT_CAP	(256 << 10)
#define STAY()	__asm__ volatile("" ::: "memory")

static char out[OUT_CAP];

/* Test hook (debug.c): stall reports printed with a stack. */
const volatile _Atomic uint64_t *mn_debug_stall_reports(void);

static bool tsan(void)
{
#ifdef __SANITIZE_THREAD__
	return true;
#else
	return false;
#endif
}

static struct mn_chan *c_never;
static atomic_int ready;
static volatile unsigned long sink;

/* ---- dump on a signal ----------------------------------------------------- */

__attribute__((noinline)) static void waiter_fn(void *arg)
{
	mn_set_label("req", "42");
	atomic_fetch_add(&ready, 1);
	mn_chan_recv(c_never, NULL);
	STAY();
}

__attribute__((noinline)) static void sleeper_fn(void *arg)
{
	atomic_fetch_add(&ready, 1);
	mn_sleep(3600ull * 1000000000ull);
	STAY();
}

__attribute__((noinline)) static void spin_inner(void)
{
	for (;;) {
		sink++;
		__asm__ volatile("pause");
	}
}

__attribute__((noinline)) static void spinner_fn(void *arg)
{
	atomic_fetch_add(&ready, 1);
	spin_inner();
	STAY();
}

static bool with_spinner;

/* Sends the dump signal while main sleeps. */
__attribute__((noinline)) static void signaller_fn(void *arg)
{
	mn_sleep(50 * 1000000ull);
	/* As `kill -SIG PID` would, but to this very thread: TSan runs the
	 * handler of a signal a thread sends itself at once, and defers
	 * others until the thread calls into libc (our Ms use raw system
	 * calls, so that could be never). */
	pthread_kill(pthread_self(), (int)(long)arg);
	mn_sleep(3600ull * 1000000000ull);
	STAY();
}

__attribute__((noinline)) static void dump_main(void *arg)
{
	int want = 2;

	c_never = mn_chan_new(0, 0);
	mn_go_opts(waiter_fn, NULL, &(struct mn_go_opts){ .name = "waiter" });
	mn_go_opts(sleeper_fn, NULL, &(struct mn_go_opts){ .name = "sleeper" });
	if (with_spinner) {
		mn_go_opts(spinner_fn, NULL, &(struct mn_go_opts){ .name = "spinner",
			   .flags = MN_GO_DEFER });
		want++;
	}
	while (atomic_load(&ready) < want)
		mn_sleep(1000000);
	mn_go_opts(signaller_fn, arg, &(struct mn_go_opts){ .flags = MN_GO_DEFER });
	/* The dump runs on the debug thread; give it time, then say we went on. */
	mn_sleep(2000 * 1000000ull);
	fprintf(stderr, "main went on after the dump\n");
	fflush(stderr);
	_exit(0);
}

static void dump_child(void *arg)
{
	setenv("MNPROCS", "2", 1);
	mn_main(dump_main, arg);
	_exit(1);
}

/* The lines of the G whose header contains hdr, up to the blank line. */
static const char *g_block(const char *all, const char *hdr, char *buf, size_t n)
{
	const char *s = strstr(all, hdr), *e;

	if (!s)
		return NULL;
	e = strstr(s, "\n\n");
	if (!e)
		e = s + strlen(s);
	if ((size_t)(e - s) >= n)
		e = s + n - 1;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = 0;
	return buf;
}

TEST(dump_sigusr1_prints_every_g_and_continues)
{
	char blk[8192];
	int st;

	setenv("MNSCHED_DEBUG", "dump=SIGUSR1", 1);
	st = t_child(dump_child, (void *)(long)SIGUSR1, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_EQ(0, WEXITSTATUS(st)) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "mnsched: SIGUSR1: goroutine dump (MNSCHED_DEBUG=dump=SIGUSR1"))
		TH_LOG("%s", out);
	/* every G, with state, name, labels, a symbolized stack, its creator */
	ASSERT_NE(NULL, g_block(out, "goroutine 1 [sleep] (main):", blk, sizeof(blk)))
		TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(blk, "dump_main+0x")) TH_LOG("%s", blk);
	ASSERT_NE(NULL, strstr(blk, "mn_sleep+0x")) TH_LOG("%s", blk);
	ASSERT_NE(NULL, strstr(blk, "created by mn_main, called at dump_child+0x"))
		TH_LOG("%s", blk);
	ASSERT_NE(NULL, g_block(out, "[chan receive] (waiter) {req=42}:", blk, sizeof(blk)))
		TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(blk, "\t#0  0x")) TH_LOG("%s", blk);
	ASSERT_NE(NULL, strstr(blk, "waiter_fn+0x")) TH_LOG("%s", blk);
	ASSERT_NE(NULL, strstr(blk, "rt_debug.c:")) TH_LOG("%s", blk);
	ASSERT_NE(NULL, strstr(blk, "created by goroutine 1 at dump_main+0x"))
		TH_LOG("%s", blk);
	ASSERT_NE(NULL, g_block(out, "[sleep] (sleeper):", blk, sizeof(blk)))
		TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(blk, "sleeper_fn+0x")) TH_LOG("%s", blk);
	/* then the Ms and the Ps */
	ASSERT_NE(NULL, strstr(out, "\nM0: thread=")) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "\nP0: status=")) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "\nP1: status=")) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "mnsched: end of goroutine dump")) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "main went on after the dump")) TH_LOG("%s", out);
}

TEST(dump_sigquit_exits_2_as_go)
{
	int st;

	setenv("MNSCHED_DEBUG", "dump=SIGQUIT", 1);
	st = t_child(dump_child, (void *)(long)SIGQUIT, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_EQ(2, WEXITSTATUS(st)) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "mnsched: SIGQUIT: goroutine dump")) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "(waiter) {req=42}:")) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "mnsched: exit status 2 (SIGQUIT)")) TH_LOG("%s", out);
	ASSERT_EQ(NULL, strstr(out, "main went on")) TH_LOG("%s", out);
}

TEST(dump_running_g_stack_from_its_thread)
{
	char blk[8192];
	int st;

	if (tsan())
		SKIP(return, "TSan defers a signal to a thread in a busy loop "
		     "until it calls into libc: its stack cannot be taken");
	setenv("MNSCHED_DEBUG", "dump=SIGUSR2", 1);
	with_spinner = true;
	st = t_child(dump_child, (void *)(long)SIGUSR2, out, sizeof(out));
	with_spinner = false;
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_NE(NULL, g_block(out, "[running] (spinner) on M ", blk, sizeof(blk)))
		TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(blk, "spin_inner+0x")) TH_LOG("%s", blk);
	ASSERT_NE(NULL, strstr(blk, "spinner_fn+0x")) TH_LOG("%s", blk);
}

TEST(dump_without_libdw_uses_frame_pointers)
{
	char blk[8192];
	int st;

	setenv("MNSCHED_DEBUG", "dump=SIGUSR1", 1);
	setenv("MNSCHED_NO_LIBDW", "1", 1);
	st = t_child(dump_child, (void *)(long)SIGUSR1, out, sizeof(out));
	unsetenv("MNSCHED_NO_LIBDW");
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_NE(NULL, strstr(out, "stacks: frame pointers")) TH_LOG("%s", out);
	ASSERT_NE(NULL, g_block(out, "(waiter) {req=42}:", blk, sizeof(blk)))
		TH_LOG("%s", out);
	/* the runtime is built with frame pointers: at least its frames */
	ASSERT_NE(NULL, strstr(blk, "\t#1  0x")) TH_LOG("%s", blk);
}

TEST(dump_bad_settings_are_errors)
{
	const char *bad[] = { "dump=SIGFOO", "dump=", "stall=abc", "stall=-5", "stall=" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 2);
			_exit(t_main("MNSCHED_DEBUG", bad[i], dump_main, NULL) ==
			      -EINVAL ? 0 : 1);
		}
		waitpid(pid, &st, 0);
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
			TH_LOG("MNSCHED_DEBUG=%s was not rejected", bad[i]);
	}
}

/*
 * The dump signal arrives while threads are inside malloc and stdio: a
 * plain thread and two Gs allocate and print in a loop, holding stderr's
 * lock, and another thread sends the signal to them 40 times.  A handler
 * that printed or allocated would deadlock on those locks sooner or later
 * (alarm(2) then kills the child); ours only wakes the debug thread.
 */
static atomic_int churn_stop, kills_done;
static atomic_long churn_ops;
static pthread_t churn_plain;
static _Atomic pthread_t churn_ms[2];	/* the threads the churn Gs run on */

/* noinline: pthread_self() is "const", not to be cached across mn_yield */
__attribute__((noinline)) static void churn_once(FILE *f, unsigned int *seed, int slot)
{
	size_t n = 16 + (size_t)(rand_r(seed) % 8192);
	char *p;

	if (slot >= 0)
		atomic_store(&churn_ms[slot], pthread_self());
	flockfile(stderr);	/* as a thread in the middle of a log line */
	p = malloc(n);
	if (p) {
		memset(p, 1, n);
		fprintf(f, "%zu %p\n", n, (void *)p);
		free(p);
	}
	funlockfile(stderr);
	atomic_fetch_add(&churn_ops, 1);
}

static void *churn_thread(void *arg)
{
	unsigned int seed = 1;

	while (!atomic_load(&churn_stop))
		churn_once(arg, &seed, -1);
	return NULL;
}

__attribute__((noinline)) static void churn_g(void *arg)
{
	unsigned int seed = (unsigned int)mn_goid();
	int slot = (int)(seed & 1);

	while (!atomic_load(&churn_stop)) {
		churn_once(arg, &seed, slot);
		mn_yield();
	}
}

/* Test hook (debug.c): dumps a signal asked for, once printed. */
const volatile _Atomic uint64_t *mn_debug_signal_dumps(void);

static void *kill_thread(void *arg)
{
	const volatile _Atomic uint64_t *dumps = mn_debug_signal_dumps();

	/* To the churning threads: `kill PID` would mostly pick the main
	 * thread, asleep in mn_main.  40 signals, and on until 3 dumps are
	 * out (up to 10 s): signals sent during a dump merge into one, and
	 * on the debug kernel under TCG a dump can outlast all 40 (2 dumps
	 * in the window once). */
	for (int i = 0; i < 40 || (atomic_load(dumps) < 3 && i < 500); i++) {
		pthread_t t = i % 3 ? atomic_load(&churn_ms[i % 3 - 1]) : churn_plain;

		pthread_kill(t ? t : churn_plain, (int)(long)arg);
		usleep(20 * 1000);
	}
	atomic_store(&kills_done, 1);
	return NULL;
}

__attribute__((noinline)) static void churn_main(void *arg)
{
	FILE *f = fopen("/dev/null", "w");
	pthread_t t;

	G_ASSERT(f != NULL);
	G_ASSERT(pthread_create(&churn_plain, NULL, churn_thread, f) == 0);
	pthread_detach(churn_plain);
	for (int i = 0; i < 2; i++)
		mn_go_opts(churn_g, f, &(struct mn_go_opts){ .name = "churn",
			   .flags = MN_GO_DEFER });
	G_ASSERT(pthread_create(&t, NULL, kill_thread, arg) == 0);
	pthread_detach(t);
	while (!atomic_load(&kills_done))
		mn_sleep(10 * 1000000ull);
	mn_sleep(500 * 1000000ull);	/* the last dump */
	atomic_store(&churn_stop, 1);
	fprintf(stderr, "churned on: %ld allocations\n", atomic_load(&churn_ops));
	fflush(stderr);
	_exit(0);
}

static void churn_child(void *arg)
{
	alarm(20);		/* a deadlocked child dies of SIGALRM */
	setenv("MNPROCS", "2", 1);
	setenv("MNSCHED_DEBUG", "dump=SIGUSR1", 1);
	mn_main(churn_main, arg);
	_exit(1);
}

TEST(dump_signal_while_threads_malloc_and_print)
{
	const char *p, *tail;
	int st, dumps = 0;

	st = t_child(churn_child, (void *)(long)SIGUSR1, out, sizeof(out));
	tail = out + (strlen(out) > 4000 ? strlen(out) - 4000 : 0);
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("killed by signal %d (14, SIGALRM: deadlocked in a dump): ...%s",
					  WIFSIGNALED(st) ? WTERMSIG(st) : 0, tail);
	ASSERT_EQ(0, WEXITSTATUS(st)) TH_LOG("...%s", tail);
	for (p = out; (p = strstr(p, "mnsched: end of goroutine dump")); p++)
		dumps++;
	/* signals sent while one is pending merge: at least a few dumps */
	ASSERT_GE(dumps, 3) TH_LOG("...%s", tail);
	ASSERT_NE(NULL, strstr(out, "(churn)")) TH_LOG("...%s", tail);
	ASSERT_NE(NULL, strstr(out, "churned on: ")) TH_LOG("...%s", tail);
}

/* ---- the deadlock report has the stacks -------------------------------- */

static struct mn_chan *c_stuck;

__attribute__((noinline)) static void stuck_sender(void *arg)
{
	mn_chan_send(c_stuck, NULL);
	STAY();
}

__attribute__((noinline)) static void deadlock_main(void *arg)
{
	struct mn_chan *never = mn_chan_new(0, 0);

	c_stuck = mn_chan_new(0, 0);
	mn_go_opts(stuck_sender, NULL, &(struct mn_go_opts){ .name = "stuck-sender" });
	mn_chan_recv(never, NULL);
	STAY();
}

static void deadlock_child(void *arg)
{
	unsetenv("MNSCHED_DEBUG");
	mn_main(deadlock_main, NULL);
	_exit(0);
}

TEST(deadlock_report_has_stacks)
{
	char blk[8192];
	int st = t_child(deadlock_child, NULL, out, sizeof(out));

	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_EQ(2, WEXITSTATUS(st)) TH_LOG("%s", out);
	ASSERT_NE(NULL, g_block(out, "goroutine 1 [chan receive] (main):", blk, sizeof(blk)))
		TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(blk, "deadlock_main+0x")) TH_LOG("%s", blk);
	ASSERT_NE(NULL, g_block(out, "[chan send] (stuck-sender):", blk, sizeof(blk)))
		TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(blk, "stuck_sender+0x")) TH_LOG("%s", blk);
	ASSERT_NE(NULL, strstr(blk, "created by goroutine 1 at deadlock_main+0x"))
		TH_LOG("%s", blk);
}

/* ---- the unwinder's reads ------------------------------------------------ */

/* Test hook (unwind.c): the frame-pointer walk from rip and rbp over a
 * stack copy buf standing for [lo, lo + len); pcs[max]. */
int mn_debug_unwind_fp(uint64_t, uint64_t, uint64_t, const void *, size_t, uint64_t *, int);

/*
 * Every read the unwinder makes of a stack copy stays inside the copy.  The
 * walk reads the frame at rbp; an rbp of 2^64 - 8 (as a garbage frame gives)
 * once passed the bounds check by wrapping, and the copy was read at
 * buf + (2^64 - 8 - lo): with lo = buf - 8 that is address 0, a SIGSEGV in
 * the dump (found by a dump under TSan, where it was 1 run in about 70).
 */
TEST(unwinder_reads_only_inside_the_stack_copy)
{
	uint64_t frames[4], pcs[8];
	uintptr_t lo = 0x10000;	/* the copy stands in for memory there */
	int n;

	/* a chain of two frames inside the copy */
	frames[0] = lo + 16;	/* the caller's rbp */
	frames[1] = 0x401000;	/* the return address */
	frames[2] = 0;		/* the outermost frame */
	frames[3] = 0x402000;
	n = mn_debug_unwind_fp(0x400000, lo, lo, frames, sizeof(frames), pcs, 8);
	ASSERT_EQ(3, n);
	ASSERT_EQ(0x400000, pcs[0]);
	ASSERT_EQ(0x401000, pcs[1]);
	ASSERT_EQ(0x402000, pcs[2]);

	/* a frame pointer at the top of the address space: not in the copy,
	 * not readable, so the walk stops after the pc */
	lo = (uintptr_t)frames - 8;
	n = mn_debug_unwind_fp(0x400000, UINT64_MAX - 7, lo, frames,
			       sizeof(frames), pcs, 8);
	ASSERT_EQ(1, n);
	ASSERT_EQ(0x400000, pcs[0]);

	/* the last word of the copy is read from it; the word after it is not */
	lo = 0x10000;
	frames[2] = lo + 24;
	frames[3] = 0x403000;
	n = mn_debug_unwind_fp(0x400000, lo + 16, lo, frames, sizeof(frames),
			       pcs, 8);
	ASSERT_EQ(2, n);	/* ret 0x403000; then lo + 32 is past the end */
	ASSERT_EQ(0x403000, pcs[1]);
}

/* ---- stall reports ----------------------------------------------------- */

static atomic_int hog_id, hog_done;

/*
 * Compute for ms milliseconds, timed by the TSC so that the loop calls
 * nothing: a stall sample taken inside clock_gettime (the vDSO, a PLT
 * stub, an ASan interceptor) could lose the caller's frame when unwound
 * by frame pointers, and the report's stack is what is checked.  The TSC
 * rate is measured over the first millisecond (100x shorter than the
 * stall threshold, so no report falls in it).
 */
__attribute__((noinline)) static void hog_loop(uint64_t ms)
{
	const volatile _Atomic uint64_t *reports = mn_debug_stall_reports();
	uint64_t t0 = mn_now(), c0 = __builtin_ia32_rdtsc(), per_ms, end, cap;
	uint64_t before = *reports;

	while (mn_now() < t0 + 1000000ull)
		sink++;
	per_ms = __builtin_ia32_rdtsc() - c0;
	end = c0 + per_ms * ms;
	cap = c0 + per_ms * 30000;
	/* At least ms, and on until this stall's report is out (up to 30 s):
	 * on a slow kernel (the debug VM) the report of a 300 ms stall came
	 * after the G had ended.  The counter is read through a pointer:
	 * still no call in the loop. */
	while (__builtin_ia32_rdtsc() < end ||
	       (*reports == before && __builtin_ia32_rdtsc() < cap))
		sink++;
}

__attribute__((noinline)) static void hog_fn(void *arg)
{
	atomic_store(&hog_id, (int)mn_goid());
	mn_set_label("job", "hog");
	hog_loop(300);
	mn_sleep(1000000);	/* one stall ends ... */
	hog_loop(300);		/* ... and a second one starts */
	atomic_store(&hog_done, 1);
	STAY();
}

uint64_t mn_debug_kernel_preemptions(void);

static void stall_main(void *arg)
{
	mn_go_opts(hog_fn, NULL, &(struct mn_go_opts){ .name = "hog" });
	t_await(&hog_done);
	mn_sleep(200 * 1000000ull);	/* let the reports be printed */
	fprintf(stderr, "hog %d done\nkernel preemptions %llu\n",
		atomic_load(&hog_id),
		(unsigned long long)mn_debug_kernel_preemptions());
	fflush(stderr);
	_exit(0);
}

static const char *stall_procs = "2";

static void stall_child(void *arg)
{
	setenv("MNPROCS", stall_procs, 1);
	setenv("MNSCHED_DEBUG", "stall=100", 1);
	mn_main(stall_main, NULL);
	_exit(1);
}

/* Two stalls of the hog, two reports with its stack; the module's
 * preemptions of the run (in *kpre). */
static void stall_case(struct __test_metadata *_metadata, unsigned long long *kpre)
{
	char hdr[128], blk[8192];
	const char *p;
	int st, id = 0, n = 0;

	st = t_child(stall_child, NULL, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("status %#x: %s", st, out);
	ASSERT_EQ(0, WEXITSTATUS(st)) TH_LOG("%s", out);
	p = strstr(out, "hog ");
	ASSERT_NE(NULL, p);
	ASSERT_EQ(1, sscanf(strstr(out, "\nhog ") ? strstr(out, "\nhog ") + 1 : out,
			    "hog %d done", &id)) TH_LOG("%s", out);
	snprintf(hdr, sizeof(hdr), "mnsched: goroutine %d (hog) {job=hog} has run for ", id);
	for (p = out; (p = strstr(p, hdr)); p++)
		n++;
	/* once per stall: two stalls, two reports */
	ASSERT_EQ(2, n) TH_LOG("%s", out);
	ASSERT_NE(NULL, g_block(out, hdr, blk, sizeof(blk))) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(blk, "without entering the runtime (MNSCHED_DEBUG=stall=100) on M "))
		TH_LOG("%s", blk);
	ASSERT_NE(NULL, strstr(blk, " hog_loop")) TH_LOG("%s", blk);
	ASSERT_NE(NULL, strstr(blk, "hog_fn+0x")) TH_LOG("%s", blk);
	ASSERT_NE(NULL, strstr(blk, "created by goroutine 1 at stall_main+0x")) TH_LOG("%s", blk);
	p = strstr(out, "\nkernel preemptions ");
	ASSERT_NE(NULL, p) TH_LOG("%s", out);
	ASSERT_EQ(1, sscanf(p + 1, "kernel preemptions %llu", kpre));
}

TEST(stall_report_names_the_g_with_its_stack)
{
	unsigned long long kpre;

	if (tsan())
		SKIP(return, "TSan defers a signal to a thread in a busy loop "
		     "until it calls into libc: its stack cannot be taken");
	stall_case(_metadata, &kpre);
}

/*
 * At 1 P the hog's P has work (the main G's sleep), so with the module
 * (the test VM: MNSCHED_PARK=kmod) the module takes the P from the hog
 * a slice in, and the hog runs on without one: the report comes from the
 * M's mark (overrun.c), the only place the runtime sees that from.
 */
TEST(stall_report_names_a_g_the_module_preempted)
{
	const char *park = getenv("MNSCHED_PARK");
	unsigned long long kpre = 0;

	if (!park || strcmp(park, "kmod"))
		SKIP(return, "needs the module's preemption (the test VM, "
		     "MNSCHED_PARK=kmod)");
	if (tsan())
		SKIP(return, "TSan defers a signal to a thread in a busy loop "
		     "until it calls into libc: its stack cannot be taken");
	stall_procs = "1";
	stall_case(_metadata, &kpre);
	ASSERT_LT(0, kpre) TH_LOG("the module preempted nothing: %s", out);
}

/* ---- labels --------------------------------------------------------------- */

static atomic_int child_ok;

static void label_child(void *arg)
{
	G_ASSERT(mn_label("a") && !strcmp(mn_label("a"), "1"));
	G_ASSERT(mn_set_label("a", "child") == 0);
	atomic_store(&child_ok, 1);
}

static void labels_main(void *arg)
{
	char k[40];

	G_ASSERT(mn_label("a") == NULL);
	G_ASSERT(mn_set_label("a", "1") == 0);
	G_ASSERT(!strcmp(mn_label("a"), "1"));
	G_ASSERT(mn_set_label("a", "2") == 0);
	G_ASSERT(!strcmp(mn_label("a"), "2"));
	G_ASSERT(mn_set_label("a", "1") == 0);
	/* children start with a copy */
	mn_go(label_child, NULL);
	G_ASSERT(t_await(&child_ok));
	G_ASSERT(!strcmp(mn_label("a"), "1"));
	for (int i = 1; i < MN_LABELS_MAX; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		G_ASSERT(mn_set_label(k, "v") == 0);
	}
	G_ASSERT(mn_set_label("one-too-many", "v") == -ENOSPC);
	G_ASSERT(mn_set_label("k3", NULL) == 0);
	G_ASSERT(mn_label("k3") == NULL && !strcmp(mn_label("k4"), "v"));
	G_ASSERT(mn_set_label("k3", NULL) == 0);		/* absent: fine */
	memset(k, 'x', sizeof(k) - 1);
	k[sizeof(k) - 1] = 0;
	G_ASSERT(mn_set_label(k, "v") == -EINVAL);		/* key too long */
	G_ASSERT(mn_set_label("", "v") == -EINVAL);
	G_ASSERT(mn_set_label(NULL, "v") == -EINVAL);
}

TEST(labels_set_get_inherit_limits)
{
	ASSERT_EQ(-EINVAL, mn_set_label("a", "b"));	/* not in a G */
	ASSERT_EQ(NULL, mn_label("a"));
	T_RUN(labels_main, NULL);
}

TEST_HARNESS_MAIN
