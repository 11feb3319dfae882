/* SPDX-License-Identifier: MIT */
/*
 * mnsched-trace.h - shared by bpf/mnsched-trace.bpf.c, tools/mnsched-trace.c
 * and its timeline writer tools/perfetto.c: the event record of the ring
 * buffer.
 *
 * Maps (pinned as /sys/fs/bpf/mnsched/PID/trace_*):
 *   trace_events  ring buffer of struct mt_event
 *   trace_counts  per-CPU array[event type]: events the probes saw
 *   trace_drops   per-CPU array[event type]: events lost (ring buffer full)
 */
#ifndef MNSCHED_TRACE_H
#define MNSCHED_TRACE_H

#include "mnsched-common.h"
#include "probe_defs.h"		/* user/src: the probes, listed once */

enum mt_ev_type {
	MT_EV_NONE,
	/* USDT probes of libmnsched, in the order of probe_defs.h, their
	 * arguments in a, b, c, d as listed there; g_start adds the
	 * run-queue length of p in d */
#define MT_EV_USDT(NAME, name, nargs, args) MT_EV_##NAME,
	MN_PROBE_DEFS(MT_EV_USDT)
#undef MT_EV_USDT
	/* sched:sched_switch of a thread of the target */
	MT_EV_OFFCPU,		/* a = 1 preempted, 0 blocked; b = prev_state */
	MT_EV_ONCPU,		/* (none) */
	/* mnsched.ko tracepoints (raw_tp), when the module is loaded */
	MT_EV_K_REGISTER,	/* tid, m */
	MT_EV_K_PARK,		/* m, ret, waited_ns */
	MT_EV_K_UNPARK,		/* from_m, to_m */
	MT_EV_K_SWAP,		/* from_m, to_m */
	MT_EV_K_BLOCK,		/* m, p, tid */
	MT_EV_K_HANDOFF,	/* p, from_m, to_m */
	MT_EV_K_PREEMPT,	/* goid, p, m, ran_ns (as g_preempt) */
	MT_EV__COUNT,
};

struct mt_event {
	__u64 ts;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 type;		/* enum mt_ev_type */
	__u32 tid;		/* thread that hit the probe */
	__u32 cpu;
	__u32 __pad;
	__s64 a, b, c, d;
};

/* offsetof(struct mnsched_pstate, runq_len) (kmod/uapi/linux/mnsched.h) */
#define MT_PSTATE_RUNQ_LEN_OFF	12

#endif /* MNSCHED_TRACE_H */
