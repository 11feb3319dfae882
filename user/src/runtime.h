/* SPDX-License-Identifier: MIT */
/*
 * runtime.h - the scheduler's internal structures: G, M, P and sched.
 *
 * Ownership (read this before touching any field):
 *
 *  - A G is owned by whoever holds it: the M running it (status RUNNING or
 *    SYSCALL), the run queue it sits in (RUNNABLE), or the wait queue it is
 *    parked on (WAITING; the queue's lock protects it); the table above
 *    enum mn_gstatus says who, state by state.  A G's saved context
 *    (sp) is valid only after the switch away from it has completed: that is
 *    why "make prev runnable" is never done by prev itself but by the code
 *    that runs next on the same M (mn_after_switch), once prev's registers
 *    are saved.
 *  - A P is owned by at most one M at a time.  The owner pushes to its local
 *    run queue and pops from it; thieves only CAS its head.  A P in state
 *    SYSCALL is still owned by the M in the syscall, but sysmon (or, with the
 *    module, a spare M) may take it with a CAS SYSCALL -> IDLE/RUNNING; the
 *    returning M must CAS SYSCALL -> RUNNING to keep it.
 *  - An M is an OS thread.  Its per-M state is reached only through
 *    mn_curm(), which the compiler cannot cache across a switch (a G may
 *    resume on another thread).
 *  - sched.lock protects the global run queue, the idle P and idle M lists
 *    and the M count.  npidle and nmspinning are also read without it.
 *
 * Races that are allowed (and why they are benign) are noted where they
 * happen; the no-lost-wake-up argument is at the top of proc.c.
 */
#ifndef MN_RUNTIME_H
#define MN_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <linux/mnsched.h>
#include "mnsched.h"
#include "probe_defs.h"
#include "park.h"
#include "lock.h"
#include "probes.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define MN_HIDDEN	__attribute__((visibility("hidden")))
#define MN_CACHELINE	64
#define MN_PSTATE_STRIDE 4096	/* one P struct per page, as the module maps them */

#define MN_RUNQ_SIZE	256	/* local run queue slots (power of two) */
#define MN_RUNNEXT_WAITS 4	/* a thief's 3 us looks at a busy P's runnext (runq.c) */
#define MN_FRONT_MAX	64	/* push at the head only while the queue is shorter */
#define MN_GLOBAL_TICK	61	/* every 61st slice look at the global queue first */
#define MN_STEAL_PASSES	4
#define MN_PREEMPT_NS	(10 * 1000 * 1000)

/*
 * G status: who owns a G in each state, and who may move it to which state
 * (Go's runtime2.go _Gidle.._Gdead).  Only the owner writes status (relaxed
 * stores: what orders the handover is the queue's lock or CAS, or the
 * switch).  Readers that own nothing (debug.c's dumps and stall reports
 * through mn_for_each_g's walk of the stack arenas, gdb and mnsched-prof
 * reading the memory) load it relaxed and may see a stale state.
 *
 * IDLE      fresh from mn_galloc (stack.c): owned by the M creating it in
 *           newproc (proc.c), seen by no one else.
 *           -> RUNNABLE  newproc, once the G is set up.
 * RUNNABLE  in a run queue: a P's local ring or runnext (the P's M pops it;
 *           a thief on another M takes it with the CAS on runqhead or on
 *           runnext, runq.c), or the global queue (under sched.lock).  On
 *           its way there it is owned by the one who made it runnable: the
 *           waker (mn_goready), a ring's reaper holding it on a schedlink
 *           list (uring.c), or the M that switched away from it
 *           (m->pending_g), until mn_after_switch queues it once its
 *           registers are saved.
 *           -> RUNNING   only by an M holding a P, after taking it off a
 *                        queue: schedule_next, execute (g0's findrunnable).
 * RUNNING   m->curg of the M running it; that M holds a P, except while it
 *           is demoted (preempt.c: the P was given up as for a system call,
 *           the status stays RUNNING, the thread keeps running the G's C
 *           code until its next runtime entry).  Only that M, on the G
 *           itself, moves it:
 *           -> RUNNABLE  mn_yield, a child-first mn_go and mn_goready_run
 *                        (the caller steps aside; queued after the switch),
 *                        a preempted G's rejoin that finds no P, or whose
 *                        M retires (global queue, waitreason
 *                        GLOBAL_QUEUE; its M goes to g0);
 *           -> WAITING   mn_gopark / mn_gopark_unlock;
 *           -> SYSCALL   mn_syscall_enter;
 *           -> DEAD      mn_exit.
 *           A waker may move a WAITING G straight to RUNNING on its own M
 *           (mn_goready_run: an unbuffered channel's sender, chan.c).
 * SYSCALL   still the M in the system call (m->oldp; the P is in state
 *           SYSCALL, p->m NULL).  Others may take the P (sysmon's retake,
 *           the module's spare M), never the G: only its M moves it,
 *           in mn_syscall_exit / mn_syscall_rejoin (syscall.c):
 *           -> RUNNING   the old P won back (CAS SYSCALL -> RUNNING) or
 *                        another idle P taken (mn_syscall_exit_slow);
 *           -> RUNNABLE  no P: the G goes to the global queue (waitreason
 *                        GLOBAL_QUEUE) and the M idles on g0.
 * WAITING   the wait it is parked in owns it: a channel's sudog queue or a
 *           sync object's waiter list (under that object's lock), a select
 *           on several channels (the first waker to turn g->selectdone
 *           0 -> 1, select.c), its sleep timer (the P's timer heap),
 *           an I/O request in flight (the ring's completion, uring.c, rx.c),
 *           a context's cancellation.  A waker can reach the G only once
 *           mn_gopark's unlockf has run (the wait's lock released, the
 *           timer armed, the request put in the ring), and that runs on the
 *           next G, after the switch has saved this one's context
 *           (mn_after_switch): no waker can run it half-switched.
 *           -> RUNNABLE  by the one who took it off the wait: mn_goready
 *                        (into the waker's P's queue, or the global queue
 *                        from a thread without a P), a ring's reaper;
 *           -> RUNNING   mn_goready_run (above).
 * DEAD      after mn_exit: its M frees it after the switch (MN_AFTER_FREE,
 *           mn_gfree) into its P's stack pool, whence it may move to the
 *           global pool (under pool_lock, stack.c); the pool owns it until
 *           mn_galloc makes it IDLE again.
 *
 * g0 (each M's scheduler stack) is in none of these queues: it never parks
 * and is never queued; an M switches to it and back.
 */
enum mn_gstatus {
	MN_G_IDLE,		/* allocated, not yet started / in a free pool */
	MN_G_RUNNABLE,
	MN_G_RUNNING,
	MN_G_SYSCALL,
	MN_G_WAITING,
	MN_G_DEAD,
};

/* The list and the names: probe_defs.h. */
enum mn_waitreason {
#define MN_WAITREASON_ENUM(name, str) MN_WAIT_##name,
	MN_WAITREASONS(MN_WAITREASON_ENUM)
#undef MN_WAITREASON_ENUM
	MN_WAIT__COUNT,
};
MN_HIDDEN const char *mn_waitreason_str(int r);

struct mn_m;
struct mn_p;

/*
 * A G lives at the top of its own stack slot (see stack.c), so a parked G
 * costs its stack's touched pages and nothing else.  mn_galloc() resets
 * every field one by one: a new field must be added there too.
 */
struct mn_g {
	void *sp;			/* saved stack pointer when not running */
	struct mn_g *schedlink;		/* global run queue, free pools */
	_Atomic int status;		/* enum mn_gstatus */
	int waitreason;
	uint64_t goid;
	void (*fn)(void *);
	void *arg;
	char *stack_lo;			/* lowest usable byte (above the guard page) */
	char *stack_hi;			/* top of the usable stack (the G itself) */
	char *slot;			/* start of the stack slot (guard page) */
	uint32_t sclass;		/* stack size class (stack.c) */
	bool is_main;
	bool is_g0;
	/* channel and select waits (chan.c, select.c) */
	void *param;			/* sudog that woke us (select) */
	_Atomic uint32_t selectdone;
	const char *name;
	int errno_save;			/* errno is per G: saved at every switch */
	uint8_t rt_mark;		/* in a marked runtime region (MN_MARK) */
	uint64_t parent;		/* goid of the creator */
	uint64_t runnable_since;	/* ns, for latency tools */
	struct mn_timer *sleep_timer;	/* timer.c */
	uint64_t io_deadline;		/* io.c: mn_now() ns for I/O calls, 0 none */
	struct mn_ctx *io_ctx;		/* io.c: context for I/O calls, NULL none */
	/* sanitizers (san.h) */
	void *asan_fake_stack;
	void *tsan_fiber;
	/* debugging (debug.c): read by dumps, gdb and mnsched-prof */
	void *gopc;			/* return address of the mn_go that created it */
	uint64_t waitsince;		/* mn_debug_now (coarse ns) when it parked */
	struct mn_labelset *labels;	/* mn_set_label, NULL for none (labels.c) */
};

/* One P.  Hot fields first; thieves only touch runqhead and runnext. */
struct mn_p {
	int id;
	struct mnsched_pstate *sh;	/* shared state: kmod page or local copy */
	struct mn_m *m;			/* owner, NULL when idle */
	struct mn_p *link;		/* idle list */
	uint64_t schedtick;		/* time slices started (sysmon's clock) */
	uint64_t ninherit;		/* switches within a slice (relaxed: thieves,
					 * sysmon read); + schedtick = all switches */
	bool runnext_cont;		/* owner's hint: runnext holds a spawner's
					 * continuation, not a readied G (proc.c) */
	uint32_t fastrand;
	uint32_t kgen;			/* bumped when an M becomes its holder in
					 * the module (mn_kernel_p_sync); owner */
	bool preempt;			/* sysmon: the running G should yield */
	_Atomic uint64_t preempt_tick;	/* sysmon asked the M to give the P up
					 * in slice preempt_tick - 1 (preempt.c) */
	_Atomic bool preempt_handoff;	/* it did: sysmon hands the P off */
	_Atomic uint64_t preempt_since;	/* that slice's start (the probe) */
	uint64_t goidcache, goidcacheend;
	struct mn_stack_pool *pool;	/* stack.c */
	struct mn_timers *timers;	/* timer.c */
	_Atomic int64_t timer0_when;	/* earliest timer (ns), 0 for none */
	void *io;			/* uring.c */

	/* Low 32 bits: the head index; high 32: a tag bumped by every push at
	 * the head (runq.c), so a thief's CAS cannot succeed on a stale read
	 * (ABA) after the owner popped and pushed back to the same index. */
	_Alignas(MN_CACHELINE) _Atomic uint64_t runqhead;	/* thieves CAS */
	_Alignas(MN_CACHELINE) _Atomic uint32_t runqtail;	/* owner stores */
	struct mn_g *_Atomic runnext;
	struct mn_g *_Atomic runq[MN_RUNQ_SIZE];
};

/* What the code that runs next on an M must do with the G that left. */
enum mn_pending {
	MN_AFTER_NONE,
	MN_AFTER_READY_LOCAL,	/* prev yielded: tail of the local queue */
	MN_AFTER_READY_NEXT,	/* prev spawned a G that runs first: runnext */
	MN_AFTER_READY_FRONT,	/* the same, runnext was taken: queue head */
	MN_AFTER_UNLOCK,	/* prev parked: release the lock it parked under */
	MN_AFTER_CALL,		/* prev parked: call fn(prev, arg) */
	MN_AFTER_GLOBAL,	/* prev lost its P: global queue */
	MN_AFTER_FREE,		/* prev is dead: back to the stack pool */
	MN_AFTER_MASK = 0xff,
	MN_AFTER_INHERIT = 0x100,	/* flag: the next G keeps the time slice */
};

struct mn_m {
	struct mn_g g0;			/* the scheduler context on the thread's stack */
	struct mn_g *curg;		/* G running on this M (g0 when scheduling) */
	struct mn_p *p;
	struct mn_p *nextp;		/* P handed over by startm */
	struct mn_p *oldp;		/* P held before a syscall */
	int id;
	bool spinning;
	bool is_spare;
	bool spare_new;			/* started as a spare, not yet idle */
	int pending;			/* enum mn_pending */
	struct mn_g *pending_g;
	void (*pending_fn)(struct mn_g *g, void *arg);
	void *pending_arg;
	struct mn_m *schedlink;		/* idle M list */
	bool defer_wake;		/* about to park: startm leaves the wake to us */
	struct mn_m *swap_to;		/* ...and stopm wakes it and parks in one call */
	struct mn_m *alllink;
	struct mn_park_state park;
	pthread_t thread;
	pid_t tid;
	uint32_t fastrand;
	uint64_t syscall_enter_ns;
	uint64_t k_handoffs;		/* P's module handoff count at syscall entry */
	int kp;				/* the P the module thinks we hold, or -1
					 * (mn_kernel_p_sync) ... */
	uint32_t kgen;			/* ...as of mn_kernel_p_gen(that P) */
	void *altstack;
	int *errno_loc;			/* this thread's errno (fixed for its life) */
	/* Preemption (preempt.c); the thread's own mark is mn_tls_rt. */
	bool lostp;			/* preempted: P given up (sysmon reads) */
	bool retire;			/* demoted for good: exit on g0 */
	bool dead;			/* exited (retired); struct on mfree */
	int base_policy, base_nice;	/* scheduling policy/nice to restore */
	uint64_t sigmask;		/* its signal mask running a G (preempt.c) */
	uint64_t demoted_ns;		/* when lostp was set (probe, trace) */
	uint64_t slice_start;		/* of the slice the G overran (overrun.c) */
	uint64_t lost_tick;		/* that slice's schedtick */
	uint64_t demoted_goid;		/* the G it runs without a P */
	/* The module's preemption (kmod/preempt.c) writes only this M's mark:
	 * sysmon reads it here to see such a demotion (overrun.c). */
	volatile uint8_t *kmark;	/* its mn_tls_rt, once PREEMPT is on */
	uint64_t kseen_ns;		/* sysmon: when it saw KLOST, 0 none */
	uint64_t kseen_run;		/* sysmon: which demotion that was */
	uint64_t kseen_tick;		/* sysmon: the run it continues */
};

/* The environment, parsed by env.c; 0 is the default of each. */
enum { MN_ENV_AUTO = 0 };
enum { MN_PARK_FUTEX = 1, MN_PARK_KMOD = 2 };		/* MNSCHED_PARK */
enum { MN_IOENV_URING = 1, MN_IOENV_BLOCKING = 2 };	/* MNSCHED_IO */
enum { MN_GUARD_GUARD = 1, MN_GUARD_CANARY = 2 };	/* MNSCHED_STACKGUARD */
struct mn_env {
	int park, io, stackguard;
	unsigned int io_entries;	/* MNSCHED_IO_ENTRIES, 0: default */
	unsigned int io_recvbufs;	/* MNSCHED_IO_RECVBUFS, 0: default */
	bool no_libdw;			/* MNSCHED_NO_LIBDW set (unwind.c) */
	bool debuginfod;		/* DEBUGINFOD_URLS non-empty (unwind.c) */
};

/*
 * Laid out by who writes what: the fields under sched.lock, the lock-free
 * counters every M touches while it spins or parks, and those a spawn or
 * a system call moves, each in a cache line of its own, apart from the
 * read-mostly rest (nprocs, allp, the parker...) that every switch reads.
 * Mixed, fields added at the end moved the line boundaries, and
 * select_fanin at 2 Ps ran 14% slower after a merge that added no code on
 * its path (mn_sched 32 bytes into a line instead of at its start; 15
 * alternating runs: 206 against 181 ns/msg, 182 laid out so).
 */
struct mn_sched {
	/* under lock */
	_Alignas(64) struct mn_lock lock;
	/* global run queue */
	struct mn_g *runqhead, *runqtail;
	_Atomic int32_t runqsize;
	/* idle Ps and Ms */
	struct mn_p *pidle;
	struct mn_m *midle;
	int32_t nmidle;
	int32_t mcount;
	struct mn_m *allm;
	/* lock-free, written by spinning and parking Ms */
	_Alignas(64) _Atomic int32_t npidle;
	_Atomic int32_t nmspinning;
	_Atomic int32_t nmsyscall;	/* Ms in a syscall whose G counts as running */
	/* written at spawn, exit and system calls */
	_Alignas(64) _Atomic uint64_t goidgen;
	_Atomic int64_t ngsys;		/* Gs in a syscall right now */
	_Atomic int64_t nglive;		/* Gs alive (created, not dead) */
	_Atomic int32_t mnext;
	int32_t nspare_new;	/* spares started, not yet idle (lock; proc.c) */
	/* read-mostly from here on */
	/* Ps */
	_Alignas(64) int nprocs;
	struct mn_p **allp;
	struct mnsched_pstate *pstates;	/* nprocs structs, PAGE_SIZE stride when kmod */
	size_t pstate_stride;
	/* lifetime */
	_Atomic bool started;		/* false again in a fork child */
	_Atomic bool done;		/* main G returned */
	_Atomic uint32_t main_done_word;/* futex the mn_main caller waits on */
	_Atomic uint64_t stranded_wakes;	/* sysmon woke an M for stranded work */
	const struct mn_parker *parker;
	int64_t start_ns;
	pid_t main_tid;			/* the thread waiting in mn_main */
	pid_t sysmon_tid;
	pid_t debug_tid;		/* debug.c's dump thread, 0 none */
	/* checkdead found every G blocked but let a thread that is not the
	 * runtime's keep the process alive: sysmon looks again (proc.c) */
	_Atomic bool deadlock_recheck;
	struct mn_env env;
	/* debug */
	int schedtrace_ms;
	bool scheddetail;
	bool deadlock_off;
	bool spare_off;		/* MNSCHED_DEBUG=spare=0 */
	bool iopoll;		/* MNSCHED_DEBUG=iopoll=1 (io.c) */
	long stackcache_kb;	/* MNSCHED_DEBUG=stackcache=KB, -1: default (stack.c) */
	bool stranded_off;	/* MNSCHED_DEBUG=stranded=0: no sysmon safety net */
	bool preempt_off;	/* MNSCHED_DEBUG=preempt=0: cooperative only */
	bool kpreempt_off;	/* MNSCHED_DEBUG=kpreempt=0: signals with kmod too */
	_Atomic bool kpreempt;	/* the module preempts (MNSCHED_IOC_PREEMPT) */
	_Atomic uint64_t nsignals;	/* preemption signals sysmon sent */
	uint64_t slice_ns;	/* MNSCHED_DEBUG=slice=MS (default 10 ms) */
	_Atomic int32_t ndemoted;	/* Ms running a G without a P (preempt.c) */
	_Atomic uint64_t npreempt;	/* Ps taken from overrunning Gs */
	_Atomic uint64_t nretired;	/* demoted Ms that could not be restored */
	_Atomic bool wakep_deferred;	/* a retiring M wanted an M: sysmon's */
	_Atomic int demote_err;		/* errno of the first failed demotion */
	struct mn_m *mfree;		/* retired Ms' structs, for newm (lock) */
	sigset_t m_sigmask;		/* mn_main's caller's: every M's (mstart) */
	bool multishot_off;	/* MNSCHED_DEBUG=multishot=0 (rx.c) */
};

extern struct mn_sched mn_sched MN_HIDDEN;

/* ---- per-M state, reached without letting the compiler cache it ---- */

extern __thread struct mn_m *mn_tls_m
	__attribute__((tls_model("initial-exec"))) MN_HIDDEN;

/*
 * The asm is volatile, so every call loads %fs-relative afresh: a G that
 * migrated between two calls sees its new M.  Plain TLS access would let
 * the compiler reuse the address computed on the old thread.
 */
static inline struct mn_m *mn_curm(void)
{
	struct mn_m *m;

	__asm__ volatile("movq mn_tls_m@gottpoff(%%rip), %0\n\t"
			 "movq %%fs:(%0), %0"
			 : "=r"(m));
	return m;
}

static inline void mn_setm(struct mn_m *m)
{
	mn_tls_m = m;
}

static inline struct mn_g *mn_curg(void)
{
	struct mn_m *m = mn_curm();

	return m ? m->curg : NULL;
}

/*
 * errno's address on the current thread.  __errno_location() is declared
 * const, so the compiler may reuse its result across a switch; calling it
 * through a laundered pointer forces a fresh call on whichever thread we
 * are now.
 */
static inline int *mn_errno_loc(void)
{
	int *(*fn)(void) = __errno_location;

	__asm__("" : "+r"(fn));
	return fn();
}

/* ---- P state, in the shared struct so the module can read it ---- */

static inline uint32_t mn_pstatus(struct mn_p *p)
{
	return __atomic_load_n(&p->sh->state, __ATOMIC_ACQUIRE);
}

static inline void mn_pstatus_set(struct mn_p *p, uint32_t s)
{
	__atomic_store_n(&p->sh->state, s, __ATOMIC_RELEASE);
}

static inline bool mn_pstatus_cas(struct mn_p *p, uint32_t old, uint32_t new)
{
	return __atomic_compare_exchange_n(&p->sh->state, &old, new, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/*
 * Fields of the shared P struct are written by the P's owner and read by
 * sysmon, the tools and the module at any time: always relaxed atomics
 * (plain moves on x86, but visible as intended to the compiler and TSan).
 */
#define MN_RELAXED_GET(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define MN_RELAXED_SET(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define MN_SH_GET(p, f)		MN_RELAXED_GET((p)->sh->f)
#define MN_SH_SET(p, f, v)	MN_RELAXED_SET((p)->sh->f, (v))
/* Per-P counters; only the owner writes them, so load+store suffices.
 * -DMN_NO_COUNTERS (only for the overhead benchmark's baseline) drops the
 * statistics (cache line 1 of struct mnsched_pstate); ticks sysmon relies
 * on (syscalltick) are kept. */
#ifdef MN_NO_COUNTERS
#define MN_PCOUNT(p, f) do {						\
	if (offsetof(struct mnsched_pstate, f) <			\
	    offsetof(struct mnsched_pstate, switches))			\
		MN_SH_SET(p, f, MN_SH_GET(p, f) + 1);			\
} while (0)
#else
#define MN_PCOUNT(p, f)		MN_SH_SET(p, f, MN_SH_GET(p, f) + 1)
#endif
/* A counter set from a value its single writer has anyway: one store. */
#ifdef MN_NO_COUNTERS
#define MN_PCOUNT_SET(p, f, v)	((void)(v))
#define MN_PCOUNT_ADD(p, f, n)	((void)(n))
#else
#define MN_PCOUNT_SET(p, f, v)	MN_SH_SET(p, f, v)
/* n more; writers must be serialized (the owner, or under a lock) */
#define MN_PCOUNT_ADD(p, f, n)	MN_SH_SET(p, f, MN_SH_GET(p, f) + (n))
#endif

static inline uint32_t mn_fastrand(uint32_t *s)
{
	/* xorshift32: the state is never 0 */
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

uint64_t mn_nanotime(void) MN_HIDDEN;

/*
 * Deadlines.  Every "ns from now" in the runtime (mn_sleep, select and
 * channel timeouts, timer channels, contexts, mn_poll) goes through
 * mn_deadline_after: now + ns saturates at MN_NEVER instead of wrapping, so
 * a huge timeout (INT64_MAX, UINT64_MAX) means "not in this lifetime", never
 * "already past"; an absolute time or a period given unsigned goes through
 * mn_when_clamp.  A timer at MN_NEVER is a timer that does not fire.
 */
#define MN_NEVER	INT64_MAX

static inline int64_t mn_deadline_after(uint64_t ns)
{
	uint64_t now = mn_nanotime();

	if (ns >= (uint64_t)MN_NEVER - now)
		return MN_NEVER;
	return (int64_t)(now + ns);
}

/* An unsigned time or period (a context's absolute deadline, a ticker's
 * period) as a timer's signed one, saturating at MN_NEVER. */
static inline int64_t mn_when_clamp(uint64_t ns)
{
	return ns >= (uint64_t)MN_NEVER ? MN_NEVER : (int64_t)ns;
}

/* ---- G switch (switch_x86_64.S); mn_ctx_* is the public context API ---- */

/* Save callee-saved registers, MXCSR and the x87 control word on the
 * current stack, store the stack pointer in *save, load to and return there. */
void mn_g_switch(void **save, void *to) MN_HIDDEN;
void mn_g_trampoline(void) MN_HIDDEN;

/* ---- proc.c ---- */

MN_HIDDEN void mn_fatal(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
/* mn_fork_fatal(what) and mn_in_fork_child: lock.h. */
/* Block every signal but the synchronous faults (runtime threads). */
MN_HIDDEN void mn_block_signals_but_faults(void);
MN_HIDDEN struct mn_m *mn_need_m(const char *what);
/* Park the running G (status WAITING, reason); after the switch the code
 * running next calls unlockf(g, arg) (NULL: nothing). */
MN_HIDDEN void mn_gopark(void (*unlockf)(struct mn_g *, void *), void *arg,
			 int reason);
/* Make a WAITING G runnable, in runnext of the caller's P. */
MN_HIDDEN void mn_goready(struct mn_g *g);
MN_HIDDEN void mn_goready_run(struct mn_g *g);
MN_HIDDEN void mn_after_switch(struct mn_m *m);
MN_HIDDEN void mn_gopark_unlock(struct mn_lock *l, int reason);
MN_HIDDEN void mn_wakep(void);
MN_HIDDEN void mn_checkdead(void);
MN_HIDDEN void mn_checkdead_recheck(void);
MN_HIDDEN void mn_dump_gs(FILE *f);
MN_HIDDEN void mn_handoffp(struct mn_p *p);
MN_HIDDEN void mn_notify_unpark(struct mn_m *m);
MN_HIDDEN bool mn_sched_has_timers_or_io(void);
MN_HIDDEN void mn_preempt_check_slow(struct mn_m *m);
MN_HIDDEN void mn_kernel_p_set(struct mn_m *m, struct mn_p *p);
/* mn_syscall_exit (syscall.c): the P was taken while its G was in a
 * system call. */
MN_HIDDEN bool mn_syscall_exit_slow(struct mn_m *m, struct mn_g *g);

/* At system call entry: SET_P only when the module may not know that m
 * holds p (proc.c, mn_kernel_p_set); inline, as mn_syscall_enter is hot. */
static inline uint32_t mn_kernel_p_gen(struct mn_p *p)
{
	return p->kgen + (uint32_t)MN_SH_GET(p, k_preempts);
}

static inline void mn_kernel_p_sync(struct mn_m *m, struct mn_p *p)
{
	if (mn_sched.parker->set_p &&
	    (m->kp != p->id || m->kgen != mn_kernel_p_gen(p)))
		mn_kernel_p_set(m, p);
}

static inline void mn_preempt_check(void)
{
	struct mn_m *m = mn_curm();

	if (m && m->p && unlikely(MN_RELAXED_GET(m->p->preempt)))
		mn_preempt_check_slow(m);
}

/* ---- preempt.c: where the handler may not take the P ---- */

/*
 * The SIGURG handler (preempt.c) gives the P up only while the thread runs
 * the program's code, never while runtime code runs on it.  "Runtime code":
 *
 *  1. Every instruction of the library's own text.  Each object's .text*
 *     is renamed mn_text after compiling (the Makefile, tools/rt-text.sh);
 *     the handler looks whether the interrupted pc lies between
 *     __start_mn_text and __stop_mn_text.  Nothing to do at run time.
 *  2. Calls out of that text (libc, liburing, the vDSO, a memcpy the
 *     compiler emits) made from runtime code: the pc is then in libc.
 *     Such calls run inside a marked region, MN_MARK() (or a function that
 *     opens with MN_ENTER()): a byte of the running G, g->rt_mark, set for
 *     the region and restored when it ends.  Per G, not per thread: a
 *     region that parks is resumed on whichever M by then, and a G resumed
 *     outside one needs no store to be unmarked.
 *
 * Hot entry points open with MN_ENTER_FAST(): only the rejoin test below,
 * no store, no cleanup (the compiler keeps its tail calls).  Everything
 * they reach must keep to 1, or mark: tools/check-rt-calls.py checks it at
 * every build from GCC's call graphs (-fcallgraph-info), and fails on an
 * unmarked path from a fast entry to a function outside the library, an
 * indirect call or a compiler-emitted memcpy.  Cold entry points keep
 * MN_ENTER() (rejoin test, then the whole function marked).  Sanitizer
 * builds instrument every access with calls into their runtimes: there
 * MN_ENTER_FAST() is MN_ENTER().
 *
 * The rejoin: a thread whose P the handler took (demoted, preempt.c) sees
 * MN_RT_LOST in its TLS byte mn_tls_rt at its next entry and gets a P back
 * (mn_preempt_rejoin) before it touches any runtime state.
 */
MN_HIDDEN void mn_preempt_rejoin(void);

/* The thread's byte: the handler or the module took the P (this thread is
 * demoted); KLOST (with LOST): the module took it (it writes the byte while
 * the thread is stopped in user code; the values are the ABI's). */
#define MN_RT_LOST	MNSCHED_MARK_LOST
#define MN_RT_KLOST	MNSCHED_MARK_KLOST
extern __thread uint8_t mn_tls_rt
	__attribute__((tls_model("initial-exec"))) MN_HIDDEN;

/* Its address on the current thread, afresh (as mn_curm: a G that
 * switched may be on another thread now). */
static inline volatile uint8_t *mn_rt_mark(void)
{
	uint8_t *a;

	__asm__ volatile("movq mn_tls_rt@gottpoff(%%rip), %0\n\t"
			 "addq %%fs:0, %0"
			 : "=r"(a));
	return a;
}

/* %fs-relative, so no pointer to the byte is ever formed (one load fewer
 * than through %fs:0); volatile: read afresh at every entry.  Three
 * instructions: the offset's load, testb, and the branch on its flag. */
static inline void mn_rt_rejoin_check(void)
{
	uint64_t off;
	bool lost;

	__asm__ volatile("movq mn_tls_rt@gottpoff(%%rip), %1\n\t"
			 "testb %2, %%fs:(%1)"
			 : "=@ccnz"(lost), "=r"(off) : "i"(MN_RT_LOST));
	if (unlikely(lost))
		mn_preempt_rejoin();
}

/* A marked region: the G it was set on, and the mark to put back. */
struct mn_rt_region {
	struct mn_g *g;
	uint8_t old;
};

static inline struct mn_rt_region mn_rt_mark_begin(void)
{
	struct mn_rt_region r = { mn_curg(), 0 };

	/* No M (a plain thread): no P to lose, nothing to mark. */
	if (r.g) {
		r.old = r.g->rt_mark;
		r.g->rt_mark = 1;
	}
	/* The mark before the region's first call out, as a signal fence. */
	atomic_signal_fence(memory_order_seq_cst);
	return r;
}

/* At the region's end, on whichever thread the G is by then: the mark is
 * the G's, so the same G (r->g) gets it back. */
static inline void mn_rt_mark_end(struct mn_rt_region *r)
{
	atomic_signal_fence(memory_order_seq_cst);
	if (r->g)
		r->g->rt_mark = r->old;
}

#ifdef MN_NO_PREEMPT
/* The overhead benchmark's baseline (*.nopreempt): no mark, no preemption. */
#define MN_ENTER()	do { } while (0)
#define MN_ENTER_FAST()	do { } while (0)
#define MN_ENTER_FAST_P()	do { } while (0)
#define MN_MARK()	do { } while (0)
#else
#define MN_MARK()							\
	struct mn_rt_region mn_rt_reg					\
		__attribute__((cleanup(mn_rt_mark_end), unused)) =	\
		mn_rt_mark_begin()
#define MN_ENTER()							\
	mn_rt_rejoin_check();						\
	MN_MARK()
#if defined(MN_SAN_ASAN) || defined(MN_SAN_TSAN) || defined(MN_FULL_MARKS)
#define MN_ENTER_FAST()	MN_ENTER()
#define MN_ENTER_FAST_P()	MN_ENTER()
#else
#define MN_ENTER_FAST()	mn_rt_rejoin_check()
/* A fast entry whose test is MN_REJOIN_IF_NO_P below, on the P it loads
 * first thing anyway (mn_yield): one fused test-and-branch on a register
 * instead of the TLS byte's three instructions.  Sound because the handler
 * that demotes a thread sets m->p to NULL (preempt.c) before the thread can
 * run on, and so does the module (kmod/preempt.c, through the address
 * MNSCHED_IOC_PREEMPT registered), and a G otherwise runs with a P; code before the test may not
 * touch the P.  tools/check-rt-calls.py treats the function as a fast
 * entry (a root). */
#define MN_ENTER_FAST_P()	do { } while (0)
#endif
#endif

#ifdef MN_NO_PREEMPT
#define MN_REJOIN_IF_NO_P(m, p)	do { } while (0)
#else
#define MN_REJOIN_IF_NO_P(m, p)						\
	do {								\
		if (unlikely(!(p))) {					\
			mn_rt_rejoin_check();	/* LOST: demoted */	\
			(m) = mn_curm();				\
			(p) = (m)->p;					\
		}							\
	} while (0)
#endif

/* Around a call into user code from inside the runtime (mn_once_do): the
 * G's mark cleared, and put back after. */
static inline uint8_t mn_rt_user_begin(void)
{
	struct mn_g *g = mn_curg();
	uint8_t old = g ? g->rt_mark : 0;

	atomic_signal_fence(memory_order_seq_cst);
	if (g)
		g->rt_mark = 0;
	atomic_signal_fence(memory_order_seq_cst);
	return old;
}

static inline void mn_rt_user_end(uint8_t old)
{
	struct mn_g *g;

	mn_rt_rejoin_check();
	g = mn_curg();
	atomic_signal_fence(memory_order_seq_cst);
	if (g)
		g->rt_mark = old;
	atomic_signal_fence(memory_order_seq_cst);
}

MN_HIDDEN void mn_preempt_init(void);
MN_HIDDEN bool mn_preempt_scan(uint64_t now);
MN_HIDDEN void mn_preempt_m_init(struct mn_m *m);
MN_HIDDEN void mn_preempt_m_kinit(struct mn_m *m);
MN_HIDDEN bool mn_syscall_rejoin(struct mn_m *m, struct mn_g *g);
MN_HIDDEN void mn_retire(struct mn_m *m, struct mn_g *g);
MN_HIDDEN pid_t mn_p_tid(struct mn_p *p);
MN_HIDDEN char mn_thread_stat(pid_t tid, long *cpu);

/* ---- runq.c ---- */

MN_HIDDEN void mn_runqput(struct mn_p *p, struct mn_g *g, bool next);
MN_HIDDEN void mn_runqput_next_front(struct mn_p *p, struct mn_g *g);
MN_HIDDEN void mn_runqput_front(struct mn_p *p, struct mn_g *g);
MN_HIDDEN struct mn_g *mn_runqget(struct mn_p *p, bool *inherit);
MN_HIDDEN struct mn_g *mn_runqget_queue(struct mn_p *p);

/* p's runnext G, taken (owner only), or NULL.  Inline: the switch path. */
static inline struct mn_g *mn_runqget_next(struct mn_p *p)
{
	struct mn_g *next = atomic_load_explicit(&p->runnext,
						 memory_order_relaxed);

	/* A thief may take it between the load and the CAS. */
	if (next && atomic_compare_exchange_strong_explicit(&p->runnext, &next,
			NULL, memory_order_acquire, memory_order_relaxed))
		return next;
	return NULL;
}
MN_HIDDEN bool mn_runqempty(struct mn_p *p);
MN_HIDDEN uint32_t mn_runqlen(struct mn_p *p);
MN_HIDDEN void mn_globrunqput(struct mn_g *g);	/* sched.lock held */
MN_HIDDEN void mn_globrunqput_batch(struct mn_g *head, struct mn_g *tail, int n);
MN_HIDDEN struct mn_g *mn_globrunqget(struct mn_p *p, int max);	/* lock held */
MN_HIDDEN uint32_t mn_runqgrab(struct mn_p *p, struct mn_g **batch,
			       uint32_t batchhead, bool steal_runnext);

/* ---- park.c ---- */

MN_HIDDEN int mn_parker_select(void);

/* ---- steal.c ---- */

MN_HIDDEN struct mn_g *mn_steal_work(struct mn_m *m, bool *ran_timers);

/* ---- stack.c ---- */

MN_HIDDEN int mn_stack_init(void);
MN_HIDDEN int mn_stack_install_handler(void);
MN_HIDDEN struct mn_stack_pool *mn_stack_pool_new(void);
MN_HIDDEN bool mn_stack_scavenge(uint64_t now);
MN_HIDDEN struct mn_g *mn_galloc(struct mn_p *p, size_t stack_size, int *err);
MN_HIDDEN void mn_gfree(struct mn_p *p, struct mn_g *g);
extern bool mn_stack_guarded MN_HIDDEN;
MN_HIDDEN void mn_stack_overflow(struct mn_g *g) __attribute__((noreturn));
MN_HIDDEN void mn_stack_overflow_sp(struct mn_g *g, char *sp)
	__attribute__((noreturn, cold));
#define MN_STACK_CANARY	0x6d6e736368656421ull	/* "mnsched!" */

/*
 * At every switch away from g (running on its stack): its stack pointer
 * must be inside its stack (a frame bigger than the guard may have jumped
 * over guard and canary alike), and, without guard pages, the canary in
 * the guard's last word must be intact.  Inline: one compare more than the
 * canary check it replaces, and no call.
 */
static inline void mn_stack_check(struct mn_g *g)
{
	char *sp = __builtin_frame_address(0);

	if (unlikely(sp < g->stack_lo))
		mn_stack_overflow_sp(g, sp);
	if (!mn_stack_guarded && !g->is_g0 &&
	    unlikely(((uint64_t *)g->stack_lo)[-1] != MN_STACK_CANARY))
		mn_stack_overflow(g);
}
MN_HIDDEN int mn_stack_sigaltstack(struct mn_m *m);
MN_HIDDEN void mn_for_each_g(void (*fn)(struct mn_g *g, void *arg), void *arg);

/* ---- sysmon.c ---- */

MN_HIDDEN int mn_sysmon_start(void);

/* ---- timer.c: hooks the scheduler calls ---- */

/* Run due timers of p; returns the next deadline (ns) or -1. */
MN_HIDDEN int64_t mn_timers_run(struct mn_p *p, uint64_t now);
static inline int64_t mn_timers_next(struct mn_p *p)
{
	int64_t w = atomic_load_explicit(&p->timer0_when, memory_order_relaxed);

	return w ? w : -1;
}
MN_HIDDEN void mn_timers_init(struct mn_p *p);
MN_HIDDEN bool mn_timers_any(void);

/* ---- I/O hooks (uring.c, io_blocking.c) ---- */

MN_HIDDEN int mn_io_init(void);
/* p's owner: submit p's queued requests and reap its ring.  Every G whose
 * I/O completed goes to p's run queue but one, which is returned. */
MN_HIDDEN struct mn_g *mn_io_poll(struct mn_p *p);
/* A spinning M holding p: reap the rings of idle Ps into p. */
MN_HIDDEN struct mn_g *mn_io_poll_idle(struct mn_p *p);
/* m now holds p: a different M waiting on p's ring goes elsewhere. */
MN_HIDDEN void mn_io_acquired(struct mn_m *m, struct mn_p *p);
MN_HIDDEN bool mn_io_inflight(struct mn_p *p);
MN_HIDDEN bool mn_io_pending(void);
/* sysmon, every tick: submit and reap rings nobody looked at since the
 * previous tick (a busy or blocked P's); true if it found any work. */
MN_HIDDEN bool mn_io_sysmon(uint64_t now);

/* ---- env.c ---- */

MN_HIDDEN int mn_env_init(void);

#endif /* MN_RUNTIME_H */
