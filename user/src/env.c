// SPDX-License-Identifier: MIT
/*
 * env.c - the runtime's environment variables.
 *
 *   MNPROCS=N               number of Ps, 1..256 (default: online CPUs)
 *   MNSCHED_DEBUG=k=v,...   schedtrace=MS   print a SCHED line every MS ms
 *                           scheddetail=1   add per-P detail to it
 *                           deadlock=0      no deadlock detection
 *                           spare=0         with the module, idle Ms PARK
 *                                           instead of waiting as spares:
 *                                           no kernel handoff, sysmon's
 *                                           retake does it (to compare)
 *                           dump=SIGNAL     dump every G on SIGNAL (debug.c)
 *                           stall=MS        report Gs running > MS (debug.c)
 *   MNSCHED_PARK=auto|futex|kmod            parker backend (park.c)
 *   MNSCHED_IO=auto|uring|blocking          I/O backend
 *   MNSCHED_STACKGUARD=auto|guard|canary    stack overflow detection
 * A bad value is an error at start (mn_main returns -EINVAL after saying
 * what is wrong), never silently ignored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runtime.h"
#include "debug.h"

static int parse_int(const char *s, long lo, long hi, long *out)
{
	int saved = errno;	/* the runtime leaves errno as it found it */
	char *end;
	long v;
	bool bad;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	bad = errno || *end || v < lo || v > hi;
	errno = saved;
	if (bad)
		return -EINVAL;
	*out = v;
	return 0;
}

int mn_nprocs(void)
{
	const char *s = getenv("MNPROCS");
	long n, ncpu;

	if (atomic_load(&mn_sched.started) && mn_sched.nprocs > 0)
		return mn_sched.nprocs;
	if (s && parse_int(s, 1, MNSCHED_MAX_P, &n) == 0)
		return (int)n;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	return ncpu > MNSCHED_MAX_P ? MNSCHED_MAX_P : (int)ncpu;
}

static int parse_debug(const char *s)
{
	char buf[256], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		long v;

		if (eq) {
			int r;

			*eq = 0;
			r = mn_debug_setting(tok, eq + 1);	/* dump=, stall= */
			if (r <= 0) {
				if (r < 0)
					return r;
				continue;
			}
			*eq = '=';
		}
		if (!eq || parse_int(eq + 1, 0, 3600 * 1000, &v)) {
			fprintf(stderr, "mnsched: MNSCHED_DEBUG: bad setting '%s' "
				"(want schedtrace=MS, scheddetail=0|1, deadlock=0|1, "
				"spare=0|1, dump=SIGNAL, stall=MS)\n", tok);
			return -EINVAL;
		}
		*eq = 0;
		if (strcmp(tok, "schedtrace") == 0) {
			mn_sched.schedtrace_ms = (int)v;
		} else if (strcmp(tok, "scheddetail") == 0) {
			mn_sched.scheddetail = v != 0;
		} else if (strcmp(tok, "deadlock") == 0) {
			mn_sched.deadlock_off = v == 0;
		} else if (strcmp(tok, "spare") == 0) {
			mn_sched.spare_off = v == 0;
		} else {
			fprintf(stderr, "mnsched: MNSCHED_DEBUG: unknown setting '%s' "
				"(known: schedtrace, scheddetail, deadlock, spare, dump, stall)\n", tok);
			return -EINVAL;
		}
	}
	return 0;
}

int mn_env_init(void)
{
	const char *s = getenv("MNPROCS");
	long n;

	if (s) {
		if (parse_int(s, 1, MNSCHED_MAX_P, &n)) {
			fprintf(stderr, "mnsched: MNPROCS=\"%s\" is not valid: want a "
				"number of Ps from 1 to %d\n", s, MNSCHED_MAX_P);
			return -EINVAL;
		}
		mn_sched.nprocs = (int)n;
	} else {
		mn_sched.nprocs = mn_nprocs();
	}
	s = getenv("MNSCHED_DEBUG");
	if (s && parse_debug(s))
		return -EINVAL;
	s = getenv("MNSCHED_STACKGUARD");
	if (s && strcmp(s, "auto") && strcmp(s, "guard") && strcmp(s, "canary")) {
		fprintf(stderr, "mnsched: MNSCHED_STACKGUARD=\"%s\": want auto, guard "
			"or canary\n", s);
		return -EINVAL;
	}
	return 0;
}
