// SPDX-License-Identifier: GPL-2.0
/*
 * preempt.c - the module preempts the thread, not the G.
 *
 * The runtime's rule (user/src/preempt.c): a G that overran its time slice
 * loses its P, but its thread goes on running it where it was, demoted, and
 * rejoins at the G's next runtime call; a G never resumes on another thread
 * at a point the compiler did not expect.  Without the module, sysmon sends
 * the thread a signal and the handler gives the P up.  With it
 * (MNSCHED_IOC_PREEMPT), the module does the same from a per-CPU hrtimer:
 *
 *  - Each CPU's timer runs while an M that asked for preemption runs
 *    there: sched_in (or SET_P, PREEMPT) starts it, every slice / 4; it
 *    stops itself when it finds no such M current.  No timer runs on a CPU
 *    without Ms.
 *  - On each tick it looks at the P of the M it interrupted, as the
 *    runtime has it: the runtime's m->p (NULL while the M holds no P in
 *    state RUNNING: in a system call, demoted, idle) and that P's index,
 *    read from the stopped thread's memory, and the P's page agreeing
 *    (state RUNNING, m_id that M's id).  Not the module's own record: the
 *    runtime tells SET_P lazily, at system call entry.  Not the pages
 *    alone either: a spare that takes a P sets RUNNING before it writes
 *    its m_id, so for a moment the page names the M the P was taken from.
 *    A P whose schedtick (moved by
 *    the runtime at every new slice) it has seen unchanged for a slice,
 *    running a G (goid), and wanted by other work (its run queue, a timer
 *    due within a slice, or the runtime's preempt_req for that slice; or,
 *    once the group has demoted threads, another task waiting for this
 *    CPU: see mnsched_p_wanted()).
 *  - It acts only when it interrupted the thread in user mode: the thread
 *    is stopped, so nothing it writes can change under us, and no kernel
 *    path of the thread is in the middle of anything.  Then it decides, as
 *    the runtime's SIGURG handler does (user/src/preempt.c, in_runtime),
 *    whether the thread runs the program's code: the interrupted pc
 *    outside the runtime's text [ktext_start, ktext_end); the M's running
 *    G (*kcurg) neither none nor its scheduler G (kg0); that G's mark byte
 *    (at kg_mark_off, set by the runtime around its calls out of its
 *    text) 0; the M's mark (kmark) without LOST; the thread's signal mask
 *    the one it registered with (kblocked: a signal handler, which blocks
 *    at least its own signal while it runs, may have interrupted the
 *    runtime anywhere, even between its setting m->curg and the next G's
 *    mark, and the handler's pc in libc says nothing); and the user stack
 *    pointer inside that G's stack (kg_stack_off: not a handler on the
 *    alternate signal stack, not code we know nothing of).  User memory is read
 *    and written with the nofault accessors (a page that is not present
 *    costs one tick: the next one tries again).  Inside the runtime it
 *    does nothing: the G yields at its next scheduling point (sysmon's
 *    cooperative flag).  The runtime's hot path pays nothing for this:
 *    m->curg and g->rt_mark are what it stores anyway; the tick pays, only
 *    once a slice is over and the P wanted, a range compare, a mask
 *    compare and four nofault reads (1, 8, 1 and 16 bytes).  A handler
 *    that blocks nothing (SA_NODEFER, empty sa_mask) and runs on the G's
 *    own stack passes both tests, as it does the runtime's handler: a
 *    program's handler that calls the runtime is already outside the rules
 *    (README).
 *  - The program's code: it makes the M the P's holder if it was not
 *    (what the SET_P the runtime has not made yet would do), writes
 *    LOST | KLOST to the mark, moves the
 *    runtime's m->p to m->oldp and zeroes m->p (the runtime's hot entries
 *    that test m->p instead of the mark, MN_ENTER_FAST_P, need it), moves
 *    the P from RUNNING to SYSCALL with a compare-and-swap (what
 *    mn_syscall_enter and the signal handler do; only the P's holder
 *    changes a RUNNING P, and it is the thread we stopped, so the swap
 *    cannot fail unless the page was changed behind the runtime's back:
 *    then the mark and the P pointers are put back),
 *    stops counting the M as the P's holder, makes the P pending for a
 *    spare M exactly as a blocked M's (handoff.c: the irq_work wakes the
 *    first spare with it), and lowers the thread to nice 19.
 *  - While it runs demoted, each tick that finds other tasks waiting for
 *    its CPU asks for a reschedule (mnsched_kpreempt_give_way(): 6.12's
 *    EEVDF would otherwise let it finish its slice, seen only at the
 *    scheduler tick, before a woken M runs).
 *  - The thread returns to user mode where it was.  Its next runtime entry
 *    (MN_ENTER) sees the mark, calls REJOIN (the module restores the nice
 *    value and withdraws the P from the spares if nobody took it), and
 *    takes a P back as after a system call (its next system call tells
 *    SET_P: the runtime's note of the holder counts k_preempts).
 *
 * Why an hrtimer on the thread's own CPU and not task_work (which 6.1 and
 * 6.12 both export): a task_work callback head must outlive the thread's
 * return to user mode, and an M can be freed (UNREGISTER) with one queued;
 * task_work_cancel() is not exported.  The timer acts at once, on the
 * stopped thread, with no object to keep alive.  set_user_nice() takes the
 * task's pi_lock and runqueue lock, which interrupt handlers take too
 * (wake-ups, the scheduler tick), never with interrupts on; the timer
 * interrupted user mode, so this CPU holds neither.
 *
 * Limits: at most MNSCHED_MAX_KDEMOTED Ms of a group run demoted at once (then
 * the cooperative flag only); a thread of another policy than SCHED_NORMAL
 * or SCHED_BATCH, or already at nice 19, is not demoted but still loses
 * its P; a G that overruns while its thread is in the kernel (a system
 * call made without mn_syscall_enter) is preempted when it is back in user
 * mode at a tick.  A slice lasts 1 to 1.5 slices: the tick counts from
 * the first tick that saw the slice's schedtick, never from before it.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/sched/stat.h>
#include <linux/signal.h>
#include <linux/uaccess.h>
#include <asm/irq_regs.h>

#include "mn.h"
#include "trace.h"

#define MNSCHED_MAX_KDEMOTED	256
#define MNSCHED_DEMOTED_NICE	19

/**
 * struct mnsched_cpu - per-CPU preemption state
 * @timer: the tick, pinned to this CPU
 * @cur: the M running on this CPU, NULL for none; written by sched_in and
 *	sched_out of Ms (and REGISTER, UNREGISTER, exec) on this CPU
 * @period: the period @timer was last started or forwarded with; written on
 *	this CPU with interrupts off
 */
struct mnsched_cpu {
	struct hrtimer timer;
	struct mnsched_m *cur;
	u64 period;
};

static DEFINE_PER_CPU(struct mnsched_cpu, mnsched_cpus);

static u64 mnsched_kperiod(u64 slice)
{
	return slice / 4;
}

/**
 * mnsched_kpreempt_arm() - start this CPU's tick for @m if it is not running
 * @m: the M current on this CPU; preemption is off
 */
void mnsched_kpreempt_arm(struct mnsched_m *m)
{
	struct mnsched_cpu *c = this_cpu_ptr(&mnsched_cpus);
	u64 slice = READ_ONCE(m->kslice_ns), period;
	unsigned long flags;

	if (!slice)
		return;
	period = mnsched_kperiod(slice);
	local_irq_save(flags);
	/*
	 * A tick queued for a longer period (another M's slice, or an M gone
	 * since, whose last tick is still queued) could come up to a second
	 * late for this one: start it again.
	 */
	if (!hrtimer_is_queued(&c->timer) || c->period > period) {
		c->period = period;
		hrtimer_start(&c->timer, ns_to_ktime(period),
			      HRTIMER_MODE_REL_PINNED_HARD);
	}
	local_irq_restore(flags);
}

/**
 * mnsched_kpreempt_sched_in() - @m runs on this CPU now
 * @m: the M (sched_in notifier: preemption off)
 */
void mnsched_kpreempt_sched_in(struct mnsched_m *m)
{
	this_cpu_write(mnsched_cpus.cur, m);
	mnsched_kpreempt_arm(m);
}

/**
 * mnsched_kpreempt_sched_out() - the M current on this CPU leaves it
 *
 * The tick, if queued, stops at its next expiry.
 */
void mnsched_kpreempt_sched_out(void)
{
	this_cpu_write(mnsched_cpus.cur, NULL);
}

/**
 * mnsched_kpreempt_forget() - @m, the current thread's M, stops being one
 * @m: the M; preemption is off
 *
 * From UNREGISTER and exec: no sched_out will clear it any more.
 */
void mnsched_kpreempt_forget(struct mnsched_m *m)
{
	unsigned long flags;

	local_irq_save(flags);
	if (this_cpu_read(mnsched_cpus.cur) == m)
		this_cpu_write(mnsched_cpus.cur, NULL);
	local_irq_restore(flags);
}

/**
 * mnsched_kpreempt_drop() - withdraw the P the module took from @m's G
 * @g: the group, lock held
 * @m: the M
 *
 * When no spare has taken it yet, the P stops being offered (its M takes
 * it back, or sysmon does).
 */
void mnsched_kpreempt_drop(struct mnsched_group *g, struct mnsched_m *m)
{
	struct mnsched_p *kp;
	int p = m->klost_p;

	lockdep_assert_held(&g->lock);
	if (p < 0)
		return;
	kp = &g->ps[p];
	raw_spin_lock(&kp->lock);
	if (kp->blocker == m) {
		kp->blocker = NULL;
		clear_bit(p, g->pending);
	}
	raw_spin_unlock(&kp->lock);
	m->klost_p = -1;
}

/**
 * mnsched_kpreempt_undemote() - give the current thread back its nice value
 * @m: the current thread's M
 *
 * Only when the module demoted it and nobody changed its nice value since.
 */
void mnsched_kpreempt_undemote(struct mnsched_m *m)
{
	bool was;

	/* The tick writes kdemoted on this CPU with interrupts off. */
	local_irq_disable();
	was = m->kdemoted;
	m->kdemoted = false;
	local_irq_enable();
	if (!was)
		return;
	atomic_dec(&m->g->nr_kdemoted);
	if (task_nice(current) == MNSCHED_DEMOTED_NICE)
		set_user_nice(current, m->knice);
}

/*
 * Other work waits for P @pst of @g, in slice @tick: its run queue, a timer
 * due within a slice, or the runtime's word for it (preempt_req).  Or the
 * CPU: once the group has demoted threads, an overrunning G whose CPU has
 * another task waiting is demoted too.  Those threads are the group's own
 * extra load; without this, a G that nothing waits for on its P keeps nice
 * 0 beside a demoted one and the scheduler shares its CPU equally between
 * it and a woken M of another P (6.1's CFS gives a task that slept 1 ms
 * little wake-up credit: it waits for the hog's share, up to 6 ms).
 * Called in the tick, on the CPU of the M that holds the P.
 */
static bool mnsched_p_wanted(struct mnsched_group *g, struct mnsched_pstate *pst,
			u64 tick, u64 now, u64 slice)
{
	u64 t0 = READ_ONCE(pst->timer0_ns);

	return READ_ONCE(pst->runq_len) > 0 || (t0 && t0 <= now + slice) ||
	       READ_ONCE(pst->preempt_req) == tick + 1 ||
	       (atomic_read(&g->nr_kdemoted) > 0 && !single_task_running());
}

/*
 * Take P @p from @m, whose thread the tick interrupted in the program's
 * code with its mark @mark, in slice @tick.  Hard interrupt context.
 */
static void mnsched_kpreempt_take(struct mnsched_m *m, int p, u64 tick, u8 mark,
				  u64 now)
{
	u8 lost = MNSCHED_MARK_LOST | MNSCHED_MARK_KLOST;
	struct mnsched_group *g = m->g;
	u64 up, uoldp, zero = 0;
	struct mnsched_pstate *pst = g->pst[p];
	struct mnsched_p *kp = &g->ps[p];
	bool took = false;
	u64 since = 0, goid = 0;
	int nice;

	spin_lock(&g->lock);
	if (READ_ONCE(g->dead)) {
		spin_unlock(&g->lock);
		return;
	}
	/*
	 * The runtime says @m holds @p (mnsched_kpreempt_find_p(), and the
	 * thread is stopped): its SET_P, made lazily, may not have come yet.
	 */
	if (kp->owner != m || m->p != p)
		mnsched_give_p(g, m, p);
	raw_spin_lock(&kp->lock);
	if (kp->owner != m || kp->blocker || READ_ONCE(pst->schedtick) != tick)
		goto unlock;
	if (copy_from_user_nofault(&up, m->km_p, sizeof(up)) ||
	    copy_from_user_nofault(&uoldp, m->km_oldp, sizeof(uoldp)))
		goto unlock;
	lost |= mark;
	if (copy_to_user_nofault(m->kmark, &lost, 1))
		goto unlock;
	if (copy_to_user_nofault(m->km_oldp, &up, sizeof(up)))
		goto restore_mark;
	if (copy_to_user_nofault(m->km_p, &zero, sizeof(zero)))
		goto restore_oldp;
	if (cmpxchg(&pst->state, MNSCHED_P_RUNNING, MNSCHED_P_SYSCALL) ==
	    MNSCHED_P_RUNNING)
		goto took;
	if (copy_to_user_nofault(m->km_p, &up, sizeof(up)))
		pr_warn_once("mnsched: cannot restore a P pointer\n");
restore_oldp:
	if (copy_to_user_nofault(m->km_oldp, &uoldp, sizeof(uoldp)))
		pr_warn_once("mnsched: cannot restore a P pointer\n");
restore_mark:
	if (copy_to_user_nofault(m->kmark, &mark, 1))
		pr_warn_once("mnsched: cannot restore a mark\n");
	goto unlock;
took:
	kp->owner = NULL;
	WRITE_ONCE(m->p, -1);
	kp->blocker = m;
	m->klost_p = p;
	since = kp->ksince;
	goid = READ_ONCE(pst->goid);
	kp->ksince = 0;
	mnsched_pst_kwrite_begin(pst);
	WRITE_ONCE(pst->k_preempts, pst->k_preempts + 1);
	mnsched_pst_kwrite_end(pst);
	set_bit(p, g->pending);
	took = true;
unlock:
	raw_spin_unlock(&kp->lock);
	spin_unlock(&g->lock);
	if (!took)
		return;

	mnsched_count_event(MNSCHED_E_KPREEMPT);
	trace_mnsched_kpreempt(p, m->id, current->pid, goid, since ? now - since : 0);
	nice = task_nice(current);
	if (!m->kdemoted && nice < MNSCHED_DEMOTED_NICE &&
	    (current->policy == SCHED_NORMAL || current->policy == SCHED_BATCH)) {
		m->knice = nice;
		m->kdemoted = true;
		atomic_inc(&g->nr_kdemoted);
		set_user_nice(current, MNSCHED_DEMOTED_NICE);
	}
	/* A spare M takes the P once this interrupt is over (handoff.c). */
	irq_work_queue(&g->iw);
}

/*
 * Whether @m's thread, interrupted in user mode at @regs, runs the
 * program's code (the kernel's side of the runtime's in_runtime()); then
 * *@mark is its mark.  Hard interrupt context, the thread stopped.
 */
static bool mnsched_in_user_code(struct mnsched_m *m, struct pt_regs *regs, u8 *mark)
{
	unsigned long pc = instruction_pointer(regs);
	u64 sp = user_stack_pointer(regs);
	u64 curg, stack[2];
	u8 gmark;

	if (pc >= m->ktext_start && pc < m->ktext_end)
		return false;
	if (copy_from_user_nofault(mark, m->kmark, 1) ||
	    (*mark & MNSCHED_MARK_LOST))
		return false;
	if (copy_from_user_nofault(&curg, m->kcurg, sizeof(curg)) || !curg ||
	    curg == m->kg0)
		return false;
	if (copy_from_user_nofault(&gmark,
				   u64_to_user_ptr(curg + m->kg_mark_off), 1) || gmark)
		return false;
	/* Only the thread changes its mask, and it is stopped in user mode. */
	if (!sigequalsets(&current->blocked, &m->kblocked))
		return false;
	if (copy_from_user_nofault(stack, u64_to_user_ptr(curg + m->kg_stack_off),
				   sizeof(stack)))
		return false;
	return sp >= stack[0] && sp < stack[1];
}

/*
 * The P @m holds and runs Gs on, -1 for none: the runtime's m->p (the
 * thread's own field, and the thread is stopped: the tick interrupted it)
 * and the index in that P, with the P's page in state RUNNING naming @m.
 * Two nofault reads, 8 and 4 bytes.
 */
static int mnsched_kpreempt_find_p(struct mnsched_group *g, struct mnsched_m *m)
{
	/* Pairs with the release in mnsched_ioc_config(): pages first. */
	u32 nr_p = smp_load_acquire(&g->nr_p), p;
	struct mnsched_pstate *pst;
	u64 up;

	if (copy_from_user_nofault(&up, m->km_p, sizeof(up)) || !up ||
	    copy_from_user_nofault(&p, u64_to_user_ptr(up + m->kp_id_off),
				   sizeof(p)) ||
	    p >= nr_p)
		return -1;
	pst = g->pst[p];
	if (READ_ONCE(pst->state) != MNSCHED_P_RUNNING ||
	    READ_ONCE(pst->m_id) != m->id)
		return -1;
	return p;
}

/* One look at @m's P, from the tick that interrupted @m. */
static void mnsched_kpreempt_check(struct mnsched_m *m, u64 slice)
{
	struct mnsched_group *g = m->g;
	struct pt_regs *regs = get_irq_regs();
	struct mnsched_pstate *pst;
	bool over = false;
	struct mnsched_p *kp;
	u64 tick, now;
	u8 mark;
	int p;

	if (READ_ONCE(g->dead) || current->mm != g->mm)
		return;
	p = mnsched_kpreempt_find_p(g, m);
	if (p < 0)
		return;
	pst = g->pst[p];
	kp = &g->ps[p];
	now = ktime_get_ns();
	raw_spin_lock(&kp->lock);
	tick = READ_ONCE(pst->schedtick);
	if (!READ_ONCE(pst->goid)) {
		kp->ksince = 0;
		goto unlock;
	}
	if (!kp->ksince || kp->ktick != tick) {
		kp->ktick = tick;
		kp->ksince = now;
		goto unlock;
	}
	over = now - kp->ksince >= slice && mnsched_p_wanted(g, pst, tick, now, slice);
unlock:
	raw_spin_unlock(&kp->lock);
	if (!over || !regs || !user_mode(regs))
		return;
	if (atomic_read(&g->nr_kdemoted) >= MNSCHED_MAX_KDEMOTED)
		return;
	if (!mnsched_in_user_code(m, regs, &mark))
		return;
	mnsched_kpreempt_take(m, p, tick, mark, now);
}

/*
 * The thread the tick interrupted, demoted by the module, gives way now to
 * the tasks that wait for this CPU.  The lower weight alone does not do it
 * on 6.12: EEVDF lets a task it picked run to the end of its slice
 * (RUN_TO_PARITY), so a nice-0 M woken meanwhile does not preempt it, and
 * that end is seen only at the run queue's next update, which for a thread
 * that never enters the kernel is the scheduler tick (4 ms at HZ=250: the
 * late ticks of hog_latency_2 on 6.12, traced on the virtual clock; 6.1's
 * CFS preempts at the wake-up).  A reschedule makes the scheduler update
 * it: within the slice (0.75 ms on one CPU, the base slice) it picks the
 * same thread again, after it the woken M runs.  Interrupts are off.
 */
static void mnsched_kpreempt_give_way(struct mnsched_m *m)
{
	if (!m->kdemoted || single_task_running())
		return;
	set_tsk_need_resched(current);
	set_preempt_need_resched();
	mnsched_count_event(MNSCHED_E_GIVEWAY);
}

static enum hrtimer_restart mnsched_kpreempt_tick(struct hrtimer *t)
{
	struct mnsched_m *m = this_cpu_read(mnsched_cpus.cur);
	u64 slice;

	if (!m || m->task != current)
		return HRTIMER_NORESTART;
	slice = READ_ONCE(m->kslice_ns);
	if (!slice)
		return HRTIMER_NORESTART;
	mnsched_kpreempt_check(m, slice);
	mnsched_kpreempt_give_way(m);
	this_cpu_write(mnsched_cpus.period, mnsched_kperiod(slice));
	hrtimer_forward_now(t, ns_to_ktime(mnsched_kperiod(slice)));
	return HRTIMER_RESTART;
}

/* A user address of an aligned u64, not 0. */
static bool mnsched_user_word_ok(u64 a)
{
	return a && !(a & 7) && access_ok(u64_to_user_ptr(a), sizeof(u64));
}

/**
 * mnsched_ioc_preempt() - MNSCHED_IOC_PREEMPT: preempt the calling M's Gs in the kernel
 * @g: the group
 * @uarg: struct mnsched_preempt
 *
 * Return: 0, -EFAULT, -EINVAL for flags, a slice out of range, a
 * mark or G pointer address that is not a user address, a text range that
 * is empty or not in user addresses, a G mark, stack or P index offset out
 * of range (or a stack offset not 8-byte aligned); -ESRCH
 * when the caller is not an M of @g.
 */
long mnsched_ioc_preempt(struct mnsched_group *g, void __user *uarg)
{
	struct mnsched_preempt a;
	u64 __user *curg;
	u8 __user *mark;
	struct mnsched_m *m;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags)
		return -EINVAL;
	if (a.slice_ns && (a.slice_ns < MNSCHED_SLICE_MIN_NS ||
			   a.slice_ns > MNSCHED_SLICE_MAX_NS))
		return -EINVAL;
	mark = u64_to_user_ptr(a.mark);
	curg = u64_to_user_ptr(a.curg);
	if (a.slice_ns &&
	    (!a.mark || !access_ok(mark, 1) || !mnsched_user_word_ok(a.curg) ||
	     !mnsched_user_word_ok(a.m_p) || !mnsched_user_word_ok(a.m_oldp) ||
	     a.g_mark_off >= MNSCHED_G_MARK_OFF_MAX ||
	     a.g_stack_off >= MNSCHED_G_MARK_OFF_MAX || (a.g_stack_off & 7) ||
	     a.p_id_off >= MNSCHED_G_MARK_OFF_MAX ||
	     a.text_start >= a.text_end ||
	     !access_ok(u64_to_user_ptr(a.text_start),
			a.text_end - a.text_start)))
		return -EINVAL;
	m = mnsched_current_m(g);
	if (!m)
		return -ESRCH;
	preempt_disable();
	/* The tick of this CPU reads both: no tick between the two stores. */
	local_irq_disable();
	WRITE_ONCE(m->kslice_ns, 0);
	WRITE_ONCE(m->kmark, a.slice_ns ? mark : NULL);
	m->ktext_start = a.slice_ns ? a.text_start : 0;
	m->ktext_end = a.slice_ns ? a.text_end : 0;
	m->kcurg = a.slice_ns ? curg : NULL;
	m->kg0 = a.g0;
	m->kg_mark_off = a.g_mark_off;
	m->kg_stack_off = a.g_stack_off;
	m->kp_id_off = a.p_id_off;
	/* Only this thread changes its mask, and it is here: no lock. */
	m->kblocked = current->blocked;
	m->km_p = a.slice_ns ? u64_to_user_ptr(a.m_p) : NULL;
	m->km_oldp = a.slice_ns ? u64_to_user_ptr(a.m_oldp) : NULL;
	WRITE_ONCE(m->kslice_ns, a.slice_ns);
	local_irq_enable();
	mnsched_kpreempt_arm(m);
	preempt_enable();
	return 0;
}

/**
 * mnsched_ioc_rejoin() - MNSCHED_IOC_REJOIN: the M the module preempted is back
 * @g: the group
 * @arg: must be 0
 *
 * Return: 0, -EINVAL for @arg, -ESRCH when the caller is not an M of @g.
 */
long mnsched_ioc_rejoin(struct mnsched_group *g, unsigned long arg)
{
	struct mnsched_m *m;

	if (arg)
		return -EINVAL;
	m = mnsched_current_m(g);
	if (!m)
		return -ESRCH;
	spin_lock_irq(&g->lock);
	mnsched_kpreempt_drop(g, m);
	spin_unlock_irq(&g->lock);
	mnsched_kpreempt_undemote(m);
	return 0;
}

/**
 * mnsched_kpreempt_init() - set up the per-CPU ticks
 *
 * Return: 0.
 */
int mnsched_kpreempt_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct mnsched_cpu *c = per_cpu_ptr(&mnsched_cpus, cpu);

		hrtimer_init(&c->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
		c->timer.function = mnsched_kpreempt_tick;
		c->cur = NULL;
	}
	return 0;
}

/**
 * mnsched_kpreempt_exit() - stop the per-CPU ticks
 *
 * No M is left (each holds a module reference); a tick may still be queued.
 */
void mnsched_kpreempt_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		hrtimer_cancel(&per_cpu_ptr(&mnsched_cpus, cpu)->timer);
}
