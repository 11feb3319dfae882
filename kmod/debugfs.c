// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs.c - /sys/kernel/debug/mnsched/counters.
 *
 * Allocation counts (live objects: groups, Ms, P pages, P arrays, and their
 * sum "allocated"), which return to zero when every user is gone, and event
 * totals since load.  One "name value" pair per line.
 */
#include <linux/debugfs.h>
#include <linux/percpu.h>
#include <linux/seq_file.h>

#include "mn.h"

atomic_long_t mnsched_allocs[MNSCHED_A_NR];
static DEFINE_PER_CPU(u64, mnsched_events[MNSCHED_E_NR]);
static struct dentry *mnsched_dir;

static const char * const mnsched_alloc_names[MNSCHED_A_NR] = {
	[MNSCHED_A_GROUPS] = "groups",
	[MNSCHED_A_MS] = "ms",
	[MNSCHED_A_PAGES] = "pages",
	[MNSCHED_A_ARRAYS] = "arrays",
};

static const char * const mnsched_event_names[MNSCHED_E_NR] = {
	[MNSCHED_E_REGISTER] = "registers",
	[MNSCHED_E_PARK] = "parks",
	[MNSCHED_E_UNPARK] = "unparks",
	[MNSCHED_E_UNPARK_DEFER] = "unparks_deferred",
	[MNSCHED_E_DEFER_TIMEOUT] = "defer_timeouts",
	[MNSCHED_E_SWAP] = "swaps",
	[MNSCHED_E_SPARE] = "spares",
	[MNSCHED_E_BLOCK] = "blocks",
	[MNSCHED_E_HANDOFF] = "handoffs",
	[MNSCHED_E_KPREEMPT] = "kpreempts",
	[MNSCHED_E_GIVEWAY] = "giveways",
};

/**
 * mnsched_count_event() - count one event
 * @c: which
 *
 * Any context.
 */
void mnsched_count_event(enum mnsched_event_counter c)
{
	this_cpu_inc(mnsched_events[c]);
}

static int mnsched_counters_show(struct seq_file *s, void *unused)
{
	long sum = 0;
	long v;
	u64 e;
	int cpu;
	int i;

	for (i = 0; i < MNSCHED_A_NR; i++) {
		v = atomic_long_read(&mnsched_allocs[i]);
		sum += v;
		seq_printf(s, "%s %ld\n", mnsched_alloc_names[i], v);
	}
	seq_printf(s, "allocated %ld\n", sum);
	for (i = 0; i < MNSCHED_E_NR; i++) {
		e = 0;
		for_each_possible_cpu(cpu)
			e += per_cpu(mnsched_events[i], cpu);
		seq_printf(s, "%s %llu\n", mnsched_event_names[i], e);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mnsched_counters);

/**
 * mnsched_debugfs_init() - create /sys/kernel/debug/mnsched
 *
 * Return: 0; debugfs errors are not fatal.
 */
int mnsched_debugfs_init(void)
{
	mnsched_dir = debugfs_create_dir("mnsched", NULL);
	debugfs_create_file("counters", 0444, mnsched_dir, NULL,
			    &mnsched_counters_fops);
	return 0;
}

/**
 * mnsched_debugfs_exit() - remove /sys/kernel/debug/mnsched
 */
void mnsched_debugfs_exit(void)
{
	debugfs_remove(mnsched_dir);
}
