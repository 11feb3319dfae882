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

unsigned int mn_max_ms = 1024;
module_param_named(max_ms, mn_max_ms, uint, 0644);
MODULE_PARM_DESC(max_ms, "Largest number of registered Ms per open file (default 1024)");

struct workqueue_struct *mn_wq;

/**
 * mn_group_caller() - may the current thread use group @g?
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
bool mn_group_caller(struct mn_group *g)
{
	return current->mm == g->mm && task_tgid(current) == g->tgid_pid;
}

/**
 * mn_group_get() - take a reference on a group
 * @g: the group
 */
void mn_group_get(struct mn_group *g)
{
	refcount_inc(&g->ref);
}

/**
 * mn_group_put() - drop a reference on a group, freeing it on the last one
 * @g: the group
 *
 * Process context only: frees pages and drops the mm.
 */
void mn_group_put(struct mn_group *g)
{
	if (!refcount_dec_and_test(&g->ref))
		return;
	irq_work_sync(&g->iw);
	/* No M is left to send it again; wait for one in flight. */
	while (smp_load_acquire(&g->csd_busy))
		cpu_relax();
	mn_pages_free(g, g->nr_p);
	xa_destroy(&g->ms);
	mmdrop(g->mm);
	put_pid(g->tgid_pid);
	kfree(g);
	atomic_long_dec(&mn_allocs[MN_A_GROUPS]);
}

static int mn_open(struct inode *inode, struct file *file)
{
	struct mn_group *g;

	if (!current->mm)
		return -EPERM;
	g = kzalloc(sizeof(*g), MN_GFP);
	if (!g)
		return -ENOMEM;
	atomic_long_inc(&mn_allocs[MN_A_GROUPS]);
	refcount_set(&g->ref, 1);
	mmgrab(current->mm);
	g->mm = current->mm;
	g->tgid_pid = get_pid(task_tgid(current));
	g->tgid = current->tgid;
	mutex_init(&g->cfg_lock);
	spin_lock_init(&g->lock);
	xa_init_flags(&g->ms, XA_FLAGS_ALLOC);
	INIT_LIST_HEAD(&g->spares);
	init_irq_work(&g->iw, mn_handoff_iw);
	INIT_CSD(&g->csd, mn_handoff_csd, g);
	g->spare_cpu = -1;
	file->private_data = g;
	return 0;
}

static int mn_release(struct inode *inode, struct file *file)
{
	struct mn_group *g = file->private_data;

	/*
	 * No ioctl can be running: each holds a file reference.  Registered
	 * Ms keep their own references; their notifiers see @dead and stop
	 * acting, and they are freed when their threads exit or re-register.
	 */
	spin_lock_irq(&g->lock);
	WRITE_ONCE(g->dead, true);
	bitmap_zero(g->pending, MNSCHED_MAX_P);
	spin_unlock_irq(&g->lock);
	mn_group_put(g);
	return 0;
}

static long mn_version(struct mn_group *g, void __user *uarg)
{
	struct mnsched_version v = {
		.abi = MNSCHED_ABI_VERSION,
		.max_p = MNSCHED_MAX_P,
		.max_m = READ_ONCE(mn_max_ms),
		.page_size = PAGE_SIZE,
	};

	if (copy_to_user(uarg, &v, sizeof(v)))
		return -EFAULT;
	return 0;
}

static long mn_config(struct mn_group *g, void __user *uarg)
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
	ret = mn_pages_alloc(g, c.nr_p);
	if (ret)
		goto out_unlock;
	/* Report first: a CONFIG that fails has no effect. */
	c.mmap_size = (u64)c.nr_p * PAGE_SIZE;
	if (copy_to_user(uarg, &c, sizeof(c))) {
		mn_pages_free(g, c.nr_p);
		ret = -EFAULT;
		goto out_unlock;
	}
	/* Publish the pages before nr_p: readers load nr_p with acquire. */
	smp_store_release(&g->nr_p, c.nr_p);
out_unlock:
	mutex_unlock(&g->cfg_lock);
	return ret;
}

static long mn_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mn_group *g = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (!mn_group_caller(g))
		return -EPERM;

	switch (cmd) {
	case MNSCHED_IOC_VERSION:
		return mn_version(g, uarg);
	case MNSCHED_IOC_CONFIG:
		return mn_config(g, uarg);
	case MNSCHED_IOC_REGISTER:
		return mn_register(g);
	case MNSCHED_IOC_UNREGISTER:
		return mn_unregister(g);
	case MNSCHED_IOC_PARK:
		return mn_park(g, uarg);
	case MNSCHED_IOC_UNPARK:
		return mn_unpark(g, arg);
	case MNSCHED_IOC_SWAP:
		return mn_swap(g, uarg);
	case MNSCHED_IOC_SET_P:
		return mn_set_p(g, arg);
	case MNSCHED_IOC_SPARE:
		return mn_spare(g, uarg);
	case MNSCHED_IOC_PREEMPT:
		return mn_preempt(g, uarg);
	case MNSCHED_IOC_REJOIN:
		return mn_rejoin(g, arg);
	}
	return -ENOTTY;
}

static const struct file_operations mn_fops = {
	.owner = THIS_MODULE,
	.open = mn_open,
	.release = mn_release,
	.unlocked_ioctl = mn_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = mn_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice mn_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mnsched",
	.fops = &mn_fops,
	.mode = 0666,
};

static int __init mn_init(void)
{
	int ret;

	mn_wq = alloc_workqueue("mnsched", 0, 0);
	if (!mn_wq)
		return -ENOMEM;
	preempt_notifier_inc();
	mn_kpreempt_init();
	ret = mn_debugfs_init();
	if (ret)
		goto err_notifier;
	ret = mn_exec_init();
	if (ret)
		goto err_debugfs;
	ret = misc_register(&mn_misc);
	if (ret)
		goto err_exec;
	pr_info("loaded, ABI %d, max_ms %u\n", MNSCHED_ABI_VERSION, mn_max_ms);
	return 0;

err_exec:
	mn_exec_exit();
err_debugfs:
	mn_debugfs_exit();
err_notifier:
	mn_kpreempt_exit();
	preempt_notifier_dec();
	destroy_workqueue(mn_wq);
	return ret;
}

static void __exit mn_exit(void)
{
	misc_deregister(&mn_misc);
	mn_exec_exit();
	/* Every M holds a module reference: none is left, but their frees may be in flight. */
	destroy_workqueue(mn_wq);
	rcu_barrier();
	mn_kpreempt_exit();
	mn_debugfs_exit();
	preempt_notifier_dec();
}

module_init(mn_init);
module_exit(mn_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("mnsched developers");
MODULE_DESCRIPTION("Per-CPU P structures, M park/unpark and blocked-M handoff for mnsched");
MODULE_VERSION("0.1");
