// SPDX-License-Identifier: MIT
/*
 * mnsched-top - a live per-P (and per-M) view of an mnsched program.
 *
 * The per-P columns come from the runtime's always-on counters (struct
 * mnsched_pstate in the P pages: a memfd, or /dev/mnsched with the module),
 * read from the target with process_vm_readv.  The off-CPU columns come from
 * bpf/mnsched-top.bpf.c (sched_switch and four cold USDT probes); -N leaves
 * BPF out.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mnsched-util.h"
#include "mnsched-top.h"
#include "mnsched-top.skel.h"

static struct env {
	pid_t pid;
	bool noclear;
	bool nobpf;
	bool pin;
	long interval;
	long count;
} env = { .interval = 1, .count = -1 };

const char *argp_program_version = "mnsched-top 0.1";
static const char doc[] =
"Show what the Ps and Ms of an mnsched program are doing, refreshed every\n"
"interval: per P the running G, the run-queue length and the rates of G\n"
"switches, steals, idle parks, syscalls, handoffs, I/O completions and\n"
"preemptions (PRMT/s: the P taken from a G that overran its slice) (from\n"
"the runtime's always-on counters), and the share of time its M was off CPU\n"
"while holding it; per M (thread) its CPU, off-CPU and idle time (BPF on\n"
"sched_switch).\n"
"\n"
"USAGE: mnsched-top -p PID [-C] [-N] [--pin] [interval [count]]\n"
"\n"
"EXAMPLES:\n"
"    mnsched-top -p 1234         # refresh every second until Ctrl-C\n"
"    mnsched-top -p 1234 5 3     # every 5 seconds, 3 times\n"
"    mnsched-top -p 1234 -C      # do not clear the screen\n"
"    mnsched-top -p 1234 -N      # counters only: no BPF (no root needed for\n"
"                                # your own processes)\n"
"    mnsched-top -p 1234 --pin   # leave top_m and top_p in /sys/fs/bpf/mnsched/1234/\n"
"\n"
"While it runs the maps are pinned there; bpftool map dump pinned\n"
"/sys/fs/bpf/mnsched/PID/top_p prints them with named fields.\n";

#define OPT_PIN 1000

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "The mnsched process to watch (required)", 0 },
	{ "noclear", 'C', NULL, 0, "Do not clear the screen between reports", 0 },
	{ "no-bpf", 'N', NULL, 0, "Counters only: no BPF, no off-CPU columns", 0 },
	{ "pin", OPT_PIN, NULL, 0, "Leave the maps pinned under /sys/fs/bpf/mnsched/PID/ at exit", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	static int pos;
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
	case 'C': env.noclear = true; break;
	case 'N': env.nobpf = true; break;
	case 'v': mt_verbose = true; break;
	case OPT_PIN: env.pin = true; break;
	case ARGP_KEY_ARG:
		errno = 0;
		if (pos == 0) {
			env.interval = strtol(arg, &end, 10);
			if (errno || *end || env.interval <= 0)
				MT_ARGP_ERR(state, "invalid interval '%s'", arg);
		} else if (pos == 1) {
			env.count = strtol(arg, &end, 10);
			if (errno || *end || env.count <= 0)
				MT_ARGP_ERR(state, "invalid count '%s'", arg);
		} else {
			MT_ARGP_ERR(state, "unexpected argument '%s'", arg);
		}
		pos++;
		break;
	case ARGP_KEY_END:
		if (!env.pid)
			MT_ARGP_ERR(state, "-p PID is required");
		if (env.pin && env.nobpf)
			MT_ARGP_ERR(state, "--pin needs BPF (it pins the BPF maps); drop -N");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- snapshots ------------------------------------------------------ */

struct mrow {
	struct mt_top_m s;
	/* on CPU, off CPU holding a P, off CPU idle: with the period in
	 * progress (not charged by the BPF side yet) added up to "now" */
	__u64 on, off, idle;
};

struct snap {
	uint64_t ns;
	int np;
	struct mnsched_pstate ps[MT_MAX_P];
	struct mt_top_p bp[MT_MAX_P];
	__u64 poff[MT_MAX_P];	/* P off-CPU time with the current period */
	int nm;
	struct mrow m[MT_MAX_M];
};

static struct snap snaps[2];

static int take(struct mnsched_top_bpf *skel, const struct mt_target *t,
		struct snap *s)
{
	int n;

	s->ns = mt_now_ns();
	n = mt_pstates_read(t, s->ps, MT_MAX_P);
	if (n < 0)
		return n;
	s->np = n;
	s->nm = 0;
	memset(s->poff, 0, sizeof(s->poff));
	if (!skel)
		return 0;
	for (__u32 p = 0; p < (__u32)n; p++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.top_p), &p, &s->bp[p]))
			memset(&s->bp[p], 0, sizeof(s->bp[p]));
		s->poff[p] = s->bp[p].offcpu_ns;
	}
	{
		int fd = bpf_map__fd(skel->maps.top_m);
		__u32 key, next, *kp = NULL;
		uint64_t now = mt_now_ns();

		while (s->nm < MT_MAX_M && bpf_map_get_next_key(fd, kp, &next) == 0) {
			struct mrow *r = &s->m[s->nm];

			key = next;
			kp = &key;
			if (bpf_map_lookup_elem(fd, &key, &r->s))
				continue;
			r->on = r->s.oncpu_ns;
			r->off = r->s.offcpu_ns;
			r->idle = r->s.idle_ns;
			if ((r->s.flags & MT_TOP_SEEN) && now > r->s.last_ns) {
				__u64 d = now - r->s.last_ns;

				if (r->s.flags & MT_TOP_ONCPU) {
					r->on += d;
				} else if (r->s.p >= 0) {
					r->off += d;
					if (r->s.p < n)
						s->poff[r->s.p] += d;
				} else {
					r->idle += d;
				}
			}
			s->nm++;
		}
	}
	return 0;
}

static const struct mrow *find_m(const struct snap *s, __u32 tid)
{
	for (int i = 0; i < s->nm; i++)
		if (s->m[i].s.tid == tid)
			return &s->m[i];
	return NULL;
}

static const char *pstate_name(const struct mnsched_pstate *ps)
{
	if (ps->blocked)
		return "blocked";
	switch (ps->state) {
	case MNSCHED_P_IDLE: return "idle";
	case MNSCHED_P_RUNNING: return "running";
	case MNSCHED_P_SYSCALL: return "syscall";
	}
	return "?";
}

static double rate(__u64 now, __u64 before, double secs)
{
	return now >= before ? (double)(now - before) / secs : 0;
}

static int cmp_m(const void *a, const void *b)
{
	const struct mrow *x = a, *y = b;

	/* named Ms by id first, other threads (sysmon, main) by tid after */
	if ((x->s.m < 0) != (y->s.m < 0))
		return x->s.m < 0 ? 1 : -1;
	if (x->s.m != y->s.m)
		return x->s.m < y->s.m ? -1 : 1;
	return x->s.tid < y->s.tid ? -1 : x->s.tid > y->s.tid;
}

static void print_report(const struct mt_target *t, struct snap *old,
			 struct snap *cur, bool bpf)
{
	double secs = (double)(cur->ns - old->ns) / 1e9;
	char tbuf[16], g[24], m[12];
	time_t now = time(NULL);
	struct mnsched_pstate tot = {};
	double tr[7] = {};
	int np = cur->np < old->np ? cur->np : old->np;

	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&now));
	if (!env.noclear && isatty(STDOUT_FILENO))
		printf("\033[H\033[2J");
	printf("mnsched-top - PID %d (%s)  %d Ps  counters in %s  %s\n\n",
	       t->pid, t->comm, cur->np,
	       t->kmod ? "/dev/mnsched" : "memfd:mnsched-pstates", tbuf);
	printf("%3s %-8s %5s %10s %6s %10s %8s %8s %8s %8s %8s %8s %8s\n",
	       "P", "STATE", "M", "G", "RUNQ", "SWITCH/s", "STEAL/s", "PARK/s",
	       "SYSC/s", "HOFF/s", "IO/s", "PRMT/s", bpf ? "OFFCPU%" : "");
	for (int p = 0; p < np; p++) {
		const struct mnsched_pstate *a = &cur->ps[p], *b = &old->ps[p];
		double r[7] = {
			rate(a->switches, b->switches, secs),
			rate(a->steals, b->steals, secs),
			rate(a->parks, b->parks, secs),
			rate(a->syscalls, b->syscalls, secs),
			rate(a->handoffs, b->handoffs, secs),
			rate(a->io_completions, b->io_completions, secs),
			/* by the runtime's signal and by the module */
			rate(a->preempts + a->k_preempts,
			     b->preempts + b->k_preempts, secs),
		};
		char off[16] = "";

		if (a->goid && a->state != MNSCHED_P_IDLE)
			snprintf(g, sizeof(g), "%llu", (unsigned long long)a->goid);
		else
			snprintf(g, sizeof(g), "-");
		if (a->m_id >= 0)
			snprintf(m, sizeof(m), "%d", a->m_id);
		else
			snprintf(m, sizeof(m), "-");
		if (bpf)
			snprintf(off, sizeof(off), "%.1f",
				 100.0 * (double)(cur->poff[p] >= old->poff[p] ?
					  cur->poff[p] - old->poff[p] : 0) / 1e9 / secs);
		printf("%3d %-8s %5s %10s %6u %10.0f %8.0f %8.0f %8.0f %8.0f %8.0f %8.0f %8s\n",
		       p, pstate_name(a), m, g, a->runq_len, r[0], r[1], r[2],
		       r[3], r[4], r[5], r[6], off);
		tot.runq_len += a->runq_len;
		for (int i = 0; i < 7; i++)
			tr[i] += r[i];
	}
	printf("%3s %-8s %5s %10s %6u %10.0f %8.0f %8.0f %8.0f %8.0f %8.0f %8.0f\n",
	       "all", "", "", "", tot.runq_len, tr[0], tr[1], tr[2], tr[3],
	       tr[4], tr[5], tr[6]);
	if (!bpf) {
		fflush(stdout);
		return;
	}
	qsort(cur->m, (size_t)cur->nm, sizeof(cur->m[0]), cmp_m);
	printf("\n%5s %8s %4s %7s %8s %7s %10s %10s\n", "M", "TID", "P",
	       "CPU%", "OFFCPU%", "IDLE%", "PREEMPT/s", "SLEEP/s");
	for (int i = 0; i < cur->nm; i++) {
		const struct mrow *a = &cur->m[i], *b = find_m(old, a->s.tid);
		struct mrow zero = {};
		char pp[8];
		double on, off, idle;

		if (!b)
			b = &zero;
		on = a->on > b->on ? (double)(a->on - b->on) : 0;
		off = a->off > b->off ? (double)(a->off - b->off) : 0;
		idle = a->idle > b->idle ? (double)(a->idle - b->idle) : 0;
		if (a->s.m >= 0)
			snprintf(m, sizeof(m), "%d", a->s.m);
		else
			snprintf(m, sizeof(m), "-");
		if (a->s.p >= 0)
			snprintf(pp, sizeof(pp), "%d", a->s.p);
		else
			snprintf(pp, sizeof(pp), "-");
		if (on + off + idle == 0 && a->s.m < 0)
			continue;	/* a thread that did nothing (main in mn_main) */
		printf("%5s %8u %4s %7.1f %8.1f %7.1f %10.0f %10.0f\n", m, a->s.tid,
		       pp, 100.0 * on / 1e9 / secs, 100.0 * off / 1e9 / secs,
		       100.0 * idle / 1e9 / secs,
		       rate(a->s.preempted, b->s.preempted, secs),
		       rate(a->s.blocked, b->s.blocked, secs));
	}
	printf("\nM \"-\": a thread that is not an M (sysmon, the mn_main caller) or not yet seen by a probe\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = doc };
	struct mnsched_top_bpf *skel = NULL;
	struct bpf_map *pins[3] = {};
	struct mt_target t = { .pidfd = -1 };
	bool pinned = false;
	int err, cur = 0, rc = MT_EXIT_ERR;

	mt_setup("mnsched-top");
	mt_argp_parse(&argp, argc, argv);
	if (!env.nobpf && (mt_check_root() || mt_check_bpf()))
		return MT_EXIT_ERR;
	if (mt_target_open(&t, env.pid, true))
		return MT_EXIT_ERR;

	if (!env.nobpf) {
		skel = mnsched_top_bpf__open();
		if (!skel) {
			mt_err("cannot open the BPF object: %s", strerror(errno));
			goto out;
		}
		skel->rodata->targ_tgid = (__u32)env.pid;
		err = mnsched_top_bpf__load(skel);
		if (err) {
			mt_err("cannot load the BPF programs: %s (-v shows the verifier's log)",
			       strerror(-err));
			goto out;
		}
		{
			struct bpf_link *l = bpf_program__attach(skel->progs.top_sched_switch);

			if (!l) {
				mt_err("cannot attach to sched_switch: %s", strerror(errno));
				goto out;
			}
			mt_keep_link(l);
		}
		if (mt_attach_usdt(skel->obj, skel->progs.top_proc_start, &t, "proc_start", true) ||
		    mt_attach_usdt(skel->obj, skel->progs.top_proc_stop, &t, "proc_stop", true) ||
		    mt_attach_usdt(skel->obj, skel->progs.top_m_park, &t, "m_park", false) ||
		    mt_attach_usdt(skel->obj, skel->progs.top_handoff, &t, "handoff", false))
			goto out;
		pins[0] = skel->maps.top_m;
		pins[1] = skel->maps.top_p;
		if (mt_pin_maps(&t, pins) == 0)
			pinned = true;
		else if (env.pin)
			goto out;
	}

	if (take(skel, &t, &snaps[cur])) {
		mt_err("cannot read the P counters of PID %d: %s", t.pid, strerror(errno));
		goto out;
	}
	while (!mt_exiting) {
		uint64_t until = snaps[cur].ns + (uint64_t)env.interval * 1000000000ull;
		bool gone = false;

		while (!mt_exiting && mt_now_ns() < until) {
			if (!mt_target_alive(&t)) {
				gone = true;
				break;
			}
			usleep(50 * 1000);
		}
		if (gone || !mt_target_alive(&t)) {
			printf("PID %d exited.\n", t.pid);
			break;
		}
		if (mt_exiting)
			break;
		if (take(skel, &t, &snaps[!cur])) {
			if (!mt_target_alive(&t)) {
				printf("PID %d exited.\n", t.pid);
				break;
			}
			mt_err("cannot read the P counters of PID %d: %s", t.pid,
			       strerror(errno));
			goto out;
		}
		print_report(&t, &snaps[cur], &snaps[!cur], skel != NULL);
		cur = !cur;
		if (env.count > 0 && --env.count == 0)
			break;
	}
	rc = MT_EXIT_OK;
out:
	mt_detach_all();
	if (pinned && !env.pin)
		mt_unpin_maps(&t, pins);
	else if (pinned)
		printf("Maps left pinned in %s/ (rm -r it when done)\n", mt_pin_dir(&t));
	mnsched_top_bpf__destroy(skel);
	mt_target_close(&t);
	return rc;
}
