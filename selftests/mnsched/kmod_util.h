/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmod_util.h - helpers shared by the /dev/mnsched selftests (kmod_*.c).
 *
 * Its names start with kt_ / KT_ (kmod test): mn_ belongs to libmnsched
 * and mnsched_ to the module, so a kmod test may include either header.
 */
#ifndef KMOD_UTIL_H
#define KMOD_UTIL_H

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/mnsched.h>

#include "pstate_util.h"

#define KT_REQUIRE_DEV()						\
	do {								\
		if (access(MNSCHED_DEVICE, F_OK))			\
			SKIP(return, MNSCHED_DEVICE " is absent (module not loaded)"); \
	} while (0)

static inline int kt_open(void)
{
	return open(MNSCHED_DEVICE, O_RDWR | O_CLOEXEC);
}

/* ioctl returning -errno on failure. */
static inline long kt_ioc(int fd, unsigned long cmd, unsigned long arg)
{
	long r = ioctl(fd, cmd, arg);

	return r < 0 ? -errno : r;
}

static inline long kt_ioc_p(int fd, unsigned long cmd, const void *arg)
{
	return kt_ioc(fd, cmd, (unsigned long)arg);
}

static inline long kt_config(int fd, unsigned int nr_p)
{
	struct mnsched_config c = { .nr_p = nr_p };

	return kt_ioc_p(fd, MNSCHED_IOC_CONFIG, &c);
}

static inline long kt_register(int fd)
{
	return kt_ioc(fd, MNSCHED_IOC_REGISTER, 0);
}

static inline long kt_park(int fd, int64_t timeout_ns)
{
	struct mnsched_park a = { .timeout_ns = timeout_ns };

	return kt_ioc_p(fd, MNSCHED_IOC_PARK, &a);
}

static inline long kt_unpark(int fd, long id)
{
	return kt_ioc(fd, MNSCHED_IOC_UNPARK, (unsigned long)id);
}

static inline long kt_swap(int fd, unsigned int target, int64_t timeout_ns)
{
	struct mnsched_swap a = { .target = target, .timeout_ns = timeout_ns };

	return kt_ioc_p(fd, MNSCHED_IOC_SWAP, &a);
}

static inline long kt_set_p(int fd, long p)
{
	return kt_ioc(fd, MNSCHED_IOC_SET_P, (unsigned long)p);
}

/* SPARE; on success *p is the P handed over or -1. */
static inline long kt_spare(int fd, int64_t timeout_ns, int *p)
{
	struct mnsched_spare a = { .timeout_ns = timeout_ns, .p = -2 };
	long r = kt_ioc_p(fd, MNSCHED_IOC_SPARE, &a);

	if (p)
		*p = a.p;
	return r;
}

/* Pin the calling thread to @cpu: 0, or -errno. */
static inline int kt_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static inline uint64_t kt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline void kt_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Wait up to @ms for counter @name to equal @want; returns its last value. */
static inline long kt_counter_wait(const char *name, long want, int ms)
{
	long v = t_counter(name);

	while (v != want && ms-- > 0) {
		kt_sleep_ns(1000000);
		v = t_counter(name);
	}
	return v;
}

/*
 * A test's baseline of counter @name.  Earlier tests' processes are reaped,
 * but their threads' Ms may not be freed yet: a dead thread's M is freed by
 * a workqueue after its last context switch (kmod/handoff.c), which can come
 * after its parent's waitpid() returned (a run under TCG read 7 at the start
 * of a test and saw it drop to 0 during the test).  Nothing else uses the
 * module in the test VM, so wait up to 2 s for 0; with another user, its
 * value then.
 */
static inline long kt_counter_base(const char *name)
{
	return kt_counter_wait(name, 0, 2000);
}

static inline struct mnsched_pstate *kt_map(int fd, unsigned int nr_p)
{
	void *a = mmap(NULL, (size_t)nr_p * getpagesize(), PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);

	return a == MAP_FAILED ? NULL : a;
}

static inline struct mnsched_pstate *kt_pst(struct mnsched_pstate *base, int p)
{
	return (struct mnsched_pstate *)((char *)base + (size_t)p * getpagesize());
}

static int kt_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static inline uint64_t kt_median(uint64_t *v, int n)
{
	qsort(v, n, sizeof(*v), kt_cmp_u64);
	return v[n / 2];
}

#endif
