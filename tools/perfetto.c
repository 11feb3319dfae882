// SPDX-License-Identifier: MIT
/*
 * perfetto.c - mnsched-trace's timeline: its events (struct mt_event,
 * mnsched-trace.h) as Chrome trace-event JSON for ui.perfetto.dev
 * (mnsched-trace --perfetto FILE).
 *
 * The timeline has two process groups:
 *   "Ps"  one track per P: an X slice per G run (name "G<goid>", from the
 *         g_start that put it on the P to the park, exit, syscall or next
 *         switch that took it off), instant events for steals and handoffs,
 *         and a counter track per P with its run-queue length;
 *   "Ms"  per thread (M) one track of its state (holding P<n>, in a syscall,
 *         looking for work, parked) and one of its off-CPU periods from
 *         sched_switch (preempted or blocked).
 * Flow arrows go from the G (or M) that woke or created a G to the start of
 * that G's next run.
 *
 * Slices are written when they end, so the writer keeps what is open: each
 * G's current run (a hash by goid), each thread's state and off-CPU period,
 * each P's last run-queue length.  One timeline per process: the state is
 * file-static.  perfetto_end closes every open slice at the trace's end.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mnsched-util.h"
#include "mnsched-trace.h"
#include "perfetto.h"

/* ---- state of the timeline ---------------------------------------- */

#define PID_P	1		/* "process" of the P tracks */
#define PID_M	2		/* "process" of the M tracks */
#define OFFCPU_TID(tid)	((tid) + 0x40000000u)	/* second track of a thread */

struct grun {
	struct grun *next;
	__u64 goid;
	__u64 start;		/* run start, when active */
	int p, m;
	__u32 tid;
	bool active;
	bool wake;		/* a flow waits for its next run */
	bool wake_spawn;
	int wake_pid;
	__u32 wake_tid;
	__u64 wake_ts;
};

#define GHASH	65536
static struct grun *gtab[GHASH];

static struct grun *gfind(__u64 goid, bool create)
{
	struct grun **pp = &gtab[goid & (GHASH - 1)], *g;

	for (g = *pp; g; g = g->next)
		if (g->goid == goid)
			return g;
	if (!create)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->goid = goid;
	g->next = *pp;
	*pp = g;
	return g;
}

static void gdel(__u64 goid)
{
	struct grun **pp = &gtab[goid & (GHASH - 1)], *g;

	for (; (g = *pp); pp = &g->next) {
		if (g->goid == goid) {
			*pp = g->next;
			free(g);
			return;
		}
	}
}

enum mstate { MS_NONE, MS_P, MS_SYSCALL, MS_NOP, MS_PARKED, MS_DEMOTED };

struct thr {
	__u32 tid;
	int m;			/* -1 until a probe names it */
	int state;		/* enum mstate; MS_NONE: no slice open */
	int p;			/* MS_P, MS_SYSCALL: the P */
	__u64 since;
	bool off;		/* off CPU (since off_ts) */
	bool off_preempt;
	__u64 off_ts;
	__u64 off_goid;		/* the G running on it when it went off CPU */
	__u64 curg;		/* G whose run is active on this thread, 0 none */
	bool named;
};

static struct thr *thrs;
static int nthr, capthr;
static __u32 m_tid[MT_MAX_M];	/* runtime M id -> thread */
static bool p_seen[MT_MAX_P];
static long p_runq[MT_MAX_P];

static struct thr *tfind(__u32 tid)
{
	for (int i = 0; i < nthr; i++)
		if (thrs[i].tid == tid)
			return &thrs[i];
	if (nthr == capthr) {
		int nc = capthr ? 2 * capthr : 64;
		struct thr *n = realloc(thrs, (size_t)nc * sizeof(*n));

		if (!n)
			return NULL;
		thrs = n;
		capthr = nc;
	}
	thrs[nthr] = (struct thr){ .tid = tid, .m = -1, .p = -1 };
	return &thrs[nthr++];
}

static void tname_m(struct thr *t, int m)
{
	if (!t || m < 0)
		return;
	if (t->m != m)
		t->named = false;
	t->m = m;
	if (m < MT_MAX_M)
		m_tid[m] = t->tid;
}

/* ---- JSON ----------------------------------------------------------- */

static FILE *jf;
static __u64 base_ns;
static const char *const *ev_names;
static bool jfirst = true;
static unsigned long long flow_ids;
static struct {
	unsigned long long g_starts, g_slices, m_slices, offcpu_slices;
	unsigned long long flows, counters, instants;
} st;

static double us(__u64 ts)
{
	return ts >= base_ns ? (double)(ts - base_ns) / 1000.0 : 0.0;
}

static void jsep(void)
{
	if (!jfirst)
		fputs(",\n", jf);
	jfirst = false;
}

static void jx(int pid, __u32 tid, const char *cat, const char *name, __u64 ts,
	       __u64 end, const char *args)
{
	jsep();
	fprintf(jf, "{\"ph\":\"X\",\"cat\":\"%s\",\"name\":\"%s\",\"pid\":%d,\"tid\":%u,"
		"\"ts\":%.3f,\"dur\":%.3f%s%s%s}", cat, name, pid, tid, us(ts),
		end > ts ? (double)(end - ts) / 1000.0 : 0.0,
		args ? ",\"args\":{" : "", args ? args : "", args ? "}" : "");
}

static void jinstant(int pid, __u32 tid, const char *name, __u64 ts, const char *args)
{
	jsep();
	fprintf(jf, "{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"sched\",\"name\":\"%s\",\"pid\":%d,"
		"\"tid\":%u,\"ts\":%.3f,\"args\":{%s}}", name, pid, tid, us(ts), args);
	st.instants++;
}

static void jmeta(int pid, __u32 tid, const char *what, const char *name, long sort)
{
	jsep();
	if (tid)
		fprintf(jf, "{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%d,\"tid\":%u,"
			"\"args\":{\"name\":\"%s\"}}", what, pid, tid, name);
	else
		fprintf(jf, "{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%d,"
			"\"args\":{\"name\":\"%s\"}}", what, pid, name);
	if (sort >= 0) {
		jsep();
		fprintf(jf, "{\"ph\":\"M\",\"name\":\"%s_sort_index\",\"pid\":%d,"
			"\"tid\":%u,\"args\":{\"sort_index\":%ld}}",
			tid ? "thread" : "process", pid, tid, sort);
	}
}

/* P p as a track (tid p + 1: tid 0 has a special meaning in some viewers) */
static __u32 ptid(int p)
{
	return (__u32)p + 1;
}

static void p_touch(int p)
{
	char name[16];

	if (p < 0 || p >= MT_MAX_P || p_seen[p])
		return;
	p_seen[p] = true;
	p_runq[p] = -1;
	snprintf(name, sizeof(name), "P%d", p);
	jmeta(PID_P, ptid(p), "thread_name", name, p);
}

static void t_touch(struct thr *t)
{
	char name[64];

	if (!t || t->named)
		return;
	t->named = true;
	if (t->m >= 0)
		snprintf(name, sizeof(name), "M%d (tid %u)", t->m, t->tid);
	else
		snprintf(name, sizeof(name), "thread %u", t->tid);
	jmeta(PID_M, t->tid, "thread_name", name, (long)(t->m >= 0 ? t->m : 100000) * 2);
	snprintf(name + strlen(name), sizeof(name) - strlen(name), " off-CPU");
	jmeta(PID_M, OFFCPU_TID(t->tid), "thread_name", name,
	      (long)(t->m >= 0 ? t->m : 100000) * 2 + 1);
}

static void m_state(struct thr *t, int state, int p, __u64 ts)
{
	char name[24];

	if (!t || (t->state == state && t->p == p))
		return;
	if (t->state != MS_NONE) {
		t_touch(t);
		switch (t->state) {
		case MS_P: snprintf(name, sizeof(name), "P%d", t->p); break;
		case MS_SYSCALL: snprintf(name, sizeof(name), "syscall"); break;
		case MS_NOP: snprintf(name, sizeof(name), "no P"); break;
		case MS_DEMOTED: snprintf(name, sizeof(name), "demoted"); break;
		default: snprintf(name, sizeof(name), "parked"); break;
		}
		jx(PID_M, t->tid, "m", name, t->since, ts, NULL);
		st.m_slices++;
	}
	t->state = state;
	t->p = p;
	t->since = ts;
}

static void run_end(struct grun *g, __u64 ts, const char *why)
{
	char args[96];
	struct thr *t;

	if (!g || !g->active)
		return;
	g->active = false;
	p_touch(g->p);
	snprintf(args, sizeof(args), "\"goid\":%llu,\"m\":%d,\"end\":\"%s\"",
		 (unsigned long long)g->goid, g->m, why);
	{
		char name[32];

		snprintf(name, sizeof(name), "G%llu", (unsigned long long)g->goid);
		jx(PID_P, ptid(g->p), "g", name, g->start, ts, args);
	}
	st.g_slices++;
	t = tfind(g->tid);
	if (t && t->curg == g->goid)
		t->curg = 0;
}

static void run_start(struct grun *g, struct thr *t, int p, int m, __u64 ts)
{
	if (g->active)
		run_end(g, ts, "switch");
	if (t && t->curg && t->curg != g->goid)
		run_end(gfind(t->curg, false), ts, "switch");
	g->active = true;
	g->start = ts;
	g->p = p;
	g->m = m;
	g->tid = t ? t->tid : 0;
	if (t)
		t->curg = g->goid;
	p_touch(p);
	if (g->wake) {
		unsigned long long id = ++flow_ids;
		const char *n = g->wake_spawn ? "spawn" : "wakeup";

		jsep();
		fprintf(jf, "{\"ph\":\"s\",\"cat\":\"%s\",\"name\":\"%s\",\"id\":%llu,"
			"\"pid\":%d,\"tid\":%u,\"ts\":%.3f}", n, n, id, g->wake_pid,
			g->wake_tid, us(g->wake_ts));
		jsep();
		fprintf(jf, "{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"%s\",\"name\":\"%s\","
			"\"id\":%llu,\"pid\":%d,\"tid\":%u,\"ts\":%.3f}", n, n, id,
			PID_P, ptid(p), us(ts));
		st.flows++;
		g->wake = false;
	}
}

/* Where is the thread/G that caused something at ts: its run, or its M track. */
static bool locate(__u64 by_goid, __u32 tid, int *pid, __u32 *track)
{
	struct grun *w = by_goid ? gfind(by_goid, false) : NULL;
	struct thr *t;

	if (w && w->active) {
		*pid = PID_P;
		*track = ptid(w->p);
		return true;
	}
	t = tfind(tid);
	if (t && t->state != MS_NONE) {
		t_touch(t);
		*pid = PID_M;
		*track = t->tid;
		return true;
	}
	return false;
}

/*
 * An off-CPU period of thread t.  While its M ran a G, the G is named:
 * "descheduled G7" (the kernel preempted the M: G 7 could have run) or
 * "blocked G7" (the M slept in the kernel holding G 7), as mnsched-prof
 * splits a G's off-CPU time.
 */
static void off_slice(struct thr *t, __u64 end)
{
	char name[48], args[48];

	t_touch(t);
	if (t->off_goid) {
		snprintf(name, sizeof(name), "%s G%llu", t->off_preempt ? "descheduled" :
			 "blocked", (unsigned long long)t->off_goid);
		snprintf(args, sizeof(args), "\"goid\":%llu", (unsigned long long)t->off_goid);
	}
	jx(PID_M, OFFCPU_TID(t->tid), "offcpu", t->off_goid ? name :
	   t->off_preempt ? "preempted" : "blocked", t->off_ts, end,
	   t->off_goid ? args : NULL);
	st.offcpu_slices++;
}

void perfetto_event(const struct mt_event *e)
{
	struct thr *t = tfind(e->tid);
	struct grun *g;
	char args[128];

	switch (e->type) {
	case MT_EV_G_CREATE:
		g = gfind((__u64)e->a, true);
		if (g && locate((__u64)e->b, e->tid, &g->wake_pid, &g->wake_tid)) {
			g->wake = true;
			g->wake_spawn = true;
			g->wake_ts = e->ts;
		}
		break;
	case MT_EV_G_START:
		tname_m(t, (int)e->c);
		if (t && t->state != MS_P)
			m_state(t, MS_P, (int)e->b, e->ts);
		g = gfind((__u64)e->a, true);
		if (g)
			run_start(g, t, (int)e->b, (int)e->c, e->ts);
		st.g_starts++;
		if (e->d >= 0 && e->b >= 0 && e->b < MT_MAX_P && p_runq[e->b] != e->d) {
			p_runq[e->b] = e->d;
			jsep();
			fprintf(jf, "{\"ph\":\"C\",\"name\":\"runq P%lld\",\"pid\":%d,"
				"\"ts\":%.3f,\"args\":{\"runq\":%lld}}", (long long)e->b,
				PID_P, us(e->ts), (long long)e->d);
			st.counters++;
		}
		break;
	case MT_EV_G_PARK:
		snprintf(args, sizeof(args), "park: %s", mt_reason_name((unsigned int)e->b));
		run_end(gfind((__u64)e->a, false), e->ts, args);
		break;
	case MT_EV_G_UNBLOCK:
		g = gfind((__u64)e->a, true);
		if (g && locate((__u64)e->b, e->tid, &g->wake_pid, &g->wake_tid)) {
			g->wake = true;
			g->wake_spawn = false;
			g->wake_ts = e->ts;
		}
		break;
	case MT_EV_G_EXIT:
		run_end(gfind((__u64)e->a, false), e->ts, "exit");
		gdel((__u64)e->a);
		break;
	case MT_EV_PROC_START:
		tname_m(t, (int)e->b);
		m_state(t, MS_P, (int)e->a, e->ts);
		p_touch((int)e->a);
		break;
	case MT_EV_PROC_STOP:
		tname_m(t, (int)e->b);
		if (t && t->curg)
			run_end(gfind(t->curg, false), e->ts, "P released");
		m_state(t, MS_NOP, -1, e->ts);
		break;
	case MT_EV_STEAL:
		p_touch((int)e->b);
		snprintf(args, sizeof(args), "\"from_p\":%lld,\"n\":%lld",
			 (long long)e->a, (long long)e->c);
		jinstant(PID_P, ptid((int)e->b), "steal", e->ts, args);
		break;
	case MT_EV_SYSCALL_ENTER:
		run_end(gfind((__u64)e->a, false), e->ts, "syscall");
		m_state(t, MS_SYSCALL, (int)e->b, e->ts);
		break;
	case MT_EV_SYSCALL_EXIT:
		g = gfind((__u64)e->a, true);
		if (t && t->m >= 0)
			m_state(t, MS_P, (int)e->b, e->ts);
		/* back on a P without a run queue: a new run starts here */
		if (g && !g->active)
			run_start(g, t, (int)e->b, t ? t->m : -1, e->ts);
		break;
	case MT_EV_HANDOFF:
		p_touch((int)e->a);
		snprintf(args, sizeof(args), "\"from_m\":%lld,\"to_m\":%lld",
			 (long long)e->b, (long long)e->c);
		jinstant(PID_P, ptid((int)e->a), "handoff", e->ts, args);
		break;
	case MT_EV_IO_SUBMIT:
	case MT_EV_IO_COMPLETE:
		if (t) {
			t_touch(t);
			snprintf(args, sizeof(args), "\"goid\":%lld,\"op\":%lld,\"res\":%lld",
				 (long long)e->a, (long long)e->b, (long long)e->c);
			jinstant(PID_M, t->tid, ev_names[e->type], e->ts, args);
		}
		break;
	case MT_EV_M_PARK:
		tname_m(t, (int)e->a);
		if (t && t->curg)
			run_end(gfind(t->curg, false), e->ts, "M parked");
		m_state(t, MS_PARKED, -1, e->ts);
		break;
	case MT_EV_G_PREEMPT:
	case MT_EV_K_PREEMPT:
		/* The G goes on on this thread without a P (preempt.c; the
		 * module's tick: kmod/preempt.c). */
		if (e->type == MT_EV_G_PREEMPT)
			tname_m(t, (int)e->c);
		snprintf(args, sizeof(args), "preempted after %.1f ms",
			 (double)e->d / 1e6);
		run_end(gfind((__u64)e->a, false), e->ts, args);
		m_state(t, MS_DEMOTED, -1, e->ts);
		if (t) {
			snprintf(args, sizeof(args), "\"goid\":%lld,\"p\":%lld,\"ran_ns\":%lld",
				 (long long)e->a, (long long)e->b, (long long)e->d);
			jinstant(PID_M, t->tid, e->type == MT_EV_G_PREEMPT ? "g_preempt" :
				 "k:preempt", e->ts, args);
		}
		break;
	case MT_EV_M_UNPARK:
		if (e->a >= 0 && e->a < MT_MAX_M && m_tid[e->a]) {
			struct thr *w = tfind(m_tid[e->a]);

			if (w) {
				t_touch(w);
				snprintf(args, sizeof(args), "\"by_tid\":%u", e->tid);
				jinstant(PID_M, w->tid, "unparked", e->ts, args);
			}
		}
		break;
	case MT_EV_OFFCPU:
		if (t) {
			t->off = true;
			/* preempted: the flag, or still runnable (a kernel that
			 * reschedules on the way back to user space passes
			 * preempt=false with state TASK_RUNNING) */
			t->off_preempt = e->a != 0 || e->b == 0;
			t->off_ts = e->ts;
			/* the G the BPF side read from the M, else the run
			 * this trace saw start on it */
			t->off_goid = e->c > 0 ? (__u64)e->c : t->curg;
		}
		break;
	case MT_EV_ONCPU:
		if (t && t->off) {
			off_slice(t, e->ts);
			t->off = false;
		}
		break;
	case MT_EV_K_REGISTER:
		if (t) {
			t_touch(t);
			snprintf(args, sizeof(args), "\"kernel_m\":%lld", (long long)e->b);
			jinstant(PID_M, t->tid, "k:register", e->ts, args);
		}
		break;
	case MT_EV_K_PARK:
		if (t) {
			t_touch(t);
			snprintf(args, sizeof(args), "\"kernel_m\":%lld,\"ret\":%lld,\"waited_ns\":%lld",
				 (long long)e->a, (long long)e->b, (long long)e->c);
			jinstant(PID_M, t->tid, "k:park", e->ts, args);
		}
		break;
	case MT_EV_K_UNPARK:
	case MT_EV_K_SWAP:
		if (t) {
			t_touch(t);
			snprintf(args, sizeof(args), "\"from_m\":%lld,\"to_m\":%lld",
				 (long long)e->a, (long long)e->b);
			jinstant(PID_M, t->tid, ev_names[e->type], e->ts, args);
		}
		break;
	case MT_EV_K_BLOCK:
		p_touch((int)e->b);
		snprintf(args, sizeof(args), "\"kernel_m\":%lld,\"tid\":%lld",
			 (long long)e->a, (long long)e->c);
		jinstant(PID_P, ptid((int)e->b), "k:block", e->ts, args);
		break;
	case MT_EV_K_HANDOFF:
		p_touch((int)e->a);
		snprintf(args, sizeof(args), "\"from_m\":%lld,\"to_m\":%lld",
			 (long long)e->b, (long long)e->c);
		jinstant(PID_P, ptid((int)e->a), "k:handoff", e->ts, args);
		break;
	}
}

bool perfetto_open(const char *path)
{
	jf = fopen(path, "we");
	if (!jf)
		return false;
	setvbuf(jf, NULL, _IOFBF, 1 << 20);
	return true;
}

void perfetto_begin(const struct mt_target *t, __u64 base, const char *const names[])
{
	char name[96];

	base_ns = base;
	ev_names = names;
	fputs("{\"traceEvents\":[\n", jf);
	snprintf(name, sizeof(name), "%s (PID %d) Ps", t->comm, t->pid);
	jmeta(PID_P, 0, "process_name", name, 0);
	snprintf(name, sizeof(name), "%s (PID %d) Ms", t->comm, t->pid);
	jmeta(PID_M, 0, "process_name", name, 1);
}

int perfetto_end(const struct mt_target *t, const char *tool, __u64 end_ts, __u64 dur_ns,
		 unsigned long long events, const __u64 *counts, const __u64 *drops)
{
	unsigned long long lost = 0;

	for (int i = 0; i < GHASH; i++)
		for (struct grun *g = gtab[i]; g; g = g->next)
			run_end(g, end_ts, "trace end");
	for (int i = 0; i < nthr; i++) {
		struct thr *th = &thrs[i];

		m_state(th, MS_NONE, -1, end_ts);
		if (th->off)
			off_slice(th, end_ts);
	}
	for (int i = 0; i < MT_EV__COUNT; i++)
		lost += drops[i];
	fprintf(jf, "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{"
		"\"tool\":\"%s\",\"pid\":%d,\"comm\":\"%s\",\"probes\":\"%s\","
		"\"duration_ns\":%llu,\"events\":%llu,\"lost_events\":%llu,"
		"\"g_start_events\":%llu,\"g_start_seen_by_bpf\":%llu,"
		"\"g_run_slices\":%llu,\"m_state_slices\":%llu,"
		"\"offcpu_slices\":%llu,\"flows\":%llu,\"counter_samples\":%llu}}\n",
		tool, t->pid, t->comm, t->probe_file,
		(unsigned long long)dur_ns, events, lost,
		st.g_starts, (unsigned long long)counts[MT_EV_G_START],
		st.g_slices, st.m_slices, st.offcpu_slices, st.flows, st.counters);
	return fflush(jf) || ferror(jf) ? -1 : 0;
}

void perfetto_close(void)
{
	if (jf)
		fclose(jf);
	jf = NULL;
}
