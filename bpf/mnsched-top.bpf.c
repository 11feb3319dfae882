// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * mnsched-top.bpf.c - CPU and off-CPU time of an mnsched program's Ms, and
 * of its Ps while their M is off CPU, for mnsched-top.
 *
 * sched:sched_switch (tp_btf) times every thread of the target on and off
 * CPU.  Which thread is which M, and which P it holds, comes from the cold
 * USDT probes proc_start, proc_stop, m_park and handoff (a few per idle
 * period, never per G switch): mnsched-top costs the target nothing on its
 * hot paths.
 */
#include "mnsched.bpf.h"
#include "mnsched-top.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 targ_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MT_MAX_M);
	__type(key, __u32);
	__type(value, struct mt_top_m);
} top_m SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MT_MAX_P);
	__type(key, __u32);
	__type(value, struct mt_top_p);
} top_p SEC(".maps");

static __always_inline struct mt_top_m *get_m(__u32 tid)
{
	struct mt_top_m *s = bpf_map_lookup_elem(&top_m, &tid);

	if (!s) {
		struct mt_top_m z = { .tid = tid, .m = -1, .p = -1 };

		bpf_map_update_elem(&top_m, &tid, &z, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&top_m, &tid);
	}
	return s;
}

/* Charge the off-CPU time so far to the thread (and its P), restart the clock. */
static __always_inline void charge_off(struct mt_top_m *s, __u64 now)
{
	__u64 d;

	if (!(s->flags & MT_TOP_SEEN) || (s->flags & MT_TOP_ONCPU) || now < s->last_ns)
		return;
	d = now - s->last_ns;
	if (s->p >= 0) {
		__u32 k = (__u32)s->p;
		struct mt_top_p *ps = bpf_map_lookup_elem(&top_p, &k);

		s->offcpu_ns += d;
		if (ps)
			__sync_fetch_and_add(&ps->offcpu_ns, d);
	} else {
		s->idle_ns += d;
	}
	s->last_ns = now;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(top_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	struct mt_top_m *s;

	if (prev->tgid == (int)targ_tgid) {
		s = get_m((__u32)prev->pid);
		if (s) {
			if ((s->flags & MT_TOP_SEEN) && (s->flags & MT_TOP_ONCPU) &&
			    now >= s->last_ns)
				s->oncpu_ns += now - s->last_ns;
			if (preempt)
				s->preempted++;
			else
				s->blocked++;
			s->flags = MT_TOP_SEEN;
			s->last_ns = now;
		}
	}
	if (next->tgid == (int)targ_tgid) {
		s = get_m((__u32)next->pid);
		if (s) {
			charge_off(s, now);
			s->flags = MT_TOP_SEEN | MT_TOP_ONCPU;
			s->last_ns = now;
		}
	}
	return 0;
}

/*
 * P p has a new holder: the M that held it before (blocked in a syscall,
 * its P taken by sysmon or the module) no longer charges its off-CPU time
 * to p.
 */
static __always_inline void p_taken(struct mt_top_p *ps, int p, __u32 new_tid,
				    __u64 now)
{
	__u32 prev = ps->tid;
	struct mt_top_m *o;

	if (!prev || prev == new_tid)
		return;
	o = bpf_map_lookup_elem(&top_m, &prev);
	if (o && o->p == p) {
		charge_off(o, now);	/* blocked so far: the P's time */
		o->p = -1;		/* from now on: its own, not the P's */
	}
}

static __always_inline void name_m(struct mt_top_m *s, __u32 tid, int m)
{
	s->m = m;
}

SEC("usdt")
int BPF_USDT(top_proc_start, int p, int m)
{
	__u32 tid = mt_cur_tid(), k = (__u32)p;
	struct mt_top_m *s = get_m(tid);
	struct mt_top_p *ps = bpf_map_lookup_elem(&top_p, &k);

	if (s) {
		name_m(s, tid, m);
		s->p = p;
		s->pstarts++;
	}
	if (ps) {
		p_taken(ps, p, tid, bpf_ktime_get_ns());
		__sync_fetch_and_add(&ps->acquires, 1);
		ps->tid = tid;
		ps->m = m;
	}
	return 0;
}

SEC("usdt")
int BPF_USDT(top_proc_stop, int p, int m)
{
	__u32 tid = mt_cur_tid(), k = (__u32)p;
	struct mt_top_m *s = get_m(tid);
	struct mt_top_p *ps = bpf_map_lookup_elem(&top_p, &k);

	if (s) {
		name_m(s, tid, m);
		s->p = -1;
	}
	if (ps && ps->tid == tid) {
		ps->tid = 0;
		ps->m = -1;
	}
	return 0;
}

SEC("usdt")
int BPF_USDT(top_m_park, int m)
{
	__u32 tid = mt_cur_tid();
	struct mt_top_m *s = get_m(tid);

	if (s)
		name_m(s, tid, m);
	return 0;
}

/*
 * sysmon took P p from blocked M from_m (to_m -1), or a spare M to_m was
 * handed it by the module (from_m -1; its proc_start follows).
 */
SEC("usdt")
int BPF_USDT(top_handoff, int p, int from_m, int to_m)
{
	__u32 k = (__u32)p;
	struct mt_top_p *ps = bpf_map_lookup_elem(&top_p, &k);

	if (!ps)
		return 0;
	__sync_fetch_and_add(&ps->retakes, 1);
	if (to_m < 0) {
		p_taken(ps, p, 0, bpf_ktime_get_ns());
		ps->tid = 0;
		ps->m = -1;
	}
	return 0;
}
