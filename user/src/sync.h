/* SPDX-License-Identifier: MIT */
/*
 * sync.h - internals shared by the sync primitives (sema.c, mutex.c,
 * cond.c, wg.c, sem.c): the runtime semaphore Gs park on, after Go's
 * runtime/sema.go, and the wait list embedded in every public sync type.
 */
#ifndef MN_SYNC_H
#define MN_SYNC_H

#include "runtime.h"
#include "list.h"

/* A parked G; on its stack while it waits. */
struct mn_waiter {
	struct mn_list_node node;	/* on wl->q, under wl->lock; first */
	struct mn_g *g;
	uint32_t ticket;		/* cond: its notify ticket */
};

static inline struct mn_waiter *mn_waiter_of(struct mn_list_node *n)
{
	return mn_list_entry(n, struct mn_waiter, node);
}

static inline struct mn_lock *mn_wl_lock(struct mn_waitlist *wl)
{
	return (struct mn_lock *)(void *)&wl->lock;
}

/*
 * Semaphore on *addr with waiters in wl.  semacquire returns once it has
 * taken one unit: at once when *addr > 0, else after parking until a
 * release hands one over (the releaser takes it on the waiter's behalf, so
 * a woken waiter never has to compete again).  lifo queues at the front
 * (a mutex waiter that was woken and lost the race).  handoff: the
 * releaser yields its P to the woken waiter at once (starving mutex).
 */
MN_HIDDEN void mn_semacquire(uint32_t *addr, struct mn_waitlist *wl, bool lifo,
			     int reason);
MN_HIDDEN void mn_semrelease(uint32_t *addr, struct mn_waitlist *wl,
			     bool handoff);

/* Internal mutex lock with a wait reason for the G dump (once, rwmutex). */
MN_HIDDEN void mn_mutex_lock_reason(struct mn_mutex *m, int reason);

/* Abort naming the misuse, the object and the calling G. */
MN_HIDDEN void mn_sync_misuse(const char *what, const void *obj)
	__attribute__((noreturn));

#endif
