// SPDX-License-Identifier: GPL-2.0
/*
 * exec.c - an M does not survive execve().
 *
 * An M belongs to one program: its group is bound to the address space of
 * the process that opened the file.  execve() keeps the task (and with it
 * the preempt notifier that makes the thread an M) but replaces the
 * program, so the exec'ing thread's M must go, or it keeps its group, the
 * P pages and a module reference for as long as the new program runs (and
 * a new REGISTER there gets -EBUSY).  Other threads die in the exec
 * (de_thread()), and their Ms are freed as any dead thread's.
 *
 * How: a probe on the kernel's sched_process_exec tracepoint, which
 * exec_binprm() fires in the exec'ing task once the new program is in
 * place, before it runs.  The probe unregisters the M's preempt notifier
 * (its own task's list, from that task, with preemption disabled, and not
 * from inside a notifier walk) and queues the M's free_work, which frees
 * it in process context, as for a dead thread.
 *
 * Why not the other way, noticing in sched_in/sched_out that current->mm is
 * no longer the group's and deferring with task_work_add(): a notifier
 * cannot unregister itself during the walk, task_work_add() must not be
 * called under the runqueue lock (KASAN's stack depot may allocate there),
 * so it would take an irq_work first; the M would go only at the thread's
 * next context switch, not at exec; and the task_work callback would be
 * module text that no unload path waits for (the M's module reference
 * would be dropped by code still running in it).  A tracepoint probe is
 * synchronous, and tracepoint_synchronize_unregister() in mnsched_exec_exit()
 * waits for any probe still running before the module text can go.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/binfmts.h>
#include <linux/build_bug.h>
#include <linux/preempt.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/workqueue.h>
#include <trace/events/sched.h>

#include "mn.h"

static struct tracepoint *mnsched_exec_tp;

/* TP_PROTO of sched_process_exec (6.1, 6.12): current, its old pid, bprm. */
static void mnsched_exec_probe(void *data, struct task_struct *p,
			       pid_t old_pid, struct linux_binprm *bprm)
{
	struct mnsched_m *m;

	/* @p is current.  Most tasks that exec are not Ms. */
	if (hlist_empty(&p->preempt_notifiers))
		return;
	m = mnsched_task_m();
	if (!m)
		return;
	preempt_disable();
	preempt_notifier_unregister(&m->pn);
	mnsched_kpreempt_forget(m);
	preempt_enable();
	mnsched_kpreempt_undemote(m);
	/* No notifier call from now on: free it as a dead thread's M. */
	queue_work(mnsched_wq, &m->free_work);
}

static void mnsched_find_exec_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exec"))
		*(struct tracepoint **)priv = tp;
}

/**
 * mnsched_exec_init() - attach the exec probe
 *
 * Return: 0, -ENOENT when the kernel has no sched_process_exec tracepoint,
 * or the error of tracepoint_probe_register().
 */
int mnsched_exec_init(void)
{
	int ret;

	/*
	 * The probe must have the tracepoint's TP_PROTO: the kernel's own
	 * register_trace_sched_process_exec() checks its type at build time
	 * (-Werror=incompatible-pointer-types).  sizeof() calls nothing: the
	 * tracepoint is not exported to modules, hence the search by name.
	 */
	BUILD_BUG_ON(sizeof(register_trace_sched_process_exec(mnsched_exec_probe,
							      NULL)) !=
		     sizeof(int));
	for_each_kernel_tracepoint(mnsched_find_exec_tp, &mnsched_exec_tp);
	if (!mnsched_exec_tp) {
		pr_err("no sched_process_exec tracepoint: cannot free Ms at exec\n");
		return -ENOENT;
	}
	ret = tracepoint_probe_register(mnsched_exec_tp, mnsched_exec_probe, NULL);
	if (ret)
		pr_err("cannot attach to sched_process_exec: %d\n", ret);
	return ret;
}

/**
 * mnsched_exec_exit() - detach the exec probe and wait until none runs
 *
 * Before mnsched_wq is destroyed: a probe may queue work on it.
 */
void mnsched_exec_exit(void)
{
	tracepoint_probe_unregister(mnsched_exec_tp, mnsched_exec_probe, NULL);
	tracepoint_synchronize_unregister();
}
