// SPDX-License-Identifier: MIT
/*
 * mnsched-trace - the scheduler events of an mnsched program, as text or as
 * a Chrome trace-event JSON timeline for ui.perfetto.dev.
 *
 * BPF: bpf/mnsched-trace.bpf.c on every USDT probe of libmnsched,
 * sched:sched_switch of the target's threads, and mnsched.ko's tracepoints
 * when the module is loaded; events come through one ring buffer.
 *
 * The timeline (--perfetto FILE) has two process groups:
 *   "Ps"  one track per P: an X slice per G run (name "G<goid>", from the
 *         g_start that put it on the P to the park, exit, syscall or next
 *         switch that took it off), instant events for steals and handoffs,
 *         and a counter track per P with its run-queue length;
 *   "Ms"  per thread (M) one track of its state (holding P<n>, in a syscall,
 *         looking for work, parked) and one of its off-CPU periods from
 *         sched_switch (preempted or blocked).
 * Flow arrows go from the G (or M) that woke or created a G to the start of
 * that G's next run.
 */
#include <argp.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mnsched-util.h"
#include "mnsched-trace.h"
#include "mnsched-trace.skel.h"
#include "debug_info.h"

_Static_assert(offsetof(struct mnsched_pstate, runq_len) == MN_PSTATE_RUNQ_LEN_OFF,
	       "MN_PSTATE_RUNQ_LEN_OFF out of date");

static struct env {
	pid_t pid;
	double duration;
	const char *perfetto;
	const char *events;
	long ringbuf_mb;
	bool no_offcpu;
	bool pin;
	bool quiet;
	char **cmd;		/* -- COMMAND ARGS */
} env = { .ringbuf_mb = 16 };

const char *argp_program_version = "mnsched-trace 0.1";
static const char doc[] =
"Trace the scheduler events of an mnsched program: G creation, runs, parks,\n"
"wake-ups and exits, P acquisition, steals, syscalls, handoffs, I/O, M parks,\n"
"the Ms' off-CPU periods (sched_switch) and, with mnsched.ko loaded, the\n"
"module's park/unpark/swap/block/handoff tracepoints.  Prints one line per\n"
"event, or writes a Chrome trace-event JSON timeline to open in\n"
"https://ui.perfetto.dev (a track per P and per M, a slice per G run, flow\n"
"arrows for wake-ups, run-queue length counters).\n"
"\n"
"USAGE: mnsched-trace -p PID [-d SECONDS] [--perfetto FILE] [-e EVENTS]\n"
"       mnsched-trace [OPTIONS] -- COMMAND [ARGS...]\n"
"\n"
"EXAMPLES:\n"
"    mnsched-trace -p 1234                    # events as text until Ctrl-C\n"
"    mnsched-trace -p 1234 -d 1 --perfetto t.json   # a 1-second timeline\n"
"    mnsched-trace -p 1234 -e g_park,g_unblock       # only these probes\n"
"    mnsched-trace -p 1234 --no-offcpu        # without sched_switch\n"
"    mnsched-trace --perfetto t.json -- ./prog arg   # run ./prog, trace it\n"
"                                             # from its first event to its exit\n"
"\n"
"EVENTS (USDT probes):"
#define MN_EV_USDT_WORD(NAME, name, nargs, args) " " #name
MN_PROBE_DEFS(MN_EV_USDT_WORD)
#undef MN_EV_USDT_WORD
" (g_preempt: an M that gave its P up, demoted, to run an\n"
"overrunning G: a \"demoted\" slice on its M track).  Tracing stops when\n"
"the target exits.  A COMMAND is\n"
"started with every probe already attached and the tool exits with its\n"
"status; -d or Ctrl-C ends it (SIGTERM).\n";

#define OPT_PIN		1000
#define OPT_PERFETTO	1001
#define OPT_NO_OFFCPU	1002

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Trace this mnsched process (required)", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS", 0 },
	{ "perfetto", OPT_PERFETTO, "FILE", 0, "Write a Chrome trace-event JSON timeline to FILE", 0 },
	{ "events", 'e', "LIST", 0, "Only these USDT probes (comma-separated)", 0 },
	{ "no-offcpu", OPT_NO_OFFCPU, NULL, 0, "Do not trace sched_switch (M off-CPU time)", 0 },
	{ "buffer", 'b', "MB", 0, "Ring buffer size in MiB, a power of 2 (default 16)", 0 },
	{ "quiet", 'q', NULL, 0, "No per-event text, only the summary", 0 },
	{ "pin", OPT_PIN, NULL, 0, "Leave the maps pinned under /sys/fs/bpf/mnsched/PID/ at exit", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static const char *const ev_names[MN_EV__COUNT] = {
#define MN_EV_USDT_NAME(NAME, name, nargs, args) [MN_EV_##NAME] = #name,
	MN_PROBE_DEFS(MN_EV_USDT_NAME)
#undef MN_EV_USDT_NAME
	[MN_EV_OFFCPU] = "off_cpu", [MN_EV_ONCPU] = "on_cpu",
	[MN_EV_K_REGISTER] = "k:register", [MN_EV_K_PARK] = "k:park",
	[MN_EV_K_UNPARK] = "k:unpark", [MN_EV_K_SWAP] = "k:swap",
	[MN_EV_K_BLOCK] = "k:block", [MN_EV_K_HANDOFF] = "k:handoff",
};

static bool probe_wanted(const char *probe)
{
	const char *s = env.events;
	size_t n = strlen(probe);

	if (!s)
		return true;
	while (*s) {
		size_t l = strcspn(s, ",");

		if (l == n && !strncmp(s, probe, n))
			return true;
		s += l;
		if (*s == ',')
			s++;
	}
	return false;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;

	switch (key) {
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		exit(MN_EXIT_OK);
	case 'p':
		env.pid = mn_parse_pid(arg);
		if (env.pid < 0)
			MN_ARGP_ERR(state, "invalid PID '%s'", arg);
		break;
	case 'd':
		env.duration = strtod(arg, &end);
		if (*end || env.duration <= 0)
			MN_ARGP_ERR(state, "invalid duration '%s'", arg);
		break;
	case 'e': {
		const char *s = arg;

		env.events = arg;
		while (*s) {
			size_t l = strcspn(s, ",");
			bool ok = false;

			for (int i = MN_EV_G_CREATE; i <= MN_EV_G_PREEMPT; i++)
				if (strlen(ev_names[i]) == l && !strncmp(s, ev_names[i], l))
					ok = true;
			if (!ok)
				MN_ARGP_ERR(state, "unknown event '%.*s' in -e", (int)l, s);
			s += l;
			if (*s == ',')
				s++;
		}
		break;
	}
	case 'b':
		env.ringbuf_mb = strtol(arg, &end, 10);
		if (*end || env.ringbuf_mb <= 0 || env.ringbuf_mb > 1024 ||
		    (env.ringbuf_mb & (env.ringbuf_mb - 1)))
			MN_ARGP_ERR(state, "invalid buffer size '%s' (MiB, a power of 2 up to 1024)", arg);
		break;
	case 'q': env.quiet = true; break;
	case 'v': mn_verbose = true; break;
	case OPT_PIN: env.pin = true; break;
	case OPT_PERFETTO: env.perfetto = arg; break;
	case OPT_NO_OFFCPU: env.no_offcpu = true; break;
	case ARGP_KEY_ARG:
	case ARGP_KEY_ARGS:
	case ARGP_KEY_END:
		return mn_argp_target(key, state, env.pid, &env.cmd);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- state for the timeline ---------------------------------------- */

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
static __u32 m_tid[MN_MAX_M];	/* runtime M id -> thread */
static bool p_seen[MN_MAX_P];
static long p_runq[MN_MAX_P];

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
	if (m < MN_MAX_M)
		m_tid[m] = t->tid;
}

/* ---- JSON ----------------------------------------------------------- */

static FILE *jf;
static __u64 base_ns;
static bool jfirst = true;
static unsigned long long flow_ids;
static struct {
	unsigned long long events, g_starts, g_slices, m_slices, offcpu_slices;
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

	if (p < 0 || p >= MN_MAX_P || p_seen[p])
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

static void json_event(const struct mn_event *e)
{
	struct thr *t = tfind(e->tid);
	struct grun *g;
	char args[128];

	switch (e->type) {
	case MN_EV_G_CREATE:
		g = gfind((__u64)e->a, true);
		if (g && locate((__u64)e->b, e->tid, &g->wake_pid, &g->wake_tid)) {
			g->wake = true;
			g->wake_spawn = true;
			g->wake_ts = e->ts;
		}
		break;
	case MN_EV_G_START:
		tname_m(t, (int)e->c);
		if (t && t->state != MS_P)
			m_state(t, MS_P, (int)e->b, e->ts);
		g = gfind((__u64)e->a, true);
		if (g)
			run_start(g, t, (int)e->b, (int)e->c, e->ts);
		st.g_starts++;
		if (e->d >= 0 && e->b >= 0 && e->b < MN_MAX_P && p_runq[e->b] != e->d) {
			p_runq[e->b] = e->d;
			jsep();
			fprintf(jf, "{\"ph\":\"C\",\"name\":\"runq P%lld\",\"pid\":%d,"
				"\"ts\":%.3f,\"args\":{\"runq\":%lld}}", (long long)e->b,
				PID_P, us(e->ts), (long long)e->d);
			st.counters++;
		}
		break;
	case MN_EV_G_PARK:
		snprintf(args, sizeof(args), "park: %s", mn_reason_name((unsigned int)e->b));
		run_end(gfind((__u64)e->a, false), e->ts, args);
		break;
	case MN_EV_G_UNBLOCK:
		g = gfind((__u64)e->a, true);
		if (g && locate((__u64)e->b, e->tid, &g->wake_pid, &g->wake_tid)) {
			g->wake = true;
			g->wake_spawn = false;
			g->wake_ts = e->ts;
		}
		break;
	case MN_EV_G_EXIT:
		run_end(gfind((__u64)e->a, false), e->ts, "exit");
		gdel((__u64)e->a);
		break;
	case MN_EV_PROC_START:
		tname_m(t, (int)e->b);
		m_state(t, MS_P, (int)e->a, e->ts);
		p_touch((int)e->a);
		break;
	case MN_EV_PROC_STOP:
		tname_m(t, (int)e->b);
		if (t && t->curg)
			run_end(gfind(t->curg, false), e->ts, "P released");
		m_state(t, MS_NOP, -1, e->ts);
		break;
	case MN_EV_STEAL:
		p_touch((int)e->b);
		snprintf(args, sizeof(args), "\"from_p\":%lld,\"n\":%lld",
			 (long long)e->a, (long long)e->c);
		jinstant(PID_P, ptid((int)e->b), "steal", e->ts, args);
		break;
	case MN_EV_SYSCALL_ENTER:
		run_end(gfind((__u64)e->a, false), e->ts, "syscall");
		m_state(t, MS_SYSCALL, (int)e->b, e->ts);
		break;
	case MN_EV_SYSCALL_EXIT:
		g = gfind((__u64)e->a, true);
		if (t && t->m >= 0)
			m_state(t, MS_P, (int)e->b, e->ts);
		/* back on a P without a run queue: a new run starts here */
		if (g && !g->active)
			run_start(g, t, (int)e->b, t ? t->m : -1, e->ts);
		break;
	case MN_EV_HANDOFF:
		p_touch((int)e->a);
		snprintf(args, sizeof(args), "\"from_m\":%lld,\"to_m\":%lld",
			 (long long)e->b, (long long)e->c);
		jinstant(PID_P, ptid((int)e->a), "handoff", e->ts, args);
		break;
	case MN_EV_IO_SUBMIT:
	case MN_EV_IO_COMPLETE:
		if (t) {
			t_touch(t);
			snprintf(args, sizeof(args), "\"goid\":%lld,\"op\":%lld,\"res\":%lld",
				 (long long)e->a, (long long)e->b, (long long)e->c);
			jinstant(PID_M, t->tid, ev_names[e->type], e->ts, args);
		}
		break;
	case MN_EV_M_PARK:
		tname_m(t, (int)e->a);
		if (t && t->curg)
			run_end(gfind(t->curg, false), e->ts, "M parked");
		m_state(t, MS_PARKED, -1, e->ts);
		break;
	case MN_EV_G_PREEMPT:
		/* The G goes on on this thread without a P (preempt.c). */
		tname_m(t, (int)e->c);
		snprintf(args, sizeof(args), "preempted after %.1f ms",
			 (double)e->d / 1e6);
		run_end(gfind((__u64)e->a, false), e->ts, args);
		m_state(t, MS_DEMOTED, -1, e->ts);
		if (t) {
			snprintf(args, sizeof(args), "\"goid\":%lld,\"p\":%lld,\"ran_ns\":%lld",
				 (long long)e->a, (long long)e->b, (long long)e->d);
			jinstant(PID_M, t->tid, "g_preempt", e->ts, args);
		}
		break;
	case MN_EV_M_UNPARK:
		if (e->a >= 0 && e->a < MN_MAX_M && m_tid[e->a]) {
			struct thr *w = tfind(m_tid[e->a]);

			if (w) {
				t_touch(w);
				snprintf(args, sizeof(args), "\"by_tid\":%u", e->tid);
				jinstant(PID_M, w->tid, "unparked", e->ts, args);
			}
		}
		break;
	case MN_EV_OFFCPU:
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
	case MN_EV_ONCPU:
		if (t && t->off) {
			off_slice(t, e->ts);
			t->off = false;
		}
		break;
	case MN_EV_K_REGISTER:
		if (t) {
			t_touch(t);
			snprintf(args, sizeof(args), "\"kernel_m\":%lld", (long long)e->b);
			jinstant(PID_M, t->tid, "k:register", e->ts, args);
		}
		break;
	case MN_EV_K_PARK:
		if (t) {
			t_touch(t);
			snprintf(args, sizeof(args), "\"kernel_m\":%lld,\"ret\":%lld,\"waited_ns\":%lld",
				 (long long)e->a, (long long)e->b, (long long)e->c);
			jinstant(PID_M, t->tid, "k:park", e->ts, args);
		}
		break;
	case MN_EV_K_UNPARK:
	case MN_EV_K_SWAP:
		if (t) {
			t_touch(t);
			snprintf(args, sizeof(args), "\"from_m\":%lld,\"to_m\":%lld",
				 (long long)e->a, (long long)e->b);
			jinstant(PID_M, t->tid, ev_names[e->type], e->ts, args);
		}
		break;
	case MN_EV_K_BLOCK:
		p_touch((int)e->b);
		snprintf(args, sizeof(args), "\"kernel_m\":%lld,\"tid\":%lld",
			 (long long)e->a, (long long)e->c);
		jinstant(PID_P, ptid((int)e->b), "k:block", e->ts, args);
		break;
	case MN_EV_K_HANDOFF:
		p_touch((int)e->a);
		snprintf(args, sizeof(args), "\"from_m\":%lld,\"to_m\":%lld",
			 (long long)e->b, (long long)e->c);
		jinstant(PID_P, ptid((int)e->a), "k:handoff", e->ts, args);
		break;
	}
}

static void json_begin(const struct mn_target *t)
{
	char name[96];

	fputs("{\"traceEvents\":[\n", jf);
	snprintf(name, sizeof(name), "%s (PID %d) Ps", t->comm, t->pid);
	jmeta(PID_P, 0, "process_name", name, 0);
	snprintf(name, sizeof(name), "%s (PID %d) Ms", t->comm, t->pid);
	jmeta(PID_M, 0, "process_name", name, 1);
}

static void json_end(const struct mn_target *t, __u64 end_ts, __u64 dur_ns,
		     const __u64 *counts, const __u64 *drops)
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
	for (int i = 0; i < MN_EV__COUNT; i++)
		lost += drops[i];
	fprintf(jf, "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{"
		"\"tool\":\"%s\",\"pid\":%d,\"comm\":\"%s\",\"probes\":\"%s\","
		"\"duration_ns\":%llu,\"events\":%llu,\"lost_events\":%llu,"
		"\"g_start_events\":%llu,\"g_start_seen_by_bpf\":%llu,"
		"\"g_run_slices\":%llu,\"m_state_slices\":%llu,"
		"\"offcpu_slices\":%llu,\"flows\":%llu,\"counter_samples\":%llu}}\n",
		argp_program_version, t->pid, t->comm, t->probe_file,
		(unsigned long long)dur_ns, st.events, lost,
		st.g_starts, (unsigned long long)counts[MN_EV_G_START],
		st.g_slices, st.m_slices, st.offcpu_slices, st.flows, st.counters);
}

/* ---- text ----------------------------------------------------------- */

/* The argument names of each USDT event (probe_defs.h). */
static const char *const ev_args[MN_EV__COUNT] = {
#define MN_EV_USDT_ARGS(NAME, name, nargs, args) [MN_EV_##NAME] = args,
	MN_PROBE_DEFS(MN_EV_USDT_ARGS)
#undef MN_EV_USDT_ARGS
};

/* "name=value ..." for a USDT event, its arguments named as in
 * probe_defs.h; g_park's reason by name, g_start with its run queue. */
static void usdt_text(char *d, size_t size, const struct mn_event *e)
{
	const __s64 v[4] = { e->a, e->b, e->c, e->d };
	const char *s = ev_args[e->type];
	size_t len = 0;

	d[0] = 0;
	for (int i = 0; i < 4 && *s && len < size; i++) {
		const char *sep = i ? " " : "";
		size_t w = strcspn(s, ",");

		if (e->type == MN_EV_G_PARK && i == 1)
			len += snprintf(d + len, size - len, "%s%.*s=%s", sep, (int)w,
					s, mn_reason_name((unsigned int)v[i]));
		else
			len += snprintf(d + len, size - len, "%s%.*s=%lld", sep,
					(int)w, s, (long long)v[i]);
		s += w;
		s += strspn(s, ", ");
	}
	if (e->type == MN_EV_G_START && len < size)
		snprintf(d + len, size - len, " runq=%lld", (long long)e->d);
}

static void text_event(const struct mn_event *e)
{
	char d[128];

	switch (e->type) {
#define MN_EV_USDT_CASE(NAME, name, nargs, args) case MN_EV_##NAME:
	MN_PROBE_DEFS(MN_EV_USDT_CASE)
#undef MN_EV_USDT_CASE
		usdt_text(d, sizeof(d), e);
		break;
	case MN_EV_K_HANDOFF:
		snprintf(d, sizeof(d), "p=%lld from_m=%lld to_m=%lld", (long long)e->a,
			 (long long)e->b, (long long)e->c);
		break;
	case MN_EV_OFFCPU:
		snprintf(d, sizeof(d), "%s state=0x%llx", e->a ? "preempted" : "blocked",
			 (unsigned long long)e->b);
		break;
	case MN_EV_ONCPU:
		d[0] = 0;
		break;
	case MN_EV_K_REGISTER:
		snprintf(d, sizeof(d), "tid=%lld kernel_m=%lld", (long long)e->a, (long long)e->b);
		break;
	case MN_EV_K_PARK:
		snprintf(d, sizeof(d), "kernel_m=%lld ret=%lld waited_ns=%lld", (long long)e->a,
			 (long long)e->b, (long long)e->c);
		break;
	case MN_EV_K_UNPARK:
	case MN_EV_K_SWAP:
		snprintf(d, sizeof(d), "from_m=%lld to_m=%lld", (long long)e->a, (long long)e->b);
		break;
	case MN_EV_K_BLOCK:
		snprintf(d, sizeof(d), "kernel_m=%lld p=%lld tid=%lld", (long long)e->a,
			 (long long)e->b, (long long)e->c);
		break;
	default:
		snprintf(d, sizeof(d), "type %u", e->type);
	}
	printf("%14.6f %3u %7u  %-14s %s\n", e->ts >= base_ns ? (double)(e->ts - base_ns) / 1e6 : 0.0,
	       e->cpu, e->tid, e->type < MN_EV__COUNT && ev_names[e->type] ?
	       ev_names[e->type] : "?", d);
}

static __u64 last_ts;

static int on_event(void *ctx, void *data, size_t size)
{
	const struct mn_event *e = data;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	st.events++;
	if (e->ts > last_ts)
		last_ts = e->ts;
	if (jf)
		json_event(e);
	else if (!env.quiet)
		text_event(e);
	return 0;
}

static void sum_percpu(int fd, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v;

	memset(out, 0, sizeof(__u64) * MN_EV__COUNT);
	if (ncpu <= 0)
		return;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return;
	for (__u32 k = 0; k < MN_EV__COUNT; k++) {
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
	free(v);
}

/* Tell the BPF side where an M's G is (for off-CPU events), once known. */
static bool set_runtime(struct mnsched_trace_bpf *skel, const struct mn_target *t)
{
	struct mn_debug_info d;

	if (mn_runtime_info(t, &d))
		return false;
	skel->bss->m_curg = d.m_curg;
	skel->bss->m_g0 = d.m_g0;
	skel->bss->g_goid = d.g_goid;
	__atomic_store_n(&skel->bss->tls_m_off, d.tls_m_off ? d.tls_m_off : 1,
			 __ATOMIC_RELEASE);
	return true;
}

/* Tell the BPF side where the P structs are (for run-queue lengths). */
static void set_pstates(struct mnsched_trace_bpf *skel, const struct mn_target *t)
{
	if (!t->pstates_addr)
		return;
	skel->bss->nr_p = (__u32)t->nr_p;
	skel->bss->pstates_stride = t->pstates_stride;
	__atomic_store_n(&skel->bss->pstates_addr, t->pstates_addr, __ATOMIC_RELEASE);
}

static bool module_loaded(void)
{
	return access("/sys/module/mnsched", F_OK) == 0;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = doc };
	struct mnsched_trace_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct bpf_map *pins[4] = {};
	struct mn_target t = { .pidfd = -1 };
	__u64 counts[MN_EV__COUNT], drops[MN_EV__COUNT], start, end_ts;
	bool pinned = false, gone = false, have_rt = false;
	int err, rc = MN_EXIT_ERR, nk = 0;

	mn_setup("mnsched-trace");
	mn_argp_parse(&argp, argc, argv);
	if (mn_check_root() || mn_check_bpf())
		return MN_EXIT_ERR;
	if (env.cmd) {
		if (mn_target_spawn(&t, env.cmd))
			return MN_EXIT_ERR;
		env.pid = t.pid;
	} else {
		if (mn_target_open(&t, env.pid, false))
			return MN_EXIT_ERR;
		mn_target_find_pstates(&t);
	}

	skel = mnsched_trace_bpf__open();
	if (!skel) {
		mn_err("cannot open the BPF object: %s", strerror(errno));
		goto out;
	}
	skel->rodata->targ_tgid = (__u32)env.pid;
	bpf_map__set_max_entries(skel->maps.trace_events, (__u32)env.ringbuf_mb << 20);
	skel->rodata->wakeup_bytes = ((__u64)env.ringbuf_mb << 20) / 4;
	if (env.no_offcpu)
		bpf_program__set_autoload(skel->progs.tr_sched_switch, false);
	err = mnsched_trace_bpf__load(skel);
	if (err) {
		mn_err("cannot load the BPF programs: %s (-v shows the verifier's log)",
		       strerror(-err));
		goto out;
	}
	set_pstates(skel, &t);
	have_rt = !env.no_offcpu && !env.cmd && set_runtime(skel, &t);
	if (env.perfetto) {
		jf = fopen(env.perfetto, "we");
		if (!jf) {
			mn_err("cannot create %s: %s", env.perfetto, strerror(errno));
			goto out;
		}
		setvbuf(jf, NULL, _IOFBF, 1 << 20);
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.trace_events), on_event, NULL, NULL);
	if (!rb) {
		mn_err("cannot open the ring buffer: %s", strerror(errno));
		goto out;
	}
	if (jf)
		json_begin(&t);
	{
		struct { struct bpf_program *prog; const char *probe; bool required; } u[] = {
			{ skel->progs.tr_g_create, "g_create", true },
			{ skel->progs.tr_g_start, "g_start", true },
			{ skel->progs.tr_g_park, "g_park", true },
			{ skel->progs.tr_g_unblock, "g_unblock", true },
			{ skel->progs.tr_g_exit, "g_exit", true },
			{ skel->progs.tr_proc_start, "proc_start", true },
			{ skel->progs.tr_proc_stop, "proc_stop", true },
			{ skel->progs.tr_steal, "steal", false },
			{ skel->progs.tr_syscall_enter, "syscall_enter", false },
			{ skel->progs.tr_syscall_exit, "syscall_exit", false },
			{ skel->progs.tr_handoff, "handoff", false },
			{ skel->progs.tr_io_submit, "io_submit", false },
			{ skel->progs.tr_io_complete, "io_complete", false },
			{ skel->progs.tr_m_park, "m_park", false },
			{ skel->progs.tr_m_unpark, "m_unpark", false },
			{ skel->progs.tr_g_preempt, "g_preempt", false },
		};

		for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
			if (!probe_wanted(u[i].probe))
				continue;
			if (mn_attach_usdt(skel->obj, u[i].prog, &t, u[i].probe,
					   u[i].required && !env.events))
				goto out;
		}
	}
	if (!env.no_offcpu) {
		struct bpf_link *l = bpf_program__attach(skel->progs.tr_sched_switch);

		if (!l) {
			mn_err("cannot attach to sched_switch: %s", strerror(errno));
			goto out;
		}
		mn_keep_link(l);
	}
	if (module_loaded()) {
		struct { struct bpf_program *prog; const char *tp; } k[] = {
			{ skel->progs.tr_k_register, "mnsched_register" },
			{ skel->progs.tr_k_park, "mnsched_park" },
			{ skel->progs.tr_k_unpark, "mnsched_unpark" },
			{ skel->progs.tr_k_swap, "mnsched_swap" },
			{ skel->progs.tr_k_block, "mnsched_block" },
			{ skel->progs.tr_k_handoff, "mnsched_handoff" },
		};

		for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
			struct bpf_link *l = bpf_program__attach_raw_tracepoint(k[i].prog, k[i].tp);

			if (!l) {
				mn_warn("mnsched.ko is loaded but tracepoint %s cannot be attached: %s",
					k[i].tp, strerror(errno));
				continue;
			}
			mn_keep_link(l);
			nk++;
		}
	}
	pins[0] = skel->maps.trace_counts;
	pins[1] = skel->maps.trace_drops;
	if (mn_pin_maps(&t, pins) == 0)
		pinned = true;
	else if (env.pin)
		goto out;

	start = base_ns = mn_now_ns();
	skel->bss->armed = 1;
	mn_target_release(&t);	/* a COMMAND runs from here on */
	fprintf(stderr, "%s: tracing PID %d (%s, probes in %s%s%s)%s%s... Hit Ctrl-C to end.\n",
		mn_prog, t.pid, t.comm, t.probe_file, env.no_offcpu ? "" : ", sched_switch",
		nk ? ", mnsched.ko tracepoints" : "",
		jf ? ", timeline to " : "", jf ? env.perfetto : "");
	if (!jf && !env.quiet) {
		printf("%14s %3s %7s  %-14s %s\n", "TIME(ms)", "CPU", "TID", "EVENT", "DETAILS");
		fflush(stdout);
	}
	while (!mn_exiting) {
		/* the BPF side wakes us only when the buffer fills up: poll
		 * on a timer and consume whatever is there */
		/* ... and look for the P structs every millisecond until mn_main
		 * has mapped them (a program started with -- or waiting) */
		err = ring_buffer__poll(rb, t.pstates_addr ? 50 : 1);
		if (err >= 0)
			err = ring_buffer__consume(rb);
		if (err < 0 && err != -EINTR) {
			mn_err("reading the ring buffer: %s", strerror(-err));
			goto out;
		}
		if (env.duration > 0 && mn_now_ns() - start >= (__u64)(env.duration * 1e9))
			break;
		if (!mn_target_alive(&t)) {
			gone = true;
			break;
		}
		if (!t.pstates_addr && mn_target_find_pstates(&t) == 0)
			set_pstates(skel, &t);
		if (!have_rt && !env.no_offcpu && t.pstates_addr)
			have_rt = set_runtime(skel, &t);
	}
	/* stop recording before detaching, so the last events are all in
	 * the buffer and no probe is missing at the end */
	skel->bss->armed = 0;
	end_ts = mn_now_ns();
	mn_detach_all();
	ring_buffer__consume(rb);
	if (last_ts > end_ts)
		end_ts = last_ts;
	sum_percpu(bpf_map__fd(skel->maps.trace_counts), counts);
	sum_percpu(bpf_map__fd(skel->maps.trace_drops), drops);
	{
		unsigned long long lost = 0;

		for (int i = 0; i < MN_EV__COUNT; i++)
			lost += drops[i];
		if (jf) {
			json_end(&t, end_ts, end_ts - start, counts, drops);
			if (fflush(jf) || ferror(jf)) {
				mn_err("writing %s: %s", env.perfetto, strerror(errno));
				goto out;
			}
		}
		fflush(stdout);
		fprintf(stderr, "%s: %s%llu events in %.3f s (%llu G runs), %llu lost%s%s%s\n",
			mn_prog, gone ? "target exited; " : "", st.events,
			(double)(end_ts - start) / 1e9, (unsigned long long)counts[MN_EV_G_START],
			lost, lost ? " (ring buffer full: try -b with more MiB, or -e)" : "",
			jf ? "; wrote " : "", jf ? env.perfetto : "");
	}
	rc = MN_EXIT_OK;
	if (t.spawned && gone) {
		rc = mn_target_reap(&t);
		if (rc)
			fprintf(stderr, "%s: %s exited with status %d\n", mn_prog, t.comm, rc);
	}
out:
	mn_detach_all();
	ring_buffer__free(rb);
	if (jf)
		fclose(jf);
	if (pinned && !env.pin)
		mn_unpin_maps(&t, pins);
	else if (pinned)
		fprintf(stderr, "%s: maps left pinned in %s/ (rm -r it when done)\n",
			mn_prog, mn_pin_dir(&t));
	mnsched_trace_bpf__destroy(skel);
	mn_target_close(&t);
	return rc;
}
