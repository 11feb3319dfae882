/* SPDX-License-Identifier: MIT */
/* chan.h - channel internals shared by chan.c, select.c and timer.c. */
#ifndef MN_CHAN_H
#define MN_CHAN_H

#include <string.h>
#include "runtime.h"
#include "list.h"

struct mn_selstate;

/* A G waiting on a channel; on the G's stack while it waits. */
struct mn_sudog {
	/* First: a queue's node pointer is the sudog's, no offset to apply. */
	struct mn_list_node node;	/* on a wait queue, under its c->lock */
	struct mn_g *g;
	void *elem;			/* value to send, or where to receive */
	struct mn_sudog *link;		/* close's wake list */
	struct mn_selstate *sel;	/* select.c: its select, NULL for a plain wait */
	int casei;			/* select: index of its case */
	bool success;			/* false: woken by close */
};

struct mn_timerchan;

/*
 * Freed channels.  The lock word is 0 (free) or 1 (held), nothing else, so
 * the lock's slow path (which the fast path's exchange already branches
 * to when it finds the word non-zero) can tell a channel that is no longer
 * one: mn_chan_free stores MN_CHAN_FREED in the lock word and
 * MN_CHAN_FREED_BUF in buf before free().  glibc's free() overwrites the
 * first 16-32 bytes of the chunk (tcache next and key, bin pointers), the
 * lock word included, with values that are not 0 or 1 either; buf, 48
 * bytes in, keeps its mark until malloc hands the memory out again, and
 * says "freed" rather than "freed or corrupted".  A later call aborts
 * naming itself instead of spinning for ever on a lock nobody releases.
 * The fast path pays nothing (the lock stays at offset 0: moving it cost
 * chan_pingpong 1%).
 */
#define MN_CHAN_FREED		0xf7eedc4au
#define MN_CHAN_FREED_BUF	((char *)0xf7eedc4af7eedc4aul)

struct mn_chan {
	struct mn_lock lock;
	bool closed;
	size_t elemsize;
	size_t dataqsiz;	/* capacity */
	size_t qcount;		/* elements in buf */
	size_t sendx, recvx;
	char *buf;		/* MN_CHAN_FREED_BUF once freed (see above) */
	struct mn_list recvq, sendq;	/* of mn_sudog, FIFO */
	struct mn_timerchan *timer;	/* mn_after / mn_ticker (timer.c), else NULL */
};
_Static_assert(offsetof(struct mn_chan, buf) >= 32,
	       "glibc's free() writes the first 32 bytes of a chunk");

static inline void mn_waitq_enqueue(struct mn_list *q, struct mn_sudog *s)
{
	mn_list_push_back(q, &s->node);
}

/* Take s off q; nothing when it is on no queue (a select's other case
 * already dequeued by a waker). */
static inline void mn_waitq_remove(struct mn_list *q, struct mn_sudog *s)
{
	if (mn_list_linked(q, &s->node))
		mn_list_remove(q, &s->node);
}

MN_HIDDEN struct mn_sudog *mn_waitq_dequeue(struct mn_list *q);
/* Hand-off to / from a dequeued waiter, c->lock held and kept: the caller
 * unlocks, then mn_goready(s->g) (s->g read before the unlock). */
MN_HIDDEN void mn_chan_send_to_locked(struct mn_chan *c, struct mn_sudog *s,
				      const void *elem);
MN_HIDDEN void mn_chan_recv_from_locked(struct mn_chan *c, struct mn_sudog *s,
					void *elem);
/* As above, releasing c->lock and readying the waiter. */
MN_HIDDEN void mn_chan_send_to(struct mn_chan *c, struct mn_sudog *s, const void *elem);
MN_HIDDEN void mn_chan_recv_from(struct mn_chan *c, struct mn_sudog *s, void *elem);
MN_HIDDEN int mn_chan_trysend_locked(struct mn_chan *c, const void *elem);
MN_HIDDEN int mn_chan_tryrecv_locked(struct mn_chan *c, void *elem);
MN_HIDDEN void mn_chan_misuse(const char *what, struct mn_chan *c)
	__attribute__((noreturn));
/* timer.c: stop the timer of a timer channel before the channel is freed. */
MN_HIDDEN void mn_timerchan_free(struct mn_chan *c);
/* select.c: a waker won a blocked select through won: take the select's
 * other sudogs off their channels (no channel lock held), before its G is
 * readied.  See "When a channel may be freed" in select.c. */
MN_HIDDEN void mn_select_detach(struct mn_sudog *won);

/* After a waker dequeued s (and released every channel lock). */
static inline void mn_sudog_detach(struct mn_sudog *s)
{
	if (unlikely(s->sel != NULL))
		mn_select_detach(s);
}

/*
 * Channel locks are spinlocks: critical sections are a few dozen
 * instructions and never block, so the unlock can be a plain release store
 * (no locked instruction), where the futex lock's unlock needs an exchange
 * to find sleepers.  A contended locker spins, then yields the CPU
 * (sched_yield, for a holder whose M the kernel preempted).  Use these,
 * never mn_lock/mn_unlock, on c->lock.
 */
MN_HIDDEN void mn_chan_lock_slow(struct mn_chan *c, uint32_t seen,
				  const char *what);
/* A lock word that is neither 0 nor 1: the channel was freed (or is not a
 * channel).  what names the public call. */
MN_HIDDEN void mn_chan_bad(struct mn_chan *c, uint32_t v, const char *what)
	__attribute__((noreturn, cold));

/* what: the public call, named if the channel turns out to be freed. */
static inline void mn_chan_lock(struct mn_chan *c, const char *what)
{
	uint32_t old = atomic_exchange_explicit(&c->lock.v, 1, memory_order_acquire);

	if (likely(!old))
		return;
	mn_chan_lock_slow(c, old, what);
}

static inline void mn_chan_unlock(struct mn_chan *c)
{
	atomic_store_explicit(&c->lock.v, 0, memory_order_release);
}

/* mn_gopark unlock function: park with c locked, release after the switch. */
MN_HIDDEN void mn_chan_park_unlock(struct mn_g *g, void *c);

static inline char *mn_chan_slot(struct mn_chan *c, size_t i)
{
	return c->buf + i * c->elemsize;
}

/* libc's memcpy/memset, in a marked region (runtime.h: a call out of the
 * runtime's text); chan.c. */
MN_HIDDEN void mn_chan_memcpy(void *dst, const void *src, size_t n);
MN_HIDDEN void mn_chan_memzero(void *dst, size_t n);

static inline void mn_chan_copy(struct mn_chan *c, void *dst, const void *src)
{
	/* Word-sized elements are the common case: no call to memcpy. */
	switch (c->elemsize) {
	case 0:
		break;
	case 8:
		memcpy(dst, src, 8);
		break;
	case 4:
		memcpy(dst, src, 4);
		break;
	case 16:
		memcpy(dst, src, 16);
		break;
	default:
		mn_chan_memcpy(dst, src, c->elemsize);
	}
}

/* Buffer operations, c->lock held; the caller checked qcount. */
static inline void mn_chan_buf_put(struct mn_chan *c, const void *elem)
{
	mn_chan_copy(c, mn_chan_slot(c, c->sendx), elem);
	if (++c->sendx == c->dataqsiz)
		c->sendx = 0;
	c->qcount++;
}

static inline void mn_chan_buf_take(struct mn_chan *c, void *elem)
{
	char *q = mn_chan_slot(c, c->recvx);

	if (elem)
		mn_chan_copy(c, elem, q);
	if (++c->recvx == c->dataqsiz)
		c->recvx = 0;
	c->qcount--;
}

#endif
