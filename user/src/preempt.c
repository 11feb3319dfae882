// SPDX-License-Identifier: MIT
/*
 * preempt.c - preemption without cooperation: preempt the thread, not the G.
 *
 * A G that runs longer than its time slice (10 ms; MNSCHED_DEBUG=slice=MS)
 * without a G switch loses its P, the way a G in a blocking system call
 * does, while its thread goes on running it without a P, demoted:
 *
 *  1. sysmon (mn_preempt_scan, from overrun.c's scan, the one the stall
 *     reports use) sees a P whose slice has lasted slice_ns while other
 *     work waits for that P (its queue or runnext, a timer due within a
 *     slice, I/O in flight on its ring, the global queue with no idle P).
 *     It records the slice in p->preempt_tick and sends SIGURG to the
 *     P's M (tgkill), only if that thread is running (a thread asleep in
 *     the kernel is left alone: the signal would cut its system call short).
 *  2. The handler, on that thread, gives the P up only if the thread is
 *     in user code (in_runtime below: the interrupted pc outside the
 *     runtime's text, the G's mark clear, the M's own signal mask, the
 *     stack pointer on the G's stack; runtime.h says why each) and the
 *     slice is the one sysmon meant: exactly what mn_syscall_enter does
 *     (m->oldp = p, P state SYSCALL, p->m = NULL), plus the LOST bit; then it
 *     demotes its own thread (nice 19, else SCHED_IDLE: both need no
 *     privilege on one's own thread; see demote_self) and flags the P.  Only
 *     async-signal-safe work: stores, raw system calls, no lock, no malloc.
 *     Inside the runtime it does nothing; sysmon sends again a slice later
 *     (the cooperative p->preempt flag makes a G there yield at its next
 *     scheduling point anyway).
 *  3. sysmon, at its next tick (20 us), hands the flagged P off (CAS
 *     SYSCALL -> IDLE, mn_handoffp), as it retakes a P from a system call.
 *     The P's other Gs, timers and I/O now run on another M, which the
 *     kernel prefers to the demoted thread whenever both want a CPU.
 *  4. The demoted thread keeps running the G's C code where it was: the G
 *     never resumes on another thread at a point the compiler did not
 *     expect, so TLS addresses and errno in registers, libc and pthread
 *     locks it holds, all stay valid (the README's rule: migration only at
 *     mn_* calls).  At its next runtime entry (MN_ENTER_FAST, MN_ENTER:
 *     a test of the LOST bit of its TLS byte mn_tls_rt) the thread
 *     rejoins (mn_preempt_rejoin): it restores its priority and
 *     then does what mn_syscall_exit does (its old P if still free, else
 *     any idle P, else the G goes to the global queue and the M idles).
 *     Restoring needs privilege (CAP_SYS_NICE, or RLIMIT_NICE >= 20 for
 *     SCHED_IDLE / nice 19 -> 0).  Without it the M retires: its G goes to
 *     the global queue (it is at an mn_* call: it may migrate), its P (if
 *     still unclaimed) is handed off, and the thread exits (mexit, proc.c);
 *     its struct is reused by the next newm.  So an unprivileged program
 *     pays a thread exit and a thread start per preemption, at most one
 *     per slice per P.
 *
 * With the module (kmod/preempt.c; MNSCHED_IOC_PREEMPT, which each M
 * calls on its own thread with its mark's address and the slice), the
 * module does steps 1-3 in the kernel and sysmon sends no signal: a
 * per-CPU hrtimer (every slice / 4) sees the overrun on the P of the M it
 * interrupted, and, when it interrupted the thread in the program's code
 * (decided as in_runtime below does, from what the M registered: the user
 * pc outside [__start_mn_text, __stop_mn_text), m->curg not g0, the G's
 * rt_mark clear, LOST clear, the signal mask the M registered with, the
 * stack pointer on the G's stack),
 * writes MN_RT_LOST | MN_RT_KLOST into the mark, moves the P
 * to SYSCALL by CAS (the same protocol: only the holder changes a RUNNING
 * P, and the holder is the stopped thread), hands the P to a spare M, and
 * sets the thread to nice 19.  The runtime's side of "other work" reaches
 * it through the P page: runq_len, timer0_ns (set_timer0, timer.c), and
 * preempt_req, which sysmon's overran() writes instead of signalling for
 * what only the runtime sees (I/O in flight, the global queue, runnext).
 * The kernel moved m->p to m->oldp and cleared m->p, as the handler does
 * (MN_ENTER_FAST_P's test needs it), and left the M's other fields alone:
 * the rejoin calls REJOIN (the module restores
 * the nice value it saved: no privilege needed, no M retires), and the
 * module learns who holds the P as after any change (mn_kernel_p_sync).  Slices down to 1 ms, no sysmon polling
 * on the preemption's path.  Without the module, with a module that lacks
 * PREEMPT (-ENOTTY), or with MNSCHED_DEBUG=kpreempt=0, the signal path.
 *
 * Limits.  At most MN_MAX_DEMOTED threads (256) run demoted at once; past
 * that sysmon only sets the cooperative flag and says so once on stderr.
 * An all-hog program (hogs = 10x Ps) ends up with each hog on a demoted
 * thread of its own, time-sliced by the kernel, and the Ps' Ms free for
 * the Gs that do call the runtime.  If demotion fails (a seccomp filter,
 * an odd policy) the runtime says so once and hands the P off anyway: the
 * other Gs then share the CPU with the hog as the kernel sees fit.  TSan
 * delivers asynchronous signals only at its interceptors: under TSan a G
 * that makes no call is not preempted.  A signal handler of the program's
 * own for SIGURG is called for the signals that are not the runtime's.
 *
 * Rejected.  Async preemption as Go 1.14 does it (the signal handler
 * switches the G out and resumes it on any M later): C code is not Go;
 * it keeps TLS addresses and errno in registers across a switch that the
 * compiler cannot see, holds libc and pthread locks, and a G resumed on
 * another thread breaks all of that.  Sysmon taking the P without the
 * thread's consent: the G may be in the middle of a runtime operation on
 * its P (its queue, its timers, its stack pool), and nothing short of a
 * lock on every runtime call could make that safe; the per-thread mark
 * (a byte store) plus the handler on the thread itself does it instead.
 * Moving the P's queued Gs to other Ps without taking the P: at MNPROCS=1
 * there is no other P, and the P's timers and I/O ring stay stuck.
 * The module's tests without the signal mask and the stack pointer: a
 * signal handler (sysmon's I/O kick runs this file's handler) that
 * interrupted the runtime between m->curg = next and the next G's first
 * marked region called libc (getpid, a raw syscall since), and the tick,
 * seeing a pc outside our text and an unmarked G, took the P from under
 * the switch (io_rx at a 1 ms slice in the 6.1 VM: 24 of 60 runs, a NULL
 * m->p right after it).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "runtime.h"
#include "debug.h"
#include "sys.h"

/* MNSCHED_IOC_PREEMPT's g_stack_off: the two bounds, in this order. */
_Static_assert(offsetof(struct mn_g, stack_hi) ==
	       offsetof(struct mn_g, stack_lo) + 8, "g->stack_lo, g->stack_hi");

#define MN_PREEMPT_SIG	SIGURG
#define MN_MAX_DEMOTED	256

static struct sigaction old_sa;		/* the program's SIGURG handler */

/* The library's text (the Makefile renames every object's .text* to
 * mn_text; the linker defines these two around it, in the executable or in
 * libmnsched.so, whichever holds the objects). */
extern const char __start_mn_text[] MN_HIDDEN;
extern const char __stop_mn_text[] MN_HIDDEN;

/* The calling thread's signal mask, the kernel's 64 bits of it. */
static uint64_t thread_sigmask(void)
{
	sigset_t set;
	uint64_t w = 0;

	sigemptyset(&set);
	pthread_sigmask(SIG_SETMASK, NULL, &set);
	memcpy(&w, &set, sizeof(w));
	return w;
}

/* Base priority and signal mask of an M, read on its own thread when it
 * starts (after mstart set the mask). */
void mn_preempt_m_init(struct mn_m *m)
{
	long pol = mn_syscall3(SYS_sched_getscheduler, 0, 0, 0);
	long prio = mn_syscall3(SYS_getpriority, PRIO_PROCESS, 0, 0);

	m->base_policy = pol >= 0 ? (int)pol : SCHED_OTHER;
	/* The raw system call returns 20 - nice (never negative). */
	m->base_nice = prio >= 0 ? 20 - (int)prio : 0;
	m->sigmask = thread_sigmask();
}

/*
 * After the M registered with its parker, on its thread: with the module,
 * the module preempts (MNSCHED_IOC_PREEMPT, kmod/preempt.c) and sysmon
 * sends no signal.  A module without it (-ENOTTY), or one M it refused,
 * leaves sysmon's signal in charge for every M (a thread the module
 * demoted has its mark set: the handler leaves it alone).
 */
void mn_preempt_m_kinit(struct mn_m *m)
{
	static _Atomic int state;	/* 0 unknown, 1 on, -1 off */
	/* The module's in_runtime(): the pc outside our text, m->curg not
	 * g0, the G's rt_mark clear, the LOST bit clear (mn_tls_rt), the
	 * thread's signal mask the one it has now (mstart set it: not in a
	 * handler, such as the kick's, that interrupted the runtime) and the
	 * stack pointer on the G's stack.  No store of ours is added for it:
	 * curg, rt_mark and the stack bounds are kept anyway. */
	struct mnsched_preempt a = {
		.mark = (uint64_t)(uintptr_t)mn_rt_mark(),
		.slice_ns = mn_sched.slice_ns,
		.text_start = (uint64_t)(uintptr_t)__start_mn_text,
		.text_end = (uint64_t)(uintptr_t)__stop_mn_text,
		.curg = (uint64_t)(uintptr_t)&m->curg,
		.g0 = (uint64_t)(uintptr_t)&m->g0,
		.g_mark_off = offsetof(struct mn_g, rt_mark),
		.g_stack_off = offsetof(struct mn_g, stack_lo),
		/* m->p and p->id: which P the M holds, as the runtime has it
		 * (SET_P is lazy). */
		.p_id_off = offsetof(struct mn_p, id),
		/* Moved and cleared as the handler does (MN_ENTER_FAST_P). */
		.m_p = (uint64_t)(uintptr_t)&m->p,
		.m_oldp = (uint64_t)(uintptr_t)&m->oldp,
	};
	int r;

	if (mn_sched.preempt_off || mn_sched.kpreempt_off ||
	    !mn_sched.parker->preempt || atomic_load(&state) < 0)
		return;
	r = mn_sched.parker->preempt(&m->park, &a);
	if (r == 0) {
		int unknown = 0;

		/* For sysmon's stall reports (overrun.c). */
		__atomic_store_n(&m->kmark, mn_rt_mark(), __ATOMIC_RELEASE);
		if (atomic_compare_exchange_strong(&state, &unknown, 1))
			atomic_store(&mn_sched.kpreempt, true);
		return;
	}
	atomic_store(&state, -1);
	atomic_store(&mn_sched.kpreempt, false);
}

/*
 * Lower this thread's priority: nice 19, else SCHED_IDLE; 0 or -errno.
 * Not SCHED_IDLE first: a demoted thread may hold a lock (libc's stdio or
 * malloc lock, a pthread mutex) that a normal thread waits for, and a
 * SCHED_IDLE thread gets next to no CPU while any other process's thread
 * is runnable, nice 19 ones included (rt_debug's dump test, malloc and
 * printing Gs, timed out under load so).  Nice 19 still leaves the P's new
 * M 98% of a CPU they share (weights 15 and 1024).
 */
static long demote_self(struct mn_m *m)
{
	struct sched_param sp = { 0 };
	long r = -EPERM;

	/* Already at nice 19 (the program runs under nice -n 19): only
	 * SCHED_IDLE is lower. */
	if (m->base_nice < 19)
		r = mn_syscall3(SYS_setpriority, PRIO_PROCESS, 0, 19);
	if (r < 0)
		r = mn_syscall3(SYS_sched_setscheduler, 0, SCHED_IDLE, (long)&sp);
	return r;
}

/* Back to the base priority; 0 or -errno (EPERM without privilege). */
static long restore_self(struct mn_m *m)
{
	struct sched_param sp = { 0 };
	long r = mn_syscall3(SYS_sched_setscheduler, 0, m->base_policy,
			     (long)&sp);

	if (r < 0)
		return r;
	return mn_syscall3(SYS_setpriority, PRIO_PROCESS, 0, m->base_nice);
}


/*
 * Whether the interrupted context is runtime code (runtime.h, "where the
 * handler may not take the P"), or may be: then the handler does nothing.
 *  - pc in the runtime's text;
 *  - the running G in a marked region (a call out of the runtime: libc,
 *    liburing, the vDSO; a cold entry point; every entry in a sanitizer
 *    build);
 *  - a signal mask other than the M's own while it runs a G: the handler
 *    of another signal (the program's), which blocks at least its own
 *    signal while it runs, may have interrupted runtime code that was
 *    neither marked nor, now, at the pc (a G that changes its own mask is
 *    only preempted cooperatively);
 *  - the stack pointer outside the G's stack: a handler of the program's
 *    on the alternate stack, or code we know nothing of.
 */
static bool in_runtime(struct mn_m *m, void *uc)
{
	const ucontext_t *u = uc;
	const char *pc = (const char *)u->uc_mcontext.gregs[REG_RIP];
	const char *sp = (const char *)u->uc_mcontext.gregs[REG_RSP];
	struct mn_g *g = m->curg;
	uint64_t mask = 0;

	if (pc >= __start_mn_text && pc < __stop_mn_text)
		return true;
	if (g->rt_mark)
		return true;
	memcpy(&mask, &u->uc_sigmask, sizeof(mask));
	if (mask != m->sigmask)
		return true;
	if (sp < g->stack_lo || sp >= g->stack_hi)
		return true;
	return false;
}

static void preempt_handler(int sig, siginfo_t *si, void *uc)
{
	struct mn_m *m = mn_curm();
	struct mn_p *p;
	uint64_t want;
	long r;

	/* Not from sysmon (another process, or the program; sysmon signals
	 * only Ms): the program's. */
	if (si->si_code != SI_TKILL || !m ||
	    si->si_pid != mn_syscall3(SYS_getpid, 0, 0, 0)) {
		if (old_sa.sa_flags & SA_SIGINFO) {
			if (old_sa.sa_sigaction)
				old_sa.sa_sigaction(sig, si, uc);
		} else if (old_sa.sa_handler != SIG_DFL &&
			   old_sa.sa_handler != SIG_IGN) {
			old_sa.sa_handler(sig);
		}
		return;
	}
	atomic_signal_fence(memory_order_seq_cst);
	if (!m || !m->p || m->curg == &m->g0 || (*mn_rt_mark() & MN_RT_LOST))
		return;		/* not running a G (the scheduler is the runtime) */
	if (in_runtime(m, uc))
		return;
	p = m->p;
	want = atomic_load_explicit(&p->preempt_tick, memory_order_relaxed);
	if (want != MN_SH_GET(p, schedtick) + 1)
		return;		/* that slice has ended: a late signal */
	/* mn_syscall_enter, without the G's state: it goes on running. */
	m->demoted_ns = mn_nanotime();
	__atomic_store_n(&m->slice_start, atomic_load_explicit(&p->preempt_since,
			 memory_order_relaxed), __ATOMIC_RELAXED);
	__atomic_store_n(&m->lost_tick, want - 1, __ATOMIC_RELAXED);
	__atomic_store_n(&m->demoted_goid, m->curg->goid, __ATOMIC_RELAXED);
	__atomic_store_n(&m->oldp, p, __ATOMIC_RELAXED);
	m->p = NULL;
	p->m = NULL;
	m->k_handoffs = MN_SH_GET(p, k_handoffs);
	__atomic_store_n(&m->lostp, true, __ATOMIC_RELEASE);	/* overrun.c */
	*mn_rt_mark() |= MN_RT_LOST;	/* the next runtime entry rejoins */
	MN_PCOUNT(p, preempts);
	atomic_fetch_add(&mn_sched.npreempt, 1);
	MN_PROBE(g_preempt, m->curg->goid, p->id, m->id, m->demoted_ns -
		 atomic_load_explicit(&p->preempt_since, memory_order_relaxed));
	atomic_store_explicit(&p->preempt_handoff, true, memory_order_relaxed);
	/* As mn_syscall_enter: the module learns who holds p (a raw ioctl,
	 * only when it may not know; we are outside the runtime, so not
	 * inside mn_kernel_p_set already). */
	mn_kernel_p_sync(m, p);
	mn_pstatus_set(p, MNSCHED_P_SYSCALL);	/* release: all of the above */
	atomic_fetch_add(&mn_sched.ndemoted, 1);
	r = demote_self(m);
	if (r < 0) {
		int zero = 0;

		atomic_compare_exchange_strong(&mn_sched.demote_err, &zero,
					       (int)-r);
	}
}

void mn_preempt_init(void)
{
	struct sigaction sa;

	if (mn_sched.slice_ns == 0)
		mn_sched.slice_ns = MN_PREEMPT_NS;
#ifdef MN_NO_PREEMPT
	mn_sched.preempt_off = true;
#endif
	if (mn_sched.preempt_off)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = preempt_handler;
	/* SA_RESTART: a system call of the G's C code is restarted, not cut
	 * short (sysmon signals running threads only, see below). */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(MN_PREEMPT_SIG, &sa, &old_sa))
		mn_sched.preempt_off = true;
}

/*
 * At the first runtime entry after the handler took the P (MN_ENTER).
 * On the G, in the runtime (the mark set), with no P.
 */
void mn_preempt_rejoin(void)
{
	MN_MARK();
	struct mn_m *m = mn_curm();
	struct mn_g *g = m->curg;
	struct mn_p *p = m->oldp;
	uint8_t mark = *mn_rt_mark();
	long r;

	*mn_rt_mark() &= (uint8_t)~(MN_RT_LOST | MN_RT_KLOST);
	if (mark & MN_RT_KLOST) {
		/*
		 * The module took the P while this thread ran the G's code:
		 * it did in the P page what the handler does (state SYSCALL)
		 * but left this M's fields alone.  It restores the priority
		 * (REJOIN: no privilege needed); then as mn_syscall_exit.
		 * The module no longer counts this M as the P's holder: the
		 * next mn_kernel_p_sync tells it again.  p->m may name another M by now: not ours
		 * to clear.
		 */
		p = m->oldp;	/* the module moved m->p there */
		if (!p || m->p)
			mn_fatal("M %d preempted by the module: P %p, old P %p",
				 m->id, (void *)m->p, (void *)p);
		m->k_handoffs = MN_SH_GET(p, k_handoffs);
		m->kp = -1;	/* the module no longer counts us as its holder */
		if (mn_sched.parker->rejoin)
			mn_sched.parker->rejoin(&m->park);
		if (mn_syscall_rejoin(m, g)) {
			m = mn_curm();
			MN_PROBE(g_start, g->goid, m->p->id, m->id);
		}
		return;
	}
	__atomic_store_n(&m->lostp, false, __ATOMIC_RELAXED);
	atomic_fetch_sub(&mn_sched.ndemoted, 1);
	r = restore_self(m);
	if (r == 0) {
		/* As mn_syscall_exit; m->oldp is still set for it.  If the P
		 * is still ours, sysmon has nothing to hand off (a flag left
		 * set would hand the P off at its next mn_syscall_enter).
		 * Back on a P without a switch: say so (tracers end
		 * "demoted"). */
		atomic_store_explicit(&p->preempt_handoff, false,
				      memory_order_relaxed);
		if (mn_syscall_rejoin(m, g)) {
			m = mn_curm();
			MN_PROBE(g_start, g->goid, m->p->id, m->id);
		}
		return;
	}
	/* Cannot get the priority back: this thread is done as an M, and
	 * starts no other (newm: a thread inherits its priority). */
	m->retire = true;
	__atomic_store_n(&m->oldp, NULL, __ATOMIC_RELAXED);
	atomic_fetch_add(&mn_sched.nretired, 1);
	if (mn_pstatus_cas(p, MNSCHED_P_SYSCALL, MNSCHED_P_IDLE)) {
		atomic_store_explicit(&p->preempt_handoff, false,
				      memory_order_relaxed);
		MN_SH_SET(p, m_id, -1);
		mn_handoffp(p);
	}
	mn_retire(m, g);
}

/* ---- sysmon's side ---- */

struct scan_arg {
	uint64_t now;
	bool acted;
};

/* Per P: the slice (tick + 1) whose overrun a scan saw first (sysmon). */
static uint64_t *seen;

/* Whether a G other than p's running one waits for p. */
static bool p_has_other_work(struct mn_p *p, uint64_t now)
{
	int64_t t = mn_timers_next(p);

	return !mn_runqempty(p) ||
	       (t >= 0 && t <= (int64_t)(now + mn_sched.slice_ns)) ||
	       mn_io_inflight(p) ||
	       (atomic_load(&mn_sched.runqsize) > 0 &&
		atomic_load(&mn_sched.npidle) == 0);
}

static void overran(struct mn_p *p, struct mn_m *dm, uint64_t goid,
		    uint64_t ran_ns, uint64_t tick, void *arg)
{
	struct scan_arg *a = arg;
	uint64_t sent = atomic_load_explicit(&p->preempt_tick,
					     memory_order_relaxed);
	pid_t tid;
	long cpu;

	if (dm || ran_ns < mn_sched.slice_ns || !p_has_other_work(p, a->now))
		return;		/* a demoted G has no P to give up */
	/* The first scan that sees the overrun only looks: retake sets the
	 * cooperative flag in the same tick, and a G that calls the runtime
	 * yields at it within microseconds, before sysmon's next tick (20 us
	 * later: retake's flag counts as work).  Only a G that went on
	 * computing through that tick is preempted (a signal, a demotion
	 * and a hand-off are not free: a ping-pong pair whose shared slice
	 * ran out must not pay them). */
	if (seen[p->id] != tick + 1) {
		seen[p->id] = tick + 1;
		a->acted = true;
		return;
	}
	/* Sent for this slice already: again only after one more slice
	 * (the thread was in the runtime then, or TSan held the signal). */
	if (sent == tick + 1 && ran_ns < 2 * mn_sched.slice_ns)
		return;
	if (atomic_load(&mn_sched.ndemoted) >= MN_MAX_DEMOTED) {
		static bool said;

		if (!said) {
			said = true;
			fprintf(stderr, "mnsched: %d threads run overrunning "
				"goroutines without a P (the most there may be); "
				"goroutine %llu on P %d is asked to yield instead\n",
				MN_MAX_DEMOTED, (unsigned long long)goid, p->id);
		}
		return;
	}
	if (atomic_load_explicit(&mn_sched.kpreempt, memory_order_relaxed)) {
		/* The module preempts (kmod/preempt.c): it sees the P's run
		 * queue and timers itself; this names the rest (I/O, the
		 * global queue, runnext) for this slice.  No signal. */
		if (MN_SH_GET(p, preempt_req) != tick + 1) {
			MN_SH_SET(p, preempt_req, tick + 1);
			a->acted = true;
		}
		return;
	}
	tid = mn_p_tid(p);
	if (!tid || mn_thread_stat(tid, &cpu) != 'R')
		return;		/* asleep in the kernel: not computing */
	atomic_store_explicit(&p->preempt_since, a->now - ran_ns,
			      memory_order_relaxed);
	atomic_store_explicit(&p->preempt_tick, tick + 1, memory_order_relaxed);
	mn_syscall3(SYS_tgkill, mn_syscall3(SYS_getpid, 0, 0, 0), tid, MN_PREEMPT_SIG);
	atomic_fetch_add(&mn_sched.nsignals, 1);
	a->acted = true;
}

/* Every sysmon tick.  True when it did something (sysmon stays fast). */
bool mn_preempt_scan(uint64_t now)
{
	struct scan_arg a = { now, false };
	int err;

	if (mn_sched.preempt_off)
		return false;
	if (!seen) {
		seen = calloc((size_t)mn_sched.nprocs, sizeof(*seen));
		if (!seen)
			return false;
	}
	/* Not the demoted Gs: they have no P to give up. */
	mn_overrun_scan(now, mn_sched.slice_ns, false, overran, &a);
	/* Hand off the Ps the handlers gave up. */
	for (int i = 0; i < mn_sched.nprocs; i++) {
		struct mn_p *p = mn_sched.allp[i];

		if (!atomic_load_explicit(&p->preempt_handoff,
					  memory_order_relaxed))
			continue;
		atomic_store_explicit(&p->preempt_handoff, false,
				      memory_order_relaxed);
		if (mn_pstatus_cas(p, MNSCHED_P_SYSCALL, MNSCHED_P_IDLE)) {
			MN_PROBE(handoff, p->id, MN_SH_GET(p, m_id), -1);
			MN_SH_SET(p, m_id, -1);
			mn_handoffp(p);
			a.acted = true;
		}
	}
	err = atomic_load_explicit(&mn_sched.demote_err, memory_order_relaxed);
	if (err > 0) {
		static bool said;

		if (!said) {
			said = true;
			fprintf(stderr, "mnsched: cannot lower the priority of a "
				"preempted thread (%s): its P is handed off "
				"without it\n", strerror(err));
		}
	}
	return a.acted;
}

/* Ps the module took from overrunning Gs (their pages' k_preempts). */
static uint64_t kernel_preemptions(void)
{
	uint64_t n = 0;

	if (!mn_sched.allp)
		return 0;
	for (int i = 0; i < mn_sched.nprocs; i++)
		n += MN_SH_GET(mn_sched.allp[i], k_preempts);
	return n;
}

/* Test hooks and counters.  Preemptions: by the handler and the module. */
__attribute__((visibility("default"))) uint64_t mn_debug_preemptions(void);
uint64_t mn_debug_preemptions(void)
{
	return atomic_load(&mn_sched.npreempt) + kernel_preemptions();
}

__attribute__((visibility("default"))) uint64_t mn_debug_kernel_preemptions(void);
uint64_t mn_debug_kernel_preemptions(void)
{
	return kernel_preemptions();
}

/* Preemption signals sysmon sent (0 while the module preempts). */
__attribute__((visibility("default"))) uint64_t mn_debug_preempt_signals(void);
uint64_t mn_debug_preempt_signals(void)
{
	return atomic_load(&mn_sched.nsignals);
}

/* 1 when the module preempts, 0 when sysmon's signal does. */
__attribute__((visibility("default"))) int mn_debug_kernel_preempt(void);
int mn_debug_kernel_preempt(void)
{
	return atomic_load(&mn_sched.kpreempt);
}

__attribute__((visibility("default"))) uint64_t mn_debug_retired_ms(void);
uint64_t mn_debug_retired_ms(void)
{
	return atomic_load(&mn_sched.nretired);
}

__attribute__((visibility("default"))) int mn_debug_demoted_ms(void);
int mn_debug_demoted_ms(void)
{
	return atomic_load(&mn_sched.ndemoted);
}
