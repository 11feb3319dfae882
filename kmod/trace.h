/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trace.h - mnsched tracepoints: mnsched:register, park, unpark, swap,
 * block, handoff, kpreempt.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mnsched

#if !defined(_MNSCHED_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MNSCHED_TRACE_H

#include <linux/tracepoint.h>

/**
 * mnsched_register - a thread became an M
 * @tgid: process of the group
 * @tid: the thread
 * @m: its M id
 */
TRACE_EVENT(mnsched_register,
	TP_PROTO(pid_t tgid, pid_t tid, int m),
	TP_ARGS(tgid, tid, m),
	TP_STRUCT__entry(
		__field(pid_t, tgid)
		__field(pid_t, tid)
		__field(int, m)
	),
	TP_fast_assign(
		__entry->tgid = tgid;
		__entry->tid = tid;
		__entry->m = m;
	),
	TP_printk("tgid=%d tid=%d m=%d", __entry->tgid, __entry->tid, __entry->m)
);

/**
 * mnsched_park - an M returned from PARK or SWAP
 * @m: the M
 * @timeout_ns: requested timeout, < 0 for none
 * @ret: 0, -ETIMEDOUT or -EINTR
 * @waited_ns: time spent in the call
 */
TRACE_EVENT(mnsched_park,
	TP_PROTO(int m, s64 timeout_ns, long ret, u64 waited_ns),
	TP_ARGS(m, timeout_ns, ret, waited_ns),
	TP_STRUCT__entry(
		__field(int, m)
		__field(s64, timeout_ns)
		__field(long, ret)
		__field(u64, waited_ns)
	),
	TP_fast_assign(
		__entry->m = m;
		__entry->timeout_ns = timeout_ns;
		__entry->ret = ret;
		__entry->waited_ns = waited_ns;
	),
	TP_printk("m=%d timeout_ns=%lld ret=%ld waited_ns=%llu", __entry->m,
		  __entry->timeout_ns, __entry->ret, __entry->waited_ns)
);

/**
 * mnsched_unpark - an M was unparked (or given its token)
 * @from: M id of the caller, -1 when not an M
 * @to: the M unparked
 */
TRACE_EVENT(mnsched_unpark,
	TP_PROTO(int from, int to),
	TP_ARGS(from, to),
	TP_STRUCT__entry(
		__field(int, from)
		__field(int, to)
	),
	TP_fast_assign(
		__entry->from = from;
		__entry->to = to;
	),
	TP_printk("from=%d to=%d", __entry->from, __entry->to)
);

/**
 * mnsched_swap - an M unparked another and parks itself
 * @from: the calling M
 * @to: the M unparked
 */
TRACE_EVENT(mnsched_swap,
	TP_PROTO(int from, int to),
	TP_ARGS(from, to),
	TP_STRUCT__entry(
		__field(int, from)
		__field(int, to)
	),
	TP_fast_assign(
		__entry->from = from;
		__entry->to = to;
	),
	TP_printk("from=%d to=%d", __entry->from, __entry->to)
);

/**
 * mnsched_block - an M holding a P in state SYSCALL blocked
 * @m: the M
 * @p: its P, now marked blocked
 * @tid: the thread
 */
TRACE_EVENT(mnsched_block,
	TP_PROTO(int m, int p, pid_t tid),
	TP_ARGS(m, p, tid),
	TP_STRUCT__entry(
		__field(int, m)
		__field(int, p)
		__field(pid_t, tid)
	),
	TP_fast_assign(
		__entry->m = m;
		__entry->p = p;
		__entry->tid = tid;
	),
	TP_printk("m=%d p=%d tid=%d", __entry->m, __entry->p, __entry->tid)
);

/**
 * mnsched_handoff - the P of a blocked M was handed to a spare M
 * @p: the P
 * @from: the blocked M
 * @to: the spare M
 */
TRACE_EVENT(mnsched_handoff,
	TP_PROTO(int p, int from, int to),
	TP_ARGS(p, from, to),
	TP_STRUCT__entry(
		__field(int, p)
		__field(int, from)
		__field(int, to)
	),
	TP_fast_assign(
		__entry->p = p;
		__entry->from = from;
		__entry->to = to;
	),
	TP_printk("p=%d from=%d to=%d", __entry->p, __entry->from, __entry->to)
);

/**
 * mnsched_kpreempt - the module took the P of an M whose G overran its slice
 * @p: the P, now in state SYSCALL and offered to the spare Ms
 * @m: the M, whose thread goes on running the G demoted
 * @tid: that thread
 * @goid: the G (the P page's goid)
 * @ran_ns: how long the G had run on the P, counted from the first tick
 *	that saw its slice begin (so up to a quarter slice short)
 */
TRACE_EVENT(mnsched_kpreempt,
	TP_PROTO(int p, int m, pid_t tid, u64 goid, u64 ran_ns),
	TP_ARGS(p, m, tid, goid, ran_ns),
	TP_STRUCT__entry(
		__field(int, p)
		__field(int, m)
		__field(pid_t, tid)
		__field(u64, goid)
		__field(u64, ran_ns)
	),
	TP_fast_assign(
		__entry->p = p;
		__entry->m = m;
		__entry->tid = tid;
		__entry->goid = goid;
		__entry->ran_ns = ran_ns;
	),
	TP_printk("p=%d m=%d tid=%d goid=%llu ran_ns=%llu", __entry->p, __entry->m,
		  __entry->tid, __entry->goid, __entry->ran_ns)
);

#endif /* _MNSCHED_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
