/* SPDX-License-Identifier: MIT */
/*
 * park.h - how an idle M sleeps and is woken: the parker interface.
 *
 * Backends: park_futex.c (always available) and park_kmod.c (/dev/mnsched,
 * when the module is loaded).  MNSCHED_PARK=auto|futex|kmod chooses; auto
 * takes kmod when /dev/mnsched opens, else futex.
 *
 * Token semantics, for every backend: an unpark that arrives before the park
 * is kept, at most one, and makes the next park return at once.  Spurious
 * returns are allowed: callers re-check their condition in a loop.  This is
 * what makes "release the P, re-check every queue, then park" lose no
 * wake-up: a waker that saw the M idle leaves a token even if the M has not
 * reached the park yet.
 */
#ifndef MN_PARK_H
#define MN_PARK_H

#include <stdint.h>
#include <stdatomic.h>

/* Per-M parking state, embedded in struct mn_m. */
struct mn_park_state {
	_Atomic uint32_t word;	/* futex: 0 empty, 1 token, 2 sleeping */
	int kid;		/* kmod: kernel M id, -1 if not registered */
};

struct mn_parker {
	const char *name;
	/* Process-wide set-up before any M starts; 0 or -errno. */
	int (*init)(int nprocs);
	/* On the M's own thread, before it runs anything; 0 or -errno. */
	int (*m_init)(struct mn_park_state *ps);
	/* Block the calling M until unparked or timeout_ns (< 0: no timeout)
	 * has passed.  Returns 0 when woken (or spuriously), -ETIMEDOUT. */
	int (*park)(struct mn_park_state *ps, int64_t timeout_ns);
	/* Wake ps's M, or leave it a token. Callable from any thread. */
	void (*unpark)(struct mn_park_state *ps);
	/* Optional: unpark target and park self in one step. */
	int (*swap)(struct mn_park_state *self, struct mn_park_state *target,
		    int64_t timeout_ns);
	/* Optional: tell the backend which P the calling M holds (-1 none). */
	void (*set_p)(struct mn_park_state *ps, int p);
	/* Optional: park as a spare M.  Returns as park does, with *p = -1,
	 * or with *p = a P the backend handed over because its M blocked in a
	 * system call (the caller must still win the P's SYSCALL state). */
	int (*park_spare)(struct mn_park_state *ps, int64_t timeout_ns, int *p);
	/* Optional, on the M's thread: the backend preempts the M's Gs past
	 * slice_ns itself; a is MNSCHED_IOC_PREEMPT's argument (the thread's
	 * LOST byte, the runtime's text, where the M's current G and its
	 * mark are); 0 or -errno. */
	int (*preempt)(struct mn_park_state *ps,
		       const struct mnsched_preempt *a);
	/* Optional: the backend preempted this M, which is rejoining. */
	void (*rejoin)(struct mn_park_state *ps);
};

extern const struct mn_parker mn_parker_futex;
extern const struct mn_parker mn_parker_kmod;	/* park_kmod.c */

#endif
