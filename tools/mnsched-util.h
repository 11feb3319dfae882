/* SPDX-License-Identifier: MIT */
/*
 * mnsched-util.h - what mnsched-top, mnsched-lat and mnsched-trace share:
 * finding the target process, its probes and its P counters, checking
 * privileges and BPF, attaching USDT programs, pinning maps, histograms.
 */
#ifndef MNSCHED_UTIL_H
#define MNSCHED_UTIL_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include <linux/mnsched.h>
#include <bpf/libbpf.h>
#include "mnsched-common.h"

#define MT_PIN_ROOT	"/sys/fs/bpf/mnsched"

/* Exit statuses of the tools. */
#define MT_EXIT_OK	0
#define MT_EXIT_ERR	1	/* runtime error: not root, no BPF, bad PID */
#define MT_EXIT_USAGE	64	/* bad option or argument (argp's EX_USAGE) */

struct mt_target {
	pid_t pid;
	char comm[32];
	/* the ELF file with the mnsched USDT notes: the executable (static
	 * libmnsched.a) or libmnsched.so, as the process maps it */
	char probe_file[PATH_MAX];	/* path in the target's view */
	char attach_path[PATH_MAX];	/* /proc/PID/exe or /proc/PID/map_files/LO-HI */
	int nr_probes;			/* notes with provider mnsched */
	/* the always-on P counters (may appear only once mn_main runs) */
	unsigned long pstates_addr;
	unsigned long pstates_len;
	unsigned long pstates_stride;
	int nr_p;
	bool kmod;			/* mapped from /dev/mnsched */
	int pidfd;
	int gofd;			/* mt_target_spawn: write a byte to let it exec */
	bool spawned;
};

extern const char *mt_prog;		/* tool name for messages */
extern bool mt_verbose;			/* libbpf debug output */
extern volatile sig_atomic_t mt_exiting;

/* Messages "mnsched-top: ...", to stderr. */
void mt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* SIGINT, SIGTERM, SIGHUP, SIGPIPE set mt_exiting; libbpf messages only with -v. */
void mt_setup(const char *prog);

struct argp;
struct argp_state;
/*
 * argp_parse, and on a bad option or argument: the message, the usage
 * line, exit MT_EXIT_USAGE.  --help, --usage and --version exit 0.  Parsers
 * report errors with MT_ARGP_ERR.
 */
void mt_argp_parse(const struct argp *argp, int argc, char **argv);
#define MT_ARGP_ERR(state, ...) do {					\
	argp_error(state, __VA_ARGS__);					\
	return EINVAL;							\
} while (0)

/* Parse a PID argument; -1 on garbage. */
pid_t mt_parse_pid(const char *s);

/*
 * The target of a tool that attaches to one process, "-p PID" or
 * "-- COMMAND ARGS" (mnsched-trace, mnsched-prof): the argp parser hands
 * it ARGP_KEY_ARG, ARGP_KEY_ARGS and ARGP_KEY_END; it keeps the command in
 * *cmd and, at the end, reports a missing or a double target.
 */
int mt_argp_target(int key, struct argp_state *state, pid_t pid, char ***cmd);

/* Checks that print a clear error and return -1. */
int mt_check_root(void);
int mt_check_bpf(void);

/*
 * Open the target: it must exist and be an mnsched program (mnsched USDT
 * notes in its executable or a mapped libmnsched.so).  need_counters: wait
 * up to a second for the P-state mapping (mn_main may not have run yet).
 */
int mt_target_open(struct mt_target *t, pid_t pid, bool need_counters);
/*
 * Start argv[0] (searched in PATH) as the target: a child that waits, its
 * probes found in the executable or, through ldd, in the libmnsched.so it
 * will load.  Attach everything to t->pid, then mt_target_release() lets it
 * exec.  mt_target_reap() waits for it and returns its exit status.
 */
int mt_target_spawn(struct mt_target *t, char **argv);
void mt_target_release(struct mt_target *t);
int mt_target_reap(struct mt_target *t);
/* Re-scan /proc/PID/maps for the P-state mapping; 0 when found. */
int mt_target_find_pstates(struct mt_target *t);
/* Still running (not a zombie)? */
bool mt_target_alive(const struct mt_target *t);
void mt_target_close(struct mt_target *t);

/*
 * The target's mn_debug_info (user/src/debug_info.h: where its runtime
 * keeps Gs and Ms), read once its runtime has started: 0 with *d filled,
 * 1 not yet (try again later), -1 after a message when it never will.
 */
struct mn_debug_info;
int mt_runtime_info(const struct mt_target *t, struct mn_debug_info *d);

/* Read nr_p P structs; returns the number read or -errno. */
int mt_pstates_read(const struct mt_target *t, struct mnsched_pstate *out, int max);

/*
 * Attach prog to USDT mnsched:probe of the target.  required: report a
 * failure as an error; otherwise a missing probe (a runtime without it)
 * is skipped silently.  Returns 0, or -errno.
 */
int mt_attach_usdt(struct bpf_object *obj, struct bpf_program *prog,
		   const struct mt_target *t, const char *probe, bool required);
/* Detach everything mt_attach_usdt attached. */
void mt_detach_all(void);
/* Keep a link made elsewhere, destroyed by mt_detach_all. */
void mt_keep_link(struct bpf_link *l);

/*
 * Pin maps (NULL-terminated list) as MT_PIN_ROOT/PID/NAME, mounting bpffs
 * at /sys/fs/bpf first if it is not there.  mt_unpin_maps removes them and
 * the directory when it is empty.
 */
int mt_pin_maps(const struct mt_target *t, struct bpf_map **maps);
void mt_unpin_maps(const struct mt_target *t, struct bpf_map **maps);
/* The directory, for messages. */
const char *mt_pin_dir(const struct mt_target *t);

/* Wait reason / pseudo reason names (see mnsched-common.h). */
const char *mt_reason_name(unsigned int r);
/* Number of wait reasons the runtime defines (the table above). */
extern const unsigned int mt_nwaitreasons;

/* Print a log2 histogram of nanoseconds, runqlat style. */
void mt_print_hist(const struct mt_hist *h, const char *title);

uint64_t mt_now_ns(void);		/* CLOCK_MONOTONIC, as bpf_ktime_get_ns */

#endif /* MNSCHED_UTIL_H */
