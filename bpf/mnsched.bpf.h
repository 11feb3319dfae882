/* SPDX-License-Identifier: MIT */
/*
 * mnsched.bpf.h - helpers shared by the mnsched BPF programs (named mt_,
 * the tools' prefix: mnsched-common.h).
 *
 * Each program has its own read-only target PID (targ_tgid, set by the tool
 * before load).  USDT programs are attached to that PID only; kernel hooks
 * (sched_switch, the module's tracepoints) see every task and filter here.
 */
#ifndef MNSCHED_BPF_H
#define MNSCHED_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "mnsched-common.h"

static __always_inline __u32 mt_cur_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline __u32 mt_cur_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/* floor(log2(v)) for v > 0, 0 for 0; branch-free enough for the verifier. */
static __always_inline __u32 mt_log2(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xFFFFFFFFull) << 5; v >>= s; r |= s;
	s = (v > 0xFFFF) << 4; v >>= s; r |= s;
	s = (v > 0xFF) << 3; v >>= s; r |= s;
	s = (v > 0xF) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	r |= (v >> 1);
	return r;
}

static __always_inline void mt_hist_add(struct mt_hist *h, __u64 ns)
{
	__u32 slot = mt_log2(ns);

	if (slot >= MT_HIST_SLOTS)
		slot = MT_HIST_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
	if (ns > h->max_ns)
		h->max_ns = ns;	/* racy max: good enough for a report */
}

#endif /* MNSCHED_BPF_H */
