// SPDX-License-Identifier: GPL-2.0
/*
 * mnsched_vmhold.ko - test-VM helper, not part of mnsched.
 *
 * Loading or unloading mnsched.ko flips the preempt-notifier static key,
 * which patches __schedule() while other CPUs run it.  The kernel's
 * text_poke_bp() protocol makes that safe on hardware and under KVM (KVM
 * flips the same key for every VM it creates), but QEMU's multi-threaded
 * TCG sometimes leaves a vCPU looping on the patch site.  The test VM loads
 * this module while only CPU 0 is online, so the key stays enabled and the
 * rmmod/insmod tests of mnsched.ko patch nothing.
 *
 * mnsched.ko also attaches a probe to the sched_process_exec tracepoint
 * (kmod/exec.c).  A tracepoint's first probe enables its static key, and
 * its first and second probes retarget its static call: both patch the
 * exec path's text.  Two no-op probes held here make mnsched's the third,
 * which only swaps the probe array.
 */
#include <linux/binfmts.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

static struct tracepoint *vmhold_tp;
static int vmhold_data[2];

static void vmhold_probe(void *data, struct task_struct *p, pid_t old_pid,
			 struct linux_binprm *bprm)
{
}

static void vmhold_find(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exec"))
		vmhold_tp = tp;
}

static int __init vmhold_init(void)
{
	int i;

	preempt_notifier_inc();
	for_each_kernel_tracepoint(vmhold_find, NULL);
	for (i = 0; vmhold_tp && i < 2; i++)
		if (tracepoint_probe_register(vmhold_tp, vmhold_probe,
					      &vmhold_data[i]))
			break;
	return 0;
}

static void __exit vmhold_exit(void)
{
	int i;

	for (i = 0; vmhold_tp && i < 2; i++)
		tracepoint_probe_unregister(vmhold_tp, vmhold_probe,
					    &vmhold_data[i]);
	tracepoint_synchronize_unregister();
	preempt_notifier_dec();
}

module_init(vmhold_init);
module_exit(vmhold_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mnsched test VM: keep the preempt-notifier static key and the exec tracepoint's text as they are");
