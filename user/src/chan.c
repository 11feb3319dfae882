// SPDX-License-Identifier: MIT
/*
 * chan.c - channels with Go's semantics.
 *
 * A channel is a ring buffer of cap elements (none when unbuffered) and two
 * FIFO wait queues of sudogs (blocked senders, blocked receivers), all under
 * c->lock.  Invariants, as in Go's chan.go:
 *   - a blocked sender exists only if the buffer is full (or there is none)
 *     and no receiver is waiting;
 *   - a blocked receiver exists only if the buffer is empty and no sender
 *     is waiting;
 * so a sender first looks for a waiting receiver and copies its value
 * straight into the receiver's elem (direct hand-off, the receiver becomes
 * runnext), and a receiver first looks for a waiting sender.
 *
 * A sudog lives on the blocked G's stack for as long as it waits.  The G
 * parks with c->lock held and the lock is released by the code that runs
 * next on the M (mn_chan_park_unlock), so a waker that takes the lock always
 * finds a G whose context is saved.  Sudogs of a select (select.c) belong
 * to several channels at once; the first waker to win the G's selectdone
 * CAS takes it, the others skip that sudog.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"
#include "chan.h"

__attribute__((noinline)) void mn_chan_memcpy(void *dst, const void *src, size_t n)
{
	MN_MARK();
	memcpy(dst, src, n);
}

__attribute__((noinline)) void mn_chan_memzero(void *dst, size_t n)
{
	MN_MARK();
	memset(dst, 0, n);
}

struct mn_chan *mn_chan_new(size_t elem_size, size_t cap)
{
	MN_ENTER();
	struct mn_chan *c;

	if (elem_size > (1u << 16) || (elem_size && cap > SIZE_MAX / elem_size / 2))
		return NULL;
	c = calloc(1, sizeof(*c) + elem_size * cap);
	if (!c)
		return NULL;
	c->elemsize = elem_size;
	c->dataqsiz = cap;
	c->buf = (char *)(c + 1);
	return c;
}

void mn_chan_bad(struct mn_chan *c, uint32_t v, const char *what)
{
	/* Cold, about to abort: reading the freed chunk is fine here. */
	bool freed = v == MN_CHAN_FREED || c->buf == MN_CHAN_FREED_BUF;

	mn_fatal("%s: channel %s (channel %p, goroutine %llu)", what,
		 freed ? "freed: mn_chan_free was called on it" :
		 "freed or corrupted (its lock word is garbage)",
		 (void *)c, (unsigned long long)mn_goid());
}

/* seen: what the fast path's exchange found (not 0). */
void mn_chan_lock_slow(struct mn_chan *c, uint32_t seen, const char *what)
{
	if (unlikely(seen > 1))
		mn_chan_bad(c, seen, what);
	/* A lock held at fork() by a thread of the parent: never released. */
	if (unlikely(atomic_load_explicit(&mn_in_fork_child, memory_order_relaxed)))
		mn_fork_fatal(what);
	for (;;) {
		for (int i = 0; i < 256; i++) {
			uint32_t v = atomic_load_explicit(&c->lock.v,
							  memory_order_relaxed);

			if (!v) {
				v = atomic_exchange_explicit(&c->lock.v, 1,
							     memory_order_acquire);
				if (!v)
					return;
			}
			/* Freed while we waited for it: as much a use after
			 * free as a call that starts later. */
			if (unlikely(v > 1))
				mn_chan_bad(c, v, what);
			__builtin_ia32_pause();
		}
		/* The holder's M may have lost its CPU: give it ours.  A raw
		 * syscall: the runtime never touches errno. */
		{
			long r;

			__asm__ volatile("syscall" : "=a"(r) : "0"(24L /* sched_yield */)
					 : "rcx", "r11", "memory");
			(void)r;
		}
	}
}

void mn_chan_park_unlock(struct mn_g *g, void *c)
{
	(void)g;
	mn_chan_unlock(c);
}

void mn_chan_misuse(const char *what, struct mn_chan *c)
{
	mn_fatal("%s (channel %p, goroutine %llu)", what, (void *)c,
		 (unsigned long long)mn_goid());
}

#define misuse mn_chan_misuse

/* First waiter that can still be woken (a select may have been won). */
struct mn_sudog *mn_waitq_dequeue(struct mn_list *q)
{
	for (;;) {
		struct mn_list_node *n = mn_list_pop_front(q);
		struct mn_sudog *s;
		uint32_t zero = 0;

		if (!n)
			return NULL;
		s = mn_list_entry(n, struct mn_sudog, node);
		if (s->sel &&
		    !atomic_compare_exchange_strong(&s->g->selectdone, &zero, 1))
			continue;	/* another case of that select won */
		return s;
	}
}

/* Hand-off to a waiting receiver.  c->lock held and kept. */
void mn_chan_send_to_locked(struct mn_chan *c, struct mn_sudog *s,
			    const void *elem)
{
	if (s->elem)
		mn_chan_copy(c, s->elem, elem);
	s->success = true;
	s->g->param = s;
}

/* Take from a waiting sender.  c->lock held and kept. */
void mn_chan_recv_from_locked(struct mn_chan *c, struct mn_sudog *s, void *elem)
{
	if (c->dataqsiz == 0) {
		if (elem)
			mn_chan_copy(c, elem, s->elem);
	} else {
		/* Full buffer: take its head, put the sender's value at the
		 * tail (the same slot, since the ring is full). */
		char *q = mn_chan_slot(c, c->recvx);

		if (elem)
			mn_chan_copy(c, elem, q);
		mn_chan_copy(c, q, s->elem);
		if (++c->recvx == c->dataqsiz)
			c->recvx = 0;
		c->sendx = c->recvx;
	}
	s->success = true;
	s->g->param = s;
}

/* Hand-off to a waiting receiver.  c->lock held; releases it. */
void mn_chan_send_to(struct mn_chan *c, struct mn_sudog *s, const void *elem)
{
	struct mn_g *g = s->g;

	mn_chan_send_to_locked(c, s, elem);
	mn_chan_unlock(c);
	mn_sudog_detach(s);
	mn_goready(g);
}

/*
 * Take from a waiting sender.  c->lock held; releases it.  The caller holds
 * no other runtime lock: on an unbuffered channel the sender runs at once
 * (mn_goready_run) while we wait in runnext.  It was only waiting for us,
 * and running it on its hot stack instead of queueing it behind older work
 * keeps the live Gs of fan-in patterns (skynet) few.  With a buffer the
 * receiver goes on draining it first (batching).
 */
void mn_chan_recv_from(struct mn_chan *c, struct mn_sudog *s, void *elem)
{
	struct mn_g *g = s->g;
	bool run = c->dataqsiz == 0;

	mn_chan_recv_from_locked(c, s, elem);
	mn_chan_unlock(c);
	mn_sudog_detach(s);
	if (run)
		mn_goready_run(g);
	else
		mn_goready(g);
}

/*
 * The non-blocking part of a send, with c->lock held.  Returns 0 (sent,
 * lock released), -EPIPE (closed, lock released) or -EAGAIN (would block,
 * lock still held).
 */
int mn_chan_trysend_locked(struct mn_chan *c, const void *elem)
{
	struct mn_sudog *s;

	if (c->closed) {
		mn_chan_unlock(c);
		return -EPIPE;
	}
	s = mn_waitq_dequeue(&c->recvq);
	if (s) {
		mn_chan_send_to(c, s, elem);
		return 0;
	}
	if (c->qcount < c->dataqsiz) {
		mn_chan_buf_put(c, elem);
		mn_chan_unlock(c);
		return 0;
	}
	return -EAGAIN;
}

/* As above for a receive: 1 got a value, 0 closed and drained, -EAGAIN. */
int mn_chan_tryrecv_locked(struct mn_chan *c, void *elem)
{
	struct mn_sudog *s;

	s = mn_waitq_dequeue(&c->sendq);
	if (s) {
		mn_chan_recv_from(c, s, elem);
		return 1;
	}
	if (c->qcount > 0) {
		mn_chan_buf_take(c, elem);
		mn_chan_unlock(c);
		return 1;
	}
	if (c->closed) {
		mn_chan_unlock(c);
		if (elem && c->elemsize)
			mn_chan_memzero(elem, c->elemsize);
		return 0;
	}
	return -EAGAIN;
}

static int chan_send(struct mn_chan *c, const void *elem, bool block)
{
	struct mn_sudog s;
	int r;

	if (!c)
		misuse(block ? "mn_chan_send on a NULL channel" :
		       "mn_chan_try_send on a NULL channel", c);
	if (!elem && c->elemsize)
		misuse(block ? "mn_chan_send with a NULL element" :
		       "mn_chan_try_send with a NULL element", c);
	if (block)
		mn_need_m("mn_chan_send");
	mn_chan_lock(c, block ? "mn_chan_send" : "mn_chan_try_send");
	r = mn_chan_trysend_locked(c, elem);
	if (r != -EAGAIN) {
		/* Preemption point after the operation, not before: a G that
		 * is asked to yield still takes its place in line first. */
		mn_preempt_check();
		return r;
	}
	if (!block) {
		mn_chan_unlock(c);
		return -EAGAIN;
	}
	memset(&s, 0, sizeof(s));
	s.g = mn_curg();
	s.elem = (void *)elem;
	mn_waitq_enqueue(&c->sendq, &s);
	mn_gopark(mn_chan_park_unlock, c, MN_WAIT_CHAN_SEND);
	/* Woken by a receiver (success) or by close. */
	return s.success ? 0 : -EPIPE;
}

static int chan_recv(struct mn_chan *c, void *elem, bool block)
{
	struct mn_sudog s;
	int r;

	if (!c)
		misuse(block ? "mn_chan_recv on a NULL channel" :
		       "mn_chan_try_recv on a NULL channel", c);
	if (block)
		mn_need_m("mn_chan_recv");
	mn_chan_lock(c, block ? "mn_chan_recv" : "mn_chan_try_recv");
	r = mn_chan_tryrecv_locked(c, elem);
	if (r != -EAGAIN) {
		mn_preempt_check();
		return r;
	}
	if (!block) {
		mn_chan_unlock(c);
		return -EAGAIN;
	}
	memset(&s, 0, sizeof(s));
	s.g = mn_curg();
	s.elem = elem;
	mn_waitq_enqueue(&c->recvq, &s);
	mn_gopark(mn_chan_park_unlock, c, MN_WAIT_CHAN_RECV);
	return s.success ? 1 : 0;
}

int mn_chan_send(struct mn_chan *c, const void *elem)
{
	MN_ENTER_FAST();
	return chan_send(c, elem, true);
}

int mn_chan_recv(struct mn_chan *c, void *elem)
{
	MN_ENTER_FAST();
	return chan_recv(c, elem, true);
}

int mn_chan_try_send(struct mn_chan *c, const void *elem)
{
	MN_ENTER_FAST();
	return chan_send(c, elem, false);
}

int mn_chan_try_recv(struct mn_chan *c, void *elem)
{
	MN_ENTER_FAST();
	return chan_recv(c, elem, false);
}

void mn_chan_close(struct mn_chan *c)
{
	MN_ENTER();
	struct mn_sudog *list = NULL, *s;

	if (!c)
		misuse("close of a NULL channel", c);
	mn_chan_lock(c, "mn_chan_close");
	if (c->closed) {
		mn_chan_unlock(c);
		misuse("close of closed channel", c);
	}
	c->closed = true;
	/* Release every receiver (they get the zero value, ok = 0)... */
	while ((s = mn_waitq_dequeue(&c->recvq))) {
		if (s->elem && c->elemsize)
			memset(s->elem, 0, c->elemsize);
		s->success = false;
		s->g->param = s;
		s->link = list;
		list = s;
	}
	/* ...and every sender (their send fails with -EPIPE). */
	while ((s = mn_waitq_dequeue(&c->sendq))) {
		s->success = false;
		s->g->param = s;
		s->link = list;
		list = s;
	}
	mn_chan_unlock(c);
	/* Wake outside the lock; read link before the G can run and return,
	 * and take a select's other sudogs off their channels before that. */
	while (list) {
		struct mn_g *g;

		s = list;
		list = s->link;
		g = s->g;
		mn_sudog_detach(s);
		mn_goready(g);
	}
}

void mn_chan_free(struct mn_chan *c)
{
	MN_ENTER();
	uint32_t v;

	if (!c)
		return;
	/* A second free finds the poison (before touching c->timer, which
	 * free() may have overwritten). */
	v = atomic_load_explicit(&c->lock.v, memory_order_relaxed);
	if (v > 1)
		mn_chan_bad(c, v, "mn_chan_free");
	if (c->timer)
		mn_timerchan_free(c);	/* stop its timer first (timer.c) */
	mn_chan_lock(c, "mn_chan_free");
	if (c->recvq.first || c->sendq.first) {
		mn_chan_unlock(c);
		misuse("mn_chan_free of a channel that goroutines are blocked on", c);
	}
	/* Poison instead of unlocking: every later call on c aborts (chan.h). */
	c->buf = MN_CHAN_FREED_BUF;
	atomic_store_explicit(&c->lock.v, MN_CHAN_FREED, memory_order_release);
	free(c);
}

size_t mn_chan_len(struct mn_chan *c)
{
	size_t n;

	if (!c)
		misuse("mn_chan_len on a NULL channel", c);
	mn_chan_lock(c, "mn_chan_len");
	n = c->qcount;
	mn_chan_unlock(c);
	return n;
}

size_t mn_chan_cap(struct mn_chan *c)
{
	uint32_t v;

	if (!c)
		misuse("mn_chan_cap on a NULL channel", c);
	v = atomic_load_explicit(&c->lock.v, memory_order_relaxed);
	if (unlikely(v > 1))
		mn_chan_bad(c, v, "mn_chan_cap");
	return c->dataqsiz;
}
