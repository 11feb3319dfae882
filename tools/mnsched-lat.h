/* SPDX-License-Identifier: MIT */
/*
 * mnsched-lat.h - shared by bpf/mnsched-lat.bpf.c and tools/mnsched-lat.c.
 *
 * Maps (pinned as /sys/fs/bpf/mnsched/PID/lat_*):
 *   lat_by_p       array[P]       struct mt_hist: runnable-to-running, by the P it ran on
 *   lat_by_reason  array[reason]  struct mt_hist: the same, by what the G waited for
 *   lat_gstate     hash[goid]     struct mt_lat_g: the G's state as the probes saw it
 *   lat_mcur       hash[M id]     __u64: goid last started on that M
 */
#ifndef MNSCHED_LAT_H
#define MNSCHED_LAT_H

#include "mnsched-common.h"

#define MT_LAT_G_RUNNABLE	1
#define MT_LAT_G_RUNNING	2
#define MT_LAT_G_WAITING	3
#define MT_LAT_G_SYSCALL	4

struct mt_lat_g {
	__u64 since_ns;		/* runnable since (CLOCK_MONOTONIC) */
	__u32 state;		/* MT_LAT_G_* */
	__u32 reason;		/* wait reason or MT_LAT_* pseudo reason */
	__s32 m;		/* M it runs on (state RUNNING) */
	__s32 p;
};

#endif /* MNSCHED_LAT_H */
