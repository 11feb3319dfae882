// SPDX-License-Identifier: MIT
/*
 * mnsched-trace - the scheduler events of an mnsched program, as text or as
 * a Chrome trace-event JSON timeline for ui.perfetto.dev.
 *
 * BPF: bpf/mnsched-trace.bpf.c on every USDT probe of libmnsched,
 * sched:sched_switch of the target's threads, and mnsched.ko's tracepoints
 * when the module is loaded; events come through one ring buffer.
 *
 * The timeline (--perfetto FILE, a track per P and per M) is written by
 * tools/perfetto.c.
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
#include "perfetto.h"
#include "debug_info.h"

_Static_assert(offsetof(struct mnsched_pstate, runq_len) == MT_PSTATE_RUNQ_LEN_OFF,
	       "MT_PSTATE_RUNQ_LEN_OFF out of date");

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
"module's park/unpark/swap/block/handoff/kpreempt tracepoints.  Prints one\n"
"line per event, or writes a Chrome trace-event JSON timeline to open in\n"
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
#define MT_EV_USDT_WORD(NAME, name, nargs, args) " " #name
MN_PROBE_DEFS(MT_EV_USDT_WORD)
#undef MT_EV_USDT_WORD
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

static const char *const ev_names[MT_EV__COUNT] = {
#define MT_EV_USDT_NAME(NAME, name, nargs, args) [MT_EV_##NAME] = #name,
	MN_PROBE_DEFS(MT_EV_USDT_NAME)
#undef MT_EV_USDT_NAME
	[MT_EV_OFFCPU] = "off_cpu", [MT_EV_ONCPU] = "on_cpu",
	[MT_EV_K_REGISTER] = "k:register", [MT_EV_K_PARK] = "k:park",
	[MT_EV_K_UNPARK] = "k:unpark", [MT_EV_K_SWAP] = "k:swap",
	[MT_EV_K_BLOCK] = "k:block", [MT_EV_K_HANDOFF] = "k:handoff",
	[MT_EV_K_PREEMPT] = "k:preempt",
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
		exit(MT_EXIT_OK);
	case 'p':
		env.pid = mt_parse_pid(arg);
		if (env.pid < 0)
			MT_ARGP_ERR(state, "invalid PID '%s'", arg);
		break;
	case 'd':
		env.duration = strtod(arg, &end);
		if (*end || env.duration <= 0)
			MT_ARGP_ERR(state, "invalid duration '%s'", arg);
		break;
	case 'e': {
		const char *s = arg;

		env.events = arg;
		while (*s) {
			size_t l = strcspn(s, ",");
			bool ok = false;

			for (int i = MT_EV_G_CREATE; i <= MT_EV_G_PREEMPT; i++)
				if (strlen(ev_names[i]) == l && !strncmp(s, ev_names[i], l))
					ok = true;
			if (!ok)
				MT_ARGP_ERR(state, "unknown event '%.*s' in -e", (int)l, s);
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
			MT_ARGP_ERR(state, "invalid buffer size '%s' (MiB, a power of 2 up to 1024)", arg);
		break;
	case 'q': env.quiet = true; break;
	case 'v': mt_verbose = true; break;
	case OPT_PIN: env.pin = true; break;
	case OPT_PERFETTO: env.perfetto = arg; break;
	case OPT_NO_OFFCPU: env.no_offcpu = true; break;
	case ARGP_KEY_ARG:
	case ARGP_KEY_ARGS:
	case ARGP_KEY_END:
		return mt_argp_target(key, state, env.pid, &env.cmd);
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- text ----------------------------------------------------------- */

static __u64 base_ns;		/* time 0 of the trace */

/* The argument names of each USDT event (probe_defs.h). */
static const char *const ev_args[MT_EV__COUNT] = {
#define MT_EV_USDT_ARGS(NAME, name, nargs, args) [MT_EV_##NAME] = args,
	MN_PROBE_DEFS(MT_EV_USDT_ARGS)
#undef MT_EV_USDT_ARGS
};

/* "name=value ..." for a USDT event, its arguments named as in
 * probe_defs.h; g_park's reason by name, g_start with its run queue. */
static void usdt_text(char *d, size_t size, const struct mt_event *e)
{
	const __s64 v[4] = { e->a, e->b, e->c, e->d };
	const char *s = ev_args[e->type];
	size_t len = 0;

	d[0] = 0;
	for (int i = 0; i < 4 && *s && len < size; i++) {
		const char *sep = i ? " " : "";
		size_t w = strcspn(s, ",");

		if (e->type == MT_EV_G_PARK && i == 1)
			len += snprintf(d + len, size - len, "%s%.*s=%s", sep, (int)w,
					s, mt_reason_name((unsigned int)v[i]));
		else
			len += snprintf(d + len, size - len, "%s%.*s=%lld", sep,
					(int)w, s, (long long)v[i]);
		s += w;
		s += strspn(s, ", ");
	}
	if (e->type == MT_EV_G_START && len < size)
		snprintf(d + len, size - len, " runq=%lld", (long long)e->d);
}

static void text_event(const struct mt_event *e)
{
	char d[128];

	switch (e->type) {
#define MT_EV_USDT_CASE(NAME, name, nargs, args) case MT_EV_##NAME:
	MN_PROBE_DEFS(MT_EV_USDT_CASE)
#undef MT_EV_USDT_CASE
		usdt_text(d, sizeof(d), e);
		break;
	case MT_EV_K_HANDOFF:
		snprintf(d, sizeof(d), "p=%lld from_m=%lld to_m=%lld", (long long)e->a,
			 (long long)e->b, (long long)e->c);
		break;
	case MT_EV_OFFCPU:
		snprintf(d, sizeof(d), "%s state=0x%llx", e->a ? "preempted" : "blocked",
			 (unsigned long long)e->b);
		break;
	case MT_EV_ONCPU:
		d[0] = 0;
		break;
	case MT_EV_K_REGISTER:
		snprintf(d, sizeof(d), "tid=%lld kernel_m=%lld", (long long)e->a, (long long)e->b);
		break;
	case MT_EV_K_PARK:
		snprintf(d, sizeof(d), "kernel_m=%lld ret=%lld waited_ns=%lld", (long long)e->a,
			 (long long)e->b, (long long)e->c);
		break;
	case MT_EV_K_UNPARK:
	case MT_EV_K_SWAP:
		snprintf(d, sizeof(d), "from_m=%lld to_m=%lld", (long long)e->a, (long long)e->b);
		break;
	case MT_EV_K_BLOCK:
		snprintf(d, sizeof(d), "kernel_m=%lld p=%lld tid=%lld", (long long)e->a,
			 (long long)e->b, (long long)e->c);
		break;
	case MT_EV_K_PREEMPT:
		snprintf(d, sizeof(d), "goid=%lld p=%lld kernel_m=%lld ran_ns=%lld",
			 (long long)e->a, (long long)e->b, (long long)e->c, (long long)e->d);
		break;
	default:
		snprintf(d, sizeof(d), "type %u", e->type);
	}
	printf("%14.6f %3u %7u  %-14s %s\n", e->ts >= base_ns ? (double)(e->ts - base_ns) / 1e6 : 0.0,
	       e->cpu, e->tid, e->type < MT_EV__COUNT && ev_names[e->type] ?
	       ev_names[e->type] : "?", d);
}

static __u64 last_ts;
static unsigned long long nevents;

static int on_event(void *ctx, void *data, size_t size)
{
	const struct mt_event *e = data;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	nevents++;
	if (e->ts > last_ts)
		last_ts = e->ts;
	if (env.perfetto)
		perfetto_event(e);
	else if (!env.quiet)
		text_event(e);
	return 0;
}

static void sum_percpu(int fd, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v;

	memset(out, 0, sizeof(__u64) * MT_EV__COUNT);
	if (ncpu <= 0)
		return;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return;
	for (__u32 k = 0; k < MT_EV__COUNT; k++) {
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
	free(v);
}

/* Tell the BPF side where an M's G is (for off-CPU events), once known. */
static bool set_runtime(struct mnsched_trace_bpf *skel, const struct mt_target *t)
{
	struct mn_debug_info d;

	if (mt_runtime_info(t, &d))
		return false;
	skel->bss->m_curg = d.m_curg;
	skel->bss->m_g0 = d.m_g0;
	skel->bss->g_goid = d.g_goid;
	__atomic_store_n(&skel->bss->tls_m_off, d.tls_m_off ? d.tls_m_off : 1,
			 __ATOMIC_RELEASE);
	return true;
}

/* Tell the BPF side where the P structs are (for run-queue lengths). */
static void set_pstates(struct mnsched_trace_bpf *skel, const struct mt_target *t)
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
	struct mt_target t = { .pidfd = -1 };
	__u64 counts[MT_EV__COUNT], drops[MT_EV__COUNT], start, end_ts;
	bool pinned = false, gone = false, have_rt = false;
	int err, rc = MT_EXIT_ERR, nk = 0;

	mt_setup("mnsched-trace");
	mt_argp_parse(&argp, argc, argv);
	if (mt_check_root() || mt_check_bpf())
		return MT_EXIT_ERR;
	if (env.cmd) {
		if (mt_target_spawn(&t, env.cmd))
			return MT_EXIT_ERR;
		env.pid = t.pid;
	} else {
		if (mt_target_open(&t, env.pid, false))
			return MT_EXIT_ERR;
		mt_target_find_pstates(&t);
	}

	skel = mnsched_trace_bpf__open();
	if (!skel) {
		mt_err("cannot open the BPF object: %s", strerror(errno));
		goto out;
	}
	skel->rodata->targ_tgid = (__u32)env.pid;
	bpf_map__set_max_entries(skel->maps.trace_events, (__u32)env.ringbuf_mb << 20);
	skel->rodata->wakeup_bytes = ((__u64)env.ringbuf_mb << 20) / 4;
	if (env.no_offcpu)
		bpf_program__set_autoload(skel->progs.tr_sched_switch, false);
	err = mnsched_trace_bpf__load(skel);
	if (err) {
		mt_err("cannot load the BPF programs: %s (-v shows the verifier's log)",
		       strerror(-err));
		goto out;
	}
	set_pstates(skel, &t);
	have_rt = !env.no_offcpu && !env.cmd && set_runtime(skel, &t);
	if (env.perfetto && !perfetto_open(env.perfetto)) {
		mt_err("cannot create %s: %s", env.perfetto, strerror(errno));
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.trace_events), on_event, NULL, NULL);
	if (!rb) {
		mt_err("cannot open the ring buffer: %s", strerror(errno));
		goto out;
	}
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
			if (mt_attach_usdt(skel->obj, u[i].prog, &t, u[i].probe,
					   u[i].required && !env.events))
				goto out;
		}
	}
	if (!env.no_offcpu) {
		struct bpf_link *l = bpf_program__attach(skel->progs.tr_sched_switch);

		if (!l) {
			mt_err("cannot attach to sched_switch: %s", strerror(errno));
			goto out;
		}
		mt_keep_link(l);
	}
	if (module_loaded()) {
		struct { struct bpf_program *prog; const char *tp; } k[] = {
			{ skel->progs.tr_k_register, "mnsched_register" },
			{ skel->progs.tr_k_park, "mnsched_park" },
			{ skel->progs.tr_k_unpark, "mnsched_unpark" },
			{ skel->progs.tr_k_swap, "mnsched_swap" },
			{ skel->progs.tr_k_block, "mnsched_block" },
			{ skel->progs.tr_k_handoff, "mnsched_handoff" },
			{ skel->progs.tr_k_preempt, "mnsched_kpreempt" },
		};

		for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
			struct bpf_link *l = bpf_program__attach_raw_tracepoint(k[i].prog, k[i].tp);

			if (!l) {
				mt_warn("mnsched.ko is loaded but tracepoint %s cannot be attached: %s",
					k[i].tp, strerror(errno));
				continue;
			}
			mt_keep_link(l);
			nk++;
		}
	}
	pins[0] = skel->maps.trace_counts;
	pins[1] = skel->maps.trace_drops;
	if (mt_pin_maps(&t, pins) == 0)
		pinned = true;
	else if (env.pin)
		goto out;

	start = base_ns = mt_now_ns();
	if (env.perfetto)
		perfetto_begin(&t, base_ns, ev_names);
	skel->bss->armed = 1;
	mt_target_release(&t);	/* a COMMAND runs from here on */
	fprintf(stderr, "%s: tracing PID %d (%s, probes in %s%s%s)%s%s... Hit Ctrl-C to end.\n",
		mt_prog, t.pid, t.comm, t.probe_file, env.no_offcpu ? "" : ", sched_switch",
		nk ? ", mnsched.ko tracepoints" : "",
		env.perfetto ? ", timeline to " : "", env.perfetto ? env.perfetto : "");
	if (!env.perfetto && !env.quiet) {
		printf("%14s %3s %7s  %-14s %s\n", "TIME(ms)", "CPU", "TID", "EVENT", "DETAILS");
		fflush(stdout);
	}
	while (!mt_exiting) {
		/* the BPF side wakes us only when the buffer fills up: poll
		 * on a timer and consume whatever is there */
		/* ... and look for the P structs every millisecond until mn_main
		 * has mapped them (a program started with -- or waiting) */
		err = ring_buffer__poll(rb, t.pstates_addr ? 50 : 1);
		if (err >= 0)
			err = ring_buffer__consume(rb);
		if (err < 0 && err != -EINTR) {
			mt_err("reading the ring buffer: %s", strerror(-err));
			goto out;
		}
		if (env.duration > 0 && mt_now_ns() - start >= (__u64)(env.duration * 1e9))
			break;
		if (!mt_target_alive(&t)) {
			gone = true;
			break;
		}
		if (!t.pstates_addr && mt_target_find_pstates(&t) == 0)
			set_pstates(skel, &t);
		if (!have_rt && !env.no_offcpu && t.pstates_addr)
			have_rt = set_runtime(skel, &t);
	}
	/* stop recording before detaching, so the last events are all in
	 * the buffer and no probe is missing at the end */
	skel->bss->armed = 0;
	end_ts = mt_now_ns();
	mt_detach_all();
	ring_buffer__consume(rb);
	if (last_ts > end_ts)
		end_ts = last_ts;
	sum_percpu(bpf_map__fd(skel->maps.trace_counts), counts);
	sum_percpu(bpf_map__fd(skel->maps.trace_drops), drops);
	{
		unsigned long long lost = 0;

		for (int i = 0; i < MT_EV__COUNT; i++)
			lost += drops[i];
		if (env.perfetto) {
			if (perfetto_end(&t, argp_program_version, end_ts, end_ts - start,
					 nevents, counts, drops)) {
				mt_err("writing %s: %s", env.perfetto, strerror(errno));
				goto out;
			}
		}
		fflush(stdout);
		fprintf(stderr, "%s: %s%llu events in %.3f s (%llu G runs), %llu lost%s%s%s\n",
			mt_prog, gone ? "target exited; " : "", nevents,
			(double)(end_ts - start) / 1e9, (unsigned long long)counts[MT_EV_G_START],
			lost, lost ? " (ring buffer full: try -b with more MiB, or -e)" : "",
			env.perfetto ? "; wrote " : "", env.perfetto ? env.perfetto : "");
	}
	rc = MT_EXIT_OK;
	if (t.spawned && gone) {
		rc = mt_target_reap(&t);
		if (rc)
			fprintf(stderr, "%s: %s exited with status %d\n", mt_prog, t.comm, rc);
	}
out:
	mt_detach_all();
	ring_buffer__free(rb);
	perfetto_close();
	if (pinned && !env.pin)
		mt_unpin_maps(&t, pins);
	else if (pinned)
		fprintf(stderr, "%s: maps left pinned in %s/ (rm -r it when done)\n",
			mt_prog, mt_pin_dir(&t));
	mnsched_trace_bpf__destroy(skel);
	mt_target_close(&t);
	return rc;
}
