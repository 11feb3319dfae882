/* SPDX-License-Identifier: MIT */
/*
 * mn_test.h - helpers for the runtime selftests (kselftest harness).
 *
 * The selftests' own helpers are named t_ / T_ (this file, pstate_util.h;
 * kmod_util.h uses kt_, io_util.h io_), never mn_, which is libmnsched's.
 *
 * The harness forks a child per TEST, so each TEST may call mn_main once.
 * Code running in a G has no _metadata: it checks with G_ASSERT, which
 * prints the failed condition and exits the test child with status 1.
 */
#ifndef T_TEST_H
#define T_TEST_H

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <mnsched.h>
#include "kselftest_harness.h"

#define G_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: in goroutine %llu: %s failed\n",	\
			__FILE__, __LINE__,				\
			(unsigned long long)mn_goid(), #cond);		\
		fflush(stderr);						\
		_exit(1);						\
	}								\
} while (0)

#define G_ASSERT_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		fprintf(stderr, "%s:%d: in goroutine %llu: %s == %s failed "	\
			"(%lld != %lld)\n", __FILE__, __LINE__,		\
			(unsigned long long)mn_goid(), #a, #b, _a, _b);	\
		fflush(stderr);						\
		_exit(1);						\
	}								\
} while (0)

/* Run fn as the main G with the environment variable set (NULL: unset). */
static inline int t_main(const char *var, const char *val,
			 void (*fn)(void *), void *arg)
{
	if (var) {
		if (val)
			setenv(var, val, 1);
		else
			unsetenv(var);
	}
	return mn_main(fn, arg);
}

#define T_RUN(fn, arg)		ASSERT_EQ(0, mn_main(fn, arg))
#define T_RUN_PROCS(n, fn, arg) ASSERT_EQ(0, t_main("MNPROCS", #n, fn, arg))

/*
 * Run fn(arg) in a child process with stderr captured; returns its wait
 * status and puts up to cap-1 bytes of stderr into out.
 */
static inline int t_child(void (*fn)(void *), void *arg, char *out,
			  size_t cap)
{
	int pfd[2], status = 0;
	pid_t pid;
	size_t n = 0;
	ssize_t r;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], 2);
		fn(arg);
		_exit(0);
	}
	close(pfd[1]);
	while (n + 1 < cap && (r = read(pfd[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return status;
}

/*
 * From a G: wait until *v is not 0 (another G's result), sleeping 1 ms at a
 * time, for at most 10 s; returns *v (0 after the 10 s).  For "after X, G
 * gets Y" checks: a fixed sleep would fail on a loaded machine.
 */
static inline int t_await(atomic_int *v)
{
	for (int i = 0; i < 10000 && !atomic_load(v); i++)
		mn_sleep(1000 * 1000);
	return atomic_load(v);
}

/*
 * For a bound that a loaded machine may miss: run fn as the main G in a
 * forked child (as t_main(var, val, ...): var NULL leaves the
 * environment as it is), then ask ok() in that child; up to tries times
 * until ok() holds.  Returns the try that passed (1..tries), 0 when every
 * try missed, -1 when the runtime failed (mn_main's error, a G_ASSERT, a
 * crash).
 */
static inline int t_tries(const char *var, const char *val,
			  void (*fn)(void *), bool (*ok)(void), int tries)
{
	for (int i = 1; i <= tries; i++) {
		pid_t pid = fork();
		int st;

		if (pid < 0)
			return -1;
		if (pid == 0) {
			int err = t_main(var, val, fn, NULL);

			_exit(err ? 1 : ok() ? 0 : 3);
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
			return -1;
		if (WEXITSTATUS(st) == 0)
			return i;
		if (WEXITSTATUS(st) != 3)
			return -1;
	}
	return 0;
}

static inline bool t_sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return true;
#else
	return false;
#endif
}

#endif
