// SPDX-License-Identifier: MIT
/*
 * wg.c - mn_wg, Go's sync.WaitGroup.
 *
 * wg->state: counter in the high 32 bits, number of waiters in the low 32,
 * changed only atomically.  Invariants (Go's):
 *  - The counter never goes below 0 (abort: "negative counter").
 *  - Waiters are added only while the counter is > 0 (CAS on the whole
 *    word), and a waiter parks on wg->sema.
 *  - When an add brings the counter to 0 with w waiters, nothing else may
 *    touch the word at that moment (an add racing with that is misuse): it
 *    resets the state to 0 and releases the semaphore w times.  A waiter
 *    that wakes to a non-zero state means the group was reused before the
 *    previous wait returned (misuse).
 */
#include "runtime.h"
#include "sync.h"

void mn_wg_add(struct mn_wg *wg, int delta)
{
	MN_ENTER();
	uint64_t state = __atomic_add_fetch(&wg->state,
					    (uint64_t)(int64_t)delta << 32,
					    __ATOMIC_ACQ_REL);
	int32_t v = (int32_t)(state >> 32);
	uint32_t w = (uint32_t)state;

	if (v < 0)
		mn_sync_misuse("mn_wg_add: negative wait group counter", wg);
	if (w != 0 && delta > 0 && v == delta)
		mn_sync_misuse("mn_wg_add called concurrently with mn_wg_wait "
			       "(an add that starts from 0 must happen before "
			       "the wait)", wg);
	if (v > 0 || w == 0)
		return;
	/* Counter 0 with waiters: no add or wait may run concurrently now. */
	if (__atomic_load_n(&wg->state, __ATOMIC_ACQUIRE) != state)
		mn_sync_misuse("mn_wg_add called concurrently with mn_wg_wait",
			       wg);
	__atomic_store_n(&wg->state, 0, __ATOMIC_RELEASE);
	for (; w; w--)
		mn_semrelease(&wg->sema, &wg->wl, false);
}

void mn_wg_done(struct mn_wg *wg)
{
	MN_ENTER();
	mn_wg_add(wg, -1);
}

void mn_wg_wait(struct mn_wg *wg)
{
	MN_ENTER();
	uint64_t state = __atomic_load_n(&wg->state, __ATOMIC_ACQUIRE);

	for (;;) {
		if ((int32_t)(state >> 32) == 0)
			return;
		if (__atomic_compare_exchange_n(&wg->state, &state, state + 1,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			mn_semacquire(&wg->sema, &wg->wl, false, MN_WAIT_WG);
			if (__atomic_load_n(&wg->state, __ATOMIC_ACQUIRE) != 0)
				mn_sync_misuse("mn_wg reused before a previous "
					       "mn_wg_wait has returned", wg);
			return;
		}
	}
}
