/* SPDX-License-Identifier: MIT */
/*
 * lock.h - the runtime's internal lock: spin briefly, then sleep on a futex.
 *
 * Used for sched.lock and channel locks: short critical sections that must
 * not park a G (the holder may be an M on g0).  Three states as in Drepper's
 * "Futexes are tricky": 0 free, 1 locked, 2 locked with sleepers.
 */
#ifndef MN_LOCK_H
#define MN_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

/*
 * futex(2) without glibc's wrapper: returns -errno and never writes errno,
 * so the runtime's own waits cannot clobber a G's errno.
 */
static inline long mn_futex(_Atomic uint32_t *uaddr, int op, uint32_t val,
			    const void *timeout)
{
	register long r10 __asm__("r10") = (long)timeout;
	register long r8 __asm__("r8") = 0;
	register long r9 __asm__("r9") = 0;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(202L /* SYS_futex */), "D"(uaddr), "S"((long)op),
			   "d"((long)val), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

struct mn_lock {
	_Atomic uint32_t v;
};

#define MN_LOCK_INIT { 0 }

void mn_lock_slow(struct mn_lock *l) __attribute__((visibility("hidden")));
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
