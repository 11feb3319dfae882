// SPDX-License-Identifier: MIT
/*
 * sema.c - the runtime semaphore the sync primitives park on (Go's
 * runtime/sema.go, with the wait queue in the object instead of a global
 * tree of addresses).
 *
 * Invariants:
 *  - *addr counts units nobody has taken.  A unit is taken only by a CAS
 *    that decrements a non-zero *addr (cansemacquire), by an acquirer for
 *    itself or by a releaser for the waiter it is about to wake.
 *  - wl->lock protects the list; wl->nwait counts the Gs on it and is
 *    also read without the lock.  An acquirer increments nwait and then
 *    re-checks *addr; a releaser increments *addr and then reads nwait:
 *    both sequences are seq_cst, so at least one side sees the other and
 *    no waiter is left parked with a unit free (the store-load argument of
 *    proc.c's wake-ups).
 *  - A waiter on the list is fully parked: it enqueues itself under the
 *    lock and the lock is released after its context is saved
 *    (mn_gopark_unlock).  A releaser removes it under the lock, reads its
 *    G, and readies it after the unlock; nothing on the waiter's stack is
 *    touched after mn_goready.
 *  - A woken waiter already owns its unit: it returns without another
 *    check, and there are no spurious wake-ups.
 */
#include "runtime.h"
#include "sync.h"

void mn_sync_misuse(const char *what, const void *obj)
{
	mn_fatal("%s (%p, goroutine %llu)", what, obj,
		 (unsigned long long)mn_goid());
}

static inline bool cansemacquire(uint32_t *addr)
{
	uint32_t v = __atomic_load_n(addr, __ATOMIC_SEQ_CST);

	while (v) {
		if (__atomic_compare_exchange_n(addr, &v, v - 1, false,
						__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return true;
	}
	return false;
}

void mn_semacquire(uint32_t *addr, struct mn_waitlist *wl, bool lifo, int reason)
{
	struct mn_waiter w;
	struct mn_lock *l = mn_wl_lock(wl);

	if (cansemacquire(addr))
		return;
	mn_need_m("a blocking sync call");
	w.g = mn_curg();
	w.ticket = 0;
	mn_lock(l);
	__atomic_fetch_add(&wl->nwait, 1, __ATOMIC_SEQ_CST);
	if (cansemacquire(addr)) {
		__atomic_fetch_sub(&wl->nwait, 1, __ATOMIC_RELAXED);
		mn_unlock(l);
		return;
	}
	if (lifo)
		mn_list_push_front(&wl->q, &w.node);
	else
		mn_list_push_back(&wl->q, &w.node);
	mn_gopark_unlock(l, reason);
	/* The releaser took a unit for us. */
}

void mn_semrelease(uint32_t *addr, struct mn_waitlist *wl, bool handoff)
{
	struct mn_lock *l = mn_wl_lock(wl);
	struct mn_waiter *w;
	struct mn_g *g, *cur;

	__atomic_fetch_add(addr, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&wl->nwait, __ATOMIC_SEQ_CST) == 0)
		return;
	mn_lock(l);
	if (__atomic_load_n(&wl->nwait, __ATOMIC_RELAXED) == 0 ||
	    !cansemacquire(addr)) {
		/* No waiter, or a running G took the unit first. */
		mn_unlock(l);
		return;
	}
	w = mn_waiter_of(mn_list_pop_front(&wl->q));
	__atomic_fetch_sub(&wl->nwait, 1, __ATOMIC_RELAXED);
	g = w->g;
	mn_unlock(l);
	mn_goready(g);
	/* Hand-off: let the woken G (our runnext) run now, on this P. */
	cur = mn_curg();
	if (handoff && cur && !cur->is_g0)
		mn_yield();
}
