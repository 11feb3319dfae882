// SPDX-License-Identifier: MIT
/*
 * lock.c - slow paths of the internal futex lock (lock.h).
 */
#include <stddef.h>
#include <linux/futex.h>
#include "lock.h"

static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

void mn_lock_slow(struct mn_lock *l)
{
	uint32_t c;

	/* Spin a little: critical sections are a few dozen instructions. */
	for (int i = 0; i < 100; i++) {
		c = 0;
		if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_weak_explicit(&l->v, &c, 1,
				memory_order_acquire, memory_order_relaxed))
			return;
		cpu_relax();
	}
	/* In a fork child the holder was a thread that did not come along:
	 * it will never hand over. */
	if (atomic_load_explicit(&mn_in_fork_child, memory_order_relaxed))
		mn_fork_fatal("a runtime call (a lock held by a thread of the parent)");
	/* Mark contended and sleep until the holder hands over. */
	while (atomic_exchange_explicit(&l->v, 2, memory_order_acquire) != 0)
		mn_futex(&l->v, FUTEX_WAIT_PRIVATE, 2, NULL);
}

void mn_unlock_slow(struct mn_lock *l)
{
	mn_futex(&l->v, FUTEX_WAKE_PRIVATE, 1, NULL);
}
