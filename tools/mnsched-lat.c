// SPDX-License-Identifier: MIT
/*
 * mnsched-lat - runnable-to-running latency of the Gs of an mnsched
 * program, as log2 histograms per P and per wait reason (runqlat for Gs).
 *
 * BPF: bpf/mnsched-lat.bpf.c on the USDT probes g_create, g_park,
 * g_unblock, g_start, g_exit, syscall_enter and syscall_exit.
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
#include "mnsched-lat.h"
#include "mnsched-lat.skel.h"

static struct env {
	pid_t pid;
	bool per_p, per_reason;
	bool timestamp;
	bool pin;
	double duration;
	long interval;
	long count;
} env = { .interval = 0, .count = -1 };

const char *argp_program_version = "mnsched-lat 0.1";
static const char doc[] =
"Summarize the runnable-to-running latency of the Gs of an mnsched program:\n"
"the time from when a G becomes runnable (created, woken, or switched out by\n"
"a yield or preemption) to when it runs, as log2 histograms per P and per\n"
"reason the G was waiting.\n"
"\n"
"USAGE: mnsched-lat -p PID [-P] [-R] [-T] [-d SECONDS] [--pin] [interval [count]]\n"
"\n"
"EXAMPLES:\n"
"    mnsched-lat -p 1234          # histograms per P and per reason, at Ctrl-C\n"
"    mnsched-lat -p 1234 1 5      # every second, 5 times (each interval anew)\n"
"    mnsched-lat -p 1234 -P -d 10 # per P only, for 10 seconds\n"
"    mnsched-lat -p 1234 -R       # per wait reason only\n"
"    mnsched-lat -p 1234 --pin    # leave the maps in /sys/fs/bpf/mnsched/1234/\n"
"\n"
"While it runs, the histograms are also pinned there: bpftool map dump\n"
"pinned /sys/fs/bpf/mnsched/PID/lat_by_p prints them with named fields.\n";

#define OPT_PIN 1000

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Trace this mnsched process (required)", 0 },
	{ "per-p", 'P', NULL, 0, "A histogram per P", 0 },
	{ "per-reason", 'R', NULL, 0, "A histogram per wait reason", 0 },
	{ "timestamp", 'T', NULL, 0, "Print a timestamp with each report", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS", 0 },
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
	case 'P': env.per_p = true; break;
	case 'R': env.per_reason = true; break;
	case 'T': env.timestamp = true; break;
	case 'v': mt_verbose = true; break;
	case OPT_PIN: env.pin = true; break;
	case 'd':
		env.duration = strtod(arg, &end);
		if (*end || env.duration <= 0)
			MT_ARGP_ERR(state, "invalid duration '%s'", arg);
		break;
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
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void print_stamp(void)
{
	char buf[32];
	time_t t = time(NULL);

	strftime(buf, sizeof(buf), "%H:%M:%S", localtime(&t));
	printf("\n%s\n", buf);
}

static void report(struct mnsched_lat_bpf *skel, const struct mt_target *t,
		   bool clear)
{
	int fp = bpf_map__fd(skel->maps.lat_by_p);
	int fr = bpf_map__fd(skel->maps.lat_by_reason);
	int fs = bpf_map__fd(skel->maps.lat_stats);
	struct mt_hist h, zero = {};
	char title[96];
	__u64 stat[2] = {};
	int np = t->nr_p > 0 ? t->nr_p : MT_MAX_P;

	if (env.timestamp)
		print_stamp();
	for (__u32 i = 0; i < 2; i++)
		bpf_map_lookup_elem(fs, &i, &stat[i]);
	if (env.per_p) {
		for (__u32 p = 0; p < (__u32)np; p++) {
			if (bpf_map_lookup_elem(fp, &p, &h))
				continue;
			if (!h.count && t->nr_p <= 0)
				continue;
			snprintf(title, sizeof(title), "P %u: runnable-to-running latency", p);
			mt_print_hist(&h, title);
			if (clear)
				bpf_map_update_elem(fp, &p, &zero, BPF_ANY);
		}
	}
	if (env.per_reason) {
		bool any = false;

		for (__u32 r = 0; r < MT_LAT_NREASONS; r++) {
			if (bpf_map_lookup_elem(fr, &r, &h) || !h.count)
				continue;
			snprintf(title, sizeof(title), "reason \"%s\": runnable-to-running latency",
				 mt_reason_name(r));
			mt_print_hist(&h, title);
			any = true;
			if (clear)
				bpf_map_update_elem(fr, &r, &zero, BPF_ANY);
		}
		if (!any)
			printf("\n(no G became runnable and ran in this interval)\n");
	}
	if (stat[1])
		printf("\n%llu runs not measured (Gs back from a syscall through the global queue)\n",
		       (unsigned long long)stat[1]);
	if (clear) {
		for (__u32 i = 0; i < 2; i++) {
			__u64 z = 0;

			bpf_map_update_elem(fs, &i, &z, BPF_ANY);
		}
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct argp argp = { .options = opts, .parser = parse_arg, .doc = doc };
	struct mnsched_lat_bpf *skel = NULL;
	struct bpf_map *pins[4] = {};
	struct mt_target t = { .pidfd = -1 };
	uint64_t start, next;
	bool pinned = false;
	int err, rc = MT_EXIT_ERR;
	static const struct { const char *probe; int required; } probes[] = {
		{ "g_start", 1 }, { "g_create", 1 }, { "g_park", 1 },
		{ "g_unblock", 1 }, { "g_exit", 1 }, { "syscall_enter", 0 },
		{ "syscall_exit", 0 },
	};

	mt_setup("mnsched-lat");
	mt_argp_parse(&argp, argc, argv);
	if (!env.per_p && !env.per_reason)
		env.per_p = env.per_reason = true;
	if (mt_check_root() || mt_check_bpf())
		return MT_EXIT_ERR;
	if (mt_target_open(&t, env.pid, false))
		return MT_EXIT_ERR;
	mt_target_find_pstates(&t);

	skel = mnsched_lat_bpf__open();
	if (!skel) {
		mt_err("cannot open the BPF object: %s", strerror(errno));
		goto out;
	}
	skel->rodata->targ_tgid = (__u32)env.pid;
	err = mnsched_lat_bpf__load(skel);
	if (err) {
		mt_err("cannot load the BPF programs: %s (-v shows the verifier's log)",
		       strerror(-err));
		goto out;
	}
	{
		struct bpf_program *progs[] = {
			skel->progs.lat_g_start, skel->progs.lat_g_create,
			skel->progs.lat_g_park, skel->progs.lat_g_unblock,
			skel->progs.lat_g_exit, skel->progs.lat_syscall_enter,
			skel->progs.lat_syscall_exit,
		};

		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
			if (mt_attach_usdt(skel->obj, progs[i], &t, probes[i].probe,
					   probes[i].required))
				goto out;
	}
	pins[0] = skel->maps.lat_by_p;
	pins[1] = skel->maps.lat_by_reason;
	pins[2] = skel->maps.lat_stats;
	if (mt_pin_maps(&t, pins) == 0)
		pinned = true;
	else if (env.pin)
		goto out;

	printf("Tracing runnable-to-running latency of PID %d (%s, probes in %s)",
	       t.pid, t.comm, t.probe_file);
	if (env.interval)
		printf(", every %ld s", env.interval);
	printf("... Hit Ctrl-C to end.\n");
	fflush(stdout);

	start = mt_now_ns();
	next = start + (uint64_t)env.interval * 1000000000ull;
	for (;;) {
		uint64_t now;

		usleep(50 * 1000);
		now = mt_now_ns();
		if (mt_exiting)
			break;
		if (!mt_target_alive(&t)) {
			printf("\nPID %d exited.\n", t.pid);
			break;
		}
		if (env.duration > 0 && now - start >= (uint64_t)(env.duration * 1e9))
			break;
		if (env.interval && now >= next) {
			report(skel, &t, true);
			next += (uint64_t)env.interval * 1000000000ull;
			if (env.count > 0 && --env.count == 0)
				goto done;
		}
	}
	report(skel, &t, false);
done:
	rc = MT_EXIT_OK;
out:
	mt_detach_all();
	if (pinned && !env.pin)
		mt_unpin_maps(&t, pins);
	else if (pinned)
		printf("Maps left pinned in %s/ (rm -r it when done)\n", mt_pin_dir(&t));
	mnsched_lat_bpf__destroy(skel);
	mt_target_close(&t);
	return rc;
}
