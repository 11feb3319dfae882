// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * mnsched-lat.bpf.c - runnable-to-running latency of the Gs of one
 * mnsched process, from its USDT probes.
 *
 * A G becomes runnable when it is created (g_create), woken (g_unblock), or
 * switched out while still runnable: a yield, a preemption point, or a
 * spawn that runs the child first.  The runtime has no probe for the last
 * three; they are recognised at the next g_start on the same M: the G that
 * M ran before is still "running" in our table, so it went back to a run
 * queue at that moment.  The delay to its own next g_start is the latency,
 * added to a log2 histogram of the P it runs on and one of the reason it
 * was not running.
 */
#include "mnsched.bpf.h"
#include "mnsched-lat.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 targ_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MT_MAX_P);
	__type(key, __u32);
	__type(value, struct mt_hist);
} lat_by_p SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MT_LAT_NREASONS);
	__type(key, __u32);
	__type(value, struct mt_hist);
} lat_by_reason SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MT_MAX_G);
	__type(key, __u64);
	__type(value, struct mt_lat_g);
} lat_gstate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MT_MAX_M);
	__type(key, __s32);
	__type(value, __u64);
} lat_mcur SEC(".maps");

/* [0] runs measured, [1] runs not measured (back from a syscall through
 * the global queue: no probe marks when it was queued) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} lat_stats SEC(".maps");

static __always_inline void count_stat(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&lat_stats, &i);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void record(__s32 p, __u32 reason, __u64 ns)
{
	__u32 k = (__u32)p;
	struct mt_hist *h;

	h = bpf_map_lookup_elem(&lat_by_p, &k);
	if (h)
		mt_hist_add(h, ns);
	k = reason < MT_LAT_NREASONS ? reason : MT_LAT_UNKNOWN;
	h = bpf_map_lookup_elem(&lat_by_reason, &k);
	if (h)
		mt_hist_add(h, ns);
	count_stat(0);
}

static __always_inline void set_runnable(__u64 goid, __u32 reason, __u64 now)
{
	struct mt_lat_g g = {
		.since_ns = now, .state = MT_LAT_G_RUNNABLE, .reason = reason,
		.m = -1, .p = -1,
	};

	bpf_map_update_elem(&lat_gstate, &goid, &g, BPF_ANY);
}

SEC("usdt")
int BPF_USDT(lat_g_create, __u64 goid, __u64 parent)
{
	set_runnable(goid, MT_LAT_CREATED, bpf_ktime_get_ns());
	return 0;
}

SEC("usdt")
int BPF_USDT(lat_g_park, __u64 goid, int reason)
{
	struct mt_lat_g g = {
		.state = MT_LAT_G_WAITING,
		.reason = reason >= 0 && reason < MT_LAT_WAIT_MAX ?
			  (__u32)reason : MT_LAT_UNKNOWN,
		.m = -1, .p = -1,
	};

	bpf_map_update_elem(&lat_gstate, &goid, &g, BPF_ANY);
	return 0;
}

SEC("usdt")
int BPF_USDT(lat_g_unblock, __u64 goid, __u64 by_goid)
{
	struct mt_lat_g *g = bpf_map_lookup_elem(&lat_gstate, &goid);
	__u32 reason = MT_LAT_UNKNOWN;

	if (g && g->state == MT_LAT_G_WAITING)
		reason = g->reason;
	set_runnable(goid, reason, bpf_ktime_get_ns());
	return 0;
}

SEC("usdt")
int BPF_USDT(lat_g_start, __u64 goid, int p, int m)
{
	__u64 now = bpf_ktime_get_ns();
	struct mt_lat_g *g;
	__u64 *prev;

	/* The G this M ran before, if it did not park, exit or enter a
	 * syscall, went back to a run queue just now. */
	prev = bpf_map_lookup_elem(&lat_mcur, &m);
	if (prev && *prev != goid) {
		__u64 pg_id = *prev;
		struct mt_lat_g *pg = bpf_map_lookup_elem(&lat_gstate, &pg_id);

		if (pg && pg->m == m && (pg->state == MT_LAT_G_RUNNING ||
					 pg->state == MT_LAT_G_SYSCALL)) {
			pg->reason = pg->state == MT_LAT_G_SYSCALL ?
				     MT_LAT_SYSCALL : MT_LAT_PREEMPTED;
			pg->since_ns = now;
			pg->state = MT_LAT_G_RUNNABLE;
		}
	}
	bpf_map_update_elem(&lat_mcur, &m, &goid, BPF_ANY);

	g = bpf_map_lookup_elem(&lat_gstate, &goid);
	if (g) {
		if (g->state == MT_LAT_G_RUNNABLE && g->since_ns)
			record(p, g->reason, now - g->since_ns);
		else if (g->state == MT_LAT_G_SYSCALL)
			count_stat(1);
		g->state = MT_LAT_G_RUNNING;
		g->m = m;
		g->p = p;
	} else {
		struct mt_lat_g ng = { .state = MT_LAT_G_RUNNING, .m = m, .p = p };

		bpf_map_update_elem(&lat_gstate, &goid, &ng, BPF_ANY);
	}
	return 0;
}

SEC("usdt")
int BPF_USDT(lat_g_exit, __u64 goid)
{
	bpf_map_delete_elem(&lat_gstate, &goid);
	return 0;
}

SEC("usdt")
int BPF_USDT(lat_syscall_enter, __u64 goid, int p)
{
	struct mt_lat_g *g = bpf_map_lookup_elem(&lat_gstate, &goid);

	if (g)
		g->state = MT_LAT_G_SYSCALL;
	return 0;
}

SEC("usdt")
int BPF_USDT(lat_syscall_exit, __u64 goid, int p)
{
	struct mt_lat_g *g = bpf_map_lookup_elem(&lat_gstate, &goid);

	/* Back on a P without a trip through a run queue (in the other case
	 * g_start has run first and the G is RUNNING already). */
	if (g && g->state == MT_LAT_G_SYSCALL) {
		g->state = MT_LAT_G_RUNNING;
		g->p = p;
	}
	return 0;
}
