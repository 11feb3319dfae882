// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * mnsched-trace.bpf.c - every scheduler event of one mnsched process into
 * a ring buffer: the runtime's USDT probes, sched_switch of its threads
 * (M off-CPU time) and, with mnsched.ko loaded, the module's tracepoints.
 */
#include "mnsched.bpf.h"
#include "mnsched-trace.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u32 targ_tgid = 0;
/*
 * Where the P structs are in the target (0: unknown, no run-queue lengths).
 * Written by the tool after load: a program that has not called mn_main
 * yet gets them once it has.
 */
volatile __u64 pstates_addr = 0;
volatile __u64 pstates_stride = 0;
volatile __u32 nr_p = 0;
/*
 * Set by the tool once every probe is attached, cleared before it detaches
 * them: events are recorded only while the whole set is in place, so the
 * timeline never sees half a story (a G start without its park).
 */
volatile __u32 armed = 0;
/*
 * Where the runtime keeps an M's G (from its mn_debug_info; tls_m_off 0:
 * unknown yet): an off-CPU event names the G its M was running.
 */
volatile __s64 tls_m_off = 0;
volatile __u32 m_curg = 0, m_g0 = 0, g_goid = 0;
/* unconsumed bytes that wake the tool at once (set to a quarter of the buffer) */
const volatile __u64 wakeup_bytes = 4 << 20;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);	/* the tool may resize it (-b) */
} trace_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_EV__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} trace_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MT_EV__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} trace_drops SEC(".maps");

static __always_inline void bump(void *map, __u32 type)
{
	__u64 *v = bpf_map_lookup_elem(map, &type);

	if (v)
		(*v)++;		/* per CPU: no atomics needed */
}

static __always_inline int emit_at(__u64 ts, __u32 type, __u32 tid, __s64 a,
				   __s64 b, __s64 c, __s64 d)
{
	struct mt_event *e;

	if (!armed)
		return 0;
	bump(&trace_counts, type);
	e = bpf_ringbuf_reserve(&trace_events, sizeof(*e), 0);
	if (!e) {
		bump(&trace_drops, type);
		return 0;
	}
	e->ts = ts;
	e->type = type;
	e->tid = tid;
	e->cpu = bpf_get_smp_processor_id();
	e->__pad = 0;
	e->a = a;
	e->b = b;
	e->c = c;
	e->d = d;
	/*
	 * No wake-up per event (an IPI and a context switch each, several
	 * microseconds of the traced program's time): the tool polls every
	 * 50 ms; only a quarter-full buffer wakes it early.
	 */
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&trace_events, BPF_RB_AVAIL_DATA) >
			      wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	return 0;
}

static __always_inline int emit(__u32 type, __s64 a, __s64 b, __s64 c, __s64 d)
{
	return emit_at(bpf_ktime_get_ns(), type, mt_cur_tid(), a, b, c, d);
}

/* ---- USDT ----------------------------------------------------------- */

/* The run-queue length of P p, from the P struct in the target; -1 unknown. */
static __always_inline __s64 runq_len(long p)
{
	__u32 len = 0;

	if (pstates_addr && pstates_stride && p >= 0 && (__u64)p < nr_p &&
	    !bpf_probe_read_user(&len, sizeof(len),
				 (void *)(pstates_addr + (__u64)p * pstates_stride +
					  MT_PSTATE_RUNQ_LEN_OFF)))
		return len;
	return -1;
}

/*
 * One program per probe of probe_defs.h, tr_NAME: the event of the same
 * type with the probe's arguments in a, b, c, d (each sign-extended as
 * the probe's note says); g_start adds the run-queue length of its P in d.
 */
static __always_inline int emit_usdt(struct pt_regs *ctx, __u32 type, int nargs)
{
	__u64 ts = bpf_ktime_get_ns();
	long v[4] = {};

#pragma unroll
	for (int i = 0; i < 4; i++)
		if (i < nargs)
			bpf_usdt_arg(ctx, i, &v[i]);
	if (type == MT_EV_G_START)
		v[3] = runq_len(v[1]);
	return emit_at(ts, type, mt_cur_tid(), v[0], v[1], v[2], v[3]);
}

#define TR_USDT(NAME, name, nargs, args)				\
SEC("usdt")								\
int tr_##name(struct pt_regs *ctx)					\
{									\
	return emit_usdt(ctx, MT_EV_##NAME, nargs);			\
}
MN_PROBE_DEFS(TR_USDT)
#undef TR_USDT

/* ---- sched_switch: M off-CPU time ---------------------------------- */

/* The G the current thread's M runs (task must be current), 0 for none. */
static __always_inline __u64 cur_goid(struct task_struct *task)
{
	__u64 fsbase, m = 0, g = 0, goid = 0;

	if (!tls_m_off)
		return 0;
	fsbase = BPF_CORE_READ(task, thread.fsbase);
	if (!fsbase ||
	    bpf_probe_read_user(&m, sizeof(m), (void *)(fsbase + tls_m_off)) || !m ||
	    bpf_probe_read_user(&g, sizeof(g), (void *)(m + m_curg)) || !g ||
	    g == m + m_g0 ||
	    bpf_probe_read_user(&goid, sizeof(goid), (void *)(g + g_goid)))
		return 0;
	return goid;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(tr_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	__u64 ts = bpf_ktime_get_ns();

	/* prev is still current: its M's G can be read */
	if (prev->tgid == (int)targ_tgid)
		emit_at(ts, MT_EV_OFFCPU, (__u32)prev->pid, preempt,
			BPF_CORE_READ(prev, __state), armed ? (__s64)cur_goid(prev) : 0, 0);
	if (next->tgid == (int)targ_tgid)
		emit_at(ts, MT_EV_ONCPU, (__u32)next->pid, 0, 0, 0, 0);
	return 0;
}

/* ---- mnsched.ko tracepoints (attached only when the module is loaded) - */

SEC("raw_tp/mnsched_register")
int BPF_PROG(tr_k_register, int tgid, int tid, int m)
{
	if ((__u32)tgid != targ_tgid)
		return 0;
	return emit_at(bpf_ktime_get_ns(), MT_EV_K_REGISTER, (__u32)tid, tid, m, 0, 0);
}

SEC("raw_tp/mnsched_park")
int BPF_PROG(tr_k_park, int m, s64 timeout_ns, long ret, u64 waited_ns)
{
	if (mt_cur_tgid() != targ_tgid)
		return 0;
	return emit(MT_EV_K_PARK, m, ret, (__s64)waited_ns, 0);
}

SEC("raw_tp/mnsched_unpark")
int BPF_PROG(tr_k_unpark, int from, int to)
{
	if (mt_cur_tgid() != targ_tgid)
		return 0;
	return emit(MT_EV_K_UNPARK, from, to, 0, 0);
}

SEC("raw_tp/mnsched_swap")
int BPF_PROG(tr_k_swap, int from, int to)
{
	if (mt_cur_tgid() != targ_tgid)
		return 0;
	return emit(MT_EV_K_SWAP, from, to, 0, 0);
}

SEC("raw_tp/mnsched_block")
int BPF_PROG(tr_k_block, int m, int p, int tid)
{
	if (mt_cur_tgid() != targ_tgid)
		return 0;
	return emit(MT_EV_K_BLOCK, m, p, tid, 0);
}

SEC("raw_tp/mnsched_handoff")
int BPF_PROG(tr_k_handoff, int p, int from, int to)
{
	/* fired by the spare M taking the P: a thread of the target */
	if (mt_cur_tgid() != targ_tgid)
		return 0;
	return emit(MT_EV_K_HANDOFF, p, from, to, 0);
}

SEC("raw_tp/mnsched_kpreempt")
int BPF_PROG(tr_k_preempt, int p, int m, int tid, __u64 goid, __u64 ran_ns)
{
	/* fired in the tick that interrupted the M's thread: the target's */
	if (mt_cur_tgid() != targ_tgid)
		return 0;
	return emit(MT_EV_K_PREEMPT, goid, p, m, ran_ns);
}
