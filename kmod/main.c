// SPDX-License-Identifier: GPL-2.0
/*
 * mnsched.ko - kernel help for the mnsched G/M/P scheduler.
 *
 * main.c: the /dev/mnsched misc device, groups, ioctl dispatch, VERSION and
 * CONFIG, module init and exit.  preempt.c: the module's preemption of Gs
 * that overrun their time slice.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mn.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

unsigned int mnsched_max_ms = 1024;
module_param_named(max_ms, mnsched_max_ms, uint, 0644);
MODULE_PARM_DESC(max_ms, "Largest number of registered Ms per open file (default 1024)");

/* The kernel's default base slice: see "Deferred wake-ups" in park.c. */
unsigned int mnsched_unpark_defer_us = 750;
module_param_named(unpark_defer_us, mnsched_unpark_defer_us, uint, 0644);
MODULE_PARM_DESC(unpark_defer_us,
		 "Longest wait of an UNPARK's target pinned to its caller's CPU for the caller to switch away, 0 for no wait (default 750)");

struct workqueue_struct *mnsched_wq;

/**
 * mnsched_group_caller() - may the current thread use group @g?
 * @g: the group
 *
 * A group belongs to the process that opened the file, and to the program
 * it ran then: the caller must be one of its threads (same thread group),
 * in the same address space (not after execve()).  Another process gets
 * -EPERM, also one that shares the address space (vfork(), clone() with
 * CLONE_VM but not CLONE_THREAD): it is a process of its own (its own
 * signals and exit; a vfork child usually only execs or exits), and what
 * the README promises is -EPERM to any process but the opener.
 *
 * Return: true when it may.
 */
bool mnsched_group_caller(struct mnsched_group *g)
{
	return current->mm == g->mm && task_tgid(current) == g->tgid_pid;
}

/**
 * mnsched_group_get() - take a reference on a group
 * @g: the group
 */
void mnsched_group_get(struct mnsched_group *g)
{
	refcount_inc(&g->ref);
}

/**
 * mnsched_group_put() - drop a reference on a group, freeing it on the last one
 * @g: the group
 *
 * Process context only: frees pages and drops the mm.
 */
void mnsched_group_put(struct mnsched_group *g)
{
	if (!refcount_dec_and_test(&g->ref))
		return;
	irq_work_sync(&g->iw);
	/* No M is left to send it again; wait for one in flight. */
	while (smp_load_acquire(&g->csd_busy))
		cpu_relax();
	mnsched_pages_free(g, g->nr_p);
	xa_destroy(&g->ms);
	mmdrop(g->mm);
	put_pid(g->tgid_pid);
	kfree(g);
	atomic_long_dec(&mnsched_allocs[MNSCHED_A_GROUPS]);
}

static int mnsched_open(struct inode *inode, struct file *file)
{
	struct mnsched_group *g;

	if (!current->mm)
		return -EPERM;
	g = kzalloc(sizeof(*g), MNSCHED_GFP);
	if (!g)
		return -ENOMEM;
	atomic_long_inc(&mnsched_allocs[MNSCHED_A_GROUPS]);
	refcount_set(&g->ref, 1);
	mmgrab(current->mm);
	g->mm = current->mm;
	g->tgid_pid = get_pid(task_tgid(current));
	g->tgid = current->tgid;
	mutex_init(&g->cfg_lock);
	spin_lock_init(&g->lock);
	xa_init_flags(&g->ms, XA_FLAGS_ALLOC);
	INIT_LIST_HEAD(&g->spares);
	init_irq_work(&g->iw, mnsched_handoff_iw);
	INIT_CSD(&g->csd, mnsched_handoff_csd, g);
	g->spare_cpu = -1;
	file->private_data = g;
	return 0;
}

static int mnsched_release(struct inode *inode, struct file *file)
{
	struct mnsched_group *g = file->private_data;

	/*
	 * No ioctl can be running: each holds a file reference.  Registered
	 * Ms keep their own references; their notifiers see @dead and stop
	 * acting, and they are freed when their threads exit or re-register.
	 */
	spin_lock_irq(&g->lock);
	WRITE_ONCE(g->dead, true);
	bitmap_zero(g->pending, MNSCHED_MAX_P);
	spin_unlock_irq(&g->lock);
	mnsched_group_put(g);
	return 0;
}

static long mnsched_ioc_version(struct mnsched_group *g, void __user *uarg)
{
	struct mnsched_version v = {
		.abi = MNSCHED_ABI_VERSION,
		.max_p = MNSCHED_MAX_P,
		.max_m = READ_ONCE(mnsched_max_ms),
		.page_size = PAGE_SIZE,
	};

	if (copy_to_user(uarg, &v, sizeof(v)))
		return -EFAULT;
	return 0;
}

static long mnsched_ioc_config(struct mnsched_group *g, void __user *uarg)
{
	struct mnsched_config c;
	int ret;

	if (copy_from_user(&c, uarg, sizeof(c)))
		return -EFAULT;
	if (c.flags || c.nr_p < 1 || c.nr_p > MNSCHED_MAX_P)
		return -EINVAL;
	mutex_lock(&g->cfg_lock);
	if (g->nr_p) {
		ret = -EBUSY;
		goto out_unlock;
	}
	ret = mnsched_pages_alloc(g, c.nr_p);
	if (ret)
		goto out_unlock;
	/* Report first: a CONFIG that fails has no effect. */
	c.mmap_size = (u64)c.nr_p * PAGE_SIZE;
	if (copy_to_user(uarg, &c, sizeof(c))) {
		mnsched_pages_free(g, c.nr_p);
		ret = -EFAULT;
		goto out_unlock;
	}
	/* Publish the pages before nr_p: readers load nr_p with acquire. */
	smp_store_release(&g->nr_p, c.nr_p);
out_unlock:
	mutex_unlock(&g->cfg_lock);
	return ret;
}

static long mnsched_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct mnsched_group *g = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (!mnsched_group_caller(g))
		return -EPERM;

	switch (cmd) {
	case MNSCHED_IOC_VERSION:
		return mnsched_ioc_version(g, uarg);
	case MNSCHED_IOC_CONFIG:
		return mnsched_ioc_config(g, uarg);
	case MNSCHED_IOC_REGISTER:
		return mnsched_ioc_register(g);
	case MNSCHED_IOC_UNREGISTER:
		return mnsched_ioc_unregister(g);
	case MNSCHED_IOC_PARK:
		return mnsched_ioc_park(g, uarg);
	case MNSCHED_IOC_UNPARK:
		return mnsched_ioc_unpark(g, arg);
	case MNSCHED_IOC_SWAP:
		return mnsched_ioc_swap(g, uarg);
	case MNSCHED_IOC_SET_P:
		return mnsched_ioc_set_p(g, arg);
	case MNSCHED_IOC_SPARE:
		return mnsched_ioc_spare(g, uarg);
	case MNSCHED_IOC_PREEMPT:
		return mnsched_ioc_preempt(g, uarg);
	case MNSCHED_IOC_REJOIN:
		return mnsched_ioc_rejoin(g, arg);
	}
	return -ENOTTY;
}

static const struct file_operations mnsched_fops = {
	.owner = THIS_MODULE,
	.open = mnsched_open,
	.release = mnsched_release,
	.unlocked_ioctl = mnsched_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = mnsched_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice mnsched_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mnsched",
	.fops = &mnsched_fops,
	.mode = 0666,
};

static int __init mnsched_init(void)
{
	int ret;

	mnsched_wq = alloc_workqueue("mnsched", 0, 0);
	if (!mnsched_wq)
		return -ENOMEM;
	preempt_notifier_inc();
	mnsched_kpreempt_init();
	ret = mnsched_debugfs_init();
	if (ret)
		goto err_notifier;
	ret = mnsched_exec_init();
	if (ret)
		goto err_debugfs;
	ret = misc_register(&mnsched_misc);
	if (ret)
		goto err_exec;
	pr_info("loaded, ABI %d, max_ms %u\n", MNSCHED_ABI_VERSION, mnsched_max_ms);
	return 0;

err_exec:
	mnsched_exec_exit();
err_debugfs:
	mnsched_debugfs_exit();
err_notifier:
	mnsched_kpreempt_exit();
	preempt_notifier_dec();
	destroy_workqueue(mnsched_wq);
	return ret;
}

static void __exit mnsched_exit(void)
{
	misc_deregister(&mnsched_misc);
	mnsched_exec_exit();
	/*
	 * Every M holds a module reference: none is left, but their frees may
	 * be in flight.
	 */
	destroy_workqueue(mnsched_wq);
	rcu_barrier();
	mnsched_kpreempt_exit();
	mnsched_debugfs_exit();
	preempt_notifier_dec();
}

module_init(mnsched_init);
module_exit(mnsched_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("mnsched developers");
MODULE_DESCRIPTION("Per-CPU P structures, M park/unpark and blocked-M handoff for mnsched");
MODULE_VERSION("0.1");
