// SPDX-License-Identifier: MIT
/*
 * select.c - mn_select, Go's selectgo for C, and the timed channel calls.
 *
 * Invariants (as Go's select.go):
 *
 *  - pollorder: the cases with a channel, in a uniformly random order
 *    (inside-out Fisher-Yates on the M's fastrand).  The first ready case in
 *    that order is taken, so every ready case is equally likely: no case can
 *    starve another.
 *  - lockorder: the same cases sorted by channel address.  Channels are
 *    locked in that order, a channel that appears in several cases once, and
 *    unlocked in any order.  Two selects over the same channels (in any case
 *    order) therefore take their locks in the same global order and cannot
 *    deadlock; chan.c takes a single channel lock at a time and the timer
 *    heap lock is only ever taken inside channel locks, never around one.
 *  - A blocked select has one sudog per case (on its stack), each in its
 *    channel's wait queue with sel pointing at the select's state.
 *    g->selectdone is 0 while the select waits; whoever turns it 0 -> 1 (a
 *    channel peer in mn_waitq_dequeue, close, or the timeout timer) owns
 *    the wake-up: it sets g->param (the winning sudog, or NULL for the
 *    timeout) and readies the G.  Every other waker skips the sudog.
 *  - The G's context is saved before any waker can see its sudogs: the
 *    channel locks are released, and the timeout timer armed, by the code
 *    that runs next on the M (selparkcommit via mn_gopark).  selparkcommit
 *    touches nothing on the G's stack after the last unlock.  A G woken by
 *    a channel does not relock its channels, so it could return while
 *    selparkcommit still walks its lockorder; but mn_select_detach locks
 *    every channel but the winner's, and the winner's was unlocked before
 *    it could win, so the G is readied only after selparkcommit's last
 *    unlock.
 *  - The losing sudogs leave their queues before the select returns (its
 *    stack is reused then), each under its channel's lock, since losing
 *    wakers may still look at them.  A channel peer or close that wins
 *    does it (mn_select_detach) after releasing its own channel's lock and
 *    before readying the G; the select itself does it only after a timeout.
 *    It stops the timer (mn_timer_stop waits for a running fn).
 *
 * When a channel may be freed (the promise mnsched.h makes): once no call
 * on it is running or will be made.  A blocked select uses all its
 * channels until it is completed; the send, receive or close that
 * completes it returns only after the select has let go of every channel,
 * and the select, once woken by a channel, touches none of them again.  So
 * "my send to that select returned, now free the channel" (or another
 * channel of that select) is safe.  After a timeout the select G itself
 * relocks its channels: the program cannot know it timed out before the
 * select returns, so those channels are still in use until then.
 *
 * Semantics beyond Go's: a send case on a closed channel is ready and is
 * taken with ok = 0 (mn_chan_send returns -EPIPE there, Go panics); a
 * NULL channel is never ready (Go's nil channel); a select with no cases
 * and no timeout parks forever ("select (no cases)"), which the deadlock
 * detector reports when nothing else can run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"
#include "chan.h"
#include "timer.h"

#define SELECT_SMALL	16		/* cases handled without malloc */
#define SELECT_MAX	65536		/* Go's limit */

struct mn_selstate {
	struct mn_case *cases;
	uint16_t *lockorder;		/* indices of cases with a channel */
	int nlock;
	struct mn_sudog *sg;		/* one per case (lockorder indexed by case) */
	struct mn_timer *timer;		/* NULL: no timeout */
};

static __thread uint32_t nonm_rand __attribute__((tls_model("initial-exec")));	/* fastrand for plain threads (polls) */

static inline uint32_t sel_rand(struct mn_m *m)
{
	if (m)
		return mn_fastrand(&m->fastrand);
	if (!nonm_rand)
		nonm_rand = (uint32_t)(uintptr_t)&nonm_rand | 1;
	return mn_fastrand(&nonm_rand);
}

/* Uniform in [0, n) (Lemire's multiply-shift; bias < n / 2^32). */
static inline uint32_t sel_uniform(struct mn_m *m, uint32_t n)
{
	return (uint32_t)(((uint64_t)sel_rand(m) * n) >> 32);
}

static void sellock(struct mn_case *cases, const uint16_t *lo, int n,
		    const char *what)
{
	struct mn_chan *last = NULL;

	for (int i = 0; i < n; i++) {
		struct mn_chan *c = cases[lo[i]].chan;

		if (c != last)
			mn_chan_lock(c, what);
		last = c;
	}
}

/* Take s (a losing sudog of its select) off case ci's queue; lock held. */
static inline void selremove(struct mn_case *cases, int ci, struct mn_sudog *s)
{
	struct mn_chan *c = cases[ci].chan;

	mn_waitq_remove(cases[ci].dir == MN_RECV ? &c->recvq : &c->sendq, s);
}

/*
 * A channel peer or close won the blocked select that owns won (its
 * selectdone CAS) and holds no channel lock: take the select's other
 * sudogs off their channels before the G is readied (the G is parked, so
 * its stack cannot go away meanwhile), one channel lock at a time (no lock
 * order to respect).  Losing wakers on those channels may have popped some
 * already: mn_waitq_remove ignores a sudog not in the queue.
 */
void mn_select_detach(struct mn_sudog *won)
{
	struct mn_selstate *st = won->sel;
	struct mn_case *cases = st->cases;
	const uint16_t *lo = st->lockorder;
	struct mn_chan *held = NULL;

	for (int i = 0; i < st->nlock; i++) {
		int ci = lo[i];
		struct mn_sudog *s = &st->sg[ci];
		struct mn_chan *c = cases[ci].chan;

		if (s == won)
			continue;	/* the winner dequeued it */
		if (c != held) {
			if (held)
				mn_chan_unlock(held);
			mn_chan_lock(c, "mn_select (a waker)");
			held = c;
		}
		selremove(cases, ci, s);
	}
	if (held)
		mn_chan_unlock(held);
}

static void selunlock(struct mn_case *cases, const uint16_t *lo, int n)
{
	/* Backwards, skipping repeats: same set of locks as sellock. */
	for (int i = n - 1; i >= 0; i--) {
		struct mn_chan *c = cases[lo[i]].chan;

		if (i > 0 && cases[lo[i - 1]].chan == c)
			continue;
		mn_chan_unlock(c);
	}
}

static int cmp_chan(const void *a, const void *b, void *arg)
{
	struct mn_case *cases = arg;
	uintptr_t x = (uintptr_t)cases[*(const uint16_t *)a].chan;
	uintptr_t y = (uintptr_t)cases[*(const uint16_t *)b].chan;

	return x < y ? -1 : x > y;
}

static void sort_lockorder(struct mn_case *cases, uint16_t *lo, int n)
{
	if (n > SELECT_SMALL) {
		qsort_r(lo, (size_t)n, sizeof(*lo), cmp_chan, cases);
		return;
	}
	for (int i = 1; i < n; i++) {
		uint16_t v = lo[i];
		uintptr_t cv = (uintptr_t)cases[v].chan;
		int j = i - 1;

		while (j >= 0 && (uintptr_t)cases[lo[j]].chan > cv) {
			lo[j + 1] = lo[j];
			j--;
		}
		lo[j + 1] = v;
	}
}

/* Timeout: claim the select, if no channel has, and wake the G. */
static void select_timeout_fire(void *arg)
{
	struct mn_g *g = arg;
	uint32_t zero = 0;

	if (atomic_compare_exchange_strong(&g->selectdone, &zero, 1))
		mn_goready(g);	/* g->param stays NULL: timed out */
}

/*
 * After the switch away from the select's G: arm the timeout and unlock
 * the channels.  Nothing on the G's stack may be touched after the last
 * unlock (the G may already be running elsewhere), hence the copies.
 */
static void selparkcommit(struct mn_g *g, void *arg)
{
	struct mn_selstate *st = arg;
	struct mn_case *cases = st->cases;
	const uint16_t *lo = st->lockorder;
	int n = st->nlock;

	if (st->timer && mn_timer_add(st->timer, st->timer->when, 0))
		select_timeout_fire(g);	/* no memory for the heap: time out now */
	for (int i = n - 1; i >= 0; i--) {
		struct mn_chan *c = cases[lo[i]].chan;

		if (i > 0 && cases[lo[i - 1]].chan == c)
			continue;
		mn_chan_unlock(c);	/* the last one may let g return */
	}
}

static void check_cases(struct mn_case *cases, int n)
{
	for (int i = 0; i < n; i++) {
		struct mn_case *k = &cases[i];

		if (k->dir != MN_SEND && k->dir != MN_RECV)
			mn_fatal("mn_select: case %d has dir %d, not MN_SEND or "
				 "MN_RECV (goroutine %llu)", i, k->dir,
				 (unsigned long long)mn_goid());
		if (k->chan && !k->elem && k->chan->elemsize)
			mn_fatal("mn_select: case %d (%s on channel %p) has a NULL "
				 "elem but the channel carries %zu-byte elements "
				 "(goroutine %llu)", i,
				 k->dir == MN_SEND ? "send" : "receive",
				 (void *)k->chan, k->chan->elemsize,
				 (unsigned long long)mn_goid());
		k->ok = 0;
	}
}

/* Block forever: select {} in Go. */
static void __attribute__((noreturn)) block_forever(void)
{
	mn_need_m("mn_select");
	for (;;)
		mn_gopark(NULL, NULL, MN_WAIT_SELECT_NO_CASES);
}

/*
 * One case that is ready now, with every channel locked; performs it,
 * unlocks everything and readies the peer.  Returns false when not ready
 * (locks kept).
 */
static bool try_case(struct mn_case *cases, int i, const uint16_t *lo, int nlock)
{
	struct mn_case *k = &cases[i];
	struct mn_chan *c = k->chan;
	struct mn_sudog *s;
	struct mn_g *peer = NULL;

	if (k->dir == MN_RECV) {
		s = mn_waitq_dequeue(&c->sendq);
		if (s) {
			peer = s->g;
			mn_chan_recv_from_locked(c, s, k->elem);
			k->ok = 1;
		} else if (c->qcount > 0) {
			mn_chan_buf_take(c, k->elem);
			k->ok = 1;
		} else if (c->closed) {
			if (k->elem && c->elemsize)
				memset(k->elem, 0, c->elemsize);
			k->ok = 0;
		} else {
			return false;
		}
	} else {
		s = c->closed ? NULL : mn_waitq_dequeue(&c->recvq);
		if (c->closed) {
			k->ok = 0;	/* as mn_chan_send's -EPIPE */
		} else if (s) {
			peer = s->g;
			mn_chan_send_to_locked(c, s, k->elem);
			k->ok = 1;
		} else if (c->qcount < c->dataqsiz) {
			mn_chan_buf_put(c, k->elem);
			k->ok = 1;
		} else {
			return false;
		}
	}
	selunlock(cases, lo, nlock);
	if (peer) {
		mn_sudog_detach(s);	/* peer is a select: let go of its channels */
		mn_goready(peer);
	}
	return true;
}

/* One case and no timeout, or a poll: the plain channel calls. */
static int select_one(struct mn_case *k, bool block)
{
	int r;

	if (k->dir == MN_RECV) {
		r = block ? mn_chan_recv(k->chan, k->elem) :
			    mn_chan_try_recv(k->chan, k->elem);
		if (r == -EAGAIN)
			return r;
		k->ok = r;
		return 0;
	}
	r = block ? mn_chan_send(k->chan, k->elem) :
		    mn_chan_try_send(k->chan, k->elem);
	if (r == -EAGAIN)
		return r;
	k->ok = r == 0;
	return 0;
}

/* mn_select; what names the public call (the timed channel calls). */
static int selectgo(struct mn_case *cases, int n, int64_t timeout_ns,
		    const char *what)
{
	uint16_t pollbuf[SELECT_SMALL], lockbuf[SELECT_SMALL];
	struct mn_sudog sgbuf[SELECT_SMALL];
	uint16_t *pollorder = pollbuf, *lockorder = lockbuf;
	struct mn_sudog *sg = sgbuf;
	struct mn_selstate st;
	struct mn_timer timer;
	struct mn_m *m;
	struct mn_g *g;
	int npoll = 0, ret = -EAGAIN;

	if (n < 0 || n > SELECT_MAX || (n > 0 && !cases))
		return -EINVAL;
	check_cases(cases, n);
	m = timeout_ns != 0 ? mn_need_m("mn_select") : mn_curm();
	if (n == 0) {
		if (timeout_ns < 0)
			block_forever();
		if (timeout_ns > 0) {
			mn_sleep((uint64_t)timeout_ns);
			return -ETIMEDOUT;
		}
		return -EAGAIN;
	}
	if (n == 1 && cases[0].chan && timeout_ns <= 0)
		return select_one(&cases[0], timeout_ns < 0);
	mn_preempt_check();
	m = mn_curm();		/* a preemption may have moved us */

	if (n > SELECT_SMALL) {
		pollorder = malloc((size_t)n * 2 * sizeof(*pollorder));
		if (!pollorder)
			return -ENOMEM;
		lockorder = pollorder + n;
		sg = NULL;
	}

	/* pollorder: random permutation of the cases that have a channel. */
	for (int i = 0; i < n; i++) {
		uint32_t j;

		if (!cases[i].chan)
			continue;
		j = sel_uniform(m, (uint32_t)npoll + 1);
		pollorder[npoll] = pollorder[j];
		pollorder[j] = (uint16_t)i;
		npoll++;
	}
	if (npoll == 0) {
		/* Only NULL channels: nothing can ever be ready. */
		if (pollorder != pollbuf)
			free(pollorder);
		while (timeout_ns < 0)
			mn_gopark(NULL, NULL, MN_WAIT_SELECT);	/* forever */
		if (timeout_ns > 0) {
			mn_sleep((uint64_t)timeout_ns);
			return -ETIMEDOUT;
		}
		return -EAGAIN;
	}
	memcpy(lockorder, pollorder, (size_t)npoll * sizeof(*lockorder));
	sort_lockorder(cases, lockorder, npoll);

	sellock(cases, lockorder, npoll, what);

	/* Pass 1: the first ready case in random order. */
	for (int i = 0; i < npoll; i++) {
		if (try_case(cases, pollorder[i], lockorder, npoll)) {
			ret = pollorder[i];
			goto out;
		}
	}
	if (timeout_ns == 0) {
		selunlock(cases, lockorder, npoll);
		goto out;	/* -EAGAIN */
	}

	/* Pass 2: enqueue on every channel, in lock order. */
	if (!sg) {
		sg = calloc((size_t)n, sizeof(*sg));
		if (!sg) {
			selunlock(cases, lockorder, npoll);
			ret = -ENOMEM;
			goto out;
		}
	}
	g = m->curg;
	g->param = NULL;
	atomic_store_explicit(&g->selectdone, 0, memory_order_relaxed);
	st.cases = cases;
	st.lockorder = lockorder;
	st.nlock = npoll;
	st.sg = sg;
	st.timer = NULL;
	for (int i = 0; i < npoll; i++) {
		int ci = lockorder[i];
		struct mn_case *k = &cases[ci];
		struct mn_sudog *s = &sg[ci];

		s->g = g;
		s->elem = k->elem;
		s->link = NULL;
		s->casei = ci;
		s->sel = &st;
		s->success = false;
		mn_waitq_enqueue(k->dir == MN_RECV ? &k->chan->recvq :
				 &k->chan->sendq, s);
	}
	if (timeout_ns > 0) {
		mn_timer_init(&timer, select_timeout_fire, g);
		timer.when = mn_deadline_after((uint64_t)timeout_ns);
		st.timer = &timer;
	}
	mn_gopark(selparkcommit, &st, MN_WAIT_SELECT);

	/* Woken: by a channel (param = its sudog), which has already taken
	 * our other sudogs off their channels and may since have freed them:
	 * touch no channel; or by the timer (NULL): take them off ourselves. */
	{
		struct mn_sudog *won = mn_curg()->param;

		mn_curg()->param = NULL;
		if (!won) {
			sellock(cases, lockorder, npoll, what);
			for (int i = 0; i < npoll; i++)
				selremove(cases, lockorder[i], &sg[lockorder[i]]);
			selunlock(cases, lockorder, npoll);
		}
		if (st.timer)
			mn_timer_stop(&timer);	/* waits for a running fire */
		if (won) {
			ret = won->casei;
			cases[ret].ok = won->success;
		} else {
			ret = -ETIMEDOUT;
		}
	}
out:
	if (pollorder != pollbuf) {
		free(pollorder);
		free(sg);
	}
	return ret;
}

int mn_select(struct mn_case *cases, int n, int64_t timeout_ns)
{
	MN_ENTER();
	return selectgo(cases, n, timeout_ns, "mn_select");
}

/* ---- timed channel calls ---------------------------------------------- */

int mn_chan_send_timeout(struct mn_chan *c, const void *elem, int64_t timeout_ns)
{
	MN_ENTER();
	struct mn_case k = { .chan = c, .dir = MN_SEND, .elem = (void *)elem };
	int r;

	if (!c)
		mn_chan_misuse("mn_chan_send_timeout on a NULL channel", c);
	if (timeout_ns < 0)
		return mn_chan_send(c, elem);
	if (timeout_ns == 0)
		return mn_chan_try_send(c, elem);
	r = selectgo(&k, 1, timeout_ns, "mn_chan_send_timeout");
	if (r < 0)
		return r;
	return k.ok ? 0 : -EPIPE;
}

int mn_chan_recv_timeout(struct mn_chan *c, void *elem, int64_t timeout_ns)
{
	MN_ENTER();
	struct mn_case k = { .chan = c, .dir = MN_RECV, .elem = elem };
	int r;

	if (!c)
		mn_chan_misuse("mn_chan_recv_timeout on a NULL channel", c);
	if (timeout_ns < 0)
		return mn_chan_recv(c, elem);
	if (timeout_ns == 0)
		return mn_chan_try_recv(c, elem);
	if (!elem && c->elemsize) {
		/* A plain receive may discard the value; do so here too. */
		char scratch[256];

		if (c->elemsize <= sizeof(scratch)) {
			k.elem = scratch;
			r = selectgo(&k, 1, timeout_ns, "mn_chan_recv_timeout");
			return r < 0 ? r : k.ok;
		}
		k.elem = malloc(c->elemsize);
		if (!k.elem)
			return -ENOMEM;
		r = selectgo(&k, 1, timeout_ns, "mn_chan_recv_timeout");
		free(k.elem);
		return r < 0 ? r : k.ok;
	}
	r = selectgo(&k, 1, timeout_ns, "mn_chan_recv_timeout");
	return r < 0 ? r : k.ok;
}
