// SPDX-License-Identifier: MIT
/*
 * sem.c - mn_sem, a weighted semaphore (golang.org/x/sync/semaphore).
 *
 * Invariants:
 *  - s->lock protects cur and the waiter list; 0 <= cur <= size.
 *  - Waiters are served strictly in FIFO order: an acquire takes units at
 *    once only when they are free and nobody waits, and a release grants
 *    the front waiter(s) while they fit, stopping at the first that does
 *    not (a large request is not starved by a stream of small ones).
 *  - A waiter is on the list (state WAITING) until it is granted (release:
 *    cur += n on its behalf, state GRANTED) or withdrawn by its context's
 *    cancellation (state CANCELLED), in both cases under s->lock, by the
 *    code that then readies it.  If the grant and the cancellation race,
 *    the grant wins and the acquire succeeds.
 *  - A withdrawn front waiter may have been what blocked the waiters behind
 *    it: the canceller grants those that now fit.
 *  - The context watch is removed (mn_ctx_watch_del) before the waiter's
 *    stack frame goes, so a cancel never touches a dead waiter.
 */
#include <stddef.h>
#include "runtime.h"
#include "ctx.h"
#include "sync.h"
#include "list.h"

enum { SEM_WAITING, SEM_GRANTED, SEM_CANCELLED };

struct sem_waiter {
	struct mn_g *g;
	int64_t n;
	struct mn_list_node node;	/* on s->waiters */
	struct sem_waiter *wake;	/* release's wake list */
	int state;			/* under s->lock */
	struct mn_sem *s;
	struct mn_ctx_watch watch;
};

static inline struct mn_lock *sem_lock(struct mn_sem *s)
{
	return (struct mn_lock *)(void *)&s->lock;
}

void mn_sem_init(struct mn_sem *s, int64_t size)
{
	MN_ENTER();
	s->size = size;
	s->cur = 0;
	s->lock = 0;
	s->waiters = (struct mn_list)MN_LIST_INIT;
}

static inline struct sem_waiter *sem_front(struct mn_sem *s)
{
	struct mn_list_node *n = s->waiters.first;

	return n ? mn_list_entry(n, struct sem_waiter, node) : NULL;
}

/* Grant front waiters that fit; s->lock held.  Returns them as a list. */
static struct sem_waiter *sem_grant(struct mn_sem *s)
{
	struct sem_waiter *list = NULL, **tail = &list, *w;

	while ((w = sem_front(s)) && s->size - s->cur >= w->n) {
		s->cur += w->n;
		mn_list_remove(&s->waiters, &w->node);
		w->state = SEM_GRANTED;
		w->wake = NULL;
		*tail = w;
		tail = &w->wake;
	}
	return list;
}

static void sem_wake(struct sem_waiter *list)
{
	while (list) {
		struct sem_waiter *next = list->wake;
		struct mn_g *g = list->g;

		mn_goready(g);		/* list is dead after this */
		list = next;
	}
}

static void sem_cancelled(struct mn_ctx_watch *wt, int err)
{
	struct sem_waiter *w = (struct sem_waiter *)
		((char *)wt - offsetof(struct sem_waiter, watch));
	struct mn_sem *s = w->s;
	struct sem_waiter *more = NULL;
	struct mn_g *g;
	bool front;

	(void)err;
	mn_lock(sem_lock(s));
	if (w->state != SEM_WAITING) {
		mn_unlock(sem_lock(s));
		return;		/* granted first: the acquire succeeds */
	}
	front = sem_front(s) == w;

	mn_list_remove(&s->waiters, &w->node);
	w->state = SEM_CANCELLED;
	g = w->g;
	if (front)
		more = sem_grant(s);
	mn_unlock(sem_lock(s));
	sem_wake(more);
	mn_goready(g);
}

static int sem_acquire(struct mn_sem *s, int64_t n, struct mn_ctx *ctx)
{
	struct sem_waiter w;
	int err;

	if (n < 0 || n > s->size)
		return -EINVAL;
	err = mn_ctx_err(ctx);	/* 0 for NULL */
	if (err)
		return err;
	mn_preempt_check();
	mn_lock(sem_lock(s));
	if (s->size - s->cur >= n && mn_list_empty(&s->waiters)) {
		s->cur += n;
		mn_unlock(sem_lock(s));
		return 0;
	}
	mn_unlock(sem_lock(s));
	mn_need_m("mn_sem_acquire");
	mn_lock(sem_lock(s));
	if (s->size - s->cur >= n && mn_list_empty(&s->waiters)) {
		s->cur += n;
		mn_unlock(sem_lock(s));
		return 0;
	}
	w.g = mn_curg();
	w.n = n;
	w.s = s;
	w.state = SEM_WAITING;
	mn_list_push_back(&s->waiters, &w.node);
	mn_ctx_watch_init(&w.watch, sem_cancelled);
	err = ctx ? mn_ctx_watch_add(ctx, &w.watch) : 0;
	if (err) {
		mn_list_remove(&s->waiters, &w.node);
		mn_unlock(sem_lock(s));
		return err;
	}
	mn_gopark_unlock(sem_lock(s), MN_WAIT_SEM);
	if (ctx)
		mn_ctx_watch_del(ctx, &w.watch);
	/* state was settled under s->lock before we were readied. */
	return w.state == SEM_GRANTED ? 0 : mn_ctx_err(ctx);
}

int mn_sem_acquire(struct mn_sem *s, int64_t n)
{
	MN_ENTER();
	return sem_acquire(s, n, NULL);
}

int mn_sem_acquire_ctx(struct mn_sem *s, int64_t n, struct mn_ctx *ctx)
{
	MN_ENTER();
	return sem_acquire(s, n, ctx);
}

int mn_sem_try_acquire(struct mn_sem *s, int64_t n)
{
	MN_ENTER();
	int r = -EAGAIN;

	if (n < 0)
		return -EINVAL;
	mn_lock(sem_lock(s));
	if (s->size - s->cur >= n && mn_list_empty(&s->waiters)) {
		s->cur += n;
		r = 0;
	}
	mn_unlock(sem_lock(s));
	return r;
}

void mn_sem_release(struct mn_sem *s, int64_t n)
{
	MN_ENTER();
	struct sem_waiter *list;

	if (n < 0)
		mn_sync_misuse("mn_sem_release of a negative count", s);
	mn_lock(sem_lock(s));
	if (n > s->cur) {
		mn_unlock(sem_lock(s));
		mn_sync_misuse("mn_sem_release: released more than held", s);
	}
	s->cur -= n;
	list = sem_grant(s);
	mn_unlock(sem_lock(s));
	sem_wake(list);
}
