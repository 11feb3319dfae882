/* SPDX-License-Identifier: MIT */
/*
 * bench.h - helpers shared by the C side of tools/bench.
 *
 * Every benchmark program prints exactly one line
 *	RESULT <name> <value> <unit>
 * on stdout, optionally preceded by
 *	INFO <key> <value...>
 * lines that the runner shows as notes under the table.  Progress messages
 * go to stderr (the runner keeps them in build/bench/logs/ and prints their
 * tail when a run crashes or hangs).  A failed self-check exits non-zero.
 */
#ifndef MT_BENCH_H
#define MT_BENCH_H

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mnsched.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* s as a number in [min, max]; otherwise "bad <what> 's'" and exit 64. */
static inline long bench_count(const char *what, const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 0);

	if (!*s || *end || v < min || v > max) {
		fprintf(stderr, "bad %s '%s'\n", what, s);
		exit(64);
	}
	return v;
}

/* First command-line argument as a count, or def. */
static inline long bench_arg(int argc, char **argv, int i, long def)
{
	return argc > i ? bench_count("argument", argv[i], 1, LONG_MAX) : def;
}

static inline void bench_result(const char *name, double value,
				const char *unit)
{
	printf("RESULT %s %.6g %s\n", name, value, unit);
	fflush(stdout);
}

static inline void bench_info(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void bench_info(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("INFO %s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static inline void bench_progress(const char *name, const char *what)
{
	fprintf(stderr, "%s: %s\n", name, what);
}

static inline void bench_fail(const char *name, const char *why)
{
	printf("ERROR %s %s\n", name, why);
	fflush(stdout);
	fprintf(stderr, "%s: FAILED: %s\n", name, why);
	exit(1);
}

/* Resident set size in bytes, from /proc/self/statm. */
static inline long bench_rss_bytes(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * sysconf(_SC_PAGESIZE);
}

/* Contents of a small numeric /proc file, or -1. */
static inline long bench_proc_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Number of lines of /proc/self/maps (the process's VMAs). */
static inline long bench_nr_maps(void)
{
	char buf[65536];
	long n = 0;
	size_t got;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -1;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		for (size_t i = 0; i < got; i++)
			n += buf[i] == '\n';
	fclose(f);
	return n;
}

/*
 * Extra work per operation: BENCH_PAD=N runs an empty loop of N turns in
 * each hop, round trip or meeting of the programs that call bench_pad()
 * (unset: none).  On the test VM's virtual clock a run is exactly
 * repeatable, and at 2 Ps on one vCPU where a timer interrupt lands within
 * the hop decides how often the idle M is woken: a few instructions more
 * per hop move a run by up to 10% either way.  tools/vm/park-bench.sh
 * gives each of its runs another N so that its medians are taken over
 * that phase instead of one value of it.
 */
static int bench_pad_turns;

static inline void bench_pad(void)
{
	for (volatile int i = 0; i < bench_pad_turns; i++)
		;
}

/* Start the runtime with fn as the first G; exit on failure. */
static inline void bench_run(const char *name, void (*fn)(void *), void *arg)
{
	const char *pad = getenv("BENCH_PAD");
	int rc;

	if (pad)
		bench_pad_turns = (int)bench_count("BENCH_PAD (0-1000000)", pad, 0, 1000000);
	rc = mn_main(fn, arg);

	if (rc) {
		fprintf(stderr, "%s: mn_main failed: %s\n", name, strerror(-rc));
		printf("ERROR %s mn_main=%d\n", name, rc);
		exit(1);
	}
}

#endif
