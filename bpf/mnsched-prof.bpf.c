// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * mnsched-prof.bpf.c - CPU samples and off-CPU time of one mnsched
 * process, attributed to the G each thread was running.
 *
 *  - perf_event (the tool opens a CPU-clock sampling event per CPU): a
 *    sample of a target thread counts for the G its M runs, with the G's
 *    label set and the user and kernel stacks;
 *  - sched_switch: a target thread switched out while its M runs a G
 *    starts an off-CPU period of that G, "descheduled" (preempted: the G
 *    was runnable) or "blocked in the kernel" (the M slept); it ends when
 *    the thread runs again;
 *  - with --off-cpu, USDT g_park ... g_unblock / io_complete: the time a
 *    G waited in the runtime (channel, I/O, timer...), with the stack it
 *    parked at.
 *
 * The current G of a thread: mn_tls_m at its %fs base + tls_m_off, then
 * m->curg (see mnsched-prof.h); nothing in the runtime's hot paths.
 */
#include "mnsched.bpf.h"
#include "mnsched-prof.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 targ_tgid = 0;
const volatile bool kernel_stacks = true;

/* Set by the tool once it has read the runtime's mn_debug_info. */
volatile struct mt_prof_rt rt = {};
volatile __u32 ready = 0;
/* Cleared by the tool before it reads the maps: nothing more counts. */
volatile __u32 armed = 1;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, MT_PROF_MAX_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MT_PROF_STACK_DEPTH * sizeof(__u64));
} prof_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MT_PROF_MAX_KEYS);
	__type(key, struct mt_prof_key);
	__type(value, struct mt_prof_val);
} prof_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MT_MAX_G);
	__type(key, __u64);
	__type(value, struct mt_prof_g);
} prof_gs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct mt_prof_labelset);
} prof_labels SEC(".maps");

/* scratch for a label set (too big for the BPF stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mt_prof_labelset);
} prof_scratch SEC(".maps");

/* a thread off CPU while its M runs a G: since when, and whose */
struct offstart {
	__u64 ts;
	struct mt_prof_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MT_MAX_M);
	__type(key, __u32);
	__type(value, struct offstart);
} prof_off SEC(".maps");

/* a G parked in the runtime (--off-cpu) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MT_MAX_G);
	__type(key, __u64);
	__type(value, struct offstart);
} prof_park SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MT_PROF_TEXT_RANGES);
	__type(key, __u32);
	__type(value, struct mt_prof_text);
} prof_text SEC(".maps");

/* The word at the current task's user stack pointer, if it is an address
 * in the target's code (see struct mt_prof_key.uret); else 0. */
static __always_inline __u64 leaf_ret(struct task_struct *task)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 sp = regs ? BPF_CORE_READ(regs, sp) : 0, v = 0;

	if (!sp || bpf_probe_read_user(&v, sizeof(v), (void *)sp) || v < 4096)
		return 0;
	for (__u32 i = 0; i < MT_PROF_TEXT_RANGES; i++) {
		struct mt_prof_text *r = bpf_map_lookup_elem(&prof_text, &i);

		if (!r || !r->hi)
			break;
		if (v >= r->lo && v < r->hi)
			return v;
	}
	return 0;
}

struct gref {
	__u64 goid;
	__u64 labels;
	__u16 where;
};

static __always_inline void add(struct mt_prof_key *k, __u64 n, __u64 ns)
{
	struct mt_prof_val *v, zero = {};

	v = bpf_map_lookup_elem(&prof_counts, k);
	if (!v) {
		bpf_map_update_elem(&prof_counts, k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&prof_counts, k);
		if (!v)
			return;		/* full: the tool reports lost counts */
	}
	__sync_fetch_and_add(&v->count, n);
	if (ns)
		__sync_fetch_and_add(&v->ns, ns);
}

/* First sight of a G: its name and creator; of a label set: a copy. */
static __always_inline void note_g(__u64 g, __u64 goid, __u64 lsp, __u64 lsid)
{
	if (!bpf_map_lookup_elem(&prof_gs, &goid)) {
		struct mt_prof_g v = {};
		__u64 name = 0;

		if (!bpf_probe_read_user(&name, sizeof(name), (void *)(g + rt.g_name)) && name)
			bpf_probe_read_user_str(v.name, sizeof(v.name), (void *)name);
		bpf_probe_read_user(&v.parent, sizeof(v.parent), (void *)(g + rt.g_parent));
		bpf_map_update_elem(&prof_gs, &goid, &v, BPF_NOEXIST);
	}
	if (lsid && !bpf_map_lookup_elem(&prof_labels, &lsid)) {
		__u32 zero = 0;
		struct mt_prof_labelset *ls = bpf_map_lookup_elem(&prof_scratch, &zero);

		if (ls && !bpf_probe_read_user(ls, sizeof(*ls), (void *)lsp) &&
		    ls->id == lsid)
			bpf_map_update_elem(&prof_labels, &lsid, ls, BPF_NOEXIST);
	}
}

/*
 * The G the current thread (task, which must be current: its user memory
 * is read) runs.  Returns false when it runs none: r->where says why.
 */
static __always_inline bool cur_g(struct task_struct *task, struct gref *r)
{
	__u64 fsbase, m = 0, g = 0, lsp = 0;

	r->goid = 0;
	r->labels = 0;
	r->where = MT_PROF_IN_THREAD;
	if (!ready)
		return false;
	fsbase = BPF_CORE_READ(task, thread.fsbase);
	if (!fsbase ||
	    bpf_probe_read_user(&m, sizeof(m), (void *)(fsbase + rt.tls_m_off)) || !m)
		return false;			/* not an M */
	r->where = MT_PROF_IN_SCHED;
	if (bpf_probe_read_user(&g, sizeof(g), (void *)(m + rt.m_curg)) || !g ||
	    g == m + rt.m_g0)
		return false;			/* on g0 */
	if (bpf_probe_read_user(&r->goid, sizeof(r->goid), (void *)(g + rt.g_goid)) ||
	    !r->goid)
		return false;
	r->where = MT_PROF_IN_G;
	if (!bpf_probe_read_user(&lsp, sizeof(lsp), (void *)(g + rt.g_labels)) && lsp)
		bpf_probe_read_user(&r->labels, sizeof(r->labels), (void *)(lsp + rt.ls_id));
	note_g(g, r->goid, lsp, r->labels);
	return true;
}

SEC("perf_event")
int prof_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct mt_prof_key k = {};
	struct task_struct *task;
	struct gref r;

	if ((id >> 32) != targ_tgid || !armed)
		return 0;
	task = bpf_get_current_task_btf();

	if (!cur_g(task, &r)) {
		k.tid = (__u32)id;
		k.reason = r.where;
	}
	k.goid = r.goid;
	k.labels = r.labels;
	k.kind = MT_PROF_CPU;
	k.ustack = bpf_get_stackid(ctx, &prof_stacks, BPF_F_USER_STACK);
	k.uret = leaf_ret(task);
	k.kstack = kernel_stacks ? bpf_get_stackid(ctx, &prof_stacks, 0) : -1;
	add(&k, 1, 0);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(prof_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	bool out = prev->tgid == (int)targ_tgid, in = next->tgid == (int)targ_tgid;
	struct offstart *s;
	__u64 now;
	__u32 tid;

	/* It runs at every switch on the machine: leave others' at once. */
	if (!armed || !(out || in))
		return 0;
	now = bpf_ktime_get_ns();
	if (out) {
		struct offstart o = {};
		struct gref r;

		/* prev is still current: its user memory can be read */
		if (cur_g(prev, &r)) {
			o.ts = now;
			o.key.goid = r.goid;
			o.key.labels = r.labels;
			o.key.kind = preempt || BPF_CORE_READ(prev, __state) == 0 ?
				     MT_PROF_DESCHED : MT_PROF_KBLOCKED;
			/*
			 * Stacks only when the M sleeps in the kernel: they
			 * say which call blocked.  Where a preemption hit is
			 * noise, and walking the user stack at every switch
			 * of a program whose Ms switch often costs it ~2%.
			 */
			o.key.ustack = o.key.kstack = -1;
			if (o.key.kind == MT_PROF_KBLOCKED) {
				o.key.ustack = bpf_get_stackid(ctx, &prof_stacks,
							       BPF_F_USER_STACK);
				o.key.uret = leaf_ret(prev);
				if (kernel_stacks)
					o.key.kstack = bpf_get_stackid(ctx, &prof_stacks, 0);
			}
			tid = (__u32)prev->pid;
			bpf_map_update_elem(&prof_off, &tid, &o, BPF_ANY);
		}
	}
	if (in) {
		tid = (__u32)next->pid;
		s = bpf_map_lookup_elem(&prof_off, &tid);
		if (s) {
			struct mt_prof_key k = s->key;

			if (now > s->ts)
				add(&k, 1, now - s->ts);
			bpf_map_delete_elem(&prof_off, &tid);
		}
	}
	return 0;
}

/* ---- --off-cpu: time parked in the runtime ---------------------------- */

SEC("usdt")
int BPF_USDT(prof_g_park, __u64 goid, int reason)
{
	struct offstart o = {};
	struct gref r;

	if (!armed)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();

	cur_g(task, &r);	/* the parking G */
	o.ts = bpf_ktime_get_ns();
	o.key.goid = goid;
	o.key.labels = r.goid == goid ? r.labels : 0;
	o.key.kind = MT_PROF_BLOCKED;
	o.key.reason = (__u16)reason;
	o.key.ustack = bpf_get_stackid(ctx, &prof_stacks, BPF_F_USER_STACK);
	o.key.uret = leaf_ret(task);
	o.key.kstack = -1;
	bpf_map_update_elem(&prof_park, &goid, &o, BPF_ANY);
	return 0;
}

static __always_inline int unparked(__u64 goid)
{
	struct offstart *s = bpf_map_lookup_elem(&prof_park, &goid);
	__u64 now = bpf_ktime_get_ns();

	if (!s)
		return 0;
	if (armed && now > s->ts) {
		struct mt_prof_key k = s->key;

		add(&k, 1, now - s->ts);
	}
	bpf_map_delete_elem(&prof_park, &goid);
	return 0;
}

SEC("usdt")
int BPF_USDT(prof_g_unblock, __u64 goid, __u64 by)
{
	return unparked(goid);
}

SEC("usdt")
int BPF_USDT(prof_io_complete, __u64 goid, long op, long res)
{
	return unparked(goid);
}
