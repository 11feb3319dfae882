// SPDX-License-Identifier: MIT
/*
 * timer.c - per-P timer heaps (4-ary, as Go's), mn_sleep and mn_now.
 *
 * Every P has a heap of struct mn_timer ordered by `when`, under its own
 * lock (the owner takes it too; thieves take it to run an idle P's timers).
 * p->timer0_when mirrors the earliest deadline, readable without the lock:
 * the scheduler checks it on its slow path and every 16th switch, idle Ms
 * sleep until the earliest timer of any P, and a spinning M runs other Ps'
 * due timers (steal.c), so a timer on an idle P is not late.
 *
 * Timer states: IDLE (in no heap), WAITING (in p's heap), RUNNING (its
 * function is executing, outside the heap lock).  mn_timer_stop() waits
 * for RUNNING to end, so once it returns the timer may be freed or reused:
 * an owner must call it (or mn_timer_sync) before its timer's memory goes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"
#include "timer.h"

struct mn_timers {
	struct mn_lock lock;
	struct mn_timer **heap;
	size_t n, cap;
};

void mn_timers_init(struct mn_p *p)
{
	p->timers = calloc(1, sizeof(*p->timers));
	if (!p->timers)
		mn_fatal("out of memory for timers");
}

static void set_timer0(struct mn_p *p, struct mn_timers *ts)
{
	atomic_store_explicit(&p->timer0_when, ts->n ? ts->heap[0]->when : 0,
			      memory_order_relaxed);
}

static inline void heap_set(struct mn_timers *ts, size_t i, struct mn_timer *t)
{
	ts->heap[i] = t;
	t->idx = (int32_t)i;
}

static void siftup(struct mn_timers *ts, size_t i)
{
	struct mn_timer *t = ts->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 4;

		if (ts->heap[parent]->when <= t->when)
			break;
		heap_set(ts, i, ts->heap[parent]);
		i = parent;
	}
	heap_set(ts, i, t);
}

static void siftdown(struct mn_timers *ts, size_t i)
{
	struct mn_timer *t = ts->heap[i];

	for (;;) {
		size_t c = 4 * i + 1, best = c;

		if (c >= ts->n)
			break;
		for (size_t k = c + 1; k < c + 4 && k < ts->n; k++)
			if (ts->heap[k]->when < ts->heap[best]->when)
				best = k;
		if (ts->heap[best]->when >= t->when)
			break;
		heap_set(ts, i, ts->heap[best]);
		i = best;
	}
	heap_set(ts, i, t);
}

static void heap_remove(struct mn_timers *ts, size_t i)
{
	struct mn_timer *last = ts->heap[--ts->n];

	ts->heap[i]->idx = -1;
	if (i == ts->n)
		return;
	heap_set(ts, i, last);
	siftup(ts, i);
	siftdown(ts, (size_t)last->idx);
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
	struct mn_m *m = mn_curm();
	struct mn_p *p = m && m->p ? m->p : mn_sched.allp[0];
	struct mn_timers *ts = p->timers;

	mn_lock(&ts->lock);
	if (ts->n == ts->cap) {
		size_t ncap = ts->cap ? 2 * ts->cap : 64;
		struct mn_timer **nh = realloc(ts->heap, ncap * sizeof(*nh));

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
	ts->heap[ts->n] = t;
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
	while (ts->n && ts->heap[0]->when <= (int64_t)now) {
		struct mn_timer *t = ts->heap[0];

		if (t->period > 0) {
			/* Ticker: next deadline after now, skipping missed ones. */
			t->when += t->period *
				   ((int64_t)(now - t->when) / t->period + 1);
			siftdown(ts, 0);
		} else {
			heap_remove(ts, 0);
		}
		atomic_store(&t->state, MN_TIMER_RUNNING);
		set_timer0(p, ts);
		mn_unlock(&ts->lock);
		t->fn(t->arg);
		/* t may be reused the moment state leaves RUNNING. */
		atomic_store_explicit(&t->state, t->period > 0 && t->idx >= 0 ?
				      MN_TIMER_WAITING : MN_TIMER_IDLE,
				      memory_order_release);
		mn_lock(&ts->lock);
	}
	if (ts->n)
		next = ts->heap[0]->when;
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
	struct mn_m *m = mn_need_m("mn_sleep");
	struct mn_timer t;

	mn_timer_init(&t, sleep_wake, m->curg);
	if (ns == 0) {
		mn_yield();
		return;
	}
	t.when = (int64_t)(mn_nanotime() + ns);
	/* Arm after the switch: the timer may fire on another M at once. */
	mn_gopark(sleep_arm, &t, MN_WAIT_SLEEP);
	mn_timer_sync(&t);
}
