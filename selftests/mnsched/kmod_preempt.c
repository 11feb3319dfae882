// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_preempt.c - the module's preemption (MNSCHED_IOC_PREEMPT,
 * kmod/preempt.c), without the runtime: a thread that holds P 0 in state
 * RUNNING with a G in it and other work queued computes in user code past
 * its slice; the module must write LOST|KLOST into its mark, move the P to
 * SYSCALL, hand it to the spare M, lower the thread to nice 19 and count
 * k_preempts, all while the thread keeps computing (no signal: SIGURG is
 * blocked).  Inside the runtime (the pc in the registered text, the G
 * marked, the scheduler's G or none), with LOST already set, with no other
 * work, or the slice not over, nothing happens; nor inside a signal handler
 * (the mask differs from the one the M registered with: a handler may
 * have interrupted the runtime anywhere) or with the stack pointer off the
 * G's stack.  REJOIN gives the nice value back.
 * The holder is the M the page names (state RUNNING, m_id): SET_P, which
 * the runtime makes lazily, is not needed.
 * Bad arguments are -EINVAL/-ESRCH/-EFAULT with no effect.
 */
#include <sched.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "kmod_util.h"

/*
 * What the module reads to tell the runtime's code from the program's, as
 * the runtime lays it out: its text (here a range of our own that holds
 * no code we run, or this program's whole text), the M's pointer to its
 * running G, the G's mark byte (here at offset 8 of a G of our own) and
 * its stack's bounds (here all of user space, or hog_stack_elsewhere).
 */
struct fake_g {
	uint64_t goid;
	volatile uint8_t mark;
	uint64_t stack_lo, stack_hi;
};

static __thread struct fake_g tg;
static __thread struct fake_g *volatile tcurg;
static __thread struct fake_g tg0;	/* the scheduler's G */
static const char no_text[64];
/* The M's P pointer and where the module saves it (m->p, m->oldp). */
static __thread void *volatile tp;
static __thread void *volatile toldp;
/* The runtime's P 0, as far as the module reads it: its index. */
struct fake_p {
	uint64_t pad;
	int32_t id;
};
static struct fake_p fake_p0 = { .id = 0 };
#define FAKE_P	((void *)&fake_p0)

static void preempt_arg(struct mnsched_preempt *a, volatile uint8_t *mark,
			uint64_t slice_ns)
{
	memset(a, 0, sizeof(*a));
	a->mark = (uint64_t)(uintptr_t)mark;
	a->slice_ns = slice_ns;
	a->text_start = (uint64_t)(uintptr_t)no_text;
	a->text_end = (uint64_t)(uintptr_t)(no_text + sizeof(no_text));
	a->curg = (uint64_t)(uintptr_t)&tcurg;
	a->g0 = (uint64_t)(uintptr_t)&tg0;
	a->g_mark_off = offsetof(struct fake_g, mark);
	a->g_stack_off = offsetof(struct fake_g, stack_lo);
	a->m_p = (uint64_t)(uintptr_t)&tp;
	a->m_oldp = (uint64_t)(uintptr_t)&toldp;
	a->p_id_off = offsetof(struct fake_p, id);
}

static long kt_preempt_set(int fd, volatile uint8_t *mark, uint64_t slice_ns)
{
	struct mnsched_preempt a;

	preempt_arg(&a, mark, slice_ns);
	return kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a);
}

static __u64 k_preempts(struct mnsched_pstate *p)
{
	return __atomic_load_n(&p->k_preempts, __ATOMIC_ACQUIRE);
}

TEST(preempt_invalid)
{
	static volatile uint8_t mark;
	struct mnsched_preempt a;
	int fd;

	preempt_arg(&a, &mark, 1000000);

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_config(fd, 1));
	/* Not an M. */
	EXPECT_EQ(-ESRCH, kt_preempt_set(fd, &mark, 1000000));
	EXPECT_EQ(-ESRCH, kt_ioc(fd, MNSCHED_IOC_REJOIN, 0));
	ASSERT_LE(0, kt_register(fd));
	EXPECT_EQ(-EFAULT, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, NULL));
	a.flags = 1;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	a.flags = 0;
	/* The G's stack bounds: misaligned, out of range. */
	a.g_stack_off = 12;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	a.g_stack_off = MNSCHED_G_MARK_OFF_MAX;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	a.g_stack_off = offsetof(struct fake_g, stack_lo);
	EXPECT_EQ(-EINVAL, kt_preempt_set(fd, &mark, MNSCHED_SLICE_MIN_NS - 1));
	EXPECT_EQ(-EINVAL, kt_preempt_set(fd, &mark, MNSCHED_SLICE_MAX_NS + 1));
	EXPECT_EQ(-EINVAL, kt_preempt_set(fd, &mark, ~0ull));
	EXPECT_EQ(-EINVAL, kt_preempt_set(fd, NULL, 1000000));
	/* A kernel address is not a mark. */
	EXPECT_EQ(-EINVAL, kt_preempt_set(fd, (volatile uint8_t *)0xffffffff81000000ull,
					  1000000));
	a.p_id_off = MNSCHED_G_MARK_OFF_MAX;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	/* The runtime's text: empty, reversed, or not in user addresses. */
	preempt_arg(&a, &mark, 1000000);
	a.text_end = a.text_start;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	a.text_end = a.text_start - 1;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	a.text_start = 0xffffffff81000000ull;
	a.text_end = a.text_start + 4096;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	a.text_start = 4096;
	a.text_end = 0xffffffff81000000ull;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	/* The G pointer: none, misaligned, a kernel address. */
	preempt_arg(&a, &mark, 1000000);
	a.curg = 0;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	a.curg = (uint64_t)(uintptr_t)&tcurg + 1;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	a.curg = 0xffffffff81000000ull;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	/* The P pointer and its saved copy: none, misaligned. */
	preempt_arg(&a, &mark, 1000000);
	a.m_p = 0;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	preempt_arg(&a, &mark, 1000000);
	a.m_oldp = (uint64_t)(uintptr_t)&toldp + 4;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	/* The G's mark offset. */
	preempt_arg(&a, &mark, 1000000);
	a.g_mark_off = MNSCHED_G_MARK_OFF_MAX;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	/* Turning it off ignores them all. */
	a.slice_ns = 0;
	a.text_start = a.text_end = a.curg = a.m_p = a.m_oldp = 0;
	EXPECT_EQ(0, kt_ioc_p(fd, MNSCHED_IOC_PREEMPT, &a));
	EXPECT_EQ(-EINVAL, kt_ioc(fd, MNSCHED_IOC_REJOIN, 1));
	/* Valid: on, off (any mark), on again; REJOIN with nothing to undo. */
	EXPECT_EQ(0, kt_preempt_set(fd, &mark, MNSCHED_SLICE_MIN_NS));
	EXPECT_EQ(0, kt_preempt_set(fd, NULL, 0));
	EXPECT_EQ(0, kt_preempt_set(fd, &mark, MNSCHED_SLICE_MAX_NS));
	EXPECT_EQ(0, kt_ioc(fd, MNSCHED_IOC_REJOIN, 0));
	close(fd);
}

/* ---- a hog holding P 0, a spare M --------------------------------------- */

struct pctx {
	int fd;
	struct mnsched_pstate *pst;
	volatile int ready;
	int got;		/* P the spare was handed, -1 none */
	long err;
};

static void *spare(void *arg)
{
	struct pctx *c = arg;
	int p = -1;
	long r;

	if (kt_register(c->fd) < 0) {
		c->err = -1;
		return NULL;
	}
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	r = kt_spare(c->fd, 3000000000ll, &p);
	c->err = r;
	c->got = r ? -1 : p;
	/* Take it as the runtime's spare would. */
	if (p >= 0) {
		__u32 from = MNSCHED_P_SYSCALL;

		if (!__atomic_compare_exchange_n(&c->pst->state, &from,
						 MNSCHED_P_RUNNING, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			c->err = -1000;
	}
	return NULL;
}

/* The mark, as the runtime has it: a byte of thread-local storage. */
static __thread volatile uint8_t tmark;

/* The hog's G: its mark; which G it runs (0 its own, 1 the scheduler's,
 * 2 none). */
static uint8_t hog_gmark;
static int hog_curg;
/* Whether the hog tells SET_P: the runtime tells it lazily, at its next
 * system call, so the page may be all that names the P's holder. */
static int hog_set_p = 1;
/* The hog's m->p: FAKE_P (P 0), or NULL as in a system call. */
static void *hog_tp = FAKE_P;
/* The G's stack: all of user space, or (1) a range the hog's stack
 * pointer is not in, as for a handler on the alternate signal stack. */
static int hog_stack_elsewhere;
static char other_stack[4096];

/*
 * Hold P 0 (RUNNING, a G, @runq queued Gs) with the mark @mark and compute
 * for @ms ms of user code or until the module preempts the G.  Returns the
 * ns from the slice's start (the page's new schedtick) to the preemption,
 * or 0.  The preemption is seen in the mark, which the module writes
 * before it moves the P to SYSCALL: the spare may take the P back to
 * RUNNING before this loop looks at the state again (as a runtime's spare
 * does), so the state alone can miss it.
 */
static uint64_t hog(struct pctx *c, uint8_t mark, uint32_t runq, int ms,
		    pid_t *tid_after)
{
	struct mnsched_pstate *p = c->pst;
	uint64_t t0, now;
	volatile uint64_t x = 0;

	tmark = mark;
	tg.mark = hog_gmark;
	tg.stack_lo = hog_stack_elsewhere ? (uintptr_t)other_stack : 4096;
	tg.stack_hi = hog_stack_elsewhere ? (uintptr_t)(other_stack + sizeof(other_stack)) :
					    0x7ffffffff000ull;
	tp = hog_tp;
	toldp = NULL;
	tcurg = hog_curg == 1 ? &tg0 : hog_curg == 2 ? NULL : &tg;
	p->m_id = (int)kt_register(c->fd);
	p->goid = 7;
	p->runq_len = runq;
	/* The slice starts when the page says so: the module may see it
	 * before SET_P (lazy in the runtime), or without one. */
	t0 = kt_now();
	p->schedtick++;
	__atomic_store_n(&p->state, MNSCHED_P_RUNNING, __ATOMIC_RELEASE);
	if (hog_set_p && kt_set_p(c->fd, 0))
		return 0;
	do {
		for (int i = 0; i < 10000; i++)
			x++;
		now = kt_now();
		if (tmark != mark ||
		    __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != MNSCHED_P_RUNNING) {
			*tid_after = (pid_t)syscall(SYS_gettid);
			return now - t0;
		}
	} while (now - t0 < (uint64_t)ms * 1000000);
	*tid_after = (pid_t)syscall(SYS_gettid);
	return 0;
}

static int map_p0(int fd, struct mnsched_pstate **pst)
{
	void *a;

	if (kt_config(fd, 1))
		return -1;
	a = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED)
		return -1;
	*pst = a;
	return 0;
}

/* A file with P 0 mapped, this thread its M, preemption at @slice_ns. */
static void hog_setup(struct __test_metadata *_metadata, struct pctx *c,
		      uint64_t slice_ns)
{
	c->fd = kt_open();
	ASSERT_LE(0, c->fd);
	ASSERT_EQ(0, map_p0(c->fd, &c->pst));
	ASSERT_LE(0, kt_register(c->fd));
	ASSERT_EQ(0, kt_preempt_set(c->fd, &tmark, slice_ns));
}

/* Preempted: the hog's view, the P, the spare, the nice value, REJOIN. */
static void overrun_case(struct __test_metadata *_metadata)
{
	struct pctx c = { .got = -1 };
	pthread_t t;
	uint64_t took;
	pid_t tid = (pid_t)syscall(SYS_gettid), after = 0;
	long before = t_counter("kpreempts");

	KT_REQUIRE_DEV();
	ASSERT_EQ(0, setpriority(PRIO_PROCESS, 0, 0));
	hog_setup(_metadata, &c, 2000000);
	ASSERT_EQ(0, pthread_create(&t, NULL, spare, &c));
	while (!__atomic_load_n(&c.ready, __ATOMIC_ACQUIRE))
		kt_sleep_ns(100000);
	kt_sleep_ns(20000000);	/* the spare waits in SPARE */

	took = hog(&c, 0, 1, 2000, &after);
	ASSERT_NE(0, took) TH_LOG("the P stayed RUNNING for 2 s of user code");
	TH_LOG("the module took the P after %.2f ms (slice 2 ms)", took / 1e6);
	EXPECT_LE(2000000ull, took);
	EXPECT_GE(200000000ull, took);	/* TCG: generous */
	/* The thread was not moved, nor signalled: it goes on computing. */
	EXPECT_EQ(tid, after);
	EXPECT_EQ(MNSCHED_MARK_LOST | MNSCHED_MARK_KLOST, tmark);
	/* m->p moved to m->oldp and cleared, as the runtime's handler does. */
	EXPECT_EQ(NULL, tp);
	EXPECT_EQ(FAKE_P, toldp);
	EXPECT_EQ(1, k_preempts(c.pst));
	EXPECT_EQ(19, getpriority(PRIO_PROCESS, 0));
	pthread_join(t, NULL);
	EXPECT_EQ(0, c.err);
	EXPECT_EQ(0, c.got);
	EXPECT_EQ(MNSCHED_P_RUNNING, c.pst->state);
	if (before >= 0)
		EXPECT_EQ(before + 1, t_counter("kpreempts"));
	/* Back in "the runtime": REJOIN restores the nice value. */
	EXPECT_EQ(0, kt_ioc(c.fd, MNSCHED_IOC_REJOIN, 0));
	EXPECT_EQ(0, getpriority(PRIO_PROCESS, 0));
	/* Twice is harmless. */
	EXPECT_EQ(0, kt_ioc(c.fd, MNSCHED_IOC_REJOIN, 0));
	EXPECT_EQ(0, getpriority(PRIO_PROCESS, 0));
	close(c.fd);
}

TEST(overrun_in_user_code_is_preempted_by_the_module)
{
	overrun_case(_metadata);
}

/*
 * A thread the module demoted gives way to the tasks that wait for its
 * CPU: the module's tick asks for a reschedule (mnsched_kpreempt_give_way(),
 * counted as "giveways").  On 6.12 the nice value alone does not do it:
 * EEVDF lets a task it picked run to the end of its slice (RUN_TO_PARITY),
 * a woken task does not preempt it inside it, and a thread that never
 * enters the kernel reaches that end only at the scheduler tick (4 ms at
 * HZ=250): hog_latency_2 on the virtual clock (make vm-latency) had ticks
 * 2.4-3.9 ms late without it, 0.33 ms at worst with it.  Here: the demoted
 * hog and a busy thread pinned to one CPU for 1 s (made by the hog, so at
 * nice 19 too: they share the CPU); each tick that finds the hog running
 * with the other waiting asks (about 1,950 a second in the 6.12 VM; 0 with
 * the call taken out of the module).  What it changes in latency is the
 * figure's business: a sleeper pinned beside one demoted hog woke on time
 * on 6.12 with and without it.
 */
static volatile int gw_stop;

static void *gw_busy(void *arg)
{
	volatile uint64_t x = 0;

	kt_pin(0);
	while (!gw_stop)
		x++;
	return NULL;
}

TEST(demoted_thread_gives_way_to_tasks_waiting_for_its_cpu)
{
	struct pctx c = { .got = -1 };
	long before = t_counter("giveways"), after_busy;
	volatile uint64_t x = 0;
	pthread_t t, busy;
	pid_t after = 0;
	uint64_t t0;

	KT_REQUIRE_DEV();
	ASSERT_LE(0, before) TH_LOG("no giveways counter in debugfs");
	ASSERT_EQ(0, setpriority(PRIO_PROCESS, 0, 0));
	kt_pin(0);
	hog_setup(_metadata, &c, 1000000);
	ASSERT_EQ(0, pthread_create(&t, NULL, spare, &c));
	while (!__atomic_load_n(&c.ready, __ATOMIC_ACQUIRE))
		kt_sleep_ns(100000);
	kt_sleep_ns(20000000);	/* the spare waits in SPARE */
	ASSERT_NE(0, hog(&c, 0, 1, 2000, &after));
	ASSERT_EQ(19, getpriority(PRIO_PROCESS, 0));
	pthread_join(t, NULL);
	/* Demoted, P-less, computing, beside a busy thread on its CPU. */
	gw_stop = 0;
	ASSERT_EQ(0, pthread_create(&busy, NULL, gw_busy, NULL));
	t0 = kt_now();
	while (kt_now() - t0 < 1000000000ull)
		for (int i = 0; i < 10000; i++)
			x++;
	gw_stop = 1;
	pthread_join(busy, NULL);
	after_busy = t_counter("giveways");
	TH_LOG("giveways beside a busy thread for 1 s: %ld", after_busy - before);
	EXPECT_LT(before, after_busy);
	EXPECT_EQ(0, kt_ioc(c.fd, MNSCHED_IOC_REJOIN, 0));
	EXPECT_EQ(0, getpriority(PRIO_PROCESS, 0));
	close(c.fd);
}

/* No SET_P (the runtime makes it lazily): m->p and the page say it. */
TEST(overrun_without_set_p_is_preempted)
{
	hog_set_p = 0;
	overrun_case(_metadata);
}

/*
 * How long the module takes, for slices of 1, 2, 4 and 8 ms (a figure:
 * the tick runs every slice / 4, so slice to 1.25 slices plus the timer's
 * own lateness; 5 runs each, the worst printed).
 */
TEST(preemption_latency_by_slice)
{
	static const uint64_t slices[] = { 1000000, 2000000, 4000000, 8000000 };

	KT_REQUIRE_DEV();
	for (size_t i = 0; i < sizeof(slices) / sizeof(slices[0]); i++) {
		uint64_t worst = 0, best = ~0ull;

		for (int run = 0; run < 5; run++) {
			struct pctx c = { .got = -1 };
			uint64_t took;
			pid_t after;

			hog_setup(_metadata, &c, slices[i]);
			took = hog(&c, 0, 1, 2000, &after);
			ASSERT_NE(0, took);
			EXPECT_LE(slices[i], took);
			if (took > worst)
				worst = took;
			if (took < best)
				best = took;
			EXPECT_EQ(0, kt_ioc(c.fd, MNSCHED_IOC_REJOIN, 0));
			/* The mapping holds the file: without it the next
			 * REGISTER is -EBUSY (this thread is still its M). */
			munmap(c.pst, getpagesize());
			close(c.fd);
		}
		TH_LOG("slice %.0f ms: the module took the P after %.2f-%.2f ms",
		       slices[i] / 1e6, best / 1e6, worst / 1e6);
	}
}

/* The hog inside a signal handler (SIGUSR1, blocked while it runs, as a
 * handler's own signal is): what it is given and what it found (volatile:
 * glibc declares raise() a leaf, which the compiler takes to mean that no
 * function of this file runs before it returns). */
static int hog_in_handler;
static volatile struct {
	struct pctx *c;
	uint8_t mark;
	uint32_t runq;
	uint64_t took;
} hh;

static void hog_handler(int sig)
{
	pid_t after;

	(void)sig;
	hh.took = hog(hh.c, hh.mark, hh.runq, 100, &after);
	/* Nothing waits any more: back out of the handler, with the mask
	 * it registered with, the hog would be preempted before the checks
	 * below could look (that is the case preempted() makes). */
	hh.c->pst->runq_len = 0;
}

/*
 * No preemption: inside the runtime (@in_text: the pc in the registered
 * text; or hog_gmark, hog_curg), LOST already in @mark, nothing waiting,
 * preemption off, in a signal handler (hog_in_handler) or off the G's
 * stack (hog_stack_elsewhere).
 */
static void not_preempted(struct __test_metadata *_metadata, uint8_t mark,
			  uint32_t runq, uint64_t slice, bool in_text)
{
	struct pctx c = { .got = -1 };
	struct mnsched_preempt a;
	pid_t after;

	ASSERT_EQ(0, setpriority(PRIO_PROCESS, 0, 0));
	c.fd = kt_open();
	ASSERT_LE(0, c.fd);
	ASSERT_EQ(0, map_p0(c.fd, &c.pst));
	ASSERT_LE(0, kt_register(c.fd));
	preempt_arg(&a, slice ? &tmark : NULL, slice);
	if (in_text) {
		/* All user addresses: the hog's loop calls the vDSO too. */
		a.text_start = 4096;
		a.text_end = 0x7ffffffff000ull;
	}
	ASSERT_EQ(0, kt_ioc_p(c.fd, MNSCHED_IOC_PREEMPT, &a));
	if (hog_in_handler) {
		struct sigaction sa = { .sa_handler = hog_handler };

		sigemptyset(&sa.sa_mask);
		ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
		hh.c = &c;
		hh.mark = mark;
		hh.runq = runq;
		hh.took = ~0ull;
		ASSERT_EQ(0, raise(SIGUSR1));	/* handled before it returns */
		EXPECT_EQ(0, hh.took);
	} else {
		EXPECT_EQ(0, hog(&c, mark, runq, 100, &after));
	}
	EXPECT_EQ(mark, tmark);
	EXPECT_EQ(hog_tp, tp);
	EXPECT_EQ(NULL, toldp);
	EXPECT_EQ(0, k_preempts(c.pst));
	EXPECT_EQ(MNSCHED_P_RUNNING, c.pst->state);
	EXPECT_EQ(0, getpriority(PRIO_PROCESS, 0));
	hog_gmark = 0;
	hog_curg = 0;
	hog_in_handler = 0;
	hog_stack_elsewhere = 0;
	/* The mapping holds the file: without it the next REGISTER (a second
	 * call in one test) is -EBUSY. */
	munmap(c.pst, getpagesize());
	close(c.fd);
}

/* The same hog, in user code, on the G's stack, with the mask it
 * registered with: preempted (so the cases above can fail). */
static void preempted(struct __test_metadata *_metadata)
{
	struct pctx c = { .got = -1 };
	pid_t after;

	hog_setup(_metadata, &c, 1000000);
	EXPECT_NE(0, hog(&c, 0, 1, 2000, &after));
	EXPECT_EQ(0, kt_ioc(c.fd, MNSCHED_IOC_REJOIN, 0));
	munmap(c.pst, getpagesize());
	close(c.fd);
}

/*
 * In a signal handler: its mask blocks its own signal, so it is not the
 * mask the M registered with.  A handler may interrupt the runtime
 * anywhere, e.g. between m->curg = next and the next G's marked region:
 * the runtime's own SIGURG handler (sysmon's I/O kick) calls getpid()
 * there, a pc outside the runtime's text with an unmarked G, and the
 * module once took the P from under the switch.
 */
TEST(in_a_signal_handler_is_not_preempted)
{
	KT_REQUIRE_DEV();
	hog_in_handler = 1;
	not_preempted(_metadata, 0, 1, 1000000, false);
	preempted(_metadata);
}

/* The stack pointer outside the G's stack (a handler on the alternate
 * signal stack, code the runtime knows nothing of). */
TEST(stack_pointer_off_the_g_stack_is_not_preempted)
{
	KT_REQUIRE_DEV();
	hog_stack_elsewhere = 1;
	not_preempted(_metadata, 0, 1, 1000000, false);
	preempted(_metadata);
}

/* The pc in the runtime's text (here: all of user space). */
TEST(in_the_runtime_text_is_not_preempted)
{
	KT_REQUIRE_DEV();
	not_preempted(_metadata, 0, 1, 1000000, true);
}

/* The G in a marked region (a call out of the runtime's text). */
TEST(marked_g_is_not_preempted)
{
	KT_REQUIRE_DEV();
	hog_gmark = 1;
	not_preempted(_metadata, 0, 1, 1000000, false);
}

/* The M on its scheduler G, or on none. */
TEST(scheduler_or_no_g_is_not_preempted)
{
	KT_REQUIRE_DEV();
	hog_curg = 1;
	not_preempted(_metadata, 0, 1, 1000000, false);
	hog_curg = 2;
	not_preempted(_metadata, 0, 1, 1000000, false);
}

/*
 * The page names the M (RUNNING, its m_id) but its m->p is NULL, as for a
 * thread between mn_syscall_enter and mn_syscall_exit whose P a spare has
 * just taken (the spare sets RUNNING before its m_id): not its P.
 */
TEST(page_naming_an_m_without_a_p_is_not_preempted)
{
	KT_REQUIRE_DEV();
	hog_tp = NULL;
	hog_set_p = 0;
	not_preempted(_metadata, 0, 1, 1000000, false);
}

/* Demoted already (LOST: the runtime's handler took the P). */
TEST(lost_is_not_preempted_again)
{
	KT_REQUIRE_DEV();
	not_preempted(_metadata, MNSCHED_MARK_LOST, 1, 1000000, false);
}

TEST(nothing_waiting_is_not_preempted)
{
	KT_REQUIRE_DEV();
	not_preempted(_metadata, 0, 0, 1000000, false);
}

TEST(preemption_off_is_not_preempted)
{
	KT_REQUIRE_DEV();
	not_preempted(_metadata, 0, 1, 0, false);
}

/* A timer due within a slice is work waiting too (timer0_ns). */
TEST(timer_due_is_work_waiting)
{
	struct pctx c = { .got = -1 };
	pid_t after;
	uint64_t took;

	KT_REQUIRE_DEV();
	ASSERT_EQ(0, setpriority(PRIO_PROCESS, 0, 0));
	hog_setup(_metadata, &c, 1000000);
	c.pst->timer0_ns = kt_now() + 1000000;
	took = hog(&c, 0, 0, 2000, &after);
	EXPECT_NE(0, took);
	EXPECT_EQ(1, k_preempts(c.pst));
	EXPECT_EQ(MNSCHED_P_SYSCALL, c.pst->state);	/* no spare took it */
	EXPECT_EQ(0, kt_ioc(c.fd, MNSCHED_IOC_REJOIN, 0));
	EXPECT_EQ(0, getpriority(PRIO_PROCESS, 0));
	close(c.fd);
}

/* An M that unregisters (or exits) while demoted: nothing left behind. */
TEST(unregister_while_demoted_restores_and_frees)
{
	struct pctx c = { .got = -1 };
	pid_t after;

	KT_REQUIRE_DEV();
	ASSERT_EQ(0, setpriority(PRIO_PROCESS, 0, 0));
	hog_setup(_metadata, &c, 1000000);
	ASSERT_NE(0, hog(&c, 0, 1, 2000, &after));
	EXPECT_EQ(19, getpriority(PRIO_PROCESS, 0));
	EXPECT_EQ(0, kt_ioc(c.fd, MNSCHED_IOC_UNREGISTER, 0));
	EXPECT_EQ(0, getpriority(PRIO_PROCESS, 0));
	close(c.fd);
}

TEST_HARNESS_MAIN
