/* SPDX-License-Identifier: MIT */
/*
 * mnsched-trace.h - shared by bpf/mnsched-trace.bpf.c, tools/mnsched-trace.c
 * and its timeline writer tools/perfetto.c: the event record of the ring
 * buffer.
 *
 * Maps (pinned as /sys/fs/bpf/mnsched/PID/trace_*):
 *   trace_events  ring buffer of struct mn_event
 *   trace_counts  per-CPU array[event type]: events the probes saw
 *   trace_drops   per-CPU array[event type]: events lost (ring buffer full)
 */
#ifndef MNSCHED_TRACE_H
#define MNSCHED_TRACE_H

#include "mnsched-common.h"

enum mn_ev_type {
	MN_EV_NONE,
	/* USDT probes of libmnsched (arguments a, b, c as in probes.h) */
	MN_EV_G_CREATE,		/* goid, parent */
	MN_EV_G_START,		/* goid, p, m; d = run-queue length of p */
	MN_EV_G_PARK,		/* goid, reason */
	MN_EV_G_UNBLOCK,	/* goid, by_goid */
	MN_EV_G_EXIT,		/* goid */
	MN_EV_PROC_START,	/* p, m */
	MN_EV_PROC_STOP,	/* p, m */
	MN_EV_STEAL,		/* from_p, to_p, n */
	MN_EV_SYSCALL_ENTER,	/* goid, p */
	MN_EV_SYSCALL_EXIT,	/* goid, p */
	MN_EV_HANDOFF,		/* p, from_m, to_m */
	MN_EV_IO_SUBMIT,	/* goid, op, res */
	MN_EV_IO_COMPLETE,	/* goid, op, res */
	MN_EV_M_PARK,		/* m */
	MN_EV_M_UNPARK,		/* m */
	MN_EV_G_PREEMPT,	/* goid, p, m, ran_ns: M m gave P p up, demoted */
	/* sched:sched_switch of a thread of the target */
	MN_EV_OFFCPU,		/* a = 1 preempted, 0 blocked; b = prev_state */
	MN_EV_ONCPU,		/* (none) */
	/* mnsched.ko tracepoints (raw_tp), when the module is loaded */
	MN_EV_K_REGISTER,	/* tid, m */
	MN_EV_K_PARK,		/* m, ret, waited_ns */
	MN_EV_K_UNPARK,		/* from_m, to_m */
	MN_EV_K_SWAP,		/* from_m, to_m */
	MN_EV_K_BLOCK,		/* m, p, tid */
	MN_EV_K_HANDOFF,	/* p, from_m, to_m */
	MN_EV__COUNT,
};

struct mn_event {
	__u64 ts;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 type;		/* enum mn_ev_type */
	__u32 tid;		/* thread that hit the probe */
	__u32 cpu;
	__u32 __pad;
	__s64 a, b, c, d;
};

/* offsetof(struct mnsched_pstate, runq_len) (kmod/uapi/linux/mnsched.h) */
#define MN_PSTATE_RUNQ_LEN_OFF	12

#endif /* MNSCHED_TRACE_H */
