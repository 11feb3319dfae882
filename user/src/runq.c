// SPDX-License-Identifier: MIT
/*
 * runq.c - the local run queues (one per P) and the global run queue.
 *
 * Local queue: a 256-slot ring plus a runnext slot.
 *  - Only the P's owner writes runqtail and the slots between tail and
 *    head+256; it publishes a slot with a release store of tail.
 *  - Anyone may consume: owner and thieves CAS runqhead forward after
 *    reading the slots (acquire on tail, so they see the slot contents).
 *    A thief that loses the CAS retries on fresh values; the slots it read
 *    are not its own until the CAS succeeds.
 *  - The owner may also push at the head (mn_runqput_next_front), moving
 *    the head index BACK.  Go never does, and its CAS on a bare index is
 *    safe only because the index never repeats.  Here it could: a thief
 *    reads index h and slot h (G1), the owner pops G1 (h+1) and pushes G2
 *    at the head (h again), and the thief's CAS h -> h+1 succeeds with
 *    G1, which then runs twice while G2 is lost.  So runqhead carries a
 *    tag in its high 32 bits that every head push increments: a (tag,
 *    index) pair never repeats (the index only grows under one tag).
 *  - runnext is exchanged with CAS by the owner and by thieves.
 * A G is made "runnext" when the running G just readied it (a channel hand-
 * off, a new G): it runs next and inherits the current time slice, as in
 * Go (*inherit of mn_runqget).  Two Gs that ready each other so share one
 * slice; when it has lasted 10 ms sysmon flags the P, the G that sees the
 * flag yields (to the tail of the queue) and the queue gets its turn.  A
 * cap on consecutive runnext picks (32, before) ended a ping-pong pair's
 * turn after 32 hand-offs while a computing G beside it kept whole 10 ms
 * slices: the pair ran ~500x slower than alone (Go's PingPongHog).
 *
 * Global queue: a singly linked FIFO under sched.lock; runqsize is also read
 * without the lock as a hint (the lock is taken before trusting it).
 */
#include <time.h>
#include "runtime.h"

static void runqputslow(struct mn_p *p, struct mn_g *g, uint64_t h, uint32_t t);

/* runqhead: index in the low half, ABA tag in the high half. */
static inline uint32_t hidx(uint64_t h)
{
	return (uint32_t)h;
}

/* The same tag, the index moved by n (wraps within the low half). */
static inline uint64_t hmove(uint64_t h, uint32_t n)
{
	return (h & ~(uint64_t)UINT32_MAX) | (uint32_t)(hidx(h) + n);
}

static inline uint32_t head_index(struct mn_p *p, memory_order mo)
{
	return hidx(atomic_load_explicit(&p->runqhead, mo));
}

/*
 * g into runnext; a G it displaces goes to the HEAD of the queue, not the
 * tail.  For child-first spawns (proc.c): the spawner's continuation waits
 * in runnext while the child runs, and the continuation it displaces (its
 * own parent's) must run before older work, or a spawn tree is walked
 * breadth-first and every level's Gs stay alive at once.  The owner pushes
 * at the head by writing slot head-1 and CASing head back; a thief that
 * read the old head fails its CAS and retries, so no G is taken twice.
 * Only while the queue is short (MN_FRONT_MAX): a long queue is a backlog,
 * and FIFO order keeps it fair.
 */
void mn_runqput_next_front(struct mn_p *p, struct mn_g *g)
{
	struct mn_g *old = atomic_load_explicit(&p->runnext, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(&p->runnext, &old, g,
			memory_order_release, memory_order_relaxed))
		;
	p->runnext_cont = true;
	if (old)
		mn_runqput_front(p, old);
}

/* old at the head of p's queue while it is short, else at its tail.  Owner
 * only. */
void mn_runqput_front(struct mn_p *p, struct mn_g *old)
{
	for (;;) {
		uint64_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
		uint32_t hi = hidx(h);

		if (t - hi >= MN_FRONT_MAX) {
			mn_runqput(p, old, false);
			return;
		}
		/* Slot hi-1 is outside [hi, t): nobody reads it until the CAS.
		 * New tag: a thief holding (tag, hi-1) from before fails. */
		atomic_store_explicit(&p->runq[(hi - 1) % MN_RUNQ_SIZE], old,
				      memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(&p->runqhead, &h,
				hmove(h + ((uint64_t)1 << 32), (uint32_t)-1),
				memory_order_release, memory_order_relaxed)) {
			MN_SH_SET(p, runq_len, t - hi + 1);
			return;
		}
	}
}

void mn_runqput(struct mn_p *p, struct mn_g *g, bool next)
{
	uint64_t h;
	uint32_t t;

	if (next) {
		struct mn_g *old = atomic_load_explicit(&p->runnext,
							memory_order_relaxed);

		/* Thieves may take runnext concurrently: CAS, not store. */
		while (!atomic_compare_exchange_weak_explicit(&p->runnext, &old, g,
				memory_order_release, memory_order_relaxed))
			;
		p->runnext_cont = false;
		if (!old)
			return;
		g = old;	/* the displaced G goes to the tail */
	}
	h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
	t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
	if (t - hidx(h) < MN_RUNQ_SIZE) {
		atomic_store_explicit(&p->runq[t % MN_RUNQ_SIZE], g,
				      memory_order_relaxed);
		atomic_store_explicit(&p->runqtail, t + 1, memory_order_release);
		MN_SH_SET(p, runq_len, t + 1 - hidx(h));
		return;
	}
	runqputslow(p, g, h, t);
}

/* Local queue full: move half of it and g to the global queue. */
static void runqputslow(struct mn_p *p, struct mn_g *g, uint64_t h, uint32_t t)
{
	struct mn_g *batch[MN_RUNQ_SIZE / 2 + 1];
	uint32_t n = (t - hidx(h)) / 2;

	for (uint32_t i = 0; i < n; i++)
		batch[i] = atomic_load_explicit(&p->runq[(hidx(h) + i) % MN_RUNQ_SIZE],
						memory_order_relaxed);
	if (!atomic_compare_exchange_strong_explicit(&p->runqhead, &h, hmove(h, n),
			memory_order_release, memory_order_relaxed)) {
		/* Thieves made room meanwhile: the fast path will fit. */
		mn_runqput(p, g, false);
		return;
	}
	batch[n] = g;
	for (uint32_t i = 0; i < n; i++)
		batch[i]->schedlink = batch[i + 1];
	mn_globrunqput_batch(batch[0], batch[n], (int)n + 1);
}

/* The next G of p's own queues; *inherit (if not NULL): it came from
 * runnext and may run in the current time slice. */
struct mn_g *mn_runqget(struct mn_p *p, bool *inherit)
{
	struct mn_g *g = mn_runqget_next(p);

	if (inherit)
		*inherit = g != NULL;
	return g ? g : mn_runqget_queue(p);
}

/* The head of p's local queue (not runnext), or NULL. */
struct mn_g *mn_runqget_queue(struct mn_p *p)
{
	uint64_t h;
	uint32_t t;

	for (;;) {
		h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
		t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);
		if (t == hidx(h))
			break;
		struct mn_g *g = atomic_load_explicit(&p->runq[hidx(h) % MN_RUNQ_SIZE],
						      memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(&p->runqhead, &h,
				hmove(h, 1), memory_order_release,
				memory_order_relaxed)) {
			MN_SH_SET(p, runq_len, t - hidx(h) - 1);
			return g;
		}
	}
	return NULL;
}

bool mn_runqempty(struct mn_p *p)
{
	/* Re-read until head, tail and runnext are seen consistently, as Go's
	 * runqempty does: a G moving from runnext to the queue must not make
	 * both look empty. */
	for (;;) {
		uint32_t h = head_index(p, memory_order_seq_cst);
		uint32_t t = atomic_load(&p->runqtail);
		struct mn_g *n = atomic_load(&p->runnext);

		if (t == atomic_load(&p->runqtail))
			return h == t && n == NULL;
	}
}

uint32_t mn_runqlen(struct mn_p *p)
{
	uint32_t h = head_index(p, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_relaxed);

	return (t - h) + (atomic_load_explicit(&p->runnext,
					       memory_order_relaxed) != NULL);
}

/*
 * Test hook: thieves leave a running P's runnext alone, so only sysmon's
 * safety net can move it (rt_wakeup_stress tests the net with it).
 */
static _Atomic bool debug_no_runnext_steal;

__attribute__((visibility("default"))) void mn_debug_no_runnext_steal(bool on);
void mn_debug_no_runnext_steal(bool on)
{
	atomic_store(&debug_no_runnext_steal, on);
}

/*
 * Grab half of p's queue into batch[batchhead...] (a ring of MN_RUNQ_SIZE).
 * Called by thieves.  Returns the number taken.
 */
uint32_t mn_runqgrab(struct mn_p *p, struct mn_g **batch, uint32_t batchhead,
		     bool steal_runnext)
{
	for (;;) {
		uint64_t h = atomic_load_explicit(&p->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&p->runqtail, memory_order_acquire);
		uint32_t n = t - hidx(h);

		n = n - n / 2;
		if (n == 0) {
			struct mn_g *next;

			if (!steal_runnext)
				return 0;
			next = atomic_load_explicit(&p->runnext,
						    memory_order_relaxed);
			if (!next)
				return 0;
			/*
			 * The owner is probably about to run it (it just
			 * readied it and is blocking): give it a moment, so a
			 * ping-pong pair stays on one P instead of bouncing.
			 * Sleep ~3 us (as Go; polling would pull the owner's
			 * cache lines away).  If next is still there and the
			 * owner did not switch meanwhile, the owner is stuck in
			 * a long G: take it.  If the owner switched but next is
			 * still there, the owner started some other G (the
			 * child a spawner waits behind): look again, up to
			 * MN_RUNNEXT_WAITS times.  Giving up there stranded
			 * the spawner for good while the child ran long
			 * (rt_wakeup_stress, runnext_g_of_a_busy_p_is_taken).
			 * A P that switches at every look (the same G back in
			 * runnext each time: a ping-pong pair) keeps its G.
			 */
			if (mn_pstatus(p) == MNSCHED_P_RUNNING) {
				struct timespec ts = { 0, 3000 };
				int w;

				if (unlikely(atomic_load_explicit(&debug_no_runnext_steal,
						memory_order_relaxed)))
					return 0;

				for (w = 0; w < MN_RUNNEXT_WAITS; w++) {
					uint64_t sw = MN_SH_GET(p, schedtick) +
						      MN_RELAXED_GET(p->ninherit);

					nanosleep(&ts, NULL);
					if (atomic_load_explicit(&p->runnext,
							memory_order_relaxed) != next)
						return 0;
					if (MN_SH_GET(p, schedtick) +
					    MN_RELAXED_GET(p->ninherit) == sw)
						break;
				}
				if (w == MN_RUNNEXT_WAITS)
					return 0;
			}
			if (!atomic_compare_exchange_strong_explicit(&p->runnext,
					&next, NULL, memory_order_acquire,
					memory_order_relaxed))
				continue;
			batch[batchhead % MN_RUNQ_SIZE] = next;
			return 1;
		}
		if (n > MN_RUNQ_SIZE / 2)
			continue;	/* read inconsistent h and t */
		for (uint32_t i = 0; i < n; i++)
			batch[(batchhead + i) % MN_RUNQ_SIZE] =
				atomic_load_explicit(&p->runq[(hidx(h) + i) % MN_RUNQ_SIZE],
						     memory_order_relaxed);
		if (atomic_compare_exchange_strong_explicit(&p->runqhead, &h,
				hmove(h, n), memory_order_release,
				memory_order_relaxed))
			return n;
	}
}

/* ---- global queue (sched.lock held unless noted) ---- */

void mn_globrunqput(struct mn_g *g)
{
	g->schedlink = NULL;
	if (mn_sched.runqtail)
		mn_sched.runqtail->schedlink = g;
	else
		mn_sched.runqhead = g;
	mn_sched.runqtail = g;
	atomic_fetch_add(&mn_sched.runqsize, 1);
}

/* Takes sched.lock itself. */
void mn_globrunqput_batch(struct mn_g *head, struct mn_g *tail, int n)
{
	tail->schedlink = NULL;
	mn_lock(&mn_sched.lock);
	if (mn_sched.runqtail)
		mn_sched.runqtail->schedlink = head;
	else
		mn_sched.runqhead = head;
	mn_sched.runqtail = tail;
	atomic_fetch_add(&mn_sched.runqsize, n);
	mn_unlock(&mn_sched.lock);
}

/* Take one G to run and up to half of a local queue's worth into p. */
struct mn_g *mn_globrunqget(struct mn_p *p, int max)
{
	int32_t sz = atomic_load(&mn_sched.runqsize);
	int32_t n;
	struct mn_g *g;

	if (sz == 0)
		return NULL;
	n = sz / mn_sched.nprocs + 1;
	if (n > sz)
		n = sz;
	if (max > 0 && n > max)
		n = max;
	if (n > MN_RUNQ_SIZE / 2)
		n = MN_RUNQ_SIZE / 2;
	atomic_fetch_sub(&mn_sched.runqsize, n);
	g = mn_sched.runqhead;
	mn_sched.runqhead = g->schedlink;
	while (--n > 0) {
		struct mn_g *g1 = mn_sched.runqhead;

		mn_sched.runqhead = g1->schedlink;
		mn_runqput(p, g1, false);
	}
	if (!mn_sched.runqhead)
		mn_sched.runqtail = NULL;
	return g;
}
