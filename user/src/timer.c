// SPDX-License-Identifier: MIT
/*
 * timer.c - per-P timer heaps (4-ary, as Go's), mn_sleep and mn_now.
 *
 * Every P has a heap of struct mn_timer ordered by `when`, under its own
 * lock (the owner takes it too; thieves take it to run an idle P's timers).
 * p->timer0_when mirrors the earliest deadline (rounded up to the timer
 * slack, see set_timer0), readable without the lock:
 * the scheduler checks it on its slow path and every 16th switch, idle Ms
 * sleep until the earliest timer of any P, and a spinning M runs other Ps'
 * due timers (steal.c), so a timer on an idle P is not late.
 *
 * Timer states: IDLE (in no heap), WAITING (in p's heap), RUNNING (its
 * function is executing, outside the heap lock).  mn_timer_stop() waits
 * for RUNNING to end, so once it returns the timer may be freed or reused:
 * an owner must call it (or mn_timer_sync) before its timer's memory goes.
 * A ticker (period > 0) stays in the heap while its function runs; no M
 * runs it again before that run has ended.
 *
 * Timer channels (mn_after, mn_ticker): a channel of capacity 1 carrying
 * uint64_t mn_now() values, with a struct mn_timerchan whose timer does a
 * non-blocking send (a tick nobody has taken yet makes the next one be
 * dropped, as Go's).  Stop and reset are serialised by tc->lock, never held
 * by the timer function, and drain the buffer: once they return no stale
 * value can be received (Go 1.23's guarantee).  mn_chan_free stops the
 * timer before the channel goes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"
#include "chan.h"
#include "timer.h"

/*
 * Heap entries carry the deadline next to the pointer: comparisons read
 * only the array, never the timers (which live on their Gs' stacks, one
 * page each, so a pointer chase per comparison was a cache and TLB miss).
 * ent.when == ent.t->when while the timer is in the heap.
 */
struct theap_ent {
	int64_t when;
	struct mn_timer *t;
};

struct mn_timers {
	struct mn_lock lock;
	struct theap_ent *heap;
	size_t n, cap;
};

void mn_timers_init(struct mn_p *p)
{
	p->timers = calloc(1, sizeof(*p->timers));
	if (!p->timers)
		mn_fatal("out of memory for timers");
}

/*
 * timer0_when is the earliest deadline rounded up to a multiple of
 * MN_TIMER_SLACK_NS.  Everything that decides when to run timers reads it
 * (idle Ms' park timeouts, the scheduler's checks, mn_timers_run's early
 * exit), so timers are never early and those due within one slack period
 * share a wake-up: with 1,000 sleeping Gs this halves the CPU per fire.
 * (Linux adds 50 us of slack to the park's futex timeout anyway; Go's
 * netpoll waits in whole milliseconds.)
 */
static void set_timer0(struct mn_p *p, struct mn_timers *ts)
{
	int64_t w = 0;

	if (ts->n) {
		w = ts->heap[0].when;
		if (w <= INT64_MAX - MN_TIMER_SLACK_NS)
			w = (w + MN_TIMER_SLACK_NS - 1) / MN_TIMER_SLACK_NS *
			    MN_TIMER_SLACK_NS;
	}
	atomic_store_explicit(&p->timer0_when, w, memory_order_relaxed);
	/* For the module's preemption: a timer due is work waiting. */
	MN_SH_SET(p, timer0_ns, (uint64_t)w);
}

static inline void heap_set(struct mn_timers *ts, size_t i, struct theap_ent e)
{
	ts->heap[i] = e;
	e.t->idx = (int32_t)i;
}

/* Returns where the entry ended up. */
static size_t siftup(struct mn_timers *ts, size_t i)
{
	struct theap_ent e = ts->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 4;

		if (ts->heap[parent].when <= e.when)
			break;
		heap_set(ts, i, ts->heap[parent]);
		i = parent;
	}
	heap_set(ts, i, e);
	return i;
}

static void siftdown(struct mn_timers *ts, size_t i)
{
	struct theap_ent e = ts->heap[i];
	size_t n = ts->n;

	for (;;) {
		size_t c = 4 * i + 1, best = c;
		int64_t bw;

		if (c >= n)
			break;
		bw = ts->heap[c].when;
		for (size_t k = c + 1; k < c + 4 && k < n; k++)
			if (ts->heap[k].when < bw) {
				bw = ts->heap[k].when;
				best = k;
			}
		if (bw >= e.when)
			break;
		heap_set(ts, i, ts->heap[best]);
		i = best;
	}
	heap_set(ts, i, e);
}

static void heap_remove(struct mn_timers *ts, size_t i)
{
	struct theap_ent last = ts->heap[--ts->n];

	ts->heap[i].t->idx = -1;
	if (i == ts->n)
		return;
	ts->heap[i] = last;
	siftdown(ts, siftup(ts, i));	/* up, or else down */
}

void mn_timer_init(struct mn_timer *t, void (*fn)(void *arg), void *arg)
{
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
	t->idx = -1;
}

/* Add t (IDLE) to the calling M's P heap, or P 0's when there is none. */
int mn_timer_add(struct mn_timer *t, int64_t when, int64_t period)
{
	MN_MARK();
	struct mn_m *m = mn_curm();
	struct mn_p *p = m && m->p ? m->p : mn_sched.allp[0];
	struct mn_timers *ts = p->timers;

	mn_lock(&ts->lock);
	if (ts->n == ts->cap) {
		size_t ncap = ts->cap ? 2 * ts->cap : 64;
		struct theap_ent *nh = realloc(ts->heap, ncap * sizeof(*nh));

		if (!nh) {
			mn_unlock(&ts->lock);
			return -ENOMEM;
		}
		ts->heap = nh;
		ts->cap = ncap;
	}
	t->when = when > 0 ? when : 1;
	t->period = period;
	t->p = p;
	atomic_store(&t->state, MN_TIMER_WAITING);
	ts->heap[ts->n] = (struct theap_ent){ t->when, t };
	t->idx = (int32_t)ts->n++;
	siftup(ts, (size_t)t->idx);
	set_timer0(p, ts);
	mn_unlock(&ts->lock);
	return 0;
}

/* Wait until t's function is not running. */
void mn_timer_sync(struct mn_timer *t)
{
	while (atomic_load_explicit(&t->state, memory_order_acquire) ==
	       MN_TIMER_RUNNING)
		__builtin_ia32_pause();
}

bool mn_timer_stop(struct mn_timer *t)
{
	struct mn_p *p;
	bool removed = false;

	for (;;) {
		int st = atomic_load(&t->state);

		if (st == MN_TIMER_IDLE)
			return false;
		if (st == MN_TIMER_RUNNING) {
			mn_timer_sync(t);
			if (t->period == 0)
				return false;
			continue;	/* a ticker goes back to WAITING */
		}
		p = t->p;
		mn_lock(&p->timers->lock);
		if (t->p == p && atomic_load(&t->state) == MN_TIMER_WAITING &&
		    t->idx >= 0) {
			heap_remove(p->timers, (size_t)t->idx);
			atomic_store(&t->state, MN_TIMER_IDLE);
			set_timer0(p, p->timers);
			removed = true;
		}
		mn_unlock(&p->timers->lock);
		if (removed)
			return true;
	}
}

/*
 * Run p's due timers (any M may run any P's timers).  Functions run
 * outside the heap lock; they may ready Gs into the caller's P.  Returns
 * the next deadline, or -1.
 */
int64_t mn_timers_run(struct mn_p *p, uint64_t now)
{
	struct mn_timers *ts = p->timers;
	int64_t next = -1;

	if (!atomic_load_explicit(&p->timer0_when, memory_order_relaxed) ||
	    atomic_load_explicit(&p->timer0_when, memory_order_relaxed) >
	    (int64_t)now)
		return mn_timers_next(p);
	mn_lock(&ts->lock);
	while (ts->n && ts->heap[0].when <= (int64_t)now) {
		struct mn_timer *t = ts->heap[0].t;
		struct mn_m *m = mn_curm();

		/* A ticker whose fn another M is still running: it is not due
		 * again until that run ends (its fn never runs twice at once). */
		if (atomic_load_explicit(&t->state, memory_order_relaxed) ==
		    MN_TIMER_RUNNING)
			break;
		/* Back-pressure: the Gs that timer functions ready go to this
		 * M's P.  Once its queue is half full, leave the rest due (this
		 * P's next pass, or a spinning M, runs them) rather than spill
		 * hundreds of Gs to the global queue. */
		if (m && m->p && mn_runqlen(m->p) >= MN_RUNQ_SIZE / 2)
			break;
		if (t->period > 0) {
			/* Ticker: next deadline after now, skipping missed ones. */
			t->when += t->period *
				   ((int64_t)(now - t->when) / t->period + 1);
			ts->heap[0].when = t->when;
			siftdown(ts, 0);
		} else {
			heap_remove(ts, 0);
		}
		atomic_store(&t->state, MN_TIMER_RUNNING);
		set_timer0(p, ts);
		mn_unlock(&ts->lock);
		t->fn(t->arg);
		/* t may be reused the moment state leaves RUNNING.  A ticker is
		 * still in the heap (mn_timer_stop waits for RUNNING to end
		 * before it removes one), so it goes back to WAITING. */
		atomic_store_explicit(&t->state, t->period > 0 ?
				      MN_TIMER_WAITING : MN_TIMER_IDLE,
				      memory_order_release);
		mn_lock(&ts->lock);
	}
	if (ts->n)
		next = ts->heap[0].when;
	mn_unlock(&ts->lock);
	return next;
}

bool mn_timers_any(void)
{
	for (int i = 0; i < mn_sched.nprocs; i++)
		if (mn_timers_next(mn_sched.allp[i]) >= 0)
			return true;
	return false;
}

/* ---- mn_sleep / mn_now ---- */

uint64_t mn_now(void)
{
	return mn_nanotime();
}

static void sleep_wake(void *arg)
{
	mn_goready(arg);
}

static void sleep_arm(struct mn_g *g, void *arg)
{
	struct mn_timer *t = arg;

	(void)g;
	if (mn_timer_add(t, t->when, 0))
		sleep_wake(g);	/* no memory for the heap: wake at once */
}

void mn_sleep(uint64_t ns)
{
	MN_ENTER();
	struct mn_m *m = mn_need_m("mn_sleep");
	struct mn_timer t;

	mn_timer_init(&t, sleep_wake, m->curg);
	if (ns == 0) {
		mn_yield();
		return;
	}
	t.when = mn_deadline_after(ns);
	/* Arm after the switch: the timer may fire on another M at once. */
	mn_gopark(sleep_arm, &t, MN_WAIT_SLEEP);
	mn_timer_sync(&t);
}

/* ---- timer channels ---- */

struct mn_timerchan {
	struct mn_timer t;
	struct mn_lock lock;	/* serialises stop / reset / free */
	bool ticker;
};

static void timerchan_fire(void *arg)
{
	struct mn_chan *c = arg;
	uint64_t now = mn_nanotime();

	mn_chan_lock(c, "the timer of mn_after/mn_ticker");
	if (mn_chan_trysend_locked(c, &now) == -EAGAIN)
		mn_chan_unlock(c);	/* previous value not taken: drop */
}

static struct mn_chan *timerchan_new(uint64_t ns, bool ticker)
{
	struct mn_timerchan *tc;
	struct mn_chan *c;

	if (!atomic_load(&mn_sched.started) || !mn_sched.allp) {
		if (atomic_load(&mn_in_fork_child))
			mn_fork_fatal(ticker ? "mn_ticker" : "mn_after");
		return NULL;	/* no timer heaps before mn_main */
	}
	c = mn_chan_new(sizeof(uint64_t), 1);
	tc = calloc(1, sizeof(*tc));
	if (!c || !tc)
		goto fail;
	mn_timer_init(&tc->t, timerchan_fire, c);
	tc->ticker = ticker;
	c->timer = tc;
	if (mn_timer_add(&tc->t, mn_deadline_after(ns),
			 ticker ? mn_when_clamp(ns) : 0))
		goto fail;
	return c;
fail:
	if (c)
		c->timer = NULL;
	free(tc);
	mn_chan_free(c);
	return NULL;
}

struct mn_chan *mn_after(uint64_t ns)
{
	MN_ENTER();
	return timerchan_new(ns, false);
}

struct mn_chan *mn_ticker(uint64_t period_ns)
{
	MN_ENTER();
	if (period_ns == 0)
		return NULL;
	return timerchan_new(period_ns, true);
}

static struct mn_timerchan *timerchan_of(struct mn_chan *c, const char *what)
{
	uint32_t v = c ? atomic_load_explicit(&c->lock.v, memory_order_relaxed) : 0;

	if (v > 1)
		mn_chan_bad(c, v, what);
	if (!c || !c->timer)
		mn_fatal("%s on %s (channel %p, goroutine %llu): only channels "
			 "from mn_after or mn_ticker have a timer", what,
			 c ? "a channel that is not a timer channel" :
			 "a NULL channel", (void *)c,
			 (unsigned long long)mn_goid());
	return c->timer;
}

/* Stop and drain; tc->lock held.  true if a value was still to come. */
static bool timerchan_stop_locked(struct mn_chan *c, struct mn_timerchan *tc,
				  const char *what)
{
	bool active = mn_timer_stop(&tc->t);

	mn_chan_lock(c, what);
	if (c->qcount > 0) {
		mn_chan_buf_take(c, NULL);
		if (!tc->ticker)
			active = true;	/* fired, but nobody had the value */
	}
	mn_chan_unlock(c);
	return active;
}

bool mn_timer_chan_stop(struct mn_chan *c)
{
	MN_ENTER();
	struct mn_timerchan *tc = timerchan_of(c, "mn_timer_chan_stop");
	bool active;

	mn_lock(&tc->lock);
	active = timerchan_stop_locked(c, tc, "mn_timer_chan_stop");
	mn_unlock(&tc->lock);
	return active;
}

bool mn_timer_chan_reset(struct mn_chan *c, uint64_t ns)
{
	MN_ENTER();
	struct mn_timerchan *tc = timerchan_of(c, "mn_timer_chan_reset");
	bool active;

	if (tc->ticker && ns == 0)
		mn_fatal("mn_timer_chan_reset: period 0 for a ticker (channel %p, "
			 "goroutine %llu)", (void *)c, (unsigned long long)mn_goid());
	mn_lock(&tc->lock);
	active = timerchan_stop_locked(c, tc, "mn_timer_chan_reset");
	if (mn_timer_add(&tc->t, mn_deadline_after(ns),
			 tc->ticker ? mn_when_clamp(ns) : 0)) {
		/* No memory for the heap: fire at once rather than never. */
		timerchan_fire(c);
	}
	mn_unlock(&tc->lock);
	return active;
}

void mn_timerchan_free(struct mn_chan *c)
{
	struct mn_timerchan *tc = c->timer;

	mn_lock(&tc->lock);
	mn_timer_stop(&tc->t);
	c->timer = NULL;
	mn_unlock(&tc->lock);
	free(tc);
}
