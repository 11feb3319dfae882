/* SPDX-License-Identifier: MIT */
/* chan.h - channel internals shared by chan.c and select.c. */
#ifndef MN_CHAN_H
#define MN_CHAN_H

#include "runtime.h"

/* A G waiting on a channel; on the G's stack while it waits. */
struct mn_sudog {
	struct mn_g *g;
	void *elem;			/* value to send, or where to receive */
	struct mn_sudog *next, *prev;	/* wait queue */
	struct mn_sudog *link;		/* close's wake list */
	struct mn_chan *c;
	int casei;			/* select: index of its case */
	bool is_select;
	bool success;			/* false: woken by close */
};

struct mn_waitq {
	struct mn_sudog *first, *last;
};

struct mn_chan {
	struct mn_lock lock;
	bool closed;
	size_t elemsize;
	size_t dataqsiz;	/* capacity */
	size_t qcount;		/* elements in buf */
	size_t sendx, recvx;
	char *buf;
	struct mn_waitq recvq, sendq;
};

MN_HIDDEN void mn_waitq_enqueue(struct mn_waitq *q, struct mn_sudog *s);
MN_HIDDEN void mn_waitq_remove(struct mn_waitq *q, struct mn_sudog *s);
MN_HIDDEN struct mn_sudog *mn_waitq_dequeue(struct mn_waitq *q);
MN_HIDDEN void mn_chan_send_to(struct mn_chan *c, struct mn_sudog *s, const void *elem);
MN_HIDDEN void mn_chan_recv_from(struct mn_chan *c, struct mn_sudog *s, void *elem);
MN_HIDDEN int mn_chan_trysend_locked(struct mn_chan *c, const void *elem);
MN_HIDDEN int mn_chan_tryrecv_locked(struct mn_chan *c, void *elem);

#endif
