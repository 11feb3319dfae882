// SPDX-License-Identifier: MIT
/*
 * cond.c - mn_cond (Go's sync.Cond over runtime.notifyList) and mn_once.
 *
 * mn_cond invariants (notifyList):
 *  - c->wait is the next ticket to hand out, c->notify the next ticket to
 *    wake; tickets compare modulo 2^32.  A waiter takes its ticket with an
 *    atomic add while it still holds the user's mutex, so every waiter that
 *    started before a signal has a smaller ticket than that signal's.
 *  - Tickets below c->notify have been signalled.  A waiter that finds its
 *    ticket already signalled when it gets to the list (the signal came
 *    between its unlock and its park) returns at once: no lost signal.
 *  - Waiters are on c->wl in ticket order (they append under wl.lock, but
 *    may do so out of ticket order; signal searches for ticket notify).
 *    Signal removes exactly the waiter with ticket notify (advancing
 *    notify even when that waiter has not reached the list yet: it will
 *    see it signalled); broadcast moves notify to wait and wakes the list.
 *  - A waiter is readied only after being removed under the lock; nothing
 *    on its stack is touched after mn_goready.
 *
 * mn_once: done is set (release) after fn returns, under the once's
 * mutex; the fast path is one acquire load.  Other callers wait on the
 * mutex (wait reason "sync.Once").
 */
#include "runtime.h"
#include "sync.h"

static inline bool ticket_less(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

void mn_cond_wait(struct mn_cond *c, struct mn_mutex *m)
{
	MN_ENTER();
	struct mn_lock *l = mn_wl_lock(&c->wl);
	struct mn_waiter w;
	uint32_t t;

	mn_need_m("mn_cond_wait");
	t = __atomic_fetch_add(&c->wait, 1, __ATOMIC_ACQ_REL);
	mn_mutex_unlock(m);
	mn_lock(l);
	if (ticket_less(t, __atomic_load_n(&c->notify, __ATOMIC_RELAXED))) {
		mn_unlock(l);		/* signalled before we got here */
	} else {
		w.g = mn_curg();
		w.ticket = t;
		mn_list_push_back(&c->wl.q, &w.node);
		mn_gopark_unlock(l, MN_WAIT_COND);
	}
	mn_mutex_lock(m);
}

void mn_cond_signal(struct mn_cond *c)
{
	MN_ENTER();
	struct mn_lock *l = mn_wl_lock(&c->wl);
	struct mn_list_node *n;
	uint32_t t;

	if (__atomic_load_n(&c->wait, __ATOMIC_ACQUIRE) ==
	    __atomic_load_n(&c->notify, __ATOMIC_ACQUIRE))
		return;		/* nobody waits */
	mn_lock(l);
	t = c->notify;
	if (t == __atomic_load_n(&c->wait, __ATOMIC_ACQUIRE)) {
		mn_unlock(l);
		return;
	}
	__atomic_store_n(&c->notify, t + 1, __ATOMIC_RELEASE);
	for (n = c->wl.q.first; n; n = n->next) {
		struct mn_waiter *w = mn_waiter_of(n);

		if (w->ticket == t) {
			struct mn_g *g = w->g;

			mn_list_remove(&c->wl.q, n);
			mn_unlock(l);
			mn_goready(g);
			return;
		}
	}
	/* Ticket t's waiter is between its unlock and the list: it will see
	 * notify > t and not park. */
	mn_unlock(l);
}

void mn_cond_broadcast(struct mn_cond *c)
{
	MN_ENTER();
	struct mn_lock *l = mn_wl_lock(&c->wl);
	struct mn_list_node *n;

	if (__atomic_load_n(&c->wait, __ATOMIC_ACQUIRE) ==
	    __atomic_load_n(&c->notify, __ATOMIC_ACQUIRE))
		return;
	mn_lock(l);
	n = mn_list_take_all(&c->wl.q);
	__atomic_store_n(&c->notify, __atomic_load_n(&c->wait, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);
	mn_unlock(l);
	while (n) {
		struct mn_list_node *next = n->next;

		mn_goready(mn_waiter_of(n)->g);	/* n is dead after this */
		n = next;
	}
}

void mn_once_do(struct mn_once *o, void (*fn)(void *), void *arg)
{
	MN_ENTER();
	if (likely(__atomic_load_n(&o->done, __ATOMIC_ACQUIRE)))
		return;
	mn_mutex_lock_reason(&o->m, MN_WAIT_ONCE);
	if (!o->done) {
		uint8_t mark = mn_rt_user_begin();	/* the program's code */

		fn(arg);
		mn_rt_user_end(mark);
		__atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
	}
	mn_mutex_unlock(&o->m);
}
