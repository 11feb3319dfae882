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
 */
#include <linux/module.h>
#include <linux/preempt.h>

static int __init mn_vmhold_init(void)
{
	preempt_notifier_inc();
	return 0;
}

static void __exit mn_vmhold_exit(void)
{
	preempt_notifier_dec();
}

module_init(mn_vmhold_init);
module_exit(mn_vmhold_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mnsched test VM: keep the preempt-notifier static key enabled");
