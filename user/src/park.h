/* SPDX-License-Identifier: MIT */
/*
 * park.h - how an idle M sleeps and is woken: the parker interface, and the
 * stack of parkers behind it.  Here "park" is always an M's sleep (a G that
 * waits is in gopark, proc.c).
 *
 * The stack (mn_sched.parker is its top):
 *
 *     ring parker    park_ring.c, only with io_uring (uring.c's set-up
 *          |         puts it on top): an idle M sleeps in an idle P's ring,
 *          |         where I/O completions wake it, when a ring needs one
 *          v
 *     base parker    one of park_futex.c (always available) and
 *                    park_kmod.c (/dev/mnsched, when the module is loaded);
 *                    park.c chooses: MNSCHED_PARK=auto|futex|kmod, auto
 *                    takes kmod when /dev/mnsched opens, else futex
 *
 * Which calls reach which:
 *   park, park_spare  ring: sleep in a ring if one needs a sleeper (then it
 *                     may return MN_PARK_IO), else the base's park or
 *                     park_spare (the module's PARK or SPARE ioctl)
 *   unpark            ring: the base's unpark (the token), then a WAKE CQE
 *                     if the M sleeps in a ring
 *   swap              ring: the base's swap (the module's SWAP ioctl: one
 *                     call wakes the target and parks the caller) when the
 *                     target does not sleep in a ring; else unpark, then
 *                     the base's park (park_ring.c says why that is safe)
 *   init, m_init,     the base's, unchanged
 *   set_p
 *
 * Token semantics, for every parker: an unpark that arrives before the park
 * is kept, at most one, and makes the next park return at once.  Spurious
 * returns are allowed: callers re-check their condition in a loop.  This is
 * what makes "release the P, re-check every queue, then park" lose no
 * wake-up: a waker that saw the M idle leaves a token even if the M has not
 * reached the park yet.
 */
#ifndef MN_PARK_H
#define MN_PARK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdatomic.h>

struct mn_p;
struct mn_ring;

/* Per-M parking state, embedded in struct mn_m. */
struct mn_park_state {
	_Atomic uint32_t word;	/* futex: 0 empty, 1 token, 2 sleeping */
	int kid;		/* kmod: kernel M id, -1 if not registered */
	/* ring parker (park_ring.c): */
	struct mn_ring *_Atomic ring;	/* the ring the M sleeps in, or NULL */
	_Atomic bool wake_direct;	/* a swap wakes it through the base */
	struct mn_p *io_p;		/* after MN_PARK_IO: the ring's P */
};

/* park or park_spare of the ring parker: woken by I/O completions, whose Gs
 * are on the global queue; ps->io_p is the P whose ring it slept in. */
#define MN_PARK_IO	1

struct mn_parker {
	const char *name;
	/* Process-wide set-up before any M starts; 0 or -errno. */
	int (*init)(int nprocs);
	/* On the M's own thread, before it runs anything; 0 or -errno. */
	int (*m_init)(struct mn_park_state *ps);
	/* Block the calling M until unparked or timeout_ns (< 0: no timeout)
	 * has passed.  Returns 0 when woken (or spuriously), -ETIMEDOUT, or
	 * MN_PARK_IO (ring parker only). */
	int (*park)(struct mn_park_state *ps, int64_t timeout_ns);
	/* Wake ps's M, or leave it a token. Callable from any thread. */
	void (*unpark)(struct mn_park_state *ps);
	/* Unpark target and park self (as park, never MN_PARK_IO); with the
	 * module in one step. */
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

/* Base parkers. */
extern const struct mn_parker mn_parker_futex;	/* park_futex.c */
extern const struct mn_parker mn_parker_kmod;	/* park_kmod.c */

/* The ring parker on top of base (park_ring.c; once, at io_uring set-up). */
const struct mn_parker *mn_parker_ring_on(const struct mn_parker *base)
	__attribute__((visibility("hidden")));

#endif
