/* SPDX-License-Identifier: MIT */
/*
 * mnsched-top.h - shared by bpf/mnsched-top.bpf.c and tools/mnsched-top.c.
 *
 * Maps (pinned as /sys/fs/bpf/mnsched/PID/top_*):
 *   top_m  hash[thread id]  struct mt_top_m: CPU time of each thread of the
 *          target, split by whether the thread (an M) held a P
 *   top_p  array[P]         struct mt_top_p: time each P's M spent off CPU
 *          while holding it (the P could run nothing)
 * The per-P event counts come from the runtime's always-on counters
 * (struct mnsched_pstate), read with process_vm_readv: no probe needed.
 */
#ifndef MNSCHED_TOP_H
#define MNSCHED_TOP_H

#include "mnsched-common.h"

#define MT_TOP_ONCPU	1u	/* the thread is on a CPU now */
#define MT_TOP_SEEN	2u	/* a switch was seen: last_ns is valid */

struct mt_top_m {
	__u32 tid;
	__s32 m;		/* runtime M id, -1 until a probe names it */
	__s32 p;		/* P held, -1 for none */
	__u32 flags;		/* MT_TOP_* */
	__u64 last_ns;		/* last switch in or out */
	__u64 oncpu_ns;		/* on a CPU */
	__u64 offcpu_ns;	/* off CPU while holding a P: blocked or preempted */
	__u64 idle_ns;		/* off CPU with no P: parked, spinning done */
	__u64 preempted;	/* involuntary switches out (the kernel preempted it) */
	__u64 blocked;		/* voluntary switches out (it slept) */
	__u64 pstarts;		/* Ps acquired (proc_start) */
};

struct mt_top_p {
	__u64 offcpu_ns;	/* its M was off CPU while holding it */
	__u64 acquires;		/* proc_start */
	__u64 retakes;		/* taken from its blocked M (handoff probe) */
	__u32 tid;		/* thread of the M holding it, 0 for none */
	__s32 m;
};

#endif /* MNSCHED_TOP_H */
