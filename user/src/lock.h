/* SPDX-License-Identifier: MIT */
/*
 * lock.h - the runtime's internal lock: spin briefly, then sleep on a futex.
 *
 * Used for sched.lock, timers, rings and the sync objects: short critical
 * sections that must not park a G (the holder may be an M on g0).  Not for
 * channels: their locks are spinlocks with a plain-store unlock (chan.h).
 * Three states as in Drepper's "Futexes are tricky": 0 free, 1 locked,
 * 2 locked with sleepers.
 */
#ifndef MN_LOCK_H
#define MN_LOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "sys.h"

/* futex(2) without glibc's wrapper: -errno, errno untouched (sys.h). */
static inline long mn_futex(_Atomic uint32_t *uaddr, int op, uint32_t val,
			    const void *timeout)
{
	return mn_syscall6(202 /* SYS_futex */, (long)uaddr, op, val,
			   (long)timeout, 0, 0);
}

struct mn_lock {
	_Atomic uint32_t v;
};

#define MN_LOCK_INIT { 0 }

void mn_lock_slow(struct mn_lock *l) __attribute__((visibility("hidden")));
/* proc.c: true in the child of a fork() (see mn_fork_fatal). */
extern _Atomic bool mn_in_fork_child __attribute__((visibility("hidden")));
void mn_fork_fatal(const char *what) __attribute__((visibility("hidden"), noreturn, cold));
void mn_unlock_slow(struct mn_lock *l) __attribute__((visibility("hidden")));

static inline void mn_lock(struct mn_lock *l)
{
	uint32_t z = 0;

	if (!atomic_compare_exchange_strong_explicit(&l->v, &z, 1,
			memory_order_acquire, memory_order_relaxed))
		mn_lock_slow(l);
}

static inline int mn_trylock(struct mn_lock *l)
{
	uint32_t z = 0;

	return atomic_compare_exchange_strong_explicit(&l->v, &z, 1,
			memory_order_acquire, memory_order_relaxed);
}

static inline void mn_unlock(struct mn_lock *l)
{
	if (atomic_exchange_explicit(&l->v, 0, memory_order_release) == 2)
		mn_unlock_slow(l);
}

#endif
