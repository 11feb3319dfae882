/* SPDX-License-Identifier: MIT */
/*
 * mnsched-prof.h - shared by bpf/mnsched-prof.bpf.c and tools/mnsched-prof.c.
 *
 * Maps (pinned as /sys/fs/bpf/mnsched/PID/prof_*):
 *   prof_counts   hash[struct mt_prof_key] struct mt_prof_val: CPU samples
 *                 and off-CPU time per G, labels, stacks and kind
 *   prof_stacks   stack traces (user and kernel) by id
 *   prof_gs       hash[goid] struct mt_prof_g: a G's name, as first seen
 *   prof_labels   hash[label set id] struct mt_prof_labelset: a copy
 *
 * The G a thread runs is found from the thread alone, with no probe on any
 * hot path: the runtime's per-M pointer mn_tls_m is at the thread's %fs
 * base + tls_m_off, its curg is the G; every offset comes from the
 * runtime's mn_debug_info (user/src/debug.h), which the tool reads from
 * the target and hands to the BPF side before it starts counting.
 */
#ifndef MNSCHED_PROF_H
#define MNSCHED_PROF_H

#include "mnsched-common.h"

#define MT_PROF_STACK_DEPTH	127
#define MT_PROF_MAX_KEYS	65536
#define MT_PROF_MAX_STACKS	32768

/* what a count is */
enum {
	MT_PROF_CPU = 1,	/* a CPU sample: count */
	MT_PROF_DESCHED,	/* off CPU: the kernel preempted the G's M (runnable) */
	MT_PROF_KBLOCKED,	/* off CPU: the G's M slept in the kernel (a blocking call) */
	MT_PROF_BLOCKED,	/* off CPU: the G waited in the runtime (reason: wait reason) */
};

/* where a sample was, when not in a G (key.goid 0) */
enum {
	MT_PROF_IN_G = 0,
	MT_PROF_IN_SCHED,	/* an M on g0: scheduling, looking for work */
	MT_PROF_IN_THREAD,	/* a thread that is not an M (main, sysmon, user) */
};

struct mt_prof_key {
	__u64 goid;		/* 0: not in a G (where) */
	__u64 labels;		/* label set id, 0 for none */
	__s32 ustack;		/* prof_stacks id, < 0 none */
	__s32 kstack;
	__u32 tid;		/* the thread, when not in a G; else 0 */
	__u16 kind;		/* MT_PROF_* */
	__u16 reason;		/* BLOCKED: wait reason; not in a G: where */
	/* the word at the user stack pointer when it is an address in the
	 * target's code: the return address a frameless leaf (GCC omits the
	 * frame pointer of leaf functions even with -fno-omit-frame-pointer)
	 * hides from the frame-pointer walk; 0 when it is not */
	__u64 uret;
};

/* the target's executable mappings, for uret (the tool fills them) */
#define MT_PROF_TEXT_RANGES	32
struct mt_prof_text {
	__u64 lo, hi;
};

struct mt_prof_val {
	__u64 count;		/* samples, or off-CPU periods */
	__u64 ns;		/* off-CPU time */
};

#define MT_PROF_NAME	32

struct mt_prof_g {
	char name[MT_PROF_NAME];
	__u64 parent;
};

/* struct mn_labelset of the runtime (user/src/debug.h), copied whole */
#define MT_PROF_LABELS		8
#define MT_PROF_LABEL_KEY	32
#define MT_PROF_LABEL_VALUE	64
struct mt_prof_labelset {
	__u64 id;
	__u32 n;
	__u32 __pad;
	struct {
		char key[MT_PROF_LABEL_KEY];
		char value[MT_PROF_LABEL_VALUE];
	} kv[MT_PROF_LABELS];
};

/* Where the runtime is, from its mn_debug_info (set before counting). */
struct mt_prof_rt {
	__s64 tls_m_off;
	__u32 m_curg, m_g0;
	__u32 g_goid, g_name, g_labels, g_parent;
	__u32 ls_id;
};

#endif /* MNSCHED_PROF_H */
