/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - every difference between the kernels mnsched.ko builds for.
 *
 * Each difference is a feature test (kmod/conftest.sh compiles a small
 * program against the target kernel's headers and defines MNSCHED_HAVE_<NAME>
 * in compat_conf.h), never a version number: distributions backport.
 * The rest of the module calls only the helpers below.  The supported range
 * (6.1 to 6.12) is checked in Kbuild; the VM tests run both ends of it.
 *
 * Scheduler internals the module reads or writes, per kernel:
 *   task_struct.on_rq       6.1, 6.12: a task leaving the CPU asleep is off
 *                           the run queue, except for 6.12's delayed dequeue
 *                           (mnsched_task_blocked() below)
 *   task_struct.wake_cpu    6.1, 6.12: the CPU a sleeping task's wake-up
 *                           starts from (mnsched_wake_here(), handoff.c); a
 *                           delayed task (6.12) is woken where it sits
 *   task_struct.__state     6.1, 6.12: TASK_DEAD in the last sched_out
 *   dup_mmap()              6.1, 6.12: calls vm_ops->open on a fork's copy of
 *                           a VMA before it tests VM_WIPEONFORK and copies
 *                           the page tables (pages.c, mnsched_vm_open())
 *   sched_process_exec      6.1, 6.12: the tracepoint exec.c attaches to (found
 *                           by name), TP_PROTO(p, old_pid, bprm) (checked at
 *                           build time against the kernel's header), fired in
 *                           the exec'ing task after the new image is in place
 * kmod_park/swap_runs_target_on_callers_cpu and kmod_handoff check what
 * the module does with them, on every kernel the VM runs.
 */
#ifndef _MN_COMPAT_H
#define _MN_COMPAT_H

#include <linux/mm.h>
#include <linux/sched.h>

#include "compat_conf.h"

/*
 * vma->vm_flags is read-only from 6.3 on (per-VMA locking): writers must
 * use vm_flags_set()/vm_flags_clear(), which also assert the mmap lock.
 */
static inline void mnsched_vm_flags_set(struct vm_area_struct *vma,
					vm_flags_t flags)
{
#ifdef MNSCHED_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static inline void mnsched_vm_flags_clear(struct vm_area_struct *vma,
					  vm_flags_t flags)
{
#ifdef MNSCHED_HAVE_VM_FLAGS_SET
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/**
 * mnsched_task_blocked() - is @t leaving the CPU to sleep (not preempted)?
 * @t: the task being switched out (current, in a sched_out notifier)
 *
 * __schedule() dequeues a task that blocks before it picks the next one,
 * so in sched_out a blocked task is off the run queue.  Except on kernels
 * with EEVDF's delayed dequeue (6.12): a task that blocks with negative lag
 * stays queued, marked se.sched_delayed, until it is picked (and dequeued
 * then) or woken; it is asleep all the same.  A running task never has
 * the mark, so in sched_out the mark means this very block.
 *
 * Return: true when @t blocked.
 */
static inline bool mnsched_task_blocked(struct task_struct *t)
{
	if (!READ_ONCE(t->on_rq))
		return true;
#ifdef MNSCHED_HAVE_SCHED_DELAYED
	return READ_ONCE(t->se.sched_delayed);
#else
	return false;
#endif
}

#endif /* _MN_COMPAT_H */
