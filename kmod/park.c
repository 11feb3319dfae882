// SPDX-License-Identifier: GPL-2.0
/*
 * park.c - Ms: REGISTER, UNREGISTER, PARK, UNPARK, SWAP, SET_P, SPARE
 * (PREEMPT and REJOIN: preempt.c).
 *
 * An M is a thread with a preempt notifier registered on it.  Its wake-up
 * token works like a binary semaphore: UNPARK sets it (at most one is kept)
 * and wakes the M if it waits; PARK consumes it or waits for it.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mn.h"
#include "trace.h"

/**
 * mnsched_task_m() - the M registered on the current thread, in any group
 *
 * Only the thread itself changes its notifier list, so walking it from the
 * thread needs no lock.
 *
 * Return: the M or NULL.
 */
struct mnsched_m *mnsched_task_m(void)
{
	struct preempt_notifier *pn;

	hlist_for_each_entry(pn, &current->preempt_notifiers, link) {
		if (pn->ops == &mnsched_preempt_ops)
			return container_of(pn, struct mnsched_m, pn);
	}
	return NULL;
}

/**
 * mnsched_current_m() - the calling thread's M in group @g
 * @g: the group
 *
 * Return: the M or NULL when the thread is not an M of @g.
 */
struct mnsched_m *mnsched_current_m(struct mnsched_group *g)
{
	struct mnsched_m *m = mnsched_task_m();

	return m && m->g == g ? m : NULL;
}

static void mnsched_m_free_rcu(struct rcu_head *rcu)
{
	struct mnsched_m *m = container_of(rcu, struct mnsched_m, rcu);

	put_task_struct(m->task);
	kfree(m);
}

/**
 * mnsched_m_release() - detach an M from its group and free it
 * @m: the M; its notifier is unregistered or its task is dead
 *
 * Process context.  Drops the references the M held.
 */
void mnsched_m_release(struct mnsched_m *m)
{
	struct mnsched_group *g = m->g;
	struct mnsched_p *kp;
	unsigned long flags;

	/* No switch of @m wakes what it deferred any more: do it now. */
	hrtimer_cancel(&m->defer_timer);
	mnsched_defer_wake(m, false);

	spin_lock_irqsave(&g->lock, flags);
	list_del_init(&m->spare_node);
	mnsched_spares_changed(g);
	if (m->p >= 0) {
		kp = &g->ps[m->p];
		raw_spin_lock(&kp->lock);
		if (kp->owner == m)
			kp->owner = NULL;
		WRITE_ONCE(m->p, -1);
		raw_spin_unlock(&kp->lock);
	}
	if (m->blocked_p >= 0) {
		kp = &g->ps[m->blocked_p];
		raw_spin_lock(&kp->lock);
		if (kp->blocker == m) {
			kp->blocker = NULL;
			clear_bit(m->blocked_p, g->pending);
			mnsched_pst_kwrite_begin(g->pst[m->blocked_p]);
			WRITE_ONCE(g->pst[m->blocked_p]->blocked, 0);
			mnsched_pst_kwrite_end(g->pst[m->blocked_p]);
		}
		raw_spin_unlock(&kp->lock);
		m->blocked_p = -1;
	}
	mnsched_kpreempt_drop(g, m);
	if (m->kdemoted) {
		m->kdemoted = false;
		atomic_dec(&g->nr_kdemoted);
	}
	g->nr_m--;
	spin_unlock_irqrestore(&g->lock, flags);

	xa_erase(&g->ms, m->id);
	/* A deferred wake-up raised on some CPU may still look at @m. */
	irq_work_sync(&m->defer_iw);
	/* An RCU reader that found @m may still wake its task. */
	call_rcu(&m->rcu, mnsched_m_free_rcu);
	atomic_long_dec(&mnsched_allocs[MNSCHED_A_MS]);
	mnsched_group_put(g);
}

/* Unregister the current thread's notifier and free its M. */
static void mnsched_m_unregister_current(struct mnsched_m *m)
{
	preempt_disable();
	preempt_notifier_unregister(&m->pn);
	mnsched_kpreempt_forget(m);
	preempt_enable();
	mnsched_kpreempt_undemote(m);
	mnsched_m_release(m);
	module_put(THIS_MODULE);
}

/* An UNPARK's deferred wake-up waited unpark_defer_us: see below. */
static enum hrtimer_restart mnsched_defer_timeout(struct hrtimer *t)
{
	if (mnsched_defer_wake(container_of(t, struct mnsched_m, defer_timer),
			       false))
		mnsched_count_event(MNSCHED_E_DEFER_TIMEOUT);
	return HRTIMER_NORESTART;
}

/**
 * mnsched_ioc_register() - MNSCHED_IOC_REGISTER: make the calling thread an M
 * @g: the group
 *
 * A thread is an M of at most one group.  Registering again in the same
 * group returns the same id; an M left over from a released file is freed
 * and replaced.
 *
 * Return: the M id (>= 0), -EBUSY when the thread is an M of another open
 * group, -ENOSPC past the max_ms module parameter, -ENOMEM.
 */
long mnsched_ioc_register(struct mnsched_group *g)
{
	struct mnsched_m *m = mnsched_task_m();
	u32 id;
	int ret;

	if (m) {
		if (m->g == g)
			return m->id;
		if (!READ_ONCE(m->g->dead))
			return -EBUSY;
		mnsched_m_unregister_current(m);
	}

	m = kzalloc(sizeof(*m), MNSCHED_GFP);
	if (!m)
		return -ENOMEM;
	m->g = g;
	m->p = -1;
	m->blocked_p = -1;
	m->handed_p = -1;
	m->klost_p = -1;
	atomic_set(&m->token, 0);
	INIT_LIST_HEAD(&m->spare_node);
	m->defer_to = -1;
	init_irq_work(&m->defer_iw, mnsched_defer_iw);
	hrtimer_init(&m->defer_timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_PINNED_HARD);
	m->defer_timer.function = mnsched_defer_timeout;
	init_irq_work(&m->free_iw, mnsched_m_free_iw);
	INIT_WORK(&m->free_work, mnsched_m_free_work);
	preempt_notifier_init(&m->pn, &mnsched_preempt_ops);

	spin_lock_irq(&g->lock);
	if (g->nr_m >= READ_ONCE(mnsched_max_ms)) {
		spin_unlock_irq(&g->lock);
		ret = -ENOSPC;
		goto err_free;
	}
	g->nr_m++;
	spin_unlock_irq(&g->lock);

	/* Cyclic ids: a stale id held by user space rarely names a new M. */
	ret = xa_alloc_cyclic(&g->ms, &id, m, xa_limit_31b, &g->next_id, MNSCHED_GFP);
	if (ret < 0) {
		spin_lock_irq(&g->lock);
		g->nr_m--;
		spin_unlock_irq(&g->lock);
		ret = ret == -EBUSY ? -ENOSPC : ret;
		goto err_free;
	}
	m->id = id;
	atomic_long_inc(&mnsched_allocs[MNSCHED_A_MS]);
	get_task_struct(current);
	m->task = current;
	mnsched_group_get(g);
	/* The notifier code must outlive the thread's last sched_out. */
	__module_get(THIS_MODULE);
	preempt_disable();
	preempt_notifier_register(&m->pn);
	/* Running already: no sched_in says so to preempt.c. */
	mnsched_kpreempt_sched_in(m);
	preempt_enable();

	mnsched_count_event(MNSCHED_E_REGISTER);
	trace_mnsched_register(g->tgid, current->pid, m->id);
	return m->id;

err_free:
	kfree(m);
	return ret;
}

/**
 * mnsched_ioc_unregister() - MNSCHED_IOC_UNREGISTER: the calling thread stops
 *	being an M
 * @g: the group
 *
 * Return: 0, or -ESRCH when the thread is not an M of @g.
 */
long mnsched_ioc_unregister(struct mnsched_group *g)
{
	struct mnsched_m *m = mnsched_current_m(g);

	if (!m)
		return -ESRCH;
	mnsched_m_unregister_current(m);
	return 0;
}

/*
 * Waking.  An M waits in mnsched_wait() with @parked set; a waker sets what the
 * M waits for (its token, or a handed-over P), then wakes the task if it is
 * parked.  Both sides order "set mine, full barrier, read theirs", so
 * either the M sees the condition or the waker sees @parked.  A wake-up
 * that arrives just after the M stopped waiting is spurious for whatever
 * the thread does next, which the kernel allows (futexes do the same).
 */

/**
 * mnsched_kick() - wake @m if it waits in mnsched_wait()
 * @m: the M; its condition was set before, followed by a full barrier
 */
void mnsched_kick(struct mnsched_m *m)
{
	if (READ_ONCE(m->parked))
		wake_up_process(m->task);
}

/* Give @m its token; true when it must be kicked. */
static bool mnsched_token_give(struct mnsched_m *m)
{
	/* atomic_xchg() is a full barrier: token before the parked check. */
	atomic_xchg(&m->token, 1);
	return READ_ONCE(m->parked);
}

static bool mnsched_token_take(struct mnsched_m *m)
{
	return atomic_read(&m->token) && atomic_xchg(&m->token, 0);
}

static bool mnsched_spare_done(struct mnsched_m *m)
{
	return READ_ONCE(m->handed_p) >= 0 || atomic_read(&m->token);
}

/**
 * mnsched_wait() - wait until @done(@m), a timeout or a signal
 * @m: the calling thread's M
 * @timeout_ns: relative timeout, < 0 for none, 0 to only check
 * @done: the condition; it may consume what it checks
 *
 * Return: 0 when @done held, -ETIMEDOUT or -EINTR.
 */
static long mnsched_wait(struct mnsched_m *m, s64 timeout_ns,
			 bool (*done)(struct mnsched_m *))
{
	ktime_t exp = 0;
	long ret = 0;

	if (timeout_ns > 0)
		exp = ktime_add_safe(ktime_get(), ns_to_ktime(timeout_ns));
	for (;;) {
		WRITE_ONCE(m->parked, 1);
		/* Full barrier: parked before the condition. */
		set_current_state(TASK_INTERRUPTIBLE);
		if (done(m))
			break;
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (!timeout_ns) {
			ret = -ETIMEDOUT;
			break;
		}
		if (timeout_ns < 0) {
			schedule();
		} else if (!schedule_hrtimeout_range(&exp, current->timer_slack_ns,
						     HRTIMER_MODE_ABS)) {
			/* Expired: one last look. */
			set_current_state(TASK_RUNNING);
			if (!done(m))
				ret = -ETIMEDOUT;
			break;
		}
	}
	__set_current_state(TASK_RUNNING);
	WRITE_ONCE(m->parked, 0);
	/* Did not sleep, or woke before our defer_iw ran: "Deferred wake-ups". */
	if (unlikely(READ_ONCE(m->defer_to) >= 0))
		mnsched_defer_wake(m, false);
	return ret;
}

static long mnsched_park_self(struct mnsched_m *m, s64 timeout_ns)
{
	u64 t0 = 0;
	long ret;

	mnsched_count_event(MNSCHED_E_PARK);
	if (trace_mnsched_park_enabled())
		t0 = ktime_get_ns();
	ret = mnsched_wait(m, timeout_ns, mnsched_token_take);
	if (trace_mnsched_park_enabled())
		trace_mnsched_park(m->id, timeout_ns, ret, t0 ? ktime_get_ns() - t0 : 0);
	return ret;
}

/**
 * mnsched_ioc_park() - MNSCHED_IOC_PARK: wait for an UNPARK, a timeout or a
 *	signal
 * @g: the group
 * @uarg: struct mnsched_park
 *
 * Return: 0 when unparked, -ETIMEDOUT, -EINTR, -EFAULT, -EINVAL for flags,
 * -ESRCH when the caller is not an M of @g.
 */
long mnsched_ioc_park(struct mnsched_group *g, void __user *uarg)
{
	struct mnsched_park a;
	struct mnsched_m *m;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.__pad)
		return -EINVAL;
	m = mnsched_current_m(g);
	if (!m)
		return -ESRCH;
	return mnsched_park_self(m, a.timeout_ns);
}

/*
 * Deferred wake-ups.  A wake-up that would only make its target compete for
 * the CPU its caller keeps running on is left to the caller's next switch
 * away: the caller's sched_out raises defer_iw, which wakes the target once
 * the caller is off the CPU (mnsched_defer_wake(), handoff.c).  The token
 * is given at once, so a target woken for another reason finds it.  One
 * target at a time (m->defer_to); a second wake-up is done at once.
 *
 * - SWAP, when its caller runs alone on this CPU and the target may run
 *   here and elsewhere.  The CPU goes idle as soon as the caller parks, but
 *   a task woken now, while the caller still runs, is sent to another CPU
 *   if one is idle (an IPI, and a second CPU brought out of idle while this
 *   one idles) or queued on a busy one; woken after the switch, it runs
 *   here at once.  A target that may only run here is woken at once, and
 *   the caller switches to it directly (see mnsched_ioc_swap()).
 *
 * - UNPARK from an M, when the target may only run on the caller's CPU (a
 *   process pinned to one CPU, a one-CPU cpuset or machine).  Woken now,
 *   it cannot run beside the caller: it preempts it, and is switched back
 *   from, or waits behind it.  The runtime unparks an M to look for work
 *   (wakep, user/src/proc.c) while the caller goes on running Gs; by the
 *   time the caller switches away, it has often run that work itself,
 *   and each hop the preemption would have cost is saved.  The caller
 *   keeps the CPU until it parks, blocks or is preempted, and at most
 *   unpark_defer_us (module parameter, default 750 us, the kernel's
 *   default base slice; 0 turns this off): the M's pinned defer_timer then
 *   wakes the target, which takes the CPU as it would have at once.
 *
 * Every way an M stops switching wakes what it deferred: its sched_out,
 * the end of its own PARK, SWAP or SPARE that did not sleep
 * (mnsched_wait()), the timer, and UNREGISTER, exec and exit
 * (mnsched_m_release()).
 */
static bool mnsched_defer_ok(struct task_struct *t, bool swap)
{
	bool ret;
	int cpu;

	preempt_disable();
	cpu = smp_processor_id();
	if (!cpumask_test_cpu(cpu, t->cpus_ptr))
		ret = false;
	else if (swap)
		ret = single_task_running() && t->nr_cpus_allowed > 1;
	else
		ret = t->nr_cpus_allowed == 1 && READ_ONCE(mnsched_unpark_defer_us);
	preempt_enable();
	return ret;
}

/*
 * Bound an UNPARK's deferred wake-up.  A timer queued already (by an earlier
 * deferral whose wake-up a switch did) is left alone when it fires within
 * the bound: re-arming costs as much as arming.
 */
static void mnsched_defer_arm(struct mnsched_m *m)
{
	ktime_t exp = ktime_add_ns(ktime_get(),
				   READ_ONCE(mnsched_unpark_defer_us) * NSEC_PER_USEC);

	if (!hrtimer_is_queued(&m->defer_timer) ||
	    ktime_after(hrtimer_get_expires(&m->defer_timer), exp))
		hrtimer_start(&m->defer_timer, exp, HRTIMER_MODE_ABS_PINNED_HARD);
}

/*
 * Give M @id its token, and wake it if it waits.  When @self (the caller's
 * M, or NULL) may defer the wake-up (mnsched_defer_ok(), @swap for SWAP),
 * it is left to @self's switch away.
 *
 * Return: 1 when the wake-up was deferred, 0 when done or not needed, or
 * a negative error.
 */
static long mnsched_unpark_id(struct mnsched_group *g, unsigned long id,
			      struct mnsched_m *self, bool swap)
{
	struct mnsched_m *m;
	long ret = 0;

	if (id > INT_MAX)
		return -EINVAL;
	rcu_read_lock();
	m = xa_load(&g->ms, id);
	if (!m) {
		rcu_read_unlock();
		return -ESRCH;
	}
	if (mnsched_token_give(m)) {
		if (self && self != m && mnsched_defer_ok(m->task, swap) &&
		    cmpxchg(&self->defer_to, -1, (int)id) == -1)
			ret = 1;
		else
			wake_up_process(m->task);
	}
	rcu_read_unlock();
	mnsched_count_event(MNSCHED_E_UNPARK);
	trace_mnsched_unpark(self ? self->id : -1, (int)id);
	if (ret && !swap) {
		mnsched_count_event(MNSCHED_E_UNPARK_DEFER);
		mnsched_defer_arm(self);
	}
	return ret;
}

/**
 * mnsched_ioc_unpark() - MNSCHED_IOC_UNPARK: wake M @id, or keep the token
 *	for it
 * @g: the group
 * @id: the M id (the argument itself)
 *
 * Any thread of the process may call it, registered or not.  From an M,
 * the wake-up of a target that may only run on the caller's CPU waits for
 * the caller to switch away, unpark_defer_us at most (see above).
 *
 * Return: 0, -EINVAL for an id out of range, -ESRCH for no such M.
 */
long mnsched_ioc_unpark(struct mnsched_group *g, unsigned long id)
{
	long ret = mnsched_unpark_id(g, id, mnsched_current_m(g), false);

	return ret < 0 ? ret : 0;
}

/**
 * mnsched_ioc_swap() - MNSCHED_IOC_SWAP: unpark a target M and park the caller
 * @g: the group
 * @uarg: struct mnsched_swap
 *
 * Return: as mnsched_ioc_park(); -ESRCH (without parking) when the target
 * does not exist.
 */
long mnsched_ioc_swap(struct mnsched_group *g, void __user *uarg)
{
	struct mnsched_swap a;
	struct mnsched_m *m;
	long ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags)
		return -EINVAL;
	m = mnsched_current_m(g);
	if (!m)
		return -ESRCH;
	ret = mnsched_unpark_id(g, a.target, m, true);
	if (ret < 0)
		return ret;
	mnsched_count_event(MNSCHED_E_SWAP);
	trace_mnsched_swap(m->id, a.target);
	/*
	 * Deferred: our sched_out raises defer_iw, which wakes the target
	 * onto this CPU once we are off it; when we do not sleep (our token
	 * was there, a signal, a zero timeout), mnsched_wait() wakes it.
	 *
	 * Woken while we still run: when the target should preempt us (the
	 * wake-up said so), let it run now.  If it unparks us back before we
	 * run again, we find our token and never sleep, and it has no one to
	 * wake: on one CPU a round trip then costs one wake-up instead of two,
	 * as with a futex wake followed by a wait.
	 */
	if (!ret)
		cond_resched();
	return mnsched_park_self(m, a.timeout_ns);
}

/**
 * mnsched_give_p() - make @m the holder of P @p, or of none when @p < 0
 * @g: the group, lock held
 * @m: the M
 * @p: P index or -1
 *
 * The previous holder of @p, if another M, no longer holds it.
 */
void mnsched_give_p(struct mnsched_group *g, struct mnsched_m *m, int p)
{
	struct mnsched_p *kp;

	lockdep_assert_held(&g->lock);
	/* Its own call: the P the module took from it is no longer its. */
	mnsched_kpreempt_drop(g, m);
	if (m->p >= 0) {
		kp = &g->ps[m->p];
		raw_spin_lock(&kp->lock);
		if (kp->owner == m)
			kp->owner = NULL;
		WRITE_ONCE(m->p, -1);
		raw_spin_unlock(&kp->lock);
	}
	if (p < 0)
		return;
	kp = &g->ps[p];
	raw_spin_lock(&kp->lock);
	if (kp->owner && kp->owner != m)
		WRITE_ONCE(kp->owner->p, -1);
	/*
	 * A P the module took from a G and that sysmon gave to this M: no
	 * longer on offer to spares (its SYSCALL state would be this M's).
	 */
	if (kp->blocker && kp->blocker->klost_p == p) {
		kp->blocker->klost_p = -1;
		kp->blocker = NULL;
		clear_bit(p, g->pending);
	}
	kp->owner = m;
	WRITE_ONCE(m->p, p);
	raw_spin_unlock(&kp->lock);
}

/**
 * mnsched_ioc_set_p() - MNSCHED_IOC_SET_P: tell the kernel which P the
 *	caller holds
 * @g: the group
 * @arg: P index, or -1 (as long or as u32) for none
 *
 * An M that holds a P in state SYSCALL and blocks gets the P handed to a
 * spare M.  A P is held by one M at a time: setting it takes it from its
 * previous holder.
 *
 * Return: 0, -EINVAL for an index out of range or before CONFIG, -ESRCH when
 * the caller is not an M of @g.
 */
long mnsched_ioc_set_p(struct mnsched_group *g, unsigned long arg)
{
	/* Pairs with the release in mnsched_ioc_config(). */
	u32 nr_p = smp_load_acquire(&g->nr_p);
	struct mnsched_m *m;
	int p;

	if ((long)arg == -1 || arg == U32_MAX)
		p = -1;
	else if (arg < nr_p)
		p = arg;
	else
		return -EINVAL;
	m = mnsched_current_m(g);
	if (!m)
		return -ESRCH;
	spin_lock_irq(&g->lock);
	mnsched_give_p(g, m, p);
	spin_unlock_irq(&g->lock);
	/* Its preemption tick (kmod/preempt.c) runs while it is current. */
	preempt_disable();
	mnsched_kpreempt_arm(m);
	preempt_enable();
	return 0;
}

/**
 * mnsched_ioc_spare() - MNSCHED_IOC_SPARE: wait to be handed the P of a
 *	blocked M
 * @g: the group
 * @uarg: struct mnsched_spare
 *
 * The caller first gives up any P it holds.  It returns with @p set when a
 * P is handed to it (it then holds it, as after SET_P), with @p = -1 when
 * woken by UNPARK (the token is consumed), or with an error.
 *
 * A call that fails takes nothing: when @p cannot be written, the P is
 * handed back (mnsched_untake()), or the token kept.
 *
 * Return: 0, -ETIMEDOUT, -EINTR, -EFAULT, -EINVAL for flags or before
 * CONFIG, -ESRCH when the caller is not an M of @g.
 */
long mnsched_ioc_spare(struct mnsched_group *g, void __user *uarg)
{
	s32 __user *up = &((struct mnsched_spare __user *)uarg)->p;
	struct mnsched_spare a;
	struct mnsched_m *m;
	long ret;
	int p;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags)
		return -EINVAL;
	/* Pairs with the release in mnsched_ioc_config(). */
	if (!smp_load_acquire(&g->nr_p))
		return -EINVAL;
	m = mnsched_current_m(g);
	if (!m)
		return -ESRCH;
	/*
	 * The result goes to @up: check now that it can (writing back what
	 * is there) so that a read-only argument fails before any effect.
	 */
	if (put_user(a.p, up))
		return -EFAULT;
	mnsched_count_event(MNSCHED_E_SPARE);

	spin_lock_irq(&g->lock);
	mnsched_give_p(g, m, -1);
	m->handed_p = -1;
	p = mnsched_take_pending(g, m);
	if (p < 0) {
		m->spare_cpu = raw_smp_processor_id();
		list_add_tail(&m->spare_node, &g->spares);
		mnsched_spares_changed(g);
	}
	spin_unlock_irq(&g->lock);

	if (p < 0) {
		ret = mnsched_wait(m, a.timeout_ns, mnsched_spare_done);
		spin_lock_irq(&g->lock);
		list_del_init(&m->spare_node);
		mnsched_spares_changed(g);
		p = m->handed_p;
		m->handed_p = -1;
		spin_unlock_irq(&g->lock);
		/* A P handed over wins over a timeout or a signal. */
		if (p < 0) {
			if (atomic_xchg(&m->token, 0))
				ret = 0;
			else if (!ret)
				ret = -EINTR;
			if (ret)
				return ret;
		}
	}
	if (put_user(p, up)) {
		/* Made unwritable meanwhile: give back the P, or the token. */
		if (p >= 0)
			mnsched_untake(g, m, p);
		else
			atomic_set(&m->token, 1);
		return -EFAULT;
	}
	return 0;
}
