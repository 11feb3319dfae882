// SPDX-License-Identifier: GPL-2.0
/*
 * handoff.c - blocked-M detection with preempt notifiers, and the handoff
 * of its P to a spare M.
 *
 * sched_out runs with the runqueue lock held and interrupts off.  When the
 * M holds a P in state SYSCALL and leaves the CPU asleep
 * (mnsched_task_blocked(): off the runqueue, or 6.12's delayed dequeue), it
 * has blocked in the kernel: sched_out marks the P blocked in its page and
 * queues an irq_work, which runs once the context switch is over and wakes
 * a spare M with the P.  sched_in, when the blocked M runs again, clears the
 * mark and cancels a handoff that has not happened yet.
 *
 * The same hooks tell preempt.c which M runs on each CPU (its tick).
 *
 * A dead task goes through sched_out one last time; that call queues the
 * M's own irq_work, which queues the work that frees the M.  The M (and
 * the module, through the reference each M holds) thus outlives the last
 * notifier call.  The M of a thread that calls execve() goes the same way
 * once exec.c has unregistered its notifier.
 */
#include <linux/bitops.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/timekeeping.h>

#include "compat.h"
#include "mn.h"
#include "trace.h"

/**
 * mnsched_pst_kwrite_begin() - start writing kernel fields of a P struct
 * @pst: the P struct; its mnsched_p lock is held
 *
 * Makes @pst->kseq odd.
 */
void mnsched_pst_kwrite_begin(struct mnsched_pstate *pst)
{
	WRITE_ONCE(pst->kseq, pst->kseq + 1);
	/* Odd kseq visible before the fields: pairs with the reader's smp_rmb(). */
	smp_wmb();
}

/**
 * mnsched_pst_kwrite_end() - finish writing kernel fields of a P struct
 * @pst: the P struct; its mnsched_p lock is held
 *
 * Makes @pst->kseq even again.
 */
void mnsched_pst_kwrite_end(struct mnsched_pstate *pst)
{
	/* Fields visible before the even kseq: pairs with the reader's smp_rmb(). */
	smp_wmb();
	WRITE_ONCE(pst->kseq, pst->kseq + 1);
}

static void mnsched_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct mnsched_m *m = container_of(pn, struct mnsched_m, pn);
	struct mnsched_group *g = m->g;
	int p = m->blocked_p;
	unsigned long flags;
	struct mnsched_p *kp;

	mnsched_kpreempt_sched_in(m);
	if (likely(p < 0))
		return;
	m->blocked_p = -1;
	kp = &g->ps[p];
	raw_spin_lock_irqsave(&kp->lock, flags);
	if (kp->blocker == m) {
		kp->blocker = NULL;
		clear_bit(p, g->pending);
		mnsched_pst_kwrite_begin(g->pst[p]);
		WRITE_ONCE(g->pst[p]->blocked, 0);
		mnsched_pst_kwrite_end(g->pst[p]);
	}
	raw_spin_unlock_irqrestore(&kp->lock, flags);
}

static void mnsched_sched_out(struct preempt_notifier *pn,
			      struct task_struct *next)
{
	struct mnsched_m *m = container_of(pn, struct mnsched_m, pn);
	struct mnsched_group *g = m->g;
	struct mnsched_pstate *pst;
	struct mnsched_p *kp;
	int cpu;
	int p;

	mnsched_kpreempt_sched_out();
	if (unlikely(READ_ONCE(current->__state) == TASK_DEAD)) {
		/* Last switch away from this thread. */
		irq_work_queue(&m->free_iw);
		return;
	}
	/* A wake-up waits for us to be off this CPU: see park.c. */
	if (unlikely(READ_ONCE(m->defer_to) >= 0))
		irq_work_queue(&m->defer_iw);
	p = READ_ONCE(m->p);
	if (p < 0 || !mnsched_task_blocked(current))
		return;
	if (READ_ONCE(g->dead) || current->mm != g->mm)
		return;
	pst = g->pst[p];
	if (READ_ONCE(pst->state) != MNSCHED_P_SYSCALL)
		return;

	kp = &g->ps[p];
	raw_spin_lock(&kp->lock);
	if (READ_ONCE(m->p) != p || kp->blocker) {
		raw_spin_unlock(&kp->lock);
		return;
	}
	kp->blocker = m;
	m->blocked_p = p;
	mnsched_pst_kwrite_begin(pst);
	WRITE_ONCE(pst->blocked, 1);
	WRITE_ONCE(pst->blocked_since_ns, ktime_get_mono_fast_ns());
	WRITE_ONCE(pst->k_blocks, pst->k_blocks + 1);
	mnsched_pst_kwrite_end(pst);
	set_bit(p, g->pending);
	raw_spin_unlock(&kp->lock);

	mnsched_count_event(MNSCHED_E_BLOCK);
	trace_mnsched_block(m->id, p, current->pid);
	/*
	 * No wake-ups under the runqueue lock.  When this CPU goes idle, run
	 * the work here once the switch is over: it wakes the spare onto this
	 * CPU, with no IPI and no other CPU to bring out of idle.  Otherwise,
	 * when the first spare M waits on another CPU, send the work there:
	 * it wakes the spare locally, one IPI in all.
	 */
	cpu = READ_ONCE(g->spare_cpu);
	if (!is_idle_task(next) && cpu >= 0 && cpu != smp_processor_id() &&
	    cpu_online(cpu) && !xchg(&g->csd_busy, 1)) {
		if (!smp_call_function_single_async(cpu, &g->csd))
			return;
		/* Not sent: free it again; pairs with mnsched_group_put(). */
		smp_store_release(&g->csd_busy, 0);
	}
	irq_work_queue(&g->iw);
}

struct preempt_ops mnsched_preempt_ops = {
	.sched_in = mnsched_sched_in,
	.sched_out = mnsched_sched_out,
};

/**
 * mnsched_take_pending() - hand a pending blocked P to spare M @s
 * @g: the group, lock held
 * @s: the spare M, holding no P
 *
 * Ps whose state left SYSCALL meanwhile, or whose M already runs again,
 * are dropped from the pending set.
 *
 * Return: the P now held by @s, or -1 when none is pending.
 */
int mnsched_take_pending(struct mnsched_group *g, struct mnsched_m *s)
{
	u32 nr_p = g->nr_p;
	struct mnsched_pstate *pst;
	struct mnsched_p *kp;
	int from;
	int p;

	lockdep_assert_held(&g->lock);
	for_each_set_bit(p, g->pending, nr_p) {
		kp = &g->ps[p];
		pst = g->pst[p];
		raw_spin_lock(&kp->lock);
		if (!test_and_clear_bit(p, g->pending) || !kp->blocker ||
		    READ_ONCE(pst->state) != MNSCHED_P_SYSCALL) {
			raw_spin_unlock(&kp->lock);
			continue;
		}
		from = kp->blocker->id;
		/* mnsched_untake() restores only the plain case: its M held it. */
		s->handed_from = kp->owner == kp->blocker ? from : -1;
		/* Taken from a G by the module: its M has nothing to withdraw. */
		if (kp->blocker->klost_p == p)
			kp->blocker->klost_p = -1;
		kp->blocker = NULL;
		if (kp->owner && kp->owner != s)
			WRITE_ONCE(kp->owner->p, -1);
		kp->owner = s;
		WRITE_ONCE(s->p, p);
		mnsched_pst_kwrite_begin(pst);
		WRITE_ONCE(pst->blocked, 0);
		WRITE_ONCE(pst->k_handoffs, pst->k_handoffs + 1);
		mnsched_pst_kwrite_end(pst);
		raw_spin_unlock(&kp->lock);

		mnsched_count_event(MNSCHED_E_HANDOFF);
		trace_mnsched_handoff(p, from, s->id);
		return p;
	}
	return -1;
}

/**
 * mnsched_untake() - undo mnsched_take_pending() for a spare M that cannot
 *	report it
 * @g: the group
 * @s: the spare M, the calling thread, which took P @p in SPARE
 * @p: the P
 *
 * SPARE took @p but could not copy it out (its argument became
 * unwritable): the call fails with -EFAULT and must leave no effect.
 * When the M that held @p and whose block made it pending has not run
 * since (its sched_in would have cleared its blocked_p), @p is put back as
 * it was: blocked, pending, held by that M, the handoff not counted, and
 * offered to the next spare.  Otherwise that M runs again and wins its P
 * back with its compare-and-swap, as when a spare's compare-and-swap
 * fails: @s only stops holding @p.
 */
void mnsched_untake(struct mnsched_group *g, struct mnsched_m *s, int p)
{
	struct mnsched_pstate *pst = g->pst[p];
	struct mnsched_p *kp = &g->ps[p];
	bool again = false;
	unsigned long flags;
	struct mnsched_m *b;

	spin_lock_irqsave(&g->lock, flags);
	rcu_read_lock();
	b = s->handed_from >= 0 ? xa_load(&g->ms, s->handed_from) : NULL;
	raw_spin_lock(&kp->lock);
	if (kp->owner == s) {
		kp->owner = NULL;
		WRITE_ONCE(s->p, -1);
		/*
		 * b's sched_in writes its blocked_p before it takes kp->lock:
		 * seen here, it will find itself the blocker and clear it.
		 */
		if (b && b != s && !kp->blocker && READ_ONCE(b->blocked_p) == p &&
		    READ_ONCE(pst->state) == MNSCHED_P_SYSCALL) {
			kp->blocker = b;
			kp->owner = b;
			WRITE_ONCE(b->p, p);
			mnsched_pst_kwrite_begin(pst);
			WRITE_ONCE(pst->blocked, 1);
			WRITE_ONCE(pst->k_handoffs, pst->k_handoffs - 1);
			mnsched_pst_kwrite_end(pst);
			set_bit(p, g->pending);
			again = true;
		}
	}
	raw_spin_unlock(&kp->lock);
	rcu_read_unlock();
	spin_unlock_irqrestore(&g->lock, flags);
	/* Another spare may be waiting for it. */
	if (again)
		irq_work_queue(&g->iw);
}

/**
 * mnsched_spares_changed() - update the hint of where the first spare M waits
 * @g: the group, lock held
 */
void mnsched_spares_changed(struct mnsched_group *g)
{
	struct mnsched_m *s = list_first_entry_or_null(&g->spares,
						       struct mnsched_m,
						       spare_node);

	lockdep_assert_held(&g->lock);
	WRITE_ONCE(g->spare_cpu, s ? s->spare_cpu : -1);
}

/*
 * Wake @p onto this CPU, which is idle: a sleeping task is woken on the CPU
 * it last ran on when that one is idle too, which would cost an IPI and
 * bring a second CPU out of idle.  The hint is what the scheduler itself
 * sets when it moves a sleeping task (p->wake_cpu, under p->pi_lock); it
 * is only a hint, the wake-up still checks the task's affinity.
 */
static void mnsched_wake_here(struct task_struct *p)
{
	int cpu = smp_processor_id();
	unsigned long flags;

	raw_spin_lock_irqsave(&p->pi_lock, flags);
	if (!READ_ONCE(p->on_rq) && cpumask_test_cpu(cpu, p->cpus_ptr))
		p->wake_cpu = cpu;
	raw_spin_unlock_irqrestore(&p->pi_lock, flags);
	wake_up_process(p);
}

/* Hand pending Ps to spare Ms; @here: wake them onto this (idle) CPU. */
static void mnsched_deliver(struct mnsched_group *g, bool here)
{
	unsigned long flags;
	struct mnsched_m *s;
	int p;

	spin_lock_irqsave(&g->lock, flags);
	while (!READ_ONCE(g->dead) && !list_empty(&g->spares)) {
		s = list_first_entry(&g->spares, struct mnsched_m, spare_node);
		p = mnsched_take_pending(g, s);
		if (p < 0)
			break;
		list_del_init(&s->spare_node);
		mnsched_spares_changed(g);
		WRITE_ONCE(s->handed_p, p);
		/* handed_p before the parked check in mnsched_kick(). */
		smp_mb();
		if (here && READ_ONCE(s->parked))
			mnsched_wake_here(s->task);
		else
			mnsched_kick(s);
	}
	spin_unlock_irqrestore(&g->lock, flags);
}

/**
 * mnsched_handoff_iw() - irq_work: hand pending Ps to waiting spare Ms
 * @iw: the group's irq_work
 */
void mnsched_handoff_iw(struct irq_work *iw)
{
	/* Raised by a sched_out: idle now means this CPU went idle. */
	mnsched_deliver(container_of(iw, struct mnsched_group, iw),
			is_idle_task(current));
}

/**
 * mnsched_handoff_csd() - IPI on a spare M's CPU: hand pending Ps to spare Ms
 * @info: the group
 */
void mnsched_handoff_csd(void *info)
{
	struct mnsched_group *g = info;

	mnsched_deliver(g, false);
	/* Last access to @g: mnsched_group_put() waits for it. */
	smp_store_release(&g->csd_busy, 0);
}

/**
 * mnsched_defer_wake() - wake the target whose wake-up @m deferred, if any
 * @m: the M that called SWAP or UNPARK
 * @here: this CPU is idle: wake the target onto it
 *
 * Called from @m's defer_iw, its defer_timer, by @m itself when its wait
 * did not sleep, or when @m is freed; the xchg() makes one of them do it.
 * A wake-up of a target that stopped waiting meanwhile is spurious, which
 * its waits allow.
 *
 * Return: true when a wake-up was deferred (and is done now).
 */
bool mnsched_defer_wake(struct mnsched_m *m, bool here)
{
	int id = xchg(&m->defer_to, -1);
	struct mnsched_m *t;

	if (id < 0)
		return false;
	rcu_read_lock();
	t = xa_load(&m->g->ms, id);
	if (t && READ_ONCE(t->parked)) {
		if (here)
			mnsched_wake_here(t->task);
		else
			wake_up_process(t->task);
	}
	rcu_read_unlock();
	return true;
}

/**
 * mnsched_defer_iw() - irq_work raised by the sched_out of an M that
 *	deferred a wake-up
 * @iw: the M's defer_iw
 */
void mnsched_defer_iw(struct irq_work *iw)
{
	/* Raised by a sched_out: idle now means this CPU went idle. */
	mnsched_defer_wake(container_of(iw, struct mnsched_m, defer_iw),
			   is_idle_task(current));
}

/**
 * mnsched_m_free_iw() - irq_work raised by a dead M's last sched_out
 * @iw: the M's free_iw
 */
void mnsched_m_free_iw(struct irq_work *iw)
{
	struct mnsched_m *m = container_of(iw, struct mnsched_m, free_iw);

	queue_work(mnsched_wq, &m->free_work);
}

/**
 * mnsched_m_free_work() - free the M of a dead thread
 * @work: the M's free_work
 *
 * Drops the module reference the M held; module exit drains mnsched_wq, so this
 * function finishes before the module text goes away.
 */
void mnsched_m_free_work(struct work_struct *work)
{
	struct mnsched_m *m = container_of(work, struct mnsched_m, free_work);

	mnsched_m_release(m);
	module_put(THIS_MODULE);
}
