/* SPDX-License-Identifier: MIT */
/*
 * mnsched-common.h - definitions shared by the BPF programs (bpf/) and the
 * tools that load them (tools/).  Only __u32/__u64 types: the BPF side gets
 * them from vmlinux.h, user space from <linux/types.h> (include it first).
 *
 * The tools' and BPF programs' own names start with mt_ / MT_ (mnsched
 * tools): mn_ is libmnsched's, mnsched_ the module's and the uapi's.
 */
#ifndef MNSCHED_COMMON_H
#define MNSCHED_COMMON_H

#define MT_MAX_P	256	/* MNSCHED_MAX_P */
#define MT_MAX_M	4096	/* Ms (threads) a tool keeps state for */
#define MT_MAX_G	65536	/* Gs with latency or trace state at a time */
#define MT_HIST_SLOTS	36	/* log2 buckets: slot n holds [2^n, 2^(n+1)) */

/*
 * Latency "reasons": why a G was not running before it became runnable.
 * 0 .. MT_LAT_WAIT_MAX-1 are the runtime's wait reasons (enum mn_waitreason
 * in user/src/runtime.h, the g_park probe's second argument), then:
 */
#define MT_LAT_WAIT_MAX		32
#define MT_LAT_CREATED		(MT_LAT_WAIT_MAX + 0)	/* new G, never ran */
#define MT_LAT_PREEMPTED	(MT_LAT_WAIT_MAX + 1)	/* yielded, preempted, or displaced by a spawn */
#define MT_LAT_SYSCALL		(MT_LAT_WAIT_MAX + 2)	/* lost its P in a syscall (global queue) */
#define MT_LAT_UNKNOWN		(MT_LAT_WAIT_MAX + 3)	/* woken, but its park was not seen */
#define MT_LAT_NREASONS		(MT_LAT_WAIT_MAX + 4)

/* A log2 histogram of nanoseconds, as bpftool shows it. */
struct mt_hist {
	__u64 slots[MT_HIST_SLOTS];
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;
};

#endif /* MNSCHED_COMMON_H */
