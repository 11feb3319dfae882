// SPDX-License-Identifier: MIT
/*
 * env.c - the runtime's environment variables, every one of them parsed
 * here, once, at the start of mn_main.
 *
 *   MNPROCS=N               number of Ps, 1..256 (default: online CPUs)
 *   MNSCHED_DEBUG=k=v,...   schedtrace=MS   print a SCHED line every MS ms
 *                           scheddetail=1   add per-P detail to it
 *                           deadlock=0      no deadlock detection
 *                           spare=0         with the module, idle Ms PARK
 *                                           instead of waiting as spares:
 *                                           no kernel handoff, sysmon's
 *                                           retake does it (to compare)
 *                           iopoll=1        pipes and character devices
 *                                           through poll + system call, as
 *                                           on kernels that hand them to
 *                                           io-wq (found by a probe)
 *                           multishot=0     no multishot receive on TCP
 *                                           sockets: one receive request
 *                                           per call, as on kernels
 *                                           before 6.0 (rx.c)
 *                           dump=SIGNAL     dump every G on SIGNAL (debug.c)
 *                           stall=MS        report Gs running > MS (debug.c)
 *                           stackcache=KB   freed stacks kept committed in
 *                                           the global pool, above which
 *                                           sysmon gives idle ones back to
 *                                           the kernel (stack.c; 65536)
 *                           stranded=0      no sysmon safety net for work
 *                                           stranded on a busy P (tests)
 *                           slice=MS        time slice, 1..1000 (default 10):
 *                                           a G running longer loses its P
 *                           preempt=0       cooperative only: no P taken
 *                                           from an overrunning G
 *                           kpreempt=0      with the module, preempt with
 *                                           sysmon's signal, not in the
 *                                           kernel (preempt.c)
 *   MNSCHED_PARK=auto|futex|kmod            parker backend (park.c)
 *   MNSCHED_IO=auto|uring|blocking          I/O backend (io.c)
 *   MNSCHED_IO_ENTRIES=N                    SQ entries per ring, a power of
 *                                           two 2..32768 (uring.c)
 *   MNSCHED_IO_RECVBUFS=N                   receive buffers (4 KiB) per P for
 *                                           multishot receive, a power of
 *                                           two 1..32768, default 256 (rx.c)
 *   MNSCHED_STACKGUARD=auto|guard|canary    stack overflow detection
 *   MNSCHED_NO_LIBDW (any value)            dumps unwind with frame pointers,
 *                                           without loading libdw (unwind.c)
 *   DEBUGINFOD_URLS (libdw's, non-empty)    dumps do not look for separate
 *                                           debug files at all: libdw would
 *                                           ask the network (unwind.c)
 *
 * A bad value is an error at start: mn_main prints one line naming the
 * variable and returns -EINVAL; nothing is silently ignored.  Numbers are
 * strict: decimal digits only, no sign, no spaces, no suffix, in range.
 * The parsed values live in mn_sched.env for the files that use them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runtime.h"
#include "debug.h"

/* Decimal digits only, lo <= value <= hi.  errno is not touched. */
static int parse_num(const char *s, size_t len, long lo, long hi, long *out)
{
	long v = 0;

	if (!s || len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
		if (v > hi)
			return -EINVAL;	/* also stops overflow */
	}
	if (v < lo)
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
	if (s && parse_num(s, strlen(s), 1, MNSCHED_MAX_P, &n) == 0)
		return (int)n;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	return ncpu > MNSCHED_MAX_P ? MNSCHED_MAX_P : (int)ncpu;
}

/* One of words (NULL-terminated): its index, or -1 with a message. */
static int parse_word(const char *var, const char *s, const char *const *words,
		      const char *want)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(s, words[i]) == 0)
			return i;
	fprintf(stderr, "mnsched: %s=\"%.64s\"%s: want %s\n", var, s,
		strlen(s) > 64 ? "..." : "", want);
	return -1;
}

/* MNSCHED_DEBUG: k=v,... of any length, parsed in place (no copy). */
static int parse_debug(const char *s)
{
	static const char *const known[] = { "schedtrace", "scheddetail",
					     "deadlock", "spare", "iopoll",
					     "stackcache", "stranded", "slice", "preempt",
					     "multishot", "kpreempt" };

	while (*s) {
		const char *end = strchr(s, ','), *eq;
		size_t len = end ? (size_t)(end - s) : strlen(s), klen;
		long v;
		int k = -1;

		eq = memchr(s, '=', len);
		klen = eq ? (size_t)(eq - s) : len;
		for (int i = 0; i < 11 && eq; i++)
			if (strlen(known[i]) == klen && !memcmp(s, known[i], klen))
				k = i;
		if (eq && k < 0 && ((klen == 4 && !memcmp(s, "dump", 4)) ||
				    (klen == 5 && !memcmp(s, "stall", 5)))) {
			/* debug.c's settings: NUL-terminated copies. */
			char key[8], val[32];
			size_t vlen = len - klen - 1;
			int r;

			if (vlen >= sizeof(val)) {
				fprintf(stderr, "mnsched: MNSCHED_DEBUG: bad setting "
					"'%.*s...' (value too long)\n", 64, s);
				return -EINVAL;
			}
			memcpy(key, s, klen);
			key[klen] = 0;
			memcpy(val, eq + 1, vlen);
			val[vlen] = 0;
			r = mn_debug_setting(key, val);
			if (r < 0)
				return r;
			s += len;
			if (*s == ',')
				s++;
			continue;
		}
		if (eq && k < 0) {
			fprintf(stderr, "mnsched: MNSCHED_DEBUG: unknown setting "
				"'%.*s' (known: schedtrace, scheddetail, deadlock, "
				"spare, iopoll, multishot, stackcache, stranded, slice, preempt, kpreempt, dump, stall)\n", (int)(len > 64 ? 64 : len), s);
			return -EINVAL;
		}
		if (!eq || parse_num(eq + 1, len - klen - 1, k == 7 ? 1 : 0,
				     k == 0 ? 3600 * 1000 :
				     k == 5 ? 1L << 40 :
				     k == 7 ? 1000 : 1, &v)) {
			fprintf(stderr, "mnsched: MNSCHED_DEBUG: bad setting '%.*s%s' "
				"(want schedtrace=MS with MS 0..3600000, "
				"scheddetail=0|1, deadlock=0|1, spare=0|1, "
				"iopoll=0|1, multishot=0|1, "
				"stackcache=KB with KB 0..2^40, "
				"stranded=0|1, slice=MS with MS 1..1000, "
				"preempt=0|1, kpreempt=0|1, dump=SIGNAL, stall=MS)\n",
				(int)(len > 64 ? 64 : len), s, len > 64 ? "..." : "");
			return -EINVAL;
		}
		switch (k) {
		case 0:
			mn_sched.schedtrace_ms = (int)v;
			break;
		case 1:
			mn_sched.scheddetail = v != 0;
			break;
		case 2:
			mn_sched.deadlock_off = v == 0;
			break;
		case 3:
			mn_sched.spare_off = v == 0;
			break;
		case 4:
			mn_sched.iopoll = v != 0;
			break;
		case 5:
			mn_sched.stackcache_kb = v;
			break;
		case 6:
			mn_sched.stranded_off = v == 0;
			break;
		case 7:
			mn_sched.slice_ns = (uint64_t)v * 1000000;
			break;
		case 8:
			mn_sched.preempt_off = v == 0;
			break;
		case 9:
			mn_sched.multishot_off = v == 0;
			break;
		case 10:
			mn_sched.kpreempt_off = v == 0;
			break;
		}
		s += len;
		if (*s == ',')
			s++;
	}
	return 0;
}

/* var, when set: a power of two from lo to 32768 into *out. */
static int parse_pow2(const char *var, long lo, unsigned int *out)
{
	const char *s = getenv(var);
	long n;

	if (!s)
		return 0;
	if (parse_num(s, strlen(s), lo, 32768, &n) || (n & (n - 1))) {
		fprintf(stderr, "mnsched: %s=\"%.64s\": want a power of two from "
			"%ld to 32768\n", var, s, lo);
		return -EINVAL;
	}
	*out = (unsigned int)n;
	return 0;
}

int mn_env_init(void)
{
	static const char *const park[] = { "auto", "futex", "kmod", NULL };
	static const char *const io[] = { "auto", "uring", "blocking", NULL };
	static const char *const guard[] = { "auto", "guard", "canary", NULL };
	struct mn_env *e = &mn_sched.env;
	const char *s = getenv("MNPROCS");
	long n;

	if (s) {
		if (parse_num(s, strlen(s), 1, MNSCHED_MAX_P, &n)) {
			fprintf(stderr, "mnsched: MNPROCS=\"%.64s\" is not valid: want "
				"a number of Ps from 1 to %d\n", s, MNSCHED_MAX_P);
			return -EINVAL;
		}
		mn_sched.nprocs = (int)n;
	} else {
		mn_sched.nprocs = mn_nprocs();
	}
	mn_sched.stackcache_kb = -1;
	s = getenv("MNSCHED_DEBUG");
	if (s && parse_debug(s))
		return -EINVAL;
	s = getenv("MNSCHED_PARK");
	if (s && (e->park = parse_word("MNSCHED_PARK", s, park,
				       "auto, futex or kmod")) < 0)
		return -EINVAL;
	s = getenv("MNSCHED_IO");
	if (s && (e->io = parse_word("MNSCHED_IO", s, io,
				     "auto, uring or blocking")) < 0)
		return -EINVAL;
	if (parse_pow2("MNSCHED_IO_ENTRIES", 2, &e->io_entries) ||
	    parse_pow2("MNSCHED_IO_RECVBUFS", 1, &e->io_recvbufs))
		return -EINVAL;
	s = getenv("MNSCHED_STACKGUARD");
	if (s && (e->stackguard = parse_word("MNSCHED_STACKGUARD", s, guard,
					     "auto, guard or canary")) < 0)
		return -EINVAL;
	e->no_libdw = getenv("MNSCHED_NO_LIBDW") != NULL;
	s = getenv("DEBUGINFOD_URLS");
	e->debuginfod = s && *s;
	return 0;
}
