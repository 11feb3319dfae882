// SPDX-License-Identifier: MIT
/*
 * syscall.c - mn_syscall_enter / mn_syscall_exit: lend the P while blocked.
 *
 * enter: the G is SYSCALL, the P goes to state SYSCALL with no owner M in
 *   user space (p->m = NULL, m->oldp = p).  Anyone may now take the P with
 *   a CAS SYSCALL -> something: sysmon after one of its ticks (sysmon.c),
 *   or, with the module, a spare M the kernel woke the moment this M
 *   blocked.  The P's queues are not touched while it is in SYSCALL state.
 * exit: CAS the old P back SYSCALL -> RUNNING (fast path; an ABA where the
 *   P was taken and is again in SYSCALL for another M is harmless: a P in
 *   SYSCALL runs nothing, and that M will find it gone and take the slow
 *   path) and yield if sysmon asked this P's G to (a G that only makes
 *   short system calls reaches no other scheduling point).  Else take any
 *   idle P.  Else the G goes to the global queue and the M goes idle (via
 *   g0).
 * Between enter and exit the G must not call other mn_* functions.
 * A preempted thread (preempt.c) gives its P up the same way, from its
 * signal handler (or the module does it for it), and takes it back through
 * mn_syscall_rejoin too.
 */
#include "runtime.h"
#include "san.h"

void mn_syscall_enter(void)
{
	MN_ENTER();
	struct mn_m *m = mn_need_m("mn_syscall_enter");
	struct mn_g *g = m->curg;
	struct mn_p *p = m->p;

	MN_PROBE(syscall_enter, g->goid, p->id);
	atomic_store_explicit(&g->status, MN_G_SYSCALL, memory_order_relaxed);
	atomic_fetch_add_explicit(&mn_sched.ngsys, 1, memory_order_relaxed);
	MN_PCOUNT(p, syscalls);
	MN_PCOUNT(p, syscalltick);
	__atomic_store_n(&m->oldp, p, __ATOMIC_RELAXED);	/* overrun.c reads */
	m->p = NULL;
	p->m = NULL;
	m->k_handoffs = MN_SH_GET(p, k_handoffs);
	/* Before the state: the module must know who blocks holding p. */
	mn_kernel_p_sync(m, p);
	/* Release: everything above is visible to whoever takes the P. */
	mn_pstatus_set(p, MNSCHED_P_SYSCALL);
}

/*
 * Take the P of m->oldp back (or any P; or queue g globally and idle the
 * M): the end of mn_syscall_exit, and of a preempted thread's rejoin
 * (preempt.c), whose P was given up the same way.  True when g kept
 * running on this M (false: it went through the global queue).
 */
bool mn_syscall_rejoin(struct mn_m *m, struct mn_g *g)
{
	struct mn_p *p = m->oldp;

	__atomic_store_n(&m->oldp, NULL, __ATOMIC_RELAXED);	/* overrun.c reads */
	if (likely(mn_pstatus_cas(p, MNSCHED_P_SYSCALL, MNSCHED_P_RUNNING))) {
		m->p = p;
		p->m = m;
		/* The module handed the P to a spare that lost the race to us
		 * and gave it up: tell the module we hold it again. */
		if (unlikely(MN_SH_GET(p, k_handoffs) != m->k_handoffs))
			mn_kernel_p_set(m, p);
		atomic_store_explicit(&g->status, MN_G_RUNNING,
				      memory_order_relaxed);
		return true;
	}
	/*
	 * The P was taken in state SYSCALL, and the module may have made a
	 * spare its holder that then lost the CAS to sysmon: no kgen records
	 * that, and the P may come back to us idle (mn_kernel_p_set).
	 */
	m->kp = -1;
	return mn_syscall_exit_slow(m, g);
}

void mn_syscall_exit(void)
{
	MN_ENTER();
	struct mn_m *m = mn_curm();
	struct mn_g *g;

	if (!m || !m->oldp) {
		if (atomic_load(&mn_in_fork_child))
			mn_fork_fatal("mn_syscall_exit");
		mn_fatal("mn_syscall_exit without mn_syscall_enter");
	}
	g = m->curg;
	atomic_fetch_sub_explicit(&mn_sched.ngsys, 1, memory_order_relaxed);
	mn_syscall_rejoin(m, g);
	MN_PROBE(syscall_exit, g->goid, mn_curm()->p->id);
	/* A scheduling point, as Go's exitsyscall is (gp.preempt): a G
	 * whose system calls all return before sysmon's second look
	 * keeps its P, and would never yield it otherwise. */
	mn_preempt_check();
}
