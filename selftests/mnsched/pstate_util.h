/* SPDX-License-Identifier: MIT */
/*
 * pstate_util.h - the kernel-written fields of this process's P structs,
 * for tests and benchmarks that check what the module saw: find P 0 in our
 * mapping of /dev/mnsched and read a consistent view (kseq); and the
 * module's event counters in debugfs (t_counter).  Test helper names: t_
 * (mn_test.h); tools/vm/ benchmarks include it too.
 */
#ifndef T_PSTATE_UTIL_H
#define T_PSTATE_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/mnsched.h>

#define T_COUNTERS "/sys/kernel/debug/mnsched/counters"

/* What the module wrote in a P struct. */
struct t_kview {
	uint64_t blocks;	/* k_blocks */
	uint64_t handoffs;	/* k_handoffs */
	uint64_t since_ns;	/* blocked_since_ns (CLOCK_MONOTONIC) */
};

/* P 0's struct: the start of our mapping of /dev/mnsched; NULL without one. */
static inline const volatile struct mnsched_pstate *t_mapped_p0(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	const volatile struct mnsched_pstate *p0 = NULL;
	unsigned long lo, off;
	char line[512];

	while (f && !p0 && fgets(line, sizeof(line), f))
		if (strstr(line, " " MNSCHED_DEVICE "\n") &&
		    sscanf(line, "%lx-%*x %*s %lx", &lo, &off) == 2 && off == 0)
			p0 = (const volatile struct mnsched_pstate *)lo;
	if (f)
		fclose(f);
	return p0;
}

/* A consistent read of the kernel-written fields of @ps. */
static inline void t_read_kview(const volatile struct mnsched_pstate *ps,
				struct t_kview *v)
{
	uint32_t s0;

	/* Acquire loads: the second kseq read cannot move before them. */
	do {
		s0 = __atomic_load_n(&ps->kseq, __ATOMIC_ACQUIRE);
		v->blocks = __atomic_load_n(&ps->k_blocks, __ATOMIC_ACQUIRE);
		v->handoffs = __atomic_load_n(&ps->k_handoffs, __ATOMIC_ACQUIRE);
		v->since_ns = __atomic_load_n(&ps->blocked_since_ns, __ATOMIC_ACQUIRE);
	} while ((s0 & 1) || s0 != __atomic_load_n(&ps->kseq, __ATOMIC_RELAXED));
}

/* One value of /sys/kernel/debug/mnsched/counters, or -1. */
static inline long t_counter(const char *name)
{
	char key[64];
	long v, ret = -1;
	FILE *f = fopen(T_COUNTERS, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &v) == 2) {
		if (!strcmp(key, name)) {
			ret = v;
			break;
		}
	}
	fclose(f);
	return ret;
}

#endif
