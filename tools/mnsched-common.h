/* SPDX-License-Identifier: MIT */
/*
 * mnsched-common.h - definitions shared by the BPF programs (bpf/) and the
 * tools that load them (tools/).  Only __u32/__u64 types: the BPF side gets
 * them from vmlinux.h, user space from <linux/types.h> (include it first).
 */
#ifndef MNSCHED_COMMON_H
#define MNSCHED_COMMON_H

#define MN_MAX_P	256	/* MNSCHED_MAX_P */
#define MN_MAX_M	4096	/* Ms (threads) a tool keeps state for */
#define MN_MAX_G	65536	/* Gs with latency or trace state at a time */
#define MN_HIST_SLOTS	36	/* log2 buckets: slot n holds [2^n, 2^(n+1)) */

/*
 * Latency "reasons": why a G was not running before it became runnable.
 * 0 .. MN_LAT_WAIT_MAX-1 are the runtime's wait reasons (enum mn_waitreason
 * in user/src/runtime.h, the g_park probe's second argument), then:
 */
#define MN_LAT_WAIT_MAX		32
#define MN_LAT_CREATED		(MN_LAT_WAIT_MAX + 0)	/* new G, never ran */
#define MN_LAT_PREEMPTED	(MN_LAT_WAIT_MAX + 1)	/* yielded, preempted, or displaced by a spawn */
#define MN_LAT_SYSCALL		(MN_LAT_WAIT_MAX + 2)	/* lost its P in a syscall (global queue) */
#define MN_LAT_UNKNOWN		(MN_LAT_WAIT_MAX + 3)	/* woken, but its park was not seen */
#define MN_LAT_NREASONS		(MN_LAT_WAIT_MAX + 4)

/* A log2 histogram of nanoseconds, as bpftool shows it. */
struct mn_hist {
	__u64 slots[MN_HIST_SLOTS];
	__u64 count;
	__u64 sum_ns;
	__u64 max_ns;
};

#endif /* MNSCHED_COMMON_H */
