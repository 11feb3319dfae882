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

atomic_long_t mn_allocs[MN_A_NR];
static DEFINE_PER_CPU(u64, mn_events[MN_E_NR]);
static struct dentry *mn_dir;

static const char * const mn_alloc_names[MN_A_NR] = {
	[MN_A_GROUPS] = "groups",
	[MN_A_MS] = "ms",
	[MN_A_PAGES] = "pages",
	[MN_A_ARRAYS] = "arrays",
};

static const char * const mn_event_names[MN_E_NR] = {
	[MN_E_REGISTER] = "registers",
	[MN_E_PARK] = "parks",
	[MN_E_UNPARK] = "unparks",
	[MN_E_SWAP] = "swaps",
	[MN_E_SPARE] = "spares",
	[MN_E_BLOCK] = "blocks",
	[MN_E_HANDOFF] = "handoffs",
	[MN_E_KPREEMPT] = "kpreempts",
};

/**
 * mn_count_event() - count one event
 * @c: which
 *
 * Any context.
 */
void mn_count_event(enum mn_event_counter c)
{
	this_cpu_inc(mn_events[c]);
}

static int mn_counters_show(struct seq_file *s, void *unused)
{
	long sum = 0;
	long v;
	u64 e;
	int cpu;
	int i;

	for (i = 0; i < MN_A_NR; i++) {
		v = atomic_long_read(&mn_allocs[i]);
		sum += v;
		seq_printf(s, "%s %ld\n", mn_alloc_names[i], v);
	}
	seq_printf(s, "allocated %ld\n", sum);
	for (i = 0; i < MN_E_NR; i++) {
		e = 0;
		for_each_possible_cpu(cpu)
			e += per_cpu(mn_events[i], cpu);
		seq_printf(s, "%s %llu\n", mn_event_names[i], e);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mn_counters);

/**
 * mn_debugfs_init() - create /sys/kernel/debug/mnsched
 *
 * Return: 0; debugfs errors are not fatal.
 */
int mn_debugfs_init(void)
{
	mn_dir = debugfs_create_dir("mnsched", NULL);
	debugfs_create_file("counters", 0444, mn_dir, NULL, &mn_counters_fops);
	return 0;
}

/**
 * mn_debugfs_exit() - remove /sys/kernel/debug/mnsched
 */
void mn_debugfs_exit(void)
{
	debugfs_remove(mn_dir);
}
