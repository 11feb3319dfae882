// SPDX-License-Identifier: MIT
/*
 * park_ring.c - the ring parker: an idle M sleeps in an io_uring, composed
 * on top of the base parker (futex or kmod; park.h draws the stack).
 *
 * With io_uring on, completions of an idle P's requests need an M to reap
 * them.  So an M that parks first tries to sleep in
 * io_uring_enter(GETEVENTS) on the ring of an idle P with requests in
 * flight and no sleeper yet (mn_ring_claim, uring.c); a completion wakes
 * it, it reaps the Gs to the global queue and returns MN_PARK_IO with the
 * ring's P in ps->io_p (stopm then takes a P, best that one).  With no such
 * ring it parks in the base parker as usual.
 *
 * Invariants:
 *  - Token first.  unpark always leaves the base parker's token, then
 *    looks at ps->ring and, if the M sleeps in a ring, posts a WAKE CQE
 *    there (mn_ring_wake).  The sleeper stores ps->ring and then looks for
 *    a token, both seq_cst: one of them sees the other, so either the
 *    sleeper takes the token and does not sleep, or the unparker wakes the
 *    ring.  A sleeper woken by a CQE takes the token it may have left too,
 *    or its next park would return at once for nothing.
 *  - swap.  The base's swap (the module's SWAP ioctl) leaves the token in
 *    the kernel and sleeps: it cannot look at ps->ring afterwards.  So the
 *    swapper first stores target->wake_direct and then loads target->ring
 *    (seq_cst), and a sleeper loads wake_direct after storing ps->ring: if
 *    the swapper sees no ring the sleeper sees wake_direct, gives the ring
 *    up and parks in the base, where the SWAP's token finds it; if the
 *    swapper sees the ring it unparks (token, then WAKE) and parks itself
 *    in the base.
 *  - wake_direct is cleared whenever a park returns, for any reason.  That
 *    loses nothing: a swap's target is an M that startm gave a P (nextp)
 *    before the swap, under sched.lock, and stopm reads nextp under that
 *    lock after every return; so a return either comes late enough to see
 *    nextp (the M leaves stopm, and a late token only makes its next park
 *    return early) or its clearing is ordered before the swapper's store.
 *    A stale wake_direct only makes one park use the base instead of a
 *    ring: completions then wait for a spinning M or sysmon (<= one tick).
 */
#include <errno.h>
#include <stddef.h>
#include "runtime.h"
#include "io.h"

#define NOSLEEP	(-1000)	/* no ring needs a sleeper: use the base */

static const struct mn_parker *base;
static struct mn_parker ring_parker;

/* Take a token the unparker left, without blocking. */
static bool token_take(struct mn_park_state *ps)
{
	if (base == &mn_parker_futex) {
		uint32_t one = 1;

		return atomic_compare_exchange_strong(&ps->word, &one, 0);
	}
	return base->park(ps, 0) == 0;
}

/* Sleep in a ring that needs a sleeper: as park, or NOSLEEP for none. */
static int ring_sleep(struct mn_park_state *ps, int64_t timeout_ns)
{
	struct mn_m *m = (struct mn_m *)((char *)ps - offsetof(struct mn_m, park));
	struct mn_ring *r = mn_ring_claim(m);
	struct mn_p *p;
	int ret;

	if (!r)
		return NOSLEEP;
	atomic_store(&ps->ring, r);	/* then the token: see the top */
	if (atomic_load(&ps->wake_direct)) {
		ret = NOSLEEP;		/* a SWAP's token is on its way */
	} else if (token_take(ps)) {
		ret = 0;
	} else {
		ret = mn_ring_wait(r, timeout_ns);
		token_take(ps);
	}
	atomic_store(&ps->ring, NULL);
	p = mn_ring_release(r);
	if (p) {
		ps->io_p = p;
		return MN_PARK_IO;
	}
	return ret;
}

static int ring_park(struct mn_park_state *ps, int64_t timeout_ns)
{
	int ret = ring_sleep(ps, timeout_ns);

	if (ret == NOSLEEP)
		ret = base->park(ps, timeout_ns);
	atomic_store(&ps->wake_direct, false);
	return ret;
}

static int ring_park_spare(struct mn_park_state *ps, int64_t timeout_ns, int *p)
{
	int ret = ring_sleep(ps, timeout_ns);

	*p = -1;
	if (ret == NOSLEEP)
		ret = base->park_spare(ps, timeout_ns, p);
	atomic_store(&ps->wake_direct, false);
	return ret;
}

static void ring_unpark(struct mn_park_state *ps)
{
	struct mn_ring *r;

	base->unpark(ps);	/* the token first */
	r = atomic_load(&ps->ring);
	if (r)
		mn_ring_wake(r);
}

static int ring_swap(struct mn_park_state *self, struct mn_park_state *target,
		     int64_t timeout_ns)
{
	int ret;

	atomic_store(&target->wake_direct, true);
	if (!atomic_load(&target->ring)) {
		ret = base->swap(self, target, timeout_ns);
	} else {
		ring_unpark(target);
		ret = base->park(self, timeout_ns);
	}
	atomic_store(&self->wake_direct, false);
	return ret;
}

const struct mn_parker *mn_parker_ring_on(const struct mn_parker *b)
{
	base = b;
	ring_parker = *b;
	ring_parker.park = ring_park;
	ring_parker.park_spare = b->park_spare ? ring_park_spare : NULL;
	ring_parker.unpark = ring_unpark;
	ring_parker.swap = ring_swap;
	return &ring_parker;
}
