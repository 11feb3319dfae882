// SPDX-License-Identifier: MIT
/*
 * proc.c - the scheduler: Gs on Ms on Ps, after Go's runtime/proc.go.
 *
 * Switching.  A G gives up its M in one of three ways:
 *   yield   - it goes to the tail of the local queue;
 *   gopark  - it waits on something (a channel, a timer) under a lock;
 *   exit    - it is dead and its stack goes back to the pool.
 * In each case the G picks the next G from its P's local queue and switches
 * to it directly (one switch, no trip through the scheduler stack).  Only
 * when the local queue is empty does it switch to g0, the M's scheduler
 * context on the thread's own stack, which runs findrunnable(): global
 * queue, I/O, timers, stealing, and finally parking the M.  ("park" in
 * this file is an M's sleep in the parker; a G that waits goparks.)
 *
 * The G that left is "finished" by whoever runs next on that M
 * (mn_after_switch): only then are its registers saved, so only then may it
 * become visible to other Ms (queued, or its wait lock released).
 *
 * Spinning Ms and wake-ups (Go's wakep/resetspinning protocol):
 *   - A G made runnable (goready, mn_go) is published in a run queue first,
 *     then mn_wakep() reads npidle and nmspinning: if there is an idle P and
 *     no spinning M, it starts one M spinning.
 *   - A spinning M that finds work stops spinning (resetspinning) and, if it
 *     was the last spinner, calls wakep itself, so another M looks for the
 *     rest of the work.
 *   - An M that finds nothing looks at the global queue under sched.lock,
 *     releases its P, decrements nmspinning if it was spinning, and only
 *     then re-checks every queue again (the last look): the global one and
 *     every P's, runnext included.  Every M does, spinning or not: one that
 *     never started spinning (the bound below) may be the M a readier
 *     counted on when it saw no idle P.
 *   - A thief takes a busy P's runnext after ~3 us if the owner has not
 *     run it by then (runq.c); sysmon's safety net moves runnext work
 *     stranded for 10 ms anyway (sysmon.c).
 * No lost wake-up: the readier does (publish G; load nmspinning) and the
 * spinner does (store nmspinning-1; load queues), all seq_cst, so at least
 * one of them sees the other: either the readier sees a spinner (which will
 * find the G in its re-check) or the spinner finds the G.  The re-check must
 * cover every queue a readier may publish to, the global one included (a G
 * whose M left a syscall without a P, a G readied from a plain thread): a
 * readier that saw the spinner leaves the wake-up to it.  An M parks only
 * through the parker, whose token keeps an unpark that arrives before the
 * park (see park.h).  selftests/mnsched/rt_wakeup_stress.c hunts for this
 * race.
 *
 * Bounded spinning: an M starts spinning only while 2*nmspinning is less
 * than the number of busy Ps.
 *
 * Idle Ms, spares and SWAP.  An M with no P goes on the idle list
 * (sched.midle, under sched.lock) and parks through the parker stack
 * (park.h): with io_uring it may sleep in an idle P's ring instead (the
 * ring parker), else in the base parker (futex, or the module).  startm
 * takes an idle M off the list, sets its nextp under sched.lock and unparks
 * it; the M reads nextp under the lock after every return from the parker,
 * so spurious returns are harmless.  With the module, one idle M parks as a
 * spare (park_spare, the SPARE ioctl): when an M blocks in a system call
 * holding a P in state SYSCALL, the module hands that P to the spare at
 * once (take_handed_p), and startm keeps one spare waiting (newm; one
 * started and not yet idle counts, sched.nspare_new).  Which P an M
 * holds, the module learns at system call entry, and only when it may not
 * know (mn_kernel_p_set): acquiring and releasing a P cost no ioctl.
 * SWAP: an M leaving a system call with no idle P queues its G globally
 * and parks (g_to_global, MN_AFTER_GLOBAL).  If a P went idle meanwhile,
 * wakep's startm does not unpark the M it chose but leaves it in
 * m->swap_to (m->defer_wake), and stopm wakes it and parks in one call, the
 * parker's swap: the module's SWAP runs the target on this CPU as this M
 * sleeps.  The ring parker keeps that SWAP unless the target sleeps in a
 * ring (park_ring.c: it then unparks and parks).  If the M finds work
 * before parking, findrunnable unparks swap_to instead.
 *
 * Time slices.  p->schedtick counts slices, sysmon's clock: a G switched to
 * after a yield, or taken from the queue, starts one; a G taken from
 * runnext (a channel hand-off, a child-first spawn) runs in the slice of
 * the G before it, as Go's inheritTime, unless the P ran no G since it was
 * acquired or handed off (a new slice then).  Every 61st slice the global
 * queue goes first.
 *
 * Preemption (preempt.c).  An M may run a G without a P: a G that overran
 * its slice, whose thread gave the P up in its SIGURG handler (only while
 * not inside the runtime: runtime.h, "where the handler may not take the
 * P") and runs it demoted.  Such an M is not idle (checkdead counts it as
 * running); at its G's next mn_* call it rejoins as mn_syscall_exit does,
 * or, if it cannot get its priority back, queues the G globally and exits
 * (mexit: its struct is kept for the next newm, on allm, as the tools walk
 * that list).  A G never resumes on another thread except at an mn_* call.
 *
 * Deadlock (mn_checkdead, under sched.lock when an M goes idle): declared
 * only when no G can run or be woken by the runtime (no running M, no G in
 * a syscall, empty queues, no timer, no I/O in flight) and no thread other
 * than the runtime's is alive: a plain thread may wake a G at any time.
 * While one is, sysmon looks again every 100 ms.  Without /proc threads
 * cannot be counted and nothing is declared.
 *
 * fork(): the child may only exec or _exit; the atfork child handler makes
 * every other runtime call abort naming it (see "fork()" below).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "runtime.h"
#include "debug.h"
#include "san.h"

struct mn_sched mn_sched MN_HIDDEN = { .lock = MN_LOCK_INIT };
__thread struct mn_m *mn_tls_m __attribute__((tls_model("initial-exec"))) MN_HIDDEN;
__thread uint8_t mn_tls_rt __attribute__((tls_model("initial-exec"))) MN_HIDDEN;

static void schedule(struct mn_m *m) __attribute__((noreturn));
static void startm(struct mn_p *p, bool spinning);

uint64_t mn_nanotime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void mn_fatal(const char *fmt, ...)
{
	MN_MARK();
	va_list ap;

	fputs("mnsched: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

/*
 * A runtime thread of ours (sysmon, the debug thread, a dump's helper)
 * takes no signal meant for the program, but the faults: a SIGSEGV or
 * SIGBUS raised while blocked kills the process with no word, where
 * unblocked it reaches stack.c's handler or a sanitizer's report.
 */
void mn_block_signals_but_faults(void)
{
	sigset_t set;

	sigfillset(&set);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGFPE);
	sigdelset(&set, SIGILL);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
}

/*
 * fork().  The child of a process running mnsched has one thread, the
 * caller's; the Ms, sysmon and every P stay in the parent.  As in Go, the
 * child may only exec or _exit (posix_spawn, system() and popen() use
 * vfork-like clones that run no fork handlers, and are fine).  The child
 * handler makes the rest abort with a message: the thread is no M any
 * more (mn_need_m's slow path, so every call that can block), started is
 * false (mn_go, mn_main, timers), waking a G or meeting a lock that a
 * parent's thread held is fatal; the calls left (a try_ call that wakes
 * nobody) touch only the child's copy of memory.  The mappings the parent
 * shares (P structs in the memfd, io_uring rings; the module's P pages are
 * VM_DONTCOPY) are MADV_DONTFORK: not even a stray store reaches the
 * parent, and a fault there is reported (stack.c).
 */
_Atomic bool mn_in_fork_child MN_HIDDEN;

/*
 * In the child only async-signal-safe calls are sure to work (a parent's
 * thread may have held a stdio or malloc lock at fork): writev and abort,
 * not mn_fatal's stdio.
 */
void mn_fork_fatal(const char *what)
{
	MN_MARK();
	static const char pre[] = "mnsched: ", post[] = " called in a child "
		"process after fork(): the child of a process running mnsched "
		"may only exec or _exit (the runtime's threads stayed in the "
		"parent)\n";
	struct iovec iov[3] = {
		{ (void *)pre, sizeof(pre) - 1 },
		{ (void *)what, strlen(what) },
		{ (void *)post, sizeof(post) - 1 },
	};

	if (writev(2, iov, 3) < 0)
		_exit(134);
	abort();
}

/* Runs in the child before fork() returns: async-signal-safe (atomic
 * stores and a TLS store, nothing that could wait for a lock). */
static void atfork_child(void)
{
	atomic_store(&mn_in_fork_child, true);
	atomic_store(&mn_sched.started, false);
	mn_setm(NULL);
}

/* The calling M, or a clear abort for calls that need one. */
struct mn_m *mn_need_m(const char *what)
{
	struct mn_m *m = mn_curm();

	if (unlikely(!m || !m->curg || m->curg->is_g0)) {
		if (atomic_load(&mn_in_fork_child))
			mn_fork_fatal(what);
		mn_fatal("%s called outside a goroutine (from a thread that is not "
			 "an mnsched M); start the runtime with mn_main() and call "
			 "it from a G", what);
	}
	return m;
}

static const char *const waitreasons[MN_WAIT__COUNT] = {
#define MN_WAITREASON_STR(name, str) [MN_WAIT_##name] = str,
	MN_WAITREASONS(MN_WAITREASON_STR)
#undef MN_WAITREASON_STR
};

const char *mn_waitreason_str(int r)
{
	if (r < 0 || r >= MN_WAIT__COUNT || !waitreasons[r])
		return "unknown";
	return waitreasons[r];
}

/* ---- switching ---------------------------------------------------------- */

/*
 * g runs on p now.  A new time slice (schedtick, sysmon's clock) starts
 * unless g inherits the current one (MN_AFTER_INHERIT): a G taken from
 * runnext, or switched to directly (a channel hand-off, a child-first
 * spawn), after a G that did not yield.  Those switches are counted in
 * ninherit, p-local: one store per switch either way (sysmon publishes the
 * sum as the switches counter; a second store to the shared page cost 2%
 * of a yield).
 */
static inline void publish_running(struct mn_p *p, struct mn_g *g, bool newslice)
{
	MN_SH_SET(p, goid, g->goid);
	if (newslice) {
		MN_SH_SET(p, schedtick, ++p->schedtick);
	} else {
		MN_RELAXED_SET(p->ninherit, p->ninherit + 1);
	}
}

/* Every G switch on p (owner only). */
static inline uint64_t nswitch(struct mn_p *p)
{
	return p->schedtick + p->ninherit;
}

/*
 * Switch from prev (the running G or g0) to next.  Returns when prev runs
 * again, possibly on another M: nothing M-local may be kept across it.
 */
static inline void switch_to(struct mn_m *m, struct mn_g *prev,
			     struct mn_g *next, bool dying)
{
	mn_stack_check(prev);
	prev->errno_save = *m->errno_loc;
	m->curg = next;
	mn_san_before_switch(prev, next, dying);
	mn_g_switch(&prev->sp, next->sp);
	mn_san_after_switch(prev);
	m = mn_curm();			/* maybe another M now */
	*m->errno_loc = prev->errno_save;
	mn_after_switch(m);
}

void mn_after_switch(struct mn_m *m)
{
	struct mn_g *prev = m->pending_g;
	struct mn_g *g = m->curg;
	int what = m->pending;

	m->pending = MN_AFTER_NONE;
	switch (what & MN_AFTER_MASK) {
	case MN_AFTER_NONE:
		break;
	case MN_AFTER_READY_LOCAL:
		atomic_store_explicit(&prev->status, MN_G_RUNNABLE,
				      memory_order_relaxed);
		mn_runqput(m->p, prev, false);
		break;
	case MN_AFTER_READY_NEXT:
		atomic_store_explicit(&prev->status, MN_G_RUNNABLE,
				      memory_order_relaxed);
		/* A G it displaces from runnext goes to the head of the queue:
		 * the continuation of a spawner runs before older work, so
		 * spawn trees are walked depth-first (see runq.c). */
		mn_runqput_next_front(m->p, prev);
		/* As Go's newproc: wake an idle P's M.  If the new G runs
		 * long without a scheduling point, that M takes the caller
		 * from runnext (runqgrab: the owner did not switch for 3 us);
		 * if the new G stops soon, the caller runs here and the
		 * spinning M goes back to sleep.  wakep costs two loads while
		 * an M is already spinning. */
		mn_wakep();
		break;
	case MN_AFTER_READY_FRONT:
		atomic_store_explicit(&prev->status, MN_G_RUNNABLE,
				      memory_order_relaxed);
		mn_runqput_front(m->p, prev);
		break;
	case MN_AFTER_UNLOCK:
		mn_unlock(m->pending_arg);
		break;
	case MN_AFTER_CALL:
		if (m->pending_fn)
			m->pending_fn(prev, m->pending_arg);
		break;
	case MN_AFTER_GLOBAL:
		atomic_store_explicit(&prev->status, MN_G_RUNNABLE,
				      memory_order_relaxed);
		mn_lock(&mn_sched.lock);
		mn_globrunqput(prev);
		mn_unlock(&mn_sched.lock);
		/* This M has no P and parks next (stopm): an M woken for the G
		 * is woken by the same call that parks us (SWAP). */
		m->defer_wake = !m->retire;	/* a retiring M exits */
		mn_wakep();
		m->defer_wake = false;
		break;
	case MN_AFTER_FREE:
		mn_san_g_freed(prev);
		mn_gfree(m->p, prev);
		break;
	}
	if (!g->is_g0) {
		MN_PROBE(g_start, g->goid, m->p->id, m->id);
		publish_running(m->p, g, !(what & MN_AFTER_INHERIT));
	}
}

/*
 * prev gives up the M (its pending action is already set).  Run the next G
 * of the local queue, or go to g0 to look further.
 */
static void schedule_next(struct mn_m *m, struct mn_g *prev, bool dying)
{
	struct mn_p *p = m->p;
	struct mn_g *next = NULL;

	/* Every 61st slice the global queue goes first (fairness, as Go's
	 * schedtick % 61): g0 does it; every 16th switch, due timers. */
	if (likely(p->schedtick % MN_GLOBAL_TICK != 0 ||
		   atomic_load_explicit(&mn_sched.runqsize,
					memory_order_relaxed) == 0) &&
	    likely(atomic_load_explicit(&p->timer0_when, memory_order_relaxed) == 0 ||
		   (nswitch(p) & 15) != 0)) {
		next = mn_runqget_next(p);
		/* From runnext: it keeps the slice, unless prev yielded. */
		if (next && m->pending != MN_AFTER_READY_LOCAL)
			m->pending |= MN_AFTER_INHERIT;
		else if (!next)
			next = mn_runqget_queue(p);
	}
	if (next) {
		atomic_store_explicit(&next->status, MN_G_RUNNING,
				      memory_order_relaxed);
		switch_to(m, prev, next, dying);
	} else {
		switch_to(m, prev, &m->g0, dying);
	}
}

void mn_gopark(void (*unlockf)(struct mn_g *, void *), void *arg, int reason)
{
	struct mn_m *m = mn_curm();
	struct mn_g *g = m->curg;

	g->waitreason = reason;
	g->waitsince = atomic_load_explicit(&mn_debug_now, memory_order_relaxed);
	atomic_store_explicit(&g->status, MN_G_WAITING, memory_order_relaxed);
	m->pending = MN_AFTER_CALL;
	m->pending_g = g;
	m->pending_fn = unlockf;
	m->pending_arg = arg;
	MN_PROBE(g_park, g->goid, reason);
	schedule_next(m, g, false);
}

/* Park releasing an mn_lock after the switch (channels, sync). */
void mn_gopark_unlock(struct mn_lock *l, int reason)
{
	struct mn_m *m = mn_curm();
	struct mn_g *g = m->curg;

	g->waitreason = reason;
	g->waitsince = atomic_load_explicit(&mn_debug_now, memory_order_relaxed);
	atomic_store_explicit(&g->status, MN_G_WAITING, memory_order_relaxed);
	m->pending = MN_AFTER_UNLOCK;
	m->pending_g = g;
	m->pending_arg = l;
	MN_PROBE(g_park, g->goid, reason);
	schedule_next(m, g, false);
}

void mn_goready(struct mn_g *g)
{
	struct mn_m *m = mn_curm();

	MN_PROBE(g_unblock, g->goid, m && m->curg ? m->curg->goid : 0);
	g->waitreason = MN_WAIT_NONE;
	g->runnable_since = 0;
	atomic_store_explicit(&g->status, MN_G_RUNNABLE, memory_order_relaxed);
	if (likely(m && m->p)) {
		mn_runqput(m->p, g, true);
	} else {
		/* Not on an M with a P (a plain thread, or inside a syscall). */
		if (unlikely(atomic_load(&mn_in_fork_child)))
			mn_fork_fatal("a call that wakes a goroutine");
		mn_lock(&mn_sched.lock);
		mn_globrunqput(g);
		mn_unlock(&mn_sched.lock);
	}
	mn_wakep();
}

/*
 * Make g runnable and run it now; the caller waits in runnext.  Used when
 * a receiver takes the value of a blocked sender on an unbuffered channel:
 * the sender usually has little left to do, and running it at once, on its
 * hot stack, instead of queueing it behind older work keeps the number of
 * live Gs (and the cache footprint) small.  Only from a running G that
 * holds no runtime lock.
 */
void mn_goready_run(struct mn_g *g)
{
	struct mn_m *m = mn_curm();
	struct mn_g *cur = m ? m->curg : NULL;

	if (!cur || cur->is_g0 || !m->p || m->pending != MN_AFTER_NONE) {
		mn_goready(g);
		return;
	}
	MN_PROBE(g_unblock, g->goid, cur->goid);
	g->waitreason = MN_WAIT_NONE;
	atomic_store_explicit(&g->status, MN_G_RUNNING, memory_order_relaxed);
	atomic_store_explicit(&cur->status, MN_G_RUNNABLE, memory_order_relaxed);
	/* g keeps the slice, as if taken from runnext. */
	m->pending = MN_AFTER_READY_NEXT | MN_AFTER_INHERIT;
	m->pending_g = cur;
	switch_to(m, cur, g, false);
}

void mn_yield(void)
{
	MN_ENTER_FAST_P();
	struct mn_m *m = mn_need_m("mn_yield");
	struct mn_p *p = m->p;
	struct mn_g *g;

	MN_REJOIN_IF_NO_P(m, p);
	g = m->curg;
	MN_RELAXED_SET(p->preempt, false);
	if (mn_runqempty(p) &&
	    atomic_load_explicit(&mn_sched.runqsize, memory_order_relaxed) == 0 &&
	    atomic_load_explicit(&p->timer0_when, memory_order_relaxed) == 0)
		return;		/* nothing else to run here */
	atomic_store_explicit(&g->status, MN_G_RUNNABLE, memory_order_relaxed);
	m->pending = MN_AFTER_READY_LOCAL;
	m->pending_g = g;
	schedule_next(m, g, false);
}

void mn_preempt_check_slow(struct mn_m *m)
{
	if (m->curg && !m->curg->is_g0)
		mn_yield();
}

void mn_preempt_point(void)
{
	MN_ENTER_FAST();
	mn_preempt_check();
}

/* ---- Gs ---------------------------------------------------------------- */

#define GOID_BATCH 16

static uint64_t newgoid(struct mn_p *p)
{
	if (!p)
		return atomic_fetch_add(&mn_sched.goidgen, 1) + 1;
	if (p->goidcache == p->goidcacheend) {
		p->goidcache = atomic_fetch_add(&mn_sched.goidgen, GOID_BATCH) + 1;
		p->goidcacheend = p->goidcache + GOID_BATCH;
	}
	return p->goidcache++;
}

void mn_g_start(void) MN_HIDDEN __attribute__((noreturn));
void mn_g_start(void)
{
	struct mn_m *m = mn_curm();
	struct mn_g *g = m->curg;

	mn_san_after_switch(g);
	*m->errno_loc = 0;
	mn_after_switch(m);
	(void)mn_rt_user_begin();	/* preemptible from here (preempt.c) */
	g->fn(g->arg);
	mn_exit();
}

/* Lay out a frame that mn_g_switch "returns" from into the trampoline. */
static void g_setup_stack(struct mn_g *g)
{
	uint64_t *sp = (uint64_t *)((uintptr_t)g->stack_hi & ~(uintptr_t)15);

	*--sp = 0;				/* fake return address of the trampoline */
	*--sp = (uint64_t)mn_g_trampoline;	/* ret target */
	for (int i = 0; i < 6; i++)
		*--sp = 0;			/* rbp rbx r12 r13 r14 r15 */
	*--sp = 0x037Full << 32 | 0x1F80;	/* x87 CW | MXCSR defaults */
	g->sp = sp;
}

static struct mn_g *newproc(void (*fn)(void *), void *arg, size_t stack_size,
			    void *gopc, int *err)
{
	struct mn_m *m = mn_curm();
	struct mn_p *p = m ? m->p : NULL;
	struct mn_g *g;

	if (!fn) {
		*err = -EINVAL;
		return NULL;
	}
	/* p is NULL on a plain thread: the global pool is used. */
	g = mn_galloc(p, stack_size, err);
	if (!g)
		return NULL;
	g->fn = fn;
	g->arg = arg;
	/* Runtime code until mn_g_start hands over to fn (mn_rt_user_begin):
	 * in a sanitizer build its instrumentation calls out there. */
	g->rt_mark = 1;
	g->goid = newgoid(p);
	g->parent = m && m->curg ? m->curg->goid : 0;
	g->gopc = gopc;
	if (unlikely(m && m->curg && m->curg->labels))
		mn_labels_inherit(g, m->curg);
	mn_san_g_created(g);
	g_setup_stack(g);
	if (p)
		MN_PCOUNT(p, gcreates);
	MN_PROBE(g_create, g->goid, g->parent);
	atomic_store_explicit(&g->status, MN_G_RUNNABLE, memory_order_relaxed);
	return g;
}

/* gopc: where mn_go was called from (dumps name the creator). */
static inline __attribute__((always_inline))
int go_opts(void (*fn)(void *), void *arg, const struct mn_go_opts *o,
	    void *gopc)
{
	struct mn_m *m;
	struct mn_g *g;
	int err = 0;

	if (o && (o->flags & ~MN_GO_DEFER))
		return -EINVAL;
	if (!atomic_load(&mn_sched.started)) {
		if (atomic_load(&mn_in_fork_child))
			mn_fork_fatal("mn_go");
		return -ENOTCONN;	/* mn_main has not run */
	}
	g = newproc(fn, arg, o ? o->stack_size : 0, gopc, &err);
	if (!g)
		return err;
	if (o)
		g->name = o->name;
	m = mn_curm();
	if (m && m->p && m->curg && !m->curg->is_g0 &&
	    !(o && (o->flags & MN_GO_DEFER))) {
		/* Child first: run g now, the caller goes to runnext.  Unless
		 * runnext holds a G the caller readied (a sender it took a
		 * value from, say): that G was promised the next turn and
		 * usually just returns and exits, so the caller waits at the
		 * head of the queue behind it.  Displaced to the queue, it
		 * would wait while the caller goes on readying more of its
		 * kind: a spawner that never blocks (a G per request with
		 * many in flight, spawn_churn) kept every finished G alive,
		 * a fresh stack per spawn. */
		struct mn_g *cur = m->curg;

		/* The spawner's slice goes on. */
		m->pending = (atomic_load_explicit(&m->p->runnext,
						   memory_order_relaxed) &&
			      !m->p->runnext_cont ? MN_AFTER_READY_FRONT :
			      MN_AFTER_READY_NEXT) | MN_AFTER_INHERIT;
		m->pending_g = cur;
		atomic_store_explicit(&g->status, MN_G_RUNNING,
				      memory_order_relaxed);
		switch_to(m, cur, g, false);
		return 0;
	}
	if (m && m->p) {
		mn_runqput(m->p, g, true);
	} else {
		mn_lock(&mn_sched.lock);
		mn_globrunqput(g);
		mn_unlock(&mn_sched.lock);
	}
	mn_wakep();
	return 0;
}

int mn_go_opts(void (*fn)(void *), void *arg, const struct mn_go_opts *o)
{
	MN_ENTER_FAST();
	return go_opts(fn, arg, o, __builtin_return_address(0));
}

int mn_go(void (*fn)(void *), void *arg)
{
	MN_ENTER_FAST();
	return go_opts(fn, arg, NULL, __builtin_return_address(0));
}

/* Debug hook for the TLS test: the kernel tid of the calling G's M. */
__attribute__((visibility("default"))) pid_t mn_debug_mtid(void);
pid_t mn_debug_mtid(void)
{
	struct mn_m *m = mn_curm();

	return m ? m->tid : 0;
}

uint64_t mn_goid(void)
{
	struct mn_g *g = mn_curg();

	return g && !g->is_g0 ? g->goid : 0;
}

void mn_exit(void)
{
	MN_ENTER_FAST();
	struct mn_m *m = mn_need_m("mn_exit");
	struct mn_g *g = m->curg;

	MN_PROBE(g_exit, g->goid);
	if (unlikely(g->labels))
		mn_labels_drop(g);
	if (g->is_main) {
		atomic_store(&mn_sched.done, true);
		atomic_store(&mn_sched.main_done_word, 1);
		mn_futex(&mn_sched.main_done_word, FUTEX_WAKE_PRIVATE, 1, NULL);
	}
	atomic_store_explicit(&g->status, MN_G_DEAD, memory_order_relaxed);
	m->pending = MN_AFTER_FREE;
	m->pending_g = g;
	schedule_next(m, g, true);
	__builtin_unreachable();
}

/* ---- Ps and Ms --------------------------------------------------------- */

/*
 * The module's view of who holds a P, kept lazily.  The module looks at a
 * P's holder only when an M blocks while the P is in state SYSCALL, so
 * acquirep and releasep tell it nothing (with the module, an ioctl each per
 * wake-up of an M: 2 of the 4 system calls of an idle/wake cycle, which
 * the futex parker does in 2), and mn_syscall_enter tells it only when it
 * may not know: mn_kernel_p_sync.
 *
 * In the module, a P has at most one holder, and it changes when an M sets
 * it (SET_P: the previous holder loses it), when a spare takes it from a
 * blocked M (SPARE), or when its holder sets another P, enters SPARE or
 * exits.  m->kp is the P this M last became the holder of, -1 when it may
 * hold none; every M that becomes a P's holder bumps the P's kgen while it
 * owns the P, and m->kgen notes the value it left.  So "m->kp is p and
 * m->kgen is p->kgen" means no M has become p's holder since m did, and the
 * module still has m as p's holder: the SET_P can be skipped.  The one
 * change no kgen records is a spare that took the P in SPARE and then lost
 * the P's CAS: to this M leaving its system call (caught by the P's
 * k_handoffs count in mn_syscall_rejoin), or to sysmon's retake, after
 * which the P may come back to this M idle (so an M whose P was taken in
 * SYSCALL forgets it held one: m->kp = -1 there).  A wrong "holds none"
 * costs one ioctl; the rule never says "holds" when the module says
 * otherwise.
 *
 * The module's preemption (kmod/preempt.c) changes the holder too: it makes
 * the M the page names the holder (the SET_P not made yet), then takes the
 * P from it and leaves it to a spare.  It counts that in the page
 * (k_preempts), and the generation an M notes is kgen + k_preempts
 * (mn_kernel_p_gen): after a module preemption of p, every M's note of p is
 * stale.
 */
/* The module made m the holder of p, which m owns (kgen: a plain store). */
static void kernel_p_noted(struct mn_m *m, struct mn_p *p)
{
	++p->kgen;
	m->kgen = mn_kernel_p_gen(p);
	m->kp = p->id;
}

void mn_kernel_p_set(struct mn_m *m, struct mn_p *p)
{
	if (!mn_sched.parker->set_p)
		return;
	if (p)
		kernel_p_noted(m, p);
	else
		m->kp = -1;
	mn_sched.parker->set_p(&m->park, p ? p->id : -1);
}

static void acquirep(struct mn_m *m, struct mn_p *p)
{
	m->p = p;
	p->m = m;
	MN_SH_SET(p, m_id, m->park.kid >= 0 ? m->park.kid : m->id);
	mn_pstatus_set(p, MNSCHED_P_RUNNING);
	MN_PROBE(proc_start, p->id, m->id);
}

static struct mn_p *releasep(struct mn_m *m)
{
	struct mn_p *p = m->p;

	MN_PROBE(proc_stop, p->id, m->id);
	p->m = NULL;
	MN_SH_SET(p, goid, 0);
	MN_SH_SET(p, m_id, -1);
	m->p = NULL;
	mn_pstatus_set(p, MNSCHED_P_IDLE);
	/* No SET_P(-1): see mn_kernel_p_set. */
	return p;
}

/* sched.lock held */
static void pidleput(struct mn_p *p)
{
	p->link = mn_sched.pidle;
	mn_sched.pidle = p;
	atomic_fetch_add(&mn_sched.npidle, 1);
}

/* sched.lock held */
static struct mn_p *pidleget(void)
{
	struct mn_p *p = mn_sched.pidle;

	if (p) {
		mn_sched.pidle = p->link;
		atomic_fetch_sub(&mn_sched.npidle, 1);
	}
	return p;
}

/* Take an idle P, want if it is idle (want may be NULL); sched.lock not
 * held. */
static struct mn_p *pidleget_lock(struct mn_p *want)
{
	struct mn_p *p = NULL, **pp;

	mn_lock(&mn_sched.lock);
	for (pp = &mn_sched.pidle; want && *pp; pp = &(*pp)->link) {
		if (*pp == want) {
			p = want;
			*pp = p->link;
			atomic_fetch_sub(&mn_sched.npidle, 1);
			break;
		}
	}
	if (!p)
		p = pidleget();
	mn_unlock(&mn_sched.lock);
	return p;
}

/* sched.lock held */
static struct mn_m *mget(void)
{
	struct mn_m *m = mn_sched.midle;

	if (m) {
		mn_sched.midle = m->schedlink;
		mn_sched.nmidle--;
	}
	return m;
}

/* Take m off the idle list if it is still there; sched.lock held. */
static bool midle_remove(struct mn_m *m)
{
	struct mn_m **pp = &mn_sched.midle;

	while (*pp && *pp != m)
		pp = &(*pp)->schedlink;
	if (!*pp)
		return false;
	*pp = m->schedlink;
	mn_sched.nmidle--;
	return true;
}

static void *mstart(void *arg);

/* Start a new M that will take p (NULL: it starts idle, e.g. as a spare).
 * On failure p goes back to the idle list. */
static void newm(struct mn_p *p, bool spinning)
{
	MN_MARK();
	struct mn_m *m, *self = mn_curm();
	pthread_attr_t attr;
	bool reused;
	int err;

	/* A new thread inherits its creator's nice value and policy: one
	 * made by a preempted thread that could not get its priority back
	 * (a retiring M, preempt.c) would be an M at nice 19 or SCHED_IDLE
	 * for good, whose base priority that is.  sysmon starts it instead,
	 * at its next tick (20 us while preemptions happen). */
	if (self && self->retire) {
		if (spinning)
			atomic_fetch_sub(&mn_sched.nmspinning, 1);
		mn_lock(&mn_sched.lock);
		if (p)
			pidleput(p);
		else
			mn_sched.nspare_new--;	/* no spare on its way */
		mn_unlock(&mn_sched.lock);
		atomic_store(&mn_sched.wakep_deferred, true);
		return;
	}
	/* The struct of a retired M (mexit), still on allm, or a new one. */
	mn_lock(&mn_sched.lock);
	m = mn_sched.mfree;
	if (m) {
		struct mn_m *all = m->alllink;
		void *altstack = m->altstack;

		mn_sched.mfree = m->schedlink;
		memset(m, 0, sizeof(*m));
		m->alllink = all;
		m->altstack = altstack;
		mn_sched.mcount++;
	}
	mn_unlock(&mn_sched.lock);
	reused = m != NULL;
	if (!m)
		m = calloc(1, sizeof(*m));
	if (!m)
		goto fail;
	m->id = atomic_fetch_add(&mn_sched.mnext, 1);
	m->spare_new = !p;	/* counted in nspare_new by our caller */
	m->nextp = p;
	m->spinning = spinning;
	m->fastrand = (uint32_t)(m->id * 0x9E3779B9u) | 1;
	m->g0.is_g0 = true;
	m->park.kid = -1;
	m->kp = -1;
	if (!reused) {
		mn_lock(&mn_sched.lock);
		m->alllink = mn_sched.allm;
		mn_sched.allm = m;
		mn_sched.mcount++;
		mn_unlock(&mn_sched.lock);
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	err = pthread_create(&m->thread, &attr, mstart, m);
	pthread_attr_destroy(&attr);
	if (err == 0)
		return;
	mn_lock(&mn_sched.lock);
	mn_sched.mcount--;	/* m stays on allm, for the next newm */
	m->dead = true;
	m->schedlink = mn_sched.mfree;
	mn_sched.mfree = m;
	mn_unlock(&mn_sched.lock);
fail:
	fprintf(stderr, "mnsched: cannot start an M thread; running with fewer\n");
	if (spinning)
		atomic_fetch_sub(&mn_sched.nmspinning, 1);
	mn_lock(&mn_sched.lock);
	if (p)
		pidleput(p);
	else
		mn_sched.nspare_new--;
	mn_unlock(&mn_sched.lock);
}

/* Hand p (or an idle P if NULL) to an idle M, or a new one. */
static void startm(struct mn_p *p, bool spinning)
{
	struct mn_m *nm, *self;
	bool need_spare;

	mn_lock(&mn_sched.lock);
	if (!p) {
		p = pidleget();
		if (!p) {
			/*
			 * Undo the caller's nmspinning increment before the
			 * unlock, as Go's wakep does: an M that gives up its P
			 * without spinning (the 2*nmspinning bound) re-checks
			 * nothing, and a readier that sees this transient
			 * increment leaves the wake-up to a spinner.  Under the
			 * lock, such a P is either already idle (we took it) or
			 * given up after the decrement, and the readier of a G
			 * queued after that sees npidle > 0 and nmspinning == 0.
			 */
			if (spinning)
				atomic_fetch_sub(&mn_sched.nmspinning, 1);
			mn_unlock(&mn_sched.lock);
			return;
		}
	}
	nm = mget();
	if (nm) {
		/* Under the lock: stopm reads nextp under it after waking. */
		nm->spinning = spinning;
		nm->nextp = p;
	}
	/* With the module, keep one idle M waiting as a spare, so a P can be
	 * handed off at once even when every other M is busy.  One started
	 * and not yet idle counts: a new thread may wait for a CPU for a
	 * while, and every startm meanwhile made another (up to 17 Ms for 2
	 * Ps on one CPU, thread_ring). */
	need_spare = mn_sched.parker->park_spare && !mn_sched.midle &&
		     !mn_sched.nspare_new;
	if (need_spare)
		mn_sched.nspare_new++;
	mn_unlock(&mn_sched.lock);
	if (need_spare)
		newm(NULL, false);
	if (!nm) {
		newm(p, spinning);
		return;
	}
	MN_PROBE(m_unpark, nm->id);
	self = mn_curm();
	if (self && self->defer_wake && !self->swap_to) {
		self->swap_to = nm;	/* stopm: SWAP wakes nm and parks us */
		return;
	}
	mn_sched.parker->unpark(&nm->park);
}

void mn_wakep(void)
{
	int32_t zero = 0;

	if (atomic_load(&mn_sched.npidle) == 0)
		return;
	/* Only one M starts spinning at a time; it wakes the next if it
	 * finds work (resetspinning). */
	if (atomic_load(&mn_sched.nmspinning) != 0 ||
	    !atomic_compare_exchange_strong(&mn_sched.nmspinning, &zero, 1))
		return;
	startm(NULL, true);
}

static void resetspinning(struct mn_m *m)
{
	m->spinning = false;
	if (atomic_fetch_sub(&mn_sched.nmspinning, 1) == 1)
		mn_wakep();
}

/* sysmon and the kmod spare path give away a P nobody runs. */
void mn_handoffp(struct mn_p *p)
{
	int32_t zero = 0;

	MN_PCOUNT(p, handoffs);
	MN_SH_SET(p, goid, 0);		/* no G runs on it: the next starts a slice */
	if (!mn_runqempty(p) || atomic_load(&mn_sched.runqsize) > 0) {
		startm(p, false);
		return;
	}
	if (atomic_load(&mn_sched.nmspinning) + atomic_load(&mn_sched.npidle) == 0 &&
	    atomic_compare_exchange_strong(&mn_sched.nmspinning, &zero, 1)) {
		startm(p, true);
		return;
	}
	mn_lock(&mn_sched.lock);
	if (mn_sched.runqsize > 0) {
		mn_unlock(&mn_sched.lock);
		startm(p, false);
		return;
	}
	pidleput(p);
	mn_unlock(&mn_sched.lock);
	/* Its timers must still fire and its I/O completions be reaped: wake
	 * an M to watch them (going idle, it waits on the P's ring). */
	if (mn_timers_next(p) >= 0 || mn_io_inflight(p))
		mn_wakep();
}

/*
 * The module handed this idle M the P of an M that blocked in a system call
 * (park_kmod.c).  Take it if its state is still SYSCALL (the blocked M may
 * have come back first: then keep waiting).  The module already counts us
 * as its holder.
 */
static bool take_handed_p(struct mn_m *m, int hp)
{
	struct mn_p *p = mn_sched.allp[hp], *extra = NULL;
	bool spinning;

	if (!mn_pstatus_cas(p, MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING))
		return false;	/* the module made us its holder; m->kp says -1 */
	kernel_p_noted(m, p);	/* as a SET_P would */
	mn_lock(&mn_sched.lock);
	if (m->nextp) {
		/* startm chose us at the same time: pass its P on. */
		extra = m->nextp;
		m->nextp = NULL;
	} else {
		midle_remove(m);
	}
	spinning = m->spinning;
	m->spinning = false;
	mn_unlock(&mn_sched.lock);
	m->p = p;
	p->m = m;
	MN_SH_SET(p, m_id, m->park.kid);
	MN_PCOUNT(p, handoffs);
	MN_PROBE(handoff, hp, -1, m->id);
	MN_PROBE(proc_start, hp, m->id);
	if (extra)
		startm(extra, spinning);
	else if (spinning)
		atomic_fetch_sub(&mn_sched.nmspinning, 1);
	return true;
}

/*
 * Test hook: stall a spinning M that has just given up its P, before it
 * stops counting as spinning, for the given time (0: off).  That is where a
 * G readied by another thread must not be lost (the M re-checks every queue
 * after the decrement): a regression test in rt_wakeup_stress.c widens the
 * window with it.  When off, a relaxed load on the way to parking.
 */
static _Atomic uint32_t debug_spin_drop_delay_ns;

__attribute__((visibility("default")))
void mn_debug_spin_drop_delay(uint32_t ns);
void mn_debug_spin_drop_delay(uint32_t ns)
{
	atomic_store(&debug_spin_drop_delay_ns, ns);
}

static void debug_delay(_Atomic uint32_t *ns)
{
	struct timespec ts = { 0, atomic_load_explicit(ns, memory_order_relaxed) };

	/* A raw system call: errno stays as it was (sys.h). */
	mn_syscall6(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
}

/*
 * Test hook: stall an M that leaves a system call and finds no idle P,
 * before it queues its G globally, for the given time (0: off).  A P that
 * goes idle meanwhile makes it wake an M for the G and park in one swap
 * (the module's SWAP): rt_syscall.c widens that window with it.
 */
static _Atomic uint32_t debug_exit_nop_delay_ns;

__attribute__((visibility("default")))
void mn_debug_exit_nop_delay(uint32_t ns);
void mn_debug_exit_nop_delay(uint32_t ns)
{
	atomic_store(&debug_exit_nop_delay_ns, ns);
}

/* Earliest timer over all Ps, -1 for none. */
static int64_t next_timer_all(void)
{
	int64_t best = -1;

	for (int i = 0; i < mn_sched.nprocs; i++) {
		int64_t w = mn_timers_next(mn_sched.allp[i]);

		if (w >= 0 && (best < 0 || w < best))
			best = w;
	}
	return best;
}

/*
 * Park an M that has no P until startm hands it one (m->nextp) or the
 * earliest timer is due.  Returns with m->p set, or NULL p after a timeout
 * (the caller then tries to take an idle P to run timers).  With io_uring
 * the parker may let it sleep in an idle P's ring (the ring parker,
 * park_ring.c): then it also returns, with NULL p, when I/O completed
 * (MN_PARK_IO: the Gs are on the global queue; *want is the P whose ring it
 * slept in, if that P is still idle).
 */
static void stopm(struct mn_m *m, struct mn_p **want)
{
	int64_t when, now, timeout = -1;

	mn_lock(&mn_sched.lock);
	m->schedlink = mn_sched.midle;
	mn_sched.midle = m;
	mn_sched.nmidle++;
	if (m->spare_new) {
		/* A new spare goes idle here first (it has no P to run). */
		m->spare_new = false;
		mn_sched.nspare_new--;
	}
	mn_checkdead();
	mn_unlock(&mn_sched.lock);

	when = next_timer_all();
	if (when >= 0) {
		now = (int64_t)mn_nanotime();
		timeout = when > now ? when - now : 0;
	}
	MN_PROBE(m_park, m->id);
	for (;;) {
		int hp = -1, r;

		if (m->swap_to) {
			/* Wake the M startm chose and park in one call (the
			 * module's SWAP). */
			struct mn_m *t = m->swap_to;

			m->swap_to = NULL;
			r = mn_sched.parker->swap(&m->park, &t->park, timeout);
		} else if (mn_sched.parker->park_spare) {
			/* SPARE drops the P we held in the module, if it ran
			 * (not in a ring): -1 is right either way. */
			m->kp = -1;
			r = mn_sched.parker->park_spare(&m->park, timeout, &hp);
		} else {
			r = mn_sched.parker->park(&m->park, timeout);
		}
		if (r == MN_PARK_IO)
			*want = m->park.io_p;
		if (hp >= 0 && take_handed_p(m, hp))
			return;

		mn_lock(&mn_sched.lock);
		if (m->nextp) {
			/* startm took us off the idle list and gave a P. */
			struct mn_p *p = m->nextp;

			m->nextp = NULL;
			mn_unlock(&mn_sched.lock);
			acquirep(m, p);
			mn_io_acquired(m, p);
			return;
		}
		/* I/O done, timer due (or spurious): leave the idle list. */
		if ((r == MN_PARK_IO || r == -ETIMEDOUT || timeout >= 0) &&
		    midle_remove(m)) {
			mn_unlock(&mn_sched.lock);
			return;
		}
		mn_unlock(&mn_sched.lock);
		/* Spurious wake-up while still on the idle list: park again. */
	}
}

/* Work an M that has just given up its P must not leave behind. */
static bool last_look_finds_work(void)
{
	if (atomic_load(&mn_sched.runqsize) > 0)
		return true;
	for (int i = 0; i < mn_sched.nprocs; i++)
		if (!mn_runqempty(mn_sched.allp[i]))
			return true;
	return false;
}

/*
 * Find a G to run; park the M while there is none.  On g0.  Returns with
 * m->p held and the G out of every queue.
 */
static struct mn_g *findrunnable(struct mn_m *m)
{
	struct mn_p *p;
	struct mn_g *g;
	bool ran_timers, inherit;

top:
	if (unlikely(m->swap_to) && m->p) {
		/* Not parking after all: wake the M startm left to us. */
		mn_sched.parker->unpark(&m->swap_to->park);
		m->swap_to = NULL;
	}
	while (!m->p) {
		struct mn_p *want = NULL;

		stopm(m, &want);
		if (!m->p) {
			/* Woke for a timer, or for Gs whose I/O completed (now on
			 * the global queue): run them on an idle P if there is,
			 * best the one whose ring this M waited on. */
			struct mn_p *ip = pidleget_lock(want);

			if (ip) {
				acquirep(m, ip);
				mn_io_acquired(m, ip);
			}
		}
	}
	p = m->p;

	if (atomic_load_explicit(&p->timer0_when, memory_order_relaxed))
		mn_timers_run(p, mn_nanotime());

	/* Fairness: every 61st slice the global queue goes first. */
	if (p->schedtick % MN_GLOBAL_TICK == 0 &&
	    atomic_load(&mn_sched.runqsize) > 0) {
		mn_lock(&mn_sched.lock);
		g = mn_globrunqget(p, 1);
		mn_unlock(&mn_sched.lock);
		if (g)
			return g;
	}
	g = mn_runqget(p, &inherit);
	if (g) {
		/* From runnext: the slice goes on, unless the P has run no G
		 * since it was idle or handed off (goid 0): a new slice then,
		 * or a G woken after its P idled would run in a slice that
		 * ended long ago (the stall reports keyed on it saw no new
		 * run: rt_debug's stall test missed its second stall). */
		if (inherit && MN_SH_GET(p, goid) != 0)
			m->pending |= MN_AFTER_INHERIT;	/* for execute */
		return g;
	}
	if (atomic_load(&mn_sched.runqsize) > 0) {
		mn_lock(&mn_sched.lock);
		g = mn_globrunqget(p, 0);
		mn_unlock(&mn_sched.lock);
		if (g)
			return g;
	}
	g = mn_io_poll(p);
	if (g)
		return g;

	/* Steal, if not too many Ms are already spinning. */
	if (m->spinning || 2 * atomic_load(&mn_sched.nmspinning) <
			   mn_sched.nprocs - atomic_load(&mn_sched.npidle)) {
		if (!m->spinning) {
			m->spinning = true;
			atomic_fetch_add(&mn_sched.nmspinning, 1);
		}
		g = mn_steal_work(m, &ran_timers);
		if (g)
			return g;
		if (ran_timers && !mn_runqempty(p))
			goto top;
		/* Completions on the rings of idle Ps. */
		g = mn_io_poll_idle(p);
		if (g)
			return g;
	}

	/* Nothing.  Give up the P, then re-check everything (see top). */
	mn_lock(&mn_sched.lock);
	if (mn_sched.runqsize > 0) {
		g = mn_globrunqget(p, 0);
		mn_unlock(&mn_sched.lock);
		return g;
	}
	MN_PCOUNT(p, parks);
	releasep(m);
	pidleput(p);
	mn_unlock(&mn_sched.lock);

	if (m->spinning) {
		if (unlikely(atomic_load_explicit(&debug_spin_drop_delay_ns,
						  memory_order_relaxed)))
			debug_delay(&debug_spin_drop_delay_ns);
		m->spinning = false;
		atomic_fetch_sub(&mn_sched.nmspinning, 1);
	}
	/*
	 * The last look, by every M that gives up its P, spinning or not.
	 * The seq_cst decrement above (or pidleput's increment of npidle)
	 * orders against it.  A readier that saw us spinning left the
	 * wake-up to us, whichever queue it used: a P's local queue or
	 * runnext, or the global one (a G that lost its P leaving a syscall,
	 * mn_goready/mn_go from a thread without a P, I/O reaped without a
	 * P).  A readier that saw no idle P left it to the Ms holding Ps, and
	 * we were one: an M that never started spinning (the 2*nmspinning
	 * bound: another M was spinning, or in this window) must look too,
	 * or the G waits with an idle P until someone else readies work.
	 */
	if (last_look_finds_work()) {
		struct mn_p *ip = pidleget_lock(NULL);

		if (ip) {
			/* Spinning again: top takes the G, global or stolen,
			 * and resetspinning wakes the next M. */
			acquirep(m, ip);
			mn_io_acquired(m, ip);
			m->spinning = true;
			atomic_fetch_add(&mn_sched.nmspinning, 1);
			goto top;
		}
		/* No idle P: each P's M looks when it gives its P up. */
	}
	/* Park (stopm), maybe in io_uring_enter on an idle P's ring. */
	goto top;
}

static void execute(struct mn_m *m, struct mn_g *g)
{
	atomic_store_explicit(&g->status, MN_G_RUNNING, memory_order_relaxed);
	switch_to(m, &m->g0, g, false);
}

/*
 * A demoted M that could not get its priority back (preempt.c) leaves: the
 * thread exits, its struct goes to mfree for the next newm (it stays on
 * allm, as the tools walk that list).  Called on g0 without a P, at the
 * bottom of the thread's own stack (pthread_exit unwinds mstart only).
 */
static void mexit(struct mn_m *m) __attribute__((noreturn));
static void mexit(struct mn_m *m)
{
	stack_t ss = { .ss_flags = SS_DISABLE };

	mn_kernel_p_set(m, NULL);
	/* The next thread on this struct takes the alternate stack over. */
	sigaltstack(&ss, NULL);
	mn_lock(&mn_sched.lock);
	m->dead = true;
	MN_RELAXED_SET(m->tid, 0);
	mn_sched.mcount--;
	m->schedlink = mn_sched.mfree;
	mn_sched.mfree = m;
	mn_unlock(&mn_sched.lock);
	mn_setm(NULL);
	pthread_exit(NULL);
}

static void schedule(struct mn_m *m)
{
	for (;;) {
		struct mn_g *g;

		if (unlikely(m->retire))
			mexit(m);	/* the thread exits */
		g = findrunnable(m);

		if (m->spinning)
			resetspinning(m);
		execute(m, g);
	}
}

/*
 * Test hook: a spare M sleeps this long before it first goes idle, as a
 * new thread waiting for a CPU does (rt_syscall, one_spare_m_on_its_way).
 */
static _Atomic int64_t debug_spare_start_delay_ns;

__attribute__((visibility("default"))) void mn_debug_spare_start_delay(int64_t ns);
void mn_debug_spare_start_delay(int64_t ns)
{
	atomic_store(&debug_spare_start_delay_ns, ns);
}

static void *mstart(void *arg)
{
	struct mn_m *m = arg;
	struct mn_p *p = m->nextp;
	sigset_t set;
	pthread_attr_t attr;
	void *lo;
	size_t sz;

	mn_setm(m);
	MN_RELAXED_SET(m->tid, (pid_t)syscall(SYS_gettid));	/* sysmon reads it */
	m->errno_loc = mn_errno_loc();
	/* Ms take no asynchronous signals meant for the process: a user
	 * thread or the main thread handles them. */
	/* The mask of mn_main's caller, whoever started this M: one started
	 * by sysmon (mn_handoffp) would inherit sysmon's, every signal
	 * blocked, and neither the preemption signal (preempt.c) nor a stack
	 * overflow's SIGSEGV (stack.c) would reach its handler. */
	set = mn_sched.m_sigmask;
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigdelset(&set, SIGURG);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	mn_preempt_m_init(m);	/* after the mask: it records it */
	if (mn_sched.parker->m_init(&m->park))
		mn_fatal("parker %s: cannot set up M %d", mn_sched.parker->name,
			 m->id);
	mn_preempt_m_kinit(m);
	mn_stack_sigaltstack(m);
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &lo, &sz);
		m->g0.stack_lo = lo;
		m->g0.stack_hi = (char *)lo + sz;
		pthread_attr_destroy(&attr);
	}
	m->curg = &m->g0;
	mn_san_g0_init(&m->g0);
	m->nextp = NULL;
	if (p) {
		acquirep(m, p);
	} else if (unlikely(atomic_load(&debug_spare_start_delay_ns))) {
		int64_t ns = atomic_load(&debug_spare_start_delay_ns);
		struct timespec ts = { ns / 1000000000, ns % 1000000000 };

		nanosleep(&ts, NULL);
	}
	schedule(m);
	return NULL;
}

/* ---- deadlock detection ----------------------------------------------- */

/* Every G with its stack (debug.c). */
void mn_dump_gs(FILE *f)
{
	mn_debug_dump(f, false);
}

/* Read up to cap-1 bytes of path (raw system calls: errno untouched). */
static long read_small(const char *path, char *buf, size_t cap)
{
	long fd = mn_syscall6(SYS_openat, AT_FDCWD, (long)path,
			      O_RDONLY | O_CLOEXEC, 0, 0, 0);
	long n;

	if (fd < 0)
		return fd;
	n = mn_syscall3(SYS_read, fd, buf, cap - 1);
	mn_syscall3(SYS_close, fd, 0, 0);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

/* A decimal number at s (strtol would set errno on overflow). */
static long parse_dec(const char *s)
{
	long v = 0;

	while (*s >= '0' && *s <= '9' && v < 100000000000l)
		v = v * 10 + (*s++ - '0');
	return v;
}

/* Field 20 of /proc/self/stat, the process's thread count; -1 unknown. */
static long num_threads(void)
{
	char buf[1024], *p;
	int field = 2;

	if (read_small("/proc/self/stat", buf, sizeof(buf)) <= 0)
		return -1;
	p = strrchr(buf, ')');	/* the command may hold spaces and parens */
	while (p && field < 20) {
		p = strchr(p + 1, ' ');
		field++;
	}
	return p ? parse_dec(p + 1) : -1;
}

/* Is tid a thread the runtime knows (an M, sysmon, mn_main's caller)? */
static bool runtime_thread(pid_t tid)
{
	/* An M's tid is written before it first takes sched.lock, and no
	 * M is running here, so reading it under the lock is ordered. */
	if (tid == mn_sched.main_tid || tid == MN_RELAXED_GET(mn_sched.sysmon_tid) ||
	    tid == MN_RELAXED_GET(mn_sched.debug_tid))
		return true;
	for (struct mn_m *m = mn_sched.allm; m; m = m->alllink)
		if (m->tid == tid)
			return true;
	return false;
}

struct mn_dirent64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/*
 * ThreadSanitizer starts threads of its own (two in a forked child) with
 * the process's first pthread_create, the runtime's at the latest; they
 * look like any other.  In a TSan build the threads present once sysmon
 * has started, other than the runtime's, are taken for those (a plain
 * thread the program started before mn_main too: a TSan-only blind spot).
 */
#if defined(MN_SAN_TSAN)
#define SAN_MAX_THREADS	8
static pid_t san_tids[SAN_MAX_THREADS];
#endif

static bool san_thread(pid_t tid)
{
#if defined(MN_SAN_TSAN)
	for (int i = 0; i < SAN_MAX_THREADS; i++)
		if (san_tids[i] == tid)
			return true;
#endif
	(void)tid;
	return false;
}

/* Call fn(tid, arg) for every thread of the process until it returns
 * false; -errno if /proc/self/task cannot be read. */
static int for_each_task(bool (*fn)(pid_t tid, void *arg), void *arg)
{
	char dbuf[4096];
	long fd, len;
	bool go = true;

	fd = mn_syscall6(SYS_openat, AT_FDCWD, (long)"/proc/self/task",
			 O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return (int)fd;
	while (go && (len = mn_syscall3(SYS_getdents64, fd, dbuf, sizeof(dbuf))) > 0) {
		for (long off = 0; off < len && go;) {
			struct mn_dirent64 *d = (struct mn_dirent64 *)(dbuf + off);
			pid_t tid = (pid_t)parse_dec(d->name);

			off += d->reclen;
			if (tid > 0)
				go = fn(tid, arg);
		}
	}
	mn_syscall3(SYS_close, fd, 0, 0);
	return 0;
}

#if defined(MN_SAN_TSAN)
struct san_note_arg {
	pid_t tids[SAN_MAX_THREADS];
	int n;
};

static bool san_note(pid_t tid, void *arg)
{
	struct san_note_arg *a = arg;

	if (tid != mn_sched.main_tid && a->n < SAN_MAX_THREADS)
		a->tids[a->n++] = tid;
	return true;
}
#endif

/* mn_main, once sysmon and the first M run: remember TSan's threads
 * (under sched.lock, where checkdead reads them). */
static void san_threads_note(void)
{
#if defined(MN_SAN_TSAN)
	struct san_note_arg a = { .n = 0 };

	for_each_task(san_note, &a);
	mn_lock(&mn_sched.lock);
	memcpy(san_tids, a.tids, sizeof(san_tids));
	mn_unlock(&mn_sched.lock);
#endif
}

/* A thread that may wake a G: not the runtime's, the kernel's io_uring
 * worker ("iou-wrk-*", "iou-sqp-*"), nor a sanitizer's. */
static bool check_foreign(pid_t tid, void *arg)
{
	bool *found = arg;
	char path[64], comm[32];

	if (runtime_thread(tid) || san_thread(tid))
		return true;
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	if (read_small(path, comm, sizeof(comm)) > 0 && strncmp(comm, "iou-", 4) == 0)
		return true;
	*found = true;
	return false;
}

/*
 * A thread of this process that is not the runtime's own (check_foreign):
 * a plain thread of the program or of a library, which may wake a G at any
 * moment (README: plain threads may call mn_go, the try_ calls and
 * mn_chan_close).  Only asked when every G is blocked, so it may read
 * /proc.  sched.lock held.
 */
static bool foreign_thread_alive(void)
{
	long n = num_threads();
	bool found = false;

	/* The Ms, sysmon and the thread in mn_main: no other thread. */
	if (n >= 0 && n <= mn_sched.mcount + 2)
		return false;
	if (for_each_task(check_foreign, &found) < 0)
		return true;	/* more threads and cannot tell whose: assume one */
	return found;
}

/*
 * Called with sched.lock held when an M goes idle (and by sysmon, see
 * mn_checkdead_recheck).  If no M is running a G, none is in a syscall, no
 * timer is pending and no I/O is in flight, then every G is blocked for
 * good: unless a thread that is not the runtime's is alive.  A plain thread
 * may wake a G at any time (it need not have called the runtime yet), so
 * then nothing is declared, as Go declares nothing while C code may call
 * in through cgo; sysmon looks again every 100 ms, and reports the
 * deadlock once the last such thread has exited.
 */
void mn_checkdead(void)
{
	int32_t run = mn_sched.mcount - mn_sched.nmidle;

	atomic_store_explicit(&mn_sched.deadlock_recheck, false,
			      memory_order_relaxed);
	if (run > 0 || mn_sched.deadlock_off || atomic_load(&mn_sched.done))
		return;
	if (mn_sched.runqsize > 0 || atomic_load(&mn_sched.ngsys) > 0)
		return;
	for (int i = 0; i < mn_sched.nprocs; i++)
		if (!mn_runqempty(mn_sched.allp[i]))
			return;
	if (mn_timers_any() || mn_io_pending())
		return;
	if (foreign_thread_alive()) {
		atomic_store_explicit(&mn_sched.deadlock_recheck, true,
				      memory_order_relaxed);
		return;
	}
	fprintf(stderr, "mnsched: all goroutines are asleep - deadlock!\n\n");
	mn_dump_gs(stderr);
	fflush(stderr);
	_exit(2);
}

/* sysmon: checkdead let a plain thread keep the process alive; again. */
void mn_checkdead_recheck(void)
{
	mn_lock(&mn_sched.lock);
	if (atomic_load_explicit(&mn_sched.deadlock_recheck, memory_order_relaxed))
		mn_checkdead();
	mn_unlock(&mn_sched.lock);
}

/* ---- start-up ---------------------------------------------------------- */

static int procresize(int n)
{
	struct mnsched_pstate *local = NULL;

	mn_sched.nprocs = n;
	mn_sched.allp = calloc((size_t)n, sizeof(*mn_sched.allp));
	if (!mn_sched.allp)
		return -ENOMEM;
	if (!mn_sched.pstates) {
		/*
		 * No module pages: the same layout (one page per P) in a memfd
		 * named "mnsched-pstates", so tools find it in /proc/PID/maps and
		 * read the always-on counters with process_vm_readv.
		 */
		size_t len = (size_t)n * MN_PSTATE_STRIDE;
		int fd = memfd_create("mnsched-pstates", MFD_CLOEXEC);

		local = MAP_FAILED;
		if (fd >= 0 && ftruncate(fd, (off_t)len) == 0)
			local = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				     fd, 0);
		if (fd >= 0)
			close(fd);
		if (local == MAP_FAILED)
			local = mmap(NULL, len, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (local == MAP_FAILED)
			return -ENOMEM;
		/* Shared memory: a fork child must not write the parent's Ps. */
		madvise(local, len, MADV_DONTFORK);
		mn_sched.pstates = local;
		mn_sched.pstate_stride = MN_PSTATE_STRIDE;
	}
	for (int i = 0; i < n; i++) {
		struct mn_p *p;

		if (posix_memalign((void **)&p, MN_CACHELINE, sizeof(*p)))
			return -ENOMEM;
		memset(p, 0, sizeof(*p));
		p->id = i;
		p->sh = (struct mnsched_pstate *)((char *)mn_sched.pstates +
						  (size_t)i * mn_sched.pstate_stride);
		MN_SH_SET(p, m_id, -1);
		p->fastrand = 0x2545F491u * (uint32_t)(i + 1) | 1;
		p->pool = mn_stack_pool_new();
		if (!p->pool)
			return -ENOMEM;
		mn_timers_init(p);
		mn_pstatus_set(p, MNSCHED_P_IDLE);
		mn_sched.allp[i] = p;
	}
	return 0;
}

int mn_main(void (*fn)(void *), void *arg)
{
	struct mn_g *g;
	struct mn_p *p0;
	int err;
	bool expected = false;

	if (!fn)
		return -EINVAL;
	if (atomic_load(&mn_in_fork_child))
		mn_fork_fatal("mn_main");
	if (!atomic_compare_exchange_strong(&mn_sched.started, &expected, true))
		return -EBUSY;
	err = mn_env_init();
	if (err)
		return err;
	mn_sched.start_ns = (int64_t)mn_nanotime();
	mn_sched.main_tid = (pid_t)mn_syscall3(SYS_gettid, 0, 0, 0);
	err = mn_stack_init();
	if (err)
		return err;
	err = mn_stack_install_handler();
	if (err)
		return err;
	mn_preempt_init();
	pthread_sigmask(SIG_SETMASK, NULL, &mn_sched.m_sigmask);
	err = -pthread_atfork(NULL, NULL, atfork_child);
	if (err)
		return err;
	err = mn_parker_select();
	if (err)
		return err;
	err = procresize(mn_sched.nprocs);
	if (err)
		return err;
	err = mn_io_init();
	if (err)
		return err;
	/* Every P idle; the main G goes to P 0's queue and one M starts. */
	for (int i = mn_sched.nprocs - 1; i >= 1; i--)
		pidleput(mn_sched.allp[i]);
	p0 = mn_sched.allp[0];
	g = newproc(fn, arg, 8u << 20, __builtin_return_address(0), &err);
	if (!g)
		return err;
	g->is_main = true;
	g->name = "main";
	mn_runqput(p0, g, false);
	err = mn_sysmon_start();
	if (err)
		return err;
	err = mn_debug_start();
	if (err)
		return err;
	/* Before any G runs: a thread the main G starts must not be taken
	 * for one of TSan's. */
	san_threads_note();
	newm(p0, false);
	if (mn_sched.parker->park_spare) {
		mn_lock(&mn_sched.lock);
		mn_sched.nspare_new++;
		mn_unlock(&mn_sched.lock);
		newm(NULL, false);	/* the first spare M */
	}
	while (atomic_load(&mn_sched.main_done_word) == 0)
		mn_futex(&mn_sched.main_done_word, FUTEX_WAIT_PRIVATE, 0, NULL);
	return 0;
}

/* g (running, on m without a P) goes to the global queue, m to g0. */
static void g_to_global(struct mn_m *m, struct mn_g *g)
{
	mn_kernel_p_set(m, NULL);
	g->waitreason = MN_WAIT_GLOBAL_QUEUE;
	m->pending = MN_AFTER_GLOBAL;
	m->pending_g = g;
	switch_to(m, g, &m->g0, false);
}

/* The P was taken while we were in the syscall (syscall.c). */
bool mn_syscall_exit_slow(struct mn_m *m, struct mn_g *g)
{
	struct mn_p *p = pidleget_lock(NULL);

	if (p) {
		acquirep(m, p);
		atomic_store_explicit(&g->status, MN_G_RUNNING,
				      memory_order_relaxed);
		publish_running(p, g, true);
		return true;
	}
	if (unlikely(atomic_load_explicit(&debug_exit_nop_delay_ns,
					  memory_order_relaxed)))
		debug_delay(&debug_exit_nop_delay_ns);
	/* No P anywhere: queue the G globally; this M goes idle on g0 (and
	 * if a P went idle meanwhile, wakes an M for it by SWAP). */
	g_to_global(m, g);
	return false;		/* it ran again after a g_start */
}

/*
 * A preempted thread that cannot get its priority back (preempt.c): g, at
 * a runtime call, goes to the global queue for another M; this M goes to
 * g0 and exits (schedule, mexit).  Returns on g, on another M.
 */
void mn_retire(struct mn_m *m, struct mn_g *g)
{
	m->retire = true;
	g_to_global(m, g);
}
