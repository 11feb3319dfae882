/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mn.h - internal declarations of mnsched.ko.
 *
 * Locking, outermost first:
 *   mnsched_group.cfg_lock (mutex)  CONFIG, mmap
 *   mnsched_group.lock (spinlock, irq-safe)  spare list, P owners, pending
 *     handoffs
 *   mnsched_p.lock (raw spinlock, leaf)  kernel-written pstate fields, blocker
 * The preempt notifiers run under the runqueue lock and take only the leaf
 * mnsched_p.lock; nothing that holds mnsched_p.lock wakes a task, so the order
 * rq lock -> mnsched_p.lock is the only one involving scheduler locks.
 * M ids live in an xarray; lookups are RCU, and an M (with its reference on
 * its task) is freed after a grace period, so an RCU reader may wake m->task.
 */
#ifndef _MN_H
#define _MN_H

#include <linux/types.h>
#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/gfp.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/signal_types.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "uapi/linux/mnsched.h"

struct mm_struct;
struct page;
struct task_struct;
struct vm_area_struct;

/**
 * struct mnsched_p - kernel-side state of one P
 * @lock: leaf lock for the kernel-written fields of the P's pstate and @blocker
 * @owner: M that holds the P (SET_P or a handoff), NULL for none; written
 *	under the group lock and @lock
 * @blocker: M whose blocking marked the P blocked, until it runs again or the
 *	P is handed off; or M whose G the module preempted (preempt.c), until
 *	the P is handed off or the M rejoins; under @lock
 * @ktick: schedtick the module's preemption last saw; under @lock
 * @ksince: when it first saw it (ns, ktime_get_ns()), 0 for not running;
 *	under @lock
 */
struct mnsched_p {
	raw_spinlock_t lock;
	struct mnsched_m *owner;
	struct mnsched_m *blocker;
	u64 ktick;
	u64 ksince;
};

/**
 * struct mnsched_group - what one open() of /dev/mnsched creates
 * @ref: one for the open file, one per registered M
 * @mm: address space of the opener (mmgrab'd)
 * @tgid_pid: thread group of the opener (a reference); only its threads,
 *	running the program that opened the file (@mm), may use the group:
 *	see mnsched_group_caller()
 * @tgid: thread group id of the opener, for tracing
 * @cfg_lock: serializes CONFIG
 * @lock: protects @spares, @nr_m, P owners, handoff delivery
 * @nr_p: number of Ps, 0 before CONFIG; written once (release/acquire)
 * @pages: the P pages, one per P
 * @pst: kernel addresses of the P structs (start of each page)
 * @ps: kernel-side P state, @nr_p entries
 * @ms: registered Ms by id (RCU lookups)
 * @nr_m: number of registered Ms
 * @next_id: next M id to try (ids are allocated cyclically)
 * @spares: Ms waiting in SPARE, oldest first
 * @pending: Ps whose M blocked and that wait for a spare M
 * @iw: irq_work that hands pending Ps to spare Ms, on the blocking CPU
 * @csd: the same work sent straight to the CPU of the first spare M
 * @csd_busy: 1 while @csd is in flight
 * @spare_cpu: CPU the first spare M waits on, -1 for none (a hint)
 * @dead: set when the file is released; notifiers then do nothing
 * @nr_kdemoted: Ms the module demoted that have not rejoined (preempt.c)
 */
struct mnsched_group {
	refcount_t ref;
	struct mm_struct *mm;
	struct pid *tgid_pid;
	pid_t tgid;
	struct mutex cfg_lock;
	spinlock_t lock;
	u32 nr_p;
	struct page **pages;
	struct mnsched_pstate **pst;
	struct mnsched_p *ps;
	struct xarray ms;
	u32 nr_m;
	u32 next_id;
	struct list_head spares;
	DECLARE_BITMAP(pending, MNSCHED_MAX_P);
	struct irq_work iw;
	call_single_data_t csd;
	int csd_busy;
	int spare_cpu;
	bool dead;
	atomic_t nr_kdemoted;
};

/**
 * struct mnsched_m - a registered M (one thread)
 * @pn: preempt notifier, registered on @task
 * @g: the group (one reference held)
 * @task: the thread (one reference held)
 * @id: M id, index in @g->ms
 * @p: P held according to the kernel, -1 for none; written under the group
 *	lock and the P's lock, read locklessly by the notifiers
 * @blocked_p: P this M's sched_out marked blocked, -1 for none (own context)
 * @token: 1 when an UNPARK is pending
 * @handed_p: P handed to this M while it waits in SPARE, -1 for none
 * @handed_from: id of the M that held the P this M took in SPARE and whose
 *	block made it pending, -1 when another M held it (group lock); for
 *	mnsched_untake()
 * @spare_node: entry in @g->spares while waiting in SPARE
 * @spare_cpu: CPU it started waiting on in SPARE
 * @parked: 1 while the thread waits in PARK, SWAP or SPARE
 * @defer_to: id of an M whose wake-up waits for this M to switch away (the
 *	target of its SWAP or UNPARK, see park.c), -1 for none; set with
 *	cmpxchg() by the M itself, taken with xchg()
 * @defer_iw: raised by sched_out while @defer_to is set; runs after the
 *	switch
 * @defer_timer: wakes @defer_to when the M has not switched away
 *	unpark_defer_us after an UNPARK it deferred
 * @free_iw: raised by the last sched_out of the dead task
 * @free_work: frees the M in process context
 * @rcu: frees the M and drops its task after a grace period
 * @kmark: user address of the thread's mark byte (MNSCHED_IOC_PREEMPT)
 * @kslice_ns: time slice of the module's preemption, 0 for off
 * @ktext_start: start of the runtime's text (MNSCHED_IOC_PREEMPT)
 * @ktext_end: its end, exclusive
 * @kcurg: user address of the M's pointer to its running G
 * @kg0: user address of the M's scheduler G
 * @kg_mark_off: offset of the mark byte in a G
 * @kg_stack_off: offset of a G's stack bounds (low, high: two u64)
 * @kblocked: the thread's signal mask when it called MNSCHED_IOC_PREEMPT
 * @kp_id_off: offset of the P index in the runtime's P (*@km_p)
 * @km_p: user address of the M's P pointer, zeroed when the module takes it
 * @km_oldp: user address where the module saves the P pointer
 * @klost_p: P the module took from this M's G and offers to spares, -1 for
 *	none (group lock and the P's lock)
 * @knice: the thread's nice value before the module demoted it
 * @kdemoted: the module demoted the thread and has not restored it; written
 *	on the thread's CPU with interrupts off (preempt.c)
 */
struct mnsched_m {
	struct preempt_notifier pn;
	struct mnsched_group *g;
	struct task_struct *task;
	int id;
	int p;
	int blocked_p;
	atomic_t token;
	int handed_p;
	int handed_from;
	struct list_head spare_node;
	int spare_cpu;
	int parked;
	int defer_to;
	struct irq_work defer_iw;
	struct hrtimer defer_timer;
	struct irq_work free_iw;
	struct work_struct free_work;
	struct rcu_head rcu;
	u8 __user *kmark;
	u64 kslice_ns;
	unsigned long ktext_start;
	unsigned long ktext_end;
	u64 __user *kcurg;
	u64 kg0;
	u32 kg_mark_off;
	u32 kg_stack_off;
	u32 kp_id_off;
	sigset_t kblocked;
	u64 __user *km_p;
	u64 __user *km_oldp;
	int klost_p;
	int knice;
	bool kdemoted;
};

/* Counters shown in debugfs. */
enum mnsched_alloc_counter {
	MNSCHED_A_GROUPS,
	MNSCHED_A_MS,
	MNSCHED_A_PAGES,
	MNSCHED_A_ARRAYS,
	MNSCHED_A_NR,
};

enum mnsched_event_counter {
	MNSCHED_E_REGISTER,
	MNSCHED_E_PARK,
	MNSCHED_E_UNPARK,
	MNSCHED_E_UNPARK_DEFER,
	MNSCHED_E_DEFER_TIMEOUT,
	MNSCHED_E_SWAP,
	MNSCHED_E_SPARE,
	MNSCHED_E_BLOCK,
	MNSCHED_E_HANDOFF,
	MNSCHED_E_KPREEMPT,
	MNSCHED_E_GIVEWAY,
	MNSCHED_E_NR,
};

/*
 * Every allocation a user's call makes is charged to the caller's memory
 * cgroup (__GFP_ACCOUNT, like pipes and io_uring rings), so a memory.max
 * limit bounds what a process can pin through /dev/mnsched.  At the limit
 * the call fails with -ENOMEM (__GFP_NORETRY: no cgroup OOM kill for
 * what is the caller's own request) and without a warning (__GFP_NOWARN).
 */
#define MNSCHED_GFP	(GFP_KERNEL_ACCOUNT | __GFP_NORETRY | __GFP_NOWARN)

extern atomic_long_t mnsched_allocs[MNSCHED_A_NR];
extern unsigned int mnsched_max_ms;
extern unsigned int mnsched_unpark_defer_us;
extern struct workqueue_struct *mnsched_wq;

void mnsched_count_event(enum mnsched_event_counter c);
int mnsched_debugfs_init(void);
void mnsched_debugfs_exit(void);

/* main.c */
bool mnsched_group_caller(struct mnsched_group *g);
void mnsched_group_get(struct mnsched_group *g);
void mnsched_group_put(struct mnsched_group *g);

/* pages.c */
int mnsched_pages_alloc(struct mnsched_group *g, u32 nr_p);
void mnsched_pages_free(struct mnsched_group *g, u32 nr_p);
int mnsched_mmap(struct file *file, struct vm_area_struct *vma);

/* park.c */
struct mnsched_m *mnsched_task_m(void);
struct mnsched_m *mnsched_current_m(struct mnsched_group *g);
long mnsched_ioc_register(struct mnsched_group *g);
long mnsched_ioc_unregister(struct mnsched_group *g);
long mnsched_ioc_park(struct mnsched_group *g, void __user *uarg);
long mnsched_ioc_unpark(struct mnsched_group *g, unsigned long id);
long mnsched_ioc_swap(struct mnsched_group *g, void __user *uarg);
long mnsched_ioc_set_p(struct mnsched_group *g, unsigned long arg);
long mnsched_ioc_spare(struct mnsched_group *g, void __user *uarg);
void mnsched_m_release(struct mnsched_m *m);
void mnsched_kick(struct mnsched_m *m);

/* handoff.c */
extern struct preempt_ops mnsched_preempt_ops;
void mnsched_handoff_iw(struct irq_work *iw);
void mnsched_handoff_csd(void *info);
void mnsched_spares_changed(struct mnsched_group *g);
void mnsched_defer_iw(struct irq_work *iw);
bool mnsched_defer_wake(struct mnsched_m *m, bool here);
void mnsched_m_free_iw(struct irq_work *iw);
void mnsched_m_free_work(struct work_struct *work);
int mnsched_take_pending(struct mnsched_group *g, struct mnsched_m *s);
void mnsched_untake(struct mnsched_group *g, struct mnsched_m *s, int p);
void mnsched_give_p(struct mnsched_group *g, struct mnsched_m *m, int p);
void mnsched_pst_kwrite_begin(struct mnsched_pstate *pst);
void mnsched_pst_kwrite_end(struct mnsched_pstate *pst);

/* preempt.c */
int mnsched_kpreempt_init(void);
void mnsched_kpreempt_exit(void);
void mnsched_kpreempt_sched_in(struct mnsched_m *m);
void mnsched_kpreempt_sched_out(void);
void mnsched_kpreempt_arm(struct mnsched_m *m);
void mnsched_kpreempt_forget(struct mnsched_m *m);
void mnsched_kpreempt_drop(struct mnsched_group *g, struct mnsched_m *m);
void mnsched_kpreempt_undemote(struct mnsched_m *m);
long mnsched_ioc_preempt(struct mnsched_group *g, void __user *uarg);
long mnsched_ioc_rejoin(struct mnsched_group *g, unsigned long arg);

/* exec.c */
int mnsched_exec_init(void);
void mnsched_exec_exit(void);

#endif /* _MN_H */
