// SPDX-License-Identifier: MIT
/*
 * mutex.c - mn_mutex and mn_rwmutex, after Go's sync/mutex.go and
 * sync/rwmutex.go.
 *
 * mn_mutex.state: bit 0 locked, bit 1 woken, bit 2 starving, the rest the
 * number of parked waiters.  m->sema/m->wl is the semaphore they park on.
 *
 * Invariants (Go's):
 *  - Lock's fast path is one CAS 0 -> locked, Unlock's one atomic add of
 *    -locked; everything else is the slow path.
 *  - Normal mode: waiters queue FIFO, but a woken waiter competes with
 *    new arrivals, which usually win (they are running, it is not).  A
 *    waiter that lost is requeued at the front.  "woken" is set while a
 *    waiter is awake and competing (or a spinner is about to take the
 *    lock), so unlock does not wake a second one.
 *  - A waiter that has waited over 1 ms sets "starving".  In starvation
 *    mode unlock hands the mutex to the front waiter (semrelease with
 *    handoff, which also yields the P to it); new arrivals neither spin nor
 *    take the lock, they queue at the back.  The waiter that receives the
 *    mutex in starvation mode leaves the mode when it is the last waiter or
 *    has waited under 1 ms.
 *  - Spinning happens only when it can pay off: fewer than 4 rounds, more
 *    than one CPU and P, another P running (the holder), and nothing in
 *    this P's run queue that the spin would delay.
 *  - "locked" is not owned by a G: any G may unlock.  Unlocking an unlocked
 *    mutex aborts.
 *  - Lock is a scheduling point (mn_preempt_check), as channel calls are.
 *
 * mn_rwmutex: readers count in rw->readers; a writer first takes rw->w
 * (excluding other writers), then subtracts MAX_READERS so new readers
 * see a negative count and park on rsema, and waits on wsema for the
 * readers already inside (rw->readerwait) to leave; the last of them
 * releases wsema.  Unlock adds MAX_READERS back and releases every reader
 * that parked meanwhile.
 */
#include <unistd.h>
#include "runtime.h"
#include "sync.h"

#define LOCKED		1
#define WOKEN		2
#define STARVING	4
#define WAITER_SHIFT	3
#define STARVATION_NS	1000000ll
#define SPIN_ROUNDS	4
#define SPIN_PAUSES	30

static int ncpu;	/* online CPUs, read once (relaxed atomics) */

static bool can_spin(int iter)
{
	struct mn_m *m;

	if (iter >= SPIN_ROUNDS)
		return false;
	if (!MN_RELAXED_GET(ncpu))
		MN_RELAXED_SET(ncpu, (int)sysconf(_SC_NPROCESSORS_ONLN));
	if (MN_RELAXED_GET(ncpu) <= 1 || mn_sched.nprocs <= atomic_load(&mn_sched.npidle) +
			 atomic_load(&mn_sched.nmspinning) + 1)
		return false;
	m = mn_curm();
	return m && m->p && mn_runqempty(m->p);
}

static inline void do_spin(void)
{
	for (int i = 0; i < SPIN_PAUSES; i++)
		__builtin_ia32_pause();
}

static inline int32_t load_state(struct mn_mutex *m)
{
	return __atomic_load_n(&m->state, __ATOMIC_RELAXED);
}

static inline bool cas_state(struct mn_mutex *m, int32_t old, int32_t new)
{
	return __atomic_compare_exchange_n(&m->state, &old, new, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/* old: the state the failed fast-path CAS saw (no reload of a contended
 * line). */
static void lock_slow(struct mn_mutex *m, int reason, int32_t old)
{
	int64_t wait_start = 0;
	bool starving = false, awoke = false;
	int iter = 0;

	for (;;) {
		int32_t new;

		/* Spin while locked in normal mode and spinning makes sense. */
		if ((old & (LOCKED | STARVING)) == LOCKED && can_spin(iter)) {
			/* Tell unlock not to wake a waiter: we are about to
			 * take the lock ourselves. */
			if (!awoke && !(old & WOKEN) && (old >> WAITER_SHIFT) &&
			    cas_state(m, old, old | WOKEN))
				awoke = true;
			do_spin();
			iter++;
			old = load_state(m);
			continue;
		}
		new = old;
		/* Starving: do not take it, new arrivals queue. */
		if (!(old & STARVING))
			new |= LOCKED;
		if (old & (LOCKED | STARVING))
			new += 1 << WAITER_SHIFT;
		/* Switch to starvation mode, if still locked (an unlock would
		 * expect waiters that a starving mutex does not have). */
		if (starving && (old & LOCKED))
			new |= STARVING;
		if (awoke) {
			if (!(new & WOKEN))
				mn_sync_misuse("mn_mutex: inconsistent mutex state "
					       "(memory corrupted or the mutex "
					       "was copied?)", m);
			new &= ~WOKEN;
		}
		if (!cas_state(m, old, new)) {
			old = load_state(m);
			continue;
		}
		if (!(old & (LOCKED | STARVING)))
			return;		/* locked it with the CAS */
		/* Waited before: back to the front of the queue. */
		{
			bool lifo = wait_start != 0;

			if (!wait_start)
				wait_start = (int64_t)mn_nanotime();
			mn_semacquire(&m->sema, &m->wl, lifo, reason);
		}
		starving = starving ||
			   (int64_t)mn_nanotime() - wait_start > STARVATION_NS;
		old = load_state(m);
		if (old & STARVING) {
			/* Handed to us; the state still says unlocked with us
			 * as a waiter: fix it up. */
			int32_t delta = LOCKED - (1 << WAITER_SHIFT);

			if ((old & (LOCKED | WOKEN)) || !(old >> WAITER_SHIFT))
				mn_sync_misuse("mn_mutex: inconsistent mutex state "
					       "in starvation mode (memory "
					       "corrupted or the mutex was "
					       "copied?)", m);
			if (!starving || (old >> WAITER_SHIFT) == 1)
				delta -= STARVING;	/* leave starvation mode */
			__atomic_fetch_add(&m->state, delta, __ATOMIC_ACQ_REL);
			return;
		}
		awoke = true;
		iter = 0;
	}
}

void mn_mutex_lock_reason(struct mn_mutex *m, int reason)
{
	int32_t zero = 0;

	/* A scheduling point, as a channel operation is: a G that loops on
	 * lock/unlock yields when sysmon asks (three plain loads). */
	mn_preempt_check();
	if (likely(__atomic_compare_exchange_n(&m->state, &zero, LOCKED, false,
					       __ATOMIC_ACQUIRE,
					       __ATOMIC_RELAXED)))
		return;
	lock_slow(m, reason, zero);
}

void mn_mutex_lock(struct mn_mutex *m)
{
	MN_ENTER();
	mn_mutex_lock_reason(m, MN_WAIT_MUTEX);
}

int mn_mutex_trylock(struct mn_mutex *m)
{
	MN_ENTER();
	int32_t old = load_state(m);

	if (old & (LOCKED | STARVING))
		return -EBUSY;
	/* There may be a woken waiter competing; just try once. */
	return __atomic_compare_exchange_n(&m->state, &old, old | LOCKED, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED) ?
	       0 : -EBUSY;
}

static void unlock_slow(struct mn_mutex *m, int32_t new)
{
	if (!((new + LOCKED) & LOCKED)) {
		__atomic_fetch_add(&m->state, LOCKED, __ATOMIC_RELAXED);
		mn_sync_misuse("mn_mutex_unlock of an unlocked mutex", m);
	}
	if (new & STARVING) {
		/* Hand the mutex to the first waiter; it runs now. */
		mn_semrelease(&m->sema, &m->wl, true);
		return;
	}
	for (int32_t old = new;;) {
		/* No waiters, or someone already took it, is awake, or the
		 * mutex is starving: nothing to do. */
		if (!(old >> WAITER_SHIFT) || (old & (LOCKED | WOKEN | STARVING)))
			return;
		new = (old - (1 << WAITER_SHIFT)) | WOKEN;
		if (cas_state(m, old, new)) {
			mn_semrelease(&m->sema, &m->wl, false);
			return;
		}
		old = load_state(m);
	}
}

void mn_mutex_unlock(struct mn_mutex *m)
{
	MN_ENTER();
	int32_t new = __atomic_add_fetch(&m->state, -LOCKED, __ATOMIC_RELEASE);

	if (unlikely(new != 0))
		unlock_slow(m, new);
}

/* ---- mn_rwmutex -------------------------------------------------------- */

#define MAX_READERS	(1 << 30)

void mn_rwmutex_rlock(struct mn_rwmutex *rw)
{
	MN_ENTER();
	mn_preempt_check();
	if (__atomic_add_fetch(&rw->readers, 1, __ATOMIC_ACQ_REL) < 0)
		/* A writer is pending: wait for it. */
		mn_semacquire(&rw->rsema, &rw->rwl, false, MN_WAIT_RWMUTEX);
}

int mn_rwmutex_tryrlock(struct mn_rwmutex *rw)
{
	MN_ENTER();
	int32_t c = __atomic_load_n(&rw->readers, __ATOMIC_RELAXED);

	for (;;) {
		if (c < 0)
			return -EBUSY;
		if (__atomic_compare_exchange_n(&rw->readers, &c, c + 1, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return 0;
	}
}

void mn_rwmutex_runlock(struct mn_rwmutex *rw)
{
	MN_ENTER();
	int32_t r = __atomic_add_fetch(&rw->readers, -1, __ATOMIC_ACQ_REL);

	if (r >= 0)
		return;
	if (r + 1 == 0 || r + 1 == -MAX_READERS) {
		__atomic_fetch_add(&rw->readers, 1, __ATOMIC_RELAXED);
		mn_sync_misuse("mn_rwmutex_runlock of an rwmutex that is not "
			       "read-locked", rw);
	}
	/* A writer waits: the last reader out lets it in. */
	if (__atomic_add_fetch(&rw->readerwait, -1, __ATOMIC_ACQ_REL) == 0)
		mn_semrelease(&rw->wsema, &rw->wwl, false);
}

void mn_rwmutex_lock(struct mn_rwmutex *rw)
{
	MN_ENTER();
	int32_t r;

	mn_mutex_lock_reason(&rw->w, MN_WAIT_RWMUTEX);
	/* Announce the writer; r readers are still inside. */
	r = __atomic_add_fetch(&rw->readers, -MAX_READERS, __ATOMIC_ACQ_REL) +
	    MAX_READERS;
	if (r != 0 &&
	    __atomic_add_fetch(&rw->readerwait, r, __ATOMIC_ACQ_REL) != 0)
		mn_semacquire(&rw->wsema, &rw->wwl, false, MN_WAIT_RWMUTEX);
}

int mn_rwmutex_trylock(struct mn_rwmutex *rw)
{
	MN_ENTER();
	int32_t zero = 0;

	if (mn_mutex_trylock(&rw->w))
		return -EBUSY;
	if (!__atomic_compare_exchange_n(&rw->readers, &zero, -MAX_READERS,
					 false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED)) {
		mn_mutex_unlock(&rw->w);
		return -EBUSY;
	}
	return 0;
}

void mn_rwmutex_unlock(struct mn_rwmutex *rw)
{
	MN_ENTER();
	int32_t r = __atomic_add_fetch(&rw->readers, MAX_READERS,
				       __ATOMIC_ACQ_REL);

	if (r >= MAX_READERS) {
		__atomic_fetch_add(&rw->readers, -MAX_READERS, __ATOMIC_RELAXED);
		mn_sync_misuse("mn_rwmutex_unlock of an rwmutex that is not "
			       "write-locked", rw);
	}
	/* Let in the readers that arrived while we held it. */
	for (int32_t i = 0; i < r; i++)
		mn_semrelease(&rw->rsema, &rw->rwl, false);
	mn_mutex_unlock(&rw->w);
}
